import type { Options } from '../config.ts';
import type { Backend, CreatedMachine, MachineRequest } from '../vm/backend.ts';
import { qemuBackend } from '../vm/qemu-backend.ts';
import { vagrantBackend } from '../vm/vagrant-backend.ts';

const backends: Record<Options['backend'], Backend> = { qemu: qemuBackend, vagrant: vagrantBackend };

/** The third stage's backend: QEMU (embedded, the default) or Vagrant. */
export function backendOf(options: Options): Backend {
  return backends[options.backend];
}

/** The third stage: the run's machine, made by its backend (not booted yet). */
export function createMachine(request: MachineRequest): Promise<CreatedMachine> {
  return backendOf(request.options).create(request);
}
