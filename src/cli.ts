import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { defaults, parseOptions, userlandPrograms, type Options } from './config.ts';
import { checkRequirements, ensureRequirements, formatDoctor, type Requirement } from './doctor.ts';
import { ExitCode, LabError } from './errors.ts';
import { cache, isKeyLocked } from './kernel/cache.ts';
import {
  bootKernel,
  buildKernels,
  checkPatchSeries,
  chooseAccel,
  planRuns,
  runOne,
  testKeptVm,
  type KeptVm,
  type PlannedRun,
} from './pipeline.ts';
import type { Accel } from './vm/qemu.ts';
import type { RunMachine } from './vm/machine.ts';
import { killGroup, onInterrupt, ownerOf, reapLeftovers, isAlive } from './reaper.ts';
import { writeJsonReport } from './report/json.ts';
import { writeJunitReport } from './report/junit.ts';
import type { RunReport } from './report/model.ts';
import { formatSummary } from './report/summary.ts';
import { shellQuote } from './guest/ssh.ts';
import { projectRoot } from './paths.ts';
import { QemuMachine } from './vm/qemu.ts';
import { checkVagrantHost, reapVagrantLeftovers, VagrantMachine } from './vm/vagrant.ts';
import { boxIsInstalled, ensureOfflineBox, offlineBoxName, removeBoxVolumes } from './vm/vagrant-box.ts';

function say(line: string): void {
  process.stderr.write(`syscall-lab: ${line}\n`);
}

function runOptions(y: Argv): Argv {
  return y
    .option('kernel', {
      type: 'string',
      array: true,
      describe: 'kernel version (6.1, 3.9.11) or path to a source tarball/tree; repeat for a matrix',
    })
    .option('kernel-source', { type: 'string', array: true, describe: 'same as --kernel PATH' })
    .option('patches', { type: 'string', describe: 'patch folder (default: patches-<version>)' })
    .option('sha256', { type: 'string', describe: 'expected sha256 of the kernel tarball' })
    .option('config-fragment', { type: 'string', describe: 'extra kernel config options (CONFIG_...=y lines)' })
    .option('userland', { type: 'string', describe: 'folder of C test programs replacing userland/tests' })
    .option('backend', {
      type: 'string',
      default: defaults.backend,
      describe: 'VM backend: qemu (embedded, no daemon) or vagrant',
    })
    .option('box', {
      type: 'string',
      default: defaults.box,
      describe: 'Vagrant box (syscall-lab/bookworm: made offline by `box build`)',
    })
    .option('provider', {
      type: 'string',
      default: defaults.provider,
      describe: 'Vagrant provider: libvirt or virtualbox',
    })
    .option('build-in-guest', {
      type: 'boolean',
      default: defaults.buildInGuest,
      describe: 'Vagrant: the guest builds its kernel (the seed way; slow)',
    })
    .option('accel', { type: 'string', default: defaults.accel, describe: 'auto (KVM when usable), kvm or tcg' })
    .option('cpus', { type: 'number', default: defaults.cpus })
    .option('memory', { type: 'number', default: defaults.memory, describe: 'guest memory in MiB' })
    .option('jobs', { type: 'number', default: defaults.jobs, describe: 'parallel make jobs' })
    .option('boot-timeout', { type: 'number', describe: 'seconds to wait for SSH (default 60, x4 under TCG)' })
    .option('json', { type: 'string', describe: 'write the JSON report here' })
    .option('junit', { type: 'string', describe: 'write a JUnit XML report here' })
    .option('keep', { type: 'boolean', default: defaults.keep, describe: 'leave the patched VM running' });
}

/** yargs' merged values (flags, SYSCALL_LAB_* env, --config file) -> the validated options. */
function toOptions(argv: Record<string, unknown>): Options {
  const asList = (value: unknown): string[] =>
    value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)];
  const known = [
    'patches',
    'sha256',
    'configFragment',
    'userland',
    'backend',
    'box',
    'provider',
    'buildInGuest',
    'accel',
    'cpus',
    'memory',
    'jobs',
    'bootTimeout',
    'json',
    'junit',
    'keep',
  ];
  const raw: Record<string, unknown> = { kernel: [...asList(argv.kernel), ...asList(argv.kernelSource)] };
  for (const key of known) if (argv[key] !== undefined) raw[key] = argv[key];
  return parseOptions(raw);
}

function newRunDir(index: number): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(cache.runs(), `${stamp}-${process.pid}-${index}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'owner'), String(process.pid));
  return dir;
}

function reproduceLine(plan: PlannedRun, options: Options): string {
  const args = ['npx', 'syscall-lab', 'run', '--kernel', plan.source.requested, '--patches', plan.patchSet.dir];
  if (options.sha256) args.push('--sha256', options.sha256);
  if (options.configFragment) args.push('--config-fragment', options.configFragment);
  if (options.userland) args.push('--userland', options.userland);
  if (options.accel !== 'auto') args.push('--accel', options.accel);
  return args.map(shellQuote).join(' ');
}

/** Scratch folders are named <key>-<pid>: the pid of the run that owns one. */
function scratchOwner(name: string): number | null {
  return Number(/-(\d+)$/.exec(name)?.[1]) || null;
}

async function reapEarlierRuns(): Promise<void> {
  const reaped = [
    ...reapLeftovers(cache.runs(), () => false),
    ...reapVagrantLeftovers(cache.runs(), false),
    ...reapLeftovers(cache.scratch(), () => true, scratchOwner),
  ];
  for (const line of reaped) say(`reaped ${line}`);
}

async function run(options: Options): Promise<number> {
  const plans = await prepare(options);
  const { accel, notice } = chooseAccel(options.accel);
  if (notice) say(notice);
  const reports: RunReport[] = [];
  let worst = 0;
  let interrupted = false;
  const stopListening = onInterrupt(() => (interrupted = true));
  for (const [index, plan] of plans.entries()) {
    if (interrupted) break;
    const runDir = newRunDir(index);
    const outcome = await runOne(plan, { options, runDir, accel, reproduce: reproduceLine(plan, options) });
    const keep = options.keep && outcome.machine && index === plans.length - 1 && !outcome.report.error;
    if (keep && outcome.machine) {
      keepRunning(outcome.machine, runDir, outcome.kept);
    } else {
      await outcome.machine?.stop();
    }
    reports.push(outcome.report);
    const failed = outcome.report.checks.some((check) => check.status === 'fail');
    worst = Math.max(worst, outcome.errorExitCode ?? 0, failed ? ExitCode.checkFailed : 0);
  }
  stopListening();
  process.stdout.write(formatSummary(reports));
  if (options.json) await writeJsonReport(options.json, reports);
  if (options.junit) await writeJunitReport(options.junit, reports);
  // The highest code wins: infrastructure (3) over a failed check (1), since such a run
  // could not say whether the syscalls work.
  return worst;
}

/** Leaves a VM running after this process (--keep, boot) and says how to log in. */
function keepRunning(machine: RunMachine, runDir: string, kept: KeptVm | undefined): void {
  machine.release();
  rmSync(join(runDir, 'owner'));
  if (machine instanceof QemuMachine) {
    writeFileSync(join(runDir, 'ssh-port'), String(machine.sshPort));
    if (kept) writeFileSync(join(runDir, 'kept.json'), JSON.stringify({ ...kept, accel: machine.accel }, null, 2));
    say(
      `VM kept running: syscall-lab ssh --run ${runDir}; check it again: syscall-lab test --run ${runDir} (stop it with: syscall-lab clean --vms)`,
    );
  } else if (machine instanceof VagrantMachine) {
    say(`VM kept running: ${machine.sshHint} (stop it with: syscall-lab clean --vms)`);
  }
}

async function bootOnly(options: Options, stock: boolean): Promise<number> {
  const plans = await prepare(options);
  if (plans.length !== 1) throw new LabError('boot takes one --kernel', ExitCode.badInput, 'give a single --kernel');
  const { accel, notice } = chooseAccel(options.accel);
  if (notice) say(notice);
  const plan = plans[0]!;
  const runDir = newRunDir(0);
  const { machine, kept } = await bootKernel(
    plan,
    { options, runDir, accel, reproduce: reproduceLine(plan, options) },
    stock ? 'stock' : 'patched',
  );
  keepRunning(machine, runDir, kept);
  return ExitCode.ok;
}

/** The newest run folder holding a kept QEMU VM, or the one given. */
function keptRunDir(runDir: string | undefined): string {
  const runs = cache.runs();
  const dir =
    runDir ??
    (existsSync(runs)
      ? readdirSync(runs)
          .filter((name) => existsSync(join(runs, name, 'ssh-port')))
          .sort()
          .map((name) => join(runs, name))
          .pop()
      : undefined);
  if (!dir || !existsSync(join(dir, 'ssh-port'))) {
    throw new LabError(
      'no kept VM',
      ExitCode.badInput,
      'start one with `syscall-lab boot` or `syscall-lab run --keep`',
    );
  }
  return dir;
}

async function testKept(
  runDir: string | undefined,
  userland: string | undefined,
  json: string | undefined,
  junit: string | undefined,
): Promise<number> {
  const dir = keptRunDir(runDir);
  if (!existsSync(join(dir, 'kept.json')))
    throw new LabError(
      `${dir} has no kept.json (kept by an older syscall-lab)`,
      ExitCode.badInput,
      'boot it again with `syscall-lab boot`',
    );
  const kept = JSON.parse(readFileSync(join(dir, 'kept.json'), 'utf8')) as KeptVm & { accel: Accel };
  const port = Number(readFileSync(join(dir, 'ssh-port'), 'utf8'));
  // --userland replaces userland/tests; the talk's examples always run.
  const examples = join(projectRoot, 'userland', 'examples');
  const userlandFiles =
    userland === undefined
      ? undefined
      : [...kept.userlandFiles.filter((file) => file.startsWith(examples)), ...userlandPrograms(userland)];
  const report = await testKeptVm(dir, kept, port, kept.accel, userlandFiles);
  process.stdout.write(formatSummary([report]));
  if (json) await writeJsonReport(json, [report]);
  if (junit) await writeJunitReport(junit, [report]);
  return report.checks.some((check) => check.status === 'fail') ? ExitCode.checkFailed : ExitCode.ok;
}

async function prepare(options: Options): Promise<PlannedRun[]> {
  await reapEarlierRuns();
  const plans = await planRuns(options);
  const extra: Requirement[] = plans
    .filter((plan) => plan.source.kind === 'apt' && plan.source.path)
    .map((plan) => ({
      what: `Linux ${plan.source.version} source`,
      probe: plan.source.path!,
      aptPackage: plan.source.aptPackage!,
      why: `--kernel ${plan.source.requested}`,
    }));
  await ensureRequirements(extra, say);
  if (options.backend === 'vagrant') await checkVagrantHost(options.provider);
  await checkPatchSeries(plans);
  return plans;
}

async function buildOnly(options: Options): Promise<number> {
  for (const [index, plan] of (await prepare(options)).entries()) {
    const { stock, patched } = await buildKernels(plan, options, newRunDir(index));
    for (const build of [stock, patched])
      process.stdout.write(`${build.release}: ${build.dir}${build.cached ? ' (cached)' : ''}\n`);
  }
  return ExitCode.ok;
}

async function doctor(): Promise<number> {
  const statuses = await checkRequirements();
  process.stdout.write(`${formatDoctor(statuses)}\n`);
  return statuses.some((s) => !s.present && !s.optional) ? ExitCode.infrastructure : ExitCode.ok;
}

async function clean(all: boolean, vms: boolean): Promise<number> {
  const runs = cache.runs();
  for (const line of reapVagrantLeftovers(runs, vms)) say(`destroyed the ${line}`);
  if (existsSync(runs)) {
    for (const name of readdirSync(runs)) {
      const dir = join(runs, name);
      const owner = ownerOf(dir);
      if (owner !== null && isAlive(owner)) continue;
      if (!vms && existsSync(join(dir, 'vagrant.env')) && owner === null) continue;
      const pidFile = join(dir, 'qemu.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8'));
        const kept = existsSync(join(dir, 'ssh-port'));
        if (kept && !vms) continue;
        if (isAlive(pid)) {
          killGroup(pid, 'SIGKILL');
          say(`stopped VM ${pid} of ${dir}`);
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // Only the scratch folders of runs that are gone: another run may be building.
  const scratch = cache.scratch();
  if (existsSync(scratch)) {
    for (const name of readdirSync(scratch)) {
      const owner = scratchOwner(name);
      if (owner === null || !isAlive(owner)) rmSync(join(scratch, name), { recursive: true, force: true });
    }
  }
  // Trees without their "complete" marker were left by a build that died: never reused, only big.
  const trees = cache.trees();
  if (existsSync(trees)) {
    for (const name of readdirSync(trees)) {
      if (!existsSync(join(trees, name, 'complete')) && !isKeyLocked(`tree-${name}`)) {
        rmSync(join(trees, name), { recursive: true, force: true });
        say(`removed the unfinished kernel tree ${name}`);
      }
    }
  }
  if (all) {
    for (const dir of [cache.builds(), cache.trees(), cache.ccache(), cache.locks(), cache.boxes()])
      rmSync(dir, { recursive: true, force: true });
    say('removed every cached build, tree, ccache and box file');
    if (await boxIsInstalled(offlineBoxName)) {
      await execa('vagrant', ['box', 'remove', '--force', '--all', offlineBoxName], { reject: false });
      say(`removed the Vagrant box ${offlineBoxName}`);
    }
    for (const volume of await removeBoxVolumes(offlineBoxName)) say(`deleted libvirt volume ${volume}`);
  }
  say('removed run folders and scratch space');
  return ExitCode.ok;
}

async function sshInto(runDir: string | undefined, command: string[]): Promise<number> {
  const dir = keptRunDir(runDir);
  const port = readFileSync(join(dir, 'ssh-port'), 'utf8').trim();
  const hostKey = readFileSync(join(dir, 'guest', 'host_key.pub'), 'utf8').trim();
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`);
  const result = await execa(
    'ssh',
    [
      '-i',
      join(dir, 'id_ed25519'),
      '-p',
      port,
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      'root@127.0.0.1',
      ...command,
    ],
    {
      stdio: 'inherit',
      reject: false,
    },
  );
  return result.exitCode ?? ExitCode.infrastructure;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const parser = yargs(argv)
    .scriptName('syscall-lab')
    .env('SYSCALL_LAB')
    .config('config', 'JSON file with option values (same names as the flags)')
    .option('cache', { type: 'string', global: true, describe: 'cache folder (default ~/.cache/syscall-lab)' })
    .middleware((args) => {
      if (args.cache) process.env.SYSCALL_LAB_CACHE = String(args.cache);
    })
    .strict()
    .command(
      ['run', '$0'],
      'build stock + patched kernels, boot them, check the new syscalls',
      runOptions,
      async (args) => {
        exitCode = await run(toOptions(args));
      },
    )
    .command('build', 'only build the stock and patched kernels (cached)', runOptions, async (args) => {
      const options = toOptions(args);
      exitCode = await buildOnly(options);
    })
    .command(
      'boot',
      'build (cached) and boot the patched kernel (--stock: the stock one), and leave the VM running to log into',
      (y) =>
        runOptions(y).option('stock', { type: 'boolean', default: false, describe: 'boot the stock kernel instead' }),
      async (args) => {
        exitCode = await bootOnly(toOptions(args), Boolean(args.stock));
      },
    )
    .command(
      'test',
      'run the checks again in the VM kept by `boot` or `run --keep` (no build, no boot): edit a userland program, test again',
      (y) =>
        y
          .option('run', { type: 'string', describe: 'run folder (default: the newest kept one)' })
          .option('userland', { type: 'string', describe: 'folder of C test programs replacing userland/tests' })
          .option('json', { type: 'string', describe: 'write the JSON report here' })
          .option('junit', { type: 'string', describe: 'write a JUnit XML report here' }),
      async (args) => {
        exitCode = await testKept(args.run, args.userland, args.json, args.junit);
      },
    )
    .command(
      'doctor',
      'list what the host needs, with the apt-get line',
      (y) => y,
      async () => {
        exitCode = await doctor();
      },
    )
    .command(
      'clean',
      'remove run folders and leftovers (--all: cached builds too; --vms: kept VMs too)',
      (y) => y.option('all', { type: 'boolean', default: false }).option('vms', { type: 'boolean', default: false }),
      async (args) => {
        exitCode = await clean(args.all, args.vms);
      },
    )
    .command(
      'box <action>',
      'the offline Vagrant box (build: make syscall-lab/bookworm from Debian apt and add it to Vagrant)',
      (y) => y.positional('action', { choices: ['build'] as const, demandOption: true }),
      async () => {
        const file = await ensureOfflineBox(say);
        process.stdout.write(`${offlineBoxName}: ${file}\n`);
      },
    )
    .command(
      'ssh [command..]',
      'log into the VM left by `run --keep`',
      (y) =>
        y
          .option('run', { type: 'string', describe: 'run folder (default: the newest kept one)' })
          .positional('command', { type: 'string', array: true }),
      async (args) => {
        // After `--` the command may carry options of its own (`syscall-lab ssh -- uname -r`).
        const afterDashes = args._.slice(1).map(String);
        exitCode = await sshInto(args.run, [...((args.command as string[] | undefined) ?? []), ...afterDashes]);
      },
    )
    .fail((message, error) => {
      if (error) throw error;
      throw new LabError(message, ExitCode.badInput, 'see `syscall-lab --help`');
    })
    .help()
    .version(false);
  await parser.parseAsync();
  return exitCode;
}

export async function cli(): Promise<void> {
  try {
    process.exitCode = await main(hideBin(process.argv));
    // A VM left running (--keep, boot) is a detached child whose handle would keep node waiting.
    process.exit();
  } catch (error) {
    if (error instanceof LabError) {
      process.stderr.write(`syscall-lab: error: ${error.message}\n`);
      if (error.fix) process.stderr.write(`syscall-lab: fix: ${error.fix}\n`);
      if (error.details) process.stderr.write(`${error.details}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`syscall-lab: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = ExitCode.infrastructure;
    }
  }
}
