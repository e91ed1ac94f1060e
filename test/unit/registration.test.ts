// The syscall registration of a series, regenerated for each kernel from 4.2 (src/kernel/registration/)
// and the choice of the series a kernel gets (src/stages/series.ts), on the real registration files of
// 3.9, 5.10, 6.1, 6.12 and 7.2 stored in test/fixtures/registration/<version>/. Ported series are also
// applied with the real `patch -p1 --fuzz=0` (as upgrade-kernel.sh applies them) to copies of those trees.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BadInputError } from '../../src/errors.ts';
import { readPatchSet } from '../../src/kernel/patches.ts';
import {
  applyHunk,
  formatPatch,
  parsePatch,
  type FileDiff,
  type Hunk,
} from '../../src/kernel/registration/patch-text.ts';
import { PortError, portSeries, type SeriesPatch } from '../../src/kernel/registration/port.ts';
import {
  readRegistrationHunk,
  registrationFiles,
  registrationPaths,
  Registrations,
  type PatchRegistrations,
  type SyscallRegistration,
} from '../../src/kernel/registration/registration.ts';
import { readTreeFiles } from '../../src/kernel/registration/tree-files.ts';
import { numberFor, writeRegistrations, type TreeFiles } from '../../src/kernel/registration/write.ts';
import type { KernelSource } from '../../src/kernel/source.ts';
import { projectRoot } from '../../src/paths.ts';
import { chooseSeries, seriesForKernel } from '../../src/stages/series.ts';
import { useTempDirs } from './support/temp.ts';
import { thrown } from './support/thrown.ts';

const tempDir = useTempDirs('syscall-lab-registration-');
afterEach(() => {
  vi.unstubAllEnvs();
});

const trees = join(projectRoot, 'test', 'fixtures', 'registration');
const seriesFixtures = join(projectRoot, 'test', 'fixtures', 'registration-series');
const patches61 = join(projectRoot, 'patches-6.1');
const patches39 = join(projectRoot, 'patches-3.9.11');
const userSeries = join(seriesFixtures, 'user-6.1');
const tableOnlySeries = join(seriesFixtures, 'table-only-6.1');
const { table64, table32, genericHeader, genericTable, prototypes, stubs, kbuild, makefile } = registrationFiles;

function readLines(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** A fixture folder as TreeFiles: every file, by its path inside the version folder. */
function loadTree(version: string): TreeFiles {
  const root = join(trees, version);
  return new Map(filesUnder(root).map((file) => [relative(root, file), readLines(file)]));
}

function readSeries(dir: string): SeriesPatch[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.patch'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
}

/** A copy of a fixture tree to apply patches to. */
function copyTree(version: string): string {
  const dir = join(tempDir(), `linux-${version}`);
  cpSync(join(trees, version), dir, { recursive: true });
  return dir;
}

/** Applies patches in order as upgrade-kernel.sh does; the first failure's output, or undefined. */
function applyWithPatch(dir: string, patches: SeriesPatch[]): string | undefined {
  for (const patch of patches) {
    const run = spawnSync('patch', ['-p1', '--batch', '--forward', '--fuzz=0', '--no-backup-if-mismatch', '-r', '-'], {
      cwd: dir,
      input: patch.text,
      encoding: 'utf8',
    });
    if (run.status !== 0) return `${patch.name}: patch exited ${String(run.status)}\n${run.stdout}${run.stderr}`;
  }
  return undefined;
}

function treeLines(dir: string, path: string): string[] {
  return readLines(join(dir, path));
}

/** The index of the line after the declaration of sys_NAME that starts a line. */
function afterPrototypeOf(lines: string[], name: string): number {
  let at = lines.findIndex((line) => line.startsWith(`asmlinkage long sys_${name}(`));
  expect(at, `sys_${name} is declared`).toBeGreaterThanOrEqual(0);
  while (!/;\s*$/.test(lines[at] ?? '')) at++;
  return at + 1;
}

const words = (line: string): string[] => line.trim().split(/\s+/);
const fileOf = (text: string, path: string): FileDiff | undefined =>
  parsePatch(text).files.find((file) => file.path === path);
const pathsOf = (text: string): string[] => parsePatch(text).files.map((file) => file.path);

describe('parsePatch and formatPatch', () => {
  const patchFiles = [
    ...readdirSync(projectRoot)
      .filter((name) => /^patches-/.test(name))
      .flatMap((name) => filesUnder(join(projectRoot, name))),
    ...filesUnder(join(projectRoot, 'src', 'kernel', 'compat', 'linux-3.9')),
    ...filesUnder(join(projectRoot, 'test', 'fixtures', 'patches')),
    ...filesUnder(seriesFixtures),
  ].filter((file) => /\.(patch|diff)$/.test(file));

  it('finds the patches of every series folder, the 3.9 compat set and the fixtures', () => {
    const where = patchFiles.map((file) => relative(projectRoot, file));
    for (const folder of [
      'patches-6.1/',
      'patches-3.9.11/',
      'src/kernel/compat/linux-3.9/',
      'test/fixtures/patches/',
    ]) {
      expect(where.filter((file) => file.startsWith(folder)).length, folder).toBeGreaterThan(0);
    }
  });

  // Every one of them round-trips and parses into files whose hunks hold the lines their headers
  // count; none is skipped (none of these patches is deliberately malformed).
  it.each(patchFiles.map((file) => [relative(projectRoot, file), file]))(
    'round-trips %s byte for byte',
    (_name, file) => {
      const text = readFileSync(file, 'utf8');
      const parsed = parsePatch(text);
      expect(formatPatch(parsed)).toBe(text);
      expect(parsed.files.length).toBeGreaterThan(0);
      for (const section of parsed.files) {
        expect(section.path).not.toBe('');
        expect(section.hunks.length).toBeGreaterThan(0);
        for (const hunk of section.hunks) {
          const [, , oldCount = '1', , newCount = '1'] =
            /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(hunk.header) ?? [];
          const old = hunk.lines.filter((line) => !line.startsWith('+') && !line.startsWith('\\')).length;
          const added = hunk.lines.filter((line) => !line.startsWith('-') && !line.startsWith('\\')).length;
          expect([old, added]).toEqual([Number(oldCount), Number(newCount)]);
        }
      }
    },
  );

  it('splits a git format-patch into message, file sections and signature', () => {
    const parsed = parsePatch(readSeries(userSeries)[0]!.text);
    expect(parsed.preamble[0]).toMatch(/^From [0-9a-f]{40} /);
    expect(parsed.preamble).toContain('---');
    expect(parsed.preamble).toContain(' 7 files changed, 24 insertions(+), 1 deletion(-)');
    expect(parsed.files.map((file) => [file.path, file.hunks.length])).toEqual([
      [kbuild, 1],
      [table64, 1],
      ['hellosys/Makefile', 1],
      ['hellosys/hello_user.c', 1],
      [prototypes, 1],
      [genericHeader, 1],
      [stubs, 1],
    ]);
    expect(parsed.files[2]!.header).toEqual([
      'diff --git a/hellosys/Makefile b/hellosys/Makefile',
      'new file mode 100644',
      'index 0000000..cae5299',
      '--- /dev/null',
      '+++ b/hellosys/Makefile',
    ]);
    expect(parsed.trailer).toEqual(['-- ', '2.39.5', '']);
  });

  // Only a "-- " line outside every hunk is git's signature: a hunk may remove a line reading "- ".
  it('does not take a removed "- " line for the signature', () => {
    const text = [
      '--- a/Documentation/hello.txt',
      '+++ b/Documentation/hello.txt',
      '@@ -1,2 +1,1 @@',
      '-- ',
      ' hello',
      '--- a/arch/x86/entry/syscalls/syscall_64.tbl',
      '+++ b/arch/x86/entry/syscalls/syscall_64.tbl',
      '@@ -374,1 +374,2 @@',
      ' 450\tcommon\tset_mempolicy_home_node\tsys_set_mempolicy_home_node',
      '+451\tcommon\thello\t\t\tsys_hello',
      '',
    ].join('\n');
    expect(parsePatch(text).files.map((file) => file.path)).toEqual(['Documentation/hello.txt', table64]);
    expect(portSeries([{ name: '0001-hello.patch', text }], loadTree('5.10'), '5.10').syscalls).toEqual([
      { name: 'hello', x86_64: 441 },
    ]);
  });
});

describe('applyHunk', () => {
  const tableHunk = (): Hunk => fileOf(readSeries(userSeries)[0]!.text, table64)!.hunks[0]!;
  const table61 = (): string[] => loadTree('6.1').get(table64)!;

  it('applies at its own line', () => {
    const result = applyHunk(table61(), tableHunk());
    expect(result).toBeDefined();
    const at = result!.indexOf('451\tcommon\thello_user\t\tsys_hello_user');
    expect(result![at - 1]).toBe('450\tcommon\tset_mempolicy_home_node\tsys_set_mempolicy_home_node');
    expect(result).toHaveLength(table61().length + 1);
  });

  it('finds the lines at an offset, before or after', () => {
    const later = ['# one', '# two', '# three', '# four', '# five', ...table61()];
    const result = applyHunk(later, tableHunk());
    expect(result?.[result.indexOf('451\tcommon\thello_user\t\tsys_hello_user') - 1]).toBe(
      '450\tcommon\tset_mempolicy_home_node\tsys_set_mempolicy_home_node',
    );
    expect(result!.slice(0, 5)).toEqual(later.slice(0, 5));
    const earlier = table61().slice(40);
    expect(applyHunk(earlier, tableHunk())).toContain('451\tcommon\thello_user\t\tsys_hello_user');
  });

  it('refuses a one-line context mismatch anywhere (no fuzz)', () => {
    const changed = table61().map((line) =>
      line === '449\tcommon\tfutex_waitv\t\tsys_futex_waitv' ? '449\tcommon\tfutex_waitv\tsys_futex_waitv' : line,
    );
    expect(changed).not.toEqual(table61());
    expect(applyHunk(changed, tableHunk())).toBeUndefined();
    const trailing = table61().map((line) =>
      line.startsWith('# Due to a historical design error') ? `${line} ` : line,
    );
    expect(applyHunk(trailing, tableHunk())).toBeUndefined();
  });

  it('adds a new file to an empty one', () => {
    const created = fileOf(readSeries(userSeries)[0]!.text, 'hellosys/Makefile')!.hunks[0]!;
    expect(applyHunk([], created)).toEqual(['obj-y += hello_user.o']);
  });
});

describe('readRegistrationHunk', () => {
  const hunksOf = (text: string, path: string): Hunk[] => fileOf(text, path)?.hunks ?? [];

  it("finds the registrations of patches-3.9.11's prototypes and core-y folder", () => {
    const [callcount, taskcount] = readSeries(patches39);
    const found = new Registrations();
    for (const { text } of [callcount!, taskcount!]) {
      for (const hunk of hunksOf(text, prototypes)) expect(readRegistrationHunk(prototypes, hunk, found)).toBe(true);
    }
    const [coreY] = hunksOf(callcount!.text, makefile);
    expect(readRegistrationHunk(makefile, coreY!, found)).toBe(true);
    expect(found.result()).toEqual({
      syscalls: [
        { name: 'callcount', prototype: ['asmlinkage long sys_callcount(unsigned long __user *num);'] },
        { name: 'taskcount', prototype: ['asmlinkage long sys_taskcount(unsigned long __user *num);'] },
      ],
      directories: ['mysyscalls/'],
    });
  });

  it('does not treat the 3.9 table (arch/x86/syscalls/, before the 4.2 move) as a registration file', () => {
    const [callcount] = readSeries(patches39);
    const oldPath = 'arch/x86/syscalls/syscall_64.tbl';
    const [hunk] = hunksOf(callcount!.text, oldPath);
    expect(hunk?.lines).toContain('+314\tcommon\tcallcount\t\tsys_callcount');
    const found = new Registrations();
    expect(registrationPaths.has(oldPath)).toBe(false);
    expect(readRegistrationHunk(oldPath, hunk!, found)).toBe(false);
    expect(found.result()).toEqual({ syscalls: [], directories: [] });
    // The same hunk at the path the table has from 4.2 is one.
    expect(readRegistrationHunk(table64, hunk!, found)).toBe(true);
    expect(found.result().syscalls).toEqual([
      { name: 'callcount', x86_64: { number: 314, abi: 'common', entry: 'sys_callcount' } },
    ]);
  });

  it("reads every registration of a full 6.1 series, and not its code's files", () => {
    const [patch] = readSeries(userSeries);
    const found = new Registrations();
    for (const file of parsePatch(patch!.text).files) {
      for (const hunk of file.hunks) {
        expect(readRegistrationHunk(file.path, hunk, found), `${file.path} ${hunk.header}`).toBe(
          registrationPaths.has(file.path),
        );
      }
    }
    expect(found.result()).toEqual({
      syscalls: [
        {
          name: 'hello_user',
          x86_64: { number: 451, abi: 'common', entry: 'sys_hello_user' },
          prototype: ['asmlinkage long sys_hello_user(int __user *out);'],
          generic: { number: 0, entry: 'sys_hello_user' },
          genericFiles: ['unistd.h'],
          stub: { compat: false, macro: 'COND_SYSCALL' },
        },
      ],
      directories: ['hellosys/'],
      syscallCount: { before: 451, after: 452 },
    });
  });

  it('reads i386 entries, compat stubs, old cond_syscall stubs and scripts/syscall.tbl lines', () => {
    const hunk = (...lines: string[]): Hunk => ({
      header: '@@ -1,1 +1,2 @@',
      oldStart: 1,
      lines: [' context', ...lines],
    });
    const found = new Registrations();
    expect(readRegistrationHunk(table32, hunk('+451\ti386\thello\t\tsys_hello\tcompat_sys_hello'), found)).toBe(true);
    expect(readRegistrationHunk(genericTable, hunk('+463\tcommon\thello\t\t\tsys_hello'), found)).toBe(true);
    expect(readRegistrationHunk(stubs, hunk('+COND_SYSCALL_COMPAT(hello);'), found)).toBe(true);
    expect(readRegistrationHunk(stubs, hunk('+cond_syscall(sys_old);'), found)).toBe(true);
    expect(found.result().syscalls).toEqual([
      {
        name: 'hello',
        i386: { number: 451, entry: 'sys_hello', compat: 'compat_sys_hello' },
        generic: { number: 463, entry: 'sys_hello' },
        genericFiles: ['syscall.tbl'],
        stub: { compat: true, macro: 'COND_SYSCALL' },
      },
      { name: 'old', stub: { compat: false, macro: 'cond_syscall' } },
    ]);
  });

  it('leaves hunks that do anything besides registering (they must then apply as written)', () => {
    const hunk = (...lines: string[]): Hunk => ({
      header: '@@ -1,1 +1,2 @@',
      oldStart: 1,
      lines: [' context', ...lines],
    });
    const found = new Registrations();
    expect(
      readRegistrationHunk(prototypes, hunk('+asmlinkage long sys_hello(void);', '+extern int hello_answer;'), found),
    ).toBe(false);
    expect(
      readRegistrationHunk(
        prototypes,
        hunk('-asmlinkage long sys_rseq(void);', '+asmlinkage long sys_hello(void);'),
        found,
      ),
    ).toBe(false);
    expect(
      readRegistrationHunk(table64, hunk('-450\tcommon\tset_mempolicy_home_node\tsys_set_mempolicy_home_node'), found),
    ).toBe(false);
    expect(readRegistrationHunk(table64, hunk('+548\tx32\thello\t\tcompat_sys_hello'), found)).toBe(false);
    expect(readRegistrationHunk(kbuild, hunk('+obj-$(CONFIG_HELLO)\t+= hellosys/'), found)).toBe(false);
    expect(readRegistrationHunk(makefile, hunk('+KBUILD_CFLAGS += -O1'), found)).toBe(false);
    expect(readRegistrationHunk(stubs, hunk('+/* nothing but a comment */'), found)).toBe(false);
    expect(readRegistrationHunk('mysyscalls/Makefile', hunk('+obj-y += hello.o'), found)).toBe(false);
    expect(found.result()).toEqual({ syscalls: [], directories: [] });
  });

  // In the C files a "#" line is the preprocessor, not a comment: a stub under #ifdef is kept as written.
  it('keeps an #ifdef around a stub (a preprocessor line is not a comment in a C file)', () => {
    const guarded: Hunk = {
      header: '@@ -479,3 +479,6 @@',
      oldStart: 479,
      lines: [
        ' ',
        ' /* restartable sequence */',
        ' COND_SYSCALL(rseq);',
        '+#ifdef CONFIG_HELLO_USER',
        '+COND_SYSCALL(hello_user);',
        '+#endif',
      ],
    };
    const found = new Registrations();
    expect(readRegistrationHunk(stubs, guarded, found)).toBe(false);
  });
});

/** A 4.19-like tree, small: before the unified numbering of 5.1, with COND_SYSCALL (4.17) and no Kbuild folders. */
function tree419(last64 = 334): TreeFiles {
  return new Map([
    [
      table64,
      [
        '# 64-bit system call numbers and entry vectors',
        '0\tcommon\tread\t\t\tsys_read',
        '13\t64\trt_sigaction\t\tsys_rt_sigaction',
        `${String(last64 - 1)}\tcommon\tio_pgetevents\t\t__x64_sys_io_pgetevents`,
        `${String(last64)}\t64\trseq\t\t\t__x64_sys_rseq`,
        '',
        '#',
        '# x32-specific system call numbers start at 512 to avoid cache impact',
        '#',
        '512\tx32\trt_sigaction\t\t__x32_compat_sys_rt_sigaction',
        '547\tx32\tpwritev2\t\t__x32_compat_sys_pwritev64v2',
      ],
    ],
    [
      table32,
      [
        '0\ti386\trestart_syscall\tsys_restart_syscall',
        '385\ti386\tio_pgetevents\tsys_io_pgetevents',
        '386\ti386\trseq\t\t\tsys_rseq',
      ],
    ],
    [
      genericHeader,
      [
        '#define __NR_rseq 293',
        '__SYSCALL(__NR_rseq, sys_rseq)',
        '',
        '#undef __NR_syscalls',
        '#define __NR_syscalls 294',
        '',
        '#undef __NR_syscalls',
        '#define __NR_syscalls (__NR3264_lstat+1)',
      ],
    ],
    [
      prototypes,
      [
        'asmlinkage long sys_rseq(struct rseq __user *rseq, uint32_t rseq_len,',
        '\t\t\t int flags, uint32_t sig);',
        'asmlinkage long sys_io_pgetevents(void);',
        '#endif',
      ],
    ],
    [stubs, ['COND_SYSCALL(io_pgetevents);', 'COND_SYSCALL(rseq);', '', '/* end */']],
    [kbuild, ['# Kbuild for top-level directory of the kernel', 'always := $(bounds-file)']],
    [
      makefile,
      ['ifeq ($(KBUILD_EXTMOD),)', 'core-y\t\t+= kernel/ certs/ mm/ fs/ ipc/ security/ crypto/ block/', '', 'endif'],
    ],
  ]);
}

const hello: SyscallRegistration = {
  name: 'hello',
  x86_64: { number: 0, abi: 'common', entry: '__x64_sys_hello' },
  i386: { number: 0, entry: 'sys_hello' },
  generic: { number: 0, entry: 'sys_hello' },
  prototype: ['asmlinkage long sys_hello(int __user *out);'],
  stub: { compat: false },
};

describe('numbers and places on a synthetic 4.19-like tree (before the unified numbering)', () => {
  it('gives each table its own next free number, and writes every registration file', () => {
    const files = tree419();
    const found: PatchRegistrations = { syscalls: [hello], directories: ['hellosys/'] };
    expect(writeRegistrations(files, '4.19', found)).toEqual([{ name: 'hello', x86_64: 335, i386: 387, generic: 294 }]);
    const t64 = files.get(table64)!;
    expect(t64[t64.indexOf('334\t64\trseq\t\t\t__x64_sys_rseq') + 1]).toBe('335\tcommon\thello\t\t__x64_sys_hello');
    expect(files.get(table32)!.at(-1)).toBe('387\ti386\thello\t\tsys_hello');
    expect(files.get(genericHeader)).toEqual([
      '#define __NR_rseq 293',
      '__SYSCALL(__NR_rseq, sys_rseq)',
      '',
      '#define __NR_hello 294',
      '__SYSCALL(__NR_hello, sys_hello)',
      '',
      '#undef __NR_syscalls',
      '#define __NR_syscalls 295',
      '',
      '#undef __NR_syscalls',
      '#define __NR_syscalls (__NR3264_lstat+1)',
    ]);
    // After the prototype of the syscall numbered last (rseq, two lines).
    expect(files.get(prototypes)![2]).toBe('asmlinkage long sys_hello(int __user *out);');
    expect(files.get(stubs)).toEqual([
      'COND_SYSCALL(io_pgetevents);',
      'COND_SYSCALL(rseq);',
      'COND_SYSCALL(hello);',
      '',
      '/* end */',
    ]);
    expect(files.get(makefile)![2]).toBe('core-y\t\t+= hellosys/');
    expect(files.get(kbuild)).toEqual(tree419().get(kbuild));
  });

  it('writes cond_syscall(sys_NAME) before 4.17 and COND_SYSCALL(NAME) from 4.17', () => {
    const stubOf = (version: string, compat: boolean): string[] => {
      const files = tree419();
      writeRegistrations(files, version, { syscalls: [{ name: 'hello', stub: { compat } }], directories: [] });
      return files.get(stubs)!;
    };
    expect(stubOf('4.16', false)[2]).toBe('cond_syscall(sys_hello);');
    expect(stubOf('4.16.18', true)[2]).toBe('cond_syscall(compat_sys_hello);');
    expect(stubOf('4.17', false)[2]).toBe('COND_SYSCALL(hello);');
    expect(stubOf('4.19', true)[2]).toBe('COND_SYSCALL_COMPAT(hello);');
    // The real 3.9 sys_ni.c: after its last cond_syscall line.
    const files39: TreeFiles = new Map([[stubs, loadTree('3.9').get(stubs)!]]);
    writeRegistrations(files39, '3.9.6', { syscalls: [{ name: 'hello', stub: { compat: false } }], directories: [] });
    expect(files39.get(stubs)!.slice(-2)).toEqual(['cond_syscall(sys_kcmp);', 'cond_syscall(sys_hello);']);
  });

  it('puts new x86-64 entries after the last common/64 one below 512, never in 387-423', () => {
    const x86 = { name: 'hello', x86_64: hello.x86_64 };
    expect(numberFor(tree419(385), '4.19', x86)).toEqual({ name: 'hello', x86_64: 386 });
    expect(numberFor(tree419(386), '4.19', x86)).toEqual({ name: 'hello', x86_64: 424 });
    expect(numberFor(tree419(422), '4.19', x86)).toEqual({ name: 'hello', x86_64: 424 });
    expect(numberFor(tree419(430), '4.19', x86)).toEqual({ name: 'hello', x86_64: 431 });
    const onlyX86 = new Map([[table64, tree419(386).get(table64)!]]);
    expect(numberFor(onlyX86, '5.1', x86)).toEqual({ name: 'hello', x86_64: 424 });
    const files = tree419(386);
    writeRegistrations(files, '4.19', { syscalls: [x86], directories: [] });
    const t64 = files.get(table64)!;
    expect(t64[t64.indexOf('386\t64\trseq\t\t\t__x64_sys_rseq') + 1]).toBe('424\tcommon\thello\t\t__x64_sys_hello');
    expect(t64.at(-1)).toBe('547\tx32\tpwritev2\t\t__x32_compat_sys_pwritev64v2');
  });

  it('from 5.1 takes the first number free in every table that exists, for all of them', () => {
    const files = tree419();
    files.set(
      genericHeader,
      tree419()
        .get(genericHeader)!
        .map((line) => line.replace('__NR_syscalls 294', '__NR_syscalls 440')),
    );
    expect(numberFor(files, '5.10', hello)).toEqual({ name: 'hello', x86_64: 440, i386: 440, generic: 440 });
    files.set(genericTable, ['450\tcommon\tset_mempolicy_home_node\t\tsys_set_mempolicy_home_node']);
    expect(numberFor(files, '6.11', hello)).toEqual({ name: 'hello', x86_64: 451, i386: 451, generic: 451 });
    // Only the tables the syscall has an entry in get a number.
    expect(numberFor(files, '6.11', { name: 'hello', x86_64: hello.x86_64 })).toEqual({ name: 'hello', x86_64: 451 });
  });

  // From 5.1 the unified number can come from another table (here i386's next free, 387): it must
  // still skip 387-423, which the x86-64 table forbids. Upstream trees from 5.1 on are past 423.
  it('never gives a unified number in 387-423, whichever table it comes from', () => {
    expect(numberFor(tree419(), '5.1', hello)).toEqual({ name: 'hello', x86_64: 424, i386: 424, generic: 424 });
  });
});

describe('portSeries: patches-6.1 on 5.10, 6.1, 6.12 and 7.2', () => {
  const expected = [
    { version: '5.10', numbers: [441, 442], after: 'process_madvise' },
    { version: '6.1', numbers: [451, 452], after: 'set_mempolicy_home_node' },
    { version: '6.12', numbers: [463, 464], after: 'mseal' },
    { version: '7.2', numbers: [472, 473], after: 'rseq_slice_yield' },
  ];

  it.each(expected)('numbers callcount and taskcount $numbers on $version', ({ version, numbers }) => {
    const ported = portSeries(readSeries(patches61), loadTree(version), version);
    expect(ported.syscalls.map((syscall) => [syscall.name, syscall.x86_64])).toEqual([
      ['callcount', numbers[0]],
      ['taskcount', numbers[1]],
    ]);
    expect(ported.patches.map((patch) => patch.name)).toEqual(['0001-callcount.patch', '0002-taskcount.patch']);
  });

  it('keeps the series as it is on 6.1, where it already registers exactly so', () => {
    const series = readSeries(patches61);
    const ported = portSeries(series, loadTree('6.1'), '6.1');
    expect(ported.unchanged).toBe(true);
    expect(ported.patches).toEqual(series);
    expect(portSeries(series, loadTree('5.10'), '5.10').unchanged).toBe(false);
  });

  it.each(expected)(
    'applies with patch --fuzz=0 on $version: table, prototypes in order, folder',
    ({ version, numbers, after }) => {
      const ported = portSeries(readSeries(patches61), loadTree(version), version);
      const dir = copyTree(version);
      expect(applyWithPatch(dir, ported.patches)).toBeUndefined();
      const table = treeLines(dir, table64);
      const at = table.findIndex((line) => words(line)[2] === 'callcount');
      expect(words(table[at - 1]!)[2]).toBe(after);
      expect(words(table[at]!)).toEqual([String(numbers[0]), 'common', 'callcount', 'sys_callcount']);
      expect(words(table[at + 1]!)).toEqual([String(numbers[1]), 'common', 'taskcount', 'sys_taskcount']);
      const header = treeLines(dir, prototypes);
      const first = afterPrototypeOf(header, after);
      expect(header[first]).toBe('asmlinkage long sys_callcount(unsigned long __user *num);');
      expect(header[first + 1]).toBe('asmlinkage long sys_taskcount(unsigned long __user *num);');
      expect(readFileSync(join(dir, 'mysyscalls', 'Makefile'), 'utf8')).toBe('obj-y += callcount.o taskcount.o\n');
      const folderLines = (file: string): string[] =>
        treeLines(dir, file).filter((line) => line.includes('mysyscalls/'));
      if (version === '5.10') {
        expect(folderLines(makefile)).toEqual(['core-y\t\t+= mysyscalls/']);
        expect(folderLines(kbuild)).toEqual([]);
      } else {
        expect(folderLines(kbuild)).toEqual(['obj-y\t\t\t+= mysyscalls/']);
        expect(folderLines(makefile)).toEqual([]);
      }
    },
  );

  it('writes the prototype after the two-line declaration of sys_process_madvise on 5.10', () => {
    const [callcount] = portSeries(readSeries(patches61), loadTree('5.10'), '5.10').patches;
    const hunk = fileOf(callcount!.text, prototypes)!.hunks[0]!;
    expect(hunk.lines.slice(1, 4)).toEqual([
      ' asmlinkage long sys_process_madvise(int pidfd, const struct iovec __user *vec,',
      ' \t\t\tsize_t vlen, int behavior, unsigned int flags);',
      '+asmlinkage long sys_callcount(unsigned long __user *num);',
    ]);
  });
});

describe('portSeries: a full user series for 6.1 (test/fixtures/registration-series/user-6.1)', () => {
  const original = (): SeriesPatch => readSeries(userSeries)[0]!;
  const cases = [
    { version: '5.10', number: 441 },
    { version: '6.12', number: 463 },
    { version: '7.2', number: 472 },
  ];

  it('applies to the real 6.1 files as written and is used as it is there', () => {
    const ported = portSeries([original()], loadTree('6.1'), '6.1');
    expect(ported).toEqual({
      patches: [original()],
      unchanged: true,
      syscalls: [{ name: 'hello_user', x86_64: 451, generic: 451 }],
    });
    expect(applyWithPatch(copyTree('6.1'), [original()])).toBeUndefined();
  });

  it.each(cases)(
    'numbers hello_user $number on $version and keeps message, signature and code',
    ({ version, number }) => {
      const ported = portSeries([original()], loadTree(version), version);
      expect(ported.unchanged).toBe(false);
      expect(ported.syscalls).toEqual([{ name: 'hello_user', x86_64: number, generic: number }]);
      const [patch] = ported.patches;
      expect(patch!.name).toBe('0001-add-hello_user.patch');
      const before = parsePatch(original().text);
      const after = parsePatch(patch!.text);
      // The message up to and with its "---" line, then no diffstat; the signature as it was.
      const separator = before.preamble.indexOf('---');
      expect(after.preamble).toEqual([...before.preamble.slice(0, separator + 1), '']);
      expect(after.preamble).toContain('Signed-off-by: A. User <a.user@example.org>');
      expect(patch!.text).not.toMatch(/files? changed|create mode|^ Kbuild +\|/m);
      expect(after.trailer).toEqual(['-- ', '2.39.5', '']);
      expect(patch!.text.endsWith('\n-- \n2.39.5\n\n')).toBe(true);
      // The code's own files byte for byte.
      for (const path of ['hellosys/Makefile', 'hellosys/hello_user.c']) {
        expect(after.files.find((file) => file.path === path)).toEqual(before.files.find((file) => file.path === path));
      }
      // The registration files written anew (in whatever order), then the code's files.
      const expectedPaths: string[] = [
        table64,
        genericHeader,
        prototypes,
        stubs,
        version === '5.10' ? makefile : kbuild,
      ];
      if (version !== '5.10') expectedPaths.push(genericTable);
      const paths = pathsOf(patch!.text);
      expect(paths.slice(0, -2).sort()).toEqual(expectedPaths.sort());
      expect(paths.slice(-2)).toEqual(['hellosys/Makefile', 'hellosys/hello_user.c']);
    },
  );

  it.each(cases)(
    'applies with patch --fuzz=0 on $version and registers hello_user $number everywhere',
    ({ version, number }) => {
      const [patch] = portSeries([original()], loadTree(version), version).patches;
      const dir = copyTree(version);
      expect(applyWithPatch(dir, [patch!])).toBeUndefined();
      const stock = loadTree(version);

      const table = treeLines(dir, table64);
      const at = table.findIndex((line) => words(line)[2] === 'hello_user');
      expect(words(table[at]!)).toEqual([String(number), 'common', 'hello_user', 'sys_hello_user']);
      expect(Number(words(table[at - 1]!)[0])).toBe(number - 1);
      expect(treeLines(dir, table32)).toEqual(stock.get(table32));

      const header = treeLines(dir, genericHeader);
      const undef = header.indexOf('#undef __NR_syscalls');
      expect(header.slice(undef - 4, undef + 2)).toEqual([
        '',
        `#define __NR_hello_user ${String(number)}`,
        '__SYSCALL(__NR_hello_user, sys_hello_user)',
        '',
        '#undef __NR_syscalls',
        `#define __NR_syscalls ${String(number + 1)}`,
      ]);
      if (existsSync(join(trees, version, genericTable))) {
        const generic = treeLines(dir, genericTable);
        expect(words(generic.at(-1)!)).toEqual([String(number), 'common', 'hello_user', 'sys_hello_user']);
        expect(Number(words(generic.at(-2)!)[0])).toBe(number - 1);
      }

      const declarations = treeLines(dir, prototypes);
      const last = words(table[at - 1]!)[2]!;
      expect(declarations[afterPrototypeOf(declarations, last)]).toBe(
        'asmlinkage long sys_hello_user(int __user *out);',
      );

      const stubLines = treeLines(dir, stubs).filter((line) => /^COND_SYSCALL/.test(line));
      expect(stubLines.at(-1)).toBe('COND_SYSCALL(hello_user);');
      expect(stubLines.slice(0, -1)).toEqual(stock.get(stubs)!.filter((line) => /^COND_SYSCALL/.test(line)));

      if (version === '5.10') {
        const lines = treeLines(dir, makefile);
        const core = lines.findIndex((line) => /^core-y\s*\+=.*\bkernel\//.test(line));
        expect(lines[core + 1]).toBe('core-y\t\t+= hellosys/');
        expect(treeLines(dir, kbuild)).toEqual(stock.get(kbuild));
      } else {
        const lines = treeLines(dir, kbuild);
        expect(lines.filter((line) => line.includes('hellosys/'))).toEqual(['obj-y\t\t\t+= hellosys/']);
        expect(treeLines(dir, makefile)).toEqual(stock.get(makefile));
      }
      expect(readFileSync(join(dir, 'hellosys', 'Makefile'), 'utf8')).toBe('obj-y += hello_user.o\n');
      expect(readFileSync(join(dir, 'hellosys', 'hello_user.c'), 'utf8')).toContain(
        'SYSCALL_DEFINE1(hello_user, int __user *, out)',
      );
    },
  );

  it('writes no stub and no generic entry for a series that has none (table-only-6.1)', () => {
    for (const version of ['5.10', '7.2']) {
      const ported = portSeries(readSeries(tableOnlySeries), loadTree(version), version);
      expect(ported.syscalls.every((syscall) => syscall.generic === undefined && syscall.i386 === undefined)).toBe(
        true,
      );
      const touched = ported.patches.flatMap((patch) => pathsOf(patch.text));
      expect(touched).toContain(table64);
      expect(touched).toContain(prototypes);
      for (const path of [stubs, genericHeader, genericTable, table32]) expect(touched).not.toContain(path);
      expect(applyWithPatch(copyTree(version), ported.patches)).toBeUndefined();
    }
    expect(portSeries(readSeries(tableOnlySeries), loadTree('6.1'), '6.1').unchanged).toBe(true);
  });

  it('writes an i386 entry only for a series that has one', () => {
    const parsed = parsePatch(original().text);
    const i386: FileDiff = {
      path: table32,
      header: [`diff --git a/${table32} b/${table32}`, `--- a/${table32}`, `+++ b/${table32}`],
      hunks: [
        {
          header: '@@ -455,3 +455,4 @@',
          oldStart: 455,
          lines: [
            ' 448\ti386\tprocess_mrelease\tsys_process_mrelease',
            ' 449\ti386\tfutex_waitv\t\tsys_futex_waitv',
            ' 450\ti386\tset_mempolicy_home_node\t\tsys_set_mempolicy_home_node',
            '+451\ti386\thello_user\t\tsys_hello_user',
          ],
        },
      ],
    };
    parsed.files.splice(2, 0, i386);
    const withI386 = { name: '0001-add-hello_user.patch', text: formatPatch(parsed) };
    expect(portSeries([withI386], loadTree('6.1'), '6.1').unchanged).toBe(true);
    const ported = portSeries([withI386], loadTree('7.2'), '7.2');
    expect(ported.syscalls).toEqual([{ name: 'hello_user', x86_64: 472, i386: 472, generic: 472 }]);
    const dir = copyTree('7.2');
    expect(applyWithPatch(dir, ported.patches)).toBeUndefined();
    expect(words(treeLines(dir, table32).at(-1)!)).toEqual(['472', 'i386', 'hello_user', 'sys_hello_user']);
  });

  it("recognises the 3.9 style of folder (appending to the Makefile's core-y line)", () => {
    const [callcount, taskcount] = readSeries(tableOnlySeries);
    const parsed = parsePatch(callcount!.text);
    const coreY = parsePatch(readSeries(patches39)[0]!.text).files.find((file) => file.path === makefile)!;
    parsed.files = [...parsed.files.filter((file) => file.path !== kbuild), coreY];
    const series = [{ name: callcount!.name, text: formatPatch(parsed) }, taskcount!];
    for (const version of ['5.10', '6.12']) {
      const ported = portSeries(series, loadTree(version), version);
      const dir = copyTree(version);
      expect(applyWithPatch(dir, ported.patches)).toBeUndefined();
      const folder = (file: string): string[] => treeLines(dir, file).filter((line) => line.includes('mysyscalls/'));
      expect(folder(version === '5.10' ? makefile : kbuild)).toEqual([
        version === '5.10' ? 'core-y\t\t+= mysyscalls/' : 'obj-y\t\t\t+= mysyscalls/',
      ]);
      expect(folder(version === '5.10' ? kbuild : makefile)).toEqual([]);
    }
  });

  describe('hunks of registration files that do something else', () => {
    /** The series with two more syscalls.h hunks: an #include, and a #define next to sys_process_mrelease (6.1 on). */
    function withOtherHunks(): SeriesPatch {
      const parsed = parsePatch(original().text);
      const header = parsed.files.find((file) => file.path === prototypes)!;
      header.hunks.unshift(
        {
          header: '@@ -84,6 +84,7 @@',
          oldStart: 84,
          lines: [
            ' #include <linux/unistd.h>',
            ' #include <linux/quota.h>',
            ' #include <linux/key.h>',
            '+#include <linux/hello_user.h>',
            ' #include <linux/personality.h>',
            ' #include <trace/syscall.h>',
            ' ',
          ],
        },
        {
          header: '@@ -922,6 +923,7 @@',
          oldStart: 922,
          lines: [
            ' asmlinkage long sys_process_madvise(int pidfd, const struct iovec __user *vec,',
            ' \t\t\tsize_t vlen, int behavior, unsigned int flags);',
            ' asmlinkage long sys_process_mrelease(int pidfd, unsigned int flags);',
            '+#define HELLO_USER_ANSWER 42',
            ' asmlinkage long sys_remap_file_pages(unsigned long start, unsigned long size,',
            ' \t\t\tunsigned long prot, unsigned long pgoff,',
            ' \t\t\tunsigned long flags);',
          ],
        },
      );
      return { name: original().name, text: formatPatch(parsed) };
    }

    it('are applied as written, at an offset, and kept in the ported patch', () => {
      const patch = withOtherHunks();
      expect(applyWithPatch(copyTree('6.1'), [patch])).toBeUndefined();
      const ported = portSeries([patch], loadTree('7.2'), '7.2');
      expect(ported.syscalls).toEqual([{ name: 'hello_user', x86_64: 472, generic: 472 }]);
      const dir = copyTree('7.2');
      expect(applyWithPatch(dir, ported.patches)).toBeUndefined();
      const lines = treeLines(dir, prototypes);
      expect(lines[lines.indexOf('#include <linux/key.h>') + 1]).toBe('#include <linux/hello_user.h>');
      expect(lines[lines.indexOf('asmlinkage long sys_process_mrelease(int pidfd, unsigned int flags);') + 1]).toBe(
        '#define HELLO_USER_ANSWER 42',
      );
      expect(lines[afterPrototypeOf(lines, 'rseq_slice_yield')]).toBe(
        'asmlinkage long sys_hello_user(int __user *out);',
      );
    });

    it('stop the port with a PortError naming the patch, the hunk and the file where they do not apply', () => {
      const error = thrown(() =>
        portSeries([readSeries(tableOnlySeries)[0]!, withOtherHunks()], loadTree('5.10'), '5.10'),
      );
      expect(error).toBeInstanceOf(PortError);
      const { message, fix } = error as PortError;
      expect(message).toContain('0001-add-hello_user.patch');
      expect(message).toContain(`hunk 2 of ${prototypes}`);
      expect(message).toContain('@@ -922,6 +923,7 @@');
      expect(message).toContain('Linux 5.10');
      expect(fix).toContain('--kernel 5.10=DIR');
    });

    it('stop the port where a registration file the patch changes is missing on the target', () => {
      const files = loadTree('5.10');
      files.delete(stubs);
      const error = thrown(() => portSeries([original()], files, '5.10'));
      expect(error).toBeInstanceOf(PortError);
      expect((error as PortError).message).toContain('0001-add-hello_user.patch');
      expect((error as PortError).message).toContain(stubs);
    });
  });

  // patch --fuzz=0 anchors a hunk with less context on one side to that end of the file: so must
  // the judgement that a series is unchanged.
  it('returns as unchanged only a series that patch --fuzz=0 applies', () => {
    const files = loadTree('6.1');
    const extra = '/* a vendor line after the last stub */';
    files.set(stubs, [...files.get(stubs)!, extra]);
    const ported = portSeries([original()], files, '6.1');
    const dir = copyTree('6.1');
    writeFileSync(join(dir, stubs), `${files.get(stubs)!.join('\n')}\n`);
    expect(applyWithPatch(dir, ported.patches)).toBeUndefined();
  });
});

describe('chooseSeries', () => {
  it('uses patches-6.1 for 6.1 and for any 6.1.y', () => {
    expect(chooseSeries('6.1', undefined, undefined)).toEqual({ dir: join(projectRoot, 'patches-6.1') });
    expect(chooseSeries('6.1.192', undefined, undefined)).toEqual({ dir: join(projectRoot, 'patches-6.1') });
  });

  it('prefers an exact patches-<version> folder', () => {
    const root = tempDir();
    mkdirSync(join(root, 'patches-6.1'));
    mkdirSync(join(root, 'patches-6.1.73'));
    expect(chooseSeries('6.1.73', undefined, undefined, root)).toEqual({ dir: join(root, 'patches-6.1.73') });
    expect(chooseSeries('6.1.74', undefined, undefined, root)).toEqual({ dir: join(root, 'patches-6.1') });
  });

  it('falls back to the newest patches-X.Y.Z of the same series, with a notice', () => {
    const root = tempDir();
    mkdirSync(join(root, 'patches-3.9.11'));
    const found = chooseSeries('3.9.6', undefined, undefined, root);
    expect(found.dir).toBe(join(root, 'patches-3.9.11'));
    expect(found.notice).toContain('patches-3.9.11');
    expect(found.notice).toContain('3.9.6');

    mkdirSync(join(root, 'patches-3.9.2'));
    mkdirSync(join(root, 'patches-3.10.1'));
    expect(chooseSeries('3.9.6', undefined, undefined, root).dir).toBe(join(root, 'patches-3.9.11'));
  });

  it('does not take another series (3.1 is not 3.10)', () => {
    const root = tempDir();
    mkdirSync(join(root, 'patches-3.10.1'));
    expect(() => chooseSeries('3.1', undefined, undefined, root)).toThrow(BadInputError);
  });

  it('refuses a version without any patch set', () => {
    const root = tempDir();
    const error = thrown(() => chooseSeries('5.4', undefined, undefined, root));
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).message).toContain('no patches-5.4');
    expect((error as BadInputError).fix).toContain('--patches');
  });

  it("takes the kernel's own series (--kernel SPEC=DIR) over --patches, and --patches over patches-*", () => {
    expect(chooseSeries('6.1', '/my/own', '/my/common')).toEqual({ dir: '/my/own' });
    expect(chooseSeries('6.1', undefined, '/my/common')).toEqual({ dir: '/my/common' });
    expect(chooseSeries('5.10', undefined, '/my/common')).toEqual({ dir: '/my/common' });
    expect(chooseSeries('3.9.6', '/my/own', undefined)).toEqual({ dir: '/my/own' });
  });

  it.each(['5.10', '6.12', '7.2', '6.12.48'])(
    'gives %s the nearest series with the same table path, patches-6.1, with a notice',
    (version) => {
      const found = chooseSeries(version, undefined, undefined);
      expect(found.dir).toBe(patches61);
      expect(found.notice).toContain('patches-6.1');
      expect(found.notice).toContain(version);
      expect(found.notice).toContain('regenerated');
    },
  );

  it('gives 3.9.6 patches-3.9.11, never patches-6.1 (regeneration does not cross the 4.2 table move)', () => {
    expect(chooseSeries('3.9.6', undefined, undefined).dir).toBe(patches39);
    const root = tempDir();
    mkdirSync(join(root, 'patches-6.1'));
    expect(() => chooseSeries('3.9.6', undefined, undefined, root)).toThrow(BadInputError);
    expect(() => chooseSeries('4.1', undefined, undefined, root)).toThrow(BadInputError);
    // patches-4.1 is nearer to 4.4, but on the other side of the table move.
    mkdirSync(join(root, 'patches-4.1'));
    expect(chooseSeries('4.4', undefined, undefined, root).dir).toBe(join(root, 'patches-6.1'));
    expect(chooseSeries('4.1.52', undefined, undefined, root).dir).toBe(join(root, 'patches-4.1'));
    expect(chooseSeries('4.2', undefined, undefined, root).dir).toBe(join(root, 'patches-6.1'));
  });

  it('takes the nearest series by version, older or newer, the newer on a tie', () => {
    const root = tempDir();
    mkdirSync(join(root, 'patches-4.19'));
    mkdirSync(join(root, 'patches-6.1'));
    expect(chooseSeries('5.4', undefined, undefined, root).dir).toBe(join(root, 'patches-4.19'));
    expect(chooseSeries('5.10', undefined, undefined, root).dir).toBe(join(root, 'patches-6.1'));
    expect(chooseSeries('6.12', undefined, undefined, root).dir).toBe(join(root, 'patches-6.1'));
    expect(chooseSeries('4.14', undefined, undefined, root).dir).toBe(join(root, 'patches-4.19'));
  });
});

describe('seriesForKernel and readTreeFiles', () => {
  const treeSource = (version: string, path: string): KernelSource => ({
    requested: path,
    kind: 'tree',
    version,
    scriptArgs: ['--source', path],
    identity: `tree:${path}:${version}:registration-test`,
    path,
  });

  it('leaves the series of a kernel before 4.2 as it is, and writes no ported copy', async () => {
    const cache = tempDir();
    vi.stubEnv('SYSCALL_LAB_CACHE', cache);
    const given = await readPatchSet(patches39);
    const result = await seriesForKernel(treeSource('3.9.6', join(trees, '3.9')), given);
    expect(result).toEqual({ patchSet: given, givenDir: patches39, syscalls: [], regenerated: false });
    expect(readdirSync(cache)).toEqual([]);
  });

  it('regenerates patches-6.1 for a 5.10 tree into the cache, and keeps it as it is for 6.1', async () => {
    const cache = tempDir();
    vi.stubEnv('SYSCALL_LAB_CACHE', cache);
    const given = await readPatchSet(patches61);
    const ported = await seriesForKernel(treeSource('5.10', join(trees, '5.10')), given);
    expect(ported.regenerated).toBe(true);
    expect(ported.givenDir).toBe(patches61);
    expect(ported.syscalls.map((syscall) => syscall.x86_64)).toEqual([441, 442]);
    expect(ported.patchSet.dir.startsWith(join(cache, 'ported'))).toBe(true);
    const expected = portSeries(readSeries(patches61), loadTree('5.10'), '5.10').patches;
    expect(
      ported.patchSet.files.map((file) => ({
        name: relative(ported.patchSet.dir, file),
        text: readFileSync(file, 'utf8'),
      })),
    ).toEqual(expected);
    // A second time from the cache.
    expect(await seriesForKernel(treeSource('5.10', join(trees, '5.10')), given)).toEqual(ported);

    const same = await seriesForKernel(treeSource('6.1', join(trees, '6.1')), given);
    expect(same.regenerated).toBe(false);
    expect(same.patchSet).toBe(given);
    expect(same.syscalls.map((syscall) => [syscall.name, syscall.x86_64])).toEqual([
      ['callcount', 451],
      ['taskcount', 452],
    ]);
  });

  it('reads the registration files of a tree and of a tarball alike', async () => {
    const fromFixture = new Map([...loadTree('6.12')].filter(([path]) => registrationPaths.has(path)));
    expect([...fromFixture.keys()].sort()).toEqual([...registrationPaths].sort());
    expect(await readTreeFiles(treeSource('6.12', join(trees, '6.12')))).toEqual(fromFixture);
    const work = tempDir();
    cpSync(join(trees, '5.10'), join(work, 'linux-5.10'), { recursive: true });
    const tarball = join(work, 'linux-5.10.tar.gz');
    expect(spawnSync('tar', ['-czf', tarball, '-C', work, 'linux-5.10']).status).toBe(0);
    const files = await readTreeFiles({ ...treeSource('5.10', tarball), kind: 'tarball' });
    expect(files).toEqual(new Map([...loadTree('5.10')].filter(([path]) => registrationPaths.has(path))));
    expect(files.has(genericTable)).toBe(false);
  });
});
