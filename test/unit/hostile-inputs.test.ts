import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { upgradeKernelScript } from '../../src/paths.ts';
import { callcountPatch, fakeTreeFiles, writeFakeTree } from './support/fake-kernel.ts';
import { snapshotTree, useTempDirs } from './support/temp.ts';

// Hostile inputs to upgrade-kernel.sh: tarball members and patch paths that would put files
// outside the tree, and patches that make symlinks. Each is refused with exit 65 (syscall-lab's
// exit 2) and one error line naming the cause, before anything is copied, applied or built, and
// nothing lands outside --work. Every run happens in a sandbox folder: its own TMPDIR (where the
// dry run's scratch copy goes), --work, the source and the patches, with the sandbox compared
// before and after.
const tempDir = useTempDirs('syscall-lab-hostile-');

interface Sandbox {
  root: string;
  tmp: string;
  work: string;
  patches: string;
}

function sandbox(): Sandbox {
  const root = tempDir();
  const box = { root, tmp: join(root, 'tmp'), work: join(root, 'work'), patches: join(root, 'patches') };
  for (const dir of [box.tmp, box.work, box.patches]) mkdirSync(dir);
  return box;
}

async function script(box: Sandbox, args: string[]) {
  return execa(upgradeKernelScript, [...args, '--work', box.work], {
    reject: false,
    timeout: 30_000,
    env: { TMPDIR: box.tmp, LC_ALL: 'C' },
  });
}

/** The one error line (the script prints nothing else on stderr when it refuses bad input). */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

// --- tarballs ----------------------------------------------------------------------------------

/**
 * A tarball of a fake 6.1 tree under linux-6.1/, plus whatever `add` makes in the tree folder
 * (symlinks, odd names) and extra tar arguments (members renamed with --transform, -P).
 */
async function tarball(
  box: Sandbox,
  add: (tree: string) => void = () => undefined,
  tarArgs: string[] = [],
  members = ['linux-6.1'],
): Promise<string> {
  const content = join(box.root, 'content');
  const tree = writeFakeTree(join(content, 'linux-6.1'));
  add(tree);
  const file = join(box.root, 'linux-6.1.tar');
  writeFileSync(join(box.patches, '0001-callcount.patch'), callcountPatch);
  await execa('tar', ['-cf', file, ...tarArgs, '-C', content, ...members]);
  return file;
}

async function checkTarball(box: Sandbox, file: string) {
  return script(box, ['--source', file, '--patches', box.patches, '--check-patches']);
}

/** What a refused run must leave: --work and TMPDIR empty, the rest of the sandbox as it was. */
function expectUntouched(box: Sandbox, before: Record<string, string>): void {
  expect(readdirSync(box.work)).toEqual([]);
  expect(readdirSync(box.tmp)).toEqual([]);
  expect(snapshotTree(box.root)).toEqual(before);
}

describe('upgrade-kernel.sh refuses tarball members that leave the tree (--check-patches and the build)', () => {
  it.each<[string, (tree: string) => void, string]>([
    [
      'an absolute symlink target',
      (tree) => {
        symlinkSync('/etc/passwd', join(tree, 'kernel', 'pw'));
      },
      '"linux-6.1/kernel/pw" -> "/etc/passwd" (an absolute link target)',
    ],
    [
      'a symlink two levels up from the top folder (the top is stripped: ../../x leaves)',
      (tree) => {
        symlinkSync('../../x', join(tree, 'a'));
      },
      '"linux-6.1/a" -> "../../x" (a link out of the tree)',
    ],
    [
      'a symlink one level up from the top folder',
      (tree) => {
        symlinkSync('../x', join(tree, 'a'));
      },
      '"linux-6.1/a" -> "../x" (a link out of the tree)',
    ],
    [
      'a symlink that climbs out from deeper down',
      (tree) => {
        symlinkSync('../../../etc/passwd', join(tree, 'kernel', 'pw'));
      },
      '"linux-6.1/kernel/pw" -> "../../../etc/passwd" (a link out of the tree)',
    ],
    [
      'a member written through a symlink of the archive',
      (tree) => {
        symlinkSync('kernel', join(tree, 'k'));
        mkdirSync(join(tree, 'real'));
        writeFileSync(join(tree, 'real', 'evil.c'), 'evil\n');
      },
      '', // set below: needs a renamed member
    ],
    [
      'a ".." after a symlink to a folder (counting ".." says nothing there)',
      (tree) => {
        symlinkSync('..', join(tree, 'kernel', 'up'));
        symlinkSync('kernel/up/..', join(tree, 'x'));
      },
      '"linux-6.1/x" -> "kernel/up/.." (a link with ".." after the symlink kernel/up)',
    ],
    [
      'a name with " -> " in it',
      (tree) => {
        writeFileSync(join(tree, 'kernel', 'a -> b.c'), 'x\n');
      },
      '"linux-6.1/kernel/a -> b.c" (" -> " in a name)',
    ],
  ])('refuses %s with exit 65, naming the member, and writes nothing', async (what, add, shown) => {
    const box = sandbox();
    const written = what.startsWith('a member written through');
    const file = await tarball(
      box,
      add,
      written ? ['--transform', 's,^linux-6.1/real/evil.c$,linux-6.1/k/evil.c,'] : [],
    );
    const expected = written ? '"linux-6.1/k/evil.c" (written through the symlink k)' : shown;
    const before = snapshotTree(box.root);

    const checked = await checkTarball(box, file);
    expect(checked.exitCode).toBe(65);
    expect(errorLine(checked.stderr)).toBe(
      `upgrade-kernel.sh: error: ${file} has members that point outside the tree: ${expected} (fix: use a genuine kernel tarball)`,
    );
    expect(checked.stdout).not.toContain('patch series applies cleanly');
    expectUntouched(box, before);

    // A build refuses it too (its unpack checks the members of a tarball the dry run did not see).
    const built = await script(box, ['--source', file, '--build-only', join(box.work, 'out')]);
    expect(built.exitCode).toBe(65);
    expect(built.stderr).toContain(expected);
    expect(built.stdout).not.toContain('phase configure');
    expectUntouched(box, before);
  });

  it('refuses a ".." member name and an absolute one (tar -P keeps them)', async () => {
    const box = sandbox();
    const content = join(box.root, 'content');
    const file = await tarball(
      box,
      () => {
        writeFileSync(join(content, 'evil'), 'evil\n');
        writeFileSync(join(content, 'abs'), 'abs\n');
      },
      ['-P', '--transform', 's,^evil$,linux-6.1/../../evil,', '--transform', 's,^abs$,/tmp/syscall-lab-abs,'],
      ['linux-6.1', 'evil', 'abs'],
    );
    const listing = await execa('tar', ['-tf', file]);
    expect(listing.stdout.split('\n')).toEqual(
      expect.arrayContaining(['linux-6.1/../../evil', '/tmp/syscall-lab-abs']),
    );
    const before = snapshotTree(box.root);
    const result = await checkTarball(box, file);
    expect(result.exitCode).toBe(65);
    expect(errorLine(result.stderr)).toContain(
      'has members that point outside the tree: "linux-6.1/../../evil" (".." in its name); "/tmp/syscall-lab-abs" (an absolute name) (fix:',
    );
    expectUntouched(box, before);
    expect(existsSync('/tmp/syscall-lab-abs')).toBe(false);
  });

  it('refuses a hard link to a member outside the tree', async () => {
    const box = sandbox();
    // Two names of one file: tar stores the second as a hard link to the first, renamed out of the tree.
    const file = await tarball(
      box,
      (tree) => {
        writeFileSync(join(tree, 'kernel', 'a'), 'secret\n');
        linkSync(join(tree, 'kernel', 'a'), join(tree, 'kernel', 'hl'));
      },
      ['--no-recursion', '--transform', 's,^linux-6.1/kernel/a$,outside,'],
      [...Object.keys(fakeTreeFiles), 'kernel/a', 'kernel/hl'].map((name) => `linux-6.1/${name}`),
    );
    expect((await execa('tar', ['-tvf', file])).stdout).toContain('linux-6.1/kernel/hl link to outside');
    const before = snapshotTree(box.root);
    const result = await checkTarball(box, file);
    expect(result.exitCode).toBe(65);
    expect(errorLine(result.stderr)).toContain('"linux-6.1/kernel/hl" link to "outside" (a hard link out of the tree)');
    expectUntouched(box, before);
  });

  it('names three members and counts the rest', async () => {
    const box = sandbox();
    const file = await tarball(box, (tree) => {
      for (const n of [1, 2, 3, 4, 5]) symlinkSync(`/etc/${n}`, join(tree, `l${n}`));
    });
    const result = await checkTarball(box, file);
    expect(result.exitCode).toBe(65);
    expect(errorLine(result.stderr)).toMatch(
      /\(an absolute link target\); and 2 more \(fix: use a genuine kernel tarball\)$/,
    );
  });

  it('takes names with spaces, newlines, quotes, backslashes and tabs, and links that stay inside', async () => {
    const box = sandbox();
    const odd = ['with space.c', 'new\nline.c', 'quo"te.c', 'back\\slash.c', 'tab\there.c', 'arrow->tight.c'];
    const file = await tarball(box, (tree) => {
      for (const name of odd) writeFileSync(join(tree, 'kernel', name), `${name}\n`);
      // A link beside its target, one going up inside the tree, and one through a folder link without "..".
      symlinkSync('syscalls.h', join(tree, 'include', 'linux', 'alias.h'));
      mkdirSync(join(tree, 'kernel', 'sub'));
      symlinkSync('../sched.c', join(tree, 'kernel', 'sub', 'up.c'));
      symlinkSync('kernel', join(tree, 'k'));
      symlinkSync('k/sched.c', join(tree, 'via-k.c'));
      linkSync(join(tree, 'kernel', 'sched.c'), join(tree, 'kernel', 'hard.c'));
    });
    const checked = await checkTarball(box, file);
    expect(checked.stderr).toBe('');
    expect(checked.exitCode).toBe(0);
    expect(readdirSync(box.work)).toEqual([]);

    // The build unpacks it (and stops at configure: there is no kernel to configure here).
    const built = await script(box, ['--source', file, '--build-only', join(box.work, 'out')]);
    expect(built.stdout).toContain('phase configure');
    const tree = join(box.work, 'linux-6.1');
    for (const name of odd) expect(readFileSync(join(tree, 'kernel', name), 'utf8')).toBe(`${name}\n`);
    expect(readFileSync(join(tree, 'kernel', 'sub', 'up.c'), 'utf8')).toBe('void schedule(void) {}\n');
    expect(readFileSync(join(tree, 'via-k.c'), 'utf8')).toBe('void schedule(void) {}\n');
    expect(readdirSync(box.root).sort()).toEqual(['content', 'linux-6.1.tar', 'patches', 'tmp', 'work']);
  });
});

// --- patch paths and symlinks ------------------------------------------------------------------

const newFile = (header: string, body = '+evil\n'): string =>
  `${header}@@ -0,0 +1,${body.split('\n').length - 1} @@\n${body}`;

describe('upgrade-kernel.sh refuses patch paths that leave the tree, before anything is copied', () => {
  it.each<[string, string, number, string]>([
    ['+++ b/../../x', newFile('--- /dev/null\n+++ b/../../x\n'), 2, `the path 'b/../../x' has a ".." component`],
    ['--- a/../x', `--- a/../x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n`, 1, `the path 'a/../x' has a ".." component`],
    [
      'a ".." deeper down',
      newFile('--- /dev/null\n+++ b/kernel/../../x\n'),
      2,
      `the path 'b/kernel/../../x' has a ".." component`,
    ],
    ['an absolute +++ path', newFile('--- /dev/null\n+++ /etc/cron.d/x\n'), 2, `the path '/etc/cron.d/x' is absolute`],
    [
      'a quoted path with octal dots',
      newFile('--- /dev/null\n+++ "b/\\056\\056/x"\n'),
      2,
      `the path '"b/\\056\\056/x"' has a ".." component`,
    ],
    [
      'diff --git with a ".." name',
      `diff --git a/x b/../y\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n`,
      1,
      `the path 'b/../y' has a ".." component`,
    ],
    [
      'diff --git with quoted names',
      `diff --git "a/../y" "b/../y"\nnew file mode 100644\n--- /dev/null\n+++ b/y\n@@ -0,0 +1 @@\n+y\n`,
      1,
      `the path '"a/../y"' has a ".." component`,
    ],
    [
      'rename to ../y (no prefix to strip)',
      'diff --git a/kernel/sched.c b/kernel/sched.c\nsimilarity index 100%\nrename from kernel/sched.c\nrename to ../sched.c\n',
      4,
      `the path '../sched.c' has a ".." component`,
    ],
    [
      'rename from an absolute path',
      'diff --git a/x b/y\nsimilarity index 100%\nrename from /etc/shadow\nrename to y\n',
      3,
      `the path '/etc/shadow' is absolute`,
    ],
    [
      'copy to ../y',
      'diff --git a/x b/y\nsimilarity index 100%\ncopy from kernel/sched.c\ncopy to ../../y\n',
      4,
      `the path '../../y' has a ".." component`,
    ],
    [
      'an Index: line',
      'Index: b/../x\n' + newFile('--- /dev/null\n+++ b/x\n'),
      1,
      `the path 'b/../x' has a ".." component`,
    ],
  ])('refuses %s (exit 65, naming the patch and the path)', async (_what, text, line, message) => {
    await expectRefusedPatch(text, `line ${line}: ${message}: it leaves the kernel tree`);
  });

  it('refuses a patch that creates a symlink, or turns a file into one, or changes one', async () => {
    const link =
      'diff --git a/k b/k\nnew file mode 120000\nindex 0000000..1de5659\n--- /dev/null\n+++ b/k\n@@ -0,0 +1 @@\n+/etc\n\\ No newline at end of file\n';
    await expectRefusedPatch(link, "line 2: 'new file mode 120000' makes a symbolic link");
    const mode = 'diff --git a/kernel/sched.c b/kernel/sched.c\nold mode 100644\nnew mode 120000\n';
    await expectRefusedPatch(mode, "line 3: 'new mode 120000' makes a symbolic link");
    const retarget =
      'diff --git a/k b/k\nindex 1de5659..2de5659 120000\n--- a/k\n+++ b/k\n@@ -1 +1 @@\n-kernel\n+/etc\n';
    await expectRefusedPatch(retarget, "line 2: 'index 1de5659..2de5659 120000' makes a symbolic link");
  });

  it('the series is refused whole: a bad second patch stops the first from being tried', async () => {
    const box = sandbox();
    const tree = writeFakeTree(join(box.root, 'tree'));
    writeFileSync(join(box.patches, '0001-callcount.patch'), callcountPatch);
    writeFileSync(join(box.patches, '0002-evil.patch'), newFile('--- /dev/null\n+++ b/../../x\n'));
    const result = await script(box, ['--source', tree, '--patches', box.patches, '--check-patches']);
    expect(result.exitCode).toBe(65);
    expect(errorLine(result.stderr)).toContain(`patch ${join(box.patches, '0002-evil.patch')}: line 2:`);
    expect(readdirSync(box.tmp)).toEqual([]);
  });

  // Before this check the dry run copied tree/../../x to scratch/../../x: outside the scratch folder.
  it('copies nothing from or to outside the tree: the file beside the tree stays where it is', async () => {
    const box = sandbox();
    const tree = writeFakeTree(join(box.root, 'src', 'linux', 'tree'));
    writeFileSync(join(box.root, 'src', 'x'), 'victim\n');
    mkdirSync(join(box.tmp, 'deeper'));
    const text = `--- a/../../x\n+++ b/../../x\n@@ -1 +1 @@\n-victim\n+changed\n`;
    writeFileSync(join(box.patches, 'evil.patch'), text);
    const before = snapshotTree(box.root);
    const result = await execa(
      upgradeKernelScript,
      ['--source', tree, '--patches', box.patches, '--check-patches', '--work', box.work],
      { reject: false, env: { TMPDIR: join(box.tmp, 'deeper'), LC_ALL: 'C' } },
    );
    expect(result.exitCode).toBe(65);
    expect(snapshotTree(box.root)).toEqual(before);
  });
});

async function expectRefusedPatch(text: string, message: string): Promise<void> {
  const box = sandbox();
  const tree = writeFakeTree(join(box.root, 'tree'));
  const patch = join(box.patches, 'evil.patch');
  writeFileSync(patch, text);
  const before = snapshotTree(box.root);
  const expected = `upgrade-kernel.sh: error: patch ${patch}: ${message} (fix: ${message.includes('symbolic link') ? 'leave links out of the patch: it may only create and change regular files' : 'make every path in it relative to the top of the tree, without "..", as git format-patch and diff -uNr a/ b/ write them'})`;
  const result = await script(box, ['--source', tree, '--patches', box.patches, '--check-patches']);
  expect(result.exitCode).toBe(65);
  expect(errorLine(result.stderr)).toBe(expected);
  expect(result.stdout).not.toContain('applies cleanly');
  expectUntouched(box, before);
  // The same check without a tree, for builds that are made already (no dry run).
  const inputsOnly = await script(box, ['--check-inputs', '6.1', '--patches', box.patches]);
  expect(inputsOnly.exitCode).toBe(65);
  expect(errorLine(inputsOnly.stderr)).toBe(expected);
  expectUntouched(box, before);
}
