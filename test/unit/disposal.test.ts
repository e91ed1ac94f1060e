import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareGuestKeys } from '../../src/guest/rootfs.ts';
import { prepareGuestView } from '../../src/guest/view.ts';
import { isKeyLocked, lockKey } from '../../src/kernel/cache.ts';
import { ScratchFolder, scratchOwner } from '../../src/kernel/scratch.ts';
import { groupAlive, killGroup, runCleanups } from '../../src/reaper.ts';
import { RunFolder, type KeptVm } from '../../src/run-folder.ts';
import { BootError } from '../../src/vm/machine.ts';
import { QemuMachine } from '../../src/vm/qemu.ts';

// Each resource is owned with `await using` and must be released when the body throws.

const originalCache = process.env.SYSCALL_LAB_CACHE;
const originalPath = process.env.PATH;
let cacheDir: string;

beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'syscall-lab-disposal-'));
  process.env.SYSCALL_LAB_CACHE = cacheDir;
});

afterEach(() => {
  if (originalCache === undefined) delete process.env.SYSCALL_LAB_CACHE;
  else process.env.SYSCALL_LAB_CACHE = originalCache;
  process.env.PATH = originalPath;
  rmSync(cacheDir, { recursive: true, force: true });
});

class BodyError extends Error {}

/** Runs `body` and returns what it threw (the test fails if it did not throw). */
async function thrownBy(body: () => Promise<void>): Promise<unknown> {
  const error = await body().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BodyError);
  return error;
}

async function waitFor(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(20);
  }
}

/** Whether any process of the group led by `pid` is alive. */

describe('ScratchFolder', () => {
  it('exists with an owner file inside the body and is gone after the body throws', async () => {
    const expected = join(cacheDir, 'tmp', `unpack-${process.pid}`);
    let seen: { path: string; exists: boolean; owner: string } | undefined;
    await thrownBy(async () => {
      using work = new ScratchFolder('unpack');
      seen = {
        path: work.path,
        exists: existsSync(work.path),
        owner: readFileSync(join(work.path, 'owner'), 'utf8'),
      };
      writeFileSync(join(work.path, 'partial.o'), 'half written');
      throw new BodyError('build failed');
    });
    expect(seen).toEqual({ path: expected, exists: true, owner: String(process.pid) });
    expect(existsSync(expected)).toBe(false);
    expect(existsSync(join(cacheDir, 'tmp'))).toBe(true);
  });

  it('starts empty even when a folder of the same name was left behind', async () => {
    const stale = join(cacheDir, 'tmp', `unpack-${process.pid}`);
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, 'leftover'), 'x');
    await thrownBy(async () => {
      using work = new ScratchFolder('unpack');
      expect(existsSync(join(work.path, 'leftover'))).toBe(false);
      throw new BodyError('stop');
    });
    expect(existsSync(stale)).toBe(false);
  });

  it('forgets its exit cleanup once disposed', async () => {
    let path = '';
    await thrownBy(async () => {
      using work = new ScratchFolder('forget');
      path = work.path;
      throw new BodyError('stop');
    });
    // A later folder at the same path belongs to someone else: the exit hook must not remove it.
    mkdirSync(path, { recursive: true });
    runCleanups();
    expect(existsSync(path)).toBe(true);
  });

  it('reads the owner pid from a scratch folder name', () => {
    expect(scratchOwner('abc-123')).toBe(123);
    expect(scratchOwner('tree-4f2a-98765')).toBe(98765);
    expect(scratchOwner('abc')).toBeNull();
    expect(scratchOwner('abc-')).toBeNull();
    expect(scratchOwner('abc-12x')).toBeNull();
  });
});

describe('lockKey', () => {
  it('holds the lock inside the body and releases it when the body throws', async () => {
    const key = 'tree-abc123';
    let inside: { locked: boolean; lockFile: boolean } | undefined;
    expect(isKeyLocked(key)).toBe(false);
    await thrownBy(async () => {
      await using _lock = await lockKey(key);
      inside = { locked: isKeyLocked(key), lockFile: existsSync(join(cacheDir, 'locks', `${key}.lock`)) };
      throw new BodyError('build failed');
    });
    expect(inside).toEqual({ locked: true, lockFile: true });
    expect(isKeyLocked(key)).toBe(false);
    expect(existsSync(join(cacheDir, 'locks', `${key}.lock`))).toBe(false);

    // Acquired again at once: a held lock would make it retry every 10 s.
    const started = Date.now();
    const again = await lockKey(key);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(isKeyLocked(key)).toBe(true);
    await again[Symbol.asyncDispose]();
    expect(isKeyLocked(key)).toBe(false);
  });

  it('locks one key, not the others', async () => {
    await using _lock = await lockKey('box-one');
    expect(isKeyLocked('box-one')).toBe(true);
    expect(isKeyLocked('box-two')).toBe(false);
  });
});

describe('QemuMachine', () => {
  let bin: string;
  const pids: number[] = [];

  beforeEach(() => {
    bin = mkdtempSync(join(tmpdir(), 'syscall-lab-disposal-bin-'));
    const script = join(bin, 'qemu-system-x86_64');
    writeFileSync(script, '#!/bin/sh\nexec sleep 300\n');
    chmodSync(script, 0o755);
    process.env.PATH = `${bin}:${originalPath}`;
  });

  afterEach(() => {
    for (const pid of pids.splice(0)) killGroup(pid, 'SIGKILL');
    rmSync(bin, { recursive: true, force: true });
  });

  async function machine(folder: RunFolder): Promise<QemuMachine> {
    const keys = await prepareGuestKeys(folder);
    return new QemuMachine({
      folder,
      kernel: { image: '/boot/fake-bzImage', release: '6.1.0-stock' },
      keys,
      view: prepareGuestView(folder),
      accel: 'tcg',
      cpus: 1,
      memoryMiB: 256,
      kernelArgs: [],
      bootTimeout: 60_000,
    });
  }

  /** Starts the machine without waiting for SSH (it never answers); returns QEMU's pid once it runs. */
  async function startInBackground(
    vm: QemuMachine,
    folder: RunFolder,
  ): Promise<{ pid: number; starting: Promise<unknown> }> {
    const starting = vm.start().then(
      () => 'started',
      (e: unknown) => e,
    );
    await waitFor(() => existsSync(folder.qemuPid) && readFileSync(folder.qemuPid, 'utf8') !== '');
    const pid = Number(readFileSync(folder.qemuPid, 'utf8'));
    pids.push(pid);
    await waitFor(() => existsSync(`/proc/${pid}`));
    return { pid, starting };
  }

  it('kills the QEMU process group when the body throws while it boots', async () => {
    const folder = RunFolder.create(1);
    let started: { pid: number; starting: Promise<unknown> } | undefined;
    let aliveInside = false;
    await thrownBy(async () => {
      await using vm = await machine(folder);
      started = await startInBackground(vm, folder);
      aliveInside = groupAlive(started.pid);
      throw new BodyError('a check crashed');
    });
    expect(started).toBeDefined();
    const { pid, starting } = started!;
    expect(aliveInside).toBe(true);
    // Disposal waited for QEMU to exit: nothing of its group is left.
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(groupAlive(pid)).toBe(false);
    // The interrupted boot settles (QEMU is gone: it gives up on SSH) instead of hanging for 60 s.
    const outcome = await Promise.race([starting, sleep(15_000, 'still pending')]);
    expect(outcome).toBeInstanceOf(BootError);
    expect((outcome as BootError).message).toMatch(/did not reach SSH.*QEMU exited/);
  });

  it('leaves a kept VM running when disposed, with what `syscall-lab ssh` and `test` need', async () => {
    const folder = RunFolder.create(2);
    expect(existsSync(folder.owner)).toBe(true);
    const record: KeptVm = {
      stage: 'patched',
      release: '6.1.0-patched-12345678',
      patchedRelease: '6.1.0-patched-12345678',
      kernelVersion: '6.1.0',
      added: [{ number: 451, abi: 'common', name: 'callcount', entry: 'sys_callcount' }],
      headerFile: join(folder.dir, 'syscall-lab-syscalls.h'),
      userlandFiles: ['/src/a_test.c'],
      console: folder.qemuConsole(1, '6.1.0-stock'),
      accel: 'tcg',
    };
    let started: { pid: number; starting: Promise<unknown> } | undefined;
    let hint = '';
    await thrownBy(async () => {
      await using vm = await machine(folder);
      started = await startInBackground(vm, folder);
      hint = vm.keep(record);
      throw new BodyError('after keep');
    });
    const { pid, starting } = started!;
    try {
      expect(existsSync(`/proc/${pid}`)).toBe(true);
      expect(groupAlive(pid)).toBe(true);

      const port = readFileSync(folder.sshPort, 'utf8');
      expect(port).toMatch(/^\d+$/);
      const forwarded = /hostfwd=tcp:127\.0\.0\.1:(\d+)-:22/.exec(readFileSync(folder.qemuCommandLine, 'utf8'));
      expect(forwarded?.[1]).toBe(port);
      expect(folder.readKept()).toEqual(record);
      expect(existsSync(folder.owner)).toBe(false);
      expect(hint).toContain(`syscall-lab ssh --run ${folder.dir}`);
      expect(RunFolder.kept(undefined).dir).toBe(folder.dir);
    } finally {
      killGroup(pid, 'SIGKILL');
      await waitFor(() => !existsSync(`/proc/${pid}`));
      await Promise.race([starting, sleep(15_000)]);
    }
  });
});
