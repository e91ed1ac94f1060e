import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfrastructureError } from '../errors.ts';
import { SshSession } from '../guest/ssh.ts';
import { ConsoleFile } from './console.ts';
import type { ConsoleLog, ExecOptions, ExecResult, Machine } from './machine.ts';

/**
 * A QEMU VM left running by `boot` or `run --keep`, reached again from its run folder (the SSH
 * port, the run's client key, the pinned host key, the console file) for `syscall-lab test`.
 * It cannot reboot; stop() only hangs up, the VM stays for the next `test`.
 */
export class AttachedQemuMachine implements Machine {
  readonly backend = 'qemu';
  private readonly ssh: SshSession;
  private readonly consoleFile: ConsoleFile;

  constructor(
    runDir: string,
    port: number,
    consolePath: string,
    readonly accel: string,
  ) {
    const hostKey = /^ssh-ed25519 (\S+)/.exec(readFileSync(join(runDir, 'guest', 'host_key.pub'), 'utf8'))?.[1];
    if (!hostKey)
      throw new InfrastructureError(
        `${runDir}/guest/host_key.pub holds no ed25519 key`,
        'boot a new VM with `syscall-lab boot`',
      );
    this.ssh = new SshSession({
      host: '127.0.0.1',
      port,
      username: 'root',
      privateKey: readFileSync(join(runDir, 'id_ed25519'), 'utf8'),
      hostKey: Buffer.from(hostKey, 'base64'),
    });
    this.consoleFile = new ConsoleFile(consolePath);
  }

  async start(): Promise<void> {
    try {
      await this.ssh.connect(20_000, () => null);
    } catch (error) {
      throw new InfrastructureError(
        `the kept VM does not answer: ${(error as Error).message}`,
        'boot it again with `syscall-lab boot`',
        this.consoleFile.tail(20),
      );
    }
  }

  exec(command: string, options: ExecOptions): Promise<ExecResult> {
    return this.ssh.exec(command, options);
  }

  copy(local: string, remote: string): Promise<void> {
    return this.ssh.upload(local, remote);
  }

  async reboot(): Promise<void> {
    throw new InfrastructureError(
      'a kept VM is not rebooted by `syscall-lab test`',
      'use `syscall-lab boot` for another kernel',
    );
  }

  console(): ConsoleLog {
    return this.consoleFile;
  }

  async stop(): Promise<void> {
    this.ssh.close();
  }
}
