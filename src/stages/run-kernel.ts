import type { Options } from '../config.ts';
import { ExitCode, LabError, type FailureKind } from '../errors.ts';
import { PhaseClock, type Emit } from '../events.ts';
import type { RememberedResults, RunReport } from '../report/model.ts';
import type { KeptVm, RunFolder } from '../run-folder.ts';
import type { Accel } from '../vm/accel.ts';
import type { Backend, MachineRequest } from '../vm/backend.ts';
import { BootError } from '../vm/machine.ts';
import { buildKernels, type BuiltKernels } from './builds.ts';
import { allChecks, builtinResults } from '../checks/index.ts';
import { CheckAbortedError, notRun } from './check-runner.ts';
import { commandTimeoutMs, runCheckStage, type CheckFacts } from './checks.ts';
import { conformanceAware, emitConformance, separateConformance, staticConformance } from './conformance.ts';
import { gitInfo } from './commit-verdict.ts';
import { judgedAware, judgedFailures, markNotJudged } from './judged.ts';
import { backendOf } from './machine.ts';
import { commitOrigin } from '../kernel/git.ts';
import { seriesPatches } from '../kernel/patches.ts';
import { SeriesLines } from '../kernel/series-lines.ts';
import type { CheckedRun } from './patch-check.ts';
import type { PlannedRun } from './plan.ts';
import { cachedResults, readStockControl, saveStockControl, stockControlKey } from './stock-control.ts';

export interface KernelRunEnvironment {
  options: Options;
  folder: RunFolder;
  accel: Accel;
  emit: Emit;
  /** How to reproduce this run, one line. */
  reproduce: string;
  /** Leave the patched VM running when every check ran (--keep on the last kernel). */
  keep: boolean;
  /** The backend that makes the machine (default: the one --backend names). */
  backend?: Backend;
  /** Stops the builds (`watch`, on a newer change); the outcome is then an error report. */
  signal?: AbortSignal;
}

export interface KernelRunOutcome {
  report: RunReport;
  /** 0 every check passed, 1 one failed, else why the run stopped early. */
  exitCode: number;
  /** Which failure, when `run --bisect` must tell it from others of its exit code. */
  failure?: FailureKind;
}

/**
 * One kernel of the matrix through the stages after planning: builds, the machine, the stock
 * boot and its negative control, the patched boot and its checks. Always returns its report:
 * a run that stopped early says why in `error` and in its exit code.
 */
export async function runKernel(plan: CheckedRun, env: KernelRunEnvironment): Promise<KernelRunOutcome> {
  const { options, folder, accel } = env;
  // Live check and conformance lines marked as the summary will be (--check).
  const emit = judgedAware(env.emit, options.check);
  const scope = plan.source.requested;
  const clock = new PhaseClock(scope, emit);
  const report: RunReport = {
    kernel: {
      requested: plan.source.requested,
      version: plan.source.version,
      source: plan.source.path ?? plan.source.requested,
      ...(plan.source.debian?.version && {
        debian: { package: plan.source.debian.package, version: plan.source.debian.version },
      }),
      series: plan.givenSeries,
      regenerated: plan.patchSet.dir !== plan.givenSeries,
      patches: plan.patchSet.files,
      ...(plan.source.git && { git: gitInfo(plan.source.git) }),
    },
    backend: options.backend,
    accel,
    phases: clock.phases,
    checks: [],
    logs: { console: [], build: [] },
    reproduce: env.reproduce,
  };
  for (const notice of plan.notices) emit({ type: 'notice', scope, text: notice });
  // Cached: both builds were made, so only the inputs were checked (no dry run).
  clock.record({ name: 'patch-check', seconds: plan.patchCheckSeconds, cached: plan.builtAlready });
  try {
    const built = await buildKernels(plan, {
      jobs: options.jobs,
      lockTimeout: options.lockTimeout,
      folder,
      emit,
      clock,
      signal: env.signal,
    });
    report.logs.build.push(built.stock.log, built.patched.log);
    report.kernel.version = built.stock.version;
    report.kernel.stockRelease = built.stock.release;
    report.kernel.patchedRelease = built.patched.release;
    report.kernel.syscalls = built.added.map(({ name, number }) => ({ name, number }));
    emit({ type: 'info', scope, text: `new syscalls: ${describeAdded(built)}` });
    const facts: CheckFacts = {
      ...built,
      patchedRelease: built.patched.release,
      kernelVersion: built.patched.version,
      userlandFiles: plan.userlandFiles,
      commandTimeout: commandTimeoutMs(options.commandTimeout, accel),
      signatures: options.conformance === 'off' ? [] : (plan.conformance?.definitions ?? []),
      i386: (plan.conformance?.registrations ?? []).flatMap(({ name, i386 }) =>
        i386 ? [{ name, number: i386.number }] : [],
      ),
      crashDecoding: {
        buildDirs: { stock: built.stock.dir, patched: built.patched.dir },
        // A git tree's oops names the commit that wrote the line.
        series: SeriesLines.of(
          seriesPatches(plan.patchSet).map((patch) =>
            plan.source.git ? { ...patch, name: commitOrigin(patch) } : patch,
          ),
        ),
      },
    };
    if (options.conformance !== 'off') {
      report.conformance = await clock.time('conformance', () =>
        staticConformance(plan, built, options.conformance, folder),
      );
      emitConformance(emit, scope, report.conformance);
    }
    // A stock control remembered from an earlier run of the same stock build: the machine boots the
    // patched kernel first, if its backend can (Vagrant's control runs on its box's kernel, every time).
    const controlKey = stockControlKey(built.stock.key, built.added);
    const known = readStockControl(controlKey);
    const request = machineRequest(plan, built, env, known ? 'patched' : 'stock', env.keep ? 'patched' : undefined);
    const { machine, stockName, patchedKernel, firstBoot } = await (env.backend ?? backendOf(options)).create(request);
    await using vm = machine;
    const remembered = firstBoot === 'patched' ? known : undefined;
    report.logs.console = vm.consoleLogs;
    let stockCrashed = false;
    if (remembered) {
      clock.record({ name: 'boot-stock', seconds: 0, cached: true });
      clock.record({ name: 'checks-stock', seconds: 0, cached: true });
      report.kernel.stockRelease = remembered.release;
      for (const result of cachedResults(remembered)) {
        emit({ type: 'check', scope, result });
        report.checks.push(result);
      }
      emit({ type: 'info', scope, text: `booting ${patchedKernel.release} (${options.backend}, ${accel})` });
      await clock.time('boot-patched', () => vm.start());
    } else {
      emit({ type: 'info', scope, text: `booting ${stockName} (${options.backend}, ${accel})` });
      await clock.time('boot-stock', () => vm.start());
      // The kernel the negative control really ran on (under Vagrant: the box's own).
      const booted = await vm.exec('uname -r', { timeout: facts.commandTimeout });
      if (booted.code === 0 && booted.stdout.trim()) report.kernel.stockRelease = booted.stdout.trim();
      const stock = await clock.time('checks-stock', () =>
        runCheckStage('stock', vm, facts, scope, emit).catch((error: unknown) => {
          // The patched kernel's checks will not run either.
          throw error instanceof CheckAbortedError ? withPatchedNotRun(error, facts) : error;
        }),
      );
      report.checks.push(...stock.results);
      stockCrashed = stock.crashed;
      // Only a control run on the host-built stock kernel is remembered (never one on a box's own).
      if (firstBoot === 'stock' && !stock.crashed) {
        const release = report.kernel.stockRelease;
        saveStockControl(controlKey, {
          results: stock.results,
          release,
          run: folder.dir,
          date: new Date().toISOString(),
        });
      }
      emit({ type: 'info', scope, text: `rebooting into ${built.patched.release}` });
      await clock.time('boot-patched', () => vm.reboot(patchedKernel));
    }
    const patched = await clock.time('checks-patched', () =>
      runCheckStage('patched', vm, facts, scope, conformanceAware(emit, options.conformance)),
    );
    report.checks.push(...patched.results);
    if (env.keep)
      emit({
        type: 'info',
        text: vm.keep(
          keptRecord('patched', built, plan, vm.consoleLogs, accel, facts.commandTimeout, {
            results: builtinResults(patched.results),
            run: folder.dir,
            date: new Date().toISOString(),
          }),
        ),
      });
    separateConformance(report, options.conformance);
    markNotJudged(report, options.check);
    return { report, exitCode: verdictOf(report, stockCrashed), ...(stockCrashed && { failure: 'stock-crash' }) };
  } catch (error) {
    const stopped = stoppedEarly(report, error);
    separateConformance(report, options.conformance);
    markNotJudged(report, options.check);
    return stopped;
  }
}

/**
 * 0 every check passed; 1 a check failed (a crash or an unrequested reset of the patched kernel
 * included); 3 when the stock kernel crashed, since it carries no user patch.
 */
function verdictOf(report: RunReport, stockCrashed: boolean): number {
  if (stockCrashed) {
    report.error =
      'the stock kernel crashed (see kernel-console:stock): it carries no user patch, so the host or the toolchain is at fault';
    return ExitCode.infrastructure;
  }
  const failed =
    judgedFailures(report.checks).length > 0 ||
    (report.conformance ?? []).some((item) => item.status === 'fail' && item.enforced);
  return failed ? ExitCode.checkFailed : ExitCode.ok;
}

/** A stock stage that stopped early: the patched kernel's checks are reported as not run too. */
function withPatchedNotRun(error: CheckAbortedError, facts: CheckFacts): CheckAbortedError {
  const patchedChecks = allChecks.filter((check) => check.stage === 'patched');
  const later = notRun(patchedChecks, facts.userlandFiles, `the stock kernel's checks stopped: ${error.message}`);
  return new CheckAbortedError(error.message, [...error.results, ...later], error.exitCode, error.details);
}

/** The report of a run that stopped before its checks finished, and its exit code. */
function stoppedEarly(report: RunReport, error: unknown): KernelRunOutcome {
  report.error = describeError(error);
  if (error instanceof CheckAbortedError) report.checks.push(...error.results);
  const patchedCrashedAtBoot =
    error instanceof BootError && error.kernelCrashed && error.kernel.release === report.kernel.patchedRelease;
  if (patchedCrashedAtBoot) {
    // The patched kernel crashing while it boots is the patch's fault: a failed check.
    report.checks.push({
      name: 'patched-kernel-running',
      status: 'fail',
      expected: error.kernel.release,
      actual: 'kernel crashed while booting',
      details: error.consoleTail,
    });
  }
  const exitCode = patchedCrashedAtBoot
    ? ExitCode.checkFailed
    : error instanceof LabError
      ? error.exitCode
      : ExitCode.infrastructure;
  const stockCrashedAtBoot = error instanceof BootError && error.kernelCrashed && !patchedCrashedAtBoot;
  const failure = stockCrashedAtBoot ? 'stock-crash' : error instanceof LabError ? error.kind : undefined;
  return { report, exitCode, ...(failure && { failure }) };
}

export function machineRequest(
  plan: PlannedRun,
  built: BuiltKernels,
  env: Omit<KernelRunEnvironment, 'reproduce' | 'keep'>,
  firstBoot: MachineRequest['firstBoot'],
  /** The kernel left running: under --gdb, it boots with the gdbstub. */
  kept?: 'stock' | 'patched',
): MachineRequest {
  return {
    ...(env.options.gdb && kept && { gdb: kept }),
    firstBoot,
    folder: env.folder,
    accel: env.accel,
    options: env.options,
    stock: built.stock,
    patched: built.patched,
    guestBuild: { version: plan.source.version, source: plan.source.path, patchDirs: [plan.patchSet.dir] },
    emit: env.emit,
  };
}

/** What `syscall-lab test` needs to check a kept VM again. */
export function keptRecord(
  stage: KeptVm['stage'],
  built: BuiltKernels,
  plan: PlannedRun,
  consoleLogs: string[],
  accel: Accel,
  commandTimeout: number,
  builtins?: RememberedResults,
): KeptVm {
  return {
    stage,
    release: stage === 'patched' ? built.patched.release : built.stock.release,
    patchedRelease: built.patched.release,
    kernelVersion: built.patched.version,
    added: built.added,
    headerFile: built.headerFile,
    kselftest: built.kselftest,
    userlandFiles: plan.userlandFiles,
    console: consoleLogs.at(-1) ?? '',
    accel,
    commandTimeout,
    ...(builtins ? { builtinResults: builtins } : {}),
  };
}

function describeAdded(built: BuiltKernels): string {
  return built.added.map((entry) => `${entry.name}=${entry.number}`).join(', ') || 'none';
}

function describeError(error: unknown): string {
  if (error instanceof LabError) {
    return [error.message, error.fix && `fix: ${error.fix}`, error.details].filter(Boolean).join('\n');
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
