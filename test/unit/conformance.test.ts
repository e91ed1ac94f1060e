// The conformance checklist's pure parts (src/conformance/, src/report/ and src/render.ts for its
// results): signatures read from SYSCALL_DEFINEn, the facts of real and synthetic series, the
// static items, sparse's and checkpatch's output judged (golden output of the real tools in
// test/fixtures/conformance/), the generated case table and the reports. The parts that start
// processes or machines are in conformance-run.test.ts.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generatedCases, pointeeSize, validArguments } from '../../src/conformance/cases.ts';
import {
  checklist,
  fromCheckResult,
  isConformanceResult,
  itemResult,
  type ConformanceMode,
} from '../../src/conformance/checklist.ts';
import { checkpatchItem, parseCheckpatch, type CheckpatchFinding } from '../../src/conformance/checkpatch.ts';
import { registrationItems } from '../../src/conformance/registration-items.ts';
import { readSeriesFacts, type SeriesFacts } from '../../src/conformance/series-facts.ts';
import { readDefinitions, readNullable, readValid, type SyscallSignature } from '../../src/conformance/signature.ts';
import { sparseItem } from '../../src/conformance/sparse.ts';
import type { SeriesPatch } from '../../src/kernel/registration/port.ts';
import { projectRoot } from '../../src/paths.ts';
import { configFeatures } from '../../src/stages/plan.ts';
import { createRenderer } from '../../src/render.ts';
import { toJson } from '../../src/report/json.ts';
import { toJunit } from '../../src/report/junit.ts';
import type { ConformanceResult, RunReport } from '../../src/report/model.ts';
import { conformanceLabel, formatSummary } from '../../src/report/summary.ts';
import { run396, run61 } from './support/sample-runs.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-conformance-');
const fixtures = join(projectRoot, 'test', 'fixtures', 'conformance');
const fixture = (name: string): string => join(fixtures, name);

function readSeries(dir: string): SeriesPatch[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.patch'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
}

/** Each item's status by its id (`syscall-define`, not `conformance:syscall-define`). */
function statuses(items: ConformanceResult[]): Record<string, string> {
  return Object.fromEntries(items.map((item) => [item.name.replace(/^conformance:/, ''), item.status]));
}

const itemOf = (items: ConformanceResult[], id: string): ConformanceResult => {
  const found = items.find((item) => item.name === `conformance:${id}`);
  if (!found) throw new Error(`no item ${id} in ${items.map((item) => item.name).join(', ')}`);
  return found;
};

describe('readDefinitions', () => {
  it('reads SYSCALL_DEFINE0 to SYSCALL_DEFINE6: names and every argument in order', () => {
    const text = [
      'SYSCALL_DEFINE0(lab_zero)',
      '{ return 0; }',
      'SYSCALL_DEFINE1(lab_one, int, a)',
      'SYSCALL_DEFINE2(lab_two, int, a, long, b)',
      'SYSCALL_DEFINE3(lab_three, int, a, long, b, unsigned int, c)',
      'SYSCALL_DEFINE4(lab_four, int, a, long, b, unsigned int, c, size_t, d)',
      'SYSCALL_DEFINE5(lab_five, int, a, long, b, unsigned int, c, size_t, d, u64, e)',
      'SYSCALL_DEFINE6(lab_six, int, a, long, b, unsigned int, c, size_t, d, u64, e, pid_t, f)',
    ].join('\n');
    const found = readDefinitions(text);
    expect(found.map((d) => [d.name, d.arguments.map((a) => `${a.type} ${a.name}`).join(', ')])).toEqual([
      ['lab_zero', ''],
      ['lab_one', 'int a'],
      ['lab_two', 'int a, long b'],
      ['lab_three', 'int a, long b, unsigned int c'],
      ['lab_four', 'int a, long b, unsigned int c, size_t d'],
      ['lab_five', 'int a, long b, unsigned int c, size_t d, u64 e'],
      ['lab_six', 'int a, long b, unsigned int c, size_t d, u64 e, pid_t f'],
    ]);
    // A plain value: no pointer, no __user, its type is its "pointee".
    expect(found[3]?.arguments[2]).toEqual({
      name: 'c',
      type: 'unsigned int',
      pointer: false,
      user: false,
      constant: false,
      pointee: 'unsigned int',
    });
  });

  it('reads a definition written over several lines, with its whitespace made single spaces', () => {
    const text = [
      'SYSCALL_DEFINE4(lab_copy,',
      '\t\tconst void __user *, src,',
      '\t\tvoid   __user\t*, dst,',
      '\t\tsize_t, len,',
      '\t\tunsigned int, flags)',
      '{',
      '\tif (copy_from_user(buf, src, len))',
      '\t\treturn -EFAULT;',
      '}',
    ].join('\n');
    expect(readDefinitions(text)).toEqual([
      {
        name: 'lab_copy',
        arguments: [
          { name: 'src', type: 'const void __user *', pointer: true, user: true, constant: true, pointee: 'void' },
          { name: 'dst', type: 'void __user *', pointer: true, user: true, constant: false, pointee: 'void' },
          { name: 'len', type: 'size_t', pointer: false, user: false, constant: false, pointee: 'size_t' },
          {
            name: 'flags',
            type: 'unsigned int',
            pointer: false,
            user: false,
            constant: false,
            pointee: 'unsigned int',
          },
        ],
      },
    ]);
  });

  it('knows a const pointee wherever const is written, and a pointer without __user', () => {
    const [found] = readDefinitions(
      'SYSCALL_DEFINE4(lab_c, const char __user *, a, char const __user *, b, const void __user *const, c, unsigned long *, d)',
    );
    expect(found?.arguments.map((a) => [a.name, a.constant, a.user, a.pointee])).toEqual([
      ['a', true, true, 'char'],
      ['b', true, true, 'char'],
      // A const pointer to const memory: still only read.
      ['c', true, true, 'void'],
      ['d', false, false, 'unsigned long'],
    ]);
  });

  it("reads a pointer to a pointer: the pointee is a pointer, const only when the pointee's own qualifier says so", () => {
    const [found] = readDefinitions(
      [
        'SYSCALL_DEFINE4(lab_pp,',
        '\tconst char __user *const __user *, argv,',
        '\tchar __user * __user *, out,',
        '\tconst char __user * __user *, names,',
        '\tchar __user *const __user *, fixed)',
      ].join('\n'),
    );
    expect(found?.arguments).toEqual([
      {
        name: 'argv',
        type: 'const char __user *const __user *',
        pointer: true,
        user: true,
        constant: true,
        pointee: 'char *',
      },
      { name: 'out', type: 'char __user * __user *', pointer: true, user: true, constant: false, pointee: 'char *' },
      // The syscall may store a pointer through `names` (the chars pointed at are const, the pointer is not).
      {
        name: 'names',
        type: 'const char __user * __user *',
        pointer: true,
        user: true,
        constant: false,
        pointee: 'char *',
      },
      // ... and may not through `fixed`.
      {
        name: 'fixed',
        type: 'char __user *const __user *',
        pointer: true,
        user: true,
        constant: true,
        pointee: 'char *',
      },
    ]);
  });

  it('reads a struct or union pointee by its tag', () => {
    const [found] = readDefinitions(
      'SYSCALL_DEFINE3(lab_s, struct lab_info __user *, info, const union lab_arg __user *, arg, struct lab_info **, pp)',
    );
    expect(found?.arguments.map((a) => [a.name, a.pointee, a.constant])).toEqual([
      ['info', 'struct lab_info', false],
      ['arg', 'union lab_arg', true],
      ['pp', 'struct lab_info *', false],
    ]);
  });

  it('returns a definition whose count disagrees with n with the arguments it has, and takes no COMPAT_SYSCALL_DEFINE', () => {
    const text = [
      'SYSCALL_DEFINE3(lab_short, int, a)',
      'COMPAT_SYSCALL_DEFINE1(lab_short, compat_uptr_t, p)',
      'SYSCALL_DEFINE1( lab_spaced , int , a )',
    ].join('\n');
    expect(readDefinitions(text).map((d) => [d.name, d.arguments.map((a) => `${a.type}/${a.name}`)])).toEqual([
      ['lab_short', ['int/a']],
      ['lab_spaced', ['int/a']],
    ]);
    expect(readDefinitions('long sys_lab(int a) { return a; }')).toEqual([]);
  });
});

describe('readNullable', () => {
  it('reads each `syscall-lab: nullable(arg)` comment, spaces or not', () => {
    const text = [
      '/* syscall-lab: nullable(buf) */',
      'SYSCALL_DEFINE2(lab_n, char __user *, buf, struct lab_info __user *, old) /* syscall-lab:nullable( old ) */',
      '/* nullable(not_marked) */',
    ].join('\n');
    expect(readNullable(text)).toEqual(['buf', 'old']);
    expect(readNullable('SYSCALL_DEFINE1(lab, int __user *, p)')).toEqual([]);
  });
});

describe('readValid', () => {
  it('reads each `syscall-lab: valid(arg=VALUE)` comment: decimal, negative or hex', () => {
    const text =
      '/* syscall-lab: valid(fd=3) */ /* syscall-lab: valid( dirfd = -100 ) */ /* syscall-lab: valid(mask=0x1f) */';
    expect(readValid(text)).toEqual({ fd: 3n, dirfd: -100n, mask: 31n });
    expect(readValid('/* valid(fd=3) */ /* syscall-lab: valid(fd) */')).toEqual({});
  });
});

describe('readSeriesFacts on the real series', () => {
  const patches61 = join(projectRoot, 'patches-6.1');
  const patches39 = join(projectRoot, 'patches-3.9.11');
  const hello = join(projectRoot, 'test', 'fixtures', 'patches', 'hello-6.1-upstream');
  const num = {
    name: 'num',
    type: 'unsigned long __user *',
    pointer: true,
    user: true,
    constant: false,
    pointee: 'unsigned long',
  };

  it('patches-6.1: both syscalls fully registered, __NR_syscalls 451 -> 453, both definitions, the C files', () => {
    const facts = readSeriesFacts(readSeries(patches61));
    expect(facts.registrations).toEqual([
      {
        name: 'callcount',
        x86_64: { number: 451, abi: 'common', entry: 'sys_callcount' },
        prototype: ['asmlinkage long sys_callcount(unsigned long __user *num);'],
        generic: { number: 0, entry: 'sys_callcount' },
        genericFiles: ['unistd.h'],
        stub: { compat: false, macro: 'COND_SYSCALL' },
      },
      {
        name: 'taskcount',
        x86_64: { number: 452, abi: 'common', entry: 'sys_taskcount' },
        prototype: ['asmlinkage long sys_taskcount(unsigned long __user *num);'],
        generic: { number: 0, entry: 'sys_taskcount' },
        genericFiles: ['unistd.h'],
        stub: { compat: false, macro: 'COND_SYSCALL' },
      },
    ]);
    // 0001 raises it 451 -> 452, 0002 452 -> 453: the count before the first, after the last.
    expect(facts.syscallCount).toEqual({ before: 451, after: 453 });
    expect(facts.definitions).toEqual([
      {
        name: 'callcount',
        arguments: [num],
        patch: '0001-callcount.patch',
        file: 'mysyscalls/callcount.c',
        nullable: [],
      },
      {
        name: 'taskcount',
        arguments: [num],
        patch: '0002-taskcount.patch',
        file: 'mysyscalls/taskcount.c',
        nullable: [],
      },
    ]);
    // Every .c file the series adds or changes: sys_ni.c too (sparse checks it as well).
    expect(facts.cFiles).toEqual(['kernel/sys_ni.c', 'mysyscalls/callcount.c', 'mysyscalls/taskcount.c']);
  });

  it('patches-3.9.11: the tables in arch/x86/syscalls/ read as the x86-64 entries; no stub, no generic entry', () => {
    const facts = readSeriesFacts(readSeries(patches39));
    expect(facts.registrations).toEqual([
      {
        name: 'callcount',
        x86_64: { number: 314, abi: 'common', entry: 'sys_callcount' },
        prototype: ['asmlinkage long sys_callcount(unsigned long __user *num);'],
      },
      {
        name: 'taskcount',
        x86_64: { number: 315, abi: 'common', entry: 'sys_taskcount' },
        prototype: ['asmlinkage long sys_taskcount(unsigned long __user *num);'],
      },
    ]);
    expect(facts.syscallCount).toBeUndefined();
    expect(facts.definitions.map((d) => [d.name, d.file, d.arguments])).toEqual([
      ['callcount', 'mysyscalls/callcount.c', [num]],
      ['taskcount', 'mysyscalls/taskcount.c', [num]],
    ]);
    expect(facts.cFiles).toEqual(['mysyscalls/callcount.c', 'mysyscalls/taskcount.c']);
  });

  it('hello-6.1-upstream: one syscall with a char __user * buffer and its length', () => {
    const facts = readSeriesFacts(readSeries(hello));
    expect(facts.registrations.map((r) => [r.name, r.x86_64?.number, r.stub?.macro, r.genericFiles])).toEqual([
      ['hello', 451, 'COND_SYSCALL', ['unistd.h']],
    ]);
    expect(facts.syscallCount).toEqual({ before: 451, after: 452 });
    expect(facts.definitions).toEqual([
      {
        name: 'hello',
        arguments: [
          { name: 'buf', type: 'char __user *', pointer: true, user: true, constant: false, pointee: 'char' },
          { name: 'len', type: 'size_t', pointer: false, user: false, constant: false, pointee: 'size_t' },
        ],
        patch: '0001-hello.patch',
        file: 'hello/hello.c',
        nullable: [],
      },
    ]);
    expect(facts.cFiles).toEqual(['hello/hello.c', 'kernel/sys_ni.c']);
  });
});

// Synthetic series: one syscall, lab_get, registered as adding-syscalls.rst asks, each part of it
// switchable, so that each case below breaks exactly one thing.
interface Shape {
  /** Its argument's type in SYSCALL_DEFINE1 (and the prototype). */
  argument?: string;
  define?: boolean;
  /** A second SYSCALL_DEFINE in the same file that no table lists. */
  extraDefine?: boolean;
  prototype?: boolean;
  /** The line added to kernel/sys_ni.c (none: no stub). */
  stub?: string;
  /** __NR_syscalls as removed and added (none: the header's count is not touched). */
  count?: [number, number];
  /** The x86 tables' folder: arch/x86/entry/syscalls/ (from 4.2) or arch/x86/syscalls/ (before). */
  tables?: string;
  scriptsTable?: boolean;
  /** The line added to syscall_32.tbl (none: 64-bit only). */
  i386?: string;
  /** A `syscall-lab: nullable(...)` comment in the .c file. */
  nullable?: string;
}

/** One file's section: its added lines (and removed ones) as one hunk. */
function section(path: string, added: string[], removed: string[] = [], created = false): string {
  return [
    `diff --git a/${path} b/${path}`,
    `--- ${created ? '/dev/null' : `a/${path}`}`,
    `+++ b/${path}`,
    `@@ -${created ? 0 : 10},${removed.length} +${created ? 1 : 10},${added.length} @@`,
    ...removed.map((line) => `-${line}`),
    ...added.map((line) => `+${line}`),
  ].join('\n');
}

const good: Required<Omit<Shape, 'i386' | 'nullable' | 'stub' | 'count'>> & Pick<Shape, 'stub' | 'count'> = {
  argument: 'unsigned long __user *',
  define: true,
  extraDefine: false,
  prototype: true,
  stub: 'COND_SYSCALL(lab_get);',
  count: [460, 461],
  tables: 'arch/x86/entry/syscalls',
  scriptsTable: false,
};

/** The series of `shape` (the good registration with the changes given), as two patches. */
function series(change: Shape = {}): SeriesPatch[] {
  const shape = { ...good, ...change };
  const registration = [
    section(`${shape.tables}/syscall_64.tbl`, ['460\tcommon\tlab_get\t\t\tsys_lab_get']),
    ...(shape.i386 ? [section(`${shape.tables}/syscall_32.tbl`, [shape.i386])] : []),
    ...(shape.prototype
      ? [section('include/linux/syscalls.h', [`asmlinkage long sys_lab_get(${shape.argument}out);`])]
      : []),
    section(
      'include/uapi/asm-generic/unistd.h',
      [
        '#define __NR_lab_get 460',
        '__SYSCALL(__NR_lab_get, sys_lab_get)',
        ...(shape.count ? [`#define __NR_syscalls ${shape.count[1]}`] : []),
      ],
      shape.count ? [`#define __NR_syscalls ${shape.count[0]}`] : [],
    ),
    ...(shape.scriptsTable ? [section('scripts/syscall.tbl', ['460\tcommon\tlab_get\t\t\tsys_lab_get'])] : []),
    ...(shape.stub ? [section('kernel/sys_ni.c', [shape.stub])] : []),
  ];
  const code = [
    '// SPDX-License-Identifier: GPL-2.0',
    '#include <linux/syscalls.h>',
    ...(shape.nullable ? [`/* syscall-lab: nullable(${shape.nullable}) */`] : []),
    ...(shape.define ? [`SYSCALL_DEFINE1(lab_get, ${shape.argument}, out)`, '{', '\treturn 0;', '}'] : []),
    ...(shape.extraDefine ? ['SYSCALL_DEFINE1(lab_extra, int, a)', '{', '\treturn a;', '}'] : []),
  ];
  return [
    { name: '0001-lab-get.patch', text: `Subject: [PATCH 1/2] lab_get\n\n${section('lab/lab.c', code, [], true)}\n` },
    { name: '0002-register.patch', text: `Subject: [PATCH 2/2] register lab_get\n\n${registration.join('\n')}\n` },
  ];
}

const allPass = {
  'syscall-define': 'pass',
  prototype: 'pass',
  'ni-stub': 'pass',
  'generic-table': 'pass',
  'x86-32-entry': 'n/a',
};

describe('configFeatures', () => {
  it('asks for ia32-emulation for a series with an i386 entry (stamp), for no other (patches-6.1, patches-3.9.11)', () => {
    const stamp = join(projectRoot, 'test', 'fixtures', 'conformance', 'stamp-6.1');
    expect(configFeatures(readSeriesFacts(readSeries(stamp)))).toEqual(['ia32-emulation']);
    for (const dir of ['patches-6.1', 'patches-3.9.11'])
      expect(configFeatures(readSeriesFacts(readSeries(join(projectRoot, dir)))), dir).toEqual([]);
  });
});

describe('registrationItems', () => {
  it('passes patches-6.1 on 6.1, x86-32-entry n/a (64-bit only)', () => {
    const items = registrationItems(readSeriesFacts(readSeries(join(projectRoot, 'patches-6.1'))), '6.1.192', 'warn');
    expect(statuses(items)).toEqual(allPass);
    expect(items.map((item) => item.actual)).toEqual([
      'defined: callcount, taskcount',
      'prototypes: callcount, taskcount',
      'COND_SYSCALL for callcount, taskcount',
      'callcount, taskcount in unistd.h, __NR_syscalls 451 -> 453',
      'n/a (64-bit only): no syscall_32.tbl entry',
    ]);
  });

  it('fails patches-3.9.11 on 3.9.6 for ni-stub and generic-table only', () => {
    const items = registrationItems(readSeriesFacts(readSeries(join(projectRoot, 'patches-3.9.11'))), '3.9.6', 'warn');
    expect(statuses(items)).toEqual({ ...allPass, 'ni-stub': 'fail', 'generic-table': 'fail' });
    expect(itemOf(items, 'ni-stub').actual).toBe(
      'callcount: no stub in kernel/sys_ni.c (cond_syscall expected on 3.9.6); taskcount: no stub in kernel/sys_ni.c (cond_syscall expected on 3.9.6)',
    );
    expect(itemOf(items, 'generic-table').actual).toBe(
      'callcount: not in include/uapi/asm-generic/unistd.h; taskcount: not in include/uapi/asm-generic/unistd.h; __NR_syscalls not raised',
    );
  });

  it('passes the synthetic series as written, on 6.1 and (with its stub macro) on 3.9 with the old table folder', () => {
    expect(statuses(registrationItems(readSeriesFacts(series()), '6.1', 'warn'))).toEqual(allPass);
    const old = series({ tables: 'arch/x86/syscalls', stub: 'cond_syscall(sys_lab_get);' });
    expect(statuses(registrationItems(readSeriesFacts(old), '3.9.6', 'warn'))).toEqual(allPass);
  });

  const broken: [string, Shape, string, string, string][] = [
    [
      'a table entry without SYSCALL_DEFINE',
      { define: false },
      '6.1',
      'syscall-define',
      'lab_get: table entry without SYSCALL_DEFINEn',
    ],
    [
      'a SYSCALL_DEFINE without a table entry',
      { extraDefine: true },
      '6.1',
      'syscall-define',
      'lab_extra: SYSCALL_DEFINE1 (lab/lab.c) without a table entry',
    ],
    ['no prototype', { prototype: false }, '6.1', 'prototype', 'lab_get: no prototype in include/linux/syscalls.h'],
    [
      'no sys_ni.c stub',
      { stub: undefined },
      '6.1',
      'ni-stub',
      'lab_get: no stub in kernel/sys_ni.c (COND_SYSCALL expected on 6.1)',
    ],
    [
      'cond_syscall on 6.1',
      { stub: 'cond_syscall(sys_lab_get);' },
      '6.1',
      'ni-stub',
      'lab_get: cond_syscall on 6.1, where COND_SYSCALL is the form',
    ],
    [
      'COND_SYSCALL on 3.9',
      { tables: 'arch/x86/syscalls', stub: 'COND_SYSCALL(lab_get);' },
      '3.9.6',
      'ni-stub',
      'lab_get: COND_SYSCALL on 3.9.6, where cond_syscall is the form',
    ],
    ['__NR_syscalls not touched', { count: undefined }, '6.1', 'generic-table', '__NR_syscalls not raised'],
    ['__NR_syscalls lowered', { count: [461, 460] }, '6.1', 'generic-table', '__NR_syscalls not raised (461 -> 460)'],
    [
      'no scripts/syscall.tbl entry on 6.12',
      {},
      '6.12',
      'generic-table',
      'lab_get: not in scripts/syscall.tbl (which holds the generic table from 6.11)',
    ],
    [
      'an i386 entry without compat_sys_ for an unsigned long __user * argument',
      { i386: '460\ti386\tlab_get\t\t\tsys_lab_get' },
      '6.1',
      'x86-32-entry',
      'lab_get: i386 entry without compat_sys_lab_get, but out (unsigned long __user *) differs between i386 and x86-64',
    ],
  ];
  for (const [what, shape, version, id, actual] of broken) {
    it(`fails ${id} alone for ${what}`, () => {
      const items = registrationItems(readSeriesFacts(series(shape)), version, 'warn');
      expect(statuses(items)).toEqual({ ...allPass, [id]: 'fail' });
      expect(itemOf(items, id).actual).toBe(actual);
      expect(itemOf(items, id).details).toBe('');
    });
  }

  it('passes generic-table on 6.1 without scripts/syscall.tbl, and on 6.12 with it', () => {
    const on61 = registrationItems(readSeriesFacts(series()), '6.1', 'warn');
    expect(statuses(on61)).toEqual(allPass);
    expect(itemOf(on61, 'generic-table').actual).toBe('lab_get in unistd.h, __NR_syscalls 460 -> 461');
    const on612 = registrationItems(readSeriesFacts(series({ scriptsTable: true })), '6.12', 'warn');
    expect(statuses(on612)).toEqual(allPass);
    expect(itemOf(on612, 'generic-table').actual).toBe(
      'lab_get in unistd.h and scripts/syscall.tbl, __NR_syscalls 460 -> 461',
    );
  });

  it('passes an i386 entry with compat_sys_, and one whose argument points to int (the same size on both)', () => {
    const compat = series({ i386: '460\ti386\tlab_get\t\t\tsys_lab_get\t\t\tcompat_sys_lab_get' });
    const withCompat = registrationItems(readSeriesFacts(compat), '6.1', 'warn');
    expect(statuses(withCompat)).toEqual({ ...allPass, 'x86-32-entry': 'pass' });
    expect(itemOf(withCompat, 'x86-32-entry').actual).toBe('i386 entries: lab_get');
    const toInt = series({ argument: 'int __user *', i386: '460\ti386\tlab_get\t\t\tsys_lab_get' });
    expect(statuses(registrationItems(readSeriesFacts(toInt), '6.1', 'warn'))).toEqual({
      ...allPass,
      'x86-32-entry': 'pass',
    });
    // size_t and a pointer to a pointer differ as unsigned long does.
    for (const argument of ['size_t __user *', 'char __user * __user *']) {
      const items = registrationItems(
        readSeriesFacts(series({ argument, i386: '460\ti386\tlab_get\t\t\tsys_lab_get' })),
        '6.1',
        'warn',
      );
      expect(itemOf(items, 'x86-32-entry').status, argument).toBe('fail');
    }
  });

  it('marks every item enforced under fail and none under warn, with its rule and section', () => {
    const facts = readSeriesFacts(series({ define: false }));
    for (const mode of ['warn', 'fail'] as const) {
      const items = registrationItems(facts, '6.1', mode);
      expect(items.map((item) => item.enforced)).toEqual(items.map(() => mode === 'fail'));
    }
    const [define] = registrationItems(facts, '6.1', 'fail');
    expect(define).toMatchObject({
      name: 'conformance:syscall-define',
      rule: checklist['syscall-define'].rule,
      section: 'adding-syscalls.rst: Generic System Call Implementation',
    });
  });
});

describe('readSeriesFacts on synthetic series', () => {
  it('takes the nullable() marks of the file that defines the syscall', () => {
    const facts = readSeriesFacts(series({ nullable: 'out' }));
    expect(facts.definitions.map((d) => [d.name, d.nullable, d.patch, d.file])).toEqual([
      ['lab_get', ['out'], '0001-lab-get.patch', 'lab/lab.c'],
    ]);
  });

  it('reads only definitions the series adds (not context), and no .c file it deletes', () => {
    const text = [
      'diff --git a/kernel/lab.c b/kernel/lab.c',
      '--- a/kernel/lab.c',
      '+++ b/kernel/lab.c',
      '@@ -1,3 +1,4 @@',
      ' SYSCALL_DEFINE1(lab_old, int, a)',
      ' {',
      '+\ta++;',
      ' \treturn a;',
      'diff --git a/kernel/gone.c b/kernel/gone.c',
      '--- a/kernel/gone.c',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-SYSCALL_DEFINE0(lab_gone)',
      '',
    ].join('\n');
    const facts = readSeriesFacts([{ name: '0001-x.patch', text }]);
    expect(facts).toEqual({ registrations: [], definitions: [], cFiles: ['kernel/lab.c'] });
  });
});

describe('sparseItem', () => {
  const log = (text: string): string => {
    const file = join(tempDir(), 'sparse.log');
    writeFileSync(file, text);
    return file;
  };

  it('is n/a when the series adds or changes no .c file (whatever the log says)', () => {
    expect(sparseItem(fixture('sparse-address-space.log'), [], 'fail')).toMatchObject({
      name: 'conformance:user-annotations',
      status: 'n/a',
      enforced: true,
      actual: 'the series adds or changes no .c file',
    });
  });

  it('fails naming apt-get install sparse when sparse was missing', () => {
    const item = sparseItem(log('sparse-missing\n'), ['mysyscalls/callcount.c'], 'warn');
    expect(item.status).toBe('fail');
    expect(item.enforced).toBe(false);
    expect(item.actual).toContain('apt-get install sparse');
  });

  it("fails saying so when the kernel refuses this sparse as too old (Linux 7.2's Makefile and Debian 12's 0.6.4)", () => {
    // The lines of a real 7.2 patched build's sparse.log.
    const refused = [
      '== hello/hello.c',
      "make: Entering directory '/cache/trees/x/linux-source-7.2'",
      '/cache/trees/x/linux-source-7.2/Makefile:1305: C=2 specified, but sparse is not available or not up to date',
      '  DESCEND objtool',
      "make: Leaving directory '/cache/trees/x/linux-source-7.2'",
      '',
    ].join('\n');
    const item = sparseItem(log(refused), ['hello/hello.c'], 'warn');
    expect(item.status).toBe('fail');
    expect(item.actual).toBe(
      'not checked: the kernel\'s Makefile says "C=2 specified, but sparse is not available or not up to date" (fix: a newer sparse, or --conformance off for this kernel)',
    );
  });

  it('fails when no sparse output is there (no log, or one without a checked file)', () => {
    const missing = join(tempDir(), 'none.log');
    expect(sparseItem(missing, ['a.c'], 'warn')).toMatchObject({
      status: 'fail',
      actual: `no sparse output in ${missing}: the files were not checked`,
    });
    expect(sparseItem(log(''), ['a.c'], 'warn').status).toBe('fail');
  });

  it("fails on an address-space warning in a checked file, with sparse's expected and got lines", () => {
    const item = sparseItem(fixture('sparse-address-space.log'), ['mysyscalls/callcount.c'], 'fail');
    expect(item.status).toBe('fail');
    expect(item.actual).toBe(
      'mysyscalls/callcount.c:10:26: warning: incorrect type in argument 1 (different address spaces)',
    );
    expect(item.details.split('\n')).toEqual([
      '== mysyscalls/callcount.c',
      'mysyscalls/callcount.c:10:26: warning: incorrect type in argument 1 (different address spaces)',
      'mysyscalls/callcount.c:10:26:    expected void [noderef] __user *to',
      'mysyscalls/callcount.c:10:26:    got unsigned long *num',
      "mysyscalls/callcount.c:6:6: warning: symbol 'sys_callcount' was not declared. Should it be static?",
    ]);
  });

  it('passes on the same warning in a file the series does not check (a header), showing it', () => {
    const item = sparseItem(fixture('sparse-header-only.log'), ['mysyscalls/taskcount.c'], 'fail');
    expect(item.status).toBe('pass');
    expect(item.actual).toBe('sparse: no address-space warning in mysyscalls/taskcount.c (3 other messages)');
    expect(item.details).toContain(
      'include/linux/lab_uaccess.h:3:57: warning: incorrect type in initializer (different address spaces)',
    );
    // A checked file whose name starts the warned one's is not a prefix match.
    const both = `${readFileSync(fixture('sparse-address-space.log'), 'utf8')}== mysyscalls/call.c\n  CHECK   mysyscalls/call.c\n`;
    expect(sparseItem(log(both), ['mysyscalls/call.c'], 'fail')).toMatchObject({
      status: 'pass',
      actual: 'sparse: no address-space warning in mysyscalls/call.c (2 other messages)',
    });
  });

  it('fails when a file was not checked (no CHECK line for it)', () => {
    const item = sparseItem(fixture('sparse-address-space.log'), ['mysyscalls/callcount.c', 'lab/lab.c'], 'warn');
    expect(item.status).toBe('fail');
    expect(item.actual).toContain('lab/lab.c');
    expect(item.actual).not.toContain('callcount.c');
  });

  it('passes on only other warnings, and on a clean check without details', () => {
    const other = sparseItem(fixture('sparse-other-warnings.log'), ['mysyscalls/other.c'], 'warn');
    expect(other).toMatchObject({
      status: 'pass',
      actual: 'sparse: no address-space warning in mysyscalls/other.c (2 other messages)',
    });
    expect(other.details).toContain("symbol 'other_calls' was not declared");
    expect(other.details).not.toContain('CHECK');
    const clean = sparseItem(log('== a.c\n  CHECK   a.c\n'), ['a.c'], 'warn');
    expect(clean).toMatchObject({
      status: 'pass',
      actual: 'sparse: no address-space warning in a.c (0 other messages)',
      details: '',
    });
  });
});

describe('parseCheckpatch and checkpatchItem', () => {
  const checkpatch = { script: '/x/checkpatch.pl', identity: 'scripts/checkpatch.pl of Linux 6.1.192' };
  const bad = parseCheckpatch(
    '0001-callcount-bad.patch',
    readFileSync(fixture('checkpatch-callcount-bad.txt'), 'utf8'),
  );

  it('reads --terse --show-types lines, whatever the path before the line number', () => {
    const at = (line: number, level: CheckpatchFinding['level'], type: string, message: string) => ({
      patch: '0001-callcount-bad.patch',
      line,
      level,
      type,
      message,
    });
    expect(bad).toEqual([
      at(
        6,
        'WARNING',
        'COMMIT_LOG_LONG_LINE',
        'Possible unwrapped commit description (prefer a maximum 75 chars per line)',
      ),
      at(85, 'WARNING', 'FILE_PATH_CHANGES', 'added, moved or deleted file(s), does MAINTAINERS need updating?'),
      at(111, 'CHECK', 'SPACING', 'No space is necessary after a cast'),
      at(113, 'WARNING', 'LEADING_SPACE', 'please, no spaces at the start of a line'),
      at(113, 'WARNING', 'SUSPECT_CODE_INDENT', 'suspect code indent for conditional statements (4, 16)'),
      at(113, 'ERROR', 'SPACING', "space required before the open parenthesis '('"),
      at(119, 'ERROR', 'MISSING_SIGN_OFF', 'Missing Signed-off-by: line(s)'),
    ]);
  });

  it('skips the lines that are no findings (summary, notes, perl warnings)', () => {
    const output = [
      'Use of uninitialized value $rawlines[80] in pattern match (m//) at checkpatch.pl line 2715.',
      'total: 0 errors, 1 warnings, 0 checks, 120 lines checked',
      'NOTE: Whitespace errors detected.',
      '/tmp/x.patch:7: WARNING:COMMIT_MESSAGE: Missing commit description - Add an appropriate one',
      '',
    ].join('\n');
    expect(parseCheckpatch('x.patch', output)).toEqual([
      {
        patch: 'x.patch',
        line: 7,
        level: 'WARNING',
        type: 'COMMIT_MESSAGE',
        message: 'Missing commit description - Add an appropriate one',
      },
    ]);
  });

  it('fails on errors, naming each patch and type, with every finding in the details', () => {
    const item = checkpatchItem(checkpatch, bad, 'fail');
    expect(item).toMatchObject({ name: 'conformance:checkpatch', status: 'fail', enforced: true });
    expect(item.actual).toBe(
      '0001-callcount-bad.patch: SPACING, 0001-callcount-bad.patch: MISSING_SIGN_OFF (2 errors, 5 warnings and checks; scripts/checkpatch.pl of Linux 6.1.192)',
    );
    expect(item.details.split('\n')).toHaveLength(7);
    expect(item.details.split('\n')[2]).toBe(
      '0001-callcount-bad.patch:111: CHECK:SPACING: No space is necessary after a cast',
    );
  });

  it('passes on warnings alone (shown) and on nothing', () => {
    const warned = parseCheckpatch('0001-callcount.patch', readFileSync(fixture('checkpatch-callcount.txt'), 'utf8'));
    expect(warned.map((f) => f.type)).toEqual(['COMMIT_LOG_LONG_LINE', 'FILE_PATH_CHANGES']);
    const item = checkpatchItem(checkpatch, warned, 'warn');
    expect(item).toMatchObject({
      status: 'pass',
      enforced: false,
      actual: '0 errors, 2 warnings and checks (scripts/checkpatch.pl of Linux 6.1.192)',
    });
    expect(item.details).toContain('0001-callcount.patch:86: WARNING:FILE_PATH_CHANGES:');
    expect(checkpatchItem(checkpatch, [], 'warn')).toMatchObject({
      status: 'pass',
      actual: '0 errors, 0 warnings and checks (scripts/checkpatch.pl of Linux 6.1.192)',
      details: '',
    });
  });
});

const signature = (definition: string, nullable: string[] = []): SyscallSignature => {
  const [found] = readDefinitions(definition);
  if (!found) throw new Error(`no definition in ${definition}`);
  return { ...found, patch: '0001.patch', file: 'lab/lab.c', nullable };
};

describe('the generated cases', () => {
  it('gives pointees their x86-64 sizes, a page when unknown', () => {
    const sizeOf = (type: string): number => {
      const [found] = readDefinitions(`SYSCALL_DEFINE1(s, ${type}, p)`);
      return pointeeSize(found!.arguments[0]!);
    };
    const sizes = Object.fromEntries(
      [
        'char __user *',
        'const u8 __user *',
        'bool __user *',
        'short __user *',
        '__u16 __user *',
        'int __user *',
        'unsigned int __user *',
        'pid_t __user *',
        'u32 __user *',
        'unsigned long __user *',
        'long long __user *',
        'size_t __user *',
        'loff_t __user *',
        '__kernel_ulong_t __user *',
        'char __user * __user *',
        'struct lab_info __user *',
        'union lab_arg __user *',
        'void __user *',
      ].map((type) => [type, sizeOf(type)]),
    );
    expect(sizes).toEqual({
      'char __user *': 1,
      'const u8 __user *': 1,
      'bool __user *': 1,
      'short __user *': 2,
      '__u16 __user *': 2,
      'int __user *': 4,
      'unsigned int __user *': 4,
      'pid_t __user *': 4,
      'u32 __user *': 4,
      'unsigned long __user *': 8,
      'long long __user *': 8,
      'size_t __user *': 8,
      'loff_t __user *': 8,
      '__kernel_ulong_t __user *': 8,
      'char __user * __user *': 8,
      'struct lab_info __user *': 4096,
      'union lab_arg __user *': 4096,
      'void __user *': 4096,
    });
  });

  it('for a callcount-like syscall: five bad pointers, the memory watched for readonly and kernel-writable', () => {
    const callcount = signature('SYSCALL_DEFINE1(callcount, unsigned long __user *, num)');
    expect(validArguments(callcount)).toEqual([{ kind: 'buffer', size: 8 }]);
    expect(generatedCases(callcount)).toEqual(
      (
        [
          ['null', false],
          ['unmapped', false],
          ['kernel', false],
          ['kernel-writable', true],
          ['readonly', true],
        ] as const
      ).map(([kind, watched]) => ({
        item: 'efault',
        syscall: 'callcount',
        label: `num=${kind}`,
        args: [{ kind: 'bad', pointer: kind }],
        expect: 'EFAULT',
        watched,
      })),
    );
  });

  it('tries no read-only memory for a const pointer, and no NULL for a nullable one', () => {
    const put = signature('SYSCALL_DEFINE2(lab_put, const char __user *, msg, u32 __user *, old)', ['old']);
    expect(generatedCases(put).map((c) => c.label)).toEqual([
      'msg=null',
      'msg=unmapped',
      'msg=kernel',
      'msg=kernel-writable',
      'old=unmapped',
      'old=kernel',
      'old=kernel-writable',
      'old=readonly',
    ]);
    // The other argument stays valid in each case.
    expect(generatedCases(put)[4]?.args).toEqual([
      { kind: 'buffer', size: 1 },
      { kind: 'bad', pointer: 'unmapped' },
    ]);
  });

  it('gives a length after a buffer the buffer size, and other values 0', () => {
    // A byte buffer with its length is a page (hello(2) needs room for "hello"), a lone char one byte.
    const hello = signature('SYSCALL_DEFINE2(hello, char __user *, buf, size_t, len)');
    expect(validArguments(hello)).toEqual([
      { kind: 'buffer', size: 4096 },
      { kind: 'int', value: 4096n },
    ]);
    expect(validArguments(signature('SYSCALL_DEFINE1(lab_c, char __user *, c)'))).toEqual([
      { kind: 'buffer', size: 1 },
    ]);
    const read = signature('SYSCALL_DEFINE4(lab_read, int, fd, u32 __user *, vals, size_t, count, int, mode)');
    expect(validArguments(read)).toEqual([
      { kind: 'int', value: 0n },
      { kind: 'buffer', size: 4 },
      { kind: 'int', value: 4n },
      { kind: 'int', value: 0n },
    ]);
    const info = signature('SYSCALL_DEFINE2(lab_info, struct lab_info __user *, info, unsigned int, info_size)');
    expect(validArguments(info)).toEqual([
      { kind: 'buffer', size: 4096 },
      { kind: 'int', value: 4096n },
    ]);
  });

  it('gives an integer the value its author marked valid, also in every generated case', () => {
    const read = {
      ...signature('SYSCALL_DEFINE3(lab_read, int, fd, u32 __user *, vals, unsigned int, flags)'),
      valid: { fd: 3n },
    };
    expect(validArguments(read)[0]).toEqual({ kind: 'int', value: 3n });
    for (const testCase of generatedCases(read))
      expect(testCase.args[0], testCase.label).toEqual({ kind: 'int', value: 3n });
  });

  it('gives a flags argument ~0 and 1 << 31 for EINVAL, every other argument valid', () => {
    const flagged = signature('SYSCALL_DEFINE3(lab_flags, char __user *, buf, size_t, len, unsigned int, flags)');
    const flags = generatedCases(flagged).filter((c) => c.item === 'flags');
    expect(flags).toEqual([
      {
        item: 'flags',
        syscall: 'lab_flags',
        label: 'flags=~0',
        args: [
          { kind: 'buffer', size: 4096 },
          { kind: 'int', value: 4096n },
          { kind: 'int', value: 0xffffffffffffffffn },
        ],
        expect: 'EINVAL',
        watched: false,
      },
      {
        item: 'flags',
        syscall: 'lab_flags',
        label: 'flags=1u << 31',
        args: [
          { kind: 'buffer', size: 4096 },
          { kind: 'int', value: 4096n },
          { kind: 'int', value: 2147483648n },
        ],
        expect: 'EINVAL',
        watched: false,
      },
    ]);
    expect(generatedCases(flagged).filter((c) => c.item === 'efault')).toHaveLength(5);
    // No pointer and no flags: nothing to generate.
    expect(generatedCases(signature('SYSCALL_DEFINE2(lab_n, int, a, unsigned long, mode)'))).toEqual([]);
  });
});

describe('fromCheckResult and isConformanceResult', () => {
  const check = { name: 'conformance:efault:callcount', expected: 'e', actual: 'a', details: 'probe output' };

  it('makes a runtime result a checklist item: its rule and section, a skip n/a with its reason as the answer', () => {
    expect(fromCheckResult({ ...check, status: 'fail' }, 'fail')).toEqual({
      name: 'conformance:efault:callcount',
      status: 'fail',
      enforced: true,
      rule: checklist.efault.rule,
      section: checklist.efault.section,
      actual: 'a',
      details: 'probe output',
    });
    expect(fromCheckResult({ ...check, status: 'skip', details: 'no pointer argument' }, 'warn')).toMatchObject({
      status: 'n/a',
      enforced: false,
      actual: 'no pointer argument',
    });
    // The runtime check itself (it threw, or did not run): the generated items' rule.
    expect(fromCheckResult({ ...check, name: 'conformance:runtime', status: 'fail' }, 'warn')).toMatchObject({
      rule: 'the runtime items generated from the signatures (efault, flags, x86-32)',
      section: 'adding-syscalls.rst',
    });
  });

  it('tells the checklist results from the functional checks by their name', () => {
    expect(isConformanceResult({ ...check, status: 'pass' })).toBe(true);
    expect(isConformanceResult({ ...check, name: 'bad-pointer-efault', status: 'pass' })).toBe(false);
    expect(isConformanceResult({ ...check, name: 'userland:conformance:x', status: 'pass' })).toBe(false);
  });
});

// The reports: a 6.1 run with one item of each outcome.
const item = (
  id: Parameters<typeof itemResult>[0],
  status: ConformanceResult['status'],
  actual: string,
  mode: ConformanceMode,
  suffix = '',
  details = '',
): ConformanceResult => itemResult(id, status, actual, details, mode, suffix);

function conformanceRun(mode: ConformanceMode): RunReport {
  return run61({
    phases: [{ name: 'conformance', seconds: 1, cached: false }],
    checks: [
      { name: 'enosys-control', status: 'pass', expected: 'ENOSYS', actual: 'ENOSYS', details: '' },
      { name: 'callcount-increments', status: 'skip', expected: '1, 2, 3', actual: '-', details: 'not added' },
    ],
    conformance: [
      item('syscall-define', 'pass', 'defined: callcount', mode),
      item('checkpatch', 'fail', '0001-x.patch: SPACING (1 errors, 0 warnings and checks; cp)', mode, '', 'x:1: ERROR'),
      item('x86-32-entry', 'n/a', 'n/a (64-bit only): no syscall_32.tbl entry', mode),
      item('efault', 'pass', 'num=null: EFAULT', mode, ':callcount'),
    ],
  });
}

describe('toJson', () => {
  it('puts conformance after checks, each item with exactly its seven keys', () => {
    const run = conformanceRun('warn');
    // A key a result carries at runtime beyond the contract stays out.
    Object.assign(run.conformance![0]!, { extra: 'not in the file' });
    const [json] = (JSON.parse(toJson([run])) as { runs: Record<string, unknown>[] }).runs;
    expect(Object.keys(json!)).toEqual([
      'kernel',
      'backend',
      'accel',
      'phases',
      'checks',
      'conformance',
      'logs',
      'reproduce',
    ]);
    const items = json!.conformance as Record<string, unknown>[];
    for (const entry of items)
      expect(Object.keys(entry)).toEqual(['name', 'status', 'enforced', 'rule', 'section', 'actual', 'details']);
    expect(items[1]).toEqual({
      name: 'conformance:checkpatch',
      status: 'fail',
      enforced: false,
      rule: checklist.checkpatch.rule,
      section: checklist.checkpatch.section,
      actual: '0001-x.patch: SPACING (1 errors, 0 warnings and checks; cp)',
      details: 'x:1: ERROR',
    });
    expect(items.map((entry) => entry.status)).toEqual(['pass', 'fail', 'n/a', 'pass']);
  });

  it('has no conformance key for a run without the checklist (--conformance off)', () => {
    const [json] = (JSON.parse(toJson([run61({ phases: [], checks: [] })])) as { runs: Record<string, unknown>[] })
      .runs;
    expect(Object.keys(json!)).not.toContain('conformance');
  });
});

interface Element {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: Element[];
}

/** Just enough XML for toJunit's output: tags, attributes, text with the five entities. */
function parseXml(xml: string): Element {
  const unescape = (s: string): string =>
    s.replace(/&(amp|lt|gt|quot|apos|#10|#13|#9);/g, (_, e: string) => {
      const named: Record<string, string> = {
        amp: '&',
        lt: '<',
        gt: '>',
        quot: '"',
        apos: "'",
        '#10': '\n',
        '#13': '\r',
        '#9': '\t',
      };
      return named[e] ?? '';
    });
  const root: Element = { name: '#document', attrs: {}, text: '', children: [] };
  const stack = [root];
  let rest = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const tag = /^<(\/?)([\w.:-]+)((?:\s+[\w.:-]+="[^"]*")*)\s*(\/?)>/;
  while (rest.length > 0) {
    const lt = rest.indexOf('<');
    const top = stack.at(-1)!;
    top.text += unescape(lt === -1 ? rest : rest.slice(0, lt));
    if (lt === -1) break;
    rest = rest.slice(lt);
    const match = tag.exec(rest);
    if (!match) throw new Error(`malformed tag at ${rest.slice(0, 40)}`);
    const [whole, close, name, attrText, selfClose] = match;
    rest = rest.slice(whole.length);
    if (close) {
      if (stack.pop()?.name !== name) throw new Error(`unbalanced </${name ?? ''}>`);
      continue;
    }
    const attrs = Object.fromEntries(
      [...(attrText ?? '').matchAll(/([\w.:-]+)="([^"]*)"/g)].map((a) => [a[1]!, unescape(a[2]!)]),
    );
    const element: Element = { name: name!, attrs, text: '', children: [] };
    top.children.push(element);
    if (!selfClose) stack.push(element);
  }
  if (stack.length !== 1) throw new Error('unclosed element');
  return root.children[0]!;
}

const childrenNamed = (el: Element, name: string): Element[] => el.children.filter((c) => c.name === name);

describe('toJunit', () => {
  it('puts the checklist in its own testsuite: a warned finding passes with it in system-out, n/a is skipped', () => {
    const doc = parseXml(toJunit([conformanceRun('warn')]));
    const suites = childrenNamed(doc, 'testsuite');
    expect(suites.map((s) => s.attrs.name)).toEqual([
      'syscall-lab 6.1 (qemu/kvm)',
      'syscall-lab conformance 6.1 (qemu/kvm)',
    ]);
    const conformance = suites[1]!;
    expect(conformance.attrs).toMatchObject({ tests: '4', failures: '0', errors: '0', skipped: '1' });
    const cases = childrenNamed(conformance, 'testcase');
    expect(cases.map((c) => [c.attrs.classname, c.attrs.name, c.children.map((k) => k.name)])).toEqual([
      ['syscall-lab.6.1.0.conformance', 'conformance:syscall-define', []],
      ['syscall-lab.6.1.0.conformance', 'conformance:checkpatch', ['system-out']],
      ['syscall-lab.6.1.0.conformance', 'conformance:x86-32-entry', ['skipped']],
      ['syscall-lab.6.1.0.conformance', 'conformance:efault:callcount', []],
    ]);
    expect(cases[1]!.children[0]!.text).toBe(
      `WARN 0001-x.patch: SPACING (1 errors, 0 warnings and checks; cp)\nrule: ${checklist.checkpatch.rule} (${checklist.checkpatch.section})\nx:1: ERROR`,
    );
    expect(cases[2]!.children[0]!.attrs.message).toBe('n/a (64-bit only): no syscall_32.tbl entry');
    // The totals count both suites: 2 checks + 4 items; 1 skipped check + 1 n/a; no failure.
    expect(doc.attrs).toMatchObject({ tests: '6', failures: '0', skipped: '2', errors: '0' });
  });

  it('fails an enforced finding (--conformance fail), counted in both totals', () => {
    const doc = parseXml(toJunit([conformanceRun('fail')]));
    const conformance = childrenNamed(doc, 'testsuite')[1]!;
    expect(conformance.attrs).toMatchObject({ tests: '4', failures: '1', skipped: '1' });
    const failed = childrenNamed(conformance, 'testcase')[1]!;
    expect(failed.children.map((c) => c.name)).toEqual(['failure']);
    expect(failed.children[0]!.attrs.message).toBe(
      `${checklist.checkpatch.rule}: 0001-x.patch: SPACING (1 errors, 0 warnings and checks; cp)`,
    );
    expect(failed.children[0]!.text).toContain('x:1: ERROR');
    expect(doc.attrs).toMatchObject({ tests: '6', failures: '1', skipped: '2' });
  });

  it('has no conformance testsuite for a run without the checklist', () => {
    const doc = parseXml(
      toJunit([run61({ phases: [], checks: [] }), { ...run61({ phases: [], checks: [] }), conformance: [] }]),
    );
    expect(childrenNamed(doc, 'testsuite').map((s) => s.attrs.name)).toEqual([
      'syscall-lab 6.1 (qemu/kvm)',
      'syscall-lab 6.1 (qemu/kvm)',
    ]);
  });
});

describe('formatSummary', () => {
  it('shows the checklist block under the checks: WARN, N/A, PASS, the finding and its rule under a warned row', () => {
    const text = formatSummary([conformanceRun('warn')]);
    const lines = text.split('\n');
    const start = lines.indexOf('  conformance (adding-syscalls.rst checklist, --conformance warn):');
    expect(start).toBeGreaterThan(lines.findIndex((l) => l.includes('callcount-increments')));
    expect(lines.slice(start + 1, start + 9).map((l) => l.replace(/ +/g, ' '))).toEqual([
      ' STATUS ITEM RESULT',
      ' PASS conformance:syscall-define defined: callcount',
      ' WARN conformance:checkpatch 0001-x.patch: SPACING (1 errors, 0 warnings and checks; cp)',
      ' 0001-x.patch: SPACING (1 errors, 0 warnings and checks; cp)',
      ` rule: ${checklist.checkpatch.rule} (${checklist.checkpatch.section})`,
      ' x:1: ERROR',
      ' N/A conformance:x86-32-entry n/a (64-bit only): no syscall_32.tbl entry',
      ' PASS conformance:efault:callcount num=null: EFAULT',
    ]);
    expect(lines.at(-2)).toBe('1 passed, 0 failed, 1 skipped; conformance: 2 passed, 1 warned, 1 n/a');
  });

  it('reads FAIL and "failed" under --conformance fail', () => {
    const text = formatSummary([conformanceRun('fail')]);
    expect(text).toContain('  conformance (adding-syscalls.rst checklist, --conformance fail):');
    expect(text).toMatch(/^ {2}FAIL +conformance:checkpatch /m);
    expect(text).not.toMatch(/^ {2}WARN /m);
    // The checklist's failure is not a functional check's.
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      '1 passed, 0 failed, 1 skipped; conformance: 2 passed, 1 failed, 1 n/a',
    );
  });

  it('has no block and no conformance totals without the checklist', () => {
    const text = formatSummary([run61({ phases: [], checks: [] })]);
    expect(text).not.toContain('conformance');
  });

  it('shows the items in the matrix as rows, with their labels, and - where a run has none', () => {
    const other = run396({
      phases: [],
      checks: [],
      logs: { console: [], build: [] },
      error: undefined,
      conformance: [item('syscall-define', 'fail', 'lab: table entry without SYSCALL_DEFINEn', 'warn')],
    });
    const text = formatSummary([conformanceRun('warn'), other]);
    const matrix = text.slice(text.indexOf('== matrix'));
    const rows = matrix.split('\n').map((l) => l.trim().split(/ {2,}/));
    expect(rows.slice(1, 8)).toEqual([
      ['CHECK', '6.1', '3.9.6'],
      ['enosys-control', 'PASS', '-'],
      ['callcount-increments', 'SKIP', '-'],
      ['conformance:syscall-define', 'PASS', 'WARN'],
      ['conformance:checkpatch', 'WARN', '-'],
      ['conformance:x86-32-entry', 'N/A', '-'],
      ['conformance:efault:callcount', 'PASS', '-'],
    ]);
    expect(text).toContain('; conformance: 2 passed, 2 warned, 1 n/a');
  });

  it('labels each outcome', () => {
    expect(
      [
        item('prototype', 'pass', '', 'fail'),
        item('prototype', 'n/a', '', 'fail'),
        item('prototype', 'fail', '', 'fail'),
        item('prototype', 'fail', '', 'warn'),
      ].map(conformanceLabel),
    ).toEqual(['PASS', 'N/A', 'FAIL', 'WARN']);
  });
});

describe("the renderer's conformance lines", () => {
  class Stream {
    text = '';
    write(text: string): boolean {
      this.text += text;
      return true;
    }
  }
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const render = (options: { tty: boolean; color: boolean; quiet?: boolean }, results: ConformanceResult[]): string => {
    const stderr = new Stream();
    const renderer = createRenderer({ stdout: new Stream(), stderr, quiet: false, ...options });
    for (const result of results) renderer.emit({ type: 'conformance', scope: '6.1', result });
    renderer.close();
    return stderr.text;
  };
  const results = conformanceRun('warn').conformance!;

  it('prints [scope] LABEL name: actual', () => {
    expect(render({ tty: false, color: false }, results)).toBe(
      [
        '[6.1] PASS conformance:syscall-define: defined: callcount',
        '[6.1] WARN conformance:checkpatch: 0001-x.patch: SPACING (1 errors, 0 warnings and checks; cp)',
        '[6.1] N/A conformance:x86-32-entry: n/a (64-bit only): no syscall_32.tbl entry',
        '[6.1] PASS conformance:efault:callcount: num=null: EFAULT',
        '',
      ].join('\n'),
    );
    expect(render({ tty: false, color: false }, conformanceRun('fail').conformance!.slice(1, 2))).toBe(
      '[6.1] FAIL conformance:checkpatch: 0001-x.patch: SPACING (1 errors, 0 warnings and checks; cp)\n',
    );
  });

  it('colours the label on a terminal (WARN yellow), and prints nothing under --quiet', () => {
    expect(render({ tty: true, color: true }, results.slice(1, 2))).toBe(
      '[6.1] \x1b[33mWARN\x1b[0m conformance:checkpatch: 0001-x.patch: SPACING (1 errors, 0 warnings and checks; cp)\n',
    );
    expect(render({ tty: false, color: false, quiet: true }, results)).toBe('');
  });
});

describe('the facts type', () => {
  it('is what readSeriesFacts gives for an empty series', () => {
    const empty: SeriesFacts = { registrations: [], definitions: [], cFiles: [] };
    expect(readSeriesFacts([])).toEqual(empty);
    // Nothing to judge: no syscall in a table, no definition.
    expect(statuses(registrationItems(empty, '6.1', 'warn'))).toEqual(allPass);
  });
});
