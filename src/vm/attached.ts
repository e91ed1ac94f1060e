import { readFileSync } from 'node:fs';
import { InfrastructureError } from '../errors.ts';
import { SshSession } from '../guest/ssh.ts';
import type { RunFolder } from '../run-folder.ts';
import { ConsoleFile } from './console-file.ts';
import type { ConsoleLog, ExecOptions, ExecResult, Machine } from './machine.ts';

/**
 * A QEMU VM left running by `boot` or `run --keep`, reached again from its run folder (the SSH
 * port, the run's client key, the pinned host key, the console file) for `syscall-lab test`.
 * It cannot reboot; disposing of it only hangs up, the VM stays for the next `test`.
 */
export class AttachedQemuMachine implements Machine, AsyncDisposable {
  readonly backend = 'qemu';

  private constructor(
    private readonly ssh: SshSession,
    private readonly consoleFile: ConsoleFile,
    readonly accel: string,
  ) {}

  /** Connects to the kept VM of `folder`. */
  static async attach(folder: RunFolder, consolePath: string, accel: string): Promise<AttachedQemuMachine> {
    const hostKey = /^ssh-ed25519 (\S+)/.exec(readFileSync(folder.guestHostKeyPublic, 'utf8'))?.[1];
    if (!hostKey) {
      throw new InfrastructureError(
        `${folder.guestHostKeyPublic} holds no ed25519 key`,
        'boot a new VM with `syscall-lab boot`',
      );
    }
    const ssh = new SshSession({
      host: '127.0.0.1',
      port: Number(readFileSync(folder.sshPort, 'utf8')),
      username: 'root',
      privateKey: readFileSync(folder.clientKey, 'utf8'),
      hostKey: Buffer.from(hostKey, 'base64'),
    });
    const consoleFile = new ConsoleFile(consolePath);
    // Only what happens from now on is this session's to judge: earlier tests judged theirs.
    consoleFile.bootStart = consoleFile.mark();
    try {
      await ssh.connect(20_000, () => null);
    } catch (error) {
      throw new InfrastructureError(
        `the kept VM does not answer: ${(error as Error).message}`,
        'boot it again with `syscall-lab boot`',
        consoleFile.tail(20),
      );
    }
    return new AttachedQemuMachine(ssh, consoleFile, accel);
  }

  exec(command: string, options: ExecOptions): Promise<ExecResult> {
    return this.ssh.exec(command, options);
  }

  copy(local: string, remote: string, mode?: number): Promise<void> {
    return this.ssh.upload(local, remote, mode);
  }

  download(remote: string, local: string): Promise<void> {
    return this.ssh.download(remote, local);
  }

  console(): ConsoleLog {
    return this.consoleFile;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.ssh.close();
    return Promise.resolve();
  }
}
