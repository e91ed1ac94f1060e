import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.ts';
import { ExitCode, LabError } from '../../src/errors.ts';
import { createRenderer } from '../../src/render.ts';
import { escapeData, escapeProperty, githubAnnotations } from '../../src/report/annotations.ts';
import { toJson } from '../../src/report/json.ts';
import { formatMarkdownMatrix } from '../../src/report/markdown.ts';
import type { ConformanceResult, RunReport } from '../../src/report/model.ts';
import { readJsonReports } from '../../src/report/read-json.ts';
import { formatSummary } from '../../src/report/summary.ts';
import { run396, run61 } from './support/sample-runs.ts';
import { thrown } from './support/thrown.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-report-merge-');

function finding(name: string, enforced: boolean): ConformanceResult {
  return {
    name,
    status: 'fail',
    enforced,
    rule: 'every syscall has a COND_SYSCALL stub, for configs without it',
    section: 'Generic System Call Implementation',
    actual: 'no COND_SYSCALL(hello) in kernel/sys_ni.c',
    details: '',
  };
}

/** A 6.1 run with a failed userland program and an enforced finding, and a 7.2 run that passed. */
function modern(): RunReport[] {
  const failed = run61({
    phases: [{ name: 'boot-patched', seconds: 5, cached: false }],
    checks: [
      { name: 'enosys-control', status: 'pass', expected: '451: -1/ENOSYS', actual: '451: -1/ENOSYS', details: '' },
      {
        name: 'userland:hello_test.c',
        status: 'fail',
        expected: 'exit 0',
        actual: 'exit 1: 50% | done,\r\nnot ok 2',
        details: 'not ok 2 - hello(NULL)',
      },
    ],
    conformance: [finding('conformance:ni-stub', true)],
    logs: {
      console: ['/cache/runs/r1/console-1-6.1.192-stock.log', '/cache/runs/r1/console-2-6.1.192-patched-0c41d2e7.log'],
      build: ['/cache/builds/a/build.log'],
    },
  });
  const passed = run61({
    kernel: { requested: '7.2', version: '7.2.13', source: '/cache/linux-7.2', patches: [] },
    phases: [],
    checks: [{ name: 'enosys-control', status: 'pass', expected: '472', actual: '472', details: '' }],
    conformance: [finding('conformance:ni-stub', false)],
  });
  return [failed, passed];
}

/** A 3.9.6 run that stopped on an error after one check. */
function stopped(): RunReport[] {
  return [
    run396({
      phases: [],
      checks: [{ name: 'enosys-control', status: 'skip', expected: '314', actual: 'not run', details: '' }],
      logs: { console: [], build: ['/cache/runs/r2/build-stock.log'] },
      error: 'build failed: mysyscalls/hello.c:3: error: expected ;\nsecond line',
    }),
  ];
}

function writeReport(name: string, runs: RunReport[]): string {
  const file = join(tempDir(), name);
  writeFileSync(file, toJson(runs));
  return file;
}

/** The CLI run in this process (`done`: its exit code, or its error) and what it wrote on stdout so far. */
function start(argv: string[]): { done: Promise<number>; stdout: () => string } {
  let stdout = '';
  const renderer = createRenderer({
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: () => true },
    tty: false,
    quiet: true,
    color: false,
  });
  return { done: main(argv, renderer), stdout: () => stdout };
}

/** Runs the CLI in this process; what it writes on stdout, and its exit code. */
async function cli(argv: string[]): Promise<{ stdout: string; exitCode: number }> {
  const run = start(argv);
  const exitCode = await run.done;
  return { stdout: run.stdout(), exitCode };
}

describe('reading JSON reports back', () => {
  it('gives back the runs toJson wrote, every file in the order given', () => {
    const [a, b] = [writeReport('a.json', modern()), writeReport('b.json', stopped())];
    const runs = readJsonReports([b, a]);
    expect(runs.map((run) => run.kernel.requested)).toEqual(['3.9.6', '6.1', '7.2']);
    // Read back and written again, the merge is the files' runs exactly.
    expect(toJson(runs)).toBe(toJson([...stopped(), ...modern()]));
  });

  it('refuses a file that is not a syscall-lab JSON report, naming the file, what is wrong and the fix', () => {
    const dir = tempDir();
    const cases: [string, string, RegExp][] = [
      ['missing.json', '', /missing\.json does not exist/],
      ['broken.json', '{"runs": [', /broken\.json is not JSON/],
      ['other.json', '{"name": "syscall-lab"}', /other\.json is not a syscall-lab JSON report: runs: /],
      [
        'checks.json',
        toJson([
          { ...modern()[0]!, checks: [{ name: 'x', status: 'ok' as 'pass', expected: '', actual: '', details: '' }] },
        ]),
        /checks\.json is not a syscall-lab JSON report: runs\.0\.checks\.0\.status: /,
      ],
    ];
    for (const [name, text, says] of cases) {
      const file = join(dir, name);
      if (text !== '') writeFileSync(file, text);
      const error = thrown(() => readJsonReports([file]));
      expect(error).toBeInstanceOf(LabError);
      expect((error as LabError).exitCode).toBe(ExitCode.badInput);
      expect((error as LabError).message).toMatch(says);
      expect((error as LabError).fix).toMatch(/syscall-lab run --json FILE/);
    }
  });
});

describe('the Markdown kernels × checks table', () => {
  const runs = [...modern(), ...stopped()];

  it('has the rows and verdicts of the terminal summary matrix', () => {
    const terminal = formatSummary(runs).split('== matrix\n')[1]!.split('\n\n')[0]!.split('\n');
    const markdown = formatMarkdownMatrix(runs)
      .split('\n')
      .filter((line) => line.startsWith('| '));
    expect(markdown[0]).toBe('| check | 6.1 | 7.2 | 3.9.6 |');
    expect(markdown[1]).toBe('| --- | :---: | :---: | :---: |');
    // Same checks in the same order, same words per kernel (bold and links aside).
    const words = (line: string): string[] =>
      line
        .replace(/\[\*\*FAIL\*\*\]\([^)]*\)|\*\*FAIL\*\*/g, 'FAIL')
        .split(/\s*\|\s*/)
        .filter((cell) => cell !== '')
        .map((cell) => cell.replace(/^`|`$/g, ''));
    expect(markdown.slice(2).map(words)).toEqual(terminal.slice(1).map((line) => line.trim().split(/\s{2,}/)));
    expect(markdown.slice(2).map(words)).toEqual([
      ['enosys-control', 'PASS', 'PASS', 'SKIP'],
      ['userland:hello_test.c', 'FAIL', '-', '-'],
      ['conformance:ni-stub', 'FAIL', 'WARN', '-'],
    ]);
  });

  it('links each failure to its run log when given an address, {kernel} and {log} filled in', () => {
    const text = formatMarkdownMatrix(runs, { consoleLogUrl: 'https://logs.example/{kernel}/{log}?x=(1)' });
    const link =
      '[**FAIL**](https://logs.example/6.1/console-2-6.1.192-patched-0c41d2e7.log?x=%281%29 "console log: console-2-6.1.192-patched-0c41d2e7.log")';
    expect(text).toContain(`| \`userland:hello_test.c\` | ${link} | - | - |`);
    expect(text).toContain(`| \`conformance:ni-stub\` | ${link} | WARN | - |`);
    // A run that stopped is listed with its error and the log it has (here the build's).
    expect(text).toContain(
      '- **3.9.6** stopped: build failed: mysyscalls/hello.c:3: error: expected ; ([build log](https://logs.example/3.9.6/build-stock.log?x=%281%29))',
    );
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      '2 passed, 2 failed, 1 skipped; conformance: 0 passed, 1 failed, 1 warned, 0 n/a',
    );
    // Without an address, failures are bold words.
    expect(formatMarkdownMatrix(runs)).toContain('| `userland:hello_test.c` | **FAIL** | - | - |');
  });

  it('keeps the table whole whatever the names: pipes, Markdown, HTML and control bytes escaped', () => {
    const hostile = run61({
      phases: [],
      checks: [{ name: 'userland:a|b_`c`<x>.c\x1b[31m', status: 'pass', expected: '', actual: '', details: '' }],
    });
    hostile.kernel.requested = '6.1|<b>';
    const rows = formatMarkdownMatrix([hostile])
      .split('\n')
      .filter((line) => line.startsWith('| '));
    expect(rows[0]).toBe('| check | 6.1\\|\\<b\\> |');
    expect(rows[2]).toBe('| userland:a\\|b\\_\\`c\\`\\<x\\>.c | PASS |');
    expect(formatMarkdownMatrix([])).toContain('No run in the reports.');
  });
});

describe('GitHub annotations', () => {
  it("escapes messages and properties as GitHub's workflow commands need", () => {
    expect(escapeData('100% done\r\nnext')).toBe('100%25 done%0D%0Anext');
    expect(escapeProperty('syscall-lab 6.1: a,b 100%\n')).toBe('syscall-lab 6.1%3A a%2Cb 100%25%0A');
  });

  it('names the kernel and check of every failure; an unenforced finding is a warning; a stopped run an error', () => {
    expect(githubAnnotations([...modern(), ...stopped()])).toEqual([
      '::error title=syscall-lab 6.1%3A userland%3Ahello_test.c::exit 1: 50%25 | done,%0Anot ok 2%0Aexpected: exit 0',
      '::error title=syscall-lab 6.1%3A conformance%3Ani-stub::no COND_SYSCALL(hello) in kernel/sys_ni.c%0Arule: every syscall has a COND_SYSCALL stub, for configs without it (Generic System Call Implementation)',
      '::warning title=syscall-lab 7.2%3A conformance%3Ani-stub::no COND_SYSCALL(hello) in kernel/sys_ni.c%0Arule: every syscall has a COND_SYSCALL stub, for configs without it (Generic System Call Implementation)',
      '::error title=syscall-lab 3.9.6%3A run::build failed: mysyscalls/hello.c:3: error: expected ;%0Asecond line',
    ]);
    expect(
      githubAnnotations(
        modern()
          .slice(1, 2)
          .map((run) => ({ ...run, conformance: [] })),
      ),
    ).toEqual([]);
  });
});

describe('syscall-lab report', () => {
  it('merge: the runs of every file on stdout, as JSON or as the Markdown table', async () => {
    const [a, b] = [writeReport('a.json', modern()), writeReport('b.json', stopped())];
    expect(await cli(['report', 'merge', a, b])).toEqual({ stdout: toJson([...modern(), ...stopped()]), exitCode: 0 });
    const url = 'https://github.com/o/r/actions/runs/7#artifacts';
    const markdown = await cli(['report', 'merge', a, b, '--markdown', '--console-log-url', url]);
    expect(markdown).toEqual({
      stdout: formatMarkdownMatrix([...modern(), ...stopped()], { consoleLogUrl: url }),
      exitCode: 0,
    });
  });

  it('annotate: the ::error lines on stdout, exit 0', async () => {
    const a = writeReport('a.json', modern());
    expect(await cli(['report', 'annotate', a])).toEqual({
      stdout: githubAnnotations(modern())
        .map((line) => `${line}\n`)
        .join(''),
      exitCode: 0,
    });
  });

  it('refuses bad input with exit 2 and writes nothing on stdout', async () => {
    const a = writeReport('a.json', modern());
    const bad: [string[], RegExp][] = [
      [['report', 'merge', a, join(tempDir(), 'gone.json')], /gone\.json does not exist/],
      [['report', 'merge', a, '--console-log-url', 'https://x.example/'], /applies to the Markdown table/],
      [['report', 'merge', a, '--markdown', '--console-log-url', 'javascript:alert(1)'], /not an http\(s\) URL/],
      [['report', 'annotate', join(tempDir(), 'gone.json')], /gone\.json does not exist/],
      [['report', 'merge'], /Not enough non-option arguments/],
      [['report'], /give a report command: merge or annotate/],
    ];
    for (const [argv, says] of bad) {
      const run = start(argv);
      await expect(run.done, argv.join(' ')).rejects.toMatchObject({
        exitCode: ExitCode.badInput,
        message: expect.stringMatching(says) as unknown,
      });
      expect(run.stdout()).toBe('');
    }
  });
});
