import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors.ts';
import { cache } from '../../src/kernel/cache.ts';
import { resolveSource, versionOfTarball } from '../../src/kernel/source.ts';
import { writeFakeTree } from './support/fake-kernel.ts';
import { filler, makeTarball, truncateCopy } from './support/tarball.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-source-');
const hex64 = 'ab'.repeat(32);

async function badInput(promise: Promise<unknown>): Promise<BadInputError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(BadInputError);
  return error as BadInputError;
}

const sha256Of = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('resolveSource: versions', () => {
  it('takes 6.1 from the Debian package, to be fetched', async () => {
    expect(await resolveSource('6.1')).toEqual({
      requested: '6.1',
      kind: 'debian',
      version: '6.1',
      scriptArgs: ['--version', '6.1'],
      identity: 'debian:bookworm,bookworm-security:linux-source-6.1',
      debian: { suite: 'bookworm,bookworm-security', package: 'linux-source-6.1' },
    });
  });

  it('downloads 3.9.11, identified by its pinned sha256', async () => {
    expect(await resolveSource('3.9.11')).toEqual({
      requested: '3.9.11',
      kind: 'download',
      version: '3.9.11',
      scriptArgs: ['--version', '3.9.11', '--sources', cache.sources()],
      identity: 'sha256:d4b9e522925d9b1b3fd130c8b7690ef6af4faf118fc4c5e28dfcbb18de3cb234',
    });
  });

  it('refuses 9.99, which is well-formed but not pinned, and lists the pinned ones', async () => {
    const error = await badInput(resolveSource('9.99'));
    expect(error.message).toContain('9.99 is not in the pinned table');
    expect(error.fix).toContain('--sha256');
    expect(error.fix).toContain('3.9.11');
  });

  it('trusts an unpinned version given with --sha256', async () => {
    expect(await resolveSource('9.99', hex64)).toMatchObject({
      kind: 'download',
      scriptArgs: ['--version', '9.99', '--sha256', hex64, '--sources', cache.sources()],
      identity: `sha256:${hex64}`,
    });
  });

  it.each(['xyz', 'A'.repeat(64), 'a'.repeat(63), ''])('refuses --sha256 %j', async (sha) => {
    expect((await badInput(resolveSource('3.9.11', sha))).message).toContain('is not a sha256');
  });

  it.each(['latest!', '6.1.x', '/nonexistent/linux.tar.xz', 'nonexistent-dir'])('refuses %j', async (requested) => {
    await badInput(resolveSource(requested));
  });
});

describe('resolveSource: trees', () => {
  it('reads the version of a source tree and keys it by place, version and Makefile age', async () => {
    const tree = writeFakeTree(tempDir());
    const source = await resolveSource(tree);
    expect(source).toMatchObject({ kind: 'tree', version: '6.1', scriptArgs: ['--source', tree], path: tree });
    expect(source.identity).toMatch(new RegExp(`^tree:${tree}:6\\.1:\\d+(\\.\\d+)?$`));
  });

  it('refuses --sha256 with a tree', async () => {
    const tree = writeFakeTree(tempDir());
    expect((await badInput(resolveSource(tree, hex64))).message).toContain('--sha256 applies to a tarball');
  });

  it('refuses a folder that is not a kernel tree', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'kernel'));
    writeFileSync(join(dir, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 1\n');
    expect((await badInput(resolveSource(dir))).message).toContain('is not a Linux source tree');
  });
});

describe('resolveSource: tarballs', () => {
  const members = ['Makefile', 'kernel/sched.c', 'arch/x86/entry/syscalls/syscall_64.tbl', 'include/linux/syscalls.h'];

  it('reads the version out of a tarball and keys it by the sha256 of its bytes', async () => {
    const dir = tempDir();
    const tarball = await makeTarball(dir, 'linux-6.1.tar.xz', members);
    const source = await resolveSource(tarball);
    expect(source).toEqual({
      requested: tarball,
      kind: 'tarball',
      version: '6.1',
      scriptArgs: ['--source', tarball],
      identity: `sha256:${sha256Of(tarball)}`,
      path: tarball,
    });
  });

  it('checks --sha256 against the tarball and passes it on to the script', async () => {
    const dir = tempDir();
    const tarball = await makeTarball(dir, 'linux-6.1.tar.xz', members);
    const sha = sha256Of(tarball);
    expect((await resolveSource(tarball, sha)).scriptArgs).toEqual(['--source', tarball, '--sha256', sha]);
    const error = await badInput(resolveSource(tarball, hex64));
    expect(error.message).toContain(`is ${sha}, expected ${hex64}`);
  });

  it('refuses garbage bytes named .tar.xz', async () => {
    const file = join(tempDir(), 'x.tar.xz');
    writeFileSync(file, filler(4096));
    expect((await badInput(resolveSource(file))).message).toMatch(/not a readable tar archive|truncated or corrupt/);
  });

  it('refuses a truncated tarball even when its Makefile comes before the cut', async () => {
    const dir = tempDir();
    const tarball = await makeTarball(dir, 'linux-6.1.tar.xz', [...members, 'kernel/big.bin'], {
      extra: { 'kernel/big.bin': filler() },
    });
    const cut = truncateCopy(tarball, join(dir, 'cut.tar.xz'));
    const error = await badInput(versionOfTarball(cut));
    expect(error.message).toContain('truncated or corrupt');
  });

  it('refuses a tarball without a top-level Makefile', async () => {
    const dir = tempDir();
    const tarball = await makeTarball(dir, 'not-kernel.tar.xz', ['kernel/sched.c']);
    expect((await badInput(resolveSource(tarball))).message).toContain('holds no linux-6.1/Makefile');
  });
});
