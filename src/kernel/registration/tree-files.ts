import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '../../spawn.ts';
import { tarballTop, type KernelSource } from '../source.ts';
import { registrationPaths } from './registration.ts';
import type { TreeFiles } from './write.ts';

function readLines(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function collect(root: string): TreeFiles {
  const files: TreeFiles = new Map();
  for (const path of registrationPaths) {
    if (existsSync(join(root, path))) files.set(path, readLines(join(root, path)));
  }
  return files;
}

/**
 * The registration files (registration.ts) of a kernel source as they are before any patch: read
 * from a tree, or taken out of a tarball in one pass (the files a version lacks are simply absent).
 */
export async function readTreeFiles(source: KernelSource): Promise<TreeFiles> {
  const path = source.path;
  if (!path) throw new Error(`the source of ${source.requested} is not fetched yet`);
  if (source.kind === 'tree') return collect(path);
  const top = await tarballTop(path);
  const dir = mkdtempSync(join(tmpdir(), 'syscall-lab-registration-'));
  try {
    // Members a version does not have make tar exit 2 after extracting the others.
    await runTool(
      'tar',
      ['-xf', path, '-C', dir, '--strip-components=1', ...[...registrationPaths].map((p) => `${top}/${p}`)],
      {
        reject: false,
      },
    );
    return collect(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
