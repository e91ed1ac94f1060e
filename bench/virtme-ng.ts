import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheRoot, projectRoot } from '../src/paths.ts';

/** The peer's source, beside this project (../shared/peers); users with virtme-ng installed get `vng` from PATH. */
const sharedTarball = join(projectRoot, '..', 'shared', 'peers', 'virtme-ng-4d9dc4d.tar.gz');

/**
 * virtme-ng on the same bzImage: `vng --run BZIMAGE --exec true`, QEMU start to its exit, as a
 * developer would time it. Here it needs --disable-kvm (no usable KVM) and --force-9p (virtiofsd
 * fails in this sandbox); it needs Debian's python3-argcomplete and python3-requests.
 */
export async function virtmeNg(bzImage: string): Promise<{ seconds: number | undefined; how: string }> {
  const command = await findVng();
  if (typeof command === 'string') return { seconds: undefined, how: command };
  process.stderr.write(`\n=== virtme-ng: ${command.join(' ')} ===\n`);
  const started = Date.now();
  const [program = 'vng', ...programArgs] = command;
  const result = await execa(
    program,
    [...programArgs, ...['--run', bzImage, '--disable-kvm', '--force-9p', '--verbose', '--exec', 'echo vng-ran-it']],
    { reject: false, all: true },
  );
  const seconds = (Date.now() - started) / 1000;
  // This kernel has no virtio-serial, so vng falls back to the console for the command's output
  // (shown with --verbose) and exits 255 after the guest powered off: the output is the proof.
  if (!result.all.includes('vng-ran-it'))
    return { seconds: undefined, how: `vng exited ${String(result.exitCode)} without the command's output` };
  return {
    seconds,
    how: programArgs.length > 0 ? 'from ../shared/peers' : 'vng from PATH',
  };
}

/** The command that runs vng, or why there is none. */
async function findVng(): Promise<string[] | string> {
  if ((await execa('sh', ['-c', 'command -v vng'], { reject: false })).exitCode === 0) return ['vng'];
  if (!existsSync(sharedTarball)) return `no vng on PATH and no ${sharedTarball}`;
  const python = '/usr/bin/python3';
  const modules = await execa(python, ['-c', 'import argcomplete, requests'], { reject: false });
  if (modules.exitCode !== 0) return 'needs: apt-get install python3-argcomplete python3-requests';
  const folder = join(cacheRoot(), 'bench', 'virtme-ng');
  if (!existsSync(join(folder, 'vng'))) {
    mkdirSync(folder, { recursive: true });
    await execa('tar', ['-xzf', sharedTarball, '-C', folder, '--strip-components=1']);
  }
  return [python, join(folder, 'vng')];
}
