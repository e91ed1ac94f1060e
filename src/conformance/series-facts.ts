import { parsePatch, type Hunk } from '../kernel/registration/patch-text.ts';
import type { SeriesPatch } from '../kernel/registration/port.ts';
import {
  readRegistrationHunk,
  registrationPathOf,
  registrationPaths,
  Registrations,
  type SyscallRegistration,
} from '../kernel/registration/registration.ts';
import { readDefinitions, readNullable, readValid, type SyscallSignature } from './signature.ts';

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

/**
 * A registration file's lines as the whole series changes them: a line that one patch adds and a
 * later one removes is gone, so a series whose last patch takes a registration back is read without it.
 */
class NetLines {
  readonly added: string[] = [];
  readonly removed: string[] = [];
  readonly hunks: Hunk[] = [];

  take(hunk: Hunk): void {
    this.hunks.push(hunk);
    for (const line of hunk.lines) {
      const [mark, text] = [line[0], line.slice(1)];
      if (mark !== '+' && mark !== '-') continue;
      const [mine, theirs] = mark === '+' ? [this.added, this.removed] : [this.removed, this.added];
      const cancelled = theirs.indexOf(text);
      if (cancelled >= 0) theirs.splice(cancelled, 1);
      else mine.push(text);
    }
  }

  /** The net change as one hunk: what the registration reader is given. */
  hunk(): Hunk {
    return {
      header: '@@ the series as a whole @@',
      oldStart: 0,
      lines: [...this.removed.map((text) => `-${text}`), ...this.added.map((text) => `+${text}`)],
    };
  }
}

/** The C lines of a file section: as they are after the patch (context and added), and the added and removed ones. */
function cLines(hunks: Hunk[], marks: string): string {
  return hunks
    .flatMap((hunk) => hunk.lines.filter((line) => marks.includes(line[0] ?? '')).map((line) => line.slice(1)))
    .join('\n');
}

/**
 * Reads a series through the registration reader (the one owner of what a registration is) and
 * the signature reader, as the series leaves the tree: registrations from the net change of each
 * registration file (each hunk on its own where the net change is more than registrations), and
 * the SYSCALL_DEFINEs the last patch to touch them leaves.
 */
export function readSeriesFacts(series: SeriesPatch[]): SeriesFacts {
  const nets = new Map<string, NetLines>();
  const definitions = new Map<string, SyscallSignature>();
  const cFiles = new Set<string>();
  for (const patch of series) {
    for (const file of parsePatch(patch.text).files) {
      const path = registrationPathOf(file.path);
      if (registrationPaths.has(path)) {
        const net = nets.get(path) ?? new NetLines();
        nets.set(path, net);
        for (const hunk of file.hunks) net.take(hunk);
      }
      if (!file.path.endsWith('.c') || file.header.some((line) => line.startsWith('+++ /dev/null'))) continue;
      cFiles.add(file.path);
      const addedText = cLines(file.hunks, '+');
      const nullable = readNullable(addedText);
      const valid = readValid(addedText);
      for (const removed of readDefinitions(cLines(file.hunks, '-'))) {
        if (definitions.get(removed.name)?.file === file.path) definitions.delete(removed.name);
      }
      // A definition split over context and added lines reads whole from the lines after the patch;
      // only those the patch adds or changes count (context alone is an existing syscall).
      const changed = new Set(readDefinitions(addedText).map((d) => d.name));
      for (const defined of readDefinitions(cLines(file.hunks, ' +'))) {
        if (changed.has(defined.name))
          definitions.set(defined.name, {
            ...defined,
            patch: patch.name,
            file: file.path,
            nullable,
            ...(Object.keys(valid).length > 0 && { valid }),
          });
      }
    }
  }
  const found = new Registrations();
  for (const [path, net] of nets) {
    if (net.added.length + net.removed.length === 0) continue;
    if (!readRegistrationHunk(path, net.hunk(), found))
      for (const hunk of net.hunks) readRegistrationHunk(path, hunk, found);
  }
  const { syscalls, syscallCount } = found.result();
  return {
    registrations: syscalls,
    ...(syscallCount && { syscallCount }),
    definitions: [...definitions.values()],
    cFiles: [...cFiles],
  };
}
