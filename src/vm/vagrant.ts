import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { InfrastructureError, TimeoutError } from '../errors.ts';
import { shellCommand, shellQuote, SshSession } from '../guest/ssh.ts';
import { projectRoot } from '../paths.ts';
import { onExit } from '../reaper.ts';
import type { RunFolder } from '../run-folder.ts';
import type { Accel } from './accel.ts';
import { ConsoleFile } from './console-file.ts';
import { scanConsole } from './console.ts';
import { runTool } from '../spawn.ts';
import { destroyRunVm } from './vagrant-host.ts';
import { parseSshConfig } from './vagrant-ssh-config.ts';
import {
  BootError,
  type BootableKernel,
  type ConsoleLog,
  type ExecOptions,
  type ExecResult,
  type RunMachine,
} from './machine.ts';

export type VagrantProvider = 'libvirt' | 'virtualbox';

/**
 * The Vagrantfile's settings (BOX, MEMORY, CPUS, NAME, CONSOLE_LOG, REBOOT, ACCEL, BOOT_ARGS, KERNEL,
 * PATCHES, LOCALVERSION, KERNEL_SOURCE, PREBUILT) as the SYSCALL_LAB_VM_<NAME> variables it reads.
 */
export function vmSettings(settings: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings)) if (value !== undefined) env[`SYSCALL_LAB_VM_${name}`] = value;
  return env;
}

export interface VagrantOptions {
  /** The run folder: Vagrant's machine state (.vagrant/), its log and the console logs live here. */
  folder: RunFolder;
  /** The libvirt driver follows it: kvm, or qemu (TCG). */
  accel: Accel;
  /** Added to the command line of the kernel the guest installs (guestKernelArgs). */
  kernelArgs: string[];
  box: string;
  provider: VagrantProvider;
  cpus: number;
  memoryMiB: number;
  /** Unique per run: the VM's name prefix, so that parallel runs do not collide. */
  name: string;
  /** Limits in ms, already scaled for the accelerator. */
  upTimeout: number;
  provisionTimeout: number;
  /** What the guest builds when it builds the kernel itself (--build-in-guest); else it installs prebuilt ones. */
  buildInGuest?: { version: string; patchDirs: string[]; source?: string; localversion: string };
  /** Each line Vagrant prints, for live progress. */
  onOutput?: (line: string) => void;
  /** Something went wrong on the side (a VM that could not be destroyed). */
  onWarning?: (text: string) => void;
  vagrantBinary?: string;
}

/**
 * Vagrant backend. The repository's Vagrantfile describes the VM (the same one a developer
 * `vagrant up`s); this class drives it with `vagrant up / provision / reload / ssh-config / destroy`,
 * reads ssh-config once per boot and keeps one ssh2 connection, whose host key is pinned at the first
 * connection. Commands run as root (sudo), as they do under QEMU.
 */
export class VagrantMachine implements RunMachine {
  readonly backend = 'vagrant';
  readonly accel: Accel;
  readonly consoleLogs: string[] = [];
  private ssh: SshSession | undefined;
  private hostKey: Buffer | undefined;
  private consoleFile: ConsoleFile;
  private created = false;
  private removeReaper: (() => void) | undefined;
  private uploads = 0;
  private kept = false;

  constructor(private readonly options: VagrantOptions) {
    this.accel = options.accel;
    this.consoleFile = new ConsoleFile(options.folder.vagrantConsole);
  }

  /**
   * Environment of every vagrant command: the repository's Vagrantfile, this run's state folder, and
   * the Vagrantfile's settings as SYSCALL_LAB_VM_<NAME> (names the CLI never reads).
   */
  environment(extra: Record<string, string> = {}): Record<string, string> {
    const build = this.options.buildInGuest;
    return {
      VAGRANT_CWD: projectRoot,
      VAGRANT_DOTFILE_PATH: this.options.folder.vagrantState,
      VAGRANT_DEFAULT_PROVIDER: this.options.provider,
      VAGRANT_NO_COLOR: '1',
      VAGRANT_CHECKPOINT_DISABLE: '1',
      ...vmSettings({
        BOX: this.options.box,
        MEMORY: String(this.options.memoryMiB),
        CPUS: String(this.options.cpus),
        ACCEL: this.accel,
        BOOT_ARGS: this.options.kernelArgs.join(' '),
        NAME: this.options.name,
        CONSOLE_LOG: this.consoleFile.path,
        // The harness reloads by itself, to time the boot and watch its console.
        REBOOT: '0',
        ...(build && {
          KERNEL: build.version,
          PATCHES: build.patchDirs.join(':'),
          LOCALVERSION: build.localversion,
          ...(build.source && { KERNEL_SOURCE: build.source }),
        }),
      }),
      ...extra,
    };
  }

  private async vagrant(args: string[], timeoutMs: number, extraEnv: Record<string, string> = {}): Promise<string> {
    const logFile = this.options.folder.vagrantLog;
    const env = this.environment(extraEnv);
    writeFileSync(logFile, `$ vagrant ${args.join(' ')}\n`, { flag: 'a' });
    const child = runTool(this.options.vagrantBinary ?? 'vagrant', args, {
      env,
      reject: false,
      all: true,
      timeout: timeoutMs,
      forceKillAfterDelay: 10_000,
      stdin: 'ignore',
    });
    let pending = '';
    child.all.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      writeFileSync(logFile, text, { flag: 'a' });
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.options.onOutput?.(line.trim());
    });
    const result = await child;
    const tail = result.all.split('\n').slice(-15).join('\n');
    if (result.timedOut) {
      throw new TimeoutError(
        `vagrant ${args[0]} did not finish within ${Math.round(timeoutMs / 1000)} s`,
        `see ${logFile}`,
        tail,
      );
    }
    if (result.exitCode !== 0) {
      const cause = result.all
        .split('\n')
        .filter((line) => /error|failed|timed out|not found|cannot|could not/i.test(line))
        .slice(0, 3)
        .join(' ');
      throw new InfrastructureError(
        `vagrant ${args.join(' ')} failed (exit ${result.exitCode ?? result.signal})${cause ? `: ${cause}` : ''}`,
        `see ${logFile}`,
        tail,
      );
    }
    return result.stdout;
  }

  /** Creates and boots the VM on the box's own kernel (the stock one: nothing is provisioned yet). */
  async start(): Promise<void> {
    mkdirSync(this.options.folder.dir, { recursive: true });
    writeFileSync(this.consoleFile.path, '');
    this.consoleLogs.push(this.consoleFile.path);
    this.created = true;
    // Whatever happens from here, the VM is destroyed when this process ends (unless released).
    this.removeReaper = onExit(() => {
      this.destroySync();
    });
    writeFileSync(this.options.folder.vagrantEnv, JSON.stringify(this.environment(), null, 2));
    const mark = this.consoleFile.mark();
    this.consoleFile.bootStart = mark;
    await this.booted(mark, () =>
      this.vagrant(['up', '--no-provision', `--provider=${this.options.provider}`], this.options.upTimeout),
    );
  }

  /** Runs a boot step; a failure carries the console, and a crash on it is the kernel's. */
  private async booted(mark: number, step: () => Promise<unknown>, kernel?: BootableKernel): Promise<void> {
    try {
      await step();
      await this.connect();
    } catch (error) {
      const text = this.consoleFile.since(mark);
      const crashed = scanConsole(text).some((finding) => finding.severity === 'failure');
      const what = kernel ?? { image: this.options.box, release: `the box ${this.options.box}` };
      throw new BootError(
        `${what.release} did not boot to SSH: ${(error as Error).message}`,
        what,
        this.consoleFile.tail(40),
        this.consoleFile.path,
        crashed,
      );
    }
  }

  private async connect(): Promise<void> {
    const config = parseSshConfig(await this.vagrant(['ssh-config'], 60_000));
    writeFileSync(this.options.folder.vagrantSshConfig, JSON.stringify(config, null, 2));
    this.ssh?.close();
    this.ssh = new SshSession({
      host: config.host,
      port: config.port,
      username: config.user,
      privateKey: readFileSync(config.identityFile, 'utf8'),
      hostKey: this.hostKey,
    });
    await this.ssh.connect(120_000, () => null);
    this.hostKey = this.ssh.pinnedHostKey;
  }

  async exec(command: string, options: ExecOptions): Promise<ExecResult> {
    // As root, like the QEMU guest: the checks read /proc and dmesg and write under /tmp/syscall-lab.
    return this.session().exec(`sudo -n sh -c ${shellQuote(command)}`, options);
  }

  async copy(local: string, remote: string, mode?: number): Promise<void> {
    // SFTP runs as the login user: upload beside its home, then move into place as root (mv keeps the mode).
    const staged = `/tmp/.syscall-lab-upload-${process.pid}-${++this.uploads}`;
    await this.session().upload(local, staged, mode);
    const moved = await this.exec(shellCommand(['mv', '-f', staged, remote]), { timeout: 30_000 });
    if (moved.code !== 0)
      throw new InfrastructureError(`could not move the upload to ${remote}: ${moved.stderr.trim()}`);
  }

  async download(remote: string, local: string): Promise<void> {
    // SFTP runs as the login user: root's files under the guest's /tmp/syscall-lab are world-readable.
    return this.session().download(remote, local);
  }

  /**
   * Installs `kernel` (its --build-only folder) with `vagrant provision` (upgrade-kernel.sh
   * --install-prebuilt, or the whole build with --build-in-guest), then `vagrant reload`.
   */
  async reboot(kernel?: BootableKernel): Promise<void> {
    this.ssh?.close();
    this.ssh = undefined;
    if (kernel) {
      const prebuilt = vmSettings(this.options.buildInGuest ? {} : { PREBUILT: kernel.image });
      await this.vagrant(['provision'], this.options.provisionTimeout, prebuilt);
    }
    const mark = this.consoleFile.mark();
    this.consoleFile.bootStart = mark;
    await this.booted(mark, () => this.vagrant(['reload', '--no-provision'], this.options.upTimeout), kernel);
  }

  console(): ConsoleLog {
    return this.consoleFile;
  }

  private session(): SshSession {
    if (!this.ssh) throw new Error('the machine is not started');
    return this.ssh;
  }

  async stop(): Promise<void> {
    this.ssh?.close();
    this.ssh = undefined;
    if (this.created) {
      this.created = false;
      await this.vagrant(['destroy', '--force'], 300_000).catch((error: unknown) => {
        this.options.onWarning?.(
          `${error instanceof Error ? error.message : String(error)} (remove it with: syscall-lab clean --vms)`,
        );
      });
    }
    this.removeReaper?.();
    this.removeReaper = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.kept) await this.stop();
  }

  /** From the exit handler (Ctrl-C, crash): synchronous, bounded. */
  private destroySync(): void {
    if (!this.created) return;
    this.created = false;
    destroyRunVm(this.options.folder, this.options.vagrantBinary);
  }

  /** Leaves the VM running after this process exits (--keep); `syscall-lab test` does not attach to it. */
  keep(): string {
    this.kept = true;
    this.ssh?.close();
    this.ssh = undefined;
    this.removeReaper?.();
    this.removeReaper = undefined;
    this.options.folder.disown();
    return `VM kept running: ${this.sshHint} (stop it with: syscall-lab clean --vms)`;
  }

  /** How a developer reaches a VM kept with --keep. */
  get sshHint(): string {
    return `cd ${shellQuote(projectRoot)} && VAGRANT_DOTFILE_PATH=${shellQuote(this.options.folder.vagrantState)} vagrant ssh`;
  }
}
