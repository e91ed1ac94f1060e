import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-clean-');
const bin = join(projectRoot, 'bin', 'syscall-lab.mjs');

describe('syscall-lab clean', () => {
  it("removes what dead runs left, never a live run's scratch folder or run folder", async () => {
    const cache = tempDir();
    const deadPid = 2 ** 22 + 12345; // above pid_max: no such process
    const live = join(cache, 'tmp', `0123456789abcdef01234567-${process.pid}`);
    const dead = join(cache, 'tmp', `0123456789abcdef01234567-${deadPid}`);
    const liveRun = join(cache, 'runs', 'live');
    const deadRun = join(cache, 'runs', 'dead');
    for (const dir of [live, dead, liveRun, deadRun]) mkdirSync(dir, { recursive: true });
    writeFileSync(join(liveRun, 'owner'), String(process.pid));
    writeFileSync(join(deadRun, 'owner'), String(deadPid));
    const cleaned = await execa('node', [bin, 'clean', '--cache', cache], {
      reject: false,
      all: true,
    });
    expect(cleaned.exitCode, cleaned.all).toBe(0);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(liveRun)).toBe(true);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(deadRun)).toBe(false);
  });

  it('--vms kills only the QEMU of that run: a process that reused its pid survives', async () => {
    const cache = tempDir();
    const started: ChildProcess[] = [];
    /** A kept VM's run folder (no owner, an ssh-port) whose qemu.pid names `child`, a group leader. */
    const keptRun = (name: string, command: string, args: (dir: string) => string[]) => {
      const dir = join(cache, 'runs', name);
      mkdirSync(dir, { recursive: true });
      const child = spawn(command, args(dir), { detached: true, stdio: 'ignore' });
      started.push(child);
      writeFileSync(join(dir, 'qemu.pid'), String(child.pid));
      writeFileSync(join(dir, 'ssh-port'), '2222');
      const exited = new Promise<string | null>((resolve) => {
        child.on('exit', (_, signal) => {
          resolve(signal);
        });
      });
      return { dir, child, exited };
    };
    try {
      // The pid a dead run recorded now belongs to an unrelated process (its own group leader).
      const unrelated = keptRun('unrelated', 'sleep', () => ['300']);
      // That run's QEMU names files of its folder on its command line (-pidfile, the console...).
      const ours = keptRun('ours', process.execPath, (dir) => [
        '-e',
        'setTimeout(() => {}, 300000)',
        join(dir, 'qemu-self.pid'),
      ]);
      const cleaned = await execa(process.execPath, [bin, 'clean', '--vms', '--cache', cache], {
        reject: false,
        all: true,
      });
      expect(cleaned.exitCode, cleaned.all).toBe(0);
      expect(await ours.exited).toBe('SIGKILL');
      expect(cleaned.all).toContain(`stopped VM ${ours.child.pid} of ${ours.dir}`);
      expect(cleaned.all).not.toContain(`stopped VM ${unrelated.child.pid}`);
      expect(unrelated.child.exitCode).toBeNull();
      expect(unrelated.child.signalCode).toBeNull();
      // Both runs are gone (the unrelated process was no VM of theirs).
      expect(existsSync(ours.dir)).toBe(false);
      expect(existsSync(unrelated.dir)).toBe(false);
    } finally {
      for (const child of started) child.kill('SIGKILL');
    }
  });
});
