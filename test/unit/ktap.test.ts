import { describe, expect, it } from 'vitest';
import { parseKtap } from '../../src/checks/userland.ts';

describe('parseKtap', () => {
  it.each([
    ['with "- " before the name', 'KTAP version 1\n1..2\nok 1 - callcount increments\nnot ok 2 - taskcount matches\n'],
    ['without "- "', 'ok 1 callcount increments\nnot ok 2 taskcount matches\n'],
  ])('reads ok / not ok lines %s', (_, output) => {
    expect(parseKtap(output)).toEqual([
      { name: 'callcount increments', status: 'pass' },
      { name: 'taskcount matches', status: 'fail' },
    ]);
  });

  it('turns # SKIP into skip, whatever the verdict', () => {
    expect(parseKtap('ok 3 - efault # SKIP no bad pointer here\nnot ok 4 needs root # skip not root\n')).toEqual([
      { name: 'efault', status: 'skip' },
      { name: 'needs root', status: 'skip' },
    ]);
  });

  it('names a test without a description by its number', () => {
    expect(parseKtap('ok 5\nnot ok 6 -\nok 7 # SKIP\n')).toEqual([
      { name: 'test 5', status: 'pass' },
      { name: 'test 6', status: 'fail' },
      { name: 'test 7', status: 'skip' },
    ]);
  });

  it('ignores plans, diagnostics, version lines and prose', () => {
    expect(parseKtap('TAP version 13\n1..3\n# callcount: 3 calls\nokay then\nnothing is ok 1\nok\n')).toEqual([]);
  });

  it('accepts indented (nested KTAP) result lines', () => {
    expect(parseKtap('    ok 1 - inner\n')).toEqual([{ name: 'inner', status: 'pass' }]);
  });

  // A diagnostic after "#" that is not SKIP/TODO must not hide the failure.
  it('keeps a failing line whose "#" comment is not a directive', () => {
    expect(parseKtap('not ok 2 - callcount # expected 3, got 2\n')).toEqual([{ name: 'callcount', status: 'fail' }]);
  });
});
