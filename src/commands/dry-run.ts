import type { Options } from '../config.ts';
import { checkRequirements, describeMissing, installLine, packagesOf } from '../doctor.ts';
import { BadInputError, ExitCode, InfrastructureError } from '../errors.ts';
import type { Emit } from '../events.ts';
import { compilerIdentity } from '../kernel/build.ts';
import { locateSource, type LocatedSource } from '../kernel/cached-source.ts';
import { kernelPlanLines, type DryRunCommand } from '../stages/dry-run.ts';
import { checkInputs } from '../stages/patch-check.ts';
import { planRuns } from '../stages/plan.ts';
import { chooseAccel } from '../vm/accel.ts';

/**
 * `run|build|boot --dry-run`: the plan, and nothing done. Every input is checked as a run checks
 * it (bad input: exit 2), the sources are looked for where a fetch leaves them but not fetched,
 * upgrade-kernel.sh is asked only what it reads (--print-plan, --check-inputs), and the host's
 * tools are looked up, not installed (one missing: exit 3, after the plan). Nothing is
 * installed, downloaded, built or booted, and no earlier run's leftovers are reaped.
 */
export async function dryRunCommand(
  options: Options,
  command: DryRunCommand,
  emit: Emit,
  bootWhich?: 'stock' | 'patched',
): Promise<number> {
  const located = new Map<string, LocatedSource>();
  const plans = await planRuns(options, async (source) => {
    const found = await locateSource(source);
    located.set(source.requested, found);
    return found.source;
  });
  if (command === 'boot' && plans.length !== 1)
    throw new BadInputError('boot takes one --kernel', 'give a single --kernel');
  // The patches' paths, symlinks and hunks (reads the series only); trying them on the source is the run's.
  for (const plan of plans) await checkInputs(plan, true);
  const statuses = await checkRequirements();
  const missing = statuses.filter((status) => !status.present && !status.optional);
  const compiler = await compilerIdentity();
  const { accel, notice } = chooseAccel(options.accel);
  emit({
    type: 'plan',
    text: `dry run of \`syscall-lab ${command}\`: nothing is installed, downloaded, built or booted`,
  });
  emit({
    type: 'plan',
    text:
      missing.length === 0
        ? 'tools: every requirement is installed (`syscall-lab doctor`)'
        : `tools: missing ${describeMissing(missing)}: a run installs them as root, else stops (${installLine(packagesOf(missing))})`,
  });
  if (notice) emit({ type: 'plan', text: `notice: ${notice}` });
  for (const plan of plans) {
    const found = located.get(plan.source.requested);
    if (!found) continue;
    const context = { options, command, located: found, compiler, accel, ...(bootWhich && { bootWhich }) };
    for (const text of kernelPlanLines(plan, context)) emit({ type: 'plan', scope: plan.source.requested, text });
  }
  if (missing.length > 0) {
    throw new InfrastructureError(
      `missing on this host: ${describeMissing(missing)}`,
      installLine(packagesOf(missing)),
    );
  }
  return ExitCode.ok;
}
