import { readFileSync, writeFileSync } from 'node:fs';
import { defaults } from '../options.ts';
import { PhaseClock, silent, type Emit } from '../events.ts';
import { buildKernel, type KernelBuild } from '../kernel/build.ts';
import { newSyscalls, parseSyscallTable, syscallHeader, type SyscallEntry } from '../kernel/syscalls.ts';
import type { RunFolder } from '../run-folder.ts';
import { keepKselftestHeaders, type KselftestHeaders } from './kselftest-headers.ts';
import type { CheckedRun } from './patch-check.ts';

/** The stock and patched kernels of one planned run, and what the patch set added to the syscall table. */
export interface BuiltKernels {
  stock: KernelBuild;
  patched: KernelBuild;
  /** Syscalls of the patched table that the stock table lacks. */
  added: SyscallEntry[];
  /** The header (in the run folder) that gives userland programs SYS_<name> for them. */
  headerFile: string;
  /** kselftest's headers of the patched tree, in the run folder: the userland programs may include them. */
  kselftest: KselftestHeaders;
}

export interface BuildEnvironment {
  jobs: number;
  /** Seconds to wait for another run's lock on a build (--lock-timeout; default an hour). */
  lockTimeout?: number;
  folder: RunFolder;
  emit?: Emit;
  /** Records the build phases of a run (build-stock, build-patched). */
  clock?: PhaseClock;
  /** Stops a build in progress (see BuildRequest.signal). */
  signal?: AbortSignal;
}

/**
 * The second stage: the stock kernel (built once per source and config, its tree kept in the
 * cache) and the patched one, built incrementally in that same tree.
 */
export async function buildKernels(plan: CheckedRun, env: BuildEnvironment): Promise<BuiltKernels> {
  const emit = env.emit ?? silent;
  const scope = plan.source.requested;
  const clock = env.clock ?? new PhaseClock(scope, emit);
  const { source, compiler } = plan;
  const common = {
    source,
    jobs: env.jobs,
    lockTimeout: env.lockTimeout ?? defaults.lockTimeout,
    compiler,
    emit,
    signal: env.signal,
  };
  const stock = await clock.time(
    'build-stock',
    () =>
      buildKernel({
        ...common,
        plan: plan.builds.stock.plan,
        planArgs: plan.builds.stock.args,
        log: env.folder.buildLog('stock'),
        scope: `${scope} stock`,
      }),
    (build) => build.cached,
  );
  const patched = await clock.time(
    'build-patched',
    () =>
      buildKernel({
        ...common,
        plan: plan.builds.patched.plan,
        planArgs: plan.builds.patched.args,
        reuseTreeOf: stock.key,
        log: env.folder.buildLog('patched'),
        scope: `${scope} patched`,
      }),
    (build) => build.cached,
  );
  const added = newSyscalls(
    parseSyscallTable(readFileSync(stock.syscallTable, 'utf8')),
    parseSyscallTable(readFileSync(patched.syscallTable, 'utf8')),
  );
  const headerFile = env.folder.syscallHeader;
  writeFileSync(headerFile, syscallHeader(added, patched.release));
  // The patched build was made in the stock build's tree.
  const kselftest = keepKselftestHeaders(patched, stock.key, env.folder.kselftestHeaders);
  return { stock, patched, added, headerFile, kselftest };
}
