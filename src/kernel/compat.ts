import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../paths.ts';
import { parseVersion } from './versions.ts';

/**
 * Toolchain-compatibility series: patches that let an old kernel build and boot with today's
 * gcc, binutils and make. Applied automatically, before any user patch, to the stock and the
 * patched build alike, so a user's own patch set gets them too.
 */
export interface CompatSeries {
  dir: string;
  /** Which kernel versions need it. */
  appliesTo: (version: string) => boolean;
  why: string;
}

export const compatSeries: CompatSeries[] = [
  {
    dir: join(projectRoot, 'src', 'kernel', 'compat', 'linux-3.9'),
    appliesTo: (version) => {
      const { major, minor } = parseVersion(version);
      return major === 3 && minor === 9;
    },
    why: 'Linux 3.9 with gcc 12, binutils 2.40 and GNU make 4.3',
  },
];

export function compatDirsFor(version: string): string[] {
  return compatSeries
    .filter((series) => series.appliesTo(version) && existsSync(series.dir))
    .map((series) => series.dir);
}
