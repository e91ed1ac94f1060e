import type { CheckStatus, ConformanceResult, RunReport } from './model.ts';

// The kernels × checks table as data: the terminal summary (summary.ts) and the Markdown one
// (markdown.ts) lay the same rows out, so the two can never disagree on a verdict.

export const STATUS_LABEL = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const satisfies Record<CheckStatus, string>;

/** A conformance item's word: a finding is FAIL when it fails the run (--conformance fail), else WARN. */
export function conformanceLabel(result: ConformanceResult): 'PASS' | 'FAIL' | 'WARN' | 'N/A' {
  if (result.status === 'pass') return 'PASS';
  if (result.status === 'n/a') return 'N/A';
  return result.enforced ? 'FAIL' : 'WARN';
}

/** One cell: the verdict's word, or `-` where the run has no such check. */
export type MatrixLabel = ReturnType<typeof conformanceLabel> | 'SKIP' | '-';

export interface CheckMatrix {
  /** One heading per run, in the runs' order, distinct even for two runs of one kernel. */
  columns: string[];
  /** Every check and conformance item of any run, in the order they first appear; `cells[i]` is run i's. */
  rows: { name: string; cells: MatrixLabel[] }[];
}

// Two runs of the same version (e.g. kvm and tcg) need distinct column headings.
function columnLabels(runs: RunReport[]): string[] {
  const base = runs.map((r) => r.kernel.requested);
  const detailed = runs.map((r, i) =>
    base.filter((b) => b === base[i]).length > 1 ? `${r.kernel.requested} ${r.backend}/${r.accel}` : (base[i] ?? ''),
  );
  return detailed.map((label, i) => (detailed.filter((d) => d === label).length > 1 ? `${label} #${i + 1}` : label));
}

function verdict(run: RunReport, name: string): MatrixLabel {
  const item = run.conformance?.find((c) => c.name === name);
  if (item) return conformanceLabel(item);
  const check = run.checks.find((c) => c.name === name);
  return check === undefined ? '-' : STATUS_LABEL[check.status];
}

export function checkMatrix(runs: RunReport[]): CheckMatrix {
  const names: string[] = [];
  for (const run of runs) {
    for (const c of [...run.checks, ...(run.conformance ?? [])]) if (!names.includes(c.name)) names.push(c.name);
  }
  return {
    columns: columnLabels(runs),
    rows: names.map((name) => ({ name, cells: runs.map((run) => verdict(run, name)) })),
  };
}
