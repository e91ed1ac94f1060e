import { existsSync, readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { BadInputError } from '../errors.ts';
import type { CheckResult, ConformanceResult, KernelInfo, RunReport } from './model.ts';

// The JSON report read back (`report merge`, `report annotate`): the one schema of what toJson
// (json.ts) writes. Typed against the model, so a field added to RunReport without being added
// here fails the typecheck instead of being dropped silently.

const check: z.ZodType<CheckResult> = z.object({
  name: z.string(),
  status: z.enum(['pass', 'fail', 'skip']),
  expected: z.string(),
  actual: z.string(),
  details: z.string(),
  subresults: z.array(z.object({ name: z.string(), status: z.enum(['pass', 'fail', 'skip']) })).optional(),
  started: z.string().optional(),
  seconds: z.number().optional(),
  cachedFrom: z.object({ run: z.string(), date: z.string() }).optional(),
  judged: z.literal(false).optional(),
});

const conformance: z.ZodType<ConformanceResult> = z.object({
  name: z.string(),
  status: z.enum(['pass', 'fail', 'n/a']),
  enforced: z.boolean(),
  rule: z.string(),
  section: z.string(),
  actual: z.string(),
  details: z.string(),
});

const kernel: z.ZodType<KernelInfo> = z.object({
  requested: z.string(),
  version: z.string(),
  source: z.string(),
  debian: z.object({ package: z.string(), version: z.string() }).optional(),
  series: z.string().optional(),
  regenerated: z.boolean().optional(),
  patches: z.array(z.string()),
  syscalls: z.array(z.object({ name: z.string(), number: z.number() })).optional(),
  stockRelease: z.string().optional(),
  patchedRelease: z.string().optional(),
});

const run: z.ZodType<RunReport> = z.object({
  kernel,
  backend: z.string(),
  accel: z.string(),
  phases: z.array(z.object({ name: z.string(), seconds: z.number(), cached: z.boolean() })),
  checks: z.array(check),
  conformance: z.array(conformance).optional(),
  logs: z.object({ console: z.array(z.string()), build: z.array(z.string()) }),
  reproduce: z.string(),
  error: z.string().optional(),
});

const jsonReport = z.object({ runs: z.array(run) });

const fix = 'give the files `syscall-lab run --json FILE` writes ({"runs": [...]})';

/** The runs of one JSON report; a file that is not one is bad input (exit 2) naming the file and what is wrong. */
export function readJsonReport(file: string): RunReport[] {
  if (!existsSync(file) || !statSync(file).isFile()) throw new BadInputError(`${file} does not exist`, fix);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new BadInputError(`${file} is not JSON (${error instanceof Error ? error.message : String(error)})`, fix);
  }
  const parsed = jsonReport.safeParse(value);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const where = issue?.path.length ? issue.path.join('.') : 'the top level';
    throw new BadInputError(`${file} is not a syscall-lab JSON report: ${where}: ${issue?.message ?? 'invalid'}`, fix);
  }
  return parsed.data.runs;
}

/** The runs of every file, in the order given: several reports merged. */
export function readJsonReports(files: string[]): RunReport[] {
  return files.flatMap(readJsonReport);
}
