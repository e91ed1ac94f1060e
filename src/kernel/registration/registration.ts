import { parseSyscallLine } from '../syscalls.ts';
import type { Hunk } from './patch-text.ts';

/**
 * A new system call's registration: everything the kernel needs besides its code, which must be
 * written for each kernel anew (numbers are taken, files move, context lines change). This module
 * owns recognising it in a patch and, in write.ts, writing it into a tree of another version.
 */
export interface SyscallRegistration {
  name: string;
  /** The x86-64 table entry (`syscall_64.tbl`): ABI (common or 64) and entry point. */
  x86_64?: { number: number; abi: string; entry: string };
  /** The i386 table entry (`syscall_32.tbl`), written only when the series has one. */
  i386?: { number: number; entry: string; compat?: string };
  /** The generic table entry (asm-generic/unistd.h, and from 6.11 scripts/syscall.tbl). */
  generic?: { number: number; entry: string; compat?: string };
  /** Which of the generic table's files register it (upstream edits both from 6.11). */
  genericFiles?: ('unistd.h' | 'syscall.tbl')[];
  /** The prototype in include/linux/syscalls.h, its lines as written. */
  prototype?: string[];
  /** The stub for configured-out code in kernel/sys_ni.c (COND_SYSCALL / cond_syscall). */
  stub?: { compat: boolean; macro?: 'COND_SYSCALL' | 'cond_syscall' };
}

/** What one patch registers: syscalls, and folders added to the build (top Kbuild or Makefile). */
export interface PatchRegistrations {
  syscalls: SyscallRegistration[];
  directories: string[];
  /** The generic header's `__NR_syscalls` as the patch removes and adds it (the count must rise). */
  syscallCount?: { before?: number; after?: number };
}

/** The files that hold registrations, from 4.2 on (the x86 tables moved to arch/x86/entry/ then). */
export const registrationFiles = {
  table64: 'arch/x86/entry/syscalls/syscall_64.tbl',
  table32: 'arch/x86/entry/syscalls/syscall_32.tbl',
  genericHeader: 'include/uapi/asm-generic/unistd.h',
  genericTable: 'scripts/syscall.tbl',
  prototypes: 'include/linux/syscalls.h',
  stubs: 'kernel/sys_ni.c',
  kbuild: 'Kbuild',
  makefile: 'Makefile',
} as const;

export const registrationPaths: ReadonlySet<string> = new Set(Object.values(registrationFiles));

/** Before 4.2 the x86 tables were in arch/x86/syscalls/: the same registrations, read under today's names. */
export function registrationPathOf(path: string): string {
  return path.replace(/^arch\/x86\/syscalls\/(syscall_(?:32|64)\.tbl)$/, 'arch/x86/entry/syscalls/$1');
}

type Found = (registrations: Registrations) => void;

/** Collects the registrations of one patch, by syscall name in order of appearance. */
export class Registrations {
  private readonly byName = new Map<string, SyscallRegistration>();
  readonly directories: string[] = [];
  syscallCount: { before?: number; after?: number } | undefined;

  syscall(name: string): SyscallRegistration {
    let found = this.byName.get(name);
    if (!found) {
      found = { name };
      this.byName.set(name, found);
    }
    return found;
  }

  result(): PatchRegistrations {
    return {
      syscalls: [...this.byName.values()],
      directories: this.directories,
      ...(this.syscallCount && { syscallCount: this.syscallCount }),
    };
  }
}

function genericIn(syscall: SyscallRegistration, file: 'unistd.h' | 'syscall.tbl'): void {
  syscall.genericFiles = [...new Set([...(syscall.genericFiles ?? []), file])];
}

/** A blank line or a comment: "#" in the tables, Kbuild and Makefile; only C comments in C files. */
const isNoise = (path: string, text: string): boolean =>
  text.trim() === '' || /^\s*(\/\*.*\*\/\s*$|\/\/)/.test(text) || (!/\.[ch]$/.test(path) && /^\s*#/.test(text));

/**
 * Reads one `+` or `-` line of a registration file: what it registers, or undefined when it is
 * not a registration line. `-` lines are registrations only where a registration replaces them
 * (the generic table's __NR_syscalls, a Makefile's core-y list).
 */
function readLine(path: string, mark: '+' | '-', text: string, removed: string[]): Found | 'noise' | undefined {
  const { table64, table32, genericHeader, genericTable, prototypes, stubs, kbuild, makefile } = registrationFiles;
  if (mark === '+' && isNoise(path, text) && path !== prototypes) return 'noise';
  if (mark === '+' && text.trim() === '') return 'noise';
  const row = mark === '+' ? parseSyscallLine(text) : undefined;
  if (row?.entry && path === table64 && (row.abi === 'common' || row.abi === '64')) {
    const { number, abi, name, entry } = row;
    return (r) => (r.syscall(name).x86_64 = { number, abi, entry });
  }
  if (row?.entry && (path === table32 ? row.abi === 'i386' : path === genericTable)) {
    const { number, name, entry, compat } = row;
    const registered = { number, entry, ...(compat !== undefined && { compat }) };
    return (r) => {
      if (path === table32) r.syscall(name).i386 = registered;
      else {
        r.syscall(name).generic = registered;
        genericIn(r.syscall(name), 'syscall.tbl');
      }
    };
  }
  if (path === genericHeader) {
    const count = /^#define __NR_syscalls\s+(\d+)\s*$/.exec(text);
    if (count)
      return (r) => {
        r.syscallCount ??= {};
        r.syscallCount[mark === '-' ? 'before' : 'after'] = Number(count[1]);
      };
    if (/^#define __NR_syscalls\b/.test(text)) return () => undefined;
    const define = /^#define __NR_(\w+)\s+(\d+)\s*$/.exec(text);
    if (define && mark === '+') return () => undefined;
    const entry = /^__(?:SYSCALL|SC_COMP)\(__NR_(\w+),\s*(\w+)(?:,\s*(\w+))?\)\s*$/.exec(text);
    if (entry && mark === '+') {
      const [, name = '', sys = '', compat] = entry;
      return (r) => {
        const syscall = r.syscall(name);
        syscall.generic ??= { number: 0, entry: sys, ...(compat ? { compat } : {}) };
        genericIn(syscall, 'unistd.h');
      };
    }
  }
  if (path === stubs && mark === '+') {
    const modern = /^COND_SYSCALL(_COMPAT)?\((\w+)\);\s*$/.exec(text);
    if (modern)
      return (r) => (r.syscall(modern[2] ?? '').stub = { compat: modern[1] !== undefined, macro: 'COND_SYSCALL' });
    const old = /^cond_syscall\((compat_)?sys_(\w+)\);\s*$/.exec(text);
    if (old) return (r) => (r.syscall(old[2] ?? '').stub = { compat: old[1] !== undefined, macro: 'cond_syscall' });
  }
  if (path === kbuild && mark === '+') {
    const dir = /^obj-y\s*\+=\s*(\S+\/)\s*$/.exec(text);
    if (dir) return (r) => r.directories.push(dir[1] ?? '');
  }
  if (path === makefile) {
    const list = /^core-y\s*[+:]?=\s*(.*)$/.exec(text);
    if (list && mark === '-') return () => undefined;
    if (list && mark === '+') {
      // A core-y line that replaces one: the folders it adds to that line's.
      const words = (list[1] ?? '').trim().split(/\s+/);
      const before = new Set(
        removed.flatMap((line) => /^core-y\s*[+:]?=\s*(.*)$/.exec(line)?.[1]?.trim().split(/\s+/) ?? []),
      );
      const added = words.filter((word) => !before.has(word));
      if (
        added.length > 0 &&
        added.every((word) => word.endsWith('/')) &&
        [...before].every((word) => words.includes(word))
      )
        return (r) => r.directories.push(...added);
    }
  }
  return undefined;
}

/**
 * Whether a hunk of a registration file only registers (each `+` and `-` line is a registration,
 * a blank line or a comment), and if so what: undefined for a hunk that does something else,
 * which is then kept as it is and must apply to the target as written.
 */
export function readRegistrationHunk(path: string, hunk: Hunk, into: Registrations): boolean {
  if (!registrationPaths.has(path)) return false;
  const found: Found[] = [];
  const removed = hunk.lines.filter((line) => line.startsWith('-')).map((line) => line.slice(1));
  const added = hunk.lines.filter((line) => line.startsWith('+')).map((line) => line.slice(1));
  if (path === registrationFiles.prototypes) {
    if (removed.length > 0) return false;
    const prototypes = readPrototypes(added);
    if (!prototypes) return false;
    for (const { name, lines } of prototypes) found.push((r) => (r.syscall(name).prototype = lines));
  } else {
    for (const [mark, lines] of [
      ['-', removed],
      ['+', added],
    ] as const) {
      for (const text of lines) {
        const what = readLine(path, mark, text, removed);
        if (what === undefined) return false;
        if (what !== 'noise') found.push(what);
      }
    }
    if (path === registrationFiles.makefile && !added.some((text) => /^core-y/.test(text))) return false;
  }
  if (found.length === 0) return false;
  for (const record of found) record(into);
  return true;
}

/** `asmlinkage long sys_NAME(...);` declarations, one or more lines each; undefined if the lines are anything else. */
function readPrototypes(lines: string[]): { name: string; lines: string[] }[] | undefined {
  const prototypes: { name: string; lines: string[] }[] = [];
  let current: { name: string; lines: string[] } | undefined;
  for (const line of lines) {
    if (!current) {
      if (isNoise(registrationFiles.prototypes, line)) continue;
      const start = /^asmlinkage\s+long\s+sys_(\w+)\s*\(/.exec(line);
      if (!start) return undefined;
      current = { name: start[1] ?? '', lines: [] };
    }
    current.lines.push(line);
    if (/\)\s*;\s*$/.test(line)) {
      prototypes.push(current);
      current = undefined;
    }
  }
  return current ? undefined : prototypes;
}
