import type { Emit } from '../events.ts';
import { toJson, writeJsonReport } from '../report/json.ts';
import { toJunit, writeJunitReport } from '../report/junit.ts';
import type { RunReport } from '../report/model.ts';
import { reportOnStdout, toStdout, type ReportTargets } from '../report/targets.ts';

export type { ReportTargets } from '../report/targets.ts';

/**
 * The last stage: the summary, then the JSON and JUnit reports asked for. A report given as `-`
 * goes to stdout, and the summary to stderr, so that a pipe gets the report alone.
 */
export async function writeReports(reports: RunReport[], targets: ReportTargets, emit: Emit): Promise<void> {
  emit({ type: 'summary', reports, ...(reportOnStdout(targets) && { toStderr: true }) });
  if (targets.json === toStdout) emit({ type: 'report-stream', text: toJson(reports) });
  else if (targets.json) await writeJsonReport(targets.json, reports);
  if (targets.junit === toStdout) emit({ type: 'report-stream', text: toJunit(reports) });
  else if (targets.junit) await writeJunitReport(targets.junit, reports);
}

/** Whether any check of the reports failed. */
export function anyFailed(reports: RunReport[]): boolean {
  return reports.some((report) => report.checks.some((check) => check.status === 'fail'));
}
