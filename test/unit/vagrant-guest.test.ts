import { cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { projectRoot, upgradeKernelScript } from '../../src/paths.ts';
import { makeFakeBuild } from './support/fake-build.ts';
import { useTempDirs } from './support/temp.ts';

// The guest side of Vagrant: the offline box takes key logins only (vagrant-box.sh's
// configure_login, run here on a folder shaped like the image's /etc and /home), and a provision
// from a stage folder of its own (the Vagrantfile's /var/tmp/syscall-lab-<random>) still stops
// early when the inputs are the same as the previous provision's, from another stage folder.
// That Vagrant still logs in with its insecure key, and then its own, is what
// `npm run test:vagrant` shows on the real box.
const tempDir = useTempDirs('syscall-lab-guest-');
const boxScript = join(projectRoot, 'src', 'vm', 'vagrant-box.sh');
const isRoot = process.getuid?.() === 0;

const insecureKey =
  'ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key\n';

/** A folder with what configure_login reads: etc/shadow (root:shadow 0640 in the image) and /home/vagrant. */
function imageRoot(shadow: string): string {
  const root = tempDir();
  mkdirSync(join(root, 'etc', 'ssh', 'sshd_config.d'), { recursive: true });
  mkdirSync(join(root, 'home', 'vagrant'), { recursive: true });
  writeFileSync(join(root, 'etc', 'shadow'), shadow, { mode: 0o640 });
  return root;
}

async function configureLogin(root: string, key: string) {
  return execa('bash', ['-c', 'source "$1" && configure_login "$2" "$3"', 'configure-login', boxScript, root, key], {
    reject: false,
    all: true,
  });
}

describe('the offline box: key logins only (vagrant-box.sh configure_login)', () => {
  const shadow = ['root::19700:0:99999:7:::', 'daemon:*:19700:0:99999:7:::', 'vagrant:!:19700:0:99999:7:::', ''].join(
    '\n',
  );

  it("locks the vagrant user's password, lets sshd take no password, and authorizes the insecure key", async () => {
    const root = imageRoot(shadow);
    const key = join(tempDir(), 'vagrant.pub');
    writeFileSync(key, insecureKey);
    const result = await configureLogin(root, key);
    expect(result.all).toBe('');
    expect(result.exitCode).toBe(0);

    expect(readFileSync(join(root, 'etc', 'shadow'), 'utf8')).toBe(
      ['root:*:19700:0:99999:7:::', 'daemon:*:19700:0:99999:7:::', 'vagrant:*:19700:0:99999:7:::', ''].join('\n'),
    );
    expect(statSync(join(root, 'etc', 'shadow')).mode & 0o777).toBe(0o640);

    const sshd = readFileSync(join(root, 'etc', 'ssh', 'sshd_config.d', 'vagrant.conf'), 'utf8').split('\n');
    expect(sshd).toEqual(
      expect.arrayContaining([
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitEmptyPasswords no',
        'PubkeyAuthentication yes',
        'PubkeyAcceptedAlgorithms +ssh-rsa',
      ]),
    );
    expect(sshd.filter((line) => /^(PasswordAuthentication|KbdInteractiveAuthentication) yes/i.test(line))).toEqual([]);

    const ssh = join(root, 'home', 'vagrant', '.ssh');
    expect(readFileSync(join(ssh, 'authorized_keys'), 'utf8')).toBe(insecureKey);
    expect(statSync(ssh).mode & 0o777).toBe(0o700);
    expect(statSync(join(ssh, 'authorized_keys')).mode & 0o777).toBe(0o600);
    if (isRoot) expect([statSync(ssh).uid, statSync(join(ssh, 'authorized_keys')).gid]).toEqual([1000, 1000]);

    // Twice is the same.
    expect((await configureLogin(root, key)).exitCode).toBe(0);
    expect(readFileSync(join(root, 'etc', 'shadow'), 'utf8')).toContain('vagrant:*:');
  });

  it('refuses an image without the vagrant user', async () => {
    const root = imageRoot('root:*:19700:0:99999:7:::\n');
    const result = await configureLogin(root, join(tempDir(), 'missing.pub'));
    expect(result.exitCode).toBe(70);
    expect(result.all).toBe(`vagrant-box.sh: error: ${root}/etc/shadow has no vagrant user (useradd first)`);
  });

  it('the box recipe sets no password and configures logins through configure_login', () => {
    const script = readFileSync(boxScript, 'utf8');
    expect(script).not.toMatch(/chpasswd|vagrant:vagrant|--password|PasswordAuthentication yes/);
    expect(script).toMatch(/^ {2}configure_login "\$root" "\$public_key"$/m);
  });
});

describe('provisioning from a new stage folder each time (the Vagrantfile)', () => {
  /** What the Vagrantfile uploads into a stage: the script and its data, the patches, a source tarball. */
  async function stage(root: string, fakeTreeTarball: string, patches: string): Promise<string> {
    const dir = join(root, `stage-${Math.random().toString(16).slice(2)}`);
    mkdirSync(join(dir, 'src', 'kernel'), { recursive: true });
    cpSync(upgradeKernelScript, join(dir, 'upgrade-kernel.sh'));
    for (const data of ['versions.tsv', 'config', 'compat']) {
      cpSync(join(projectRoot, 'src', 'kernel', data), join(dir, 'src', 'kernel', data), { recursive: true });
    }
    cpSync(patches, join(dir, 'patches'), { recursive: true });
    cpSync(fakeTreeTarball, join(dir, 'linux-6.1.tar.gz'));
    return dir;
  }

  it('the second provision, from another stage with the same inputs, stops early', async () => {
    const root = tempDir();
    const fake = makeFakeBuild(root);
    const tarball = join(root, 'linux-6.1.tar.gz');
    await execa('tar', ['-czf', tarball, '-C', root, 'linux-6.1']);
    const guest = join(root, 'guest');
    mkdirSync(join(guest, 'boot', 'extlinux'), { recursive: true });
    writeFileSync(join(guest, 'boot', 'extlinux', 'extlinux.conf'), 'DEFAULT debian\nLABEL debian\n  LINUX /vmlinuz\n');
    const provision = async (dir: string) =>
      execa(
        join(dir, 'upgrade-kernel.sh'),
        [
          '--source',
          join(dir, 'linux-6.1.tar.gz'),
          '--patches',
          join(dir, 'patches'),
          '--jobs',
          '1',
          '--work',
          join(root, 'work'),
          '--install-root',
          guest,
          '--cmdline',
          'root=/dev/vda1 ro',
        ],
        {
          env: { PATH: `${fake.fakeBin}:${process.env.PATH ?? ''}`, FAKE_MAKE_STATE: fake.state },
          reject: false,
          all: true,
        },
      );
    const first = await provision(await stage(root, tarball, fake.patches));
    expect(first.exitCode, first.all).toBe(0);
    const second = await provision(await stage(root, tarball, fake.patches));
    expect(second.exitCode, second.all).toBe(0);
    expect(second.all).toContain('already built and installed from the same source, patches and config: nothing to do');

    // A different tarball under the same name is another source.
    writeFileSync(join(root, 'linux-6.1', 'kernel', 'sched.c'), 'void schedule(void) { /* changed */ }\n');
    await execa('tar', ['-czf', tarball, '-C', root, 'linux-6.1']);
    const third = await provision(await stage(root, tarball, fake.patches));
    expect(third.exitCode, third.all).toBe(0);
    expect(third.all).not.toContain('nothing to do');
  });
});
