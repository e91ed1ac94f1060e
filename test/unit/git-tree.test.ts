import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { execa } from 'execa';
import { beforeEach, describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors.ts';
import type { LabEvent } from '../../src/events.ts';
import { exportCommit, exportRoot } from '../../src/kernel/git-export.ts';
import {
  commitOrigin,
  commitPatch,
  commitRange,
  gitRepositoryAt,
  uncommittedPatch,
  type GitRepository,
} from '../../src/kernel/git.ts';
import { seriesPatches } from '../../src/kernel/patches.ts';
import { toJson } from '../../src/report/json.ts';
import { toJunit } from '../../src/report/junit.ts';
import { formatFirstFailingCommit } from '../../src/report/summary.ts';
import { RunFolder } from '../../src/run-folder.ts';
import { emitFirstFailingCommit } from '../../src/stages/commit-verdict.ts';
import { kernelArguments } from '../../src/stages/git-plan.ts';
import { checkPatchSeries } from '../../src/stages/patch-check.ts';
import { planRuns } from '../../src/stages/plan.ts';
import { runKernel } from '../../src/stages/run-kernel.ts';
import { useFakeBuild, type FakeBuild } from './support/fake-build.ts';
import { callcountPatch, taskcountPatch } from './support/fake-kernel.ts';
import { FakeMachine, fakeBackend } from './support/fake-machine.ts';
import { testOptions } from './support/options.ts';
import { useTempDirs } from './support/temp.ts';
import { thrown } from './support/thrown.ts';

// A kernel developer's git tree as the kernel: small repositories made here from the fake kernel
// tree of the unit suite's fake builds (a fake `make`, no compiler, no VM).
const tempDir = useTempDirs('syscall-lab-git-');
const fakeBuild = useFakeBuild(tempDir);
let fake: FakeBuild;
let repo: string;

async function gitIn(dir: string, ...args: string[]): Promise<string> {
  const result = await execa('git', args, {
    cwd: dir,
    env: {
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.org',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.org',
    },
  });
  return result.stdout.trim();
}

/** Applies a patch to the work tree and commits everything as `subject`; answers the commit. */
async function commitPatchText(dir: string, patch: string, subject: string): Promise<string> {
  await execa('patch', ['-p1', '--batch', '--quiet'], { cwd: dir, input: patch });
  await gitIn(dir, 'add', '-A');
  await gitIn(dir, 'commit', '-q', '-m', subject);
  return gitIn(dir, 'rev-parse', 'HEAD');
}

/** base (the fake 6.1 tree), then "add callcount", then "add taskcount". */
async function makeRepository(dir: string): Promise<{ base: string; callcount: string; taskcount: string }> {
  await gitIn(dir, 'init', '-q', '-b', 'main');
  await gitIn(dir, 'add', '-A');
  await gitIn(dir, 'commit', '-q', '-m', 'Linux 6.1');
  const base = await gitIn(dir, 'rev-parse', 'HEAD');
  const callcount = await commitPatchText(dir, callcountPatch, 'add callcount');
  const taskcount = await commitPatchText(dir, taskcountPatch, 'add taskcount');
  return { base, callcount, taskcount };
}

beforeEach(() => {
  fake = fakeBuild();
  repo = fake.tree;
});

const options = (extra: Record<string, unknown> = {}) => testOptions({ kernel: [repo], ...extra });

async function repository(): Promise<GitRepository> {
  const found = await gitRepositoryAt(repo);
  if (!found) throw new Error(`${repo} is no git work tree`);
  return found;
}

function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Every file under `dir` (the .git folder included) as path -> sha256 of its bytes. */
function fileHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else out[relative(dir, path)] = sha256(readFileSync(path));
    }
  };
  walk(dir);
  return out;
}

describe('the options of a git kernel tree', () => {
  it('refuses --each without --commits, several kernels and --patches with --commits (exit 2)', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ each: true }, /--each needs --commits/],
      [{ commits: 'a..b', kernel: [fake.tree, '6.1'] }, /applies to one git kernel tree, but 2 --kernel/],
      [
        { commits: 'a..b', patches: fake.patches },
        /--patches .*: with --commits the commits of the range are the patches/,
      ],
      [
        { commits: 'a..b', kernel: [`${fake.tree}=${fake.patches}`] },
        /with --commits the commits of the range are the patches/,
      ],
      [
        { worktree: true, commits: 'a..b' },
        /--worktree builds the work tree on HEAD, and --commits a\.\.b builds a range/,
      ],
      [{ worktree: true, kernel: [fake.tree, '6.1'] }, /--worktree applies to one git kernel tree, but 2 --kernel/],
      [{ worktree: true, patches: fake.patches }, /with --worktree the uncommitted changes of the tree are the series/],
    ];
    for (const [extra, message] of cases) {
      const error = thrown(() => options(extra));
      expect(error, JSON.stringify(extra)).toBeInstanceOf(BadInputError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('refuses --commits on a folder that is not the top of a git work tree, and --dirty on a plain tree', async () => {
    await expect(planRuns(options({ commits: 'HEAD~1..HEAD' }))).rejects.toThrow(/needs a git work tree/);
    await expect(planRuns(options({ worktree: true }))).rejects.toThrow(/--worktree needs a git work tree/);
    await expect(planRuns(options({ dirty: true, patches: fake.patches }))).rejects.toThrow(
      /--dirty applies to a git work tree/,
    );
  });
});

describe('commitOrigin', () => {
  it("names a commit's patch by its sha and subject (a decoded oops says which commit wrote the line), other patches by file", async () => {
    const commits = await makeRepository(repo);
    const [plan] = await planRuns(options({ commits: `${commits.base}..${commits.taskcount}`, dirty: false }));
    const [first] = seriesPatches(plan!.patchSet);
    expect(commitOrigin(first!)).toBe(`commit ${commits.callcount.slice(0, 12)} ("add callcount")`);
    expect(commitOrigin({ name: 'uncommitted-changes.patch', text: callcountPatch })).toBe('uncommitted-changes.patch');
  });
});

describe('patch texts of a git tree', () => {
  it('name blobs in full: the same change is the same text however short git abbreviates ids (an auto gc changes that)', async () => {
    const commits = await makeRepository(repo);
    writeFileSync(join(repo, 'kernel/sched.c'), 'void schedule(void) { /* wip */ }\n');
    const texts = async () => {
      const found = await repository();
      return [
        await commitPatch(found, { sha: commits.callcount, subject: 'add callcount' }),
        await uncommittedPatch(found),
      ];
    };
    const before = await texts();
    expect(before[0]).toMatch(/^index [0-9a-f]{40}\.\.[0-9a-f]{40} /m);
    expect(before[1]).toMatch(/^index [0-9a-f]{40}\.\.[0-9a-f]{40} /m);
    await gitIn(repo, 'config', 'core.abbrev', '16');
    expect(await texts()).toEqual(before);
  });
});

describe('commitRange', () => {
  it('lists the commits of A..B oldest first with their subjects; A.. means A..HEAD', async () => {
    const commits = await makeRepository(repo);
    const range = await commitRange(await repository(), `${commits.base}..main`);
    expect(range.base).toEqual({ sha: commits.base, subject: 'Linux 6.1' });
    expect(range.commits).toEqual([
      { sha: commits.callcount, subject: 'add callcount' },
      { sha: commits.taskcount, subject: 'add taskcount' },
    ]);
    expect((await commitRange(await repository(), 'HEAD~1..')).commits.map((c) => c.subject)).toEqual([
      'add taskcount',
    ]);
  });

  it('refuses another range form, an empty range, an unknown commit and a base B does not descend from', async () => {
    const commits = await makeRepository(repo);
    const git = await repository();
    await expect(commitRange(git, 'HEAD')).rejects.toThrow(/is not a range A\.\.B/);
    await expect(commitRange(git, 'HEAD~2...HEAD')).rejects.toThrow(/is not a range A\.\.B/);
    await expect(commitRange(git, 'HEAD..HEAD')).rejects.toThrow(/holds no commit/);
    await expect(commitRange(git, 'nosuch..HEAD')).rejects.toThrow(/nosuch names no commit/);
    await gitIn(repo, 'checkout', '-q', '-b', 'side', commits.base);
    writeFileSync(join(repo, 'kernel/side.c'), 'int side;\n');
    await gitIn(repo, 'add', '-A');
    await gitIn(repo, 'commit', '-q', '-m', 'side work');
    await expect(commitRange(git, `side..${commits.taskcount}`)).rejects.toThrow(/is not an ancestor of/);
  });

  it('refuses a merge commit in the range, naming it (bad input)', async () => {
    const commits = await makeRepository(repo);
    await gitIn(repo, 'checkout', '-q', '-b', 'side', commits.callcount);
    writeFileSync(join(repo, 'kernel/side.c'), 'int side;\n');
    await gitIn(repo, 'add', '-A');
    await gitIn(repo, 'commit', '-q', '-m', 'side work');
    await gitIn(repo, 'checkout', '-q', 'main');
    await gitIn(repo, 'merge', '-q', '--no-ff', '-m', 'merge side', 'side');
    const error = await planRuns(options({ commits: `${commits.base}..main` })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toMatch(/"merge side" is a merge commit/);
    expect(existsSync(join(process.env.SYSCALL_LAB_CACHE ?? '', 'git-exports'))).toBe(false);
  });
});

describe('planRuns with a git kernel tree', () => {
  it('--commits A..B: stock is the export of A keyed by its tree id, patched is every commit as one patch', async () => {
    const commits = await makeRepository(repo);
    const [plan, ...rest] = await planRuns(options({ commits: `${commits.base}..${commits.taskcount}` }));
    expect(rest).toEqual([]);
    const tree = await gitIn(repo, 'rev-parse', `${commits.base}^{tree}`);
    expect(plan?.source.identity).toBe(`git-tree:${tree}`);
    expect(plan?.source.path).toBe(join(exportRoot(await repository()), 'tree'));
    expect(plan?.source.requested).toBe(`${repo}@${commits.taskcount.slice(0, 12)}`);
    expect(plan?.source.git?.commit).toEqual({ sha: commits.taskcount, subject: 'add taskcount' });
    expect(plan?.patchSet.files.map((file) => basename(file))).toEqual([
      '0001-add-callcount.patch',
      '0002-add-taskcount.patch',
    ]);
    expect(readFileSync(plan?.patchSet.files[0] ?? '', 'utf8')).toMatch(/^Subject: \[PATCH\] add callcount$/m);
    expect(plan?.builds.stock.plan.patches).toEqual([]);
    expect(kernelArguments(plan!)).toEqual(['--kernel', repo, '--commits', `${commits.base}..${commits.taskcount}`]);
    // The export holds A's tree: the commits are not in it.
    expect(readFileSync(join(plan?.source.path ?? '', 'arch/x86/entry/syscalls/syscall_64.tbl'), 'utf8')).not.toMatch(
      /callcount/,
    );
    // The commits are applied as committed (no regeneration), and the series applies to the export.
    expect(plan?.notices.join('\n')).not.toMatch(/regenerated/);
    await checkPatchSeries([plan!]);
  });

  it('a committed copy of the same content has the same stock key; a tree without --commits is its HEAD', async () => {
    const commits = await makeRepository(repo);
    const [viaRange] = await planRuns(options({ commits: `${commits.base}..${commits.callcount}` }));
    // Another repository whose HEAD holds the same files as the base commit (its own history).
    const copy = join(tempDir(), 'copy');
    await execa('mkdir', [copy]);
    await execa('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'sh', repo, commits.base, copy]);
    await gitIn(copy, 'init', '-q');
    await gitIn(copy, 'add', '-A');
    await gitIn(copy, 'commit', '-q', '-m', 'my copy');
    const [head] = await planRuns(testOptions({ kernel: [copy], patches: fake.patches }));
    expect(head?.source.git).toMatchObject({ repository: copy, dirty: false });
    expect(head?.source.git?.commit).toBeUndefined();
    expect(head?.source.identity).toBe(viaRange?.source.identity);
    const [checkedRange] = await checkPatchSeries([viaRange!]);
    const [checkedHead] = await checkPatchSeries([head!]);
    expect(checkedHead?.keys.stock).toBe(checkedRange?.keys.stock);
  });

  it.each([
    ['the tarball first', false],
    ['the git tree first', true],
  ])(
    'a tarball and a commit of the same files share the stock key (%s); other content does not',
    async (_order, gitFirst) => {
      const commits = await makeRepository(repo);
      /** A tarball of the base commit's files under linux-6.1/, plus `readme` as a README when given. */
      const tarballOf = async (name: string, readme?: string): Promise<string> => {
        const parent = join(tempDir(), name);
        const top = join(parent, 'linux-6.1');
        await execa('mkdir', ['-p', top]);
        await execa('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'sh', repo, commits.base, top]);
        if (readme !== undefined) writeFileSync(join(top, 'README'), readme);
        const tarball = join(parent, 'linux-6.1.tar.xz');
        await execa('tar', ['-cJf', tarball, '-C', parent, 'linux-6.1']);
        return tarball;
      };
      const same = await tarballOf('same');
      const other = await tarballOf('other', 'a local change\n');
      const planTarball = async (tarball: string) =>
        (await planRuns(testOptions({ kernel: [tarball], patches: fake.patches })))[0];
      const planGit = async () => (await planRuns(options({ commits: `${commits.base}..${commits.taskcount}` })))[0];
      const [first, second] = gitFirst
        ? [await planGit(), await planTarball(same)]
        : [await planTarball(same), await planGit()];
      expect(second?.source.identity).toBe(first?.source.identity);
      expect(first?.source.identity).toMatch(gitFirst ? /^git-tree:/ : /^sha256:/);
      const [checkedFirst, checkedSecond] = await checkPatchSeries([first!, second!]);
      expect(checkedSecond?.keys.stock).toBe(checkedFirst?.keys.stock);
      const otherPlan = await planTarball(other);
      expect(otherPlan?.source.identity).toBe(`sha256:${sha256(readFileSync(other))}`);
    },
  );

  it('--worktree: stock is HEAD, the uncommitted changes (untracked files too) are the series, applied as they are', async () => {
    const commits = await makeRepository(repo);
    await expect(planRuns(options({ worktree: true }))).rejects.toThrow(
      /has no uncommitted changes: its work tree is its HEAD, the stock kernel/,
    );
    const [committed] = await planRuns(options({ commits: `${commits.base}..${commits.taskcount}` }));
    // The work tree: taskcount's commit undone by hand, and a new file.
    await execa('patch', ['-R', '-p1', '--batch', '--quiet'], { cwd: repo, input: taskcountPatch });
    writeFileSync(join(repo, 'kernel/new.c'), 'int fresh;\n');
    const [plan] = await planRuns(options({ worktree: true }));
    const head = await gitIn(repo, 'rev-parse', 'HEAD^{tree}');
    expect(plan?.source.identity).toBe(`git-tree:${head}`);
    expect(plan?.source.identity).not.toBe(committed?.source.identity);
    expect(plan?.patchSet.files.map((file) => basename(file))).toEqual(['0001-uncommitted-changes.patch']);
    const text = readFileSync(plan?.patchSet.files[0] ?? '', 'utf8');
    expect(text).toMatch(/^\+\+\+ b\/kernel\/new\.c$/m);
    expect(text).toMatch(/^-.*taskcount/m);
    expect(plan?.notices.join('\n')).not.toMatch(/regenerated/);
    expect(plan?.source.git).toMatchObject({ worktree: true, dirty: true, base: { sha: commits.taskcount } });
    expect(kernelArguments(plan!)).toEqual(['--kernel', repo, '--worktree']);
    // The series applies to the export of HEAD.
    await checkPatchSeries([plan!]);
  });

  it('--each: one plan per commit, its patch folder growing by one commit each time', async () => {
    const commits = await makeRepository(repo);
    const plans = await planRuns(options({ commits: `${commits.base}..${commits.taskcount}`, each: true }));
    expect(plans.map((plan) => plan.patchSet.files.map((file) => basename(file)))).toEqual([
      ['0001-add-callcount.patch'],
      ['0001-add-callcount.patch', '0002-add-taskcount.patch'],
    ]);
    expect(plans.map((plan) => plan.source.git?.commit?.subject)).toEqual(['add callcount', 'add taskcount']);
    expect(new Set(plans.map((plan) => plan.source.identity)).size).toBe(1);
    expect(new Set(plans.map((plan) => plan.builds.patched.plan.localversion)).size).toBe(2);
  });

  it('refuses uncommitted changes, with --commits or without; --dirty adds them (untracked files too) to the last build', async () => {
    const commits = await makeRepository(repo);
    writeFileSync(join(repo, 'kernel/sched.c'), 'void schedule(void) { /* wip */ }\n');
    writeFileSync(join(repo, 'kernel/new.c'), 'int fresh;\n');
    const range = `${commits.base}..${commits.taskcount}`;
    await expect(planRuns(options({ commits: range }))).rejects.toThrow(
      /has uncommitted changes \(2 files: M kernel\/sched\.c/,
    );
    await expect(planRuns(options({ patches: fake.patches }))).rejects.toThrow(/has uncommitted changes/);

    const plans = await planRuns(options({ commits: range, each: true, dirty: true }));
    expect(plans.map((plan) => plan.patchSet.files.map((file) => basename(file)).at(-1))).toEqual([
      '0001-add-callcount.patch',
      '0003-uncommitted-changes.patch',
    ]);
    expect(plans.map((plan) => plan.source.git?.dirty)).toEqual([false, true]);
    const uncommitted = readFileSync(plans[1]?.patchSet.files.at(-1) ?? '', 'utf8');
    expect(uncommitted).toMatch(/^\+void schedule\(void\) \{ \/\* wip \*\/ \}$/m);
    expect(uncommitted).toMatch(/^\+\+\+ b\/kernel\/new\.c$/m);
    await checkPatchSeries(plans);
  });
});

describe('the export', () => {
  it('is updated in place: changed files rewritten, removed ones deleted, unchanged ones keep their mtime', async () => {
    const commits = await makeRepository(repo);
    writeFileSync(join(repo, 'kernel/gone.c'), 'int gone;\n');
    await gitIn(repo, 'add', '-A');
    await gitIn(repo, 'commit', '-q', '-m', 'add gone.c');
    const git = await repository();
    const first = await exportCommit(git, 'HEAD', 60);
    const table = join(first.dir, 'arch/x86/entry/syscalls/syscall_64.tbl');
    const unchanged = join(first.dir, 'kernel/sched.c');
    const before = statSync(unchanged).mtimeMs;
    expect(readFileSync(table, 'utf8')).toMatch(/taskcount/);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await exportCommit(git, commits.base, 60);
    expect(second.dir).toBe(first.dir);
    expect(readFileSync(table, 'utf8')).not.toMatch(/callcount/);
    expect(existsSync(join(first.dir, 'kernel/gone.c'))).toBe(false);
    expect(existsSync(join(first.dir, 'mysyscalls/callcount.c'))).toBe(false);
    expect(statSync(unchanged).mtimeMs).toBe(before);
    expect(existsSync(join(first.dir, '.git'))).toBe(false);
  });

  it("never changes the user's repository: work tree, index, HEAD, refs, stash, config and objects stay byte-identical", async () => {
    const commits = await makeRepository(repo);
    // A stash, a staged change, an unstaged one and an untracked file.
    writeFileSync(join(repo, 'kernel/sched.c'), 'void schedule(void) { /* stashed */ }\n');
    await gitIn(repo, 'stash', '-q');
    writeFileSync(join(repo, 'kernel/sched.c'), 'void schedule(void) { /* staged */ }\n');
    await gitIn(repo, 'add', 'kernel/sched.c');
    writeFileSync(join(repo, 'include/linux/syscalls.h'), '/* unstaged */\n');
    writeFileSync(join(repo, 'kernel/untracked.c'), 'int untracked;\n');
    const state = async () => ({
      files: fileHashes(repo),
      mtimes: statSync(join(repo, '.git/index')).mtimeMs,
      refs: await gitIn(repo, 'for-each-ref'),
      head: readFileSync(join(repo, '.git/HEAD'), 'utf8'),
      stash: await gitIn(repo, 'stash', 'list'),
      config: sha256(readFileSync(join(repo, '.git/config'))),
    });
    const before = await state();
    const plans = await planRuns(
      options({ commits: `${commits.base}..${commits.taskcount}`, each: true, dirty: true }),
    );
    await checkPatchSeries(plans);
    await planRuns(options({ patches: fake.patches, dirty: true }));
    expect(await state()).toEqual(before);
  });
});

describe('run --each: a verdict per commit', () => {
  it('runs each commit through runKernel (stock built once), a row per commit in the reports, and names the first failing one', async () => {
    const commits = await makeRepository(repo);
    const opts = options({ commits: `${commits.base}..${commits.taskcount}`, each: true });
    const plans = await checkPatchSeries(await planRuns(opts));
    // The second commit's kernel says it is another release: its patched-kernel-running check fails.
    const broken = plans[1]?.builds.patched.plan.localversion ?? '';
    let machine = new FakeMachine();
    const answer = (command: string) =>
      command === 'uname -r' && machine.kernel.endsWith(broken) ? { stdout: '6.1.0-something-else\n' } : undefined;
    const events: LabEvent[] = [];
    const reports = [];
    const exitCodes: number[] = [];
    for (const [index, plan] of plans.entries()) {
      machine = new FakeMachine(answer);
      const outcome = await runKernel(plan, {
        options: opts,
        folder: RunFolder.create(index),
        accel: 'tcg',
        emit: (event) => events.push(event),
        reproduce: 'r',
        keep: false,
        backend: fakeBackend(machine),
      });
      reports.push(outcome.report);
      exitCodes.push(outcome.exitCode);
    }
    expect(exitCodes).toEqual([0, 1]);
    expect(readFileSync(join(fake.state, 'stock.count'), 'utf8').trim()).toBe('1');
    expect(reports.map((report) => report.kernel.git)).toEqual([
      { repository: repo, base: commits.base, commit: commits.callcount, subject: 'add callcount', dirty: false },
      { repository: repo, base: commits.base, commit: commits.taskcount, subject: 'add taskcount', dirty: false },
    ]);
    const json = JSON.parse(toJson(reports)) as { runs: { kernel: { git: { subject: string } } }[] };
    expect(json.runs.map((run) => run.kernel.git.subject)).toEqual(['add callcount', 'add taskcount']);
    const junit = toJunit(reports);
    for (const commit of [commits.callcount, commits.taskcount])
      expect(junit).toContain(`${repo}@${commit.slice(0, 12)}`);

    const verdicts: LabEvent[] = [];
    emitFirstFailingCommit(plans, exitCodes, (event) => verdicts.push(event));
    expect(verdicts).toEqual([
      {
        type: 'first-failing-commit',
        commit: { sha: commits.taskcount, subject: 'add taskcount' },
        judged: 2,
        commits: 2,
      },
    ]);
    const [verdict] = verdicts;
    if (verdict?.type !== 'first-failing-commit') throw new Error('no verdict');
    expect(formatFirstFailingCommit(verdict)).toBe(
      `first failing commit: ${commits.taskcount.slice(0, 12)} add taskcount`,
    );
    expect(formatFirstFailingCommit({ judged: 2, commits: 3 })).toBe(
      'first failing commit: none (2 of 3 commits judged; 1 stopped early or did not run: see their errors)',
    );
  });
});
