import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { useTempDirs } from './support/temp.ts';

// The Vagrantfile, read by Ruby with a stand-in for Vagrant's configuration API that records what
// it is asked to do: which SYSCALL_LAB_VM_* settings it reads, the provision steps, where they
// upload. No vagrant, no VM.
const tempDir = useTempDirs('syscall-lab-vagrantfile-');
const vagrantfile = join(projectRoot, 'Vagrantfile');

const recorder = `
require "json"
class Recorder
  attr_reader :calls
  def initialize; @calls = []; end
  def method_missing(name, *args, **opts)
    @calls << [name.to_s, args, opts]
    self
  end
  def respond_to_missing?(*) = true
end
class VM
  attr_accessor :box
  attr_reader :provisions, :providers, :synced
  def initialize; @provisions = []; @providers = {}; @synced = []; @deferred = []; end
  def synced_folder(*args, **opts) = @synced << [args, opts]
  # Vagrant runs provider blocks late (when it finalizes the configuration), after the whole
  # Vagrantfile has run: so does this stand-in, or a variable the file changes later would go unseen.
  def provider(name, &block) = @deferred << [name.to_s, block]
  def finalize = @deferred.each { |name, block| block.call(@providers[name] = Recorder.new) }
  def provision(name, **opts) = @provisions << opts.merge(name: name)
end
class Config
  attr_reader :vm
  def initialize; @vm = VM.new; end
end
module Vagrant
  def self.configure(_version) = yield($config = Config.new)
end
load ARGV[0]
vm = $config.vm
vm.finalize
puts JSON.generate(
  box: vm.box,
  synced: vm.synced,
  providers: vm.providers.transform_values { |r| r.calls.map { |name, args, opts| [name, args.map(&:to_s), opts] } },
  provisions: vm.provisions,
)
`;

interface Provision {
  name: string;
  type: 'shell' | 'file';
  inline?: string;
  source?: string;
  destination?: string;
  privileged?: boolean;
  reboot?: boolean;
}

interface Recorded {
  box: string;
  providers: Record<string, [string, string[], Record<string, unknown>][]>;
  provisions: Provision[];
}

async function readVagrantfile(env: Record<string, string> = {}): Promise<Recorded & { stage: string }> {
  const script = join(tempDir(), 'record.rb');
  writeFileSync(script, recorder);
  const result = await execa('ruby', [script, vagrantfile], {
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tempDir(), ...env },
  });
  const recorded = JSON.parse(result.stdout) as Recorded;
  const stage = /mkdir -m 0700 (\S+);/.exec(recorded.provisions[0]?.inline ?? '')?.[1] ?? '';
  return { ...recorded, stage };
}

const call = (recorded: Recorded, provider: string, name: string) =>
  recorded.providers[provider]?.find(([called]) => called === name);
const setting = (recorded: Recorded, provider: string, name: string): string[] | undefined =>
  call(recorded, provider, name)?.[1];

describe('Vagrantfile', () => {
  it('passes ruby -c', async () => {
    expect((await execa('ruby', ['-c', vagrantfile])).stdout).toBe('Syntax OK');
  });

  it('stages each provision in a new /var/tmp/syscall-lab-<random hex> made with mkdir -m 0700, uploads only into it, removes it at the end', async () => {
    const first = await readVagrantfile();
    expect(first.stage).toMatch(/^\/var\/tmp\/syscall-lab-[0-9a-f]{16}$/);
    const [stage, ...rest] = first.provisions;
    expect(stage).toMatchObject({ name: 'stage', type: 'shell', privileged: false });
    expect(stage!.inline).not.toMatch(/rm -rf|mkdir -p/);
    expect(stage!.inline).toMatch(new RegExp(`^set -e; umask 077; mkdir -m 0700 ${first.stage};`));
    const uploads = rest.filter((p) => p.type === 'file');
    expect(uploads.map((p) => p.name)).toEqual(
      expect.arrayContaining(['script', 'versions', 'kconfig', 'compat', 'patch 0001-0001-callcount.patch']),
    );
    for (const upload of uploads) expect(upload.destination!.startsWith(`${first.stage}/`)).toBe(true);
    const last = rest.at(-1)!;
    expect(last).toMatchObject({ name: 'upgrade-kernel', type: 'shell', privileged: true });
    expect(last.inline).toContain(`trap 'rm -rf ${first.stage}' EXIT;`);
    expect(last.inline).toContain(
      `bash ${first.stage}/upgrade-kernel.sh --version 6.1 --work /usr/local/src --patches ${first.stage}/patches`,
    );

    const second = await readVagrantfile();
    expect(second.stage).not.toBe(first.stage);
  });

  it('the stage step makes a folder only its owner can enter, and fails when it exists', async () => {
    const { provisions, stage } = await readVagrantfile();
    const root = tempDir();
    const inline = provisions[0]!.inline!.replaceAll('/var/tmp/', `${root}/`);
    const local = stage.replace('/var/tmp/', `${root}/`);
    expect((await execa('bash', ['-c', inline], { reject: false })).exitCode).toBe(0);
    expect(statSync(local).mode & 0o777).toBe(0o700);
    for (const sub of ['src/kernel', 'patches', 'prebuilt'])
      expect(statSync(join(local, sub)).isDirectory()).toBe(true);
    const again = await execa('bash', ['-c', inline], { reject: false, all: true });
    expect(again.exitCode).not.toBe(0);
    expect(again.all).toContain('File exists');
  });

  it('reads its settings from SYSCALL_LAB_VM_*', async () => {
    const root = tempDir();
    const prebuilt = join(root, 'prebuilt');
    mkdirSync(prebuilt);
    const recorded = await readVagrantfile({
      SYSCALL_LAB_VM_BOX: 'syscall-lab/bookworm',
      SYSCALL_LAB_VM_MEMORY: '1024',
      SYSCALL_LAB_VM_CPUS: '3',
      SYSCALL_LAB_VM_NAME: 'run-42-',
      SYSCALL_LAB_VM_CONSOLE_LOG: join(root, 'console.log'),
      SYSCALL_LAB_VM_ACCEL: 'tcg',
      SYSCALL_LAB_VM_BOOT_ARGS: 'nokaslr loglevel=7',
      SYSCALL_LAB_VM_REBOOT: '0',
      SYSCALL_LAB_VM_PREBUILT: prebuilt,
    });
    expect(recorded.box).toBe('syscall-lab/bookworm');
    expect(setting(recorded, 'libvirt', 'memory=')).toEqual(['1024']);
    expect(setting(recorded, 'libvirt', 'cpus=')).toEqual(['3']);
    expect(setting(recorded, 'libvirt', 'driver=')).toEqual(['qemu']);
    expect(setting(recorded, 'libvirt', 'default_prefix=')).toEqual(['run-42-']);
    expect(call(recorded, 'libvirt', 'serial')?.[2]).toEqual({
      type: 'file',
      source: { path: join(root, 'console.log') },
    });
    const last = recorded.provisions.at(-1)!;
    expect(last.reboot).toBe(false);
    expect(last.inline).toContain(
      `${recorded.stage}/upgrade-kernel.sh --install-prebuilt ${recorded.stage}/prebuilt --append nokaslr\\ loglevel\\=7`,
    );
    expect(recorded.provisions.filter((p) => p.name.startsWith('prebuilt ')).map((p) => p.source)).toEqual(
      ['bzImage', 'System.map', '.config', 'kernelrelease'].map((file) => join(prebuilt, file)),
    );
  });

  it('builds in the guest from SYSCALL_LAB_VM_KERNEL, _PATCHES, _LOCALVERSION and _KERNEL_SOURCE', async () => {
    const source = join(tempDir(), 'linux-3.9.11.tar.xz');
    writeFileSync(source, '');
    const recorded = await readVagrantfile({
      SYSCALL_LAB_VM_KERNEL: '3.9.11',
      SYSCALL_LAB_VM_PATCHES: 'patches-3.9.11',
      SYSCALL_LAB_VM_LOCALVERSION: '-mine',
      SYSCALL_LAB_VM_KERNEL_SOURCE: source,
    });
    const { stage } = recorded;
    expect(recorded.provisions.find((p) => p.name === 'source')).toMatchObject({
      source,
      destination: `${stage}/linux-3.9.11.tar.xz`,
    });
    expect(recorded.provisions.at(-1)!.inline).toContain(
      `bash ${stage}/upgrade-kernel.sh --source ${stage}/linux-3.9.11.tar.xz --work /usr/local/src --localversion -mine --patches ${stage}/patches`,
    );
    expect(recorded.provisions.filter((p) => p.name.startsWith('patch ')).map((p) => p.source)).toEqual([
      join(projectRoot, 'patches-3.9.11', '0001-callcount.patch'),
      join(projectRoot, 'patches-3.9.11', '0002-taskcount.patch'),
    ]);
  });

  it('names the VM from SYSCALL_LAB_VM_NAME also when it uploads patches (two runs at once must not share a domain name)', async () => {
    const recorded = await readVagrantfile({ SYSCALL_LAB_VM_NAME: 'run-43-', SYSCALL_LAB_VM_PATCHES: 'patches-6.1' });
    expect(recorded.provisions.some((p) => p.name.startsWith('patch '))).toBe(true);
    expect(setting(recorded, 'libvirt', 'default_prefix=')).toEqual(['run-43-']);
    expect(setting(recorded, 'virtualbox', 'name=')).toEqual(['run-43-']);
  });

  it('ignores the CLI-side SYSCALL_LAB_* names', async () => {
    const recorded = await readVagrantfile({
      SYSCALL_LAB_BOX: 'other/box',
      SYSCALL_LAB_MEMORY: '64',
      SYSCALL_LAB_KERNEL: '3.9.11',
    });
    expect(recorded.box).toBe('debian/bookworm64');
    expect(setting(recorded, 'libvirt', 'memory=')).toEqual(['2048']);
    expect(recorded.provisions.at(-1)!.inline).toContain('--version 6.1 ');
  });

  it('names SYSCALL_LAB_VM_* when a setting points at nothing', async () => {
    const script = join(tempDir(), 'record.rb');
    writeFileSync(script, recorder);
    const result = await execa('ruby', [script, vagrantfile], {
      extendEnv: false,
      reject: false,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SYSCALL_LAB_VM_PREBUILT: '/nonexistent/prebuilt' },
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain(
      'syscall-lab: /nonexistent/prebuilt does not exist (check the SYSCALL_LAB_VM_* variables)',
    );
  });
});
