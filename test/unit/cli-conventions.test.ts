import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { commands, main } from '../../src/cli.ts';
import type { Options } from '../../src/config.ts';
import type { Emit } from '../../src/events.ts';
import { cache } from '../../src/kernel/cache.ts';
import { addedSyscallsOfSet, readPatchSet } from '../../src/kernel/patches.ts';
import { envOptions, flagOnlyOptions } from '../../src/options.ts';
import { projectRoot } from '../../src/paths.ts';
import { createRenderer } from '../../src/render.ts';
import { writeReports } from '../../src/stages/report.ts';
import { saveStockControl, stockControlKey } from '../../src/stages/stock-control.ts';
import { run61 } from './support/sample-runs.ts';
import { callcountPatch, fakeTreeFiles } from './support/fake-kernel.ts';
import { makeTarball } from './support/tarball.ts';
import { useTempDirs } from './support/temp.ts';

// The command-line conventions: --version, shell completion, --dry-run, and a report on stdout
// (`--json -`, `--junit -`). Through main(), with the renderer writing into buffers.
const tempDir = useTempDirs('syscall-lab-conventions-');

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

/** A renderer whose stdout and stderr are strings, as main() gets it from the CLI. */
function capture() {
  const out = { stdout: '', stderr: '' };
  const renderer = createRenderer({
    stdout: { write: (text: string) => (out.stdout += text) },
    stderr: { write: (text: string) => (out.stderr += text) },
    tty: false,
    quiet: false,
    color: false,
  });
  const output = {
    emit: renderer.emit,
    get quiet() {
      return renderer.quiet;
    },
    set quiet(value: boolean) {
      renderer.quiet = value;
    },
  };
  const close = (): void => {
    renderer.close();
  };
  return { out, output, close };
}

/** The environment of main(): no SYSCALL_LAB_* of the caller's (a developer's cache, kernel ...). */
const noLabVariables = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SYSCALL_LAB_')));

class Exited extends Error {
  constructor(readonly code: number | string | null | undefined) {
    super(`exit ${String(code)}`);
  }
}

/**
 * What yargs prints for its own output (help, version, completion) and the code it exits with:
 * yargs writes with console.log and ends the process, which a test stops at process.exit.
 */
async function yargsOutput(argv: string[]): Promise<{ printed: string; code: number | string | null | undefined }> {
  const printed: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.map(String).join(' '));
  });
  vi.spyOn(process, 'exit').mockImplementation((code) => {
    throw new Exited(code);
  });
  const { output, close } = capture();
  try {
    await main(argv, output, { env: noLabVariables() });
    return { printed: printed.join('\n'), code: undefined };
  } catch (error) {
    if (error instanceof Exited) return { printed: printed.join('\n'), code: error.code };
    throw error;
  } finally {
    close();
  }
}

describe('--version and completion', () => {
  it("prints package.json's version and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    const { printed, code } = await yargsOutput(['--version']);
    expect(printed.trim()).toBe(version);
    expect(code).toBe(0);
  });

  it('`syscall-lab completion` prints a bash completion script that asks syscall-lab for its completions', async () => {
    const { printed, code } = await yargsOutput(['completion']);
    expect(code).toBe(0);
    expect(printed).toContain('syscall-lab --get-yargs-completions');
    expect(printed).toMatch(/complete -o bashdefault -o default -F \S+ syscall-lab/);
  });

  it("completes the commands, and a command's options", async () => {
    const top = await yargsOutput(['--get-yargs-completions', 'syscall-lab', '']);
    expect(top.code).toBe(0);
    expect(top.printed.split('\n')).toEqual(expect.arrayContaining(['run', 'build', 'boot', 'doctor', 'completion']));
    const run = await yargsOutput(['--get-yargs-completions', 'syscall-lab', 'run', '--']);
    expect(run.printed.split('\n')).toEqual(expect.arrayContaining(['--kernel', '--dry-run', '--json', '--junit']));
  });
});

describe("the CLI's explicit environment list", () => {
  it('holds every option of run, build and boot to envOptions or flagOnlyOptions', async () => {
    const known = new Set<string>([...envOptions, ...flagOnlyOptions, 'help', 'version']);
    for (const command of ['run', 'build', 'boot']) {
      const { printed, code } = await yargsOutput([command, '--help']);
      expect(code).toBe(0);
      const flags = [...printed.matchAll(/^\s+--([a-z][a-z0-9-]*)/gm)].map((match) => match[1] ?? '');
      expect(flags).toContain('dry-run');
      expect(flags.filter((flag) => !known.has(flag))).toEqual([]);
    }
  });

  it('takes no flag-only option from a SYSCALL_LAB_ variable: SYSCALL_LAB_DRY_RUN=1 runs for real', async () => {
    const env: NodeJS.ProcessEnv = { ...noLabVariables(), SYSCALL_LAB_KERNEL: '6.1' };
    for (const option of flagOnlyOptions) env[`SYSCALL_LAB_${option.toUpperCase().replaceAll('-', '_')}`] = '1';
    let seen: Options | undefined;
    const run = async (options: Options): Promise<number> => {
      seen = options;
      return Promise.resolve(0);
    };
    const dryRun = vi.fn(async () => Promise.resolve(0));
    const { output, close } = capture();
    try {
      expect(await main(['run'], output, { env, run: { ...commands, run, dryRun } })).toBe(0);
    } finally {
      close();
    }
    expect(dryRun).not.toHaveBeenCalled();
    expect(seen).toMatchObject({ kernel: ['6.1'], keep: false, buildInGuest: false, conformance: 'warn' });
    for (const key of ['dryRun', 'json', 'junit', 'sha256', 'configFragment', 'commandTimeout'] as const)
      expect(seen?.[key]).toBeUndefined();
  });
});

describe('a report on stdout (--json -, --junit -)', () => {
  const sample = run61({ phases: [], checks: [] });
  /** main() with a run that reports the sample 6.1 run as the real one reports its runs. */
  async function reportRun(args: string[]) {
    const { out, output, close } = capture();
    const run = async (options: Options, emit: Emit): Promise<number> => {
      await writeReports([sample], options, emit);
      return 0;
    };
    try {
      const code = await main(['run', '--kernel', '6.1', ...args], output, {
        env: noLabVariables(),
        run: { ...commands, run },
      });
      return { code, ...out };
    } finally {
      close();
    }
  }

  it('--json - writes the JSON report alone on stdout, the summary on stderr', async () => {
    const { code, stdout, stderr } = await reportRun(['--json', '-']);
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout) as { runs: { kernel: { version: string } }[] };
    expect(parsed.runs.map((r) => r.kernel.version)).toEqual([sample.kernel.version]);
    expect(stderr).toMatch(/passed, \d+ failed/);
    expect(existsSync(join(projectRoot, '-'))).toBe(false);
  });

  it('--junit - writes the JUnit XML alone on stdout; --json FILE beside it still goes to its file', async () => {
    const file = join(tempDir(), 'report.json');
    const { stdout, stderr } = await reportRun(['--junit', '-', '--json', file]);
    expect(stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites /);
    expect(stdout.trimEnd().endsWith('</testsuites>')).toBe(true);
    expect(stderr).toMatch(/passed, \d+ failed/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveProperty('runs');
  });

  it('keeps the summary on stdout when the reports go to files', async () => {
    const { stdout, stderr } = await reportRun(['--json', join(tempDir(), 'r.json')]);
    expect(stdout).toMatch(/passed, \d+ failed/);
    expect(stderr).not.toMatch(/passed, \d+ failed/);
  });

  it('refuses both on stdout: bad input (exit 2) naming both', async () => {
    await expect(reportRun(['--json', '-', '--junit', '-'])).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/--json - and --junit - both ask for stdout/) as unknown,
    });
  });
});

/** Tools a dry run must never start: each records its call in `log` and fails. */
const forbidden = ['apt-get', 'apt', 'curl', 'wget', 'make', 'qemu-system-x86_64', 'dpkg-deb'];

function fakeTools(log: string, names = forbidden): string {
  const bin = tempDir();
  for (const name of names) {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> '${log}'\nexit 1\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

/** A folder of links to every command of /usr/bin and /usr/sbin except `left`: a host without them. */
function hostWithout(left: string[]): string {
  const bin = tempDir();
  for (const dir of ['/usr/bin', '/usr/sbin'])
    for (const name of readdirSync(dir))
      if (!left.includes(name) && !existsSync(join(bin, name))) symlinkSync(join(dir, name), join(bin, name));
  return bin;
}

describe('--dry-run', () => {
  /** main(args) with the forbidden tools faked first on PATH (`missing`: absent from the host instead). */
  async function dryRun(args: string[], missing: string[] = [], cacheDir = tempDir()) {
    const log = join(tempDir(), 'calls.log');
    const host = missing.length > 0 ? hostWithout(missing) : (process.env.PATH ?? '');
    vi.stubEnv('SYSCALL_LAB_CACHE', cacheDir);
    vi.stubEnv(
      'PATH',
      `${fakeTools(
        log,
        forbidden.filter((name) => !missing.includes(name)),
      )}:${host}`,
    );
    const { out, output, close } = capture();
    try {
      const code = await main(args, output, { env: noLabVariables() }).catch((error: unknown) => error);
      return { code, ...out, calls: existsSync(log) ? readFileSync(log, 'utf8') : '', cacheDir };
    } finally {
      close();
    }
  }

  it('prints the plan of a cold 6.1 run and exits 0, with no apt-get, apt, curl, wget, make, qemu or dpkg-deb called', async () => {
    const { code, stdout, calls, cacheDir } = await dryRun(['run', '--dry-run', '--kernel', '6.1']);
    expect(calls).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^dry run of `syscall-lab run`: nothing is installed, downloaded, built or booted$/);
    expect(stdout).toMatch(/^\[6\.1\] source: Linux 6\.1: to download: linux-source-6\.1, the newest in Debian /m);
    expect(stdout).toMatch(/^\[6\.1\] series: .*patches-6\.1 \(\d+ patches; adds callcount 451, taskcount 452\)$/m);
    expect(stdout).toMatch(/^\[6\.1\] build stock: 6\.1-stock: to build unless the cache holds it/m);
    expect(stdout).toMatch(/^\[6\.1\] build patched: 6\.1-patched-[0-9a-f]{8}: to build unless the cache holds it/m);
    expect(stdout).toMatch(/^\[6\.1\] boot stock: the negative control \(qemu, /m);
    for (const check of ['enosys-control', 'kernel-console:stock', 'taskcount-matches-top', 'bad-pointer-efault'])
      expect(stdout).toMatch(new RegExp(`^\\[6\\.1\\] check ${check}$`, 'm'));
    expect(stdout).toMatch(/^\[6\.1\] check userland:callcount_example\.c$/m);
    // Nothing was fetched, built or run into the cache.
    for (const folder of ['sources', 'builds', 'trees', 'runs']) expect(existsSync(join(cacheDir, folder))).toBe(false);
  });

  it('tells cached builds and a cached stock control from those to make (a kernel.org source: its key is pinned)', async () => {
    const cold = await dryRun(['run', '--dry-run', '--kernel', '3.9.11']);
    expect(cold.code).toBe(0);
    expect(cold.stdout).toMatch(
      /^\[3\.9\.11\] source: Linux 3\.9\.11: to download from kernel\.org \(linux-3\.9\.11\.tar\.xz/m,
    );
    const key = (which: string): string =>
      new RegExp(`build ${which}: .*: to build \\(key ([0-9a-f]+)`).exec(cold.stdout)?.[1] ?? '';
    const [stock, patched] = [key('stock'), key('patched')];
    expect(stock).toMatch(/^[0-9a-f]{24}$/);
    expect(patched).toMatch(/^[0-9a-f]{24}$/);
    // The cache of an earlier run: both builds, the stock tree, and the stock control that passed.
    vi.stubEnv('SYSCALL_LAB_CACHE', cold.cacheDir);
    for (const build of [stock, patched]) {
      mkdirSync(cache.build(build), { recursive: true });
      for (const file of ['bzImage', 'kernelrelease']) writeFileSync(join(cache.build(build), file), 'x\n');
    }
    mkdirSync(join(cache.tree(stock), 'linux-3.9.11'), { recursive: true });
    writeFileSync(join(cache.tree(stock), 'complete'), 'x\n');
    const added = addedSyscallsOfSet(await readPatchSet(join(projectRoot, 'patches-3.9.11')));
    const passed = { name: 'enosys-control', status: 'pass', expected: '-', actual: '-', details: '' } as const;
    saveStockControl(stockControlKey(stock, added), {
      results: [passed],
      release: '3.9.11-stock',
      run: '/runs/earlier',
      date: '2026-01-02T03:04:05.000Z',
    });
    const warm = await dryRun(['run', '--dry-run', '--kernel', '3.9.11'], [], cold.cacheDir);
    expect(warm.calls).toBe('');
    expect(warm.code).toBe(0);
    expect(warm.stdout).toContain(`[3.9.11] build stock: 3.9.11-stock: cached (${cache.build(stock)})`);
    expect(warm.stdout).toMatch(/^\[3\.9\.11\] build patched: 3\.9\.11-patched-[0-9a-f]{8}: cached/m);
    expect(warm.stdout).toMatch(
      /^\[3\.9\.11\] boot stock: not needed: its negative control is cached from 2026-01-02T03:04:05\.000Z \(\/runs\/earlier\)$/m,
    );
    expect(warm.stdout).toMatch(/^\[3\.9\.11\] check enosys-control: cached$/m);
  });

  it("names a Debian source in the cache by its package version, and keys its builds by the tarball's content", async () => {
    const cacheDir = tempDir();
    const folder = join(cacheDir, 'sources', 'debian', 'linux-source-6.1_6.1.999-1');
    mkdirSync(folder, { recursive: true });
    await makeTarball(folder, 'linux-source-6.1.tar.xz', Object.keys(fakeTreeFiles), { top: 'linux-source-6.1' });
    const series = join(tempDir(), 'series');
    mkdirSync(series);
    writeFileSync(join(series, '0001-callcount.patch'), callcountPatch);
    const { code, stdout, calls } = await dryRun(
      ['run', '--dry-run', '--kernel', '6.1', '--patches', series, '--conformance', 'off'],
      [],
      cacheDir,
    );
    expect(calls).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^\[6\.1\] source: Linux 6\.1: linux-source-6\.1 6\.1\.999-1 from Debian \S+, in the cache \(.*linux-source-6\.1\.tar\.xz\)/m,
    );
    expect(stdout).toMatch(/^\[6\.1\] build stock: 6\.1-stock: to build \(key [0-9a-f]{24}\)$/m);
    expect(stdout).toMatch(/^\[6\.1\] check conformance:runtime: skip \(--conformance off\)$/m);
    expect(stdout).not.toContain('regenerated once the source is fetched');
  });

  it('says which checks a series without the built-in syscalls skips', async () => {
    const series = join(tempDir(), 'other');
    mkdirSync(series);
    writeFileSync(
      join(series, '0001-hello.patch'),
      '--- a/arch/x86/entry/syscalls/syscall_64.tbl\n+++ b/arch/x86/entry/syscalls/syscall_64.tbl\n@@ -1,1 +1,2 @@\n 450\tcommon\tset_mempolicy_home_node\tsys_set_mempolicy_home_node\n+451\tcommon\thello\t\t\tsys_hello\n',
    );
    const { code, stdout, calls } = await dryRun(['build', '--dry-run', '--kernel', '6.1', '--patches', series]);
    expect(calls).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/series: .*other \(1 patch; adds hello 451\)/);
    // `build` stops at the builds.
    expect(stdout).not.toMatch(/^\[6\.1\] (boot|check) /m);
    const run = await dryRun(['run', '--dry-run', '--kernel', '6.1', '--patches', series]);
    expect(run.stdout).toMatch(
      /^\[6\.1\] check taskcount-matches-top: skip \(the patch set adds no taskcount syscall\)$/m,
    );
    expect(run.stdout).toMatch(/^\[6\.1\] check userland:callcount_example\.c: skip \(.*adds no callcount syscall\)$/m);
  });

  it('bad input: an unknown kernel exits 2, calling nothing', async () => {
    const { code, calls } = await dryRun(['run', '--dry-run', '--kernel', '9.99']);
    expect(calls).toBe('');
    expect(code).toMatchObject({ exitCode: 2, message: expect.stringMatching(/not in the pinned table/) as unknown });
  });

  it('a missing tool (no qemu-system-x86_64): the plan, then exit 3 naming it', async () => {
    const { code, stdout, calls } = await dryRun(['run', '--dry-run', '--kernel', '6.1'], ['qemu-system-x86_64']);
    expect(calls).toBe('');
    expect(stdout).toMatch(/^tools: missing qemu-system-x86_64 \(package qemu-system-x86\)/m);
    expect(code).toMatchObject({
      exitCode: 3,
      message: expect.stringMatching(/missing on this host: qemu-system-x86_64 \(package qemu-system-x86\)/) as unknown,
    });
  });
});
