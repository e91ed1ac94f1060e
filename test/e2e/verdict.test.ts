import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { runCli } from './helpers.ts';
import { expectMistakeCaught, mistakes, pair } from './mistakes.ts';

// The verdict on real 6.1 kernels: the usual syscall mistakes, each caught by exactly its checks.
// A taskcount mistake and a callcount mistake share a kernel (their checks are disjoint); every
// mistake alone is `npm run test:fixtures`.
const fixture = (name: string): string => join(projectRoot, 'test', 'fixtures', 'patches', name);

describe('usual syscall mistakes on Linux 6.1', () => {
  it('taskcount counting threads and callcount counting per process: the count checks and callcount-increments fail', async () => {
    await expectMistakeCaught(
      pair('pair-threads-and-per-process', mistakes['taskcount-threads']!, mistakes['callcount-per-process']!),
    );
  });

  it('taskcount skipping kernel threads and callcount copying an int: the count checks and callcount-increments fail', async () => {
    await expectMistakeCaught(
      pair('pair-no-kthreads-and-int-copy', mistakes['taskcount-no-kthreads']!, mistakes['copy-int-into-long']!),
    );
  });

  it('taskcount counting running tasks only and callcount copying 16 bytes: the count checks and callcount-increments fail', async () => {
    await expectMistakeCaught(
      pair(
        'pair-running-only-and-too-many-bytes',
        mistakes['taskcount-running-only']!,
        mistakes['copy-too-many-bytes']!,
      ),
    );
  });

  it('__put_user without access_ok: bad-pointer-efault fails on the kernel-writable pointer', async () => {
    const run = await expectMistakeCaught(mistakes['put-user-no-access-ok']!);
    const efault = run.checks.find((check) => check.name === 'bad-pointer-efault');
    expect(efault?.actual).toMatch(/callcount\(kernel-writable\)/);
  });

  it('an oops in a work item two seconds after the call: only kernel-console:patched fails, with the excerpt', async () => {
    const run = await expectMistakeCaught(mistakes['deferred-oops']!);
    const verdict = run.checks.find((check) => check.name === 'kernel-console:patched');
    expect(verdict?.details).toMatch(/BUG: kernel NULL pointer dereference/);
    expect(verdict?.actual).toMatch(/kworker/);
  });

  it('a reset on taskcount(NULL): bad-pointer-efault fails as an unrequested reset, the checks after it did not run', async () => {
    const run = await expectMistakeCaught(mistakes['reset-on-call']!);
    expect(run.checks.find((check) => check.name === 'bad-pointer-efault')?.actual).toMatch(/unrequested reset/);
  });
});

describe('a patch that does not compile', () => {
  it("exits 1 and shows the compiler's own error line", async () => {
    const { exitCode, report, stdout } = await runCli(['--kernel', '6.1', '--patches', fixture('compile-error')]);
    expect(exitCode, stdout).toBe(1);
    expect(report.runs[0]!.error).toMatch(/mysyscalls\/callcount\.c:\d+:\d+: error: .*coutn/);
    expect(stdout).toMatch(/mysyscalls\/callcount\.c:\d+:\d+: error: .*coutn/);
  });
});
