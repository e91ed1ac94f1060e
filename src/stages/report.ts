import type { Emit } from '../events.ts';
import { writeJsonReport } from '../report/json.ts';
import { writeJunitReport } from '../report/junit.ts';
import type { RunReport } from '../report/model.ts';

/** Where the reports go besides the summary. */
export interface ReportTargets {
  json?: string | undefined;
  junit?: string | undefined;
}

/** The last stage: the summary (rendered on stdout), then the JSON and JUnit files asked for. */
export async function writeReports(reports: RunReport[], targets: ReportTargets, emit: Emit): Promise<void> {
  emit({ type: 'summary', reports });
  if (targets.json) await writeJsonReport(targets.json, reports);
  if (targets.junit) await writeJunitReport(targets.junit, reports);
}

/** Whether any check of the reports failed. */
export function anyFailed(reports: RunReport[]): boolean {
  return reports.some((report) => report.checks.some((check) => check.status === 'fail'));
}
