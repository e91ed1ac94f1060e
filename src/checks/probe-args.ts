/**
 * Any syscall with up to six arguments through the probe's `args` mode (src/checks/guest/probe.c):
 * plain values, pattern-filled buffers with guard bytes, and the same bad pointers
 * bad-pointer-efault uses, made by the same C code.
 */
import type { badKinds } from './bad-pointer-efault.ts';
import type { CheckContext, ProbeLine } from './check.ts';
import { bigIntOf, intOf, runProbe } from './check.ts';
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

/**
 * Calls syscall `nr` once in the guest with `args`. `answer` is missing when the probe printed
 * none: it was killed (an oops), the call did not return (exit), or it rejected an argument
 * (exit 2, its message in `output`).
 */
export async function callWithArgs(
  context: CheckContext,
  nr: number,
  args: ProbeArg[],
): Promise<{ answer?: ArgsAnswer; code: number | null; output: string }> {
  const command = probeArgsCommand(nr, directMapBase(context.kernelVersion), args);
  const { lines, code, output } = await runProbe(context, command);
  // The last answer: a syscall that writes to stdout (write(1, …)) prints before the probe does.
  const answer = lines.map(parseArgsAnswer).findLast((parsed) => parsed !== undefined);
  return answer ? { answer, code, output } : { code, output };
}
