import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isTap, judgeProgram, parseKtap, subresultsOf } from '../../src/checks/ktap.ts';

const fixtures = fileURLToPath(new URL('../fixtures/ktap/', import.meta.url));
const outputs = readdirSync(fixtures).filter((file) => !file.endsWith('.expected.json'));

describe('KTAP golden outputs (kunit, kselftest, TAP 14)', () => {
  it('has a golden file for every recorded output', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(10);
  });

  it.each(outputs)('%s: parse, sub-results and verdict', (file) => {
    const expected = JSON.parse(readFileSync(join(fixtures, file.replace(/\.[a-z]+$/, '.expected.json')), 'utf8')) as {
      exitCode: number;
      document: unknown;
      subresults: unknown;
      verdict: unknown;
    };
    const document = parseKtap(readFileSync(join(fixtures, file), 'utf8'));
    expect(document).toEqual(expected.document);
    expect(subresultsOf(document)).toEqual(expected.subresults);
    expect(judgeProgram(document, expected.exitCode)).toEqual(expected.verdict);
  });
});

describe('parseKtap', () => {
  it.each([
    ['with "- " before the name', 'KTAP version 1\n1..2\nok 1 - callcount increments\nnot ok 2 - taskcount matches\n'],
    ['without "- "', 'ok 1 callcount increments\nnot ok 2 taskcount matches\n'],
  ])('reads ok / not ok lines %s', (_, output) => {
    expect(subresultsOf(parseKtap(output))).toEqual([
      { name: 'callcount increments', status: 'pass' },
      { name: 'taskcount matches', status: 'fail' },
    ]);
  });

  it('turns # SKIP into skip, whatever the verdict, and a failing # TODO into skip', () => {
    expect(
      subresultsOf(parseKtap('ok 3 - efault # SKIP no bad pointer here\nnot ok 4 needs root # skip not root\n')),
    ).toEqual([
      { name: 'efault', status: 'skip' },
      { name: 'needs root', status: 'skip' },
    ]);
    expect(subresultsOf(parseKtap('not ok 1 - wraps # TODO later\nok 2 - fixed # TODO done\n'))).toEqual([
      { name: 'wraps', status: 'skip' },
      { name: 'fixed', status: 'pass' },
    ]);
  });

  it('names a test without a description by its number, and reads "ok"/"not ok" without one', () => {
    expect(subresultsOf(parseKtap('ok 5\nnot ok 6 -\nok 7 # SKIP\nnot ok\n'))).toEqual([
      { name: 'test 5', status: 'pass' },
      { name: 'test 6', status: 'fail' },
      { name: 'test 7', status: 'skip' },
      { name: 'test 4', status: 'fail' },
    ]);
  });

  it('ignores diagnostics, prose and words that only start like a result', () => {
    const document = parseKtap(
      'TAP version 13\n1..3\n# callcount: 3 calls\nokay then\nnothing is ok 1\n# ok 1 - nested\n',
    );
    expect(document).toEqual({ version: 'TAP version 13', plan: { count: 3, skip: null }, results: [], bailOut: null });
  });

  it('counts only top-level results: indented subtests and nested KTAP blocks are not', () => {
    const output = [
      'KTAP version 1',
      '1..1',
      '    KTAP version 1',
      '    # Subtest: inner',
      '    1..5',
      '    not ok 1 - deep failure',
      '        ok 1 - deeper',
      'ok 1 - outer',
    ].join('\n');
    const document = parseKtap(output);
    expect(document.plan).toEqual({ count: 1, skip: null });
    expect(subresultsOf(document)).toEqual([{ name: 'outer', status: 'pass' }]);
  });

  it('reads a "1..0 # SKIP why" plan, and a bail-out', () => {
    expect(parseKtap('1..0 # SKIP no taskcount here\n').plan).toEqual({ count: 0, skip: 'no taskcount here' });
    expect(parseKtap('1..0\n').plan).toEqual({ count: 0, skip: null });
    expect(parseKtap('TAP version 13\nBail out! no fork\n').bailOut).toBe('no fork');
  });

  // A diagnostic after "#" that is not SKIP/TODO must not hide the failure.
  it('keeps a failing line whose "#" comment is not a directive', () => {
    expect(subresultsOf(parseKtap('not ok 2 - callcount # expected 3, got 2\n'))).toEqual([
      { name: 'callcount', status: 'fail' },
    ]);
  });

  it('is TAP with a version line or a plan, not with result lines alone', () => {
    expect(isTap(parseKtap('KTAP version 1\n'))).toBe(true);
    expect(isTap(parseKtap('1..2\nok 1\nok 2\n'))).toBe(true);
    expect(isTap(parseKtap('ok 1\nok 2\n'))).toBe(false);
    expect(isTap(parseKtap('callcount has been called 7 times.\n'))).toBe(false);
  });
});

describe('judgeProgram', () => {
  const judge = (output: string, exit: number | null): ReturnType<typeof judgeProgram> =>
    judgeProgram(parseKtap(output), exit);

  it('without TAP: exit 0 passes, anything else fails (4 too), and so does a stray "not ok"', () => {
    expect(judge('hello\n', 0)).toEqual({ status: 'pass', actual: 'exit 0' });
    expect(judge('hello\n', 1)).toEqual({ status: 'fail', actual: 'exit 1' });
    expect(judge('', 4)).toEqual({ status: 'fail', actual: 'exit 4' });
    expect(judge('', null)).toEqual({ status: 'fail', actual: 'exit killed' });
    expect(judge('ok 1 a\nnot ok 2 b\n', 0)).toEqual({ status: 'fail', actual: 'exit 0, 1/2 subtests ok' });
  });

  it('with TAP: a "not ok" fails whatever the exit code', () => {
    expect(judge('TAP version 13\n1..2\nok 1 a\nnot ok 2 b\n', 0)).toMatchObject({ status: 'fail' });
    expect(judge('TAP version 13\n1..2\nok 1 a\nnot ok 2 b\n', 4)).toMatchObject({ status: 'fail' });
  });

  it('with TAP: fewer (or more) results than planned fail', () => {
    expect(judge('KTAP version 1\n1..3\nok 1 a\nok 2 b\n', 0)).toEqual({
      status: 'fail',
      actual: 'exit 0; 2 results, 3 planned',
    });
    expect(judge('1..1\nok 1 a\nok 2 b\n', 0)).toEqual({ status: 'fail', actual: 'exit 0; 2 results, 1 planned' });
  });

  it('with TAP: a non-zero exit other than 4 fails even when every result is ok', () => {
    expect(judge('TAP version 13\n1..1\nok 1 a\n', 1)).toEqual({ status: 'fail', actual: 'exit 1, 1/1 ok' });
    expect(judge('TAP version 13\n1..1\nok 1 a\n', null)).toMatchObject({ status: 'fail' });
  });

  it('with TAP: exit 4 (KSFT_SKIP), "1..0 # SKIP why" and nothing but skips are a skip, with the reason', () => {
    expect(judge('TAP version 13\n1..0 # SKIP not root\n', 4)).toEqual({
      status: 'skip',
      actual: 'skipped: not root; exit 4 (KSFT_SKIP)',
    });
    expect(judge('TAP version 13\n1..0 # SKIP not root\n', 0)).toEqual({ status: 'skip', actual: 'skipped: not root' });
    expect(judge('TAP version 13\n1..1\nok 1 a\n', 4)).toEqual({
      status: 'skip',
      actual: 'skipped: exit 4 (KSFT_SKIP)',
    });
    expect(judge('KTAP version 1\n1..2\nok 1 a # SKIP no pagemap\nok 2 b # SKIP no pagemap\n', 0)).toEqual({
      status: 'skip',
      actual: 'skipped: no pagemap',
    });
  });

  it('with TAP: a skip among passes is a pass', () => {
    expect(judge('KTAP version 1\n1..2\nok 1 a\nok 2 b # SKIP no pagemap\n', 0)).toEqual({
      status: 'pass',
      actual: 'exit 0, 1/2 ok, 1 skipped',
    });
  });

  it('with TAP: a bail-out fails', () => {
    expect(judge('TAP version 13\n1..2\nok 1 a\nBail out! no memory\n', 0)).toMatchObject({ status: 'fail' });
  });
});
