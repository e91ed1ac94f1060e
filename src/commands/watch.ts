import { join } from 'node:path';
import type { Options } from '../config.ts';
import { BadInputError, ExitCode, LabError } from '../errors.ts';
import type { Emit } from '../events.ts';
import { ChangeFeed, type Changes } from '../file-changes.ts';
import { projectRoot } from '../paths.ts';
import { onExit } from '../reaper.ts';
import { RunFolder } from '../run-folder.ts';
import type { CheckedRun } from '../stages/patch-check.ts';
import { prepareRuns } from '../stages/prepare.ts';
import { runKernel, type KernelRunEnvironment, type KernelRunOutcome } from '../stages/run-kernel.ts';
import { chooseAccel } from '../vm/accel.ts';
import { reproduceLine } from './run.ts';

/** What a watch loop is made of: replaceable, so a unit test can run the loop without kernels. */
export interface WatchParts {
  prepare: (options: Options, emit: Emit) => Promise<CheckedRun[]>;
  runKernel: (plan: CheckedRun, env: KernelRunEnvironment) => Promise<KernelRunOutcome>;
  changes: (folders: string[]) => Changes;
  /** Ends the loop (Ctrl-C does it by exiting the process after the cleanups). */
  stop?: AbortSignal;
}

const realParts: WatchParts = {
  prepare: prepareRuns,
  runKernel,
  changes: (folders) => new ChangeFeed(folders, 500),
};

/**
 * `syscall-lab watch`: a verdict on every saved change of the patch set or the userland programs.
 * Each round rebuilds the patched kernel incrementally, boots it directly (the stock control is
 * remembered from the first round) and runs every patched check, then prints one line; the
 * round's VM stays up (`syscall-lab ssh`, `syscall-lab test`) until the next round replaces it.
 * A change during a build stops the build and starts the round again.
 */
export async function watchCommand(options: Options, emit: Emit, parts: WatchParts = realParts): Promise<number> {
  if (options.backend !== 'qemu') {
    throw new BadInputError('watch runs on the QEMU backend', 'leave out --backend vagrant');
  }
  let plans = await parts.prepare(options, emit);
  const [first] = plans;
  if (!first || plans.length !== 1) throw new BadInputError('watch takes one --kernel', 'give a single --kernel');
  const folders = [first.patchSet.dir, options.userland ?? join(projectRoot, 'userland', 'tests')];
  using feed = parts.changes(folders);
  const { accel, notice } = chooseAccel(options.accel);
  if (notice) emit({ type: 'notice', text: notice });

  let kept: RunFolder | undefined;
  const stopKept = (): void => {
    kept?.stopQemu();
    kept = undefined;
  };
  // Ctrl-C: the reaper runs this (and stops builds and VMs in progress), then exits 130.
  const forget = onExit(stopKept);
  const stopped = new Promise<'stop'>((resolve) => {
    if (parts.stop?.aborted) resolve('stop');
    parts.stop?.addEventListener(
      'abort',
      () => {
        resolve('stop');
      },
      { once: true },
    );
  });
  try {
    emit({ type: 'info', text: `watching ${folders.join(' and ')} (Ctrl-C ends)` });
    for (let round = 1; ; round++) {
      const plan = plans[0];
      const label = `round ${round}`;
      // Noted from now on: a change during this round's build restarts it, later ones start the next round.
      const nextChange = feed.next();
      const restart = new AbortController();
      void nextChange.then(() => {
        restart.abort();
      });
      if (plan) {
        const folder = RunFolder.create(round);
        const outcome = await parts.runKernel(plan, {
          options,
          folder,
          accel,
          emit,
          reproduce: reproduceLine(plan, options),
          keep: true,
          signal: restart.signal,
        });
        const restarted = restart.signal.aborted && outcome.report.checks.length === 0;
        if (restarted) {
          emit({ type: 'info', text: `${label}: a newer change came during the build: starting again` });
        } else {
          stopKept();
          kept = folder;
          emit({ type: 'verdict', label, report: outcome.report });
        }
      }
      if ((await Promise.race([nextChange, stopped])) === 'stop') return ExitCode.ok;
      plans = await planAgain(options, emit, parts, `round ${round + 1}`);
    }
  } finally {
    stopKept();
    forget();
  }
}

/** The next round's plan, or none when the inputs are now wrong (said, and the next change tried). */
async function planAgain(options: Options, emit: Emit, parts: WatchParts, label: string): Promise<CheckedRun[]> {
  try {
    return await parts.prepare(options, emit);
  } catch (error) {
    if (!(error instanceof LabError)) throw error;
    emit({ type: 'warning', text: `${label}: ${error.message}${error.fix ? ` (fix: ${error.fix})` : ''}` });
    return [];
  }
}
