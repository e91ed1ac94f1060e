import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { cacheRoot } from '../paths.ts';
import { onExit } from '../reaper.ts';

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
  ccache: (): string => join(cacheRoot(), 'ccache'),
  runs: (): string => join(cacheRoot(), 'runs'),
  locks: (): string => join(cacheRoot(), 'locks'),
  boxes: (): string => join(cacheRoot(), 'boxes'),
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

/**
 * A cross-process lock on one cache key, held until disposed (`await using lock = await lockKey(key)`):
 * a second run that wants the same build waits, then finds it done. A crashed holder's lock goes stale.
 */
export async function lockKey(key: string): Promise<AsyncDisposable> {
  mkdirSync(cache.locks(), { recursive: true });
  const target = join(cache.locks(), key);
  const release = await lockfile.lock(target, {
    realpath: false,
    lockfilePath: `${target}.lock`,
    stale: 60_000,
    update: 10_000,
    retries: { retries: 24 * 60 * 6, minTimeout: 10_000, maxTimeout: 10_000 },
  });
  // proper-lockfile releases its locks on exit through signal-exit 3, whose hook on
  // process.reallyExit is undone when execa's signal-exit 4 unloads: a run stopped by Ctrl-C or
  // SIGTERM (process.exit in the reaper) would leave the lock, and the next run would wait a
  // minute for it to go stale. The reaper removes it instead.
  const forget = onExit(() => {
    rmSync(`${target}.lock`, { recursive: true, force: true });
  });
  return {
    async [Symbol.asyncDispose]() {
      forget();
      await release().catch(() => undefined);
    },
  };
}

/** Whether a run is building with this key right now (its lock is held and fresh). */
export function isKeyLocked(key: string): boolean {
  const target = join(cache.locks(), key);
  return lockfile.checkSync(target, { realpath: false, lockfilePath: `${target}.lock`, stale: 60_000 });
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8').trim();
}
