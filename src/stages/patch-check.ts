import { ExitCode, LabError } from '../errors.ts';
import { elapsedSeconds } from '../events.ts';
import { cache } from '../kernel/cache.ts';
import { scriptBadInput, scriptBadInputCodes, scriptErrorLine } from '../kernel/script-errors.ts';
import { upgradeKernelScript } from '../paths.ts';
import type { PlannedRun } from './plan.ts';
import { runTool } from '../spawn.ts';

/** A planned kernel whose patch series was tried, with the seconds that took. */
export interface CheckedRun extends PlannedRun {
  patchCheckSeconds: number;
}

/**
 * Tries every kernel's patch series on a scratch copy of the files it touches
 * (upgrade-kernel.sh --check-patches: the compat series, then the user's), all before the first
 * build: a series that does not apply stops the whole matrix as bad input. Needs the sources
 * present (run after the requirements are installed).
 */
export async function checkPatchSeries(plans: PlannedRun[]): Promise<CheckedRun[]> {
  const checked: CheckedRun[] = [];
  for (const plan of plans) {
    const started = Date.now();
    await dryRunPatches(plan);
    checked.push({ ...plan, patchCheckSeconds: elapsedSeconds(started) });
  }
  return checked;
}

async function dryRunPatches(plan: PlannedRun): Promise<void> {
  const result = await runTool(
    upgradeKernelScript,
    [...plan.source.scriptArgs, '--check-patches', ...plan.builds.patched.args, '--work', cache.scratch()],
    { reject: false, all: true },
  );
  if (result.exitCode === 0) return;
  const line = scriptErrorLine(result.all);
  if (scriptBadInputCodes.has(result.exitCode ?? 0)) throw scriptBadInput(line ?? 'the patch series does not apply');
  throw new LabError(
    `could not try the patch series: ${result.all.split('\n').slice(-5).join(' ')}`,
    ExitCode.infrastructure,
  );
}
