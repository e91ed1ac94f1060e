/**
 * Any syscall with up to six arguments through the probe's `args` mode (src/checks/guest/probe.c):
 * plain values, pattern-filled buffers with guard bytes, and the same bad pointers
 * bad-pointer-efault uses, made by the same C code.
 */
import type { badKinds } from './bad-pointer-efault.ts';
import type { CheckContext, ProbeLine } from './check.ts';
import { bigIntOf, intOf, parseProbeLines } from './check.ts';
import { directMapBase } from './direct-map.ts';

/** A bad pointer the probe can make: bad-pointer-efault's kinds. */
export type BadKind = (typeof badKinds)[number];

/** One syscall argument: a register's value, a fresh buffer, or a bad pointer. */
export type ProbeArg =
  { kind: 'int'; value: bigint } | { kind: 'buffer'; size: number } | { kind: 'bad'; pointer: BadKind };

export interface ArgsAnswer {
  /** What the syscall returned; null when the probe did not call it (see `unavailable`). */
  ret: bigint | null;
  /** errno after the call (0 when it succeeded); null when the probe did not call. */
  errno: number | null;
  /** Each buffer argument by its index: its bytes after the call, and whether the guard bytes after it held. */
  buffers: Map<number, { bytes: Buffer; guard: 'ok' | 'clobbered' }>;
  /** Each bad pointer to memory the probe sees (readonly, kernel-writable) by its index: whether that memory changed. */
  pages: Map<number, 'unchanged' | 'changed'>;
  /** Each bad pointer the probe could not make, by its index, with why; any makes the probe not call. */
  unavailable: Map<number, string>;
}

/**
 * The probe's arguments for one call of syscall `nr` (after the binary). Values go as decimal,
 * negative ones with a minus: the probe takes -2^63 to 2^64-1 and turns them into the register's
 * bits; it checks every argument (sizes 1..4096, six at most) and exits 2 on one it does not take.
 */
export function probeArgsCommand(nr: number, directMap: string, args: ProbeArg[]): (string | number)[] {
  const specs = args.map((arg) => {
    switch (arg.kind) {
      case 'int':
        return `int:${arg.value.toString()}`;
      case 'buffer':
        return `buf:${arg.size}`;
      case 'bad':
        return `bad:${arg.pointer}`;
    }
  });
  return ['args', nr, directMap, ...specs];
}

/** An argument's field (`buf2`, `unavailable0`): its name and index, or undefined. */
function indexedField(key: string): { name: string; index: number } | undefined {
  const match = /^(buf|guard|page|unavailable)(\d+)$/.exec(key);
  return match ? { name: match[1] ?? '', index: Number(match[2]) } : undefined;
}

/**
 * The `args` mode's line as an answer; undefined when it is not one (no ret and nothing
 * unavailable, a field it never prints, or one out of shape): a line of another mode, or of
 * output the syscall itself wrote.
 */
export function parseArgsAnswer(line: ProbeLine): ArgsAnswer | undefined {
  const answer: ArgsAnswer = {
    ret: bigIntOf(line.ret),
    errno: intOf(line.errno),
    buffers: new Map(),
    pages: new Map(),
    unavailable: new Map(),
  };
  for (const [key, value] of Object.entries(line)) {
    const field = indexedField(key);
    if (!field && key !== 'ret' && key !== 'errno') return undefined;
    if (field?.name === 'unavailable') answer.unavailable.set(field.index, value);
    if (field?.name === 'page') {
      if (value !== 'unchanged' && value !== 'changed') return undefined;
      answer.pages.set(field.index, value);
    }
    if (field?.name === 'buf') {
      const guard = line[`guard${field.index}`];
      // Two hex digits a byte: Buffer.from(…, 'hex') would stop quietly at the first bad one.
      if (!/^(?:[0-9a-f]{2})+$/.test(value) || (guard !== 'ok' && guard !== 'clobbered')) return undefined;
      answer.buffers.set(field.index, { bytes: Buffer.from(value, 'hex'), guard });
    }
  }
  // Either the call's result or why there was no call: never both, never neither.
  const called = answer.ret !== null && answer.errno !== null;
  const notCalled = answer.unavailable.size > 0;
  return called !== notCalled ? answer : undefined;
}

/** One call of the probe's args mode: which probe binary (the 64-bit one, or the i386 one), the syscall number, the arguments. */
export interface ArgsCall {
  probe: string;
  nr: number;
  args: ProbeArg[];
}

/** What one call gave: its answer (missing when the probe printed none), the probe's exit status, its output. */
export interface ArgsOutcome {
  answer?: ArgsAnswer;
  code: number | null;
  output: string;
}

const callMark = (index: number): string => `=== syscall-lab call ${index} exit`;

/**
 * Makes each call in the guest, in order, in one command (one SSH round trip for all of them: a
 * generated check makes ten or more). Each probe is its own process: one killed by an oops, or
 * rejecting an argument (exit 2, its message in `output`), leaves the next ones to run; its
 * `answer` is then missing. The whole command may take the per-command limit once per call.
 */
export async function callsWithArgs(context: CheckContext, calls: ArgsCall[]): Promise<ArgsOutcome[]> {
  if (calls.length === 0) return [];
  const directMap = directMapBase(context.kernelVersion);
  const commands = calls.map((call) => [call.probe, ...probeArgsCommand(call.nr, directMap, call.args)].join(' '));
  const script = commands.map((command, index) => `${command} 2>&1; echo "${callMark(index)} $?"`).join('\n');
  const { stdout, stderr } = await context.machine.exec(script, { timeout: context.commandTimeout * calls.length });
  // Each call's output runs up to its mark; a call whose mark is missing did not finish.
  const parts = stdout.split(/^=== syscall-lab call (\d+) exit (\d+)\n?/m);
  const finished = new Map<number, { text: string; code: number }>();
  for (let k = 1; k + 1 < parts.length; k += 3)
    finished.set(Number(parts[k]), { text: parts[k - 1] ?? '', code: Number(parts[k + 1]) });
  return commands.map((command, index) => {
    const done = finished.get(index);
    const text = done?.text ?? (index === finished.size ? `${parts.at(-1) ?? ''}${stderr}` : '');
    // The last answer: a syscall that writes to stdout (write(1, …)) prints before the probe does.
    const answer = parseProbeLines(text)
      .map(parseArgsAnswer)
      .findLast((parsed) => parsed !== undefined);
    return { ...(answer && { answer }), code: done?.code ?? null, output: `$ ${command}\n${text}` };
  });
}
