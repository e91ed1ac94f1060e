import { join, relative } from 'node:path';
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
import { splitKernelSpec, type Options } from '../config.ts';
import { uncommittedFiles } from '../kernel/git.ts';
import { repositoryOf } from '../stages/git-plan.ts';

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
 * `syscall-lab watch`: a verdict on every saved change of the patch set or the userland programs,
 * or with a git kernel tree (`--kernel TREE`) of its work tree: stock is HEAD, patched is the work
 * tree (--worktree; with --patches, that series and then the uncommitted changes, --dirty).
 * Each round rebuilds the patched kernel incrementally, boots it directly (the stock control is
 * remembered from the first round) and runs every patched check, then prints one line; the
 * round's VM stays up (`syscall-lab ssh`, `syscall-lab test`) until the next round replaces it.
 * A change during a build stops the build and starts the round again.
 */
export async function watchCommand(options: Options, emit: Emit, parts: WatchParts = realParts): Promise<number> {
  if (options.backend !== 'qemu') {
    throw new BadInputError('watch runs on the QEMU backend', 'leave out --backend vagrant');
  }
  const tree = await watchedTree(options);
  const planOptions = tree?.options ?? options;
  const userland = options.userland ?? join(projectRoot, 'userland', 'tests');
  // A watched tree without uncommitted changes has nothing to build: its round waits (idle). The
  // first round's inputs must be right (exit 2 otherwise); later ones are said and waited out.
  const planRound = async (label: string): Promise<{ plans: CheckedRun[]; idle: boolean }> => {
    if (tree && !(await tree.hasChanges())) return { plans: [], idle: true };
    const plans =
      label === 'round 1' ? await parts.prepare(planOptions, emit) : await planAgain(planOptions, emit, parts, label);
    return { plans, idle: false };
  };
  let { plans, idle } = await planRound('round 1');
  if (plans.length > 1) throw new BadInputError('watch takes one --kernel', 'give a single --kernel');
  const series = tree?.series ?? plans[0]?.givenSeries;
  const folders = [...(tree ? [tree.top] : []), ...(series ? [series] : []), userland];
  using feed = parts.changes(folders);
  await feed.ready();
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
    let built: string | undefined;
    for (let round = 1; ; round++) {
      const plan = plans[0];
      const label = `round ${round}`;
      if (idle)
        emit({
          type: 'info',
          text: `${label}: ${tree?.kernel ?? ''} has no uncommitted changes: waiting for one`,
        });
      // Noted from now on: a change during this round's build restarts it, later ones start the next round.
      let nextChange = feed.next();
      const restart = new AbortController();
      void nextChange.then(() => {
        restart.abort();
      });
      if (plan) {
        const folder = RunFolder.create(round);
        const outcome = await parts.runKernel(plan, {
          options: planOptions,
          folder,
          accel,
          emit,
          reproduce: reproduceLine(plan, planOptions),
          keep: true,
          signal: restart.signal,
        });
        const restarted = restart.signal.aborted && outcome.report.checks.length === 0;
        if (restarted) {
          emit({
            type: 'info',
            text: `${label}: a newer change came during the build (${someOf(await nextChange, tree?.top)}): starting again`,
          });
        } else {
          stopKept();
          kept = folder;
          built = plan.patchSet.dir;
          emit({ type: 'verdict', label, report: outcome.report });
        }
      }
      for (;;) {
        const changed = await Promise.race([nextChange, stopped]);
        if (changed === 'stop') return ExitCode.ok;
        ({ plans, idle } = await planRound(`round ${round + 1}`));
        // A kernel tree changes under other hands too (an in-tree make, a checkout of the same
        // files): a round whose series and programs are the ones just judged would judge them again.
        const same = tree && plans[0]?.patchSet.dir === built && !changed.some((file) => file.startsWith(userland));
        if (!same) break;
        emit({
          type: 'info',
          text: `round ${round + 1}: ${changed.length} files changed (${someOf(changed, tree.top)}), none of what is built or run`,
        });
        nextChange = feed.next();
      }
    }
  } finally {
    stopKept();
    forget();
  }
}

/** The first few changed files, relative to the watched tree: what to look at when a round did not expect them. */
function someOf(changed: readonly string[], top: string | undefined): string {
  const shown = changed.slice(0, 3).map((file) => (top === undefined ? file : relative(top, file)));
  const more = changed.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

/** `watch --kernel TREE` with a git work tree: its top, the options it plans with, and whether it has changes. */
interface WatchedTree {
  kernel: string;
  top: string;
  /** --patches (or TREE=DIR): the series applied before the uncommitted changes. */
  series: string | undefined;
  options: Options;
  hasChanges: () => Promise<boolean>;
}

async function watchedTree(options: Options): Promise<WatchedTree | undefined> {
  const [spec] = options.kernel;
  if (options.kernel.length !== 1 || spec === undefined) return undefined;
  const { kernel, patches: own } = splitKernelSpec(spec);
  const repo = await repositoryOf(kernel);
  if (!repo) return undefined;
  if (options.commits !== undefined) {
    throw new BadInputError(
      `watch builds the work tree of ${kernel}, and --commits ${options.commits} a range of commits`,
      'drop --commits: watch builds HEAD as stock and the work tree as patched on every saved change',
    );
  }
  const series = own ?? options.patches;
  return {
    kernel,
    top: repo.top,
    series,
    // Without a series the work tree's changes are the series; with one, they come after it.
    options: series === undefined ? { ...options, worktree: true } : { ...options, dirty: true },
    hasChanges: async () => (await uncommittedFiles(repo)).length > 0,
  };
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
