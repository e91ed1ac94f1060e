import { compareVersions } from '../kernel/versions.ts';
import { stubMacroFor } from '../kernel/registration/write.ts';
import type { SyscallRegistration } from '../kernel/registration/registration.ts';
import type { ConformanceResult } from '../report/model.ts';
import { itemResult, type ConformanceMode } from './checklist.ts';
import type { SeriesFacts } from './series-facts.ts';
import type { LayoutComparison } from './layout.ts';
import type { SyscallArgument } from './signature.ts';

/** The version from which upstream registers generic syscalls in scripts/syscall.tbl too. */
const genericTableSince = '6.11';

/** Syscalls with an entry in a table: the x86-64 or i386 table, or the generic one. */
function tabled(facts: SeriesFacts): SyscallRegistration[] {
  return facts.registrations.filter((r) => r.x86_64 ?? r.i386 ?? r.generic);
}

/** Pass when nothing is wrong; else fail with the problems, one per syscall. */
function judged(
  id: Parameters<typeof itemResult>[0],
  problems: string[],
  passText: string,
  mode: ConformanceMode,
): ConformanceResult {
  return problems.length === 0
    ? itemResult(id, 'pass', passText, '', mode)
    : itemResult(id, 'fail', problems.join('; '), '', mode);
}

function names(list: { name: string }[]): string {
  return list.map((entry) => entry.name).join(', ') || 'none';
}

/**
 * Whether a pointer argument's pointee differs in size between i386 and x86-64 for a reason a type
 * name shows: long, unsigned long, size_t and pointers are 4 bytes on i386, 8 on x86-64.
 */
function scalarDiffers(argument: SyscallArgument): boolean {
  return /^(unsigned long|long|long int|unsigned long int|size_t|ssize_t|off_t|__kernel_long_t|__kernel_ulong_t|__kernel_size_t|.*\*)$/.test(
    argument.pointee,
  );
}

/**
 * The struct and union types that x86-32-entry must compare between -m32 and -m64: pointees of
 * syscalls with an i386 entry and no compat entry point.
 */
export function layoutQuestions(facts: SeriesFacts): string[] {
  const types = new Set<string>();
  for (const s of tabled(facts)) {
    if (!s.i386 || s.i386.compat) continue;
    const signature = facts.definitions.find((d) => d.name === s.name);
    for (const a of signature?.arguments ?? [])
      if (a.pointer && /^(struct|union)\s+\w+$/.test(a.pointee)) types.add(a.pointee);
  }
  return [...types];
}

/** The static items read from the series alone: definitions, prototypes, stubs, the generic table, the i386 entry. */
export function registrationItems(
  facts: SeriesFacts,
  version: string,
  mode: ConformanceMode,
  /** Struct and union pointees of syscalls with an i386 entry and no compat one, compared (see layoutQuestions). */
  layouts: ReadonlyMap<string, LayoutComparison> = new Map(),
): ConformanceResult[] {
  const syscalls = tabled(facts);
  const defined = new Set(facts.definitions.map((d) => d.name));
  const inTables = new Set(syscalls.map((s) => s.name));
  const shown = names(syscalls);
  const results: ConformanceResult[] = [];

  results.push(
    judged(
      'syscall-define',
      [
        ...syscalls.filter((s) => !defined.has(s.name)).map((s) => `${s.name}: table entry without SYSCALL_DEFINEn`),
        ...facts.definitions
          .filter((d) => !inTables.has(d.name))
          .map((d) => `${d.name}: SYSCALL_DEFINE${d.arguments.length} (${d.file}) without a table entry`),
      ],
      `defined: ${names(facts.definitions)}`,
      mode,
    ),
  );
  results.push(
    judged(
      'prototype',
      syscalls.filter((s) => !s.prototype).map((s) => `${s.name}: no prototype in include/linux/syscalls.h`),
      `prototypes: ${shown}`,
      mode,
    ),
  );

  const macro = stubMacroFor(version);
  results.push(
    judged(
      'ni-stub',
      syscalls.flatMap((s) => {
        if (!s.stub) return [`${s.name}: no stub in kernel/sys_ni.c (${macro} expected on ${version})`];
        if (s.stub.macro && s.stub.macro !== macro)
          return [`${s.name}: ${s.stub.macro} on ${version}, where ${macro} is the form`];
        return [];
      }),
      `${macro} for ${shown}`,
      mode,
    ),
  );

  const bothFiles = compareVersions(version, genericTableSince) >= 0;
  const count = facts.syscallCount;
  const countRaised = count?.before !== undefined && count.after !== undefined && count.after > count.before;
  results.push(
    judged(
      'generic-table',
      [
        ...syscalls.flatMap((s) => {
          const files = s.genericFiles ?? [];
          if (!files.includes('unistd.h')) return [`${s.name}: not in include/uapi/asm-generic/unistd.h`];
          if (bothFiles && !files.includes('syscall.tbl'))
            return [`${s.name}: not in scripts/syscall.tbl (which holds the generic table from ${genericTableSince})`];
          return [];
        }),
        ...(syscalls.length > 0 && !countRaised
          ? [`__NR_syscalls not raised${count ? ` (${count.before ?? '?'} -> ${count.after ?? '?'})` : ''}`]
          : []),
      ],
      `${shown} in unistd.h${bothFiles ? ' and scripts/syscall.tbl' : ''}, __NR_syscalls ${count?.before ?? '?'} -> ${count?.after ?? '?'}`,
      mode,
    ),
  );

  const withI386 = syscalls.filter((s) => s.i386);
  if (withI386.length === 0) {
    results.push(itemResult('x86-32-entry', 'n/a', 'n/a (64-bit only): no syscall_32.tbl entry', '', mode));
  } else {
    const compared: string[] = [];
    const problems = withI386.flatMap((s) => {
      if (s.i386?.compat) return [];
      const signature = facts.definitions.find((d) => d.name === s.name);
      const pointers = (signature?.arguments ?? []).filter((a) => a.pointer);
      const differing = pointers.filter((a) => scalarDiffers(a) || layouts.get(a.pointee)?.kind === 'differs');
      const unknown = pointers.flatMap((a) => {
        const layout = layouts.get(a.pointee);
        if (layout) compared.push(layout.detail);
        return layout?.kind === 'unknown' ? [`${a.name} (${a.type}): ${layout.detail}`] : [];
      });
      return [
        ...(differing.length > 0
          ? [
              `${s.name}: i386 entry without compat_sys_${s.name}, but ${differing.map((a) => `${a.name} (${a.type})`).join(', ')} differs between i386 and x86-64`,
            ]
          : []),
        ...(unknown.length > 0
          ? [`${s.name}: i386 entry without compat_sys_${s.name}, and cannot tell whether ${unknown.join('; ')}`]
          : []),
      ];
    });
    const result = judged('x86-32-entry', problems, `i386 entries: ${names(withI386)}`, mode);
    results.push(compared.length > 0 ? { ...result, details: compared.join('\n') } : result);
  }
  return results;
}
