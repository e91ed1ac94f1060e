import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { plantCanaries, type Canaries } from './canaries.ts';
import { leftoverQemu, runCli, statusOf } from './helpers.ts';

/**
 * The guest cannot reach the host's secrets: canaries are planted where secrets live (/root, a
 * home, /tmp, /var/lib, the cache folder, the project folder, the harness's environment), and a
 * userland program that runs as guest root attacks the guest's view with bind mounts of / and
 * lazy unmounts, then looks for them everywhere it can reach.
 */
describe('the guest cannot reach the host secrets', () => {
  let canaries: Canaries;
  beforeAll(() => {
    canaries = plantCanaries();
  });
  afterAll(() => {
    canaries.remove();
  });

  // One matrix run of both kernels: also the side-by-side report of a matrix (summary, JSON, JUnit).
  it('on 6.1 and 3.9 (one matrix run): every attack runs as guest root and finds no canary', async () => {
    const tarball = join(projectRoot, '..', 'shared', 'kernels', 'linux-3.9.6-onl.tar.xz');
    const { exitCode, report, junit, stdout } = await runCli(
      ['--kernel', '6.1', '--kernel', tarball, '--userland', canaries.userland],
      { ISOLATION_CANARY: canaries.token },
    );
    expect(report.runs.map((run) => run.kernel.version)).toEqual([expect.stringMatching(/^6\.1\.\d+$/), '3.9.6']);
    for (const run of report.runs) {
      const program = run.checks.find((check) => check.name === 'userland:isolation.c');
      expect(statusOf(run, 'userland:isolation.c'), `${stdout}\n${program?.details ?? ''}`).toBe('pass');
      expect(program?.subresults?.map((sub) => sub.status)).toEqual(Array(12).fill('pass'));
    }
    expect(exitCode, stdout).toBe(0);
    expect(stdout).toContain('matrix');
    // One testsuite of checks per kernel, and one of the conformance checklist per kernel.
    expect((junit.match(/<testsuite name="syscall-lab (?!conformance )/g) ?? []).length).toBe(2);
    expect((junit.match(/<testsuite name="syscall-lab conformance /g) ?? []).length).toBe(2);
    expect(JSON.stringify(report)).not.toContain(canaries.token);
    expect(await leftoverQemu()).toBe('');
  });
});
