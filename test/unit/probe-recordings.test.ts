import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Check, CheckContext } from '../../src/checks/check.ts';
import { badPointerEfault } from '../../src/checks/bad-pointer-efault.ts';
import { callcountIncrements } from '../../src/checks/callcount-increments.ts';
import { taskcountMatchesProc } from '../../src/checks/taskcount-matches-proc.ts';
import { taskcountMatchesTop } from '../../src/checks/taskcount-matches-top.ts';
import type { SyscallEntry } from '../../src/kernel/syscalls.ts';
import type { CheckResult } from '../../src/report/model.ts';
import type { ConsoleLog, ExecResult, Machine } from '../../src/vm/machine.ts';
import type { Recorded } from './support/local-machine.ts';

// Real output of the checks' guest commands, recorded on a host by test/fixtures/probe/record.ts
// with fake-syscalls.c answering 451/452 the right way (`correct`) or a wrong way.

/** Answers each command with its recording, in order; a command not recorded fails the test. */
class ReplayMachine implements Machine {
  readonly backend = 'replay';
  readonly accel = 'none';
  private next = 0;
  constructor(private readonly recorded: Recorded[]) {}
  async exec(command: string): Promise<ExecResult> {
    const answer = this.recorded[this.next++];
    expect(command, 'the check sends the recorded command (re-record after changing it)').toBe(answer?.command);
    return { code: answer!.code, stdout: answer!.stdout, stderr: answer!.stderr };
  }
  async copy(): Promise<void> {}
  async download(): Promise<void> {}
  console(): ConsoleLog {
    return { path: '/dev/null', mark: () => 0, since: () => '', between: () => '' };
  }
  get unused(): number {
    return this.recorded.length - this.next;
  }
}

const callcount: SyscallEntry = { number: 451, abi: 'common', name: 'callcount', entry: 'sys_callcount' };
const taskcount: SyscallEntry = { number: 452, abi: 'common', name: 'taskcount', entry: 'sys_taskcount' };

async function replay(check: Check, variant: string): Promise<{ result: CheckResult; recorded: Recorded[] }> {
  const file = fileURLToPath(new URL(`../fixtures/probe/${check.name}.${variant}.json`, import.meta.url));
  const recorded = JSON.parse(readFileSync(file, 'utf8')) as Recorded[];
  const machine = new ReplayMachine(recorded);
  const context: CheckContext = {
    machine,
    added: [callcount, taskcount],
    probe: '/tmp/syscall-lab/probe',
    guestDir: '/tmp/syscall-lab',
    commandTimeout: 30_000,
    patchedRelease: '6.1.192-patched-12345678',
    kernelVersion: '6.1.192',
    userlandFiles: [],
    programs: new Map(),
    signatures: [],
    i386: [],
  };
  const results =
    check.needs === undefined
      ? await check.run(context)
      : await check.run(context, check.needs === 'callcount' ? callcount : taskcount);
  expect(machine.unused).toBe(0);
  expect(results).toHaveLength(1);
  return { result: results[0]!, recorded };
}

describe('taskcount-matches-top on recorded output', () => {
  it('passes a correct taskcount, with the helper ready all along, in one guest command', async () => {
    const { result, recorded } = await replay(taskcountMatchesTop, 'correct');
    expect(result.status).toBe('pass');
    expect(recorded).toHaveLength(1);
    expect(result.details).toMatch(/^helper: ready pid=\d+ threads=4$/m);
    expect(result.details.match(/^sample \d: taskcount \d+, top \d+/gm)).toHaveLength(5);
  });

  it.each([
    ['threads', 'counts threads (for_each_process_thread): the helper alone adds 4'],
    ['running', 'counts only running tasks'],
    ['nokthreads', 'skips kernel threads'],
    ['int', 'copies an int: the upper half keeps the fill pattern'],
  ])('fails a taskcount that %s (%s)', async (variant) => {
    const { result } = await replay(taskcountMatchesTop, variant);
    expect(result.status).toBe('fail');
    expect(result.actual).toMatch(/^0 of 5 equal/);
  });

  it('fails when the helper never became ready, and takes no sample', async () => {
    const { result, recorded } = await replay(taskcountMatchesTop, 'nohold');
    expect(result.status).toBe('fail');
    expect(result.actual).toBe('the helper process (probe hold 4) never became ready: no sample was taken with it');
    expect(recorded[0]!.stdout).not.toMatch(/^sample=/m);
  });
});

describe('taskcount-matches-proc on recorded output', () => {
  it('passes a correct taskcount', async () => {
    const { result } = await replay(taskcountMatchesProc, 'correct');
    expect(result.status).toBe('pass');
    expect(result.actual).toMatch(/^[345] of 5 equal/);
  });

  it.each(['threads', 'running', 'nokthreads', 'wide', 'nohold'])('fails the %s variant', async (variant) => {
    const { result } = await replay(taskcountMatchesProc, variant);
    expect(result.status).toBe('fail');
  });

  it('fails a copy of 16 bytes even when the counts agree: the guard is clobbered', async () => {
    const { result } = await replay(taskcountMatchesProc, 'wide');
    expect(result.details).toMatch(/<- guard clobbered/);
  });
});

describe('callcount-increments on recorded output', () => {
  it('passes a shared count: 1, 2, 3, then 4..9 across parent and child', async () => {
    const { result } = await replay(callcountIncrements, 'correct');
    expect(result.status).toBe('pass');
    expect(result.actual).toBe(
      '3 calls: 1, 2, 3; parent and child in turn: 4 by parent, 5 by child, 6 by parent, 7 by child, 8 by parent, 9 by child',
    );
  });

  it.each([
    ['int', /values are not consecutive/],
    ['wide', /guard bytes clobbered/],
    ['perprocess', /parent and child in turn: 1 by parent, 1 by child.*values are not consecutive/],
    ['fromzero', /the first value is 0, not >= 1/],
  ])('fails the %s variant', async (variant, why) => {
    const { result } = await replay(callcountIncrements, variant);
    expect(result.status).toBe('fail');
    expect(result.actual).toMatch(why);
  });
});

describe('bad-pointer-efault on recorded output', () => {
  it('passes a copy_to_user with its access check, for both syscalls', async () => {
    const { result, recorded } = await replay(badPointerEfault, 'correct');
    expect(result.status).toBe('pass');
    expect(recorded.map((r) => r.command)).toEqual([
      '/tmp/syscall-lab/probe efault 451 0xffff888000000000',
      '/tmp/syscall-lab/probe efault 452 0xffff888000000000',
    ]);
  });

  it("passes an int copy and a 16-byte copy: they are callcount-increments' findings, not this check's", async () => {
    const { result: int } = await replay(badPointerEfault, 'int');
    expect(int.status).toBe('pass');
    const { result: wide } = await replay(badPointerEfault, 'wide');
    expect(wide.status).toBe('pass');
  });
});
