import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { upgradeKernelScript } from '../../src/paths.ts';
import { makeFakeBuild } from './support/fake-build.ts';
import { useTempDirs } from './support/temp.ts';

// The talk's way, as `vagrant up` provisions a guest with no prebuilt kernel: upgrade-kernel.sh
// without --build-only fetches, patches, builds and installs. `vagrant provision` runs it again:
// with the same inputs that second run must neither re-apply the patches nor fail, and with a
// changed patch it must rebuild. A fake make (test/unit/support/fake-build.ts) stands in for kbuild.
const tempDir = useTempDirs('syscall-lab-provision-');

function provisioner() {
  const root = tempDir();
  const fake = makeFakeBuild(root);
  const guest = join(root, 'guest');
  mkdirSync(join(guest, 'boot', 'extlinux'), { recursive: true });
  writeFileSync(join(guest, 'boot', 'extlinux', 'extlinux.conf'), 'DEFAULT debian\nLABEL debian\n  LINUX /vmlinuz\n');
  const provision = () =>
    execa(
      upgradeKernelScript,
      [
        '--source',
        fake.tree,
        '--patches',
        fake.patches,
        '--localversion',
        '-patched',
        '--jobs',
        '1',
        '--work',
        join(root, 'work'),
        '--install-root',
        guest,
        '--cmdline',
        'root=/dev/vda1 ro console=ttyS0',
      ],
      {
        env: { PATH: `${fake.fakeBin}:${process.env.PATH}`, FAKE_MAKE_STATE: fake.state },
        reject: false,
        all: true,
      },
    );
  const builds = (): number =>
    readFileSync(join(fake.state, 'calls'), 'utf8')
      .split('\n')
      .filter((target) => target === 'bzImage').length;
  return { fake, guest, provision, builds };
}

describe('upgrade-kernel.sh provisioning a guest twice', () => {
  it('builds and installs once, then stops early with the same inputs', async () => {
    const { guest, provision, builds } = provisioner();
    const first = await provision();
    expect(first.exitCode, first.all).toBe(0);
    expect(builds()).toBe(1);
    const conf = readFileSync(join(guest, 'boot', 'extlinux', 'extlinux.conf'), 'utf8');
    expect(conf).toContain('LINUX /boot/vmlinuz-6.1.0-patched');
    expect(readFileSync(join(guest, 'boot', 'vmlinuz-6.1.0-patched'), 'utf8')).toContain('callcount=1');

    const second = await provision();
    expect(second.exitCode, second.all).toBe(0);
    expect(second.all).toContain('nothing to do');
    expect(builds()).toBe(1);
    expect(readFileSync(join(guest, 'boot', 'extlinux', 'extlinux.conf'), 'utf8')).toBe(conf);
  });

  it('rebuilds when a patch changed, applying it once', async () => {
    const { fake, guest, provision, builds } = provisioner();
    expect((await provision()).exitCode).toBe(0);
    const patch = join(fake.patches, '0001-callcount.patch');
    writeFileSync(patch, readFileSync(patch, 'utf8').replace('From:', 'From: (edited)'));
    const again = await provision();
    expect(again.exitCode, again.all).toBe(0);
    expect(again.all).not.toContain('nothing to do');
    expect(builds()).toBe(2);
    expect(readFileSync(join(guest, 'boot', 'vmlinuz-6.1.0-patched'), 'utf8')).toContain('callcount=1');
  });
});
