import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { InfrastructureError } from '../errors.ts';
import { compareVersions } from '../kernel/versions.ts';
import type { RunFolder } from '../run-folder.ts';
import { runTool } from '../spawn.ts';

/**
 * What the guest runs on: a view of the host built for it (src/guest/view.ts: /usr and its
 * links, a generated /etc, /syscall-lab), shared read-only over 9p, with tmpfs over the writable
 * places (see src/guest/init.sh). No image to build or cache, the host's gcc, libc headers,
 * procps and dropbear are there, and it boots 3.9 as well as 6.x (no OverlayFS needed). The
 * guest's SSH keys come from a second, per-run 9p share.
 */

/** The guest's init, in the view's /syscall-lab: the command line names no host path. */
export const guestInit = '/syscall-lab/init';

/** What init.sh prints on the console once dropbear runs: the harness connects only then. */
export const sshdStartedMarker = 'syscall-lab-init: sshd started';

export interface GuestKeys {
  /** The run's folder shared with the guest (mount tag "syscalllab"). */
  shareDir: string;
  /** OpenSSH private key the harness logs in with (0600). */
  clientKey: string;
  /** The guest's host key blob, pinned: any other key is refused. */
  hostKey: Buffer;
}

/** A fresh client key pair and guest host key for one run; nothing reused, nothing on the host's ~/.ssh. */
export async function prepareGuestKeys(folder: RunFolder): Promise<GuestKeys> {
  const shareDir = folder.guestShare;
  mkdirSync(shareDir, { recursive: true, mode: 0o700 });
  const client = clientKeyPair();
  const clientKey = folder.clientKey;
  writeFileSync(clientKey, client.private, { mode: 0o600 });
  writeFileSync(join(shareDir, 'authorized_keys'), `${client.public}\n`, { mode: 0o600 });
  const hostKeyFile = join(shareDir, 'host_key');
  // dropbearkey never overwrites: a fresh key each time.
  rmSync(hostKeyFile, { force: true });
  const generated = await runTool('dropbearkey', ['-t', 'ed25519', '-f', hostKeyFile], { reject: false });
  if (generated.exitCode !== 0) {
    throw new InfrastructureError(
      `dropbearkey could not make the guest's host key: ${generated.stderr.trim()}`,
      'apt-get install dropbear-bin',
    );
  }
  // QEMU reads the share as the user it runs as.
  chmodSync(hostKeyFile, 0o644);
  const publicLine = /^ssh-ed25519 (\S+)/m.exec(generated.stdout)?.[1];
  if (!publicLine) throw new InfrastructureError(`dropbearkey printed no ed25519 public key: ${generated.stdout}`);
  writeFileSync(folder.guestHostKeyPublic, `ssh-ed25519 ${publicLine}\n`);
  return { shareDir, clientKey, hostKey: Buffer.from(publicLine, 'base64') };
}

/**
 * A new ed25519 key pair in OpenSSH format that ssh2 can read back. ssh2 1.17's generator drops a
 * leading zero byte of the public key (about one key in 600), and its own parser then rejects the
 * private key ("Malformed OpenSSH private key"): every login of that run failed until the boot
 * timed out. Such a pair is generated again.
 */
export function clientKeyPair(generate = () => ssh2.utils.generateKeyPairSync('ed25519')): {
  private: string;
  public: string;
} {
  for (let attempt = 1; attempt <= 20; attempt++) {
    const pair = generate();
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw new InfrastructureError('ssh2 made 20 ed25519 keys in a row that it cannot read back');
}

export function readClientKey(keys: GuestKeys): string {
  return readFileSync(keys.clientKey, 'utf8');
}

/**
 * Kernel parameters a kernel generation needs to run this guest and its checks, on every backend.
 * - loglevel=7: every console message up to KERN_INFO, whatever the tree's default (the 3.9.6
 *   ONL tree defaults to 3 and would hide WARNINGs from the console watch).
 * - nokaslr, no5lvl: the direct map at its fixed 4-level address, where the probe's
 *   kernel-writable pointer points (src/checks/direct-map.ts). Kernels that do not know them
 *   (3.9 has no KASLR) hand them to init as arguments, which it ignores.
 * - nosmap before 3.11: 3.9's signal-frame code writes the alternate stack with SMAP enforced
 *   (fixed upstream in 3.11 by save_altstack_ex), so under QEMU's "-cpu max" every process with
 *   a signal handler dies of SIGSEGV. A kernel bug of that era, not of the toolchain.
 */
export function guestKernelArgs(version: string): string[] {
  return ['loglevel=7', 'nokaslr', 'no5lvl', ...(compareVersions(version, '3.11') < 0 ? ['nosmap'] : [])];
}

/**
 * Kernel command line: 9p root, the init above, static user-network address; panic=-1 with
 * QEMU -no-reboot makes a panic end the VM at once instead of hanging. What only makes the boot
 * faster (measured on 6.1 under TCG: the kernel reached init after 4.4 s without them, 2.4 s with
 * pci=noacpi alone):
 * - pci=noacpi: the PCI interrupt links are not set up through ACPI, whose AML takes about 0.5 s
 *   per link under TCG; the virtio devices use MSI-X.
 * - i8042.noaux: no PS/2 mouse probe; 8250.nr_uarts=1: only the console's UART.
 */
export function kernelCommandLine(extra: string[] = []): string {
  return [
    'console=ttyS0',
    'root=/dev/root',
    'rootfstype=9p',
    'rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=262144',
    'ro',
    `init=${guestInit}`,
    'ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off',
    'panic=-1',
    'pci=noacpi',
    'i8042.noaux',
    '8250.nr_uarts=1',
    ...extra,
  ].join(' ');
}
