import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dir } from 'tmp-promise';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { leftoverQemu, startWatch } from '../e2e/helpers.ts';

// `npm run test:watch` (real 6.1 builds and boots; not part of `npm test`, see the README's Tests).
// A developer's loop: watch a copy of patches-6.1, save a correct change, then a wrong one.
describe('syscall-lab watch on Linux 6.1', () => {
  it('prints PASS for the first round and a correct edit, FAIL for an off-by-one taskcount, rebuilt incrementally; Ctrl-C exits 130', async () => {
    const patches = await dir({ unsafeCleanup: true });
    cpSync(join(projectRoot, 'patches-6.1'), patches.path, { recursive: true });
    const taskcount = join(patches.path, '0002-taskcount.patch');
    const edit = (from: string, to: string): void => {
      const text = readFileSync(taskcount, 'utf8');
      expect(text).toContain(from);
      // Same line count: the hunk headers stay right.
      writeFileSync(taskcount, text.replace(from, to));
    };
    const watch = startWatch(['--kernel', '6.1', '--patches', patches.path]);
    const compiledAfter = (mark: number): number[] =>
      [
        ...watch
          .stderr()
          .slice(mark)
          .matchAll(/built \S+-patched-\S+: (\d+) files compiled/g),
      ].map((m) => Number(m[1]));

    expect(await watch.verdict(1)).toMatch(/^PASS \(6\.1\.\d+-patched-[0-9a-f]{8}: \d+ passed, 0 failed/);
    // A correct change: a message of taskcount.c (ccache cannot serve the new object).
    let mark = watch.stderr().length;
    edit('pr_debug("counting task: %s %d\\n"', 'pr_debug("counted task: %s %d\\n"');
    expect(await watch.verdict(2)).toMatch(/^PASS /);
    const second = compiledAfter(mark);
    // Incremental: taskcount.o and the link, not the kernel (a full build compiles over a thousand files).
    expect(second).toHaveLength(1);
    expect(second[0]).toBeLessThan(50);
    // Wrong, and it compiles: one process too many.
    mark = watch.stderr().length;
    edit('unsigned long count = 0;', 'unsigned long count = 1;');
    const third = await watch.verdict(3);
    expect(third).toMatch(/^FAIL taskcount-matches-top, taskcount-matches-proc \(/);
    expect(third).toMatch(/console log: \/.*\.log$/);
    expect(compiledAfter(mark)[0]).toBeLessThan(50);
    // The stock control ran once, in the first round at most.
    expect(watch.stderr().match(/booting \S+-stock /g)?.length ?? 0).toBeLessThanOrEqual(1);

    expect(await watch.interrupt()).toBe(130);
    expect(await leftoverQemu()).toBe('');
    await patches.cleanup();
  });
});
