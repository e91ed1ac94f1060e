import { join } from 'node:path';
import type { Check, CheckContext } from '../checks/check.ts';
import { failOnConsole, skipped } from '../checks/check.ts';
import { allChecks } from '../checks/index.ts';
import { ExitCode, LabError } from '../errors.ts';
import { elapsedSeconds, silent, type Emit } from '../events.ts';
import { shellCommand } from '../guest/ssh.ts';
import type { SyscallEntry } from '../kernel/syscalls.ts';
import { projectRoot } from '../paths.ts';
import type { CheckResult } from '../report/model.ts';
import { timeoutScale, type Accel } from '../vm/accel.ts';
import { scanConsole } from '../vm/console.ts';
import { MachineGoneError, type Machine } from '../vm/machine.ts';

/** Where a run's files live in the guest: the same on every backend. */
const guestDir = '/tmp/syscall-lab';
const probeSource = join(projectRoot, 'src', 'checks', 'guest', 'probe.c');

/** The facts of a run every check gets, besides the machine. */
export interface CheckFacts {
  added: SyscallEntry[];
  patchedRelease: string;
  userlandFiles: string[];
  /** The generated syscall header on the host (uploaded to the guest). */
  headerFile: string;
  accel: Accel;
}

/** What the checks of one kernel get: the machine (the only way to the guest) and the run's facts. */
export function checkContext(machine: Machine, facts: CheckFacts): CheckContext {
  return {
    machine,
    added: facts.added,
    probe: `${guestDir}/probe`,
    guestDir,
    commandTimeout: 30_000 * timeoutScale(facts.accel),
    patchedRelease: facts.patchedRelease,
    userlandFiles: facts.userlandFiles,
    syscallHeader: `${guestDir}/syscall-lab-syscalls.h`,
  };
}

/**
 * The check stage of one boot: prepares the guest (its /tmp is new each boot), then runs the
 * checks of that kernel (`stock`: the negative control; `patched`: everything else).
 */
export async function runCheckStage(
  stage: Check['stage'],
  machine: Machine,
  facts: CheckFacts,
  scope: string,
  emit: Emit = silent,
): Promise<CheckResult[]> {
  const context = checkContext(machine, facts);
  await prepareGuest(context, facts.headerFile);
  return runChecks(
    allChecks.filter((check) => check.stage === stage),
    context,
    scope,
    emit,
  );
}

/** Uploads and compiles the probe and the syscall header. */
async function prepareGuest(context: CheckContext, headerFile: string): Promise<void> {
  const { machine, commandTimeout } = context;
  await machine.exec(shellCommand(['mkdir', '-p', guestDir]), { timeout: commandTimeout });
  await machine.copy(probeSource, `${guestDir}/probe.c`);
  await machine.copy(headerFile, context.syscallHeader);
  const compiled = await machine.exec(shellCommand(['gcc', '-O2', '-o', context.probe, `${guestDir}/probe.c`]), {
    timeout: commandTimeout * 2,
  });
  if (compiled.code !== 0) {
    throw new LabError(`the probe did not compile in the guest: ${compiled.stderr}`, ExitCode.infrastructure);
  }
}

/**
 * The VM died during a check: the results so far travel with the error. A kernel crash is the
 * kernel's failure (exit 1, the crashed check failed); otherwise the machine's (exit 3).
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
 * Each result carries when its check started and how long it took.
 */
export async function runChecks(
  checks: Check[],
  context: CheckContext,
  scope: string,
  emit: Emit = silent,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
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
      checkResults = await runOne(check.name, run, { results, timed });
    } finally {
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
 * One check: its results, or a failed result when it threw. A VM that died during it aborts the
 * run, with the results so far (and the crashed check's own failed result when a crash killed it).
 */
async function runOne(
  name: string,
  run: () => Promise<CheckResult[]>,
  soFar: { results: CheckResult[]; timed: (result: CheckResult) => CheckResult },
): Promise<CheckResult[]> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof MachineGoneError)) {
      const actual = error instanceof Error ? error.message : String(error);
      return [{ name: name, status: 'fail', expected: 'the check completes', actual, details: '' }];
    }
    const crash = scanConsole(error.consoleTail).find((finding) => finding.severity === 'failure');
    // A panic ended the VM: the kernel failed this check. Otherwise the machine did (exit 3).
    if (!crash) {
      throw new CheckAbortedError(
        `${error.message} while running ${name}`,
        soFar.results,
        ExitCode.infrastructure,
        error.consoleTail,
      );
    }
    const failed = soFar.timed({
      name: name,
      status: 'fail',
      expected: 'the kernel survives the check',
      actual: `kernel ${crash.kind}: ${crash.line}`,
      details: crash.excerpt,
    });
    throw new CheckAbortedError(`the VM died during ${name}`, [...soFar.results, failed], ExitCode.checkFailed);
  }
}

/** How to run a check, or why it is skipped (a built-in syscall the patch set does not add). */
function runnerOf(check: Check, context: CheckContext): (() => Promise<CheckResult[]>) | string {
  if (check.needs === undefined) return () => check.run(context);
  const syscall = context.added.find((entry) => entry.name === check.needs);
  if (!syscall) return `the patch set adds no ${check.needs} syscall`;
  return () => check.run(context, syscall);
}
