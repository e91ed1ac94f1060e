import { parsePatch, type Hunk } from './registration/patch-text.ts';
import type { SeriesPatch } from './registration/port.ts';

/** Which patch of the series, and which of its hunks, wrote a line of the patched tree. */
export interface LineOrigin {
  patch: string;
  /** 1-based, in the order of the patch's hunks (all files counted). */
  hunk: number;
}

interface PlacedHunk {
  /** First old line the hunk covers (for a pure insertion: the line after the one it follows). */
  oldFirst: number;
  oldLength: number;
  newStart: number;
  newLength: number;
  hunk: Hunk;
}

const header = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

function place(hunk: Hunk): PlacedHunk {
  const [, oldStart = '0', oldLength = '1', newStart = '0', newLength = '1'] = header.exec(hunk.header) ?? [];
  const old = Number(oldLength);
  return {
    oldFirst: old === 0 ? Number(oldStart) + 1 : Number(oldStart),
    oldLength: old,
    newStart: Number(newStart),
    newLength: Number(newLength),
    hunk,
  };
}

/** Where old line `line` is after the hunk `placed`, which covers it; undefined when the hunk removes it. */
function inside(line: number, placed: PlacedHunk): number | undefined {
  let oldLine = placed.oldFirst;
  let newLine = placed.newStart;
  for (const text of placed.hunk.lines) {
    if (text.startsWith('\\')) continue;
    if (text.startsWith('+')) newLine++;
    else if (text.startsWith('-')) {
      if (oldLine === line) return undefined;
      oldLine++;
    } else {
      if (oldLine === line) return newLine;
      oldLine++;
      newLine++;
    }
  }
  return undefined;
}

/** Where old line `line` of a file is after one patch's hunks of it (in order); undefined: removed. */
function moved(line: number, hunks: PlacedHunk[]): number | undefined {
  let delta = 0;
  for (const placed of hunks) {
    if (line < placed.oldFirst) break;
    if (line < placed.oldFirst + placed.oldLength) return inside(line, placed);
    delta += placed.newLength - placed.oldLength;
  }
  return line + delta;
}

/**
 * The lines a patch series adds, at their place in the patched tree: each "+" line of each
 * patch, moved by the later patches' hunks (and dropped where a later patch removes it). Where a
 * hunk applied at an offset (patch's "Hunk #1 succeeded at 20 (offset 3 lines)"), its lines are
 * where its @@ header says, not where patch put them: the series of this tool apply with no offset.
 */
export class SeriesLines {
  private constructor(private readonly files: Map<string, Map<number, LineOrigin>>) {}

  static of(series: readonly SeriesPatch[]): SeriesLines {
    const files = new Map<string, Map<number, LineOrigin>>();
    for (const patch of series) {
      let hunkNumber = 0;
      for (const file of parsePatch(patch.text).files) {
        const placed = file.hunks.map(place);
        const deleted = file.header.some((line) => /^\+\+\+ \/dev\/null/.test(line));
        const before = files.get(file.path) ?? new Map<number, LineOrigin>();
        const after = new Map<number, LineOrigin>();
        for (const [line, origin] of before) {
          const now = moved(line, placed);
          if (now !== undefined) after.set(now, origin);
        }
        for (const { hunk, newStart } of placed) {
          hunkNumber++;
          let newLine = newStart;
          for (const text of hunk.lines) {
            if (text.startsWith('+')) after.set(newLine++, { patch: patch.name, hunk: hunkNumber });
            else if (!text.startsWith('-') && !text.startsWith('\\')) newLine++;
          }
        }
        if (deleted) files.delete(file.path);
        else files.set(file.path, after);
      }
    }
    return new SeriesLines(files);
  }

  /** The patch and hunk that added line `line` of `file` (a path inside the tree), if the series did. */
  originOf(file: string, line: number): LineOrigin | undefined {
    return this.files.get(file)?.get(line);
  }
}
