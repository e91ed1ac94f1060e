import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.ts';
import { bisectCommand, bisectCommits } from '../../src/commands/bisect.ts';
import { BadInputError, ExitCode, LabError } from '../../src/errors.ts';
import type { LabEvent } from '../../src/events.ts';
import { formatBisectVerdict } from '../../src/report/bisect-verdict.ts';
import { toJson } from '../../src/report/json.ts';
import { toJunit } from '../../src/report/junit.ts';
import type { CheckResult, RunReport } from '../../src/report/model.ts';
import { formatSummary } from '../../src/report/summary.ts';
import { bisect, type Verdict } from '../../src/stages/bisect.ts';
import {
  bisectExitCode,
  combineBisectCodes,
  outcomeOf,
  thrownOutcome,
  type RunOutcome,
} from '../../src/stages/bisect-exit.ts';
import { checkJudgedNames, isJudged, judgedAware, markNotJudged } from '../../src/stages/judged.ts';
import { checkPatchSeries } from '../../src/stages/patch-check.ts';
import { planRuns } from '../../src/stages/plan.ts';
import type { Backend } from '../../src/vm/backend.ts';
import { useFakeBuild } from './support/fake-build.ts';
import { callcountPatch } from './support/fake-kernel.ts';
import { FakeMachine, fakeBackend } from './support/fake-machine.ts';
import { testOptions } from './support/options.ts';
import { run61 } from './support/sample-runs.ts';
import { useTempDirs } from './support/temp.ts';
import { thrown } from './support/thrown.ts';

const tempDir = useTempDirs('syscall-lab-bisect-');

/**
 * A fake builder over `count` commits: a commit's first judgement builds it (counted), a later one
 * reuses the build and only runs the checks again. `verdictOf(index, look)` answers the checks' verdict.
 */
function fakeBuilder(count: number, verdictOf: (index: number, look: number) => Verdict) {
  const built = new Set<number>();
  const looks = new Map<number, number>();
  let checkRuns = 0;
  const judge = (index: number): Promise<Verdict> => {
    if (index < 0 || index >= count) throw new Error(`judged ${index}, outside 0..${count - 1}`);
    built.add(index);
    checkRuns++;
    const look = (looks.get(index) ?? 0) + 1;
    looks.set(index, look);
    return Promise.resolve(verdictOf(index, look));
  };
  return { judge, builds: () => built.size, checkRuns: () => checkRuns };
}

/** Commits from `first` on fail, the ones before pass. */
const breaksAt = (first: number) => (index: number) => (index >= first ? 'fail' : 'pass');

describe('the bisection (a fake builder over 16 commits)', () => {
  it('finds the first failing commit wherever it is, with at most 6 builds, the confirmation included', async () => {
    for (let first = 0; first < 16; first++) {
      const builder = fakeBuilder(16, breaksAt(first));
      const result = await bisect(16, builder.judge);
      expect(result.culprit, `culprit at ${first}`).toBe(first);
      expect(result.confirmed).toBe(true);
      // 4 for the search; the last commit's own when the search never reached it.
      expect(builder.builds()).toBeLessThanOrEqual(first === 15 ? 5 : 4);
      expect(builder.checkRuns()).toBeLessThanOrEqual(6);
      // The culprit and its parent were judged again (the parent of the first commit is --good, not judged).
      const rechecks = result.judgements.filter((judgement) => judgement.recheck).map((judgement) => judgement.index);
      expect(result.recheck).toEqual(first === 0 ? { culprit: 'fail' } : { culprit: 'fail', parent: 'pass' });
      expect(rechecks).toEqual(
        expect.arrayContaining(first === 0 ? [] : first === 15 ? [first - 1] : [first, first - 1]),
      );
    }
  });

  it('never judges a commit twice during the search, only in the confirmation', async () => {
    const builder = fakeBuilder(16, breaksAt(9));
    const result = await bisect(16, builder.judge);
    const searched = result.judgements.filter((judgement) => !judgement.recheck).map((judgement) => judgement.index);
    expect(new Set(searched).size).toBe(searched.length);
    expect(result.judgements.at(-2)).toEqual({ index: 9, verdict: 'fail', recheck: true });
    expect(result.judgements.at(-1)).toEqual({ index: 8, verdict: 'pass', recheck: true });
  });

  it('reports a culprit that passes its re-check as not confirmed', async () => {
    const builder = fakeBuilder(16, (index, look) =>
      index === 5 && look === 1 ? 'fail' : index > 5 ? 'fail' : 'pass',
    );
    const result = await bisect(16, builder.judge);
    expect(result.culprit).toBe(5);
    expect(result.confirmed).toBe(false);
    expect(result.recheck).toEqual({ culprit: 'pass', parent: 'pass' });
  });

  it('reports a parent that fails its re-check as not confirmed', async () => {
    const builder = fakeBuilder(16, (index, look) => (index >= 5 || (index === 4 && look > 1) ? 'fail' : 'pass'));
    const result = await bisect(16, builder.judge);
    expect(result.culprit).toBe(5);
    expect(result.confirmed).toBe(false);
    expect(result.recheck).toEqual({ culprit: 'fail', parent: 'fail' });
  });

  it('a skipped commit is replaced by a neighbour; skips next to the culprit leave candidates', async () => {
    const skipping = (skipped: number[], first: number) => (index: number) =>
      skipped.includes(index) ? 'skip' : breaksAt(first)(index);
    const builder = fakeBuilder(16, skipping([7], 10));
    const found = await bisect(16, builder.judge);
    expect(found.culprit).toBe(10);
    expect(found.confirmed).toBe(true);
    // 7 skipped: its later neighbour 8 is judged instead.
    expect(found.judgements.slice(0, 2)).toEqual([
      { index: 7, verdict: 'skip', recheck: false },
      { index: 8, verdict: 'pass', recheck: false },
    ]);
    expect(builder.builds()).toBeLessThanOrEqual(7);

    const hidden = await bisect(16, fakeBuilder(16, skipping([8, 9], 10)).judge);
    expect(hidden.culprit).toBeUndefined();
    expect(hidden.confirmed).toBe(false);
    expect(hidden.candidates).toEqual([8, 9, 10]);
  });

  it('one commit: it is the culprit, judged once; its parent is --good', async () => {
    const builder = fakeBuilder(1, () => 'fail');
    const result = await bisect(1, builder.judge);
    expect(result).toMatchObject({ culprit: 0, confirmed: true, recheck: { culprit: 'fail' } });
    expect(builder.checkRuns()).toBe(1);
  });
});

describe('run --bisect: exit codes for git bisect run', () => {
  it('maps every outcome to 0, 1, 125 or 128', () => {
    const table: [RunOutcome, number, number][] = [
      // outcome, code, code with --bisect-skip-build-failures
      ['pass', 0, 0],
      ['check-failed', 1, 1],
      ['patched-build-failed', 1, 125],
      ['series-does-not-apply', 125, 125],
      ['stock-build-failed', 125, 125],
      ['stock-crashed', 125, 125],
      ['bad-input', 128, 128],
      ['infrastructure', 128, 128],
      ['interrupted', 128, 128],
    ];
    for (const [outcome, code, skipping] of table) {
      expect(bisectExitCode(outcome), outcome).toBe(code);
      expect(bisectExitCode(outcome, true), `${outcome}, skipping build failures`).toBe(skipping);
    }
  });

  it("tells the outcomes apart by a run's exit code and its failure's kind", () => {
    expect(outcomeOf(0)).toBe('pass');
    expect(outcomeOf(1)).toBe('check-failed');
    expect(outcomeOf(1, 'patched-build')).toBe('patched-build-failed');
    expect(outcomeOf(2)).toBe('bad-input');
    expect(outcomeOf(2, 'series-does-not-apply')).toBe('series-does-not-apply');
    expect(outcomeOf(3)).toBe('infrastructure');
    expect(outcomeOf(3, 'stock-build')).toBe('stock-build-failed');
    expect(outcomeOf(3, 'stock-crash')).toBe('stock-crashed');
    expect(outcomeOf(130)).toBe('interrupted');
    expect(outcomeOf(143)).toBe('interrupted');
    const applies = new BadInputError('patch 0002 does not apply');
    applies.kind = 'series-does-not-apply';
    expect(thrownOutcome(applies)).toBe('series-does-not-apply');
    expect(thrownOutcome(new BadInputError('no such folder'))).toBe('bad-input');
    expect(thrownOutcome(new LabError('qemu', ExitCode.infrastructure))).toBe('infrastructure');
    expect(thrownOutcome(new Error('internal'))).toBe('infrastructure');
  });

  it('several kernels: 128, then 125, then 1, then 0', () => {
    expect(combineBisectCodes([0, 1, 125])).toBe(125);
    expect(combineBisectCodes([0, 128, 1])).toBe(128);
    expect(combineBisectCodes([0, 1])).toBe(1);
    expect(combineBisectCodes([0, 0])).toBe(0);
    expect(combineBisectCodes([])).toBe(0);
  });
});

describe('--check NAME: only the named checks judge', () => {
  it('knows checks, families and their members; refuses other names, listing the known ones', () => {
    expect(() => {
      checkJudgedNames(['enosys-control', 'userland', 'userland:taskcount_sane.c', 'kernel-console:patched']);
    }).not.toThrow();
    expect(() => {
      checkJudgedNames(['conformance:x86-32:callcount']);
    }).not.toThrow();
    const error = thrown(() => {
      checkJudgedNames(['taskcount-matches-tap']);
    });
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as LabError).message).toMatch(/--check taskcount-matches-tap: no such check/);
    expect((error as LabError).fix).toMatch(/enosys-control, .*taskcount-matches-top.*userland.*kernel-console/);
  });

  it('judges a result by its exact name or its family', () => {
    expect(isJudged('userland:a.c', ['userland'])).toBe(true);
    expect(isJudged('userland:a.c', ['userland:b.c'])).toBe(false);
    expect(isJudged('userland-extra', ['userland'])).toBe(false);
    expect(isJudged('anything', undefined)).toBe(true);
  });

  it('marks the others not judged: status kept, shown as (not judged) in the summary, JSON and JUnit', () => {
    const check = (name: string, status: 'pass' | 'fail') => ({
      name,
      status,
      expected: '93',
      actual: '0',
      details: '',
    });
    const report: RunReport = run61({
      phases: [],
      checks: [check('taskcount-matches-top', 'fail'), check('callcount-increments', 'pass')],
    });
    const [failing] = report.checks;
    if (!failing) throw new Error('no checks');
    const judgedName = 'callcount-increments';
    markNotJudged(report, [judgedName]);
    expect(failing.status).toBe('fail');
    expect(failing.judged).toBe(false);
    expect(report.checks.find((check) => check.name === judgedName)?.judged).toBeUndefined();
    expect(formatSummary([report])).toContain(`${failing.name} (not judged)`);
    const json = JSON.parse(toJson([report])) as { runs: { checks: { name: string; judged?: boolean }[] }[] };
    expect(json.runs[0]?.checks.find((check) => check.name === failing.name)?.judged).toBe(false);
    expect(toJunit([report])).toContain(`name="${failing.name} (not judged)"`);
  });

  it('marks the live events as the report: a check not named judged: false, a conformance item not enforced, as copies', () => {
    const events: LabEvent[] = [];
    const emit = judgedAware((event) => events.push(event), ['userland']);
    const check: CheckResult = { name: 'enosys-control', status: 'pass', expected: 'e', actual: 'a', details: '' };
    const item = {
      name: 'conformance:efault:callcount',
      status: 'fail' as const,
      enforced: true,
      rule: 'r',
      section: 's',
      actual: 'a',
      details: '',
    };
    emit({ type: 'check', scope: '6.1', result: check });
    emit({ type: 'check', scope: '6.1', result: { ...check, name: 'userland:a.c' } });
    emit({ type: 'conformance', scope: '6.1', result: item });
    emit({ type: 'info', text: 'other events pass as they are' });
    expect(events).toEqual([
      { type: 'check', scope: '6.1', result: { ...check, judged: false } },
      { type: 'check', scope: '6.1', result: { ...check, name: 'userland:a.c' } },
      { type: 'conformance', scope: '6.1', result: { ...item, enforced: false } },
      { type: 'info', text: 'other events pass as they are' },
    ]);
    expect(check.judged).toBeUndefined();
    expect(item.enforced).toBe(true);
    const plain = (event: LabEvent): number => events.push(event);
    expect(judgedAware(plain, undefined)).toBe(plain);
  });
});

describe('the verdict lines', () => {
  const culprit = { sha: 'c'.repeat(40), subject: 'break taskcount' };
  const parent = { sha: 'p'.repeat(40), subject: 'tidy', given: false };
  it('names the first bad commit, the failing checks and the parent values', () => {
    const lines = formatBisectVerdict({
      commits: 16,
      judged: 5,
      runs: 6,
      culprit,
      candidates: [culprit],
      confirmed: true,
      parent,
      evidence: {
        culprit: ['taskcount-matches-top: expected 93, got 0'],
        parent: ['PASS taskcount-matches-top: expected 93, got 93'],
      },
    });
    expect(lines).toEqual([
      `first bad commit: ${culprit.sha} break taskcount`,
      '  FAIL taskcount-matches-top: expected 93, got 0',
      `  parent ${parent.sha} tidy:`,
      '    PASS taskcount-matches-top: expected 93, got 93',
      'bisect: 16 commits, 5 built and judged, 6 check runs',
    ]);
    const flaky = formatBisectVerdict({
      commits: 16,
      judged: 5,
      runs: 6,
      culprit,
      candidates: [culprit],
      confirmed: false,
      unconfirmed: 'it did not fail again (pass)',
      parent,
      evidence: { culprit: [], parent: [] },
    });
    expect(flaky[0]).toBe(
      `first bad commit (not confirmed: it did not fail again (pass)): ${culprit.sha} break taskcount`,
    );
  });
});

async function gitIn(dir: string, ...args: string[]): Promise<string> {
  const env = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' };
  return (await execa('git', args, { cwd: dir, env })).stdout.trim();
}

async function commitFile(dir: string, name: string, subject: string): Promise<string> {
  writeFileSync(join(dir, name), `${subject}\n`);
  await gitIn(dir, 'add', '-A');
  await gitIn(dir, 'commit', '-q', '-m', subject);
  return gitIn(dir, 'rev-parse', 'HEAD');
}

describe('syscall-lab bisect: bad input through main() (exit 2, nothing built)', () => {
  const output = { emit: () => undefined, quiet: false };
  const env = (): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SYSCALL_LAB_CACHE: tempDir(),
  });
  const refused = async (argv: string[]): Promise<LabError> => {
    const error = await main(argv, output, { env: env() }).catch((e: unknown) => e);
    if (!(error instanceof LabError)) throw new Error(`not refused: ${String(error)}`);
    expect(error.exitCode).toBe(ExitCode.badInput);
    return error;
  };

  it('refuses a missing --good or --bad, a good that is not an ancestor of bad, merges and an unknown --check', async () => {
    const repo = tempDir();
    await gitIn(repo, 'init', '-q', '-b', 'main');
    const base = await commitFile(repo, 'a.c', 'base');
    const one = await commitFile(repo, 'b.c', 'one');
    expect((await refused(['bisect', '--kernel', repo, '--bad', one])).message).toMatch(/good/);
    expect((await refused(['bisect', '--kernel', repo, '--good', base])).message).toMatch(/bad/);
    expect((await refused(['bisect', '--kernel', repo, '--good', one, '--bad', base])).message).toMatch(
      /--good .* --bad .*: [0-9a-f]{12} is not an ancestor of/,
    );
    expect(
      (await refused(['bisect', '--kernel', repo, '--good', base, '--bad', one, '--check', 'nosuch'])).message,
    ).toMatch(/--check nosuch: no such check/);
    expect(
      (await refused(['bisect', '--kernel', repo, '--good', base, '--bad', one, '--commits', `${base}..`])).message,
    ).toMatch(/not --commits/);
    expect((await refused(['bisect', '--kernel', repo, '--good', base, '--bad', one, '--worktree'])).message).toMatch(
      /not --worktree/,
    );
    await gitIn(repo, 'checkout', '-q', '-b', 'side', base);
    await commitFile(repo, 'side.c', 'side work');
    await gitIn(repo, 'checkout', '-q', 'main');
    await gitIn(repo, 'merge', '-q', '--no-ff', '-m', 'merge side', 'side');
    expect((await refused(['bisect', '--kernel', repo, '--good', base, '--bad', 'main'])).message).toMatch(
      /"merge side" is a merge commit/,
    );
    expect((await refused(['bisect', '--kernel', tempDir(), '--good', base, '--bad', one])).message).toMatch(
      /needs a git work tree/,
    );
  });

  it('run refuses an unknown --check and --bisect-skip-build-failures without --bisect', async () => {
    expect((await refused(['run', '--kernel', '6.1', '--check', 'nosuch'])).message).toMatch(/no such check/);
    expect((await refused(['run', '--kernel', '6.1', '--bisect-skip-build-failures'])).message).toMatch(
      /applies with --bisect/,
    );
  });

  it('run --bisect: bad input stops the bisection (128), its cause still named', async () => {
    const error = await main(['run', '--bisect', '--kernel', '6.1', '--check', 'nosuch'], output, { env: env() }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).exitCode).toBe(128);
    expect((error as LabError).message).toMatch(/no such check/);
  });
});

describe('the bisection through runKernel (fake builds and machine over a git tree)', () => {
  const fakeBuild = useFakeBuild(tempDir);

  // `bisectCommand` with the fake machine's backend and a prepare without requirements or host
  // checks; everything else (range, plans, builds, checks, outcome, verdict) the real stages.
  it('names the commit that breaks callcount-increments, each commit built once, log2(commits) builds', async () => {
    const { tree, state } = fakeBuild();
    const commitAll = async (subject: string): Promise<string> => {
      await gitIn(tree, 'add', '-A');
      await gitIn(tree, 'commit', '-q', '-m', subject);
      return gitIn(tree, 'rev-parse', 'HEAD');
    };
    await gitIn(tree, 'init', '-q', '-b', 'main');
    const good = await commitAll('Linux 6.1');
    await execa('patch', ['-p1', '--batch', '--quiet'], { cwd: tree, input: callcountPatch });
    const shas = [await commitAll('add callcount')];
    const breaking = 4;
    for (let index = 1; index < 8; index++) {
      // The breaking commit's kernel is told apart by its build: its table names callcount twice.
      if (index === breaking) appendFileSync(join(tree, 'arch/x86/entry/syscalls/syscall_64.tbl'), '# callcount\n');
      else appendFileSync(join(tree, 'kernel/sched.c'), `/* tidy ${index} */\n`);
      shas.push(await commitAll(index === breaking ? 'break callcount' : `tidy ${index}`));
    }
    const options = testOptions({ kernel: [tree] });
    const { commits } = await bisectCommits(options, { good, bad: 'main' });
    expect(commits.map((commit) => commit.sha)).toEqual(shas);

    let brokenBooted = false;
    const machine = new FakeMachine((command) =>
      brokenBooted && command.includes(' call ')
        ? { stdout: [0, 1, 2].map((call) => `call=${call} ret=0 errno=0 value=1 guard=ok\n`).join('') }
        : undefined,
    );
    const backend: Backend = {
      name: 'qemu',
      create(request) {
        brokenBooted = readFileSync(request.patched.bzImage, 'utf8').includes('callcount=2');
        return fakeBackend(machine).create(request);
      },
    };
    const events: LabEvent[] = [];
    const code = await bisectCommand(
      options,
      { good, bad: 'main' },
      (event) => {
        events.push(event);
      },
      { prepare: async (prepared) => checkPatchSeries(await planRuns(prepared)), backend },
    );
    expect(code).toBe(ExitCode.ok);
    const verdict = events.flatMap((event) => (event.type === 'bisect-verdict' ? [event.verdict] : []))[0];
    expect(verdict?.culprit).toEqual({ sha: shas[breaking], subject: 'break callcount' });
    expect(verdict?.confirmed).toBe(true);
    expect(verdict?.evidence.culprit).toEqual([
      expect.stringMatching(/^callcount-increments: expected .*, got 3 calls: 1, 1, 1 /),
    ]);
    // Stock (good) built once; each commit judged built once, its re-check served from the cache.
    const builds = (kind: string): number => Number(readFileSync(join(state, `${kind}.count`), 'utf8'));
    expect(builds('stock')).toBe(1);
    expect(builds('patched')).toBe(verdict?.judged);
    expect(verdict?.judged).toBeLessThanOrEqual(Math.log2(commits.length));
    expect(verdict?.runs).toBeLessThanOrEqual(Math.log2(commits.length) + 2);
  }, 60_000);
});
