import { basename } from 'node:path';
import { guestKernelArgs } from '../guest/rootfs.ts';
import { timeoutScale } from './accel.ts';
import type { Backend } from './backend.ts';
import { ensureOfflineBox, offlineBoxName } from './vagrant-box.ts';
import { checkVagrantHost } from './vagrant-host.ts';
import { VagrantMachine } from './vagrant.ts';

/**
 * Vagrant boots the box on its own kernel (the negative control), then installs the host-built
 * patched kernel in the guest (or builds it there, --build-in-guest) and reloads.
 */
export const vagrantBackend: Backend = {
  name: 'vagrant',
  async checkHost(options) {
    await checkVagrantHost(options.provider);
  },
  async create({ folder, accel, options, patched, guestBuild, emit }) {
    const scope = guestBuild.version;
    if (options.box === offlineBoxName)
      await ensureOfflineBox((text) => {
        emit({ type: 'info', scope, text });
      }, options.lockTimeout);
    const minutes = 60_000 * (options.bootTimeout ? options.bootTimeout / 60 : timeoutScale(accel) * 5);
    const started = Date.now();
    const machine = new VagrantMachine({
      folder,
      accel,
      kernelArgs: guestKernelArgs(patched.version),
      box: options.box,
      provider: options.provider,
      cpus: options.cpus,
      memoryMiB: options.memory,
      name: `syscall-lab-${basename(folder.dir)
        .replace(/[^A-Za-z0-9-]/g, '-')
        .slice(-40)}-`,
      upTimeout: minutes,
      // Building in a guest takes an hour or more under TCG.
      provisionTimeout: options.buildInGuest ? 60 * minutes : minutes,
      buildInGuest: options.buildInGuest
        ? { ...guestBuild, localversion: patched.release.slice(patched.release.indexOf('-patched')) }
        : undefined,
      onOutput: (line) => {
        emit({ type: 'status', scope, text: line.slice(0, 100), since: started });
      },
      onWarning: (text) => {
        emit({ type: 'warning', scope, text });
      },
    });
    return {
      machine,
      stockName: `the box ${options.box}`,
      patchedKernel: { image: patched.dir, release: patched.release },
      // The box boots its own kernel; the patched one is installed, then booted by a reload.
      firstBoot: 'own',
    };
  },
};
