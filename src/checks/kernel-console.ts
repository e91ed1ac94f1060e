import type { CheckResult } from '../report/model.ts';
import { scanConsole, type ConsoleFinding } from '../vm/console.ts';
import type { ConsoleLog } from '../vm/machine.ts';

/**
 * `kernel-console:stock` and `kernel-console:patched`: every crash of a boot is judged, not only
 * those during a check. A check judges what the console shows while it runs (its window);
 * this check judges the rest of the boot: the boot itself, the guest's preparation, the gaps
 * between checks, the time after the last check (up to a marker written through /dev/kmsg, so
 * late reports are in) — and, inside the windows, reports of kernel threads (a deferred work
 * item that oopses two seconds after the syscall queued it is no check's doing).
 */

/** A part of one boot's console: its byte range and what the machine was doing meanwhile. */
export interface ConsoleSpan {
  from: number;
  to: number;
  /** "boot", "guest preparation", "callcount-increments" (a check's window), "between checks", "after the last check". */
  step: string;
  /** Set for a check's window: only kernel threads' reports there are this check's business. */
  check?: boolean;
}

/** The task a report names: "CPU: 0 PID: 42 Comm: kworker/0:1 ..." (3.10+) or "Pid: 42, comm: kworker/0:1 ..." (3.9). */
export function taskOf(excerpt: string): string | undefined {
  return /\b(?:PID: \d+ Comm|Pid: \d+, comm): (\S+)/.exec(excerpt)?.[1];
}

/** Kernel threads and the idle task: what they report is not the doing of the check that runs meanwhile. */
export function isKernelTask(task: string | undefined): boolean {
  return (
    task !== undefined &&
    /^(?:kworker\/|ksoftirqd\/|swapper\/?|migration\/|rcu_|kthreadd$|cpuhp\/|kswapd|kcompactd|khungtaskd|watchdog|irq\/|kdevtmpfs|khugepaged|oom_reaper|kauditd|kblockd|kintegrityd|writeback|9p-)/.test(
      task,
    )
  );
}

/** The failure-level findings of a span that this check judges. */
function judged(console: ConsoleLog, span: ConsoleSpan): { step: string; finding: ConsoleFinding }[] {
  return scanConsole(console.between(span.from, span.to), { fromBoot: span.step === 'boot' })
    .filter((finding) => finding.severity === 'failure' && (!span.check || isKernelTask(taskOf(finding.excerpt))))
    .map((finding) => ({
      step: span.check ? `during ${span.step}, in ${taskOf(finding.excerpt) ?? 'the kernel'}` : span.step,
      finding,
    }));
}

/**
 * The check's result for one boot. `markerSeen` is false when the end-of-checks marker never
 * reached the console: the kernel stopped printing (hung), so late reports may be lost.
 */
export function judgeConsole(
  stage: 'stock' | 'patched',
  console: ConsoleLog,
  spans: ConsoleSpan[],
  markerSeen: boolean,
): CheckResult {
  const name = `kernel-console:${stage}`;
  const expected = 'no kernel failure on the console outside the checks (boot, preparation, between and after them)';
  const found = spans.flatMap((span) => judged(console, span));
  const problems = found.map(({ step, finding }) => `${step}: kernel ${finding.kind}: ${finding.line}`);
  if (!markerSeen)
    problems.push(
      'after the last check: the console never showed the end-of-checks marker (the kernel stopped printing)',
    );
  return {
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected,
    actual: problems.length === 0 ? 'console clean outside the checks' : problems.join('; '),
    details: found.map(({ step, finding }) => `${step}:\n${finding.excerpt}`).join('\n\n'),
  };
}
