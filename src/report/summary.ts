import { checkMatrix, conformanceLabel, STATUS_LABEL } from './matrix.ts';
import type { CheckResult, ConformanceResult, RunReport } from './model.ts';

export { conformanceLabel } from './matrix.ts';

export interface StatusCounts {
  passed: number;
  failed: number;
  skipped: number;
}

const DETAIL_LINES = 15;
const CELL_WIDTH = 60;
const DETAIL_INDENT = '      ';

/** After a check's name, in the summary and on its live line: `--check` named others, so it does not judge the run. */
export function notJudgedMark(check: CheckResult): string {
  return check.judged === false ? ' (not judged)' : '';
}

/** Counts top-level checks over every run (sub-results are evidence for their check, not checks). */
export function countStatuses(runs: RunReport[]): StatusCounts {
  const counts: StatusCounts = { passed: 0, failed: 0, skipped: 0 };
  for (const run of runs) {
    for (const check of run.checks) {
      if (check.status === 'pass') counts.passed++;
      else if (check.status === 'fail') counts.failed++;
      else counts.skipped++;
    }
    // A run that stopped early failed as a whole (JUnit has it as the "run" test case too):
    // its closing line must never read "0 failed".
    if (run.error) counts.failed++;
  }
  return counts;
}

// Guest consoles emit \r, ANSI escapes and stray control bytes; echoing them raw would garble the
// terminal that shows the report (or a Markdown table, an annotation).
export function sanitize(text: string): string {
  return (
    text
      .replace(/\r\n?/g, '\n')
      // eslint-disable-next-line no-control-regex -- the escapes and control bytes are what it removes
      .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
      // eslint-disable-next-line no-control-regex -- the escapes and control bytes are what it removes
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
  );
}

// A newline or tab inside a table cell would break the column alignment.
function cell(text: string): string {
  const flat = sanitize(text).replace(/\s+/g, ' ').trim();
  return flat.length > CELL_WIDTH ? `${flat.slice(0, CELL_WIDTH - 3)}...` : flat;
}

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows.map((row) =>
    row
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

function detailLines(check: CheckResult): string[] {
  const out: string[] = [];
  for (const sub of check.subresults ?? []) {
    if (sub.status !== 'pass') out.push(`${STATUS_LABEL[sub.status]} ${cell(sub.name)}`);
  }
  const lines = sanitize(check.details).replace(/\s+$/, '').split('\n');
  if (lines.length > 1 || lines[0] !== '') {
    out.push(...lines.slice(0, DETAIL_LINES));
    if (lines.length > DETAIL_LINES) {
      out.push(`... ${lines.length - DETAIL_LINES} more lines (full text in the JSON report)`);
    }
  }
  return out.map((l) => `${DETAIL_INDENT}${l}`.trimEnd());
}

function header(run: RunReport): string {
  const k = run.kernel;
  const releases: string[] = [];
  if (k.stockRelease !== undefined) releases.push(`stock ${k.stockRelease}`);
  if (k.patchedRelease !== undefined) releases.push(`patched ${k.patchedRelease}`);
  const uname = releases.length > 0 ? `, uname -r: ${releases.join(', ')}` : '';
  const debian = k.debian ? `, Debian ${k.debian.package} ${k.debian.version}` : '';
  const commit = k.git?.commit ? `, commit ${k.git.commit.slice(0, 12)} "${k.git.subject ?? ''}"` : '';
  return `== kernel ${k.requested} (version ${k.version}${debian}${commit}${uname}) | backend ${run.backend} | accel ${run.accel}`;
}

function phasesLine(run: RunReport): string {
  if (run.phases.length === 0) return 'phases: none';
  const parts = run.phases.map((p) => `${p.name} ${p.seconds.toFixed(1)}s${p.cached ? ' (cached)' : ''}`);
  return `phases: ${parts.join(', ')}`;
}

function formatRun(run: RunReport): string[] {
  const out = [header(run)];
  if (run.checks.length === 0) {
    out.push('  (no checks ran)');
  } else {
    const rows = [
      ['STATUS', 'CHECK', 'EXPECTED', 'ACTUAL'],
      ...run.checks.map((c) => [
        STATUS_LABEL[c.status],
        // A remembered result says so where the eye reads the verdict, not in a cut ACTUAL cell.
        cell(`${c.name}${c.cachedFrom ? ' (cached)' : ''}${notJudgedMark(c)}`),
        cell(c.expected),
        cell(c.actual),
      ]),
    ];
    const [head, ...body] = table(rows);
    out.push(`  ${head ?? ''}`);
    body.forEach((line, i) => {
      out.push(`  ${line}`);
      const check = run.checks[i];
      if (check !== undefined && check.status !== 'pass') out.push(...detailLines(check));
    });
  }
  if (run.conformance && run.conformance.length > 0) out.push(...conformanceBlock(run.conformance));
  out.push(phasesLine(run));
  out.push(`console log: ${run.logs.console.length > 0 ? run.logs.console.join(', ') : '-'}`);
  out.push(`build log: ${run.logs.build.length > 0 ? run.logs.build.join(', ') : '-'}`);
  out.push(`reproduce: ${run.reproduce}`);
  if (run.error !== undefined) {
    const [first = '', ...rest] = sanitize(run.error).replace(/\s+$/, '').split('\n');
    out.push(`error: ${first}`, ...rest.map((l) => `  ${l}`));
  }
  return out;
}

/** The checklist apart from the functional checks: its mode, then one row per item, findings under their row. */
function conformanceBlock(items: ConformanceResult[]): string[] {
  const mode = items.some((item) => item.enforced) ? 'fail' : 'warn';
  const rows = table([
    ['STATUS', 'ITEM', 'RESULT'],
    ...items.map((i) => [conformanceLabel(i), cell(i.name), cell(i.actual)]),
  ]);
  const out = [`  conformance (adding-syscalls.rst checklist, --conformance ${mode}):`, `  ${rows[0] ?? ''}`];
  items.forEach((item, index) => {
    out.push(`  ${rows[index + 1] ?? ''}`);
    if (item.status === 'fail') {
      const why = {
        name: item.name,
        status: 'fail' as const,
        expected: '',
        actual: '',
        details: `${item.actual}\nrule: ${item.rule} (${item.section})\n${item.details}`,
      };
      out.push(...detailLines(why));
    }
  });
  return out;
}

/** How the checklist went over every run: "conformance: 5 passed, 1 warned, 1 n/a". */
function conformanceTotals(runs: RunReport[]): string | undefined {
  const items = runs.flatMap((run) => run.conformance ?? []);
  if (items.length === 0) return undefined;
  const count = (label: ReturnType<typeof conformanceLabel>): number =>
    items.filter((i) => conformanceLabel(i) === label).length;
  const parts = [`${count('PASS')} passed`];
  if (count('FAIL') > 0) parts.push(`${count('FAIL')} failed`);
  if (count('WARN') > 0) parts.push(`${count('WARN')} warned`);
  parts.push(`${count('N/A')} n/a`);
  return `conformance: ${parts.join(', ')}`;
}

function matrix(runs: RunReport[]): string[] {
  const { columns, rows } = checkMatrix(runs);
  const lines = table([['CHECK', ...columns.map(cell)], ...rows.map((row) => [cell(row.name), ...row.cells])]);
  return ['== matrix', ...lines.map((l) => `  ${l}`)];
}

/** The terminal report: one block per run, a check matrix when comparing kernels, then the totals. */
export function formatSummary(runs: RunReport[]): string {
  const blocks = runs.map((run) => formatRun(run).join('\n'));
  if (runs.length > 1) blocks.push(matrix(runs).join('\n'));
  blocks.push(totalsLine(runs));
  return `${blocks.join('\n\n')}\n`;
}

/** The closing line of every summary: "12 passed, 0 failed, 0 skipped; conformance: 9 passed, 2 n/a". */
export function totalsLine(runs: RunReport[]): string {
  const { passed, failed, skipped } = countStatuses(runs);
  const conformance = conformanceTotals(runs);
  return `${passed} passed, ${failed} failed, ${skipped} skipped${conformance ? `; ${conformance}` : ''}`;
}

/**
 * One line per verdict (`watch`): PASS or FAIL with the failing checks named, or the error that
 * stopped the run, and the log to read next.
 */
export function formatVerdictLine(label: string, run: RunReport): string {
  const { passed, failed, skipped } = countStatuses([run]);
  // A conformance finding fails the verdict only when enforced (--conformance fail).
  const failing = [
    ...run.checks.filter((check) => check.status === 'fail'),
    ...(run.conformance ?? []).filter((item) => item.status === 'fail' && item.enforced),
  ].map((check) => check.name);
  const consoleLog = run.logs.console.at(-1);
  const log = consoleLog ? ` · console log: ${consoleLog}` : ` · build log: ${run.logs.build.at(-1) ?? '-'}`;
  if (run.error !== undefined) {
    const [first = ''] = sanitize(run.error).split('\n');
    return `${label}: ERROR ${first}${log}\n`;
  }
  const verdict = failing.length > 0 ? `FAIL ${failing.join(', ')}` : 'PASS';
  const release = run.kernel.patchedRelease ?? run.kernel.version;
  return `${label}: ${verdict} (${release}: ${passed} passed, ${failed} failed, ${skipped} skipped)${log}\n`;
}

/** `run --each`'s closing line: the first commit whose build or checks failed, or none of those judged. */
export function formatFirstFailingCommit(verdict: {
  commit?: { sha: string; subject: string };
  judged: number;
  commits: number;
}): string {
  if (verdict.commit) {
    return `first failing commit: ${verdict.commit.sha.slice(0, 12)} ${sanitize(verdict.commit.subject)}`;
  }
  const unjudged = verdict.commits - verdict.judged;
  const note = unjudged > 0 ? `; ${unjudged} stopped early or did not run: see their errors` : '';
  return `first failing commit: none (${verdict.judged} of ${verdict.commits} commits judged${note})`;
}
