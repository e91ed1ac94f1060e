import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { describe, expect, it } from 'vitest';
import { parseKtap } from '../../src/checks/ktap.ts';
import { projectRoot } from '../../src/paths.ts';
import { RunFolder } from '../../src/run-folder.ts';
import { leftoverQemu } from '../e2e/helpers.ts';
import { debianTarball, extractSelftests, noDebianTarball } from '../unit/support/kselftest-files.ts';

const cli = (args: string[], input?: Uint8Array) =>
  execa('node', [join(projectRoot, 'bin', 'syscall-lab.mjs'), ...args], {
    reject: false,
    all: true,
    ...(input && { input }),
  });

const stamp = join(projectRoot, 'test', 'fixtures', 'conformance', 'stamp-6.1');
const guestDir = '/tmp/selftest';

// adding-syscalls.rst's "Testing": the kselftest `export-selftest` writes for stamp(2), built and
// run with `make run_tests` inside the patched 6.1 guest, with Linux 6.1's own lib.mk, kselftest.h,
// kselftest_harness.h and kselftest/runner.sh (from the cached Debian source), as a maintainer
// would run it in tools/testing/selftests/stamp/ of the patched tree.
describe('the exported selftest in the patched guest', () => {
  it('stamp: make run_tests in the patched 6.1 guest prints KTAP with every result ok', async (context) => {
    const tarball = debianTarball();
    if (!tarball) context.skip(noDebianTarball);
    const work = await dir({ unsafeCleanup: true });
    const selftests = await extractSelftests(tarball!, join(work.path, 'source'), [
      'kselftest.h',
      'kselftest_harness.h',
      'lib.mk',
      'kselftest/runner.sh',
      'kselftest/prefix.pl',
    ]);
    const exported = await cli(['export-selftest', '--patches', stamp, '--out', join(selftests, 'stamp')]);
    expect(exported.exitCode, exported.all).toBe(0);

    const booted = await cli(['boot', '--kernel', '6.1', '--patches', stamp]);
    expect(booted.exitCode, booted.all).toBe(0);
    try {
      // The patched tree's numbers, as `make headers_install` would give them: its syscall table,
      // read by the run (the header userland programs are compiled with), over the guest's own
      // <asm/unistd.h>.
      const khdr = join(selftests, '..', '..', '..', 'usr', 'include');
      mkdirSync(join(khdr, 'asm'), { recursive: true });
      const numbers = readFileSync(RunFolder.kept(undefined).syscallHeader, 'utf8');
      expect(numbers).toContain('#define __NR_stamp 451');
      writeFileSync(join(khdr, 'asm', 'unistd.h'), `#include_next <asm/unistd.h>\n${numbers}`);

      const archive = await execa('tar', ['-C', join(selftests, '..', '..', '..'), '-c', '.'], { encoding: 'buffer' });
      const copied = await cli(
        ['ssh', '--', `rm -rf ${guestDir} && mkdir -p ${guestDir} && tar -x -C ${guestDir}`],
        archive.stdout,
      );
      expect(copied.exitCode, copied.all).toBe(0);

      // In the test's own folder, as `make -C tools/testing/selftests TARGETS=stamp run_tests` goes
      // there; lib.mk's default KHDR_INCLUDES is the tree's usr/include, where the headers went.
      // Output appended to a file: kselftest's runner.sh opens /dev/stdout again (O_APPEND) for the
      // test's own output; make's writes at their own offset would overwrite it in a file opened
      // with `>`, and the guest's /dev/stdout exists because init makes it (src/guest/view.ts).
      const ran = await cli([
        'ssh',
        '--',
        `make -C ${guestDir}/tools/testing/selftests/stamp run_tests >>${guestDir}/out 2>&1; s=$?; cat ${guestDir}/out; exit $s`,
      ]);
      expect(ran.exitCode, ran.all).toBe(0);
      const outer = parseKtap(ran.stdout);
      expect(
        outer.results.map((r) => [r.status, r.name]),
        ran.all,
      ).toEqual([['pass', 'selftests: stamp: stamp_test']]);
      // The test's own KTAP, prefixed "# " by the runner: seven cases, every one ok.
      const inner = parseKtap(
        ran.stdout
          .split('\n')
          .filter((line) => line.startsWith('# '))
          .map((line) => line.slice(2))
          .join('\n'),
      );
      expect(inner.plan?.count, ran.all).toBe(7);
      expect(
        inner.results.map((r) => [r.status, r.name]),
        ran.all,
      ).toEqual(
        [
          'out=null',
          'out=unmapped',
          'out=kernel',
          'out=kernel-writable',
          'out=readonly',
          'flags=~0',
          'flags=1u << 31',
        ].map((label) => ['pass', `stamp: ${label}`]),
      );
    } finally {
      await cli(['clean', '--vms']);
      await work.cleanup();
    }
    expect(await leftoverQemu()).toBe('');
  });
});
