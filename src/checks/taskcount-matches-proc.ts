import type { SyscallCheck } from './check.ts';
import { result, runProbe } from './check.ts';
import { judgeSamples, samples, samplesNeeded, type Sample } from './sampling.ts';

/** taskcount equals the /proc/<pid> directories the same program counts right after the call. */
export const taskcountMatchesProc: SyscallCheck = {
  name: 'taskcount-matches-proc',
  stage: 'patched',
  needs: 'taskcount',
  async run(context, syscall) {
    const taken: Sample[] = [];
    const outputs: string[] = [];
    let allOk = true;
    for (let i = 0; i < samples; i++) {
      const { lines, code, output } = await runProbe(context, ['proc', syscall.number]);
      outputs.push(output.trim());
      allOk &&= code === 0;
      const line = lines[0];
      taken.push({
        syscall: line?.value !== undefined ? Number(line.value) : null,
        ret: line?.ret !== undefined ? Number(line.ret) : null,
        reference: line?.proc !== undefined ? Number(line.proc) : null,
      });
    }
    const verdict = judgeSamples(taken);
    const last = taken.at(-1);
    return [
      result(
        this.name,
        allOk && verdict.pass,
        `taskcount = /proc/<pid> count in >= ${samplesNeeded} of ${samples} samples`,
        `${verdict.equal} of ${taken.length} equal (last: taskcount ${last?.syscall ?? 'none'}, /proc ${last?.reference ?? 'none'})`,
        verdict.table,
      ),
    ];
  },
};
