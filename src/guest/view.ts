import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../paths.ts';
import type { RunFolder } from '../run-folder.ts';

/**
 * The guest's root filesystem: a view built on the host for the guest, never the host's `/`.
 * It holds an allow-list — /usr and the /bin, /sbin, /lib* links into it, a generated /etc with
 * what the guest uses (no keys, no password hashes, no credentials), a read-only /syscall-lab
 * with the guest's init, its fstab and the probe, and empty mount points — and exists only in the private
 * mount namespace QEMU runs in (bubblewrap), on a tmpfs over an empty folder of the run. The
 * guest cannot undo it: what is not in the view is not on QEMU's 9p export at all.
 */
export interface GuestView {
  /** The folder QEMU exports as the guest's root (the view's mount point in QEMU's namespace). */
  root: string;
  /** The generated /etc (in the run folder). */
  etc: string;
  /** /syscall-lab: the guest's init and the probe (in the run folder). */
  lab: string;
}

/** Top-level folders of the host that the guest gets, read-only (links are recreated as links). */
const allowed = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** Empty folders of the view: mount points of the guest's own /proc, /sys, /dev and tmpfs. */
const mountPoints = [
  'proc',
  'sys',
  'dev',
  'run',
  'tmp',
  'root',
  'home',
  'mnt',
  'var/tmp',
  'var/log',
  'var/cache',
  'var/spool',
  'var/lib',
];

/** The files of the host's /etc the guest uses, copied as they are (no secrets among them). */
const etcCopied = [
  'passwd',
  'group',
  'shells',
  'nsswitch.conf',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
];

/** Builds the view's generated parts in the run folder. */
export function prepareGuestView(folder: RunFolder, hostEtc = '/etc'): GuestView {
  const view: GuestView = { root: folder.guestRoot, etc: folder.guestEtc, lab: folder.guestLab };
  mkdirSync(view.root, { recursive: true, mode: 0o755 });
  writeEtc(view.etc, hostEtc);
  rmSync(view.lab, { recursive: true, force: true });
  mkdirSync(view.lab, { recursive: true, mode: 0o755 });
  cpSync(join(projectRoot, 'src', 'guest', 'init.sh'), join(view.lab, 'init'));
  chmodSync(join(view.lab, 'init'), 0o755);
  cpSync(join(projectRoot, 'src', 'guest', 'fstab'), join(view.lab, 'fstab'));
  cpSync(join(projectRoot, 'src', 'checks', 'guest', 'probe.c'), join(view.lab, 'probe.c'));
  cpSync(join(projectRoot, 'src', 'checks', 'guest', 'bad-pointers.h'), join(view.lab, 'bad-pointers.h'));
  // What udev makes on any distribution and devtmpfs does not: kselftest's runner.sh writes to
  // /dev/stdout, bash's process substitution uses /dev/fd. init copies them into /dev.
  mkdirSync(join(view.lab, 'dev'));
  for (const [name, target] of devLinks) symlinkSync(target, join(view.lab, 'dev', name));
  return view;
}

/** The links of a standard /dev, by name: their targets. */
export const devLinks = [
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
] as const;

/**
 * The guest's /etc: the files it uses, copied or generated. shadow and gshadow hold `*` for
 * every password (nobody logs in with one, key logins still work where the host's root is
 * locked); hosts names only localhost; alternatives are recreated as links.
 */
export function writeEtc(etc: string, hostEtc = '/etc'): void {
  rmSync(etc, { recursive: true, force: true });
  mkdirSync(etc, { recursive: true, mode: 0o755 });
  for (const name of etcCopied) {
    const from = join(hostEtc, name);
    if (existsSync(from) || isLink(from)) cpSync(from, join(etc, name), { recursive: true, verbatimSymlinks: true });
  }
  const alternatives = join(hostEtc, 'alternatives');
  if (existsSync(alternatives)) {
    mkdirSync(join(etc, 'alternatives'));
    for (const name of readdirSync(alternatives)) {
      const from = join(alternatives, name);
      if (isLink(from)) symlinkSync(readlinkSync(from), join(etc, 'alternatives', name));
    }
  }
  const names = (file: string): string[] =>
    existsSync(join(hostEtc, file))
      ? readFileSync(join(hostEtc, file), 'utf8')
          .split('\n')
          .map((line) => line.split(':')[0] ?? '')
          .filter(Boolean)
      : [];
  writeFileSync(
    join(etc, 'shadow'),
    names('passwd')
      .map((user) => `${user}:*::0:99999:7:::\n`)
      .join(''),
    { mode: 0o600 },
  );
  writeFileSync(
    join(etc, 'gshadow'),
    names('group')
      .map((group) => `${group}:*::\n`)
      .join(''),
    { mode: 0o600 },
  );
  writeFileSync(join(etc, 'hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost\n');
  symlinkSync('../proc/self/mounts', join(etc, 'mtab'));
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * bubblewrap's arguments that run a command in a private mount namespace where `view.root` holds
 * the view: the host's root stays as it is for QEMU itself (its libraries, the bzImage, the run
 * folder, /dev/kvm); only the exported folder is new. Pure: `host` lists what the host's top
 * level holds (name -> link target, or null for a folder).
 */
export function viewArguments(view: GuestView, host: Map<string, string | null>): string[] {
  const at = (path: string): string => join(view.root, path);
  const args = ['--bind', '/', '/', '--dev-bind', '/dev', '/dev', '--tmpfs', view.root];
  for (const name of allowed) {
    if (!host.has(name)) continue;
    const target = host.get(name);
    args.push(...(target ? ['--symlink', target, at(name)] : ['--ro-bind', `/${name}`, at(name)]));
  }
  args.push('--ro-bind', view.etc, at('etc'), '--ro-bind', view.lab, at('syscall-lab'));
  for (const dir of mountPoints) args.push('--dir', at(dir));
  return args;
}

/** What the host's top level holds among the allowed names: a link (its target) or a folder. */
export function hostTopLevel(root = '/'): Map<string, string | null> {
  const found = new Map<string, string | null>();
  for (const name of allowed) {
    const path = join(root, name);
    if (isLink(path)) found.set(name, readlinkSync(path));
    else if (existsSync(path)) found.set(name, null);
  }
  return found;
}
