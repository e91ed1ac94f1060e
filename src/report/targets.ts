import { BadInputError } from '../errors.ts';

/** Where the reports go besides the summary: a file each, or `-` for stdout. */
export interface ReportTargets {
  json?: string | undefined;
  junit?: string | undefined;
}

/** The name that sends a report to stdout (`--json -`, `--junit -`) instead of a file. */
export const toStdout = '-';

/** Whether a report goes to stdout, which then carries it alone (the summary moves to stderr). */
export function reportOnStdout(targets: ReportTargets): boolean {
  return targets.json === toStdout || targets.junit === toStdout;
}

/** Bad input when both reports would go to stdout: one stream cannot carry two formats. */
export function assertOneReportOnStdout(targets: ReportTargets): void {
  if (targets.json === toStdout && targets.junit === toStdout) {
    throw new BadInputError(
      '--json - and --junit - both ask for stdout, which can carry one report',
      'send one of them to a file (--json - --junit report.xml, or --json report.json --junit -)',
    );
  }
}
