import { realpathSync } from 'node:fs';
import type { Options } from '../config.ts';
import { BadInputError, ExitCode } from '../errors.ts';
import type { Emit } from '../events.ts';
import { commitRange, gitRepositoryAt, type Commit } from '../kernel/git.ts';
import { evidenceOf, type BisectVerdict } from '../report/bisect-verdict.ts';
import type { RunReport } from '../report/model.ts';
import { RunFolder } from '../run-folder.ts';
import { bisect, type BisectResult, type Verdict } from '../stages/bisect.ts';
import { bisectExitCode, outcomeOf } from '../stages/bisect-exit.ts';
import { checkJudgedNames } from '../stages/judged.ts';
import { checkPatchSeries, type CheckedRun } from '../stages/patch-check.ts';
import { planRuns } from '../stages/plan.ts';
import { prepareRuns } from '../stages/prepare.ts';
import type { Backend } from '../vm/backend.ts';
import { writeReports } from '../stages/report.ts';
import { runKernel, type KernelRunEnvironment } from '../stages/run-kernel.ts';
import { chooseAccel } from '../vm/accel.ts';
import { reproduceLine } from './run.ts';

/** `bisect`'s own options: the commit taken to pass and the one taken to fail. */
export interface BisectRange {
  good: string;
  bad: string;
}

/** A run that could not judge its commit (bad input, the host): the bisection stops with its exit code. */
class BisectionStopped extends Error {
  constructor(readonly exitCode: number) {
    super(`stopped: exit ${exitCode}`);
  }
}

/** What a bisection is made of besides the stages: replaceable, so a unit test runs it on fakes. */
export interface BisectParts {
  /** Before any build: requirements, the backend's host, every input of the last commit checked. */
  prepare: (options: Options, emit: Emit) => Promise<CheckedRun[]>;
  /** The machine's backend (default: the one --backend names). */
  backend?: Backend;
}

/**
 * `syscall-lab bisect --kernel TREE --good A --bad B [--check NAME]`: the first commit of A..B
 * whose judged checks fail. Commit C is judged as `run --commits A..C` would: stock is A (built
 * once), patched is A plus the commits up to C, built incrementally in A's tree and cached by
 * content, so a commit judged again (the confirmation) is not built again. 0: a confirmed culprit;
 * 1: none confirmed (flaky, or skipped commits hide it); else the exit code of the run that stopped it.
 */
export async function bisectCommand(
  options: Options,
  range: BisectRange,
  emit: Emit,
  parts: BisectParts = { prepare: prepareRuns },
): Promise<number> {
  const { base, commits } = await bisectCommits(options, range);
  // Everything refusable (uncommitted changes, a commit without text) is refused before any build.
  const [last] = await parts.prepare(rangeOptions(options, base, commits.at(-1)), emit);
  const { accel, notice } = chooseAccel(options.accel);
  if (notice) emit({ type: 'notice', text: notice });
  const reports: RunReport[] = [];
  const latest = new Map<number, RunReport>();
  const judge = async (index: number): Promise<Verdict> => {
    const plan = index === commits.length - 1 && last ? last : await planCommit(options, base, commits[index]);
    const outcome = await runKernel(plan, {
      ...kernelEnvironment(plan, options, reports.length, accel, emit),
      ...(parts.backend && { backend: parts.backend }),
    });
    reports.push(outcome.report);
    latest.set(index, outcome.report);
    const code = bisectExitCode(outcomeOf(outcome.exitCode, outcome.failure), options.bisectSkipBuildFailures);
    if (code === ExitCode.abort) throw new BisectionStopped(outcome.exitCode);
    return code === ExitCode.ok ? 'pass' : code === ExitCode.checkFailed ? 'fail' : 'skip';
  };
  let result: BisectResult;
  try {
    result = await bisect(commits.length, judge);
  } catch (error) {
    if (!(error instanceof BisectionStopped)) throw error;
    await writeReports(reports, options, emit);
    return error.exitCode;
  }
  await writeReports(reports, options, emit);
  const verdict = verdictOf(result, base, commits, latest);
  emit({ type: 'bisect-verdict', verdict, ...((options.json === '-' || options.junit === '-') && { toStderr: true }) });
  return verdict.confirmed ? ExitCode.ok : ExitCode.checkFailed;
}

/** Good, and the commits of good..bad, oldest first; bad input for anything `bisect` cannot search. */
export async function bisectCommits(
  options: Options,
  range: BisectRange,
): Promise<{ base: Commit; commits: Commit[] }> {
  if (options.check) checkJudgedNames(options.check);
  const [kernel = '', ...others] = options.kernel;
  const given = [
    ['--commits', options.commits !== undefined],
    ['--each', options.each],
    ['--patches', options.patches !== undefined],
    ['--dirty', options.dirty],
    ['--worktree', options.worktree],
    ['--keep', options.keep],
    ['--bisect', options.bisect],
  ] as const;
  const refused = given.filter(([, set]) => set).map(([flag]) => flag);
  if (refused.length > 0 || others.length > 0 || kernel.includes('=')) {
    throw new BadInputError(
      `bisect takes one --kernel TREE and its --good and --bad${refused.length > 0 ? `, not ${refused.join(', ')}` : ''}`,
      'give --kernel TREE --good A --bad B (the commits of A..B are the patches; --check NAME to judge one check)',
    );
  }
  const repo = await gitRepositoryAt(realpathSync(kernel));
  if (!repo) {
    throw new BadInputError(
      `bisect needs a git work tree, and ${kernel} is not the top of one`,
      'give --kernel the top folder of your git kernel tree (where .git is)',
    );
  }
  return commitRange(repo, `${range.good}..${range.bad}`, `--good ${range.good} --bad ${range.bad}`);
}

/** The options of `run --commits good..commit`, the run that judges one commit. */
function rangeOptions(options: Options, good: Commit, commit: Commit | undefined): Options {
  return { ...options, commits: `${good.sha}..${commit?.sha ?? ''}` };
}

async function planCommit(options: Options, good: Commit, commit: Commit | undefined): Promise<CheckedRun> {
  const [plan] = await checkPatchSeries(await planRuns(rangeOptions(options, good, commit)));
  if (!plan) throw new Error(`no plan for ${commit?.sha ?? 'a commit'}`);
  return plan;
}

function kernelEnvironment(
  plan: CheckedRun,
  options: Options,
  runs: number,
  accel: KernelRunEnvironment['accel'],
  emit: Emit,
): KernelRunEnvironment {
  return { options, folder: RunFolder.create(runs), accel, emit, reproduce: reproduceLine(plan, options), keep: false };
}

/** The result as the closing lines show it: the culprit, its parent, and the checks' values on each. */
function verdictOf(
  result: BisectResult,
  base: Commit,
  commits: Commit[],
  latest: ReadonlyMap<number, RunReport>,
): BisectVerdict {
  const commitAt = (index: number): Commit => commits[index] ?? base;
  const judgedIndexes = new Set(result.judgements.map((judgement) => judgement.index));
  const counts = { commits: commits.length, judged: judgedIndexes.size, runs: result.judgements.length };
  if (result.culprit === undefined) {
    return {
      ...counts,
      candidates: result.candidates.map(commitAt),
      confirmed: false,
      evidence: { culprit: [], parent: [] },
    };
  }
  const culprit = latest.get(result.culprit);
  const failing = (culprit?.checks ?? []).filter((check) => check.status === 'fail' && check.judged !== false);
  const parentIndex = result.culprit - 1;
  const unconfirmed =
    result.recheck?.culprit !== 'fail'
      ? `it did not fail again (${result.recheck?.culprit ?? 'not judged'})`
      : result.recheck.parent !== undefined && result.recheck.parent !== 'pass'
        ? `its parent did not pass again (${result.recheck.parent})`
        : undefined;
  return {
    ...counts,
    culprit: commitAt(result.culprit),
    candidates: [commitAt(result.culprit)],
    confirmed: result.confirmed,
    ...(unconfirmed && { unconfirmed }),
    parent: { ...commitAt(parentIndex), given: parentIndex < 0 },
    evidence: {
      culprit: evidenceOf(culprit),
      parent:
        parentIndex < 0
          ? []
          : evidenceOf(
              latest.get(parentIndex),
              failing.map((check) => check.name),
            ),
    },
  };
}
