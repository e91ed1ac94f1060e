import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries, makeFakeBuild, pathWithout, processesMentioning, startCli } from './support/fake-build.ts';
import { fakeTreeFiles } from './support/fake-kernel.ts';
import { makeTarball } from './support/tarball.ts';
import { useTempDirs } from './support/temp.ts';

// A host without a tool syscall-lab needs, where the tool cannot be installed: either apt-get
// is there but cannot fetch the package (offline, or no such package: a fake apt-get on PATH
// that fails as the real one does), or there is no apt-get at all. `run` and `build` must stop
// with exit 3 naming the tool and its Debian package, before building or booting anything,
// and leave nothing behind. No test installs anything: the real apt-get is never on PATH.
const tempDir = useTempDirs('syscall-lab-missing-');
const isRoot = process.getuid?.() === 0;

interface Case {
  command: 'run' | 'build';
  tool: string;
  aptPackage: string;
  apt: 'fails' | 'absent';
  /** Give a .tar.xz instead of a tree: tar needs xz to read it while the input is validated. */
  tarball?: boolean;
}

const cases: Case[] = [
  { command: 'run', tool: 'qemu-system-x86_64', aptPackage: 'qemu-system-x86', apt: 'fails' },
  { command: 'run', tool: 'qemu-system-x86_64', aptPackage: 'qemu-system-x86', apt: 'absent' },
  { command: 'build', tool: 'top', aptPackage: 'procps', apt: 'fails' },
  { command: 'build', tool: 'dropbearkey', aptPackage: 'dropbear-bin', apt: 'absent' },
  // Not "a corrupt tarball" (bad input): the host lacks xz.
  { command: 'run', tool: 'xz', aptPackage: 'xz-utils', apt: 'absent', tarball: true },
];

/** A host like this one, without `without` and with the fake make; apt-get fake or absent. */
function host(without: string[], apt: 'fails' | 'absent') {
  const root = tempDir();
  const fake = makeFakeBuild(root);
  const extra = [join(fake.fakeBin, 'make'), ...(apt === 'fails' ? [join(fake.fakeBin, 'apt-get')] : [])];
  const path = pathWithout(join(root, 'path'), [...without, 'apt-get'], extra);
  const tmp = join(root, 'tmpdir');
  mkdirSync(tmp);
  const aptLog = join(root, 'apt.log');
  const cacheDir = join(root, 'cache');
  return {
    root,
    fake,
    path,
    tmp,
    aptLog,
    cacheDir,
    env: { PATH: path, TMPDIR: tmp, FAKE_MAKE_STATE: fake.state, FAKE_APT_LOG: aptLog },
  };
}

describe('a required tool is missing and cannot be installed', () => {
  it.each(cases)(
    '$command without $tool (apt-get $apt): exit 3 naming $tool and $aptPackage, nothing built or left',
    async ({ command, tool, aptPackage, apt, tarball }) => {
      const { root, fake, path, tmp, aptLog, cacheDir, env } = host([tool], apt);
      const source = tarball ? await makeTarball(root, 'linux-6.1.tar.xz', Object.keys(fakeTreeFiles)) : fake.tree;
      const result = await startCli(
        [command, '--kernel-source', source, '--patches', fake.patches, '--cache', cacheDir],
        env,
      );

      expect(result.exitCode, result.all).toBe(3);
      expect(result.stderr).toMatch(/^syscall-lab: error: /m);
      expect(result.stderr).not.toContain('internal error');
      const error = result.stderr.split('\n').find((line) => line.startsWith('syscall-lab: error: '))!;
      expect(error).toMatch(new RegExp(`(^|[ :,(])${tool}([ :,)]|$)`));
      expect(error).toContain(aptPackage);
      // The fix is the exact apt-get line.
      expect(result.stderr).toMatch(
        new RegExp(`^syscall-lab: fix: apt-get install -y --no-install-recommends .*\\b${aptPackage}\\b`, 'm'),
      );

      if (apt === 'fails' && isRoot) {
        // As root it tried to install the package, and says why that failed.
        expect(readFileSync(aptLog, 'utf8')).toMatch(
          new RegExp(`^apt-get install -y --no-install-recommends .*\\b${aptPackage}\\b`, 'm'),
        );
        expect(error).toContain(`Unable to locate package`);
      } else {
        expect(existsSync(aptLog)).toBe(false);
      }

      // Nothing was built (make never ran), booted or left running, and nothing written to the cache.
      expect(existsSync(join(fake.state, 'calls'))).toBe(false);
      expect(processesMentioning(cacheDir)).toEqual([]);
      expect(processesMentioning(path)).toEqual([]);
      for (const dir of ['tmp', 'builds', 'trees', 'runs', 'locks'])
        expect(entries(join(cacheDir, dir)), dir).toEqual([]);
      expect(entries(tmp).filter((name) => !/^tsx-\d+$/.test(name))).toEqual([]);
    },
    120_000,
  );
});

describe('an optional tool is missing and cannot be installed', () => {
  it('build without ccache (and without apt-get) goes on, naming it', async () => {
    const { fake, cacheDir, env } = host(['ccache'], 'absent');
    const result = await startCli(
      ['build', '--kernel-source', fake.tree, '--patches', fake.patches, '--cache', cacheDir],
      env,
    );
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stderr).toMatch(/ccache.*\bccache\b/);
    expect(result.stdout).toMatch(/^6\.1\.0-stock: /m);
    expect(result.stdout).toMatch(/^6\.1\.0-patched-\w+: /m);
  }, 120_000);
});
