import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  entries,
  isRunning,
  makeFakeBuild,
  processesMentioning,
  startFakeBuild,
  waitForFile,
} from './support/fake-build.ts';
import { useTempDirs } from './support/temp.ts';

// A build killed halfway with SIGKILL (no cleanup ran: its make goes on, its scratch folder,
// lock and half-built tree stay). The next build must notice: reap the orphaned make, remove
// the scratch folder (and the temporary files in it), distrust the tree that has no complete
// marker and rebuild it from the source, and publish whole kernels.
const tempDir = useTempDirs('syscall-lab-killed-');

const read = (file: string): string => readFileSync(file, 'utf8').trim();

describe.each(['stock', 'patched'] as const)('a build SIGKILLed during the %s make', (kind) => {
  it('is reaped by the next build, which rebuilds the tree from the source instead of trusting it', async () => {
    const root = tempDir();
    const fake = makeFakeBuild(root);
    const cacheDir = join(root, 'cache');
    const tmp = join(root, 'tmpdir');
    mkdirSync(tmp);
    const env = { TMPDIR: tmp };

    const killed = startFakeBuild(fake, cacheDir, { ...env, FAKE_MAKE_HANG: kind });
    let exited = false;
    void killed.finally(() => (exited = true));
    const makePid = Number(await waitForFile(join(fake.state, `${kind}.pid`), () => !exited));
    const tmpFile = read(join(fake.state, `${kind}.tmpfile`));
    killed.kill('SIGKILL');
    const first = await killed;
    expect(first.signal).toBe('SIGKILL');

    // What the killed run left: its make still running, its scratch folder, its lock, a tree
    // without the complete marker that holds half a build.
    expect(isRunning(makePid), 'the orphaned make should outlive a SIGKILLed CLI').toBe(true);
    const scratch = entries(join(cacheDir, 'tmp'));
    expect(scratch).toEqual([expect.stringMatching(new RegExp(`^[0-9a-f]{24}-${killed.pid}$`))]);
    const [treeKey] = entries(join(cacheDir, 'trees'));
    const tree = join(cacheDir, 'trees', treeKey!);
    expect(existsSync(join(tree, 'complete'))).toBe(false);
    expect(existsSync(join(tree, 'linux-6.1', 'half-built'))).toBe(true);
    const lock = join(cacheDir, 'locks', `tree-${treeKey}.lock`);
    expect(existsSync(lock)).toBe(true);
    expect(entries(join(cacheDir, 'builds'))).toHaveLength(kind === 'stock' ? 0 : 1);

    // The lock names the killed run, which is dead: the next build takes it at once.
    expect(JSON.parse(read(join(lock, 'holder')))).toMatchObject({ pid: killed.pid });

    const next = await startFakeBuild(fake, cacheDir, env);
    expect(next.exitCode, next.all).toBe(0);
    // The orphaned build (upgrade-kernel.sh and its make, one process group) was killed.
    expect(next.all).toMatch(new RegExp(`reaped make \\d+ of dead run ${killed.pid}`));
    expect(isRunning(makePid)).toBe(false);
    expect(processesMentioning(cacheDir)).toEqual([]);
    expect(entries(join(cacheDir, 'tmp'))).toEqual([]);
    expect(existsSync(tmpFile), "the killed build's temporary file").toBe(false);

    // The tree was unpacked again from the source and built anew, stock then patched.
    expect(read(join(fake.state, 'stock.count'))).toBe('2');
    expect(next.all).toMatch(/\[\S+ stock\] building stock kernel/);
    expect(existsSync(join(tree, 'linux-6.1', 'half-built'))).toBe(false);
    expect(existsSync(join(tree, 'complete'))).toBe(true);
    const table = read(join(tree, 'linux-6.1', 'arch/x86/entry/syscalls/syscall_64.tbl'));
    expect(table.split('\n').filter((line) => /\bsys_callcount\b/.test(line))).toHaveLength(1);

    // Whole kernels are published: the stock one without the patch, the patched one with it once.
    const stock = /^6\.1\.0-stock: (\S+)$/m.exec(next.stdout);
    const patched = /^6\.1\.0(-patched-\w+): (\S+)$/m.exec(next.stdout);
    expect(stock, next.stdout).not.toBeNull();
    expect(patched, next.stdout).not.toBeNull();
    expect(read(join(stock![1]!, 'bzImage'))).toBe('fake bzImage-stock callcount=0');
    expect(read(join(patched![2]!, 'bzImage'))).toBe(`fake bzImage${patched![1]} callcount=1`);
    expect(entries(join(cacheDir, 'locks')).filter((name) => name.endsWith('.lock'))).toEqual([]);
  }, 180_000);
});
