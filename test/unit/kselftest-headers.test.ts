// kselftest's headers for userland programs (src/stages/kselftest-headers.ts): kept from the
// build, uploaded with each run into <guestDir>/kselftest and put on gcc's include path; a kernel
// whose tree has none (3.9) names itself when a program includes them.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { userland } from '../../src/checks/userland.ts';
import { RunFolder } from '../../src/run-folder.ts';
import { buildKernels } from '../../src/stages/builds.ts';
import { checkPatchSeries } from '../../src/stages/patch-check.ts';
import { planRuns } from '../../src/stages/plan.ts';
import type { KernelBuild } from '../../src/kernel/build.ts';
import { cache } from '../../src/kernel/cache.ts';
import { compileGuestPrograms } from '../../src/stages/guest-programs.ts';
import {
  keepKselftestHeaders,
  kselftestUpload,
  missingKselftestHint,
  type KselftestHeaders,
} from '../../src/stages/kselftest-headers.ts';
import { useFakeBuild } from './support/fake-build.ts';
import { debianTarball, extractSelftests, noDebianTarball } from './support/kselftest-files.ts';
import { recordingGccMachine } from './support/local-machine.ts';
import { testOptions } from './support/options.ts';
import { testContext } from './support/recorded-machine.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs();

/** Small stand-ins for the two headers: kselftest_harness.h includes "kselftest.h", as the real one does. */
const fakeKselftest = '#define KSFT_PASS 0\nstatic inline int ksft_answer(void) { return KSFT_PASS; }\n';
const fakeHarness = '#include "kselftest.h"\n#define HARNESS_ANSWER ksft_answer()\n';

function headersOf(version: string, files: Record<string, string>): KselftestHeaders {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, version };
}

/** This host as the guest, its gcc calls recorded; the syscall header and the programs in a host folder. */
function setUp(programs: Record<string, string>) {
  const host = tempDir();
  const guestDir = tempDir();
  const { machine, gccCalls } = recordingGccMachine(tempDir());
  const header = join(host, 'syscall-lab-syscalls.h');
  writeFileSync(header, '');
  const files = Object.entries(programs).map(([name, text]) => {
    writeFileSync(join(host, name), text);
    return join(host, name);
  });
  return { machine, guestDir, header, files, gccCalls };
}

describe("the userland programs and kselftest's headers", () => {
  it("uploads both headers into <guestDir>/kselftest and puts that folder on the programs' include path, not the probe's", async () => {
    const headers = headersOf('6.1.192', { 'kselftest.h': fakeKselftest, 'kselftest_harness.h': fakeHarness });
    const { machine, guestDir, header, files, gccCalls } = setUp({
      'quoted.c': '#include "kselftest.h"\nint main(void) { return ksft_answer(); }\n',
      'angled.c': '#include <kselftest_harness.h>\nint main(void) { return HARNESS_ANSWER; }\n',
    });
    const compiled = await compileGuestPrograms(machine, guestDir, header, files, 60_000, undefined, headers);
    expect(readFileSync(join(guestDir, 'kselftest', 'kselftest.h'), 'utf8')).toBe(fakeKselftest);
    expect(readFileSync(join(guestDir, 'kselftest', 'kselftest_harness.h'), 'utf8')).toBe(fakeHarness);
    const programCalls = gccCalls().filter((call) => /quoted\.c|angled\.c/.test(call));
    expect(programCalls).toHaveLength(2);
    for (const call of programCalls) expect(call).toContain(`-I ${guestDir}/kselftest `);
    expect(gccCalls().find((call) => call.includes('probe.c'))).not.toContain('kselftest');
    for (const file of files) {
      expect(compiled.userland.get(file)).toMatchObject({ ok: true, status: 0 });
      expect(spawnSync(compiled.userland.get(file)!.binary).status).toBe(0);
    }
  });

  it('compiles a program again when a header changes (the headers are part of its hash), not the probe', async () => {
    const headers = headersOf('6.1.192', { 'kselftest.h': fakeKselftest });
    const { machine, guestDir, header, files, gccCalls } = setUp({
      'uses.c': '#include "kselftest.h"\nint main(void) { return ksft_answer(); }\n',
    });
    const first = await compileGuestPrograms(machine, guestDir, header, files, 60_000, undefined, headers);
    const again = await compileGuestPrograms(machine, guestDir, header, files, 60_000, undefined, headers);
    expect(again).toEqual(first);
    expect(gccCalls()).toHaveLength(2);
    const before = kselftestUpload(headers, guestDir).fingerprint;
    writeFileSync(join(headers.dir, 'kselftest.h'), fakeKselftest.replace('KSFT_PASS 0', 'KSFT_PASS 3'));
    expect(kselftestUpload(headers, guestDir).fingerprint).not.toBe(before);
    const changed = await compileGuestPrograms(machine, guestDir, header, files, 60_000, undefined, headers);
    expect(gccCalls()).toHaveLength(3);
    expect(changed.probe).toBe(first.probe);
    expect(changed.userland.get(files[0]!)?.binary).not.toBe(first.userland.get(files[0]!)?.binary);
    expect(spawnSync(changed.userland.get(files[0]!)!.binary).status).toBe(3);
  });

  it('gives a compile on the host (the guest toolchain is the host one) the host folder of the headers', async () => {
    const headers = headersOf('6.1.192', { 'kselftest.h': fakeKselftest });
    const { machine, guestDir, header, files, gccCalls } = setUp({
      'uses.c': '#include "kselftest.h"\nint main(void) { return ksft_answer(); }\n',
    });
    const compiled = await compileGuestPrograms(machine, guestDir, header, files, 60_000, tempDir(), headers);
    expect(machine.recorded.some((call) => call.command.includes('compile()'))).toBe(false);
    expect(gccCalls().find((call) => call.includes('uses.c'))).toContain(`-I ${headers.dir} `);
    expect(spawnSync(compiled.userland.get(files[0]!)!.binary).status).toBe(0);
  });

  it('fails a program that includes kselftest.h on a kernel without it, naming the version and the release that has it', async () => {
    const headers = headersOf('3.9.6', {});
    const { machine, guestDir, header, files } = setUp({
      'needs-kselftest.c': '#include "kselftest.h"\nint main(void) { return ksft_answer(); }\n',
      'plain.c': 'int main(void) { return 0; }\n',
      'broken.c': 'int main(void) { return }\n',
    });
    const [needs, plain, broken] = files as [string, string, string];
    const compiled = await compileGuestPrograms(machine, guestDir, header, files, 60_000, undefined, headers);
    const expected =
      "kselftest.h is not in Linux 3.9.6's tree (no tools/testing/selftests/kselftest.h): this program needs a kernel whose tree has it";
    expect(compiled.userland.get(needs)).toMatchObject({ ok: false, status: 1, hint: expected });
    expect(compiled.userland.get(needs)!.log).toMatch(/kselftest\.h: No such file or directory/);
    // Other programs compile as before; another compile error gets no hint.
    expect(compiled.userland.get(plain)).toMatchObject({ ok: true, status: 0 });
    expect(compiled.userland.get(broken)).toMatchObject({ ok: false, hint: undefined });
    const context = { ...testContext(machine, { userlandFiles: files, added: [] }), programs: compiled.userland };
    const results = await userland.run(context);
    expect(results.find((r) => r.name === 'userland:needs-kselftest.c')).toMatchObject({
      status: 'fail',
      actual: `does not compile (gcc exit 1): ${expected}`,
    });
    expect(results.find((r) => r.name === 'userland:plain.c')).toMatchObject({ status: 'pass' });
    expect(results.find((r) => r.name === 'userland:broken.c')).toMatchObject({
      status: 'fail',
      actual: 'does not compile (gcc exit 1)',
    });
  });

  it('names kselftest_harness.h on a tree that has kselftest.h only (4.1 to 4.10)', () => {
    const headers = headersOf('4.4.302', { 'kselftest.h': fakeKselftest });
    const log = 'x.c:1:10: fatal error: kselftest_harness.h: No such file or directory';
    expect(missingKselftestHint(log, headers)).toBe(
      "kselftest_harness.h is not in Linux 4.4.302's tree (no tools/testing/selftests/kselftest_harness.h): this program needs a kernel whose tree has it",
    );
    // A header the folder has is not the cause (a wrong relative path, say): no hint.
    expect(missingKselftestHint('x.c:1:10: fatal error: kselftest.h: No such file or directory', headers)).toBe(
      undefined,
    );
    // No headers given (a VM kept by an older syscall-lab): no hint.
    expect(missingKselftestHint(log, undefined)).toBe(undefined);
  });
});

describe('the headers a run keeps from its build', () => {
  let savedCache: string | undefined;
  beforeEach(() => {
    savedCache = process.env.SYSCALL_LAB_CACHE;
    process.env.SYSCALL_LAB_CACHE = tempDir();
  });
  afterEach(() => {
    if (savedCache === undefined) delete process.env.SYSCALL_LAB_CACHE;
    else process.env.SYSCALL_LAB_CACHE = savedCache;
  });

  function fakeBuild(version: string, kept?: Record<string, string>): KernelBuild {
    const dir = join(cache.builds(), `build-${version}`);
    mkdirSync(dir, { recursive: true });
    if (kept) {
      mkdirSync(join(dir, 'kselftest'));
      for (const [name, text] of Object.entries(kept)) writeFileSync(join(dir, 'kselftest', name), text);
    }
    return {
      key: `build-${version}`,
      dir,
      bzImage: join(dir, 'bzImage'),
      release: `${version}-patched`,
      version,
      syscallTable: join(dir, 'syscall_64.tbl'),
      kselftestDir: join(dir, 'kselftest'),
      sparseLog: join(dir, 'sparse.log'),
      log: join(dir, 'build.log'),
      cached: true,
      seconds: 0,
    };
  }

  /** A complete stock tree in the cache with these files under tools/testing/selftests/. */
  function fakeTree(key: string, files: Record<string, string>): void {
    const selftests = join(cache.tree(key), 'linux-6.1', 'tools', 'testing', 'selftests');
    mkdirSync(selftests, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(selftests, name), text);
    writeFileSync(join(cache.tree(key), 'complete'), 'now\n');
  }

  it('copies the headers upgrade-kernel.sh kept with the build, whatever the tree has now', () => {
    const build = fakeBuild('6.1.192', { 'kselftest.h': fakeKselftest, 'kselftest_harness.h': fakeHarness });
    fakeTree('stock', { 'kselftest.h': 'another series moved the tree on\n' });
    const dest = join(tempDir(), 'kselftest');
    expect(keepKselftestHeaders(build, 'stock', dest)).toEqual({ dir: dest, version: '6.1.192' });
    expect(readdirSync(dest).sort()).toEqual(['kselftest.h', 'kselftest_harness.h']);
    expect(readFileSync(join(dest, 'kselftest.h'), 'utf8')).toBe(fakeKselftest);
  });

  it('keeps none for a build whose tree has none (3.9: the empty folder upgrade-kernel.sh made)', () => {
    const build = fakeBuild('3.9.6', {});
    const dest = join(tempDir(), 'kselftest');
    expect(keepKselftestHeaders(build, 'stock', dest)).toEqual({ dir: dest, version: '3.9.6' });
    expect(readdirSync(dest)).toEqual([]);
  });

  it('reads them from the stock tree for a build cached before they were kept, and says so when that tree is gone', () => {
    const dest = join(tempDir(), 'kselftest');
    fakeTree('stock', { 'kselftest.h': fakeKselftest, 'kselftest_module.h': 'not uploaded\n' });
    expect(keepKselftestHeaders(fakeBuild('6.1.192'), 'stock', dest)).toEqual({ dir: dest, version: '6.1.192' });
    expect(readdirSync(dest)).toEqual(['kselftest.h']);
    const orphan = join(tempDir(), 'kselftest');
    const headers = keepKselftestHeaders(fakeBuild('6.1.193'), 'gone', orphan);
    expect(readdirSync(orphan)).toEqual([]);
    expect(headers.unknown).toMatch(/6\.1\.193-patched build was cached before .* its tree has left the cache since/);
    expect(missingKselftestHint('x.c:1:10: fatal error: kselftest.h: No such file or directory', headers)).toBe(
      `kselftest.h could not be given to this program: ${headers.unknown}`,
    );
  });
});

describe('upgrade-kernel.sh keeping the headers with a build (a fake tree and make)', () => {
  const fakeBuild = useFakeBuild(tempDir);

  it("keeps the tree's kselftest.h with both builds, and copies it into the run's folder", async () => {
    const fake = fakeBuild();
    mkdirSync(join(fake.tree, 'tools', 'testing', 'selftests'), { recursive: true });
    writeFileSync(join(fake.tree, 'tools', 'testing', 'selftests', 'kselftest.h'), fakeKselftest);
    const [plan] = await checkPatchSeries(await planRuns(testOptions({ kernel: [fake.tree], patches: fake.patches })));
    const folder = RunFolder.create(0);
    const built = await buildKernels(plan!, { jobs: 1, folder });
    for (const build of [built.stock, built.patched]) expect(readdirSync(build.kselftestDir)).toEqual(['kselftest.h']);
    expect(built.kselftest).toEqual({ dir: folder.kselftestHeaders, version: built.patched.version });
    expect(readFileSync(join(folder.kselftestHeaders, 'kselftest.h'), 'utf8')).toBe(fakeKselftest);
  }, 60_000);

  it('keeps an empty folder for a tree without them', async () => {
    const fake = fakeBuild();
    const [plan] = await checkPatchSeries(await planRuns(testOptions({ kernel: [fake.tree], patches: fake.patches })));
    const built = await buildKernels(plan!, { jobs: 1, folder: RunFolder.create(0) });
    expect(readdirSync(built.patched.kselftestDir)).toEqual([]);
    expect(readdirSync(built.kselftest.dir)).toEqual([]);
    expect(built.kselftest.unknown).toBe(undefined);
  }, 60_000);
});

describe("a KTAP program against Linux 6.1's own kselftest.h and kselftest_harness.h, compiled and run on the host", () => {
  const tarball = debianTarball();
  let kept = '';
  let headers: KselftestHeaders | undefined;

  beforeAll(async () => {
    if (!tarball) return;
    kept = mkdtempSync(join(tmpdir(), 'syscall-lab-kselftest-headers-'));
    const selftests = await extractSelftests(tarball, join(kept, 'source'), ['kselftest.h', 'kselftest_harness.h']);
    headers = { dir: selftests, version: '6.1.192' };
  }, 120_000);
  afterAll(() => {
    if (kept) rmSync(kept, { recursive: true, force: true });
  });

  it('compiles both programs with -I <guestDir>/kselftest and judges their KTAP: pass', async (context) => {
    if (!tarball || !headers) context.skip(noDebianTarball);
    const { machine, guestDir, header, files } = setUp({
      'ktap.c': [
        '#include "kselftest.h"',
        'int main(void)',
        '{',
        '\tksft_print_header();',
        '\tksft_set_plan(2);',
        '\tksft_test_result_pass("first\\n");',
        '\tksft_test_result_skip("second\\n");',
        '\tksft_finished();',
        '}',
        '',
      ].join('\n'),
      'harness.c': [
        '#include <kselftest_harness.h>',
        'TEST(adds) { ASSERT_EQ(2, 1 + 1); }',
        'TEST(compares) { EXPECT_LT(1, 2); }',
        'TEST_HARNESS_MAIN',
        '',
      ].join('\n'),
    });
    const compiled = await compileGuestPrograms(machine, guestDir, header, files, 60_000, undefined, headers);
    for (const file of files)
      expect(compiled.userland.get(file), compiled.userland.get(file)?.log).toMatchObject({ ok: true });
    const context_ = { ...testContext(machine, { userlandFiles: files, added: [] }), programs: compiled.userland };
    const results = await userland.run({ ...context_, commandTimeout: 30_000 });
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['userland:ktap.c', 'pass'],
      ['userland:harness.c', 'pass'],
    ]);
    expect(results[0]?.subresults?.map((r) => r.status)).toEqual(['pass', 'skip']);
    expect(results[1]?.subresults).toHaveLength(2);
  }, 60_000);
});
