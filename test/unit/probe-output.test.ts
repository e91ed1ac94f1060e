import { describe, expect, it } from 'vitest';
import { bigIntOf, intOf, parseProbeLines } from '../../src/checks/check.ts';
import { tasksTotal } from '../../src/checks/taskcount-matches-top.ts';

describe('parseProbeLines', () => {
  it('turns key=value lines into records and skips everything else', () => {
    const stdout = [
      'probe: calling 451 3 times',
      'syscall=451 ret=0 value=1 errno=0',
      '',
      'syscall=451 ret=0 value=2 errno=0',
      'garbage',
      '=x',
    ].join('\n');
    expect(parseProbeLines(stdout)).toEqual([
      { syscall: '451', ret: '0', value: '1', errno: '0' },
      { syscall: '451', ret: '0', value: '2', errno: '0' },
    ]);
  });

  it('keeps negative values and trailing whitespace out of the values', () => {
    expect(parseProbeLines('ret=-1 errno=14   \r\n')).toEqual([{ ret: '-1', errno: '14' }]);
  });

  it('returns nothing for empty output', () => {
    expect(parseProbeLines('')).toEqual([]);
  });
});

describe('bigIntOf and intOf', () => {
  it('read the fill patterns exactly, beyond 2^53', () => {
    expect(bigIntOf('11936128518282651045')).toBe(0xa5a5a5a5a5a5a5a5n);
    expect(bigIntOf('6510615555426900570')).toBe(0x5a5a5a5a5a5a5a5an);
    expect(Number('11936128518282651045') === Number('11936128518282651046')).toBe(true);
    expect(bigIntOf('11936128518282651045') === bigIntOf('11936128518282651046')).toBe(false);
  });

  it('are null for a missing or malformed field', () => {
    expect(bigIntOf(undefined)).toBeNull();
    expect(bigIntOf('12abc')).toBeNull();
    expect(intOf('-1')).toBe(-1);
    expect(intOf('')).toBeNull();
    expect(intOf('0x10')).toBeNull();
  });
});

describe('tasksTotal', () => {
  it("reads top's Tasks total", () => {
    expect(tasksTotal('Tasks:  31 total,   1 running,  30 sleeping,   0 stopped,   0 zombie')).toBe(31);
    expect(tasksTotal('Tasks: 1234 total,   2 running, 1232 sleeping,   0 stopped,   0 zombie')).toBe(1234);
  });

  it('finds the line inside full `top -bn1` output', () => {
    const top = [
      'top - 10:00:01 up 0 min,  0 users,  load average: 0.00, 0.00, 0.00',
      'Tasks:  58 total,   1 running,  57 sleeping,   0 stopped,   0 zombie',
      '%Cpu(s):  0.0 us,  0.0 sy,  0.0 ni,100.0 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st',
      '  PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND',
      '    1 root      20   0    2320   1280   1152 S   0.0   0.1   0:00.01 init',
    ].join('\n');
    expect(tasksTotal(top)).toBe(58);
  });

  it('is null when the line is missing or malformed', () => {
    expect(tasksTotal('')).toBeNull();
    expect(tasksTotal('Tasks: missing')).toBeNull();
    expect(tasksTotal('Threads: 31 total')).toBeNull();
    expect(tasksTotal('  PID USER\n    31 total')).toBeNull();
  });
});
