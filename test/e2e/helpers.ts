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
