import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { BadInputError } from '../errors.ts';
import { cache, publish } from '../kernel/cache.ts';
import {
  addedSyscallsOfSet,
  editedSyscallTables,
  readPatchSet,
  seriesPatches,
  type PatchSet,
} from '../kernel/patches.ts';
import { PortError, portSeries } from '../kernel/registration/port.ts';
import { readTreeFiles } from '../kernel/registration/tree-files.ts';
import type { Numbered } from '../kernel/registration/write.ts';
import type { KernelSource } from '../kernel/source.ts';
import { syscallTableLocation } from '../kernel/syscalls.ts';
import { compareVersions, parseVersion } from '../kernel/versions.ts';
import { projectRoot } from '../paths.ts';

/** Bump when the regeneration writes differently: every ported series is made again. */
const portRecipeVersion = 1;

/** Which series a kernel gets, and why (shown as a notice when it is not the kernel's own). */
export interface ChosenSeries {
  dir: string;
  notice?: string;
}

/**
 * The series for a kernel, in this order: the one given for it (--kernel SPEC=DIR), --patches,
 * patches-<version> or patches-<X.Y> (or the newest patches-<X.Y.*>), else the nearest
 * patches-<X.Y> of a kernel with the same syscall-table path (older or newer), to be regenerated.
 */
export function chooseSeries(
  version: string,
  own: string | undefined,
  common: string | undefined,
  root = projectRoot,
): ChosenSeries {
  if (own) return { dir: own };
  if (common) return { dir: common };
  const { major, minor } = parseVersion(version);
  const series = `${major}.${minor}`;
  for (const name of [`patches-${version}`, `patches-${series}`]) {
    if (existsSync(join(root, name))) return { dir: join(root, name) };
  }
  const sets = readdirSync(root)
    .filter((name) => /^patches-\d+\.\d+(\.\d+)?$/.test(name))
    .map((name) => ({ name, version: name.slice('patches-'.length) }));
  const sameSeries = sets
    .filter((set) => set.version.startsWith(`${series}.`))
    .sort((a, b) => compareVersions(b.version, a.version))[0];
  if (sameSeries) {
    return {
      dir: join(root, sameSeries.name),
      notice: `using ${sameSeries.name} for ${version} (same ${series} series)`,
    };
  }
  const distance = (other: string): number => {
    const v = parseVersion(other);
    return Math.abs(v.major * 1000 + v.minor - (major * 1000 + minor));
  };
  // Only from 4.2, where registrations can be regenerated: older kernels need their own series.
  const nearest = sets
    .filter((set) => regenerates(version) && regenerates(set.version))
    .sort((a, b) => distance(a.version) - distance(b.version) || compareVersions(b.version, a.version))[0];
  if (nearest) {
    return {
      dir: join(root, nearest.name),
      notice: `using ${nearest.name} for ${version} (the nearest series with the same syscall-table path), its syscall registration regenerated`,
    };
  }
  throw new BadInputError(
    `there is no patch set for Linux ${version} (no patches-${version} or patches-${series}, and none with its syscall-table path)`,
    `pass --patches DIR, or --kernel ${version}=DIR, with your patches for ${version}`,
  );
}

/** The series a kernel of this version gets, read and checked (its files, numbers and table path). */
export async function readSeries(
  version: string,
  own: string | undefined,
  common: string | undefined,
): Promise<{ chosen: ChosenSeries; given: PatchSet }> {
  const chosen = chooseSeries(version, own, common);
  const given = await readPatchSet(chosen.dir);
  assertTableLocation(given, version);
  addedSyscallsOfSet(given);
  return { chosen, given };
}

function assertTableLocation(patchSet: PatchSet, version: string): void {
  const expected = syscallTableLocation(version);
  const wrong = editedSyscallTables(patchSet).find((table) => table !== expected);
  if (wrong) {
    throw new BadInputError(
      `${patchSet.dir} edits ${wrong}, but Linux ${version} keeps its x86-64 syscall table at ${expected}`,
      `use a patch set made for ${version} (the table moved to arch/x86/entry/syscalls/ in 4.2)`,
    );
  }
}

/** From 4.2 the x86 tables are in arch/x86/entry/syscalls/, where regeneration writes them. */
function regenerates(version: string): boolean {
  return syscallTableLocation(version) === syscallTableLocation('4.2');
}

/** A series as applied to one kernel: regenerated (or as it is), and the numbers its syscalls get there. */
export interface SeriesForKernel {
  patchSet: PatchSet;
  /** The series as given, before regeneration. */
  givenDir: string;
  syscalls: Numbered[];
  regenerated: boolean;
}

/**
 * The series a kernel applies: from 4.2 (the x86 table in arch/x86/entry/syscalls/) every series
 * has its registration regenerated for that kernel (src/kernel/registration/), kept in the cache
 * by source and series; a series that already registers exactly so is used as it is. Older
 * kernels apply their series as written: the regeneration never crosses the 4.2 table move.
 */
export async function seriesForKernel(source: KernelSource, given: PatchSet): Promise<SeriesForKernel> {
  // A git tree's commits are applied as committed, its work tree's changes as they are: each
  // verdict is of the tree the developer has.
  if (!regenerates(source.version) || !source.path || source.git?.commit || source.git?.worktree) {
    return { patchSet: given, givenDir: given.dir, syscalls: [], regenerated: false };
  }
  const patches = seriesPatches(given);
  const key = createHash('sha256')
    .update(JSON.stringify({ recipe: portRecipeVersion, source: source.identity, version: source.version, patches }))
    .digest('hex')
    .slice(0, 24);
  const folder = join(cache.ported(), key);
  const record = join(folder, 'port.json');
  if (!existsSync(record)) {
    let ported;
    try {
      ported = portSeries(patches, await readTreeFiles(source), source.version);
    } catch (error) {
      if (error instanceof PortError) throw new BadInputError(`${given.dir}: ${error.message}`, error.fix);
      throw error;
    }
    const part = `${folder}.part-${process.pid}`;
    mkdirSync(part, { recursive: true });
    if (!ported.unchanged) {
      for (const patch of ported.patches) writeFileSync(join(part, patch.name), patch.text);
      writeFileSync(join(part, 'series'), `${ported.patches.map((patch) => patch.name).join('\n')}\n`);
    }
    writeFileSync(
      join(part, 'port.json'),
      JSON.stringify({ unchanged: ported.unchanged, syscalls: ported.syscalls, from: given.dir }),
    );
    publish(part, folder);
  }
  const { unchanged, syscalls } = JSON.parse(readFileSync(record, 'utf8')) as {
    unchanged: boolean;
    syscalls: Numbered[];
  };
  if (unchanged) return { patchSet: given, givenDir: given.dir, syscalls, regenerated: false };
  return { patchSet: await readPatchSet(folder), givenDir: given.dir, syscalls, regenerated: true };
}
