import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaults } from '../options.ts';
import { InfrastructureError } from '../errors.ts';
import { cache, lockKey, shortHash } from '../kernel/cache.ts';
import { projectRoot } from '../paths.ts';
import { killGroup, onExit } from '../reaper.ts';
import { runTool } from '../spawn.ts';

/** The box `syscall-lab box build` makes from Debian's apt alone. */
export const offlineBoxName = 'syscall-lab/bookworm';
const boxScript = join(projectRoot, 'src', 'vm', 'vagrant-box.sh');
export const libvirtUri = 'qemu:///system';

/** Vagrant's insecure public key, which a fresh box must accept (Debian's or HashiCorp's package). */
export function insecurePublicKey(
  gemRoots = ['/usr/share/rubygems-integration/all/gems', '/opt/vagrant/embedded/gems/gems'],
): string {
  for (const root of gemRoots.filter((dir) => existsSync(dir))) {
    const gem = readdirSync(root)
      .filter((name) => /^vagrant-\d/.test(name))
      .sort()
      .pop();
    const key = gem && join(root, gem, 'keys', 'vagrant.pub');
    if (key && existsSync(key)) return key;
  }
  throw new InfrastructureError("Vagrant's insecure key (keys/vagrant.pub) was not found", 'apt-get install vagrant');
}

/** Libvirt pool volume names that vagrant-libvirt gives a box's uploaded image. */
function boxVolumePrefix(box: string): string {
  return box.replaceAll('/', '-VAGRANTSLASH-');
}

export async function boxIsInstalled(box: string): Promise<boolean> {
  const listed = await runTool('vagrant', ['box', 'list', '--machine-readable'], { reject: false });
  return listed.stdout
    .split('\n')
    .map((line) => line.split(','))
    .some((fields) => fields[2] === 'box-name' && fields[3] === box);
}

/**
 * Makes the offline box (cached by the recipe: vagrant-box.sh and the insecure key) and adds it
 * to Vagrant when missing or made from an older recipe. Returns the box file.
 */
export async function ensureOfflineBox(
  say: (line: string) => void,
  lockTimeout: number = defaults.lockTimeout,
): Promise<string> {
  const publicKey = insecurePublicKey();
  const key = shortHash([readFileSync(boxScript, 'utf8'), readFileSync(publicKey, 'utf8')]);
  const file = join(cache.boxes(), `bookworm-${key}.box`);
  const addedMarker = join(cache.boxes(), `bookworm-${key}.added`);
  await using _lock = await lockKey(`box-${key}`, { timeoutSeconds: lockTimeout, onWait: say });
  if (!existsSync(file)) {
    if (process.getuid?.() !== 0) {
      throw new InfrastructureError(
        `the offline box ${offlineBoxName} is not built, and building it needs root (mmdebstrap, a loop mount)`,
        'run `sudo npx syscall-lab box build` once',
      );
    }
    mkdirSync(cache.boxes(), { recursive: true });
    say(`building the offline box ${offlineBoxName} with mmdebstrap (3-5 minutes, once)`);
    const child = runTool(boxScript, ['--out', file, '--public-key', publicKey], {
      all: true,
      reject: false,
      detached: true,
    });
    const forget = onExit(() => {
      if (child.pid) killGroup(child.pid, 'SIGTERM');
    });
    const result = await child;
    forget();
    writeFileSync(join(cache.boxes(), 'build.log'), result.all);
    if (result.exitCode !== 0) {
      throw new InfrastructureError(
        `building the box failed: ${result.all
          .split('\n')
          .filter((l) => l.includes('error'))
          .slice(-2)
          .join(' ')}`,
        `see ${join(cache.boxes(), 'build.log')}`,
      );
    }
  }
  if (!existsSync(addedMarker) || !(await boxIsInstalled(offlineBoxName))) {
    // A re-added box must not boot from the image vagrant-libvirt uploaded for the old one.
    await removeBoxVolumes(offlineBoxName);
    const added = await runTool('vagrant', ['box', 'add', '--force', '--name', offlineBoxName, file], {
      all: true,
      reject: false,
    });
    if (added.exitCode !== 0)
      throw new InfrastructureError(
        `vagrant box add failed: ${added.all.split('\n').slice(-3).join(' ')}`,
        'see `vagrant box list`',
      );
    writeFileSync(addedMarker, `${new Date().toISOString()}\n`);
    say(`added the box ${offlineBoxName}`);
  }
  return file;
}

/** Deletes the images vagrant-libvirt left in libvirt's default pool for `box` (destroy keeps them). */
export async function removeBoxVolumes(box: string): Promise<string[]> {
  const listed = await runTool('virsh', ['-c', libvirtUri, 'vol-list', 'default', '--details'], { reject: false });
  if (listed.exitCode !== 0) return [];
  const prefix = boxVolumePrefix(box);
  const names = listed.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name.startsWith(prefix));
  for (const name of names)
    await runTool('virsh', ['-c', libvirtUri, 'vol-delete', '--pool', 'default', name], { reject: false });
  return names;
}
