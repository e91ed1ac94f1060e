import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load } from 'js-yaml';
import { githubWorkflow, summaryAction } from '../../src/ci/github-workflow.ts';
import { main } from '../../src/cli.ts';
import { defaultAction, workflowPath, workflowRequest } from '../../src/commands/ci-github.ts';
import { ExitCode } from '../../src/errors.ts';
import { projectRoot } from '../../src/paths.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-ci-github-');

/** This repository's own workflow: its checkout as the action, the Debian kernels of versions.tsv. */
const exampleArguments = [
  '--action',
  './',
  '--kernel',
  '5.10',
  '--kernel',
  '6.1',
  '--kernel',
  '6.12',
  '--kernel',
  '7.2',
];

/** `syscall-lab ci github ARGS` in this process: its exit code, and what it said. */
async function ciGithub(args: string[]): Promise<{ exitCode: number; said: string[] }> {
  const said: string[] = [];
  const output = {
    quiet: false,
    emit: (event: { type: string; text?: string }) => {
      if (event.text !== undefined) said.push(event.text);
    },
  };
  return { exitCode: await main(['ci', 'github', ...args], output), said };
}

interface Workflow {
  on: string[];
  jobs: {
    kernel: {
      'runs-on': string;
      strategy: { 'fail-fast': boolean; matrix: { kernel: unknown[] } };
      steps: { uses: string; with?: Record<string, string> }[];
    };
    summary: { needs: string; if: string; steps: { uses: string }[] };
  };
}

/** A repository with a patch folder, a test folder and a config fragment, as a user has them. */
function userRepository(): string {
  const repo = tempDir();
  mkdirSync(join(repo, 'syscalls', 'patches'), { recursive: true });
  writeFileSync(join(repo, 'syscalls', 'patches', '0001-hello.patch'), '--- a/x\n+++ b/x\n');
  mkdirSync(join(repo, 'tests'));
  writeFileSync(join(repo, 'tests', 'hello_test.c'), 'int main(void) { return 0; }\n');
  writeFileSync(join(repo, 'extra.config'), 'CONFIG_PRINTK=y\n');
  return repo;
}

describe('syscall-lab ci github', () => {
  it("is what wrote this repository's .github/workflows/syscall-lab.yml (the two cannot drift apart)", async () => {
    const committed = readFileSync(join(projectRoot, workflowPath), 'utf8');
    const header = /^# Written by: (.*)$/m.exec(committed)?.[1];
    expect(header).toBe(`npx syscall-lab ci github ${exampleArguments.join(' ')}`);
    // The generator for those arguments, and the command run again, give the committed file byte for byte.
    const request = workflowRequest({
      kernels: ['5.10', '6.1', '6.12', '7.2'],
      action: './',
      repo: projectRoot,
      force: false,
    });
    expect(githubWorkflow(request)).toBe(committed);
    const repo = tempDir();
    expect((await ciGithub([...exampleArguments, '--repo', repo])).exitCode).toBe(ExitCode.ok);
    expect(readFileSync(join(repo, workflowPath), 'utf8')).toBe(committed);
  });

  it('writes one job per kernel (fail-fast off) with the inputs as the workflow names them, then the summary', async () => {
    const repo = userRepository();
    const run = await ciGithub([
      '--repo',
      repo,
      '--kernel',
      '5.10',
      '--kernel',
      '6.12',
      '--kernel',
      '3.9.11',
      '--patches',
      join(repo, 'syscalls', 'patches'),
      '--userland',
      join(repo, 'tests'),
      '--config-fragment',
      join(repo, 'extra.config'),
      '--conformance',
      'fail',
    ]);
    expect(run.exitCode).toBe(ExitCode.ok);
    expect(run.said.join('\n')).toContain(`wrote ${join(repo, workflowPath)}: one job per kernel (5.10, 6.12, 3.9.11)`);
    const text = readFileSync(join(repo, workflowPath), 'utf8');
    const workflow = load(text) as Workflow;
    // Quoted where YAML would read a number: 5.10 stays "5.10", not 5.1.
    expect(workflow.jobs.kernel.strategy).toEqual({
      'fail-fast': false,
      matrix: { kernel: ['5.10', '6.12', '3.9.11'] },
    });
    expect(workflow.jobs.kernel['runs-on']).toBe('ubuntu-24.04');
    expect(workflow.jobs.kernel.steps).toEqual([
      { uses: 'actions/checkout@v4' },
      {
        uses: defaultAction(),
        with: {
          kernels: '${{ matrix.kernel }}',
          patches: 'syscalls/patches',
          userland: 'tests',
          'config-fragment': 'extra.config',
          conformance: 'fail',
        },
      },
    ]);
    // A published action needs no checkout in the summary job; its summary action is beside it.
    expect(workflow.jobs.summary).toMatchObject({ needs: 'kernel', if: '${{ always() }}' });
    expect(workflow.jobs.summary.steps).toEqual([{ uses: summaryAction(defaultAction()) }]);
    expect(text).toContain(
      '# Written by: npx syscall-lab ci github --kernel 5.10 --kernel 6.12 --kernel 3.9.11 --patches syscalls/patches --userland tests --config-fragment extra.config --conformance fail',
    );
  });

  it("names the action of the syscall-lab that writes it, and the summary action in the action's repository", () => {
    const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    expect(defaultAction()).toBe(`syscall-lab/syscall-lab@v${version}`);
    expect(summaryAction('owner/syscall-lab@v1')).toBe('owner/syscall-lab/summary@v1');
    expect(summaryAction('owner/tools/syscall-lab@0123abc')).toBe('owner/tools/syscall-lab/summary@0123abc');
    expect(summaryAction('./')).toBe('./summary');
    expect(summaryAction('./vendor/syscall-lab/')).toBe('./vendor/syscall-lab/summary');
  });

  it('quotes what YAML or a comment would misread: a folder name with a colon, a hash and a line break', async () => {
    const repo = tempDir();
    const odd = join(repo, 'odd: #name\nx');
    mkdirSync(odd);
    expect((await ciGithub(['--repo', repo, '--patches', odd])).exitCode).toBe(ExitCode.ok);
    const text = readFileSync(join(repo, workflowPath), 'utf8');
    expect((load(text) as Workflow).jobs.kernel.steps[1]!.with!.patches).toBe('odd: #name\nx');
    // The header's command line is comment lines only.
    expect(
      text
        .split('\n\n')[0]!
        .split('\n')
        .every((line) => line.startsWith('# ')),
    ).toBe(true);
  });

  it('defaults to 6.1', async () => {
    const repo = tempDir();
    expect((await ciGithub(['--repo', repo])).exitCode).toBe(ExitCode.ok);
    const workflow = load(readFileSync(join(repo, workflowPath), 'utf8')) as Workflow;
    expect(workflow.jobs.kernel.strategy.matrix.kernel).toEqual(['6.1']);
  });

  it('refuses to replace an existing workflow without --force, and replaces it with --force', async () => {
    const repo = tempDir();
    const file = join(repo, workflowPath);
    mkdirSync(join(repo, '.github', 'workflows'), { recursive: true });
    writeFileSync(file, '# mine\n');
    await expect(ciGithub(['--repo', repo, '--kernel', '7.2'])).rejects.toMatchObject({
      exitCode: ExitCode.badInput,
      message: `${file} exists`,
      fix: expect.stringContaining('--force') as unknown,
    });
    expect(readFileSync(file, 'utf8')).toBe('# mine\n');
    expect((await ciGithub(['--repo', repo, '--kernel', '7.2', '--force'])).exitCode).toBe(ExitCode.ok);
    expect((load(readFileSync(file, 'utf8')) as Workflow).jobs.kernel.strategy.matrix.kernel).toEqual(['7.2']);
  });

  it('refuses bad input with exit 2, naming the cause and the fix, and writes nothing', async () => {
    const repo = userRepository();
    const outside = userRepository();
    const cases: [string[], RegExp, RegExp][] = [
      [['--kernel', '9.99'], /--kernel 9\.99: not in the pinned table/, /6\.1/],
      [['--kernel', '../linux-6.1.tar.xz'], /not a kernel version/, /fetch and verify without a local file/],
      [['--kernel', '6.1', '--kernel', '6.1'], /--kernel 6\.1 is given twice/, /once/],
      [['--patches', join(repo, 'nope')], /--patches .*nope is not a folder/, /existing folder/],
      [
        ['--patches', join(outside, 'syscalls', 'patches')],
        /is outside the repository/,
        /checks out only the repository/,
      ],
      [['--userland', join(repo, 'syscalls')], /holds no \*\.c file/, /C test programs/],
      [['--config-fragment', join(repo, 'tests')], /--config-fragment .* is not a file/, /existing file/],
      [['--conformance', 'strict'], /--conformance strict is not off, warn or fail/, /off, warn or fail/],
      [['--action', 'syscall-lab'], /neither \.\/PATH nor OWNER\/REPO@REF/, /uses:/],
      [['--action', './../elsewhere'], /neither \.\/PATH nor OWNER\/REPO@REF/, /uses:/],
    ];
    for (const [args, says, fix] of cases) {
      await expect(ciGithub(['--repo', repo, ...args]), args.join(' ')).rejects.toMatchObject({
        exitCode: ExitCode.badInput,
        message: expect.stringMatching(says) as unknown,
        fix: expect.stringMatching(fix) as unknown,
      });
    }
    await expect(ciGithub(['--repo', join(repo, 'missing')])).rejects.toMatchObject({ exitCode: ExitCode.badInput });
    expect(existsSync(join(repo, '.github'))).toBe(false);
  });
});
