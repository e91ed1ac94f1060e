import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { projectRoot } from './paths.ts';
import { assertOneReportOnStdout } from './report/targets.ts';

// The command-line conventions every command shares: --version, shell completion, and the
// reports a run may send to stdout. Loaded with the CLI (by --help too), so nothing heavy here.

/** The version `--version` prints: package.json's, the one `npm pack` publishes. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * `--version`, and `syscall-lab completion` (a bash script completing commands and options;
 * yargs answers the script's `--get-yargs-completions` calls itself). Both print through yargs
 * and exit, as `--help` does.
 */
export function withConventions(parser: Argv): Argv {
  return parser
    .version(packageVersion())
    .completion(
      'completion',
      'print a bash completion script (`syscall-lab completion >> ~/.bashrc`, or into /etc/bash_completion.d/)',
    );
}

/** `--dry-run` of the commands that would build or boot (run, build, boot). */
export function dryRunOption(y: Argv): Argv {
  return y.option('dry-run', {
    type: 'boolean',
    describe:
      'print the plan (sources present or to download, cached builds, boots, checks) and exit: nothing is installed, downloaded, built or booted',
  });
}

/**
 * `--json -` and `--junit -` as `--json=-`: yargs takes a lone `-` for a positional argument,
 * not for the value of the option before it. Arguments after `--` (a command for `ssh`) are left alone.
 */
export function stdoutReportValues(argv: readonly string[]): string[] {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [arg, next] = [argv[i] ?? '', argv[i + 1]];
    if (i + 1 < end && next === '-' && (arg === '--json' || arg === '--junit')) {
      out.push(`${arg}=-`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** Checked for every command, before it runs: at most one report may go to stdout. */
export function checkReportTargets(args: Record<string, unknown>): void {
  const target = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  assertOneReportOnStdout({ json: target(args.json), junit: target(args.junit) });
}
