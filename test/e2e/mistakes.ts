import { join } from 'node:path';
import { expect } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import type { RunReport } from '../../src/report/model.ts';
import { leftoverQemu, runCli, statusOf } from './helpers.ts';

/**
 * The usual syscall mistakes, each a negative fixture: patches-6.1 plus one patch that changes
 * only mysyscalls/*.c (test/fixtures/patches/<name>/). A check is only as good as the wrong patch
 * it fails: each fixture must fail exactly the built-in checks listed, and pass the others.
 */
export const builtinChecks = [
  'enosys-control',
  'kernel-console:stock',
  'patched-kernel-running',
  'taskcount-matches-top',
  'taskcount-matches-proc',
  'callcount-increments',
  'bad-pointer-efault',
  'kernel-console:patched',
] as const;

export type BuiltinCheck = (typeof builtinChecks)[number];

export interface Mistake {
  name: string;
  /** The built-in checks it must fail; every other built-in check must pass. */
  fails: BuiltinCheck[];
  /**
   * Userland programs' statuses, as observed on the real kernel. `pass or fail`: observed both,
   * by scheduling (the program ran and judged; which way depends on what was running when).
   */
  userland: Record<string, UserlandStatus>;
}

type UserlandStatus = 'pass' | 'fail' | 'skip' | 'pass or fail';

const counts: BuiltinCheck[] = ['taskcount-matches-top', 'taskcount-matches-proc'];
const allPass = {
  'callcount_example.c': 'pass',
  'taskcount_example.c': 'pass',
  'callcount_monotonic.c': 'pass',
  'taskcount_sane.c': 'pass',
} as const;

export const mistakes: Record<string, Mistake> = {
  'taskcount-threads': { name: 'taskcount-threads', fails: counts, userland: allPass },
  'taskcount-running-only': {
    name: 'taskcount-running-only',
    fails: counts,
    // taskcount_sane.c's "a forked child is counted" holds only if the child happens to be running:
    // it passed in the paired run of the cold CI run and failed alone (2026-12-01).
    userland: { ...allPass, 'taskcount_sane.c': 'pass or fail' },
  },
  'taskcount-no-kthreads': { name: 'taskcount-no-kthreads', fails: counts, userland: allPass },
  'callcount-per-process': { name: 'callcount-per-process', fails: ['callcount-increments'], userland: allPass },
  'copy-int-into-long': { name: 'copy-int-into-long', fails: ['callcount-increments'], userland: allPass },
  'copy-too-many-bytes': { name: 'copy-too-many-bytes', fails: ['callcount-increments'], userland: allPass },
  'put-user-no-access-ok': { name: 'put-user-no-access-ok', fails: ['bad-pointer-efault'], userland: allPass },
  'deferred-oops': { name: 'deferred-oops', fails: ['kernel-console:patched'], userland: allPass },
  'reset-on-call': {
    name: 'reset-on-call',
    fails: ['bad-pointer-efault'],
    // bad-pointer-efault's taskcount(NULL) resets the machine: the programs after it never run.
    userland: {
      'callcount_example.c': 'skip',
      'taskcount_example.c': 'skip',
      'callcount_monotonic.c': 'skip',
      'taskcount_sane.c': 'skip',
    },
  },
};

/** Two mistakes whose checks are disjoint, in one kernel (one build, one boot for both). */
export function pair(name: string, first: Mistake, second: Mistake): Mistake {
  // A program's status in the pair: the stronger of the two (a skip, then a fail, then a maybe).
  const strength: UserlandStatus[] = ['skip', 'fail', 'pass or fail', 'pass'];
  const files = new Set([...Object.keys(first.userland), ...Object.keys(second.userland)]);
  const userland = Object.fromEntries(
    [...files].map((file) => {
      const statuses = [first.userland[file], second.userland[file]].filter((s) => s !== undefined);
      return [file, strength.find((status) => statuses.includes(status)) ?? 'pass'];
    }),
  );
  return { name, fails: [...first.fails, ...second.fails], userland };
}

/** Runs 6.1 with the fixture and asserts exactly its failures, exit 1, no QEMU left. */
export async function expectMistakeCaught(mistake: Mistake): Promise<RunReport> {
  const patches = join(projectRoot, 'test', 'fixtures', 'patches', mistake.name);
  const { exitCode, report, stdout } = await runCli(['--kernel', '6.1', '--patches', patches]);
  const [run] = report.runs;
  if (!run) throw new Error(`no run in the report:\n${stdout}`);
  const statuses = Object.fromEntries(run.checks.map((check) => [check.name, check.status]));
  const expected = Object.fromEntries(
    builtinChecks.map((name) => [name, mistake.fails.includes(name) ? 'fail' : 'pass']),
  );
  expect(
    Object.fromEntries(builtinChecks.map((name) => [name, statuses[name]])),
    `${mistake.name}:\n${stdout}`,
  ).toEqual(expected);
  for (const [file, status] of Object.entries(mistake.userland)) {
    const observed = statusOf(run, `userland:${file}`);
    const allowed = status === 'pass or fail' ? ['pass', 'fail'] : [status];
    expect(allowed, `${mistake.name}: userland:${file} was ${String(observed)}\n${stdout}`).toContain(observed);
  }
  expect(exitCode, stdout).toBe(1);
  expect(await leftoverQemu()).toBe('');
  return run;
}
