import type { RunCheck } from './check.ts';
import { result } from './check.ts';

/** The VM really runs the patched build: `uname -r` carries its LOCALVERSION. */
export const patchedKernelRunning: RunCheck = {
  name: 'patched-kernel-running',
  stage: 'patched',
  async run(context) {
    const { stdout, code } = await context.machine.exec('uname -r', { timeout: context.commandTimeout });
    const actual = stdout.trim();
    return [
      result(
        this.name,
        code === 0 && actual === context.patchedRelease,
        context.patchedRelease,
        actual || `exit ${code}`,
      ),
    ];
  },
};
