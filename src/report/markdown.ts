import { basename } from 'node:path';
import { checkMatrix, type MatrixLabel } from './matrix.ts';
import type { RunReport } from './model.ts';
import { sanitize, totalsLine } from './summary.ts';

export interface MarkdownOptions {
  /**
   * Where a run's logs can be read, for the links of its failures: `{kernel}` (the kernel as asked
   * for) and `{log}` (the file name of its last console log, else of its last build log) are filled
   * in, URL-encoded. Without it, failures are not links.
   */
  consoleLogUrl?: string | undefined;
}

// Characters that would start Markdown or HTML inside a table cell (`|` ends the cell); CommonMark
// takes a backslash before any ASCII punctuation as the character itself.
const MARKDOWN_SPECIAL = /[\\`*_[\]<>|&~]/g;

/** One line of plain text, safe in a table cell: control bytes gone, whitespace folded, Markdown escaped. */
function text(value: string): string {
  return sanitize(value)
    .replace(/\s+/g, ' ')
    .trim()
    .replace(MARKDOWN_SPECIAL, (c) => `\\${c}`);
}

/** A check's name as code (`userland:my_test.c`), unless a backtick in it would end the code span. */
function code(value: string): string {
  const flat = sanitize(value).replace(/\s+/g, ' ').trim();
  // Inside a table even a code span needs its `|` escaped (GitHub splits the row first).
  return flat.includes('`') || flat === '' ? text(value) : `\`${flat.replaceAll('|', '\\|')}\``;
}

/** The log a failure of this run links to: the last console log (the boot that failed), else the last build log. */
function logOf(run: RunReport): { kind: 'console' | 'build'; file: string } | undefined {
  const consoleLog = run.logs.console.at(-1);
  if (consoleLog !== undefined) return { kind: 'console', file: basename(consoleLog) };
  const build = run.logs.build.at(-1);
  return build === undefined ? undefined : { kind: 'build', file: basename(build) };
}

/** A link destination: the template filled in; spaces, parentheses and angle brackets would end it. */
function logLink(template: string, run: RunReport, file: string): string {
  const url = template
    .replaceAll('{kernel}', encodeURIComponent(run.kernel.requested))
    .replaceAll('{log}', encodeURIComponent(file));
  return url.replace(/[\s()<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function verdictCell(label: MatrixLabel, run: RunReport, options: MarkdownOptions): string {
  if (label !== 'FAIL') return label;
  const log = logOf(run);
  if (options.consoleLogUrl === undefined || log === undefined) return '**FAIL**';
  const title = `${log.kind} log: ${log.file}`.replace(/["\\]/g, (c) => `\\${c}`);
  return `[**FAIL**](${logLink(options.consoleLogUrl, run, log.file)} "${title}")`;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** The runs that stopped before their checks finished, one list item each, with the error's first line. */
function stoppedRuns(runs: RunReport[], columns: string[], options: MarkdownOptions): string[] {
  return runs.flatMap((run, index) => {
    if (run.error === undefined) return [];
    const [first = ''] = sanitize(run.error).trim().split('\n');
    const log = logOf(run);
    const link =
      options.consoleLogUrl !== undefined && log !== undefined
        ? ` ([${log.kind} log](${logLink(options.consoleLogUrl, run, log.file)}))`
        : '';
    return [`- **${text(columns[index] ?? run.kernel.requested)}** stopped: ${text(first)}${link}`];
  });
}

/**
 * The kernels × checks table in GitHub-flavoured Markdown (a step summary, a pull request comment):
 * the rows of the terminal summary's matrix (src/report/matrix.ts), a failure linked to its run's
 * log when `consoleLogUrl` is given, then the runs that stopped early and the totals line.
 */
export function formatMarkdownMatrix(runs: RunReport[], options: MarkdownOptions = {}): string {
  const { columns, rows } = checkMatrix(runs);
  const out = ['## syscall-lab: kernels × checks', ''];
  if (rows.length === 0) {
    out.push(runs.length === 0 ? 'No run in the reports.' : 'No check ran.');
  } else {
    out.push(row(['check', ...columns.map(text)]), row(['---', ...columns.map(() => ':---:')]));
    for (const { name, cells } of rows) {
      out.push(row([code(name), ...runs.map((run, index) => verdictCell(cells[index] ?? '-', run, options))]));
    }
  }
  const stopped = stoppedRuns(runs, columns, options);
  if (stopped.length > 0) out.push('', ...stopped);
  out.push('', text(totalsLine(runs)), '');
  return out.join('\n');
}
