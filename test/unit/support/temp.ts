import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach } from 'vitest';

/** Temp folders for one test file, removed after every test. */
export function useTempDirs(prefix = 'syscall-lab-unit-'): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

/** Every file under `dir` (relative path -> content, symlinks as "-> target"); directories as "<dir>". */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      const key = relative(dir, path);
      if (entry.isDirectory()) {
        out[`${key}/`] = '<dir>';
        walk(path);
      } else if (entry.isSymbolicLink()) {
        out[key] = '<symlink>';
      } else {
        out[key] = `${statSync(path).mode.toString(8)} ${readFileSync(path, 'utf8')}`;
      }
    }
  };
  walk(dir);
  return out;
}
