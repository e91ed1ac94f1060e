import type { ProbeLine } from './check.ts';
import { bigIntOf, intOf, parseProbeLines } from './check.ts';

/**
 * The sampling rule of the count checks: 5 samples, pass when at least 3 are exactly equal.
 * Samples are matched by their number N (every line carries `sample=N`), never by position.
 */
export const samples = 5;
export const samplesNeeded = 3;

/** One sample: what the syscall wrote and the reference taken with it. */
export interface Sample {
  /** The sample's number, 1..5. */
  n: number;
  /** The value the syscall wrote (exact: a pattern-filled value passes 2^53). */
  syscall: bigint | null;
  reference: bigint | null;
  /** The syscall's return value; any non-negative value is success. */
  ret: number | null;
  /** The probe's exit status for this sample. */
  probeExit: number | null;
  /** The probe's guard bytes after the variable: `ok`, or `clobbered` by a copy of too many bytes. */
  guard: string | null;
  /** Set when the output for this number is ambiguous (two answers for one sample). */
  problem?: string;
}

/** What a sample's table line calls the two counts, e.g. taskcount and top. */
export interface SampleNames {
  syscall: string;
  reference: string;
}

const defaultNames: SampleNames = { syscall: 'syscall', reference: 'reference' };

/** Why a sample does not count as equal, or null when it does. */
export function sampleProblem(sample: Sample): string | null {
  if (sample.problem) return sample.problem;
  if (sample.syscall === null || sample.ret === null) return 'no probe answer';
  if (sample.probeExit === null) return 'no probe exit status';
  if (sample.probeExit !== 0) return `probe exited ${sample.probeExit}`;
  if (sample.ret < 0) return `syscall returned ${sample.ret}`;
  if (sample.guard !== 'ok') return `guard ${sample.guard ?? 'missing'}`;
  if (sample.reference === null) return 'no reference';
  return sample.syscall === sample.reference ? null : 'differs';
}

function missing(n: number): Sample {
  return { n, syscall: null, reference: null, ret: null, probeExit: null, guard: null };
}

/** Samples 1..5 by number: a number without an answer is missing, one with several is ambiguous. */
export function byNumber(taken: Sample[]): Sample[] {
  return Array.from({ length: samples }, (_, i) => {
    const found = taken.filter((sample) => sample.n === i + 1);
    if (found.length > 1) return { ...missing(i + 1), problem: `${found.length} answers for one sample` };
    return found[0] ?? missing(i + 1);
  });
}

const show = (value: bigint | number | null): string => (value === null ? 'none' : value.toString());

export function judgeSamples(
  taken: Sample[],
  names: SampleNames = defaultNames,
): { pass: boolean; equal: number; table: string; last: Sample } {
  const numbered = byNumber(taken);
  const equal = numbered.filter((sample) => sampleProblem(sample) === null).length;
  const table = numbered
    .map((s) => {
      const problem = sampleProblem(s);
      return `sample ${s.n}: ${names.syscall} ${show(s.syscall)}, ${names.reference} ${show(s.reference)} (ret ${show(s.ret)}, probe exit ${show(s.probeExit)}, guard ${s.guard ?? 'none'})${problem ? `  <- ${problem}` : ''}`;
    })
    .join('\n');
  return { pass: equal >= samplesNeeded, equal, table, last: numbered[numbered.length - 1] ?? missing(samples) };
}

/** The lines of one sample number: the probe's answers, the shell's `probe_exit=C`, and any other (top's `Tasks:`). */
export interface SampleLines {
  probe: ProbeLine[];
  exits: ProbeLine[];
  other: string[];
}

/** Groups the `sample=N ...` lines of a sampled run by N. */
export function linesBySample(stdout: string): Map<number, SampleLines> {
  const grouped = new Map<number, SampleLines>();
  for (const line of stdout.split('\n')) {
    const match = /^sample=(\d+)\s+(.*?)\s*$/.exec(line);
    if (!match) continue;
    const n = Number(match[1]);
    const rest = match[2] ?? '';
    const group = grouped.get(n) ?? { probe: [], exits: [], other: [] };
    grouped.set(n, group);
    const [fields] = /^\w+=/.test(rest) ? parseProbeLines(rest) : [];
    if (!fields) group.other.push(rest);
    else if ('probe_exit' in fields) group.exits.push(fields);
    else group.probe.push(fields);
  }
  return grouped;
}

/**
 * The sample numbered `n` from its lines: the probe's line and exit status, and the reference
 * `referenceOf` reads from the lines (null when it is missing or ambiguous).
 */
export function readSample(
  n: number,
  lines: SampleLines | undefined,
  referenceOf: (lines: SampleLines) => bigint | null,
): Sample {
  if (!lines) return missing(n);
  const [probe] = lines.probe;
  const [exit] = lines.exits;
  const sample: Sample = {
    n,
    syscall: bigIntOf(probe?.value),
    reference: referenceOf(lines),
    ret: intOf(probe?.ret),
    probeExit: intOf(exit?.probe_exit),
    guard: probe?.guard ?? null,
  };
  if (lines.probe.length > 1) return { ...sample, problem: `${lines.probe.length} probe lines for one sample` };
  if (lines.exits.length > 1) return { ...sample, problem: `${lines.exits.length} exit statuses for one sample` };
  return sample;
}
