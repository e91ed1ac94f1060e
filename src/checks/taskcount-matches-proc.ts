import { shellQuote } from '../guest/ssh.ts';
import type { SyscallCheck } from './check.ts';
import { bigIntOf } from './check.ts';
import type { CountCheck } from './held-samples.ts';
import { runCountCheck } from './held-samples.ts';

/** taskcount equals the /proc/<pid> directories the same program counts right after the call. */
const proc: CountCheck = {
  name: 'taskcount-matches-proc',
  reference: 'the /proc/<pid> count',
  names: { syscall: 'taskcount', reference: '/proc' },
  sample(context, syscall, n) {
    return `${shellQuote(context.probe)} proc ${syscall.number} "${n}"; echo "sample=${n} probe_exit=$?"`;
  },
  referenceOf(lines) {
    const [probe] = lines.probe;
    const count = bigIntOf(probe?.proc);
    // The probe prints proc=-1 when it could not read /proc.
    return count !== null && count >= 0n ? count : null;
  },
};

export const taskcountMatchesProc: SyscallCheck = {
  name: proc.name,
  stage: 'patched',
  needs: 'taskcount',
  async run(context, syscall) {
    return [await runCountCheck(proc, context, syscall)];
  },
};
