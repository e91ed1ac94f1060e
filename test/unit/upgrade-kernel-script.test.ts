import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { upgradeKernelScript } from '../../src/paths.ts';
import { callcountPatch, mismatchedPatch, taskcountPatch, writeFakeTree } from './support/fake-kernel.ts';
import { filler, makeTarball, truncateCopy } from './support/tarball.ts';
import { snapshotTree, useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-script-');

/** Runs the script with its own TMPDIR (to see leftovers) and a bound on the time it may take. */
async function script(args: string[], tmp = tempDir()) {
  const started = Date.now();
  const result = await execa(upgradeKernelScript, args, {
    reject: false,
    timeout: 20_000,
    env: { TMPDIR: tmp, LC_ALL: 'C' },
  });
  return Object.assign(result, { seconds: (Date.now() - started) / 1000, tmp });
}

function patchDir(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('upgrade-kernel.sh: options', () => {
  it('--help exits 0 and documents --build-only, --check-patches and the exit codes', async () => {
    const result = await script(['--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('--build-only OUT');
    expect(result.stdout).toContain('--check-patches');
    expect(result.stdout).toContain('--list-patches DIR');
    expect(result.stdout).toMatch(/65 bad data/);
    expect(result.stderr).toBe('');
  });

  it('-h is --help', async () => {
    expect((await script(['-h'])).exitCode).toBe(0);
  });

  it('refuses an unknown option with exit 2', async () => {
    const result = await script(['--frobnicate']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe('upgrade-kernel.sh: error: unknown option --frobnicate (see --help)');
  });

  it('refuses an option without its value with exit 2', async () => {
    const result = await script(['--patches']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--patches needs a value');
  });

  it.each([
    [['--jobs', '0'], '--jobs must be a positive number'],
    [['--jobs', 'many'], '--jobs must be a positive number'],
    [['--sha256', 'xyz'], '--sha256 must be 64 lowercase hex digits'],
  ])('refuses %j with exit 2', async (args, message) => {
    const result = await script([...args, '--work', tempDir()]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('refuses a version outside the table without --sha256 (exit 2, nothing downloaded)', async () => {
    const work = tempDir();
    const result = await script(['--version', '9.99', '--check-patches', '--work', work]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('version 9.99 is not in');
    expect(readdirSync(work)).toEqual([]);
  });

  it('refuses a missing --source with exit 66', async () => {
    const result = await script(['--source', '/nonexistent/linux.tar.xz', '--check-patches', '--work', tempDir()]);
    expect(result.exitCode).toBe(66);
    expect(result.stderr).toContain('does not exist');
  });
});

describe('upgrade-kernel.sh --list-patches', () => {
  it('prints the patch files in name order, absolute, with a notice for the rest', async () => {
    const dir = patchDir({ 'b.patch': taskcountPatch, 'a.diff': callcountPatch, 'README.txt': 'x' });
    const result = await script(['--list-patches', dir]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n')).toEqual([join(dir, 'a.diff'), join(dir, 'b.patch')]);
    expect(result.stderr).toBe(`syscall-lab: notice: ignoring ${join(dir, 'README.txt')} (not a *.patch or *.diff)`);
  });

  it('follows the series file', async () => {
    const dir = patchDir({ 'a.patch': callcountPatch, 'b.patch': taskcountPatch, series: 'b.patch\na.patch\n' });
    const result = await script(['--list-patches', dir]);
    expect(result.stdout.split('\n')).toEqual([join(dir, 'b.patch'), join(dir, 'a.patch')]);
  });

  it('exits 65 on an empty folder', async () => {
    const dir = tempDir();
    const result = await script(['--list-patches', dir]);
    expect(result.exitCode).toBe(65);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('holds no *.patch or *.diff file');
  });

  it('exits 66 on a missing folder', async () => {
    const result = await script(['--list-patches', join(tempDir(), 'missing')]);
    expect(result.exitCode).toBe(66);
  });
});

describe('upgrade-kernel.sh --check-patches on a fake tree', () => {
  it('exits 0 when the series applies, and changes nothing', async () => {
    const tree = writeFakeTree(tempDir());
    const work = tempDir();
    const before = snapshotTree(tree);
    const patches = patchDir({ '0001-callcount.patch': callcountPatch, '0002-taskcount.patch': taskcountPatch });
    const result = await script(['--source', tree, '--patches', patches, '--check-patches', '--work', work]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('patch series applies cleanly (2 patches, dry run)');
    expect(snapshotTree(tree)).toEqual(before);
    expect(readdirSync(work)).toEqual([]);
    expect(readdirSync(result.tmp)).toEqual([]);
    expect(result.seconds).toBeLessThan(10);
  });

  it('applies the series in order: the second patch alone does not apply', async () => {
    const tree = writeFakeTree(tempDir());
    const result = await script([
      '--source',
      tree,
      '--patches',
      patchDir({ '0002-taskcount.patch': taskcountPatch }),
      '--check-patches',
      '--work',
      tempDir(),
    ]);
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toContain('0002-taskcount.patch does not apply');
  });

  it('takes several --patches folders in the order given', async () => {
    const tree = writeFakeTree(tempDir());
    const first = patchDir({ 'z.patch': callcountPatch });
    const second = patchDir({ 'a.patch': taskcountPatch });
    const result = await script([
      '--source',
      tree,
      '--patches',
      first,
      '--patches',
      second,
      '--check-patches',
      '--work',
      tempDir(),
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('(2 patches, dry run)');
  });

  it('exits 65 when a context does not match, naming the patch and FAILED, and changes nothing', async () => {
    const tree = writeFakeTree(tempDir());
    const before = snapshotTree(tree);
    const patches = patchDir({ '0001-callcount.patch': mismatchedPatch });
    const result = await script(['--source', tree, '--patches', patches, '--check-patches', '--work', tempDir()]);
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toMatch(
      /^upgrade-kernel\.sh: error: patch 0001-callcount\.patch does not apply \(nothing was changed\)/,
    );
    expect(result.stderr).toContain('FAILED');
    expect(result.stderr).toContain(
      `(fix: rebase ${join(patches, '0001-callcount.patch')} on this kernel version: every hunk must apply exactly, at any offset, as patch --fuzz=0 does)`,
    );
    expect(snapshotTree(tree)).toEqual(before);
    expect(readdirSync(result.tmp)).toEqual([]);
  });

  it('exits 65 when a later patch of the series fails, and still changes nothing', async () => {
    const tree = writeFakeTree(tempDir());
    const before = snapshotTree(tree);
    const broken = taskcountPatch.replace(' 3\tcommon\tcallcount', ' 3\tcommon\tcallcounter');
    const result = await script([
      '--source',
      tree,
      '--patches',
      patchDir({ '1.patch': callcountPatch, '2.patch': broken }),
      '--check-patches',
      '--work',
      tempDir(),
    ]);
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toContain('patch 2.patch does not apply');
    expect(snapshotTree(tree)).toEqual(before);
  });

  it('exits 65 on a *.patch that is not a diff, naming it', async () => {
    const tree = writeFakeTree(tempDir());
    const patches = patchDir({ 'notes.patch': 'just words\n' });
    const result = await script(['--source', tree, '--patches', patches, '--check-patches', '--work', tempDir()]);
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toContain(`${join(patches, 'notes.patch')} is not a unified diff`);
  });

  it('exits 65 on a folder that is not a kernel tree', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'Makefile'), 'all:\n');
    const result = await script([
      '--source',
      dir,
      '--patches',
      patchDir({ 'a.patch': callcountPatch }),
      '--check-patches',
      '--work',
      tempDir(),
    ]);
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toContain('is not a Linux source tree');
  });
});

describe('upgrade-kernel.sh --check-patches on tarballs', () => {
  const members = ['Makefile', 'arch/x86/entry/syscalls/syscall_64.tbl', 'include/linux/syscalls.h', 'kernel/sched.c'];

  it('exits 0 when the series applies to a tarball', async () => {
    const dir = tempDir();
    const tarball = await makeTarball(dir, 'linux-6.1.tar.xz', members);
    const work = tempDir();
    const result = await script([
      '--source',
      tarball,
      '--patches',
      patchDir({ 'a.patch': callcountPatch, 'b.patch': taskcountPatch }),
      '--check-patches',
      '--work',
      work,
    ]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(readdirSync(work)).toEqual([]);
  });

  it('exits 65 when the series does not apply to a tarball', async () => {
    const tarball = await makeTarball(tempDir(), 'linux-6.1.tar.xz', members);
    const result = await script([
      '--source',
      tarball,
      '--patches',
      patchDir({ 'a.patch': mismatchedPatch }),
      '--check-patches',
      '--work',
      tempDir(),
    ]);
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toContain('FAILED');
  });

  it('fails on garbage bytes given as --source', async () => {
    const file = join(tempDir(), 'x.tar.xz');
    writeFileSync(file, filler(8192));
    const result = await script([
      '--source',
      file,
      '--patches',
      patchDir({ 'a.patch': callcountPatch }),
      '--check-patches',
      '--work',
      tempDir(),
    ]);
    expect(result.exitCode).toBe(65);
  });

  it('fails on a truncated tarball whose cut comes before the touched files', async () => {
    const dir = tempDir();
    const tarball = await makeTarball(dir, 'linux-6.1.tar.xz', ['Makefile', 'kernel/big.bin', ...members.slice(1)], {
      extra: { 'kernel/big.bin': filler() },
    });
    const cut = truncateCopy(tarball, join(dir, 'cut.tar.xz'));
    const result = await script([
      '--source',
      cut,
      '--patches',
      patchDir({ 'a.patch': callcountPatch }),
      '--check-patches',
      '--work',
      tempDir(),
    ]);
    expect(result.exitCode).not.toBe(0);
    expect(result.exitCode).toBe(65);
  });

  // The dry run reads the whole archive, so a tarball cut after the touched files fails too.
  it('fails on a truncated tarball whose cut comes after the touched files', async () => {
    const dir = tempDir();
    const tarball = await makeTarball(dir, 'linux-6.1.tar.xz', [...members, 'kernel/big.bin'], {
      extra: { 'kernel/big.bin': filler() },
    });
    const cut = truncateCopy(tarball, join(dir, 'cut.tar.xz'));
    const result = await script([
      '--source',
      cut,
      '--patches',
      patchDir({ 'a.patch': callcountPatch }),
      '--check-patches',
      '--work',
      tempDir(),
    ]);
    expect(result.exitCode).toBe(65);
  });
});

describe('upgrade-kernel.sh refuses tarball members that leave the tree (at unpack, before any make)', () => {
  async function unpackOnly(tarball: string) {
    const work = tempDir();
    const result = await script(['--source', tarball, '--work', work, '--build-only', join(tempDir(), 'out')]);
    return Object.assign(result, { work });
  }

  it('refuses a "../evil" member with exit 65 and writes nothing outside --work', async () => {
    const dir = tempDir();
    const top = join(dir, 'top');
    writeFakeTree(join(top, 'linux-6.1'));
    writeFileSync(join(dir, 'evil'), 'evil\n');
    const tarball = join(dir, 'evil.tar');
    // -P keeps the "../" that tar would otherwise strip when creating.
    await execa('tar', ['-cPf', tarball, 'linux-6.1', '../evil'], { cwd: top });
    const listing = await execa('tar', ['-tf', tarball]);
    expect(listing.stdout.split('\n')).toContain('../evil');
    const result = await unpackOnly(tarball);
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toContain('has members that point outside the tree: "../evil" (".." in its name)');
    expect(result.stdout).not.toContain('phase configure');
  });

  it('refuses a symlink pointing outside the tree with exit 65', async () => {
    const dir = tempDir();
    const root = join(dir, 'root');
    writeFakeTree(join(root, 'linux-6.1'));
    await execa('ln', ['-s', '../../../etc/passwd', join(root, 'linux-6.1', 'kernel', 'pw')]);
    const tarball = join(dir, 'symlink.tar');
    await execa('tar', ['-cf', tarball, '-C', root, 'linux-6.1']);
    const result = await unpackOnly(tarball);
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toContain('linux-6.1/kernel/pw');
    expect(result.stdout).not.toContain('phase configure');
  });

  it('refuses a truncated tarball at unpack with exit 65', async () => {
    const dir = tempDir();
    const tarball = await makeTarball(dir, 'linux-6.1.tar.xz', ['Makefile', 'kernel/big.bin', 'kernel/sched.c'], {
      extra: { 'kernel/big.bin': filler() },
    });
    const result = await unpackOnly(truncateCopy(tarball, join(dir, 'cut.tar.xz')));
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toMatch(/truncated or corrupt/);
    expect(result.stdout).not.toContain('phase configure');
  });
});
