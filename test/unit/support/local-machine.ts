import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckContext } from '../../../src/checks/check.ts';
import { compileGuestPrograms } from '../../../src/stages/guest-programs.ts';
import type { ConsoleLog, ExecOptions, ExecResult, Machine } from '../../../src/vm/machine.ts';

/** A command this machine ran, with its answer. */
export interface Recorded extends ExecResult {
  command: string;
}

/** This host as the guest: commands run in sh with extra environment, files are copied in place. */
export class LocalMachine implements Machine {
  readonly backend = 'local';
  readonly accel = 'none';
  readonly recorded: Recorded[] = [];
  readonly downloads: string[] = [];
  constructor(private readonly env: NodeJS.ProcessEnv = {}) {}
  async exec(command: string, options: ExecOptions): Promise<ExecResult> {
    const run = spawnSync('sh', ['-c', command], {
      encoding: 'utf8',
      timeout: options.timeout,
      env: { ...process.env, ...this.env },
    });
    const answer = { code: run.status, stdout: run.stdout, stderr: run.stderr };
    this.recorded.push({ command, ...answer });
    return Promise.resolve(answer);
  }
  async copy(local: string, remote: string, mode?: number): Promise<void> {
    copyFileSync(local, remote);
    if (mode !== undefined) chmodSync(remote, mode);
    return Promise.resolve();
  }
  async download(remote: string, local: string): Promise<void> {
    this.downloads.push(remote);
    copyFileSync(remote, local);
    return Promise.resolve();
  }
  console(): ConsoleLog {
    return { path: '/dev/null', mark: () => 0, since: () => '', between: () => '' };
  }
}

/**
 * The probe compiled by the guest compile step with this host as the guest, in a new folder that
 * others may read (an unprivileged run reads the binary too): a check context for this host's
 * kernel. `remove` deletes the folder.
 */
export async function hostProbeContext(
  prefix: string,
  facts: Pick<CheckContext, 'added' | 'signatures'> & Partial<Pick<CheckContext, 'i386'>>,
): Promise<{ context: CheckContext; dir: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const header = join(dir, 'syscall-lab-syscalls.h');
  writeFileSync(header, '');
  const machine = new LocalMachine();
  const compiled = await compileGuestPrograms(machine, dir, header, [], 60_000);
  const context: CheckContext = {
    machine,
    i386: [],
    ...facts,
    probe: compiled.probe,
    guestDir: dir,
    commandTimeout: 30_000,
    patchedRelease: release(),
    kernelVersion: release(),
    userlandFiles: [],
    programs: new Map(),
  };
  const remove = (): void => {
    rmSync(dir, { recursive: true, force: true });
  };
  return { context, dir, remove };
}

/**
 * This host as the guest, its gcc calls recorded: a LocalMachine whose PATH starts with a gcc that
 * notes its arguments in `bin` (a folder of the caller's) and runs the real one.
 */
export function recordingGccMachine(bin: string): { machine: LocalMachine; gccCalls: () => string[] } {
  const calls = join(bin, 'calls');
  writeFileSync(join(bin, 'gcc'), `#!/bin/sh\necho "$*" >> ${calls}\nexec /usr/bin/gcc "$@"\n`);
  chmodSync(join(bin, 'gcc'), 0o755);
  const gccCalls = (): string[] => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []);
  return { machine: new LocalMachine({ PATH: `${bin}:${process.env.PATH ?? ''}` }), gccCalls };
}
