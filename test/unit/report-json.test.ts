import { describe, it, expect } from 'vitest';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunReport } from '../../src/report/model.ts';
import { toJson, writeJsonReport } from '../../src/report/json.ts';
import { run396, run61 } from './support/sample-runs.ts';

function runs(): RunReport[] {
  return [
    run61({
      phases: [{ name: 'build-stock', seconds: 812.3, cached: true }],
      checks: [
        { name: 'hello', status: 'pass', expected: '0', actual: '0', details: '' },
        {
          name: 'ktap-suite',
          status: 'fail',
          expected: 'all ok',
          actual: '1 not ok',
          details: 'not ok 2 sub-b',
          subresults: [
            { name: 'sub-a', status: 'pass' },
            { name: 'sub-b', status: 'fail' },
          ],
        },
        { name: 'needs-kvm', status: 'skip', expected: 'kvm', actual: 'tcg', details: 'no /dev/kvm' },
      ],
    }),
    run396({
      phases: [],
      checks: [{ name: 'hello', status: 'fail', expected: '0', actual: '-38', details: 'ENOSYS' }],
      logs: { console: [], build: [] },
      error: 'boot panic',
    }),
  ];
}

interface Parsed {
  runs: Array<Record<string, unknown> & { checks: Array<Record<string, unknown>> }>;
}

describe('toJson', () => {
  const text = toJson(runs());
  const parsed = JSON.parse(text) as Parsed;

  it('is 2-space pretty-printed with a trailing newline', () => {
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.startsWith('{\n  "runs": [\n    {\n')).toBe(true);
  });

  it('has exactly the documented keys per run', () => {
    expect(Object.keys(parsed)).toEqual(['runs']);
    expect(parsed.runs).toHaveLength(2);
    const base = ['kernel', 'backend', 'accel', 'phases', 'checks', 'logs', 'reproduce'];
    expect(Object.keys(parsed.runs[0]!)).toEqual(base);
    expect(Object.keys(parsed.runs[1]!)).toEqual([...base, 'error']);
    expect(parsed.runs[1]!.error).toBe('boot panic');
  });

  it('keeps the kernel, phases and logs', () => {
    const [a, b] = parsed.runs;
    expect(a!.kernel).toEqual(runs()[0]!.kernel);
    expect(b!.kernel).toEqual({ requested: '3.9.6', version: '3.9.6', source: '/cache/linux-3.9.6', patches: [] });
    expect(a!.phases).toEqual([{ name: 'build-stock', seconds: 812.3, cached: true }]);
    expect(a!.logs).toEqual({ console: ['/logs/6.1/console.log'], build: ['/logs/6.1/build.log'] });
    expect(a!.backend).toBe('qemu');
    expect(b!.accel).toBe('tcg');
  });

  it('keeps the checks, their statuses and subresults only where present', () => {
    const checks = parsed.runs[0]!.checks;
    expect(checks.map((c) => [c.name, c.status])).toEqual([
      ['hello', 'pass'],
      ['ktap-suite', 'fail'],
      ['needs-kvm', 'skip'],
    ]);
    expect(Object.keys(checks[0]!)).toEqual(['name', 'status', 'expected', 'actual', 'details']);
    expect(checks[1]!.subresults).toEqual([
      { name: 'sub-a', status: 'pass' },
      { name: 'sub-b', status: 'fail' },
    ]);
    expect(checks[2]!.details).toBe('no /dev/kvm');
    expect(parsed.runs[1]!.checks[0]).toEqual({
      name: 'hello',
      status: 'fail',
      expected: '0',
      actual: '-38',
      details: 'ENOSYS',
    });
  });

  it('drops properties that are not part of the format', () => {
    const [r] = runs();
    const check = { ...r!.checks[0]!, internal: 1 };
    const extra: RunReport = Object.assign({}, r!, { secret: 'x', checks: [check] });
    const out = JSON.parse(toJson([extra])) as Parsed;
    expect(out.runs[0]).not.toHaveProperty('secret');
    expect(out.runs[0]!.checks[0]).not.toHaveProperty('internal');
  });

  it('writes through a temp file and leaves only the report behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'report-json-'));
    try {
      const file = join(dir, 'sub', 'report.json');
      await writeJsonReport(file, runs());
      expect(await readFile(file, 'utf8')).toBe(text);
      await writeJsonReport(file, runs().slice(1));
      expect((JSON.parse(await readFile(file, 'utf8')) as Parsed).runs).toHaveLength(1);
      expect(await readdir(join(dir, 'sub'))).toEqual(['report.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
