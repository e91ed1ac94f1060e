import { shellQuote } from '../guest/ssh.ts';
import type { SyscallEntry } from '../kernel/syscalls.ts';
import type { CheckResult } from '../report/model.ts';
import type { CheckContext } from './check.ts';
import { result } from './check.ts';
import type { SampleLines, SampleNames } from './sampling.ts';
import { judgeSamples, linesBySample, readSample, samples, samplesNeeded } from './sampling.ts';

/** Threads of the helper process (`probe hold 4`): a count of threads sees it 5 times, a count of processes once. */
export const helperThreads = 4;
/** Polls (every 0.05 s) for the helper's ready line: 5 s, longer where commands get longer (TCG: 20 s). */
export function readyPolls(context: CheckContext): number {
  return Math.max(100, Math.round(context.commandTimeout / 6 / 50));
}
/** `wait` on a process our SIGTERM killed: 128 + 15. */
const killedByUs = 143;

/**
 * The one guest command of a count check: `probe hold 4` starts in the background, the shell
 * waits (bounded) for its `ready` line, takes the 5 samples with `sample(n)` (`n` is the shell
 * variable holding the sample's number, `$n`: quote it), then kills the helper and reports how it ended.
 */
export function heldSamplesScript(context: CheckContext, sample: (n: string) => string): string {
  const helperOut = shellQuote(`${context.guestDir}/helper.out`);
  const numbers = Array.from({ length: samples }, (_, i) => i + 1).join(' ');
  return [
    // A file left from an earlier run would pass for the new helper's answer before it truncates it.
    `rm -f ${helperOut}`,
    `${shellQuote(context.probe)} hold ${helperThreads} >${helperOut} 2>&1 &`,
    'helper=$!',
    'echo "helper_pid=$helper"',
    'tries=0',
    `while ! grep -q '^ready ' ${helperOut} && [ "$tries" -lt ${readyPolls(context)} ]; do sleep 0.05; tries=$((tries + 1)); done`,
    'echo "helper_polls=$tries"',
    `if grep -q '^ready ' ${helperOut}; then`,
    `  cat ${helperOut}`,
    `  for n in ${numbers}; do`,
    `    ${sample('$n')}`,
    '  done',
    'else',
    "  echo 'helper-not-ready'",
    `  cat ${helperOut}`,
    'fi',
    'kill "$helper" 2>/dev/null',
    'wait "$helper" 2>/dev/null',
    'echo "helper_exit=$?"',
  ].join('\n');
}

/** The helper's `ready` line, or why the samples were not taken with it alive throughout. */
export function judgeHelper(stdout: string): { ready: string | null; problem: string | null } {
  const pid = /^helper_pid=(\d+)$/m.exec(stdout)?.[1];
  const readyLine = /^ready pid=(\d+) threads=(\d+)$/m.exec(stdout);
  const exit = /^helper_exit=(\d+)$/m.exec(stdout)?.[1];
  const ready = readyLine?.[0] ?? null;
  const name = `the helper process (probe hold ${helperThreads})`;
  if (!readyLine || /^helper-not-ready$/m.test(stdout))
    return { ready, problem: `${name} never became ready: no sample was taken with it` };
  if (readyLine[1] !== pid)
    return { ready, problem: `${name}: the ready line is not from the helper (pid ${pid ?? 'none'})` };
  if (Number(readyLine[2]) < helperThreads)
    return { ready, problem: `${name} has ${readyLine[2]} threads, not ${helperThreads}` };
  if (exit === undefined) return { ready, problem: `${name}: no exit status (the script did not finish)` };
  if (Number(exit) !== killedByUs)
    return { ready, problem: `${name} was gone before the last sample ended (exit ${exit}, not ${killedByUs})` };
  return { ready, problem: null };
}

export interface CountCheck {
  name: string;
  /** What the samples compare, e.g. "top's Tasks total". */
  reference: string;
  names: SampleNames;
  /** One sample's guest command; its lines must carry `sample=N`. */
  sample: (context: CheckContext, syscall: SyscallEntry, n: string) => string;
  /** The reference of one sample, from its lines. */
  referenceOf: (lines: SampleLines) => bigint | null;
}

/** Runs a count check's 5 samples with the helper alive, in one guest command, and judges them. */
export async function runCountCheck(
  check: CountCheck,
  context: CheckContext,
  syscall: SyscallEntry,
): Promise<CheckResult> {
  const script = heldSamplesScript(context, (n) => check.sample(context, syscall, n));
  const { stdout, stderr, code } = await context.machine.exec(script, { timeout: context.commandTimeout * 2 });
  const helper = judgeHelper(stdout);
  const grouped = linesBySample(stdout);
  const taken = Array.from({ length: samples }, (_, i) => readSample(i + 1, grouped.get(i + 1), check.referenceOf));
  const verdict = judgeSamples(taken, check.names);
  const { last } = verdict;
  const counted = `${verdict.equal} of ${samples} equal (last: ${check.names.syscall} ${last.syscall?.toString() ?? 'none'}, ${check.names.reference} ${last.reference?.toString() ?? 'none'})`;
  const evidence = [
    `helper: ${helper.ready ?? 'not ready'}${helper.problem ? `  <- ${helper.problem}` : ''}`,
    verdict.table,
    `guest output (exit ${code ?? 'killed'}):`,
    stdout.trimEnd(),
    stderr.trimEnd(),
  ];
  return result(
    check.name,
    code === 0 && helper.problem === null && verdict.pass,
    `taskcount = ${check.reference} in >= ${samplesNeeded} of ${samples} samples, a ${helperThreads}-thread helper process alive throughout`,
    helper.problem ?? (code === 0 ? counted : `${counted}; the guest command exited ${code ?? 'killed'}`),
    evidence.filter(Boolean).join('\n'),
  );
}
