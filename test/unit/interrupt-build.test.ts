import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  entries,
  isRunning,
  makeFakeBuild,
  processesMentioning,
  startFakeBuild,
  waitForFile,
  type FakeBuild,
} from './support/fake-build.ts';
import { useTempDirs } from './support/temp.ts';

// Ctrl-C or SIGTERM while make runs: `syscall-lab build` with a fake make first on PATH that
// hangs in bzImage. The CLI must stop make (and its whole process group), remove its scratch
// folder and temporary files, release its lock on the tree, publish nothing half-built, and
// exit 130 (SIGINT) or 143 (SIGTERM, 128 + 15).
const tempDir = useTempDirs('syscall-lab-interrupt-');

function setUp() {
  const root = tempDir();
  const fake = makeFakeBuild(root);
  // The CLI and everything it starts put their temporary files here (TMPDIR), to see leftovers.
  const tmp = join(root, 'tmpdir');
  mkdirSync(tmp);
  return { fake, cacheDir: join(root, 'cache'), tmp, env: { TMPDIR: tmp } };
}

/** Starts the build, waits until the fake make of `kind` runs, sends `signal` to the CLI. */
async function interrupt(
  fake: FakeBuild,
  cacheDir: string,
  env: Record<string, string>,
  kind: 'stock' | 'patched',
  signal: NodeJS.Signals,
  command: 'build' | 'run' = 'build',
) {
  const child = startFakeBuild(fake, cacheDir, { ...env, FAKE_MAKE_HANG: kind }, command);
  let exited = false;
  void child.finally(() => (exited = true));
  const makePid = Number(await waitForFile(join(fake.state, `${kind}.pid`), () => !exited));
  const tmpFile = readFileSync(join(fake.state, `${kind}.tmpfile`), 'utf8').trim();
  expect(isRunning(makePid)).toBe(true);
  child.kill(signal);
  const result = await child;
  return { result, makePid, tmpFile };
}

/** What must hold after any interrupted build: nothing running, nothing temporary, no lock. */
function expectNothingLeft(cacheDir: string, tmp: string, makePid: number, tmpFile: string): void {
  expect(isRunning(makePid), 'the fake make is still running').toBe(false);
  expect(processesMentioning(cacheDir)).toEqual([]);
  expect(entries(join(cacheDir, 'tmp'))).toEqual([]);
  expect(existsSync(tmpFile), `${tmpFile} (a temporary file of the build) is left`).toBe(false);
  // tsx keeps its compile cache in TMPDIR (tsx-<uid>): a cache that every run shares, not a leftover.
  expect(entries(tmp).filter((name) => !/^tsx-\d+$/.test(name))).toEqual([]);
  // A lock left behind would make the next run wait until it is stale.
  expect(entries(join(cacheDir, 'locks')).filter((name) => name.endsWith('.lock'))).toEqual([]);
  // No kernel tree is trusted: the one being built (or patched) has no complete marker.
  for (const tree of entries(join(cacheDir, 'trees')))
    expect(existsSync(join(cacheDir, 'trees', tree, 'complete'))).toBe(false);
}

describe('syscall-lab build (and run) interrupted while make runs', () => {
  it.each([
    ['build', 'SIGINT', 130],
    ['build', 'SIGTERM', 143],
    ['run', 'SIGINT', 130],
  ] as const)(
    '%s, %s during the stock build: exit %i, make stopped, nothing left, nothing published',
    async (command, signal, code) => {
      const { fake, cacheDir, tmp, env } = setUp();
      const { result, makePid, tmpFile } = await interrupt(fake, cacheDir, env, 'stock', signal, command);
      expect(result.exitCode, result.all).toBe(code);
      expect(result.all).toContain(`syscall-lab: ${signal}: stopping VMs and builds, removing temporary files`);
      expect(result.all).not.toContain('internal error');
      expectNothingLeft(cacheDir, tmp, makePid, tmpFile);
      expect(entries(join(cacheDir, 'builds'))).toEqual([]);
    },
    120_000,
  );

  it('SIGINT during the patched build: the stock build stays published, the patched one is not, and the next build redoes the tree', async () => {
    const { fake, cacheDir, tmp, env } = setUp();
    const { result, makePid, tmpFile } = await interrupt(fake, cacheDir, env, 'patched', 'SIGINT');
    expect(result.exitCode, result.all).toBe(130);
    expectNothingLeft(cacheDir, tmp, makePid, tmpFile);
    // Only the stock build, whole: one rename published it before the patched build began.
    const builds = entries(join(cacheDir, 'builds'));
    expect(builds).toHaveLength(1);
    const stock = join(cacheDir, 'builds', builds[0]!);
    expect(readFileSync(join(stock, 'kernelrelease'), 'utf8').trim()).toBe('6.1.0-stock');
    expect(readFileSync(join(stock, 'bzImage'), 'utf8')).toContain('callcount=0');

    // The tree was being patched when the build stopped: the next build does not trust it.
    const again = await startFakeBuild(fake, cacheDir, env);
    expect(again.exitCode, again.all).toBe(0);
    expect(readFileSync(join(fake.state, 'stock.count'), 'utf8').trim()).toBe('2');
    expect(again.stdout).toMatch(/^6\.1\.0-stock: \S+$/m);
    const patchedLine = /^(6\.1\.0-patched-\w+): (\S+)$/m.exec(again.stdout);
    expect(patchedLine, again.stdout).not.toBeNull();
    expect(readFileSync(join(patchedLine![2]!, 'bzImage'), 'utf8').trim()).toBe(
      `fake bzImage-${patchedLine![1]!.replace(/^6\.1\.0-/, '')} callcount=1`,
    );
    expect(readdirSync(join(cacheDir, 'tmp'))).toEqual([]);
  }, 180_000);
});
