import { generatedCases, type GeneratedCase } from '../conformance/cases.ts';
import type { CheckResult } from '../report/model.ts';
import type { RunCheck } from './check.ts';
import { EFAULT, EINVAL, result, skipped } from './check.ts';
import { callWithArgs, type ArgsAnswer } from './probe-args.ts';

const errnoOf = { EFAULT, EINVAL } as const;

/** One generated case judged: its text and whether it is right. */
function judgeCase(testCase: GeneratedCase, answer: ArgsAnswer | undefined, code: number | null): string | undefined {
  if (!answer) return `no answer (probe exit ${code ?? 'killed'})`;
  const index = testCase.args.findIndex((arg) => arg.kind === 'bad');
  const reason = answer.unavailable.get(index);
  if (reason !== undefined) return `not tested: ${reason}`;
  const expected = answer.ret === -1n && answer.errno === errnoOf[testCase.expect];
  const page = answer.pages.get(index);
  const wrong = [
    ...(expected ? [] : [`${answer.ret ?? 'none'}/errno ${answer.errno ?? 'none'}`]),
    ...(testCase.watched && page !== 'unchanged' ? [`page ${page ?? 'not reported'}`] : []),
    ...[...answer.buffers]
      .filter(([, buffer]) => buffer.guard !== 'ok')
      .map(([k]) => `guard bytes of argument ${k} clobbered`),
  ];
  return wrong.length === 0 ? undefined : wrong.join(', ');
}

/**
 * The runtime items of adding-syscalls.rst's checklist, generated from each new syscall's
 * SYSCALL_DEFINEn (src/conformance/cases.ts) and run through the probe's args mode: bad pointers
 * give EFAULT, unknown flags EINVAL. Its results (conformance:<item>:<syscall>) are reported apart
 * from the functional checks; without signatures (--conformance off) it does nothing.
 */
export const conformance: RunCheck = {
  name: 'conformance:runtime',
  stage: 'patched',
  async run(context) {
    const results: CheckResult[] = [];
    for (const signature of context.signatures) {
      const entry = context.added.find((added) => added.name === signature.name);
      const cases = generatedCases(signature);
      for (const item of ['efault', 'flags'] as const) {
        const name = `conformance:${item}:${signature.name}`;
        const ofItem = cases.filter((c) => c.item === item);
        if (!entry) {
          results.push(skipped(name, `${signature.name} is not in the patched x86-64 syscall table`));
          continue;
        }
        if (ofItem.length === 0) {
          results.push(skipped(name, item === 'efault' ? 'no pointer argument' : 'no argument named flags'));
          continue;
        }
        const actual: string[] = [];
        const outputs: string[] = [];
        for (const testCase of ofItem) {
          const { answer, code, output } = await callWithArgs(context, entry.number, testCase.args);
          outputs.push(output.trim());
          const wrong = judgeCase(testCase, answer, code);
          actual.push(`${testCase.label}: ${wrong === undefined ? testCase.expect : `${wrong} <- wrong`}`);
        }
        const pass = actual.every((line) => !line.endsWith('<- wrong'));
        results.push(
          result(
            name,
            pass,
            ofItem.map((c) => `${c.label}: -1/${c.expect}`).join('; '),
            actual.join('; '),
            outputs.join('\n'),
          ),
        );
      }
    }
    return results;
  },
};
