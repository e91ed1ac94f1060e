import { execa } from 'execa';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { leftoverQemu, runCli, statusOf } from '../e2e/helpers.ts';
import { builtinChecks } from '../e2e/mistakes.ts';

// `npm run test:matrix`, not `npm test`: five kernels, three of them fetched from Debian's
// suites (which move), take hours to build cold on 2 cores. The README records its last full run.
const tarball39 = join(projectRoot, '..', 'shared', 'kernels', 'linux-3.9.6-onl.tar.xz');
const fixture = (...parts: string[]): string => join(projectRoot, 'test', 'fixtures', ...parts);

/** The numbers patches-6.1 (patches-3.9.11 on 3.9) gets on each kernel: each table's first free ones. */
const expected = [
  { kernel: tarball39, version: /^3\.9\.6$/, numbers: [314, 315], regenerated: false },
  { kernel: '5.10', version: /^5\.10\.\d+$/, numbers: [441, 442], regenerated: true },
  { kernel: '6.1', version: /^6\.1\.\d+$/, numbers: [451, 452], regenerated: false },
  { kernel: '6.12', version: /^6\.12\.\d+$/, numbers: [463, 464], regenerated: true },
  { kernel: '7.2', version: /^7\.2\.\d+$/, numbers: [472, 473], regenerated: true },
];

describe('one patch set, five kernels', () => {
  it('passes every built-in check and every userland program on 3.9, 5.10, 6.1, 6.12 and 7.2', async () => {
    const { exitCode, report, stdout, junit } = await runCli(expected.flatMap(({ kernel }) => ['--kernel', kernel]));
    expect(exitCode, stdout).toBe(0);
    expect(report.runs).toHaveLength(expected.length);
    report.runs.forEach((run, index) => {
      const want = expected[index]!;
      expect(run.kernel.requested).toBe(want.kernel);
      expect(run.kernel.version).toMatch(want.version);
      expect(
        run.checks.filter((check) => check.status !== 'pass').map((check) => check.name),
        run.kernel.requested,
      ).toEqual([]);
      for (const name of builtinChecks) expect(statusOf(run, name), `${want.kernel} ${name}`).toBe('pass');
      expect(statusOf(run, 'userland:callcount_example.c')).toBe('pass');
      expect(statusOf(run, 'userland:taskcount_example.c')).toBe('pass');
      expect(run.kernel.syscalls).toEqual([
        { name: 'callcount', number: want.numbers[0] },
        { name: 'taskcount', number: want.numbers[1] },
      ]);
      expect(run.kernel.regenerated, want.kernel).toBe(want.regenerated);
      if (want.kernel !== tarball39) expect(run.kernel.debian?.version).toMatch(/^\d+\.\d+\.\d+-\d+/);
    });
    // One table of kernels x checks in the summary, one JUnit suite per kernel.
    expect(stdout).toContain('== matrix');
    // One testsuite of checks per kernel, and one of the conformance checklist per kernel.
    expect(junit.match(/<testsuite name="syscall-lab (?!conformance )/g)).toHaveLength(expected.length);
    expect(junit.match(/<testsuite name="syscall-lab conformance /g)).toHaveLength(expected.length);
    expect(await leftoverQemu()).toBe('');
  });

  it("passes a user's syscall written for 6.1 (its own table line, prototype, stub and Kbuild folder) on 7.2 unchanged", async () => {
    const { exitCode, report, stdout } = await runCli([
      '--kernel',
      '7.2',
      '--patches',
      fixture('patches', 'hello-6.1-upstream'),
      '--userland',
      fixture('userland', 'hello'),
    ]);
    const run = report.runs[0]!;
    expect(exitCode, stdout).toBe(0);
    expect(statusOf(run, 'userland:hello_test.c')).toBe('pass');
    expect(run.kernel.regenerated).toBe(true);
    expect(run.kernel.syscalls).toEqual([{ name: 'hello', number: 472 }]);
    expect(await leftoverQemu()).toBe('');
  });

  it('port writes the series the run applies to 7.2, and it applies to the 7.2 tree with patch -p1 --fuzz=0', async () => {
    const out = mkdtempSync(join(tmpdir(), 'syscall-lab-port-'));
    const tree = mkdtempSync(join(tmpdir(), 'syscall-lab-tree-'));
    try {
      const ported = join(out, 'series-7.2');
      const port = await execa(
        'node',
        [join(projectRoot, 'bin', 'syscall-lab.mjs'), 'port', '--kernel', '7.2', '--out', ported],
        {
          reject: false,
        },
      );
      expect(port.exitCode, port.stderr).toBe(0);
      expect(port.stderr).toContain('callcount 472, taskcount 473');
      // The run's own series for 7.2 (the JSON's kernel.patches) has the same contents: the run built it.
      const { report } = await runCli(['--kernel', '7.2']);
      const applied = report.runs[0]!.kernel.patches;
      expect(applied.map((file) => basename(file))).toEqual(['0001-callcount.patch', '0002-taskcount.patch']);
      for (const file of applied)
        expect(readFileSync(join(ported, basename(file)), 'utf8')).toBe(readFileSync(file, 'utf8'));
      const source = report.runs[0]!.kernel.source;
      await execa('tar', ['-xf', source, '-C', tree, '--strip-components=1']);
      for (const name of readFileSync(join(ported, 'series'), 'utf8').split('\n').filter(Boolean)) {
        const result = await execa('patch', ['-p1', '--fuzz=0', '--batch', '-i', join(ported, name)], {
          cwd: tree,
          reject: false,
        });
        expect(result.exitCode, result.stdout).toBe(0);
      }
      expect(readdirSync(join(tree, 'mysyscalls')).sort()).toEqual(['Makefile', 'callcount.c', 'taskcount.c']);
    } finally {
      rmSync(out, { recursive: true, force: true });
      rmSync(tree, { recursive: true, force: true });
    }
  });
});
