import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SshSession } from '../../src/guest/ssh.ts';

// A loopback port that accepts TCP connections and drops them at once (no SSH server): it only
// counts when the client tried.
let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

async function droppingPort(): Promise<{ port: number; attempts: number[] }> {
  const attempts: number[] = [];
  server = createServer((socket) => {
    attempts.push(Date.now());
    socket.destroy();
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, attempts };
}

const session = (port: number): SshSession =>
  new SshSession({ host: '127.0.0.1', port, username: 'root', privateKey: '', hostKey: undefined });

describe('SshSession.connect', () => {
  it('makes no attempt before the guest says its SSH server listens', async () => {
    const { port, attempts } = await droppingPort();
    const started = Date.now();
    const error = await session(port)
      .connect(
        1500,
        () => null,
        () => Date.now() - started >= 500,
      )
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect(attempts.length).toBeGreaterThan(0);
    expect(Math.min(...attempts) - started).toBeGreaterThanOrEqual(500);
  });

  it('says so when the server never started, without a single attempt', async () => {
    const { port, attempts } = await droppingPort();
    const error = await session(port)
      .connect(
        600,
        () => null,
        () => false,
      )
      .catch((e: unknown) => e as Error);
    expect(attempts).toEqual([]);
    expect((error as Error).message).toMatch(/0 attempts, last: the guest has not started its SSH server/);
  });
});
