import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { leftoverQemu } from './helpers.ts';

const cli = (args: string[]) =>
  execa('node', [join(projectRoot, 'bin', 'syscall-lab.mjs'), ...args], { reject: false, all: true });

// The developer's loop: boot the patched 6.1 once (cached kernels), then check it again and again
// with `syscall-lab test` (no build, no boot), log in with `ssh`, and stop it with `clean --vms`.
describe('boot, then test the kept VM', () => {
  it('passes every patched check in the kept VM, fails a broken userland program, then stops it', async () => {
    const booted = await cli(['boot', '--kernel', '6.1']);
    expect(booted.exitCode, booted.all).toBe(0);
    expect(booted.all).toContain('VM kept running');
    try {
      const uname = await cli(['ssh', '--', 'uname', '-r']);
      expect(uname.stdout.trim()).toMatch(/^6\.1\.\d+-patched-[0-9a-f]{8}$/);

      const tested = await cli(['test']);
      expect(tested.exitCode, tested.all).toBe(0);
      expect(tested.stdout).toMatch(/PASS\s+taskcount-matches-top/);
      expect(tested.stdout).toMatch(/PASS\s+userland:taskcount_sane\.c/);
      expect(tested.stdout).not.toContain('enosys-control');

      const userland = await dir({ unsafeCleanup: true });
      mkdirSync(userland.path, { recursive: true });
      writeFileSync(
        join(userland.path, 'broken.c'),
        '#include <unistd.h>\n#include <sys/syscall.h>\nint main(void) { long n = 0; syscall(SYS_callcount, &n); return n == 0 ? 0 : 1; }\n',
      );
      const failing = await cli(['test', '--userland', userland.path]);
      expect(failing.exitCode, failing.all).toBe(1);
      expect(failing.stdout).toMatch(/FAIL\s+userland:broken\.c/);
      // Same kernel, same boot: the built-in checks are reported from the first `test`, marked so.
      expect(failing.stdout).toMatch(/PASS\s+taskcount-matches-top \(cached\)/);
      await userland.cleanup();

      const all = await cli(['test', '--all']);
      expect(all.exitCode, all.all).toBe(0);
      expect(all.stdout).toMatch(/PASS\s+taskcount-matches-top\s/);
      expect(all.stdout).not.toContain('(cached)');
    } finally {
      await cli(['clean', '--vms']);
    }
    expect(await leftoverQemu()).toBe('');
    expect((await cli(['test'])).exitCode).toBe(2);
  });
});
