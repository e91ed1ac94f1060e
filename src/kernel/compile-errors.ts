/**
 * The compiler's own errors in a kernel build log: what a patch that does not compile is
 * reported with. Under `make -j2` the last lines of the log are usually the other job's `CC`
 * lines, the errors far above them; this finds the errors wherever they are.
 *
 * Pure: works on the log's text. Knows gcc's diagnostics (`file:line:col: error: ...`, `fatal
 * error:`, the "In function"/"In file included from" lines before them, the source and caret
 * lines and notes after them, in ASCII or UTF-8 quotes), the assembler's `file:line: Error:`,
 * GNU ld's `undefined reference to` (after its "in function" line) and `ld: ... error` lines,
 * and modpost's `ERROR: modpost:`.
 */

export interface CompileError {
  /** The error line itself, as in the log (without ANSI colours or a carriage return). */
  line: string;
  /** 1-based number of `line` in the log. */
  lineNumber: number;
  /** `line` with its context: the lines that say where (before) and the caret lines and notes (after). */
  lines: string[];
}

export interface CompileErrors {
  /** The first distinct errors, in log order, at most the limit asked for. */
  shown: CompileError[];
  /** How many distinct errors the log holds. */
  total: number;
}

/** How many errors a report shows: the first ones are the cause, the rest usually follow from them. */
export const MAX_ERRORS = 10;
/** Context kept before an error (an include chain can be long) and after it (notes, macro expansions). */
const MAX_BEFORE = 5;
const MAX_AFTER = 10;

const ERROR_LINES: readonly RegExp[] = [
  // gcc and clang: "mysyscalls/callcount.c:19:17: error: expected ';' before '}' token", "fatal error:".
  /^[^\s:][^:]*:\d+(?::\d+)?: (?:fatal )?error: /,
  // The driver itself: "gcc: error: unrecognized command-line option", "cc1: error: ...", "collect2: error: ...".
  /^(?:\S*\/)?(?:[\w.-]+-)?(?:gcc|cc|cc1|cc1plus|clang|collect2)(?:-\d+)?: (?:fatal )?error: /,
  // GNU as: "arch/x86/entry/entry_64.S:123: Error: no such instruction".
  /^[^\s:][^:]*:\d+: Error: /,
  // GNU ld: "callcount.c:(.text+0x1d): undefined reference to `helper'", "ld: (.text+0x37): undefined ...".
  /undefined reference to [`'‘]/,
  // ld's own errors: "ld: final link failed: ...", "ld: vmlinux.o: error adding symbols: ...",
  // "ld.lld: error: undefined symbol: helper" (never its "in function `..._error_...':" line).
  /^(?:\S*\/)?(?:[\w.-]+-)?ld(?:\.\w+)?: (?:[^`'‘]*: )?(?:error\b|final link failed)/,
  /^ERROR: modpost: /,
];

/** Lines that say where the error is, printed just before it. */
const BEFORE_LINES: readonly RegExp[] = [
  // "mysyscalls/callcount.c: In function '__do_sys_callcount':", ": At top level:".
  /^[^\s:][^:]*: (?:In (?:function|member function|static function|constructor|destructor|instantiation)\b|At top level:)/,
  // Include chains: "In file included from mysyscalls/callcount.c:9:", "                 from include/linux/cache.h:4,".
  /^In file included from /,
  /^\s+from \S+:\d+[:,]$/,
  // Inlined-from chains: "In function 'copy_to_user',", "    inlined from 'foo' at mysyscalls/callcount.c:17:6:".
  /^In function [`'‘].*,$/,
  /^\s+inlined from /,
  /: Assembler messages:$/,
  // GNU ld: "ld: vmlinux.o: in function `__x64_sys_callcount':".
  /^(?:\S*\/)?(?:[\w.-]+-)?ld(?:\.\w+)?: .*: in function [`'‘]/,
];

/** Lines that belong to the error above them: source and caret lines, "......", notes. */
const AFTER_LINES: readonly RegExp[] = [/^\s*\d*\s*\|/, /^\s*\.{3,}\s*$/, /^[^\s:][^:]*:\d+(?::\d+)?: note: /];

const isError = (line: string): boolean => ERROR_LINES.some((re) => re.test(line));
const isBefore = (line: string): boolean => BEFORE_LINES.some((re) => re.test(line));
const isAfter = (line: string): boolean => !isError(line) && AFTER_LINES.some((re) => re.test(line));

/** Two errors are one when they say the same (a header's error in every file that includes it). */
function errorKey(line: string): string {
  // Every reference to one missing symbol is one error, wherever it is referenced from.
  const undefinedReference = /undefined reference to [`'‘].*$/.exec(line);
  return undefinedReference ? undefinedReference[0] : line.trim();
}

function clean(text: string): string[] {
  return (
    text
      .replace(/\r/g, '')
      // eslint-disable-next-line no-control-regex -- gcc's colours (-fdiagnostics-color) are what it removes
      .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
      .split('\n')
  );
}

/** Keeps at most `max` lines: the first ones and the last ones, with a marker for those left out. */
function cap(lines: string[], max: number): string[] {
  if (lines.length <= max) return lines;
  const head = Math.ceil((max - 1) / 2);
  const tail = max - 1 - head;
  return [
    ...lines.slice(0, head),
    `[... ${lines.length - max + 1} more lines ...]`,
    ...lines.slice(lines.length - tail),
  ];
}

/** The distinct compiler, assembler and linker errors in a build log, with their context. */
export function findCompileErrors(log: string, limit = MAX_ERRORS): CompileErrors {
  const lines = clean(log);
  const seen = new Set<string>();
  const shown: CompileError[] = [];
  // Lines already shown as some error's context: never shown twice.
  let used = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!isError(line)) continue;
    const key = errorKey(line);
    if (seen.has(key)) continue;
    seen.add(key);
    if (shown.length >= limit) continue;
    let from = i;
    while (from - 1 > used && isBefore(lines[from - 1] ?? '')) from--;
    let to = i;
    while (to + 1 < lines.length && isAfter(lines[to + 1] ?? '')) to++;
    shown.push({
      line,
      lineNumber: i + 1,
      lines: [...cap(lines.slice(from, i), MAX_BEFORE), line, ...cap(lines.slice(i + 1, to + 1), MAX_AFTER)],
    });
    used = to;
  }
  return { shown, total: seen.size };
}

/**
 * The evidence for a build that failed: the compiler's errors with their context, or, when
 * the log holds none (or could not be read), the last lines of the build's output.
 */
export function buildFailureEvidence(log: string | undefined, logPath: string, tail: readonly string[]): string {
  const { shown, total } = findCompileErrors(log ?? '');
  if (shown.length === 0) return `last ${tail.length} lines of ${logPath}:\n${tail.join('\n')}`;
  const errors = total === 1 ? 'error' : 'errors';
  const count =
    total > shown.length
      ? `the first ${shown.length} of ${total} compiler/linker ${errors}`
      : `${total} compiler/linker ${errors}`;
  const where = `${logPath}, the first at line ${shown[0]?.lineNumber ?? 0}`;
  return `${count} in ${where}:\n${shown.map((error) => error.lines.join('\n')).join('\n\n')}`;
}
