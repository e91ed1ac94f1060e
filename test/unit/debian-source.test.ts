import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../src/errors.ts';
import { fetchSource, resolveSource, type KernelSource } from '../../src/kernel/source.ts';
import { upgradeKernelScript } from '../../src/paths.ts';
import { writeScript } from './support/fake-build.ts';
import { fakeTreeFiles } from './support/fake-kernel.ts';
import { makeTarball } from './support/tarball.ts';
import { useTempDirs } from './support/temp.ts';

// A "debian:SUITES:PACKAGE" row of src/kernel/versions.tsv (5.10: debian:bullseye,bullseye-security:linux-source-5.10)
// is fetched by upgrade-kernel.sh with an apt state of its own under --sources: lists refreshed at
// most daily, the newest version downloaded once and kept until a newer one replaces it. Fake
// apt-get, apt-cache and dpkg-deb first on PATH stand in for Debian (no network): they log every
// call, and files in their state folder say what the "archive" holds.
const tempDir = useTempDirs('syscall-lab-debian-');

const pkg = 'linux-source-5.10';
const mirror = 'http://mirror.invalid/debian';
const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
const versionsTable = 'src/kernel/versions.tsv';

const sha256Of = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A Debian linux-source tarball's Makefile: 5.10.<sublevel>. */
const makefile = (sublevel: number): string =>
  `# SPDX-License-Identifier: GPL-2.0\nVERSION = 5\nPATCHLEVEL = 10\nSUBLEVEL = ${sublevel}\nEXTRAVERSION =\n`;

/**
 * The fakes, in `root/bin`, with their state in `root/state`:
 * - apt-get update fails (exit 100) while state/update-fails exists;
 * - apt-get download PKG=VER writes PKG_VER_all.deb (holding VER) in its current folder, as the
 *   real one does, and fails as the real one would when its -o sources.list or lists folder is not
 *   there (seen from its current folder);
 * - apt-cache show --no-all-versions PKG prints state/version; with state/gone it prints nothing
 *   and exits with the code in that file (the real apt-cache: "E: No packages found", exit 100);
 * - dpkg-deb -x DEB DIR puts state/<VER>.tar.xz (VER read from DEB) at DIR/usr/src/PKG.tar.xz.
 */
async function fakeDebian() {
  const root = tempDir();
  const bin = join(root, 'bin');
  const state = join(root, 'state');
  const log = join(root, 'calls.log');
  mkdirSync(bin);
  mkdirSync(state);
  const skipOptions = `
sourcelist="" lists=""
while [ $# -gt 0 ]; do
  case "$1" in
    -q) shift ;;
    -o) case "$2" in Dir::Etc::sourcelist=*) sourcelist=\${2#*=} ;; Dir::State::Lists=*) lists=\${2#*=} ;; esac; shift 2 ;;
    *) break ;;
  esac
done`;
  writeScript(
    join(bin, 'apt-get'),
    `#!/bin/bash
printf 'apt-get %s\\n' "$*" >>'${log}'
${skipOptions}
case "$1" in
  update)
    if [ -e '${state}/update-fails' ]; then echo "E: Failed to fetch ${mirror}/dists/bullseye/InRelease" >&2; exit 100; fi ;;
  download)
    [ -f "$sourcelist" ] && [ -d "$lists" ] || { echo "E: Unable to locate package \${2%%=*}" >&2; exit 100; }
    printf '%s\\n' "\${2#*=}" >"\${2%%=*}_\${2#*=}_all.deb" ;;
  *) echo "fake apt-get: unexpected $*" >&2; exit 100 ;;
esac
`,
  );
  writeScript(
    join(bin, 'apt-cache'),
    `#!/bin/bash
printf 'apt-cache %s\\n' "$*" >>'${log}'
${skipOptions}
[ "$1" = show ] && [ "$2" = --no-all-versions ] || { echo "fake apt-cache: unexpected $*" >&2; exit 100; }
if [ -e '${state}/gone' ]; then echo "E: No packages found" >&2; exit "$(cat '${state}/gone')"; fi
printf 'Package: %s\\nVersion: %s\\nArchitecture: all\\n\\n' "$3" "$(cat '${state}/version')"
`,
  );
  writeScript(
    join(bin, 'dpkg-deb'),
    `#!/bin/bash
printf 'dpkg-deb %s\\n' "$*" >>'${log}'
[ "$1" = -x ] || exit 2
name=$(basename "$2"); mkdir -p "$3/usr/src"
cp '${state}/'"$(cat "$2")".tar.xz "$3/usr/src/\${name%%_*}.tar.xz"
`,
  );
  const tarballs: Record<string, string> = {};
  for (const [debianVersion, sublevel] of [
    ['5.10.223-1', 223],
    ['5.10.226-1', 226],
  ] as const) {
    const made = await makeTarball(root, `${debianVersion}.tar.xz`, Object.keys(fakeTreeFiles), {
      top: pkg,
      extra: { Makefile: makefile(sublevel) },
    });
    // The fake dpkg-deb takes it from state/.
    tarballs[debianVersion] = join(state, `${debianVersion}.tar.xz`);
    writeFileSync(tarballs[debianVersion], readFileSync(made));
  }
  writeFileSync(join(state, 'version'), '5.10.223-1\n');
  const sources = join(root, 'sources');
  mkdirSync(sources);
  const lines = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  let seen = 0;
  return {
    root,
    sources,
    tarballs,
    /** The private apt state of bullseye and its security suite. */
    aptState: join(sources, 'apt', 'bullseye+bullseye-security'),
    env: { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, TMPDIR: tempDir(), LC_ALL: 'C' },
    /** Every call since the last `calls()` or `rawCalls()`, as logged (with apt's -q and -o options). */
    rawCalls(): string[] {
      const all = lines();
      const fresh = all.slice(seen);
      seen = all.length;
      return fresh;
    },
    /** The calls since the last `calls()`/`rawCalls()`, without apt's -q and -o options. */
    calls(): string[] {
      return this.rawCalls().map((line) => line.replace(/ -q| -o \S+/g, ''));
    },
    setVersion(debianVersion: string): void {
      writeFileSync(join(state, 'version'), `${debianVersion}\n`);
    },
    setGone(exitCode: number): void {
      writeFileSync(join(state, 'gone'), `${exitCode}\n`);
    },
    setUpdateFails(): void {
      writeFileSync(join(state, 'update-fails'), '');
    },
  };
}
type FakeDebian = Awaited<ReturnType<typeof fakeDebian>>;

async function fetchSourceRun(fake: FakeDebian, args: string[] = ['--debian-mirror', mirror], version = '5.10') {
  return execa('bash', [upgradeKernelScript, '--fetch-source', version, '--sources', fake.sources, ...args], {
    reject: false,
    timeout: 30_000,
    env: fake.env,
  });
}

/** The "key value" answer of --fetch-source (progress lines, "syscall-lab: ...", left out). */
const answer = (stdout: string): string[] =>
  stdout.split('\n').filter((line) => line !== '' && !line.startsWith('syscall-lab: '));

const tarballOf = (fake: FakeDebian, debianVersion: string): string =>
  join(fake.sources, 'debian', `${pkg}_${debianVersion}`, `${pkg}.tar.xz`);

const expectedAnswer = (fake: FakeDebian, debianVersion: string): string[] => [
  'version 5.10',
  `tarball ${tarballOf(fake, debianVersion)}`,
  `debian-package ${pkg}`,
  `debian-version ${debianVersion}`,
];

/** Sets the lists' "last refreshed" mark `days` days back. */
function ageLists(fake: FakeDebian, days: number): void {
  const then = new Date(Date.now() - days * 24 * 3600 * 1000);
  utimesSync(join(fake.aptState, 'updated'), then, then);
}

/** The script's error line (stderr). */
const errorLine = (stderr: string): string =>
  stderr.split('\n').find((line) => line.startsWith('upgrade-kernel.sh: error: ')) ?? '';

describe('upgrade-kernel.sh --fetch-source: a Debian row', () => {
  it('first fetch: refreshes the private lists, asks for the newest version, downloads and unpacks it', async () => {
    const fake = await fakeDebian();
    const result = await fetchSourceRun(fake);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(answer(result.stdout)).toEqual(expectedAnswer(fake, '5.10.223-1'));
    const tarball = tarballOf(fake, '5.10.223-1');
    expect(sha256Of(tarball)).toBe(sha256Of(fake.tarballs['5.10.223-1']!));

    const raw = fake.rawCalls();
    const state = fake.aptState;
    // apt-get and apt-cache see the private state only, never the host's sources or lists.
    for (const line of raw.filter((call) => !call.startsWith('dpkg-deb '))) {
      expect(line).toContain(` -o Dir::Etc::sourcelist=${state}/sources.list `);
      expect(line).toContain(' -o Dir::Etc::sourceparts=/dev/null ');
      expect(line).toContain(` -o Dir::State::Lists=${state}/lists `);
      expect(line).toContain(` -o Dir::Cache=${state}/cache `);
      expect(line).toContain(` -o Dir::State::status=${state}/status `);
    }
    const calls = raw.map((line) => line.replace(/ -q| -o \S+/g, ''));
    expect(calls.slice(0, 3)).toEqual([
      'apt-get update',
      `apt-cache show --no-all-versions ${pkg}`,
      `apt-get download ${pkg}=5.10.223-1`,
    ]);
    expect(calls.slice(3)).toEqual([
      expect.stringMatching(
        new RegExp(`^dpkg-deb -x ${fake.sources}/debian/\\.part\\.\\w+/${pkg}_5\\.10\\.223-1_all\\.deb \\S+/x$`),
      ),
    ]);
    expect(readFileSync(join(state, 'sources.list'), 'utf8')).toBe(
      `deb [signed-by=${keyring}] ${mirror} bullseye main\ndeb [signed-by=${keyring}] ${mirror}-security bullseye-security main\n`,
    );
    // Only the package's folder is left: the scratch folder of the download is gone.
    expect(readdirSync(join(fake.sources, 'debian'))).toEqual([`${pkg}_5.10.223-1`]);
    expect(readdirSync(join(fake.sources, 'debian', `${pkg}_5.10.223-1`))).toEqual([`${pkg}.tar.xz`]);
  });

  it('a second fetch the same day: no update, no apt-cache, no download; the same answer', async () => {
    const fake = await fakeDebian();
    const first = await fetchSourceRun(fake);
    expect(first.exitCode, first.stderr).toBe(0);
    const tarball = tarballOf(fake, '5.10.223-1');
    const { mtimeMs } = statSync(tarball);
    fake.calls();

    const second = await fetchSourceRun(fake);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(answer(second.stdout)).toEqual(expectedAnswer(fake, '5.10.223-1'));
    expect(fake.calls()).toEqual([]);
    expect(statSync(tarball).mtimeMs).toBe(mtimeMs);
  });

  it('lists older than a day: refreshed again, the kept tarball still serves', async () => {
    const fake = await fakeDebian();
    expect((await fetchSourceRun(fake)).exitCode).toBe(0);
    fake.calls();
    ageLists(fake, 2);

    const result = await fetchSourceRun(fake);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(answer(result.stdout)).toEqual(expectedAnswer(fake, '5.10.223-1'));
    expect(fake.calls()).toEqual(['apt-get update', `apt-cache show --no-all-versions ${pkg}`]);
    // Refreshed today: the next run does not refresh.
    expect((await fetchSourceRun(fake)).exitCode).toBe(0);
    expect(fake.calls()).toEqual([]);
  });

  it('a newer Debian version: taken once the lists are refreshed, the old folder removed', async () => {
    const fake = await fakeDebian();
    expect((await fetchSourceRun(fake)).exitCode).toBe(0);
    fake.setVersion('5.10.226-1');

    // The same day, the lists (and the answer read from them) stand.
    const sameDay = await fetchSourceRun(fake);
    expect(sameDay.exitCode, sameDay.stderr).toBe(0);
    expect(answer(sameDay.stdout)).toEqual(expectedAnswer(fake, '5.10.223-1'));
    fake.calls();

    ageLists(fake, 2);
    const result = await fetchSourceRun(fake);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(answer(result.stdout)).toEqual(expectedAnswer(fake, '5.10.226-1'));
    expect(fake.calls().slice(0, 3)).toEqual([
      'apt-get update',
      `apt-cache show --no-all-versions ${pkg}`,
      `apt-get download ${pkg}=5.10.226-1`,
    ]);
    expect(sha256Of(tarballOf(fake, '5.10.226-1'))).toBe(sha256Of(fake.tarballs['5.10.226-1']!));
    expect(readdirSync(join(fake.sources, 'debian'))).toEqual([`${pkg}_5.10.226-1`]);
  });

  it('the refresh fails but lists of an earlier day exist: they serve, with a notice', async () => {
    const fake = await fakeDebian();
    expect((await fetchSourceRun(fake)).exitCode).toBe(0);
    fake.calls();
    ageLists(fake, 2);
    fake.setUpdateFails();

    const result = await fetchSourceRun(fake);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /^syscall-lab: notice: could not refresh the lists of Debian bullseye,bullseye-security; using those of \d{4}-\d\d-\d\d \d\d:\d\d$/m,
    );
    expect(answer(result.stdout)).toEqual(expectedAnswer(fake, '5.10.223-1'));
    expect(fake.calls()).toEqual(['apt-get update']);
  });

  it('the refresh fails and there never were lists: exit 69, the fixes named', async () => {
    const fake = await fakeDebian();
    fake.setUpdateFails();

    const result = await fetchSourceRun(fake);
    expect(result.exitCode).toBe(69);
    expect(result.stdout).not.toMatch(/^tarball /m);
    const line = errorLine(result.stderr);
    expect(line).toContain(`could not read the package lists of Debian bullseye,bullseye-security from ${mirror}`);
    expect(line).toContain('--debian-mirror');
    expect(line).toContain('--source TARBALL');
    expect(fake.calls()).toEqual(['apt-get update']);
    expect(existsSync(join(fake.aptState, 'updated'))).toBe(false);
    expect(existsSync(join(fake.sources, 'debian'))).toBe(false);
  });

  // apt-cache's answer when it knows no such package (the real one: "E: No packages found", exit 100).
  // BUG (upgrade-kernel.sh fetch_debian_source): under set -e -o pipefail the failing apt-cache in
  // `debian_version=$(debian_apt ... | awk ...)` ends the script with exit 100 and no message,
  // before the "has no package" die. Flip to it() once fixed.
  it('the package is gone (apt-cache exits 100): exit 69 naming the row 5.10 and the table', async () => {
    const fake = await fakeDebian();
    fake.setGone(100);
    const result = await fetchSourceRun(fake);
    expect(result.exitCode).toBe(69);
    const line = errorLine(result.stderr);
    expect(line).toContain(`Debian bullseye,bullseye-security has no package ${pkg} any more`);
    expect(line).toContain(`the row of 5.10 in `);
    expect(line).toContain(versionsTable);
  });

  it('the package is gone (apt-cache prints no version): exit 69 naming the row 5.10 and the table', async () => {
    const fake = await fakeDebian();
    fake.setGone(0);
    const result = await fetchSourceRun(fake);
    expect(result.exitCode).toBe(69);
    expect(result.stdout).not.toMatch(/^tarball /m);
    const line = errorLine(result.stderr);
    expect(line).toContain(`Debian bullseye,bullseye-security has no package ${pkg} any more`);
    expect(line).toContain(`the row of 5.10 in `);
    expect(line).toContain(versionsTable);
    expect(line).toContain('--source TARBALL');
    expect(fake.calls()).toEqual(['apt-get update', `apt-cache show --no-all-versions ${pkg}`]);
    // Nothing remembered as the answer: once the package is back, it is found without a new day.
    expect(existsSync(join(fake.aptState, `candidate-${pkg}`))).toBe(false);
  });

  it('a version that is no row of the table (9.99): exit 2, nothing fetched', async () => {
    const fake = await fakeDebian();
    const result = await fetchSourceRun(fake, ['--debian-mirror', mirror], '9.99');
    expect(result.exitCode).toBe(2);
    expect(errorLine(result.stderr)).toContain(`--fetch-source 9.99: not a version of `);
    expect(result.stdout).toBe('');
    expect(fake.calls()).toEqual([]);
    expect(readdirSync(fake.sources)).toEqual([]);
  });

  it("without --debian-mirror: this machine's Debian mirror, signed by the Debian keyring", async () => {
    const fake = await fakeDebian();
    const result = await fetchSourceRun(fake, []);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(answer(result.stdout)).toEqual(expectedAnswer(fake, '5.10.223-1'));
    const list = readFileSync(join(fake.aptState, 'sources.list'), 'utf8');
    expect(list).toMatch(
      /^deb \[signed-by=\/usr\/share\/keyrings\/debian-archive-keyring\.gpg\] [a-z+]+:\/\/\S+ bullseye main\ndeb \[signed-by=\/usr\/share\/keyrings\/debian-archive-keyring\.gpg\] [a-z+]+:\/\/\S+ bullseye-security main\n$/,
    );
    expect(list).not.toContain('mirror.invalid');
    expect(fake.calls()[0]).toBe('apt-get update');
  });

  it('another mirror: the lists are refreshed for it the same day', async () => {
    const fake = await fakeDebian();
    expect((await fetchSourceRun(fake)).exitCode).toBe(0);
    fake.calls();
    const other = 'http://other.invalid/debian';
    const result = await fetchSourceRun(fake, ['--debian-mirror', `${other}/`]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readFileSync(join(fake.aptState, 'sources.list'), 'utf8')).toBe(
      `deb [signed-by=${keyring}] ${other} bullseye main\ndeb [signed-by=${keyring}] ${other}-security bullseye-security main\n`,
    );
    expect(fake.calls()).toEqual(['apt-get update', `apt-cache show --no-all-versions ${pkg}`]);
  });
});

describe('upgrade-kernel.sh --version 5.10: a build fetches the Debian package the same way', () => {
  const checkOnly = (fake: FakeDebian, sources: string) => [
    '--version',
    '5.10',
    '--sources',
    sources,
    '--debian-mirror',
    mirror,
    '--work',
    join(fake.root, 'work'),
    '--check-patches',
  ];

  it('--check-patches with an absolute --sources: fetched, then planned as the release it holds', async () => {
    const fake = await fakeDebian();
    const result = await execa('bash', [upgradeKernelScript, ...checkOnly(fake, fake.sources)], {
      reject: false,
      timeout: 30_000,
      env: fake.env,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`syscall-lab: source: Debian ${pkg} 5.10.223-1`);
    expect(result.stdout).toMatch(/^syscall-lab: plan: version 5\.10\.223$/m);
    expect(existsSync(tarballOf(fake, '5.10.223-1'))).toBe(true);
  });

  // BUG (upgrade-kernel.sh main/fetch_debian_source): only --fetch-source makes $sources_dir
  // absolute; a build keeps a relative --sources (or the default $work/sources with a relative
  // --work), and apt-get download runs in the scratch folder, where the relative -o paths of
  // debian_apt name nothing. Flip to it() once fixed.
  it('--check-patches with a relative --sources: fetched all the same', async () => {
    const fake = await fakeDebian();
    const result = await execa('bash', [upgradeKernelScript, ...checkOnly(fake, 'sources')], {
      reject: false,
      timeout: 30_000,
      env: fake.env,
      cwd: fake.root,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`syscall-lab: source: Debian ${pkg} 5.10.223-1`);
    expect(existsSync(tarballOf(fake, '5.10.223-1'))).toBe(true);
  });
});

/** Sets process.env's `env` for the time of `run`, then puts back what was there. */
async function withEnv<T>(env: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = Object.entries(env).map(([name]) => [name, process.env[name]] as const);
  Object.assign(process.env, env);
  try {
    return await run();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  }
}

describe('fetchSource: a Debian row becomes its fetched tarball', () => {
  /** fetchSource in this process, with the fakes first on PATH and the cache in a temp folder. */
  async function inProcess(fake: FakeDebian): Promise<{ cacheDir: string; source?: KernelSource; error?: unknown }> {
    const cacheDir = tempDir();
    const env = { PATH: fake.env.PATH, SYSCALL_LAB_CACHE: cacheDir };
    const outcome = await withEnv(env, async () => fetchSource(await resolveSource('5.10'))).then(
      (source) => ({ source }),
      (error: unknown) => ({ error }),
    );
    return { cacheDir, ...outcome };
  }

  it('5.10: the tarball, versioned by its Makefile, keyed by its content', async () => {
    const fake = await fakeDebian();
    const before = { PATH: process.env.PATH, SYSCALL_LAB_CACHE: process.env.SYSCALL_LAB_CACHE };
    const { cacheDir, source, error } = await inProcess(fake);
    expect(error).toBeUndefined();
    const tarball = join(cacheDir, 'sources', 'debian', `${pkg}_5.10.223-1`, `${pkg}.tar.xz`);
    expect(source).toEqual({
      requested: '5.10',
      kind: 'debian',
      version: '5.10.223',
      scriptArgs: ['--source', tarball],
      identity: `sha256:${sha256Of(fake.tarballs['5.10.223-1']!)}`,
      debian: { suite: 'bullseye,bullseye-security', package: pkg, version: '5.10.223-1' },
      path: tarball,
    });
    expect(fake.calls()).toContain(`apt-get download ${pkg}=5.10.223-1`);
    expect({ PATH: process.env.PATH, SYSCALL_LAB_CACHE: process.env.SYSCALL_LAB_CACHE }).toEqual(before);
  });

  it('a gone package (apt-cache prints no version): InfrastructureError, exit 3, naming 5.10 and the table', async () => {
    const fake = await fakeDebian();
    fake.setGone(0);
    const { error } = await inProcess(fake);
    expect(error).toBeInstanceOf(InfrastructureError);
    const infra = error as InfrastructureError;
    expect(infra.exitCode).toBe(3);
    expect(infra.message).toBe(
      `could not fetch the source of Linux 5.10: Debian bullseye,bullseye-security has no package ${pkg} any more`,
    );
    expect(infra.fix).toContain('update the row of 5.10 in ');
    expect(infra.fix).toContain(versionsTable);
  });

  // BUG: as in the script test above, apt-cache's exit 100 ends the script before its message,
  // so the error says only "could not fetch the source of Linux 5.10: ". Flip to it() once fixed.
  it('a gone package (apt-cache exits 100): the error says the package is gone', async () => {
    const fake = await fakeDebian();
    fake.setGone(100);
    const { error } = await inProcess(fake);
    expect(error).toBeInstanceOf(InfrastructureError);
    const infra = error as InfrastructureError;
    expect(infra.exitCode).toBe(3);
    expect(infra.message).toContain('5.10');
    expect(infra.message).toContain(`Debian bullseye,bullseye-security has no package ${pkg} any more`);
  });
});
