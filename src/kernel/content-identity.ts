import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cache } from './cache.ts';
import { remembered } from './file-facts.ts';
import { tarballTreeId } from './tree-id.ts';

/*
 * A source's identity is what its cache keys start from. A tarball goes by its sha256, a git
 * commit by its tree id; when both hold the same files they must share one identity, so that a
 * committed copy of a known source reuses its stock build (and the other way round). The cache
 * keeps, per version, which identity each content (a git tree id) goes by: the first one that
 * claimed it. A tarball's tree id costs a read of the whole tarball, so it is worked out only when
 * a git tree of its version is in play: by the git side for the tarballs already seen, by the
 * tarball side once a git tree of its version has been seen.
 */

const versionDir = (version: string): string => join(cache.contents(), version);
const treesDir = (version: string): string => join(versionDir(version), 'trees');
const tarballsDir = (version: string): string => join(versionDir(version), 'tarballs');

/** The identity a tarball (sha256 `digest`, Linux `version`) goes by in cache keys. */
export async function tarballIdentity(tarball: string, digest: string, version: string): Promise<string> {
  const own = `sha256:${digest}`;
  mkdirSync(tarballsDir(version), { recursive: true });
  writeFileSync(join(tarballsDir(version), digest), `${tarball}\n`);
  if (!existsSync(treesDir(version))) return own;
  return claim(version, await rememberedTreeId(tarball), own);
}

/** The identity a git commit whose tree is `tree` (Linux `version`) goes by in cache keys. */
export async function gitTreeIdentity(tree: string, version: string): Promise<string> {
  const dir = tarballsDir(version);
  for (const digest of existsSync(dir) ? readdirSync(dir) : []) {
    const tarball = readFileSync(join(dir, digest), 'utf8').trim();
    if (existsSync(tarball)) claim(version, await rememberedTreeId(tarball), `sha256:${digest}`);
  }
  return claim(version, tree, `git-tree:${tree}`);
}

function rememberedTreeId(tarball: string): Promise<string> {
  return remembered(tarball, 'git tree id', () => tarballTreeId(tarball));
}

/** The identity `tree` goes by: the one already recorded, else `identity`, recorded now. */
function claim(version: string, tree: string, identity: string): string {
  const record = join(treesDir(version), tree);
  if (!existsSync(record)) {
    mkdirSync(treesDir(version), { recursive: true });
    const part = `${record}.part-${String(process.pid)}`;
    writeFileSync(part, `${identity}\n`);
    try {
      // A link fails where the record exists: of two runs claiming at once, the first one wins.
      linkSync(part, record);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      rmSync(part, { force: true });
    }
  }
  return readFileSync(record, 'utf8').trim();
}
