import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.ts';
import { leftoverQemu, runCli, statusOf } from './helpers.ts';

// kernel.org is not reachable here: the 3.9 series comes from the shared 3.9.6 tarball
// (patches-3.9.11 serves every 3.9.x; the toolchain-compatibility series is applied first).
const tarball = join(projectRoot, '..', 'shared', 'kernels', 'linux-3.9.6-onl.tar.xz');
const builtinChecks = [
  'enosys-control',
  'kernel-console:stock',
  'patched-kernel-running',
  'taskcount-matches-top',
  'taskcount-matches-proc',
  'callcount-increments',
  'bad-pointer-efault',
  'kernel-console:patched',
];

describe('Linux 3.9 (the seed talk kernel) with gcc 12 and binutils 2.40', () => {
  it('builds, boots and passes every check', async () => {
    const { exitCode, report, stdout } = await runCli(['--kernel', tarball]);
    const run = report.runs[0]!;
    expect(
      run.checks.filter((check) => check.status !== 'pass'),
      stdout,
    ).toEqual([]);
    expect(exitCode, stdout).toBe(0);
    for (const name of builtinChecks) expect(statusOf(run, name), name).toBe('pass');
    expect(run.kernel.version).toBe('3.9.6');
    expect(run.kernel.patchedRelease).toMatch(/^3\.9\.6-patched-[0-9a-f]{8}$/);
    // The talk's style, judged by adding-syscalls.rst (--conformance warn: shown, exit code unchanged):
    // no sys_ni.c stub, no generic table entry, and checkpatch errors; the rest holds.
    expect(Object.fromEntries((run.conformance ?? []).map((item) => [item.name, item.status])), stdout).toEqual({
      'conformance:syscall-define': 'pass',
      'conformance:prototype': 'pass',
      'conformance:ni-stub': 'fail',
      'conformance:generic-table': 'fail',
      'conformance:x86-32-entry': 'n/a',
      'conformance:user-annotations': 'pass',
      'conformance:checkpatch': 'fail',
      'conformance:efault:callcount': 'pass',
      'conformance:flags:callcount': 'n/a',
      'conformance:x86-32:callcount': 'n/a',
      'conformance:efault:taskcount': 'pass',
      'conformance:flags:taskcount': 'n/a',
      'conformance:x86-32:taskcount': 'n/a',
    });
    const item = (name: string) => run.conformance?.find((found) => found.name === `conformance:${name}`);
    expect(item('ni-stub')?.actual).toBe(
      'callcount: no stub in kernel/sys_ni.c (cond_syscall expected on 3.9.6); taskcount: no stub in kernel/sys_ni.c (cond_syscall expected on 3.9.6)',
    );
    expect(item('generic-table')?.actual).toBe(
      'callcount: not in include/uapi/asm-generic/unistd.h; taskcount: not in include/uapi/asm-generic/unistd.h; __NR_syscalls not raised',
    );
    expect(item('checkpatch')?.actual).toMatch(
      /^0001-callcount\.patch: DIFF_IN_COMMIT_MSG, 0001-callcount\.patch: MISSING_SIGN_OFF, 0002-taskcount\.patch: DIFF_IN_COMMIT_MSG, 0002-taskcount\.patch: MISSING_SIGN_OFF \(4 errors, /,
    );
    expect(run.conformance?.some((found) => found.enforced)).toBe(false);
    expect(stdout).toMatch(/WARN +conformance:ni-stub/);
    expect(await leftoverQemu()).toBe('');
  });

  // The fixture is patches-3.9.11 plus one patch to mysyscalls/callcount.c (see its series file):
  // built after the real series in the same tree, only that file recompiles.
  it('fails bad-pointer-efault with the oops when the syscall writes *num directly, as the naive seed does', async () => {
    const patches = join(projectRoot, 'test', 'fixtures', 'patches', 'seed-unsafe-3.9');
    const { exitCode, report, stdout } = await runCli(['--kernel', tarball, '--patches', patches]);
    const run = report.runs[0]!;
    expect(exitCode, stdout).toBe(1);
    const efault = run.checks.find((check) => check.name === 'bad-pointer-efault')!;
    expect(efault.status).toBe('fail');
    expect(efault.details).toMatch(/BUG: unable to handle kernel|Oops/);
    // Everything else is the real series: a valid pointer works even without copy_to_user
    // (nosmap on 3.9), and the oops kills only the probe, so the later checks still run.
    for (const name of [
      'enosys-control',
      'kernel-console:stock',
      'patched-kernel-running',
      'taskcount-matches-top',
      'taskcount-matches-proc',
      'callcount-increments',
      'kernel-console:patched',
    ]) {
      expect(statusOf(run, name), name).toBe('pass');
    }
    for (const file of ['callcount_example.c', 'taskcount_example.c', 'callcount_monotonic.c', 'taskcount_sane.c']) {
      expect(statusOf(run, `userland:${file}`), file).toBe('pass');
    }
    expect(await leftoverQemu()).toBe('');
  });

  // The 6.1 + 3.9 matrix is isolation.test.ts's run.
});
