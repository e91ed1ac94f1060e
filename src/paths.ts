import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's own folder: where upgrade-kernel.sh, patches-* and userland/ live. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const upgradeKernelScript = join(projectRoot, 'upgrade-kernel.sh');

/** Kernel builds, ccache, run folders: everything that makes later runs fast. */
export function cacheRoot(): string {
  return process.env.SYSCALL_LAB_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'syscall-lab');
}
