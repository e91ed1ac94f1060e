import { setTimeout as sleep } from 'node:timers/promises';
import ssh2 from 'ssh2';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import { TimeoutError } from '../errors.ts';
import type { ExecOptions, ExecResult } from '../vm/machine.ts';

/**
 * Between login attempts while the guest boots: once sshd listens, QEMU's forwarded port refuses
 * (or drops) a connection at once until it answers, so a short pause costs nothing and the login
 * comes within 0.2 s (bench: boot-patched). Before sshd listens, see connect()'s `listening`.
 */
const retryDelayMs = 200;
/** How often connect() asks `listening` (a read of the console file). */
const listeningPollMs = 50;

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /**
   * The only host key accepted. Undefined: the first key presented is accepted and pinned
   * (trust on first use, for guests whose key the harness did not make), see pinnedHostKey.
   */
  hostKey: Buffer | undefined;
}

/** Quotes one argument for a POSIX shell: remote commands never interpolate raw input. */
export function shellQuote(argument: string): string {
  return /^[A-Za-z0-9_@%+:,./-]+$/.test(argument) ? argument : `'${argument.replaceAll("'", `'\\''`)}'`;
}

export function shellCommand(args: string[]): string {
  return args.map(shellQuote).join(' ');
}

/**
 * One kept SSH connection (ssh2) for every command of a boot: exec with a timeout, SFTP upload.
 * connect() retries until its deadline, because QEMU accepts the forwarded TCP connection
 * before sshd listens.
 */
export class SshSession {
  private client: ssh2.Client | undefined;
  private sftpChannel: SFTPWrapper | undefined;
  /** Rejecters of the operations in flight: a dropped connection must settle them all. */
  private readonly pending = new Set<(error: Error) => void>();

  private pinned: Buffer | undefined;

  constructor(private readonly target: SshTarget) {
    this.pinned = target.hostKey;
  }

  /** The host key every later connection of this session must present. */
  get pinnedHostKey(): Buffer | undefined {
    return this.pinned;
  }

  /**
   * Retries until connected or `timeoutMs` passes; `stillBooting` stops early (e.g. QEMU died).
   * With `listening`, no attempt is made before it says the guest's SSH server has started:
   * QEMU's user network accepts the host side of a connection at once and then sends the guest
   * SYNs with TCP's backoff (1 s, 2 s, ...), so an attempt made before the server listens waits
   * for the next retransmission, seconds after the server came up.
   */
  async connect(timeoutMs: number, stillBooting: () => string | null, listening?: () => boolean): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let attempts = 0;
    let lastError = 'no attempt';
    while (Date.now() < deadline) {
      const reason = stillBooting();
      if (reason) throw new Error(reason);
      if (listening && !listening()) {
        lastError = 'the guest has not started its SSH server';
        await sleep(listeningPollMs);
        continue;
      }
      attempts++;
      try {
        const client = await this.once(Math.min(20_000, Math.max(1000, deadline - Date.now())));
        client.on('close', () => {
          this.dropAll(new Error('the SSH connection to the guest closed'));
        });
        this.client = client;
        return attempts;
      } catch (error) {
        lastError = (error as Error).message;
        if (/host key/i.test(lastError)) throw error;
        await sleep(retryDelayMs);
      }
    }
    throw new TimeoutError(
      `no SSH login on ${this.target.host}:${this.target.port} within ${Math.round(timeoutMs / 1000)} s (${attempts} attempts, last: ${lastError})`,
    );
  }

  private once(readyTimeout: number): Promise<ssh2.Client> {
    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      let hostKeyMismatch = false;
      client
        .on('ready', () => {
          resolve(client);
        })
        .on('error', (error) => {
          client.end();
          reject(hostKeyMismatch ? new Error('the guest presented a host key other than the pinned one') : error);
        })
        .connect({
          host: this.target.host,
          port: this.target.port,
          username: this.target.username,
          privateKey: this.target.privateKey,
          readyTimeout,
          keepaliveInterval: 15_000,
          hostVerifier: (key: Buffer) => {
            this.pinned ??= Buffer.from(key);
            hostKeyMismatch = !key.equals(this.pinned);
            return !hostKeyMismatch;
          },
        });
    });
  }

  private dropAll(error: Error): void {
    for (const reject of this.pending) reject(error);
    this.pending.clear();
  }

  /** A promise that also rejects if the connection drops before it settles. */
  private settle<T>(operation: (resolve: (value: T) => void, reject: (error: Error) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (error: Error): void => {
        this.pending.delete(fail);
        reject(error);
      };
      this.pending.add(fail);
      operation((value) => {
        this.pending.delete(fail);
        resolve(value);
      }, fail);
    });
  }

  async exec(command: string, options: ExecOptions): Promise<ExecResult> {
    const client = this.connected();
    // The guest kills the command too, so nothing keeps running after a timeout.
    const seconds = Math.max(1, Math.ceil(options.timeout / 1000));
    const wrapped = `timeout -k 5 ${seconds} sh -c ${shellQuote(command)}`;
    return this.settle<ExecResult>((resolve, reject) => {
      client.exec(wrapped, (error, channel: ClientChannel) => {
        if (error) {
          reject(error);
          return;
        }
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => {
          channel.close();
          reject(new TimeoutError(`guest command timed out after ${seconds} s: ${command}`));
        }, options.timeout + 10_000);
        channel.on('data', (data: Buffer) => (stdout += data.toString('utf8')));
        channel.stderr.on('data', (data: Buffer) => (stderr += data.toString('utf8')));
        channel.on('close', (code: number | null, signal?: string) => {
          clearTimeout(timer);
          // timeout(1) exits 124 when it had to stop the command.
          if (code === 124) {
            reject(new TimeoutError(`guest command timed out after ${seconds} s: ${command}`));
            return;
          }
          resolve({ code: signal ? null : (code ?? null), stdout, stderr });
        });
        if (options.stdin !== undefined) channel.end(options.stdin);
        else channel.end();
      });
    });
  }

  async upload(local: string, remote: string, mode?: number): Promise<void> {
    const sftp = await this.sftp();
    await this.settle<undefined>((resolve, reject) => {
      sftp.fastPut(local, remote, mode === undefined ? {} : { mode }, (error) => {
        if (error) reject(error);
        else resolve(undefined);
      });
    });
  }

  async download(remote: string, local: string): Promise<void> {
    const sftp = await this.sftp();
    await this.settle<undefined>((resolve, reject) => {
      sftp.fastGet(remote, local, (error) => {
        if (error) reject(error);
        else resolve(undefined);
      });
    });
  }

  private async sftp(): Promise<SFTPWrapper> {
    if (this.sftpChannel) return this.sftpChannel;
    const client = this.connected();
    this.sftpChannel = await this.settle<SFTPWrapper>((resolve, reject) =>
      client.sftp((error, sftp) => {
        if (error) reject(error);
        else resolve(sftp);
      }),
    );
    return this.sftpChannel;
  }

  private connected(): ssh2.Client {
    if (!this.client) throw new Error('SSH session is not connected');
    return this.client;
  }

  close(): void {
    this.sftpChannel?.end();
    this.sftpChannel = undefined;
    this.client?.end();
    this.client = undefined;
  }
}
