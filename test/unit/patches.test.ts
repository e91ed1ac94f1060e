import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors.ts';
import { addedSyscalls, addedSyscallsOfSet, assertIsPatch, readPatchSet } from '../../src/kernel/patches.ts';
import { projectRoot } from '../../src/paths.ts';
import { callcountPatch, taskcountPatch } from './support/fake-kernel.ts';
import { useTempDirs } from './support/temp.ts';
import { thrown } from './support/thrown.ts';

const tempDir = useTempDirs('syscall-lab-patches-');
const patches61 = join(projectRoot, 'patches-6.1');

async function badInput(promise: Promise<unknown>): Promise<BadInputError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(BadInputError);
  expect((error as BadInputError).exitCode).toBe(2);
  return error as BadInputError;
}

describe('readPatchSet', () => {
  it('lists patches-6.1 in name order, as absolute paths, without notices', async () => {
    const set = await readPatchSet(patches61);
    expect(set.dir).toBe(patches61);
    expect(set.files).toEqual([join(patches61, '0001-callcount.patch'), join(patches61, '0002-taskcount.patch')]);
    expect(set.notices).toEqual([]);
  });

  it('orders *.diff and *.patch together by name and ignores other files with a notice', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'b.patch'), taskcountPatch);
    writeFileSync(join(dir, 'a.diff'), callcountPatch);
    writeFileSync(join(dir, 'README.txt'), 'notes\n');
    mkdirSync(join(dir, 'old'));
    const set = await readPatchSet(dir);
    expect(set.files).toEqual([join(dir, 'a.diff'), join(dir, 'b.patch')]);
    expect(set.notices).toHaveLength(1);
    expect(set.notices[0]).toContain('README.txt');
    expect(set.notices[0]).toContain('not a *.patch or *.diff');
  });

  it('follows a series file (comments and blank lines ignored) over name order', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.patch'), callcountPatch);
    writeFileSync(join(dir, 'b.patch'), taskcountPatch);
    writeFileSync(join(dir, 'series'), '# applied in this order\nb.patch\n\na.patch   # the first one\n');
    const set = await readPatchSet(dir);
    expect(set.files).toEqual([join(dir, 'b.patch'), join(dir, 'a.patch')]);
    expect(set.notices).toEqual([]);
  });

  it('lists only what the series file names', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.patch'), callcountPatch);
    writeFileSync(join(dir, 'b.patch'), taskcountPatch);
    writeFileSync(join(dir, 'series'), 'a.patch');
    expect((await readPatchSet(dir)).files).toEqual([join(dir, 'a.patch')]);
  });

  it('refuses a series file naming a missing patch', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.patch'), callcountPatch);
    writeFileSync(join(dir, 'series'), 'a.patch\nmissing.patch\n');
    const error = await badInput(readPatchSet(dir));
    expect(error.message).toContain('missing.patch');
    expect(error.message).toContain('does not exist');
  });

  it('refuses an empty folder, with the cause and the fix split', async () => {
    const dir = tempDir();
    const error = await badInput(readPatchSet(dir));
    expect(error.message).toBe(`patch folder ${dir} holds no *.patch or *.diff file`);
    expect(error.fix).toBe('add one, or point --patches elsewhere');
  });

  it('refuses a folder holding only non-patches (and still says which were ignored)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'README.txt'), 'notes\n');
    const error = await badInput(readPatchSet(dir));
    expect(error.message).toMatch(/holds no \*\.patch or \*\.diff/);
  });

  it('refuses a missing folder', async () => {
    const dir = join(tempDir(), 'nope');
    const error = await badInput(readPatchSet(dir));
    expect(error.message).toContain(dir);
    expect(error.message).toContain('does not exist');
  });

  it('refuses a *.patch that is not a unified diff, naming the file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '0001-good.patch'), callcountPatch);
    writeFileSync(join(dir, '0002-notes.patch'), 'I meant to add a syscall here.\n');
    const error = await badInput(readPatchSet(dir));
    expect(error.message).toContain(join(dir, '0002-notes.patch'));
    expect(error.message).toContain('not a unified diff');
  });
});

describe('assertIsPatch', () => {
  it('accepts a diff with a +++ header and an @@ hunk', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'x.patch'), callcountPatch);
    expect(() => {
      assertIsPatch(join(dir, 'x.patch'));
    }).not.toThrow();
  });

  it('refuses a file with a header but no hunk, and one with a hunk but no header', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'header-only.patch'), '--- a/x\n+++ b/x\n');
    writeFileSync(join(dir, 'hunk-only.patch'), '@@ -1 +1 @@\n-a\n+b\n');
    expect(() => {
      assertIsPatch(join(dir, 'header-only.patch'));
    }).toThrow(BadInputError);
    expect(() => {
      assertIsPatch(join(dir, 'hunk-only.patch'));
    }).toThrow(BadInputError);
  });
});

describe('addedSyscalls', () => {
  it('finds callcount 451 and taskcount 452 in patches-6.1', async () => {
    const added = addedSyscallsOfSet(await readPatchSet(patches61));
    expect(added).toEqual([
      { number: 451, abi: 'common', name: 'callcount', entry: 'sys_callcount', patch: '0001-callcount.patch' },
      { number: 452, abi: 'common', name: 'taskcount', entry: 'sys_taskcount', patch: '0002-taskcount.patch' },
    ]);
  });

  it('reads only "+" lines of syscall_64.tbl hunks (not context, not other files)', () => {
    const other = `--- a/Documentation/x.txt\n+++ b/Documentation/x.txt\n@@ -1 +1,2 @@\n x\n+999\tcommon\tnot_a_syscall\tsys_nope\n`;
    const added = addedSyscalls([
      { file: '/p/a.patch', text: callcountPatch },
      { file: '/p/b.patch', text: taskcountPatch },
      { file: '/p/c.patch', text: other },
    ]);
    expect(added.map((s) => [s.number, s.name, s.patch])).toEqual([
      [3, 'callcount', 'a.patch'],
      [4, 'taskcount', 'b.patch'],
    ]);
  });

  it('finds nothing in a patch set without a table hunk', () => {
    expect(
      addedSyscalls([{ file: 'x.patch', text: '--- a/k.c\n+++ b/k.c\n@@ -1 +1 @@\n-a\n+451 common x sys_x\n' }]),
    ).toEqual([]);
  });

  it('refuses two patches adding number 451, naming both files', () => {
    const mine = `--- a/arch/x86/entry/syscalls/syscall_64.tbl\n+++ b/arch/x86/entry/syscalls/syscall_64.tbl\n@@ -1,1 +1,2 @@\n 450\tcommon\tset_mempolicy_home_node\tsys_set_mempolicy_home_node\n+451\tcommon\tmine\t\tsys_mine\n`;
    const theirs = mine.replaceAll('mine', 'theirs');
    const error = thrown(() =>
      addedSyscalls([
        { file: '/x/0001-mine.patch', text: mine },
        { file: '/x/0002-theirs.patch', text: theirs },
      ]),
    );
    expect(error).toBeInstanceOf(BadInputError);
    const message = (error as BadInputError).message;
    expect(message).toContain('0001-mine.patch');
    expect(message).toContain('0002-theirs.patch');
    expect(message).toContain('451');
  });

  it('refuses the same clash when read from a folder', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '0001-callcount.patch'), callcountPatch);
    writeFileSync(join(dir, '0002-again.patch'), callcountPatch.replaceAll('callcount', 'again'));
    const set = await readPatchSet(dir);
    expect(() => addedSyscallsOfSet(set)).toThrow(
      /0001-callcount\.patch and 0002-again\.patch both add syscall number 3/,
    );
  });
});
