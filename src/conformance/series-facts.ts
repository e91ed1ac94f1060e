import { parsePatch } from '../kernel/registration/patch-text.ts';
import type { SeriesPatch } from '../kernel/registration/port.ts';
import {
  readRegistrationHunk,
  registrationPathOf,
  Registrations,
  type SyscallRegistration,
} from '../kernel/registration/registration.ts';
import { readDefinitions, readNullable, type SyscallSignature } from './signature.ts';

/** What the conformance items read from a series: its registrations, definitions and changed C files. */
export interface SeriesFacts {
  /** Every syscall the series registers anywhere, its registrations merged over the patches. */
  registrations: SyscallRegistration[];
  /** `__NR_syscalls` as the series removes and adds it, when it does. */
  syscallCount?: { before?: number; after?: number };
  /** Every `SYSCALL_DEFINEn` the series adds. */
  definitions: SyscallSignature[];
  /** The `.c` files the series adds or changes (sparse looks at these). */
  cFiles: string[];
}

function merge(into: Map<string, SyscallRegistration>, found: SyscallRegistration): void {
  const known = into.get(found.name) ?? { name: found.name };
  const genericFiles = [...new Set([...(known.genericFiles ?? []), ...(found.genericFiles ?? [])])];
  into.set(found.name, { ...known, ...found, ...(genericFiles.length > 0 && { genericFiles }) });
}

/** Reads a series through the registration reader (the one owner of what a registration is) and the signature reader. */
export function readSeriesFacts(series: SeriesPatch[]): SeriesFacts {
  const registrations = new Map<string, SyscallRegistration>();
  const definitions: SyscallSignature[] = [];
  const cFiles = new Set<string>();
  let syscallCount: SeriesFacts['syscallCount'];
  for (const patch of series) {
    const found = new Registrations();
    for (const file of parsePatch(patch.text).files) {
      const path = registrationPathOf(file.path);
      for (const hunk of file.hunks) readRegistrationHunk(path, hunk, found);
      if (!file.path.endsWith('.c') || file.header.some((line) => line.startsWith('+++ /dev/null'))) continue;
      cFiles.add(file.path);
      // The lines as they are after the patch: a definition split over context and added lines reads whole.
      const after = file.hunks.flatMap((hunk) =>
        hunk.lines.filter((line) => line.startsWith('+') || line.startsWith(' ')).map((line) => line.slice(1)),
      );
      const added = file.hunks.flatMap((hunk) =>
        hunk.lines.filter((line) => line.startsWith('+')).map((line) => line.slice(1)),
      );
      const text = after.join('\n');
      const addedText = added.join('\n');
      const nullable = readNullable(addedText);
      for (const defined of readDefinitions(text)) {
        // Only definitions the patch adds or changes: context alone is an existing syscall.
        if (!readDefinitions(addedText).some((d) => d.name === defined.name)) continue;
        definitions.push({ ...defined, patch: patch.name, file: file.path, nullable });
      }
    }
    const result = found.result();
    for (const syscall of result.syscalls) merge(registrations, syscall);
    // The count before the first patch that raises it, after the last one.
    const before = syscallCount?.before ?? result.syscallCount?.before;
    const after = result.syscallCount?.after ?? syscallCount?.after;
    if (before !== undefined || after !== undefined)
      syscallCount = { ...(before !== undefined && { before }), ...(after !== undefined && { after }) };
  }
  return {
    registrations: [...registrations.values()],
    ...(syscallCount && { syscallCount }),
    definitions,
    cFiles: [...cFiles],
  };
}
