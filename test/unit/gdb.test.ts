import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../src/config.ts';
import { BadInputError } from '../../src/errors.ts';
import { defaults } from '../../src/options.ts';
import { reproduceLine } from '../../src/commands/run.ts';
import type { PlannedRun } from '../../src/stages/plan.ts';
import { gdbCommandLine } from '../../src/vm/gdb.ts';
import { testOptions } from './support/options.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-gdb-');

describe('gdbCommandLine: what --gdb prints', () => {
  it("attaches to the stub, loads the kernel's gdb scripts kept with the build, and names lx-dmesg", () => {
    const build = tempDir();
    writeFileSync(join(build, 'vmlinux-gdb.py'), '# helpers\n');
    expect(gdbCommandLine({ buildDir: build, wait: false }, 41234)).toBe(
      `gdbstub on 127.0.0.1:41234: gdb -ex 'target remote 127.0.0.1:41234' -ex 'source ${build}/vmlinux-gdb.py' ${build}/vmlinux (then e.g. lx-dmesg, lx-ps).`,
    );
  });

  it('says the VM waits for `continue` under --gdb-wait, and that a kernel before 4.0 has no scripts', () => {
    const build = tempDir();
    mkdirSync(build, { recursive: true });
    const line = gdbCommandLine({ buildDir: build, wait: true }, 5555);
    expect(line).toContain(`gdb -ex 'target remote 127.0.0.1:5555' ${build}/vmlinux`);
    expect(line).not.toContain('source');
    expect(line).toContain('no gdb scripts (they came in 4.0)');
    expect(line).toContain('`continue` boots it');
  });
});

describe('--gdb options', () => {
  const base = {
    kernel: ['6.1'],
    backend: 'qemu',
    box: defaults.box,
    provider: defaults.provider,
    buildInGuest: false,
    accel: 'tcg',
    cpus: 2,
    memory: 1024,
    jobs: 2,
    keep: true,
  };

  it('turns the boot and command timeouts off unless given', () => {
    const options = parseOptions({ ...base, gdb: true });
    expect(options.bootTimeout).toBeGreaterThan(24 * 24 * 3600);
    expect(options.commandTimeout).toBeGreaterThan(24 * 24 * 3600);
    // Node's timers take at most 2^31 - 1 ms: a larger delay would fire at once.
    expect((options.bootTimeout ?? 0) * 1000).toBeLessThanOrEqual(0x7fffffff);
    expect(parseOptions({ ...base, gdb: true, bootTimeout: 100 }).bootTimeout).toBe(100);
    expect(parseOptions(base).bootTimeout).toBeUndefined();
  });

  it.each([
    [{ gdbWait: true }, '--gdb-wait needs --gdb'],
    [{ gdb: true, backend: 'vagrant' }, '--gdb needs --backend qemu'],
  ])('refuses %j (exit 2)', (extra, message) => {
    const error = (() => {
      try {
        parseOptions({ ...base, ...extra });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).message).toContain(message);
    expect((error as BadInputError).exitCode).toBe(2);
  });
});

describe('the reproducer line keeps what changes the kernels built', () => {
  const plan = {
    source: { requested: '6.1', version: '6.1' },
    patchSet: { dir: '/series', files: [], notices: [] },
    givenSeries: '/series',
  } as unknown as PlannedRun;

  it('--debug-info (also asked by --gdb) and a profile other than default', () => {
    const line = (extra: Record<string, unknown>): string =>
      reproduceLine(plan, testOptions({ kernel: ['6.1'], ...extra }));
    expect(line({})).toBe('npx syscall-lab run --kernel 6.1 --patches /series --accel tcg --conformance off');
    expect(line({ debugInfo: true })).toContain(' --debug-info');
    expect(line({ gdb: true, keep: true })).toContain(' --debug-info');
    expect(line({ gdb: true, keep: true })).not.toContain('--gdb');
    expect(line({ profile: 'debug' })).toMatch(/ --profile debug$/);
  });
});
