import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { newSyscalls, parseSyscallTable, syscallHeader, type SyscallEntry } from '../../src/kernel/syscalls.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-syscalls-');

/** The end of 6.1's arch/x86/entry/syscalls/syscall_64.tbl, as it is formatted there. */
const stock61 = `# SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
#
# 64-bit system call numbers and entry vectors
#
# The format is:
# <number> <abi> <name> <entry point>
#
# The __x64_sys_*() stubs are created on-the-fly for sys_*() system calls
#
# The abi is "common", "64" or "x32" for this file.
#
0	common	read			sys_read
1	common	write			sys_write
15	64	rt_sigreturn		sys_rt_sigreturn
448	common	process_mrelease	sys_process_mrelease
449	common	futex_waitv		sys_futex_waitv
450	common	set_mempolicy_home_node	sys_set_mempolicy_home_node

#
# Due to a historical design error, certain syscalls are numbered differently
# in x32 as compared to native x86_64.  These syscalls have numbers 512-547.
# Do not add new syscalls to this range.  Numbers 548 and above are available
# for non-x32 use.
#
512	x32	rt_sigaction		compat_sys_rt_sigaction
513	x32	rt_sigreturn		compat_sys_x32_rt_sigreturn
547	x32	pwritev2		compat_sys_pwritev64v2
# This is the end of the legacy x32 range.  Numbers 548 and above are
# not special and are not to be used for x32-specific syscalls.
`;

const patched61 =
  stock61.replace(
    '450\tcommon\tset_mempolicy_home_node\tsys_set_mempolicy_home_node\n',
    '450\tcommon\tset_mempolicy_home_node\tsys_set_mempolicy_home_node\n451\tcommon\tcallcount\t\tsys_callcount\n452\tcommon\ttaskcount\t\tsys_taskcount   # counts processes\n',
  ) + '548\tx32\tmy_x32_only\t\tcompat_sys_mine\n';

describe('parseSyscallTable', () => {
  it('reads number, abi, name and entry, skipping comments and blank lines', () => {
    const entries = parseSyscallTable(stock61);
    expect(entries.map((e) => e.number)).toEqual([0, 1, 15, 448, 449, 450, 512, 513, 547]);
    expect(entries[0]).toEqual({ number: 0, abi: 'common', name: 'read', entry: 'sys_read' });
    expect(entries[2]).toEqual({ number: 15, abi: '64', name: 'rt_sigreturn', entry: 'sys_rt_sigreturn' });
    expect(entries[5]).toEqual({
      number: 450,
      abi: 'common',
      name: 'set_mempolicy_home_node',
      entry: 'sys_set_mempolicy_home_node',
    });
    expect(entries[6]).toEqual({ number: 512, abi: 'x32', name: 'rt_sigaction', entry: 'compat_sys_rt_sigaction' });
  });

  it('drops trailing comments and keeps entries without an entry point', () => {
    const entries = parseSyscallTable(
      '452\tcommon\ttaskcount\t\tsys_taskcount # counts\n335\tcommon\tnoentry\n  7 common poll sys_poll\n',
    );
    expect(entries).toEqual([
      { number: 452, abi: 'common', name: 'taskcount', entry: 'sys_taskcount' },
      { number: 335, abi: 'common', name: 'noentry', entry: '' },
      { number: 7, abi: 'common', name: 'poll', entry: 'sys_poll' },
    ]);
  });

  it('ignores lines that are not entries', () => {
    expect(parseSyscallTable('x common y sys_y\n12\n\n#451 common z sys_z\n')).toEqual([]);
  });
});

describe('newSyscalls', () => {
  it('returns only the entries the patched table adds, excluding x32', () => {
    const added = newSyscalls(parseSyscallTable(stock61), parseSyscallTable(patched61));
    expect(added).toEqual([
      { number: 451, abi: 'common', name: 'callcount', entry: 'sys_callcount' },
      { number: 452, abi: 'common', name: 'taskcount', entry: 'sys_taskcount' },
    ]);
  });

  it('is empty for identical tables', () => {
    expect(newSyscalls(parseSyscallTable(stock61), parseSyscallTable(stock61))).toEqual([]);
  });

  it('counts a renamed number as new', () => {
    const renamed = stock61.replace('449\tcommon\tfutex_waitv', '449\tcommon\tfutex_waitv2');
    expect(newSyscalls(parseSyscallTable(stock61), parseSyscallTable(renamed)).map((e) => e.name)).toEqual([
      'futex_waitv2',
    ]);
  });
});

describe('syscallHeader', () => {
  const entries: SyscallEntry[] = [
    { number: 451, abi: 'common', name: 'callcount', entry: 'sys_callcount' },
    { number: 452, abi: 'common', name: 'taskcount', entry: 'sys_taskcount' },
  ];

  it('defines __NR_ and SYS_ for each entry, guarded', () => {
    const header = syscallHeader(entries, '6.1.0-patched-1234abcd');
    expect(header).toContain('#define __NR_callcount 451');
    expect(header).toContain('#define SYS_callcount __NR_callcount');
    expect(header).toContain('#define __NR_taskcount 452');
    expect(header).toContain('#define SYS_taskcount __NR_taskcount');
    expect(header).toContain('#ifndef __NR_callcount');
    expect(header).toContain('6.1.0-patched-1234abcd');
    expect(header.startsWith('/*')).toBe(true);
    expect(header.endsWith('#endif\n')).toBe(true);
  });

  it('compiles with gcc -include, and SYS_callcount is 451', async () => {
    const dir = tempDir();
    const header = join(dir, 'syscall-lab-syscalls.h');
    const program = join(dir, 'uses-callcount.c');
    writeFileSync(header, syscallHeader(entries, '6.1.0-patched'));
    writeFileSync(
      program,
      [
        '#include <unistd.h>',
        '#include <sys/syscall.h>',
        '_Static_assert(SYS_callcount == 451, "callcount is 451");',
        '_Static_assert(SYS_taskcount == 452, "taskcount is 452");',
        'long call(void) { unsigned long n = 0; return syscall(SYS_callcount, &n) + (long)n; }',
        '',
      ].join('\n'),
    );
    const result = await execa('gcc', ['-fsyntax-only', '-Wall', '-Werror', '-include', header, program], {
      reject: false,
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('does not clash with the libc definitions of existing syscalls, even when included twice', async () => {
    const dir = tempDir();
    const header = join(dir, 'h.h');
    const program = join(dir, 'p.c');
    writeFileSync(
      header,
      syscallHeader([{ number: 0, abi: 'common', name: 'read', entry: 'sys_read' }, ...entries], 'x'),
    );
    writeFileSync(
      program,
      `#include <sys/syscall.h>\n#include "h.h"\n_Static_assert(SYS_read == 0, "read");\nint main(void) { return SYS_callcount == 451 ? 0 : 1; }\n`,
    );
    const result = await execa('gcc', ['-fsyntax-only', '-Wall', '-Werror', '-I', dir, '-include', header, program], {
      reject: false,
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('makes a compile fail when the number is wrong (the check can fail)', async () => {
    const dir = tempDir();
    const header = join(dir, 'h.h');
    const program = join(dir, 'p.c');
    writeFileSync(
      header,
      syscallHeader([{ number: 460, abi: 'common', name: 'callcount', entry: 'sys_callcount' }], 'x'),
    );
    writeFileSync(program, '_Static_assert(SYS_callcount == 451, "callcount is 451");\n');
    const result = await execa('gcc', ['-fsyntax-only', '-include', header, program], { reject: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('callcount is 451');
  });
});
