import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { BadInputError } from '../errors.ts';
import { upgradeKernelScript } from '../paths.ts';
import { scriptBadInput, scriptErrorLine } from './script-errors.ts';
import { runTool } from '../spawn.ts';
import { parseSyscallTable, type SyscallEntry } from './syscalls.ts';
import type { SeriesPatch } from './registration/port.ts';

/** A patch set: the patch files of one folder, in the order they apply. */
export interface PatchSet {
  dir: string;
  files: string[];
  /** Notices about files that are not patches (shown, not fatal). */
  notices: string[];
}

/** A syscall-table entry that a patch set adds (from the "+" lines of its table hunks). */
export interface AddedSyscall extends SyscallEntry {
  /** The patch file that adds it. */
  patch: string;
}

/**
 * Lists a folder's patches through upgrade-kernel.sh, the one implementation of
 * "*.patch/*.diff in name order, or the series file": the guest uses the same rule.
 */
export async function readPatchSet(dir: string): Promise<PatchSet> {
  const result = await runTool(upgradeKernelScript, ['--list-patches', dir], { reject: false });
  if (result.exitCode !== 0) throw scriptBadInput(scriptErrorLine(result.stderr) ?? result.stderr.trim());
  const notices = result.stderr
    .split('\n')
    .filter((line) => line.startsWith('syscall-lab: notice: '))
    .map((line) => line.replace('syscall-lab: notice: ', ''));
  const files = result.stdout.split('\n').filter(Boolean);
  for (const file of files) assertIsPatch(file);
  return { dir, files, notices };
}

/** The patches of a set as names and texts, in the order they apply. */
export function seriesPatches(set: PatchSet): SeriesPatch[] {
  return set.files.map((file) => ({ name: basename(file), text: readFileSync(file, 'utf8') }));
}

export function assertIsPatch(file: string): void {
  const text = readFileSync(file, 'utf8');
  if (!/^\+\+\+ /m.test(text) || !/^@@ -\d+(,\d+)? \+\d+(,\d+)? @@/m.test(text)) {
    throw new BadInputError(
      `${file} is not a unified diff (no "+++" header or "@@" hunk)`,
      "regenerate it with 'diff -u' or 'git format-patch', or move it out of the patch folder",
    );
  }
}

const syscallTablePath = /(^|\/)syscall_64\.tbl$/;

/** Syscalls added by a set of patches: the "+" lines of their x86-64 syscall-table hunks. */
export function addedSyscalls(patches: { file: string; text: string }[]): AddedSyscall[] {
  const added: AddedSyscall[] = [];
  for (const { file, text } of patches) {
    let inTable = false;
    const tableLines: string[] = [];
    for (const line of text.split('\n')) {
      if (line.startsWith('+++ ')) inTable = syscallTablePath.test(line.slice(4).split('\t')[0]?.trim() ?? '');
      else if (inTable && line.startsWith('+')) tableLines.push(line.slice(1));
    }
    added.push(...parseSyscallTable(tableLines.join('\n')).map((entry) => ({ ...entry, patch: basename(file) })));
  }
  const byNumber = new Map<number, AddedSyscall>();
  for (const syscall of added) {
    const other = byNumber.get(syscall.number);
    if (other) {
      throw new BadInputError(
        `${other.patch} and ${syscall.patch} both add syscall number ${syscall.number} (${other.name}, ${syscall.name})`,
        'give each new syscall its own number',
      );
    }
    byNumber.set(syscall.number, syscall);
  }
  return added;
}

/** The syscall tables a patch set edits (paths inside the tree, -p1). */
export function editedSyscallTables(set: PatchSet): string[] {
  const tables = new Set<string>();
  for (const file of set.files) {
    for (const [, table = ''] of readFileSync(file, 'utf8').matchAll(/^\+\+\+ (?:[^/\s]+\/)?(\S*syscall_64\.tbl)/gm)) {
      tables.add(table);
    }
  }
  return [...tables];
}

export function addedSyscallsOfSet(set: PatchSet): AddedSyscall[] {
  return addedSyscalls(set.files.map((file) => ({ file, text: readFileSync(file, 'utf8') })));
}
