import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RequirementStatus } from '../../src/doctor.ts';
import { formatDoctor } from '../../src/doctor.ts';
import type { LabEvent } from '../../src/events.ts';
import type { CheckResult } from '../../src/report/model.ts';
import { formatSummary } from '../../src/report/summary.ts';
import { createRenderer, formatDuration, type RenderOptions, type Renderer } from '../../src/render.ts';
import { run61 } from './support/sample-runs.ts';

/** A stream that keeps every write, in order. */
class FakeStream {
  readonly writes: string[] = [];
  write(text: string): boolean {
    this.writes.push(text);
    return true;
  }
  get text(): string {
    return this.writes.join('');
  }
}

const CLEAR = '\r\x1b[K';
const START = 1_700_000_000_000;

let clock = START;
let stdout: FakeStream;
let stderr: FakeStream;
let renderers: Renderer[] = [];

/** Moves the injected clock and the fake timers together, a second at a time (each tick sees its own time). */
function advance(ms: number): void {
  for (let left = ms; left > 0; left -= 1000) {
    const step = Math.min(1000, left);
    clock += step;
    vi.advanceTimersByTime(step);
  }
}

function renderer(options: Partial<RenderOptions> = {}): Renderer {
  const created = createRenderer({
    stdout,
    stderr,
    tty: false,
    quiet: false,
    color: false,
    now: () => clock,
    ...options,
  });
  renderers.push(created);
  return created;
}

const passed: CheckResult = {
  name: 'enosys-control',
  status: 'pass',
  expected: '451: -1/ENOSYS',
  actual: '451: -1/ENOSYS',
  details: '',
};
const failed: CheckResult = { ...passed, name: 'callcount-increments', status: 'fail', actual: '1, 1, 1' };
const skippedCheck: CheckResult = { ...passed, name: 'bad-pointer-efault', status: 'skip', actual: '-' };

beforeEach(() => {
  vi.useFakeTimers();
  clock = START;
  stdout = new FakeStream();
  stderr = new FakeStream();
  renderers = [];
});

afterEach(() => {
  for (const r of renderers) r.close();
  vi.useRealTimers();
});

describe('info, notice and warning lines', () => {
  it('prefixes a scope in brackets, and the tool name without one', () => {
    const r = renderer();
    r.emit({ type: 'info', scope: '6.1', text: 'booting 6.1.192-stock (tcg)' });
    r.emit({ type: 'info', text: 'no KVM: using TCG' });
    expect(stderr.writes).toEqual(['[6.1] booting 6.1.192-stock (tcg)\n', 'syscall-lab: no KVM: using TCG\n']);
    expect(stdout.writes).toEqual([]);
  });

  it('says notice: and warning:, after the scope or the tool name', () => {
    const r = renderer();
    r.emit({ type: 'notice', scope: '6.1 stock', text: 'ccache is not installed' });
    r.emit({ type: 'notice', text: 'timeouts x4' });
    r.emit({ type: 'warning', scope: '6.1', text: 'the VM could not be destroyed' });
    r.emit({ type: 'warning', text: 'lock went stale' });
    expect(stderr.text).toBe(
      [
        '[6.1 stock] notice: ccache is not installed',
        'syscall-lab: notice: timeouts x4',
        '[6.1] warning: the VM could not be destroyed',
        'syscall-lab: warning: lock went stale',
        '',
      ].join('\n'),
    );
    expect(stdout.writes).toEqual([]);
  });
});

describe('check lines', () => {
  const emitAll = (r: Renderer): void => {
    r.emit({ type: 'check', scope: '6.1', result: passed });
    r.emit({ type: 'check', scope: '6.1', result: failed });
    r.emit({ type: 'check', scope: '6.1', result: skippedCheck });
  };
  const plain = [
    '[6.1] PASS enosys-control: 451: -1/ENOSYS\n',
    '[6.1] FAIL callcount-increments: 1, 1, 1\n',
    '[6.1] SKIP bad-pointer-efault: -\n',
  ];

  it('are plain when stderr is not a terminal, even with colour asked for', () => {
    emitAll(renderer({ tty: false, color: true }));
    expect(stderr.writes).toEqual(plain);
    expect(stderr.text).not.toContain('\x1b');
  });

  it('are plain on a terminal when colour is off (NO_COLOR)', () => {
    emitAll(renderer({ tty: true, color: false }));
    expect(stderr.writes).toEqual(plain);
  });

  it('colour PASS green, FAIL red and SKIP yellow on a terminal', () => {
    emitAll(renderer({ tty: true, color: true }));
    expect(stderr.writes).toEqual([
      '[6.1] \x1b[32mPASS\x1b[0m enosys-control: 451: -1/ENOSYS\n',
      '[6.1] \x1b[31mFAIL\x1b[0m callcount-increments: 1, 1, 1\n',
      '[6.1] \x1b[33mSKIP\x1b[0m bad-pointer-efault: -\n',
    ]);
  });

  it('say "(not judged)" after the name of a check --check did not name, as the summary does', () => {
    const notJudged: CheckResult = { ...failed, judged: false };
    renderer().emit({ type: 'check', scope: '6.1', result: notJudged });
    expect(stderr.writes).toEqual(['[6.1] FAIL callcount-increments (not judged): 1, 1, 1\n']);
    expect(formatSummary([run61({ phases: [], checks: [notJudged] })])).toContain('callcount-increments (not judged)');
  });
});

describe('results on stdout', () => {
  it('writes the summary to stdout and nothing to stderr', () => {
    const reports = [run61({ phases: [{ name: 'boot', seconds: 1.5, cached: false }], checks: [passed, failed] })];
    renderer().emit({ type: 'summary', reports });
    expect(stdout.text).toBe(formatSummary(reports));
    expect(stdout.text).toContain('1 passed, 1 failed, 0 skipped');
    expect(stderr.writes).toEqual([]);
  });

  it('writes built, box and doctor results to stdout', () => {
    const r = renderer();
    r.emit({ type: 'built', release: '6.1.192-stock', dir: '/cache/builds/abc', cached: true });
    r.emit({ type: 'built', release: '6.1.192-patched-1234', dir: '/cache/builds/def', cached: false });
    r.emit({ type: 'box', name: 'syscall-lab-debian', file: '/cache/boxes/debian.box' });
    const statuses: RequirementStatus[] = [
      { what: 'gcc', probe: 'gcc', aptPackage: 'gcc', why: 'builds the kernel', present: true },
      { what: 'bc', probe: 'bc', aptPackage: 'bc', why: 'kernel build', present: false },
    ];
    r.emit({ type: 'doctor', statuses });
    expect(stdout.writes).toEqual([
      '6.1.192-stock: /cache/builds/abc (cached)\n',
      '6.1.192-patched-1234: /cache/builds/def\n',
      'syscall-lab-debian: /cache/boxes/debian.box\n',
      `${formatDoctor(statuses)}\n`,
    ]);
    expect(stdout.text).toContain('MISSING');
    expect(stderr.writes).toEqual([]);
  });
});

describe('the status line on a terminal', () => {
  it('is rewritten in place every second with the time elapsed since `since`', () => {
    const r = renderer({ tty: true });
    r.emit({ type: 'status', scope: '6.1 stock', text: 'build: 12 files compiled', since: clock - 4000 });
    advance(1000);
    expect(stderr.writes).toEqual([`${CLEAR}[6.1 stock] build: 12 files compiled 5s`]);
    advance(1000);
    expect(stderr.writes.at(-1)).toBe(`${CLEAR}[6.1 stock] build: 12 files compiled 6s`);
    advance(69_000);
    expect(stderr.writes.at(-1)).toBe(`${CLEAR}[6.1 stock] build: 12 files compiled 1m15s`);
    expect(stderr.writes).toHaveLength(71);
    expect(stderr.text).not.toContain('\n');
  });

  it('shows a newer status text in place of the old one', () => {
    const r = renderer({ tty: true });
    r.emit({ type: 'status', scope: '6.1', text: 'first', since: clock });
    advance(1000);
    r.emit({ type: 'status', scope: '6.1', text: 'second', since: clock });
    advance(1000);
    expect(stderr.writes).toEqual([`${CLEAR}[6.1] first 1s`, `${CLEAR}[6.1] second 1s`]);
  });

  it('is cleared before the next line, then drawn again on the next tick', () => {
    const r = renderer({ tty: true });
    r.emit({ type: 'status', scope: '6.1', text: 'booting', since: clock });
    advance(1000);
    r.emit({ type: 'info', scope: '6.1', text: 'console: login prompt' });
    expect(stderr.writes).toEqual([`${CLEAR}[6.1] booting 1s`, CLEAR, '[6.1] console: login prompt\n']);
    advance(1000);
    expect(stderr.writes.at(-1)).toBe(`${CLEAR}[6.1] booting 2s`);
  });

  it('does not clear a line that is not shown', () => {
    const r = renderer({ tty: true });
    r.emit({ type: 'info', text: 'one' });
    r.emit({ type: 'status', scope: '6.1', text: 'booting', since: clock });
    r.emit({ type: 'info', text: 'two' });
    expect(stderr.writes).toEqual(['syscall-lab: one\n', 'syscall-lab: two\n']);
  });

  it('shows the phase name on phase-start, and phase-end clears it for good', () => {
    const r = renderer({ tty: true });
    r.emit({ type: 'phase-start', scope: '6.1', name: 'build-stock' });
    advance(3000);
    expect(stderr.writes).toEqual([
      `${CLEAR}[6.1] build-stock 1s`,
      `${CLEAR}[6.1] build-stock 2s`,
      `${CLEAR}[6.1] build-stock 3s`,
    ]);
    r.emit({ type: 'phase-end', scope: '6.1', phase: { name: 'build-stock', seconds: 3, cached: false } });
    expect(stderr.writes.at(-1)).toBe(CLEAR);
    const count = stderr.writes.length;
    advance(10_000);
    expect(stderr.writes).toHaveLength(count);
  });

  it('status-end clears it, and nothing is drawn until the next status', () => {
    const r = renderer({ tty: true });
    r.emit({ type: 'status', scope: '6.1', text: 'check enosys-control', since: clock });
    advance(1000);
    r.emit({ type: 'status-end', scope: '6.1' });
    expect(stderr.writes).toEqual([`${CLEAR}[6.1] check enosys-control 1s`, CLEAR]);
    advance(5000);
    expect(stderr.writes).toHaveLength(2);
    r.emit({ type: 'info', scope: '6.1', text: 'after' });
    expect(stderr.writes.at(-1)).toBe('[6.1] after\n');
    expect(stderr.writes).toHaveLength(3);
  });
});

describe('the status line when stderr is not a terminal', () => {
  it('is printed as a plain line every 30 s by default', () => {
    const r = renderer({ tty: false });
    r.emit({ type: 'status', scope: '6.1 stock', text: 'building', since: clock });
    advance(29_000);
    expect(stderr.writes).toEqual([]);
    advance(1000);
    expect(stderr.writes).toEqual(['[6.1 stock] building 30s\n']);
    advance(29_000);
    expect(stderr.writes).toHaveLength(1);
    advance(1000);
    expect(stderr.writes).toEqual(['[6.1 stock] building 30s\n', '[6.1 stock] building 1m00s\n']);
    expect(stderr.text).not.toContain('\r');
    expect(stderr.text).not.toContain('\x1b');
  });

  it('follows plainStatusEvery, and a refined status does not restart the interval', () => {
    const r = renderer({ tty: false, plainStatusEvery: 5000 });
    r.emit({ type: 'status', scope: '6.1', text: 'first', since: clock });
    advance(3000);
    r.emit({ type: 'status', scope: '6.1', text: 'second', since: clock });
    advance(1000);
    expect(stderr.writes).toEqual([]);
    advance(1000);
    expect(stderr.writes).toEqual(['[6.1] second 2s\n']);
    advance(5000);
    expect(stderr.writes).toEqual(['[6.1] second 2s\n', '[6.1] second 7s\n']);
  });

  it('prints nothing after status-end, and info lines are written without a clear', () => {
    const r = renderer({ tty: false, plainStatusEvery: 2000 });
    r.emit({ type: 'status', scope: '6.1', text: 'booting', since: clock });
    advance(2000);
    r.emit({ type: 'info', scope: '6.1', text: 'booted' });
    r.emit({ type: 'status-end', scope: '6.1' });
    advance(10_000);
    expect(stderr.writes).toEqual(['[6.1] booting 2s\n', '[6.1] booted\n']);
  });
});

describe('quiet', () => {
  const everything: LabEvent[] = [
    { type: 'info', scope: '6.1', text: 'an info line' },
    { type: 'notice', text: 'a notice' },
    { type: 'phase-start', scope: '6.1', name: 'build-stock' },
    { type: 'status', scope: '6.1', text: 'a status', since: START },
    { type: 'check', scope: '6.1', result: failed },
    { type: 'warning', scope: '6.1', text: 'a warning' },
    { type: 'interrupted', signal: 'SIGINT' },
  ];
  const kept = [
    '[6.1] warning: a warning\n',
    '\nsyscall-lab: SIGINT: stopping VMs and builds, removing temporary files\n',
  ];

  for (const tty of [true, false]) {
    it(`keeps only warnings, the interrupted line and the summary (tty: ${tty})`, () => {
      const r = renderer({ tty, quiet: true, plainStatusEvery: 1000 });
      for (const event of everything) r.emit(event);
      advance(60_000);
      const reports = [run61({ phases: [], checks: [passed] })];
      r.emit({ type: 'summary', reports });
      expect(stderr.writes).toEqual(kept);
      expect(stdout.text).toBe(formatSummary(reports));
    });
  }

  it('applies when set on the renderer after it was created', () => {
    const r = renderer({ tty: true, quiet: false });
    expect(r.quiet).toBe(false);
    r.quiet = true;
    for (const event of everything) r.emit(event);
    advance(60_000);
    expect(stderr.writes).toEqual(kept);
  });

  it('prints the dropped kinds when not quiet (the control for the tests above)', () => {
    const r = renderer({ tty: false, quiet: false, plainStatusEvery: 1000 });
    for (const event of everything) r.emit(event);
    expect(stderr.text).toContain('an info line');
    expect(stderr.text).toContain('notice: a notice');
    expect(stderr.text).toContain('FAIL callcount-increments');
  });
});

describe('close', () => {
  it('clears a shown status and stops the timer: nothing is written afterwards', () => {
    const r = renderer({ tty: true });
    r.emit({ type: 'status', scope: '6.1', text: 'booting', since: clock });
    advance(2000);
    expect(vi.getTimerCount()).toBe(1);
    r.close();
    expect(stderr.writes.at(-1)).toBe(CLEAR);
    const count = stderr.writes.length;
    advance(120_000);
    expect(stderr.writes).toHaveLength(count);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops the plain status lines too', () => {
    const r = renderer({ tty: false, plainStatusEvery: 1000 });
    r.emit({ type: 'status', scope: '6.1', text: 'building', since: clock });
    advance(1000);
    expect(stderr.writes).toEqual(['[6.1] building 1s\n']);
    r.close();
    advance(120_000);
    expect(stderr.writes).toEqual(['[6.1] building 1s\n']);
  });

  it('writes nothing when no status was ever shown', () => {
    const r = renderer({ tty: true });
    r.close();
    expect(stderr.writes).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [9, '9s'],
    [60, '1m00s'],
    [75, '1m15s'],
    [3599, '59m59s'],
  ])('%d s is %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('rounds to whole seconds and never goes negative', () => {
    expect(formatDuration(9.6)).toBe('10s');
    expect(formatDuration(59.6)).toBe('1m00s');
    expect(formatDuration(-3)).toBe('0s');
  });
});
