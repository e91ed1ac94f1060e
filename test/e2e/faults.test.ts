import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { leftoverQemu, runCli, statusOf } from './helpers.ts';

// Faults on a real VM (the 6.1 kernels are cached by qemu-6.1.test.ts): the harness must stop
// cleanly, leave no QEMU behind, and never report a pass it did not see.
const cli = join(projectRoot, 'bin', 'syscall-lab.mjs');

/** Starts a run and resolves once its stderr shows `marker`. */
function startRun(args: string[], marker: RegExp) {
  const child = execa('node', [cli, 'run', ...args], { reject: false, all: true, buffer: true });
  const seen = new Promise<void>((resolve) => {
    child.all.on('data', (data: Buffer) => {
      if (marker.test(data.toString())) resolve();
    });
  });
  return { child, seen };
}

describe('faults', () => {
  it('stops QEMU and exits 130 on Ctrl-C during the boot', async () => {
    const { child, seen } = startRun(['--kernel', '6.1'], /booting /);
    await seen;
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(result.all).toContain('stopping VMs and builds');
    expect(await leftoverQemu()).toBe('');
  });

  it('stops QEMU and exits 143 on SIGTERM during the checks', async () => {
    const { child, seen } = startRun(['--kernel', '6.1'], /PASS patched-kernel-running/);
    await seen;
    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode).toBe(143);
    expect(result.all).toContain('SIGTERM: stopping VMs and builds');
    expect(result.all).not.toMatch(/\b\d+ passed, 0 failed/);
    expect(await leftoverQemu()).toBe('');
    const mentioning = await execa('pgrep', ['-af', `syscall-lab-${child.pid}`], { reject: false });
    // A dead QEMU that PID 1 has yet to reap (a container's init may take seconds) is not left running.
    const running = mentioning.stdout.split('\n').filter((line) => line.trim() !== '' && !line.endsWith('<defunct>'));
    expect(running).toEqual([]);
  });

  it('exits 3 with the evidence when QEMU dies during the checks', async () => {
    // The first patched check has passed: the VM is up, with the other checks still to run.
    const { child, seen } = startRun(['--kernel', '6.1'], /PASS patched-kernel-running/);
    await seen;
    // Only this run's VM: QEMU is named after the pid of the CLI that started it.
    const killed = await execa('pkill', ['-KILL', '-f', `process=syscall-lab-${child.pid}`], { reject: false });
    expect(killed.exitCode).toBe(0);
    const result = await child;
    expect(result.exitCode).toBe(3);
    expect(result.all).toMatch(/error: .*QEMU exited/);
    expect(result.all).not.toMatch(/\b\d+ passed, 0 failed/);
    expect(await leftoverQemu()).toBe('');
  });

  it('kills a hanging guest program at its timeout and still runs the other checks', async () => {
    const userland = await dir({ unsafeCleanup: true });
    mkdirSync(userland.path, { recursive: true });
    writeFileSync(join(userland.path, 'hangs.c'), '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n');
    // --command-timeout 30: the hang is killed after 30 s, not the default 120 s under TCG.
    const { exitCode, report, stdout } = await runCli([
      '--kernel',
      '6.1',
      '--userland',
      userland.path,
      '--command-timeout',
      '30',
    ]);
    const run = report.runs[0]!;
    expect(exitCode, stdout).toBe(1);
    const hang = run.checks.find((check) => check.name === 'userland:hangs.c')!;
    expect(hang.status).toBe('fail');
    expect(hang.actual).toMatch(/timed out/);
    expect(statusOf(run, 'callcount-increments')).toBe('pass');
    await userland.cleanup();
    expect(await leftoverQemu()).toBe('');
  });

  it('runs two runs at once on the same cache, each with its own VM', async () => {
    const [first, second] = await Promise.all([runCli(['--kernel', '6.1']), runCli(['--kernel', '6.1'])]);
    expect(first.exitCode, first.stdout).toBe(0);
    expect(second.exitCode, second.stdout).toBe(0);
    expect(first.report.runs[0]!.logs.console[0]).not.toBe(second.report.runs[0]!.logs.console[0]);
    expect(await leftoverQemu()).toBe('');
  });
});
