import type { CheckResult, KernelInfo, PhaseTiming, RunReport } from './model.ts';
import { writeFileAtomic } from './atomic-write.ts';

interface JsonKernel {
  requested: string;
  version: string;
  source: string;
  patches: string[];
  stockRelease?: string;
  patchedRelease?: string;
}

interface JsonRun {
  kernel: JsonKernel;
  backend: string;
  accel: string;
  phases: PhaseTiming[];
  checks: CheckResult[];
  logs: { console: string[]; build: string[] };
  reproduce: string;
  error?: string;
}

// Keys are picked one by one so the file's shape is a stable contract for CI scripts, whatever
// extra properties a RunReport object happens to carry at runtime.
function kernelJson(k: KernelInfo): JsonKernel {
  const out: JsonKernel = {
    requested: k.requested,
    version: k.version,
    source: k.source,
    patches: [...k.patches],
  };
  if (k.stockRelease !== undefined) out.stockRelease = k.stockRelease;
  if (k.patchedRelease !== undefined) out.patchedRelease = k.patchedRelease;
  return out;
}

function checkJson(c: CheckResult): CheckResult {
  const out: CheckResult = {
    name: c.name,
    status: c.status,
    expected: c.expected,
    actual: c.actual,
    details: c.details,
  };
  if (c.subresults !== undefined) {
    out.subresults = c.subresults.map((s) => ({ name: s.name, status: s.status }));
  }
  return out;
}

function runJson(r: RunReport): JsonRun {
  const out: JsonRun = {
    kernel: kernelJson(r.kernel),
    backend: r.backend,
    accel: r.accel,
    phases: r.phases.map((p) => ({ name: p.name, seconds: p.seconds, cached: p.cached })),
    checks: r.checks.map(checkJson),
    logs: { console: [...r.logs.console], build: [...r.logs.build] },
    reproduce: r.reproduce,
  };
  if (r.error !== undefined) out.error = r.error;
  return out;
}

/** The machine-readable report: `{"runs": [...]}`, 2-space indented, newline-terminated. */
export function toJson(runs: RunReport[]): string {
  return `${JSON.stringify({ runs: runs.map(runJson) }, null, 2)}\n`;
}

export async function writeJsonReport(file: string, runs: RunReport[]): Promise<void> {
  await writeFileAtomic(file, toJson(runs));
}
