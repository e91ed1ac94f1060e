import type { Argv } from 'yargs';
import type { Options } from './config.ts';
import { defaults, envOptions, optionsFromEnv, type EnvOption } from './options.ts';

// The options of the commands that build and boot (run, build, boot, watch), as yargs defines
// them: loaded with the CLI (by --help too), so nothing heavier than the option data.

/**
 * SYSCALL_LAB_<NAME> values of the `wanted` options this command has (config.ts's envOptions only),
 * given to yargs as a config object: below flags and above defaults, and above the --config file,
 * which drops the keys they set (see configFile).
 */
export function fromEnv(y: Argv, env: NodeJS.ProcessEnv, wanted: readonly EnvOption[]): Argv {
  return y.config(optionsFromEnv(env, wanted));
}

export function runOptions(y: Argv, env: NodeJS.ProcessEnv, argv: string[]): Argv {
  // --kernel-source on the command line is the kernel asked for, as --kernel is: SYSCALL_LAB_KERNEL adds none.
  const kernelSource = argv.some((arg) => /^--kernel-?[sS]ource(=|$)/.test(arg));
  return fromEnv(
    y,
    env,
    envOptions.filter((option) => !(kernelSource && option === 'kernel')),
  )
    .option('kernel', {
      type: 'string',
      array: true,
      describe:
        'kernel version (3.9.11, 5.10, 6.1, 6.12, 7.2) or path to a source tarball/tree; VERSION=DIR gives it a patch folder of its own; repeat for a matrix',
    })
    .option('kernel-source', { type: 'string', array: true, describe: 'same as --kernel PATH' })
    .option('patches', {
      type: 'string',
      describe:
        'patch folder for every kernel without its own (default: patches-<version>, else the nearest patches-X.Y, its syscall registration regenerated)',
    })
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
    .option('command-timeout', {
      type: 'number',
      describe:
        'seconds a guest command (a check, a userland program) may run before it is killed (default 30, x4 under TCG)',
    })
    .option('lock-timeout', {
      type: 'number',
      default: defaults.lockTimeout,
      describe: "seconds to wait for another run's lock on a build (its holder alive, maybe stopped)",
    })
    .option('json', { type: 'string', describe: 'write the JSON report here' })
    .option('junit', { type: 'string', describe: 'write a JUnit XML report here' })
    .option('keep', { type: 'boolean', default: defaults.keep, describe: 'leave the patched VM running' })
    .option('commits', {
      type: 'string',
      describe: 'with --kernel GIT-TREE: A..B builds stock from commit A, patched from B (each commit one patch)',
    })
    .option('each', {
      type: 'boolean',
      describe: 'with --commits: a patched build and verdict for every commit of A..B',
    })
    .option('dirty', {
      type: 'boolean',
      describe: "add a git kernel tree's uncommitted changes to the last patched build (refused otherwise)",
    })
    .option('worktree', {
      type: 'boolean',
      describe:
        'with --kernel GIT-TREE: stock is HEAD, patched is the work tree (its uncommitted changes are the series)',
    })
    .option('check', {
      type: 'string',
      array: true,
      describe:
        'judge only this check (repeatable; a family such as userland, or userland:<file>): the others run, not judged',
    })
    .option('bisect', {
      type: 'boolean',
      describe: 'for `git bisect run`: exit 0 pass, 1 fail, 125 cannot test this commit, 128 stop the bisection',
    })
    .option('bisect-skip-build-failures', {
      type: 'boolean',
      describe: 'with --bisect or `bisect`: a patched kernel that does not build is skipped (125), not bad',
    })
    .option('debug-info', {
      type: 'boolean',
      describe: 'build both kernels with debug info (cached apart): crash excerpts get file:line and the patch hunk',
    })
    .option('profile', {
      type: 'string',
      default: defaults.profile,
      describe:
        'config profile: default, or debug (SLUB debug, KASAN, UBSAN, KFENCE, lockdep ... as far as the version has them; cached apart)',
    })
    .option('gdb', {
      type: 'boolean',
      describe:
        "QEMU's gdbstub on 127.0.0.1 for the VM left running (run --keep, boot); builds with debug info and gdb scripts, boots with nokaslr, no timeouts",
    })
    .option('gdb-wait', { type: 'boolean', describe: 'with --gdb: the VM waits for gdb before the kernel runs' })
    .option('conformance', {
      type: 'string',
      default: defaults.conformance,
      describe:
        "adding-syscalls.rst's checklist: off, warn (findings shown, exit code unchanged) or fail (a finding fails the run)",
    });
}

/** yargs' merged values (flags, SYSCALL_LAB_<envOptions>, --config file) -> the validated options. */
export async function toOptions(argv: Record<string, unknown>): Promise<Options> {
  // yargs gives a string array for `array: true` options, a string when one came from the env or a config file.
  const asList = (value: unknown): string[] => (value === undefined ? [] : [value as string | string[]].flat());
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
    'commandTimeout',
    'json',
    'junit',
    'keep',
    'dryRun',
    'lockTimeout',
    'conformance',
    'commits',
    'each',
    'dirty',
    'worktree',
    'check',
    'bisect',
    'bisectSkipBuildFailures',
    'debugInfo',
    'profile',
    'gdb',
    'gdbWait',
  ];
  const raw: Record<string, unknown> = { kernel: [...asList(argv.kernel), ...asList(argv.kernelSource)] };
  for (const key of known) if (argv[key] !== undefined) raw[key] = argv[key];
  if (argv.check !== undefined) raw.check = asList(argv.check);
  // zod (config.ts) loads only here, when a command runs: `--help` never pays for it.
  const { parseOptions } = await import('./config.ts');
  return parseOptions(raw);
}
