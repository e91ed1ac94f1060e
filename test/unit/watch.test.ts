import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchCommand, type WatchParts } from '../../src/commands/watch.ts';
import type { Options } from '../../src/config.ts';
import { BadInputError } from '../../src/errors.ts';
import type { LabEvent } from '../../src/events.ts';
import { ChangeFeed, type Changes } from '../../src/file-changes.ts';
import type { CheckResult } from '../../src/report/model.ts';
import type { CheckedRun } from '../../src/stages/patch-check.ts';
import type { KernelRunEnvironment, KernelRunOutcome } from '../../src/stages/run-kernel.ts';
import { testOptions } from './support/options.ts';
import { run61 } from './support/sample-runs.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-watch-');
const savedCache = process.env.SYSCALL_LAB_CACHE;
beforeEach(() => {
  process.env.SYSCALL_LAB_CACHE = tempDir();
});
afterEach(() => {
  if (savedCache === undefined) Reflect.deleteProperty(process.env, 'SYSCALL_LAB_CACHE');
  else process.env.SYSCALL_LAB_CACHE = savedCache;
});

/** Changes the test hands out one at a time, as an editor's saves would come. */
class ScriptedChanges implements Changes {
  private waiting: ((files: string[]) => void) | undefined;
  folders: string[] = [];
  save(file: string): void {
    const wake = this.waiting;
    this.waiting = undefined;
    wake?.([file]);
  }
  ready(): Promise<void> {
    return Promise.resolve();
  }
  next(): Promise<string[]> {
    return new Promise((resolve) => (this.waiting = resolve));
  }
  [Symbol.dispose](): void {}
}

const check = (name: string, status: CheckResult['status']): CheckResult => ({
  name,
  status,
  expected: 'e',
  actual: 'a',
  details: '',
});

function setUp() {
  const patches = tempDir();
  const userland = tempDir();
  writeFileSync(join(userland, 'hello.c'), 'int main(void) { return 0; }\n');
  const options = testOptions({ kernel: ['6.1'], patches, userland });
  // The series as given is what is watched, not its regenerated copy in the cache.
  const plan = {
    source: { requested: '6.1' },
    patchSet: { dir: join(tempDir(), 'ported') },
    givenSeries: patches,
  } as unknown as CheckedRun;
  const changes = new ScriptedChanges();
  const events: LabEvent[] = [];
  const stop = new AbortController();
  const rounds: KernelRunEnvironment[] = [];
  let prepared = 0;
  /** What each round's run does, by round number (1-based). */
  const script: ((env: KernelRunEnvironment) => Promise<KernelRunOutcome>)[] = [];
  const parts: WatchParts = {
    prepare: async () => {
      prepared++;
      return [plan];
    },
    runKernel: async (_plan, env) => {
      rounds.push(env);
      const step = script[rounds.length - 1];
      if (!step) throw new Error(`no script for run ${rounds.length}`);
      return step(env);
    },
    changes: (folders) => {
      changes.folders = folders;
      return changes;
    },
    stop: stop.signal,
  };
  const outcome = (checks: CheckResult[], error?: string): KernelRunOutcome => ({
    report: run61({ phases: [], checks, ...(error === undefined ? {} : { error }) }),
    exitCode: error ? 3 : checks.some((c) => c.status === 'fail') ? 1 : 0,
  });
  const verdicts = (): string[] =>
    events.flatMap((event) =>
      event.type === 'verdict'
        ? [`${event.label}: ${event.report.checks.map((c) => `${c.name}=${c.status}`).join(' ')}`]
        : [],
    );
  const emit = (event: LabEvent): void => {
    events.push(event);
  };
  return {
    options,
    patches,
    userland,
    changes,
    events,
    stop,
    rounds,
    script,
    parts,
    outcome,
    verdicts,
    emit,
    prepared: () => prepared,
  };
}

/** Resolves once `condition` holds (polled: the loop runs on its own between the test's steps). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('watch', () => {
  it('stops a build that a newer change made useless, starts again, and prints one verdict per finished round', async () => {
    const t = setUp();
    // Round 1 builds until the change stops it; round 2 passes; round 3 (a later change) fails.
    t.script.push(
      (env) =>
        new Promise((resolve) =>
          env.signal?.addEventListener('abort', () => {
            resolve(t.outcome([], 'the 6.1 patched build was stopped'));
          }),
        ),
      async () => t.outcome([check('taskcount-matches-top', 'pass')]),
      async () => t.outcome([check('taskcount-matches-top', 'fail')]),
    );
    const loop = watchCommand(t.options, t.emit, t.parts);
    await until(() => t.rounds.length === 1);
    expect(t.changes.folders).toEqual([t.patches, t.userland]);
    // Every round builds with keep (its VM stays up until the next round) and the restart signal.
    expect(t.rounds[0]).toMatchObject({ keep: true });
    t.changes.save(join(t.patches, '0001-callcount.patch'));
    await until(() => t.verdicts().length === 1);
    t.changes.save(join(t.patches, '0002-taskcount.patch'));
    await until(() => t.verdicts().length === 2);
    t.stop.abort();
    expect(await loop).toBe(0);
    expect(t.verdicts()).toEqual(['round 2: taskcount-matches-top=pass', 'round 3: taskcount-matches-top=fail']);
    expect(t.events).toContainEqual({
      type: 'info',
      text: `round 1: a newer change came during the build (${join(t.patches, '0001-callcount.patch')}): starting again`,
    });
    // The inputs are planned again (and checked) for every round after a change.
    expect(t.prepared()).toBe(3);
    expect(t.rounds.map((env) => env.signal?.aborted)).toEqual([true, true, false]);
  });

  it('says what is wrong with the inputs after a change, and tries again on the next one', async () => {
    const t = setUp();
    t.script.push(
      async () => t.outcome([check('callcount-increments', 'pass')]),
      async () => t.outcome([check('callcount-increments', 'pass')]),
    );
    let calls = 0;
    const prepare = t.parts.prepare;
    t.parts.prepare = async (options, emit) => {
      calls++;
      if (calls === 2) throw new BadInputError('patch 0001-callcount.patch does not apply', 'rebase it');
      return prepare(options, emit);
    };
    const loop = watchCommand(t.options, t.emit, t.parts);
    await until(() => t.verdicts().length === 1);
    t.changes.save(join(t.patches, '0001-callcount.patch'));
    await until(() => t.events.some((event) => event.type === 'warning'));
    expect(t.rounds).toHaveLength(1);
    t.changes.save(join(t.patches, '0001-callcount.patch'));
    await until(() => t.verdicts().length === 2);
    t.stop.abort();
    await loop;
    expect(t.events).toContainEqual({
      type: 'warning',
      text: 'round 2: patch 0001-callcount.patch does not apply (fix: rebase it)',
    });
    expect(t.verdicts()).toEqual(['round 1: callcount-increments=pass', 'round 3: callcount-increments=pass']);
  });

  it('refuses the Vagrant backend and a matrix (exit 2) before anything is built', async () => {
    const t = setUp();
    await expect(watchCommand({ ...t.options, backend: 'vagrant' }, t.emit, t.parts)).rejects.toThrow(
      /watch runs on the QEMU backend/,
    );
    t.parts.prepare = async () => [{} as CheckedRun, {} as CheckedRun];
    await expect(watchCommand(t.options, t.emit, t.parts)).rejects.toThrow(/watch takes one --kernel/);
    expect(t.rounds).toEqual([]);
  });
});

describe('watch --kernel GIT-TREE', () => {
  async function gitTree(): Promise<string> {
    const tree = tempDir();
    const env = {
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.org',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.org',
    };
    writeFileSync(join(tree, 'Makefile'), 'VERSION = 6\n');
    await execa('git', ['init', '-q'], { cwd: tree });
    await execa('git', ['add', '-A'], { cwd: tree });
    await execa('git', ['commit', '-q', '-m', 'Linux 6.1'], { cwd: tree, env });
    return tree;
  }

  it('watches the tree, plans its work tree, waits while it has no changes, and skips changes that alter nothing built', async () => {
    const t = setUp();
    const tree = await gitTree();
    const options = testOptions({ kernel: [tree], userland: t.userland });
    const planned: Options[] = [];
    /** The series the next plan applies (the uncommitted changes' folder, named by their content). */
    let series = 'diff-1';
    t.parts.prepare = async (prepared) => {
      planned.push(prepared);
      return [{ source: { requested: tree }, patchSet: { dir: series }, givenSeries: series } as unknown as CheckedRun];
    };
    t.script.push(
      async () => t.outcome([check('callcount-increments', 'pass')]),
      async () => t.outcome([check('callcount-increments', 'fail')]),
      async () => t.outcome([check('callcount-increments', 'pass')]),
    );
    const loop = watchCommand(options, t.emit, t.parts);
    await until(() => t.events.some((event) => event.type === 'info' && /no uncommitted changes/.test(event.text)));
    expect(t.changes.folders).toEqual([tree, t.userland]);
    expect(t.events).toContainEqual({
      type: 'info',
      text: `round 1: ${tree} has no uncommitted changes: waiting for one`,
    });
    expect(planned).toEqual([]);
    writeFileSync(join(tree, 'Makefile'), 'VERSION = 6\n# mine\n');
    t.changes.save(join(tree, 'Makefile'));
    await until(() => t.verdicts().length === 1);
    // The work tree is the patched kernel: --worktree, never the default series.
    expect(planned[0]).toMatchObject({ worktree: true, dirty: false, patches: undefined });
    // An in-tree make: the diff is the same, nothing is built again.
    t.changes.save(join(tree, 'kernel', 'sched.o'));
    await until(() => planned.length === 2);
    await until(() => t.events.some((event) => event.type === 'info' && /none of what is built/.test(event.text)));
    series = 'diff-2';
    t.changes.save(join(tree, 'Makefile'));
    await until(() => t.verdicts().length === 2);
    // A program changed: the same kernel, judged again.
    t.changes.save(join(t.userland, 'hello.c'));
    await until(() => t.verdicts().length === 3);
    t.stop.abort();
    expect(await loop).toBe(0);
    expect(t.verdicts()).toEqual([
      'round 2: callcount-increments=pass',
      'round 3: callcount-increments=fail',
      'round 4: callcount-increments=pass',
    ]);
    expect(t.events).toContainEqual({
      type: 'info',
      text: 'round 3: 1 files changed (kernel/sched.o), none of what is built or run',
    });
  });

  it('with --patches the series comes first and the uncommitted changes after it (--dirty); --commits is refused', async () => {
    const t = setUp();
    const tree = await gitTree();
    writeFileSync(join(tree, 'Makefile'), 'VERSION = 6\n# mine\n');
    const planned: Options[] = [];
    const prepare = t.parts.prepare;
    t.parts.prepare = async (prepared, emit) => {
      planned.push(prepared);
      return prepare(prepared, emit);
    };
    t.script.push(async () => t.outcome([check('callcount-increments', 'pass')]));
    const loop = watchCommand(
      testOptions({ kernel: [tree], patches: t.patches, userland: t.userland }),
      t.emit,
      t.parts,
    );
    await until(() => t.verdicts().length === 1);
    expect(t.changes.folders).toEqual([tree, t.patches, t.userland]);
    expect(planned[0]).toMatchObject({ worktree: false, dirty: true, patches: t.patches });
    t.stop.abort();
    await loop;
    await expect(
      watchCommand(testOptions({ kernel: [tree], commits: 'HEAD~1..HEAD' }), t.emit, t.parts),
    ).rejects.toThrow(/watch builds the work tree of .*, and --commits HEAD~1\.\.HEAD a range of commits/);
  });
});

describe('ChangeFeed', () => {
  it('gives the files saved, once they were quiet for a while, without editor droppings', async () => {
    const folder = tempDir();
    mkdirSync(join(folder, 'sub'));
    using feed = new ChangeFeed([folder], 100);
    await feed.ready();
    const next = feed.next();
    writeFileSync(join(folder, '.0001.patch.swp'), 'x');
    writeFileSync(join(folder, 'sub', 'a.c'), 'one');
    writeFileSync(join(folder, 'sub', 'a.c'), 'two');
    writeFileSync(join(folder, 'b.patch~'), 'x');
    writeFileSync(join(folder, 'b.patch'), 'x');
    expect(await next).toEqual([join(folder, 'b.patch'), join(folder, 'sub', 'a.c')]);
  });

  it('keeps changes made while nobody waits, for the next call', async () => {
    const folder = tempDir();
    using feed = new ChangeFeed([folder], 50);
    await feed.ready();
    writeFileSync(join(folder, 'late.c'), 'x');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await feed.next()).toEqual([join(folder, 'late.c')]);
  });

  // A kernel tree has symlinks (Documentation/Changes, arm's dts aliases): chokidar reported all 56
  // of 6.1's as changed after it was ready, a round's worth of changes nobody made (test:git).
  it('says nothing of the symlinks that were there before it started', async () => {
    const folder = tempDir();
    mkdirSync(join(folder, 'Documentation', 'process'), { recursive: true });
    writeFileSync(join(folder, 'Documentation', 'process', 'changes.rst'), 'x');
    symlinkSync('process/changes.rst', join(folder, 'Documentation', 'Changes'));
    symlinkSync('nowhere', join(folder, 'dangling'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    using feed = new ChangeFeed([folder], 50);
    await feed.ready();
    await new Promise((resolve) => setTimeout(resolve, 300));
    writeFileSync(join(folder, 'saved.c'), 'x');
    expect(await feed.next()).toEqual([join(folder, 'saved.c')]);
    symlinkSync('saved.c', join(folder, 'new-link'));
    expect(await feed.next()).toEqual([join(folder, 'new-link')]);
  });

  it("sees files in folders made after it started, never git's own folder", async () => {
    const folder = tempDir();
    mkdirSync(join(folder, '.git', 'refs'), { recursive: true });
    using feed = new ChangeFeed([folder], 50);
    await feed.ready();
    writeFileSync(join(folder, '.git', 'index'), 'x');
    writeFileSync(join(folder, '.git', 'refs', 'HEAD'), 'x');
    mkdirSync(join(folder, 'mysyscalls'));
    expect(await feed.next()).toEqual([join(folder, 'mysyscalls')]);
    writeFileSync(join(folder, '.git', 'HEAD'), 'x');
    writeFileSync(join(folder, 'mysyscalls', 'callcount.c'), 'x');
    expect(await feed.next()).toEqual([join(folder, 'mysyscalls', 'callcount.c')]);
  });
});
