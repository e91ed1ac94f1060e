import { shellQuote } from '../guest/ssh.ts';
import type { SyscallCheck } from './check.ts';
import type { CountCheck } from './held-samples.ts';
import { runCountCheck } from './held-samples.ts';

/** "Tasks: 31 total, ..." of `top -bn1`; the first line that has it. */
export function tasksTotal(topOutput: string): number | null {
  const match = /^Tasks:\s*(\d+)\s+total/m.exec(topOutput);
  return match ? Number(match[1]) : null;
}

/**
 * The seed talk's own test: taskcount equals top's "Tasks: N total". Both run back to back in
 * one shell, so the same processes exist for both (the probe while it counts, top while it
 * reads /proc); top's output goes to a file first, since `top | grep` would count the grep too.
 * The shell prefixes the `Tasks:` line with `sample=N` so the halves of a sample pair by number.
 */
const top: CountCheck = {
  name: 'taskcount-matches-top',
  reference: "top's Tasks total",
  names: { syscall: 'taskcount', reference: 'top' },
  sample(context, syscall, n) {
    const topOut = shellQuote(`${context.guestDir}/top.out`);
    return [
      `${shellQuote(context.probe)} call ${syscall.number} 1 "${n}"`,
      `echo "sample=${n} probe_exit=$?"`,
      `top -bn1 -w 200 >${topOut}`,
      `printf 'sample=%s ' "${n}"`,
      `grep -m1 '^Tasks:' ${topOut} || echo 'Tasks: missing'`,
    ].join('; ');
  },
  referenceOf(lines) {
    const totals = lines.other.map(tasksTotal);
    const [total] = totals;
    return totals.length === 1 && total !== null && total !== undefined ? BigInt(total) : null;
  },
};

export const taskcountMatchesTop: SyscallCheck = {
  name: top.name,
  stage: 'patched',
  needs: 'taskcount',
  async run(context, syscall) {
    return [await runCountCheck(top, context, syscall)];
  },
};
