import type { CheckContext, ProbeLine, SyscallCheck } from './check.ts';
import { bigIntOf, intOf, result, runProbe } from './check.ts';
import type { SyscallEntry } from '../kernel/syscalls.ts';

const calls = 3;
const alternateCalls = 6;

/** One part's verdict: the values it read (for the texts), and what is wrong with them. */
interface Part {
  values: string;
  problems: string[];
  output: string;
}

/** A call's value, with what is wrong with the call beside it: "7", "7 (ret -1, errno 14)", "7 (guard clobbered)". */
function shown(line: ProbeLine): string {
  const ret = intOf(line.ret);
  const flags = [
    ret === null || ret < 0 ? `ret ${line.ret ?? 'none'}` : '',
    line.errno !== undefined && line.errno !== '0' ? `errno ${line.errno}` : '',
    line.guard !== 'ok' ? `guard ${line.guard ?? 'none'}` : '',
  ].filter(Boolean);
  const by = line.by ? ` by ${line.by}` : '';
  return `${line.value ?? 'none'}${by}${flags.length ? ` (${flags.join(', ')})` : ''}`;
}

/**
 * The calls must be `count` lines numbered 0..count-1 in order, each successful (ret >= 0) with
 * its guard intact, whose values are first, first+1, ... in call order.
 */
function judgeSequence(
  lines: ProbeLine[],
  count: number,
  code: number | null,
): { first: bigint | null; problems: string[] } {
  const problems: string[] = [];
  if (code !== 0) problems.push(`probe exit ${code ?? 'killed'}`);
  if (lines.length !== count) problems.push(`${lines.length} of ${count} calls answered`);
  if (lines.some((line, i) => line.call !== String(i))) problems.push('calls out of order');
  if (lines.some((line) => (intOf(line.ret) ?? -1) < 0)) problems.push('a call failed (ret < 0)');
  if (lines.some((line) => line.guard !== 'ok')) problems.push('guard bytes clobbered (a copy of more than 8 bytes)');
  const values = lines.map((line) => bigIntOf(line.value));
  const first = values[0] ?? null;
  if (first === null || values.some((value, i) => value === null || value !== first + BigInt(i)))
    problems.push('values are not consecutive');
  return { first, problems };
}

/** (a) `probe call NR 3`: n, n+1, n+2 with n >= 1 in one process. */
async function threeCalls(context: CheckContext, syscall: SyscallEntry): Promise<Part & { first: bigint | null }> {
  const { lines, code, output } = await runProbe(context, ['call', syscall.number, calls]);
  const { first, problems } = judgeSequence(lines, calls, code);
  if (first !== null && first < 1n) problems.push(`the first value is ${first.toString()}, not >= 1`);
  return { first, values: lines.map(shown).join(', ') || 'no answer', problems, output };
}

/** (b) `probe alternate NR 6`: a parent and a child in turn share one count: m, ..., m+5 in call order. */
async function alternating(context: CheckContext, syscall: SyscallEntry, after: bigint | null): Promise<Part> {
  const { lines, code, output } = await runProbe(context, ['alternate', syscall.number, alternateCalls]);
  const { first, problems } = judgeSequence(lines, alternateCalls, code);
  if (lines.some((line, i) => line.by !== (i % 2 === 0 ? 'parent' : 'child')))
    problems.push('the calls are not parent, child in turn');
  if (first !== null && after !== null && first < after + BigInt(calls))
    problems.push(`the count went back: ${first.toString()} after ${(after + BigInt(calls) - 1n).toString()}`);
  return { values: lines.map(shown).join(', ') || 'no answer', problems, output };
}

/**
 * callcount counts every call: three calls return n, n+1, n+2 (n >= 1); then a parent and a
 * forked child taking turns see one count, m..m+5 in call order (a count per process or per
 * thread group fails). Values are BigInts: a copy of an int into the unsigned long leaves half
 * of the fill pattern, which no sequence survives; a copy of more than 8 bytes clobbers the guard.
 */
export const callcountIncrements: SyscallCheck = {
  name: 'callcount-increments',
  stage: 'patched',
  needs: 'callcount',
  async run(context, syscall) {
    const three = await threeCalls(context, syscall);
    const turns = await alternating(context, syscall, three.first);
    const text = (part: Part): string =>
      `${part.values}${part.problems.length ? ` <- ${part.problems.join('; ')}` : ''}`;
    return [
      result(
        this.name,
        three.problems.length === 0 && turns.problems.length === 0,
        '3 calls: n, n+1, n+2 (n >= 1); parent and child in turn: m, ..., m+5 (m >= n+3); every ret >= 0, guard ok',
        `3 calls: ${text(three)}; parent and child in turn: ${text(turns)}`,
        `${three.output.trimEnd()}\n${turns.output.trimEnd()}`,
      ),
    ];
  },
};
