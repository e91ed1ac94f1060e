/**
 * A patch file as parts that can be put back together byte for byte: the text before the first
 * file (a git format-patch message, its `---` line and diffstat), one section per file (its
 * header lines and hunks) and the text after the last hunk (the `-- ` signature).
 */
export interface PatchText {
  preamble: string[];
  files: FileDiff[];
  trailer: string[];
}

export interface FileDiff {
  /** The path inside the tree (after -p1), of the new file; the old one for a deletion. */
  path: string;
  /** `diff --git`, `index`, `---`, `+++` and the like, as written. */
  header: string[];
  hunks: Hunk[];
}

export interface Hunk {
  /** The `@@ -a,b +c,d @@` line. */
  header: string;
  oldStart: number;
  /** Context (` `), removed (`-`), added (`+`) and `\ No newline` lines, as written. */
  lines: string[];
}

const hunkHeader = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

function stripPrefix(path: string): string {
  const name = path.split('\t')[0]?.trim() ?? '';
  return name === '/dev/null' ? name : name.replace(/^[^/]*\//, '');
}

/** Splits a unified diff (git format-patch, diff -uNr, quilt) into its parts; hunks by their counts. */
export function parsePatch(text: string): PatchText {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const startsFile = (at: number): boolean =>
    (lines[at]?.startsWith('diff ') ?? false) ||
    ((lines[at]?.startsWith('--- ') ?? false) && (lines[at + 1]?.startsWith('+++ ') ?? false));
  const end = lines.length;
  const patch: PatchText = { preamble: [], files: [], trailer: [] };
  let i = 0;
  while (i < end && !startsFile(i)) patch.preamble.push(lines[i++] ?? '');
  while (i < end) {
    // Lines between files that start none (diff -r's "Only in") go with the next file's header;
    // a "-- " line there (never inside a hunk, whose lines are taken by count) is git's signature.
    let next = i;
    while (next < end && !startsFile(next) && lines[next] !== '-- ') next++;
    if (next >= end || lines[next] === '-- ') break;
    const header = lines.slice(i, next + 1);
    i = next + 1;
    if (lines[next]?.startsWith('diff ') && !lines[next]?.startsWith('--- ')) {
      while (i < end && !lines[i]?.startsWith('@@') && !lines[i]?.startsWith('diff ')) {
        header.push(lines[i] ?? '');
        i++;
      }
    } else {
      header.push(lines[i] ?? '');
      i++;
    }
    const file: FileDiff = { path: pathOf(header), header, hunks: [] };
    patch.files.push(file);
    for (let hunk = hunkHeader.exec(lines[i] ?? ''); hunk && i < end; hunk = hunkHeader.exec(lines[i] ?? '')) {
      let oldLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      let newLeft = hunk[4] === undefined ? 1 : Number(hunk[4]);
      const body: string[] = [];
      const headerLine = lines[i] ?? '';
      i++;
      while (i < end && (oldLeft > 0 || newLeft > 0 || lines[i]?.startsWith('\\'))) {
        const line = lines[i] ?? '';
        body.push(line);
        if (line.startsWith('-')) oldLeft--;
        else if (line.startsWith('+')) newLeft--;
        else if (!line.startsWith('\\')) {
          oldLeft--;
          newLeft--;
        }
        i++;
      }
      file.hunks.push({ header: headerLine, oldStart: Number(hunk[1]), lines: body });
    }
  }
  patch.trailer = lines.slice(i);
  return patch;
}

/** The path a file section changes: from "+++" (or "---" for a deletion), else "diff --git a/X b/X". */
function pathOf(header: string[]): string {
  const plus = header.find((line) => line.startsWith('+++ '));
  const minus = header.find((line) => line.startsWith('--- '));
  if (plus) {
    const path = stripPrefix(plus.slice(4));
    return path === '/dev/null' && minus ? stripPrefix(minus.slice(4)) : path;
  }
  const git = /^diff --git \S+ (\S+)/.exec(header.find((line) => line.startsWith('diff --git ')) ?? '');
  return git?.[1] ? stripPrefix(git[1]) : '';
}

export function formatPatch(patch: PatchText): string {
  const out = [...patch.preamble];
  for (const file of patch.files) {
    out.push(...file.header);
    for (const hunk of file.hunks) out.push(hunk.header, ...hunk.lines);
  }
  out.push(...patch.trailer);
  return `${out.join('\n')}\n`;
}

/** The lines a hunk expects (context and removed) and leaves (context and added), without the markers. */
export function hunkSides(hunk: Hunk): { before: string[]; after: string[] } {
  const before: string[] = [];
  const after: string[] = [];
  for (const line of hunk.lines) {
    const mark = line[0];
    const text = line.slice(1);
    if (mark === '-' || mark === ' ' || line === '') before.push(text);
    if (mark === '+' || mark === ' ' || line === '') after.push(text);
  }
  return { before, after };
}

/**
 * Applies one hunk as `patch --fuzz=0` does: its lines exactly, at its own line or at the nearest
 * offset where they match. Returns the new lines, or undefined where they match nowhere.
 */
export function applyHunk(content: string[], hunk: Hunk): string[] | undefined {
  const { before, after } = hunkSides(hunk);
  // GNU patch without fuzz anchors a hunk with less context on one side (diff wrote it at the
  // start or the end of the file) to that end of the file.
  const changed = hunk.lines.map((line) => line[0] === '-' || line[0] === '+');
  const leading = changed.indexOf(true) < 0 ? before.length : changed.indexOf(true);
  const trailing = changed.lastIndexOf(true) < 0 ? 0 : changed.length - 1 - changed.lastIndexOf(true);
  const anchored = trailing < leading ? content.length - before.length : leading < trailing ? 0 : undefined;
  const wanted = Math.max(0, hunk.oldStart - (before.length === 0 ? 0 : 1));
  const matchesAt = (at: number): boolean =>
    at >= 0 &&
    (anchored === undefined || at === anchored) &&
    at + before.length <= content.length &&
    before.every((line, k) => content[at + k] === line);
  for (let offset = 0; offset <= content.length; offset++) {
    for (const at of offset === 0 ? [wanted] : [wanted - offset, wanted + offset]) {
      if (matchesAt(at)) return [...content.slice(0, at), ...after, ...content.slice(at + before.length)];
    }
  }
  return undefined;
}
