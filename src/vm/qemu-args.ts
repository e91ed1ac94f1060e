import { BadInputError } from '../errors.ts';
import type { Accel } from './accel.ts';

/** Everything one QEMU boot depends on: the arguments are a pure function of it. */
export interface QemuBoot {
  /** Names the process, so that it can be found (and only it killed) by the run's pid. */
  ownerPid: number;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  kernelImage: string;
  kernelCommandLine: string;
  /** The serial console's file. */
  consolePath: string;
  /** Host folder exported read-only as the guest's root (mount tag /dev/root). */
  rootDir: string;
  /** Host folder exported read-only with the run's guest files (mount tag syscalllab). */
  shareDir: string;
  /** Loopback port forwarded to the guest's SSH port. */
  sshPort: number;
  /** QEMU's own -pidfile. */
  pidFile: string;
  /** QEMU's gdbstub on this loopback port (--gdb); `wait`: the CPUs stay stopped until gdb continues them. */
  gdb?: { port: number; wait: boolean };
}

/**
 * A path inside a QEMU option string (`file,id=console,path=...`): commas are doubled, as QEMU's
 * option syntax escapes them; a newline cannot be passed at all.
 */
export function optionPath(path: string): string {
  if (/[\n\r]/.test(path)) {
    throw new BadInputError(
      `the path ${JSON.stringify(path)} has a line break, which QEMU cannot take`,
      'use a cache folder (--cache) whose path has none',
    );
  }
  return path.replaceAll(',', ',,');
}

/** The machine: the accelerator, a CPU model it can run, its size; no display, no devices by default, no reboot. */
export function machineArguments(
  boot: Pick<QemuBoot, 'ownerPid' | 'accel' | 'cpus' | 'memoryMiB' | 'pidFile'>,
): string[] {
  return [
    ...['-name', `syscall-lab,process=syscall-lab-${boot.ownerPid}`],
    ...['-machine', 'pc'],
    ...['-accel', boot.accel],
    ...['-cpu', boot.accel === 'kvm' ? 'host' : 'max'],
    ...['-smp', String(boot.cpus)],
    ...['-m', String(boot.memoryMiB)],
    ...['-nodefaults', '-no-user-config', '-display', 'none'],
    // A reboot or a panic (panic=-1 on the command line) ends QEMU instead of starting over.
    '-no-reboot',
    ...['-pidfile', boot.pidFile],
  ];
}

/** The kernel booted directly, its console into a file. */
export function kernelArguments(boot: Pick<QemuBoot, 'kernelImage' | 'kernelCommandLine' | 'consolePath'>): string[] {
  return [
    ...['-kernel', boot.kernelImage],
    ...['-append', boot.kernelCommandLine],
    ...['-chardev', `file,id=console,path=${optionPath(boot.consolePath)}`],
    ...['-serial', 'chardev:console'],
  ];
}

/** Two read-only 9p exports: the guest's root and the run's share. */
export function filesystemArguments(boot: Pick<QemuBoot, 'rootDir' | 'shareDir'>): string[] {
  return [
    ...['-fsdev', `local,id=root,path=${optionPath(boot.rootDir)},security_model=none,readonly=on,multidevs=remap`],
    ...['-device', 'virtio-9p-pci,fsdev=root,mount_tag=/dev/root'],
    ...['-fsdev', `local,id=lab,path=${optionPath(boot.shareDir)},security_model=none,readonly=on`],
    ...['-device', 'virtio-9p-pci,fsdev=lab,mount_tag=syscalllab'],
  ];
}

/** User networking that reaches nothing (restrict=on), SSH forwarded from the loopback only; entropy for the guest. */
export function networkArguments(boot: Pick<QemuBoot, 'sshPort'>): string[] {
  return [
    ...['-netdev', `user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:${boot.sshPort}-:22`],
    ...['-device', 'virtio-net-pci,netdev=net'],
    ...['-device', 'virtio-rng-pci'],
  ];
}

/** The gdbstub, on the loopback only (never -s, which listens on every address); -S: stopped before the first instruction. */
export function gdbArguments(boot: Pick<QemuBoot, 'gdb'>): string[] {
  if (!boot.gdb) return [];
  return ['-gdb', `tcp:127.0.0.1:${boot.gdb.port}`, ...(boot.gdb.wait ? ['-S'] : [])];
}

export function qemuArguments(boot: QemuBoot): string[] {
  return [
    ...machineArguments(boot),
    ...kernelArguments(boot),
    ...filesystemArguments(boot),
    ...networkArguments(boot),
    ...gdbArguments(boot),
  ];
}
