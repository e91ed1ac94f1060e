import { mkdirSync, statfsSync } from 'node:fs';
import { InfrastructureError } from '../errors.ts';

/** A kernel tree, its objects and a copy for the patched build: checked before starting. */
export const minimumFreeBytes = 6 * 1024 ** 3;

export function assertDiskSpace(dir: string, needed = minimumFreeBytes): void {
  mkdirSync(dir, { recursive: true });
  const stats = statfsSync(dir);
  const free = stats.bavail * stats.bsize;
  if (free < needed) {
    const gib = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
    throw new InfrastructureError(
      `only ${gib(free)} free in ${dir}; a kernel build needs about ${gib(needed)}`,
      'free some space, run `syscall-lab clean --all`, or point SYSCALL_LAB_CACHE at a bigger disk',
    );
  }
}
