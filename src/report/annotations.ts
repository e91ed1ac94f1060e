import type { RunReport } from './model.ts';
import { sanitize } from './summary.ts';

// GitHub Actions turns `::error title=T::MESSAGE` lines of a step's output into annotations on the
// run and the commit. Its workflow-command syntax gives `%`, CR and LF a meaning, and in a property
// value (`title=...`) also `:` (the end of the properties) and `,` (the next property): each is
// written percent-encoded, as @actions/core's escapeData and escapeProperty do.

/** A message (after `::`): `%` → %25, CR → %0D, LF → %0A. */
export function escapeData(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

/** A property value: as a message, and `:` → %3A, `,` → %2C. */
export function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(':', '%3A').replaceAll(',', '%2C');
}

const ERROR_LINES = 10;

function command(level: 'error' | 'warning', kernel: string, what: string, message: string): string {
  const title = escapeProperty(`syscall-lab ${kernel}: ${what}`);
  // Control bytes and ANSI escapes of a guest console would show as garbage in the annotation.
  return `::${level} title=${title}::${escapeData(sanitize(message).trim())}`;
}

/**
 * One annotation per failure of every run: each failed check (`::error`, its actual result and
 * what was expected), each checklist finding (`::error` when enforced by --conformance fail, else
 * `::warning`: it does not fail the run) and the error of a run that stopped early.
 */
export function githubAnnotations(runs: RunReport[]): string[] {
  return runs.flatMap((run) => {
    const kernel = run.kernel.requested;
    const lines = run.checks
      .filter((check) => check.status === 'fail')
      .map((check) => command('error', kernel, check.name, `${check.actual}\nexpected: ${check.expected}`));
    for (const item of run.conformance ?? []) {
      if (item.status !== 'fail') continue;
      const message = `${item.actual}\nrule: ${item.rule} (${item.section})`;
      lines.push(command(item.enforced ? 'error' : 'warning', kernel, item.name, message));
    }
    // The head of the error: the cause and fix; a console tail after it is in the uploaded logs.
    if (run.error !== undefined)
      lines.push(command('error', kernel, 'run', run.error.split('\n').slice(0, ERROR_LINES).join('\n')));
    return lines;
  });
}
