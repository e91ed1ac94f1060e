import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import type { RunReport } from '../../src/report/model.ts';
import { cacheRoot, projectRoot } from '../../src/paths.ts';

export interface CliRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  report: { runs: RunReport[] };
  junit: string;
}

/** Runs the real CLI (real builds, real QEMU boots) and reads back its JSON and JUnit reports. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const out = await dir({ unsafeCleanup: true });
  const json = join(out.path, 'report.json');
  const junit = join(out.path, 'report.xml');
  const result = await execa(
    'node',
    [join(projectRoot, 'bin', 'syscall-lab.mjs'), 'run', ...args, '--json', json, '--junit', junit],
    {
      reject: false,
      cwd: projectRoot,
      env,
      stderr: ['pipe', 'inherit'],
    },
  );
  const run: CliRun = {
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    report: JSON.parse(readFileSync(json, 'utf8')) as { runs: RunReport[] },
    junit: readFileSync(junit, 'utf8'),
  };
  await out.cleanup();
  return run;
}

/**
 * QEMU (or its bubblewrap) of a run of this cache that is still alive. Only this cache's run
 * folders count: unit tests running meanwhile start fake QEMUs of their own, in temp caches.
 */
export async function leftoverQemu(): Promise<string> {
  const runs = join(cacheRoot(), 'runs');
  const found = await execa('pgrep', ['-af', `qemu-system-x86_64.*${runs}/`], { reject: false });
  return found.stdout.trim();
}

export function statusOf(run: RunReport, name: string): string | undefined {
  return run.checks.find((check) => check.name === name)?.status;
}

/** A `syscall-lab watch` running in the background, read as it prints. */
export interface WatchProcess {
  /** What round `round` printed on stdout after "round N: ", once it has. */
  verdict: (round: number) => Promise<string>;
  /** Resolves once stdout or stderr matches `pattern`. */
  printed: (pattern: RegExp) => Promise<void>;
  stdout: () => string;
  stderr: () => string;
  /** Ctrl-C: its exit code. */
  interrupt: () => Promise<number | undefined>;
}

export function startWatch(args: string[]): WatchProcess {
  const child = execa('node', [join(projectRoot, 'bin', 'syscall-lab.mjs'), 'watch', ...args], {
    reject: false,
    cwd: projectRoot,
    buffer: true,
    stderr: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const printed = async (pattern: RegExp): Promise<void> => {
    while (!pattern.test(stdout) && !pattern.test(stderr)) {
      if (child.exitCode !== null) throw new Error(`watch exited ${child.exitCode}:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  return {
    verdict: async (round) => {
      const pattern = new RegExp(`^round ${round}: (.*)$`, 'm');
      await printed(pattern);
      return pattern.exec(stdout)?.[1] ?? '';
    },
    printed,
    stdout: () => stdout,
    stderr: () => stderr,
    interrupt: async () => {
      child.kill('SIGINT');
      return (await child).exitCode;
    },
  };
}
