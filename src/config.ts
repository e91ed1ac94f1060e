import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { BadInputError } from './errors.ts';
import { checkCommitOptions } from './kernel/git-options.ts';
import { defaults } from './options.ts';

/**
 * The one validated options object. Flags, the SYSCALL_LAB_* variables of envOptions and a JSON
 * config file (--config) all reach yargs first, then this schema checks types and meaning.
 */
export const optionsSchema = z
  .object({
    kernel: z.array(z.string().min(1)).min(1, 'give at least one --kernel (a version such as 6.1, or a path)'),
    patches: z.string().min(1).optional(),
    sha256: z.string().optional(),
    configFragment: z.string().min(1).optional(),
    userland: z.string().min(1).optional(),
    backend: z.enum(['qemu', 'vagrant']),
    box: z.string().min(1),
    provider: z.enum(['libvirt', 'virtualbox']),
    buildInGuest: z.boolean(),
    accel: z.enum(['auto', 'kvm', 'tcg']),
    cpus: z.number().int().min(1).max(64),
    memory: z.number().int().min(256).max(65536),
    jobs: z.number().int().min(1),
    bootTimeout: z.number().positive().optional(),
    commandTimeout: z.number().positive().optional(),
    json: z.string().min(1).optional(),
    junit: z.string().min(1).optional(),
    keep: z.boolean(),
    /** Print the plan and exit: nothing installed, downloaded, built or booted (src/commands/dry-run.ts). */
    dryRun: z.boolean().optional(),
    /** adding-syscalls.rst's checklist: off, warn (shown; exit code unchanged) or fail (a failed item fails the run). */
    conformance: z.enum(['off', 'warn', 'fail']).default(defaults.conformance),
    /** Seconds to wait for another run's lock on a build (its holder is alive, maybe stopped); then exit 3. */
    lockTimeout: z.number().min(0).default(defaults.lockTimeout),
    /** A git kernel tree: stock from A, patched from B (src/stages/git-plan.ts). */
    commits: z.string().min(1).optional(),
    /** With --commits: one patched build and verdict per commit of the range. */
    each: z.boolean().default(false),
    /** A git kernel tree: its uncommitted changes are added to the last patched build instead of refused. */
    dirty: z.boolean().default(false),
    /** A git kernel tree: stock is HEAD, patched is the work tree (HEAD plus its uncommitted changes, as they are). */
    worktree: z.boolean().default(false),
    /** Only these checks judge the run (src/stages/judged.ts); the others run and are reported, not judged. */
    check: z.array(z.string().min(1)).optional(),
    /** `run` for `git bisect run`: exit 0, 1, 125 (cannot test this commit) or 128 (stop) (src/stages/bisect-exit.ts). */
    bisect: z.boolean().default(false),
    /** With --bisect or `bisect`: a patched kernel that does not build cannot be tested (125, skipped) instead of bad. */
    bisectSkipBuildFailures: z.boolean().default(false),
    /** Both kernels built with DWARF debug info (the config feature debug-info): crash excerpts get file:line. */
    debugInfo: z.boolean().default(false),
    /** A config profile of upgrade-kernel.sh's plan (src/kernel/config/plan.tsv): debug adds KASAN, UBSAN, lockdep ... */
    profile: z.enum(['default', 'debug']).default('default'),
    /** QEMU's gdbstub on the VM left running (run --keep, boot): implies --debug-info, boots with nokaslr. */
    gdb: z.boolean().default(false),
    /** With --gdb: the VM waits for gdb before the kernel runs. */
    gdbWait: z.boolean().default(false),
  })
  .strict();

export type Options = z.infer<typeof optionsSchema>;

/** Validates raw values (already merged from flags, env and config file) into Options. */
export function parseOptions(raw: Record<string, unknown>): Options {
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const [field] = issue?.path ?? [];
    const where =
      field === undefined ? 'options' : `--${String(field).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new BadInputError(`${where}: ${issue?.message ?? 'invalid'}`, 'see `syscall-lab run --help`');
  }
  const options = parsed.data;
  if (options.sha256 !== undefined && options.kernel.length > 1) {
    throw new BadInputError(
      '--sha256 applies to one kernel, but several --kernel were given',
      'run the kernel that needs --sha256 on its own',
    );
  }
  if (options.backend !== 'vagrant') {
    for (const flag of ['box', 'provider', 'buildInGuest'] as const) {
      if (options[flag] !== defaults[flag]) {
        throw new BadInputError(
          `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} only applies to --backend vagrant`,
          'add --backend vagrant, or drop the option',
        );
      }
    }
  }
  for (const [flag, path] of [
    ['--patches', options.patches],
    ['--userland', options.userland],
  ] as const) {
    if (path !== undefined && (!existsSync(path) || !statSync(path).isDirectory())) {
      throw new BadInputError(`${flag} ${path} is not a folder`, `give ${flag} an existing folder`);
    }
  }
  if (options.gdbWait && !options.gdb) {
    throw new BadInputError('--gdb-wait needs --gdb', 'add --gdb: the VM then waits for gdb before the kernel runs');
  }
  if (options.gdb && options.backend !== 'qemu') {
    throw new BadInputError(
      `--gdb needs --backend qemu (QEMU's gdbstub); --backend ${options.backend} has none here`,
      'drop --backend vagrant, or drop --gdb',
    );
  }
  if (options.configFragment !== undefined && !existsSync(options.configFragment)) {
    throw new BadInputError(
      `--config-fragment ${options.configFragment} does not exist`,
      'give a file of CONFIG_...=y lines',
    );
  }
  if (options.userland !== undefined) userlandPrograms(options.userland);
  checkCommitOptions(
    options,
    options.kernel.map((spec) => splitKernelSpec(spec)),
  );
  // --gdb: a VM stopped at a breakpoint must not be taken for a hung one. The largest delay a
  // Node timer takes (2^31 - 1 ms), in whole seconds: no limit in practice.
  const noLimit = Math.floor(0x7fffffff / 1000);
  return {
    ...options,
    ...(options.gdb && {
      bootTimeout: options.bootTimeout ?? noLimit,
      commandTimeout: options.commandTimeout ?? noLimit,
    }),
    patches: options.patches && resolve(options.patches),
    configFragment: options.configFragment && resolve(options.configFragment),
    userland: options.userland && resolve(options.userland),
  };
}

/**
 * `--kernel SPEC=DIR`: the kernel and a series of its own, split at the last "=" (a kernel path
 * that contains "=" is taken whole, and takes its series from --patches).
 */
export function splitKernelSpec(spec: string): { kernel: string; patches?: string } {
  const at = spec.lastIndexOf('=');
  if (at < 0) return { kernel: spec };
  const [kernel, patches] = [spec.slice(0, at), spec.slice(at + 1)];
  const isFolder = patches !== '' && existsSync(patches) && statSync(patches).isDirectory();
  // A kernel path with "=" in it (and no folder after the last one) is a kernel, its series from --patches.
  if (!isFolder && existsSync(spec)) return { kernel: spec };
  if (!kernel || !isFolder) {
    throw new BadInputError(
      `--kernel ${spec}: "${patches}" after the last "=" is not a patch folder`,
      'give --kernel VERSION=DIR with an existing folder; a kernel path that contains "=" takes its series from --patches',
    );
  }
  return { kernel, patches: resolve(patches) };
}

/** The C programs of a --userland folder; bad input when it is not a folder or holds none. */
export function userlandPrograms(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new BadInputError(`--userland ${dir} is not a folder`, 'give --userland an existing folder');
  const programs = userlandSources(dir);
  if (programs.length === 0)
    throw new BadInputError(
      `--userland ${dir} holds no *.c file`,
      'put your C test programs (exit 0 = pass) in that folder',
    );
  return programs;
}

export function userlandSources(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.c'))
    .sort()
    .map((name) => join(resolve(dir), name));
}
