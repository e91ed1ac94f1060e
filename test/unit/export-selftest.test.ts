// `syscall-lab export-selftest`: the kselftest folder generated from the conformance case table
// (src/conformance/selftest.ts), compiled on the host against Linux 6.1's own kselftest.h and run
// there on real host syscalls, and the command's refusals.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedCases } from '../../src/conformance/cases.ts';
import { readSeriesFacts } from '../../src/conformance/series-facts.ts';
import { generateSelftest, type Selftest } from '../../src/conformance/selftest.ts';
import { readDefinitions, type SyscallSignature } from '../../src/conformance/signature.ts';
import { projectRoot } from '../../src/paths.ts';
import { debianTarball, extractSelftests, noDebianTarball } from './support/kselftest-files.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-selftest-');
const bin = join(projectRoot, 'bin', 'syscall-lab.mjs');
const stampDir = join(projectRoot, 'test', 'fixtures', 'conformance', 'stamp-6.1');
const badPointersHeader = readFileSync(join(projectRoot, 'src', 'checks', 'guest', 'bad-pointers.h'), 'utf8');

function stampSignatures(): SyscallSignature[] {
  const series = readdirSync(stampDir).map((name) => ({ name, text: readFileSync(join(stampDir, name), 'utf8') }));
  return readSeriesFacts(series).definitions;
}

/** A signature for a syscall the host has, as a series would define it. */
function hostSignature(define: string): SyscallSignature {
  const [definition] = readDefinitions(define);
  return { ...definition!, patch: 'host.patch', file: 'host.c', nullable: [] };
}

const generate = (signatures: SyscallSignature[]): Selftest =>
  generateSelftest({ signatures, seriesName: 'series', kernel: '6.1', badPointersHeader });

/** The names in the generated C's case table, in order. */
const tableNames = (source: string): string[] => [...source.matchAll(/^\t\{ "([^"]*)", __NR_/gm)].map((m) => m[1]!);

describe('generateSelftest on the stamp fixture', () => {
  const [stamp] = stampSignatures();
  const selftest = generate([stamp!]);

  it('writes a kselftest Makefile named after the syscall', () => {
    expect(selftest.name).toBe('stamp');
    expect([...selftest.files.keys()].sort()).toEqual(['.gitignore', 'Makefile', 'bad-pointers.h', 'stamp_test.c']);
    const makefile = selftest.files.get('Makefile')!;
    expect(makefile).toMatch(/^TEST_GEN_PROGS := stamp_test$/m);
    expect(makefile).toMatch(/^CFLAGS \+= -Wall -O2 \$\(KHDR_INCLUDES\)$/m);
    expect(makefile).toMatch(/^include \.\.\/lib\.mk$/m);
    expect(selftest.files.get('bad-pointers.h')).toBe(badPointersHeader);
  });

  it("has exactly generatedCases' labels, in order, each with its arguments, errno and watch", () => {
    const cases = generatedCases(stamp!);
    const source = selftest.files.get('stamp_test.c')!;
    expect(tableNames(source)).toEqual(cases.map((c) => `stamp: ${c.label}`));
    expect(tableNames(source)).toEqual([
      'stamp: out=null',
      'stamp: out=unmapped',
      'stamp: out=kernel',
      'stamp: out=kernel-writable',
      'stamp: out=readonly',
      'stamp: flags=~0',
      'stamp: flags=1u << 31',
    ]);
    expect(source).toContain(
      '\t{ "stamp: out=kernel-writable", __NR_stamp, EFAULT, 1, 2, { BAD("kernel-writable"), INT(0x0UL) } },',
    );
    expect(source).toContain(
      '\t{ "stamp: flags=~0", __NR_stamp, EINVAL, 0, 2, { BUFFER(8), INT(0xffffffffffffffffUL) } },',
    );
    expect(source).toContain('#include "../kselftest.h"');
    expect(source).toContain('#include "bad-pointers.h"');
    expect(source).toMatch(/#ifndef __NR_stamp\n#define MISSING_NR "__NR_stamp"\n#endif/);
    expect(source).toMatch(/^#define DIRECT_MAP 0xffff888000000000UL$/m);
  });

  it('takes the direct-map base of --kernel, and names a test of several syscalls after the series', () => {
    const old = generateSelftest({ signatures: [stamp!], seriesName: 'x', kernel: '4.19.4', badPointersHeader });
    expect(old.files.get('stamp_test.c')).toMatch(/^#define DIRECT_MAP 0xffff880000000000UL$/m);
    const two = generateSelftest({
      signatures: [stamp!, hostSignature('SYSCALL_DEFINE1(getpid, unsigned int, flags)')],
      seriesName: 'stamp-6.1',
      kernel: '6.1',
      badPointersHeader,
    });
    expect(two.name).toBe('stamp-6_1');
    expect(tableNames(two.files.get('stamp-6_1_test.c')!)).toEqual([
      ...generatedCases(stamp!).map((c) => `stamp: ${c.label}`),
      'getpid: flags=~0',
      'getpid: flags=1u << 31',
    ]);
  });
});

describe("the generated test, built with Linux 6.1's kselftest.h and lib.mk and run on the host", () => {
  const tarball = debianTarball();
  const absent = noDebianTarball;
  /** tools/testing/selftests/ with the real kselftest.h: each test goes in a folder of its own there. */
  let selftests = '';
  let kept = '';

  beforeAll(async () => {
    if (!tarball) return;
    // Its own folder, kept for every test of this block (tempDir's go after each test).
    kept = mkdtempSync(join(tmpdir(), 'syscall-lab-kselftest-'));
    // What a selftest folder's Makefile uses: kselftest.h, and lib.mk with the headers its rule names.
    selftests = await extractSelftests(tarball, join(kept, 'source'), ['kselftest.h', 'kselftest_harness.h', 'lib.mk']);
  }, 120_000);
  afterAll(() => {
    if (kept) rmSync(kept, { recursive: true, force: true });
  });

  /**
   * Writes the test's folder and builds it with its own Makefile through Linux 6.1's lib.mk, the
   * host's uapi headers as KHDR_INCLUDES (the host's numbers), then runs it.
   */
  async function buildAndRun(selftest: Selftest) {
    const dir = join(selftests, selftest.name);
    mkdirSync(dir);
    for (const [name, text] of selftest.files) writeFileSync(join(dir, name), text);
    const built = await execa('make', ['-C', dir, 'KHDR_INCLUDES=-isystem /usr/include'], { reject: false, all: true });
    expect(built.exitCode, built.all).toBe(0);
    expect(built.all).toContain(`gcc -Wall -O2 -isystem /usr/include`);
    expect(built.all, 'no compiler warning').not.toMatch(/warning:/);
    return execa(join(dir, `${selftest.name}_test`), { reject: false, timeout: 30_000 });
  }

  it('passes every case of getrandom(2) (x86-64 318), with KTAP and exit 0', async (context) => {
    if (!tarball) context.skip(absent);
    const getrandom = hostSignature(
      'SYSCALL_DEFINE3(getrandom, char __user *, buf, size_t, count, unsigned int, flags)',
    );
    const selftest = generate([getrandom]);
    const run = await buildAndRun(selftest);
    const results = run.stdout.split('\n').filter((line) => /^(not )?ok \d+ /.test(line));
    expect(run.stdout.split('\n').slice(0, 2)).toEqual(['TAP version 13', `1..${selftest.cases.length}`]);
    expect(results).toHaveLength(selftest.cases.length);
    selftest.cases.forEach((testCase, k) => {
      const name = `getrandom: ${testCase.label}`;
      // Without root, /proc/self/pagemap gives no frames: the kernel-writable pointer cannot be made.
      const allowed = [
        `ok ${k + 1} ${name}`,
        ...(testCase.label.endsWith('kernel-writable') ? [`ok ${k + 1} # SKIP ${name}`] : []),
      ];
      expect(allowed, run.stdout).toContain(results[k]);
    });
    expect(run.exitCode, run.stdout).toBe(0);
  });

  it('fails the flags cases of a syscall that ignores its flags (getpid, 39, given one), exit non-zero', async (context) => {
    if (!tarball) context.skip(absent);
    const run = await buildAndRun(generate([hostSignature('SYSCALL_DEFINE1(getpid, unsigned int, flags)')]));
    const results = run.stdout.split('\n').filter((line) => /^(not )?ok \d+ /.test(line));
    expect(results).toEqual(['not ok 1 getpid: flags=~0', 'not ok 2 getpid: flags=1u << 31']);
    expect(run.stdout).toMatch(/^# getpid: flags=~0: returned \d+, errno 0 .*expected -1, errno 22/m);
    expect(run.exitCode).not.toBe(0);
  });

  it('skips the whole test when the uapi header has no number for the syscall', async (context) => {
    if (!tarball) context.skip(absent);
    const run = await buildAndRun(generate(stampSignatures()));
    expect(run.stdout).toMatch(/^1\.\.0 # SKIP __NR_stamp is not defined/m);
    expect(run.exitCode).toBe(4);
  });
});

describe('syscall-lab export-selftest', () => {
  /** Runs the built CLI (dist/, built by the global setup) with a fresh cache. */
  const cli = (args: string[]) =>
    execa(process.execPath, [bin, 'export-selftest', ...args], {
      cwd: projectRoot,
      reject: false,
      timeout: 60_000,
      extendEnv: false,
      // No SYSCALL_LAB_* (yargs reads those as flags).
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('SYSCALL_LAB_'))),
        XDG_CACHE_HOME: tempDir(),
      },
    });

  it('writes the folder for the stamp series', async () => {
    const out = join(tempDir(), 'stamp');
    const result = await cli(['--patches', stampDir, '--out', out]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['.gitignore', 'Makefile', 'bad-pointers.h', 'stamp_test.c']);
    expect(readFileSync(join(out, 'stamp_test.c'), 'utf8')).toBe(generate(stampSignatures()).files.get('stamp_test.c'));
  });

  it('refuses a series without SYSCALL_DEFINE, a non-empty --out and a bad --kernel: exit 2, nothing written', async () => {
    const noDefine = join(tempDir(), 'no-define');
    mkdirSync(noDefine);
    // The Kbuild hunk of the stamp series alone: a patch, but no C file.
    const stamp = readFileSync(join(stampDir, '0001-stamp.patch'), 'utf8');
    writeFileSync(join(noDefine, '0001-kbuild.patch'), /diff --git a\/Kbuild[\s\S]*?(?=diff --git)/.exec(stamp)![0]);
    const full = join(tempDir(), 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'kept'), '');
    const refusals: [string[], RegExp][] = [
      [['--patches', noDefine], /defines no syscall: no SYSCALL_DEFINEn[\s\S]*fix: define each new syscall/],
      [['--patches', join(projectRoot, 'test', 'fixtures', 'conformance', 'stamp-no-define')], /defines no syscall/],
      [['--patches', join(tempDir(), 'missing')], /does not exist/],
      [['--patches', stampDir, '--kernel', 'latest'], /--kernel latest is not a kernel version/],
    ];
    for (const [args, says] of refusals) {
      const out = join(tempDir(), 'out');
      const result = await cli([...args, '--out', out]);
      expect(result.stderr).toMatch(says);
      expect(result.exitCode, result.stderr).toBe(2);
      expect(existsSync(out), args.join(' ')).toBe(false);
    }
    const result = await cli(['--patches', stampDir, '--out', full]);
    expect(result.stderr).toMatch(/--out .* is not empty[\s\S]*fix: give --out a new or empty folder/);
    expect(result.exitCode).toBe(2);
    expect(readdirSync(full)).toEqual(['kept']);
  });
});
