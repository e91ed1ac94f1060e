import { BadInputError } from '../errors.ts';

/** The options --commits, --each and --worktree depend on (config.ts's Options). */
interface CommitOptions {
  kernel: string[];
  patches?: string | undefined;
  commits?: string | undefined;
  each: boolean;
  worktree: boolean;
}

type KernelSpecs = { kernel: string; patches?: string }[];

/**
 * What the options alone say about a git kernel tree (whether the kernel is one is asked of git
 * when the run is planned): --each needs --commits, and a git tree with --commits is the only
 * kernel of its run and its only series (its commits are the patches); so is one with --worktree
 * (its uncommitted changes are the series), which builds no range.
 */
export function checkCommitOptions(options: CommitOptions, specs: KernelSpecs): void {
  if (options.each && options.commits === undefined) {
    throw new BadInputError(
      '--each needs --commits A..B',
      'add --commits A..B: a verdict for every commit of the range',
    );
  }
  if (options.worktree && options.commits !== undefined) {
    throw new BadInputError(
      `--worktree builds the work tree on HEAD, and --commits ${options.commits} builds a range`,
      'drop one of them: --commits A..B for committed work, --worktree for uncommitted changes',
    );
  }
  if (options.commits !== undefined) {
    onlyKernelAndSeries(`--commits ${options.commits}`, options, specs, {
      series: 'the commits of the range are the patches',
      fix: 'drop --patches (or the =DIR of --kernel), or drop --commits to apply a patch folder to the tree',
    });
  }
  if (options.worktree) {
    onlyKernelAndSeries('--worktree', options, specs, {
      series: 'the uncommitted changes of the tree are the series',
      fix: 'drop --patches, or use --dirty instead of --worktree to add the uncommitted changes after that series',
    });
  }
}

/** `flag` makes its git tree the run's one kernel, and its one series. */
function onlyKernelAndSeries(
  flag: string,
  options: CommitOptions,
  specs: KernelSpecs,
  why: { series: string; fix: string },
): void {
  const name = flag.split(' ')[0] ?? flag;
  if (options.kernel.length > 1) {
    throw new BadInputError(
      `${flag} applies to one git kernel tree, but ${options.kernel.length} --kernel were given`,
      `run the git tree with ${name} on its own, and the other kernels in another run`,
    );
  }
  const own = specs.find((spec) => spec.patches !== undefined);
  if (options.patches !== undefined || own) {
    const given = own ? `--kernel ${own.kernel}=${own.patches ?? ''}` : `--patches ${options.patches ?? ''}`;
    throw new BadInputError(`${given}: with ${name} ${why.series}`, why.fix);
  }
}
