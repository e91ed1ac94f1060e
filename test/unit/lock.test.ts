import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanCommand } from '../../src/commands/clean.ts';
import { ExitCode, InfrastructureError } from '../../src/errors.ts';
import { isKeyLocked, lockKey } from '../../src/kernel/cache.ts';
import { processStat } from '../../src/kernel/lock.ts';
import { projectRoot } from '../../src/paths.ts';
import { runCleanups } from '../../src/reaper.ts';
import { useTempDirs } from './support/temp.ts';

// Locks belong to a live process, however long it is paused, and never to a dead one: a lock
// names its holder's pid and start time, and taking or taking over a lock is one atomic step.
const tempDir = useTempDirs('syscall-lab-lock-');
const taker = join(projectRoot, 'test', 'unit', 'support', 'lock-taker.ts');
const abovePidMax = 2 ** 22 + 4321; // no such process

let cache: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  cache = tempDir();
  vi.stubEnv('SYSCALL_LAB_CACHE', cache);
});

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.pid) {
      try {
        process.kill(child.pid, 'SIGCONT');
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }
  vi.unstubAllEnvs();
});

const lockDir = (key: string): string => join(cache, 'locks', `${key}.lock`);

interface Taker {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts a lock-taker process (test/unit/support/lock-taker.ts) with these orders. */
function startTaker(orders: Record<string, unknown>): Taker {
  const child = spawn(process.execPath, ['--import', 'tsx', taker, JSON.stringify({ cache, ...orders })], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      resolve(code);
    });
  });
  return { child, output: () => output, exited };
}

async function until(condition: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(10);
  }
}

/** A process that holds `key` (it printed "won"). */
async function holder(key: string): Promise<Taker> {
  const held = startTaker({ key, timeout: 5 });
  await until(() => held.output().includes('won'));
  return held;
}

function writeLock(key: string, holder: unknown): void {
  mkdirSync(lockDir(key), { recursive: true });
  writeFileSync(join(lockDir(key), 'holder'), `${JSON.stringify(holder)}\n`);
}

/** Takes `key` and tells how long it took; the lock is released at once. */
async function timeToTake(key: string): Promise<number> {
  const started = Date.now();
  const lock = await lockKey(key, { timeoutSeconds: 5 });
  const took = Date.now() - started;
  expect(isKeyLocked(key)).toBe(true);
  await lock[Symbol.asyncDispose]();
  return took;
}

describe('lockKey', () => {
  it('records its holder: pid and start time (field 22 of /proc/<pid>/stat)', async () => {
    await using _lock = await lockKey('tree-format');
    const record = JSON.parse(readFileSync(join(lockDir('tree-format'), 'holder'), 'utf8')) as unknown;
    expect(record).toEqual({ pid: process.pid, start: processStat(process.pid)!.start });
    expect(processStat(process.pid)!.state).toBe('R');
  });

  it('stays with a stopped holder past the old 60 s rule; the waiter names it, then gives up with exit 3', async () => {
    const key = 'tree-stopped';
    const held = await holder(key);
    const pid = held.child.pid!;
    process.kill(pid, 'SIGSTOP');
    await until(() => processStat(pid)?.state === 'T');
    // Ten minutes old: proper-lockfile called that stale after a minute. Age says nothing now.
    const old = new Date(Date.now() - 600_000);
    utimesSync(lockDir(key), old, old);
    utimesSync(join(lockDir(key), 'holder'), old, old);
    expect(isKeyLocked(key)).toBe(true);

    const notices: string[] = [];
    const started = Date.now();
    const error = await lockKey(key, {
      timeoutSeconds: 1.5,
      noticeEveryMs: 400,
      pollMs: 50,
      onWait: (text) => notices.push(text),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const waited = Date.now() - started;
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as InfrastructureError).exitCode).toBe(ExitCode.infrastructure);
    expect((error as InfrastructureError).message).toContain(`held by pid ${pid} (T: stopped`);
    expect((error as InfrastructureError).fix).toContain(`kill -CONT ${pid}`);
    expect(waited).toBeGreaterThanOrEqual(1500);
    expect(waited).toBeLessThan(5000);
    // Told at once, then every 400 ms: the holder's pid and state each time.
    expect(notices.length).toBeGreaterThanOrEqual(3);
    expect(notices.length).toBeLessThanOrEqual(5);
    for (const notice of notices) expect(notice).toMatch(new RegExp(`held by pid ${pid} \\(T: stopped`));
    // The holder kept it, and has it still once resumed.
    expect(isKeyLocked(key)).toBe(true);
    process.kill(pid, 'SIGCONT');
    await until(() => processStat(pid)?.state !== 'T');
    expect(isKeyLocked(key)).toBe(true);
  });

  it('is taken at once from a SIGKILLed holder', async () => {
    const key = 'tree-killed';
    const held = await holder(key);
    held.child.kill('SIGKILL');
    await held.exited;
    expect(existsSync(lockDir(key))).toBe(true);
    expect(isKeyLocked(key)).toBe(false);
    expect(await timeToTake(key)).toBeLessThan(1000);
  });

  it('is taken at once when its pid now belongs to another process (another start time)', async () => {
    const key = 'tree-reused';
    const other = spawn('sleep', ['300']);
    children.push(other);
    const pid = other.pid!;
    await until(() => processStat(pid) !== null);
    writeLock(key, { pid, start: String(Number(processStat(pid)!.start) - 1) });
    expect(isKeyLocked(key)).toBe(false);
    expect(await timeToTake(key)).toBeLessThan(1000);
    // The process that got the pid is left alone.
    expect(processStat(pid)).not.toBeNull();
  });

  it("is taken from a waiter that died while taking a dead holder's lock over, and from a proper-lockfile leftover", async () => {
    writeLock('tree-half-taken', { pid: abovePidMax, start: '1' });
    const marker = join(lockDir('tree-half-taken'), `breaking-${abovePidMax}-1`);
    writeFileSync(marker, JSON.stringify({ pid: abovePidMax + 1, start: '2' }));
    expect(await timeToTake('tree-half-taken')).toBeLessThan(1000);
    mkdirSync(lockDir('tree-legacy'), { recursive: true });
    expect(await timeToTake('tree-legacy')).toBeLessThan(1000);
  });

  it('goes to exactly one of several processes taking a dead lock at the same moment', async () => {
    const rounds = 5;
    const [key, go, done] = ['tree-race', join(cache, 'go'), join(cache, 'done')];
    const takers = Array.from({ length: 6 }, () => startTaker({ key, timeout: 0, rounds, go, until: done }));
    await until(() => takers.every((t) => t.output().includes('ready')));
    for (let round = 1; round <= rounds; round++) {
      writeLock(`${key}-${round}`, { pid: abovePidMax, start: '1' });
      writeFileSync(`${go}-${round}`, '');
      const outcome = (t: Taker): string | undefined =>
        new RegExp(`^(won|lost) ${round}\\b.*$`, 'm').exec(t.output())?.[0];
      await until(() => takers.every((t) => outcome(t) !== undefined));
      // The losers saw a live holder and gave up (timeout 0) while the winner still held the lock.
      const outcomes = takers.map(outcome);
      expect(
        outcomes.filter((o) => o === `won ${round}`),
        outcomes.join(', '),
      ).toHaveLength(1);
      expect(outcomes.filter((o) => o === `lost ${round} ${ExitCode.infrastructure}`)).toHaveLength(5);
      writeFileSync(`${done}-${round}`, '');
      await until(() => !existsSync(lockDir(`${key}-${round}`)));
    }
    await Promise.all(takers.map((t) => t.exited));
    // Nothing is left beside the locks: no staging folder, marker or removed folder.
    expect(readdirSync(join(cache, 'locks'))).toEqual([]);
  }, 60_000);

  it('is released by `await using` when the body throws, and by the exit handler', async () => {
    const key = 'tree-dispose';
    const error = await (async () => {
      await using _lock = await lockKey(key);
      expect(isKeyLocked(key)).toBe(true);
      throw new Error('build failed');
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('build failed');
    expect(existsSync(lockDir(key))).toBe(false);

    await lockKey(key);
    expect(isKeyLocked(key)).toBe(true);
    runCleanups(); // what Ctrl-C, SIGTERM and exit run
    expect(existsSync(lockDir(key))).toBe(false);
  });

  it("agrees with clean: a tree locked by a stopped run stays, a dead run's tree goes", async () => {
    const unfinished = (name: string): string => {
      const tree = join(cache, 'trees', name);
      mkdirSync(join(tree, 'linux-6.1'), { recursive: true });
      return tree;
    };
    const stoppedTree = unfinished('stopped');
    const deadTree = unfinished('dead');
    const held = await holder('tree-stopped');
    process.kill(held.child.pid!, 'SIGSTOP');
    writeLock('tree-dead', { pid: abovePidMax, start: '1' });
    await cleanCommand(false, false, () => undefined);
    expect(existsSync(stoppedTree)).toBe(true);
    expect(existsSync(deadTree)).toBe(false);
  });
});
