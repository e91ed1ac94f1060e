import { describe, expect, it } from 'vitest';
import { toJson } from '../../src/report/json.ts';
import { toJunit } from '../../src/report/junit.ts';
import type { CheckResult, RunReport } from '../../src/report/model.ts';
import { run61 } from './support/sample-runs.ts';

const STARTED = '2025-03-01T10:20:30.456Z';

const timed: CheckResult = {
  name: 'callcount-increments',
  status: 'pass',
  expected: '1, 2, 3',
  actual: '1, 2, 3',
  details: '',
  started: STARTED,
  seconds: 12.34,
};
const untimed: CheckResult = {
  name: 'enosys-control',
  status: 'pass',
  expected: 'ENOSYS',
  actual: 'ENOSYS',
  details: '',
};
const userlandCheck: CheckResult = {
  name: 'userland:ktap.c',
  status: 'fail',
  expected: 'compiles and exits 0',
  actual: 'exit 1',
  details: 'not ok 2 - second',
  subresults: [
    { name: 'first', status: 'pass' },
    { name: 'second', status: 'fail' },
  ],
  started: '2025-03-01T10:21:00.000Z',
  seconds: 3.5,
};

function report(checks: CheckResult[]): RunReport[] {
  return [run61({ phases: [{ name: 'checks-patched', seconds: 20, cached: false }], checks })];
}

function jsonChecks(checks: CheckResult[]): Record<string, unknown>[] {
  const parsed = JSON.parse(toJson(report(checks))) as { runs: { checks: Record<string, unknown>[] }[] };
  return parsed.runs[0]!.checks;
}

/** name -> time attribute of every <testcase>. */
function testcaseTimes(xml: string): Record<string, string> {
  const times: Record<string, string> = {};
  for (const match of xml.matchAll(/<testcase classname="[^"]*" name="([^"]*)" time="([^"]*)"/g)) {
    times[match[1]!] = match[2]!;
  }
  return times;
}

describe('toJson timing', () => {
  it("keeps a check's started and seconds, after the other keys", () => {
    const [check] = jsonChecks([timed]);
    expect(check).toEqual({ ...timed });
    expect(Object.keys(check!)).toEqual(['name', 'status', 'expected', 'actual', 'details', 'started', 'seconds']);
    expect(check!.started).toBe(STARTED);
    expect(check!.seconds).toBe(12.34);
  });

  it('puts them after the sub-results', () => {
    const [check] = jsonChecks([userlandCheck]);
    expect(Object.keys(check!)).toEqual([
      'name',
      'status',
      'expected',
      'actual',
      'details',
      'subresults',
      'started',
      'seconds',
    ]);
    expect(check!.seconds).toBe(3.5);
  });

  it('omits them when unset', () => {
    const [check] = jsonChecks([untimed]);
    expect(Object.keys(check!)).toEqual(['name', 'status', 'expected', 'actual', 'details']);
    expect(check).not.toHaveProperty('started');
    expect(check).not.toHaveProperty('seconds');
  });

  it('keeps a duration of zero (set, not missing)', () => {
    const [check] = jsonChecks([{ ...timed, seconds: 0 }]);
    expect(check!.seconds).toBe(0);
  });

  it('drops unknown extra properties of a check but not the timing', () => {
    const extra = { ...timed, internal: 'do not export' } as CheckResult;
    const [check] = jsonChecks([extra]);
    expect(check).not.toHaveProperty('internal');
    expect(check).toMatchObject({ started: STARTED, seconds: 12.34 });
  });
});

describe('toJunit timing', () => {
  it("gives a check's testcase its seconds with 3 decimals", () => {
    const times = testcaseTimes(toJunit(report([timed, { ...timed, name: 'whole', seconds: 7 }])));
    expect(times['callcount-increments']).toBe('12.340');
    expect(times.whole).toBe('7.000');
  });

  it('rounds to milliseconds', () => {
    const times = testcaseTimes(
      toJunit(
        report([
          { ...timed, seconds: 0.0004 },
          { ...timed, name: 'b', seconds: 1.2346 },
        ]),
      ),
    );
    expect(times['callcount-increments']).toBe('0.000');
    expect(times.b).toBe('1.235');
  });

  it('gives 0.000 when unset or not a finite number', () => {
    const checks: CheckResult[] = [
      untimed,
      { ...timed, name: 'nan', seconds: Number.NaN },
      { ...timed, name: 'infinite', seconds: Number.POSITIVE_INFINITY },
      { ...timed, name: 'negative', seconds: -1 },
    ];
    expect(testcaseTimes(toJunit(report(checks)))).toEqual({
      'enosys-control': '0.000',
      nan: '0.000',
      infinite: '0.000',
      negative: '0.000',
    });
  });

  it('gives KTAP sub-result testcases 0.000, their check its own time', () => {
    const times = testcaseTimes(toJunit(report([userlandCheck])));
    expect(times).toEqual({
      'userland:ktap.c': '3.500',
      'userland:ktap.c/first': '0.000',
      'userland:ktap.c/second': '0.000',
    });
  });

  it('keeps the suite time as the sum of the phases, not of the checks', () => {
    const xml = toJunit(report([timed, userlandCheck]));
    expect(xml).toMatch(/<testsuite name="[^"]*" tests="4" failures="2" errors="0" skipped="0" time="20\.000">/);
  });
});
