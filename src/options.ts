import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { BadInputError } from './errors.ts';

// The options' names, defaults and environment variables: what `--help` needs, without zod (config.ts
// validates, and is loaded only when a command runs).

export const defaults = {
  backend: 'qemu',
  /** The Vagrantfile's default too: a public box; `syscall-lab box build` makes syscall-lab/bookworm offline. */
  box: 'debian/bookworm64',
  provider: 'libvirt',
  buildInGuest: false,
  accel: 'auto',
  cpus: 2,
  memory: 1024,
  jobs: availableParallelism(),
  keep: false,
  /** adding-syscalls.rst's checklist is judged and shown, the exit code unchanged (fail: it counts). */
  conformance: 'warn',
  /** An hour: longer than any build another run may be doing. */
  lockTimeout: 3600,
  profile: 'default',
} as const;

/**
 * The options a `SYSCALL_LAB_<NAME>` environment variable may set (NAME: the flag in capitals, `-`
 * as `_`): what to build and the machine it runs on. Never an option that changes what a run does
 * or how it is judged (those are flagOnlyOptions, below: keep, json, junit, dry-run ...): a stray
 * variable must not turn a run green with nothing run. Every other SYSCALL_LAB_* name is ignored (SYSCALL_LAB_VM_* are the
 * Vagrantfile's). Order: flags, then these variables, then the --config file, then defaults.
 */
export const envOptions = [
  'kernel',
  'patches',
  'userland',
  'cache',
  'cpus',
  'memory',
  'jobs',
  'accel',
  'backend',
  'box',
  'provider',
  'boot-timeout',
  'lock-timeout',
] as const;

export type EnvOption = (typeof envOptions)[number];

/**
 * The other options of the commands that build and boot, each named here so that a new option is
 * a decision: it joins envOptions (an input or a machine setting) or this list (it changes what a
 * run does or how it is judged, so no variable sets it). test/unit/cli-conventions.test.ts holds
 * every option of `run --help` to one of the two.
 */
export const flagOnlyOptions = [
  'kernel-source',
  'sha256',
  'config-fragment',
  'build-in-guest',
  'command-timeout',
  'json',
  'junit',
  'keep',
  'conformance',
  'dry-run',
  'stock',
  'commits',
  'each',
  'dirty',
  'worktree',
  'check',
  'bisect',
  'bisect-skip-build-failures',
  'debug-info',
  'profile',
  'gdb',
  'gdb-wait',
  'good',
  'bad',
  'quiet',
  'config',
] as const;

export const envName = (option: EnvOption): string => `SYSCALL_LAB_${option.toUpperCase().replaceAll('-', '_')}`;

/** The values `env` gives the options in `wanted` (empty variables count as unset), by flag name. */
export function optionsFromEnv(
  env: NodeJS.ProcessEnv,
  wanted: readonly EnvOption[] = envOptions,
): Partial<Record<EnvOption, string>> {
  const values: Partial<Record<EnvOption, string>> = {};
  for (const option of wanted) {
    const value = env[envName(option)];
    if (value !== undefined && value !== '') values[option] = value;
  }
  return values;
}

/** Reads --config FILE, minus the options an environment variable sets (they win over the file). */
export function configFile(path: string, env: NodeJS.ProcessEnv): Record<string, unknown> {
  let values: unknown;
  try {
    values = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new BadInputError(`--config ${path}: ${(error as Error).message}`, 'give a JSON file of option values');
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values))
    throw new BadInputError(`--config ${path} is not a JSON object`, 'give a JSON object of option values');
  const set = Object.keys(optionsFromEnv(env));
  const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  return Object.fromEntries(
    Object.entries(values).filter(([key]) => !set.some((name) => key === name || key === camel(name))),
  );
}
