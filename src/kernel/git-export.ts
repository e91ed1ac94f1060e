import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cache, lockKey } from './cache.ts';
import { git, type GitRepository } from './git.ts';

/** A commit's tree written out as a plain kernel tree, and the git tree id that is its content. */
export interface GitExport {
  dir: string;
  tree: string;
}

/** The cache folder of one repository's export: keyed by its absolute git dir. */
export function exportRoot(repo: GitRepository): string {
  const key = createHash('sha256').update(repo.gitDir).digest('hex').slice(0, 16);
  return join(cache.gitExports(), key);
}

/**
 * Writes the tree of `revision` into the repository's one export in the cache (`<root>/tree`),
 * and answers its tree id. The export is updated in place: `git read-tree --reset -u` with a
 * private index (`<root>/index`, GIT_INDEX_FILE) rewrites only the files that differ from the
 * commit exported before and deletes the ones it lacks, so unchanged files keep their mtime. It
 * reads the repository's objects and writes nothing of it: not its index, refs, objects or config.
 * `<root>/exported` names the tree the export holds; it is removed while the export changes, and an
 * export without it (a run killed halfway) is made again from nothing.
 */
export async function exportCommit(repo: GitRepository, revision: string, lockTimeout: number): Promise<GitExport> {
  const tree = (await git(repo, ['rev-parse', '--verify', `${revision}^{tree}`])).trim();
  const root = exportRoot(repo);
  const dir = join(root, 'tree');
  const index = join(root, 'index');
  const marker = join(root, 'exported');
  mkdirSync(root, { recursive: true });
  // Two runs on one repository take turns: the export is one folder.
  await using _lock = await lockKey(`git-export-${root.split('/').at(-1) ?? ''}`, { timeoutSeconds: lockTimeout });
  const exported = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : undefined;
  if (exported === tree && existsSync(dir)) return { dir, tree };
  if (exported === undefined) {
    rmSync(dir, { recursive: true, force: true });
    rmSync(index, { force: true });
  }
  rmSync(marker, { force: true });
  mkdirSync(dir, { recursive: true });
  // The user's sparse-checkout or line-ending settings must not change what is built.
  await git(
    repo,
    ['-c', 'core.sparseCheckout=false', '-c', 'core.autocrlf=false', 'read-tree', '--reset', '-u', tree],
    { index, workTree: dir },
  );
  writeFileSync(marker, `${tree}\n`);
  return { dir, tree };
}
