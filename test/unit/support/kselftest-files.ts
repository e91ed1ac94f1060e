import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { cache } from '../../../src/kernel/cache.ts';

/** Linux 6.1's Debian source tarball in the cache, when a run has fetched it. */
export function debianTarball(): string | undefined {
  const debian = join(cache.sources(), 'debian');
  if (!existsSync(debian)) return undefined;
  for (const name of readdirSync(debian)
    .filter((n) => n.startsWith('linux-source-6.1_'))
    .sort()
    .reverse()) {
    const tarball = join(debian, name, 'linux-source-6.1.tar.xz');
    if (existsSync(tarball)) return tarball;
  }
  return undefined;
}

/** Why a test that needs the tarball cannot run. */
export const noDebianTarball = `no Linux 6.1 Debian source tarball in the cache (${join(cache.sources(), 'debian', 'linux-source-6.1_*', 'linux-source-6.1.tar.xz')}): a run with --kernel 6.1 fetches it`;

/** Extracts `members` (paths under the tree's top) of the tarball into `dest`; returns their paths there. */
export async function extractMembers(tarball: string, dest: string, members: string[]): Promise<string[]> {
  mkdirSync(dest, { recursive: true });
  const { stdout } = await execa('sh', ['-c', `tar -tJf "$1" | head -1`, 'sh', tarball]);
  const top = stdout.trim().replace(/\/.*$/, '');
  await execa('tar', ['-xJf', tarball, '-C', dest, '--occurrence=1', ...members.map((name) => `${top}/${name}`)]);
  return members.map((name) => join(dest, top, name));
}

/**
 * Extracts `members` (paths under tools/testing/selftests/) of the tarball into `dest`; returns
 * the extracted tools/testing/selftests/ folder.
 */
export async function extractSelftests(tarball: string, dest: string, members: string[]): Promise<string> {
  const [first = ''] = await extractMembers(
    tarball,
    dest,
    members.map((name) => `tools/testing/selftests/${name}`),
  );
  return first.slice(0, first.lastIndexOf('/tools/testing/selftests/') + '/tools/testing/selftests'.length);
}
