import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { editedSyscallTables, readPatchSet } from '../../src/kernel/patches.ts';
import { syscallTableLocation } from '../../src/kernel/syscalls.ts';
import { projectRoot } from '../../src/paths.ts';

// What differs between kernel generations: where the syscall table is, what the guest needs.
describe('syscall table location', () => {
  it.each([
    ['3.9.11', 'arch/x86/syscalls/syscall_64.tbl'],
    ['4.1', 'arch/x86/syscalls/syscall_64.tbl'],
    ['4.2', 'arch/x86/entry/syscalls/syscall_64.tbl'],
    ['6.1', 'arch/x86/entry/syscalls/syscall_64.tbl'],
    ['6.12.16', 'arch/x86/entry/syscalls/syscall_64.tbl'],
  ])('%s keeps it at %s', (version, path) => {
    expect(syscallTableLocation(version)).toBe(path);
  });

  it('matches what each shipped patch set edits', async () => {
    expect(editedSyscallTables(await readPatchSet(join(projectRoot, 'patches-6.1')))).toEqual([
      syscallTableLocation('6.1'),
    ]);
    expect(editedSyscallTables(await readPatchSet(join(projectRoot, 'patches-3.9.11')))).toEqual([
      syscallTableLocation('3.9.11'),
    ]);
  });
});

describe('guest kernel parameters', () => {
  it('turns SMAP off only before 3.11, whose signal frames break under it', async () => {
    const { guestKernelArgs } = await import('../../src/guest/rootfs.ts');
    expect(guestKernelArgs('3.9.6')).toEqual(['loglevel=7', 'nokaslr', 'no5lvl', 'nosmap']);
    expect(guestKernelArgs('3.11')).toEqual(['loglevel=7', 'nokaslr', 'no5lvl']);
    expect(guestKernelArgs('6.1.192')).toEqual(['loglevel=7', 'nokaslr', 'no5lvl']);
  });
});
