import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { dir, type DirectoryResult } from 'tmp-promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchSource, resolveSource } from '../../src/kernel/source.ts';
import { projectRoot } from '../../src/paths.ts';
import { leftoverQemu, runCli, startWatch, statusOf } from '../e2e/helpers.ts';

// `npm run test:git` (not in `npm test`: its patched builds, one per commit, and the debug-info
// build of the unsafe commit are more than a cold CI run has room for). A real 6.1 git tree made
// from Debian's linux-source-6.1, the one every 6.1 run builds: its base commit holds the same
// files as that tarball, so its stock build is the 6.1 stock build already in the cache.

const fixture = (name: string, patch: string): string => join(projectRoot, 'test', 'fixtures', 'patches', name, patch);
const series61 = (patch: string): string => join(projectRoot, 'patches-6.1', patch);
const identity = {
  GIT_AUTHOR_NAME: 'Kernel Developer',
  GIT_AUTHOR_EMAIL: 'dev@example.org',
  GIT_COMMITTER_NAME: 'Kernel Developer',
  GIT_COMMITTER_EMAIL: 'dev@example.org',
};

let work: DirectoryResult;
let tree: string;
const commits: Record<'base' | 'callcount' | 'taskcount' | 'threads' | 'comment' | 'unsafe', string> = {
  base: '',
  callcount: '',
  taskcount: '',
  threads: '',
  comment: '',
  unsafe: '',
};
let before: string;
/** A linked work tree at the base commit, with the 6.1 series as uncommitted changes (--worktree). */
let worktree: string;

async function git(...args: string[]): Promise<string> {
  return (await execa('git', args, { cwd: tree, env: identity })).stdout.trim();
}

/** git that never writes the repository (no index refresh), for looking at it. */
async function look(...args: string[]): Promise<string> {
  return git('--no-optional-locks', ...args);
}

/**
 * Applies `patch` to the work tree and commits everything as `subject`; answers the commit.
 * `--force`: Debian's linux-source tarball keeps its packaging's top-level .gitignore rule `/*`
 * (everything at the top is ignored), so a plain `git add -A` would commit nothing.
 */
async function commit(subject: string, patch?: string): Promise<string> {
  if (patch) await execa('patch', ['-p1', '--batch', '--quiet', '-i', patch], { cwd: tree });
  await git('add', '-A', '--force');
  await git('commit', '-q', '-m', subject);
  return git('rev-parse', 'HEAD');
}

/**
 * What must not change: HEAD, refs, index, stash, config, `git status`, and every file of the
 * work tree (its symlinks' targets too) and of .git, by content.
 */
async function repositoryState(): Promise<string> {
  const gitFiles = await execa('sh', ['-c', 'cd .git && find . -type f -print0 | sort -z | xargs -0 sha256sum'], {
    cwd: tree,
  });
  return JSON.stringify({
    head: await look('rev-parse', 'HEAD'),
    symbolic: await look('symbolic-ref', 'HEAD'),
    refs: await look('for-each-ref'),
    stash: await look('stash', 'list'),
    status: await look('status', '--porcelain', '--untracked-files=all', '--ignored'),
    // Every file and symlink of the work tree as it is on disk now (not as the index says it is).
    worktree: (
      await execa(
        'sh',
        [
          '-c',
          "{ find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 sha256sum; find . -path ./.git -prune -o -type l -printf '%p -> %l\\n' | sort; } | sha256sum",
        ],
        { cwd: tree },
      )
    ).stdout,
    gitFiles: createHash('sha256').update(gitFiles.stdout).digest('hex'),
  });
}

beforeAll(async () => {
  const source = await fetchSource(await resolveSource('6.1'));
  work = await dir({ unsafeCleanup: true, prefix: 'syscall-lab-git-e2e-' });
  tree = join(work.path, 'linux');
  await execa('mkdir', [tree]);
  await execa('tar', ['-xf', source.path ?? '', '-C', tree, '--strip-components=1']);
  await git('init', '-q', '-b', 'main');
  // Loose objects uncompressed: 1.3 GB committed in a minute instead of several. No auto gc: a
  // background gc would change .git while the test compares it.
  await git('config', 'core.looseCompression', '0');
  await git('config', 'gc.auto', '0');
  commits.base = await commit(`Linux ${source.version} (Debian linux-source-6.1)`);
  commits.callcount = await commit('add callcount', series61('0001-callcount.patch'));
  commits.taskcount = await commit('add taskcount', series61('0002-taskcount.patch'));
  // The unsafe commit on a branch of its own (its callcount stores through the user pointer: an oops).
  await git('checkout', '-q', '-b', 'unsafe');
  commits.unsafe = await commit(
    'callcount: write through the user pointer',
    fixture('unsafe-6.1', '0003-callcount-writes-through-user-pointer.patch'),
  );
  await git('checkout', '-q', 'main');
  commits.threads = await commit(
    'taskcount: count threads too',
    fixture('taskcount-threads', '0003-taskcount-threads.patch'),
  );
  const callcount = join(tree, 'mysyscalls', 'callcount.c');
  writeFileSync(callcount, `/* The number of callcount calls since boot. */\n${readFileSync(callcount, 'utf8')}`);
  commits.comment = await commit('callcount: say what it counts');
  worktree = join(work.path, 'linux-wip');
  await git('worktree', 'add', '-q', '--detach', worktree, commits.base);
  for (const patch of ['0001-callcount.patch', '0002-taskcount.patch']) {
    await execa('patch', ['-p1', '--batch', '--quiet', '-i', series61(patch)], { cwd: worktree });
  }
  // The new top-level folder is ignored by that `/*`: marked to be added (as a developer on this
  // tree must), it is an uncommitted change like any other.
  await execa('git', ['add', '--intent-to-add', '--force', 'mysyscalls'], { cwd: worktree });
  before = await repositoryState();
}, 30 * 60_000);

afterAll(async () => {
  await work.cleanup();
});

describe('a real 6.1 git tree', () => {
  it('--each: a verdict per commit, and the commit that breaks taskcount named as the first failing one', async () => {
    const { exitCode, report, stdout } = await runCli([
      '--kernel',
      tree,
      '--commits',
      `${commits.base}..main`,
      '--each',
    ]);
    expect(exitCode, stdout).toBe(1);
    expect(report.runs.map((run) => run.kernel.git?.subject)).toEqual([
      'add callcount',
      'add taskcount',
      'taskcount: count threads too',
      'callcount: say what it counts',
    ]);
    // The stock kernel is the Debian 6.1 tarball's: one content, one stock build.
    const [first, second, threads, comment] = report.runs;
    expect(statusOf(first!, 'callcount-increments')).toBe('pass');
    expect(statusOf(first!, 'taskcount-matches-top')).toBe('skip');
    for (const name of ['callcount-increments', 'taskcount-matches-top', 'taskcount-matches-proc']) {
      expect(statusOf(second!, name), name).toBe('pass');
    }
    for (const run of [threads!, comment!]) {
      expect(statusOf(run, 'taskcount-matches-top')).toBe('fail');
      expect(statusOf(run, 'taskcount-matches-proc')).toBe('fail');
      expect(statusOf(run, 'callcount-increments')).toBe('pass');
    }
    expect(stdout).toContain(`first failing commit: ${commits.threads.slice(0, 12)} taskcount: count threads too`);
    expect(await leftoverQemu()).toBe('');
  });

  it('bisect finds the commit that breaks taskcount, confirmed, from the builds --each left in the cache', async () => {
    const result = await execa(
      'node',
      [
        join(projectRoot, 'bin', 'syscall-lab.mjs'),
        'bisect',
        '--kernel',
        tree,
        '--good',
        commits.base,
        '--bad',
        'main',
      ],
      { reject: false, cwd: projectRoot, stderr: ['pipe', 'inherit'] },
    );
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.stdout).toContain(`first bad commit: ${commits.threads} taskcount: count threads too`);
    expect(result.stdout).toMatch(/FAIL taskcount-matches-(top|proc): /);
    expect(result.stdout).toContain(`parent ${commits.taskcount} add taskcount:`);
    // Every commit was built by --each: bisect builds nothing.
    expect(result.stderr).toMatch(/booting /);
    expect(result.stderr).not.toMatch(/files compiled/);
    expect(await leftoverQemu()).toBe('');
  });

  it("--debug-info: the unsafe commit's oops names the file, line and commit that wrote it", async () => {
    const { exitCode, report, stdout } = await runCli([
      '--kernel',
      tree,
      '--commits',
      `${commits.base}..unsafe`,
      '--debug-info',
    ]);
    expect(exitCode, stdout).toBe(1);
    const check = report.runs[0]!.checks.find((c) => c.name === 'callcount-increments')!;
    expect(check.status).toBe('fail');
    // Which line of callcount.c the RIP is on depends on gcc's line table (see test/debug): a line of
    // the series' own file, written by one of the two commits that wrote callcount.c.
    const writers = [
      `commit ${commits.callcount.slice(0, 12)} \\("add callcount"\\)`,
      `commit ${commits.unsafe.slice(0, 12)} \\("callcount: write through the user pointer"\\)`,
    ].join('|');
    expect(check.details).toMatch(
      new RegExp(
        `RIP: 0010:__x64_sys_callcount\\+0x[0-9a-f]+/0x[0-9a-f]+ {2}at .*\\bmysyscalls/callcount\\.c:\\d+\\b.*\\((?:${writers}), hunk \\d+\\)$`,
        'm',
      ),
    );
    expect(check.details).toMatch(
      /do_syscall_64\+\S+ {2}at arch\/x86\/entry\/common\.c:\d+.*\(not changed by the series\)/,
    );
    expect(await leftoverQemu()).toBe('');
  });

  it('--worktree on a linked work tree: stock is its HEAD (the base), patched is its uncommitted changes', async () => {
    const { exitCode, report, stdout } = await runCli(['--kernel', worktree, '--worktree']);
    expect(exitCode, stdout).toBe(0);
    const run = report.runs[0]!;
    expect(run.kernel.git).toMatchObject({ base: commits.base, dirty: true });
    for (const name of ['enosys-control', 'callcount-increments', 'taskcount-matches-top', 'bad-pointer-efault']) {
      expect(statusOf(run, name), name).toBe('pass');
    }
    expect(stdout).toContain(`syscall-lab run --kernel ${worktree} --worktree`);
    expect(await leftoverQemu()).toBe('');
  });

  it('watch --kernel on the linked work tree: a round on the work tree, one on an edit, none on a change outside the diff', async () => {
    const taskcount = join(worktree, 'mysyscalls', 'taskcount.c');
    const original = readFileSync(taskcount, 'utf8');
    const watch = startWatch(['--kernel', worktree]);
    try {
      // The work tree as --worktree built it above: cached, booted and judged.
      expect(await watch.verdict(1)).toMatch(/^PASS \(6\.1\.\d+-patched-[0-9a-f]{8}: \d+ passed, 0 failed/);
      // An in-tree build's droppings: ignored by git, so not in the diff: no round.
      writeFileSync(join(worktree, 'mysyscalls', 'taskcount.o'), 'not an object\n');
      // Only that file: the tree's symlinks, there before the watch began, are no change.
      await watch.printed(/round 2: 1 files changed \(mysyscalls\/taskcount\.o\), none of what is built or run/);
      // A wrong edit: one process too many.
      expect(original).toContain('unsigned long count = 0;');
      writeFileSync(taskcount, original.replace('unsigned long count = 0;', 'unsigned long count = 1;'));
      expect(await watch.verdict(2)).toMatch(/^FAIL taskcount-matches-top, taskcount-matches-proc \(/);
      expect(`${watch.stdout()}${watch.stderr()}`).toContain(`watching ${worktree} and `);
    } finally {
      expect(await watch.interrupt()).toBe(130);
      writeFileSync(taskcount, original);
      rmSync(join(worktree, 'mysyscalls', 'taskcount.o'), { force: true });
    }
    expect(await leftoverQemu()).toBe('');
  });

  it('the repository is as it was: HEAD, refs, index, stash, config, status, every file', async () => {
    expect(await repositoryState()).toBe(before);
  });
});
