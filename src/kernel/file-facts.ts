import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from '../paths.ts';

/**
 * Facts about a big input file that are slow to compute (the sha256 of a 140 MB kernel tarball,
 * the version in a tarball's Makefile) and only change with the file: remembered in the cache,
 * keyed by the file's real path, size and modification time, so a warm run reads them in
 * microseconds instead of seconds.
 */
export async function remembered(file: string, fact: string, compute: () => Promise<string>): Promise<string> {
  const path = realpathSync(file);
  const { size, mtimeMs } = statSync(path);
  const record = join(
    cacheRoot(),
    'facts',
    `${createHash('sha256').update(`${path}\0${fact}`).digest('hex').slice(0, 24)}.json`,
  );
  try {
    const known = JSON.parse(readFileSync(record, 'utf8')) as { size: number; mtimeMs: number; value: string };
    if (known.size === size && known.mtimeMs === mtimeMs) return known.value;
  } catch {
    // Not known yet (or unreadable): computed below.
  }
  const value = await compute();
  mkdirSync(join(cacheRoot(), 'facts'), { recursive: true });
  writeFileSync(record, JSON.stringify({ path, fact, size, mtimeMs, value }));
  return value;
}
