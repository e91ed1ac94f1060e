import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostTopLevel, prepareGuestView, viewArguments, writeEtc, type GuestView } from '../../src/guest/view.ts';
import { RunFolder } from '../../src/run-folder.ts';
import { useTempDirs } from './support/temp.ts';

// The guest's root is a view built on the host: nothing but the allow-list may be in it.
const tempDir = useTempDirs('syscall-lab-view-');
const view: GuestView = { root: '/run/x/view', etc: '/run/x/view-etc', lab: '/run/x/view-lab' };

/** The (option, source, destination) triples of bubblewrap's arguments, and the dirs it creates. */
function mounts(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const option = args[i] ?? '';
    if (['--bind', '--dev-bind', '--ro-bind', '--symlink'].includes(option)) {
      out.push(`${option} ${args[i + 1] ?? ''} ${args[i + 2] ?? ''}`);
      i += 2;
    } else if (['--tmpfs', '--dir'].includes(option)) {
      out.push(`${option} ${args[i + 1] ?? ''}`);
      i += 1;
    } else {
      out.push(`unexpected ${option}`);
    }
  }
  return out;
}

describe('the guest view (bubblewrap arguments)', () => {
  const mergedUsr = new Map<string, string | null>([
    ['usr', null],
    ['bin', 'usr/bin'],
    ['sbin', 'usr/sbin'],
    ['lib', 'usr/lib'],
    ['lib64', 'usr/lib64'],
  ]);

  it('exports only /usr and its links, the generated /etc, /syscall-lab and empty mount points', () => {
    const args = mounts(viewArguments(view, mergedUsr));
    expect(args).toEqual([
      '--bind / /',
      '--dev-bind /dev /dev',
      '--tmpfs /run/x/view',
      '--ro-bind /usr /run/x/view/usr',
      '--symlink usr/bin /run/x/view/bin',
      '--symlink usr/sbin /run/x/view/sbin',
      '--symlink usr/lib /run/x/view/lib',
      '--symlink usr/lib64 /run/x/view/lib64',
      '--ro-bind /run/x/view-etc /run/x/view/etc',
      '--ro-bind /run/x/view-lab /run/x/view/syscall-lab',
      ...['proc', 'sys', 'dev', 'run', 'tmp', 'root', 'home', 'mnt'].map((dir) => `--dir /run/x/view/${dir}`),
      ...['tmp', 'log', 'cache', 'spool', 'lib'].map((dir) => `--dir /run/x/view/var/${dir}`),
    ]);
  });

  it('binds /bin, /sbin and /lib* read-only where they are folders (no merged /usr)', () => {
    const split = new Map<string, string | null>([
      ['usr', null],
      ['bin', null],
      ['lib', null],
      ['lib32', null],
    ]);
    const args = mounts(viewArguments(view, split));
    expect(args).toContain('--ro-bind /bin /run/x/view/bin');
    expect(args).toContain('--ro-bind /lib32 /run/x/view/lib32');
    expect(args.some((arg) => arg.includes('sbin'))).toBe(false);
  });

  it('never exports /home, /root, /tmp, /var, /proc, /opt, /srv, /boot or the host root itself', () => {
    const sources = mounts(viewArguments(view, mergedUsr))
      .filter((arg) => arg.startsWith('--ro-bind'))
      .map((arg) => arg.split(' ')[1]);
    expect(sources).toEqual(['/usr', '/run/x/view-etc', '/run/x/view-lab']);
  });

  it('reads what the host top level holds: links with their targets, folders, nothing else', () => {
    const root = tempDir();
    mkdirSync(join(root, 'usr'));
    symlinkSync('usr/bin', join(root, 'bin'));
    mkdirSync(join(root, 'lib64'));
    mkdirSync(join(root, 'home'));
    expect(hostTopLevel(root)).toEqual(
      new Map([
        ['usr', null],
        ['bin', 'usr/bin'],
        ['lib64', null],
      ]),
    );
  });
});

describe("the guest's /etc", () => {
  function hostEtc(): string {
    const etc = join(tempDir(), 'etc');
    mkdirSync(join(etc, 'ld.so.conf.d'), { recursive: true });
    mkdirSync(join(etc, 'alternatives'));
    mkdirSync(join(etc, 'ssh'));
    writeFileSync(join(etc, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n');
    writeFileSync(join(etc, 'group'), 'root:x:0:\nalice:x:1000:\n');
    writeFileSync(join(etc, 'shadow'), 'root:$6$secret$hash:19000:0:99999:7:::\nalice:$6$x$y:19000::::::\n');
    writeFileSync(join(etc, 'shadow-'), 'root:$6$old$hash:1::::::\n');
    writeFileSync(join(etc, 'gshadow'), 'root:*::\nalice:!::\n');
    writeFileSync(join(etc, 'shells'), '/bin/sh\n/bin/bash\n');
    writeFileSync(join(etc, 'nsswitch.conf'), 'passwd: files\n');
    writeFileSync(join(etc, 'ld.so.cache'), 'cache');
    writeFileSync(join(etc, 'ld.so.conf'), 'include /etc/ld.so.conf.d/*.conf\n');
    writeFileSync(join(etc, 'ld.so.conf.d', 'x86_64-linux-gnu.conf'), '/usr/lib/x86_64-linux-gnu\n');
    writeFileSync(join(etc, 'hosts'), '10.1.2.3 secret-internal-host\n');
    writeFileSync(join(etc, 'ssh', 'ssh_host_ed25519_key'), 'PRIVATE');
    writeFileSync(join(etc, 'machine-id'), 'abc');
    symlinkSync('/usr/bin/gcc-12', join(etc, 'alternatives', 'cc'));
    symlinkSync('/usr/share/zoneinfo/Etc/UTC', join(etc, 'localtime'));
    return etc;
  }

  it('holds what the guest uses, with "*" for every password and no host secret', () => {
    const out = join(tempDir(), 'view-etc');
    writeEtc(out, hostEtc());
    expect(readFileSync(join(out, 'passwd'), 'utf8')).toContain('alice:x:1000');
    expect(readFileSync(join(out, 'shadow'), 'utf8')).toBe('root:*::0:99999:7:::\nalice:*::0:99999:7:::\n');
    expect(readFileSync(join(out, 'gshadow'), 'utf8')).toBe('root:*::\nalice:*::\n');
    expect(lstatSync(join(out, 'shadow')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'hosts'), 'utf8')).not.toContain('secret-internal-host');
    expect(readlinkSync(join(out, 'alternatives', 'cc'))).toBe('/usr/bin/gcc-12');
    expect(readlinkSync(join(out, 'localtime'))).toBe('/usr/share/zoneinfo/Etc/UTC');
    expect(readFileSync(join(out, 'ld.so.conf.d', 'x86_64-linux-gnu.conf'), 'utf8')).toContain('/usr/lib');
    for (const secret of ['shadow-', 'ssh', 'machine-id']) expect(existsSync(join(out, secret)), secret).toBe(false);
    expect(readFileSync(join(out, 'shadow'), 'utf8')).not.toContain('$6$');
  });
});

describe('prepareGuestView', () => {
  it("gives the guest /dev's standard links (init copies them into the kernel's devtmpfs)", () => {
    const folder = new RunFolder(tempDir());
    const view = prepareGuestView(folder);
    expect(
      Object.fromEntries(
        readdirSync(join(view.lab, 'dev')).map((name) => [name, readlinkSync(join(view.lab, 'dev', name))]),
      ),
    ).toEqual({
      fd: '/proc/self/fd',
      stdin: '/proc/self/fd/0',
      stdout: '/proc/self/fd/1',
      stderr: '/proc/self/fd/2',
    });
    expect(readFileSync(join(view.lab, 'init'), 'utf8')).toContain('cp -P /syscall-lab/dev/* /dev/');
  });
});
