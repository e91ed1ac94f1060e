import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { installLine, requirements } from '../doctor.ts';
import { upgradeKernelScript } from '../paths.ts';
import { cache } from './cache.ts';
import { tarballIdentity } from './content-identity.ts';
import { causeAndFix, scriptBadInput, scriptBadInputCodes, scriptErrorLine } from './script-errors.ts';
import { BadInputError, InfrastructureError } from '../errors.ts';
import { runTool } from '../spawn.ts';
import { remembered } from './file-facts.ts';
import type { GitSource } from './git.ts';
import { isVersionString, parseVersion, pinnedVersions, versionFromMakefile } from './versions.ts';

/** Where a kernel's source comes from, validated before anything is built. */
export interface KernelSource {
  /** What the user asked for: "6.1" or a path. */
  requested: string;
  kind: 'debian' | 'download' | 'tarball' | 'tree';
  /** The version; for a path or a fetched Debian package, read from its Makefile. */
  version: string;
  /** Arguments that tell upgrade-kernel.sh where the source is. */
  scriptArgs: string[];
  /** What identifies the source's content in cache keys. */
  identity: string;
  /** Kind "debian": the package, and once fetched (fetchSource) the Debian version it is. */
  debian?: { suite: string; package: string; version?: string };
  /** Local file or folder (tarball, tree, fetched Debian tarball). */
  path?: string;
  /** A git work tree: the commit its export holds, and what the patched build adds (src/kernel/git.ts). */
  git?: GitSource;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Resolves --kernel (version or path) and --sha256; reads nothing over the network. */
export async function resolveSource(requested: string, sha256?: string): Promise<KernelSource> {
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new BadInputError(
      `--sha256 "${sha256}" is not a sha256`,
      "give the 64 lowercase hex digits of the tarball's checksum",
    );
  }
  if (isVersionString(requested)) return resolveVersion(requested, sha256);
  if (/^[0-9][0-9a-z.!-]*$/i.test(requested) && !existsSync(requested)) parseVersion(requested);
  if (!existsSync(requested)) {
    throw new BadInputError(
      `kernel source ${requested} does not exist`,
      'give a version (e.g. 6.1), a kernel tarball or a source tree',
    );
  }
  const path = realpathSync(requested);
  if (statSync(path).isDirectory()) {
    if (sha256) throw new BadInputError(`--sha256 applies to a tarball, not to the tree ${requested}`, 'drop --sha256');
    const makefile = join(path, 'Makefile');
    if (!existsSync(makefile) || !existsSync(join(path, 'kernel')) || !existsSync(join(path, 'arch', 'x86'))) {
      throw new BadInputError(
        `${requested} is not a Linux source tree (no Makefile, kernel/ or arch/x86/)`,
        'point at the top of a kernel tree',
      );
    }
    const version = versionFromMakefile(readFileSync(makefile, 'utf8'));
    // A tree changes in place: key it by where it is, its version and its Makefile's age.
    const identity = `tree:${path}:${version}:${statSync(makefile).mtimeMs}`;
    return { requested, kind: 'tree', version, scriptArgs: ['--source', path], identity, path };
  }
  const digest = await remembered(path, 'sha256', () => sha256File(path));
  if (sha256 && digest !== sha256) {
    throw new BadInputError(
      `sha256 of ${requested} is ${digest}, expected ${sha256}`,
      'download the tarball again, or pass the right --sha256',
    );
  }
  const version = await remembered(path, 'makefile version', () => versionOfTarball(path));
  return {
    requested,
    kind: 'tarball',
    version,
    scriptArgs: ['--source', path, ...(sha256 ? ['--sha256', sha256] : [])],
    identity: await tarballIdentity(path, digest, version),
    path,
  };
}

function resolveVersion(version: string, sha256?: string): KernelSource {
  const pinned = pinnedVersions().find((row) => row.version === version);
  if (!pinned && !sha256) {
    throw new BadInputError(
      `Linux ${version} is not in the pinned table (src/kernel/versions.tsv)`,
      `pass --sha256 with the checksum from kernel.org's sha256sums.asc to trust it, or use a pinned version (${pinnedVersions()
        .map((row) => row.version)
        .join(', ')})`,
    );
  }
  if (pinned?.debian) {
    return {
      requested: version,
      kind: 'debian',
      version,
      scriptArgs: ['--version', version],
      // Not fetched yet: fetchSource sets the tarball, its version and its content's identity.
      identity: `debian:${pinned.debian.suite}:${pinned.debian.package}`,
      debian: pinned.debian,
    };
  }
  const expected = sha256 ?? pinned?.sha256;
  if (!expected) throw new BadInputError(`Linux ${version} has no sha256 in src/kernel/versions.tsv`, 'pass --sha256');
  return {
    requested: version,
    kind: 'download',
    version,
    // Downloaded by the build into the cache's sources folder, where every build finds it.
    scriptArgs: ['--version', version, ...(sha256 ? ['--sha256', sha256] : []), ...sourcesArguments()],
    identity: `sha256:${expected}`,
  };
}

/** The top folder of a kernel tarball (linux-6.1/, linux-source-6.1/ ...), from its first member. */
export async function tarballTop(tarball: string): Promise<string> {
  // The first member names the top folder; stop reading there (head closes the pipe).
  const first = await runTool('sh', ['-c', 'tar -tf "$1" 2>&1 | head -n 1', 'sh', tarball], { reject: false });
  // tar runs the decompressor (xz for .tar.xz): when it is not installed, the host is at fault, not the tarball.
  const decompressor = /(?:^|\s)([\w.-]+): Cannot exec: No such file or directory/.exec(first.stdout)?.[1];
  if (decompressor) {
    const aptPackage = requirements.find((req) => req.probe === decompressor)?.aptPackage ?? decompressor;
    throw new InfrastructureError(
      `missing on this host: ${decompressor} (package ${aptPackage}), which tar needs to read ${tarball}`,
      installLine([aptPackage]),
    );
  }
  const top = first.stdout.split('/')[0] ?? '';
  if (!first.stdout.includes('/') || top.startsWith('tar:')) {
    throw new BadInputError(
      `${tarball} is not a readable tar archive (${first.stdout.trim() || 'empty'})`,
      'download it again: it is truncated or corrupt',
    );
  }
  return top;
}

/** Reads the top-level Makefile out of a tarball; reading it whole also finds truncation. */
export async function versionOfTarball(tarball: string): Promise<string> {
  const top = await tarballTop(tarball);
  const makefile = await runTool('tar', ['-xOf', tarball, `${top}/Makefile`], { reject: false });
  if (makefile.exitCode !== 0) {
    const truncated = /Unexpected EOF|corrupt|not in xz|Error is not recoverable/i.test(makefile.stderr);
    throw new BadInputError(
      truncated
        ? `${tarball} is truncated or corrupt (${lastLine(makefile.stderr)})`
        : `${tarball} holds no ${top}/Makefile: not a kernel source tarball`,
      truncated ? 'download it again' : 'give a Linux source tarball (linux-X.Y.Z.tar.xz)',
    );
  }
  return versionFromMakefile(makefile.stdout);
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

/**
 * Fetches a Debian row's package (upgrade-kernel.sh --fetch-source: the newest version in its
 * suite, lists refreshed at most daily) and makes the source its tarball: built with --source,
 * versioned by its Makefile, keyed by its content. Other sources are returned as they are.
 */
export async function fetchSource(source: KernelSource): Promise<KernelSource> {
  if (source.kind !== 'debian' || !source.debian) return source;
  const result = await runTool(upgradeKernelScript, ['--fetch-source', source.version, ...sourcesArguments()], {
    reject: false,
  });
  const answer = new Map(
    result.stdout
      .split('\n')
      .filter((line) => line.includes(' '))
      .map((line) => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)] as const),
  );
  const tarball = answer.get('tarball');
  if (result.exitCode !== 0 || !tarball) {
    const line = scriptErrorLine(result.stderr) ?? result.stderr.trim();
    if (scriptBadInputCodes.has(result.exitCode ?? 0)) throw scriptBadInput(line);
    const { cause, fix } = causeAndFix(line);
    throw new InfrastructureError(`could not fetch the source of Linux ${source.version}: ${cause}`, fix);
  }
  return debianSourceAt(source, tarball, answer.get('debian-version') ?? '');
}

/**
 * A Debian row's source once its tarball is on disk (fetched now, or found in the cache by a dry
 * run): built with --source, versioned by its Makefile, keyed by its content.
 */
export async function debianSourceAt(
  source: KernelSource,
  tarball: string,
  debianVersion: string,
): Promise<KernelSource> {
  const digest = await remembered(tarball, 'sha256', () => sha256File(tarball));
  const version = await remembered(tarball, 'makefile version', () => versionOfTarball(tarball));
  return {
    ...source,
    version,
    scriptArgs: ['--source', tarball],
    identity: await tarballIdentity(tarball, digest, version),
    ...(source.debian && { debian: { ...source.debian, version: debianVersion } }),
    path: tarball,
  };
}

/** Where upgrade-kernel.sh keeps what it fetches: the cache's sources folder, shared by every build. */
export function sourcesArguments(): string[] {
  return ['--sources', cache.sources()];
}
