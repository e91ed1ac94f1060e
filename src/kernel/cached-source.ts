import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cache } from './cache.ts';
import { debianSourceAt, type KernelSource } from './source.ts';
import { pinnedVersions } from './versions.ts';

/** A kernel's source as a dry run finds it: on disk (the user's or the cache's), or still to download. */
export interface LocatedSource {
  /** The source as a run would build it when present (a cached Debian tarball: its version and content). */
  source: KernelSource;
  present: boolean;
  /** Where it is, or where it would come from, in words. */
  where: string;
}

/**
 * Finds a source without fetching anything: the places upgrade-kernel.sh downloads to
 * (`sources/debian/<package>_<version>/`, `sources/kernel.org/`) are read, nothing is asked of
 * the network, apt or curl.
 */
export async function locateSource(source: KernelSource): Promise<LocatedSource> {
  if (source.kind === 'download') {
    const url = pinnedVersions().find((row) => row.version === source.version)?.url;
    const tarball = join(cache.sources(), 'kernel.org', basename(url ?? `linux-${source.version}.tar.xz`));
    return existsSync(tarball)
      ? { source, present: true, where: `${tarball}, in the cache` }
      : { source, present: false, where: `to download from kernel.org (${basename(tarball)}, sha256 pinned)` };
  }
  const debian = source.debian;
  // Every other source is the user's own, on disk: a tarball, a tree, a git work tree.
  if (source.kind !== 'debian' || !debian)
    return { source, present: true, where: `${source.kind} ${source.path ?? source.requested}` };
  const cached = cachedDebianTarball(debian.package);
  const from = `Debian ${debian.suite}`;
  if (!cached) {
    return { source, present: false, where: `to download: ${debian.package}, the newest in ${from}` };
  }
  return {
    source: await debianSourceAt(source, cached.tarball, cached.version),
    present: true,
    // The run refreshes the suite's lists (at most daily) and fetches a newer package if there is one.
    where: `${debian.package} ${cached.version} from ${from}, in the cache (${cached.tarball}); a run downloads a newer one if ${from} has it`,
  };
}

/** The package's tarball that an earlier fetch left (only the current version is ever kept), if any. */
function cachedDebianTarball(debianPackage: string): { tarball: string; version: string } | undefined {
  const folder = join(cache.sources(), 'debian');
  if (!existsSync(folder)) return undefined;
  const found = readdirSync(folder)
    .filter((name) => name.startsWith(`${debianPackage}_`))
    .map((name) => ({
      tarball: join(folder, name, `${debianPackage}.tar.xz`),
      version: name.slice(debianPackage.length + 1),
    }))
    .filter(({ tarball }) => existsSync(tarball))
    .sort((a, b) => statSync(b.tarball).mtimeMs - statSync(a.tarball).mtimeMs);
  return found[0];
}
