import type { Argv, CommandModule } from 'yargs';
import type { Emit } from './events.ts';

// The commands for CI (`report merge|annotate`, `ci github`), as yargs defines them: loaded with the
// CLI (by --help too), so only their options here; each command's module is loaded when it runs.

/** What a handler reports back to main: the command's exit code. */
type Done = (exitCode: number) => void;

const filesArgument = (y: Argv) =>
  y.positional('files', { type: 'string', array: true, demandOption: true, describe: 'JSON reports (run --json)' });

/** `syscall-lab report merge|annotate FILE...`: JSON reports of earlier runs, read back. */
export function reportCommand(emit: Emit, done: Done): CommandModule {
  return {
    command: 'report',
    describe: 'read JSON reports back: merge them (--markdown: the kernels × checks table), or annotate their failures',
    builder: (y) =>
      y
        .command(
          'merge <files..>',
          'the runs of every report, in order, on stdout: one JSON report, or the Markdown kernels × checks table',
          (m) =>
            filesArgument(m)
              .option('markdown', {
                type: 'boolean',
                default: false,
                describe: 'the kernels × checks table in Markdown (a CI step summary) instead of JSON',
              })
              .option('console-log-url', {
                type: 'string',
                describe: "with --markdown: a failure links here; {kernel} and {log} (its log's file name) filled in",
              }),
          async (args) => {
            const { reportMergeCommand } = await import('./commands/report.ts');
            done(
              reportMergeCommand(
                { files: args.files, markdown: args.markdown, consoleLogUrl: args.consoleLogUrl },
                emit,
              ),
            );
          },
        )
        .command(
          'annotate <files..>',
          "GitHub Actions' ::error lines (on stdout) naming the kernel and check of every failure",
          filesArgument,
          async (args) => {
            const { reportAnnotateCommand } = await import('./commands/report.ts');
            done(reportAnnotateCommand(args.files, emit));
          },
        )
        .demandCommand(1, 'give a report command: merge or annotate'),
    handler: () => undefined,
  };
}

/** `syscall-lab ci github`: a CI workflow written into the user's repository. */
export function ciCommand(emit: Emit, done: Done): CommandModule {
  return {
    command: 'ci',
    describe: "write a CI workflow that runs the repository's syscall patches on every kernel (github)",
    builder: (y) =>
      y
        .command(
          'github',
          'write .github/workflows/syscall-lab.yml: one job per kernel (KVM, the syscall-lab action), then a kernels × checks summary',
          (g) =>
            g
              .option('kernel', { type: 'string', array: true, describe: 'kernel version, one job each (default 6.1)' })
              .option('patches', {
                type: 'string',
                describe: 'patch folder in the repository (default: as a run chooses)',
              })
              .option('userland', { type: 'string', describe: 'folder of C test programs in the repository' })
              .option('config-fragment', {
                type: 'string',
                describe: 'extra kernel config options, a file in the repository',
              })
              .option('conformance', { type: 'string', describe: "adding-syscalls.rst's checklist: off, warn or fail" })
              .option('action', { type: 'string', describe: 'the action: OWNER/REPO@REF, or ./ in its own repository' })
              .option('repo', { type: 'string', default: '.', describe: "the repository's top folder" })
              .option('force', { type: 'boolean', default: false, describe: 'replace an existing workflow file' }),
          async (args) => {
            const { ciGithubCommand } = await import('./commands/ci-github.ts');
            done(
              ciGithubCommand(
                {
                  kernels: args.kernel ?? [],
                  patches: args.patches,
                  userland: args.userland,
                  configFragment: args.configFragment,
                  conformance: args.conformance,
                  action: args.action,
                  repo: args.repo,
                  force: args.force,
                },
                emit,
              ),
            );
          },
        )
        .demandCommand(1, 'give a CI: github'),
    handler: () => undefined,
  };
}
