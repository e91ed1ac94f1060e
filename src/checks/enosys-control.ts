import type { RunCheck } from './check.ts';
import { ENOSYS, result, runProbe } from './check.ts';

/**
 * Negative control on the stock kernel of the same version: the numbers the patch set gives
 * its syscalls must not exist there (-1/ENOSYS), or a later pass proves nothing.
 */
export const enosysControl: RunCheck = {
  name: 'enosys-control',
  stage: 'stock',
  async run(context) {
    const numbers = context.added.map((entry) => entry.number);
    const expected = numbers.map((n) => `${n}: -1/ENOSYS`).join(', ');
    if (numbers.length === 0)
      return [result(this.name, false, 'new syscalls', 'the patch set adds no syscall-table entry')];
    const { lines, code, output } = await runProbe(context, ['enosys', ...numbers]);
    const answers = numbers.map((n) => ({ n, line: lines.find((l) => l.nr === String(n)) }));
    const actual = answers
      .map(({ n, line }) =>
        line
          ? `${n}: ${line.ret}/${line.errno === String(ENOSYS) ? 'ENOSYS' : `errno ${line.errno}`}`
          : `${n}: no answer`,
      )
      .join(', ');
    const pass = code === 0 && answers.every(({ line }) => line?.ret === '-1' && line.errno === String(ENOSYS));
    return [result(this.name, pass, expected, actual, output)];
  },
};
