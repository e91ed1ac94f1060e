import type { ProbeLine, RunCheck } from './check.ts';
import { EFAULT, bigIntOf, intOf, result, runProbe, skipped } from './check.ts';
import { builtinSyscalls } from './builtins.ts';
import { directMapBase } from './direct-map.ts';

/** The bad pointers: each must give -1/EFAULT and leave the memory behind it as it was. */
export const badKinds = ['null', 'unmapped', 'kernel', 'kernel-writable', 'readonly'] as const;
/** Kinds whose memory the probe can see, so it must report it unchanged. */
const watchedKinds: readonly string[] = ['kernel-writable', 'readonly'];

/** The probe's fill patterns (0xa5... and 0x5a...): a value still equal to one was never written. */
export const fillPatterns = [0xa5a5a5a5a5a5a5a5n, 0x5a5a5a5a5a5a5a5an] as const;

/** One bad-pointer line judged: its text ("0/errno 0, page changed") and whether it is right. */
function badPointerProblem(kind: string, line: ProbeLine | undefined): { text: string; ok: boolean } {
  if (!line) return { text: 'no answer (killed?)', ok: false };
  if (line.unavailable !== undefined) return { text: `not tested: ${line.unavailable}`, ok: false };
  const efault = line.ret === '-1' && line.errno === String(EFAULT);
  const answer = `${line.ret ?? 'none'}/${line.errno === String(EFAULT) ? 'EFAULT' : `errno ${line.errno ?? 'none'}`}`;
  const page = line.page ?? (watchedKinds.includes(kind) ? 'not reported' : undefined);
  const pageOk = page === undefined || page === 'unchanged';
  return { text: page === undefined ? answer : `${answer}, page ${page}`, ok: efault && pageOk };
}

/**
 * A misaligned writable pointer is not a bad pointer: the call succeeds and writes there (the
 * value is no longer the fill pattern). How much it writes is callcount-increments' business
 * (whole variable, guard bytes), so that each mistake fails the one check that is about it.
 */
function misalignedProblem(line: ProbeLine | undefined): { text: string; ok: boolean } {
  if (!line) return { text: 'no answer (killed?)', ok: false };
  const value = bigIntOf(line.value);
  const ret = intOf(line.ret);
  const written = value !== null && value > 0n && !fillPatterns.some((pattern) => pattern === value);
  const text = `ret ${line.ret ?? 'none'}, value ${line.value ?? 'none'}${written ? '' : ' (not written)'}`;
  return { text, ok: ret !== null && ret >= 0 && written };
}

/**
 * Every built-in syscall handed a bad pointer (NULL, an unmapped user address, kernel text, the
 * kernel's writable direct-map alias of a page the probe owns, read-only memory) returns
 * -1/EFAULT and changes nothing; a misaligned writable pointer works. A kind the probe could not
 * try fails the check: it cannot prove what it promises. The runner fails the check too if the
 * console shows an oops meanwhile (a seed-style `*num = count` does that).
 */
export const badPointerEfault: RunCheck = {
  name: 'bad-pointer-efault',
  stage: 'patched',
  async run(context) {
    const targets = builtinSyscalls(context.added);
    if (targets.length === 0) return [skipped(this.name, 'the patch set adds neither callcount nor taskcount')];
    const directMap = directMapBase(context.kernelVersion);
    const actual: string[] = [];
    const outputs: string[] = [];
    let pass = true;
    for (const syscall of targets) {
      const { lines, code, output } = await runProbe(context, ['efault', syscall.number, directMap]);
      outputs.push(output.trim());
      if (code !== 0) actual.push(`${syscall.name}: probe exit ${code ?? 'killed'}`);
      pass &&= code === 0;
      const answers = [
        ...badKinds.map((kind) => ({
          kind,
          ...badPointerProblem(
            kind,
            lines.find((l) => l.kind === kind),
          ),
        })),
        { kind: 'misaligned', ...misalignedProblem(lines.find((l) => l.kind === 'misaligned')) },
      ];
      for (const answer of answers) {
        pass &&= answer.ok;
        actual.push(`${syscall.name}(${answer.kind}): ${answer.text}${answer.ok ? '' : ' <- wrong'}`);
      }
    }
    return [
      result(
        this.name,
        pass,
        `null, unmapped, kernel, kernel-writable (direct map at ${directMap}) and read-only pointers: -1/EFAULT, memory unchanged; misaligned writable: success with the value; no oops`,
        actual.join('; '),
        outputs.join('\n'),
      ),
    ];
  },
};
