import { existsSync } from 'node:fs';
import { InfrastructureError } from './errors.ts';
import type { Emit } from './events.ts';
import { runTool } from './spawn.ts';

/** One thing the host needs, and the Debian package that provides it. */
export interface Requirement {
  what: string;
  /** A command on PATH or an absolute file path. */
  probe: string;
  aptPackage: string;
  why: string;
  optional?: boolean;
}

export const requirements: Requirement[] = [
  { what: 'qemu-system-x86_64', probe: 'qemu-system-x86_64', aptPackage: 'qemu-system-x86', why: 'boots the kernels' },
  {
    what: 'bwrap',
    probe: 'bwrap',
    aptPackage: 'bubblewrap',
    why: "runs QEMU in a mount namespace where the guest's root is a view, never the host's /",
  },
  { what: 'gcc', probe: 'gcc', aptPackage: 'gcc', why: 'builds the kernel; the guest compiles userland with it' },
  {
    what: 'libc headers',
    probe: '/usr/include/stdio.h',
    aptPackage: 'libc6-dev',
    why: 'userland programs in the guest',
  },
  { what: 'make', probe: 'make', aptPackage: 'make', why: 'kernel build' },
  { what: 'flex', probe: 'flex', aptPackage: 'flex', why: 'kernel config tools' },
  { what: 'bison', probe: 'bison', aptPackage: 'bison', why: 'kernel config tools' },
  { what: 'bc', probe: 'bc', aptPackage: 'bc', why: 'kernel build (timeconst)' },
  { what: 'libelf headers', probe: '/usr/include/gelf.h', aptPackage: 'libelf-dev', why: 'objtool in 6.x builds' },
  {
    what: 'OpenSSL headers',
    probe: '/usr/include/openssl/ssl.h',
    aptPackage: 'libssl-dev',
    why: 'kernel build scripts',
  },
  { what: 'patch', probe: 'patch', aptPackage: 'patch', why: 'applies the patch series' },
  { what: 'xz', probe: 'xz', aptPackage: 'xz-utils', why: 'unpacks kernel tarballs' },
  { what: 'curl', probe: 'curl', aptPackage: 'curl', why: 'downloads kernel.org tarballs' },
  {
    what: "Debian's archive keyring",
    probe: '/usr/share/keyrings/debian-archive-keyring.gpg',
    aptPackage: 'debian-archive-keyring',
    why: "verifies the kernel sources fetched from Debian's archive",
  },
  {
    what: 'dropbear',
    probe: 'dropbear',
    aptPackage: 'dropbear-bin',
    why: "the guest's SSH server (no service is installed)",
  },
  { what: 'dropbearkey', probe: 'dropbearkey', aptPackage: 'dropbear-bin', why: "makes the guest's pinned host key" },
  {
    what: 'sftp-server',
    probe: '/usr/lib/sftp-server',
    aptPackage: 'openssh-sftp-server',
    why: 'SFTP uploads into the guest',
  },
  { what: 'top', probe: 'top', aptPackage: 'procps', why: 'taskcount-matches-top' },
  { what: 'ip', probe: 'ip', aptPackage: 'iproute2', why: "brings up the guest's loopback" },
  { what: 'ccache', probe: 'ccache', aptPackage: 'ccache', why: 'faster rebuilds', optional: true },
  {
    what: 'sparse',
    probe: 'sparse',
    aptPackage: 'sparse',
    why: 'conformance: checks the __user annotations (make C=2)',
  },
  {
    what: 'gcc -m32',
    probe: '/usr/include/x86_64-linux-gnu/gnu/stubs-32.h',
    aptPackage: 'gcc-multilib',
    why: 'conformance: compares a struct argument between i386 and x86-64',
  },
  {
    what: 'ssh',
    probe: 'ssh',
    aptPackage: 'openssh-client',
    why: '`syscall-lab ssh` into a VM kept with --keep',
    optional: true,
  },
  {
    what: 'gdb',
    probe: 'gdb',
    aptPackage: 'gdb',
    why: '--gdb: attach to the kernel of a kept VM (lx-dmesg ...)',
    optional: true,
  },
];

export interface RequirementStatus extends Requirement {
  present: boolean;
}

async function isPresent(probe: string): Promise<boolean> {
  if (probe.startsWith('/')) return existsSync(probe);
  const found = await runTool('sh', ['-c', 'command -v "$1"', 'sh', probe], { reject: false });
  return found.exitCode === 0;
}

export async function checkRequirements(): Promise<RequirementStatus[]> {
  return Promise.all(requirements.map(async (req) => ({ ...req, present: await isPresent(req.probe) })));
}

/** Every requirement's package, optional ones too, each once: what a CI runner installs up front. */
export function aptPackages(): string[] {
  return [...new Set(requirements.map((req) => req.aptPackage))];
}

export function installLine(packages: string[]): string {
  return `apt-get install -y --no-install-recommends ${[...new Set(packages)].join(' ')}`;
}

/** Root, with apt-get on PATH (the one that would run, not just /usr/bin/apt-get). */
async function canInstall(): Promise<boolean> {
  return process.getuid?.() === 0 && (await isPresent('apt-get'));
}

/** "qemu-system-x86_64 (package qemu-system-x86), libc headers (package libc6-dev)" */
export function describeMissing(missing: Requirement[]): string {
  return missing.map((req) => `${req.what} (package ${req.aptPackage})`).join(', ');
}

export function packagesOf(missing: Requirement[]): string[] {
  return [...new Set(missing.map((req) => req.aptPackage))];
}

async function aptInstall(packages: string[]): Promise<{ ok: boolean; output: string }> {
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): Promise<{ exitCode?: number; all?: string }> =>
    runTool('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { reject: false, env, all: true });
  let result = await install();
  if (result.exitCode !== 0) {
    // The package lists may be missing or old (a fresh container): fetch them once, then retry.
    await runTool('apt-get', ['update'], { reject: false, env });
    result = await install();
  }
  const output = (result.all ?? '')
    .split('\n')
    .filter((line) => line.trim())
    .slice(-3)
    .join(' ');
  return { ok: result.exitCode === 0, output };
}

/**
 * Makes sure the host has every required tool: installs what is missing when root with apt-get
 * (Debian/Ubuntu), otherwise stops with the exact apt-get line (exit 3), naming each missing tool
 * and its package. A missing optional tool (ccache) never stops a run: it is installed when
 * possible, else named in a notice.
 */
export async function ensureRequirements(emit: Emit): Promise<void> {
  const missing = (await checkRequirements()).filter((req) => !req.present);
  const required = missing.filter((req) => !req.optional);
  const optional = missing.filter((req) => req.optional);
  const goOnWithout = (why: string): void => {
    if (optional.length > 0)
      emit({
        type: 'notice',
        text: `${describeMissing(optional)} ${why}: optional, going on without (${installLine(packagesOf(optional))})`,
      });
  };
  if (missing.length === 0) return;
  if (!(await canInstall())) {
    if (required.length > 0) {
      throw new InfrastructureError(
        `missing on this host: ${describeMissing(required)}`,
        installLine(packagesOf(missing)),
      );
    }
    goOnWithout('is not installed');
    return;
  }
  if (required.length > 0) {
    emit({
      type: 'info',
      text: `installing ${packagesOf(required).join(' ')} (for ${required.map((req) => req.what).join(', ')})`,
    });
    const installed = await aptInstall(packagesOf(required));
    if (!installed.ok) {
      throw new InfrastructureError(
        `missing on this host: ${describeMissing(required)}; apt-get could not install ${packagesOf(required).join(' ')}: ${installed.output || 'no output'}`,
        installLine(packagesOf(required)),
      );
    }
  }
  if (optional.length > 0) {
    emit({
      type: 'info',
      text: `installing ${packagesOf(optional).join(' ')} (optional: ${optional.map((req) => req.what).join(', ')})`,
    });
    const installed = await aptInstall(packagesOf(optional));
    if (!installed.ok) goOnWithout(`could not be installed (${installed.output || 'no output'})`);
  }
}

export function formatDoctor(statuses: RequirementStatus[]): string {
  const lines = statuses.map(
    (s) =>
      `${s.present ? 'ok     ' : s.optional ? 'missing (optional)' : 'MISSING'}  ${s.what.padEnd(20)} ${s.aptPackage.padEnd(22)} ${s.why}`,
  );
  const missing = statuses.filter((s) => !s.present).map((s) => s.aptPackage);
  lines.push('', missing.length ? `to install: ${installLine(missing)}` : 'everything is installed');
  return lines.join('\n');
}
