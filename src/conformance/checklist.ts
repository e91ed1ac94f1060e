import type { CheckResult, ConformanceResult, ConformanceStatus } from '../report/model.ts';

/**
 * The checklist: each item of Documentation/process/adding-syscalls.rst (and of
 * submitting-patches.rst for the style check) that syscall-lab judges, with its rule and section.
 */
export interface ChecklistItem {
  rule: string;
  section: string;
  /** Judged from the series and the patched tree, or by a check generated from the signature and run in the VM. */
  how: 'static' | 'runtime';
}

const rst = 'adding-syscalls.rst';

export const checklist = {
  'syscall-define': {
    rule: 'every new table entry has a SYSCALL_DEFINEn, and every SYSCALL_DEFINEn a table entry',
    section: `${rst}: Generic System Call Implementation`,
    how: 'static',
  },
  prototype: {
    rule: 'every new syscall has its prototype in include/linux/syscalls.h',
    section: `${rst}: Generic System Call Implementation`,
    how: 'static',
  },
  'ni-stub': {
    rule: 'every new syscall has a fallback stub in kernel/sys_ni.c: COND_SYSCALL(name) from 4.17, cond_syscall(sys_name) before',
    section: `${rst}: Generic System Call Implementation`,
    how: 'static',
  },
  'generic-table': {
    rule: 'every new syscall is in include/uapi/asm-generic/unistd.h with __NR_syscalls raised, and from 6.11 also in scripts/syscall.tbl',
    section: `${rst}: Generic System Call Implementation`,
    how: 'static',
  },
  'x86-32-entry': {
    rule: 'an i386 entry (syscall_32.tbl) needs a compat_sys_ entry point when an argument points to long, unsigned long, size_t, a pointer, or a struct or union whose layout differs between -m32 and -m64; no i386 entry is n/a (64-bit only)',
    section: `${rst}: x86 System Call Implementation; Compatibility System Calls (x86)`,
    how: 'static',
  },
  'user-annotations': {
    rule: 'pointer arguments are __user and used as such: sparse (make C=2) on every .c file the series adds or changes reports no address-space warning',
    section: `${rst}: Generic System Call Implementation (sparse, Documentation/dev-tools/sparse.rst)`,
    how: 'static',
  },
  checkpatch: {
    rule: 'scripts/checkpatch.pl --strict --no-tree reports no error on any patch (warnings are shown)',
    section: 'submitting-patches.rst: Style-check your changes',
    how: 'static',
  },
  efault: {
    rule: 'every __user pointer argument given NULL, an unmapped address or a kernel address (and read-only memory unless const) returns -1/EFAULT, with every other argument valid, and never oopses',
    section: `${rst}: Designing the API: Other Considerations; Testing`,
    how: 'runtime',
  },
  flags: {
    rule: 'a flags argument rejects unknown flags: ~0 and 1u << 31 return -1/EINVAL, with every other argument valid',
    section: `${rst}: Designing the API: Planning for Extension`,
    how: 'runtime',
  },
  'x86-32': {
    rule: 'a syscall with an i386 entry, called by a static -m32 program, gives what the 64-bit call gives (return, errno, and the bytes it writes where their type has one size on both ABIs) and writes nothing past the variables (guard bytes); its bad pointers (NULL, unmapped, read-only) and flags as in the 64-bit cases',
    section: `${rst}: x86 System Call Implementation; Compatibility System Calls (x86); Testing`,
    how: 'runtime',
  },
} as const satisfies Record<string, ChecklistItem>;

export type ChecklistId = keyof typeof checklist;

/** --conformance: off (not judged), warn (shown, the exit code unchanged), fail (a failed item fails the run). */
export type ConformanceMode = 'off' | 'warn' | 'fail';
export const conformanceModes: readonly ConformanceMode[] = ['off', 'warn', 'fail'];

/** One item's result; `suffix` names the syscall (and argument) of a per-syscall item. */
export function itemResult(
  id: ChecklistId,
  status: ConformanceStatus,
  actual: string,
  details: string,
  mode: ConformanceMode,
  suffix = '',
): ConformanceResult {
  const { rule, section } = checklist[id];
  return {
    name: `conformance:${id}${suffix}`,
    status,
    enforced: mode === 'fail',
    rule,
    section,
    actual,
    details,
  };
}

/**
 * A generated runtime result as the check runner gave it (`conformance:<item>:<syscall>`, or the
 * runtime check itself when it did not run) turned into a conformance result: a skip is n/a.
 */
export function fromCheckResult(check: CheckResult, mode: ConformanceMode): ConformanceResult {
  const id = check.name.split(':')[1] ?? '';
  const item: ChecklistItem | undefined = id in checklist ? checklist[id as ChecklistId] : undefined;
  return {
    name: check.name,
    status: check.status === 'skip' ? 'n/a' : check.status,
    enforced: mode === 'fail',
    rule: item?.rule ?? 'the runtime items generated from the signatures (efault, flags, x86-32)',
    section: item?.section ?? rst,
    // A skipped item's reason is its answer (n/a: no pointer argument).
    actual: check.status === 'skip' ? check.details : check.actual,
    details: check.details,
  };
}

/** Whether a check result belongs to the checklist (the generated runtime items), not to the functional checks. */
export const isConformanceResult = (check: CheckResult): boolean => check.name.startsWith('conformance:');
