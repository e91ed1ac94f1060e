import { basename } from 'node:path';
import type { SubResult } from '../report/model.ts';
import type { CheckContext, RunCheck } from './check.ts';
import { failOnConsole, result } from './check.ts';
import type { CheckResult } from '../report/model.ts';
import { shellCommand } from '../guest/ssh.ts';
import { TimeoutError } from '../errors.ts';
import { elapsedSeconds } from '../events.ts';

/** KTAP/TAP result lines ("ok 1 - name", "not ok 2 name # SKIP why") become sub-results. */
export function parseKtap(output: string): SubResult[] {
  const subresults: SubResult[] = [];
  for (const line of output.split('\n')) {
    const match = /^\s*(not ok|ok)\s+(\d+)\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(.*))?$/i.exec(line);
    if (!match) continue;
    const [, verdict, number, description, comment] = match;
    const directive = /^(SKIP|TODO)\b/i.exec(comment ?? '')?.[1]?.toUpperCase();
    // TAP: a SKIP is not run; a failing TODO is expected to fail, so neither counts as a failure.
    const status =
      directive === 'SKIP' || (directive === 'TODO' && verdict !== 'ok') ? 'skip' : verdict === 'ok' ? 'pass' : 'fail';
    subresults.push({ name: description || `test ${number}`, status });
  }
  return subresults;
}

async function compileAndRun(context: CheckContext, file: string): Promise<CheckResult> {
  const name = `userland:${basename(file)}`;
  const dir = `${context.guestDir}/userland`;
  const source = `${dir}/${basename(file)}`;
  const binary = source.replace(/\.c$/, '');
  await context.machine.copy(file, source);
  // No -Werror: warnings are shown, only errors fail the program.
  const compile = await context.machine.exec(
    shellCommand(['gcc', '-Wall', '-O2', '-include', context.syscallHeader, '-o', binary, source]),
    { timeout: context.commandTimeout * 2 },
  );
  const warnings = compile.stderr.trim();
  if (compile.code !== 0) {
    return result(name, false, 'compiles and exits 0', `does not compile (gcc exit ${compile.code})`, warnings);
  }
  let run;
  try {
    run = await context.machine.exec(shellCommand([binary]), { timeout: context.commandTimeout });
  } catch (error) {
    // A hanging program fails alone; the other programs still run.
    if (!(error instanceof TimeoutError)) throw error;
    return result(
      name,
      false,
      'compiles and exits 0',
      `timed out after ${Math.round(context.commandTimeout / 1000)} s (killed)`,
      warnings,
    );
  }
  const output = `${run.stdout}${run.stderr}`.trim();
  const subresults = parseKtap(run.stdout);
  const failedSubtests = subresults.filter((sub) => sub.status === 'fail').length;
  const checkResult = result(
    name,
    run.code === 0 && failedSubtests === 0,
    'compiles and exits 0',
    `exit ${run.code ?? 'killed'}${subresults.length ? `, ${subresults.length - failedSubtests}/${subresults.length} subtests ok` : ''}`,
    [warnings && `compiler warnings:\n${warnings}`, output].filter(Boolean).join('\n'),
  );
  return subresults.length ? { ...checkResult, subresults } : checkResult;
}

/** `userland:<file>` for each C program: compiled in the guest with the syscall header, run, exit 0 = pass. */
export const userland: RunCheck = {
  name: 'userland',
  stage: 'patched',
  judgesConsole: true,
  async run(context) {
    await context.machine.exec(`mkdir -p ${context.guestDir}/userland`, { timeout: context.commandTimeout });
    const results: CheckResult[] = [];
    for (const file of context.userlandFiles) {
      // An oops fails the program that caused it, not the others.
      const mark = context.machine.console().mark();
      const started = Date.now();
      const programResult = await compileAndRun(context, file);
      const timed = { ...programResult, started: new Date(started).toISOString(), seconds: elapsedSeconds(started) };
      results.push(...failOnConsole([timed], context.machine.console().since(mark)));
    }
    return results;
  },
};
