import { generatedCases, sameOnBothAbis, validArguments, type GeneratedCase } from '../conformance/cases.ts';
import type { SyscallSignature } from '../conformance/signature.ts';
import type { CheckResult } from '../report/model.ts';
import type { CheckContext, RunCheck } from './check.ts';
import { EFAULT, EINVAL, result, skipped } from './check.ts';
import { callsWithArgs, type ArgsAnswer, type ArgsCall, type ArgsOutcome } from './probe-args.ts';
import { uploadProbe32, type Probe32 } from './probe32.ts';

const errnoOf = { EFAULT, EINVAL } as const;

/** A call without an answer: the shell's status says a signal killed the probe (an oops does) or it exited. */
function notAnswered({ code }: ArgsOutcome, probe: string): string {
  if (code === null) return `no answer (${probe} did not finish)`;
  return code > 128 ? `no answer (${probe} killed by signal ${code - 128})` : `no answer (${probe} exit ${code})`;
}

const clobbered = (answer: ArgsAnswer): string[] =>
  [...answer.buffers]
    .filter(([, buffer]) => buffer.guard !== 'ok')
    .map(([k]) => `guard bytes of argument ${k} clobbered`);

/** One generated case judged: its text and whether it is right. */
function judgeCase(testCase: GeneratedCase, outcome: ArgsOutcome): string | undefined {
  const { answer } = outcome;
  if (!answer) return notAnswered(outcome, 'probe');
  const index = testCase.args.findIndex((arg) => arg.kind === 'bad');
  const reason = answer.unavailable.get(index);
  if (reason !== undefined) return `not tested: ${reason}`;
  const expected = answer.ret === -1n && answer.errno === errnoOf[testCase.expect];
  const page = answer.pages.get(index);
  const wrong = [
    ...(expected ? [] : [`${answer.ret ?? 'none'}/errno ${answer.errno ?? 'none'}`]),
    ...(testCase.watched && page !== 'unchanged' ? [`page ${page ?? 'not reported'}`] : []),
    ...clobbered(answer),
  ];
  return wrong.length === 0 ? undefined : wrong.join(', ');
}

const sameBuffers = (a: ArgsAnswer, b: ArgsAnswer): boolean =>
  [...a.buffers].every(([k, buffer]) => b.buffers.get(k)?.bytes.equals(buffer.bytes) === true);

/**
 * A 32-bit call judged against the 64-bit call of the same case: the same return value and
 * errno, guard bytes intact, watched memory unchanged and, for the valid call (`repeat` is the
 * 64-bit valid call made again after the 32-bit one), the same bytes in every buffer whose type has
 * one size on both ABIs, when the 64-bit call gives the same bytes twice. Returns what is wrong,
 * or undefined, and a note.
 */
export function judge32(
  signature: SyscallSignature,
  outcome32: ArgsOutcome,
  outcome64: ArgsOutcome,
  repeat?: ArgsOutcome,
): { wrong?: string; note?: string } {
  const { answer } = outcome32;
  if (!answer) return { wrong: notAnswered(outcome32, 'probe32') };
  const unavailable = [...answer.unavailable.values()];
  if (unavailable.length > 0) return { wrong: `not tested: ${unavailable.join(', ')}` };
  const native = outcome64.answer;
  if (!native) return { wrong: `the 64-bit call gave ${notAnswered(outcome64, 'probe')}` };
  const wrong = [
    ...(answer.ret === native.ret && answer.errno === native.errno
      ? []
      : [
          `${answer.ret ?? 'none'}/errno ${answer.errno ?? 'none'} (64-bit: ${native.ret ?? 'none'}/errno ${native.errno ?? 'none'})`,
        ]),
    ...clobbered(answer),
    ...[...answer.pages].filter(([, page]) => page !== 'unchanged').map(([k]) => `page of argument ${k} changed`),
  ];
  let note: string | undefined;
  if (repeat) {
    const again = repeat.answer;
    if (!again || !sameBuffers(native, again)) {
      note = 'values not compared: the 64-bit valid call wrote different bytes each time';
    } else {
      for (const [k, buffer] of answer.buffers) {
        const argument = signature.arguments[k];
        const expected = native.buffers.get(k)?.bytes;
        if (argument && sameOnBothAbis(argument) && expected && !buffer.bytes.equals(expected))
          wrong.push(
            `argument ${k} (${argument.name}) holds ${buffer.bytes.toString('hex')}, 64-bit ${expected.toString('hex')}`,
          );
      }
    }
  }
  return { ...(wrong.length > 0 && { wrong: wrong.join(', ') }), ...(note && { note }) };
}

/** `conformance:x86-32:<syscall>`: the valid call and every case the i386 ABI can make, 32-bit against 64-bit. */
async function x86_32Item(
  context: CheckContext,
  signature: SyscallSignature,
  numbers: { x86_64: number; i386: number },
  probe32: Probe32,
  answers64: Map<string, ArgsOutcome>,
): Promise<CheckResult> {
  const name = `conformance:x86-32:${signature.name}`;
  if ('error' in probe32) return skipped(name, `no 32-bit probe: ${probe32.error}`);
  const valid64 = validArguments(signature);
  const cases32 = generatedCases(signature, 'i386');
  const calls: ArgsCall[] = [
    { probe: context.probe, nr: numbers.x86_64, args: valid64 },
    { probe: probe32.binary, nr: numbers.i386, args: validArguments(signature, 'i386') },
    { probe: context.probe, nr: numbers.x86_64, args: valid64 },
    ...cases32.map((testCase) => ({ probe: probe32.binary, nr: numbers.i386, args: testCase.args })),
  ];
  const [first, valid32, again, ...outcomes] = await callsWithArgs(context, calls);
  const lines: string[] = [];
  const notes: string[] = [];
  const judged = (label: string, verdict: { wrong?: string; note?: string }): void => {
    lines.push(`${label}: ${verdict.wrong === undefined ? 'as 64-bit' : `${verdict.wrong} <- wrong`}`);
    if (verdict.note) notes.push(`${label}: ${verdict.note}`);
  };
  if (first && valid32 && again) judged('valid call', judge32(signature, valid32, first, again));
  cases32.forEach((testCase, index) => {
    const outcome = outcomes[index];
    const native = answers64.get(testCase.label);
    if (outcome && native) judged(testCase.label, judge32(signature, outcome, native));
  });
  return result(
    name,
    lines.length === calls.length - 2 && lines.every((line) => !line.endsWith('<- wrong')),
    `i386 entry ${numbers.i386} (static -m32 program): the 64-bit call's return, errno and values; guard bytes intact`,
    [...lines, ...notes].join('; '),
    [first, valid32, again, ...outcomes].map((outcome) => outcome?.output.trim() ?? '').join('\n'),
  );
}

/**
 * The runtime items of adding-syscalls.rst's checklist, generated from each new syscall's
 * SYSCALL_DEFINEn (src/conformance/cases.ts) and run through the probe's args mode: bad pointers
 * give EFAULT, unknown flags EINVAL, and where the series adds an i386 entry, a static 32-bit
 * probe gets what the 64-bit call gets. Its results (conformance:<item>:<syscall>) are reported
 * apart from the functional checks; without signatures (--conformance off) it does nothing.
 */
export const conformance: RunCheck = {
  name: 'conformance:runtime',
  stage: 'patched',
  async run(context) {
    const results: CheckResult[] = [];
    let probe32: Probe32 | undefined;
    for (const signature of context.signatures) {
      const entry = context.added.find((added) => added.name === signature.name);
      const i386 = context.i386.find((added) => added.name === signature.name);
      const cases = generatedCases(signature);
      const outcomes = entry
        ? await callsWithArgs(
            context,
            cases.map((testCase) => ({ probe: context.probe, nr: entry.number, args: testCase.args })),
          )
        : [];
      const answers64 = new Map(
        cases.flatMap((testCase, index) => (outcomes[index] ? [[testCase.label, outcomes[index]] as const] : [])),
      );
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
        const judged = ofItem.map((testCase) => {
          const outcome = answers64.get(testCase.label) ?? { code: null, output: '' };
          const wrong = judgeCase(testCase, outcome);
          return { line: `${testCase.label}: ${wrong === undefined ? testCase.expect : `${wrong} <- wrong`}`, outcome };
        });
        results.push(
          result(
            name,
            judged.every(({ line }) => !line.endsWith('<- wrong')),
            ofItem.map((c) => `${c.label}: -1/${c.expect}`).join('; '),
            judged.map(({ line }) => line).join('; '),
            judged.map(({ outcome }) => outcome.output.trim()).join('\n'),
          ),
        );
      }
      const x86_32 = `conformance:x86-32:${signature.name}`;
      if (!entry) results.push(skipped(x86_32, `${signature.name} is not in the patched x86-64 syscall table`));
      else if (!i386) results.push(skipped(x86_32, `64-bit only: the series adds no i386 entry for ${signature.name}`));
      else {
        probe32 ??= await uploadProbe32(context);
        results.push(
          await x86_32Item(context, signature, { x86_64: entry.number, i386: i386.number }, probe32, answers64),
        );
      }
    }
    return results;
  },
};
