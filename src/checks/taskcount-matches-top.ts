import type { SyscallCheck } from './check.ts';
import { parseProbeLines, result } from './check.ts';
import { judgeSamples, samples, samplesNeeded, type Sample } from './sampling.ts';

/** "Tasks: 31 total, ..." of `top -bn1`; the first line that has it. */
export function tasksTotal(topOutput: string): number | null {
  const match = /^Tasks:\s*(\d+)\s+total/m.exec(topOutput);
  return match ? Number(match[1]) : null;
}

/**
 * The seed talk's own test: taskcount equals top's "Tasks: N total". Both run back to back in
 * one shell, so the same processes exist for both (the probe while it counts, top while it
 * reads /proc); top's output goes to a file first, since `top | grep` would count the grep too.
 */
export const taskcountMatchesTop: SyscallCheck = {
  name: 'taskcount-matches-top',
  stage: 'patched',
  needs: 'taskcount',
  async run(context, syscall) {
    const top = `${context.guestDir}/top.out`;
    const script = Array.from(
      { length: samples },
      () =>
        `${context.probe} call ${syscall.number} 1; top -bn1 -w 200 > ${top}; grep -m1 '^Tasks:' ${top} || echo 'Tasks: missing'`,
    ).join('; ');
    const { stdout, stderr, code } = await context.machine.exec(script, { timeout: context.commandTimeout * 2 });
    const probeLines = parseProbeLines(stdout);
    const topLines = stdout.split('\n').filter((line) => line.startsWith('Tasks:'));
    const taken: Sample[] = Array.from({ length: Math.max(probeLines.length, topLines.length) }, (_, i) => ({
      syscall: probeLines[i]?.value !== undefined ? Number(probeLines[i].value) : null,
      ret: probeLines[i]?.ret !== undefined ? Number(probeLines[i].ret) : null,
      reference: tasksTotal(topLines[i] ?? ''),
    }));
    const verdict = judgeSamples(taken);
    const last = taken.at(-1);
    return [
      result(
        this.name,
        code === 0 && verdict.pass,
        `taskcount = top's Tasks total in >= ${samplesNeeded} of ${samples} samples`,
        `${verdict.equal} of ${taken.length} equal (last: taskcount ${last?.syscall ?? 'none'}, top ${last?.reference ?? 'none'})`,
        `${verdict.table}${stderr ? `\n${stderr}` : ''}`,
      ),
    ];
  },
};
