import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../errors.ts';
import type { Emit } from '../events.ts';
import { cache, isKeyLocked } from '../kernel/cache.ts';
import { scratchOwner } from '../kernel/scratch.ts';
import { isAlive, ownerOf } from '../reaper.ts';
import { RunFolder } from '../run-folder.ts';
import { runTool } from '../spawn.ts';
import { boxIsInstalled, offlineBoxName, removeBoxVolumes } from '../vm/vagrant-box.ts';
import { reapVagrantLeftovers } from '../vm/vagrant-host.ts';

/**
 * `syscall-lab clean`: removes the run folders of runs that are gone and their leftovers;
 * `--vms` also stops kept VMs, `--all` also removes every cached build, tree, ccache and box.
 */
export async function cleanCommand(all: boolean, vms: boolean, emit: Emit): Promise<number> {
  const say = (text: string): void => {
    emit({ type: 'info', text });
  };
  const runs = cache.runs();
  for (const line of reapVagrantLeftovers(runs, vms)) say(`destroyed the ${line}`);
  if (existsSync(runs)) {
    for (const name of readdirSync(runs)) cleanRun(new RunFolder(join(runs, name)), vms, say);
  }
  // Only the scratch folders of runs that are gone: another run may be building.
  const scratch = cache.scratch();
  if (existsSync(scratch)) {
    for (const name of readdirSync(scratch)) {
      const owner = scratchOwner(name);
      if (owner === null || !isAlive(owner)) rmSync(join(scratch, name), { recursive: true, force: true });
    }
  }
  // Trees without their "complete" marker were left by a build that died: never reused, only big.
  const trees = cache.trees();
  if (existsSync(trees)) {
    for (const name of readdirSync(trees)) {
      if (!existsSync(join(trees, name, 'complete')) && !isKeyLocked(`tree-${name}`)) {
        rmSync(join(trees, name), { recursive: true, force: true });
        say(`removed the unfinished kernel tree ${name}`);
      }
    }
  }
  if (all) await cleanCache(say);
  say('removed run folders and scratch space');
  return ExitCode.ok;
}

/** One run folder: left alone while its run lives (or it keeps a VM and --vms was not given). */
function cleanRun(folder: RunFolder, vms: boolean, say: (text: string) => void): void {
  const owner = ownerOf(folder.dir);
  if (owner !== null && isAlive(owner)) return;
  if (!vms && existsSync(folder.vagrantEnv) && owner === null) return;
  if (existsSync(folder.sshPort) && !vms) return;
  const stopped = folder.stopQemu();
  if (stopped !== undefined) say(`stopped VM ${stopped} of ${folder.dir}`);
  rmSync(folder.dir, { recursive: true, force: true });
}

async function cleanCache(say: (text: string) => void): Promise<void> {
  const dirs = [
    cache.builds(),
    cache.trees(),
    cache.ccache(),
    cache.controls(),
    cache.programs(),
    cache.locks(),
    cache.boxes(),
  ];
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  say('removed every cached build, tree, ccache, stock control, guest-compiled program and box file');
  if (await boxIsInstalled(offlineBoxName)) {
    await runTool('vagrant', ['box', 'remove', '--force', '--all', offlineBoxName], { reject: false });
    say(`removed the Vagrant box ${offlineBoxName}`);
  }
  for (const volume of await removeBoxVolumes(offlineBoxName)) say(`deleted libvirt volume ${volume}`);
}
