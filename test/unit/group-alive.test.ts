import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { groupAlive } from '../../src/reaper.ts';

// A parent (its own group) forks a child into a new group; the child runs, or exits and stays a
// zombie because the parent never reaps it (as a container's PID 1 may take seconds to).
const parent = (childRuns: boolean): string => `
import os, sys, time
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    ${childRuns ? 'time.sleep(30)' : 'os._exit(0)'}
# Both sides set the group, so that it exists before the pid is printed, whichever runs first.
try:
    os.setpgid(pid, pid)
except OSError:
    pass
print(pid, flush=True)
time.sleep(30)
`;

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

async function childGroup(childRuns: boolean): Promise<number> {
  const python = spawn('/usr/bin/python3', ['-c', parent(childRuns)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started.push(python.pid ?? 0);
  const line = await new Promise<string>((resolve) =>
    python.stdout.once('data', (data: Buffer) => {
      resolve(data.toString());
    }),
  );
  const child = Number(line.trim());
  started.push(child);
  return child;
}

describe('groupAlive', () => {
  it('is true while a member of the group runs', async () => {
    expect(groupAlive(await childGroup(true))).toBe(true);
  });

  it('is false when the only members left are zombies nobody reaped yet', async () => {
    const group = await childGroup(false);
    // kill(-group, 0) still succeeds on the zombie.
    await sleep(200);
    expect(() => process.kill(-group, 0)).not.toThrow();
    expect(groupAlive(group)).toBe(false);
  });

  it('is false for a group that does not exist', () => {
    expect(groupAlive(2 ** 22 + 12345)).toBe(false);
  });
});
