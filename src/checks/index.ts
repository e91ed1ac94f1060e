import type { CheckResult } from '../report/model.ts';
import type { Check } from './check.ts';
import { badPointerEfault } from './bad-pointer-efault.ts';
import { callcountIncrements } from './callcount-increments.ts';
import { conformance } from './conformance.ts';
import { enosysControl } from './enosys-control.ts';
import { patchedKernelRunning } from './patched-kernel-running.ts';
import { taskcountMatchesProc } from './taskcount-matches-proc.ts';
import { taskcountMatchesTop } from './taskcount-matches-top.ts';
import { userland } from './userland.ts';

/** Every check, in the order they run. */
export const allChecks: Check[] = [
  enosysControl,
  patchedKernelRunning,
  taskcountMatchesTop,
  taskcountMatchesProc,
  callcountIncrements,
  badPointerEfault,
  userland,
  conformance,
];

/** The check that compiles and runs the userland programs (what `test` reruns on a kept VM). */
export const runsUserland = (check: Check): boolean => check === userland;

/** The built-in checks' results: neither a userland program's nor the console's judgement. */
export function builtinResults(results: CheckResult[]): CheckResult[] {
  return results.filter((result) => !/^(userland|kernel-console|conformance):/.test(result.name));
}
