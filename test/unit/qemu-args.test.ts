import { BadInputError } from '../../src/errors.ts';
import { describe, expect, it } from 'vitest';
import {
  filesystemArguments,
  gdbArguments,
  kernelArguments,
  machineArguments,
  networkArguments,
  qemuArguments,
  optionPath,
  type QemuBoot,
} from '../../src/vm/qemu-args.ts';

const boot: QemuBoot = Object.freeze({
  ownerPid: 4242,
  accel: 'tcg',
  cpus: 3,
  memoryMiB: 1536,
  kernelImage: '/cache/builds/abc/bzImage',
  kernelCommandLine: 'console=ttyS0 root=/dev/root rootfstype=9p ro panic=-1 loglevel=7',
  consolePath: '/cache/runs/r1/console-1-6.1.192-stock.log',
  rootDir: '/',
  shareDir: '/cache/runs/r1/guest',
  sshPort: 40222,
  pidFile: '/cache/runs/r1/qemu-self.pid',
});

/** Options that take no value; every other option must be followed by its value. */
const FLAGS = new Set(['-nodefaults', '-no-user-config', '-no-reboot']);

/** The value of the only occurrence of `option`. */
function valueOf(args: string[], option: string): string {
  const at = args.flatMap((arg, i) => (arg === option ? [i] : []));
  expect(at, `${option} appears once`).toHaveLength(1);
  const value = args[at[0]! + 1];
  expect(value, `${option} has a value`).toBeDefined();
  return value!;
}

/** The values of every occurrence of `option`. */
function valuesOf(args: string[], option: string): string[] {
  return args.flatMap((arg, i) => (arg === option ? [args[i + 1]!] : []));
}

/** "local,id=root,path=/,readonly=on" -> { kind: 'local', id: 'root', path: '/', readonly: 'on' }. */
function properties(value: string): Record<string, string> {
  const [kind = '', ...pairs] = value.split(',');
  return {
    kind,
    ...Object.fromEntries(
      pairs.map((pair) => {
        const at = pair.indexOf('=');
        return at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
      }),
    ),
  };
}

describe('machineArguments', () => {
  it('uses KVM with the host CPU under kvm', () => {
    const args = machineArguments({ ...boot, accel: 'kvm' });
    expect(valueOf(args, '-accel')).toBe('kvm');
    expect(valueOf(args, '-cpu')).toBe('host');
  });

  it('uses TCG with the max CPU under tcg', () => {
    const args = machineArguments({ ...boot, accel: 'tcg' });
    expect(valueOf(args, '-accel')).toBe('tcg');
    expect(valueOf(args, '-cpu')).toBe('max');
  });

  it('sizes the machine from the input', () => {
    const args = machineArguments(boot);
    expect(valueOf(args, '-smp')).toBe('3');
    expect(valueOf(args, '-m')).toBe('1536');
    const other = machineArguments({ ...boot, cpus: 1, memoryMiB: 512 });
    expect(valueOf(other, '-smp')).toBe('1');
    expect(valueOf(other, '-m')).toBe('512');
  });

  it('has no reboot, no default devices and no display', () => {
    const args = machineArguments(boot);
    expect(args).toContain('-no-reboot');
    expect(args).toContain('-nodefaults');
    expect(valueOf(args, '-display')).toBe('none');
  });

  it("names the process after the owner's pid and writes QEMU's own pidfile", () => {
    const args = machineArguments(boot);
    expect(valueOf(args, '-name')).toBe('syscall-lab,process=syscall-lab-4242');
    expect(valueOf(machineArguments({ ...boot, ownerPid: 7 }), '-name')).toBe('syscall-lab,process=syscall-lab-7');
    expect(valueOf(args, '-pidfile')).toBe('/cache/runs/r1/qemu-self.pid');
  });
});

describe('kernelArguments', () => {
  it('boots exactly the given image with exactly the given command line', () => {
    const args = kernelArguments(boot);
    expect(valueOf(args, '-kernel')).toBe(boot.kernelImage);
    expect(valueOf(args, '-append')).toBe(boot.kernelCommandLine);
  });

  it('sends the serial console to a file chardev at the console path', () => {
    const args = kernelArguments(boot);
    const chardev = properties(valueOf(args, '-chardev'));
    expect(chardev).toEqual({ kind: 'file', id: 'console', path: boot.consolePath });
    expect(valueOf(args, '-serial')).toBe(`chardev:${chardev.id}`);
  });
});

describe('filesystemArguments', () => {
  it('exports the root and the share read-only, with their mount tags', () => {
    const args = filesystemArguments(boot);
    const fsdevs = valuesOf(args, '-fsdev').map(properties);
    expect(fsdevs).toHaveLength(2);
    const byId = new Map(fsdevs.map((fsdev) => [fsdev.id, fsdev]));
    const tags = valuesOf(args, '-device')
      .map(properties)
      .filter((device) => device.kind === 'virtio-9p-pci');
    expect(tags.map((device) => device.mount_tag).sort()).toEqual(['/dev/root', 'syscalllab']);

    const exported = (tag: string): Record<string, string> => {
      const device = tags.find((d) => d.mount_tag === tag);
      const fsdev = byId.get(device?.fsdev);
      expect(fsdev, `an fsdev for ${tag}`).toBeDefined();
      return fsdev!;
    };
    const root = exported('/dev/root');
    expect(root).toMatchObject({ kind: 'local', path: '/', readonly: 'on', multidevs: 'remap' });
    const share = exported('syscalllab');
    expect(share).toMatchObject({ kind: 'local', path: '/cache/runs/r1/guest', readonly: 'on' });
    for (const fsdev of fsdevs) expect(fsdev.security_model).toBe('none');
  });

  it('follows the given folders', () => {
    const args = filesystemArguments({ rootDir: '/srv/root', shareDir: '/tmp/share' });
    const paths = valuesOf(args, '-fsdev').map((value) => properties(value).path);
    expect(paths).toEqual(['/srv/root', '/tmp/share']);
  });
});

describe('networkArguments', () => {
  it('restricts user networking and forwards only SSH from the loopback', () => {
    const args = networkArguments(boot);
    const netdev = properties(valueOf(args, '-netdev'));
    expect(netdev.kind).toBe('user');
    expect(netdev.restrict).toBe('on');
    expect(netdev.hostfwd).toBe('tcp:127.0.0.1:40222-:22');
    expect(valueOf(args, '-netdev').match(/hostfwd=/g)).toHaveLength(1);
    const nic = valuesOf(args, '-device')
      .map(properties)
      .find((device) => device.kind === 'virtio-net-pci');
    expect(nic?.netdev).toBe(netdev.id);
  });

  it('has no other forward anywhere on the command line', () => {
    const forwards = qemuArguments(boot).filter((arg) => arg.includes('hostfwd'));
    expect(forwards).toEqual([`user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:40222-:22`]);
    expect(qemuArguments({ ...boot, sshPort: 2222 }).join(' ')).toContain('hostfwd=tcp:127.0.0.1:2222-:22');
  });
});

describe('qemuArguments', () => {
  it('is the machine, kernel, filesystem and network arguments, in that order', () => {
    expect(qemuArguments(boot)).toEqual([
      ...machineArguments(boot),
      ...kernelArguments(boot),
      ...filesystemArguments(boot),
      ...networkArguments(boot),
    ]);
  });

  it('follows every option that takes a value with its value', () => {
    for (const accel of ['kvm', 'tcg'] as const) {
      const args = qemuArguments({ ...boot, accel });
      let options = 0;
      for (let i = 0; i < args.length; i++) {
        const arg = args[i]!;
        expect(arg.startsWith('-'), `argument ${i} (${arg}) is an option`).toBe(true);
        options++;
        if (FLAGS.has(arg)) continue;
        const value = args[i + 1];
        expect(value, `${arg} is followed by a value`).toBeDefined();
        expect(value!.startsWith('-'), `${arg} is followed by ${value}, not a value`).toBe(false);
        expect(value!.trim(), `${arg} has a non-empty value`).not.toBe('');
        i++;
      }
      expect(options).toBeGreaterThan(FLAGS.size);
      for (const flag of FLAGS) expect(args).toContain(flag);
    }
  });

  it('is pure: the same input gives the same output, and the input is not changed', () => {
    const copy = structuredClone(boot);
    const first = qemuArguments(boot);
    const second = qemuArguments({ ...boot });
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(boot).toEqual(copy);
    first.push('-mutated');
    expect(qemuArguments(boot)).toEqual(second);
  });
});

describe('paths in QEMU option values', () => {
  it('doubles commas, as QEMU escapes them', () => {
    expect(optionPath('/cache,with,commas/run')).toBe('/cache,,with,,commas/run');
    expect(optionPath('/plain/path')).toBe('/plain/path');
  });

  it('refuses a path with a line break (bad input)', () => {
    expect(() => optionPath('/cache\nrun')).toThrow(BadInputError);
    expect(() => optionPath('/cache\rrun')).toThrow(/line break/);
  });

  it('escapes the console, root and share paths, and leaves plain-argument paths alone', () => {
    const args = qemuArguments({
      ownerPid: 1,
      accel: 'tcg',
      cpus: 1,
      memoryMiB: 512,
      kernelImage: '/a,b/bzImage',
      kernelCommandLine: 'console=ttyS0',
      consolePath: '/a,b/console.log',
      rootDir: '/a,b/view',
      shareDir: '/a,b/guest',
      sshPort: 2222,
      pidFile: '/a,b/qemu-self.pid',
    });
    expect(args).toContain('file,id=console,path=/a,,b/console.log');
    expect(args.find((arg) => arg.startsWith('local,id=root,'))).toContain('path=/a,,b/view,');
    expect(args.find((arg) => arg.startsWith('local,id=lab,'))).toContain('path=/a,,b/guest,');
    expect(args[args.indexOf('-kernel') + 1]).toBe('/a,b/bzImage');
    expect(args[args.indexOf('-pidfile') + 1]).toBe('/a,b/qemu-self.pid');
  });
});

describe("gdbArguments: QEMU's gdbstub for --gdb", () => {
  it('none without --gdb', () => {
    expect(gdbArguments(boot)).toEqual([]);
    expect(qemuArguments(boot)).not.toContain('-gdb');
    expect(qemuArguments(boot)).not.toContain('-S');
  });

  it('on 127.0.0.1 only (never -s, which listens on every address); -S only with --gdb-wait', () => {
    const running = qemuArguments({ ...boot, gdb: { port: 41234, wait: false } });
    expect(valueOf(running, '-gdb')).toBe('tcp:127.0.0.1:41234');
    expect(running).not.toContain('-S');
    expect(running).not.toContain('-s');
    const waiting = qemuArguments({ ...boot, gdb: { port: 41234, wait: true } });
    expect(waiting).toContain('-S');
    expect(waiting.slice(-3)).toEqual(['-gdb', 'tcp:127.0.0.1:41234', '-S']);
  });
});
