import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { leftoverQemu, runCli } from '../e2e/helpers.ts';

// stamp(2) on Linux 6.1: a two-argument syscall (a __u64 __user * it writes, a flags word, an i386
// entry) with no test of its own, and its broken variants: each is the good series plus one patch
// that makes exactly one mistake. Every run is --conformance fail: a finding fails the run (exit 1).
const fixtures = join(projectRoot, 'test', 'fixtures', 'conformance');

const allPass = {
  'conformance:syscall-define': 'pass',
  'conformance:prototype': 'pass',
  'conformance:ni-stub': 'pass',
  'conformance:generic-table': 'pass',
  // An i386 entry whose only pointer points to a __u64 (one layout on both ABIs): no compat entry needed.
  'conformance:x86-32-entry': 'pass',
  'conformance:user-annotations': 'pass',
  'conformance:checkpatch': 'pass',
  'conformance:efault:stamp': 'pass',
  'conformance:flags:stamp': 'pass',
  // The i386 entry from a static -m32 program (the builds have IA32 emulation: the series has an i386 entry).
  'conformance:x86-32:stamp': 'pass',
} as const;

type Items = Partial<Record<keyof typeof allPass, 'pass' | 'fail' | 'n/a'>>;

const cases: {
  fixture: string;
  mistake: string;
  fails: Items;
  without?: (keyof typeof allPass)[];
  /** What the failing item's answer must say. */
  says?: string;
}[] = [
  { fixture: 'stamp-6.1', mistake: 'none', fails: {} },
  { fixture: 'stamp-ignores-flags', mistake: 'unknown flags ignored', fails: { 'conformance:flags:stamp': 'fail' } },
  {
    fixture: 'stamp-null-succeeds',
    mistake: 'NULL taken as nothing to write',
    fails: { 'conformance:efault:stamp': 'fail' },
  },
  { fixture: 'stamp-no-user', mistake: 'a pointer without __user', fails: { 'conformance:user-annotations': 'fail' } },
  {
    fixture: 'stamp-no-define',
    mistake: 'the entry point written by hand',
    fails: { 'conformance:syscall-define': 'fail' },
    // No SYSCALL_DEFINE, no signature: nothing to generate runtime checks from.
    without: ['conformance:efault:stamp', 'conformance:flags:stamp', 'conformance:x86-32:stamp'],
  },
  { fixture: 'stamp-no-prototype', mistake: 'no prototype', fails: { 'conformance:prototype': 'fail' } },
  { fixture: 'stamp-no-ni-stub', mistake: 'no sys_ni.c stub', fails: { 'conformance:ni-stub': 'fail' } },
  {
    fixture: 'stamp-32-overrun',
    mistake: 'the i386 entry writes 12 bytes into the 8-byte variable',
    fails: { 'conformance:x86-32:stamp': 'fail' },
    says: 'valid call: guard bytes of argument 0 clobbered <- wrong',
  },
];

describe('the adding-syscalls.rst checklist on Linux 6.1 (stamp(2) and its broken variants)', () => {
  for (const { fixture, mistake, fails, without = [], says } of cases) {
    it(`${fixture} (${mistake}): ${Object.keys(fails).join(', ') || 'every item passes'}`, async () => {
      const { exitCode, report, junit, stdout } = await runCli([
        '--kernel',
        '6.1',
        '--patches',
        join(fixtures, fixture),
        '--conformance',
        'fail',
      ]);
      const run = report.runs[0]!;
      const expected = Object.fromEntries(
        Object.entries({ ...allPass, ...fails }).filter(([name]) => !(without as string[]).includes(name)),
      );
      expect(Object.fromEntries((run.conformance ?? []).map((item) => [item.name, item.status])), stdout).toEqual(
        expected,
      );
      // The functional checks: stamp is neither callcount nor taskcount, so only these run, and pass.
      expect(
        run.checks.filter((check) => check.status === 'fail'),
        stdout,
      ).toEqual([]);
      expect(exitCode, stdout).toBe(Object.keys(fails).length === 0 ? 0 : 1);
      for (const name of Object.keys(fails)) expect(junit).toMatch(new RegExp(`name="${name}"[^>]*>\\s*<failure`));
      if (says) expect(run.conformance?.find((item) => item.status === 'fail')?.actual, stdout).toContain(says);
      expect(await leftoverQemu()).toBe('');
    });
  }

  it('stamp-ignores-flags under --conformance warn: the finding is shown as WARN and the run passes (exit 0)', async () => {
    const { exitCode, report, junit, stdout } = await runCli([
      '--kernel',
      '6.1',
      '--patches',
      join(fixtures, 'stamp-ignores-flags'),
    ]);
    const run = report.runs[0]!;
    const flags = run.conformance?.find((item) => item.name === 'conformance:flags:stamp');
    expect(flags, stdout).toMatchObject({ status: 'fail', enforced: false });
    expect(stdout).toMatch(/WARN +conformance:flags:stamp/);
    expect(junit).toMatch(/name="conformance:flags:stamp"[^>]*>\s*<system-out>WARN/);
    expect(exitCode, stdout).toBe(0);
  });
});
