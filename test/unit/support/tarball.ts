import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { fakeTreeFiles, writeFiles } from './fake-kernel.ts';

/**
 * A fake kernel tarball with its members in the given order under `top/` (so that a cut
 * lands before or after the files a patch touches). Returns the tarball's path.
 */
export async function makeTarball(
  dir: string,
  name: string,
  members: string[],
  { top = 'linux-6.1', extra = {}, compress = true } = {},
): Promise<string> {
  const root = join(dir, `${name}-content`);
  writeFiles(join(root, top), { ...fakeTreeFiles, ...extra });
  const tarball = join(dir, name);
  await execa('tar', [compress ? '-cJf' : '-cf', tarball, '-C', root, ...members.map((m) => `${top}/${m}`)]);
  return tarball;
}

/** Incompressible filler, so that a cut in the middle of the archive loses what follows it. */
export function filler(bytes = 256 * 1024): Buffer {
  return randomBytes(bytes);
}

/** Keeps the first `fraction` of a file, as an interrupted download would. */
export function truncateCopy(file: string, out: string, fraction = 0.5): string {
  const data = readFileSync(file);
  writeFileSync(out, data.subarray(0, Math.floor(data.length * fraction)));
  return out;
}
