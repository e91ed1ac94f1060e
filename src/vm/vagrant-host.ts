import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfrastructureError } from '../errors.ts';
import { isAlive, ownerOf } from '../reaper.ts';
import { RunFolder } from '../run-folder.ts';
import { runTool, runToolSync } from '../spawn.ts';
import type { VagrantProvider } from './vagrant.ts';

/** Whether a run folder's Vagrant state names a created VM (vagrant writes machines/<name>/<provider>/id). */
function hasCreatedVm(folder: RunFolder): boolean {
  const machines = join(folder.vagrantState, 'machines');
  if (!existsSync(machines)) return false;
  return readdirSync(machines).some((machine) =>
    readdirSync(join(machines, machine)).some((provider) => existsSync(join(machines, machine, provider, 'id'))),
  );
}

/** `vagrant destroy -f` of the VM whose state is in the run folder (vagrant.env), synchronously. */
export function destroyRunVm(folder: RunFolder, vagrantBinary = 'vagrant'): boolean {
  if (!existsSync(folder.vagrantEnv) || !hasCreatedVm(folder)) return false;
  const env = JSON.parse(readFileSync(folder.vagrantEnv, 'utf8')) as Record<string, string>;
  const result = runToolSync(vagrantBinary, ['destroy', '--force'], {
    env,
    reject: false,
    timeout: 120_000,
    stdin: 'ignore',
  });
  return result.exitCode === 0;
}

/** Destroys the VMs of runs whose process is gone (a crashed or killed earlier run), and kept ones when asked. */
export function reapVagrantLeftovers(runsDir: string, includeKept: boolean): string[] {
  if (!existsSync(runsDir)) return [];
  const reaped: string[] = [];
  for (const name of readdirSync(runsDir)) {
    const dir = join(runsDir, name);
    const owner = ownerOf(dir);
    // A run kept with --keep gave up its owner file.
    const kept = owner === null;
    if ((owner !== null && isAlive(owner)) || (kept && !includeKept)) continue;
    if (destroyRunVm(new RunFolder(dir))) reaped.push(`Vagrant VM of ${kept ? 'kept' : 'dead'} run ${name}`);
  }
  return reaped;
}

/**
 * What the Vagrant backend needs on the host, checked before anything is built: vagrant, the
 * provider (vagrant-libvirt + a libvirtd that answers, or VirtualBox).
 */
export async function checkVagrantHost(provider: VagrantProvider, vagrantBinary = 'vagrant'): Promise<void> {
  const version = await runTool(vagrantBinary, ['--version'], { reject: false, timeout: 60_000 });
  if (version.exitCode !== 0)
    throw new InfrastructureError(
      `${vagrantBinary} is not installed or does not run`,
      'apt-get install vagrant (Debian 12 ships 2.3.4)',
    );
  if (provider === 'virtualbox') {
    const vbox = await runTool('VBoxManage', ['--version'], { reject: false });
    if (vbox.exitCode !== 0)
      throw new InfrastructureError(
        'VBoxManage is missing: the virtualbox provider needs VirtualBox',
        'install VirtualBox from virtualbox.org (Debian 12 has no package), or use --provider libvirt',
      );
    return;
  }
  const plugins = await runTool(vagrantBinary, ['plugin', 'list'], { reject: false, timeout: 60_000 });
  if (!plugins.stdout.includes('vagrant-libvirt'))
    throw new InfrastructureError(
      'the vagrant-libvirt plugin is missing',
      'apt-get install vagrant-libvirt libvirt-daemon-system',
    );
  const uri = await runTool('virsh', ['-c', 'qemu:///system', 'uri'], { reject: false, timeout: 20_000 });
  if (uri.exitCode !== 0) {
    throw new InfrastructureError(
      `libvirtd does not answer on qemu:///system: ${uri.stderr.trim().split('\n')[0] ?? ''}`,
      'start it (systemctl start libvirtd; without systemd: virtlogd -d && libvirtd -d); `npm run test:vagrant` does this inside a network namespace',
    );
  }
}
