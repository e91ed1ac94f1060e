import { join } from 'node:path';
import { checkpatchItem, checkpatchScript, runCheckpatch, type Checkpatch } from '../conformance/checkpatch.ts';
import { fromCheckResult, isConformanceResult, itemResult, type ConformanceMode } from '../conformance/checklist.ts';
import { compareLayout, uapiHeaders, type LayoutComparison } from '../conformance/layout.ts';
import { layoutQuestions, registrationItems } from '../conformance/registration-items.ts';
import { sparseItem } from '../conformance/sparse.ts';
import { LabError } from '../errors.ts';
import type { Emit } from '../events.ts';
import { seriesPatches } from '../kernel/patches.ts';
import type { ConformanceResult, RunReport } from '../report/model.ts';
import type { RunFolder } from '../run-folder.ts';
import type { BuiltKernels } from './builds.ts';
import type { CheckedRun } from './patch-check.ts';

/**
 * The static items of adding-syscalls.rst's checklist, after the builds: the registrations and
 * definitions read from the series, sparse's messages (the patched build ran it on the series' C
 * files), and checkpatch on each patch. A checkpatch that cannot be had is a failed item, not a stopped run.
 */
export async function staticConformance(
  plan: CheckedRun,
  built: BuiltKernels,
  mode: ConformanceMode,
  folder: RunFolder,
  findCheckpatch: () => Promise<Checkpatch> = checkpatchScript,
): Promise<ConformanceResult[]> {
  const facts = plan.conformance;
  if (!facts || mode === 'off') return [];
  const series = seriesPatches(plan.patchSet);
  const headers = uapiHeaders(series);
  const layouts = new Map<string, LayoutComparison>();
  for (const type of layoutQuestions(facts))
    layouts.set(type, await compareLayout(type, headers, join(folder.dir, 'layout')));
  const results = [
    ...registrationItems(facts, built.patched.version, mode, layouts),
    sparseItem(built.patched.sparseLog, facts.cFiles, mode),
  ];
  try {
    const checkpatch = await findCheckpatch();
    const findings = await runCheckpatch(checkpatch, series, join(folder.dir, 'checkpatch'));
    results.push(checkpatchItem(checkpatch, findings, mode));
  } catch (error) {
    if (!(error instanceof LabError)) throw error;
    results.push(itemResult('checkpatch', 'fail', `checkpatch.pl could not run: ${error.message}`, '', mode));
  }
  return results;
}

/** Shows each conformance result as it is known (WARN under warn, FAIL under fail). */
export function emitConformance(emit: Emit, scope: string, results: ConformanceResult[]): void {
  for (const result of results) emit({ type: 'conformance', scope, result });
}

/**
 * The check runner's events with the generated runtime items (conformance:<item>:<syscall>) shown
 * as conformance results, so that a warned item reads WARN, not FAIL, while the run goes on.
 */
export function conformanceAware(emit: Emit, mode: ConformanceMode): Emit {
  return (event) => {
    if (!(event.type === 'check' && isConformanceResult(event.result))) emit(event);
    // Under off the runtime check only shows up as not run (a stopped run): nothing to show.
    else if (mode !== 'off')
      emit({ type: 'conformance', scope: event.scope, result: fromCheckResult(event.result, mode) });
  };
}

/**
 * Moves the generated runtime results out of the functional checks, after the static ones. Under
 * off they are dropped: the runtime check is there only as not run, when a stopped run lists the
 * checks it did not get to.
 */
export function separateConformance(report: RunReport, mode: ConformanceMode): void {
  const runtime = report.checks.filter(isConformanceResult);
  report.checks = report.checks.filter((check) => !isConformanceResult(check));
  if (mode === 'off') return;
  report.conformance = [...(report.conformance ?? []), ...runtime.map((check) => fromCheckResult(check, mode))];
}
