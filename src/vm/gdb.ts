import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** A kernel booted with QEMU's gdbstub (--gdb): its build folder holds vmlinux and, from 4.0, the gdb scripts. */
export interface GdbTarget {
  buildDir: string;
  /** --gdb-wait: the VM stops before the kernel runs, until gdb says `continue`. */
  wait: boolean;
}

/**
 * The gdb command that attaches to the stub, and what to do next. The scripts are the kernel's own
 * (lx-dmesg, lx-ps, lx-symbols ...: CONFIG_GDB_SCRIPTS, `make scripts_gdb`), kept with the build by
 * upgrade-kernel.sh; a tree older than 4.0 has none.
 */
export function gdbCommandLine(target: GdbTarget, port: number): string {
  const scripts = join(target.buildDir, 'vmlinux-gdb.py');
  const haveScripts = existsSync(scripts);
  const command = [
    'gdb',
    `-ex 'target remote 127.0.0.1:${port}'`,
    ...(haveScripts ? [`-ex 'source ${scripts}'`] : []),
    join(target.buildDir, 'vmlinux'),
  ].join(' ');
  const next = haveScripts ? 'then e.g. lx-dmesg, lx-ps' : 'this kernel has no gdb scripts (they came in 4.0)';
  const wait = target.wait ? ' The VM waits for gdb: `continue` boots it.' : '';
  return `gdbstub on 127.0.0.1:${port}: ${command} (${next}).${wait}`;
}
