import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Check, CheckContext } from '../../src/checks/check.ts';
import { callcountIncrements } from '../../src/checks/callcount-increments.ts';
import { enosysControl } from '../../src/checks/enosys-control.ts';
import { patchedKernelRunning } from '../../src/checks/patched-kernel-running.ts';
import { LabError } from '../../src/errors.ts';
import type { LabEvent } from '../../src/events.ts';
import type { SyscallEntry } from '../../src/kernel/syscalls.ts';
import { projectRoot } from '../../src/paths.ts';
import type { CheckResult } from '../../src/report/model.ts';
import { CheckAbortedError, runChecks } from '../../src/stages/check-runner.ts';
import { builtinResults, runsUserland } from '../../src/checks/index.ts';
import { commandTimeoutMs, runCheckStage, type CheckFacts } from '../../src/stages/checks.ts';
import { guestToolchainScript } from '../../src/stages/guest-programs.ts';
import { MachineGoneError, type ExecResult, type Machine } from '../../src/vm/machine.ts';
import {
  RecordedMachine,
  callcount,
  compileAnswer,
  patchedRelease,
  taskcount,
  testContext,
} from './support/recorded-machine.ts';
import { useTempDirs } from './support/temp.ts';
import { userland } from '../../src/checks/userland.ts';

function context(machine: Machine, added: SyscallEntry[] = [callcount, taskcount]): CheckContext {
  return testContext(machine, { added });
}

/** A healthy patched guest: every probe answers as the example syscalls should. */
function healthyGuest(command: string): Partial<ExecResult> {
  const compiled = compileAnswer(command);
  if (compiled) return compiled;
  if (command.includes('probe enosys')) return { stdout: 'nr=451 ret=-1 errno=38\nnr=452 ret=-1 errno=38\n' };
  if (command.includes('probe call 451 3')) {
    return {
      stdout:
        'call=0 ret=0 errno=0 value=1 guard=ok\ncall=1 ret=0 errno=0 value=2 guard=ok\ncall=2 ret=0 errno=0 value=3 guard=ok\n',
    };
  }
  if (command.includes('probe alternate 451 6')) {
    const lines = [4, 5, 6, 7, 8, 9].map(
      (value, i) => `call=${i} by=${i % 2 ? 'child' : 'parent'} ret=0 errno=0 value=${value} guard=ok`,
    );
    return { stdout: `${lines.join('\n')}\n` };
  }
  if (command === 'uname -r') return { stdout: `${patchedRelease}\n` };
  return {};
}

function recorder(): { events: LabEvent[]; emit: (event: LabEvent) => void } {
  const events: LabEvent[] = [];
  return { events, emit: (event) => events.push(event) };
}

/** The events as short strings, to compare their order. */
function outline(events: LabEvent[]): string[] {
  return events.map((event) => {
    switch (event.type) {
      case 'status':
        return `${event.scope} status ${event.text}`;
      case 'status-end':
        return `${event.scope} status-end`;
      case 'check':
        return `${event.scope} check ${event.result.name} ${event.result.status}`;
      default:
        return event.type;
    }
  });
}

function expectTimedWithin(results: CheckResult[], before: number, after: number): void {
  for (const result of results) {
    expect(typeof result.started, `${result.name} has started`).toBe('string');
    expect(result.started).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const started = Date.parse(result.started!);
    expect(started).toBeGreaterThanOrEqual(before);
    expect(started).toBeLessThanOrEqual(after);
    expect(typeof result.seconds, `${result.name} has seconds`).toBe('number');
    expect(result.seconds).toBeGreaterThanOrEqual(0);
    expect(result.seconds!).toBeLessThanOrEqual((after - before) / 1000 + 0.1);
  }
}

describe('runChecks', () => {
  it('times every result: started within the run, seconds >= 0', async () => {
    const machine = new RecordedMachine(healthyGuest);
    const before = Date.now();
    const results = await runChecks(
      [enosysControl, patchedKernelRunning, callcountIncrements],
      context(machine),
      '6.1',
    );
    const after = Date.now();
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['enosys-control', 'pass'],
      ['patched-kernel-running', 'pass'],
      ['callcount-increments', 'pass'],
    ]);
    expectTimedWithin(results, before, after);
  });

  it('measures how long a check took', async () => {
    const slow: Check = {
      name: 'slow',
      stage: 'patched',
      async run() {
        await new Promise((resolve) => setTimeout(resolve, 350));
        return [{ name: 'slow', status: 'pass', expected: '-', actual: '-', details: '' }];
      },
    };
    const [result] = await runChecks([slow], context(new RecordedMachine(() => ({}))), '6.1');
    expect(result!.seconds).toBeGreaterThanOrEqual(0.3);
    expect(result!.seconds).toBeLessThan(5);
  });

  it('keeps the timing a check set itself (one userland program of several)', async () => {
    const own: Check = {
      name: 'own',
      stage: 'patched',
      async run() {
        return [
          {
            name: 'own:a',
            status: 'pass',
            expected: '-',
            actual: '-',
            details: '',
            started: '2001-02-03T04:05:06.000Z',
            seconds: 42,
          },
          { name: 'own:b', status: 'pass', expected: '-', actual: '-', details: '' },
        ];
      },
    };
    const before = Date.now();
    const [a, b] = await runChecks([own], context(new RecordedMachine(() => ({}))), '6.1');
    expect(a).toMatchObject({ started: '2001-02-03T04:05:06.000Z', seconds: 42 });
    expectTimedWithin([b!], before, Date.now());
  });

  it('emits a status before each check, a status-end after it, then one check event per result', async () => {
    const machine = new RecordedMachine(healthyGuest);
    const { events, emit } = recorder();
    const results = await runChecks(
      [enosysControl, patchedKernelRunning, callcountIncrements],
      context(machine),
      '6.1 patched',
      emit,
    );
    expect(outline(events)).toEqual([
      '6.1 patched status check enosys-control',
      '6.1 patched status-end',
      '6.1 patched check enosys-control pass',
      '6.1 patched status check patched-kernel-running',
      '6.1 patched status-end',
      '6.1 patched check patched-kernel-running pass',
      '6.1 patched status check callcount-increments',
      '6.1 patched status-end',
      '6.1 patched check callcount-increments pass',
    ]);
    // The check events carry the very results returned, in order.
    const checkEvents = events.flatMap((event) => (event.type === 'check' ? [event.result] : []));
    expect(checkEvents).toEqual(results);
    // A status's `since` is when its check started.
    const statuses = events.flatMap((event) => (event.type === 'status' ? [event] : []));
    expect(statuses.map((status) => new Date(status.since).toISOString())).toEqual(results.map((r) => r.started));
  });

  it('emits the status before the check runs, and its result only after', async () => {
    const { events, emit } = recorder();
    const seenWhileRunning: string[][] = [];
    const machine = new RecordedMachine((command) => {
      seenWhileRunning.push(outline(events));
      return healthyGuest(command);
    });
    await runChecks([patchedKernelRunning], context(machine), '6.1', emit);
    expect(seenWhileRunning).toEqual([['6.1 status check patched-kernel-running']]);
  });

  it('emits one check event per result of a check that returns several', async () => {
    const several: Check = {
      name: 'several',
      stage: 'patched',
      async run() {
        return ['x', 'y', 'z'].map((n) => ({
          name: `several:${n}`,
          status: 'pass' as const,
          expected: '-',
          actual: '-',
          details: '',
        }));
      },
    };
    const { events, emit } = recorder();
    await runChecks([several], context(new RecordedMachine(() => ({}))), '6.1', emit);
    expect(outline(events)).toEqual([
      '6.1 status check several',
      '6.1 status-end',
      '6.1 check several:x pass',
      '6.1 check several:y pass',
      '6.1 check several:z pass',
    ]);
  });

  it('emits a check that fails by throwing, after its status-end', async () => {
    const broken: Check = {
      name: 'broken',
      stage: 'patched',
      async run() {
        throw new Error('sftp: permission denied');
      },
    };
    const { events, emit } = recorder();
    const [result] = await runChecks([broken], context(new RecordedMachine(() => ({}))), '6.1', emit);
    expect(result).toMatchObject({ name: 'broken', status: 'fail', actual: 'sftp: permission denied' });
    const seen = outline(events);
    expect(seen[0]).toBe('6.1 status check broken');
    expect(seen.at(-1)).toBe('6.1 check broken fail');
    // The status is ended once, before the result is shown.
    expect(seen.slice(1, -1)).toEqual(['6.1 status-end']);
    expect(typeof result!.started).toBe('string');
  });

  it('emits a skipped check (the patch set adds no callcount) as a check event with status skip', async () => {
    const machine = new RecordedMachine(healthyGuest);
    const { events, emit } = recorder();
    const before = Date.now();
    const results = await runChecks(
      [callcountIncrements, patchedKernelRunning],
      context(machine, [taskcount]),
      '6.1',
      emit,
    );
    expect(outline(events)).toEqual([
      '6.1 check callcount-increments skip',
      '6.1 status check patched-kernel-running',
      '6.1 status-end',
      '6.1 check patched-kernel-running pass',
    ]);
    const skippedEvent = events[0];
    expect(skippedEvent?.type === 'check' && skippedEvent.result).toMatchObject({
      name: 'callcount-increments',
      status: 'skip',
      details: 'the patch set adds no callcount syscall',
    });
    expect(results[0]).toEqual(skippedEvent?.type === 'check' ? skippedEvent.result : undefined);
    expectTimedWithin(results, before, Date.now());
    // Nothing ran in the guest for the skipped check.
    expect(machine.commands).toEqual(['uname -r']);
  });
});

describe('runCheckStage', () => {
  const tempDir = useTempDirs();
  const facts = (accel: 'kvm' | 'tcg' = 'kvm'): CheckFacts => ({
    added: [callcount, taskcount],
    patchedRelease,
    kernelVersion: '6.1.192',
    userlandFiles: [],
    headerFile: header(),
    commandTimeout: commandTimeoutMs(undefined, accel),
  });
  /** The run's generated syscall header, on the host. */
  const header = (): string => {
    const file = join(tempDir(), 'syscall-lab-syscalls.h');
    writeFileSync(file, '#define SYS_callcount 451\n#define SYS_taskcount 452\n');
    return file;
  };
  const probeSource = join(projectRoot, 'src', 'checks', 'guest', 'probe.c');

  it('uploads the header and the probe and compiles the probe before the first check', async () => {
    const machine = new RecordedMachine(healthyGuest);
    const { events, emit } = recorder();
    const { results, crashed } = await runCheckStage('stock', machine, facts(), '6.1', emit);
    expect(crashed).toBe(false);
    expect(existsSync(probeSource)).toBe(true);
    const probeHash = /\/build\/([0-9a-f]{16})\/probe enosys/.exec(machine.commands.join('\n'))?.[1];
    expect(probeHash).toBeDefined();
    expect(machine.log).toEqual([
      `exec mkdir -p /tmp/syscall-lab/src/${probeHash} /tmp/syscall-lab/build/${probeHash}\n${guestToolchainScript}`,
      expect.stringMatching(/^copy \/tmp\/.*\/syscall-lab-syscalls.h -> \/tmp\/syscall-lab\/syscall-lab-syscalls.h$/),
      `copy ${probeSource} -> /tmp/syscall-lab/src/${probeHash}/probe.c`,
      `copy ${join(projectRoot, 'src', 'checks', 'guest', 'bad-pointers.h')} -> /tmp/syscall-lab/src/${probeHash}/bad-pointers.h`,
      expect.stringMatching(
        new RegExp(
          `^exec cd /tmp/syscall-lab\n(.*\n)*compile ${probeHash} gcc -O2 -pthread -o ../../build/${probeHash}/probe probe.c &\nwait\n`,
        ),
      ),
      `exec /tmp/syscall-lab/build/${probeHash}/probe enosys 451 452`,
      expect.stringMatching(/^exec echo '<3>syscall-lab: end of checks [0-9a-f-]+' > \/dev\/kmsg$/),
    ]);
    // Only the stock stage's check, the negative control, then the judgement of the rest of the console.
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['enosys-control', 'pass'],
      ['kernel-console:stock', 'pass'],
    ]);
    expect(outline(events)).toEqual([
      '6.1 status check enosys-control',
      '6.1 status-end',
      '6.1 check enosys-control pass',
      '6.1 check kernel-console:stock pass',
    ]);
  });

  it('scales the command timeouts for TCG', async () => {
    const kvm = new RecordedMachine(healthyGuest);
    await runCheckStage('stock', kvm, facts('kvm'), '6.1');
    const tcg = new RecordedMachine(healthyGuest);
    await runCheckStage('stock', tcg, facts('tcg'), '6.1');
    expect(kvm.timeouts).toEqual([30_000, 60_000, 30_000, 30_000]);
    expect(tcg.timeouts).toEqual([120_000, 240_000, 120_000, 120_000]);
  });

  it('takes --command-timeout as given, unscaled, for every guest command', async () => {
    expect(commandTimeoutMs(10, 'tcg')).toBe(10_000);
    expect(commandTimeoutMs(undefined, 'tcg')).toBe(120_000);
    const machine = new RecordedMachine(healthyGuest);
    await runCheckStage('stock', machine, { ...facts('tcg'), commandTimeout: commandTimeoutMs(10, 'tcg') }, '6.1');
    expect(machine.timeouts).toEqual([10_000, 20_000, 10_000, 10_000]);
  });

  it('runs the patched checks, and not the negative control, on the patched kernel', async () => {
    const machine = new RecordedMachine(healthyGuest);
    const example = join(projectRoot, 'userland', 'examples', 'callcount_example.c');
    const { results } = await runCheckStage('patched', machine, { ...facts(), userlandFiles: [example] }, '6.1');
    const names = results.map((r) => r.name);
    expect(names).not.toContain('enosys-control');
    expect(names.slice(0, 2)).toEqual(['patched-kernel-running', 'taskcount-matches-top']);
    expect(results.find((r) => r.name === 'userland:callcount_example.c')?.status).toBe('pass');
    expect(names.at(-1)).toBe('kernel-console:patched');
    expect(machine.commands[0]).toMatch(
      /^mkdir -p \/tmp\/syscall-lab\/src\/[0-9a-f]{16} \/tmp\/syscall-lab\/src\/[0-9a-f]{16} \/tmp\/syscall-lab\/build\/[0-9a-f]{16} \/tmp\/syscall-lab\/build\/[0-9a-f]{16}\n/,
    );
    expect(machine.commands[1]).toMatch(/^cd \/tmp\/syscall-lab\n/);
    // The shipped programs of the patched stage are compiled in the same step as the probe.
    expect(machine.commands[1]).toMatch(/-o ..\/..\/build\/[0-9a-f]{16}\/callcount_example callcount_example.c &/);
    expect(machine.commands.filter((command) => command.includes('compile()'))).toHaveLength(1);
  });

  it('runs only the checks asked for (test on a kept VM: the userland programs), and judges the console', async () => {
    const machine = new RecordedMachine(healthyGuest);
    const example = join(projectRoot, 'userland', 'examples', 'callcount_example.c');
    const { results } = await runCheckStage(
      'patched',
      machine,
      { ...facts(), userlandFiles: [example] },
      '6.1',
      undefined,
      runsUserland,
    );
    expect(results.map((r) => r.name)).toEqual(['userland:callcount_example.c', 'kernel-console:patched']);
    expect(machine.commands.some((command) => / (call|efault|alternate|proc) /.test(command))).toBe(false);
    expect(builtinResults(results)).toEqual([]);
  });

  it('stops with an infrastructure error (exit 3) when the probe does not compile', async () => {
    const machine = new RecordedMachine(
      (command) => compileAnswer(command, { probe: 'probe.c:12:5: error: unknown type name' }) ?? healthyGuest(command),
    );
    const { events, emit } = recorder();
    const error = await runCheckStage('stock', machine, facts(), '6.1', emit).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).exitCode).toBe(3);
    expect((error as LabError).message).toContain('the probe did not compile');
    expect((error as LabError).message).toContain('unknown type name');
    // No check ran.
    expect(machine.commands.some((command) => command.includes('probe enosys'))).toBe(false);
    expect(events).toEqual([]);
  });
});

describe('a machine that goes away during a check', () => {
  const panicTail = '[   20.1] Kernel panic - not syncing: Fatal exception\n[   20.1] Kernel Offset: disabled\n';
  const programs = ['/work/u/a_first.c', '/work/u/b_panics.c', '/work/u/c_never.c'];

  it('keeps the userland programs that ran, fails the one it died in, and reports the rest and the later checks as not run', async () => {
    const machine = new RecordedMachine((command) => {
      if (command.endsWith('/userland/b_panics')) throw new MachineGoneError('QEMU exited (code 0)', panicTail, 0);
      return {};
    });
    const laterCheck: Check = { name: 'later', stage: 'patched', run: async () => [] };
    const error = await runChecks(
      [userland, laterCheck],
      testContext(machine, { userlandFiles: programs }),
      '6.1',
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckAbortedError);
    const aborted = error as CheckAbortedError;
    expect(aborted.exitCode).toBe(1);
    expect(aborted.results.map((r) => [r.name, r.status, r.actual])).toEqual([
      ['userland:a_first.c', 'pass', 'exit 0'],
      ['userland:b_panics.c', 'fail', 'kernel panic: Kernel panic - not syncing: Fatal exception'],
      ['userland:c_never.c', 'skip', 'not run'],
      ['later', 'skip', 'not run'],
    ]);
  });

  it('fails the check as an unrequested reset when QEMU exits 0 with nothing on the console', async () => {
    const machine = new RecordedMachine(() => {
      throw new MachineGoneError('QEMU exited (code 0) during the command', 'syscall-lab-init: sshd started\n', 0);
    });
    const error = (await runChecks([callcountIncrements, patchedKernelRunning], context(machine), '6.1').catch(
      (e: unknown) => e,
    )) as CheckAbortedError;
    expect(error.exitCode).toBe(1);
    expect(error.results.map((r) => [r.name, r.status])).toEqual([
      ['callcount-increments', 'fail'],
      ['patched-kernel-running', 'skip'],
    ]);
    expect(error.results[0]?.actual).toMatch(/unrequested reset/);
  });

  it("is the machine's fault (exit 3) when QEMU was killed (no exit code) with nothing on the console", async () => {
    const machine = new RecordedMachine(() => {
      throw new MachineGoneError(
        'QEMU exited (code SIGKILL) during the command',
        'syscall-lab-init: sshd started\n',
        null,
      );
    });
    const error = (await runChecks([callcountIncrements], context(machine), '6.1').catch(
      (e: unknown) => e,
    )) as CheckAbortedError;
    expect(error.exitCode).toBe(3);
  });
});
