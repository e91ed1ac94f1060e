import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { allChecks } from './checks/index.ts';
import type { Check, CheckContext } from './checks/check.ts';
import { failOnConsole, skipped } from './checks/check.ts';
import { userlandSources, type Options } from './config.ts';
import { execa } from 'execa';
import { BadInputError, ExitCode, LabError } from './errors.ts';
import { MachineGoneError } from './vm/machine.ts';
import { buildKernel, compilerIdentity, type KernelBuild } from './kernel/build.ts';
import { cache, shortHash } from './kernel/cache.ts';
import { compatDirsFor } from './kernel/compat.ts';
import { scriptBadInput, scriptBadInputCodes, scriptErrorLine } from './kernel/script-errors.ts';
import {
  addedSyscallsOfSet,
  editedSyscallTables,
  defaultPatchDir,
  readPatchSet,
  type PatchSet,
} from './kernel/patches.ts';
import { resolveSource, settleIdentity, type KernelSource } from './kernel/source.ts';
import {
  newSyscalls,
  parseSyscallTable,
  syscallHeader,
  syscallTableLocation,
  type SyscallEntry,
} from './kernel/syscalls.ts';
import { projectRoot, upgradeKernelScript } from './paths.ts';
import { Progress } from './progress.ts';
import type { CheckResult, PhaseTiming, RunReport } from './report/model.ts';
import { guestKernelArgs, prepareGuestKeys } from './guest/rootfs.ts';
import { shellCommand } from './guest/ssh.ts';
import { scanConsole } from './vm/console.ts';
import { BootError, type BootableKernel, type Machine, type RunMachine } from './vm/machine.ts';
import { VagrantMachine } from './vm/vagrant.ts';
import { AttachedQemuMachine } from './vm/attached.ts';
import { ensureOfflineBox, offlineBoxName } from './vm/vagrant-box.ts';
import { probeAccel, QemuMachine, timeoutScale, type Accel } from './vm/qemu.ts';

/** One kernel of the matrix, fully validated before anything is built. */
export interface PlannedRun {
  source: KernelSource;
  /** Toolchain-compatibility series for old kernels, applied before patchSet (src/kernel/compat.ts). */
  compat: PatchSet[];
  patchSet: PatchSet;
  userlandFiles: string[];
  notices: string[];
  /** Seconds the dry run of the patch series took (checkPatchSeries). */
  dryRunSeconds?: number;
}

const guestDir = '/tmp/syscall-lab';
const probeSource = join(projectRoot, 'src', 'checks', 'guest', 'probe.c');

/** Checks every input of every kernel: nothing is downloaded, built or booted before this passes. */
export async function planRuns(options: Options): Promise<PlannedRun[]> {
  const plans: PlannedRun[] = [];
  const userlandFiles = [
    ...userlandSources(join(projectRoot, 'userland', 'examples')),
    ...userlandSources(options.userland ?? join(projectRoot, 'userland', 'tests')),
  ];
  for (const requested of options.kernel) {
    const source = await resolveSource(requested, options.sha256);
    const notices: string[] = [];
    let patchDir = options.patches;
    if (!patchDir) {
      const found = defaultPatchDir(source.version);
      patchDir = found.dir;
      if (found.notice) notices.push(found.notice);
    }
    const patchSet = await readPatchSet(patchDir);
    notices.push(...patchSet.notices);
    const expectedTable = syscallTableLocation(source.version);
    const wrongTable = editedSyscallTables(patchSet).find((table) => table !== expectedTable);
    if (wrongTable) {
      throw new BadInputError(
        `${patchDir} edits ${wrongTable}, but Linux ${source.version} keeps its x86-64 syscall table at ${expectedTable}`,
        `use a patch set made for ${source.version} (the table moved to arch/x86/entry/syscalls/ in 4.2)`,
      );
    }
    if (addedSyscallsOfSet(patchSet).length === 0) {
      notices.push(`${patchDir} adds no entry to syscall_64.tbl: the built-in syscall checks will be skipped`);
    }
    const compat = await Promise.all(compatDirsFor(source.version).map(readPatchSet));
    for (const series of compat)
      notices.push(`applying the toolchain-compatibility series ${series.dir} (${series.files.length} patches)`);
    plans.push({ source, compat, patchSet, userlandFiles, notices });
  }
  return plans;
}

/**
 * Tries every kernel's patch series on a scratch copy of the files it touches
 * (upgrade-kernel.sh --check-patches), all before the first build: a series that does not apply
 * stops the whole matrix as bad input. Needs the sources present (run after the requirements).
 */
export async function checkPatchSeries(plans: PlannedRun[]): Promise<void> {
  for (const plan of plans) {
    const started = Date.now();
    await dryRunPatches(plan);
    plan.dryRunSeconds = Math.round((Date.now() - started) / 100) / 10;
  }
}

async function dryRunPatches(plan: PlannedRun): Promise<void> {
  const patchArgs = [...plan.compat, plan.patchSet].flatMap((set) => ['--patches', set.dir]);
  const result = await execa(
    upgradeKernelScript,
    [...plan.source.scriptArgs, '--check-patches', ...patchArgs, '--work', cache.scratch()],
    {
      reject: false,
      all: true,
    },
  );
  if (result.exitCode === 0) return;
  const line = scriptErrorLine(result.all ?? '');
  if (scriptBadInputCodes.has(result.exitCode ?? 0)) throw scriptBadInput(line ?? 'the patch series does not apply');
  throw new LabError(
    `could not try the patch series: ${result.all?.split('\n').slice(-5).join(' ')}`,
    ExitCode.infrastructure,
  );
}

export interface RunEnvironment {
  options: Options;
  runDir: string;
  accel: Accel;
  /** How to reproduce this run, one line. */
  reproduce: string;
}

class PhaseClock {
  readonly phases: PhaseTiming[] = [];
  async time<T>(name: string, work: () => Promise<T>, cached: (value: T) => boolean = () => false): Promise<T> {
    const started = Date.now();
    const value = await work();
    this.phases.push({ name, seconds: Math.round((Date.now() - started) / 100) / 10, cached: cached(value) });
    return value;
  }
}

/** The stock kernel (built once per source and config) and the patched one built from its tree. */
export async function buildKernels(
  plan: PlannedRun,
  options: Options,
  runDir: string,
  clock = new PhaseClock(),
): Promise<{ stock: KernelBuild; patched: KernelBuild }> {
  if (plan.dryRunSeconds !== undefined)
    clock.phases.push({ name: 'patch-dry-run', seconds: plan.dryRunSeconds, cached: false });
  const source = await settleIdentity(plan.source);
  const compiler = await compilerIdentity();
  const texts = (sets: PatchSet[]): string[] =>
    sets.flatMap((set) => set.files.map((file) => readFileSync(file, 'utf8')));
  const compatTexts = texts(plan.compat);
  const patchTexts = texts([plan.patchSet]);
  const common = {
    source,
    configFragments: options.configFragment ? [options.configFragment] : [],
    jobs: options.jobs,
    compiler,
  };
  const stock = await clock.time(
    'build-stock',
    () =>
      buildKernel({
        ...common,
        patchDirs: plan.compat.map((set) => set.dir),
        patchTexts: compatTexts,
        localversion: '-stock',
        log: join(runDir, 'build-stock.log'),
        label: `${plan.source.requested} stock`,
      }),
    (build) => build.cached,
  );
  const patched = await clock.time(
    'build-patched',
    () =>
      buildKernel({
        ...common,
        // The stock tree already has the compat series: only the user's patches are applied.
        patchDirs: [plan.patchSet.dir],
        patchTexts: [...compatTexts, ...patchTexts],
        localversion: `-patched-${shortHash(patchTexts)}`,
        reuseTreeOf: stock.key,
        log: join(runDir, 'build-patched.log'),
        label: `${plan.source.requested} patched`,
      }),
    (build) => build.cached,
  );
  return { stock, patched };
}

export interface RunOutcome {
  report: RunReport;
  /** Set when the run stopped early: why, as an exit code. */
  errorExitCode?: number;
  machine?: RunMachine;
  /** What `syscall-lab test` needs to check the VM again if it is kept. */
  kept?: KeptVm;
}

/** A VM left running (boot, run --keep): what `syscall-lab test` needs, saved as kept.json in its run folder. */
export interface KeptVm {
  stage: 'stock' | 'patched';
  /** `uname -r` of the kernel it runs. */
  release: string;
  patchedRelease: string;
  added: SyscallEntry[];
  headerFile: string;
  userlandFiles: string[];
  console: string;
}

function keptVm(
  stage: KeptVm['stage'],
  stock: KernelBuild,
  patched: KernelBuild,
  added: SyscallEntry[],
  headerFile: string,
  plan: PlannedRun,
  machine: RunMachine,
): KeptVm {
  const release = stage === 'patched' ? patched.release : stock.release;
  return {
    stage,
    release,
    patchedRelease: patched.release,
    added,
    headerFile,
    userlandFiles: plan.userlandFiles,
    console: machine.consoleLogs.at(-1) ?? '',
  };
}

/** What every check of a run gets; the guest paths are the same on every backend. */
function checkContext(
  machine: Machine,
  added: SyscallEntry[],
  patchedRelease: string,
  userlandFiles: string[],
  accel: Accel,
): CheckContext {
  return {
    machine,
    added,
    probe: `${guestDir}/probe`,
    guestDir,
    commandTimeout: 30_000 * timeoutScale(accel),
    patchedRelease,
    userlandFiles,
    syscallHeader: `${guestDir}/syscall-lab-syscalls.h`,
  };
}

/** The syscalls the patched table adds, and the header that gives them SYS_ names in the guest. */
function syscallFacts(
  stock: KernelBuild,
  patched: KernelBuild,
  runDir: string,
): { added: SyscallEntry[]; headerFile: string } {
  const added = newSyscalls(
    parseSyscallTable(readFileSync(stock.syscallTable, 'utf8')),
    parseSyscallTable(readFileSync(patched.syscallTable, 'utf8')),
  );
  const headerFile = join(runDir, 'syscall-lab-syscalls.h');
  writeFileSync(headerFile, syscallHeader(added, patched.release));
  return { added, headerFile };
}

/**
 * `syscall-lab test`: the checks of the kernel a kept QEMU VM runs, again, without building or
 * booting (edit a userland program, test again).
 */
export async function testKeptVm(
  runDir: string,
  kept: KeptVm,
  port: number,
  accel: Accel,
  userlandFiles: string[] | undefined,
): Promise<RunReport> {
  const progress = new Progress(kept.release);
  const machine = new AttachedQemuMachine(runDir, port, kept.console, accel);
  const report: RunReport = {
    kernel: {
      requested: kept.release,
      version: kept.release.split('-')[0] ?? kept.release,
      source: runDir,
      patches: [],
      patchedRelease: kept.patchedRelease,
    },
    backend: 'qemu',
    accel,
    phases: [],
    checks: [],
    logs: { console: [kept.console], build: [] },
    reproduce: `npx syscall-lab test --run ${runDir}`,
  };
  const context = checkContext(machine, kept.added, kept.patchedRelease, userlandFiles ?? kept.userlandFiles, accel);
  await machine.start();
  try {
    await prepareGuest(context, kept.headerFile);
    report.checks.push(
      ...(await runChecks(
        allChecks.filter((check) => check.stage === kept.stage),
        context,
        progress,
      )),
    );
  } finally {
    await machine.stop();
  }
  return report;
}

export async function runOne(plan: PlannedRun, env: RunEnvironment): Promise<RunOutcome> {
  const { options, runDir, accel } = env;
  const progress = new Progress(plan.source.requested);
  const clock = new PhaseClock();
  const report: RunReport = {
    kernel: {
      requested: plan.source.requested,
      version: plan.source.version,
      source: plan.source.path ?? plan.source.requested,
      patches: plan.patchSet.files,
    },
    backend: options.backend,
    accel,
    phases: clock.phases,
    checks: [],
    logs: { console: [], build: [] },
    reproduce: env.reproduce,
  };
  for (const notice of plan.notices) progress.info(`notice: ${notice}`);
  let machine: RunMachine | undefined;
  try {
    const { stock, patched } = await buildKernels(plan, options, runDir, clock);
    report.logs.build.push(stock.log, patched.log);
    report.kernel.version = stock.version;
    report.kernel.stockRelease = stock.release;
    report.kernel.patchedRelease = patched.release;

    const { added, headerFile } = syscallFacts(stock, patched, runDir);
    progress.info(`new syscalls: ${added.map((entry) => `${entry.name}=${entry.number}`).join(', ') || 'none'}`);

    const scale = timeoutScale(accel);
    const created = await createMachine(plan, env, stock, patched, progress);
    machine = created.machine;
    const context = checkContext(machine, added, patched.release, plan.userlandFiles, accel);
    progress.info(`booting ${created.stockName} (${options.backend}, ${accel})`);
    await clock.time('boot-stock', () => machine!.start());
    progress.stop();
    report.logs.console = machine.consoleLogs;
    // The kernel the negative control really ran on (under Vagrant: the box's own).
    const booted = await machine.exec('uname -r', { timeout: 30_000 * scale });
    if (booted.code === 0 && booted.stdout.trim()) report.kernel.stockRelease = booted.stdout.trim();
    await clock.time('checks-stock', async () => {
      await prepareGuest(context, headerFile);
      report.checks.push(
        ...(await runChecks(
          allChecks.filter((check) => check.stage === 'stock'),
          context,
          progress,
        )),
      );
    });
    progress.info(`rebooting into ${patched.release}`);
    await clock.time('boot-patched', () => machine!.reboot(created.patchedKernel));
    progress.stop();
    await clock.time('checks-patched', async () => {
      await prepareGuest(context, headerFile);
      report.checks.push(
        ...(await runChecks(
          allChecks.filter((check) => check.stage === 'patched'),
          context,
          progress,
        )),
      );
    });
    return { report, machine, kept: keptVm('patched', stock, patched, added, headerFile, plan, machine) };
  } catch (error) {
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
    return { report, machine, errorExitCode: exitCode };
  }
}

/** `syscall-lab boot`: builds (cached) and boots one kernel for a developer to log into. */
export async function bootKernel(
  plan: PlannedRun,
  env: RunEnvironment,
  which: 'stock' | 'patched',
): Promise<{ machine: RunMachine; kept: KeptVm }> {
  const progress = new Progress(plan.source.requested);
  const { stock, patched } = await buildKernels(plan, env.options, env.runDir);
  const { added, headerFile } = syscallFacts(stock, patched, env.runDir);
  const { machine, stockName, patchedKernel } = await createMachine(plan, env, stock, patched, progress);
  try {
    progress.info(`booting ${stockName} (${env.options.backend}, ${env.accel})`);
    await machine.start();
    if (which === 'patched') {
      progress.info(`rebooting into ${patched.release}`);
      await machine.reboot(patchedKernel);
    }
    progress.stop();
    return { machine, kept: keptVm(which, stock, patched, added, headerFile, plan, machine) };
  } catch (error) {
    progress.stop();
    await machine.stop();
    throw error;
  }
}

/**
 * The backend's machine. QEMU boots the host-built kernels directly; Vagrant boots the box on its
 * own kernel (the negative control), then installs the host-built patched kernel in the guest.
 */
async function createMachine(
  plan: PlannedRun,
  env: RunEnvironment,
  stock: KernelBuild,
  patched: KernelBuild,
  progress: Progress,
): Promise<{ machine: RunMachine; stockName: string; patchedKernel: BootableKernel }> {
  const { options, runDir, accel } = env;
  const scale = timeoutScale(accel);
  if (options.backend === 'vagrant') {
    if (options.box === offlineBoxName) await ensureOfflineBox((line) => progress.info(line));
    const minutes = 60_000 * (options.bootTimeout ? options.bootTimeout / 60 : scale * 5);
    const machine = new VagrantMachine({
      runDir,
      box: options.box,
      provider: options.provider,
      cpus: options.cpus,
      memoryMiB: options.memory,
      name: `syscall-lab-${basename(runDir)
        .replace(/[^A-Za-z0-9-]/g, '-')
        .slice(-40)}-`,
      upTimeout: minutes,
      // Building in a guest takes an hour or more under TCG.
      provisionTimeout: options.buildInGuest ? 60 * minutes : minutes,
      buildInGuest: options.buildInGuest
        ? {
            version: plan.source.version,
            patchDirs: [...plan.compat, plan.patchSet].map((set) => set.dir),
            source: plan.source.path,
            localversion: patched.release.slice(patched.release.indexOf('-patched')),
          }
        : undefined,
      onOutput: (line) => progress.live(() => line.slice(0, 100)),
    });
    return {
      machine,
      stockName: `the box ${options.box}`,
      patchedKernel: { image: patched.dir, release: patched.release },
    };
  }
  const keys = await prepareGuestKeys(runDir);
  const machine = new QemuMachine({
    runDir,
    kernel: { image: stock.bzImage, release: stock.release },
    keys,
    accel,
    cpus: options.cpus,
    memoryMiB: options.memory,
    kernelArgs: guestKernelArgs(stock.version),
    bootTimeout: (options.bootTimeout ?? 60 * scale) * 1000,
  });
  return { machine, stockName: stock.release, patchedKernel: { image: patched.bzImage, release: patched.release } };
}

function describeError(error: unknown): string {
  if (error instanceof LabError) {
    return [error.message, error.fix && `fix: ${error.fix}`, error.details].filter(Boolean).join('\n');
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Uploads and compiles the probe and the syscall header (the guest's /tmp is new each boot). */
async function prepareGuest(context: CheckContext, headerFile: string): Promise<void> {
  const { machine, commandTimeout } = context;
  await machine.exec(shellCommand(['mkdir', '-p', guestDir]), { timeout: commandTimeout });
  await machine.copy(probeSource, `${guestDir}/probe.c`);
  await machine.copy(headerFile, context.syscallHeader);
  const compiled = await machine.exec(shellCommand(['gcc', '-O2', '-o', context.probe, `${guestDir}/probe.c`]), {
    timeout: commandTimeout * 2,
  });
  if (compiled.code !== 0)
    throw new LabError(`the probe did not compile in the guest: ${compiled.stderr}`, ExitCode.infrastructure);
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

/** Runs checks one by one; an oops or panic on the console during a check fails that check. */
export async function runChecks(checks: Check[], context: CheckContext, progress: Progress): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    const syscall: SyscallEntry | undefined = check.needs
      ? context.added.find((entry) => entry.name === check.needs)
      : undefined;
    if (check.needs && !syscall) {
      results.push(skipped(check.name, `the patch set adds no ${check.needs} syscall`));
      continue;
    }
    progress.live(() => `check ${check.name}`);
    const mark = context.machine.console().mark();
    let checkResults: CheckResult[];
    try {
      checkResults = await check.run(context, syscall);
    } catch (error) {
      progress.stop();
      if (error instanceof MachineGoneError) {
        const crash = scanConsole(error.consoleTail).find((finding) => finding.severity === 'failure');
        // A panic ended the VM: the kernel failed this check. Otherwise the machine did (exit 3).
        if (!crash)
          throw new CheckAbortedError(
            `${error.message} while running ${check.name}`,
            results,
            ExitCode.infrastructure,
            error.consoleTail,
          );
        results.push({
          name: check.name,
          status: 'fail',
          expected: 'the kernel survives the check',
          actual: `kernel ${crash.kind}: ${crash.line}`,
          details: crash.excerpt,
        });
        throw new CheckAbortedError(`the VM died during ${check.name}`, results, ExitCode.checkFailed);
      }
      checkResults = [
        {
          name: check.name,
          status: 'fail',
          expected: 'the check completes',
          actual: (error as Error).message,
          details: '',
        },
      ];
    }
    progress.stop();
    if (!check.judgesConsole) checkResults = failOnConsole(checkResults, context.machine.console().since(mark));
    for (const r of checkResults) progress.info(`${r.status.toUpperCase()} ${r.name}: ${r.actual}`);
    results.push(...checkResults);
  }
  return results;
}

export function chooseAccel(requested: Options['accel']): { accel: Accel; notice?: string } {
  const probed = probeAccel();
  if (requested === 'kvm' && probed.accel !== 'kvm') {
    throw new LabError(
      `--accel kvm, but KVM is not usable: ${probed.reason}`,
      ExitCode.infrastructure,
      'load kvm and give this user /dev/kvm, or use --accel tcg',
    );
  }
  if (requested === 'tcg' || probed.accel === 'tcg') {
    return {
      accel: 'tcg',
      notice:
        requested === 'tcg'
          ? undefined
          : `no KVM (${probed.reason}): using TCG software emulation, timeouts x${timeoutScale('tcg')}`,
    };
  }
  return { accel: 'kvm' };
}
