import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { projectRoot, upgradeKernelScript } from '../../src/paths.ts';
import { shortHash } from '../../src/kernel/cache.ts';
import { makeFakeBuild, writeScript } from './support/fake-build.ts';
import { callcountPatch, taskcountPatch } from './support/fake-kernel.ts';
import { useTempDirs } from './support/temp.ts';

// upgrade-kernel.sh owns the build plan (src/kernel/config/plan.tsv, the fragments' version
// ranges, src/kernel/compat/linux-X.Y/, the release suffix) and answers `--print-plan VERSION`
// with it; the build follows the very same plan. A fake make (test/unit/support/fake-build.ts)
// stands in for kbuild where a build runs.
const tempDir = useTempDirs('syscall-lab-plan-');

const configDir = join(projectRoot, 'src', 'kernel', 'config');
const vmConfig = join(configDir, 'vm.config');
const vmDefconfig = join(configDir, 'vm-defconfig.config');
const debugInfo = join(configDir, 'features', 'debug-info.config');
const debugProfile = join(configDir, 'profiles', 'debug.config');
const compat39 = join(projectRoot, 'src', 'kernel', 'compat', 'linux-3.9');
const patches61 = join(projectRoot, 'patches-6.1');

async function script(args: string[], { tmp = tempDir(), env = {} } = {}) {
  const result = await execa(upgradeKernelScript, args, {
    reject: false,
    timeout: 30_000,
    env: { TMPDIR: tmp, LC_ALL: 'C', ...env },
  });
  return Object.assign(result, { tmp });
}

interface Plan {
  version: string[];
  compat: string[];
  patch: string[];
  make: string[];
  fragment: string[];
  option: string[];
  'left-out': string[];
  localversion: string[];
}

/** `--print-plan` output by key; every line must be "key value" with a known key. */
function parsePlan(stdout: string): Plan {
  const plan: Plan = {
    version: [],
    compat: [],
    patch: [],
    make: [],
    fragment: [],
    option: [],
    'left-out': [],
    localversion: [],
  };
  for (const line of stdout.split('\n')) {
    const match = /^(version|compat|patch|make|fragment|option|left-out|localversion) (.+)$/.exec(line);
    if (!match) throw new Error(`not a plan line: ${JSON.stringify(line)}`);
    plan[match[1] as keyof Plan].push(match[2]!);
  }
  return plan;
}

async function printPlan(version: string, ...options: string[]) {
  const result = await script(['--print-plan', version, ...options]);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return parsePlan(result.stdout);
}

/** The option lines of a fragment file, as they are (annotations included). */
function optionLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => /^CONFIG_\w+=/.test(line) || /^# CONFIG_\w+ is not set/.test(line));
}

/** What a version gets from a fragment: annotated lines in range, annotation stripped. */
function optionsFor(file: string, keep: (line: string) => boolean): string[] {
  return optionLines(file)
    .filter(keep)
    .map((line) => line.replace(/\s+# syscall-lab:.*$/, ''));
}

const annotated = (line: string): boolean => line.includes('# syscall-lab:');

function writeFile(dir: string, name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

describe('upgrade-kernel.sh --print-plan: base targets, fragments and options by version', () => {
  it('6.1: tinyconfig + kvm_guest.config, vm.config, no compat series, -stock', async () => {
    const plan = await printPlan('6.1');
    expect(plan.version).toEqual(['6.1']);
    expect(plan.compat).toEqual([]);
    expect(plan.patch).toEqual([]);
    expect(plan.make).toEqual(['tinyconfig', 'kvm_guest.config']);
    expect(plan.fragment).toEqual([vmConfig]);
    // Every option of vm.config reaches 6.1 except the autofs4 of kernels before 4.18.
    expect(plan.option).toEqual(optionsFor(vmConfig, (line) => !line.startsWith('CONFIG_AUTOFS4_FS=')));
    expect(plan.option).toContain('# CONFIG_MODULES is not set');
    expect(plan.option.some(annotated)).toBe(false);
    expect(plan.localversion).toEqual(['-stock']);
  });

  it('prints its lines in the documented order, nothing else', async () => {
    const result = await script([
      '--print-plan',
      '3.9.11',
      '--profile',
      'debug',
      '--patches',
      join(projectRoot, 'patches-3.9.11'),
    ]);
    const order = ['version', 'compat', 'patch', 'make', 'fragment', 'option', 'left-out', 'localversion'];
    const ranks = result.stdout.split('\n').map((line) => order.indexOf(line.split(' ')[0]!));
    expect(ranks).not.toContain(-1);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(new Set(ranks)).toEqual(new Set(order.map((_, rank) => rank)));
    expect(ranks.filter((rank) => rank === 0 || rank === 7)).toEqual([0, 7]);
  });

  it('3.9.11: the compat series first, defconfig, vm-defconfig.config', async () => {
    const plan = await printPlan('3.9.11');
    expect(plan.version).toEqual(['3.9.11']);
    expect(plan.compat).toEqual([compat39]);
    const compatPatches = readdirSync(compat39)
      .filter((name) => name.endsWith('.patch'))
      .sort()
      .map((name) => join(compat39, name));
    expect(compatPatches).toHaveLength(8);
    expect(plan.patch).toEqual(compatPatches);
    expect(plan.make).toEqual(['defconfig']);
    expect(plan.fragment).toEqual([vmDefconfig]);
    expect(plan.option).toEqual(optionsFor(vmDefconfig, () => true));
    // The compat series is not the user's: it leaves the release a stock one.
    expect(plan.localversion).toEqual(['-stock']);
  });

  it('the compat series goes to every 3.9.x and to no other series', async () => {
    expect((await printPlan('3.9')).compat).toEqual([compat39]);
    expect((await printPlan('3.9.6')).compat).toEqual([compat39]);
    for (const version of ['3.8.13', '3.10', '3.16', '5.18', '6.1', '7.2']) {
      const plan = await printPlan(version);
      expect(plan.compat, version).toEqual([]);
      expect(plan.patch, version).toEqual([]);
    }
  });

  it('3.16: the last defconfig version', async () => {
    const plan = await printPlan('3.16');
    expect(plan.make).toEqual(['defconfig']);
    expect(plan.fragment).toEqual([vmDefconfig]);
    expect(plan.option).toEqual(optionsFor(vmDefconfig, () => true));
  });

  it('3.17-4.0 take kvmconfig, 4.1 on kvm_guest.config', async () => {
    expect((await printPlan('3.17')).make).toEqual(['tinyconfig', 'kvmconfig']);
    expect((await printPlan('4.0.9')).make).toEqual(['tinyconfig', 'kvmconfig']);
    expect((await printPlan('4.1')).make).toEqual(['tinyconfig', 'kvm_guest.config']);
    expect((await printPlan('5.10.200')).make).toEqual(['tinyconfig', 'kvm_guest.config']);
  });

  it('5.18 and 7.2: tinyconfig + kvm_guest.config, vm.config', async () => {
    for (const version of ['5.18', '7.2']) {
      const plan = await printPlan(version);
      expect(plan.make, version).toEqual(['tinyconfig', 'kvm_guest.config']);
      expect(plan.fragment, version).toEqual([vmConfig]);
      expect(plan.option, version).toEqual((await printPlan('6.1')).option);
    }
  });

  it("vm.config's options follow their ranges: MULTIUSER from 4.1, POSIX_TIMERS from 4.10, autofs4 until 4.17", async () => {
    const has = async (version: string) => {
      const options = (await printPlan(version)).option;
      return ['CONFIG_MULTIUSER=y', 'CONFIG_POSIX_TIMERS=y', 'CONFIG_AUTOFS4_FS=y', 'CONFIG_AUTOFS_FS=y'].filter((o) =>
        options.includes(o),
      );
    };
    expect(await has('3.17')).toEqual(['CONFIG_AUTOFS4_FS=y']);
    expect(await has('4.1')).toEqual(['CONFIG_MULTIUSER=y', 'CONFIG_AUTOFS4_FS=y']);
    expect(await has('4.10')).toEqual(['CONFIG_MULTIUSER=y', 'CONFIG_POSIX_TIMERS=y', 'CONFIG_AUTOFS4_FS=y']);
    expect(await has('4.17.19')).toEqual(['CONFIG_MULTIUSER=y', 'CONFIG_POSIX_TIMERS=y', 'CONFIG_AUTOFS4_FS=y']);
    expect(await has('4.18')).toEqual(['CONFIG_MULTIUSER=y', 'CONFIG_POSIX_TIMERS=y', 'CONFIG_AUTOFS_FS=y']);
  });
});

describe('upgrade-kernel.sh --print-plan: backends, profiles, features', () => {
  it('qemu is the default backend; vagrant gets the same fragment (one kernel for both)', async () => {
    for (const version of ['6.1', '3.9.11']) {
      const implicit = await printPlan(version);
      expect(await printPlan(version, '--backend', 'qemu'), version).toEqual(implicit);
      expect(await printPlan(version, '--backend', 'vagrant'), version).toEqual(implicit);
      expect(await printPlan(version, '--profile', 'default'), version).toEqual(implicit);
    }
  });

  it('debug-info: DEBUG_INFO up to 5.17, the toolchain-default DWARF choice from 5.18, gdb scripts from 4.0', async () => {
    const before = await printPlan('5.17.15', '--feature', 'debug-info');
    expect(before.fragment).toEqual([vmConfig, debugInfo]);
    expect(before.option.slice(-3)).toEqual(['CONFIG_DEBUG_KERNEL=y', 'CONFIG_DEBUG_INFO=y', 'CONFIG_GDB_SCRIPTS=y']);
    expect(before.option).not.toContain('CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y');

    const after = await printPlan('5.18', '--feature', 'debug-info');
    expect(after.option.slice(-3)).toEqual([
      'CONFIG_DEBUG_KERNEL=y',
      'CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y',
      'CONFIG_GDB_SCRIPTS=y',
    ]);
    expect(after.option).not.toContain('CONFIG_DEBUG_INFO=y');

    // Before 3.17 the feature goes over defconfig's fragment; 3.9 has no gdb scripts (a feature says nothing of it).
    const old = await printPlan('3.9.11', '--feature', 'debug-info');
    expect(old.fragment).toEqual([vmDefconfig, debugInfo]);
    expect(old.option.slice(-2)).toEqual(['CONFIG_DEBUG_KERNEL=y', 'CONFIG_DEBUG_INFO=y']);
    expect(old['left-out']).toEqual([]);
  });

  it('profile debug: SLUB instead of SLOB, KASAN, UBSAN, KFENCE and lockdep as far as the version has them', async () => {
    const recent = await printPlan('6.1', '--profile', 'debug');
    expect(recent.fragment).toEqual([vmConfig, debugProfile]);
    expect(recent.option).toEqual(expect.arrayContaining(['CONFIG_SLUB=y', '# CONFIG_SLOB is not set']));
    for (const option of ['KASAN', 'KASAN_GENERIC', 'KASAN_OUTLINE', 'UBSAN', 'KFENCE', 'PROVE_LOCKING', 'DEBUG_LIST'])
      expect(recent.option, option).toContain(`CONFIG_${option}=y`);
    expect(recent['left-out']).toEqual([]);

    // SLOB is gone from 6.4: nothing to turn off.
    expect((await printPlan('7.2', '--profile', 'debug')).option).not.toContain('# CONFIG_SLOB is not set');

    // 4.19: KASAN without the generic/software-tags split, no KFENCE; each lack named with its range.
    const middle = await printPlan('4.19', '--profile', 'debug');
    expect(middle.option).toContain('CONFIG_KASAN=y');
    expect(middle['left-out']).toEqual(['CONFIG_KASAN_GENERIC=y (from 4.20)', 'CONFIG_KFENCE=y (from 5.12)']);

    const old = await printPlan('3.9.11', '--profile', 'debug');
    expect(old.fragment).toEqual([vmDefconfig, debugProfile]);
    expect(old.option).toEqual(expect.arrayContaining(['CONFIG_PROVE_LOCKING=y', 'CONFIG_DEBUG_ATOMIC_SLEEP=y']));
    expect(old['left-out']).toEqual([
      'CONFIG_KASAN=y (from 4.0)',
      'CONFIG_KASAN_GENERIC=y (from 4.20)',
      'CONFIG_KASAN_OUTLINE=y (from 4.0)',
      'CONFIG_UBSAN=y (from 4.5)',
      'CONFIG_KFENCE=y (from 5.12)',
    ]);
    // Only a profile's lacks are named: the default plan of 3.9 says nothing of vm.config's ranged options.
    expect((await printPlan('3.9.11'))['left-out']).toEqual([]);
  });

  it('ia32-emulation: CONFIG_IA32_EMULATION over the backend fragment, on every version', async () => {
    const ia32 = join(configDir, 'features', 'ia32-emulation.config');
    for (const [version, base] of [
      ['6.1', vmConfig],
      ['3.9.11', vmDefconfig],
    ] as const) {
      const plan = await printPlan(version, '--feature', 'ia32-emulation');
      expect(plan.fragment, version).toEqual([base, ia32]);
      expect(plan.option.at(-1), version).toBe('CONFIG_IA32_EMULATION=y');
    }
  });

  it('a feature given twice counts once', async () => {
    const plan = await printPlan('6.1', '--feature', 'debug-info', '--feature', 'debug-info');
    expect(plan.fragment).toEqual([vmConfig, debugInfo]);
  });

  it('merge order: backend, profile, features, then --config-fragment; a later value wins, at its place', async () => {
    const dir = tempDir();
    const extra = writeFile(
      dir,
      'extra.config',
      '# mine\nCONFIG_64BIT=y\nCONFIG_FOO="bar"\n# CONFIG_KALLSYMS is not set\n',
    );
    const plan = await printPlan('6.1', '--feature', 'debug-info', '--config-fragment', extra);
    expect(plan.fragment).toEqual([vmConfig, debugInfo, extra]);
    expect(plan.option.slice(-4)).toEqual([
      'CONFIG_GDB_SCRIPTS=y',
      'CONFIG_64BIT=y',
      'CONFIG_FOO="bar"',
      '# CONFIG_KALLSYMS is not set',
    ]);
    expect(plan.option.filter((o) => o.includes('CONFIG_64BIT'))).toEqual(['CONFIG_64BIT=y']);
    expect(plan.option).not.toContain('CONFIG_KALLSYMS=y');
  });

  it.each([
    [
      ['--backend', 'foo'],
      'unknown backend foo (known: qemu, vagrant) (fix: pass one of them to --backend, or add rows for foo to',
    ],
    [
      ['--profile', 'tiny'],
      'unknown profile tiny (known: default, debug) (fix: pass one of them to --profile, or add rows',
    ],
    [
      ['--feature', 'kasan'],
      'unknown feature kasan (known: debug-info, ia32-emulation) (fix: pass one of them to --feature, or add rows',
    ],
  ])('refuses %j: exit 2 with the known names and a fix', async (args, message) => {
    const result = await script(['--print-plan', '6.1', ...args]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^upgrade-kernel\.sh: error: .* \(fix: .*\)$/);
    expect(result.stderr).toContain(`upgrade-kernel.sh: error: ${message}`);
    expect(result.stderr.split('\n')).toHaveLength(1);
  });

  it.each(['6', 'v6.1', '6.1-rc1', '6.1.2.3', 'latest'])('refuses the version %j with exit 2', async (version) => {
    const result = await script(['--print-plan', version]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `upgrade-kernel.sh: error: the version must be X.Y or X.Y.Z, not '${version}' (fix: e.g. 6.1 or 3.9.11)`,
    );
  });
});

describe('upgrade-kernel.sh --print-plan: patches and localversion', () => {
  it('--patches: the files in application order, and -patched- with the harness shortHash of their texts', async () => {
    const plan = await printPlan('6.1', '--patches', patches61);
    const files = readdirSync(patches61)
      .filter((name) => name.endsWith('.patch'))
      .sort()
      .map((name) => join(patches61, name));
    expect(plan.patch).toEqual(files);
    const texts = files.map((file) => readFileSync(file, 'utf8'));
    expect(plan.localversion).toEqual([`-patched-${shortHash(texts)}`]);
  });

  it('the hash covers the --patches files only, not the compat series before them', async () => {
    const patches39 = join(projectRoot, 'patches-3.9.11');
    const plan = await printPlan('3.9.11', '--patches', patches39);
    expect(plan.patch.slice(0, 8).every((file) => file.startsWith(`${compat39}/`))).toBe(true);
    const own = plan.patch.slice(8);
    expect(own.map((file) => file.replace(`${patches39}/`, ''))).toEqual([
      '0001-callcount.patch',
      '0002-taskcount.patch',
    ]);
    expect(plan.localversion).toEqual([`-patched-${shortHash(own.map((file) => readFileSync(file, 'utf8')))}`]);
  });

  it('the hash follows the order of application (series file, folders in order)', async () => {
    const first = tempDir();
    writeFile(first, 'a.patch', callcountPatch);
    const second = tempDir();
    writeFile(second, 'b.patch', taskcountPatch);
    const forward = await printPlan('6.1', '--patches', first, '--patches', second);
    const backward = await printPlan('6.1', '--patches', second, '--patches', first);
    expect(forward.localversion).toEqual([`-patched-${shortHash([callcountPatch, taskcountPatch])}`]);
    expect(backward.localversion).toEqual([`-patched-${shortHash([taskcountPatch, callcountPatch])}`]);
  });

  it('--localversion wins', async () => {
    expect((await printPlan('6.1', '--localversion', '-mine')).localversion).toEqual(['-mine']);
    expect((await printPlan('6.1', '--patches', patches61, '--localversion', '-x')).localversion).toEqual(['-x']);
  });

  it('refuses the compat folder given with --patches as well (exit 2, naming it)', async () => {
    const result = await script(['--print-plan', '3.9.11', '--patches', compat39, '--patches', patches61]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `upgrade-kernel.sh: error: patch folder ${compat39} is the toolchain-compatibility series of Linux 3.9, which every build of it applies first by itself (fix: do not pass it with --patches)`,
    );
  });

  it('refuses one folder given twice, also through another path to it', async () => {
    const result = await script([
      '--print-plan',
      '6.1',
      '--patches',
      patches61,
      '--patches',
      `${patches61}/../patches-6.1/`,
    ]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`patch folder ${patches61}/../patches-6.1/ is given twice`);
  });

  it('passes on the errors of a bad patch folder (exit 66/65)', async () => {
    expect((await script(['--print-plan', '6.1', '--patches', join(tempDir(), 'missing')])).exitCode).toBe(66);
    expect((await script(['--print-plan', '6.1', '--patches', tempDir()])).exitCode).toBe(65);
  });
});

describe('upgrade-kernel.sh --print-plan: version ranges in fragments', () => {
  const fragment = [
    'CONFIG_ALWAYS=y',
    'CONFIG_OLD=y  # syscall-lab: until 5.0',
    'CONFIG_NEW=y\t# syscall-lab: from 6.0',
    'CONFIG_WINDOW=y  # syscall-lab: from 4.17 until 6.3',
    '# CONFIG_GONE is not set  # syscall-lab: until 4.0.5',
    '',
  ].join('\n');

  it('an option outside its range is not printed; inside, its annotation is stripped', async () => {
    const extra = writeFile(tempDir(), 'ranged.config', fragment);
    const own = async (version: string) =>
      (await printPlan(version, '--config-fragment', extra)).option.filter((o) => /ALWAYS|OLD|NEW|WINDOW|GONE/.test(o));
    expect(await own('6.1')).toEqual(['CONFIG_ALWAYS=y', 'CONFIG_NEW=y', 'CONFIG_WINDOW=y']);
    expect(await own('6.4')).toEqual(['CONFIG_ALWAYS=y', 'CONFIG_NEW=y']);
    expect(await own('6.3.13')).toEqual(['CONFIG_ALWAYS=y', 'CONFIG_NEW=y', 'CONFIG_WINDOW=y']);
    expect(await own('5.0.21')).toEqual(['CONFIG_ALWAYS=y', 'CONFIG_OLD=y', 'CONFIG_WINDOW=y']);
    expect(await own('4.0.5')).toEqual(['CONFIG_ALWAYS=y', 'CONFIG_OLD=y', '# CONFIG_GONE is not set']);
    expect(await own('4.0.6')).toEqual(['CONFIG_ALWAYS=y', 'CONFIG_OLD=y']);
  });

  it.each([
    'CONFIG_X=y  # syscall-lab: since 5.0',
    'CONFIG_X=y  # syscall-lab: from five',
    '# syscall-lab: from 5.0 is a note  # syscall-lab: from 5.0',
  ])('refuses the malformed annotation %j with exit 65, naming the file and line', async (line) => {
    const extra = writeFile(tempDir(), 'bad.config', `CONFIG_A=y\n${line}\n`);
    const result = await script(['--print-plan', '6.1', '--config-fragment', extra]);
    expect(result.exitCode).toBe(65);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`upgrade-kernel.sh: error: ${extra} line 2: cannot read`);
  });
});

describe('upgrade-kernel.sh --print-plan reads no kernel tree and writes nothing', () => {
  it('leaves --work, TMPDIR and the patch folders as they were', async () => {
    const work = tempDir();
    const tmp = tempDir();
    const result = await script(
      [
        '--print-plan',
        '3.9.11',
        '--work',
        work,
        '--patches',
        join(projectRoot, 'patches-3.9.11'),
        '--feature',
        'debug-info',
        '--build-only',
        join(work, 'out'),
        '--jobs',
        '1',
      ],
      { tmp },
    );
    expect(result.exitCode).toBe(0);
    expect(readdirSync(work)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('needs no source: a version outside versions.tsv is answered offline', async () => {
    const result = await script(['--print-plan', '9.99', '--work', tempDir()], {
      env: { KERNEL_MIRROR: 'http://127.0.0.1:9/nowhere' },
    });
    expect(result.exitCode).toBe(0);
    expect(parsePlan(result.stdout).version).toEqual(['9.99']);
  });
});

/** The build's own plan lines ("syscall-lab: plan: key value") as --print-plan prints them. */
function planLinesOf(output: string): string {
  return output
    .split('\n')
    .filter((line) => line.startsWith('syscall-lab: plan: '))
    .map((line) => line.slice('syscall-lab: plan: '.length))
    .join('\n');
}

describe('upgrade-kernel.sh builds by the same plan (fake make)', () => {
  /** The fake tree (6.1), its fake make and kconfig scripts; a build of it with --build-only. */
  function fakeBuilder(scriptPath = upgradeKernelScript) {
    const root = tempDir();
    const fake = makeFakeBuild(root);
    const tmp = join(root, 'tmp');
    mkdirSync(tmp);
    const env = { PATH: `${fake.fakeBin}:${process.env.PATH}`, FAKE_MAKE_STATE: fake.state, TMPDIR: tmp, LC_ALL: 'C' };
    const build = (args: string[], out = join(tempDir(), 'out')) =>
      execa(scriptPath, [...args, '--jobs', '1', '--build-only', out], {
        env,
        reject: false,
        all: true,
        timeout: 30_000,
      });
    const calls = (): string[] => readFileSync(join(fake.state, 'calls'), 'utf8').split('\n').filter(Boolean);
    return { root, fake, tmp, build, calls };
  }

  it('runs the plan make targets, merges exactly the plan options, and logs the plan', async () => {
    const { root, fake, build, calls } = fakeBuilder();
    const extra = writeFile(tempDir(), 'extra.config', 'CONFIG_EXTRA=y\nCONFIG_OLD=y  # syscall-lab: until 5.0\n');
    const planArgs = ['--patches', fake.patches, '--feature', 'debug-info', '--config-fragment', extra];
    const asked = await script(['--print-plan', '6.1', ...planArgs]);
    expect(asked.exitCode).toBe(0);
    const plan = parsePlan(asked.stdout);

    const work = join(root, 'work');
    const out = join(tempDir(), 'out');
    const result = await build(['--source', fake.tree, '--work', work, ...planArgs], out);
    expect(result.exitCode, result.all).toBe(0);
    expect(planLinesOf(result.stdout)).toBe(asked.stdout);

    const tree = join(work, 'linux-6.1');
    // The fake merge_config.sh appends the merged fragment to .config (after the fake tinyconfig's
    // line); scripts/config then appends CONFIG_LOCALVERSION.
    const config = readFileSync(join(tree, '.config'), 'utf8').split('\n').filter(Boolean);
    expect(config).toEqual([
      'CONFIG_64BIT=y',
      ...plan.option,
      `CONFIG_LOCALVERSION="${plan.localversion[0]}"`,
      '# CONFIG_LOCALVERSION_AUTO is not set',
    ]);
    expect(config).not.toContain('CONFIG_OLD=y');
    expect(readFileSync(join(tree, '.syscall-lab', 'plan.config'), 'utf8')).toBe(`${plan.option.join('\n')}\n`);
    expect(calls().slice(0, plan.make.length + 1)).toEqual([...plan.make, 'olddefconfig']);
    expect(result.stdout).toContain(`syscall-lab: artefacts in`);
    expect(result.stdout).toContain(`(kernel 6.1.0${plan.localversion[0]})`);
    // debug-info: the gdb helpers are made after the kernel and kept with it, links resolved;
    // the tree's stack-trace decoder is kept too.
    expect(calls()).toContain('scripts_gdb');
    expect(readFileSync(join(out, 'scripts', 'decode_stacktrace.sh'), 'utf8')).toContain('decoder (fake)');
    expect(readFileSync(join(out, 'vmlinux-gdb.py'), 'utf8')).toBe('# the kernel gdb helpers (fake)\n');
    expect(readFileSync(join(out, 'scripts', 'gdb', 'linux', 'constants.py'), 'utf8')).toBe('# fake constants\n');
  });

  it('requires every plan option after olddefconfig, and no option outside its range', async () => {
    const { fake, build } = fakeBuilder();
    // kconfig drops CONFIG_DROPPED (say, a dependency is off): the fake merge leaves it out.
    writeScript(
      join(fake.tree, 'scripts', 'kconfig', 'merge_config.sh'),
      '#!/bin/sh\nfor last; do :; done\ngrep -v "^CONFIG_DROPPED=" "$last" >> .config\n',
    );
    const dir = tempDir();
    const outOfRange = writeFile(dir, 'old.config', 'CONFIG_DROPPED=y  # syscall-lab: until 5.0\n');
    const ok = await build(['--source', fake.tree, '--work', tempDir(), '--config-fragment', outOfRange]);
    expect(ok.exitCode, ok.all).toBe(0);
    expect(ok.stdout).toContain('syscall-lab: config verified: every required option is set');

    const inRange = writeFile(dir, 'new.config', 'CONFIG_DROPPED=y  # syscall-lab: from 6.0\n');
    const failed = await build(['--source', fake.tree, '--work', tempDir(), '--config-fragment', inRange]);
    expect(failed.exitCode).toBe(78);
    expect(failed.stderr).toBe(
      `upgrade-kernel.sh: error: required options did not survive olddefconfig (a dependency is off or the option does not exist in this version): ${inRange}: CONFIG_DROPPED=y (fix: enable their dependencies in a --config-fragment)`,
    );
  });

  it('refuses an unknown backend before touching anything (exit 2)', async () => {
    const { fake, build, root } = fakeBuilder();
    const work = join(root, 'work');
    const result = await build(['--source', fake.tree, '--work', work, '--backend', 'nope']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('upgrade-kernel.sh: error: unknown backend nope (known: qemu, vagrant)');
    expect(existsSync(work)).toBe(false);
    // Also before a download: the mirror is never asked.
    const download = await build([
      ...['--version', '5.4.1', '--sha256', 'a'.repeat(64), '--mirror', 'http://127.0.0.1:9'],
      ...['--work', work, '--feature', 'kasan'],
    ]);
    expect(download.exitCode).toBe(2);
    expect(download.stderr).toContain(
      'upgrade-kernel.sh: error: unknown feature kasan (known: debug-info, ia32-emulation)',
    );
    expect(download.stdout).not.toContain('downloading');
    expect(existsSync(work)).toBe(false);
  });

  it('takes the version from a tarball Makefile without unpacking it', async () => {
    const { fake, build, root } = fakeBuilder();
    const tarball = join(root, 'linux-6.1.tar.xz');
    await execa('tar', ['-cJf', tarball, '-C', root, 'linux-6.1']);
    const result = await build([
      '--source',
      tarball,
      '--work',
      join(root, 'work'),
      '--check-patches',
      '--patches',
      fake.patches,
    ]);
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain('syscall-lab: plan: version 6.1\n');
    expect(result.stdout).toContain('syscall-lab: plan: make kvm_guest.config\n');
  });

  it('applies the compat series of the version by itself, first, once; --in-tree keeps it in the base', async () => {
    // A copy of the script with a compat series for 6.1 (the fake tree's version): callcount.
    const repo = tempDir();
    cpSync(upgradeKernelScript, join(repo, 'upgrade-kernel.sh'));
    chmodSync(join(repo, 'upgrade-kernel.sh'), 0o755);
    cpSync(join(projectRoot, 'src', 'kernel', 'config'), join(repo, 'src', 'kernel', 'config'), { recursive: true });
    cpSync(join(projectRoot, 'src', 'kernel', 'versions.tsv'), join(repo, 'src', 'kernel', 'versions.tsv'));
    const compat = join(repo, 'src', 'kernel', 'compat', 'linux-6.1');
    mkdirSync(compat, { recursive: true });
    writeFile(compat, '0001-callcount.patch', callcountPatch);
    const { fake, build, root } = fakeBuilder(join(repo, 'upgrade-kernel.sh'));

    const stockOut = join(root, 'stock');
    const stock = await build(['--source', fake.tree, '--work', join(root, 'work')], stockOut);
    expect(stock.exitCode, stock.all).toBe(0);
    expect(stock.stdout).toContain(`syscall-lab: plan: compat ${compat}\n`);
    expect(stock.stdout).toContain(`syscall-lab: plan: patch ${join(compat, '0001-callcount.patch')}\n`);
    expect(stock.stdout).toContain('syscall-lab: plan: localversion -stock\n');
    expect(readFileSync(join(stockOut, 'kernelrelease'), 'utf8').trim()).toBe('6.1.0-stock');
    expect(readFileSync(join(stockOut, 'patches'), 'utf8')).toBe('0001-0001-callcount.patch\n');
    expect(readFileSync(join(stockOut, 'bzImage'), 'utf8')).toContain('callcount=1');

    // The patched build in the same tree: only the user's patch is applied (the tree has the compat
    // series in its base record), and the release is named by the user's patches alone.
    const tree = join(root, 'work', 'linux-6.1');
    const mine = tempDir();
    writeFile(mine, '0001-taskcount.patch', taskcountPatch);
    const patchedOut = join(root, 'patched');
    const patched = await build(['--in-tree', tree, '--patches', mine, '--work', join(root, 'scratch')], patchedOut);
    expect(patched.exitCode, patched.all).toBe(0);
    expect(
      planLinesOf(patched.stdout)
        .split('\n')
        .filter((line) => line.startsWith('patch ')),
    ).toEqual([`patch ${join(mine, '0001-taskcount.patch')}`]);
    const release = `6.1.0-patched-${shortHash([taskcountPatch])}`;
    expect(readFileSync(join(patchedOut, 'kernelrelease'), 'utf8').trim()).toBe(release);
    expect(readFileSync(join(patchedOut, 'patches'), 'utf8')).toBe(
      '0001-0001-callcount.patch\n0001-0001-taskcount.patch\n',
    );

    // Given explicitly as well, the compat folder is refused instead of applied twice.
    const twice = await build(['--in-tree', tree, '--patches', compat, '--work', join(root, 'scratch')]);
    expect(twice.exitCode).toBe(2);
    expect(twice.stderr).toContain(`patch folder ${compat} is the toolchain-compatibility series of Linux 6.1`);
  });
});
