import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from './errors.ts';
import type { SyscallEntry } from './kernel/syscalls.ts';
import type { RememberedResults } from './report/model.ts';
import type { Accel } from './vm/accel.ts';
import type { KselftestHeaders } from './stages/kselftest-headers.ts';
import { cache } from './kernel/cache.ts';
import { commandLineNames, isAlive, killGroup, killProcess } from './reaper.ts';

/**
 * A run's folder under the cache's runs/: everything one run (one kernel) writes, and the one
 * place that knows its layout. A folder with an `owner` file belongs to a live run or to a dead
 * one (the reaper kills what it recorded); a kept VM's folder has given its owner file up.
 */
export class RunFolder {
  constructor(readonly dir: string) {}

  /** A new folder for kernel number `index` of this process's matrix, owned by this process. */
  static create(index: number): RunFolder {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const folder = new RunFolder(join(cache.runs(), `${stamp}-${process.pid}-${index}`));
    mkdirSync(folder.dir, { recursive: true, mode: 0o700 });
    writeFileSync(folder.owner, String(process.pid));
    return folder;
  }

  /** The folder of a kept QEMU VM: the one given, else the newest. */
  static kept(dir: string | undefined): RunFolder {
    const runs = cache.runs();
    const newest = existsSync(runs)
      ? readdirSync(runs)
          .map((name) => new RunFolder(join(runs, name)))
          .filter((folder) => existsSync(folder.sshPort))
          .map((folder) => folder.dir)
          .sort()
          .pop()
      : undefined;
    const folder = new RunFolder(dir ?? newest ?? '');
    if (!folder.dir || !existsSync(folder.sshPort)) {
      throw new BadInputError('no kept VM', 'start one with `syscall-lab boot` or `syscall-lab run --keep`');
    }
    return folder;
  }

  /** The pid of the run that owns the folder. */
  get owner(): string {
    return join(this.dir, 'owner');
  }

  /**
   * Stops this run's QEMU, if it still runs: the pid recorded in qemu.pid, only while that
   * process's command line names this folder (the pid may since belong to another process).
   * Returns the pid it stopped.
   */
  stopQemu(): number | undefined {
    if (!existsSync(this.qemuPid)) return undefined;
    const pid = Number(readFileSync(this.qemuPid, 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !commandLineNames(pid, this.dir)) return undefined;
    killGroup(pid, 'SIGKILL');
    killProcess(pid);
    return pid;
  }

  /** Gives the folder up: it outlives this process (a kept VM), and the reaper leaves it alone. */
  disown(): void {
    rmSync(this.owner, { force: true });
  }

  buildLog(kind: 'stock' | 'patched'): string {
    return join(this.dir, `build-${kind}.log`);
  }

  /** The header that gives userland programs SYS_<name> for the new syscalls. */
  get syscallHeader(): string {
    return join(this.dir, 'syscall-lab-syscalls.h');
  }

  /** kselftest's headers of the patched kernel's tree (src/stages/kselftest-headers.ts). */
  get kselftestHeaders(): string {
    return join(this.dir, 'kselftest');
  }

  /** QEMU's serial console of boot number `boot`. */
  qemuConsole(boot: number, release: string): string {
    return join(this.dir, `console-${boot}-${release}.log`);
  }

  /** The QEMU process group: what the reaper and `clean` kill (any *.pid file here is). */
  get qemuPid(): string {
    return join(this.dir, 'qemu.pid');
  }

  /** QEMU's own -pidfile. */
  get qemuSelfPid(): string {
    return join(this.dir, 'qemu-self.pid');
  }

  get qemuLog(): string {
    return join(this.dir, 'qemu.log');
  }

  get qemuCommandLine(): string {
    return join(this.dir, 'qemu.cmdline');
  }

  /** The kept VM's forwarded SSH port; its presence marks a kept QEMU VM. */
  get sshPort(): string {
    return join(this.dir, 'ssh-port');
  }

  /** The client key the harness logs in with. */
  get clientKey(): string {
    return join(this.dir, 'id_ed25519');
  }

  /** The folder shared with the guest: its authorized_keys and host key. */
  get guestShare(): string {
    return join(this.dir, 'guest');
  }

  /** The guest's root: an empty folder on which QEMU's namespace mounts the view (src/guest/view.ts). */
  get guestRoot(): string {
    return join(this.dir, 'view');
  }

  /** The guest's generated /etc. */
  get guestEtc(): string {
    return join(this.dir, 'view-etc');
  }

  /** The guest's /syscall-lab: its init and the probe. */
  get guestLab(): string {
    return join(this.dir, 'view-lab');
  }

  get guestHostKeyPublic(): string {
    return join(this.guestShare, 'host_key.pub');
  }

  get knownHosts(): string {
    return join(this.dir, 'known_hosts');
  }

  /** What `syscall-lab test` needs to check a kept VM again. */
  get keptRecord(): string {
    return join(this.dir, 'kept.json');
  }

  writeKept(record: KeptVm): void {
    writeFileSync(this.keptRecord, JSON.stringify(record, null, 2));
  }

  readKept(): KeptVm {
    if (!existsSync(this.keptRecord)) {
      throw new BadInputError(
        `${this.dir} has no kept.json (kept by an older syscall-lab)`,
        'boot it again with `syscall-lab boot`',
      );
    }
    return JSON.parse(readFileSync(this.keptRecord, 'utf8')) as KeptVm;
  }

  /** Vagrant's machine state (VAGRANT_DOTFILE_PATH). */
  get vagrantState(): string {
    return join(this.dir, '.vagrant');
  }

  /** The environment of the run's vagrant commands, kept so a later process can destroy the VM. */
  get vagrantEnv(): string {
    return join(this.dir, 'vagrant.env');
  }

  get vagrantLog(): string {
    return join(this.dir, 'vagrant.log');
  }

  /** What `vagrant ssh-config` said, for the record. */
  get vagrantSshConfig(): string {
    return join(this.dir, 'ssh-config');
  }

  /** The Vagrant VM's serial console (libvirt's QEMU writes it). */
  get vagrantConsole(): string {
    return join(this.dir, 'console.log');
  }
}

/** A VM left running (boot, run --keep): what `syscall-lab test` needs, saved as kept.json in its run folder. */
export interface KeptVm {
  stage: 'stock' | 'patched';
  /** `uname -r` of the kernel it runs. */
  release: string;
  patchedRelease: string;
  kernelVersion: string;
  added: SyscallEntry[];
  headerFile: string;
  /** kselftest's headers for the userland programs (absent in a VM kept by an older syscall-lab). */
  kselftest?: KselftestHeaders;
  userlandFiles: string[];
  console: string;
  accel: Accel;
  /** The run's guest command timeout in ms (absent in a VM kept by an older syscall-lab). */
  commandTimeout?: number;
  /**
   * The built-in checks' last results on this boot (by `run --keep` or a `test` that ran them):
   * a later `test` reruns the userland programs only and reports these as cached (`test --all` reruns them).
   */
  builtinResults?: RememberedResults;
}
