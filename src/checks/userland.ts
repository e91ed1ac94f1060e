import { readFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import type { CheckResult } from '../report/model.ts';
import type { SyscallEntry } from '../kernel/syscalls.ts';
import type { CheckContext, RunCheck } from './check.ts';
import { CheckInterruptedError, failOnConsole, result, skipped } from './check.ts';
import { builtinNames } from './builtins.ts';
import { isTap, judgeProgram, parseKtap, subresultsOf } from './ktap.ts';
import { shellCommand } from '../guest/ssh.ts';
import { TimeoutError } from '../errors.ts';
import { elapsedSeconds } from '../events.ts';
import { projectRoot } from '../paths.ts';
import { MachineGoneError } from '../vm/machine.ts';

const plainExpected = 'compiles and exits 0';
const tapExpected = 'compiles; every planned KTAP result ok or skipped; exit 0 (4: skip)';

/** The project's own programs (the talk's examples, the default tests): they test callcount and taskcount. */
export const shippedFolder = join(projectRoot, 'userland');

export function isShipped(file: string, folder = shippedFolder): boolean {
  const path = relative(folder, resolve(file));
  return path !== '' && !path.startsWith('..') && !isAbsolute(path);
}

/** The built-in syscalls a program's source uses (`SYS_<name>`, `__NR_<name>`); other names are ignored. */
export function builtinSyscallsUsed(source: string): string[] {
  const names = [...source.matchAll(/\b(?:SYS|__NR)_(\w+)/g)].map((match) => match[1] ?? '');
  return [...new Set(names)].filter((name) => (builtinNames as readonly string[]).includes(name));
}

/**
 * Why a shipped program does not run: it uses a built-in syscall the patch set does not add (a
 * user's own syscall is not callcount, and its patch set need not add the talk's). A user's own
 * `--userland` programs always run.
 */
export function shippedSkipReason(file: string, added: string[], folder = shippedFolder): string | null {
  if (!isShipped(file, folder)) return null;
  const lacking = builtinSyscallsUsed(readFileSync(file, 'utf8')).filter((name) => !added.includes(name));
  if (lacking.length === 0) return null;
  return `${basename(file)} is one of syscall-lab's own programs and uses ${lacking.map((n) => `SYS_${n}`).join(', ')}: the patch set adds no ${lacking.join(' or ')} syscall`;
}

/** Whether a program runs for this patch set (the guest compiles only those). */
export function willRun(file: string, added: SyscallEntry[]): boolean {
  return (
    shippedSkipReason(
      file,
      added.map((entry) => entry.name),
    ) === null
  );
}

async function compileAndRun(context: CheckContext, file: string): Promise<CheckResult> {
  const name = `userland:${basename(file)}`;
  // Compiled by the guest's one compile step, with every other program (src/stages/guest-programs.ts).
  const compiled = context.programs.get(file);
  if (!compiled?.ok) {
    const why = compiled ? `gcc exit ${compiled.status ?? 'none'}` : 'not compiled';
    const hint = compiled?.hint ? `: ${compiled.hint}` : '';
    return result(name, false, plainExpected, `does not compile (${why})${hint}`, compiled?.log ?? '');
  }
  const binary = compiled.binary;
  const warnings = compiled.log;
  let run;
  try {
    run = await context.machine.exec(shellCommand([binary]), { timeout: context.commandTimeout });
  } catch (error) {
    // A hanging program fails alone; the other programs still run.
    if (!(error instanceof TimeoutError)) throw error;
    return result(
      name,
      false,
      plainExpected,
      `timed out after ${Math.round(context.commandTimeout / 1000)} s (killed)`,
      warnings,
    );
  }
  const output = `${run.stdout}${run.stderr}`.trim();
  const document = parseKtap(run.stdout);
  const verdict = judgeProgram(document, run.code);
  const subresults = subresultsOf(document);
  const checkResult: CheckResult = {
    name,
    status: verdict.status,
    expected: isTap(document) ? tapExpected : plainExpected,
    actual: verdict.actual,
    details: [warnings && `compiler warnings:\n${warnings}`, output].filter(Boolean).join('\n'),
  };
  return subresults.length ? { ...checkResult, subresults } : checkResult;
}

/**
 * `userland:<file>` for each C program: compiled in the guest with the syscall header and run;
 * judged by its (K)TAP output when it prints some, else by its exit code (0 = pass).
 */
export const userland: RunCheck = {
  name: 'userland',
  stage: 'patched',
  judgesConsole: true,
  async run(context) {
    const added = context.added.map((entry) => entry.name);
    const results: CheckResult[] = [];
    for (const [index, file] of context.userlandFiles.entries()) {
      const started = Date.now();
      const timing = (r: CheckResult): CheckResult => ({
        ...r,
        started: new Date(started).toISOString(),
        seconds: elapsedSeconds(started),
      });
      const skipReason = shippedSkipReason(file, added);
      if (skipReason !== null) {
        results.push(timing(skipped(`userland:${basename(file)}`, skipReason)));
        continue;
      }
      // An oops fails the program that caused it, not the others.
      const mark = context.machine.console().mark();
      let programResult: CheckResult;
      try {
        programResult = await compileAndRun(context, file);
      } catch (error) {
        // The machine went away during this program: the programs before it keep their results.
        if (!(error instanceof MachineGoneError)) throw error;
        const later = context.userlandFiles.slice(index + 1).map((rest) => `userland:${basename(rest)}`);
        throw new CheckInterruptedError(results, `userland:${basename(file)}`, later, error);
      }
      results.push(...failOnConsole([timing(programResult)], context.machine.console().since(mark)));
    }
    return results;
  },
};
