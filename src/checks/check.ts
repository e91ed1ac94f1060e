import type { SyscallSignature } from '../conformance/signature.ts';
import type { SyscallEntry } from '../kernel/syscalls.ts';
import type { CheckResult } from '../report/model.ts';
import type { Machine, MachineGoneError } from '../vm/machine.ts';
import { scanConsole, verdict } from '../vm/console.ts';
import { isKernelTask, taskOf } from './kernel-console.ts';

/** A userland program as the guest's compile step left it (src/stages/guest-programs.ts). */
export interface CompiledProgram {
  /** Its binary in the guest. */
  binary: string;
  ok: boolean;
  /** gcc's exit code; null when it left none. */
  status: number | null;
  /** gcc's warnings and errors. */
  log: string;
  /** What a failure means, when syscall-lab knows (a kselftest header the kernel's tree lacks). */
  hint?: string;
}

/** What every check gets: the machine (the only way to the guest) and the facts of the run. */
export interface CheckContext {
  machine: Machine;
  /** Syscalls the patch set adds, from the patched syscall table. */
  added: SyscallEntry[];
  /** The compiled probe in the guest (src/checks/guest/probe.c). */
  probe: string;
  /** A writable folder in the guest for this run's files. */
  guestDir: string;
  /** Per-command limit in ms, scaled for the accelerator. */
  commandTimeout: number;
  /** `uname -r` the patched build must report. */
  patchedRelease: string;
  /** The kernel's version (6.1.192, 3.9.6): what the version-dependent cases go by. */
  kernelVersion: string;
  /** The userland programs to run (host paths). */
  userlandFiles: string[];
  /** What the guest's compile step made of each userland program (by host path). */
  programs: Map<string, CompiledProgram>;
  /** The new syscalls' signatures, for the generated conformance checks (empty under --conformance off). */
  signatures: SyscallSignature[];
  /** The i386 table entries the series adds (the conformance item x86-32 calls them from a 32-bit program). */
  i386: { name: string; number: number }[];
}

interface CheckBase {
  name: string;
  /** Which kernel it runs on: the stock one (negative control) or the patched one. */
  stage: 'stock' | 'patched';
  /**
   * The check attributes what the console shows to its own results (one program at a time);
   * otherwise an oops or panic during the check fails every result it returns.
   */
  judgesConsole?: boolean;
}

/** A check of the run as a whole (the control, the release, bad pointers, userland programs). */
export interface RunCheck extends CheckBase {
  needs?: undefined;
  run(context: CheckContext): Promise<CheckResult[]>;
}

/** A check of one built-in syscall: skipped when the patch set does not add it. */
export interface SyscallCheck extends CheckBase {
  needs: 'callcount' | 'taskcount';
  run(context: CheckContext, syscall: SyscallEntry): Promise<CheckResult[]>;
}

export type Check = RunCheck | SyscallCheck;

/** Fails results when the console text written while they ran shows a kernel failure, with the excerpt. */
export function failOnConsole(results: CheckResult[], consoleText: string): CheckResult[] {
  // A kernel thread's report (a work item's oops) is no check's doing: kernel-console judges it.
  const findings = scanConsole(consoleText).filter((finding) => !isKernelTask(taskOf(finding.excerpt)));
  const onConsole = verdict(findings);
  if (!onConsole.failed) return results;
  const crashes = findings.filter((finding) => finding.severity === 'failure');
  return results.map((r) => ({
    ...r,
    status: 'fail',
    actual: `${r.actual}; ${onConsole.summary}`,
    details: `${crashes.map((c) => c.excerpt).join('\n')}\n${r.details}`,
  }));
}

/**
 * The machine went away during a check that has results already (a userland program crashed
 * the kernel after others ran): they travel with the cause, with the one it died in (`at`) and
 * the ones that will not run.
 */
export class CheckInterruptedError extends Error {
  constructor(
    readonly results: CheckResult[],
    readonly at: string,
    readonly notRun: string[],
    override readonly cause: MachineGoneError,
  ) {
    super(cause.message);
    this.name = 'CheckInterruptedError';
  }
}

export const ENOSYS = 38;
export const EFAULT = 14;
export const EINVAL = 22;

export function skipped(name: string, reason: string): CheckResult {
  return { name, status: 'skip', expected: '-', actual: '-', details: reason };
}

export function result(name: string, pass: boolean, expected: string, actual: string, details = ''): CheckResult {
  return { name, status: pass ? 'pass' : 'fail', expected, actual, details };
}

/** One line of probe output, "key=value key=value", as numbers where they are numbers. */
export type ProbeLine = Record<string, string>;

export function parseProbeLines(stdout: string): ProbeLine[] {
  return stdout
    .split('\n')
    .filter((line) => /^\w+=/.test(line))
    .map((line) =>
      Object.fromEntries(
        line
          .trim()
          .split(/\s+/)
          .map((pair) => pair.split('=') as [string, string]),
      ),
    );
}

/** A decimal integer field of a probe line as a BigInt (values filled with a pattern pass 2^53), or null. */
export function bigIntOf(field: string | undefined): bigint | null {
  return field !== undefined && /^-?\d+$/.test(field) ? BigInt(field) : null;
}

/** A decimal integer field of a probe line (a return value, an errno, an exit status), or null. */
export function intOf(field: string | undefined): number | null {
  return field !== undefined && /^-?\d+$/.test(field) ? Number(field) : null;
}

/** Runs the probe; a probe killed by an oops shows up as a missing line and a non-zero exit. */
export async function runProbe(
  context: CheckContext,
  args: (string | number)[],
): Promise<{ lines: ProbeLine[]; code: number | null; output: string }> {
  const command = [context.probe, ...args.map(String)].join(' ');
  const { code, stdout, stderr } = await context.machine.exec(command, { timeout: context.commandTimeout });
  return { lines: parseProbeLines(stdout), code, output: `$ ${command}\n${stdout}${stderr}` };
}
