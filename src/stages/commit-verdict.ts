import { ExitCode } from '../errors.ts';
import type { Emit } from '../events.ts';
import type { GitSource } from '../kernel/git.ts';
import type { GitInfo } from '../report/model.ts';
import type { PlannedRun } from './plan.ts';

/** What a report says of a git kernel tree's run (report.kernel.git). */
export function gitInfo(git: GitSource): GitInfo {
  return {
    repository: git.repository,
    base: git.base.sha,
    ...(git.commit && { commit: git.commit.sha, subject: git.commit.subject }),
    dirty: git.dirty,
  };
}

/**
 * `run --each`: one line after the summary naming the first commit of the range that failed (its
 * patched build did not compile, or a check failed: exit 1). A commit whose run stopped for
 * another reason (the host, the stock kernel) got no verdict and is not blamed.
 */
export function emitFirstFailingCommit(plans: PlannedRun[], exitCodes: number[], emit: Emit, toStderr?: boolean): void {
  const failing = exitCodes.findIndex((code) => code === ExitCode.checkFailed);
  const commit = plans[failing]?.source.git?.commit;
  const judged = exitCodes.filter((code) => code === ExitCode.ok || code === ExitCode.checkFailed).length;
  emit({
    type: 'first-failing-commit',
    ...(commit && { commit: { sha: commit.sha, subject: commit.subject } }),
    judged,
    commits: plans.length,
    ...(toStderr && { toStderr }),
  });
}
