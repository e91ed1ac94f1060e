import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { treeDir, type KernelBuild } from '../kernel/build.ts';

/** Where kselftest's headers are in a kernel tree. */
export const selftestsFolder = 'tools/testing/selftests';

/**
 * The headers a userland program may include: kselftest.h (the selftests' reporting framework) and
 * kselftest_harness.h (seccomp's test_harness.h, moved). Of the trees at hand, 3.9.6 has neither;
 * 5.10, 6.1, 6.12 and 7.2 have both (the first release of each is not stated: not checked here).
 */
export const kselftestHeaderNames = [{ name: 'kselftest.h' }, { name: 'kselftest_harness.h' }] as const;

/** kselftest's headers of the patched kernel's tree, as the run keeps them on the host. */
export interface KselftestHeaders {
  /** A host folder with the headers the tree has (none on 3.9): uploaded, and gcc's -I in the guest. */
  dir: string;
  /** The tree's kernel version (named when a program includes a header it lacks). */
  version: string;
  /** Why the folder may lack headers the tree has: the build was cached before they were kept, its tree gone. */
  unknown?: string;
}

/**
 * Copies kselftest's headers of a build into `dest` (the run's folder, so `syscall-lab test` on a
 * kept VM has them whatever the cache does later). upgrade-kernel.sh keeps them with the build; a
 * build cached before it did has no such folder, and they are read from its tree (`treeKey`: the
 * stock build's, which a patched build shares) while that is in the cache. Never rebuilds.
 */
export function keepKselftestHeaders(build: KernelBuild, treeKey: string, dest: string): KselftestHeaders {
  mkdirSync(dest, { recursive: true });
  const tree = treeDir(treeKey);
  const from = existsSync(build.kselftestDir) ? build.kselftestDir : tree && join(tree, selftestsFolder);
  if (!from) {
    return {
      dir: dest,
      version: build.version,
      unknown: `the ${build.release} build was cached before syscall-lab kept kselftest's headers, and its tree has left the cache since (fix: run again: a build without its tree is built anew)`,
    };
  }
  for (const { name } of kselftestHeaderNames) {
    if (existsSync(join(from, name))) copyFileSync(join(from, name), join(dest, name));
  }
  return { dir: dest, version: build.version };
}

/** How the guest compile step gives the headers to the userland programs. */
export interface KselftestUpload {
  /** The guest folders to make first. */
  guestFolders: string[];
  /** Host file → guest path. */
  copies: { host: string; guest: string }[];
  /** gcc's flags for the userland programs: the guest folder on the include path. */
  flags: string[];
  /** The guest folder → its host folder (a compile on the host uses the host's). */
  hostPaths: Map<string, string>;
  /** The headers' names and contents: part of each userland program's hash, so a new header recompiles. */
  fingerprint: string;
}

/** The upload of `headers` into `<guestDir>/kselftest` (nothing without headers: a VM kept by an older syscall-lab). */
export function kselftestUpload(headers: KselftestHeaders | undefined, guestDir: string): KselftestUpload {
  if (!headers) return { guestFolders: [], copies: [], flags: [], hostPaths: new Map(), fingerprint: '' };
  const guestFolder = `${guestDir}/kselftest`;
  const present = kselftestHeaderNames.map(({ name }) => name).filter((name) => existsSync(join(headers.dir, name)));
  const fingerprint = createHash('sha256');
  for (const name of present) fingerprint.update(`\0${name}\0`).update(readFileSync(join(headers.dir, name)));
  return {
    guestFolders: [guestFolder],
    copies: present.map((name) => ({ host: join(headers.dir, name), guest: `${guestFolder}/${name}` })),
    flags: ['-I', guestFolder],
    hostPaths: new Map([[guestFolder, headers.dir]]),
    fingerprint: present.length > 0 ? fingerprint.digest('hex') : '',
  };
}

/**
 * What gcc's "kselftest.h: No such file or directory" means when the kernel's tree has no such
 * header (3.9 has neither): the version, and the release that brought it. Undefined for any
 * other failure.
 */
export function missingKselftestHint(gccLog: string, headers: KselftestHeaders | undefined): string | undefined {
  if (!headers) return undefined;
  const missing = kselftestHeaderNames.find(
    ({ name }) => gccLog.includes(`${name}: No such file or directory`) && !existsSync(join(headers.dir, name)),
  );
  if (!missing) return undefined;
  const path = `${selftestsFolder}/${missing.name}`;
  if (headers.unknown) return `${missing.name} could not be given to this program: ${headers.unknown}`;
  return `${missing.name} is not in Linux ${headers.version}'s tree (no ${path}): this program needs a kernel whose tree has it`;
}
