import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../errors.ts';
import { projectRoot } from '../paths.ts';

/** A row of src/kernel/versions.tsv, the one table of versions, URLs and hashes. */
export interface PinnedVersion {
  version: string;
  /** null where apt verifies the package. */
  sha256: string | null;
  url: string;
  /** Set for "debian:SUITE:PACKAGE" rows: the newest PACKAGE of that suite (upgrade-kernel.sh fetches it). */
  debian?: { suite: string; package: string };
}

export const versionsTable = join(projectRoot, 'src', 'kernel', 'versions.tsv');

export function parseVersionsTable(text: string): PinnedVersion[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const [version, sha256, url] = line.split('\t');
      if (!version || !sha256 || !url) throw new Error(`malformed line in ${versionsTable}: ${line}`);
      const [, suite, debianPackage] = /^debian:([^:]+):(.+)$/.exec(url) ?? [];
      return {
        version,
        sha256: sha256 === '-' ? null : sha256,
        url,
        ...(suite && debianPackage ? { debian: { suite, package: debianPackage } } : {}),
      };
    });
}

let table: PinnedVersion[] | undefined;
export function pinnedVersions(): PinnedVersion[] {
  table ??= parseVersionsTable(readFileSync(versionsTable, 'utf8'));
  return table;
}

/** "3.9.11" -> {major: 3, minor: 9, patch: 11}. */
export interface KernelVersion {
  major: number;
  minor: number;
  patch: number | null;
  extra: string;
}

const versionPattern = /^(\d+)\.(\d+)(?:\.(\d+))?(-rc\d+)?$/;

export function isVersionString(text: string): boolean {
  return versionPattern.test(text);
}

export function parseVersion(text: string): KernelVersion {
  const match = versionPattern.exec(text);
  if (!match) {
    throw new BadInputError(
      `"${text}" is not a kernel version`,
      'give X.Y or X.Y.Z (e.g. 6.1 or 3.9.11), or a path to a kernel tarball or tree',
    );
  }
  return {
    major: Number(match[1]),
    minor: Number(match[2]),
    patch: match[3] === undefined ? null : Number(match[3]),
    extra: match[4] ?? '',
  };
}

/** Compares versions numerically; a missing patch level counts as 0. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  return x.major - y.major || x.minor - y.minor || (x.patch ?? 0) - (y.patch ?? 0);
}

/** Reads VERSION/PATCHLEVEL/SUBLEVEL/EXTRAVERSION of a kernel Makefile, as `make kernelversion` would. */
export function versionFromMakefile(makefile: string): string {
  // [ \t]* not \s*: an empty EXTRAVERSION must not swallow the NAME line below it.
  const field = (name: string): string => new RegExp(`^${name}[ \\t]*=[ \\t]*(\\S*)`, 'm').exec(makefile)?.[1] ?? '';
  const [v, p, s, e] = [field('VERSION'), field('PATCHLEVEL'), field('SUBLEVEL'), field('EXTRAVERSION')];
  if (!v || !p)
    throw new BadInputError(
      'the Makefile has no VERSION/PATCHLEVEL: not a kernel tree',
      'point at the top of a Linux source tree',
    );
  return `${v}.${p}${s && s !== '0' ? `.${s}` : ''}${e}`;
}

/** kernel.org's address for a release, as in the table's URLs. */
export function kernelOrgUrl(version: string, mirror = 'https://cdn.kernel.org/pub/linux/kernel'): string {
  const { major } = parseVersion(version);
  return `${mirror}/v${major}.x/linux-${version}.tar.xz`;
}
