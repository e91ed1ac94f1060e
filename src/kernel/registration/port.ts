import { structuredPatch } from 'diff';
import { applyHunk, formatPatch, parsePatch, type FileDiff } from './patch-text.ts';
import { readRegistrationHunk, registrationFiles, registrationPaths, Registrations } from './registration.ts';
import { RegistrationError, writeRegistrations, type Numbered, type TreeFiles } from './write.ts';

/** One patch of a series: its file name and text. */
export interface SeriesPatch {
  name: string;
  text: string;
}

export interface PortedSeries {
  /** The patches for the target, same names and order; each one's registration written anew. */
  patches: SeriesPatch[];
  /** Whether the series as written already registers exactly so on the target (it is then used as it is). */
  unchanged: boolean;
  /** The numbers every new syscall got, in the order the series adds them. */
  syscalls: Numbered[];
}

/** A hunk that does not apply, or a registration that cannot be written: the series cannot be ported. */
export class PortError extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

const canonicalOrder = Object.values(registrationFiles);

function cloneFiles(files: TreeFiles): TreeFiles {
  return new Map([...files].map(([path, lines]) => [path, [...lines]]));
}

const sameLines = (a: string[] | undefined, b: string[] | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((line, k) => line === b[k]));

/** A file section from `before` to `after`, as git writes it (3 lines of context). */
function fileDiff(path: string, before: string[], after: string[]): FileDiff {
  const diff = structuredPatch(`a/${path}`, `b/${path}`, `${before.join('\n')}\n`, `${after.join('\n')}\n`, '', '', {
    context: 3,
  });
  return {
    path,
    header: [`diff --git a/${path} b/${path}`, `--- a/${path}`, `+++ b/${path}`],
    hunks: diff.hunks.map((hunk) => ({
      header: `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`,
      oldStart: hunk.oldStart,
      lines: hunk.lines,
    })),
  };
}

/** A format-patch message keeps its "---" line; the diffstat under it would be wrong and goes. */
function withoutDiffstat(preamble: string[]): string[] {
  const separator = preamble.indexOf('---');
  if (separator < 0) return preamble;
  const rest = preamble.slice(separator + 1);
  const stat = rest.filter(
    (line) => /^ \S.* \| +\d+/.test(line) || /^ \d+ files? changed/.test(line) || /^ (create|delete) mode /.test(line),
  );
  return stat.length === 0 ? preamble : [...preamble.slice(0, separator + 1), ''];
}

/**
 * Ports a series to a kernel: every registration it makes (see registration.ts) is taken out of
 * its patch and written anew into the target's files, with the target's next free numbers; every
 * other hunk of those files must apply exactly (at any offset), and other files are left as they
 * are. `files` are the target tree's registration files; `version` its version.
 */
export function portSeries(series: SeriesPatch[], files: TreeFiles, version: string): PortedSeries {
  const tree = cloneFiles(files);
  const asWritten = cloneFiles(files);
  // Set inside the callbacks below: an object, so that the compiler does not take it for a constant.
  const judged = { unchanged: true };
  const syscalls: Numbered[] = [];
  const patches = series.map((patch) => {
    const parsed = parsePatch(patch.text);
    const found = new Registrations();
    const before = cloneFiles(tree);
    const kept: FileDiff[] = [];
    let firstRegistration = -1;
    for (const file of parsed.files) {
      if (!registrationPaths.has(file.path)) {
        kept.push(file);
        continue;
      }
      if (firstRegistration < 0) firstRegistration = kept.length;
      file.hunks.forEach((hunk, index) => {
        const written = asWritten.get(file.path);
        const applied = written && applyHunk(written, hunk);
        if (applied) asWritten.set(file.path, applied);
        else judged.unchanged = false;
        if (readRegistrationHunk(file.path, hunk, found)) return;
        const lines = tree.get(file.path);
        const result = lines && applyHunk(lines, hunk);
        if (!result) {
          throw new PortError(
            `${patch.name}: hunk ${index + 1} of ${file.path} (${hunk.header}) is not a syscall registration and does not apply to Linux ${version} exactly, at any offset`,
            `rebase that hunk on Linux ${version}, or give that kernel its own series (--kernel ${version}=DIR)`,
          );
        }
        tree.set(file.path, result);
      });
    }
    try {
      syscalls.push(...writeRegistrations(tree, version, found.result()));
    } catch (error) {
      if (!(error instanceof RegistrationError)) throw error;
      throw new PortError(
        `${patch.name}: ${error.message} (Linux ${version})`,
        'give that kernel its own series (--kernel VERSION=DIR)',
      );
    }
    if (canonicalOrder.some((path) => !sameLines(tree.get(path), asWritten.get(path)))) judged.unchanged = false;
    const regenerated = canonicalOrder
      .filter((path) => !sameLines(before.get(path), tree.get(path)))
      .map((path) => fileDiff(path, before.get(path) ?? [], tree.get(path) ?? []));
    const at = firstRegistration < 0 ? 0 : firstRegistration;
    const filesOut = [...kept.slice(0, at), ...regenerated, ...kept.slice(at)];
    return {
      name: patch.name,
      text: formatPatch({ preamble: withoutDiffstat(parsed.preamble), files: filesOut, trailer: parsed.trailer }),
    };
  });
  return { patches: judged.unchanged ? series : patches, unchanged: judged.unchanged, syscalls };
}
