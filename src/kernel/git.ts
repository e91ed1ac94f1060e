import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError, InfrastructureError } from '../errors.ts';
import { runTool } from '../spawn.ts';

/** A git work tree given as --kernel: its top folder and its git dir, both absolute. */
export interface GitRepository {
  top: string;
  gitDir: string;
}

export interface Commit {
  sha: string;
  subject: string;
}

/** A kernel source exported from a git work tree (src/stages/git-plan.ts), and what its patched build adds. */
export interface GitSource {
  /** The work tree's top folder. */
  repository: string;
  /** The commit exported as the source (the stock kernel): A of --commits A..B, else HEAD. */
  base: Commit;
  /** --commits: the commit whose tree the patched build is (B, or each commit of A..B with --each). */
  commit?: Commit;
  /** --dirty: the uncommitted changes as one patch file, applied after the series (kernels without --commits). */
  uncommitted?: string;
  /** Whether this patched build carries the uncommitted changes (--dirty). */
  dirty: boolean;
  /** --worktree: the series is the uncommitted changes, applied as they are (never regenerated). */
  worktree?: boolean;
  /** --commits, --worktree: the `--kernel PATH ...` arguments that build this kernel again. */
  reproduce?: string[];
}

/**
 * Every git command on the user's repository reads it and nothing more: no optional locks (`git
 * status` would otherwise write a refreshed index), no fsmonitor daemon, no lazy fetch of missing
 * objects (a partial clone would write them), and GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE set
 * explicitly, so a stray one in the caller's environment cannot point git elsewhere.
 */
const readOnlyFlags = ['--no-optional-locks', '-c', 'core.fsmonitor=false'];

export interface GitCall {
  /** The index to use instead of the repository's own (the export's private one). */
  index?: string;
  /** The work tree to use instead of the repository's own (the export). */
  workTree?: string;
  /** Exit codes that are answers, not failures (`git diff --no-index` exits 1 when files differ). */
  answers?: number[];
}

/** Runs git on `repo` and returns its stdout as it is; a failure is bad input naming the command. */
export async function git(repo: GitRepository, args: string[], call: GitCall = {}): Promise<string> {
  return (await runGit(repo, args, call)).stdout;
}

async function runGit(
  repo: GitRepository,
  args: string[],
  call: GitCall,
): Promise<{ exitCode: number; stdout: string }> {
  const workTree = call.workTree ?? repo.top;
  const result = await runTool('git', [...readOnlyFlags, ...args], {
    reject: false,
    cwd: workTree,
    stripFinalNewline: false,
    env: {
      GIT_DIR: repo.gitDir,
      GIT_WORK_TREE: workTree,
      GIT_INDEX_FILE: call.index ?? join(repo.gitDir, 'index'),
      GIT_NO_LAZY_FETCH: '1',
      LC_ALL: 'C',
    },
  });
  if (result.exitCode === undefined) throw missingGit();
  if (result.exitCode !== 0 && !(call.answers ?? []).includes(result.exitCode)) {
    throw new BadInputError(
      `git ${args.join(' ')} failed in ${repo.top}: ${result.stderr.trim().split('\n').at(-1) ?? `exit ${result.exitCode}`}`,
      'check that the repository is readable and the commits exist (git log)',
    );
  }
  return { exitCode: result.exitCode, stdout: result.stdout };
}

function missingGit(): InfrastructureError {
  return new InfrastructureError('missing on this host: git, which a git kernel tree needs', 'apt-get install git');
}

/**
 * The git repository whose work tree's top is `path`; undefined for anything else: a plain tree,
 * a folder inside some other repository (a fixture in a project), or a bare repository.
 */
export async function gitRepositoryAt(path: string): Promise<GitRepository | undefined> {
  const dotGit = join(path, '.git');
  if (!existsSync(dotGit)) return undefined;
  // GIT_DIR may name a ".git" file (a linked work tree); git resolves it to the real git dir.
  const result = await runTool('git', [...readOnlyFlags, 'rev-parse', '--absolute-git-dir'], {
    reject: false,
    cwd: path,
    env: { GIT_DIR: dotGit, GIT_WORK_TREE: path, LC_ALL: 'C' },
  });
  if (result.exitCode === undefined) throw missingGit();
  return result.exitCode === 0 ? { top: path, gitDir: result.stdout.trim() } : undefined;
}

/** A revision as a full commit id; bad input when it names no commit. */
export async function resolveCommit(repo: GitRepository, revision: string, what: string): Promise<string> {
  if (revision.startsWith('-')) throw new BadInputError(`${what} "${revision}" is not a revision`, 'give a commit');
  const sha = (
    await git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`], {
      answers: [1],
    })
  ).trim();
  if (!sha)
    throw new BadInputError(`${what}: ${revision} names no commit in ${repo.top}`, 'give a commit of it (git log)');
  return sha;
}

export async function subjectOf(repo: GitRepository, sha: string): Promise<string> {
  return (await git(repo, ['log', '-1', '--no-show-signature', '--format=%s', sha])).trim();
}

/**
 * `--commits A..B` (B defaults to HEAD, as git's `A..` does): the base A and the commits of the
 * range, oldest first. Refused (bad input): another range form, an empty range, an A that B does
 * not descend from (the commits would not apply to A's tree) and any merge commit (a merge is no
 * single patch).
 */
export async function commitRange(
  repo: GitRepository,
  range: string,
  // How the range was given, for the messages (`bisect`: its --good and --bad).
  what = `--commits ${range}`,
): Promise<{ base: Commit; commits: Commit[] }> {
  const at = range.indexOf('..');
  if (at <= 0 || range.includes('...')) {
    throw new BadInputError(
      `${what} is not a range A..B`,
      'give --commits A..B: stock is built from A, the patched kernel from B (A.. means A..HEAD)',
    );
  }
  const from = await resolveCommit(repo, range.slice(0, at), what);
  const to = await resolveCommit(repo, range.slice(at + 2) || 'HEAD', what);
  const ancestor = await runIsAncestor(repo, from, to);
  if (!ancestor) {
    throw new BadInputError(
      `${what}: ${from.slice(0, 12)} is not an ancestor of ${to.slice(0, 12)}, so the commits of the range do not start from its tree`,
      'give a range whose first commit B descends from (git merge-base --is-ancestor A B)',
    );
  }
  const listing = await git(repo, [
    'rev-list',
    '--reverse',
    '--no-commit-header',
    '--format=%H%x09%P%x09%s',
    `${from}..${to}`,
  ]);
  const commits: Commit[] = [];
  for (const line of listing.split('\n').filter(Boolean)) {
    const [sha = '', parents = '', ...subject] = line.split('\t');
    const commit = { sha, subject: subject.join('\t') };
    if (parents.split(' ').filter(Boolean).length > 1) {
      throw new BadInputError(
        `${what}: ${sha.slice(0, 12)} "${commit.subject}" is a merge commit, which is no single patch`,
        'give a range without merges (rebase the branch onto A: git rebase A B), or start the range after the merge',
      );
    }
    commits.push(commit);
  }
  if (commits.length === 0) {
    throw new BadInputError(`${what} holds no commit`, 'give a range A..B where B has commits A lacks');
  }
  return { base: { sha: from, subject: await subjectOf(repo, from) }, commits };
}

async function runIsAncestor(repo: GitRepository, from: string, to: string): Promise<boolean> {
  // `git merge-base --is-ancestor` answers with its exit code: 0 yes, 1 no.
  const { exitCode } = await runGit(repo, ['merge-base', '--is-ancestor', from, to], { answers: [1] });
  return exitCode === 0;
}

/**
 * One commit as a patch (`git format-patch -1 --stdout`: read-only), with plain text diffs that
 * GNU patch applies (no rename or binary sections, fixed a/ b/ prefixes whatever the user's
 * config says). Bad input when the commit changes no text: an empty commit or binary files only.
 */
export async function commitPatch(repo: GitRepository, commit: Commit): Promise<string> {
  const text = await git(repo, [
    'format-patch',
    '-1',
    '--stdout',
    '--no-binary',
    '--no-renames',
    '--no-signature',
    '--no-attach',
    '--no-thread',
    '--no-notes',
    // Whole blob ids: abbreviated ones grow with the repository (an auto gc packs it), and a patch
    // text that changes changes the build's key.
    '--full-index',
    '--src-prefix=a/',
    '--dst-prefix=b/',
    commit.sha,
  ]);
  if (!/^\+\+\+ /m.test(text) || !/^@@ /m.test(text)) {
    throw new BadInputError(
      `commit ${commit.sha.slice(0, 12)} "${commit.subject}" changes no text file (an empty commit, or binary files only)`,
      'drop or squash that commit (git rebase -i), or give a range without it: each commit is applied as one patch',
    );
  }
  return text;
}

/**
 * How reports name a patch of a git tree's series: a commit's (`git format-patch` of it) as
 * `commit <sha12> ("<subject>")`, the uncommitted changes' by their file name.
 */
export function commitOrigin(patch: { name: string; text: string }): string {
  const sha = /^From ([0-9a-f]{40}) /.exec(patch.text)?.[1];
  const subject = /^Subject: \[PATCH\] (.*)$/m.exec(patch.text)?.[1];
  return sha && subject ? `commit ${sha.slice(0, 12)} ("${subject}")` : patch.name;
}

/** What `git status` lists as uncommitted: changed, staged, deleted and untracked (not ignored) files. */
export async function uncommittedFiles(repo: GitRepository): Promise<string[]> {
  const status = await git(repo, ['status', '--porcelain', '--untracked-files=all', '--ignore-submodules=none']);
  return status.split('\n').filter((line) => line.trim() !== '');
}

/**
 * The uncommitted changes as one patch (for --dirty): the work tree against HEAD (staged or not),
 * plus every untracked file that is not ignored, as a new file. Nothing is added to the index or
 * the object store: untracked files are diffed with `git diff --no-index` against /dev/null.
 */
export async function uncommittedPatch(repo: GitRepository): Promise<string> {
  const diffFlags = [
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '--no-renames',
    // As commitPatch: the same changes are the same text, however many objects the repository has.
    '--full-index',
    '--src-prefix=a/',
    '--dst-prefix=b/',
  ];
  const tracked = await git(repo, ['diff', ...diffFlags, 'HEAD', '--']);
  const untracked = (await git(repo, ['ls-files', '--others', '--exclude-standard', '-z'])).split('\0').filter(Boolean);
  const added: string[] = [];
  for (const file of untracked) {
    added.push(await git(repo, ['diff', '--no-index', ...diffFlags, '--', '/dev/null', file], { answers: [1] }));
  }
  return [tracked, ...added].join('');
}
