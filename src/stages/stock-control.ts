import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cache } from '../kernel/cache.ts';
import type { SyscallEntry } from '../kernel/syscalls.ts';
import { projectRoot } from '../paths.ts';
import type { CheckResult, RememberedResults } from '../report/model.ts';

/**
 * The stock kernel's negative control, remembered: the stock build of a source and config is
 * the same kernel every time, so once it has shown the patch set's numbers give ENOSYS (and its
 * console was clean), a later run with the same stock build, numbers, probe and harness reuses
 * that result instead of booting it again. Reports mark it `cached`, with the run and date it
 * came from; the patched kernel's checks always run.
 */
export interface StockControl extends RememberedResults {
  /** `uname -r` of the stock kernel that ran it. */
  release: string;
}

const harnessVersion = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string })
  .version;
const probeHash = createHash('sha256')
  .update(readFileSync(join(projectRoot, 'src', 'checks', 'guest', 'probe.c')))
  .update(readFileSync(join(projectRoot, 'src', 'checks', 'guest', 'bad-pointers.h')))
  .digest('hex');

export function stockControlKey(stockBuildKey: string, added: SyscallEntry[]): string {
  return createHash('sha256')
    .update(JSON.stringify({ stockBuildKey, numbers: added.map((entry) => entry.number), probeHash, harnessVersion }))
    .digest('hex')
    .slice(0, 24);
}

const file = (key: string): string => join(cache.controls(), `${key}.json`);

export function readStockControl(key: string): StockControl | undefined {
  try {
    return JSON.parse(readFileSync(file(key), 'utf8')) as StockControl;
  } catch {
    return undefined;
  }
}

/** Remembers a control that passed, with a clean console; a failed one is run again next time. */
export function saveStockControl(key: string, control: StockControl): void {
  if (control.results.length === 0 || control.results.some((result) => result.status !== 'pass')) return;
  mkdirSync(cache.controls(), { recursive: true });
  const part = `${file(key)}.${process.pid}.part`;
  writeFileSync(part, JSON.stringify(control, null, 2));
  renameSync(part, file(key));
}

/** Remembered results as this run reports them: marked cached, with where they came from. */
export function cachedResults(remembered: RememberedResults): CheckResult[] {
  return remembered.results.map((result) => ({
    ...result,
    actual: `${result.actual} (cached from ${remembered.date})`,
    details: `${result.details}${result.details ? '\n' : ''}cached: ran in ${remembered.run} on ${remembered.date}`,
    cachedFrom: { run: remembered.run, date: remembered.date },
    seconds: 0,
  }));
}
