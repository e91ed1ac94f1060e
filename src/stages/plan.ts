import { join } from 'node:path';
import { splitKernelSpec, userlandSources, type Options } from '../config.ts';
import { askBuildPlan, planArguments, type BuildPlan, type PlanRequest } from '../kernel/build-plan.ts';
import { readSeriesFacts, type SeriesFacts } from '../conformance/series-facts.ts';
import { addedSyscallsOfSet, seriesPatches, type PatchSet } from '../kernel/patches.ts';
import { fetchSource, type KernelSource } from '../kernel/source.ts';
import { commitKernels, resolveKernel, withUncommitted, worktreeKernel } from './git-plan.ts';
import { projectRoot } from '../paths.ts';
import { readSeries, seriesForKernel } from './series.ts';

/** The two builds of one kernel, as upgrade-kernel.sh plans them. */
export interface BuildPlans {
  stock: { plan: BuildPlan; args: string[] };
  patched: { plan: BuildPlan; args: string[] };
}

/** One kernel of the matrix, fully validated before anything is built. */
export interface PlannedRun {
  source: KernelSource;
  /** The series applied: the given one, or its copy with the registration regenerated for this kernel. */
  patchSet: PatchSet;
  /** The series as chosen for this kernel (--kernel V=DIR, --patches, patches-<version> ...). */
  givenSeries: string;
  builds: BuildPlans;
  userlandFiles: string[];
  notices: string[];
  /** What the conformance items read from the series applied (absent under --conformance off). */
  conformance?: SeriesFacts;
}

/**
 * The first stage: every input of every kernel is read and checked (versions, sources, patch
 * folders, userland programs), every Debian source of the matrix is fetched, and
 * upgrade-kernel.sh is asked what each build will do. Nothing is built or booted before this passes.
 */
export async function planRuns(
  options: Options,
  // A dry run finds the source without fetching it (src/stages/dry-run.ts).
  getSource: (source: KernelSource) => Promise<KernelSource> = fetchSource,
): Promise<PlannedRun[]> {
  const userlandFiles = [
    ...userlandSources(join(projectRoot, 'userland', 'examples')),
    ...userlandSources(options.userland ?? join(projectRoot, 'userland', 'tests')),
  ];
  // Every kernel's input first (no network): a bad folder stops the run before any download.
  // A git tree with --commits is the run's one kernel, planned once per build, and so is one with
  // --worktree (src/stages/git-plan.ts).
  const kernels =
    options.commits !== undefined
      ? await commitKernels(options)
      : options.worktree
        ? [await worktreeKernel(options)]
        : await Promise.all(
            options.kernel.map(async (spec) => {
              const { kernel, patches: own } = splitKernelSpec(spec);
              const source = await resolveKernel(kernel, options);
              return { source, own, series: await readSeries(source.version, own, options.patches) };
            }),
          );
  const plans: PlannedRun[] = [];
  for (const { source: resolved, own, series } of kernels) {
    // Then each source is fetched; a Debian one holds a fuller version (5.10 -> 5.10.262),
    // which may choose another series.
    const source = await getSource(resolved);
    const { chosen, given } =
      source.version === resolved.version ? series : await readSeries(source.version, own, options.patches);
    const notices = [...(chosen.notice ? [chosen.notice] : []), ...given.notices];
    const ported = await seriesForKernel(source, given);
    const { syscalls, regenerated } = ported;
    const patchSet = await withUncommitted(source, ported.patchSet);
    if (regenerated) {
      notices.push(
        `${chosen.dir}: syscall registration regenerated for Linux ${source.version} (${syscalls
          .map((syscall) => `${syscall.name} ${syscall.x86_64 ?? '-'}`)
          .join(', ')}): ${patchSet.dir}`,
      );
    }
    if (addedSyscallsOfSet(patchSet).length === 0) {
      notices.push(`${chosen.dir} adds no entry to syscall_64.tbl: the built-in syscall checks will be skipped`);
    }
    const facts = readSeriesFacts(seriesPatches(patchSet));
    const conformance = options.conformance === 'off' ? undefined : facts;
    const builds = await planBuilds(source.version, patchSet, options, {
      sparse: conformance?.cFiles ?? [],
      features: [...configFeatures(facts), ...(options.debugInfo || options.gdb ? ['debug-info'] : [])],
    });
    for (const dir of builds.stock.plan.compat) notices.push(`applying the toolchain-compatibility series ${dir}`);
    if (builds.stock.plan.leftOut.length > 0) {
      notices.push(
        `--profile ${options.profile}: Linux ${source.version} lacks ${builds.stock.plan.leftOut.join(', ')}: left out`,
      );
    }
    plans.push({
      source,
      patchSet,
      givenSeries: chosen.dir,
      builds,
      userlandFiles,
      notices,
      ...(conformance && { conformance }),
    });
  }
  return plans;
}

/**
 * The config features a series needs, on both of its builds (the stock one stays the patched one's
 * negative control): ia32-emulation when it registers an i386 entry, so that its 32-bit entry can
 * be called (the conformance item x86-32); none otherwise, which keeps every other series on the
 * shared builds.
 */
export function configFeatures(facts: SeriesFacts): string[] {
  return facts.registrations.some((syscall) => syscall.i386) ? ['ia32-emulation'] : [];
}

/**
 * The stock build (the compat series only) and the patched one (plus the user's patches, and
 * sparse on the C files they add or change: the conformance item user-annotations).
 */
async function planBuilds(
  version: string,
  patchSet: PatchSet,
  options: Options,
  { sparse, features }: { sparse: string[]; features: string[] },
): Promise<BuildPlans> {
  const common = {
    version,
    backend: options.backend,
    configFragments: options.configFragment ? [options.configFragment] : [],
    profile: options.profile,
    ...(features.length > 0 && { features }),
  };
  const ask = async (request: PlanRequest): Promise<{ plan: BuildPlan; args: string[] }> => ({
    plan: await askBuildPlan(request),
    args: planArguments(request),
  });
  return {
    stock: await ask({ ...common, patchDirs: [] }),
    patched: await ask({ ...common, patchDirs: [patchSet.dir], ...(sparse.length > 0 && { sparse }) }),
  };
}
