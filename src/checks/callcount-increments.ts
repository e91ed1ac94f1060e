import type { SyscallCheck } from './check.ts';
import { result, runProbe } from './check.ts';

/** Consecutive successful calls return n, n+1, n+2 (any non-negative return is success). */
export const callcountIncrements: SyscallCheck = {
  name: 'callcount-increments',
  stage: 'patched',
  needs: 'callcount',
  async run(context, syscall) {
    const { lines, code, output } = await runProbe(context, ['call', syscall.number, 3]);
    const values = lines.map((line) => Number(line.value));
    const succeeded = lines.length === 3 && lines.every((line) => Number(line.ret) >= 0);
    const first = values[0] ?? NaN;
    const pass = code === 0 && succeeded && values.every((value, i) => value === first + i) && first >= 1;
    return [
      result(
        this.name,
        pass,
        Number.isFinite(first) ? `${first}, ${first + 1}, ${first + 2}` : 'n, n+1, n+2',
        lines
          .map((line) => `${line.value} (ret ${line.ret}${line.errno !== '0' ? `, errno ${line.errno}` : ''})`)
          .join(', ') || `no answer (exit ${code})`,
        output,
      ),
    ];
  },
};
