import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onExit } from '../reaper.ts';
import { cache } from './cache.ts';

/**
 * A private folder under the cache's tmp/, named `<name>-<pid>` and holding an `owner` file, so
 * that whatever happens it goes: when disposed, when the process exits or is interrupted, and,
 * after a SIGKILL, when the next run or `clean` finds its owner dead.
 */
export class ScratchFolder implements Disposable {
  readonly path: string;
  private readonly forget: () => void;

  constructor(name: string) {
    this.path = join(cache.scratch(), `${name}-${process.pid}`);
    rmSync(this.path, { recursive: true, force: true });
    mkdirSync(this.path, { recursive: true });
    writeFileSync(join(this.path, 'owner'), String(process.pid));
    const path = this.path;
    this.forget = onExit(() => {
      rmSync(path, { recursive: true, force: true });
    });
  }

  [Symbol.dispose](): void {
    rmSync(this.path, { recursive: true, force: true });
    this.forget();
  }
}

/** Scratch folders are named <name>-<pid>: the pid of the run that owns one. */
export function scratchOwner(name: string): number | null {
  return Number(/-(\d+)$/.exec(name)?.[1]) || null;
}
