import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { splitKernelSpec } from '../config.ts';
import { BadInputError, ExitCode } from '../errors.ts';
import type { Emit } from '../events.ts';
import { fetchSource, resolveSource } from '../kernel/source.ts';
import { readSeries, seriesForKernel } from '../stages/series.ts';

export interface PortRequest {
  kernel: string;
  patches?: string;
  out: string;
}

/**
 * `syscall-lab port --kernel V [--patches DIR] --out DIR2`: writes the series a run would apply
 * to that kernel (chosen and regenerated as the run does, src/stages/series.ts) into DIR2, with a
 * `series` file: it applies with `patch -p1` to that kernel's tree.
 */
export async function portCommand(request: PortRequest, emit: Emit): Promise<number> {
  if (existsSync(request.out) && readdirSync(request.out).length > 0) {
    throw new BadInputError(`--out ${request.out} is not empty`, 'give --out a new or empty folder');
  }
  const { kernel, patches: own } = splitKernelSpec(request.kernel);
  const source = await fetchSource(await resolveSource(kernel));
  const { chosen, given } = await readSeries(source.version, own, request.patches);
  if (chosen.notice) emit({ type: 'notice', text: chosen.notice });
  const { patchSet, syscalls, regenerated } = await seriesForKernel(source, given);
  mkdirSync(request.out, { recursive: true });
  for (const file of patchSet.files) copyFileSync(file, join(request.out, basename(file)));
  writeFileSync(join(request.out, 'series'), `${patchSet.files.map((file) => basename(file)).join('\n')}\n`);
  const numbers = syscalls.map((syscall) => `${syscall.name} ${syscall.x86_64 ?? '-'}`).join(', ');
  emit({
    type: 'info',
    text: `${regenerated ? 'regenerated' : 'unchanged (it registers exactly so already)'}: ${chosen.dir} for Linux ${source.version}${numbers ? ` (${numbers})` : ''} -> ${request.out}`,
  });
  return ExitCode.ok;
}
