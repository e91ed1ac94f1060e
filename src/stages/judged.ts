import { allChecks } from '../checks/index.ts';
import { BadInputError } from '../errors.ts';
import type { Emit } from '../events.ts';
import type { CheckResult, RunReport } from '../report/model.ts';

// `--check NAME` (repeatable): only the named checks judge the run (its exit code, a bisection's
// verdict); every other check still runs and is reported, marked `judged: false`.

/**
 * The names --check knows: every check's, with the families whose results carry a part after a
 * colon (`userland:<file>`, `conformance:<item>:<syscall>`, `kernel-console:<stage>`) by their first part.
 */
export function checkFamilies(): string[] {
  const names = [...allChecks.map((check) => check.name.split(':')[0] ?? check.name), 'kernel-console'];
  return [...new Set(names)];
}

/**
 * Refuses a --check that no check answers to (bad input, the known names listed). A name is a
 * check's (`enosys-control`), a family (`userland`: all its results) or one result of a family
 * (`userland:taskcount_sane.c`, `kernel-console:patched`).
 */
export function checkJudgedNames(names: readonly string[]): void {
  const families = checkFamilies();
  const unknown = names.filter((name) => !families.some((family) => name === family || name.startsWith(`${family}:`)));
  if (unknown.length > 0) {
    throw new BadInputError(
      `--check ${unknown.join(', ')}: no such check`,
      `give one of ${families.join(', ')} (a family such as userland judges all its results; userland:<file> one of them)`,
    );
  }
}

/** Whether --check's names judge this result (no --check: every result does). */
export function isJudged(resultName: string, names: readonly string[] | undefined): boolean {
  if (names === undefined || names.length === 0) return true;
  return names.some((name) => resultName === name || resultName.startsWith(`${name}:`));
}

/**
 * Marks the results --check does not judge: a check `judged: false` (its status kept, shown as
 * "(not judged)"); a conformance item no longer enforced (shown, never failing the run).
 */
export function markNotJudged(report: RunReport, names: readonly string[] | undefined): void {
  if (names === undefined || names.length === 0) return;
  for (const check of report.checks) if (!isJudged(check.name, names)) check.judged = false;
  for (const item of report.conformance ?? []) if (!isJudged(item.name, names)) item.enforced = false;
}

/**
 * The run's events with the same marks as its report, so that a live line says what the summary
 * will: a check --check does not judge `judged: false`, a conformance item not named not enforced.
 * The event gets a marked copy: the result itself is marked once, by markNotJudged at the end
 * (a stock control remembered or a kept VM's results carry no run's --check).
 */
export function judgedAware(emit: Emit, names: readonly string[] | undefined): Emit {
  if (names === undefined || names.length === 0) return emit;
  return (event) => {
    if (event.type === 'check' && !isJudged(event.result.name, names))
      emit({ ...event, result: { ...event.result, judged: false } });
    else if (event.type === 'conformance' && !isJudged(event.result.name, names))
      emit({ ...event, result: { ...event.result, enforced: false } });
    else emit(event);
  };
}

/** The checks that failed and judge the run. */
export function judgedFailures(checks: readonly CheckResult[]): CheckResult[] {
  return checks.filter((check) => check.status === 'fail' && check.judged !== false);
}
