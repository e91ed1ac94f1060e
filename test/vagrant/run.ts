/**
 * `npm run test:vagrant`: the real Vagrant end-to-end test, with everything it needs set up here.
 *
 * vagrant-libvirt puts its VMs on a management network with private addresses (192.168.121.0/24).
 * Such addresses must not appear on this machine's own network, so libvirtd (with its bridge and
 * dnsmasq), vagrant, the VM and the test itself all run inside a network namespace made here.
 * Never skips: when it cannot run, it fails and says why.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { projectRoot } from '../../src/paths.ts';

const namespace = process.env.SYSCALL_LAB_NETNS ?? 'syscall-lab-vagrant';
const packages = [
  'vagrant',
  'vagrant-libvirt',
  'libvirt-daemon-system',
  'libvirt-clients',
  'dnsmasq-base',
  'iptables',
  'mmdebstrap',
  'extlinux',
  'syslinux-common',
  'fdisk',
  'qemu-utils',
  'qemu-system-x86',
];

function fail(reason: string): never {
  process.stderr.write(`test:vagrant: cannot run: ${reason}\n`);
  process.exit(1);
}

function say(line: string): void {
  process.stderr.write(`test:vagrant: ${line}\n`);
}

/**
 * apt-get install, and once more after apt-get update when it fails: stale package lists fail with
 * "libarchive-tools : Depends: libarchive13 (= 3.6.2-1+deb12u4) but 3.6.2-1+deb12u5 is to be
 * installed" (or 404s) until they are refreshed. Returns why it failed, or undefined.
 */
export async function aptInstall(names: string[], env: NodeJS.ProcessEnv = {}): Promise<string | undefined> {
  const apt = (args: string[]) =>
    execa('apt-get', args, { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' }, reject: false, all: true });
  const tail = (output: string) => output.split('\n').slice(-3).join(' ');
  if ((await apt(['install', '-y', '--no-install-recommends', ...names])).exitCode === 0) return undefined;
  say(`apt-get install ${names.join(' ')} failed; running apt-get update and trying once more`);
  const update = await apt(['update']);
  if (update.exitCode !== 0) return `apt-get update failed: ${tail(update.all)}`;
  const again = await apt(['install', '-y', '--no-install-recommends', ...names]);
  if (again.exitCode !== 0)
    return `apt-get install ${names.join(' ')} failed, also after apt-get update: ${tail(again.all)}`;
  return undefined;
}

async function installPackages(): Promise<void> {
  const missing: string[] = [];
  for (const name of packages) {
    const status = await execa('dpkg-query', ['-W', '-f=${Status}', name], { reject: false });
    if (!status.stdout.includes('install ok installed')) missing.push(name);
  }
  if (missing.length === 0) return;
  say(`installing ${missing.join(' ')}`);
  const failure = await aptInstall(missing);
  if (failure) fail(failure);
}

/** The network namespace inode of a process, to tell whether libvirtd runs inside ours. */
function netnsOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

async function inNamespace(command: string, args: string[]): Promise<void> {
  const result = await execa('ip', ['netns', 'exec', namespace, command, ...args], { reject: false, all: true });
  if (result.exitCode !== 0) fail(`${command} ${args.join(' ')} in netns ${namespace} failed: ${result.all.trim()}`);
}

async function libvirtAnswers(): Promise<boolean> {
  const uri = await execa('virsh', ['-c', 'qemu:///system', 'uri'], { reject: false, timeout: 10_000 });
  return uri.exitCode === 0;
}

/** libvirtd and virtlogd inside the namespace (no systemd here: started as daemons). */
async function startLibvirt(): Promise<void> {
  const ours = netnsOf(`/run/netns/${namespace}`);
  const pidFile = '/run/libvirtd.pid';
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const theirs = netnsOf(`/proc/${pid}/ns/net`);
    if (theirs !== undefined && theirs === ours && (await libvirtAnswers())) return;
    if (theirs !== undefined && theirs !== ours) {
      fail(
        `libvirtd (pid ${pid}) already runs outside the namespace ${namespace}: its VM network would use this machine's own network (fix: stop it, then rerun)`,
      );
    }
  }
  say(`starting virtlogd and libvirtd in netns ${namespace}`);
  if (!(await execa('pgrep', ['-x', 'virtlogd'], { reject: false })).stdout) await inNamespace('virtlogd', ['-d']);
  await inNamespace('libvirtd', ['-d']);
  for (let i = 0; i < 30 && !(await libvirtAnswers()); i++) await sleep(1000);
  if (!(await libvirtAnswers())) fail('libvirtd did not answer on qemu:///system within 30 s');
}

async function ensureStoragePool(): Promise<void> {
  const info = await execa('virsh', ['-c', 'qemu:///system', 'pool-info', 'default'], { reject: false });
  if (info.exitCode !== 0) {
    await execa('virsh', [
      '-c',
      'qemu:///system',
      'pool-define-as',
      'default',
      'dir',
      '--target',
      '/var/lib/libvirt/images',
    ]);
    await execa('virsh', ['-c', 'qemu:///system', 'pool-build', 'default'], { reject: false });
  }
  if (!/State:\s+running/.test((await execa('virsh', ['-c', 'qemu:///system', 'pool-info', 'default'])).stdout)) {
    await execa('virsh', ['-c', 'qemu:///system', 'pool-start', 'default']);
  }
}

/** Whether pid is a live syscall-lab process (after a machine restart a run's pid may belong to anything). */
function isSyscallLabRun(pid: number): boolean {
  try {
    return readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8').includes('syscall-lab');
  } catch {
    return false;
  }
}

/**
 * Removes the libvirt domains of runs that are gone. A run killed together with libvirtd (a machine
 * restart, SIGKILL) leaves its domain defined, and when its run folder is gone too (another cache,
 * a removed clone) no run's reaper can find it; the test requires that no syscall-lab domain exists
 * before its run. A domain is named syscall-lab-<run folder>-default, the run folder ending in
 * -<pid>-<index>: only domains whose pid is no live syscall-lab process are removed.
 */
async function removeDomainsOfGoneRuns(): Promise<void> {
  const virsh = (args: string[]) => execa('virsh', ['-c', 'qemu:///system', ...args], { reject: false, all: true });
  const listed = await virsh(['list', '--all', '--name']);
  for (const name of listed.stdout.split('\n').filter((line) => line.startsWith('syscall-lab-'))) {
    const owner = /-(\d+)-\d+-default$/.exec(name)?.[1];
    if (owner !== undefined && isSyscallLabRun(Number(owner))) continue;
    say(`removing the libvirt domain ${name}: the run that made it (pid ${owner ?? '?'}) is gone`);
    await virsh(['destroy', name]);
    const undefine = await virsh(['undefine', name, '--remove-all-storage']);
    if (undefine.exitCode !== 0) fail(`virsh undefine ${name} failed: ${undefine.all.trim()}`);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    fail(
      'it needs root: it installs packages, makes a network namespace and starts libvirtd (fix: run it as root, as CI does)',
    );
  await installPackages();
  // Outside the namespace: mmdebstrap needs Debian's archive, which the namespace cannot reach
  // (only lo is up there: "Temporary failure resolving"). Cached when it exists already.
  say('the offline box: built now, or the cached one');
  const box = await execa('node', [join(projectRoot, 'bin', 'syscall-lab.mjs'), 'box', 'build'], {
    stdio: 'inherit',
    reject: false,
  });
  if (box.exitCode !== 0) fail(`syscall-lab box build failed (exit ${String(box.exitCode)}); see the lines above`);
  if (!existsSync(`/run/netns/${namespace}`)) {
    const added = await execa('ip', ['netns', 'add', namespace], { reject: false, all: true });
    if (added.exitCode !== 0)
      fail(`ip netns add ${namespace} failed: ${added.all.trim()} (network namespaces need CAP_SYS_ADMIN)`);
  }
  await inNamespace('ip', ['link', 'set', 'lo', 'up']);
  await startLibvirt();
  await ensureStoragePool();
  await removeDomainsOfGoneRuns();
  const vitest = await execa(
    'ip',
    ['netns', 'exec', namespace, 'npx', 'vitest', 'run', '--project', 'vagrant', ...process.argv.slice(2)],
    {
      cwd: projectRoot,
      stdio: 'inherit',
      reject: false,
    },
  );
  process.exit(vitest.exitCode ?? 1);
}

// Run by `npm run test:vagrant` (tsx test/vagrant/run.ts); imported by the unit tests for aptInstall.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
