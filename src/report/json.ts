import type { CheckResult, RunReport } from './model.ts';
import { writeFileAtomic } from './atomic-write.ts';

// The file's shape is a stable contract for CI scripts: each object keeps exactly these keys, in
// this order, whatever extra properties a RunReport object happens to carry at runtime.
const RUN_KEYS = [
  'kernel',
  'backend',
  'accel',
  'phases',
  'checks',
  'conformance',
  'logs',
  'reproduce',
  'error',
] as const;
const KERNEL_KEYS = [
  'requested',
  'version',
  'source',
  'debian',
  'series',
  'regenerated',
  'patches',
  'syscalls',
  'stockRelease',
  'patchedRelease',
  'git',
] as const;
const PHASE_KEYS = ['name', 'seconds', 'cached'] as const;
const CHECK_KEYS = [
  'name',
  'status',
  'expected',
  'actual',
  'details',
  'subresults',
  'started',
  'seconds',
  'cachedFrom',
  'judged',
] as const;
const SUBRESULT_KEYS = ['name', 'status'] as const;
const CONFORMANCE_KEYS = ['name', 'status', 'enforced', 'rule', 'section', 'actual', 'details'] as const;
const LOG_KEYS = ['console', 'build'] as const;

/** The listed keys of `value` that are set, in the list's order. */
function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((key) => value[key] !== undefined).map((key) => [key, value[key]])) as Pick<
    T,
    K
  >;
}

function checkJson(c: CheckResult): CheckResult {
  const out = pick(c, CHECK_KEYS);
  if (c.subresults !== undefined) out.subresults = c.subresults.map((s) => pick(s, SUBRESULT_KEYS));
  return out;
}

function runJson(r: RunReport): RunReport {
  return {
    ...pick(r, RUN_KEYS),
    kernel: pick(r.kernel, KERNEL_KEYS),
    phases: r.phases.map((p) => pick(p, PHASE_KEYS)),
    checks: r.checks.map(checkJson),
    ...(r.conformance && { conformance: r.conformance.map((c) => pick(c, CONFORMANCE_KEYS)) }),
    logs: pick(r.logs, LOG_KEYS),
  };
}

/** The machine-readable report: `{"runs": [...]}`, 2-space indented, newline-terminated. */
export function toJson(runs: RunReport[]): string {
  return `${JSON.stringify({ runs: runs.map(runJson) }, null, 2)}\n`;
}

export async function writeJsonReport(file: string, runs: RunReport[]): Promise<void> {
  await writeFileAtomic(file, toJson(runs));
}
