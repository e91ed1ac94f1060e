import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../src/errors.ts';
import { runCleanups } from '../../src/reaper.ts';
import { BootError } from '../../src/vm/machine.ts';
import { VagrantMachine, type VagrantOptions } from '../../src/vm/vagrant.ts';
import { parseSshConfig } from '../../src/vm/vagrant-ssh-config.ts';
import { destroyRunVm, reapVagrantLeftovers } from '../../src/vm/vagrant-host.ts';
import { RunFolder } from '../../src/run-folder.ts';
import { FakeVagrant, type FakeVagrantState, type VagrantCall } from './support/fake-vagrant.ts';
import { ed25519, FakeSshGuest, runLocally, type KeyPair } from './support/ssh-guest.ts';
import { useTempDirs } from './support/temp.ts';

// A fake `vagrant` on PATH that records every call (argv and its VAGRANT_*/SYSCALL_LAB_* variables)
// and replies like Vagrant 2.3.4 with vagrant-libvirt; its `ssh-config` points at an in-process
// ssh2 server that plays the guest (exec through a real sh with a fake sudo, SFTP to real files).
const repoRoot = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const tempDir = useTempDirs('syscall-lab-vagrant-');
const originalPath = process.env.PATH;
// Folders for the whole file (useTempDirs empties its own after every test).
const fileDirs: string[] = [];
function fileDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'syscall-lab-vagrant-bin-'));
  fileDirs.push(dir);
  return dir;
}

let bin: string;
let sudoDir: string;
let vagrant: FakeVagrant;
let clientKey: KeyPair;
let identityFile: string;
let hostKeyA: KeyPair;
let hostKeyB: KeyPair;
let guest: FakeSshGuest;
let state: FakeVagrantState;
const started: VagrantMachine[] = [];

function newGuest(hostKey: KeyPair): Promise<FakeSshGuest> {
  const env = { ...process.env, PATH: `${sudoDir}:${originalPath}`, SUDO_LOG: join(sudoDir, 'sudo.log') };
  return new FakeSshGuest({ hostKey: hostKey.private, authorizedKey: clientKey.public, run: runLocally(env) }).listen();
}

/** The argument lists the fake sudo in the guest received, one per call. */
function sudoCalls(): string[][] {
  const file = join(sudoDir, 'sudo.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\x01')
    .filter(Boolean)
    .map((call) => call.split('\0').slice(0, -1));
}

function setState(change: Partial<FakeVagrantState>): void {
  state = { ...state, ...change };
  vagrant.set(state);
}

function machine(runDir: string, options: Partial<VagrantOptions> = {}): VagrantMachine {
  const vm = new VagrantMachine({
    folder: new RunFolder(runDir),
    accel: 'tcg',
    kernelArgs: ['loglevel=7', 'nokaslr'],
    box: 'syscall-lab/bookworm',
    provider: 'libvirt',
    cpus: 2,
    memoryMiB: 1024,
    name: 'syscall-lab-unit-',
    upTimeout: 30_000,
    provisionTimeout: 30_000,
    ...options,
  });
  started.push(vm);
  return vm;
}

function callsOf(command: string): VagrantCall[] {
  return vagrant.calls().filter((call) => call.argv[0] === command);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

const kernel = { image: '/var/cache/syscall-lab/builds/6.1-abc123', release: '6.1.0-patched' };

beforeAll(async () => {
  bin = fileDir();
  sudoDir = fileDir();
  vagrant = new FakeVagrant(bin);
  // The guest's sudo: records its arguments, insists on -n (no password prompt), runs the rest.
  writeFileSync(
    join(sudoDir, 'sudo'),
    `#!/bin/sh\n{ printf '%s\\0' "$@"; printf '\\001'; } >>"$SUDO_LOG"\n[ "$1" = -n ] || { echo 'sudo: a terminal is required to read the password' >&2; exit 1; }\nshift\nexec "$@"\n`,
  );
  chmodSync(join(sudoDir, 'sudo'), 0o755);
  clientKey = ed25519();
  hostKeyA = ed25519();
  hostKeyB = ed25519();
  // Vagrant keeps the key it generated beside the machine state; a folder with a space tests the quoting.
  const keyDir = join(fileDir(), 'my vms');
  mkdirSync(keyDir);
  identityFile = join(keyDir, 'private_key');
  writeFileSync(identityFile, clientKey.private, { mode: 0o600 });
  guest = await newGuest(hostKeyA);
  process.env.PATH = `${bin}:${originalPath}`;
});

afterAll(async () => {
  process.env.PATH = originalPath;
  await guest.close();
  for (const dir of fileDirs) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  vagrant.reset();
  rmSync(join(sudoDir, 'sudo.log'), { force: true });
  state = {
    port: guest.port,
    identityFile,
    console: '[    0.000000] Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)\n',
  };
  vagrant.set(state);
});

afterEach(async () => {
  for (const vm of started.splice(0)) await vm.stop();
});

describe('parseSshConfig', () => {
  const libvirt = [
    'Host default',
    '  HostName 192.168.121.37',
    '  User vagrant',
    '  Port 22',
    '  UserKnownHostsFile /dev/null',
    '  StrictHostKeyChecking no',
    '  PasswordAuthentication no',
    '  IdentityFile "/home/dev/my vms/.vagrant/machines/default/libvirt/private_key"',
    '  IdentityFile /home/dev/.vagrant.d/insecure_private_key',
    '  IdentitiesOnly yes',
    '  LogLevel FATAL',
    '  PubkeyAcceptedKeyTypes +ssh-rsa',
    '  HostKeyAlgorithms +ssh-rsa',
    '',
  ].join('\n');

  it('reads Vagrant 2.3.4 libvirt output: the first IdentityFile, unquoted', () => {
    expect(parseSshConfig(libvirt)).toEqual({
      host: '192.168.121.37',
      port: 22,
      user: 'vagrant',
      identityFile: '/home/dev/my vms/.vagrant/machines/default/libvirt/private_key',
    });
  });

  it('reads a forwarded port (VirtualBox) and CRLF line ends', () => {
    const text = libvirt
      .replace('192.168.121.37', '127.0.0.1')
      .replace('Port 22', 'Port 2222')
      .replaceAll('\n', '\r\n');
    expect(parseSshConfig(text)).toMatchObject({ host: '127.0.0.1', port: 2222 });
  });

  it('takes port 22 when there is no Port line', () => {
    expect(parseSshConfig(libvirt.replace('  Port 22\n', '')).port).toBe(22);
  });

  it('throws on output without HostName, quoting the output', () => {
    const text = libvirt.replace('  HostName 192.168.121.37\n', '');
    const error = (() => {
      try {
        parseSshConfig(text);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toContain('gave no HostName');
    expect((error as Error).message).toContain('Host default');
    expect((error as Error).message).toContain('User vagrant');
  });

  it('throws on a Port that is not a number', () => {
    expect(() => parseSshConfig(libvirt.replace('Port 22', 'Port twenty-two'))).toThrow(/Port twenty-two/);
  });
});

describe('VagrantMachine with a fake vagrant on PATH', () => {
  it('start() runs `vagrant up --no-provision` on the repository Vagrantfile with the run state in the run folder', async () => {
    const runDir = join(tempDir(), 'run-1');
    const lines: string[] = [];
    const vm = machine(runDir, { onOutput: (line) => lines.push(line) });
    await vm.start();

    expect(vagrant.argvs()).toEqual([['up', '--no-provision', '--provider=libvirt'], ['ssh-config']]);
    const up = vagrant.calls()[0]!;
    expect(up.env).toMatchObject({
      VAGRANT_CWD: repoRoot,
      VAGRANT_DOTFILE_PATH: join(runDir, '.vagrant'),
      VAGRANT_DEFAULT_PROVIDER: 'libvirt',
      SYSCALL_LAB_VM_BOX: 'syscall-lab/bookworm',
      SYSCALL_LAB_VM_MEMORY: '1024',
      SYSCALL_LAB_VM_CPUS: '2',
      SYSCALL_LAB_VM_ACCEL: 'tcg',
      SYSCALL_LAB_VM_BOOT_ARGS: 'loglevel=7 nokaslr',
      SYSCALL_LAB_VM_NAME: 'syscall-lab-unit-',
      SYSCALL_LAB_VM_CONSOLE_LOG: join(runDir, 'console.log'),
      SYSCALL_LAB_VM_REBOOT: '0',
    });
    // The Vagrantfile's settings are SYSCALL_LAB_VM_*: no SYSCALL_LAB_<NAME> of the harness's own (the CLI's).
    const harnessNames = Object.keys(up.env).filter(
      (name) => name.startsWith('SYSCALL_LAB_') && !(name in process.env),
    );
    expect(harnessNames.filter((name) => !name.startsWith('SYSCALL_LAB_VM_'))).toEqual([]);
    expect(existsSync(join(up.env.VAGRANT_CWD!, 'Vagrantfile'))).toBe(true);
    // Nothing to build or install yet: the box boots its own kernel.
    expect(Object.keys(up.env).filter((name) => /PREBUILT|KERNEL|PATCHES/.test(name))).toEqual([]);
    // The ssh-config call describes the same machine.
    expect(vagrant.calls()[1]!.env.VAGRANT_DOTFILE_PATH).toBe(join(runDir, '.vagrant'));

    expect(guest.logins.at(-1)).toBe('vagrant');
    expect(vm.consoleLogs).toEqual([join(runDir, 'console.log')]);
    expect(vm.console().since()).toContain('Linux version 6.1.0-18-amd64');
    expect(lines).toContain('==> default: Machine booted and ready!');
    expect(readFileSync(join(runDir, 'vagrant.log'), 'utf8')).toMatch(
      /^\$ vagrant up --no-provision --provider=libvirt\nBringing machine 'default' up/,
    );
    expect(JSON.parse(readFileSync(join(runDir, 'vagrant.env'), 'utf8'))).toMatchObject({
      VAGRANT_DOTFILE_PATH: join(runDir, '.vagrant'),
    });
  });

  it('passes the provider to `vagrant up`', async () => {
    await machine(tempDir(), { provider: 'virtualbox' }).start();
    expect(vagrant.argvs()[0]).toEqual(['up', '--no-provision', '--provider=virtualbox']);
    expect(vagrant.calls()[0]!.env.VAGRANT_DEFAULT_PROVIDER).toBe('virtualbox');
  });

  it('exec runs the command as root through `sudo -n sh -c`, quoted so the guest shell sees it unchanged', async () => {
    const vm = machine(tempDir());
    await vm.start();
    const command = `printf '%s|' "it's" "$((6 * 7))" 'a  b'; echo; echo oops >&2; exit 3`;
    const result = await vm.exec(command, { timeout: 10_000 });
    expect(result).toEqual({ code: 3, stdout: "it's|42|a  b|\n", stderr: 'oops\n' });
    expect(sudoCalls()).toEqual([['-n', 'sh', '-c', command]]);
    // Bounded in the guest too.
    expect(guest.commands.at(-1)).toMatch(/^timeout -k 5 10 sh -c /);
  });

  it('exec passes stdin through', async () => {
    const vm = machine(tempDir());
    await vm.start();
    expect(await vm.exec('cat', { timeout: 10_000, stdin: 'to the guest\n' })).toEqual({
      code: 0,
      stdout: 'to the guest\n',
      stderr: '',
    });
  });

  it('copy uploads over SFTP beside the login user, then moves the file into place as root', async () => {
    const vm = machine(tempDir());
    await vm.start();
    const local = join(tempDir(), 'probe.c');
    writeFileSync(local, 'int main(void) { return 0; }\n');
    const remoteDir = tempDir();
    const remote = join(remoteDir, 'probe.c');
    await vm.copy(local, remote);
    expect(readFileSync(remote, 'utf8')).toBe('int main(void) { return 0; }\n');
    const staged = guest.uploads.at(-1)!;
    expect(staged).toMatch(new RegExp(`^/tmp/\\.syscall-lab-upload-${process.pid}-\\d+$`));
    expect(existsSync(staged)).toBe(false);
    expect(sudoCalls()).toEqual([['-n', 'sh', '-c', `mv -f ${staged} ${remote}`]]);

    // A destination the move cannot reach is an error that says why.
    const error = await vm.copy(local, join(remoteDir, 'missing', 'probe.c')).catch((e: unknown) => e);
    const second = guest.uploads.at(-1)!;
    rmSync(second, { force: true });
    expect(second).not.toBe(staged);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toMatch(/^could not move the upload to .*missing\/probe\.c: mv: /);
  });

  it('reboot(kernel) provisions the prebuilt kernel, reloads without provisioning, and logs in again', async () => {
    const runDir = tempDir();
    const vm = machine(runDir);
    await vm.start();
    const loginsBefore = guest.logins.length;
    vagrant.reset();
    await vm.reboot(kernel);

    expect(vagrant.argvs()).toEqual([['provision'], ['reload', '--no-provision'], ['ssh-config']]);
    const provision = callsOf('provision')[0]!;
    expect(provision.env).toMatchObject({
      SYSCALL_LAB_VM_PREBUILT: kernel.image,
      SYSCALL_LAB_VM_REBOOT: '0',
      VAGRANT_DOTFILE_PATH: join(runDir, '.vagrant'),
    });
    expect(callsOf('reload')[0]!.env.SYSCALL_LAB_VM_REBOOT).toBe('0');
    expect(guest.logins.length).toBe(loginsBefore + 1);
    expect((await vm.exec('echo back', { timeout: 10_000 })).stdout).toBe('back\n');
  });

  it('reboot(kernel) with --build-in-guest provisions a build instead of a prebuilt kernel', async () => {
    const vm = machine(tempDir(), {
      buildInGuest: {
        version: '6.1',
        patchDirs: ['/p/compat', '/p/callcount'],
        source: '/src/linux-6.1.tar.xz',
        localversion: '-patched',
      },
    });
    await vm.start();
    await vm.reboot(kernel);
    const provision = callsOf('provision')[0]!;
    expect(provision.env).toMatchObject({
      SYSCALL_LAB_VM_KERNEL: '6.1',
      SYSCALL_LAB_VM_PATCHES: '/p/compat:/p/callcount',
      SYSCALL_LAB_VM_LOCALVERSION: '-patched',
      SYSCALL_LAB_VM_KERNEL_SOURCE: '/src/linux-6.1.tar.xz',
    });
    expect(provision.env.SYSCALL_LAB_VM_PREBUILT).toBeUndefined();
  });

  it('reboot() without a kernel only reloads', async () => {
    const vm = machine(tempDir());
    await vm.start();
    vagrant.reset();
    await vm.reboot();
    expect(vagrant.argvs()).toEqual([['reload', '--no-provision'], ['ssh-config']]);
  });

  it('a failed provision is the machine failing, not the kernel: no reload', async () => {
    const vm = machine(tempDir());
    await vm.start();
    vagrant.reset();
    setState({ provision: 'fail' });
    const error = await vm.reboot(kernel).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(error).not.toBeInstanceOf(BootError);
    expect((error as Error).message).toMatch(/^vagrant provision failed \(exit 1\): .*upgrade-kernel\.sh: error/);
    expect(vagrant.argvs()).toEqual([['provision']]);
  });

  describe('host key pinning', () => {
    const guests: FakeSshGuest[] = [];
    afterEach(async () => {
      for (const g of guests.splice(0)) await g.close();
    });

    async function restartedGuest(hostKey: KeyPair): Promise<FakeSshGuest> {
      const g = await newGuest(hostKey);
      guests.push(g);
      setState({ port: g.port });
      return g;
    }

    it('the guest that comes back after a reload with another host key is refused', async () => {
      const first = await restartedGuest(hostKeyA);
      const vm = machine(tempDir());
      await vm.start();
      expect(first.logins).toEqual(['vagrant']);
      await first.close();

      const impostor = await restartedGuest(hostKeyB);
      const error = await vm.reboot().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BootError);
      expect((error as Error).message).toContain('presented a host key other than the pinned one');
      expect(impostor.logins).toEqual([]);
      expect(impostor.commands).toEqual([]);
    });

    it('the same host key after a reload is accepted', async () => {
      const first = await restartedGuest(hostKeyA);
      const vm = machine(tempDir());
      await vm.start();
      await first.close();
      const again = await restartedGuest(hostKeyA);
      await vm.reboot();
      expect(again.logins).toEqual(['vagrant']);
    });
  });

  it('a failed `vagrant up` rejects with a BootError naming the Vagrant error, with the console tail', async () => {
    const runDir = tempDir();
    setState({
      up: 'fail',
      console:
        '[    0.000000] Linux version 6.1.0-18-amd64\n[    1.234567] virtio_blk virtio2: [vda] 41943040 512-byte logical blocks\n',
    });
    const vm = machine(runDir);
    const error = await vm.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootError);
    const boot = error as BootError;
    expect(boot.message).toContain('the box syscall-lab/bookworm did not boot to SSH');
    expect(boot.message).toContain('vagrant up --no-provision --provider=libvirt failed (exit 1)');
    expect(boot.message).toContain('Error while connecting to Libvirt');
    expect(boot.consoleTail).toContain('virtio_blk virtio2: [vda] 41943040 512-byte logical blocks');
    expect(boot.consolePath).toBe(join(runDir, 'console.log'));
    expect(boot.kernelCrashed).toBe(false);
    expect(vagrant.argvs()).toEqual([['up', '--no-provision', '--provider=libvirt']]);
    // A half-created VM is still destroyed.
    await vm.stop();
    expect(callsOf('destroy').map((call) => call.argv)).toEqual([['destroy', '--force']]);
  });

  it('a reload that times out on a kernel panic is a BootError of that kernel, marked as its crash', async () => {
    const vm = machine(tempDir());
    await vm.start();
    setState({
      reload: 'boot-timeout',
      console:
        '[    0.000000] Linux version 6.1.0-patched\n[    0.912345] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n',
    });
    const error = await vm.reboot(kernel).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootError);
    const boot = error as BootError;
    expect(boot.kernel).toEqual(kernel);
    expect(boot.kernelCrashed).toBe(true);
    expect(boot.consoleTail).toContain('Kernel panic - not syncing: VFS');
    expect(boot.message).toContain('6.1.0-patched did not boot to SSH: vagrant reload --no-provision failed (exit 1)');
    // Vagrant's own words on what went wrong.
    expect(boot.message).toContain('Timed out while waiting for the machine to boot');
  });

  it('a `vagrant up` that hangs past upTimeout rejects with a timeout, and the vagrant process is gone', async () => {
    setState({ up: 'hang' });
    const vm = machine(tempDir(), { upTimeout: 5000 });
    const error = await vm.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootError);
    expect((error as Error).message).toContain('vagrant up did not finish within 5 s');
    const pids = vagrant.pids();
    expect(pids).toHaveLength(1);
    expect(isRunning(pids[0]!)).toBe(false);
    const leftover = await execa('pgrep', ['-f', join(bin, 'fake-vagrant.cjs')], { reject: false });
    expect(leftover.stdout).toBe('');
  });

  it('stop() destroys the VM once; a second stop() does nothing', async () => {
    const runDir = tempDir();
    const vm = machine(runDir);
    await vm.start();
    expect(existsSync(join(runDir, '.vagrant/machines/default/libvirt/id'))).toBe(true);
    await vm.stop();
    await vm.stop();
    const destroys = callsOf('destroy');
    expect(destroys.map((call) => call.argv)).toEqual([['destroy', '--force']]);
    expect(destroys[0]!.env.VAGRANT_DOTFILE_PATH).toBe(join(runDir, '.vagrant'));
    expect(existsSync(join(runDir, '.vagrant/machines/default/libvirt/id'))).toBe(false);
  });

  it('stop() of a machine never started runs no vagrant command', async () => {
    await machine(tempDir()).stop();
    expect(vagrant.calls()).toEqual([]);
  });

  it('exiting without stop() destroys the VM (the exit handler)', async () => {
    const runDir = tempDir();
    const vm = machine(runDir);
    await vm.start();
    vagrant.reset();
    runCleanups(); // what process.on('exit') runs
    const destroys = callsOf('destroy');
    expect(destroys.map((call) => call.argv)).toEqual([['destroy', '--force']]);
    expect(destroys[0]!.env.VAGRANT_DOTFILE_PATH).toBe(join(runDir, '.vagrant'));
    // The exit handler did it: stop() has nothing left to destroy.
    await vm.stop();
    expect(callsOf('destroy')).toHaveLength(1);
  });

  it('keep() leaves the VM running: exiting or disposing of it destroys nothing, and it says how to log in', async () => {
    const runDir = tempDir();
    const vm = machine(runDir);
    await vm.start();
    vagrant.reset();
    const hint = vm.keep();
    runCleanups();
    await vm[Symbol.asyncDispose]();
    expect(vagrant.calls()).toEqual([]);
    expect(existsSync(join(runDir, '.vagrant/machines/default/libvirt/id'))).toBe(true);
    expect(hint).toContain(`VAGRANT_DOTFILE_PATH=${join(runDir, '.vagrant')} vagrant ssh`);
  });

  it('is destroyed when disposed of without being kept (await using), also when the body throws', async () => {
    const runDir = tempDir();
    const failing = async (): Promise<void> => {
      await using vm = machine(runDir);
      await vm.start();
      throw new Error('a check went wrong');
    };
    await expect(failing()).rejects.toThrow('a check went wrong');
    expect(callsOf('destroy')).toHaveLength(1);
    expect(existsSync(join(runDir, '.vagrant/machines/default/libvirt/id'))).toBe(false);
  });
});

describe('reapVagrantLeftovers and destroyRunVm', () => {
  /** A run folder as a run leaves it: vagrant.env, the machine id once `vagrant up` created it, its owner. */
  function runFolder(
    parent: string,
    name: string,
    { owner, created }: { owner: number | null; created: boolean },
  ): string {
    const dir = join(parent, name);
    mkdirSync(dir, { recursive: true });
    const env = new VagrantMachine({
      folder: new RunFolder(dir),
      accel: 'tcg',
      kernelArgs: [],
      box: 'b',
      provider: 'libvirt',
      cpus: 1,
      memoryMiB: 512,
      name: `n-${name}-`,
      upTimeout: 1,
      provisionTimeout: 1,
    }).environment();
    writeFileSync(join(dir, 'vagrant.env'), JSON.stringify(env, null, 2));
    if (created) {
      mkdirSync(join(dir, '.vagrant/machines/default/libvirt'), { recursive: true });
      writeFileSync(join(dir, '.vagrant/machines/default/libvirt/id'), 'e0c1d2f3');
    }
    if (owner !== null) writeFileSync(join(dir, 'owner'), String(owner));
    return dir;
  }

  async function deadPid(): Promise<number> {
    const child = execa('true');
    const pid = child.pid!;
    await child;
    return pid;
  }

  it('destroys the VM of a dead run, skips a live one, and kept ones unless asked', async () => {
    const runs = tempDir();
    const dead = await deadPid();
    const deadRun = runFolder(runs, 'dead', { owner: dead, created: true });
    runFolder(runs, 'live', { owner: process.pid, created: true });
    const keptRun = runFolder(runs, 'kept', { owner: null, created: true });
    runFolder(runs, 'never-up', { owner: dead, created: false });
    mkdirSync(join(runs, 'qemu-run'));
    writeFileSync(join(runs, 'qemu-run', 'owner'), String(dead));

    expect(reapVagrantLeftovers(runs, false)).toEqual(['Vagrant VM of dead run dead']);
    expect(vagrant.calls().map((call) => [call.argv, call.env.VAGRANT_DOTFILE_PATH])).toEqual([
      [['destroy', '--force'], join(deadRun, '.vagrant')],
    ]);

    vagrant.reset();
    expect(reapVagrantLeftovers(runs, true)).toEqual(['Vagrant VM of kept run kept']);
    expect(vagrant.calls().map((call) => [call.argv, call.env.VAGRANT_DOTFILE_PATH])).toEqual([
      [['destroy', '--force'], join(keptRun, '.vagrant')],
    ]);
    expect(existsSync(join(runs, 'live/.vagrant/machines/default/libvirt/id'))).toBe(true);
  });

  it('a runs folder that does not exist reaps nothing', () => {
    expect(reapVagrantLeftovers(join(tmpdir(), `syscall-lab-none-${process.pid}`), true)).toEqual([]);
    expect(vagrant.calls()).toEqual([]);
  });

  it('destroyRunVm uses the vagrant binary it is given, with the run environment, only for a created VM', () => {
    process.env.PATH = originalPath;
    try {
      const runs = tempDir();
      const created = runFolder(runs, 'created', { owner: null, created: true });
      const notCreated = runFolder(runs, 'not-created', { owner: null, created: false });
      expect(destroyRunVm(new RunFolder(notCreated), vagrant.binary)).toBe(false);
      expect(vagrant.calls()).toEqual([]);
      expect(destroyRunVm(new RunFolder(created), vagrant.binary)).toBe(true);
      expect(
        vagrant.calls().map((call) => [call.argv, call.env.VAGRANT_DOTFILE_PATH, call.env.SYSCALL_LAB_VM_NAME]),
      ).toEqual([[['destroy', '--force'], join(created, '.vagrant'), `n-${basename(created)}-`]]);
    } finally {
      process.env.PATH = `${bin}:${originalPath}`;
    }
  });
});
