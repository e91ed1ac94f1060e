import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { commands, main } from '../../src/cli.ts';
import type { Options } from '../../src/config.ts';
import { envOptions } from '../../src/options.ts';
import { projectRoot } from '../../src/paths.ts';
import { useTempDirs } from './support/temp.ts';

// The CLI reads SYSCALL_LAB_<NAME> only for the inputs and machine settings of config.ts's
// envOptions: never the Vagrantfile's settings, the test scripts' variables, or an option that
// changes what a run does or how it is judged.
const tempDir = useTempDirs('syscall-lab-cli-env-');
const bin = join(projectRoot, 'bin', 'syscall-lab.mjs');

afterEach(() => {
  vi.unstubAllEnvs();
});

/** Every SYSCALL_LAB_* and FAKE_* name the tests use, in test/ and bench/. */
function testVariables(): string[] {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|sh|mjs)$/.test(name))
        for (const [found] of readFileSync(path, 'utf8').matchAll(/\b(?:SYSCALL_LAB|FAKE)_[A-Z0-9_]*[A-Z0-9]\b/g))
          names.add(found);
    }
  };
  for (const dir of ['test', 'bench']) walk(join(projectRoot, dir));
  // The guest program's include guard is no variable.
  names.delete('SYSCALL_LAB_SYSCALLS_H');
  return [...names];
}

/** The Vagrantfile's settings, under their old (SYSCALL_LAB_<NAME>) and new (SYSCALL_LAB_VM_<NAME>) names. */
function vagrantfileVariables(): string[] {
  const header = readFileSync(join(projectRoot, 'Vagrantfile'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('#'));
  const settings = new Set(
    ['BOX', 'MEMORY', 'CPUS', 'NAME', 'CONSOLE_LOG', 'REBOOT', 'ACCEL', 'BOOT_ARGS', 'KERNEL', 'PATCHES'].concat([
      'LOCALVERSION',
      'KERNEL_SOURCE',
      'PREBUILT',
    ]),
  );
  for (const line of header)
    for (const [, name] of line.matchAll(/\bSYSCALL_LAB_(?:VM_)?([A-Z0-9_]*[A-Z0-9])\b/g)) settings.add(name!);
  return [...settings].flatMap((name) => [`SYSCALL_LAB_${name}`, `SYSCALL_LAB_VM_${name}`]);
}

describe('the environment of the CLI', () => {
  it.each(['doctor', 'run --help'])(
    '`syscall-lab %s` ignores the Vagrantfile and test variables (exit 0, no "Unknown argument")',
    async (command) => {
      const cache = tempDir();
      const env: Record<string, string> = {};
      for (const name of [...vagrantfileVariables(), ...testVariables()]) env[name] = 'x';
      // Variables the CLI does read need values it takes.
      Object.assign(env, {
        SYSCALL_LAB_CACHE: cache,
        SYSCALL_LAB_KERNEL: '6.1',
        SYSCALL_LAB_CPUS: '2',
        SYSCALL_LAB_MEMORY: '1024',
        SYSCALL_LAB_ACCEL: 'tcg',
        SYSCALL_LAB_BOX: 'debian/bookworm64',
        SYSCALL_LAB_PATCHES: join(projectRoot, 'patches-6.1'),
      });
      expect(Object.keys(env)).toEqual(
        expect.arrayContaining(['SYSCALL_LAB_NAME', 'SYSCALL_LAB_VM_REBOOT', 'FAKE_MAKE_STATE']),
      );
      const result = await execa(process.execPath, [bin, ...command.split(' ')], {
        env,
        reject: false,
        all: true,
        timeout: 60_000,
      });
      expect(result.all).not.toMatch(/Unknown argument/);
      expect(result.exitCode, result.all).toBe(0);
    },
  );

  /** The options `syscall-lab run ARGS` would run with, given `env`. */
  async function runOptions(args: string[], env: Record<string, string>): Promise<Options> {
    vi.stubEnv('SYSCALL_LAB_CACHE', undefined); // --cache and SYSCALL_LAB_CACHE set it
    let seen: Options | undefined;
    const output = { emit: () => undefined, quiet: false };
    const run = async (options: Options): Promise<number> => {
      seen = options;
      return Promise.resolve(0);
    };
    expect(await main(['run', ...args], output, { env, run: { ...commands, run } })).toBe(0);
    expect(output.quiet).toBe(false);
    return seen!;
  }

  it('ignores what would change what a run does or how it is judged', async () => {
    const ignored = {
      SYSCALL_LAB_KERNEL_SOURCE: 'x',
      SYSCALL_LAB_KEEP: '1',
      SYSCALL_LAB_JSON: 'x',
      SYSCALL_LAB_JUNIT: 'x',
      SYSCALL_LAB_QUIET: '1',
      SYSCALL_LAB_SHA256: 'a'.repeat(64),
      SYSCALL_LAB_CONFIG_FRAGMENT: 'x',
      SYSCALL_LAB_BUILD_IN_GUEST: '1',
      SYSCALL_LAB_CONFIG: 'x',
      SYSCALL_LAB_DRY_RUN: '1',
      SYSCALL_LAB_CHECK: 'x',
      SYSCALL_LAB_VM_KERNEL: '3.9.11',
      SYSCALL_LAB_VM_CPUS: '7',
    };
    const options = await runOptions([], { ...ignored, SYSCALL_LAB_KERNEL: '6.1', SYSCALL_LAB_CPUS: '3' });
    expect(options).toMatchObject({ kernel: ['6.1'], cpus: 3, keep: false, buildInGuest: false });
    for (const key of ['json', 'junit', 'sha256', 'configFragment'] as const) expect(options[key]).toBeUndefined();
  });

  it('reads each option of envOptions, and nothing of its own names for the judging ones', async () => {
    const cache = tempDir();
    const userland = tempDir();
    writeFileSync(join(userland, 'a_test.c'), 'int main(void) { return 0; }\n');
    const options = await runOptions([], {
      SYSCALL_LAB_KERNEL: '6.1',
      SYSCALL_LAB_PATCHES: join(projectRoot, 'patches-6.1'),
      SYSCALL_LAB_USERLAND: userland,
      SYSCALL_LAB_CACHE: cache,
      SYSCALL_LAB_CPUS: '3',
      SYSCALL_LAB_MEMORY: '512',
      SYSCALL_LAB_JOBS: '5',
      SYSCALL_LAB_ACCEL: 'tcg',
      SYSCALL_LAB_BACKEND: 'vagrant',
      SYSCALL_LAB_BOX: 'syscall-lab/bookworm',
      SYSCALL_LAB_PROVIDER: 'virtualbox',
      SYSCALL_LAB_BOOT_TIMEOUT: '90',
      SYSCALL_LAB_LOCK_TIMEOUT: '5',
    });
    expect(options).toMatchObject({
      kernel: ['6.1'],
      patches: join(projectRoot, 'patches-6.1'),
      userland,
      cpus: 3,
      memory: 512,
      jobs: 5,
      accel: 'tcg',
      backend: 'vagrant',
      box: 'syscall-lab/bookworm',
      provider: 'virtualbox',
      bootTimeout: 90,
      lockTimeout: 5,
    });
    expect(process.env.SYSCALL_LAB_CACHE).toBe(cache);
    expect([...envOptions].sort()).toEqual(
      ['kernel', 'patches', 'userland', 'cache', 'cpus', 'memory', 'jobs', 'accel', 'backend', 'box', 'provider']
        .concat(['boot-timeout', 'lock-timeout'])
        .sort(),
    );
  });

  it('takes flags over the environment, and the environment over the --config file', async () => {
    const config = join(tempDir(), 'config.json');
    writeFileSync(config, JSON.stringify({ cpus: 5, jobs: 7, memory: 2048, 'lock-timeout': 9, kernel: '3.9.11' }));
    const options = await runOptions(['--cpus', '4', '--config', config], {
      SYSCALL_LAB_CPUS: '3',
      SYSCALL_LAB_JOBS: '2',
      SYSCALL_LAB_KERNEL: '6.1',
    });
    expect(options).toMatchObject({ cpus: 4, jobs: 2, memory: 2048, lockTimeout: 9, kernel: ['6.1'] });
  });

  it('adds no SYSCALL_LAB_KERNEL to a --kernel-source given on the command line', async () => {
    const tree = tempDir();
    const options = await runOptions(['--kernel-source', tree], { SYSCALL_LAB_KERNEL: '6.1' });
    expect(options.kernel).toEqual([tree]);
  });

  it('calls a bad value in a read variable bad input', async () => {
    await expect(runOptions([], { SYSCALL_LAB_KERNEL: '6.1', SYSCALL_LAB_CPUS: 'many' })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^--cpus/) as unknown,
    });
  });
});
