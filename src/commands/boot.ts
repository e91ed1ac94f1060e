import type { Options } from '../config.ts';
import { BadInputError, ExitCode } from '../errors.ts';
import type { Emit } from '../events.ts';
import { RunFolder } from '../run-folder.ts';
import { buildKernels } from '../stages/builds.ts';
import { commandTimeoutMs } from '../stages/checks.ts';
import { createMachine } from '../stages/machine.ts';
import { prepareRuns } from '../stages/prepare.ts';
import { keptRecord, machineRequest } from '../stages/run-kernel.ts';
import { chooseAccel } from '../vm/accel.ts';

/**
 * `syscall-lab boot [--stock]`: builds (cached) and boots one kernel, and leaves the VM running
 * for a developer to log into (`syscall-lab ssh`) and check again (`syscall-lab test`).
 */
export async function bootCommand(options: Options, which: 'stock' | 'patched', emit: Emit): Promise<number> {
  const plans = await prepareRuns(options, emit);
  const [plan] = plans;
  if (!plan || plans.length !== 1) throw new BadInputError('boot takes one --kernel', 'give a single --kernel');
  const { accel, notice } = chooseAccel(options.accel);
  if (notice) emit({ type: 'notice', text: notice });
  const scope = plan.source.requested;
  const folder = RunFolder.create(0);
  const built = await buildKernels(plan, { jobs: options.jobs, lockTimeout: options.lockTimeout, folder, emit });
  const { machine, stockName, patchedKernel, firstBoot } = await createMachine(
    machineRequest(plan, built, { options, folder, accel, emit }, which, which),
  );
  // Stopped if anything below fails; kept (and so left alone) once it is up.
  await using vm = machine;
  const first = firstBoot === 'patched' ? patchedKernel.release : stockName;
  emit({ type: 'info', scope, text: `booting ${first} (${options.backend}, ${accel})` });
  await vm.start();
  if (which === 'patched' && firstBoot !== 'patched') {
    emit({ type: 'info', scope, text: `rebooting into ${built.patched.release}` });
    await vm.reboot(patchedKernel);
  }
  emit({
    type: 'info',
    text: vm.keep(
      keptRecord(which, built, plan, vm.consoleLogs, accel, commandTimeoutMs(options.commandTimeout, accel)),
    ),
  });
  return ExitCode.ok;
}
