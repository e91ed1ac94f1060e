import { basename } from 'node:path';
import type { CheckContext, CompiledProgram } from '../../../src/checks/check.ts';
import type { SyscallEntry } from '../../../src/kernel/syscalls.ts';
import type { ConsoleLog, ExecOptions, ExecResult, Machine } from '../../../src/vm/machine.ts';

/** A machine that answers commands from recorded guest outputs; no VM. Keeps commands and copies in one log, in order. */
export class RecordedMachine implements Machine {
  readonly backend = 'recorded';
  readonly accel = 'none';
  readonly commands: string[] = [];
  readonly copies: string[] = [];
  readonly timeouts: number[] = [];
  readonly log: string[] = [];
  consoleText = '';

  constructor(private readonly answer: (command: string, call: number) => Partial<ExecResult>) {}

  async exec(command: string, options: ExecOptions): Promise<ExecResult> {
    this.commands.push(command);
    this.timeouts.push(options.timeout);
    this.log.push(`exec ${command}`);
    // The kernel prints what is written to /dev/kmsg on its console (the end-of-checks marker).
    const kmsg = /^echo '<\d>(.*)' > \/dev\/kmsg$/.exec(command);
    if (kmsg) this.consoleText += `[   10.000000] ${kmsg[1] ?? ''}\n`;
    return Promise.resolve({ code: 0, stdout: '', stderr: '', ...this.answer(command, this.commands.length) });
  }
  async copy(local: string, remote: string): Promise<void> {
    this.copies.push(`${local} -> ${remote}`);
    this.log.push(`copy ${local} -> ${remote}`);
    return Promise.resolve();
  }
  async download(remote: string, local: string): Promise<void> {
    this.log.push(`download ${remote} -> ${local}`);
    return Promise.resolve();
  }
  console(): ConsoleLog {
    return textConsole(() => this.consoleText);
  }
}

/** A console log held in memory (`text` gives all of it so far), for fake machines. */
export function textConsole(text: () => string): ConsoleLog {
  return {
    path: '/dev/null',
    mark: () => text().length,
    since: (mark = 0) => text().slice(mark),
    between: (from, to) => text().slice(from, to),
  };
}

export const callcount: SyscallEntry = { number: 451, abi: 'common', name: 'callcount', entry: 'sys_callcount' };
export const taskcount: SyscallEntry = { number: 452, abi: 'common', name: 'taskcount', entry: 'sys_taskcount' };
export const patchedRelease = '6.1.192-patched-12345678';

/** The guest binary of a userland program in test contexts: /tmp/syscall-lab/userland/<name>. */
export function userlandBinary(file: string): string {
  return `/tmp/syscall-lab/userland/${basename(file).replace(/\.c$/, '')}`;
}

/**
 * A check context for the tests: every userland program compiled (at userlandBinary) unless
 * `compileErrors` gives its gcc output.
 */
export function testContext(
  machine: Machine,
  options: {
    added?: SyscallEntry[];
    userlandFiles?: string[];
    compileErrors?: Record<string, string>;
    probe?: string;
  } = {},
): CheckContext {
  const userlandFiles = options.userlandFiles ?? [];
  const programs = new Map<string, CompiledProgram>(
    userlandFiles.map((file) => {
      const error = options.compileErrors?.[file];
      return [
        file,
        {
          binary: userlandBinary(file),
          ok: error === undefined,
          status: error === undefined ? 0 : 1,
          log: error ?? '',
        },
      ];
    }),
  );
  return {
    machine,
    added: options.added ?? [callcount, taskcount],
    probe: options.probe ?? '/tmp/syscall-lab/probe',
    guestDir: '/tmp/syscall-lab',
    commandTimeout: 1000,
    patchedRelease,
    kernelVersion: '6.1.192',
    userlandFiles,
    programs,
    signatures: [],
    i386: [],
  };
}

/**
 * The guest's answer to the compile step (src/stages/guest-programs.ts): every program compiles,
 * except those named (`probe`, or a source's name without .c) in `errors`: gcc's exit 1 and that message.
 * Undefined for any other command.
 */
export function compileAnswer(command: string, errors: Record<string, string> = {}): Partial<ExecResult> | undefined {
  const hashes = /^for h in ([0-9a-f ]+); do/m.exec(command)?.[1]?.split(' ');
  if (!hashes) return undefined;
  const outcomes = hashes.map((hash) => {
    const gcc = new RegExp(`^compile ${hash} (.*) &$`, 'm').exec(command)?.[1] ?? '';
    const failing = Object.keys(errors).find((name) => gcc.includes(`-o ../../build/${hash}/${name} `));
    return failing === undefined ? `=== ${hash} 0` : `=== ${hash} 1\n${errors[failing] ?? ''}`;
  });
  return { stdout: `${outcomes.join('\n')}\n` };
}

/**
 * The guest shell's side of a batch of probe calls (callsWithArgs in src/checks/probe-args.ts: one
 * command per line, each followed by its exit-status mark): each call answered by `answer` on its
 * own, in order (one it does not answer: 127), a probe killed (code null) reported as the shell
 * does (137). Any other command is answered as it is. `calls` records each call's command.
 */
export function perCallAnswers(answer: (command: string) => Partial<ExecResult> | undefined): {
  answer: (command: string) => Partial<ExecResult> | undefined;
  calls: string[];
} {
  const calls: string[] = [];
  const mark = /^(.*) 2>&1; echo "(=== syscall-lab call \d+ exit) \$\?"$/;
  return {
    calls,
    answer: (script) => {
      const lines = script.split('\n');
      if (!lines.every((line) => mark.test(line))) return answer(script);
      const stdout = lines.map((line) => {
        const [, command = '', done = ''] = mark.exec(line) ?? [];
        calls.push(command);
        const { code = 0, stdout: out = '', stderr = '' } = answer(command) ?? { code: 127 };
        return `${out}${stderr}${done} ${code ?? 137}\n`;
      });
      return { stdout: stdout.join('') };
    },
  };
}
