import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync } from 'node:fs';
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
