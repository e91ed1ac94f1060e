import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileGuestPrograms, parseOutcomes } from '../../src/stages/guest-programs.ts';
import { LocalMachine, recordingGccMachine } from './support/local-machine.ts';
import { useTempDirs } from './support/temp.ts';

describe('the guest compile step', () => {
  const tempDir = useTempDirs();

  function setUp(): { machine: LocalMachine; guestDir: string; host: string; gccCalls: () => string[] } {
    const host = tempDir();
    const guestDir = tempDir();
    const { machine, gccCalls } = recordingGccMachine(tempDir());
    writeFileSync(join(host, 'syscall-lab-syscalls.h'), '#define SYS_answer 42\n');
    writeFileSync(join(host, 'good.c'), 'int main(void) { return SYS_answer - 42; }\n');
    writeFileSync(join(host, 'broken.c'), 'int main(void) { return }\n');
    return { machine, guestDir, host, gccCalls };
  }

  it('compiles the probe and every program in one step, with the syscall header, and keeps gcc errors per program', async () => {
    const { machine, guestDir, host, gccCalls } = setUp();
    const files = [join(host, 'good.c'), join(host, 'broken.c')];
    const compiled = await compileGuestPrograms(machine, guestDir, join(host, 'syscall-lab-syscalls.h'), files, 60_000);
    expect(gccCalls()).toHaveLength(3);
    expect(spawnSync(compiled.probe, ['enosys', '39']).stdout.toString()).toMatch(/^nr=39 ret=\d+ errno=0/);
    const good = compiled.userland.get(files[0]!);
    expect(good).toMatchObject({ ok: true, status: 0 });
    // SYS_answer came from the header: the program exits 0.
    expect(spawnSync(good!.binary).status).toBe(0);
    const broken = compiled.userland.get(files[1]!);
    expect(broken).toMatchObject({ ok: false, status: 1 });
    expect(broken!.log).toMatch(/broken\.c:1:.*error/);
  });

  it('compiles again only what changed since the last compile in this guest', async () => {
    const { machine, guestDir, host, gccCalls } = setUp();
    const header = join(host, 'syscall-lab-syscalls.h');
    const good = join(host, 'good.c');
    const first = await compileGuestPrograms(machine, guestDir, header, [good], 60_000);
    expect(gccCalls()).toHaveLength(2);
    const again = await compileGuestPrograms(machine, guestDir, header, [good], 60_000);
    expect(gccCalls()).toHaveLength(2);
    expect(again).toEqual(first);
    writeFileSync(good, 'int main(void) { return SYS_answer - 41; }\n');
    const changed = await compileGuestPrograms(machine, guestDir, header, [good], 60_000);
    expect(gccCalls()).toHaveLength(3);
    expect(changed.probe).toBe(first.probe);
    expect(changed.userland.get(good)?.binary).not.toBe(first.userland.get(good)?.binary);
    expect(spawnSync(changed.userland.get(good)!.binary).status).toBe(1);
    // A new header (other syscall numbers) recompiles the programs that include it, not the probe.
    writeFileSync(header, '#define SYS_answer 41\n');
    await compileGuestPrograms(machine, guestDir, header, [good], 60_000);
    expect(gccCalls()).toHaveLength(4);
  });

  /** A guest whose toolchain is not the host's: its stat (as the toolchain key sees it) adds a line in the guest only. */
  function otherGuest(bin: string): LocalMachine {
    writeFileSync(
      join(bin, 'stat'),
      '#!/bin/sh\n/usr/bin/stat "$@"\n[ -z "$GUEST" ] || echo "a toolchain of the guest\'s own"\n',
    );
    chmodSync(join(bin, 'stat'), 0o755);
    return new LocalMachine({ PATH: `${bin}:${process.env.PATH ?? ''}`, GUEST: '1' });
  }

  it('reuses what a guest compiled on the next boot of a guest with the same toolchain, and compiles again for another toolchain', async () => {
    const { guestDir, host } = setUp();
    const bin = tempDir();
    const machine = otherGuest(bin);
    const compiles = (): string[] =>
      machine.recorded.filter((call) => call.command.includes('compile()')).map((call) => call.command);
    const binaries = tempDir();
    const header = join(host, 'syscall-lab-syscalls.h');
    const good = join(host, 'good.c');
    const warns = join(host, 'warns.c');
    writeFileSync(warns, 'int main(void) { int unused; return SYS_answer - 42; }\n');
    const broken = join(host, 'broken.c');
    const first = await compileGuestPrograms(machine, guestDir, header, [good, warns, broken], 60_000, binaries);
    expect(compiles()).toHaveLength(1);
    expect(compiles()[0]).toMatch(/probe\.c(.|\n)*good\.c(.|\n)*warns\.c(.|\n)*broken\.c/);
    expect(machine.downloads).toHaveLength(3);
    // A new boot: the guest's /tmp is empty again, the toolchain the same. Only the program that did not compile is compiled again.
    rmSync(guestDir, { recursive: true });
    mkdirSync(guestDir);
    const second = await compileGuestPrograms(machine, guestDir, header, [good, warns, broken], 60_000, binaries);
    expect(compiles()).toHaveLength(2);
    expect(compiles()[1]).toContain('broken.c');
    expect(compiles()[1]).not.toMatch(/good\.c|warns\.c|probe\.c/);
    expect(spawnSync(second.probe, ['enosys', '39']).stdout.toString()).toMatch(/^nr=39 ret=\d+ errno=0/);
    expect(spawnSync(second.userland.get(good)!.binary).status).toBe(0);
    // gcc's warnings are kept with the binary.
    expect(second.userland.get(warns)).toMatchObject({ ok: true, status: 0, log: first.userland.get(warns)!.log });
    expect(second.userland.get(warns)!.log).toMatch(/unused variable/);
    expect(second.userland.get(broken)).toMatchObject({ ok: false, status: 1 });
    // Another gcc in the guest (another driver): nothing is reused.
    writeFileSync(join(bin, 'gcc'), '#!/bin/sh\n# another compiler\nexec /usr/bin/gcc "$@"\n');
    chmodSync(join(bin, 'gcc'), 0o755);
    rmSync(guestDir, { recursive: true });
    mkdirSync(guestDir);
    await compileGuestPrograms(machine, guestDir, header, [good], 60_000, binaries);
    expect(compiles()).toHaveLength(3);
    expect(compiles()[2]).toMatch(/probe\.c(.|\n)*good\.c/);
  });

  it('compiles on the host when the guest toolchain is the host one, with the same flags and gcc messages', async () => {
    const { machine, guestDir, host, gccCalls } = setUp();
    const binaries = tempDir();
    const header = join(host, 'syscall-lab-syscalls.h');
    const good = join(host, 'good.c');
    const broken = join(host, 'broken.c');
    const compiled = await compileGuestPrograms(machine, guestDir, header, [good, broken], 60_000, binaries);
    // No compile step ran in the guest, nothing was downloaded: the host's gcc (the guest's PATH) made them.
    expect(machine.recorded.some((call) => call.command.includes('compile()'))).toBe(false);
    expect(machine.downloads).toEqual([]);
    expect(gccCalls().filter((call) => call.includes(' -o '))).toHaveLength(3);
    expect(gccCalls().find((call) => call.includes('good.c'))).toMatch(
      new RegExp(`^-Wall -O2 -include ${header} -o \\S+ good\\.c$`),
    );
    expect(spawnSync(compiled.probe, ['enosys', '39']).stdout.toString()).toMatch(/^nr=39 ret=\d+ errno=0/);
    expect(spawnSync(compiled.userland.get(good)!.binary).status).toBe(0);
    expect(compiled.userland.get(broken)).toMatchObject({ ok: false, status: 1 });
    expect(compiled.userland.get(broken)!.log).toMatch(/^broken\.c:1:.*error/m);
  });

  it('stops with an infrastructure error when the probe does not compile', async () => {
    const { guestDir, host } = setUp();
    const bin = tempDir();
    writeFileSync(join(bin, 'gcc'), '#!/bin/sh\necho "probe.c:1:1: error: no compiler here" >&2\nexit 1\n');
    chmodSync(join(bin, 'gcc'), 0o755);
    const machine = new LocalMachine({ PATH: `${bin}:${process.env.PATH ?? ''}` });
    const error = await compileGuestPrograms(machine, guestDir, join(host, 'syscall-lab-syscalls.h'), [], 60_000).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ exitCode: 3, message: expect.stringContaining('no compiler here') as unknown });
  });
});

describe('parseOutcomes', () => {
  it('reads each program status and gcc output, and no status as null', () => {
    const outcomes = parseOutcomes('=== aa 0\n=== bb 1\nb.c:1: error: x\nmore\n=== cc \n');
    expect(outcomes.get('aa')).toEqual({ status: 0, log: '' });
    expect(outcomes.get('bb')).toEqual({ status: 1, log: 'b.c:1: error: x\nmore' });
    expect(outcomes.get('cc')).toEqual({ status: null, log: '' });
  });
});
