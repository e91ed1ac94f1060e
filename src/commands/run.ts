import type { Options } from '../config.ts';
import { defaults } from '../options.ts';
import type { Emit } from '../events.ts';
import { shellQuote } from '../guest/ssh.ts';
import { exitOnInterruptWith, onInterrupt } from '../reaper.ts';
import type { RunReport } from '../report/model.ts';
import { RunFolder } from '../run-folder.ts';
import type { PlannedRun } from '../stages/plan.ts';
import { emitFirstFailingCommit } from '../stages/commit-verdict.ts';
import { kernelArguments } from '../stages/git-plan.ts';
import { prepareRuns } from '../stages/prepare.ts';
import { writeReports } from '../stages/report.ts';
import { runKernel, type KernelRunOutcome } from '../stages/run-kernel.ts';
import {
  bisectExitCode,
  combineBisectCodes,
  outcomeOf,
  thrownOutcome,
  type BisectCode,
} from '../stages/bisect-exit.ts';
import { checkJudgedNames } from '../stages/judged.ts';
import { BadInputError, ExitCode, LabError } from '../errors.ts';
import { chooseAccel } from '../vm/accel.ts';

/**
 * `syscall-lab run`: every kernel of the matrix, one after another, through the stages; then the
 * reports. The exit code is the most severe of the kernels': infrastructure (3) over a failed
 * check (1), since such a run could not say whether the syscalls work.
 */
export async function runCommand(options: Options, emit: Emit): Promise<number> {
  return options.bisect ? bisectRun(options, emit) : runMatrix(options, emit);
}

/** `run --bisect` (`git bisect run`): each kernel's outcome mapped to 0, 1, 125 or 128 (bisect-exit.ts). */
async function bisectRun(options: Options, emit: Emit): Promise<number> {
  exitOnInterruptWith(ExitCode.abort);
  const codes: BisectCode[] = [];
  try {
    await runMatrix(options, emit, (outcome) => {
      codes.push(bisectExitCode(outcomeOf(outcome.exitCode, outcome.failure), options.bisectSkipBuildFailures));
    });
  } catch (error) {
    // The cause and fix are printed as always; only the exit code is git's.
    const code = bisectExitCode(thrownOutcome(error), options.bisectSkipBuildFailures);
    if (error instanceof LabError) throw new LabError(error.message, code, error.fix, error.details);
    throw new LabError(error instanceof Error ? error.message : String(error), code, undefined, (error as Error).stack);
  }
  return combineBisectCodes(codes);
}

async function runMatrix(
  options: Options,
  emit: Emit,
  onOutcome: (outcome: KernelRunOutcome) => void = () => undefined,
): Promise<number> {
  if (options.bisectSkipBuildFailures && !options.bisect)
    throw new BadInputError('--bisect-skip-build-failures applies with --bisect', 'add --bisect, or drop the option');
  if (options.check) checkJudgedNames(options.check);
  if (options.gdb && !options.keep)
    throw new BadInputError(
      '--gdb attaches to the VM left running, and run leaves none without --keep',
      'add --keep (the patched VM of the last kernel then waits for gdb), or use `syscall-lab boot --gdb`',
    );
  const plans = await prepareRuns(options, emit);
  const { accel, notice } = chooseAccel(options.accel);
  if (notice) emit({ type: 'notice', text: notice });
  const reports: RunReport[] = [];
  const exitCodes: number[] = [];
  let worst = 0;
  const interrupted = new AbortController();
  const stopListening = onInterrupt(() => {
    interrupted.abort();
  });
  for (const [index, plan] of plans.entries()) {
    if (interrupted.signal.aborted) break;
    const outcome = await runKernel(plan, {
      options,
      folder: RunFolder.create(index),
      accel,
      emit,
      reproduce: reproduceLine(plan, options),
      keep: options.keep && index === plans.length - 1,
    });
    reports.push(outcome.report);
    exitCodes.push(outcome.exitCode);
    onOutcome(outcome);
    worst = Math.max(worst, outcome.exitCode);
  }
  stopListening();
  await writeReports(reports, options, emit);
  // `--each`: the commit that broke the range, after the summary (with it on stderr when stdout is a report).
  if (options.each) emitFirstFailingCommit(plans, exitCodes, emit, options.json === '-' || options.junit === '-');
  return worst;
}

/** The command that runs this kernel again, one line. */
export function reproduceLine(plan: PlannedRun, options: Options): string {
  const args = ['npx', 'syscall-lab', 'run', ...kernelArguments(plan)];
  if (options.sha256) args.push('--sha256', options.sha256);
  if (options.configFragment) args.push('--config-fragment', options.configFragment);
  if (options.userland) args.push('--userland', options.userland);
  if (options.accel !== 'auto') args.push('--accel', options.accel);
  if (options.conformance !== defaults.conformance) args.push('--conformance', options.conformance);
  // The same kernels: debug info and the profile change what is built (--gdb needs a kept VM, not a reproducer).
  if (options.debugInfo || options.gdb) args.push('--debug-info');
  if (options.profile !== defaults.profile) args.push('--profile', options.profile);
  return args.map(shellQuote).join(' ');
}
