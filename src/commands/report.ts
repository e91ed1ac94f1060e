import { BadInputError, ExitCode } from '../errors.ts';
import type { Emit } from '../events.ts';
import { readJsonReports } from '../report/read-json.ts';

export interface MergeRequest {
  files: string[];
  /** The kernels × checks table in Markdown instead of the merged JSON report. */
  markdown: boolean;
  /** Markdown only: where a failure's log is, `{kernel}` and `{log}` filled in (src/report/markdown.ts). */
  consoleLogUrl?: string | undefined;
}

/**
 * `syscall-lab report merge A.json B.json ... [--markdown [--console-log-url URL]]`: the runs of
 * every report in the order given, on stdout: as one JSON report, or as the Markdown kernels ×
 * checks table (a CI job's step summary). Its exit code says whether the files were reports, not
 * whether their checks passed: each kernel's own run has given that verdict.
 */
export function reportMergeCommand(request: MergeRequest, emit: Emit): number {
  const { consoleLogUrl } = request;
  if (consoleLogUrl !== undefined) {
    if (!request.markdown) {
      throw new BadInputError('--console-log-url applies to the Markdown table', 'add --markdown, or drop it');
    }
    if (!/^https?:\/\/\S+$/.test(consoleLogUrl)) {
      throw new BadInputError(
        `--console-log-url ${consoleLogUrl} is not an http(s) URL`,
        'give an address such as https://example.org/logs/{kernel}/{log} ({kernel} and {log} are filled in)',
      );
    }
  }
  const reports = readJsonReports(request.files);
  emit({ type: 'merged-reports', reports, format: request.markdown ? 'markdown' : 'json', consoleLogUrl });
  return ExitCode.ok;
}

/**
 * `syscall-lab report annotate A.json ...`: GitHub Actions' `::error` lines for every failure of
 * the reports (the action's last step, so failures show on the run and the commit). Exit 0: the
 * run that wrote the report has failed the job already.
 */
export function reportAnnotateCommand(files: string[], emit: Emit): number {
  emit({ type: 'annotations', reports: readJsonReports(files) });
  return ExitCode.ok;
}
