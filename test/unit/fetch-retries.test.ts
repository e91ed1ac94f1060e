import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { upgradeKernelScript } from '../../src/paths.ts';
import { aptInstall } from '../vagrant/run.ts';
import { callcountPatch, fakeTreeFiles } from './support/fake-kernel.ts';
import { makeTarball } from './support/tarball.ts';
import { useTempDirs } from './support/temp.ts';

// What the script does when getting the source goes wrong in a way the next run can mend: a
// download that fails its checksum is deleted (so the next run fetches it again; a user's own file
// is left alone). No network: downloads come from a file:// mirror. (Debian sources: debian-source.test.ts.)
const tempDir = useTempDirs('syscall-lab-fetch-');
const members = Object.keys(fakeTreeFiles);

const sha256 = async (file: string) => (await execa('sha256sum', [file])).stdout.split(' ')[0]!;

function patchDir(): string {
  const dir = tempDir();
  writeFileSync(join(dir, '0001-callcount.patch'), callcountPatch);
  return dir;
}

async function script(args: string[], env: Record<string, string> = {}, file = upgradeKernelScript) {
  return execa(file, args, { reject: false, timeout: 30_000, env: { TMPDIR: tempDir(), LC_ALL: 'C', ...env } });
}

/** A file:// mirror laid out as kernel.org's (vN.x/linux-V.tar.xz), serving a fake tree as `version`. */
async function mirror(version: string): Promise<{ url: string; file: string }> {
  const root = tempDir();
  const dir = join(root, `v${version.split('.')[0]!}.x`);
  mkdirSync(dir);
  const file = await makeTarball(dir, `linux-${version}.tar.xz`, members);
  return { url: `file://${root}`, file };
}

describe('upgrade-kernel.sh deletes a download that fails its checksum', () => {
  it('a version outside the table: the bad download is gone, the next run fetches it again', async () => {
    const { url, file } = await mirror('6.1.999');
    const work = tempDir();
    const download = join(work, 'sources', 'kernel.org', 'linux-6.1.999.tar.xz');
    const wrong = '0'.repeat(64);
    const args = ['--version', '6.1.999', '--mirror', url, '--patches', patchDir(), '--check-patches', '--work', work];

    const bad = await script([...args, '--sha256', wrong]);
    expect(bad.exitCode).toBe(65);
    const right = await sha256(file);
    expect(bad.stderr).toBe(
      `upgrade-kernel.sh: error: sha256 of the download ${download} was ${right}, expected ${wrong}; it was deleted, so the next run downloads it again (fix: run again, check --mirror / KERNEL_MIRROR, or pass the right --sha256)`,
    );
    expect(existsSync(download)).toBe(false);
    expect(existsSync(`${download}.part`)).toBe(false);

    const good = await script([...args, '--sha256', right]);
    expect(good.stderr).toBe('');
    expect(good.exitCode).toBe(0);
    expect(good.stdout).toContain(`downloading ${url}/v6.x/linux-6.1.999.tar.xz`);
    expect(good.stdout).toContain(`sha256 verified: ${download}`);
  });

  it('a pinned version whose mirror serves other bytes (KERNEL_MIRROR), and a bad download of an earlier run', async () => {
    const { url } = await mirror('3.9.11');
    const work = tempDir();
    const download = join(work, 'sources', 'kernel.org', 'linux-3.9.11.tar.xz');
    const args = ['--version', '3.9.11', '--check-patches', '--work', work];
    const fetched = await script(args, { KERNEL_MIRROR: url });
    expect(fetched.exitCode).toBe(65);
    expect(fetched.stderr).toContain(`sha256 of the download ${download} was `);
    expect(existsSync(download)).toBe(false);

    // A file left in sources/kernel.org/ by an earlier run counts as a download too.
    mkdirSync(join(work, 'sources', 'kernel.org'), { recursive: true });
    writeFileSync(download, 'half a tarball');
    const left = await script(args, { KERNEL_MIRROR: 'file:///nonexistent' });
    expect(left.exitCode).toBe(65);
    expect(left.stderr).toContain('it was deleted, so the next run downloads it again');
    expect(existsSync(download)).toBe(false);
  });

  it('a --source URL (file://) with the wrong --sha256: deleted', async () => {
    const { url } = await mirror('6.1.999');
    const work = tempDir();
    const result = await script([
      '--source',
      `${url}/v6.x/linux-6.1.999.tar.xz`,
      '--sha256',
      'f'.repeat(64),
      '--check-patches',
      '--work',
      work,
    ]);
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toContain('it was deleted');
    expect(existsSync(join(work, 'sources', 'kernel.org', 'linux-6.1.999.tar.xz'))).toBe(false);
  });

  it("a user's own --source tarball with the wrong --sha256 is kept", async () => {
    const file = await makeTarball(tempDir(), 'linux-6.1.tar.xz', members);
    const result = await script(['--source', file, '--sha256', 'a'.repeat(64), '--check-patches', '--work', tempDir()]);
    expect(result.exitCode).toBe(65);
    expect(result.stderr).toBe(
      `upgrade-kernel.sh: error: sha256 of ${file} is ${await sha256(file)}, expected ${'a'.repeat(64)} (fix: re-download it, or pass the right --sha256)`,
    );
    expect(existsSync(file)).toBe(true);
  });
});

// --- apt (test:vagrant installs its packages with it) ---------------------------------------

/**
 * A fake apt-get first on PATH: every call is logged; "install" fails as stale package lists make
 * it fail until "update" has run (or always, with FAKE_APT_INSTALL=fail), then "installs" by
 * copying FAKE_APT_TARBALL to FAKE_APT_PROVIDES; "update" fails with FAKE_APT_UPDATE=fail.
 */
function fakeApt(root: string) {
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const aptGet = `#!/bin/sh
echo "$*" >> "$FAKE_APT_LOG"
case "$1" in
  update)
    [ "$FAKE_APT_UPDATE" != fail ] || { echo "E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease" >&2; exit 100; }
    touch "$FAKE_APT_STATE/updated" ;;
  install)
    if [ "$FAKE_APT_INSTALL" = fail ] || [ ! -e "$FAKE_APT_STATE/updated" ]; then
      echo "The following packages have unmet dependencies:" >&2
      echo " libarchive-tools : Depends: libarchive13 (= 3.6.2-1+deb12u4) but 3.6.2-1+deb12u5 is to be installed" >&2
      echo "E: Unable to correct problems, you have held broken packages." >&2
      exit 100
    fi
    [ -z "$FAKE_APT_PROVIDES" ] || { mkdir -p "$(dirname "$FAKE_APT_PROVIDES")"; cp "$FAKE_APT_TARBALL" "$FAKE_APT_PROVIDES"; } ;;
  *) exit 100 ;;
esac
`;
  writeFileSync(join(bin, 'apt-get'), aptGet);
  chmodSync(join(bin, 'apt-get'), 0o755);
  const state = join(root, 'state');
  mkdirSync(state);
  const log = join(root, 'apt.log');
  return {
    log,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    env: { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, FAKE_APT_LOG: log, FAKE_APT_STATE: state },
  };
}

describe("test:vagrant's package install (aptInstall) retries after apt-get update", () => {
  it('stale lists: install, update, install', async () => {
    const apt = fakeApt(tempDir());
    expect(await aptInstall(['vagrant', 'dnsmasq-base'], apt.env)).toBeUndefined();
    expect(apt.calls()).toEqual([
      'install -y --no-install-recommends vagrant dnsmasq-base',
      'update',
      'install -y --no-install-recommends vagrant dnsmasq-base',
    ]);
  });

  it("a failure after the update is reported, with apt-get's last lines", async () => {
    const apt = fakeApt(tempDir());
    const failure = await aptInstall(['vagrant'], { ...apt.env, FAKE_APT_INSTALL: 'fail' });
    expect(failure).toMatch(/^apt-get install vagrant failed, also after apt-get update: .*held broken packages/);
    expect(apt.calls()).toHaveLength(3);
  });

  it('a failing update is reported', async () => {
    const apt = fakeApt(tempDir());
    expect(await aptInstall(['vagrant'], { ...apt.env, FAKE_APT_UPDATE: 'fail' })).toMatch(
      /^apt-get update failed: .*Failed to fetch/,
    );
    expect(apt.calls()).toEqual(['install -y --no-install-recommends vagrant', 'update']);
  });
});
