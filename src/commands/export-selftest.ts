import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { directMapBase } from '../checks/direct-map.ts';
import { readSeriesFacts } from '../conformance/series-facts.ts';
import { generateSelftest } from '../conformance/selftest.ts';
import { BadInputError, ExitCode } from '../errors.ts';
import type { Emit } from '../events.ts';
import { readPatchSet, seriesPatches } from '../kernel/patches.ts';
import { projectRoot } from '../paths.ts';

export interface ExportSelftestRequest {
  patches: string;
  out: string;
  /** The kernel version the test's direct-map base is for (default: 6.1, the rule of every kernel since 4.20). */
  kernel?: string;
}

export const defaultSelftestKernel = '6.1';

/** A new or empty folder, or the reason it is not one. */
function outProblem(out: string): string | undefined {
  if (!existsSync(out)) return undefined;
  if (!statSync(out).isDirectory()) return `--out ${out} is a file, not a folder`;
  return readdirSync(out).length > 0 ? `--out ${out} is not empty` : undefined;
}

/**
 * `syscall-lab export-selftest --patches DIR --out DIR2 [--kernel V]`: writes a kselftest folder for
 * the syscalls the series at DIR defines (src/conformance/selftest.ts: the probe's case table and its
 * bad-pointer code, bad-pointers.h). Bad input (no SYSCALL_DEFINEn, nothing to test, --out not
 * empty, a version it cannot read) exits 2 with nothing written.
 */
export async function exportSelftestCommand(request: ExportSelftestRequest, emit: Emit): Promise<number> {
  const kernel = request.kernel ?? defaultSelftestKernel;
  try {
    directMapBase(kernel);
  } catch {
    throw new BadInputError(
      `--kernel ${kernel} is not a kernel version`,
      'give a version such as 6.1 or 4.19.5: the kernel-writable cases use its direct-map base',
    );
  }
  const problem = outProblem(request.out);
  if (problem) {
    throw new BadInputError(
      problem,
      'give --out a new or empty folder (tools/testing/selftests/<name> of the patched tree)',
    );
  }
  const set = await readPatchSet(request.patches);
  const { definitions } = readSeriesFacts(seriesPatches(set));
  if (definitions.length === 0) {
    throw new BadInputError(
      `the series in ${request.patches} defines no syscall: no SYSCALL_DEFINEn in the C lines its patches add`,
      'define each new syscall with SYSCALL_DEFINEn(name, type, arg, ...) (linux/syscalls.h): the tests are generated from it',
    );
  }
  const selftest = generateSelftest({
    signatures: definitions,
    seriesName: basename(resolve(request.patches)),
    kernel,
    badPointersHeader: readFileSync(join(projectRoot, 'src', 'checks', 'guest', 'bad-pointers.h'), 'utf8'),
  });
  const names = definitions.map((definition) => definition.name).join(', ');
  if (selftest.cases.length === 0) {
    throw new BadInputError(
      `${names}: no pointer argument and no argument named flags, so no case to generate`,
      'nothing to export: the generated cases test pointer arguments (EFAULT) and a flags argument (EINVAL)',
    );
  }
  mkdirSync(request.out, { recursive: true });
  for (const [name, text] of selftest.files) writeFileSync(join(request.out, name), text);
  emit({
    type: 'info',
    text: `${selftest.cases.length} cases of ${names} -> ${request.out} (${[...selftest.files.keys()].join(', ')}): put it at tools/testing/selftests/${selftest.name}/ of the patched tree, add ${selftest.name} to TARGETS in tools/testing/selftests/Makefile, then \`make headers_install && make -C tools/testing/selftests TARGETS=${selftest.name} run_tests\``,
  });
  return ExitCode.ok;
}
