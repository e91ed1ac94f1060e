import type { Options } from '../config.ts';
import { ensureRequirements } from '../doctor.ts';
import type { Emit } from '../events.ts';
import { cache } from '../kernel/cache.ts';
import { scratchOwner } from '../kernel/scratch.ts';
import { reapLeftovers } from '../reaper.ts';
import { reapVagrantLeftovers } from '../vm/vagrant-host.ts';
import { backendOf } from './machine.ts';
import { checkPatchSeries, type CheckedRun } from './patch-check.ts';
import { planRuns } from './plan.ts';

/**
 * What every command that builds does first: clear what crashed runs left, plan every kernel
 * (its source fetched), install what the host lacks, check the backend's host, then try every
 * patch series. Bad input stops it before anything is built.
 */
export async function prepareRuns(options: Options, emit: Emit): Promise<CheckedRun[]> {
  reapEarlierRuns(emit);
  const plans = await planRuns(options);
  await ensureRequirements(emit);
  await backendOf(options).checkHost?.(options);
  return checkPatchSeries(plans);
}

/** Kills what crashed or killed earlier runs left (VMs, builds) and removes their scratch folders. */
export function reapEarlierRuns(emit: Emit): void {
  const reaped = [
    ...reapLeftovers(cache.runs(), () => false),
    ...reapVagrantLeftovers(cache.runs(), false),
    ...reapLeftovers(cache.scratch(), () => true, scratchOwner),
  ];
  for (const line of reaped) emit({ type: 'info', text: `reaped ${line}` });
}
