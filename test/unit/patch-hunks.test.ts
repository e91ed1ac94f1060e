import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { projectRoot, upgradeKernelScript } from '../../src/paths.ts';
import { callcountPatch, taskcountPatch, writeFakeTree } from './support/fake-kernel.ts';
import { useTempDirs } from './support/temp.ts';

// A hunk whose body has more or fewer lines than its "@@ -a,b +c,d @@" header counts is refused
// before the dry run: GNU patch applies such a hunk by the header's counts and silently drops the
// rest (hello-syscall's new file once lost its closing brace, and the build failed far away).
// The counting must read what git format-patch and diff -uNr write, and the project's own series.
const tempDir = useTempDirs('syscall-lab-hunks-');

/** The fake tree the patches here apply to: the usual files, and one without a final newline. */
const extraFiles = { 'kernel/nonl.c': 'int a;\nint b;' };

async function checkPatches(dir: string, tree = writeFakeTree(tempDir(), extraFiles)) {
  const tmp = tempDir();
  const result = await execa(
    upgradeKernelScript,
    ['--source', tree, '--patches', dir, '--check-patches', '--work', tempDir()],
    { reject: false, timeout: 30_000, env: { TMPDIR: tmp, LC_ALL: 'C' } },
  );
  return Object.assign(result, { tmp });
}

function patchDir(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const git = (repo: string, args: string[]) =>
  execa(
    'git',
    ['-c', 'user.name=syscall-lab', '-c', 'user.email=lab@example.org', '-c', 'commit.gpgsign=false', ...args],
    {
      cwd: repo,
    },
  );

/**
 * Two commits on the fake tree, as git format-patch writes them: message lines that start with
 * "-" and "+", the "---" before the diffstat, new files whose lines start with "-- ",
 * "--- " and "+++ ", a file without a final newline, and the "-- " signature after the last hunk.
 */
async function formatPatchRepo(): Promise<{ repo: string; out: string }> {
  const repo = writeFakeTree(tempDir(), extraFiles);
  await git(repo, ['init', '-q']);
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '-q', '-m', 'base']);
  writeFileSync(
    join(repo, 'arch/x86/entry/syscalls/syscall_64.tbl'),
    readFileSync(join(repo, 'arch/x86/entry/syscalls/syscall_64.tbl'), 'utf8').replace(
      '2\tcommon\topen\t\t\tsys_open\n',
      '2\tcommon\topen\t\t\tsys_open\n3\tcommon\tcallcount\t\tsys_callcount\n',
    ),
  );
  mkdirSync(join(repo, 'mysyscalls'));
  writeFileSync(join(repo, 'mysyscalls', 'notes.txt'), '-- \n--- not a header\n+++ nor this\n- item\n@@ -1 +1 @@\n');
  writeFileSync(join(repo, 'kernel/nonl.c'), 'int a;\nint c;');
  await git(repo, ['add', '-A']);
  await git(repo, [
    'commit',
    '-q',
    '-m',
    'add callcount\n\n- a message line that starts with "-"\n+ and one with "+"\n',
  ]);
  writeFileSync(join(repo, 'kernel/sched.c'), 'void schedule(void) {}\nlong callcount_calls;\n');
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '-q', '-m', 'count calls']);
  const out = tempDir();
  await git(repo, ['format-patch', '-q', '-2', '-o', out]);
  return { repo, out };
}

/** Cuts line `index` (0-based) of a text. */
const withoutLine = (text: string, index: number): string =>
  text
    .split('\n')
    .filter((_, i) => i !== index)
    .join('\n');

const lineOf = (text: string, prefix: string): number => text.split('\n').findIndex((l) => l.startsWith(prefix));

describe('upgrade-kernel.sh reads hunks as git format-patch and diff -uNr write them', () => {
  it('git format-patch output (message, "---" and diffstat, "-- " signature) applies', async () => {
    const { out } = await formatPatchRepo();
    const files = readdirSync(out);
    expect(files).toHaveLength(2);
    const first = readFileSync(join(out, files[0]!), 'utf8');
    expect(first).toMatch(/^---$/m);
    expect(first).toMatch(/^-- $/m);
    expect(first).toContain('\\ No newline at end of file');
    const result = await checkPatches(out);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('patch series applies cleanly (2 patches, dry run)');
    expect(result.exitCode).toBe(0);
  });

  it('git format-patch --stdout (one mbox of both commits) applies', async () => {
    const { repo } = await formatPatchRepo();
    const mbox = (await git(repo, ['format-patch', '--stdout', '-2'])).stdout;
    expect(mbox.match(/^-- $/gm)).toHaveLength(2);
    const result = await checkPatches(patchDir({ 'series.patch': `${mbox}\n` }));
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('diff -uNr output (a new file, a changed file, no final newline) applies', async () => {
    const root = tempDir();
    const before = writeFakeTree(join(root, 'a'), extraFiles);
    const after = writeFakeTree(join(root, 'b'), {
      ...extraFiles,
      'kernel/nonl.c': 'int a;\nint b;\nint c;',
      'mysyscalls/callcount.c': '-- \n--- x\n+++ y\nlong callcount_calls;\n',
    });
    expect(before).not.toBe(after);
    const diff = await execa('diff', ['-uNr', 'a', 'b'], { cwd: root, reject: false });
    expect(diff.exitCode).toBe(1);
    expect(diff.stdout).toContain('\\ No newline at end of file');
    const result = await checkPatches(patchDir({ 'a.diff': `${diff.stdout}\n` }));
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('the fake series (diff -uNr with a From:/Subject: header) applies', async () => {
    const result = await checkPatches(patchDir({ '1.patch': callcountPatch, '2.patch': taskcountPatch }));
    expect(result.exitCode).toBe(0);
  });

  // The real series do not apply to the fake tree: reaching the dry run ("does not apply") shows
  // that every patch of the series passed the text checks first.
  const series = [
    'patches-6.1',
    'patches-3.9.11',
    'src/kernel/compat/linux-3.9',
    ...readdirSync(join(projectRoot, 'test/fixtures/patches')).map((name) => `test/fixtures/patches/${name}`),
  ];
  it.each(series)("the project's %s passes the text checks", async (dir) => {
    const result = await checkPatches(join(projectRoot, dir));
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toContain('does not apply (nothing was changed)');
    expect(result.stderr).not.toMatch(/hunk \d+ \(|the path '|makes a symbolic link/);
  });
});

describe('upgrade-kernel.sh refuses a hunk whose body does not match its header', () => {
  const fix = '(fix: regenerate the patch with git format-patch or diff -u, or correct the counts in that @@ line)';
  const dropped = 'GNU patch would apply what the header counts and silently drop or misread the rest';

  async function expectRefused(text: string, hunk: string): Promise<void> {
    const patches = patchDir({ '0001-x.patch': text });
    const result = await checkPatches(patches);
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toBe(
      `upgrade-kernel.sh: error: patch ${join(patches, '0001-x.patch')}: ${hunk}: ${dropped} ${fix}`,
    );
    expect(result.stdout).not.toContain('dry run');
    expect(readdirSync(result.tmp)).toEqual([]);
  }

  it("a header one line short of its body (hello-syscall's new file: +1,16 over 17 lines)", async () => {
    const hello = readFileSync(join(projectRoot, 'test/fixtures/patches/hello-syscall/0001-hello.patch'), 'utf8');
    expect(hello).toContain('@@ -0,0 +1,17 @@');
    const broken = hello.replace('@@ -0,0 +1,17 @@', '@@ -0,0 +1,16 @@');
    const line = lineOf(broken, '@@ -0,0 +1,16 @@') + 1;
    const number = broken.split('\n').filter((l) => l.startsWith('@@ ')).length;
    await expectRefused(
      broken,
      `hunk ${number} (@@ -0,0 +1,16 @@, line ${line}) has 0 old and 17 new lines where its header says 0 and 16`,
    );
  });

  it('a body one line long: an extra "+" line after the last hunk', async () => {
    const text = callcountPatch.replace('+long callcount_calls;\n', '+long callcount_calls;\n+long lost;\n');
    const line = lineOf(text, '@@ -0,0 +1 @@') + 1;
    await expectRefused(
      text,
      `hunk 3 (@@ -0,0 +1 @@, line ${line}) has 0 old and 2 new lines where its header says 0 and 1`,
    );
  });

  it('a body one line long in the middle of a patch, before the next file', async () => {
    const text = callcountPatch.replace(
      ' 2\tcommon\topen\t\t\tsys_open\n',
      ' 2\tcommon\topen\t\t\tsys_open\n+4\tcommon\textra\t\tsys_extra\n',
    );
    await expectRefused(
      text,
      'hunk 1 (@@ -7,6 +7,7 @@, line 7) has 6 old and 8 new lines where its header says 6 and 7',
    );
  });

  it('a missing final context line, followed by the next file', async () => {
    const text = withoutLine(callcountPatch, lineOf(callcountPatch, ' # Due to a historical design error'));
    await expectRefused(
      text,
      'hunk 1 (@@ -7,6 +7,7 @@, line 7) has 5 old and 6 new lines where its header says 6 and 7',
    );
  });

  it('a missing final context line at the end of the file', async () => {
    const text = `--- a/kernel/sched.c\n+++ b/kernel/sched.c\n@@ -1,2 +1,3 @@\n void schedule(void) {}\n+long x;\n`;
    await expectRefused(
      text,
      'hunk 1 (@@ -1,2 +1,3 @@, line 3) has 1 old and 2 new lines where its header says 2 and 3',
    );
  });

  it('a missing line in the last hunk of a git format-patch, before its "-- " signature', async () => {
    const { out } = await formatPatchRepo();
    const last = readdirSync(out).sort()[1]!;
    const text = readFileSync(join(out, last), 'utf8');
    expect(text).toMatch(/^-- $/m);
    const cut = withoutLine(text, lineOf(text, '+long callcount_calls;'));
    const line = lineOf(cut, '@@ -1 +1,2 @@') + 1;
    await expectRefused(
      cut,
      `hunk 1 (@@ -1 +1,2 @@, line ${line}) has 1 old and 1 new lines where its header says 1 and 2`,
    );
  });

  it('an omitted count means 1: "@@ -1 +1 @@" with two removed lines is long', async () => {
    const text =
      '--- a/kernel/sched.c\n+++ b/kernel/sched.c\n@@ -1 +1 @@\n-void schedule(void) {}\n-more\n+void schedule(void) { }\n';
    await expectRefused(text, 'hunk 1 (@@ -1 +1 @@, line 3) has 2 old and 1 new lines where its header says 1 and 1');
  });

  it('GNU patch alone takes the long hunk and drops its last line (why the script counts)', async () => {
    const tree = writeFakeTree(tempDir());
    const text = callcountPatch.replace('+long callcount_calls;\n', '+long callcount_calls;\n+long lost;\n');
    const applied = await execa('patch', ['-p1', '--batch', '--forward'], { cwd: tree, input: text, reject: false });
    expect(applied.exitCode).toBe(0);
    expect(readFileSync(join(tree, 'mysyscalls/callcount.c'), 'utf8')).toBe('long callcount_calls;\n');
  });
});
