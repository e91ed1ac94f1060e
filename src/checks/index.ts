import type { Check } from './check.ts';
import { badPointerEfault } from './bad-pointer-efault.ts';
import { callcountIncrements } from './callcount-increments.ts';
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
];
