import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-clean-');

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
    const cleaned = await execa('node', [join(projectRoot, 'bin', 'syscall-lab.mjs'), 'clean', '--cache', cache], {
      reject: false,
      all: true,
    });
    expect(cleaned.exitCode, cleaned.all).toBe(0);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(liveRun)).toBe(true);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(deadRun)).toBe(false);
  });
});
