// `syscall-lab bisect`'s search, apart from builds and machines: a binary search over the commits
// of good..bad for the first one that fails, judged through an injected `judge`, then confirmed.

/** A commit's verdict: its judged checks passed, one failed, or it cannot be tested (as git's skip). */
export type Verdict = 'pass' | 'fail' | 'skip';

export interface Judgement {
  index: number;
  verdict: Verdict;
  /** The confirmation's deliberate second look (its build reused, its checks run again). */
  recheck: boolean;
}

export interface BisectResult {
  /** The first failing commit's index; undefined when skipped commits hide it (see candidates). */
  culprit?: number;
  /** Skipped commits left it open: every index that may be the first failing one, oldest first. */
  candidates: number[];
  /** The culprit failed again and its parent passed again (the parent of index 0 is --good: given). */
  confirmed: boolean;
  /** The confirmation's verdicts: the culprit's, and its parent's unless the parent is --good. */
  recheck?: { culprit: Verdict; parent?: Verdict };
  /** Every judgement, in order. */
  judgements: Judgement[];
}

/**
 * The first failing commit among `count` commits, oldest first (index 0 is good's child; good
 * itself is taken to pass and the last one, bad, to fail, as git bisect takes them). Each commit is
 * judged at most once during the search (verdicts are kept); a skipped one is replaced by its
 * nearest untested neighbour, as git bisect does. Then the culprit is judged again (it must fail)
 * and so is its parent (it must pass): a flaky result is reported unconfirmed, never as the answer.
 * With 2^n commits the search judges at most n commits, the confirmation at most one more.
 */
export async function bisect(count: number, judge: (index: number) => Promise<Verdict>): Promise<BisectResult> {
  const verdicts = new Map<number, Verdict>();
  const judgements: Judgement[] = [];
  const look = async (index: number, recheck: boolean): Promise<Verdict> => {
    const verdict = await judge(index);
    judgements.push({ index, verdict, recheck });
    return verdict;
  };
  let good = -1;
  let bad = count - 1;
  for (let next = nextToJudge(good, bad, verdicts); next !== undefined; next = nextToJudge(good, bad, verdicts)) {
    const verdict = await look(next, false);
    verdicts.set(next, verdict);
    if (verdict === 'pass') good = next;
    else if (verdict === 'fail') bad = next;
  }
  const skipped = between(good, bad).filter((index) => verdicts.get(index) === 'skip');
  if (skipped.length > 0) return { candidates: [...skipped, bad], confirmed: false, judgements };
  const culprit = await look(bad, verdicts.has(bad));
  const parent = bad > 0 ? await look(bad - 1, true) : undefined;
  const confirmed = culprit === 'fail' && (parent === undefined || parent === 'pass');
  return {
    culprit: bad,
    candidates: [bad],
    confirmed,
    recheck: { culprit, ...(parent && { parent }) },
    judgements,
  };
}

/** The untested commit strictly between good and bad nearest their middle (later first on a tie); none: done. */
function nextToJudge(good: number, bad: number, verdicts: ReadonlyMap<number, Verdict>): number | undefined {
  const middle = Math.floor((good + bad) / 2);
  const open = between(good, bad).filter((index) => !verdicts.has(index));
  return open.sort((a, b) => Math.abs(a - middle) - Math.abs(b - middle) || b - a)[0];
}

function between(low: number, high: number): number[] {
  return Array.from({ length: Math.max(0, high - low - 1) }, (_, offset) => low + 1 + offset);
}
