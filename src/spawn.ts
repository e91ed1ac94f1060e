import { execa, execaSync, type Options, type ResultPromise, type SyncOptions, type SyncResult } from 'execa';

/**
 * The one module that starts processes, and so the one that decides what environment they get.
 * A tool the harness runs (make through upgrade-kernel.sh, apt-get, curl, vagrant, gcc,
 * dropbearkey, ssh, tar, sh ...) gets the harness's environment minus every variable whose name
 * looks like a secret (secretName); QEMU and its wrapper get only PATH, LANG, LC_* and TMPDIR.
 * Values a caller passes in `env` are the harness's own settings and are given as they are.
 */
export const secretName = /TOKEN|SECRET|PASSWORD|PASSPHRASE|CREDENTIAL|AUTH|_KEY$/i;

type Env = Readonly<Partial<Record<string, string>>>;

function defined(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) out[name] = value;
  return out;
}

/** A tool's environment: `from` (the harness's) without secret-looking names, then `extra`. */
export function toolEnv(extra: Env = {}, from: Env = process.env): Record<string, string> {
  const kept = Object.entries(defined(from)).filter(([name]) => !secretName.test(name));
  return { ...Object.fromEntries(kept), ...defined(extra) };
}

/** QEMU's environment (and its wrapper's): PATH, LANG, LC_* and TMPDIR, nothing else. */
export function qemuEnv(from: Env = process.env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(defined(from)).filter(([name]) => /^(PATH|LANG|LC_[A-Z_]+|TMPDIR)$/.test(name)),
  );
}

/** execa for a tool: its environment is toolEnv(options.env), never the whole of the harness's. */
export function runTool<O extends Options = Options>(
  file: string,
  args: readonly string[] = [],
  options?: O,
): ResultPromise<O> {
  return execa(file, args, { ...options, extendEnv: false, env: toolEnv(options?.env) }) as unknown as ResultPromise<O>;
}

/** execaSync for a tool, from exit handlers: the same environment as runTool. */
export function runToolSync<O extends SyncOptions = SyncOptions>(
  file: string,
  args: readonly string[] = [],
  options?: O,
): SyncResult<O> {
  return execaSync(file, args, {
    ...options,
    extendEnv: false,
    env: toolEnv(options?.env),
  }) as unknown as SyncResult<O>;
}

/** execa for QEMU or its wrapper: its environment is qemuEnv() plus the caller's `env`. */
export function runQemu<O extends Options = Options>(
  file: string,
  args: readonly string[] = [],
  options?: O,
): ResultPromise<O> {
  const env = { ...qemuEnv(), ...defined(options?.env ?? {}) };
  return execa(file, args, { ...options, extendEnv: false, env }) as unknown as ResultPromise<O>;
}

export type { ResultPromise } from 'execa';
