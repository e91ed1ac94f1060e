import { guestKernelArgs, prepareGuestKeys } from '../guest/rootfs.ts';
import { prepareGuestView } from '../guest/view.ts';
import { timeoutScale } from './accel.ts';
import type { Backend } from './backend.ts';
import { QemuMachine } from './qemu.ts';

/** QEMU boots the host-built kernels directly: whichever is asked first, then the patched one. */
export const qemuBackend: Backend = {
  name: 'qemu',
  async create({ folder, accel, options, stock, patched, firstBoot, gdb, emit }) {
    // --gdb: the kernel left running boots with the stub (its build has debug info and gdb scripts).
    const stub = (stage: 'stock' | 'patched', dir: string) =>
      gdb === stage && { gdb: { buildDir: dir, wait: options.gdbWait } };
    const patchedKernel = { image: patched.bzImage, release: patched.release, ...stub('patched', patched.dir) };
    const keys = await prepareGuestKeys(folder);
    const view = prepareGuestView(folder);
    const machine = new QemuMachine({
      folder,
      kernel:
        firstBoot === 'stock'
          ? { image: stock.bzImage, release: stock.release, ...stub('stock', stock.dir) }
          : patchedKernel,
      keys,
      view,
      accel,
      cpus: options.cpus,
      memoryMiB: options.memory,
      kernelArgs: guestKernelArgs(stock.version),
      bootTimeout: (options.bootTimeout ?? 60 * timeoutScale(accel)) * 1000,
      announce: (text) => {
        emit({ type: 'info', text });
      },
    });
    return { machine, stockName: stock.release, patchedKernel, firstBoot };
  },
};
