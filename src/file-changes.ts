import { lstatSync } from 'node:fs';
import { basename, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

/** Editor droppings that are no change of the user's (vim's swap and backup files, emacs' locks). */
const ignoredName = /^\.#|~$|\.sw[a-p]$|^4913$/;

/** Git's own folder: a commit or `git status` writes there, and what is built never comes from it. */
const gitFolder = `${sep}.git`;

/**
 * chokidar reports a tree's symlinks as added after it is ready (6.1 has 56), although nothing
 * touched them: a path whose inode has not changed since the feed began was not saved.
 */
function unchangedSince(file: string, since: number): boolean {
  try {
    return lstatSync(file).ctimeMs < since;
  } catch {
    return false;
  }
}

/**
 * Saved changes under some folders, as a feed: every change is noted from the moment the feed
 * is ready (also while the caller is busy building), and `next` resolves once a change was
 * followed by `quietMs` without another (an editor's save is often several writes and a rename).
 */
export interface Changes extends Disposable {
  /** Resolves once every folder is watched (a kernel tree: a few seconds). */
  ready(): Promise<void>;
  next(): Promise<string[]>;
}

/**
 * The feed of a few folders, up to a whole kernel tree (chokidar: inotify watches, one per file and
 * folder, 83,686 for 6.1; not Node's recursive watch, which on Linux polls every file), without `.git`.
 */
export class ChangeFeed implements Changes {
  private readonly watcher: FSWatcher;
  private readonly watching: Promise<void>;
  private pending = new Set<string>();
  private lastChange = 0;
  private wake: (() => void) | undefined;
  /** When watching began, a little early: the filesystem's clock ticks coarser (a jiffy) than Date.now(). */
  private readonly started = Date.now() - 100;

  constructor(
    folders: readonly string[],
    private readonly quietMs = 500,
  ) {
    this.watcher = watch([...folders], {
      ignoreInitial: true,
      followSymlinks: false,
      ignored: (path) =>
        ignoredName.test(basename(path)) || path.endsWith(gitFolder) || path.includes(`${gitFolder}${sep}`),
    });
    this.watching = new Promise((resolve) => {
      this.watcher.once('ready', () => {
        resolve();
      });
    });
    this.watcher.on('all', (event, file) => {
      if ((event === 'add' || event === 'change') && unchangedSince(file, this.started)) return;
      this.pending.add(file);
      this.lastChange = Date.now();
      this.wake?.();
    });
  }

  ready(): Promise<void> {
    return this.watching;
  }

  /** The files changed since the last `next`, once they have been quiet for quietMs. */
  async next(): Promise<string[]> {
    for (;;) {
      if (this.pending.size === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const quietFor = Date.now() - this.lastChange;
      if (quietFor >= this.quietMs) break;
      await new Promise((resolve) => setTimeout(resolve, this.quietMs - quietFor));
    }
    this.wake = undefined;
    const changed = [...this.pending].sort();
    this.pending = new Set();
    return changed;
  }

  [Symbol.dispose](): void {
    void this.watcher.close();
  }
}
