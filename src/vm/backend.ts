import type { Options } from '../config.ts';
import type { Emit } from '../events.ts';
import type { KernelBuild } from '../kernel/build.ts';
import type { RunFolder } from '../run-folder.ts';
import type { Accel } from './accel.ts';
import type { BootableKernel, RunMachine } from './machine.ts';

/** What a backend needs to make the machine of one run. */
export interface MachineRequest {
  folder: RunFolder;
  accel: Accel;
  options: Options;
  stock: KernelBuild;
  patched: KernelBuild;
  /**
   * The kernel the machine should boot first: `stock` for the negative control, or straight the
   * patched one when the control is remembered or not wanted. A backend whose first boot is its
   * own (Vagrant's box) boots that, and says so in CreatedMachine.firstBoot.
   */
  firstBoot: 'stock' | 'patched';
  /** What a guest that builds its own kernel (Vagrant --build-in-guest) builds. */
  guestBuild: { version: string; source: string | undefined; patchDirs: string[] };
  /** --gdb: which kernel boots with QEMU's gdbstub (the one left running). */
  gdb?: 'stock' | 'patched';
  emit: Emit;
}

/** A machine, not booted yet, and how the run names and reaches its two kernels. */
export interface CreatedMachine {
  machine: RunMachine;
  /** The stock boot, as progress names it ("6.1.192-stock", "the box debian/bookworm64"). */
  stockName: string;
  /** What the machine reboots into for the patched checks. */
  patchedKernel: BootableKernel;
  /** What `start()` boots: the request's firstBoot, or `own` when the backend boots its own kernel first (a box's). */
  firstBoot: 'stock' | 'patched' | 'own';
}

/** A VM backend: it checks its host and creates its own machines. */
export interface Backend {
  readonly name: Options['backend'];
  /** What the host must have, checked before anything is built. */
  checkHost?(options: Options): Promise<void>;
  create(request: MachineRequest): Promise<CreatedMachine>;
}
