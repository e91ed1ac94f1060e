import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfrastructureError } from '../errors.ts';
import { runQemu, type ResultPromise } from '../spawn.ts';
import { kernelCommandLine, readClientKey, sshdStartedMarker, type GuestKeys } from '../guest/rootfs.ts';
import { hostTopLevel, viewArguments, type GuestView } from '../guest/view.ts';
import { SshSession } from '../guest/ssh.ts';
import { groupAlive, killGroup, onExit } from '../reaper.ts';
import type { KeptVm, RunFolder } from '../run-folder.ts';
import type { Accel } from './accel.ts';
import { ConsoleFile } from './console-file.ts';
import { scanConsole } from './console.ts';
import {
  BootError,
  MachineGoneError,
  type BootableKernel,
  type ConsoleLog,
  type ExecOptions,
  type ExecResult,
  type RunMachine,
} from './machine.ts';
import { gdbCommandLine } from './gdb.ts';
import { qemuArguments } from './qemu-args.ts';

export interface QemuOptions {
  folder: RunFolder;
  kernel: BootableKernel;
  keys: GuestKeys;
  /** The guest's root, mounted in QEMU's own mount namespace (bubblewrap). */
  view: GuestView;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  /** Extra kernel parameters (guestKernelArgs of the kernel's version). */
  kernelArgs: string[];
  /** Boot-to-SSH limit in ms (already scaled for the accelerator). */
  bootTimeout: number;
  qemuBinary?: string;
  bwrapBinary?: string;
  /** Where the gdb command line of a --gdb boot goes, as soon as QEMU starts (before the guest is up). */
  announce?: (text: string) => void;
}

/** How long the login waits for init's "sshd started" before it tries regardless. */
const markerWaitMs = 30_000;

/** Waits (bounded) until no process of the group runs; a zombie its init has yet to reap does not count. */
async function groupGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!groupAlive(pgid)) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/**
 * QEMU backend: the kernel booted directly (-kernel), the host's root read-only over 9p,
 * user networking with restrict=on and SSH forwarded on 127.0.0.1 only, the serial console
 * in a file per boot, -no-reboot so that a reboot or a panic ends QEMU.
 */
export class QemuMachine implements RunMachine {
  readonly backend = 'qemu';
  readonly accel: Accel;
  private child: ResultPromise | undefined;
  private exited: { code: number | null; signal: string | undefined } | undefined;
  private ssh: SshSession | undefined;
  private consoleFile: ConsoleFile | undefined;
  private boots = 0;
  private kernel: BootableKernel;
  private port = 0;
  private removeReaper: (() => void) | undefined;
  private kept = false;
  /** Console logs of every boot, in order. */
  readonly consoleLogs: string[] = [];

  constructor(private readonly options: QemuOptions) {
    this.accel = options.accel;
    this.kernel = options.kernel;
  }

  async start(): Promise<void> {
    if (this.child && !this.exited) return;
    const { folder } = this.options;
    this.boots++;
    this.exited = undefined;
    this.port = await freeLoopbackPort();
    const consolePath = folder.qemuConsole(this.boots, this.kernel.release);
    this.consoleLogs.push(consolePath);
    const booted = Date.now();
    const consoleFile = new ConsoleFile(consolePath);
    this.consoleFile = consoleFile;
    writeFileSync(consolePath, '');
    const gdb = this.kernel.gdb && { port: await freeLoopbackPort(), wait: this.kernel.gdb.wait };
    const binary = this.options.qemuBinary ?? 'qemu-system-x86_64';
    const args = qemuArguments({
      ownerPid: process.pid,
      accel: this.accel,
      cpus: this.options.cpus,
      memoryMiB: this.options.memoryMiB,
      kernelImage: this.kernel.image,
      kernelCommandLine: kernelCommandLine(this.options.kernelArgs),
      consolePath,
      rootDir: this.options.view.root,
      shareDir: this.options.keys.shareDir,
      sshPort: this.port,
      pidFile: folder.qemuSelfPid,
      ...(gdb && { gdb }),
    });
    // QEMU runs in a private mount namespace where the exported folder holds the guest's view.
    const command = [...viewArguments(this.options.view, hostTopLevel()), '--', binary, ...args];
    const wrapper = this.options.bwrapBinary ?? 'bwrap';
    writeFileSync(folder.qemuCommandLine, `${[wrapper, ...command].join(' ')}\n`);
    // QEMU's own messages go to a file, not a pipe: a VM kept with --keep outlives this process.
    // Only PATH, LANG, LC_* and TMPDIR reach QEMU and bubblewrap (src/spawn.ts).
    this.child = runQemu(wrapper, command, {
      reject: false,
      detached: true,
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: { file: folder.qemuLog },
      buffer: false,
    });
    const child = this.child;
    const pid = child.pid;
    if (!pid) throw new InfrastructureError('QEMU did not start', 'apt-get install qemu-system-x86 bubblewrap');
    writeFileSync(folder.qemuPid, String(pid));
    if (gdb && this.kernel.gdb) this.options.announce?.(gdbCommandLine(this.kernel.gdb, gdb.port));
    this.removeReaper = onExit(() => {
      killGroup(pid, 'SIGKILL');
    });
    void child.then((result) => {
      this.exited = { code: result.exitCode ?? null, signal: result.signal };
    });
    this.ssh = new SshSession({
      host: '127.0.0.1',
      port: this.port,
      username: 'root',
      privateKey: readClientKey(this.options.keys),
      hostKey: this.options.keys.hostKey,
    });
    try {
      await this.ssh.connect(
        this.options.bootTimeout,
        () => this.bootProblem(),
        // Should the console not show it (a guest whose console is lost), try anyway after a while.
        () => consoleFile.since().includes(sshdStartedMarker) || Date.now() - booted > markerWaitMs,
      );
    } catch (error) {
      const crashed = scanConsole(this.consoleFile.since()).some((finding) => finding.severity === 'failure');
      await this.stop();
      throw new BootError(
        `${this.kernel.release} did not reach SSH: ${(error as Error).message}`,
        this.kernel,
        this.consoleFile.tail(40),
        consolePath,
        crashed,
      );
    }
  }

  /** Why waiting for SSH is pointless now, or null while the guest may still come up. */
  private bootProblem(): string | null {
    if (this.exited) {
      const stderr = readFileSync(this.options.folder.qemuLog, 'utf8').trim();
      return `QEMU exited (code ${this.exited.code ?? this.exited.signal}) before SSH answered${stderr ? `: ${stderr}` : ''}`;
    }
    const crash = scanConsole(this.consoleFile?.since() ?? '').find((finding) => finding.kind === 'panic');
    return crash ? `the kernel panicked while booting: ${crash.line}` : null;
  }

  async exec(command: string, options: ExecOptions): Promise<ExecResult> {
    return this.whileAlive((ssh) => ssh.exec(command, options));
  }

  async copy(local: string, remote: string, mode?: number): Promise<void> {
    return this.whileAlive((ssh) => ssh.upload(local, remote, mode));
  }

  async download(remote: string, local: string): Promise<void> {
    return this.whileAlive((ssh) => ssh.download(remote, local));
  }

  /** Runs an SSH operation; if QEMU has died meanwhile, says so instead of an SSH error. */
  private async whileAlive<T>(operation: (ssh: SshSession) => Promise<T>): Promise<T> {
    if (!this.ssh) throw new Error('the machine is not started');
    try {
      return await operation(this.ssh);
    } catch (error) {
      // A dying VM first shows as a broken connection; give QEMU a moment to finish exiting.
      if (!this.exited) await this.waitForExit(3000);
      if (this.exited) {
        throw new MachineGoneError(
          `QEMU exited (code ${this.exited.code ?? this.exited.signal}) during the command`,
          this.consoleFile?.tail(60) ?? '',
          this.exited.code,
        );
      }
      throw error;
    }
  }

  async reboot(kernel: BootableKernel): Promise<void> {
    await this.shutdown();
    this.kernel = kernel;
    await this.start();
  }

  console(): ConsoleLog {
    if (!this.consoleFile) throw new Error('the machine has not booted');
    return this.consoleFile;
  }

  /** Asks the guest to reboot (QEMU exits: -no-reboot), then makes sure QEMU is gone. */
  private async shutdown(): Promise<void> {
    if (this.child && !this.exited && this.ssh) {
      await this.ssh.exec('sync; reboot -f', { timeout: 10_000 }).catch(() => undefined);
      await this.waitForExit(15_000);
    }
    await this.stop();
  }

  private async waitForExit(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.exited && Date.now() < deadline) await sleep(200);
    return Boolean(this.exited);
  }

  async stop(): Promise<void> {
    this.ssh?.close();
    this.ssh = undefined;
    const pid = this.child?.pid;
    if (pid && !this.exited) {
      killGroup(pid, 'SIGTERM');
      if (!(await this.waitForExit(5000))) {
        killGroup(pid, 'SIGKILL');
        await this.waitForExit(5000);
      }
    }
    // bubblewrap is our child, QEMU its: QEMU is gone only when the whole group is.
    if (pid && !(await groupGone(pid, 5000))) killGroup(pid, 'SIGKILL');
    this.removeReaper?.();
    this.removeReaper = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.kept) await this.stop();
  }

  keep(record: KeptVm): string {
    this.kept = true;
    this.ssh?.close();
    this.ssh = undefined;
    this.removeReaper?.();
    this.removeReaper = undefined;
    // Otherwise node waits for QEMU to exit before it does.
    this.child?.unref();
    const { folder } = this.options;
    writeFileSync(folder.sshPort, String(this.port));
    folder.writeKept(record);
    folder.disown();
    return `VM kept running: syscall-lab ssh --run ${folder.dir}; check it again: syscall-lab test --run ${folder.dir} (stop it with: syscall-lab clean --vms)`;
  }
}
