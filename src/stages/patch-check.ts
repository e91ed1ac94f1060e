import { ExitCode, LabError, withKind } from '../errors.ts';
import { elapsedSeconds } from '../events.ts';
import { buildKeyOf, compilerIdentity, isBuildReady } from '../kernel/build.ts';
import { cache } from '../kernel/cache.ts';
import { scriptBadInput, scriptBadInputCodes, scriptErrorLine } from '../kernel/script-errors.ts';
import { upgradeKernelScript } from '../paths.ts';
import { runTool } from '../spawn.ts';
import type { PlannedRun } from './plan.ts';

/** A planned kernel whose inputs were checked: its source's identity settled, its build keys known. */
export interface CheckedRun extends PlannedRun {
  compiler: string;
  keys: { stock: string; patched: string };
  /** Both builds are in the cache: nothing will be applied to a tree, so there was no dry run. */
  builtAlready: boolean;
  patchCheckSeconds: number;
}

/**
 * The patch check of every kernel, all before the first build: every patch's paths, symlinks
 * and hunks (upgrade-kernel.sh --check-inputs), and where a build is still to be made, the whole
 * series tried on a scratch copy of the files it touches (--check-patches: the compat series,
 * then the user's). A series that does not apply stops the whole matrix as bad input. Needs the
 * sources present (run after the requirements are installed).
 */
export async function checkPatchSeries(plans: PlannedRun[]): Promise<CheckedRun[]> {
  const compiler = await compilerIdentity();
  const checked: CheckedRun[] = [];
  for (const plan of plans) {
    const started = Date.now();
    const { source } = plan;
    const stock = buildKeyOf(source, plan.builds.stock.plan, compiler);
    const patched = buildKeyOf(source, plan.builds.patched.plan, compiler);
    const builtAlready = isBuildReady(stock) && isBuildReady(patched, stock);
    await checkInputs({ ...plan, source }, builtAlready);
    checked.push({
      ...plan,
      source,
      compiler,
      keys: { stock, patched },
      builtAlready,
      patchCheckSeconds: elapsedSeconds(started),
    });
  }
  return checked;
}

/**
 * upgrade-kernel.sh's check of one kernel's series: every patch's paths, symlinks and hunks, and
 * unless the builds are made already (or a dry run asks), the series tried on the source's files.
 */
export async function checkInputs(plan: PlannedRun, builtAlready: boolean): Promise<void> {
  const args = builtAlready
    ? ['--check-inputs', plan.source.version, ...plan.builds.patched.args]
    : [...plan.source.scriptArgs, '--check-patches', ...plan.builds.patched.args, '--work', cache.scratch()];
  const result = await runTool(upgradeKernelScript, args, { reject: false, all: true });
  if (result.exitCode === 0) return;
  const line = scriptErrorLine(result.all);
  if (scriptBadInputCodes.has(result.exitCode ?? 0)) {
    const error = scriptBadInput(line ?? 'the patch series does not apply');
    // Tried on the source (not only read): it does not apply to this commit (`run --bisect`: 125).
    throw builtAlready ? error : withKind(error, 'series-does-not-apply');
  }
  throw new LabError(
    `could not check the patch series: ${result.all.split('\n').slice(-5).join(' ')}`,
    ExitCode.infrastructure,
  );
}
