import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { dir, type DirectoryResult } from 'tmp-promise';
import { prepareGuestKeys } from '../../src/guest/rootfs.ts';
import { prepareGuestView } from '../../src/guest/view.ts';
import { BootError } from '../../src/vm/machine.ts';
import type { GdbTarget } from '../../src/vm/gdb.ts';
import { QemuMachine } from '../../src/vm/qemu.ts';
import { RunFolder } from '../../src/run-folder.ts';

// A fake qemu-system-x86_64 on PATH that records its arguments, then fails or hangs:
// what the harness asks of QEMU, and that it cleans up after it, without booting anything.
let bin: DirectoryResult;
let runDir: DirectoryResult;
const originalPath = process.env.PATH;

function fakeQemu(behaviour: 'fail' | 'hang'): void {
  const body =
    behaviour === 'fail'
      ? 'echo "qemu-system-x86_64: -accel kvm: Could not access KVM kernel module: No such file or directory" >&2; exit 1'
      : 'exec sleep 300';
  const script = join(bin.path, 'qemu-system-x86_64');
  writeFileSync(
    script,
    `#!/bin/sh\nprintf '%s\\n' "$@" > "${join(bin.path, 'args')}"\nenv > "${join(bin.path, 'env')}"\n${body}\n`,
  );
  chmodSync(script, 0o755);
}

beforeAll(async () => {
  bin = await dir({ unsafeCleanup: true });
  runDir = await dir({ unsafeCleanup: true });
  process.env.PATH = `${bin.path}:${originalPath}`;
});

afterAll(async () => {
  process.env.PATH = originalPath;
  await bin.cleanup();
  await runDir.cleanup();
});

async function machine(
  bootTimeout: number,
  { gdb, announce }: { gdb?: GdbTarget; announce?: (text: string) => void } = {},
): Promise<QemuMachine> {
  const folder = new RunFolder(runDir.path);
  const keys = await prepareGuestKeys(folder);
  return new QemuMachine({
    folder,
    kernel: { image: '/boot/fake-bzImage', release: '6.1.0-stock', ...(gdb && { gdb }) },
    ...(announce && { announce }),
    keys,
    view: prepareGuestView(folder),
    accel: 'tcg',
    cpus: 2,
    memoryMiB: 1024,
    kernelArgs: ['loglevel=7'],
    bootTimeout,
  });
}

describe('QemuMachine with a fake qemu on PATH', () => {
  it('asks for a safe VM: no reboot, panic ends it, restricted user net, SSH on 127.0.0.1 only', async () => {
    fakeQemu('fail');
    process.env.GITHUB_TOKEN = 'secret';
    process.env.SOME_HARMLESS_SETTING = 'also not for QEMU';
    const vm = await machine(20_000);
    const error = await vm.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootError);
    expect((error as BootError).message).toContain('Could not access KVM kernel module');
    const args = readFileSync(join(bin.path, 'args'), 'utf8').split('\n');
    expect(args).toContain('-no-reboot');
    expect(args[args.indexOf('-accel') + 1]).toBe('tcg');
    expect(args[args.indexOf('-kernel') + 1]).toBe('/boot/fake-bzImage');
    const append = args[args.indexOf('-append') + 1]!;
    expect(append).toContain('panic=-1');
    expect(append).toContain('loglevel=7');
    expect(append).toContain('rootfstype=9p');
    const netdev = args[args.indexOf('-netdev') + 1]!;
    expect(netdev).toContain('restrict=on');
    expect(netdev).toMatch(/hostfwd=tcp:127\.0\.0\.1:\d+-:22/);
    expect(args.filter((a) => a.includes('readonly=on'))).toHaveLength(2);
    // QEMU, started in bubblewrap, sees only PATH, LANG, LC_* and TMPDIR of the harness's environment.
    const names = readFileSync(join(bin.path, 'env'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('=')[0] ?? '');
    expect(names.filter((name) => !/^(PATH|LANG|LC_\w+|TMPDIR|PWD|SHLVL|_)$/.test(name))).toEqual([]);
    expect(names).toContain('PATH');
  });

  it('--gdb: the stub on the loopback, stopped with --gdb-wait, and the gdb line said as QEMU starts', async () => {
    fakeQemu('fail');
    const said: string[] = [];
    const vm = await machine(20_000, {
      gdb: { buildDir: '/cache/builds/abc', wait: true },
      announce: (text) => said.push(text),
    });
    await vm.start().catch(() => undefined);
    const args = readFileSync(join(bin.path, 'args'), 'utf8').split('\n');
    const stub = args[args.indexOf('-gdb') + 1]!;
    expect(stub).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
    expect(args).toContain('-S');
    expect(said).toEqual([expect.stringContaining(`target remote 127.0.0.1:${stub.split(':').at(-1)}`)]);
  });

  it('gives up on a guest that never answers SSH, with the console, and kills QEMU', async () => {
    fakeQemu('hang');
    const vm = await machine(3000);
    const started = Date.now();
    const error = await vm.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootError);
    expect((error as BootError).message).toMatch(/did not reach SSH.*no SSH login/);
    expect(Date.now() - started).toBeLessThan(20_000);
    const pid = Number(readFileSync(join(runDir.path, 'qemu.pid'), 'utf8'));
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    const leftover = await execa('pgrep', ['-f', `${bin.path}/qemu-system-x86_64`], { reject: false });
    expect(leftover.stdout).toBe('');
  });
});
