import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Check, CheckContext } from '../checks/check.ts';
import { judgeConsole, type ConsoleSpan } from '../checks/kernel-console.ts';
import { allChecks } from '../checks/index.ts';
import { ExitCode, withKind } from '../errors.ts';
import { silent, type Emit } from '../events.ts';
import { cache } from '../kernel/cache.ts';
import type { SyscallSignature } from '../conformance/signature.ts';
import type { SyscallEntry } from '../kernel/syscalls.ts';
import type { CheckResult } from '../report/model.ts';
import { timeoutScale, type Accel } from '../vm/accel.ts';
import { scanConsole } from '../vm/console.ts';
import type { Machine } from '../vm/machine.ts';
import { CheckAbortedError, runChecks } from './check-runner.ts';
import { decodeCrashes } from './decode-crashes.ts';
import type { SeriesLines } from '../kernel/series-lines.ts';
import { compileGuestPrograms, type GuestPrograms } from './guest-programs.ts';
import type { KselftestHeaders } from './kselftest-headers.ts';
import { willRun } from '../checks/userland.ts';

/** Where a run's files live in the guest: the same on every backend. */
const guestDir = '/tmp/syscall-lab';

/** The facts of a run every check gets, besides the machine. */
export interface CheckFacts {
  added: SyscallEntry[];
  patchedRelease: string;
  kernelVersion: string;
  userlandFiles: string[];
  /** The generated syscall header on the host (uploaded to the guest). */
  headerFile: string;
  /** kselftest's headers of the kernel's tree, uploaded with it (none: the programs get no -I for them). */
  kselftest?: KselftestHeaders;
  /** How long one guest command (a check's, a userland program) may take, in ms (commandTimeoutMs). */
  commandTimeout: number;
  /** The new syscalls' signatures for the generated conformance checks (none under --conformance off). */
  signatures?: SyscallSignature[];
  /** The i386 table entries the series adds (none when it adds none, or under --conformance off). */
  i386?: { name: string; number: number }[];
  /** Each kernel's build folder (its vmlinux decodes the crash excerpts) and the lines the series wrote. */
  crashDecoding?: { buildDirs: Record<Check['stage'], string>; series: SeriesLines };
}

/** --command-timeout SECONDS as given, else 30 s scaled for the accelerator (x4 under TCG); in ms. */
export function commandTimeoutMs(seconds: number | undefined, accel: Accel): number {
  return (seconds ?? 30 * timeoutScale(accel)) * 1000;
}

/** What the checks of one kernel get: the machine (the only way to the guest), the run's facts and what the guest compiled. */
export function checkContext(machine: Machine, facts: CheckFacts, compiled: GuestPrograms): CheckContext {
  return {
    machine,
    added: facts.added,
    probe: compiled.probe,
    guestDir,
    commandTimeout: facts.commandTimeout,
    patchedRelease: facts.patchedRelease,
    kernelVersion: facts.kernelVersion,
    userlandFiles: facts.userlandFiles,
    programs: compiled.userland,
    signatures: facts.signatures ?? [],
    i386: facts.i386 ?? [],
  };
}

export interface StageOutcome {
  /** Every result of the boot, kernel-console:<stage> last. */
  results: CheckResult[];
  /** A failure-level report anywhere on this boot's console: for the stock kernel, an infrastructure error. */
  crashed: boolean;
}

/**
 * The check stage of one boot: prepares the guest (its /tmp is new each boot), runs the checks of
 * that kernel (`stock`: the negative control; `patched`: everything else), waits for a marker
 * written through /dev/kmsg to reach the console (so late reports are in), then judges the rest
 * of the boot's console (`kernel-console:<stage>`). A machine that went away aborts the stage
 * with CheckAbortedError carrying every result, the checks that did not run among them.
 */
export async function runCheckStage(
  stage: Check['stage'],
  machine: Machine,
  facts: CheckFacts,
  scope: string,
  emit: Emit = silent,
  /** Which of the stage's checks run (`test` on a kept VM: only the userland programs); the console is judged always. */
  include: (check: Check) => boolean = () => true,
): Promise<StageOutcome> {
  const { commandTimeout } = facts;
  const console = machine.console();
  const preparation = console.mark();
  const windows: ConsoleSpan[] = [];
  const judge = async (results: CheckResult[], markerSeen: boolean): Promise<StageOutcome> => {
    const spans = consoleSpans(console.bootStart ?? 0, preparation, windows, console.mark());
    const verdict = {
      ...judgeConsole(stage, console, spans, markerSeen),
      started: new Date().toISOString(),
      seconds: 0,
    };
    emit({ type: 'check', scope, result: verdict });
    const crashed = spans.some((span) =>
      scanConsole(console.between(span.from, span.to), { fromBoot: span.step === 'boot' }).some(
        (finding) => finding.severity === 'failure',
      ),
    );
    const decoding = facts.crashDecoding;
    const all = [...results, verdict];
    return {
      results: decoding ? await decodeCrashes(all, decoding.buildDirs[stage], decoding.series) : all,
      crashed,
    };
  };
  let results: CheckResult[];
  let context: CheckContext | undefined;
  try {
    // The guest's /tmp is new each boot: upload and compile what this stage runs, in one step.
    const programs = stage === 'patched' ? facts.userlandFiles.filter((file) => willRun(file, facts.added)) : [];
    const compiled = await compileGuestPrograms(
      machine,
      guestDir,
      facts.headerFile,
      programs,
      commandTimeout,
      cache.programs(),
      facts.kselftest,
    );
    context = checkContext(machine, facts, compiled);
    const checks = allChecks.filter((check) => check.stage === stage && include(check));
    results = await runChecks(checks, context, scope, emit, windows);
  } catch (error) {
    if (!(error instanceof CheckAbortedError)) throw error;
    const outcome = await judge(error.results, true);
    // The stock kernel carries no user patch: its crash or reset is the machine's problem (exit 3).
    const exitCode = stage === 'stock' ? ExitCode.infrastructure : error.exitCode;
    const aborted = new CheckAbortedError(error.message, outcome.results, exitCode, error.details);
    // A crash or reset (not a machine gone) of the stock kernel: `run --bisect` cannot test this commit.
    throw stage === 'stock' && error.exitCode === ExitCode.checkFailed ? withKind(aborted, 'stock-crash') : aborted;
  }
  return judge(results, await flushConsole(machine, commandTimeout));
}

/** Writes a marker through /dev/kmsg and waits (bounded) until the console shows it. */
async function flushConsole(machine: Machine, timeout: number): Promise<boolean> {
  const marker = `syscall-lab: end of checks ${randomUUID()}`;
  const console = machine.console();
  const from = console.mark();
  // <3>: printed even where the console log level is low (a box booted with "quiet").
  await machine.exec(`echo '<3>${marker}' > /dev/kmsg`, { timeout });
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (console.since(from).includes(marker)) return true;
    await sleep(100);
  }
  return false;
}

/** The boot's console cut into what the machine was doing: boot, preparation, check windows, gaps, after. */
export function consoleSpans(
  bootStart: number,
  preparation: number,
  windows: ConsoleSpan[],
  end: number,
): ConsoleSpan[] {
  const spans: ConsoleSpan[] = [
    { from: bootStart, to: preparation, step: 'boot' },
    { from: preparation, to: windows[0]?.from ?? end, step: 'guest preparation' },
  ];
  for (const [index, window] of windows.entries()) {
    spans.push(window);
    const next = windows[index + 1];
    spans.push({ from: window.to, to: next?.from ?? end, step: next ? 'between checks' : 'after the last check' });
  }
  return spans.filter((span) => span.to > span.from || span.check === true);
}
