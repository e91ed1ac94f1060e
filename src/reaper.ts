import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Nothing outlives the process: every child process group, VM and scratch folder is
 * registered here and removed on exit, on an error, on Ctrl-C or SIGTERM. What a crashed
 * earlier run left behind is found by its owner pid and removed by reapLeftovers().
 */
type Cleanup = () => void;
const cleanups = new Map<number, Cleanup>();
let nextId = 0;
let installed = false;

/** Registers a synchronous cleanup (it must also work from the 'exit' event); returns its remover. */
export function onExit(cleanup: Cleanup): () => void {
  install();
  const id = nextId++;
  cleanups.set(id, cleanup);
  return () => cleanups.delete(id);
}

export function runCleanups(): void {
  for (const [id, cleanup] of [...cleanups].reverse()) {
    cleanups.delete(id);
    try {
      cleanup();
    } catch {
      // Best effort: one failed cleanup must not stop the others.
    }
  }
}

/** Kills a whole process group (a child started detached: make and its compilers, QEMU). */
export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Stops a process group from a synchronous exit handler: SIGTERM (make deletes the target it was
 * writing), a bounded wait for the group to go, then SIGKILL. Files it had open are then safe to remove.
 */
export function stopGroupSync(pid: number, graceMs = 3000): void {
  killGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (groupAlive(pid) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 50);
  if (groupAlive(pid)) killGroup(pid, 'SIGKILL');
}

/** SIGKILLs one process (a leader whose group is already gone, or that was no group leader). */
export function killProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Whether a process group still has a running member. Zombies do not count: a member whose
 * parent died is reaped by PID 1, and a container's PID 1 may take seconds to do it.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  return pids.some((pid) => {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid pgrp ...", comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(group) === pgid && state !== 'Z';
    } catch {
      return false;
    }
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const signalHandlers: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const signalExitCodes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
const interruptListeners = new Set<(signal: NodeJS.Signals) => void>();
/** An exit code that replaces the signal's own (`run --bisect`: 128, which stops `git bisect run`). */
let interruptExitCode: number | undefined;

/** Makes Ctrl-C and SIGTERM exit with `code` instead of 130/143. */
export function exitOnInterruptWith(code: number): void {
  interruptExitCode = code;
}

/** Called on Ctrl-C/SIGTERM, before cleanups run, so a run can say so and stop waiting. */
export function onInterrupt(listener: (signal: NodeJS.Signals) => void): () => void {
  install();
  interruptListeners.add(listener);
  return () => interruptListeners.delete(listener);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runCleanups);
  for (const signal of signalHandlers) {
    process.on(signal, () => {
      for (const listener of interruptListeners) listener(signal);
      runCleanups();
      process.exit(interruptExitCode ?? signalExitCodes[signal] ?? 1);
    });
  }
}

/** A folder owned by a process records its pid in a file named "owner". */
export function ownerOf(dir: string): number | null {
  const file = join(dir, 'owner');
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Removes what crashed earlier runs left: for each folder under `parent` whose owner is dead,
 * kill the processes it recorded (*.pid files) and, when `removeDir` allows it, the folder.
 */
export function reapLeftovers(
  parent: string,
  removeDir: (dir: string) => boolean,
  ownerFromName?: (name: string) => number | null,
): string[] {
  if (!existsSync(parent)) return [];
  const reaped: string[] = [];
  for (const name of readdirSync(parent)) {
    const dir = join(parent, name);
    // A folder half removed by a dying run may have lost its owner file: its name says whose it was.
    const owner = ownerOf(dir) ?? ownerFromName?.(name) ?? null;
    if (owner === null || owner === process.pid || isAlive(owner)) continue;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.pid'))) {
      const pid = Number(readFileSync(join(dir, file), 'utf8').trim());
      // Only a process that names this folder on its command line: a pid may have been reused.
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && commandLineNames(pid, dir)) {
        killGroup(pid, 'SIGKILL');
        killProcess(pid);
        reaped.push(`${file.replace(/\.pid$/, '')} ${pid} of dead run ${owner}`);
      }
    }
    if (removeDir(dir)) rmSync(dir, { recursive: true, force: true });
  }
  return reaped;
}

/**
 * Whether process `pid` names `dir` (or a file in it) on its command line: the check that a pid read
 * from a run's or a scratch folder's *.pid file still is that run's process, not a reused pid.
 */
export function commandLineNames(pid: number, dir: string): boolean {
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  return args.some((arg) => arg === dir || arg.includes(`${dir}/`));
}
