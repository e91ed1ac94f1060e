import { BadInputError } from '../errors.ts';

/** The options --commits and --each depend on (config.ts's Options). */
interface CommitOptions {
  kernel: string[];
  patches?: string | undefined;
  commits?: string | undefined;
  each: boolean;
}

/**
 * What the options alone say about a git kernel tree (whether the kernel is one is asked of git
 * when the run is planned): --each needs --commits, and a git tree with --commits is the only
 * kernel of its run and its only series (its commits are the patches).
 */
export function checkCommitOptions(options: CommitOptions, specs: { kernel: string; patches?: string }[]): void {
  if (options.each && options.commits === undefined) {
    throw new BadInputError(
      '--each needs --commits A..B',
      'add --commits A..B: a verdict for every commit of the range',
    );
  }
  if (options.commits === undefined) return;
  if (options.kernel.length > 1) {
    throw new BadInputError(
      `--commits ${options.commits} applies to one git kernel tree, but ${options.kernel.length} --kernel were given`,
      'run the git tree with --commits on its own, and the other kernels in another run',
    );
  }
  const own = specs.find((spec) => spec.patches !== undefined);
  if (options.patches !== undefined || own) {
    const given = own ? `--kernel ${own.kernel}=${own.patches ?? ''}` : `--patches ${options.patches ?? ''}`;
    throw new BadInputError(
      `${given}: with --commits the commits of the range are the patches`,
      'drop --patches (or the =DIR of --kernel), or drop --commits to apply a patch folder to the tree',
    );
  }
}
