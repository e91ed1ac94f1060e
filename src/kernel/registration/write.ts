import { parseSyscallLine, type SyscallEntry } from '../syscalls.ts';
import { compareVersions } from '../versions.ts';
import { registrationFiles, type PatchRegistrations, type SyscallRegistration } from './registration.ts';

/** A tree's registration files that exist, by path, as lines (no trailing newline element). */
export type TreeFiles = Map<string, string[]>;

/** A number taken for a syscall on the target kernel, per table. */
export interface Numbered {
  name: string;
  x86_64?: number;
  i386?: number;
  generic?: number;
}

const { table64, table32, genericHeader, genericTable, prototypes, stubs, kbuild, makefile } = registrationFiles;

/** The x86-64 table forbids 387-423 (kept for the unified numbering of 5.1); 512-547 are x32. */
const x86Reserved = { first: 387, last: 423 };
const x32First = 512;

function entries(lines: string[]): (SyscallEntry & { at: number })[] {
  return lines.flatMap((line, at) => {
    const entry = parseSyscallLine(line);
    return entry ? [{ ...entry, at }] : [];
  });
}

/** The last native (common/64) x86-64 entry below the x32 range: new entries follow it. */
function lastNative(lines: string[]): { at: number; number: number; name: string } | undefined {
  return entries(lines)
    .filter((entry) => (entry.abi === 'common' || entry.abi === '64') && entry.number < x32First)
    .reduce<{ at: number; number: number; name: string } | undefined>(
      (best, entry) => (!best || entry.number > best.number ? entry : best),
      undefined,
    );
}

function nextFree(files: TreeFiles, path: string): number | undefined {
  const lines = files.get(path);
  if (!lines) return undefined;
  if (path === table64) return (lastNative(lines)?.number ?? -1) + 1;
  if (path === genericHeader) {
    for (const line of lines) {
      const count = /^#define __NR_syscalls\s+(\d+)\s*$/.exec(line);
      if (count) return Number(count[1]);
    }
    return undefined;
  }
  return Math.max(-1, ...entries(lines).map((entry) => entry.number)) + 1;
}

/**
 * The numbers a syscall gets on the target: from 5.1 (unified numbering from 424) the same in
 * every table, the first free in all of them; before, each table's own next free number.
 */
export function numberFor(files: TreeFiles, version: string, syscall: SyscallRegistration): Numbered {
  const free = {
    x86_64: nextFree(files, table64),
    i386: nextFree(files, table32),
    generic: Math.max(nextFree(files, genericHeader) ?? -1, nextFree(files, genericTable) ?? -1),
  };
  const outsideReserved = (number: number): number =>
    number >= x86Reserved.first && number <= x86Reserved.last ? x86Reserved.last + 1 : number;
  const x86 = free.x86_64 === undefined ? undefined : outsideReserved(free.x86_64);
  if (compareVersions(version, '5.1') >= 0) {
    const unified = outsideReserved(Math.max(x86 ?? -1, free.i386 ?? -1, free.generic));
    return {
      name: syscall.name,
      ...(syscall.x86_64 && { x86_64: unified }),
      ...(syscall.i386 && { i386: unified }),
      ...(syscall.generic && { generic: unified }),
    };
  }
  return {
    name: syscall.name,
    ...(syscall.x86_64 && x86 !== undefined && { x86_64: x86 }),
    ...(syscall.i386 && free.i386 !== undefined && { i386: free.i386 }),
    ...(syscall.generic && free.generic >= 0 && { generic: free.generic }),
  };
}

/** Why a registration cannot be written into this tree (a file it needs is missing). */
export class RegistrationError extends Error {}

function need(files: TreeFiles, path: string, what: string): string[] {
  const lines = files.get(path);
  if (!lines) throw new RegistrationError(`the target tree has no ${path}, where ${what} goes`);
  return lines;
}

const insert = (lines: string[], at: number, added: string[]): string[] => [
  ...lines.slice(0, at),
  ...added,
  ...lines.slice(at),
];

/** The line after the declaration that starts at `start` (declarations end with ";"). */
function afterDeclaration(lines: string[], start: number): number {
  let at = start;
  while (at < lines.length && !/;\s*$/.test(lines[at] ?? '')) at++;
  return at + 1;
}

function writePrototype(files: TreeFiles, lastName: string | undefined, syscall: SyscallRegistration): void {
  if (!syscall.prototype) return;
  const lines = need(files, prototypes, `the prototype of ${syscall.name}`);
  // After the prototype of the syscall numbered last (upstream's own order), else before the
  // architecture-specific block, else before the header's last #endif.
  let at = lastName
    ? lines.findIndex((line) => new RegExp(`^asmlinkage\\s+long\\s+sys_${lastName}\\s*\\(`).test(line))
    : -1;
  if (at >= 0) at = afterDeclaration(lines, at);
  else {
    at = lines.findIndex(
      (line, k) => line === '/*' && / \* Architecture-specific system calls/.test(lines[k + 1] ?? ''),
    );
    if (at < 0) at = lines.findLastIndex((line) => line.startsWith('#endif'));
    if (at < 0) throw new RegistrationError(`found no place for the prototype of ${syscall.name} in ${prototypes}`);
  }
  files.set(prototypes, insert(lines, at, syscall.prototype));
}

/** The sys_ni.c stub macro of a version: COND_SYSCALL from 4.17 (x86's syscall wrappers need it), cond_syscall before. */
export function stubMacroFor(version: string): 'COND_SYSCALL' | 'cond_syscall' {
  return compareVersions(version, '4.17') >= 0 ? 'COND_SYSCALL' : 'cond_syscall';
}

function writeStub(files: TreeFiles, version: string, syscall: SyscallRegistration): void {
  if (!syscall.stub) return;
  const lines = need(files, stubs, `the stub of ${syscall.name}`);
  const stub =
    stubMacroFor(version) === 'COND_SYSCALL'
      ? `COND_SYSCALL${syscall.stub.compat ? '_COMPAT' : ''}(${syscall.name});`
      : `cond_syscall(${syscall.stub.compat ? 'compat_' : ''}sys_${syscall.name});`;
  const last = lines.findLastIndex((line) => /^(COND_SYSCALL(_COMPAT)?|cond_syscall)\(/.test(line));
  if (last < 0) throw new RegistrationError(`found no COND_SYSCALL or cond_syscall line in ${stubs}`);
  files.set(stubs, insert(lines, last + 1, [stub]));
}

function writeGeneric(files: TreeFiles, syscall: SyscallRegistration, number: number): void {
  if (!syscall.generic) return;
  const { entry, compat } = syscall.generic;
  const header = files.get(genericHeader);
  const table = files.get(genericTable);
  if (!header && !table) need(files, genericHeader, `the generic table entry of ${syscall.name}`);
  if (header) {
    const undef = header.findIndex((line) => /^#undef __NR_syscalls\b/.test(line));
    if (undef < 0) throw new RegistrationError(`${genericHeader} has no "#undef __NR_syscalls"`);
    let at = undef;
    while (at > 0 && (header[at - 1] ?? '').trim() === '') at--;
    const call = compat
      ? `__SC_COMP(__NR_${syscall.name}, ${entry}, ${compat})`
      : `__SYSCALL(__NR_${syscall.name}, ${entry})`;
    const updated = insert(header, at, ['', `#define __NR_${syscall.name} ${number}`, call]).map((line) =>
      /^#define __NR_syscalls\s+\d+\s*$/.test(line) ? `#define __NR_syscalls ${number + 1}` : line,
    );
    files.set(genericHeader, updated);
  }
  if (table) {
    const last = entries(table).at(-1)?.at ?? table.length - 1;
    files.set(
      genericTable,
      insert(table, last + 1, [`${number}\tcommon\t${syscall.name}\t\t\t${entry}${compat ? `\t${compat}` : ''}`]),
    );
  }
}

function writeTables(files: TreeFiles, syscall: SyscallRegistration, numbers: Numbered): void {
  if (syscall.x86_64 && numbers.x86_64 !== undefined) {
    const lines = need(files, table64, `the x86-64 entry of ${syscall.name}`);
    const after = lastNative(lines)?.at ?? lines.length - 1;
    files.set(
      table64,
      insert(lines, after + 1, [
        `${numbers.x86_64}\t${syscall.x86_64.abi}\t${syscall.name}\t\t${syscall.x86_64.entry}`,
      ]),
    );
  }
  if (syscall.i386 && numbers.i386 !== undefined) {
    const lines = need(files, table32, `the i386 entry of ${syscall.name}`);
    const last = entries(lines).at(-1)?.at ?? lines.length - 1;
    const { entry, compat } = syscall.i386;
    files.set(
      table32,
      insert(lines, last + 1, [`${numbers.i386}\ti386\t${syscall.name}\t\t${entry}${compat ? `\t${compat}` : ''}`]),
    );
  }
}

function writeDirectory(files: TreeFiles, dir: string): void {
  const kbuildLines = files.get(kbuild);
  // The top Kbuild lists the folders from 6.1; before, the top Makefile's core-y does.
  if (kbuildLines?.some((line) => /^obj-y\s*\+=\s*kernel\/\s*$/.test(line))) {
    const last = kbuildLines.findLastIndex((line) => /^obj-\S*\s*\+=/.test(line));
    files.set(kbuild, insert(kbuildLines, last + 1, [`obj-y\t\t\t+= ${dir}`]));
    return;
  }
  const lines = need(files, makefile, `the folder ${dir}`);
  const core = lines.findIndex((line) => /^core-y\s*\+=.*\bkernel\//.test(line));
  if (core < 0)
    throw new RegistrationError(`found neither obj-y += kernel/ in ${kbuild} nor core-y += kernel/ in ${makefile}`);
  files.set(makefile, insert(lines, core + 1, [`core-y\t\t+= ${dir}`]));
}

/**
 * Writes one patch's registrations into the tree's files (changed in place) and returns the
 * numbers each syscall got. Tables first, so that the prototype goes after the one of the
 * syscall numbered last before it.
 */
export function writeRegistrations(files: TreeFiles, version: string, found: PatchRegistrations): Numbered[] {
  const numbered: Numbered[] = [];
  for (const syscall of found.syscalls) {
    const lastName = files.get(table64) ? lastNative(files.get(table64) ?? [])?.name : undefined;
    const numbers = numberFor(files, version, syscall);
    writeTables(files, syscall, numbers);
    if (numbers.generic !== undefined) writeGeneric(files, syscall, numbers.generic);
    writePrototype(files, lastName, syscall);
    writeStub(files, version, syscall);
    numbered.push(numbers);
  }
  for (const dir of found.directories) writeDirectory(files, dir);
  return numbered;
}
