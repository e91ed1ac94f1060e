import type { Options } from '../config.ts';
import type { Emit } from '../events.ts';
import { ExitCode } from '../errors.ts';
import { RunFolder } from '../run-folder.ts';
import { buildKernels } from '../stages/builds.ts';
import { prepareRuns } from '../stages/prepare.ts';

/** `syscall-lab build`: only the builds (cached), one line per kernel built. */
export async function buildCommand(options: Options, emit: Emit): Promise<number> {
  for (const [index, plan] of (await prepareRuns(options, emit)).entries()) {
    const { stock, patched } = await buildKernels(plan, {
      jobs: options.jobs,
      lockTimeout: options.lockTimeout,
      folder: RunFolder.create(index),
      emit,
    });
    for (const build of [stock, patched]) {
      emit({ type: 'built', release: build.release, dir: build.dir, cached: build.cached });
    }
  }
  return ExitCode.ok;
}
