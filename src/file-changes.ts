import { watch, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';

/** Editor droppings that are no change of the user's (vim's swap and backup files, emacs' locks). */
const ignored = /^\.#|~$|\.sw[a-p]$|^4913$/;

/**
 * Saved changes under some folders, as a feed: every change is noted from the moment the feed
 * is made (also while the caller is busy building), and `next` resolves once a change was
 * followed by `quietMs` without another (an editor's save is often several writes and a rename).
 */
export interface Changes extends Disposable {
  next(): Promise<string[]>;
}

export class ChangeFeed implements Changes {
  private readonly watchers: FSWatcher[];
  private pending = new Set<string>();
  private lastChange = 0;
  private wake: (() => void) | undefined;

  constructor(
    folders: readonly string[],
    private readonly quietMs = 500,
  ) {
    this.watchers = folders.map((folder) =>
      watch(folder, { recursive: true }, (_event, name) => {
        const file = name === null ? folder : join(folder, name);
        if (ignored.test(basename(file))) return;
        this.pending.add(file);
        this.lastChange = Date.now();
        this.wake?.();
      }),
    );
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
    for (const watcher of this.watchers) watcher.close();
  }
}
