import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';

const { Server, utils } = ssh2;
const { OK, FAILURE } = utils.sftp.STATUS_CODE;

/** A key pair in OpenSSH format, as ssh2 makes it. */
export interface KeyPair {
  private: string;
  public: string;
}

export function ed25519(): KeyPair {
  const pair = utils.generateKeyPairSync('ed25519');
  return { private: pair.private, public: pair.public };
}

export interface GuestOptions {
  /** The private host key the server presents. */
  hostKey: string;
  /** The one public key (OpenSSH format) a login may use. */
  authorizedKey: string;
  /** Runs an exec request's command; the server replies with its output and exit code. */
  run: (command: string, stdin: NodeJS.ReadableStream) => Promise<{ code: number; stdout: string; stderr: string }>;
  /** Listen on this port (after a restart), else a free one. */
  port?: number;
}

/**
 * An in-process SSH server on 127.0.0.1 standing in for the Vagrant guest: publickey logins with
 * one key, exec requests answered by `run`, and SFTP uploads (OPEN/WRITE/FSTAT/CLOSE) written to
 * the real file they name. Records logins, commands and uploads.
 */
export class FakeSshGuest {
  readonly commands: string[] = [];
  readonly logins: string[] = [];
  readonly uploads: string[] = [];
  private readonly clients = new Set<ssh2.Connection>();
  private server: ssh2.Server | undefined;
  port = 0;

  constructor(private readonly options: GuestOptions) {}

  async listen(): Promise<this> {
    const allowed = utils.parseKey(this.options.authorizedKey);
    if (allowed instanceof Error) throw allowed;
    const server = new Server({ hostKeys: [this.options.hostKey] }, (client) => {
      this.clients.add(client);
      client.on('close', () => this.clients.delete(client));
      client.on('error', () => undefined);
      client.on('authentication', (ctx) => {
        if (ctx.method !== 'publickey') {
          ctx.reject(['publickey']);
          return;
        }
        const sameKey = ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH());
        if (!sameKey) {
          ctx.reject();
          return;
        }
        // Without a signature the client only asks whether the key would do.
        if (ctx.signature && ctx.blob && !allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) {
          ctx.reject();
          return;
        }
        if (ctx.signature) this.logins.push(ctx.username);
        ctx.accept();
      });
      client.on('ready', () => {
        client.on('session', (acceptSession) => {
          const session = acceptSession();
          session.on('exec', (accept, _reject, info) => {
            const stream = accept();
            this.commands.push(info.command);
            void this.options.run(info.command, stream).then(
              ({ code, stdout, stderr }) => {
                stream.write(stdout);
                stream.stderr.write(stderr);
                stream.exit(code);
                stream.end();
              },
              (error: unknown) => {
                stream.stderr.write(error instanceof Error ? error.message : String(error));
                stream.exit(255);
                stream.end();
              },
            );
          });
          session.on('sftp', (acceptSftp) => {
            const sftp = acceptSftp();
            const handles = new Map<number, number>();
            let next = 0;
            const fdOf = (handle: Buffer): number | undefined => handles.get(handle.readUInt32BE(0));
            sftp.on('OPEN', (reqId, filename) => {
              try {
                const fd = openSync(filename, 'w');
                const handle = Buffer.alloc(4);
                handle.writeUInt32BE(++next, 0);
                handles.set(next, fd);
                this.uploads.push(filename);
                sftp.handle(reqId, handle);
              } catch {
                sftp.status(reqId, FAILURE);
              }
            });
            sftp.on('WRITE', (reqId, handle, offset, data) => {
              const fd = fdOf(handle);
              if (fd === undefined) {
                sftp.status(reqId, FAILURE);
                return;
              }
              writeSync(fd, data, 0, data.length, offset);
              sftp.status(reqId, OK);
            });
            sftp.on('FSTAT', (reqId) => {
              sftp.status(reqId, FAILURE);
            });
            sftp.on('CLOSE', (reqId, handle) => {
              const fd = fdOf(handle);
              if (fd === undefined) {
                sftp.status(reqId, FAILURE);
                return;
              }
              closeSync(fd);
              handles.delete(handle.readUInt32BE(0));
              sftp.status(reqId, OK);
            });
          });
        });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', () => {
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and drops every connection (the guest went down). */
  async close(): Promise<void> {
    for (const client of this.clients) client.end();
    this.clients.clear();
    const server = this.server;
    this.server = undefined;
    if (server)
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
  }
}

/** Runs a command as the guest's shell would: `sh -c`, with `env` (e.g. a PATH with a fake sudo). */
export function runLocally(env: NodeJS.ProcessEnv) {
  return (command: string, stdin: NodeJS.ReadableStream): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn('sh', ['-c', command], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (data: Buffer) => (stdout += data.toString('utf8')));
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString('utf8')));
      child.stdin.on('error', () => undefined);
      stdin.pipe(child.stdin);
      child.on('error', reject);
      child.on('close', (code) => {
        resolve({ code: code ?? 255, stdout, stderr });
      });
    });
}
