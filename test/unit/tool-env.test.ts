import { execSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sshCommand } from '../../src/commands/ssh.ts';
import { prepareGuestKeys } from '../../src/guest/rootfs.ts';
import { compilerIdentity } from '../../src/kernel/build.ts';
import { versionOfTarball } from '../../src/kernel/source.ts';
import { runCleanups } from '../../src/reaper.ts';
import { RunFolder } from '../../src/run-folder.ts';
import { qemuEnv, secretName, toolEnv } from '../../src/spawn.ts';
import { VagrantMachine } from '../../src/vm/vagrant.ts';
import { boxIsInstalled, removeBoxVolumes } from '../../src/vm/vagrant-box.ts';
import { checkVagrantHost, destroyRunVm } from '../../src/vm/vagrant-host.ts';
import { makeFakeBuild, pathWithout, startCli, writeScript } from './support/fake-build.ts';
import { useTempDirs } from './support/temp.ts';

// What the tools the harness starts see of its environment: everything but the names that look
// like secrets (src/spawn.ts); QEMU only PATH, LANG, LC_* and TMPDIR. Fake tools on PATH write
// the environment they got to $FAKE_ENV_DIR/<tool>.<pid>.env.
const tempDir = useTempDirs('syscall-lab-tool-env-');

const secrets = {
  GITHUB_TOKEN: 'ghp_secret',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  MY_PASSWORD: 'hunter2',
  SSH_AUTH_SOCK: '/tmp/agent.sock',
  DEPLOY_KEY: 'deploy-secret',
  GPG_PASSPHRASE: 'passphrase',
  GOOGLE_APPLICATION_CREDENTIALS: '/secret/creds.json',
  npm_config__auth: 'npm-auth',
};
// Look-alikes that are no secrets: KEY not at the end, no secret word.
const harmless = { HARMLESS_SETTING: 'kept', KEYBOARD_LAYOUT: 'us', SSH_KEY_DIR: '/keys', LANG: 'C.UTF-8' };

/** Every environment a fake tool recorded, by tool: name -> its variables, one record per call. */
function recorded(dir: string): Record<string, Record<string, string>[]> {
  const byTool: Record<string, Record<string, string>[]> = {};
  for (const file of readdirSync(dir).sort()) {
    const tool = file.replace(/\.\d+\.env$/, '');
    const vars = Object.fromEntries(
      readFileSync(join(dir, file), 'utf8')
        .split('\0')
        .filter((entry) => entry.includes('='))
        .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
    );
    (byTool[tool] ??= []).push(vars);
  }
  return byTool;
}

/** A fake tool: records its environment, then runs `body` (sh). */
function fakeTool(dir: string, name: string, body = 'exit 0'): string {
  const file = join(dir, name);
  writeScript(file, `#!/bin/sh\nenv -0 > "$FAKE_ENV_DIR/${name}.$$.env"\n${body}\n`);
  return file;
}

function expectNoSecrets(byTool: Record<string, Record<string, string>[]>, tools: string[]): void {
  expect(Object.keys(byTool).sort()).toEqual([...tools].sort());
  for (const [tool, calls] of Object.entries(byTool)) {
    for (const vars of calls) {
      expect(
        Object.keys(vars).filter((name) => name in secrets),
        `${tool} saw a secret`,
      ).toEqual([]);
      expect(vars, tool).toMatchObject(harmless);
    }
  }
}

describe('toolEnv and qemuEnv', () => {
  const host = { PATH: '/usr/bin', HOME: '/root', TMPDIR: '/t', LC_ALL: 'C', LC_CTYPE: 'C', ...secrets, ...harmless };

  it('gives a tool everything but secret-looking names, then the extras as they are', () => {
    const env = toolEnv({ CCACHE_DIR: '/c' }, host);
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/root',
      TMPDIR: '/t',
      LC_ALL: 'C',
      LC_CTYPE: 'C',
      ...harmless,
      CCACHE_DIR: '/c',
    });
    for (const name of Object.keys(secrets)) expect(name).toMatch(secretName);
  });

  it('gives QEMU only PATH, LANG, LC_* and TMPDIR', () => {
    expect(qemuEnv(host)).toEqual({ PATH: '/usr/bin', TMPDIR: '/t', LC_ALL: 'C', LC_CTYPE: 'C', LANG: 'C.UTF-8' });
  });
});

describe('the tools the harness starts', () => {
  let fakes: string;
  let dumps: string;

  beforeEach(() => {
    const root = tempDir();
    fakes = join(root, 'fakes');
    dumps = join(root, 'env');
    mkdirSync(fakes);
    mkdirSync(dumps);
    for (const [name, value] of Object.entries({ ...secrets, ...harmless })) vi.stubEnv(name, value);
    vi.stubEnv('FAKE_ENV_DIR', dumps);
    vi.stubEnv('SYSCALL_LAB_CACHE', join(root, 'cache'));
    vi.stubEnv('PATH', `${fakes}:${process.env.PATH ?? ''}`);
  });

  afterEach(() => {
    runCleanups();
    vi.unstubAllEnvs();
  });

  it('gcc, ld, tar (through sh), dropbearkey, ssh, vagrant, VBoxManage and virsh see no secret', async () => {
    fakeTool(fakes, 'gcc', 'echo "gcc (fake) 12.2.0"');
    fakeTool(fakes, 'ld', 'echo "GNU ld (fake) 2.40"');
    fakeTool(
      fakes,
      'tar',
      'case "$1" in -tf) echo linux-6.1/Makefile ;; *) printf "VERSION = 6\\nPATCHLEVEL = 1\\nSUBLEVEL = 0\\n" ;; esac',
    );
    fakeTool(
      fakes,
      'dropbearkey',
      'for last; do :; done; : > "$last"; echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 root@fake"',
    );
    fakeTool(fakes, 'ssh');
    const vagrant = fakeTool(fakes, 'vagrant', '[ "$1" = --version ] && echo "Vagrant 2.3.4"; exit 0');
    fakeTool(fakes, 'VBoxManage', 'echo 7.0.0');
    fakeTool(fakes, 'virsh');

    expect(await compilerIdentity()).toBe('gcc (fake) 12.2.0 / GNU ld (fake) 2.40');
    const tarball = join(dumps, '..', 'linux-6.1.tar.xz');
    writeFileSync(tarball, 'fake');
    expect(await versionOfTarball(tarball)).toBe('6.1');

    const folder = RunFolder.create(0);
    await prepareGuestKeys(folder);
    writeFileSync(folder.sshPort, '2222');
    expect(await sshCommand(folder.dir, ['true'])).toBe(0);

    await checkVagrantHost('virtualbox', vagrant);
    expect(await boxIsInstalled('syscall-lab/bookworm')).toBe(false);
    expect(await removeBoxVolumes('syscall-lab/bookworm')).toEqual([]);
    // A Vagrant machine: `up`, then `ssh-config` (which says nothing: the boot fails), then destroy.
    const vm = new VagrantMachine({
      folder,
      accel: 'tcg',
      kernelArgs: [],
      box: 'debian/bookworm64',
      provider: 'libvirt',
      cpus: 1,
      memoryMiB: 512,
      name: 'env-test-',
      upTimeout: 30_000,
      provisionTimeout: 30_000,
      vagrantBinary: vagrant,
    });
    await expect(vm.start()).rejects.toThrow(/ssh-config/);
    await vm.stop();
    // The exit handler's synchronous destroy, with the environment the run saved.
    mkdirSync(join(folder.vagrantState, 'machines', 'default', 'libvirt'), { recursive: true });
    writeFileSync(join(folder.vagrantState, 'machines', 'default', 'libvirt', 'id'), 'x');
    expect(destroyRunVm(folder, vagrant)).toBe(true);

    const byTool = recorded(dumps);
    expectNoSecrets(byTool, ['gcc', 'ld', 'tar', 'dropbearkey', 'ssh', 'vagrant', 'VBoxManage', 'virsh']);
    // vagrant got the run's settings with each call, the synchronous destroy included.
    const runCalls = byTool.vagrant!.filter((vars) => vars.VAGRANT_DOTFILE_PATH === folder.vagrantState);
    expect(runCalls).toHaveLength(4); // up, ssh-config, destroy, destroy (sync)
    for (const vars of runCalls)
      expect(vars).toMatchObject({ SYSCALL_LAB_VM_NAME: 'env-test-', SYSCALL_LAB_VM_REBOOT: '0' });
  });

  it.runIf(process.getuid?.() === 0)(
    'syscall-lab build: apt-get, gcc and make (through upgrade-kernel.sh) see no secret',
    async () => {
      const root = join(dumps, '..');
      const fake = makeFakeBuild(root);
      const path = join(root, 'path');
      // apt-get "installs" top, which this host lacks, so the run goes on to build.
      const tools = [
        fakeTool(fakes, 'make', `exec ${join(fake.fakeBin, 'make')} "$@"`),
        fakeTool(fakes, 'gcc', `exec ${execSync('command -v gcc', { encoding: 'utf8' }).trim()} "$@"`),
        fakeTool(
          fakes,
          'apt-get',
          `[ "$1" = install ] && printf '#!/bin/sh\\n' > ${path}/top && chmod +x ${path}/top; exit 0`,
        ),
      ];
      const built = await startCli(
        [
          'build',
          '--kernel-source',
          fake.tree,
          '--patches',
          fake.patches,
          '--cache',
          join(root, 'cache'),
          '--jobs',
          '1',
        ],
        {
          ...secrets,
          ...harmless,
          PATH: pathWithout(path, ['top', 'apt-get'], tools, process.env.PATH?.replace(`${fakes}:`, '')),
          FAKE_MAKE_STATE: fake.state,
          FAKE_ENV_DIR: dumps,
        },
      );
      expect(built.exitCode, built.all).toBe(0);
      const byTool = recorded(dumps);
      expectNoSecrets(byTool, ['apt-get', 'gcc', 'make']);
      expect(byTool['apt-get']![0]).toMatchObject({ DEBIAN_FRONTEND: 'noninteractive' });
      // upgrade-kernel.sh's own settings reach make.
      expect(byTool.make!.at(-1)).toMatchObject({ CCACHE_DIR: join(root, 'cache', 'ccache') });
    },
    120_000,
  );
});
