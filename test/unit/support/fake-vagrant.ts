import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How the fake answers; rewritten by a test between calls. */
export interface FakeVagrantState {
  /** What `vagrant ssh-config` reports. */
  port: number;
  identityFile: string;
  up?: 'ok' | 'fail' | 'hang';
  reload?: 'ok' | 'boot-timeout';
  provision?: 'ok' | 'fail';
  sshConfig?: 'ok' | 'not-created';
  /** Appended to $SYSCALL_LAB_VM_CONSOLE_LOG by up and reload, as the guest's serial console would be. */
  console?: string;
}

/** One call of the fake: its arguments, pid and the VAGRANT_* and SYSCALL_LAB_* variables it got. */
export interface VagrantCall {
  argv: string[];
  pid: number;
  env: Record<string, string>;
}

// The fake itself (CommonJS, run by this Node), replying like Vagrant 2.3.4 with vagrant-libvirt.
const fakeSource = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const here = __dirname;
const env = {};
for (const [name, value] of Object.entries(process.env)) if (/^(VAGRANT_|SYSCALL_LAB_)/.test(name)) env[name] = value;
const argv = process.argv.slice(2);
fs.appendFileSync(path.join(here, 'calls.jsonl'), JSON.stringify({ argv, pid: process.pid, env }) + '\n');
const state = JSON.parse(fs.readFileSync(path.join(here, 'state.json'), 'utf8'));
const out = (text) => process.stdout.write(text.replace(/^\n/, ''));
const err = (text) => process.stderr.write(text.replace(/^\n/, ''));
const idFile = env.VAGRANT_DOTFILE_PATH && path.join(env.VAGRANT_DOTFILE_PATH, 'machines', 'default', 'libvirt', 'id');
const consoleText = () => { if (state.console && env.SYSCALL_LAB_VM_CONSOLE_LOG) fs.appendFileSync(env.SYSCALL_LAB_VM_CONSOLE_LOG, state.console); };
const bootTimeout = () => {
  err("Timed out while waiting for the machine to boot. This means that\nVagrant was unable to communicate with the guest machine within\nthe configured (\"config.vm.boot_timeout\" value) time period.\n");
  process.exit(1);
};

switch (argv[0]) {
  case 'up': {
    out("Bringing machine 'default' up with 'libvirt' provider...\n");
    if (state.up === 'hang') { setInterval(() => {}, 60000); break; }
    out("==> default: Checking if box '" + env.SYSCALL_LAB_VM_BOX + "' version '0' is up to date...\n");
    out("==> default: Creating image (snapshot of base box volume).\n");
    if (state.up === 'fail') {
      consoleText();
      err("Error while connecting to Libvirt: Error making a connection to libvirt URI qemu:///system:\n");
      err("Call to virConnectOpen failed: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory\n");
      process.exit(1);
    }
    fs.mkdirSync(path.dirname(idFile), { recursive: true });
    fs.writeFileSync(idFile, '5c3b2f7e-6a5d-4a0e-9d8e-0c6f1f1d2b3a');
    out("==> default: Creating domain with the following settings...\n");
    out("==> default:  -- Name:              " + (env.SYSCALL_LAB_VM_NAME || '') + "default\n");
    out("==> default: Starting domain.\n");
    consoleText();
    out("==> default: Waiting for machine to boot. This may take a few minutes...\n");
    out("    default: SSH address: 127.0.0.1:" + state.port + "\n    default: SSH username: vagrant\n    default: SSH auth method: private key\n");
    out("==> default: Machine booted and ready!\n==> default: Setting hostname...\n");
    out("==> default: Machine not provisioned because \x60--no-provision\x60 is specified.\n");
    break;
  }
  case 'ssh-config': {
    if (state.sshConfig === 'not-created' || !fs.existsSync(idFile)) {
      err("The provider for this Vagrant-managed machine is reporting that it\nis not yet ready for SSH. Depending on your provider this can carry\ndifferent meanings. Make sure your machine is created and running and\ntry again.\n");
      process.exit(1);
    }
    out([
      'Host default',
      '  HostName 127.0.0.1',
      '  User vagrant',
      '  Port ' + state.port,
      '  UserKnownHostsFile /dev/null',
      '  StrictHostKeyChecking no',
      '  PasswordAuthentication no',
      '  IdentityFile "' + state.identityFile + '"',
      '  IdentitiesOnly yes',
      '  LogLevel FATAL',
      '  PubkeyAcceptedKeyTypes +ssh-rsa',
      '  HostKeyAlgorithms +ssh-rsa',
      '', '',
    ].join('\n'));
    break;
  }
  case 'provision': {
    out("==> default: Running provisioner: stage (shell)...\n    default: Running: inline script\n");
    out("==> default: Running provisioner: upgrade-kernel (shell)...\n    default: Running: inline script\n");
    if (state.provision === 'fail') {
      out("    default: upgrade-kernel.sh: error: /tmp/syscall-lab/prebuilt/bzImage is missing\n");
      err("The SSH command responded with a non-zero exit status. Vagrant\nassumes that this means the command failed.\n");
      process.exit(1);
    }
    out("    default: syscall-lab: installed /boot/vmlinuz-6.1.0-patched\n");
    break;
  }
  case 'reload': {
    out("==> default: Halting domain...\n==> default: Starting domain.\n");
    consoleText();
    out("==> default: Waiting for machine to boot. This may take a few minutes...\n");
    if (state.reload === 'boot-timeout') bootTimeout();
    out("==> default: Machine booted and ready!\n");
    break;
  }
  case 'destroy': {
    if (idFile && fs.existsSync(idFile)) {
      out("==> default: Removing domain...\n==> default: Deleting the machine folder\n");
      fs.rmSync(idFile);
    } else {
      out("==> default: Domain is not created. Please run \x60vagrant up\x60 first.\n");
    }
    break;
  }
  default:
    err('fake vagrant: unexpected command ' + argv.join(' ') + '\n');
    process.exit(2);
}
`;

/** Writes the fake `vagrant` (a sh wrapper that execs this Node on the script) into `bin`. */
export class FakeVagrant {
  readonly binary: string;

  constructor(private readonly bin: string) {
    writeFileSync(join(bin, 'fake-vagrant.cjs'), fakeSource);
    this.binary = join(bin, 'vagrant');
    // The wrapper records its pid at once (Node takes a while to start on a busy machine), then
    // becomes the Node process: the pid is the one execa waits for and kills.
    writeFileSync(
      this.binary,
      `#!/bin/sh\necho $$ >>'${join(bin, 'pids')}'\nexec '${process.execPath}' '${join(bin, 'fake-vagrant.cjs')}' "$@"\n`,
    );
    chmodSync(this.binary, 0o755);
  }

  set(state: FakeVagrantState): void {
    writeFileSync(join(this.bin, 'state.json'), JSON.stringify(state));
  }

  calls(): VagrantCall[] {
    const file = join(this.bin, 'calls.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as VagrantCall);
  }

  /** The argument lists of the calls so far, e.g. [['up', ...], ['ssh-config']]. */
  argvs(): string[][] {
    return this.calls().map((call) => call.argv);
  }

  /** The pids of the calls so far, recorded before the fake's Node starts. */
  pids(): number[] {
    const file = join(this.bin, 'pids');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : [];
  }

  reset(): void {
    writeFileSync(join(this.bin, 'calls.jsonl'), '');
    writeFileSync(join(this.bin, 'pids'), '');
  }
}
