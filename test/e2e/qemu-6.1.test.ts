import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.ts';
import { leftoverQemu, runCli, statusOf } from './helpers.ts';

const builtinChecks = ['enosys-control', 'patched-kernel-running', 'taskcount-matches-top', 'taskcount-matches-proc', 'callcount-increments', 'bad-pointer-efault'];

// Real kernels: Debian's linux-source-6.1 built (cached under ~/.cache/syscall-lab) and booted in QEMU.
describe('Linux 6.1 in QEMU', () => {
  it('passes every check with patches-6.1', async () => {
    const { exitCode, report, junit, stdout } = await runCli(['--kernel', '6.1']);
    const run = report.runs[0]!;
    const failing = run.checks.filter((check) => check.status !== 'pass');
    expect(failing, stdout).toEqual([]);
    expect(exitCode, stdout).toBe(0);
    for (const name of builtinChecks) expect(statusOf(run, name), name).toBe('pass');
    for (const file of ['callcount_example.c', 'taskcount_example.c', 'callcount_monotonic.c', 'taskcount_sane.c']) {
      expect(statusOf(run, `userland:${file}`), file).toBe('pass');
    }
    expect(run.kernel.version).toMatch(/^6\.1\.\d+$/);
    expect(run.kernel.stockRelease).toMatch(/-stock$/);
    expect(run.kernel.patchedRelease).toMatch(/-patched-[0-9a-f]{8}$/);
    expect(run.phases.map((phase) => phase.name)).toEqual(['patch-dry-run', 'build-stock', 'build-patched', 'boot-stock', 'checks-stock', 'boot-patched', 'checks-patched']);
    expect(junit).toContain('name="taskcount-matches-top"');
    expect(stdout).toMatch(/\d+ passed, 0 failed/);
    expect(await leftoverQemu()).toBe('');
  });

  it('fails taskcount-matches-top when taskcount never writes the count', async () => {
    const patches = join(projectRoot, 'test', 'fixtures', 'patches', 'taskcount-never-writes');
    const { exitCode, report } = await runCli(['--kernel', '6.1', '--patches', patches]);
    const run = report.runs[0]!;
    expect(exitCode).toBe(1);
    expect(statusOf(run, 'enosys-control')).toBe('pass');
    expect(statusOf(run, 'patched-kernel-running')).toBe('pass');
    expect(statusOf(run, 'taskcount-matches-top')).toBe('fail');
    expect(statusOf(run, 'taskcount-matches-proc')).toBe('fail');
    expect(statusOf(run, 'callcount-increments')).toBe('skip');
    expect(await leftoverQemu()).toBe('');
  });
});
