import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A few files shaped like the top of a Linux 6.1 tree: enough for upgrade-kernel.sh's
 * tree checks (Makefile, kernel/, arch/x86/), its dry run and syscall-lab's version reading.
 */
export const fakeMakefile = [
  '# SPDX-License-Identifier: GPL-2.0',
  'VERSION = 6',
  'PATCHLEVEL = 1',
  'SUBLEVEL = 0',
  'EXTRAVERSION =',
  '',
].join('\n');

export const fakeSyscallTable = [
  '#',
  '# 64-bit system call numbers and entry vectors',
  '#',
  '# The format is:',
  '# <number> <abi> <name> <entry point>',
  '#',
  '0\tcommon\tread\t\t\tsys_read',
  '1\tcommon\twrite\t\t\tsys_write',
  '2\tcommon\topen\t\t\tsys_open',
  '',
  '#',
  '# Due to a historical design error, certain syscalls are numbered differently',
  '# in x32 as compared to native x86_64.  These syscalls have numbers 512-547.',
  '#',
  '512\tx32\trt_sigaction\t\tcompat_sys_rt_sigaction',
  '513\tx32\trt_sigreturn\t\tcompat_sys_x32_rt_sigreturn',
  '',
].join('\n');

export const fakeSyscallsH = [
  '#ifndef _LINUX_SYSCALLS_H',
  '#define _LINUX_SYSCALLS_H',
  'asmlinkage long sys_read(unsigned int fd, char __user *buf, size_t count);',
  'asmlinkage long sys_write(unsigned int fd, const char __user *buf, size_t count);',
  '#endif',
  '',
].join('\n');

export const fakeTreeFiles: Record<string, string> = {
  Makefile: fakeMakefile,
  'kernel/sched.c': 'void schedule(void) {}\n',
  'arch/x86/entry/syscalls/syscall_64.tbl': fakeSyscallTable,
  'include/linux/syscalls.h': fakeSyscallsH,
};

export function writeFiles(root: string, files: Record<string, string | Buffer>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

export function writeFakeTree(root: string, overrides: Record<string, string | Buffer> = {}): string {
  writeFiles(root, { ...fakeTreeFiles, ...overrides });
  return root;
}

/** Adds 3 callcount after "2 open", and creates mysyscalls/callcount.c. */
export const callcountPatch = `From: test
Subject: [PATCH] add callcount

diff -uNr a/arch/x86/entry/syscalls/syscall_64.tbl b/arch/x86/entry/syscalls/syscall_64.tbl
--- a/arch/x86/entry/syscalls/syscall_64.tbl
+++ b/arch/x86/entry/syscalls/syscall_64.tbl
@@ -7,6 +7,7 @@
 0\tcommon\tread\t\t\tsys_read
 1\tcommon\twrite\t\t\tsys_write
 2\tcommon\topen\t\t\tsys_open
+3\tcommon\tcallcount\t\tsys_callcount
 
 #
 # Due to a historical design error, certain syscalls are numbered differently
diff -uNr a/include/linux/syscalls.h b/include/linux/syscalls.h
--- a/include/linux/syscalls.h
+++ b/include/linux/syscalls.h
@@ -2,4 +2,5 @@
 #define _LINUX_SYSCALLS_H
 asmlinkage long sys_read(unsigned int fd, char __user *buf, size_t count);
 asmlinkage long sys_write(unsigned int fd, const char __user *buf, size_t count);
+asmlinkage long sys_callcount(unsigned long __user *num);
 #endif
diff -uNr a/mysyscalls/callcount.c b/mysyscalls/callcount.c
--- a/mysyscalls/callcount.c
+++ b/mysyscalls/callcount.c
@@ -0,0 +1 @@
+long callcount_calls;
`;

/** Applies only on top of callcountPatch (its context has the "3 callcount" line). */
export const taskcountPatch = `diff -uNr a/arch/x86/entry/syscalls/syscall_64.tbl b/arch/x86/entry/syscalls/syscall_64.tbl
--- a/arch/x86/entry/syscalls/syscall_64.tbl
+++ b/arch/x86/entry/syscalls/syscall_64.tbl
@@ -8,6 +8,7 @@
 1\tcommon\twrite\t\t\tsys_write
 2\tcommon\topen\t\t\tsys_open
 3\tcommon\tcallcount\t\tsys_callcount
+4\tcommon\ttaskcount\t\tsys_taskcount
 
 #
 # Due to a historical design error, certain syscalls are numbered differently
`;

/** Context that is not in the fake tree ("2 close" instead of "2 open"). */
export const mismatchedPatch = callcountPatch.replace(
  ' 2\tcommon\topen\t\t\tsys_open',
  ' 2\tcommon\tclose\t\t\tsys_close',
);
