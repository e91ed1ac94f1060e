import { join } from 'node:path';
import { userlandPrograms } from '../config.ts';
import { ExitCode } from '../errors.ts';
import type { Emit } from '../events.ts';
import { projectRoot } from '../paths.ts';
import type { RunReport } from '../report/model.ts';
import { RunFolder } from '../run-folder.ts';
import { builtinResults, runsUserland } from '../checks/index.ts';
import { commandTimeoutMs, runCheckStage } from '../stages/checks.ts';
import { cachedResults } from '../stages/stock-control.ts';
import { anyFailed, writeReports, type ReportTargets } from '../stages/report.ts';
import { AttachedQemuMachine } from '../vm/attached.ts';

export interface TestRequest extends ReportTargets {
  /** The kept VM's run folder (default: the newest). */
  run?: string | undefined;
  /** Test programs replacing userland/tests (the talk's examples always run). */
  userland?: string | undefined;
  /** Run the built-in checks again too, not only the userland programs. */
  all?: boolean | undefined;
}

/**
 * `syscall-lab test`: the checks of the kernel a kept QEMU VM runs, again, without building or
 * booting (edit a userland program, test again).
 */
export async function testCommand(request: TestRequest, emit: Emit): Promise<number> {
  const folder = RunFolder.kept(request.run);
  const kept = folder.readKept();
  const examples = join(projectRoot, 'userland', 'examples');
  const userlandFiles =
    request.userland === undefined
      ? kept.userlandFiles
      : [...kept.userlandFiles.filter((file) => file.startsWith(examples)), ...userlandPrograms(request.userland)];
  const report: RunReport = {
    kernel: {
      requested: kept.release,
      version: kept.release.split('-')[0] ?? kept.release,
      source: folder.dir,
      patches: [],
      patchedRelease: kept.patchedRelease,
    },
    backend: 'qemu',
    accel: kept.accel,
    phases: [],
    checks: [],
    logs: { console: [kept.console], build: [] },
    reproduce: `npx syscall-lab test --run ${folder.dir}`,
  };
  await using machine = await AttachedQemuMachine.attach(folder, kept.console, kept.accel);
  const facts = {
    added: kept.added,
    patchedRelease: kept.patchedRelease,
    kernelVersion: kept.kernelVersion,
    userlandFiles,
    headerFile: kept.headerFile,
    kselftest: kept.kselftest,
    commandTimeout: kept.commandTimeout ?? commandTimeoutMs(undefined, kept.accel),
  };
  // The kernel and the boot are the ones the built-in checks already ran on: unless --all, only the
  // userland programs run again (an edited one compiled again), and the built-in results are reported cached.
  const remembered = request.all ? undefined : kept.builtinResults;
  const cached = remembered ? cachedResults(remembered) : [];
  for (const result of cached) emit({ type: 'check', scope: kept.release, result });
  const outcome = await runCheckStage(
    kept.stage,
    machine,
    facts,
    kept.release,
    emit,
    remembered ? runsUserland : undefined,
  );
  report.checks.push(...cached, ...outcome.results);
  if (!remembered) {
    const date = new Date().toISOString();
    folder.writeKept({ ...kept, builtinResults: { results: builtinResults(outcome.results), run: folder.dir, date } });
  }
  await writeReports([report], request, emit);
  return anyFailed([report]) ? ExitCode.checkFailed : ExitCode.ok;
}
