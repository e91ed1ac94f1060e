import { readFileSync } from 'node:fs';
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
import { userland } from '../../src/checks/userland.ts';
import type { SyscallEntry } from '../../src/kernel/syscalls.ts';
import { CheckAbortedError, runChecks } from '../../src/stages/checks.ts';
import { TimeoutError } from '../../src/errors.ts';
import { MachineGoneError } from '../../src/vm/machine.ts';
import type { ConsoleLog, ExecResult, Machine } from '../../src/vm/machine.ts';

/** A machine that answers commands from recorded guest outputs; no VM. */
class RecordedMachine implements Machine {
  readonly backend = 'recorded';
  readonly accel = 'none';
  readonly commands: string[] = [];
  readonly copies: string[] = [];
  consoleText = '';

  constructor(private readonly answer: (command: string, call: number) => Partial<ExecResult>) {}

  async exec(command: string): Promise<ExecResult> {
    this.commands.push(command);
    return { code: 0, stdout: '', stderr: '', ...this.answer(command, this.commands.length) };
  }
  async copy(local: string, remote: string): Promise<void> {
    this.copies.push(`${local} -> ${remote}`);
  }
  console(): ConsoleLog {
    return {
      path: '/dev/null',
      mark: () => this.consoleText.length,
      since: (mark = 0) => this.consoleText.slice(mark),
    };
  }
}

const callcount: SyscallEntry = { number: 451, abi: 'common', name: 'callcount', entry: 'sys_callcount' };
const taskcount: SyscallEntry = { number: 452, abi: 'common', name: 'taskcount', entry: 'sys_taskcount' };

function context(machine: Machine, added: SyscallEntry[] = [callcount, taskcount]): CheckContext {
  return {
    machine,
    added,
    probe: '/tmp/syscall-lab/probe',
    guestDir: '/tmp/syscall-lab',
    commandTimeout: 1000,
    patchedRelease: '6.1.192-patched-12345678',
    userlandFiles: ['/src/a_test.c'],
    syscallHeader: '/tmp/syscall-lab/syscall-lab-syscalls.h',
  };
}

const topSample = (taskcountValue: number, topValue: number): string =>
  `ret=0 errno=0 value=${taskcountValue}\nTasks:  ${topValue} total,   1 running,  ${topValue - 1} sleeping,   0 stopped,   0 zombie\n`;

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
  it('passes with 3 of 5 samples equal and reports every sample', async () => {
    const samples = [
      topSample(27, 27),
      topSample(27, 28),
      topSample(28, 28),
      topSample(29, 30),
      topSample(27, 27),
    ].join('');
    const machine = new RecordedMachine(() => ({ stdout: samples }));
    const [result] = await taskcountMatchesTop.run(context(machine), taskcount);
    expect(result!.status).toBe('pass');
    expect(result!.actual).toContain('3 of 5 equal');
    expect(result!.details.split('\n').filter((line) => line.startsWith('sample '))).toHaveLength(5);
    expect(machine.commands[0]).toMatch(/probe call 452 1; top -bn1 -w 200 > \/tmp\/syscall-lab\/top\.out/);
  });

  it('fails with only 2 of 5 equal, and when taskcount never writes the count', async () => {
    const twoOfFive = [
      topSample(27, 27),
      topSample(27, 28),
      topSample(28, 28),
      topSample(29, 30),
      topSample(26, 27),
    ].join('');
    const [few] = await taskcountMatchesTop.run(context(new RecordedMachine(() => ({ stdout: twoOfFive }))), taskcount);
    expect(few!.status).toBe('fail');
    const untouched = Array.from({ length: 5 }, () => topSample(3735928559, 27)).join('');
    const [never] = await taskcountMatchesTop.run(
      context(new RecordedMachine(() => ({ stdout: untouched }))),
      taskcount,
    );
    expect(never!.status).toBe('fail');
    expect(never!.actual).toContain('0 of 5 equal');
  });
});

describe('taskcount-matches-proc', () => {
  it('samples five separate calls and compares with the /proc count', async () => {
    const counts = [30, 30, 31, 30, 29];
    const machine = new RecordedMachine((_, call) => ({ stdout: `ret=0 errno=0 value=30 proc=${counts[call - 1]}\n` }));
    const [result] = await taskcountMatchesProc.run(context(machine), taskcount);
    expect(machine.commands).toHaveLength(5);
    expect(result!.status).toBe('pass');
  });
});

describe('callcount-increments', () => {
  it('passes for n, n+1, n+2 and any non-negative return (the talk returns 1)', async () => {
    const machine = new RecordedMachine(() => ({
      stdout: 'ret=1 errno=0 value=5\nret=1 errno=0 value=6\nret=1 errno=0 value=7\n',
    }));
    const [result] = await callcountIncrements.run(context(machine), callcount);
    expect(result!.status).toBe('pass');
    expect(result!.expected).toBe('5, 6, 7');
  });

  it('fails when the count does not move', async () => {
    const machine = new RecordedMachine(() => ({
      stdout: 'ret=0 errno=0 value=5\nret=0 errno=0 value=5\nret=0 errno=0 value=5\n',
    }));
    const [result] = await callcountIncrements.run(context(machine), callcount);
    expect(result!.status).toBe('fail');
  });
});

const efaultOutput =
  'kind=null ret=-1 errno=14\nkind=unmapped ret=-1 errno=14\nkind=kernel ret=-1 errno=14\nkind=readonly ret=-1 errno=14\nkind=misaligned ret=0 errno=0 value=31\n';

describe('bad-pointer-efault', () => {
  it('passes when every bad pointer gives EFAULT and the misaligned one works, for both syscalls', async () => {
    const machine = new RecordedMachine(() => ({ stdout: efaultOutput }));
    const [result] = await badPointerEfault.run(context(machine));
    expect(result!.status).toBe('pass');
    expect(machine.commands).toEqual(['/tmp/syscall-lab/probe efault 451', '/tmp/syscall-lab/probe efault 452']);
  });

  it('fails when the probe is killed at the NULL pointer (an oops)', async () => {
    const machine = new RecordedMachine(() => ({ stdout: '', code: 137 }));
    const [result] = await badPointerEfault.run(context(machine, [callcount]));
    expect(result!.status).toBe('fail');
    expect(result!.actual).toContain('callcount(null): no answer');
  });

  it('is skipped when the patch set adds neither built-in syscall', async () => {
    const [result] = await badPointerEfault.run(context(new RecordedMachine(() => ({})), []));
    expect(result!.status).toBe('skip');
  });
});

describe('userland', () => {
  it('reports a compile error with the compiler message and does not run the program', async () => {
    const machine = new RecordedMachine((command) =>
      command.startsWith('gcc') ? { code: 1, stderr: "a_test.c:3:1: error: expected ';' before '}' token" } : {},
    );
    const [result] = await userland.run(context(machine));
    expect(result!.name).toBe('userland:a_test.c');
    expect(result!.status).toBe('fail');
    expect(result!.details).toContain("expected ';'");
    expect(machine.commands.some((command) => command === '/tmp/syscall-lab/userland/a_test')).toBe(false);
  });

  it('turns KTAP lines into sub-results and fails on a "not ok"', async () => {
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
    expect(machine.commands).toContain(
      'gcc -Wall -O2 -include /tmp/syscall-lab/syscall-lab-syscalls.h -o /tmp/syscall-lab/userland/a_test /tmp/syscall-lab/userland/a_test.c',
    );
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
    const results = await userland.run({ ...context(machine), userlandFiles: ['/src/oopses.c', '/src/clean.c'] });
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['userland:oopses.c', 'fail'],
      ['userland:clean.c', 'pass'],
    ]);
    expect(results[0]!.details).toContain('BUG: kernel NULL pointer dereference');
    expect(userland.judgesConsole).toBe(true);
  });
});

describe('userland timeouts', () => {
  it('fails a hanging program alone and still runs the next one', async () => {
    const machine = new RecordedMachine((command) => {
      if (command === '/tmp/syscall-lab/userland/hangs') throw new TimeoutError('guest command timed out after 1 s');
      return {};
    });
    const results = await userland.run({ ...context(machine), userlandFiles: ['/src/hangs.c', '/src/works.c'] });
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
        return { stdout: efaultOutput };
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
