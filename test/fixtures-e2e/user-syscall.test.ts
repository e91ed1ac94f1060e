import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { leftoverQemu, runCli, statusOf } from '../e2e/helpers.ts';
import { builtinChecks } from '../e2e/mistakes.ts';

const fixture = (name: string): string => join(projectRoot, 'test', 'fixtures', 'patches', name);

// `npm run test:fixtures`, not `npm test`: its patches change include/linux/syscalls.h unlike every
// other 6.1 series here, so the shared patched tree recompiles most objects to build it (and again
// for the next 6.1 series), about 7 minutes that a cold CI run has no room for.
describe("a user's own syscall", () => {
  it('passes: built-in checks and the talk examples are skipped, the user program passes, exit 0', async () => {
    const { exitCode, report, stdout } = await runCli([
      '--kernel',
      '6.1',
      '--patches',
      fixture('hello-syscall'),
      '--userland',
      join(projectRoot, 'test', 'fixtures', 'userland', 'hello'),
    ]);
    const run = report.runs[0]!;
    expect(exitCode, stdout).toBe(0);
    for (const name of ['enosys-control', 'patched-kernel-running', 'kernel-console:stock', 'kernel-console:patched']) {
      expect(statusOf(run, name), name).toBe('pass');
    }
    for (const name of [
      'taskcount-matches-top',
      'taskcount-matches-proc',
      'callcount-increments',
      'bad-pointer-efault',
    ]) {
      expect(statusOf(run, name), name).toBe('skip');
    }
    expect(statusOf(run, 'userland:callcount_example.c')).toBe('skip');
    expect(statusOf(run, 'userland:taskcount_example.c')).toBe('skip');
    expect(statusOf(run, 'userland:hello_test.c')).toBe('pass');
    expect(builtinChecks.every((name) => run.checks.some((check) => check.name === name))).toBe(true);
    expect(await leftoverQemu()).toBe('');
  });
});
