import type { RunCheck } from './check.ts';
import { EFAULT, result, runProbe, skipped } from './check.ts';
import { builtinSyscalls } from './builtins.ts';

const badKinds = ['null', 'unmapped', 'kernel', 'readonly'] as const;

/**
 * Every built-in syscall handed a bad pointer (NULL, an unmapped user address, a kernel address,
 * read-only memory) returns -1/EFAULT, and a misaligned writable pointer works. The runner fails
 * the check too if the console shows an oops meanwhile (a seed-style `*num = count` does that).
 */
export const badPointerEfault: RunCheck = {
  name: 'bad-pointer-efault',
  stage: 'patched',
  async run(context) {
    const targets = builtinSyscalls(context.added);
    if (targets.length === 0) return [skipped(this.name, 'the patch set adds neither callcount nor taskcount')];
    const actual: string[] = [];
    const outputs: string[] = [];
    let pass = true;
    for (const syscall of targets) {
      const { lines, code, output } = await runProbe(context, ['efault', syscall.number]);
      outputs.push(output.trim());
      pass &&= code === 0;
      for (const kind of badKinds) {
        const line = lines.find((l) => l.kind === kind);
        const ok = line?.ret === '-1' && line.errno === String(EFAULT);
        pass &&= ok;
        actual.push(
          `${syscall.name}(${kind}): ${line ? `${line.ret}/${line.errno === String(EFAULT) ? 'EFAULT' : `errno ${line.errno}`}` : 'no answer (killed?)'}`,
        );
      }
      const misaligned = lines.find((l) => l.kind === 'misaligned');
      const misalignedOk = misaligned !== undefined && Number(misaligned.ret) >= 0 && Number(misaligned.value) > 0;
      pass &&= misalignedOk;
      actual.push(
        `${syscall.name}(misaligned): ${misaligned ? `ret ${misaligned.ret}, value ${misaligned.value}` : 'no answer (killed?)'}`,
      );
    }
    return [
      result(
        this.name,
        pass,
        'null, unmapped, kernel and read-only pointers: -1/EFAULT; misaligned writable: success with the value; no oops',
        actual.join('; '),
        outputs.join('\n'),
      ),
    ];
  },
};
