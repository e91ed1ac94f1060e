import type { CheckResult, RunReport } from './model.ts';
import { sanitize } from './summary.ts';

// `syscall-lab bisect`'s closing lines: the first bad commit and the evidence for it.

export interface BisectCommit {
  sha: string;
  subject: string;
}

/** What a bisection found, as data for the renderer. */
export interface BisectVerdict {
  /** The commits of good..bad, and how many of them were judged (each built once). */
  commits: number;
  judged: number;
  /** Check runs in all, the confirmation's included. */
  runs: number;
  /** The first bad commit (absent: skipped commits hide it among `candidates`). */
  culprit?: BisectCommit;
  candidates: BisectCommit[];
  confirmed: boolean;
  /** Why it is not confirmed: the culprit passed its re-check, or its parent failed its own. */
  unconfirmed?: string;
  /** The culprit's parent, and whether it is --good (taken to pass, not judged). */
  parent?: BisectCommit & { given: boolean };
  /** The culprit's judged failures, and the same checks on its parent: `name: expected X, got Y`. */
  evidence: { culprit: string[]; parent: string[] };
}

/** The verdict's lines: `first bad commit: <sha> <subject>`, then the evidence, then the counts. */
export function formatBisectVerdict(verdict: BisectVerdict): string[] {
  const named = (commit: BisectCommit): string => `${commit.sha} ${sanitize(commit.subject)}`;
  const counts = `bisect: ${verdict.commits} commits, ${verdict.judged} built and judged, ${verdict.runs} check runs`;
  if (!verdict.culprit) {
    return [
      'first bad commit: not found: it is one of these (the others could not be tested):',
      ...verdict.candidates.map((commit) => `  ${named(commit)}`),
      counts,
    ];
  }
  const head = verdict.confirmed
    ? `first bad commit: ${named(verdict.culprit)}`
    : `first bad commit (not confirmed: ${verdict.unconfirmed ?? 'flaky'}): ${named(verdict.culprit)}`;
  const lines = [head, ...verdict.evidence.culprit.map((line) => `  FAIL ${line}`)];
  const parent = verdict.parent;
  if (parent?.given) lines.push(`  parent ${named(parent)}: --good, taken to pass`);
  else if (parent) {
    lines.push(`  parent ${named(parent)}:`);
    lines.push(...verdict.evidence.parent.map((line) => `    ${line}`));
  }
  return [...lines, counts];
}

/**
 * The evidence of one run: its judged failing checks (`name: expected X, got Y`), or the error
 * that stopped it (a patched kernel that did not build); with `names`, those checks whatever their status.
 */
export function evidenceOf(report: RunReport | undefined, names?: string[]): string[] {
  if (!report) return [];
  const shown = (check: CheckResult): string =>
    `${names ? `${check.status.toUpperCase()} ` : ''}${check.name}: expected ${sanitize(check.expected)}, got ${sanitize(check.actual)}`;
  if (names) return report.checks.filter((check) => names.includes(check.name)).map(shown);
  const failing = report.checks.filter((check) => check.status === 'fail' && check.judged !== false).map(shown);
  if (failing.length > 0 || !report.error) return failing;
  return [sanitize(report.error.split('\n')[0] ?? report.error)];
}
