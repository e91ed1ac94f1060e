import { LabError } from '../errors.ts';
import type { KeptVm } from '../run-folder.ts';
import type { GdbTarget } from './gdb.ts';

/**
 * The one interface every VM backend implements and every check talks to.
 * Every wait is bounded by a timeout; boot errors carry the console output.
 */
export interface ExecOptions {
  /** Milliseconds before the command is killed and the call rejects with a TimeoutError. */
  timeout: number;
  /** Bytes written to the command's standard input. */
  stdin?: string;
}

export interface ExecResult {
  /** The command's exit code; null when it was killed by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A kernel a machine boots: what the build produced. */
export interface BootableKernel {
  /** Path of the bzImage (QEMU) or of the build folder (backends that install it). */
  image: string;
  /** `uname -r` the kernel reports once booted. */
  release: string;
  /** Booted with QEMU's gdbstub (--gdb): the VM left running. */
  gdb?: GdbTarget;
}

/**
 * What checks get: a booted guest to run commands in and copy files to, and its console.
 * The only door from checks to VMs.
 */
export interface Machine {
  /** Backend name for reports, e.g. "qemu". */
  readonly backend: string;
  /** Acceleration in use, e.g. "kvm" or "tcg". */
  readonly accel: string;
  exec(command: string, options: ExecOptions): Promise<ExecResult>;
  /** Uploads a local file to an absolute path in the guest (with `mode`, e.g. 0o755 for a binary). */
  copy(local: string, remote: string, mode?: number): Promise<void>;
  /** Downloads a file of the guest (readable by the login user) to a local path. */
  download(remote: string, local: string): Promise<void>;
  /** The serial console of the current boot, watched for oopses and panics. */
  console(): ConsoleLog;
}

/**
 * A machine a run owns: it boots it, reboots it into the patched kernel, and stops it when
 * disposed (`await using`), unless it was kept.
 */
export interface RunMachine extends Machine, AsyncDisposable {
  /** Boots the machine and returns once a command can run over SSH. */
  start(): Promise<void>;
  /** Reboots into `kernel` and returns once SSH answers again. */
  reboot(kernel: BootableKernel): Promise<void>;
  /** Stops the machine; safe to call more than once. */
  stop(): Promise<void>;
  /**
   * Leaves the machine running after this process exits (--keep, boot): no reaper, no stop on
   * dispose. Saves what a later `syscall-lab test` needs where the backend supports it, and
   * says how to reach the machine.
   */
  keep(record: KeptVm): string;
  /** Console logs of every boot so far, in order (kept in the run folder). */
  readonly consoleLogs: string[];
}

/** The VM is gone (QEMU exited, the guest powered off or panicked): no command can run any more. */
export class MachineGoneError extends Error {
  constructor(
    message: string,
    /** The end of the console: a panic there makes it the kernel's fault. */
    readonly consoleTail: string,
    /**
     * How the VM process ended: 0 is the guest resetting or powering off (QEMU runs with
     * -no-reboot); null when a signal killed it.
     */
    readonly exitCode: number | null = null,
  ) {
    super(message);
    this.name = 'MachineGoneError';
  }
}

/** What a check needs from the console: its text since a mark, and where it is kept. */
export interface ConsoleLog {
  readonly path: string;
  /** Where the current boot's output starts (a mark); 0 when every boot has a file of its own. */
  readonly bootStart?: number;
  /** Current length of the log in bytes, to read "what happened since". */
  mark(): number;
  /** Text written since the mark (the whole boot when omitted). */
  since(mark?: number): string;
  /** Text written between two marks. */
  between(from: number, to: number): string;
}

/** A boot that did not reach SSH; carries the console tail as evidence. */
export class BootError extends LabError {
  constructor(
    message: string,
    readonly kernel: BootableKernel,
    readonly consoleTail: string,
    readonly consolePath: string,
    /** A panic or oops while booting: the kernel's fault, not the machine's. */
    readonly kernelCrashed: boolean,
  ) {
    super(
      message,
      3,
      kernelCrashed ? 'see the console excerpt' : 'see the console log; `syscall-lab doctor` checks the host',
      consoleTail,
    );
  }
}
