import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { upgradeKernelScript } from '../../src/paths.ts';
import { snapshotTree, useTempDirs } from './support/temp.ts';

// upgrade-kernel.sh --install-prebuilt, as `vagrant provision` runs it in the guest, run here against
// a folder tree standing in for the guest's root (--install-root). Every run names its root: the
// default is the real /, and these tests may run as root. The GRUB path is not tested: it writes
// /etc/default/grub.d and runs update-grub on the running system.
const tempDir = useTempDirs('syscall-lab-install-');

const release = '6.1.0-patched';
const debianConf = [
  'DEFAULT debian',
  'TIMEOUT 1',
  'LABEL debian',
  '  LINUX /vmlinuz',
  '  INITRD /initrd.img',
  '  APPEND root=/dev/vda1 ro console=ttyS0,115200 net.ifnames=0',
  '',
].join('\n');
// What /proc/cmdline says under the box's extlinux entry.
const boxCmdline = 'BOOT_IMAGE=/vmlinuz initrd=/initrd.img root=/dev/vda1 ro console=ttyS0,115200 net.ifnames=0';

/** A --build-only folder: bzImage, System.map, .config, kernelrelease. */
function prebuiltDir(kernelrelease = `${release}\n`, config = 'CONFIG_64BIT=y\n# CONFIG_MODULES is not set\n'): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'bzImage'), 'MZ fake bzImage\n');
  writeFileSync(join(dir, 'System.map'), 'ffffffff81000000 T _stext\n');
  writeFileSync(join(dir, '.config'), config);
  writeFileSync(join(dir, 'kernelrelease'), kernelrelease);
  return dir;
}

/** A guest root with the box's extlinux.conf (or none). */
function guestRoot(conf: string | null = debianConf, at = 'boot/extlinux/extlinux.conf'): string {
  const root = tempDir();
  mkdirSync(join(root, 'boot'), { recursive: true });
  if (conf !== null) {
    mkdirSync(join(root, at, '..'), { recursive: true });
    writeFileSync(join(root, at), conf);
  }
  return root;
}

/** Fake tools that record their calls, first on PATH; /usr/sbin and /sbin are left out. */
function fakeTools(...names: string[]): { dir: string; calls: () => string } {
  const dir = tempDir();
  for (const name of names) {
    writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >>'${join(dir, 'calls')}'\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return { dir, calls: () => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8') : '') };
}

async function install(dir: string, root: string, options: { cmdline?: string; extra?: string[]; path?: string } = {}) {
  const args = [
    '--install-prebuilt',
    dir,
    ...(options.extra ?? []),
    '--install-root',
    root,
    '--cmdline',
    options.cmdline ?? boxCmdline,
  ];
  return execa(upgradeKernelScript, args, {
    reject: false,
    timeout: 30_000,
    env: { TMPDIR: tempDir(), LC_ALL: 'C', PATH: `${options.path ?? fakeTools().dir}:/usr/bin:/bin` },
  });
}

const conf = (root: string): string => readFileSync(join(root, 'boot/extlinux/extlinux.conf'), 'utf8');

describe('upgrade-kernel.sh --install-prebuilt into an extlinux system', () => {
  it('installs vmlinuz-, System.map- and config-<release> into ROOT/boot', async () => {
    const dir = prebuiltDir();
    const root = guestRoot();
    const result = await install(dir, root);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const boot = join(root, 'boot');
    expect(readdirSync(boot).sort()).toEqual([
      `System.map-${release}`,
      `config-${release}`,
      'extlinux',
      `vmlinuz-${release}`,
    ]);
    expect(readFileSync(join(boot, `vmlinuz-${release}`), 'utf8')).toBe('MZ fake bzImage\n');
    expect(readFileSync(join(boot, `System.map-${release}`), 'utf8')).toBe('ffffffff81000000 T _stext\n');
    expect(readFileSync(join(boot, `config-${release}`), 'utf8')).toContain('# CONFIG_MODULES is not set');
    expect(statSync(join(boot, `vmlinuz-${release}`)).mode & 0o777).toBe(0o644);
    expect(result.stdout).toContain(`installed ${boot}/vmlinuz-${release}`);
    expect(result.stdout).toContain(`extlinux boots ${release} next`);
  });

  it('makes a syscall-lab entry the default, with root= from --cmdline and without BOOT_IMAGE=/initrd=, keeping the Debian entry', async () => {
    const root = guestRoot();
    expect((await install(prebuiltDir(), root)).exitCode).toBe(0);
    expect(conf(root)).toBe(
      [
        'DEFAULT syscall-lab',
        'TIMEOUT 1',
        'LABEL debian',
        '  LINUX /vmlinuz',
        '  INITRD /initrd.img',
        '  APPEND root=/dev/vda1 ro console=ttyS0,115200 net.ifnames=0',
        '# syscall-lab begin',
        'LABEL syscall-lab',
        `  MENU LABEL Linux ${release} (syscall-lab)`,
        `  LINUX /boot/vmlinuz-${release}`,
        '  APPEND root=/dev/vda1 ro console=ttyS0,115200 net.ifnames=0',
        '# syscall-lab end',
        '',
      ].join('\n'),
    );
  });

  it('puts the last root= of --cmdline first and keeps the other arguments in order', async () => {
    const root = guestRoot();
    const cmdline =
      'BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 ro root=/dev/vda1 quiet root=PARTUUID=0badcafe-01 initrd=/boot/initrd.img-6.1.0-18-amd64 console=ttyS0';
    expect((await install(prebuiltDir(), root, { cmdline })).exitCode).toBe(0);
    const append = conf(root)
      .split('\n')
      .filter((line) => line.startsWith('  APPEND '));
    expect(append.at(-1)).toBe('  APPEND root=PARTUUID=0badcafe-01 ro quiet console=ttyS0');
  });

  it('adds the --append arguments (what the checks need, e.g. nokaslr) after the others', async () => {
    const root = guestRoot();
    const result = await install(prebuiltDir(), root, { extra: ['--append', 'loglevel=7 nokaslr no5lvl'] });
    expect(result.exitCode, result.stderr).toBe(0);
    const append = conf(root)
      .split('\n')
      .filter((line) => line.startsWith('  APPEND '));
    expect(append.at(-1)).toBe(
      '  APPEND root=/dev/vda1 ro console=ttyS0,115200 net.ifnames=0 loglevel=7 nokaslr no5lvl',
    );
  });

  it('is idempotent: a second install leaves the same file, with one syscall-lab block', async () => {
    const dir = prebuiltDir();
    const root = guestRoot();
    expect((await install(dir, root)).exitCode).toBe(0);
    const first = snapshotTree(root);
    expect((await install(dir, root)).exitCode).toBe(0);
    expect(snapshotTree(root)).toEqual(first);
    expect(conf(root).match(/^# syscall-lab begin$/gm)).toHaveLength(1);
    expect(conf(root).match(/^LABEL syscall-lab$/gm)).toHaveLength(1);
    expect(conf(root).match(/^DEFAULT /gm)).toHaveLength(1);
  });

  it('a later kernel replaces the block instead of adding one', async () => {
    const root = guestRoot();
    expect((await install(prebuiltDir(), root)).exitCode).toBe(0);
    expect((await install(prebuiltDir('6.1.0-patched2\n'), root)).exitCode).toBe(0);
    const text = conf(root);
    expect(text.match(/^LABEL syscall-lab$/gm)).toHaveLength(1);
    expect(text).toContain('  LINUX /boot/vmlinuz-6.1.0-patched2\n');
    expect(text).not.toContain(`/boot/vmlinuz-${release}\n`);
    expect(text).toContain('LABEL debian\n');
  });

  it('drops a stale initramfs of the same release: a kernel without modules boots without one', async () => {
    const root = guestRoot();
    writeFileSync(join(root, 'boot', `initrd.img-${release}`), 'old initramfs');
    expect((await install(prebuiltDir(), root)).exitCode).toBe(0);
    expect(existsSync(join(root, 'boot', `initrd.img-${release}`))).toBe(false);
    expect(conf(root)).not.toContain('INITRD /boot/initrd.img');
  });

  it("replaces a lowercase default (Debian's extlinux-update), since syslinux takes the last DEFAULT", async () => {
    const extlinuxUpdate = [
      '## /boot/extlinux/extlinux.conf',
      '## Do not edit this file manually, use: extlinux-update',
      '',
      'default l0',
      'prompt 1',
      'timeout 50',
      '',
      'label l0',
      '\tmenu label Debian GNU/Linux, kernel 6.1.0-18-amd64',
      '\tlinux /boot/vmlinuz-6.1.0-18-amd64',
      '\tappend initrd=/boot/initrd.img-6.1.0-18-amd64 root=UUID=4f1c ro quiet',
      '',
    ].join('\n');
    const root = guestRoot(extlinuxUpdate);
    expect((await install(prebuiltDir(), root, { cmdline: 'root=/dev/vda1 ro quiet' })).exitCode).toBe(0);
    const defaults = conf(root)
      .split('\n')
      .filter((line) => /^\s*default\s/i.test(line));
    expect(defaults).toEqual(['DEFAULT syscall-lab']);
    expect(conf(root)).toContain('label l0\n\tmenu label Debian GNU/Linux, kernel 6.1.0-18-amd64\n');
  });

  it('also finds /boot/syslinux/syslinux.cfg', async () => {
    const root = guestRoot(debianConf, 'boot/syslinux/syslinux.cfg');
    expect((await install(prebuiltDir(), root)).exitCode).toBe(0);
    const text = readFileSync(join(root, 'boot/syslinux/syslinux.cfg'), 'utf8');
    expect(text.startsWith('DEFAULT syscall-lab\n')).toBe(true);
    expect(text).toContain(`  LINUX /boot/vmlinuz-${release}\n`);
  });

  it('takes config when the folder has no .config', async () => {
    const dir = prebuiltDir();
    writeFileSync(join(dir, 'config'), readFileSync(join(dir, '.config')));
    rmSync(join(dir, '.config'));
    const root = guestRoot();
    expect((await install(dir, root)).exitCode).toBe(0);
    expect(existsSync(join(root, 'boot', `config-${release}`))).toBe(true);
  });

  it('unpacks modules.tar under ROOT/lib/modules, and refuses to make an initramfs under --install-root (exit 2)', async () => {
    const dir = prebuiltDir(`${release}\n`, 'CONFIG_64BIT=y\nCONFIG_MODULES=y\n');
    const staging = tempDir();
    mkdirSync(join(staging, release, 'kernel'), { recursive: true });
    writeFileSync(join(staging, release, 'kernel', 'callcount.ko'), 'ko');
    await execa('tar', ['-cf', join(dir, 'modules.tar'), '-C', staging, release]);
    const root = guestRoot();
    const tools = fakeTools('update-initramfs');
    const result = await install(dir, root, { path: tools.dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`cannot make an initramfs under --install-root ${root}`);
    expect(readFileSync(join(root, 'lib/modules', release, 'kernel/callcount.ko'), 'utf8')).toBe('ko');
    expect(tools.calls()).toBe('');
    expect(conf(root)).toBe(debianConf);
  });
});

describe('upgrade-kernel.sh --install-prebuilt refuses bad input, changing nothing', () => {
  it.each([
    ['bzImage', 'bzImage'],
    ['System.map', 'System.map'],
    ['.config', 'config'],
    ['kernelrelease', 'kernelrelease'],
  ])('exits 66 when %s is missing, naming it', async (file, named) => {
    const dir = prebuiltDir();
    rmSync(join(dir, file));
    const root = guestRoot();
    const before = snapshotTree(root);
    const result = await install(dir, root);
    expect(result.exitCode).toBe(66);
    expect(result.stderr).toContain(`upgrade-kernel.sh: error: ${join(dir, named)} is missing`);
    expect(snapshotTree(root)).toEqual(before);
  });

  it('exits 66 when the folder does not exist', async () => {
    const root = guestRoot();
    const missing = join(tempDir(), 'prebuilt');
    const result = await install(missing, root);
    expect(result.exitCode).toBe(66);
    expect(result.stderr).toContain(`--install-prebuilt ${missing} does not exist`);
  });

  it.each([['6.1.0 patched\n'], ['../../etc/passwd\n'], ['\n'], ['6.1.0-patched\nsecond line\n']])(
    'exits 65 on the kernelrelease %j',
    async (text) => {
      const root = guestRoot();
      const before = snapshotTree(root);
      const result = await install(prebuiltDir(text), root);
      expect(result.exitCode).toBe(65);
      expect(result.stderr).toContain('not a kernel release');
      expect(snapshotTree(root)).toEqual(before);
    },
  );

  it.each([[['--patches', '/nonexistent/patches']], [['--version', '6.1']], [['--build-only', '/nonexistent/out']]])(
    'exits 2 when combined with %j',
    async (extra) => {
      const root = guestRoot();
      const before = snapshotTree(root);
      const result = await install(prebuiltDir(), root, { extra });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(
        '--install-prebuilt installs a finished kernel: it takes no source, patch or build options',
      );
      expect(snapshotTree(root)).toEqual(before);
    },
  );

  it('exits 69 when the root has neither extlinux.conf nor GRUB', async () => {
    const root = guestRoot(null);
    const tools = fakeTools('update-grub', 'grub-set-default');
    const result = await install(prebuiltDir(), root, { path: tools.dir });
    expect(result.exitCode).toBe(69);
    expect(result.stderr).toContain(`found neither extlinux.conf nor GRUB in ${root}/boot`);
    expect(tools.calls()).toBe('');
  });
});
