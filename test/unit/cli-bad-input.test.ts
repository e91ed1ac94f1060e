import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cache } from '../../src/kernel/cache.ts';
import { projectRoot } from '../../src/paths.ts';
import { filler } from './support/tarball.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-cli-');
const bin = join(projectRoot, 'bin', 'syscall-lab.mjs');

/** The environment without any SYSCALL_LAB_* (yargs reads those as flags) plus `extra`. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith('SYSCALL_LAB_')) env[key] = value;
  return { ...env, ...extra };
}

/** Runs the CLI with its cache under a fresh temp folder (XDG_CACHE_HOME/syscall-lab). */
async function cli(args: string[], env: Record<string, string> = {}, cacheHome = tempDir()) {
  const started = Date.now();
  const result = await execa(process.execPath, [bin, ...args], {
    cwd: projectRoot,
    reject: false,
    timeout: 60_000,
    extendEnv: false,
    env: cleanEnv({ XDG_CACHE_HOME: cacheHome, ...env }),
  });
  return Object.assign(result, {
    seconds: (Date.now() - started) / 1000,
    cacheHome,
    output: `${result.stdout}\n${result.stderr}`,
  });
}

/** Processes (QEMU, make) whose command line mentions `dir`. */
async function processesMentioning(dir: string): Promise<string[]> {
  const found = await execa('pgrep', ['-af', 'qemu-system-x86_64|make'], { reject: false });
  return found.stdout.split('\n').filter((line) => line.includes(dir));
}

function leftovers(cacheHome: string): string[] {
  const scratch = join(cacheHome, 'syscall-lab', 'tmp');
  return existsSync(scratch) ? readdirSync(scratch) : [];
}

interface Case {
  name: string;
  args: (dirs: { temp: string }) => string[];
  says: RegExp;
}

const hex64 = 'a'.repeat(64);

const cases: Case[] = [
  { name: 'an unpinned version (9.99)', args: () => ['--kernel', '9.99'], says: /not in the pinned table/ },
  { name: 'a non-version (latest!)', args: () => ['--kernel', 'latest!'], says: /latest!/ },
  { name: 'no --kernel', args: () => [], says: /give at least one --kernel/ },
  { name: 'an unknown flag', args: () => ['--kernel', '6.1', '--bogus'], says: /Unknown argument: bogus/ },
  {
    name: '--kernel VERSION=DIR with a missing folder',
    args: () => ['--kernel', '7.2=/nonexistent'],
    says: /--kernel 7\.2=\/nonexistent: "\/nonexistent" after the last "=" is not a patch folder/,
  },
  {
    name: '--patches on a missing folder',
    args: () => ['--kernel', '6.1', '--patches', '/nonexistent'],
    says: /--patches \/nonexistent is not a folder/,
  },
  {
    name: '--patches on an empty folder',
    args: ({ temp }) => {
      mkdirSync(join(temp, 'empty'));
      return ['--kernel', '6.1', '--patches', join(temp, 'empty')];
    },
    says: /no \*\.patch/,
  },
  {
    name: '--userland without any .c file',
    args: ({ temp }) => {
      mkdirSync(join(temp, 'userland'));
      writeFileSync(join(temp, 'userland', 'README'), 'x');
      return ['--kernel', '6.1', '--userland', join(temp, 'userland')];
    },
    says: /holds no \*\.c file/,
  },
  {
    name: 'a missing tarball',
    args: () => ['--kernel', '/nonexistent.tar.xz'],
    says: /\/nonexistent\.tar\.xz does not exist/,
  },
  {
    name: 'garbage bytes named x.tar.xz',
    args: ({ temp }) => {
      writeFileSync(join(temp, 'x.tar.xz'), filler(4096));
      return ['--kernel', join(temp, 'x.tar.xz')];
    },
    says: /truncated or corrupt|not a readable tar/,
  },
  {
    name: 'a malformed --sha256',
    args: () => ['--kernel', '6.1', '--sha256', 'xyz'],
    says: /--sha256 "xyz" is not a sha256/,
  },
  { name: 'a non-numeric --cpus', args: () => ['--kernel', '6.1', '--cpus', 'abc'], says: /--cpus:/ },
  {
    name: 'a *.patch file that is not a diff',
    args: ({ temp }) => {
      mkdirSync(join(temp, 'notes'));
      writeFileSync(join(temp, 'notes', '0001-ideas.patch'), 'add a syscall that counts tasks\n');
      return ['--kernel', '6.1', '--patches', join(temp, 'notes')];
    },
    says: /0001-ideas\.patch is not a unified diff/,
  },
  {
    name: 'two patches taking one syscall number',
    args: ({ temp }) => {
      const table = (name: string) =>
        `--- a/arch/x86/entry/syscalls/syscall_64.tbl\n+++ b/arch/x86/entry/syscalls/syscall_64.tbl\n@@ -1,1 +1,2 @@\n 450\tcommon\tset_mempolicy_home_node\tsys_set_mempolicy_home_node\n+451\tcommon\t${name}\t\tsys_${name}\n`;
      mkdirSync(join(temp, 'clash'));
      writeFileSync(join(temp, 'clash', '0001-a.patch'), table('alpha'));
      writeFileSync(join(temp, 'clash', '0002-b.patch'), table('beta'));
      return ['--kernel', '6.1', '--patches', join(temp, 'clash')];
    },
    says: /0001-a\.patch and 0002-b\.patch both add syscall number 451/,
  },
  {
    name: '--gdb without --keep (run leaves no VM to attach to)',
    args: () => ['--kernel', '6.1', '--gdb'],
    says: /--gdb attaches to the VM left running/,
  },
  {
    name: 'an unknown --profile',
    args: () => ['--kernel', '6.1', '--profile', 'paranoid'],
    says: /--profile: .*(default|debug)/,
  },
  {
    name: '--sha256 with two kernels',
    args: () => ['--kernel', '6.1', '--kernel', '3.9.11', '--sha256', hex64],
    says: /--sha256 applies to one kernel/,
  },
];

describe('syscall-lab run: bad input exits 2 quickly, leaving nothing behind', () => {
  it.each(cases)('$name', async ({ args, says }) => {
    const temp = tempDir();
    const result = await cli(['run', ...args({ temp })]);
    expect(result.output).toMatch(says);
    expect(result.stderr).toMatch(/^syscall-lab: error: /m);
    expect(result.stderr).toMatch(/^syscall-lab: fix: /m);
    expect(result.stderr).not.toContain('internal error');
    expect(result.exitCode).toBe(2);
    expect(result.seconds).toBeLessThan(20);
    expect(await processesMentioning(result.cacheHome)).toEqual([]);
    expect(leftovers(result.cacheHome)).toEqual([]);
    expect(existsSync(join(result.cacheHome, 'syscall-lab', 'builds'))).toBe(false);
  });

  // The real 6.1 source, from the real cache's sources folder (fetched there once, from Debian's
  // archive, if it is not yet): the series is checked against its files.
  it('a series that does not apply: names the patch and hunk, builds nothing', async () => {
    const temp = tempDir();
    mkdirSync(join(temp, 'stale'));
    writeFileSync(
      join(temp, 'stale', '0001-stale.patch'),
      '--- a/Makefile\n+++ b/Makefile\n@@ -1,3 +1,3 @@\n # SPDX-License-Identifier: GPL-2.0\n-VERSION = 5\n+VERSION = 7\n PATCHLEVEL = 1\n',
    );
    const cacheHome = tempDir();
    mkdirSync(join(cacheHome, 'syscall-lab'));
    mkdirSync(cache.sources(), { recursive: true });
    symlinkSync(cache.sources(), join(cacheHome, 'syscall-lab', 'sources'));
    const result = await cli(['run', '--kernel', '6.1', '--patches', join(temp, 'stale')], {}, cacheHome);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/0001-stale\.patch: hunk 1 of Makefile \(@@ -1,3 \+1,3 @@\) .*does not apply/);
    expect(result.seconds).toBeLessThan(60);
    expect(leftovers(result.cacheHome)).toEqual([]);
    expect(existsSync(join(result.cacheHome, 'syscall-lab', 'builds'))).toBe(false);
  });

  it('says "pinned" for 9.99 and lists the pinned versions', async () => {
    const result = await cli(['run', '--kernel', '9.99']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('pinned');
    expect(result.stderr).toMatch(/fix: .*--sha256.*3\.9\.11/);
  });

  it('treats the default command as run', async () => {
    const result = await cli(['--kernel', '9.99']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('not in the pinned table');
  });

  // SYSCALL_LAB_* variables are options too; the cache folder is one of them (--cache).
  it('honours SYSCALL_LAB_CACHE', async () => {
    const cache = tempDir();
    const result = await cli(['run', '--kernel', '9.99'], { SYSCALL_LAB_CACHE: cache });
    expect(result.stderr).not.toContain('Unknown argument');
    expect(result.stderr).toContain('not in the pinned table');
  });
});

describe('syscall-lab doctor', () => {
  it('exits 0 when everything required is there, 3 otherwise, with the apt-get line only when something is missing', async () => {
    const result = await cli(['doctor']);
    expect([0, 3]).toContain(result.exitCode);
    const lines = result.stdout.split('\n');
    const required = lines.filter((line) => line.startsWith('MISSING'));
    const optional = lines.filter((line) => line.startsWith('missing (optional)'));
    expect(lines.some((line) => /^ok\s+gcc\s/.test(line)) || required.some((line) => /\sgcc\s/.test(line))).toBe(true);
    expect(result.exitCode).toBe(required.length > 0 ? 3 : 0);
    if (required.length + optional.length > 0) {
      expect(result.stdout).toMatch(/to install: apt-get install -y --no-install-recommends \S/);
      expect(result.stdout).not.toContain('everything is installed');
    } else {
      expect(result.stdout).not.toContain('apt-get install');
      expect(result.stdout).toContain('everything is installed');
    }
  });

  it('exits 3 and prints the apt-get line when tools are missing from PATH', async () => {
    // Only sh on PATH: every command-type requirement is missing.
    const bin = tempDir();
    await execa('ln', ['-s', '/bin/sh', join(bin, 'sh')]);
    const result = await cli(['doctor'], { PATH: bin });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toMatch(/^MISSING\s+qemu-system-x86_64\s+qemu-system-x86\s/m);
    expect(result.stdout).toMatch(
      /^to install: apt-get install -y --no-install-recommends .*\bqemu-system-x86\b.*\bmake\b/m,
    );
    // Each package once, although dropbear and dropbearkey both need dropbear-bin.
    const installLine = result.stdout.split('\n').find((line) => line.startsWith('to install:'))!;
    expect(installLine.match(/\bdropbear-bin\b/g)).toHaveLength(1);
  });
});
