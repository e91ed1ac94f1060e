import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOptions, splitKernelSpec, userlandSources } from '../../src/config.ts';
import { defaults } from '../../src/options.ts';
import { BadInputError } from '../../src/errors.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-config-');

/** What yargs hands over for `run --kernel 6.1` with every default. */
const raw = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  kernel: ['6.1'],
  backend: defaults.backend,
  box: defaults.box,
  provider: defaults.provider,
  buildInGuest: defaults.buildInGuest,
  accel: defaults.accel,
  cpus: defaults.cpus,
  memory: defaults.memory,
  jobs: 4,
  keep: defaults.keep,
  ...extra,
});

function badInput(work: () => unknown): BadInputError {
  let error: unknown;
  try {
    work();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(BadInputError);
  expect((error as BadInputError).exitCode).toBe(2);
  return error as BadInputError;
}

describe('parseOptions', () => {
  it('takes the Vagrant options with --backend vagrant and refuses them with qemu', () => {
    const vagrant = parseOptions(
      raw({ backend: 'vagrant', box: 'syscall-lab/bookworm', provider: 'virtualbox', buildInGuest: true }),
    );
    expect(vagrant).toMatchObject({
      backend: 'vagrant',
      box: 'syscall-lab/bookworm',
      provider: 'virtualbox',
      buildInGuest: true,
    });
    expect(badInput(() => parseOptions(raw({ box: 'syscall-lab/bookworm' }))).message).toContain(
      '--box only applies to --backend vagrant',
    );
    expect(badInput(() => parseOptions(raw({ buildInGuest: true }))).message).toContain(
      '--build-in-guest only applies to --backend vagrant',
    );
    expect(badInput(() => parseOptions(raw({ backend: 'vagrant', provider: 'hyperv' }))).message).toContain(
      '--provider',
    );
    expect(badInput(() => parseOptions(raw({ backend: 'docker' }))).message).toContain('--backend');
  });

  it('accepts the defaults', () => {
    expect(parseOptions(raw())).toMatchObject({
      kernel: ['6.1'],
      backend: 'qemu',
      box: 'debian/bookworm64',
      provider: 'libvirt',
      buildInGuest: false,
      accel: 'auto',
      cpus: 2,
      memory: 1024,
      jobs: 4,
      keep: false,
    });
  });

  it('has sane defaults', () => {
    expect(defaults.cpus).toBe(2);
    expect(defaults.memory).toBe(1024);
    expect(defaults.jobs).toBeGreaterThanOrEqual(1);
    expect(() => parseOptions(raw({ jobs: defaults.jobs }))).not.toThrow();
  });

  it('makes --patches, --userland and --config-fragment absolute', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'p'));
    mkdirSync(join(dir, 'u'));
    writeFileSync(join(dir, 'u', 't.c'), 'int main(void) { return 0; }\n');
    writeFileSync(join(dir, 'extra.config'), 'CONFIG_KASAN=y\n');
    const options = parseOptions(
      raw({
        patches: relative(process.cwd(), join(dir, 'p')),
        userland: relative(process.cwd(), join(dir, 'u')),
        configFragment: relative(process.cwd(), join(dir, 'extra.config')),
      }),
    );
    expect(options.patches).toBe(join(dir, 'p'));
    expect(options.userland).toBe(join(dir, 'u'));
    expect(options.configFragment).toBe(join(dir, 'extra.config'));
  });

  it('refuses an unknown key', () => {
    expect(badInput(() => parseOptions(raw({ colour: 'blue' }))).message).toMatch(/colour/);
  });

  it('refuses a missing or empty kernel list', () => {
    expect(badInput(() => parseOptions(raw({ kernel: [] }))).message).toMatch(/^--kernel: give at least one --kernel/);
    const { kernel: _omit, ...noKernel } = raw();
    expect(badInput(() => parseOptions(noKernel)).message).toMatch(/^--kernel/);
    expect(badInput(() => parseOptions(raw({ kernel: [''] }))).message).toMatch(/^--kernel/);
  });

  it.each([
    ['cpus', 'x', '--cpus'],
    ['cpus', Number.NaN, '--cpus'],
    ['cpus', 0, '--cpus'],
    ['cpus', 1.5, '--cpus'],
    ['cpus', 65, '--cpus'],
    ['memory', 128, '--memory'],
    ['jobs', 0, '--jobs'],
    ['accel', 'hvf', '--accel'],
    ['backend', 'virtualbox', '--backend'],
    ['keep', 'yes', '--keep'],
    ['bootTimeout', -5, '--boot-timeout'],
  ])('refuses %s = %j, naming the flag', (key, value, flag) => {
    expect(badInput(() => parseOptions(raw({ [key]: value }))).message.startsWith(`${flag}: `)).toBe(true);
  });

  it('refuses --sha256 with two kernels', () => {
    const error = badInput(() => parseOptions(raw({ kernel: ['6.1', '3.9.11'], sha256: 'a'.repeat(64) })));
    expect(error.message).toContain('--sha256 applies to one kernel');
  });

  it('accepts --sha256 with one kernel (its format is checked later)', () => {
    expect(parseOptions(raw({ kernel: ['3.9.11'], sha256: 'a'.repeat(64) })).sha256).toBe('a'.repeat(64));
  });

  it('refuses --patches on a missing folder and on a file', () => {
    const dir = tempDir();
    expect(badInput(() => parseOptions(raw({ patches: join(dir, 'missing') }))).message).toBe(
      `--patches ${join(dir, 'missing')} is not a folder`,
    );
    writeFileSync(join(dir, 'file.patch'), '');
    expect(badInput(() => parseOptions(raw({ patches: join(dir, 'file.patch') }))).message).toContain(
      'is not a folder',
    );
  });

  it('refuses --userland on a folder with no .c file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.txt'), '');
    writeFileSync(join(dir, 'prog.h'), '');
    expect(badInput(() => parseOptions(raw({ userland: dir }))).message).toBe(`--userland ${dir} holds no *.c file`);
  });

  it('refuses a missing --config-fragment', () => {
    expect(badInput(() => parseOptions(raw({ configFragment: '/nonexistent/x.config' }))).message).toContain(
      'does not exist',
    );
  });
});

describe('userlandSources', () => {
  it('lists *.c files in name order as absolute paths', () => {
    const dir = tempDir();
    for (const name of ['b.c', 'a.c', 'c.h', 'd.c.txt']) writeFileSync(join(dir, name), '');
    expect(userlandSources(dir)).toEqual([join(dir, 'a.c'), join(dir, 'b.c')]);
  });
});

describe('splitKernelSpec', () => {
  it('splits VERSION=DIR at the last "=", the folder made absolute', () => {
    const dir = mkdtempSync(join(tmpdir(), 'syscall-lab-spec-'));
    try {
      expect(splitKernelSpec('7.2')).toEqual({ kernel: '7.2' });
      expect(splitKernelSpec(`7.2=${dir}`)).toEqual({ kernel: '7.2', patches: dir });
      expect(splitKernelSpec(`/src/a=b/linux.tar.xz=${dir}`)).toEqual({
        kernel: '/src/a=b/linux.tar.xz',
        patches: dir,
      });
      // An existing kernel path with "=" in it is the kernel, whole (its series from --patches).
      const tarball = join(dir, 'linux=6.1.tar.xz');
      writeFileSync(tarball, '');
      expect(splitKernelSpec(tarball)).toEqual({ kernel: tarball });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(['7.2=', '=patches-6.1', '/src/a=b/linux.tar.xz'])(
    'refuses %j: no patch folder after the last "="',
    (spec) => {
      expect(() => splitKernelSpec(spec)).toThrow(/after the last "=" is not a patch folder/);
    },
  );
});
