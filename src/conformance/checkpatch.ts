import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfrastructureError } from '../errors.ts';
import { cache, publish } from '../kernel/cache.ts';
import type { SeriesPatch } from '../kernel/registration/port.ts';
import { fetchSource, resolveSource, tarballTop } from '../kernel/source.ts';
import { writeFileAtomic } from '../report/atomic-write.ts';
import type { ConformanceResult } from '../report/model.ts';
import { runTool } from '../spawn.ts';
import { itemResult, type ConformanceMode } from './checklist.ts';

/**
 * One modern checkpatch.pl for every kernel: the 6.1 tree's (3.9's dies under Debian 12's perl),
 * taken from the same offline source the 6.1 runs build.
 */
const checkpatchKernel = '6.1';

export interface Checkpatch {
  script: string;
  /** What the report names: the script and the source it came from. */
  identity: string;
}

export interface CheckpatchFinding {
  patch: string;
  line: number;
  level: 'ERROR' | 'WARNING' | 'CHECK';
  type: string;
  message: string;
}

/** checkpatch.pl, spelling.txt and const_structs.checkpatch out of the 6.1 source, kept in the cache. */
export async function checkpatchScript(): Promise<Checkpatch> {
  const source = await fetchSource(await resolveSource(checkpatchKernel));
  if (!source.path) throw new InfrastructureError(`the Linux ${checkpatchKernel} source has no local tarball`);
  const debian = source.debian?.version ? ` (Debian ${source.debian.package} ${source.debian.version})` : '';
  const identity = `scripts/checkpatch.pl of Linux ${source.version}${debian}`;
  const folder = join(cache.conformance(), `checkpatch-${source.identity.replace(/^sha256:/, '').slice(0, 16)}`);
  const script = join(folder, 'checkpatch.pl');
  if (existsSync(script)) return { script, identity };
  const top = await tarballTop(source.path);
  const part = `${folder}.part-${process.pid}`;
  mkdirSync(part, { recursive: true });
  const members = ['checkpatch.pl', 'spelling.txt', 'const_structs.checkpatch'].map((name) => `${top}/scripts/${name}`);
  const extracted = await runTool('tar', ['-xf', source.path, '-C', part, '--strip-components=2', ...members], {
    reject: false,
  });
  if (extracted.exitCode !== 0)
    throw new InfrastructureError(
      `could not take checkpatch.pl out of ${source.path}: ${extracted.stderr.trim()}`,
      'run `syscall-lab clean` and run again: the tarball is fetched anew',
    );
  publish(part, folder);
  return { script, identity };
}

/** `--terse --show-types` lines: "FILE:LINE: LEVEL:TYPE: message". */
export function parseCheckpatch(patch: string, output: string): CheckpatchFinding[] {
  const findings: CheckpatchFinding[] = [];
  for (const line of output.split('\n')) {
    const match = /^.*?:(\d+): (ERROR|WARNING|CHECK):(\w+): (.*)$/.exec(line);
    if (!match) continue;
    const [, at = '0', level = 'CHECK', type = '', message = ''] = match;
    findings.push({ patch, line: Number(at), level: level as CheckpatchFinding['level'], type, message });
  }
  return findings;
}

/** checkpatch on each patch of the series, remembered by the patches' texts and the script's identity. */
export async function runCheckpatch(
  checkpatch: Checkpatch,
  series: SeriesPatch[],
  scratch: string,
): Promise<CheckpatchFinding[]> {
  const key = createHash('sha256')
    .update(JSON.stringify({ identity: checkpatch.identity, series }))
    .digest('hex');
  const remembered = join(cache.conformance(), 'checkpatch-results', `${key.slice(0, 24)}.json`);
  if (existsSync(remembered)) return JSON.parse(readFileSync(remembered, 'utf8')) as CheckpatchFinding[];
  const findings: CheckpatchFinding[] = [];
  mkdirSync(scratch, { recursive: true });
  for (const patch of series) {
    const file = join(scratch, patch.name);
    writeFileSync(file, patch.text);
    // Exit 1 means findings; only a script that printed nothing it could judge is a failure.
    const result = await runTool(
      'perl',
      [checkpatch.script, '--strict', '--no-tree', '--no-color', '--terse', '--show-types', '--no-summary', file],
      { reject: false },
    );
    if (result.exitCode !== 0 && result.exitCode !== 1)
      throw new InfrastructureError(`${checkpatch.identity} failed on ${patch.name}: ${result.stderr.trim()}`);
    findings.push(...parseCheckpatch(patch.name, result.stdout));
  }
  mkdirSync(join(remembered, '..'), { recursive: true });
  await writeFileAtomic(remembered, JSON.stringify(findings));
  return findings;
}

/** Errors are findings; warnings and checks are shown. */
export function checkpatchItem(
  checkpatch: Checkpatch,
  findings: CheckpatchFinding[],
  mode: ConformanceMode,
): ConformanceResult {
  const errors = findings.filter((finding) => finding.level === 'ERROR');
  const shown = findings.map((f) => `${f.patch}:${f.line}: ${f.level}:${f.type}: ${f.message}`).join('\n');
  const counts = `${errors.length} errors, ${findings.length - errors.length} warnings and checks`;
  return itemResult(
    'checkpatch',
    errors.length === 0 ? 'pass' : 'fail',
    errors.length === 0
      ? `${counts} (${checkpatch.identity})`
      : `${errors.map((e) => `${e.patch}: ${e.type}`).join(', ')} (${counts}; ${checkpatch.identity})`,
    shown,
    mode,
  );
}
