import { ExitCode, LabError, type FailureKind } from '../errors.ts';

// `run --bisect`: a run's outcome as `git bisect run` must hear it. git takes 0 as good, 1-127
// (but 125) as bad, 125 as "cannot test this commit" (skip) and anything above 127 as "stop": so
// today's 2 (bad input) and 3 (infrastructure) would wrongly mark a commit bad.

/** What one run came to, in the detail the mapping needs. */
export type RunOutcome =
  | 'pass'
  | 'check-failed'
  | 'patched-build-failed'
  | 'series-does-not-apply'
  | 'stock-build-failed'
  | 'stock-crashed'
  | 'bad-input'
  | 'infrastructure'
  | 'interrupted';

/** The exit codes `run --bisect` gives git. */
export type BisectCode = typeof ExitCode.ok | typeof ExitCode.checkFailed | 125 | 128;

const signalExitCodes = new Set([129, 130, 143]);

/** A run's outcome from its exit code and the kind of its failure (runKernel's outcome, or an error's). */
export function outcomeOf(exitCode: number, failure?: FailureKind): RunOutcome {
  if (failure === 'series-does-not-apply') return 'series-does-not-apply';
  if (failure === 'stock-build') return 'stock-build-failed';
  if (failure === 'patched-build') return 'patched-build-failed';
  if (failure === 'stock-crash') return 'stock-crashed';
  if (exitCode === ExitCode.ok) return 'pass';
  if (exitCode === ExitCode.checkFailed) return 'check-failed';
  if (exitCode === ExitCode.badInput) return 'bad-input';
  return signalExitCodes.has(exitCode) ? 'interrupted' : 'infrastructure';
}

/** The outcome of an error thrown outside a kernel's run (planning, the patch check, the reports). */
export function thrownOutcome(error: unknown): RunOutcome {
  return error instanceof LabError ? outcomeOf(error.exitCode, error.kind) : 'infrastructure';
}

/**
 * 0 pass; 1 a judged check failed or the patched kernel did not build; 125 this commit cannot be
 * tested (the series does not apply to it, the stock kernel did not build or crashed, and with
 * --bisect-skip-build-failures a patched kernel that did not build); 128 anything else (bad
 * input, the host, an interrupt), which stops the bisection rather than blame the commit.
 */
export function bisectExitCode(outcome: RunOutcome, skipBuildFailures = false): BisectCode {
  switch (outcome) {
    case 'pass':
      return ExitCode.ok;
    case 'check-failed':
      return ExitCode.checkFailed;
    case 'patched-build-failed':
      return skipBuildFailures ? ExitCode.cannotTest : ExitCode.checkFailed;
    case 'series-does-not-apply':
    case 'stock-build-failed':
    case 'stock-crashed':
      return ExitCode.cannotTest;
    case 'bad-input':
    case 'infrastructure':
    case 'interrupted':
      return ExitCode.abort;
  }
}

/** Several kernels' codes as one: the one that says most, 128, then 125, then 1, then 0. */
export function combineBisectCodes(codes: readonly BisectCode[]): BisectCode {
  const order: BisectCode[] = [ExitCode.abort, ExitCode.cannotTest, ExitCode.checkFailed];
  return order.find((code) => codes.includes(code)) ?? ExitCode.ok;
}
