import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Options } from '../config.ts';
import { BadInputError } from '../errors.ts';
import { cache, publish } from '../kernel/cache.ts';
import { gitTreeIdentity } from '../kernel/content-identity.ts';
import { exportCommit } from '../kernel/git-export.ts';
import {
  commitPatch,
  commitRange,
  gitRepositoryAt,
  resolveCommit,
  subjectOf,
  uncommittedFiles,
  uncommittedPatch,
  type Commit,
  type GitRepository,
  type GitSource,
} from '../kernel/git.ts';
import { readPatchSet, type PatchSet } from '../kernel/patches.ts';
import { resolveSource, type KernelSource } from '../kernel/source.ts';
import type { PlannedRun } from './plan.ts';
import type { ChosenSeries } from './series.ts';

// A kernel developer's git tree as the kernel (--kernel TREE [--commits A..B [--each]] [--dirty]).
// The repository is only read: each source is an export of a commit in the cache
// (src/kernel/git-export.ts), each commit a patch file made by `git format-patch`, so that
// upgrade-kernel.sh builds and patches it as any other tree and series.

/** A kernel of the run with the series it applies, as planRuns reads them. */
export interface KernelWithSeries {
  source: KernelSource;
  own: string | undefined;
  series: { chosen: ChosenSeries; given: PatchSet };
}

/** A named patch text. */
interface NamedPatch {
  name: string;
  text: string;
}

const uncommittedName = 'uncommitted-changes.patch';

/** The git repository whose work tree's top is `kernel`, if it is a folder and one. */
export async function repositoryOf(kernel: string): Promise<GitRepository | undefined> {
  if (!existsSync(kernel) || !statSync(kernel).isDirectory()) return undefined;
  return gitRepositoryAt(realpathSync(kernel));
}

/** The repository of `kernel`, which `flag` needs to be a git work tree's top. */
async function requiredRepository(kernel: string, flag: string): Promise<GitRepository> {
  const repo = await repositoryOf(kernel);
  if (!repo) {
    throw new BadInputError(
      `${flag} needs a git work tree, and ${kernel} is not the top of one`,
      'give --kernel the top folder of your git kernel tree (where .git is)',
    );
  }
  return repo;
}

/** HEAD of `kernel`'s repository, with its subject. */
async function headOf(repo: GitRepository, kernel: string): Promise<Commit> {
  const sha = await resolveCommit(repo, 'HEAD', `--kernel ${kernel}`);
  return { sha, subject: await subjectOf(repo, sha) };
}

/**
 * `--kernel PATH` without --commits: a git work tree's HEAD, exported (its uncommitted changes
 * refused, or with --dirty kept as one patch for withUncommitted); any other kernel as
 * resolveSource has it.
 */
export async function resolveKernel(kernel: string, options: Options): Promise<KernelSource> {
  const repo = await repositoryOf(kernel);
  if (!repo) {
    if (options.dirty && options.kernel.length === 1) {
      throw new BadInputError(
        `--dirty applies to a git work tree, and ${kernel} is not the top of one`,
        'drop --dirty, or give --kernel the top folder of your git kernel tree',
      );
    }
    return resolveSource(kernel, options.sha256);
  }
  if (options.sha256)
    throw new BadInputError(`--sha256 applies to a tarball, not to the tree ${kernel}`, 'drop --sha256');
  const base = await headOf(repo, kernel);
  const uncommitted = await uncommittedChanges(repo, kernel, options.dirty);
  const git: GitSource = {
    repository: repo.top,
    base,
    dirty: uncommitted !== undefined,
    ...(uncommitted && { uncommitted: writeUncommitted(uncommitted) }),
  };
  return exportedSource(kernel, repo, git, options.lockTimeout);
}

/**
 * `--kernel TREE --commits A..B`: stock is A's tree; the patched build is B's (A's tree plus the
 * range's commits, one patch each), or with --each one build per commit (commits 1..N for the Nth).
 * --dirty adds the uncommitted changes to the last build. Everything refusable (the range, merges,
 * a commit without text changes, uncommitted changes) is refused before the export is touched.
 */
export async function commitKernels(options: Options): Promise<KernelWithSeries[]> {
  const [kernel = ''] = options.kernel;
  const range = options.commits ?? '';
  const repo = await requiredRepository(kernel, `--commits ${range}`);
  const { base, commits } = await commitRange(repo, range);
  const patches: NamedPatch[] = [];
  for (const commit of commits) patches.push({ name: patchName(commit), text: await commitPatch(repo, commit) });
  const uncommitted = await uncommittedChanges(repo, kernel, options.dirty);
  const source = await exportedSource(kernel, repo, { repository: repo.top, base, dirty: false }, options.lockTimeout);
  const ends = options.each ? commits.map((_, index) => index + 1) : [commits.length];
  const kernels: KernelWithSeries[] = [];
  for (const end of ends) {
    const commit = commits[end - 1] as Commit;
    const dirty = end === commits.length && uncommitted !== undefined;
    const dir = seriesFolder([
      ...patches.slice(0, end),
      ...(dirty ? [{ name: uncommittedName, text: uncommitted }] : []),
    ]);
    const reproduce = ['--kernel', kernel, '--commits', `${base.sha}..${commit.sha}`, ...(dirty ? ['--dirty'] : [])];
    kernels.push({
      source: {
        ...source,
        requested: `${kernel}@${commit.sha.slice(0, 12)}`,
        git: { repository: repo.top, base, commit, dirty, reproduce },
      },
      own: undefined,
      series: { chosen: { dir }, given: await readPatchSet(dir) },
    });
  }
  return kernels;
}

/**
 * `--kernel TREE --worktree` (and `watch --kernel TREE`): stock is HEAD's tree, the patched build
 * is the work tree: its uncommitted changes are the series, one patch applied as it is.
 */
export async function worktreeKernel(options: Options): Promise<KernelWithSeries> {
  const [kernel = ''] = options.kernel;
  const repo = await requiredRepository(kernel, '--worktree');
  const base = await headOf(repo, kernel);
  const uncommitted = await uncommittedChanges(repo, kernel, true);
  if (uncommitted === undefined) {
    throw new BadInputError(
      `${kernel} has no uncommitted changes: its work tree is its HEAD, the stock kernel`,
      'change the tree first (watch builds it on the first saved change), or use --commits A..B for committed work',
    );
  }
  const source = await exportedSource(kernel, repo, { repository: repo.top, base, dirty: false }, options.lockTimeout);
  const dir = seriesFolder([{ name: uncommittedName, text: uncommitted }]);
  return {
    source: {
      ...source,
      git: { repository: repo.top, base, dirty: true, worktree: true, reproduce: ['--kernel', kernel, '--worktree'] },
    },
    own: undefined,
    series: { chosen: { dir }, given: await readPatchSet(dir) },
  };
}

/** The series with the uncommitted changes of a git kernel (--dirty, without --commits) after it. */
export async function withUncommitted(source: KernelSource, series: PatchSet): Promise<PatchSet> {
  const uncommitted = source.git?.uncommitted;
  if (!uncommitted) return series;
  const patches = series.files.map((file) => ({ name: basename(file), text: readFileSync(file, 'utf8') }));
  const dir = seriesFolder([...patches, { name: uncommittedName, text: readFileSync(uncommitted, 'utf8') }]);
  return readPatchSet(dir);
}

/** The `--kernel ...` arguments that run a planned kernel again (run.ts's reproduce line). */
export function kernelArguments(plan: PlannedRun): string[] {
  const git = plan.source.git;
  if (git?.reproduce) return git.reproduce;
  // With --dirty the series applied holds the uncommitted changes: the series as given, and --dirty.
  if (git?.dirty) return ['--kernel', plan.source.requested, '--patches', plan.givenSeries, '--dirty'];
  return ['--kernel', plan.source.requested, '--patches', plan.patchSet.dir];
}

/** Refuses uncommitted changes, or with --dirty answers them as one patch text (none: undefined). */
async function uncommittedChanges(repo: GitRepository, kernel: string, dirty: boolean): Promise<string | undefined> {
  const files = await uncommittedFiles(repo);
  if (files.length === 0) return undefined;
  if (!dirty) {
    const shown = files.slice(0, 3).map((line) => line.trim());
    throw new BadInputError(
      `${kernel} has uncommitted changes (${files.length} files: ${shown.join(', ')}${files.length > 3 ? ', ...' : ''})`,
      'commit them, or pass --dirty to add them to the last patched build (your repository is never changed)',
    );
  }
  const text = await uncommittedPatch(repo);
  if (!/^@@ /m.test(text)) {
    throw new BadInputError(
      `the uncommitted changes of ${kernel} change no text file (binary files or modes only)`,
      'commit them, or drop --dirty',
    );
  }
  return text;
}

/** The export of the git source's base commit, as a tree source keyed by its content (the git tree id). */
async function exportedSource(
  kernel: string,
  repo: GitRepository,
  git: GitSource,
  lockTimeout: number,
): Promise<KernelSource> {
  const { dir, tree } = await exportCommit(repo, git.base.sha, lockTimeout);
  let exported: KernelSource;
  try {
    exported = await resolveSource(dir);
  } catch (error) {
    if (!(error instanceof BadInputError)) throw error;
    throw new BadInputError(
      `${kernel} at ${git.base.sha.slice(0, 12)} "${git.base.subject}" is not a Linux source tree (no Makefile, kernel/ or arch/x86/)`,
      'give --kernel the top folder of a Linux git tree',
    );
  }
  // Keyed by content, not by place: every commit with this tree, and a tarball of the same files,
  // share its stock build.
  return { ...exported, requested: kernel, identity: await gitTreeIdentity(tree, exported.version), git };
}

/** `0001-<subject as a file name>.patch`, as git format-patch names it (the number is the folder's). */
function patchName(commit: Commit): string {
  const slug = commit.subject
    .replace(/[^A-Za-z0-9._]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 52);
  return `${slug || commit.sha.slice(0, 12)}.patch`;
}

/** A patch folder in the cache holding `patches` in order (numbered names and a series file), by content. */
function seriesFolder(patches: NamedPatch[]): string {
  const key = createHash('sha256').update(JSON.stringify(patches)).digest('hex').slice(0, 24);
  const folder = join(cache.gitSeries(), key);
  if (existsSync(join(folder, 'series'))) return folder;
  const part = `${folder}.part-${process.pid}`;
  mkdirSync(part, { recursive: true });
  const names = patches.map((patch, index) => `${String(index + 1).padStart(4, '0')}-${patch.name}`);
  patches.forEach((patch, index) => {
    writeFileSync(join(part, names[index] ?? ''), patch.text);
  });
  writeFileSync(join(part, 'series'), `${names.join('\n')}\n`);
  publish(part, folder);
  return folder;
}

/** The uncommitted changes' patch, kept in the cache by content. */
function writeUncommitted(text: string): string {
  const dir = join(cache.gitSeries(), 'uncommitted');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${createHash('sha256').update(text).digest('hex').slice(0, 24)}.patch`);
  writeFileSync(`${file}.part-${process.pid}`, text);
  renameSync(`${file}.part-${process.pid}`, file);
  return file;
}
