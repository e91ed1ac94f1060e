import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.ts';
import { leftoverQemu, runCli, statusOf } from './helpers.ts';

const builtinChecks = [
  'enosys-control',
  'kernel-console:stock',
  'patched-kernel-running',
  'taskcount-matches-top',
  'taskcount-matches-proc',
  'callcount-increments',
  'bad-pointer-efault',
  'kernel-console:patched',
];

// Real kernels: Debian's linux-source-6.1 built (cached under ~/.cache/syscall-lab) and booted in QEMU.
describe('Linux 6.1 in QEMU', () => {
  it('passes every check with patches-6.1, and every applicable item of the checklist under --conformance fail', async () => {
    const { exitCode, report, junit, stdout } = await runCli(['--kernel', '6.1', '--conformance', 'fail']);
    const run = report.runs[0]!;
    const failing = run.checks.filter((check) => check.status !== 'pass');
    expect(failing, stdout).toEqual([]);
    expect(exitCode, stdout).toBe(0);
    for (const name of builtinChecks) expect(statusOf(run, name), name).toBe('pass');
    for (const file of ['callcount_example.c', 'taskcount_example.c', 'callcount_monotonic.c', 'taskcount_sane.c']) {
      expect(statusOf(run, `userland:${file}`), file).toBe('pass');
    }
    expect(run.kernel.version).toMatch(/^6\.1\.\d+$/);
    expect(run.kernel.stockRelease).toMatch(/^6\.1\.\d+-stock$/);
    expect(run.kernel.patchedRelease).toMatch(/^6\.1\.\d+-patched-[0-9a-f]{8}$/);
    expect(run.phases.map((phase) => phase.name)).toEqual([
      'patch-check',
      'build-stock',
      'build-patched',
      'conformance',
      'boot-stock',
      'checks-stock',
      'boot-patched',
      'checks-patched',
    ]);
    // patches-6.1 is in upstream form, 64-bit only: only the 32-bit items and the flags items (no flags argument) are n/a.
    expect(Object.fromEntries((run.conformance ?? []).map((item) => [item.name, item.status])), stdout).toEqual({
      'conformance:syscall-define': 'pass',
      'conformance:prototype': 'pass',
      'conformance:ni-stub': 'pass',
      'conformance:generic-table': 'pass',
      'conformance:x86-32-entry': 'n/a',
      'conformance:user-annotations': 'pass',
      'conformance:checkpatch': 'pass',
      'conformance:efault:callcount': 'pass',
      'conformance:flags:callcount': 'n/a',
      'conformance:x86-32:callcount': 'n/a',
      'conformance:efault:taskcount': 'pass',
      'conformance:flags:taskcount': 'n/a',
      'conformance:x86-32:taskcount': 'n/a',
    });
    expect(run.conformance?.every((item) => item.enforced)).toBe(true);
    expect(junit).toContain('name="taskcount-matches-top"');
    expect(junit).toContain('name="conformance:efault:callcount"');
    expect(stdout).toMatch(/\d+ passed, 0 failed/);
    expect(await leftoverQemu()).toBe('');
  });

  it('reuses the stock control of an earlier run of the same stock build, and runs every patched check again', async () => {
    const { exitCode, report, stdout } = await runCli(['--kernel', '6.1']);
    const run = report.runs[0]!;
    expect(exitCode, stdout).toBe(0);
    const phase = (name: string) => run.phases.find((p) => p.name === name);
    // The builds were made by the test above: no dry run, no build, no stock boot.
    for (const name of ['patch-check', 'build-stock', 'build-patched', 'boot-stock', 'checks-stock'])
      expect(phase(name)?.cached, name).toBe(true);
    for (const name of ['boot-patched', 'checks-patched']) expect(phase(name)?.cached, name).toBe(false);
    for (const check of run.checks) {
      const stock = check.name === 'enosys-control' || check.name === 'kernel-console:stock';
      expect(check.cachedFrom !== undefined, check.name).toBe(stock);
      expect(check.status, check.name).toBe('pass');
    }
    expect(stdout).toMatch(/PASS +enosys-control \(cached\) /);
    expect(await leftoverQemu()).toBe('');
  });

  // The fixture is patches-6.1 plus one patch to mysyscalls/taskcount.c (see its series file):
  // built after the real series in the same tree, only that file recompiles.
  it('fails taskcount-matches-top when taskcount never writes the count', async () => {
    const patches = join(projectRoot, 'test', 'fixtures', 'patches', 'taskcount-never-writes');
    const { exitCode, report, stdout } = await runCli(['--kernel', '6.1', '--patches', patches]);
    const run = report.runs[0]!;
    expect(exitCode, stdout).toBe(1);
    expect(statusOf(run, 'enosys-control')).toBe('pass');
    expect(statusOf(run, 'patched-kernel-running')).toBe('pass');
    expect(statusOf(run, 'kernel-console:stock')).toBe('pass');
    expect(statusOf(run, 'kernel-console:patched')).toBe('pass');
    expect(statusOf(run, 'taskcount-matches-top')).toBe('fail');
    expect(statusOf(run, 'taskcount-matches-proc')).toBe('fail');
    // callcount is the real one.
    expect(statusOf(run, 'callcount-increments')).toBe('pass');
    // taskcount returns 0 for bad pointers instead of -1/EFAULT (no oops: it writes nothing).
    expect(statusOf(run, 'bad-pointer-efault')).toBe('fail');
    expect(statusOf(run, 'userland:callcount_example.c')).toBe('pass');
    expect(statusOf(run, 'userland:callcount_monotonic.c')).toBe('pass');
    // Exits 0 whatever the count (it prints 0 processes).
    expect(statusOf(run, 'userland:taskcount_example.c')).toBe('pass');
    // The count stays 0: "count is positive" and "a forked child is counted" fail.
    expect(statusOf(run, 'userland:taskcount_sane.c')).toBe('fail');
    expect(await leftoverQemu()).toBe('');
  });

  it('catches the oops of a callcount that stores through the user pointer (SMAP), failing only what called it', async () => {
    const patches = join(projectRoot, 'test', 'fixtures', 'patches', 'unsafe-6.1');
    const { exitCode, report, stdout } = await runCli(['--kernel', '6.1', '--patches', patches]);
    const run = report.runs[0]!;
    expect(exitCode, stdout).toBe(1);
    for (const name of [
      'enosys-control',
      'kernel-console:stock',
      'patched-kernel-running',
      'taskcount-matches-top',
      'taskcount-matches-proc',
      'userland:taskcount_example.c',
      'userland:taskcount_sane.c',
      // Every oops is in a program a check ran, and is that check's finding.
      'kernel-console:patched',
    ]) {
      expect(statusOf(run, name), name).toBe('pass');
    }
    for (const name of [
      'callcount-increments',
      'bad-pointer-efault',
      'userland:callcount_example.c',
      'userland:callcount_monotonic.c',
    ]) {
      const check = run.checks.find((c) => c.name === name)!;
      expect(check.status, name).toBe('fail');
      // A valid pointer faults under SMAP, NULL as a NULL dereference: either way the oops is the evidence.
      expect(check.details, name).toMatch(/BUG: (unable to handle page fault|kernel NULL pointer dereference)/);
    }
    expect(await leftoverQemu()).toBe('');
  });
});
