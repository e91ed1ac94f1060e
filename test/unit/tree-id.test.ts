import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors.ts';
import { tarballTreeId } from '../../src/kernel/tree-id.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-tree-id-');

/** A folder with what makes git's tree ids tricky: modes, a symlink, a hard link, empty folders, sort order. */
function makeTop(parent: string): string {
  const top = join(parent, 'linux-6.1');
  for (const dir of ['a', 'a-b', 'empty/inner', 'kernel/sched', 'scripts'])
    mkdirSync(join(top, dir), { recursive: true });
  writeFileSync(join(top, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 1\n');
  writeFileSync(join(top, 'a.c'), 'int a;\n');
  writeFileSync(join(top, 'a', 'b.c'), 'int b;\n');
  writeFileSync(join(top, 'a-b', 'c.c'), '');
  writeFileSync(join(top, 'kernel/sched', 'core.c'), 'void schedule(void) {}\n'.repeat(5000));
  writeFileSync(join(top, 'scripts', 'decode_stacktrace.sh'), '#!/bin/sh\n');
  chmodSync(join(top, 'scripts', 'decode_stacktrace.sh'), 0o755);
  // Only the owner's exec bit makes git's 100755.
  writeFileSync(join(top, 'scripts', 'group-exec.sh'), '#!/bin/sh\n');
  chmodSync(join(top, 'scripts', 'group-exec.sh'), 0o654);
  symlinkSync('../a.c', join(top, 'kernel', 'link-to-a'));
  linkSync(join(top, 'a', 'b.c'), join(top, 'kernel', 'hard-b.c'));
  return top;
}

/** What git gives the same folder committed: `git add -A` then `git write-tree`. */
async function gitTreeOf(top: string): Promise<string> {
  await execa('git', ['init', '-q'], { cwd: top });
  await execa('git', ['add', '-A'], { cwd: top });
  return (await execa('git', ['write-tree'], { cwd: top })).stdout.trim();
}

describe('tarballTreeId', () => {
  it.each([
    ['xz', ['-cJf']],
    ['gzip', ['-czf']],
    ['no compression', ['-cf']],
  ])("a tarball's files under its top folder give the tree id git gives them (%s)", async (_name, create) => {
    const parent = tempDir();
    const top = makeTop(parent);
    const tarball = join(tempDir(), 'linux-6.1.tar');
    await execa('tar', [...create, tarball, '-C', parent, 'linux-6.1']);
    expect(await tarballTreeId(tarball)).toBe(await gitTreeOf(top));
  });

  it('differs when one byte or one mode differs', async () => {
    const ids: string[] = [];
    for (const change of [
      (): void => undefined,
      (top: string): void => {
        writeFileSync(join(top, 'a.c'), 'int A;\n');
      },
      (top: string): void => {
        chmodSync(join(top, 'a.c'), 0o755);
      },
    ]) {
      const parent = tempDir();
      change(makeTop(parent));
      const tarball = join(tempDir(), 'linux.tar.xz');
      await execa('tar', ['-cJf', tarball, '-C', parent, 'linux-6.1']);
      ids.push(await tarballTreeId(tarball));
    }
    expect(new Set(ids).size).toBe(3);
  });

  it('a tarball without files under a top folder is bad input; a corrupt one fails', async () => {
    const parent = tempDir();
    mkdirSync(join(parent, 'linux-6.1', 'empty'), { recursive: true });
    const tarball = join(tempDir(), 'empty.tar.xz');
    await execa('tar', ['-cJf', tarball, '-C', parent, 'linux-6.1']);
    await expect(tarballTreeId(tarball)).rejects.toBeInstanceOf(BadInputError);
    const corrupt = join(tempDir(), 'corrupt.tar.xz');
    writeFileSync(corrupt, Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(64, 7)]));
    await expect(tarballTreeId(corrupt)).rejects.toThrow();
  });
});
