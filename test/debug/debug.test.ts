import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { leftoverQemu, runCli, statusOf } from '../e2e/helpers.ts';
import { builtinChecks } from '../e2e/mistakes.ts';

// `npm run test:debug` (not in `npm test`: the debug-info and debug-profile builds of 6.1 are
// three kernels more than a cold CI run has room for). Real builds, real TCG boots.
const fixture = (name: string): string => join(projectRoot, 'test', 'fixtures', 'patches', name);
/** The checks whose programs call callcount (the KASAN fixture's read past the buffer is in every call). */
const callcountCallers = [
  'callcount-increments',
  'bad-pointer-efault',
  'userland:callcount_example.c',
  'userland:callcount_monotonic.c',
  'conformance:efault:callcount',
];

describe('--debug-info: decoded oopses', () => {
  it('names the file, line, patch and hunk of the oopsing syscall (unsafe-6.1)', async () => {
    const { exitCode, report, stdout } = await runCli([
      '--kernel',
      '6.1',
      '--patches',
      fixture('unsafe-6.1'),
      '--debug-info',
    ]);
    const run = report.runs[0]!;
    expect(exitCode, stdout).toBe(1);
    const check = run.checks.find((c) => c.name === 'callcount-increments')!;
    expect(check.status).toBe('fail');
    // The RIP frame, in the series' own file. Which of its lines depends on the compiler: under -Os gcc
    // 12 gives the store no line row of its own, so addr2line (and decode_stacktrace.sh) name the
    // atomic increment before it, line 15, written by 0001-callcount.patch.
    expect(check.details).toMatch(
      /RIP: 0010:__x64_sys_callcount\+0x[0-9a-f]+\/0x[0-9a-f]+ {2}at .*\bmysyscalls\/callcount\.c:\d+\b.*\((?:0001-callcount|0003-callcount-writes-through-user-pointer)\.patch, hunk \d+\)$/m,
    );
    // The entry code is the kernel's own.
    expect(check.details).toMatch(
      /do_syscall_64\+\S+ {2}at arch\/x86\/entry\/common\.c:\d+.*\(not changed by the series\)/,
    );
    expect(await leftoverQemu()).toBe('');
  });
});

describe('--profile debug: KASAN', () => {
  it('a read one byte past kmalloc(8) passes every check on the default profile', async () => {
    const { exitCode, report, stdout } = await runCli([
      '--kernel',
      '6.1',
      '--patches',
      fixture('kasan-read-past-kmalloc'),
    ]);
    const run = report.runs[0]!;
    expect(exitCode, stdout).toBe(0);
    for (const name of builtinChecks) expect(statusOf(run, name), name).toBe('pass');
    expect(await leftoverQemu()).toBe('');
  });

  it('fails under --profile debug with a KASAN slab-out-of-bounds excerpt, only in the checks that call callcount', async () => {
    const { exitCode, report, stdout } = await runCli([
      '--kernel',
      '6.1',
      '--patches',
      fixture('kasan-read-past-kmalloc'),
      '--profile',
      'debug',
    ]);
    const run = report.runs[0]!;
    expect(exitCode, stdout).toBe(1);
    const failed = run.checks.filter((check) => check.status === 'fail');
    // KASAN reports the first bad access of a boot (kasan_multi_shot is off): the first check that
    // calls callcount. KFENCE may catch a later call, one whose buffer it happened to sample (a
    // run on 2026-12-02 failed userland:callcount_monotonic.c with "BUG: KFENCE: out-of-bounds
    // read in __x64_sys_callcount"): any check that calls callcount may fail, none other.
    expect(failed.map((check) => check.name)).toContain('callcount-increments');
    for (const check of failed) {
      expect(callcountCallers, check.name).toContain(check.name);
      expect(check.actual, check.name).toMatch(
        /kernel failure on the console: [a-z, ]+ \(first: BUG: K(?:ASAN|FENCE): [a-z-]+ (?:read )?in __(?:do|x64|se)_sys_callcount/,
      );
    }
    const kasan = failed.filter((check) => check.details.includes('BUG: KASAN:'));
    expect(kasan.map((check) => check.name)).toHaveLength(1);
    expect(kasan[0]!.details).toMatch(/BUG: KASAN: slab-out-of-bounds in __(?:do|x64|se)_sys_callcount/);
    expect(kasan[0]!.details).toMatch(/Read of size 1 at addr/);
    for (const name of ['enosys-control', 'kernel-console:stock', 'patched-kernel-running', 'taskcount-matches-top']) {
      expect(statusOf(run, name), name).toBe('pass');
    }
    expect(await leftoverQemu()).toBe('');
  });
});
