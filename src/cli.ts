import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { bootCommand } from './commands/boot.ts';
import type { buildCommand } from './commands/build.ts';
import type { dryRunCommand } from './commands/dry-run.ts';
import type { runCommand } from './commands/run.ts';
import { ciCommand, reportCommand } from './cli-ci.ts';
import { checkReportTargets, dryRunOption, stdoutReportValues, withConventions } from './cli-conventions.ts';
import { fromEnv, runOptions, toOptions } from './cli-options.ts';
import { configFile } from './options.ts';
import { ExitCode, LabError } from './errors.ts';
import { onInterrupt } from './reaper.ts';
import type { Renderer } from './render.ts';

// A command's module (and ssh2, execa, the stages behind it) is loaded by its handler, when it runs:
// `--help` loads only yargs and the option definitions below.

/** The commands the CLI calls, replaceable so a test can see the options they get. */
export const commands = {
  run: async (...args: Parameters<typeof runCommand>) => (await import('./commands/run.ts')).runCommand(...args),
  build: async (...args: Parameters<typeof buildCommand>) =>
    (await import('./commands/build.ts')).buildCommand(...args),
  boot: async (...args: Parameters<typeof bootCommand>) => (await import('./commands/boot.ts')).bootCommand(...args),
  dryRun: async (...args: Parameters<typeof dryRunCommand>) =>
    (await import('./commands/dry-run.ts')).dryRunCommand(...args),
};

/** What main writes through: the renderer, which `ready` (when a command runs, after --quiet is known) may load first. */
type Output = Pick<Renderer, 'emit' | 'quiet'> & { ready?: () => Promise<void> };

/**
 * The command line: each command parses its options and calls its stages; every output goes through `emit`.
 * `env` is read only for config.ts's envOptions (no SYSCALL_LAB_ prefix parsing).
 */
export async function main(
  argv: string[],
  output: Output,
  { env = process.env, run = commands }: { env?: NodeJS.ProcessEnv; run?: typeof commands } = {},
): Promise<number> {
  const { emit } = output;
  let exitCode: number = ExitCode.ok;
  const done = (code: number): void => {
    exitCode = code;
  };
  const parser = withConventions(fromEnv(yargs(stdoutReportValues(argv)), env, ['cache']))
    .scriptName('syscall-lab')
    .config('config', 'JSON file with option values (same names as the flags)', (path) => configFile(path, env))
    .option('cache', { type: 'string', global: true, describe: 'cache folder (default ~/.cache/syscall-lab)' })
    .option('quiet', { type: 'boolean', global: true, describe: 'print only warnings, errors and the summary' })
    .middleware(async (args) => {
      if (args.cache) process.env.SYSCALL_LAB_CACHE = args.cache;
      checkReportTargets(args);
      output.quiet = args.quiet === true;
      await output.ready?.();
    })
    .strict()
    .command(
      ['run', '$0'],
      'build stock + patched kernels, boot them, check the new syscalls',
      (y) => dryRunOption(runOptions(y, env, argv)),
      async (args) => {
        const options = await toOptions(args);
        exitCode = await (options.dryRun ? run.dryRun(options, 'run', emit) : run.run(options, emit));
      },
    )
    .command(
      'build',
      'only build the stock and patched kernels (cached)',
      (y) => dryRunOption(runOptions(y, env, argv)),
      async (args) => {
        const options = await toOptions(args);
        exitCode = await (options.dryRun ? run.dryRun(options, 'build', emit) : run.build(options, emit));
      },
    )
    .command(
      'boot',
      'build (cached) and boot the patched kernel (--stock: the stock one), and leave the VM running to log into',
      (y) =>
        dryRunOption(runOptions(y, env, argv)).option('stock', {
          type: 'boolean',
          default: false,
          describe: 'boot the stock kernel instead',
        }),
      async (args) => {
        const [options, which] = [await toOptions(args), args.stock ? 'stock' : 'patched'] as const;
        exitCode = await (options.dryRun ? run.dryRun(options, 'boot', emit, which) : run.boot(options, which, emit));
      },
    )
    .command(
      'watch',
      'a verdict on every saved change of the patch set or userland programs: rebuild, boot, check, one line each',
      (y) => runOptions(y, env, argv),
      async (args) => {
        const { watchCommand } = await import('./commands/watch.ts');
        exitCode = await watchCommand(await toOptions(args), emit);
      },
    )
    .command(
      'bisect',
      'find the first commit of a git kernel tree (--good..--bad) that fails a check: cached builds, a binary search, the culprit confirmed',
      (y) =>
        runOptions(y, env, argv)
          .option('good', {
            type: 'string',
            demandOption: true,
            describe: 'a commit whose checks pass (the stock kernel)',
          })
          .option('bad', { type: 'string', demandOption: true, describe: 'a later commit whose checks fail' }),
      async (args) => {
        const { bisectCommand } = await import('./commands/bisect.ts');
        exitCode = await bisectCommand(await toOptions(args), { good: args.good, bad: args.bad }, emit);
      },
    )
    .command(
      'port',
      'write the series a run would apply to a kernel (syscall registration regenerated for it) into a folder',
      (y) =>
        y
          .option('kernel', {
            type: 'string',
            demandOption: true,
            describe: 'kernel version or path (VERSION=DIR: its own series)',
          })
          .option('patches', { type: 'string', describe: 'patch folder (default: as a run chooses)' })
          .option('out', { type: 'string', demandOption: true, describe: 'new or empty folder for the series' }),
      async (args) => {
        const { portCommand } = await import('./commands/port.ts');
        exitCode = await portCommand({ kernel: args.kernel, patches: args.patches, out: args.out }, emit);
      },
    )
    .command(
      'export-selftest',
      "write a kselftest folder (tools/testing/selftests/<name>/) of the series' generated conformance cases",
      (y) =>
        y
          .option('patches', {
            type: 'string',
            demandOption: true,
            describe: 'patch folder whose SYSCALL_DEFINEs to test',
          })
          .option('out', { type: 'string', demandOption: true, describe: 'new or empty folder for the selftest' })
          .option('kernel', {
            type: 'string',
            describe:
              'kernel version whose direct-map base the kernel-writable cases use (default 6.1: any since 4.20)',
          }),
      async (args) => {
        const { exportSelftestCommand } = await import('./commands/export-selftest.ts');
        exitCode = await exportSelftestCommand({ patches: args.patches, out: args.out, kernel: args.kernel }, emit);
      },
    )
    .command(
      'test',
      'run the checks again in the VM kept by `boot` or `run --keep` (no build, no boot): edit a userland program, test again',
      (y) =>
        fromEnv(y, env, ['userland'])
          .option('run', { type: 'string', describe: 'run folder (default: the newest kept one)' })
          .option('all', {
            type: 'boolean',
            describe:
              'run the built-in checks again too (by default they are reported from their last run on this boot)',
          })
          .option('userland', { type: 'string', describe: 'folder of C test programs replacing userland/tests' })
          .option('json', { type: 'string', describe: 'write the JSON report here' })
          .option('junit', { type: 'string', describe: 'write a JUnit XML report here' }),
      async (args) => {
        const { testCommand } = await import('./commands/test.ts');
        exitCode = await testCommand(args, emit);
      },
    )
    .command(
      'doctor',
      'list what the host needs, with the apt-get line',
      (y) =>
        y.option('apt-packages', {
          type: 'boolean',
          describe: "print only the apt packages of every requirement, one line (CI installs them: the action's list)",
        }),
      async (args) => {
        const { checkRequirements, aptPackages } = await import('./doctor.ts');
        if (args.aptPackages) {
          emit({ type: 'apt-packages', packages: aptPackages() });
          return;
        }
        const statuses = await checkRequirements();
        emit({ type: 'doctor', statuses });
        exitCode = statuses.some((s) => !s.present && !s.optional) ? ExitCode.infrastructure : ExitCode.ok;
      },
    )
    .command(
      'clean',
      'remove run folders and leftovers (--all: cached builds too; --vms: kept VMs too)',
      (y) => y.option('all', { type: 'boolean', default: false }).option('vms', { type: 'boolean', default: false }),
      async (args) => {
        const { cleanCommand } = await import('./commands/clean.ts');
        exitCode = await cleanCommand(args.all, args.vms, emit);
      },
    )
    .command(
      'box <action>',
      'the offline Vagrant box (build: make syscall-lab/bookworm from Debian apt and add it to Vagrant)',
      (y) => y.positional('action', { choices: ['build'] as const, demandOption: true }),
      async () => {
        const { ensureOfflineBox, offlineBoxName } = await import('./vm/vagrant-box.ts');
        const file = await ensureOfflineBox((text) => {
          emit({ type: 'info', text });
        });
        emit({ type: 'box', name: offlineBoxName, file });
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
        const { sshCommand } = await import('./commands/ssh.ts');
        exitCode = await sshCommand(args.run, [...(args.command ?? []), ...afterDashes]);
      },
    )
    .command(reportCommand(emit, done))
    .command(ciCommand(emit, done))
    .fail((message, error) => {
      // yargs passes no error for its own validation failures (unknown option, missing value), and a
      // YError for the other problems of the command line (a --config file that cannot be read).
      if (error instanceof Error && error.name !== 'YError') throw error;
      throw new LabError(message || error.message, ExitCode.badInput, 'see `syscall-lab --help`');
    })
    .help();
  await parser.parseAsync();
  return exitCode;
}

/** The program: renders events on the terminal, prints a failure's cause and fix, sets the exit code. */
export async function cli(): Promise<void> {
  const argv = hideBin(process.argv);
  let renderer: Renderer | undefined;
  const output: Output = {
    quiet: false,
    emit: (event) => renderer?.emit(event),
    async ready() {
      const { createRenderer } = await import('./render.ts');
      renderer ??= createRenderer({
        stdout: process.stdout,
        stderr: process.stderr,
        tty: process.stderr.isTTY,
        quiet: output.quiet,
        color: !process.env.NO_COLOR,
      });
    },
  };
  onInterrupt((signal) => {
    output.emit({ type: 'interrupted', signal });
  });
  try {
    process.exitCode = await main(argv, output);
    renderer?.close();
    // A VM left running (--keep, boot) is a detached child whose handle would keep node waiting.
    process.exit();
  } catch (error) {
    renderer?.close();
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
