import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfrastructureError } from '../errors.ts';
import { isAlive, onExit } from '../reaper.ts';

/**
 * Cross-process locks that belong to a process, not to a clock. A lock is a folder whose `holder`
 * file names its holder's pid and start time (field 22 of /proc/<pid>/stat), so a live holder
 * keeps it however long it is paused (Ctrl-Z, a suspended laptop) and a dead one loses it at once,
 * also when its pid now belongs to another process (another start time).
 *
 * Every step is one atomic call: the folder appears whole with one rename(2) (which fails on a
 * non-empty folder), a dead holder's folder is removed only by the one waiter that created its
 * `breaking-<holder>` file with link(2), and a holder removes only its own folder.
 */

/** A process, told apart from a later one with the same pid by its start time. */
export interface Holder {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks from boot to the process's start. */
  start: string;
}

/** A live holder, with its state (field 3 of /proc/<pid>/stat: R, S, D, T stopped ...). */
export interface LiveHolder extends Holder {
  state: string;
}

/** The state and start time of a process, or null when there is none. */
export function processStat(pid: number): { state: string; start: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Field 2 is the command in parentheses, which may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, start] = [fields[0], fields[19]];
  return state && start ? { state, start } : null;
}

const stateNames: Record<string, string> = {
  R: 'running',
  S: 'sleeping',
  D: 'waiting for I/O',
  T: 'stopped',
  t: 'stopped by a debugger',
  I: 'idle',
};

export function describeState(state: string): string {
  return `${state}: ${stateNames[state] ?? 'unknown'}`;
}

/**
 * The holder as it runs now, or null when it is gone (no such process, another start time, a
 * zombie). A process whose /proc entry cannot be read (another user's, under hidepid) counts as alive.
 */
export function alive(holder: Holder): LiveHolder | null {
  const stat = processStat(holder.pid);
  if (!stat) return isAlive(holder.pid) ? { ...holder, state: '?' } : null;
  if (stat.start !== holder.start || stat.state === 'Z' || stat.state === 'X') return null;
  return { ...holder, state: stat.state };
}

let self: Holder | undefined;
function me(): Holder {
  self ??= { pid: process.pid, start: processStat(process.pid)?.start ?? '0' };
  return self;
}

const record = (holder: Holder): string => `${JSON.stringify(holder)}\n`;
const idOf = (holder: Holder | 'invalid'): string =>
  holder === 'invalid' ? 'invalid' : `${holder.pid}-${holder.start}`;
const unique = (): string => `${process.pid}-${randomBytes(4).toString('hex')}`;

function parseHolder(text: string): Holder | 'invalid' {
  try {
    const parsed = JSON.parse(text) as Partial<Holder>;
    if (Number.isInteger(parsed.pid) && typeof parsed.start === 'string')
      return { pid: parsed.pid as number, start: parsed.start };
  } catch {
    // Not ours: taken over like a dead holder's.
  }
  return 'invalid';
}

/** Who the lock folder names; null when there is no lock; 'invalid' for a folder without a readable holder. */
function readHolder(path: string): Holder | 'invalid' | null {
  try {
    return parseHolder(readFileSync(join(path, 'holder'), 'utf8'));
  } catch {
    return existsSync(path) ? 'invalid' : null;
  }
}

/** The live process holding the lock at `path`, or null (free, or its holder is dead). */
export function lockHolder(path: string): LiveHolder | null {
  const holder = readHolder(path);
  return holder === null || holder === 'invalid' ? null : alive(holder);
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** Creates the lock folder, holder file inside, with one rename; false when it exists. */
function tryTake(path: string): boolean {
  const staging = join(dirname(path), `.${basename(path)}.new-${unique()}`);
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'holder'), record(me()));
  try {
    renameSync(staging, path);
    return true;
  } catch (error) {
    if (['ENOTEMPTY', 'EEXIST'].includes(errorCode(error) ?? '')) return false;
    throw new InfrastructureError(`could not take the lock ${path}: ${(error as Error).message}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Removes a lock folder in one rename: nobody ever sees it half removed. */
function removeFolder(path: string): void {
  const trash = join(dirname(path), `.${basename(path)}.gone-${unique()}`);
  try {
    renameSync(path, trash);
  } catch {
    return;
  }
  rmSync(trash, { recursive: true, force: true });
}

/**
 * Removes the folder of `dead` at `path` if this process wins the right to: the one waiter that
 * creates `breaking-<dead>` in it. A winner that died before removing it (its own pid and start
 * time are in that file) is taken over the same way, by `breaking-<dead>-<winner>`.
 * Returns the live waiter that is removing it, when that is another process.
 */
function breakDead(path: string, dead: Holder | 'invalid'): LiveHolder | null {
  let name = `breaking-${idOf(dead)}`;
  for (let attempt = 0; attempt < 16; attempt++) {
    const marker = join(path, name);
    const mine = join(dirname(path), `.${basename(path)}.breaker-${unique()}`);
    writeFileSync(mine, record(me()));
    try {
      linkSync(mine, marker);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') return null; // the folder is gone: the lock is free
      const breaker = markerHolder(marker);
      if (breaker === null) continue; // its writer took it back (a newer folder): try again
      const live = breaker === 'invalid' ? null : alive(breaker);
      if (live) return live;
      name = `${name}-${idOf(breaker)}`;
      continue;
    } finally {
      rmSync(mine, { force: true });
    }
    // This process may remove the folder if it still is the dead holder's; else the marker landed in a newer one.
    const now = readHolder(path);
    if (now !== null && idOf(now) === idOf(dead)) removeFolder(path);
    else rmSync(marker, { force: true });
    return null;
  }
  return null;
}

function markerHolder(marker: string): Holder | 'invalid' | null {
  try {
    return parseHolder(readFileSync(marker, 'utf8'));
  } catch {
    return null;
  }
}

/** The live process in the way: the lock's holder, or the waiter removing a dead holder's lock. */
function blocker(path: string): LiveHolder | null {
  const holder = readHolder(path);
  if (holder === null) return null;
  const live = holder === 'invalid' ? null : alive(holder);
  return live ?? breakDead(path, holder);
}

export interface LockWait {
  /** How long to wait for a live holder, in seconds; then an InfrastructureError (exit 3). */
  timeoutSeconds: number;
  /** Told at once and then every `noticeEveryMs` while waiting: who holds the lock, in which state. */
  onWait?: (text: string) => void;
  noticeEveryMs?: number;
  pollMs?: number;
}

/** Removes this process's own lock folder (and nothing else). */
function release(path: string): void {
  const holder = readHolder(path);
  if (holder !== null && holder !== 'invalid' && idOf(holder) === idOf(me())) removeFolder(path);
}

/**
 * Takes the lock at `path` (a folder), waiting while a live process holds it; `what` names it in
 * messages. Released when disposed, and by the reaper on exit, Ctrl-C or SIGTERM.
 */
export async function takeLock(path: string, what: string, wait: LockWait): Promise<AsyncDisposable> {
  mkdirSync(dirname(path), { recursive: true });
  const started = Date.now();
  const noticeEvery = wait.noticeEveryMs ?? 30_000;
  let nextNotice = started;
  let inTheWay = 0;
  while (!tryTake(path)) {
    const live = blocker(path);
    if (!live) {
      // Freed, or taken from a dead holder: try again at once. Something that stays is no lock.
      if (++inTheWay > 300) throw lockTimeout(path, what, null, wait.timeoutSeconds);
      await sleep(10);
      continue;
    }
    inTheWay = 0;
    const waited = Date.now() - started;
    if (waited >= wait.timeoutSeconds * 1000) throw lockTimeout(path, what, live, wait.timeoutSeconds);
    if (Date.now() >= nextNotice) {
      wait.onWait?.(
        `waiting for the ${what} lock, held by pid ${live.pid} (${describeState(live.state)}${commandOf(live.pid)}) ` +
          `for ${Math.round(waited / 1000)} s of at most ${wait.timeoutSeconds} s`,
      );
      while (nextNotice <= Date.now()) nextNotice += noticeEvery;
    }
    await sleep(Math.min(wait.pollMs ?? 1000, Math.max(10, wait.timeoutSeconds * 1000 - waited)));
  }
  const forget = onExit(() => {
    release(path);
  });
  return {
    [Symbol.asyncDispose]() {
      forget();
      release(path);
      return Promise.resolve();
    },
  };
}

function commandOf(pid: number): string {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    return command ? `, ${command.length > 80 ? `${command.slice(0, 77)}...` : command}` : '';
  } catch {
    return '';
  }
}

function lockTimeout(path: string, what: string, holder: LiveHolder | null, seconds: number): InfrastructureError {
  if (!holder)
    return new InfrastructureError(
      `could not take the ${what} lock: ${path} stays in the way, and no live process holds it`,
      `remove ${path} if no syscall-lab is running`,
    );
  const stopped = holder.state === 'T' || holder.state === 't';
  return new InfrastructureError(
    `the ${what} lock is still held by pid ${holder.pid} (${describeState(holder.state)}${commandOf(holder.pid)}) after ${seconds} s (${path})`,
    stopped
      ? `pid ${holder.pid} is stopped: resume it (\`fg\` in its shell, or \`kill -CONT ${holder.pid}\`) or end it (\`kill ${holder.pid}\`), then run again`
      : `wait for pid ${holder.pid} to finish (or end it: \`kill ${holder.pid}\`), or wait longer with --lock-timeout SECONDS`,
  );
}
