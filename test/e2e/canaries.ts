import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot, projectRoot } from '../../src/paths.ts';

/**
 * The isolation test's canaries: they are planted where secrets live (/root, a
 * home, /tmp, /var/lib, the cache folder, the project folder, the harness's environment), and a
 * userland program that runs as guest root attacks the guest's view with a bind mount of /, a
 * fresh mount of the 9p root and lazy unmounts, then looks for them everywhere it can reach.
 */
export const canaryPlaces = (home: string, cache = cacheRoot()): string[] => [
  '/root',
  home,
  '/tmp',
  '/var/lib',
  cache,
  projectRoot,
];

export interface Canaries {
  token: string;
  home: string;
  /** A --userland folder holding isolation.c with the canary (reversed) and the places filled in (world-readable). */
  userland: string;
  remove(): void;
}

/** Plants the canaries (as root) and writes the program; `cache` is the harness's cache folder. */
export function plantCanaries(cache = cacheRoot()): Canaries {
  const token = `syscall-lab-canary-${randomBytes(12).toString('hex')}`;
  const home = `/home/syscall-lab-canary-${randomBytes(4).toString('hex')}`;
  mkdirSync(home, { recursive: true });
  for (const place of canaryPlaces(home, cache)) {
    mkdirSync(place, { recursive: true });
    writeFileSync(join(place, 'syscall-lab-canary'), `${token}\n`);
  }
  const template = readFileSync(
    join(projectRoot, 'test', 'fixtures', 'userland', 'isolation', 'isolation.c.in'),
    'utf8',
  );
  const userland = mkdtempSync(join(tmpdir(), 'syscall-lab-isolation-'));
  chmodSync(userland, 0o755);
  // The canary is stored reversed: the program's source and binary never hold it.
  const reversed = Array.from(token).reverse().join('');
  const places = canaryPlaces(home, cache).map((place) => `${JSON.stringify(place)},`);
  writeFileSync(
    join(userland, 'isolation.c'),
    template.replace('@REVERSED_CANARY@', reversed).replace('@PLACES@', places.join(' ')),
    { mode: 0o644 },
  );
  return {
    token,
    home,
    userland,
    remove() {
      for (const place of canaryPlaces(home, cache)) rmSync(join(place, 'syscall-lab-canary'), { force: true });
      rmSync(home, { recursive: true, force: true });
      rmSync(userland, { recursive: true, force: true });
    },
  };
}
