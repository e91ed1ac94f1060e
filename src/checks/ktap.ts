import type { CheckStatus, SubResult } from '../report/model.ts';

/** One top-level result line: "ok 1 - name", "not ok 2 name # SKIP why". */
export interface KtapResult {
  number: number | null;
  name: string;
  ok: boolean;
  directive: 'SKIP' | 'TODO' | null;
  /** What follows "#": the directive's reason, or a diagnostic. */
  comment: string;
  /** SKIP, or a failing TODO: skip; otherwise ok passes and not ok fails. */
  status: CheckStatus;
}

/** What a program's output says as (K)TAP, top level only. */
export interface KtapDocument {
  /** "TAP version 13", "KTAP version 1", or null. */
  version: string | null;
  /** "1..N" ("1..0 # SKIP why": count 0 with the reason). */
  plan: { count: number; skip: string | null } | null;
  results: KtapResult[];
  /** "Bail out! reason" at the top level. */
  bailOut: string | null;
}

const versionLine = /^(K?TAP version \d+)\s*$/;
const planLine = /^1\.\.(\d+)\s*(?:#\s*(.*?))?\s*$/;
const bailOutLine = /^Bail out!\s*(.*?)\s*$/;
// "ok", "not ok", an optional number, an optional "- ", a description (an escaped \# stays in it), "# comment".
const resultLine = /^(not ok|ok)(?:\s+(\d+))?(?=\s|$)\s*(?:-\s*)?((?:[^#\\]|\\.)*?)\s*(?:#\s*(.*?))?\s*$/i;

const indentOf = (line: string): number => /^\s*/.exec(line)?.[0].length ?? 0;
const isTapLine = (text: string): boolean =>
  [versionLine, planLine, bailOutLine, resultLine].some((pattern) => pattern.test(text));

function parseResult(match: RegExpExecArray): KtapResult {
  const [, verdict = '', number, description = '', comment = ''] = match;
  const ok = verdict.toLowerCase() === 'ok';
  const word = /^(SKIP|TODO)\S*/i.exec(comment)?.[1]?.toUpperCase();
  const directive = word === 'SKIP' || word === 'TODO' ? word : null;
  // TAP: a SKIP is not run; a failing TODO is expected to fail, so neither counts as a failure.
  const status: CheckStatus = directive === 'SKIP' || (directive === 'TODO' && !ok) ? 'skip' : ok ? 'pass' : 'fail';
  const name = description.replaceAll('\\#', '#');
  return { number: number === undefined ? null : Number(number), name, ok, directive, comment, status };
}

/**
 * Reads (K)TAP: the top level is the least indented (K)TAP line; deeper lines (indented subtests,
 * a nested KTAP block after "# Subtest:") are not top-level results. Diagnostics ("# ...") and
 * prose are ignored.
 */
export function parseKtap(output: string): KtapDocument {
  const lines = output.split('\n').map((line) => line.replace(/\r$/, ''));
  const tapLines = lines.filter((line) => isTapLine(line.trim()));
  const top = Math.min(...tapLines.map(indentOf));
  const document: KtapDocument = { version: null, plan: null, results: [], bailOut: null };
  for (const line of tapLines) {
    if (indentOf(line) !== top) continue;
    const text = line.trim();
    const version = versionLine.exec(text);
    const plan = planLine.exec(text);
    const bailOut = bailOutLine.exec(text);
    const result = resultLine.exec(text);
    if (version) document.version ??= version[1] ?? null;
    else if (plan && !document.plan) {
      const skip = /^SKIP\S*\s*(.*)$/i.exec(plan[2] ?? '');
      document.plan = { count: Number(plan[1]), skip: skip ? skip[1] || 'skipped' : null };
    } else if (bailOut) document.bailOut ??= bailOut[1] || 'no reason given';
    else if (result) document.results.push(parseResult(result));
  }
  return document;
}

/** The output counts as (K)TAP when it has a version line or a plan. */
export function isTap(document: KtapDocument): boolean {
  return document.version !== null || document.plan !== null;
}

/** The top-level results as the report's sub-results. */
export function subresultsOf(document: KtapDocument): SubResult[] {
  return document.results.map((r, i) => ({ name: r.name || `test ${r.number ?? i + 1}`, status: r.status }));
}

/** kselftest's KSFT_SKIP. */
export const ksftSkip = 4;

export interface ProgramVerdict {
  status: CheckStatus;
  /** What the program did, for the report's ACTUAL column. */
  actual: string;
}

const label = (r: KtapResult): string =>
  `${r.ok ? 'ok' : 'not ok'}${r.number === null ? '' : ` ${r.number}`}${r.name ? ` - ${r.name}` : ''}`;

/**
 * A userland program's verdict from its output and exit code. Without (K)TAP: exit 0 passes,
 * anything else fails, and so does any "not ok". With (K)TAP: a "not ok" (without SKIP/TODO), a
 * bail-out or a count of results other than the plan fails whatever the exit code; then any exit
 * code but 0 and 4 fails; exit 4 (KSFT_SKIP), "1..0 # SKIP why" or nothing but skips is a skip.
 */
export function judgeProgram(document: KtapDocument, exitCode: number | null): ProgramVerdict {
  const exit = `exit ${exitCode ?? 'killed'}`;
  const { results, plan } = document;
  const failed = results.filter((r) => r.status === 'fail');
  if (!isTap(document)) {
    const counts = results.length ? `, ${results.length - failed.length}/${results.length} subtests ok` : '';
    return { status: exitCode === 0 && failed.length === 0 ? 'pass' : 'fail', actual: `${exit}${counts}` };
  }
  const skips = results.filter((r) => r.status === 'skip');
  const passed = results.length - failed.length - skips.length;
  const total = plan && plan.count > 0 ? plan.count : results.length;
  const tally = `${exit}, ${passed}/${total} ok${skips.length ? `, ${skips.length} skipped` : ''}`;
  if (failed.length) return { status: 'fail', actual: `${tally}; ${failed.map(label).join('; ')}` };
  if (document.bailOut !== null) return { status: 'fail', actual: `${tally}; Bail out! ${document.bailOut}` };
  if (plan && plan.count > 0 && results.length !== plan.count)
    return { status: 'fail', actual: `${exit}; ${results.length} results, ${plan.count} planned` };
  if (exitCode !== 0 && exitCode !== ksftSkip) return { status: 'fail', actual: tally };
  const allSkipped = results.length > 0 && passed === 0;
  if (exitCode === ksftSkip || plan?.count === 0 || allSkipped) {
    const reasons = [
      plan?.count === 0 ? (plan.skip ?? 'no tests planned (1..0)') : '',
      ...(allSkipped ? skips.map((r) => r.comment.replace(/^(SKIP|TODO)\S*\s*/i, '') || (r.directive ?? 'skip')) : []),
      exitCode === ksftSkip ? `exit ${ksftSkip} (KSFT_SKIP)` : '',
    ].filter(Boolean);
    return { status: 'skip', actual: `skipped: ${[...new Set(reasons)].join('; ')}` };
  }
  return { status: 'pass', actual: tally };
}
