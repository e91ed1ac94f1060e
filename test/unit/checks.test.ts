import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CheckContext } from '../../src/checks/check.ts';
import { allChecks } from '../../src/checks/index.ts';
import { badPointerEfault } from '../../src/checks/bad-pointer-efault.ts';
import { callcountIncrements } from '../../src/checks/callcount-increments.ts';
import { enosysControl } from '../../src/checks/enosys-control.ts';
import { taskcountMatchesProc } from '../../src/checks/taskcount-matches-proc.ts';
import { taskcountMatchesTop } from '../../src/checks/taskcount-matches-top.ts';
import { builtinSyscallsUsed, isShipped, shippedSkipReason, userland } from '../../src/checks/userland.ts';
import type { SyscallEntry } from '../../src/kernel/syscalls.ts';
import { projectRoot } from '../../src/paths.ts';
import { CheckAbortedError, runChecks } from '../../src/stages/check-runner.ts';
import { TimeoutError } from '../../src/errors.ts';
import { MachineGoneError } from '../../src/vm/machine.ts';
import type { Machine } from '../../src/vm/machine.ts';
import { RecordedMachine, callcount, taskcount, testContext } from './support/recorded-machine.ts';

/** The checks' context with one user program, a_test.c, compiled. */
function context(machine: Machine, added: SyscallEntry[] = [callcount, taskcount]): CheckContext {
  return testContext(machine, { added, userlandFiles: ['/src/a_test.c'] });
}

// The probe's and the shell's real line formats (see test/fixtures/probe/*.json for recordings).
interface SampleSpec {
  n: number;
  value: string | number;
  reference: number | null;
  ret?: number;
  exit?: number | null;
  guard?: string;
}
interface HelperSpec {
  ready?: boolean;
  readyPid?: number;
  threads?: number;
  exit?: number | null;
}

function helperLines(helper: HelperSpec, samples: string[]): string {
  const { ready = true, readyPid = 2516, threads = 4, exit = 143 } = helper;
  return [
    'helper_pid=2516',
    'helper_polls=1',
    ...(ready ? [`ready pid=${readyPid} threads=${threads}`, ...samples] : ['helper-not-ready']),
    ...(exit === null ? [] : [`helper_exit=${exit}`]),
    '',
  ].join('\n');
}

const exitLine = (s: SampleSpec): string[] => (s.exit === null ? [] : [`sample=${s.n} probe_exit=${s.exit ?? 0}`]);

/** What the taskcount-matches-top script prints: per sample the probe's line, its exit status, top's Tasks line. */
function topOutput(samples: SampleSpec[], helper: HelperSpec = {}): string {
  return helperLines(
    helper,
    samples.flatMap((s) => [
      `sample=${s.n} call=0 ret=${s.ret ?? 0} errno=0 value=${s.value} guard=${s.guard ?? 'ok'}`,
      ...exitLine(s),
      s.reference === null
        ? `sample=${s.n} Tasks: missing`
        : `sample=${s.n} Tasks:  ${s.reference} total,   1 running,  ${s.reference - 1} sleeping,   0 stopped,   0 zombie`,
    ]),
  );
}

/** What the taskcount-matches-proc script prints: per sample the probe's line (with proc=) and its exit status. */
function procOutput(samples: SampleSpec[], helper: HelperSpec = {}): string {
  return helperLines(
    helper,
    samples.flatMap((s) => [
      `sample=${s.n} ret=${s.ret ?? 0} errno=0 value=${s.value} guard=${s.guard ?? 'ok'} proc=${s.reference ?? -1}`,
      ...exitLine(s),
    ]),
  );
}

const pairs = (list: [number | string, number | null][]): SampleSpec[] =>
  list.map(([value, reference], i) => ({ n: i + 1, value, reference }));

/** Five samples with the same two counts. */
const same = (value: number | string, reference: number | null): SampleSpec[] =>
  pairs(Array.from({ length: 5 }, (): [number | string, number | null] => [value, reference]));

describe('enosys-control', () => {
  it('passes when every new number gives -1/ENOSYS on the stock kernel', async () => {
    const machine = new RecordedMachine(() => ({ stdout: 'nr=451 ret=-1 errno=38\nnr=452 ret=-1 errno=38\n' }));
    const [result] = await enosysControl.run(context(machine));
    expect(result!.status).toBe('pass');
    expect(machine.commands[0]).toBe('/tmp/syscall-lab/probe enosys 451 452');
  });

  it('fails when a number already exists on the stock kernel (EINVAL from another syscall)', async () => {
    const machine = new RecordedMachine(() => ({ stdout: 'nr=451 ret=-1 errno=22\nnr=452 ret=-1 errno=38\n' }));
    const [result] = await enosysControl.run(context(machine));
    expect(result!.status).toBe('fail');
    expect(result!.actual).toContain('451: -1/errno 22');
  });
});

describe('taskcount-matches-top', () => {
  const run = async (
    stdout: string,
  ): Promise<{ status: string; actual: string; details: string; commands: string[] }> => {
    const machine = new RecordedMachine(() => ({ stdout }));
    const [result] = await taskcountMatchesTop.run(context(machine), taskcount);
    return { ...result!, commands: machine.commands };
  };

  it('runs the 5 samples in one guest command, with the 4-thread helper started first and killed last', async () => {
    const { commands } = await run('');
    expect(commands).toEqual([
      [
        'rm -f /tmp/syscall-lab/helper.out',
        '/tmp/syscall-lab/probe hold 4 >/tmp/syscall-lab/helper.out 2>&1 &',
        'helper=$!',
        'echo "helper_pid=$helper"',
        'tries=0',
        `while ! grep -q '^ready ' /tmp/syscall-lab/helper.out && [ "$tries" -lt 100 ]; do sleep 0.05; tries=$((tries + 1)); done`,
        'echo "helper_polls=$tries"',
        `if grep -q '^ready ' /tmp/syscall-lab/helper.out; then`,
        '  cat /tmp/syscall-lab/helper.out',
        '  for n in 1 2 3 4 5; do',
        `    /tmp/syscall-lab/probe call 452 1 "$n"; echo "sample=$n probe_exit=$?"; top -bn1 -w 200 >/tmp/syscall-lab/top.out; printf 'sample=%s ' "$n"; grep -m1 '^Tasks:' /tmp/syscall-lab/top.out || echo 'Tasks: missing'`,
        '  done',
        'else',
        "  echo 'helper-not-ready'",
        '  cat /tmp/syscall-lab/helper.out',
        'fi',
        'kill "$helper" 2>/dev/null',
        'wait "$helper" 2>/dev/null',
        'echo "helper_exit=$?"',
      ].join('\n'),
    ]);
  });

  it('passes with 3 of 5 samples equal and reports every sample and the helper', async () => {
    const result = await run(
      topOutput(
        pairs([
          [27, 27],
          [27, 28],
          [28, 28],
          [29, 30],
          [27, 27],
        ]),
      ),
    );
    expect(result.status).toBe('pass');
    expect(result.actual).toBe('3 of 5 equal (last: taskcount 27, top 27)');
    expect(result.details.split('\n').filter((line) => line.startsWith('sample '))).toHaveLength(5);
    expect(result.details).toContain('helper: ready pid=2516 threads=4');
  });

  it('matches samples by number: out of order still pairs each probe line with its own top line', async () => {
    const shuffled = topOutput(
      pairs([
        [27, 27],
        [28, 28],
        [29, 29],
        [30, 30],
        [31, 31],
      ]).reverse(),
    );
    expect((await run(shuffled)).status).toBe('pass');
  });

  it('fails with only 2 of 5 equal, and when taskcount never writes the count', async () => {
    const few = await run(
      topOutput(
        pairs([
          [27, 27],
          [27, 28],
          [28, 28],
          [29, 30],
          [26, 27],
        ]),
      ),
    );
    expect(few.status).toBe('fail');
    const untouched = await run(topOutput(same('11936128518282651045', 27)));
    expect(untouched.status).toBe('fail');
    expect(untouched.actual).toBe('0 of 5 equal (last: taskcount 11936128518282651045, top 27)');
  });

  it('fails a taskcount that counts threads: with the helper, the reference + 4', async () => {
    const result = await run(
      topOutput(
        pairs([
          [40, 36],
          [40, 36],
          [41, 37],
          [40, 36],
          [40, 36],
        ]),
      ),
    );
    expect(result.status).toBe('fail');
    expect(result.actual).toMatch(/^0 of 5 equal/);
  });

  it('fails a taskcount that counts only running tasks, or skips kernel threads', async () => {
    expect((await run(topOutput(same(1, 36)))).status).toBe('fail');
    expect((await run(topOutput(same(12, 36)))).status).toBe('fail');
  });

  it('counts a sample whose probe exited non-zero, or that misses a half, as unequal', async () => {
    const samples: SampleSpec[] = [
      { n: 1, value: 30, reference: 30, exit: 1 },
      { n: 2, value: 30, reference: 30, exit: null },
      { n: 3, value: 30, reference: null },
      { n: 4, value: 30, reference: 30 },
      { n: 5, value: 30, reference: 30 },
    ];
    const result = await run(topOutput(samples));
    expect(result.status).toBe('fail');
    expect(result.actual).toMatch(/^2 of 5 equal/);
    expect(result.details).toContain('<- probe exited 1');
    expect(result.details).toContain('<- no probe exit status');
    expect(result.details).toContain('<- no reference');
  });

  it('counts samples that are missing altogether as unequal', async () => {
    const result = await run(
      topOutput(
        pairs([
          [30, 30],
          [30, 30],
        ]),
      ),
    );
    expect(result.status).toBe('fail');
    expect(result.actual).toBe('2 of 5 equal (last: taskcount none, top none)');
  });

  it('fails when the helper never got ready, whatever the samples say', async () => {
    const samples = same(30, 30);
    const result = await run(topOutput(samples, { ready: false }));
    expect(result.status).toBe('fail');
    expect(result.actual).toBe('the helper process (probe hold 4) never became ready: no sample was taken with it');
  });

  it('fails when the ready line is not the helper, it has fewer threads, or it died before the last sample', async () => {
    const samples = same(30, 30);
    const stale = await run(topOutput(samples, { readyPid: 99 }));
    expect(stale.actual).toMatch(/the ready line is not from the helper/);
    const thin = await run(topOutput(samples, { threads: 1 }));
    expect(thin.actual).toMatch(/has 1 threads, not 4/);
    const gone = await run(topOutput(samples, { exit: 0 }));
    expect(gone.actual).toMatch(/was gone before the last sample ended \(exit 0, not 143\)/);
    const unfinished = await run(topOutput(samples, { exit: null }));
    expect(unfinished.actual).toMatch(/no exit status/);
    expect([stale, thin, gone, unfinished].map((r) => r.status)).toEqual(['fail', 'fail', 'fail', 'fail']);
  });
});

describe('taskcount-matches-proc', () => {
  it('takes 5 samples with the helper in one command and compares with the /proc count', async () => {
    const counts = [30, 30, 31, 30, 29];
    const stdout = procOutput(counts.map((reference, i) => ({ n: i + 1, value: 30, reference })));
    const machine = new RecordedMachine(() => ({ stdout }));
    const [result] = await taskcountMatchesProc.run(context(machine), taskcount);
    expect(machine.commands).toHaveLength(1);
    expect(machine.commands[0]).toContain('/tmp/syscall-lab/probe hold 4 >/tmp/syscall-lab/helper.out 2>&1 &');
    expect(machine.commands[0]).toContain('    /tmp/syscall-lab/probe proc 452 "$n"; echo "sample=$n probe_exit=$?"\n');
    expect(result!.status).toBe('pass');
    expect(result!.actual).toBe('3 of 5 equal (last: taskcount 30, /proc 29)');
  });

  it('fails a thread count (+4 with the helper), a failed call, an unreadable /proc and a missing helper', async () => {
    const judge = async (stdout: string): Promise<string> => {
      const [result] = await taskcountMatchesProc.run(context(new RecordedMachine(() => ({ stdout }))), taskcount);
      return result!.status;
    };
    expect(await judge(procOutput(same(34, 30)))).toBe('fail');
    const failed = [1, 2, 3, 4, 5].map((n) => ({ n, value: 30, reference: 30, ret: n < 4 ? -1 : 0 }));
    expect(await judge(procOutput(failed))).toBe('fail');
    expect(await judge(procOutput(same(30, null)))).toBe('fail');
    expect(await judge(procOutput(same(30, 30), { ready: false }))).toBe('fail');
    expect(await judge(procOutput(same(30, 30)))).toBe('pass');
  });
});

const callLines = (values: (number | string)[], more = ''): string =>
  values.map((value, i) => `call=${i} ret=0 errno=0 value=${value} guard=ok${more}\n`).join('');
const alternateLines = (values: (number | string)[]): string =>
  values
    .map((value, i) => `call=${i} by=${i % 2 ? 'child' : 'parent'} ret=0 errno=0 value=${value} guard=ok\n`)
    .join('');

function callcountGuest(three: string, alternate: string, alternateExit = 0): RecordedMachine {
  return new RecordedMachine((command) =>
    command.includes('probe call 451 3')
      ? { stdout: three }
      : command.includes('probe alternate 451 6')
        ? { stdout: alternate, code: alternateExit }
        : { code: 2, stderr: 'unexpected command' },
  );
}

describe('callcount-increments', () => {
  it('passes for n, n+1, n+2 and one count across parent and child; any non-negative return (the talk returns 1)', async () => {
    const machine = callcountGuest(
      callLines([5, 6, 7]).replaceAll('ret=0', 'ret=1'),
      alternateLines([8, 9, 10, 11, 12, 13]),
    );
    const [result] = await callcountIncrements.run(context(machine), callcount);
    expect(machine.commands).toEqual(['/tmp/syscall-lab/probe call 451 3', '/tmp/syscall-lab/probe alternate 451 6']);
    expect(result!.status).toBe('pass');
    expect(result!.expected).toBe(
      '3 calls: n, n+1, n+2 (n >= 1); parent and child in turn: m, ..., m+5 (m >= n+3); every ret >= 0, guard ok',
    );
    expect(result!.actual).toBe(
      '3 calls: 5, 6, 7; parent and child in turn: 8 by parent, 9 by child, 10 by parent, 11 by child, 12 by parent, 13 by child',
    );
    expect(result!.details).toContain('$ /tmp/syscall-lab/probe alternate 451 6\ncall=0 by=parent');
  });

  it('fails when the count does not move', async () => {
    const [result] = await callcountIncrements.run(
      context(callcountGuest(callLines([5, 5, 5]), alternateLines([5, 5, 5, 5, 5, 5]))),
      callcount,
    );
    expect(result!.status).toBe('fail');
  });

  it('fails a copy of an int: the upper half keeps the (alternating) pattern, values beyond 2^53', async () => {
    // 0xa5a5a5a5_00000005, 0x5a5a5a5a_00000006, 0xa5a5a5a5_00000007
    const three = callLines(['11936128515503554565', '6510615553911029766', '11936128515503554567']);
    const [result] = await callcountIncrements.run(
      context(callcountGuest(three, alternateLines([8, 9, 10, 11, 12, 13]))),
      callcount,
    );
    expect(result!.status).toBe('fail');
    expect(result!.actual).toMatch(
      /^3 calls: 11936128515503554565, 6510615553911029766, 11936128515503554567 <- values are not consecutive/,
    );
  });

  it('fails a copy of 16 bytes: the guard is clobbered though the values are right', async () => {
    const three = callLines([1, 2, 3]).replaceAll('guard=ok', 'guard=clobbered');
    const [result] = await callcountIncrements.run(
      context(callcountGuest(three, alternateLines([4, 5, 6, 7, 8, 9]))),
      callcount,
    );
    expect(result!.status).toBe('fail');
    expect(result!.actual).toContain('1 (guard clobbered)');
  });

  it('fails a count kept per process (or per thread group) in the alternating run', async () => {
    const [result] = await callcountIncrements.run(
      context(callcountGuest(callLines([1, 2, 3]), alternateLines([4, 4, 5, 5, 6, 6]))),
      callcount,
    );
    expect(result!.status).toBe('fail');
    expect(result!.actual).toMatch(/parent and child in turn: 4 by parent, 4 by child.* <- values are not consecutive/);
  });

  it('fails a count that does not start at >= 1', async () => {
    const [result] = await callcountIncrements.run(
      context(callcountGuest(callLines([0, 1, 2]), alternateLines([3, 4, 5, 6, 7, 8]))),
      callcount,
    );
    expect(result!.status).toBe('fail');
    expect(result!.actual).toContain('the first value is 0, not >= 1');
  });

  it('fails a failed call, a probe that died in the alternating run, and calls out of turn', async () => {
    const judge = async (three: string, alternate: string, exit = 0): Promise<string> => {
      const [result] = await callcountIncrements.run(context(callcountGuest(three, alternate, exit)), callcount);
      return `${result!.status}: ${result!.actual}`;
    };
    const failedCall = callLines([1, 2, 3]).replace('call=1 ret=0 errno=0', 'call=1 ret=-1 errno=14');
    expect(await judge(failedCall, alternateLines([4, 5, 6, 7, 8, 9]))).toMatch(
      /^fail: .*2 \(ret -1, errno 14\).*a call failed/,
    );
    expect(await judge(callLines([1, 2, 3]), alternateLines([4, 5, 6]), 1)).toMatch(
      /^fail: .*probe exit 1; 3 of 6 calls answered/,
    );
    const outOfTurn = alternateLines([4, 5, 6, 7, 8, 9]).replace('call=1 by=child', 'call=1 by=parent');
    expect(await judge(callLines([1, 2, 3]), outOfTurn)).toMatch(/^fail: .*not parent, child in turn/);
    expect(await judge(callLines([10, 11, 12]), alternateLines([4, 5, 6, 7, 8, 9]))).toMatch(
      /^fail: .*the count went back: 4 after 12/,
    );
  });
});

const efaultLines = (overrides: Record<string, string> = {}): string =>
  [
    'kind=null ret=-1 errno=14',
    'kind=unmapped ret=-1 errno=14',
    'kind=kernel ret=-1 errno=14',
    'kind=kernel-writable ret=-1 errno=14 page=unchanged',
    'kind=readonly ret=-1 errno=14 page=unchanged',
    'kind=misaligned ret=0 errno=0 value=31 guard=ok',
  ]
    .map((line) => overrides[/^kind=(\S+)/.exec(line)![1]!] ?? line)
    .filter(Boolean)
    .join('\n') + '\n';

describe('bad-pointer-efault', () => {
  const judge = async (stdout: string, code = 0): Promise<{ status: string; actual: string }> => {
    const [result] = await badPointerEfault.run(context(new RecordedMachine(() => ({ stdout, code })), [callcount]));
    return result!;
  };

  it('passes when every bad pointer gives EFAULT and the misaligned one works, for both syscalls', async () => {
    const machine = new RecordedMachine(() => ({ stdout: efaultLines() }));
    const [result] = await badPointerEfault.run(context(machine));
    expect(result!.status).toBe('pass');
    expect(machine.commands).toEqual([
      '/tmp/syscall-lab/probe efault 451 0xffff888000000000',
      '/tmp/syscall-lab/probe efault 452 0xffff888000000000',
    ]);
    expect(result!.expected).toBe(
      'null, unmapped, kernel, kernel-writable (direct map at 0xffff888000000000) and read-only pointers: -1/EFAULT, memory unchanged; misaligned writable: success with the value; no oops',
    );
    expect(result!.actual).toContain('callcount(kernel-writable): -1/EFAULT, page unchanged; ');
  });

  it("hands 3.9's probe the direct map of kernels before 4.20", async () => {
    const machine = new RecordedMachine(() => ({ stdout: efaultLines() }));
    await badPointerEfault.run({ ...context(machine, [callcount]), kernelVersion: '3.9.6' });
    expect(machine.commands).toEqual(['/tmp/syscall-lab/probe efault 451 0xffff880000000000']);
  });

  it('fails a store with __put_user and no access_ok: the kernel alias took the write', async () => {
    const result = await judge(efaultLines({ 'kernel-writable': 'kind=kernel-writable ret=0 errno=0 page=changed' }));
    expect(result.status).toBe('fail');
    expect(result.actual).toContain('callcount(kernel-writable): 0/errno 0, page changed <- wrong');
  });

  it('fails a read-only page that changed, even with EFAULT', async () => {
    const result = await judge(efaultLines({ readonly: 'kind=readonly ret=-1 errno=14 page=changed' }));
    expect(result.status).toBe('fail');
    expect(result.actual).toContain('callcount(readonly): -1/EFAULT, page changed <- wrong');
  });

  it('fails when a kind could not be tried, with the reason', async () => {
    const result = await judge(
      efaultLines({ 'kernel-writable': 'kind=kernel-writable unavailable=no-frame-in-pagemap' }),
    );
    expect(result.status).toBe('fail');
    expect(result.actual).toContain('callcount(kernel-writable): not tested: no-frame-in-pagemap <- wrong');
  });

  it('fails when a kind line is missing', async () => {
    const result = await judge(efaultLines({ unmapped: '' }));
    expect(result.status).toBe('fail');
    expect(result.actual).toContain('callcount(unmapped): no answer (killed?) <- wrong');
  });

  it('fails a misaligned call that left the fill pattern or failed', async () => {
    const pattern = await judge(
      efaultLines({ misaligned: 'kind=misaligned ret=0 errno=0 value=11936128518282651045 guard=ok' }),
    );
    expect(pattern.status).toBe('fail');
    expect(pattern.actual).toContain('callcount(misaligned): ret 0, value 11936128518282651045 (not written) <- wrong');
    const other = await judge(
      efaultLines({ misaligned: 'kind=misaligned ret=0 errno=0 value=6510615555426900570 guard=ok' }),
    );
    expect(other.status).toBe('fail');
    const failed = await judge(efaultLines({ misaligned: 'kind=misaligned ret=-1 errno=14 value=31 guard=ok' }));
    expect(failed.status).toBe('fail');
  });

  it('leaves how much a misaligned call wrote to callcount-increments (half a pattern, clobbered guards pass here)', async () => {
    // Each usual mistake fails the one check about it: an int copy or a 16-byte copy is
    // callcount-increments' finding, not bad-pointer-efault's.
    const half = await judge(
      efaultLines({ misaligned: 'kind=misaligned ret=0 errno=0 value=11936128515503554591 guard=ok' }),
    );
    expect(half.status).toBe('pass');
    const wide = await judge(efaultLines({ misaligned: 'kind=misaligned ret=0 errno=0 value=31 guard=clobbered' }));
    expect(wide.status).toBe('pass');
  });

  it('fails when the probe is killed at the NULL pointer (an oops)', async () => {
    const result = await judge('', 137);
    expect(result.status).toBe('fail');
    expect(result.actual).toContain('callcount: probe exit 137');
    expect(result.actual).toContain('callcount(null): no answer (killed?)');
  });

  it('is skipped when the patch set adds neither built-in syscall', async () => {
    const [result] = await badPointerEfault.run(context(new RecordedMachine(() => ({})), []));
    expect(result!.status).toBe('skip');
  });
});

describe('userland', () => {
  it('reports a compile error with the compiler message and does not run the program', async () => {
    const machine = new RecordedMachine(() => ({}));
    const [result] = await userland.run(
      testContext(machine, {
        userlandFiles: ['/src/a_test.c'],
        compileErrors: { '/src/a_test.c': "a_test.c:3:1: error: expected ';' before '}' token" },
      }),
    );
    expect(result!.name).toBe('userland:a_test.c');
    expect(result!.status).toBe('fail');
    expect(result!.details).toContain("expected ';'");
    expect(machine.commands.some((command) => command === '/tmp/syscall-lab/userland/a_test')).toBe(false);
  });

  it('turns KTAP lines into sub-results and fails on a "not ok", even with exit 0', async () => {
    const machine = new RecordedMachine((command) =>
      command === '/tmp/syscall-lab/userland/a_test'
        ? { code: 0, stdout: 'KTAP version 1\n1..2\nok 1 - first\nnot ok 2 - second\n' }
        : {},
    );
    const [result] = await userland.run(context(machine));
    expect(result!.subresults).toEqual([
      { name: 'first', status: 'pass' },
      { name: 'second', status: 'fail' },
    ]);
    expect(result!.status).toBe('fail');
    expect(result!.actual).toBe('exit 0, 1/2 ok; not ok 2 - second');
  });

  it.each([
    ['fewer results than planned', 'TAP version 13\n1..3\nok 1 a\nok 2 b\n', 0, 'fail'],
    ['"1..0 # SKIP why" with KSFT_SKIP', 'TAP version 13\n1..0 # SKIP needs root\n', 4, 'skip'],
    ['every result a skip', 'KTAP version 1\n1..1\nok 1 a # SKIP needs root\n', 0, 'skip'],
    ['KTAP and exit 4', 'KTAP version 1\n1..1\nok 1 a\n', 4, 'skip'],
    ['no TAP and exit 4', 'callcount: 4 calls\n', 4, 'fail'],
    ['no TAP and exit 0', 'callcount: 4 calls\n', 0, 'pass'],
    [
      'an indented not ok under a top-level ok',
      'KTAP version 1\n1..1\n    1..1\n    not ok 1 inner\nok 1 outer\n',
      0,
      'pass',
    ],
  ])('judges %s', async (_, stdout, code, status) => {
    const machine = new RecordedMachine((command) =>
      command === '/tmp/syscall-lab/userland/a_test' ? { code, stdout } : {},
    );
    const [result] = await userland.run(context(machine));
    expect(result!.status).toBe(status);
  });

  it('reports a skip with its reason', async () => {
    const stdout = 'TAP version 13\n1..0 # SKIP needs root\n';
    const machine = new RecordedMachine((command) => (command.endsWith('/a_test') ? { code: 4, stdout } : {}));
    const [result] = await userland.run(context(machine));
    expect(result).toMatchObject({ status: 'skip', actual: 'skipped: needs root; exit 4 (KSFT_SKIP)' });
  });
});

describe("the project's own programs and the user's", () => {
  const shipped = (path: string): string => join(projectRoot, 'userland', path);

  it('reads the built-in syscalls a program uses from SYS_<name> and __NR_<name>', () => {
    expect(builtinSyscallsUsed(readFileSync(shipped('tests/taskcount_sane.c'), 'utf8'))).toEqual(['taskcount']);
    expect(builtinSyscallsUsed(readFileSync(shipped('examples/callcount_example.c'), 'utf8'))).toEqual(['callcount']);
    expect(builtinSyscallsUsed('syscall(__NR_callcount); syscall(SYS_taskcount); syscall(SYS_getpid);')).toEqual([
      'callcount',
      'taskcount',
    ]);
  });

  it('knows shipped programs by their folder', () => {
    expect(isShipped(shipped('examples/callcount_example.c'))).toBe(true);
    expect(isShipped(shipped('tests/taskcount_sane.c'))).toBe(true);
    expect(isShipped('/home/me/tests/taskcount_sane.c')).toBe(false);
    expect(isShipped(join(projectRoot, 'userland-mine', 'x.c'))).toBe(false);
  });

  it('skips a shipped program that uses a built-in syscall the patch set lacks, and runs the others', async () => {
    const files = [
      shipped('examples/callcount_example.c'),
      shipped('examples/taskcount_example.c'),
      shipped('tests/callcount_monotonic.c'),
      shipped('tests/taskcount_sane.c'),
    ];
    const machine = new RecordedMachine(() => ({}));
    const results = await userland.run(testContext(machine, { added: [callcount], userlandFiles: files }));
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['userland:callcount_example.c', 'pass'],
      ['userland:taskcount_example.c', 'skip'],
      ['userland:callcount_monotonic.c', 'pass'],
      ['userland:taskcount_sane.c', 'skip'],
    ]);
    expect(results[3]!.details).toBe(
      "taskcount_sane.c is one of syscall-lab's own programs and uses SYS_taskcount: the patch set adds no taskcount syscall",
    );
    expect(machine.commands.some((command) => command.includes('taskcount'))).toBe(false);
    expect(typeof results[1]!.started).toBe('string');
  });

  it("always runs the user's own programs, whatever syscalls they use", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syscall-lab-userland-'));
    const mine = join(dir, 'mine.c');
    writeFileSync(mine, 'int main(void) { return syscall(SYS_taskcount, 0) < 0; }\n');
    expect(shippedSkipReason(mine, ['mysyscall'])).toBeNull();
    const machine = new RecordedMachine(() => ({}));
    const results = await userland.run(testContext(machine, { added: [callcount], userlandFiles: [mine] }));
    expect(results.map((r) => [r.name, r.status])).toEqual([['userland:mine.c', 'pass']]);
  });
});

const fixtureDir = fileURLToPath(new URL('../fixtures/console/', import.meta.url));

describe('userland and the console', () => {
  it('fails only the program during which the kernel oopsed, with the excerpt', async () => {
    const oops = readFileSync(join(fixtureDir, '6.1-null-deref-oops.log'), 'utf8');
    const machine = new RecordedMachine((command) => {
      if (command === '/tmp/syscall-lab/userland/oopses') machine.consoleText += oops;
      return {};
    });
    const results = await userland.run(testContext(machine, { userlandFiles: ['/src/oopses.c', '/src/clean.c'] }));
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['userland:oopses.c', 'fail'],
      ['userland:clean.c', 'pass'],
    ]);
    expect(results[0]!.details).toContain('BUG: kernel NULL pointer dereference');
    expect(userland.judgesConsole).toBe(true);
  });

  it('fails a program that reported a skip when the kernel oopsed meanwhile', async () => {
    const oops = readFileSync(join(fixtureDir, '6.1-null-deref-oops.log'), 'utf8');
    const machine = new RecordedMachine((command) => {
      if (command !== '/tmp/syscall-lab/userland/a_test') return {};
      machine.consoleText += oops;
      return { code: 4, stdout: 'TAP version 13\n1..0 # SKIP gave up\n' };
    });
    const [result] = await userland.run(context(machine));
    expect(result!.status).toBe('fail');
  });
});

describe('userland timeouts', () => {
  it('fails a hanging program alone and still runs the next one', async () => {
    const machine = new RecordedMachine((command) => {
      if (command === '/tmp/syscall-lab/userland/hangs') throw new TimeoutError('guest command timed out after 1 s');
      return {};
    });
    const results = await userland.run(testContext(machine, { userlandFiles: ['/src/hangs.c', '/src/works.c'] }));
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['userland:hangs.c', 'fail'],
      ['userland:works.c', 'pass'],
    ]);
    expect(results[0]!.actual).toMatch(/timed out/);
  });
});

describe('runChecks', () => {
  it('fails a check during which the console shows an oops, with the excerpt', async () => {
    const machine = new RecordedMachine((command) => {
      if (command.includes('efault')) {
        machine.consoleText +=
          '[   12.3] BUG: kernel NULL pointer dereference, address: 0000000000000000\n[   12.3] Oops: 0002 [#1] SMP\n';
        return { stdout: efaultLines() };
      }
      return { stdout: '' };
    });
    const results = await runChecks([badPointerEfault], context(machine), 'test');
    expect(results[0]!.status).toBe('fail');
    expect(results[0]!.details).toContain('BUG: kernel NULL pointer dereference');
  });

  it('skips the built-in checks for syscalls the patch set does not add', async () => {
    const patchedChecks = allChecks.filter((check) => check.stage === 'patched' && check.needs === 'callcount');
    const results = await runChecks(patchedChecks, context(new RecordedMachine(() => ({})), [taskcount]), 'test');
    expect(results.map((r) => [r.name, r.status])).toEqual([['callcount-increments', 'skip']]);
  });

  it('stops with a failed check when a kernel panic ended the VM during it', async () => {
    const panicTail = '[   20.1] Kernel panic - not syncing: Fatal exception\n[   20.1] Kernel Offset: disabled\n';
    const machine = new RecordedMachine(() => {
      throw new MachineGoneError('QEMU exited (code 0) during the command', panicTail);
    });
    const error = await runChecks([callcountIncrements], context(machine), 'test').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckAbortedError);
    expect((error as CheckAbortedError).results.map((r) => [r.name, r.status])).toEqual([
      ['callcount-increments', 'fail'],
    ]);
  });

  it('reports the machine, not the kernel, when QEMU died without a crash on the console', async () => {
    const machine = new RecordedMachine(() => {
      throw new MachineGoneError('QEMU exited (code null) during the command', 'syscall-lab-init: sshd started\n');
    });
    const error = await runChecks([enosysControl, callcountIncrements], context(machine), 'test').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CheckAbortedError);
    expect((error as CheckAbortedError).exitCode).toBe(3);
    expect((error as CheckAbortedError).message).toMatch(/QEMU exited .* while running enosys-control/);
  });
});
