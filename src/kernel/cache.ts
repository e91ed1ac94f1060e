import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaults } from '../options.ts';
import { lockHolder, takeLock, type LockWait } from './lock.ts';
import { cacheRoot } from '../paths.ts';

/** Bump when upgrade-kernel.sh changes what a build produces: every cached build is redone. */
export const buildRecipeVersion = 2;

/** Everything that decides what a build produces (the build plan of upgrade-kernel.sh, src/kernel/build-plan.ts). */
export interface BuildKeyInput {
  sourceIdentity: string;
  /** Contents of every patch, in application order (compat series first). */
  patches: string[];
  /** The make targets that make the base config. */
  makeTargets: string[];
  /** The config options the plan sets for this version, in merge order. */
  options: string[];
  compiler: string;
  localversion: string;
  /** The files sparse checks after the build, and sparse's version (absent: no sparse step, the key as before). */
  sparse?: { files: string[]; tool: string };
}

export function buildKey(input: BuildKeyInput): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ recipe: buildRecipeVersion, ...input }));
  return hash.digest('hex').slice(0, 24);
}

export function shortHash(texts: string[]): string {
  const hash = createHash('sha256');
  for (const text of texts) hash.update(text).update('\0');
  return hash.digest('hex').slice(0, 8);
}

/** The cache's folders: each entry is complete or absent, never half-written. */
export const cache = {
  builds: (): string => join(cacheRoot(), 'builds'),
  build: (key: string): string => join(cacheRoot(), 'builds', key),
  trees: (): string => join(cacheRoot(), 'trees'),
  tree: (key: string): string => join(cacheRoot(), 'trees', key),
  scratch: (): string => join(cacheRoot(), 'tmp'),
  /** Series with their syscall registration regenerated for one kernel (src/stages/series.ts). */
  ported: (): string => join(cacheRoot(), 'ported'),
  /** Fetched kernel sources and their private apt state (upgrade-kernel.sh --sources). */
  sources: (): string => join(cacheRoot(), 'sources'),
  ccache: (): string => join(cacheRoot(), 'ccache'),
  runs: (): string => join(cacheRoot(), 'runs'),
  locks: (): string => join(cacheRoot(), 'locks'),
  boxes: (): string => join(cacheRoot(), 'boxes'),
  /** Stock controls that passed, by stock build, numbers, probe and harness (src/stages/stock-control.ts). */
  controls: (): string => join(cacheRoot(), 'controls'),
  /** Programs compiled in a guest, by the guest toolchain and the program (src/stages/guest-programs.ts). */
  programs: (): string => join(cacheRoot(), 'programs'),
  /** Static conformance results (checkpatch), and the checkpatch script taken from a kernel source. */
  conformance: (): string => join(cacheRoot(), 'conformance'),
  /** One export per git repository given as --kernel, with its private index (src/kernel/git-export.ts). */
  gitExports: (): string => join(cacheRoot(), 'git-exports'),
  /** Which identity each source content (a git tree id) goes by, per version (src/kernel/content-identity.ts). */
  contents: (): string => join(cacheRoot(), 'contents'),
  /** Commits of a git kernel tree as patch folders, one per build (src/stages/git-plan.ts). */
  gitSeries: (): string => join(cacheRoot(), 'git-series'),
};

export function isComplete(buildDir: string): boolean {
  return existsSync(join(buildDir, 'bzImage')) && existsSync(join(buildDir, 'kernelrelease'));
}

/** Moves a finished folder into place in one rename; a crash before it leaves no entry at all. */
export function publish(finished: string, destination: string): void {
  rmSync(destination, { recursive: true, force: true });
  mkdirSync(join(destination, '..'), { recursive: true });
  renameSync(finished, destination);
}

const lockPath = (key: string): string => join(cache.locks(), `${key}.lock`);

/**
 * A cross-process lock on one cache key, held until disposed (`await using lock = await lockKey(key, wait)`):
 * a second run that wants the same build waits while the holder lives (paused or not), then finds
 * it done; a dead holder's lock is taken at once (src/kernel/lock.ts).
 */
export async function lockKey(key: string, wait: Partial<LockWait> = {}): Promise<AsyncDisposable> {
  return takeLock(lockPath(key), key, { timeoutSeconds: defaults.lockTimeout, ...wait });
}

/** Whether a live run holds the lock on this key right now. */
export function isKeyLocked(key: string): boolean {
  return lockHolder(lockPath(key)) !== null;
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

/**
 * Makes a cache entry (binary and gcc's log) in a staging folder beside it and moves it into place
 * in one rename, so it appears whole or not at all; `fill` writes the binary and returns the log,
 * or undefined for no entry. Another run that made the same entry first wins.
 */
export async function writeEntry(entry: string, fill: (binary: string) => Promise<string | undefined>): Promise<void> {
  mkdirSync(join(entry, '..'), { recursive: true });
  const staging = mkdtempSync(`${entry}.tmp-`);
  try {
    const log = await fill(join(staging, 'binary'));
    if (log === undefined) return;
    writeFileSync(join(staging, 'log'), log);
    try {
      renameSync(staging, entry);
    } catch (error) {
      if (!existsSync(join(entry, 'binary'))) throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
