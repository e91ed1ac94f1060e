import { describe, expect, it } from 'vitest';
import {
  byNumber,
  judgeSamples,
  linesBySample,
  readSample,
  sampleProblem,
  samples,
  samplesNeeded,
  type Sample,
} from '../../src/checks/sampling.ts';

const s = (n: number, syscall: number | null, reference: number | null, more: Partial<Sample> = {}): Sample => ({
  n,
  syscall: syscall === null ? null : BigInt(syscall),
  reference: reference === null ? null : BigInt(reference),
  ret: 0,
  probeExit: 0,
  guard: 'ok',
  ...more,
});

const five = (pairs: [number | null, number | null][]): Sample[] => pairs.map(([a, b], i) => s(i + 1, a, b));

describe('judgeSamples', () => {
  it('takes 5 samples and needs 3 equal', () => {
    expect(samples).toBe(5);
    expect(samplesNeeded).toBe(3);
  });

  it('passes with 3 of 5 equal, and with 5 of 5', () => {
    expect(
      judgeSamples(
        five([
          [31, 31],
          [32, 31],
          [31, 31],
          [30, 31],
          [31, 31],
        ]),
      ),
    ).toMatchObject({ pass: true, equal: 3 });
    expect(
      judgeSamples(
        five([
          [7, 7],
          [8, 8],
          [9, 9],
          [10, 10],
          [11, 11],
        ]),
      ),
    ).toMatchObject({ pass: true, equal: 5 });
  });

  it('fails with 2 of 5 equal', () => {
    expect(
      judgeSamples(
        five([
          [31, 31],
          [32, 31],
          [31, 31],
          [30, 31],
          [33, 31],
        ]),
      ),
    ).toMatchObject({
      pass: false,
      equal: 2,
    });
  });

  it('never counts a sample whose syscall returned a negative value, whose probe failed or whose guard broke', () => {
    const taken = [
      s(1, 31, 31, { ret: -14 }),
      s(2, 31, 31, { probeExit: 1 }),
      s(3, 31, 31, { probeExit: null }),
      s(4, 31, 31, { guard: 'clobbered' }),
      s(5, 31, 31),
    ];
    expect(judgeSamples(taken)).toMatchObject({ pass: false, equal: 1 });
    expect(taken.map(sampleProblem)).toEqual([
      'syscall returned -14',
      'probe exited 1',
      'no probe exit status',
      'guard clobbered',
      null,
    ]);
  });

  it('counts any non-negative return value as success', () => {
    const taken = [s(1, 1, 1), s(2, 1, 1, { ret: 3 }), s(3, 1, 1, { ret: 451 }), s(4, 1, 2), s(5, 1, 2)];
    expect(judgeSamples(taken)).toMatchObject({ pass: true, equal: 3 });
  });

  it('matches samples by number, not by position', () => {
    const shuffled = [s(5, 31, 31), s(3, 31, 31), s(1, 31, 31), s(4, 30, 31), s(2, 30, 31)];
    const verdict = judgeSamples(shuffled);
    expect(verdict).toMatchObject({ pass: true, equal: 3 });
    expect(verdict.table.split('\n').map((line) => line.slice(0, 8))).toEqual([
      'sample 1',
      'sample 2',
      'sample 3',
      'sample 4',
      'sample 5',
    ]);
  });

  it('counts a missing number, or one answered twice, as unequal', () => {
    const taken = [s(1, 31, 31), s(1, 31, 31), s(2, 31, 31), s(3, 31, 31), s(7, 31, 31), s(8, 31, 31)];
    const numbered = byNumber(taken);
    expect(numbered.map(sampleProblem)).toEqual([
      '2 answers for one sample',
      null,
      null,
      'no probe answer',
      'no probe answer',
    ]);
    expect(judgeSamples(taken)).toMatchObject({ pass: false, equal: 2 });
  });

  it('never counts a sample missing either half', () => {
    expect(
      judgeSamples(
        five([
          [31, null],
          [null, 31],
          [null, null],
          [31, 31],
          [31, 31],
        ]),
      ).equal,
    ).toBe(2);
  });

  it('compares exactly beyond 2^53 (a value still holding the fill pattern)', () => {
    const pattern = 0xa5a5a5a5a5a5a5a5n;
    const taken = [1, 2, 3, 4, 5].map((n) => ({ ...s(n, 0, 0), syscall: pattern, reference: pattern + 1n }));
    expect(judgeSamples(taken).equal).toBe(0);
  });

  it('tabulates every sample with both counts and marks why one does not count', () => {
    const { table } = judgeSamples([s(1, 31, 31), s(2, 32, 31), s(3, null, 31, { ret: null })], {
      syscall: 'taskcount',
      reference: 'top',
    });
    expect(table.split('\n')).toEqual([
      'sample 1: taskcount 31, top 31 (ret 0, probe exit 0, guard ok)',
      'sample 2: taskcount 32, top 31 (ret 0, probe exit 0, guard ok)  <- differs',
      'sample 3: taskcount none, top 31 (ret none, probe exit 0, guard ok)  <- no probe answer',
      'sample 4: taskcount none, top none (ret none, probe exit none, guard none)  <- no probe answer',
      'sample 5: taskcount none, top none (ret none, probe exit none, guard none)  <- no probe answer',
    ]);
  });
});

describe('linesBySample and readSample', () => {
  const recorded = [
    'helper_pid=2516',
    'ready pid=2516 threads=4',
    'sample=1 call=0 ret=0 errno=0 value=99 guard=ok',
    'sample=1 probe_exit=0',
    'sample=1 Tasks:  99 total,   3 running,  96 sleeping,   0 stopped,   0 zombie',
    'sample=2 Tasks: 100 total,   3 running,  97 sleeping,   0 stopped,   0 zombie',
    'sample=2 probe_exit=139',
    'sample=3 call=0 ret=0 errno=0 value=98 guard=ok',
    'sample=3 call=0 ret=0 errno=0 value=98 guard=ok',
    'sample=3 probe_exit=0',
  ].join('\n');
  const tasks = (lines: { other: string[] }): bigint | null =>
    lines.other.length === 1 ? BigInt(/(\d+) total/.exec(lines.other[0]!)?.[1] ?? -1) : null;

  it('groups the lines of each sample number: probe answers, exit statuses, other lines', () => {
    const grouped = linesBySample(recorded);
    expect([...grouped.keys()]).toEqual([1, 2, 3]);
    expect(grouped.get(1)).toEqual({
      probe: [{ call: '0', ret: '0', errno: '0', value: '99', guard: 'ok' }],
      exits: [{ probe_exit: '0' }],
      other: ['Tasks:  99 total,   3 running,  96 sleeping,   0 stopped,   0 zombie'],
    });
  });

  it('reads a sample, a sample whose probe died before answering, and an ambiguous one', () => {
    const grouped = linesBySample(recorded);
    expect(readSample(1, grouped.get(1), tasks)).toEqual({
      n: 1,
      syscall: 99n,
      reference: 99n,
      ret: 0,
      probeExit: 0,
      guard: 'ok',
    });
    expect(sampleProblem(readSample(2, grouped.get(2), tasks))).toBe('no probe answer');
    expect(readSample(2, grouped.get(2), tasks).probeExit).toBe(139);
    expect(sampleProblem(readSample(3, grouped.get(3), tasks))).toBe('2 probe lines for one sample');
    expect(sampleProblem(readSample(4, grouped.get(4), tasks))).toBe('no probe answer');
  });
});
