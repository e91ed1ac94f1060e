import { basename } from 'node:path';
import type { Check, CheckContext } from '../checks/check.ts';
import { CheckInterruptedError, failOnConsole, skipped } from '../checks/check.ts';
import type { ConsoleSpan } from '../checks/kernel-console.ts';
import { ExitCode, LabError } from '../errors.ts';
import { elapsedSeconds, silent, type Emit } from '../events.ts';
import type { CheckResult } from '../report/model.ts';
import { scanConsole } from '../vm/console.ts';
import { MachineGoneError } from '../vm/machine.ts';

/**
 * The VM died during a check: the results so far travel with the error. A kernel crash or an
 * unrequested reset is the kernel's failure (exit 1, the check during which it happened failed);
 * otherwise the machine's (exit 3).
 */
export class CheckAbortedError extends LabError {
  constructor(
    message: string,
    readonly results: CheckResult[],
    exitCode: ExitCode,
    details?: string,
  ) {
    super(message, exitCode, exitCode === ExitCode.checkFailed ? undefined : 'see the console log', details);
  }
}

/**
 * Runs checks one by one; an oops or panic on the console during a check fails that check.
 * Each result carries when its check started and how long it took; each check's console
 * window is added to `windows`.
 */
export async function runChecks(
  checks: Check[],
  context: CheckContext,
  scope: string,
  emit: Emit = silent,
  windows: ConsoleSpan[] = [],
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [index, check] of checks.entries()) {
    const started = Date.now();
    const timed = (result: CheckResult): CheckResult => ({
      ...result,
      started: result.started ?? new Date(started).toISOString(),
      seconds: result.seconds ?? elapsedSeconds(started),
    });
    const run = runnerOf(check, context);
    if (typeof run === 'string') {
      const result = timed(skipped(check.name, run));
      emit({ type: 'check', scope, result });
      results.push(result);
      continue;
    }
    emit({ type: 'status', scope, text: `check ${check.name}`, since: started });
    const mark = context.machine.console().mark();
    let checkResults: CheckResult[];
    try {
      checkResults = await runOne(check.name, run, {
        results,
        timed,
        later: notRun(checks.slice(index + 1), context.userlandFiles, `the machine went away during ${check.name}`),
      });
    } catch (error) {
      // The machine went away: say what failed and what will not run, then stop.
      if (error instanceof CheckAbortedError) {
        for (const result of error.results.slice(results.length)) emit({ type: 'check', scope, result });
      }
      throw error;
    } finally {
      windows.push({ from: mark, to: context.machine.console().mark(), step: check.name, check: true });
      emit({ type: 'status-end', scope });
    }
    if (!check.judgesConsole) checkResults = failOnConsole(checkResults, context.machine.console().since(mark));
    for (const result of checkResults.map(timed)) {
      emit({ type: 'check', scope, result });
      results.push(result);
    }
  }
  return results;
}

/**
 * One check: its results, or a failed result when it threw. A VM that went away during it
 * aborts the run with the results so far, the checks after it reported as not run: a panic or
 * an unrequested reset (QEMU exits 0 under -no-reboot) fails this check (exit 1); QEMU killed
 * or failing otherwise is the machine's fault (exit 3).
 */
async function runOne(
  name: string,
  run: () => Promise<CheckResult[]>,
  soFar: { results: CheckResult[]; timed: (result: CheckResult) => CheckResult; later: CheckResult[] },
): Promise<CheckResult[]> {
  try {
    return await run();
  } catch (error) {
    const interrupted = error instanceof CheckInterruptedError ? error : undefined;
    const gone = interrupted?.cause ?? error;
    if (!(gone instanceof MachineGoneError)) {
      const actual = error instanceof Error ? error.message : String(error);
      return [{ name, status: 'fail', expected: 'the check completes', actual, details: '' }];
    }
    // What the check had done before the machine went away, and what it will not do.
    const before = [...soFar.results, ...(interrupted?.results ?? [])];
    const after = [...notRunNames(interrupted?.notRun ?? [], `the machine went away during ${name}`), ...soFar.later];
    const crash = scanConsole(gone.consoleTail).find((finding) => finding.severity === 'failure');
    const reset = gone.exitCode === 0;
    if (!crash && !reset) {
      throw new CheckAbortedError(
        `${gone.message} while running ${interrupted?.at ?? name}`,
        [...before, ...after],
        ExitCode.infrastructure,
        gone.consoleTail,
      );
    }
    const failed = soFar.timed({
      name: interrupted?.at ?? name,
      status: 'fail',
      expected: 'the kernel survives the check',
      actual: crash
        ? `kernel ${crash.kind}: ${crash.line}`
        : 'the machine reset during the check: QEMU exited 0 with no panic on the console, and the harness did not ask for it (an unrequested reset)',
      details: crash?.excerpt ?? gone.consoleTail,
    });
    throw new CheckAbortedError(
      `the VM ${crash ? 'died' : 'reset'} during ${interrupted?.at ?? name}`,
      [...before, failed, ...after],
      ExitCode.checkFailed,
    );
  }
}

/** How to run a check, or why it is skipped (a built-in syscall the patch set does not add). */
function runnerOf(check: Check, context: CheckContext): (() => Promise<CheckResult[]>) | string {
  if (check.needs === undefined) return () => check.run(context);
  const syscall = context.added.find((entry) => entry.name === check.needs);
  if (!syscall) return `the patch set adds no ${check.needs} syscall`;
  return () => check.run(context, syscall);
}

/** The results of checks that did not run, one per program for the userland check. */
export function notRun(checks: Check[], userlandFiles: string[], why: string): CheckResult[] {
  const names = checks.flatMap((check) =>
    check.name === 'userland' ? userlandFiles.map((file) => `userland:${basename(file)}`) : [check.name],
  );
  return notRunNames(names, why);
}

function notRunNames(names: string[], why: string): CheckResult[] {
  return names.map((name) => ({ name, status: 'skip', expected: '-', actual: 'not run', details: `not run: ${why}` }));
}
