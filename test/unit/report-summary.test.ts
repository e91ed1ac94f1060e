import { describe, it, expect } from 'vitest';
import type { RunReport } from '../../src/report/model.ts';
import { countStatuses, formatSummary } from '../../src/report/summary.ts';
import { run396, run61 } from './support/sample-runs.ts';

function runs(): RunReport[] {
  const modern = run61({
    phases: [
      { name: 'build-stock', seconds: 812.34, cached: true },
      { name: 'boot', seconds: 12, cached: false },
    ],
    checks: [
      { name: 'hello-returns-zero', status: 'pass', expected: '0', actual: '0', details: '' },
      {
        name: 'ktap-suite',
        status: 'fail',
        expected: 'all ok',
        actual: '1 not ok',
        details: Array.from({ length: 40 }, (_, i) => `oops line ${i + 1}`).join('\n'),
        subresults: [
          { name: 'sub-a', status: 'pass' },
          { name: 'sub-b', status: 'fail' },
        ],
      },
      { name: 'needs-kvm', status: 'skip', expected: 'kvm', actual: 'tcg', details: 'no /dev/kvm on this host' },
    ],
  });
  const old = run396({
    phases: [{ name: 'build-patched', seconds: 300.06, cached: false }],
    checks: [
      {
        name: 'hello-returns-zero',
        status: 'fail',
        expected: '0',
        actual: '-38 (ENOSYS)',
        details: 'syscall 451 not wired',
      },
    ],
    logs: { console: ['/logs/3.9.6/console.log'], build: [] },
    error: 'boot panic: VFS unable to mount root fs\nsecond line',
  });
  return [modern, old];
}

function lines(text: string): string[] {
  return text.split('\n');
}

describe('countStatuses', () => {
  it('counts top-level checks over all runs, and a run that stopped early as one failure', () => {
    expect(countStatuses(runs())).toEqual({ passed: 1, failed: 3, skipped: 1 });
    expect(countStatuses([])).toEqual({ passed: 0, failed: 0, skipped: 0 });
  });
});

describe('formatSummary', () => {
  const text = formatSummary(runs());
  const all = lines(text);

  it('puts the headers with kernel, releases, backend and accel', () => {
    const header = all.find((l) => l.includes('kernel 6.1 '));
    expect(header).toBeDefined();
    expect(header).toContain('6.1.0');
    expect(header).toContain('stock 6.1.0');
    expect(header).toContain('patched 6.1.0-lab');
    expect(header).toContain('qemu');
    expect(header).toContain('kvm');
    expect(all.some((l) => l.includes('kernel 3.9.6') && l.includes('tcg'))).toBe(true);
  });

  it('lists every check with its status, expected and actual in aligned columns', () => {
    const row = (status: string, name: string): string | undefined =>
      all.find((l) => new RegExp(`^\\s+${status}\\s+${name}\\s`).test(l));
    const pass = row('PASS', 'hello-returns-zero');
    const fail = row('FAIL', 'ktap-suite');
    const skip = row('SKIP', 'needs-kvm');
    expect(pass).toBeDefined();
    expect(fail).toContain('all ok');
    expect(fail).toContain('1 not ok');
    expect(skip).toContain('tcg');

    expect(row('FAIL', 'hello-returns-zero')).toContain('-38 (ENOSYS)');
    // Same column start for the "expected" values in one run's table.
    expect(pass!.indexOf(' 0 ')).toBe(fail!.indexOf('all ok') - 1);
  });

  it('marks a remembered result next to its name, whatever the width of ACTUAL', () => {
    const cached = formatSummary([
      run61({
        phases: [],
        checks: [
          {
            name: 'enosys-control',
            status: 'pass',
            expected: '451: -1/ENOSYS',
            actual: `451: -1/ENOSYS${' padding'.repeat(10)} (cached from 2026-12-01T10:00:00.000Z)`,
            details: '',
            cachedFrom: { run: '/cache/runs/earlier', date: '2026-12-01T10:00:00.000Z' },
          },
          { name: 'patched-kernel-running', status: 'pass', expected: 'x', actual: 'x', details: '' },
        ],
      }),
    ]);
    expect(cached).toMatch(/^\s+PASS\s+enosys-control \(cached\)\s+451: -1\/ENOSYS/m);
    expect(cached).toMatch(/^\s+PASS\s+patched-kernel-running\s+x/m);
  });

  it('indents details under failing and skipped checks, truncated, and not under passing ones', () => {
    const failIdx = all.findIndex((l) => /^\s+FAIL\s+ktap-suite/.test(l));
    expect(all[failIdx + 1]).toMatch(/^\s{4,}FAIL sub-b$/);
    expect(all[failIdx + 2]).toMatch(/^\s{4,}oops line 1$/);
    expect(text).toContain('oops line 15');
    expect(text).not.toContain('oops line 16');
    expect(text).toContain('25 more lines');
    expect(text).toMatch(/^\s{4,}no \/dev\/kvm on this host$/m);
    expect(text).toMatch(/^\s{4,}syscall 451 not wired$/m);
    const passIdx = all.findIndex((l) => /^\s+PASS\s+hello-returns-zero/.test(l));
    expect(all[passIdx + 1]).toMatch(/^\s+FAIL\s+ktap-suite/);
  });

  it('shows phases, logs, reproduce and the error', () => {
    expect(text).toContain('phases: build-stock 812.3s (cached), boot 12.0s');
    expect(text).toContain('phases: build-patched 300.1s');
    expect(text).toContain('/logs/6.1/console.log');
    expect(text).toContain('/logs/6.1/build.log');
    expect(text).toContain('reproduce: syscall-lab run --kernel 3.9.6');
    expect(text).toContain('error: boot panic: VFS unable to mount root fs');
    expect(text).toContain('second line');
  });

  it('ends with a side-by-side matrix and the totals line', () => {
    const m = all.findIndex((l) => l.includes('matrix'));
    expect(m).toBeGreaterThan(0);
    const matrix = all.slice(m + 1);
    expect(matrix[0]).toMatch(/^\s*CHECK\s+6\.1\s+3\.9\.6$/);
    expect(matrix.find((l) => l.includes('hello-returns-zero'))).toMatch(/PASS\s+FAIL$/);
    expect(matrix.find((l) => l.includes('ktap-suite'))).toMatch(/FAIL\s+-$/);
    expect(matrix.find((l) => l.includes('needs-kvm'))).toMatch(/SKIP\s+-$/);
    const nonEmpty = all.filter((l) => l !== '');
    expect(nonEmpty[nonEmpty.length - 1]).toBe('1 passed, 3 failed, 1 skipped');
  });

  it('has no matrix for a single run', () => {
    const one = formatSummary(runs().slice(0, 1));
    expect(one).not.toContain('matrix');
    expect(one.trimEnd().split('\n').pop()).toBe('1 passed, 1 failed, 1 skipped');
  });

  it('keeps terminal control bytes out of the output', () => {
    const [r] = runs();
    r!.checks[1]!.details = 'red \x1b[31mERR\x1b[0m\r\nbell\x07';
    const out = formatSummary([r!]);
    expect(out).toContain('red ERR');
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f]/);
  });
});
