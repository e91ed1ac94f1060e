import { spawnSync } from 'node:child_process';
import { release } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckContext } from '../../src/checks/check.ts';
import { EFAULT, EINVAL, parseProbeLines } from '../../src/checks/check.ts';
import { directMapBase } from '../../src/checks/direct-map.ts';
import type { ArgsAnswer, ArgsOutcome, ProbeArg } from '../../src/checks/probe-args.ts';
import { callsWithArgs, parseArgsAnswer, probeArgsCommand } from '../../src/checks/probe-args.ts';
import { projectRoot } from '../../src/paths.ts';
import { hostProbeContext } from './support/local-machine.ts';

const probeSource = join(projectRoot, 'src', 'checks', 'guest', 'probe.c');
const directMap = '0xffff888000000000';

describe('probeArgsCommand', () => {
  it('writes the mode, the number, the direct map, then one spec per argument in order', () => {
    const args: ProbeArg[] = [
      { kind: 'buffer', size: 8 },
      { kind: 'int', value: 0n },
      { kind: 'bad', pointer: 'kernel-writable' },
      { kind: 'int', value: 0xffffffffn },
    ];
    expect(probeArgsCommand(451, directMap, args)).toEqual([
      'args',
      451,
      directMap,
      'buf:8',
      'int:0',
      'bad:kernel-writable',
      'int:4294967295',
    ]);
  });

  it('writes negative values as negative decimal and the top of 64 bits in full', () => {
    const args: ProbeArg[] = [
      { kind: 'int', value: -1n },
      { kind: 'int', value: -(2n ** 63n) },
      { kind: 'int', value: 2n ** 64n - 1n },
    ];
    expect(probeArgsCommand(318, directMap, args).slice(3)).toEqual([
      'int:-1',
      'int:-9223372036854775808',
      'int:18446744073709551615',
    ]);
  });

  it('takes no arguments at all', () => {
    expect(probeArgsCommand(39, directMap, [])).toEqual(['args', 39, directMap]);
  });
});

describe('parseArgsAnswer', () => {
  const parse = (text: string): ArgsAnswer | undefined => {
    const [line] = parseProbeLines(text);
    return line && parseArgsAnswer(line);
  };

  it('reads the result, every buffer with its guard, and every watched page, by argument index', () => {
    const answer = parse(
      'ret=16 errno=0 buf0=4c696e7578 guard0=ok page1=unchanged buf3=a5a5 guard3=clobbered page4=changed',
    );
    expect(answer).toEqual({
      ret: 16n,
      errno: 0,
      buffers: new Map([
        [0, { bytes: Buffer.from('Linux'), guard: 'ok' }],
        [3, { bytes: Buffer.from([0xa5, 0xa5]), guard: 'clobbered' }],
      ]),
      pages: new Map([
        [1, 'unchanged'],
        [4, 'changed'],
      ]),
      unavailable: new Map(),
    });
  });

  it('keeps a return value past 2^53 exact and a negative one', () => {
    expect(parse('ret=9007199254740993 errno=0')?.ret).toBe(2n ** 53n + 1n);
    expect(parse('ret=-1 errno=14')).toMatchObject({ ret: -1n, errno: EFAULT });
  });

  it('reads a line without a call: each bad pointer the probe could not make, and no result', () => {
    expect(parse('unavailable0=mlock-failed unavailable2=no-frame-in-pagemap')).toEqual({
      ret: null,
      errno: null,
      buffers: new Map(),
      pages: new Map(),
      unavailable: new Map([
        [0, 'mlock-failed'],
        [2, 'no-frame-in-pagemap'],
      ]),
    });
  });

  it('is undefined for a line that is not an answer of args mode', () => {
    for (const text of [
      'errno=0', // no ret
      'ret=0', // no errno
      'kind=null ret=-1 errno=14', // efault mode
      'ret=0 errno=0 value=5 guard=ok', // call mode
      'ret=0x10 errno=0',
      'ret=0 errno=0 buf0=a5a guard0=ok', // half a byte
      'ret=0 errno=0 buf0=zz guard0=ok',
      'ret=0 errno=0 buf0=a5', // no guard
      'ret=0 errno=0 buf0=a5 guard0=maybe',
      'ret=0 errno=0 page0=gone',
      'ret=0 errno=0 unavailable0=mlock-failed', // a call and no call
    ])
      expect(parse(text), text).toBeUndefined();
  });
});

// The probe against this host's kernel, with x86-64's syscall numbers.
describe.runIf(process.platform === 'linux' && process.arch === 'x64')('probe args on the host kernel', () => {
  const getrandom = 318;
  const uname = 63;
  const getpid = 39;
  let dir: string;
  let remove: () => void;
  let context: CheckContext;
  /** The probe run directly: its exit code and output. */
  const probe = (...args: string[]): { code: number | null; stdout: string; stderr: string } => {
    const run = spawnSync(context.probe, args, { encoding: 'utf8' });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  };
  const callWithArgs = async (nr: number, args: ProbeArg[]): Promise<ArgsOutcome> =>
    (await callsWithArgs(context, [{ probe: context.probe, nr, args }]))[0]!;
  const call = async (nr: number, args: ProbeArg[]): Promise<ArgsAnswer> => {
    const { answer, code, output } = await callWithArgs(nr, args);
    expect(code, output).toBe(0);
    expect(answer, output).toBeDefined();
    return answer!;
  };
  const random16 = (flags: bigint): ProbeArg[] => [
    { kind: 'buffer', size: 16 },
    { kind: 'int', value: 16n },
    { kind: 'int', value: flags },
  ];
  const badInto = (pointer: 'null' | 'unmapped' | 'kernel' | 'kernel-writable' | 'readonly'): ProbeArg[] => [
    { kind: 'bad', pointer },
    { kind: 'int', value: 16n },
    { kind: 'int', value: 0n },
  ];

  beforeAll(async () => {
    // Compiled by the guest compile step with this host as the guest, as guest-programs.test.ts does.
    ({ context, dir, remove } = await hostProbeContext('syscall-lab-probe-args-', { added: [], signatures: [] }));
  });

  afterAll(() => {
    remove();
  });

  it('compiles with -Wall -Wextra -Werror', () => {
    const out = join(dir, 'probe-strict');
    const gcc = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-o', out, probeSource], {
      encoding: 'utf8',
    });
    expect(gcc.stderr).toBe('');
    expect(gcc.status).toBe(0);
  });

  it('hands the kernel version its direct map', async () => {
    const { output } = await callWithArgs(getpid, []);
    expect(output.split('\n')[0]).toBe(`$ ${context.probe} args ${getpid} ${directMapBase(release())}`);
  });

  it('calls getrandom into a buffer: 16 bytes written, none past them', async () => {
    const answer = await call(getrandom, random16(0n));
    expect(answer).toMatchObject({ ret: 16n, errno: 0 });
    const buffer = answer.buffers.get(0);
    expect(buffer?.bytes).toHaveLength(16);
    expect(buffer?.bytes.every((byte) => byte === 0xa5)).toBe(false);
    expect(buffer?.guard).toBe('ok');
  });

  it('gives EINVAL for unknown flags, and leaves the buffer filled', async () => {
    const answer = await call(getrandom, random16(0xffffffffn));
    expect(answer).toMatchObject({ ret: -1n, errno: EINVAL });
    expect(answer.buffers.get(0)).toEqual({ bytes: Buffer.alloc(16, 0xa5), guard: 'ok' });
    // The same in the probe's own hex.
    expect(probe('args', String(getrandom), directMap, 'buf:16', 'int:16', 'int:0xffffffff')).toEqual({
      code: 0,
      stdout: `ret=-1 errno=${EINVAL} buf0=${'a5'.repeat(16)} guard0=ok\n`,
      stderr: '',
    });
  });

  it('gives EFAULT for NULL, an unmapped page and kernel text', async () => {
    for (const pointer of ['null', 'unmapped', 'kernel'] as const) {
      const answer = await call(getrandom, badInto(pointer));
      expect(answer, pointer).toEqual({
        ret: -1n,
        errno: EFAULT,
        buffers: new Map(),
        pages: new Map(),
        unavailable: new Map(),
      });
    }
  });

  it('gives EFAULT for read-only memory and leaves it unchanged', async () => {
    const answer = await call(getrandom, badInto('readonly'));
    expect(answer).toMatchObject({ ret: -1n, errno: EFAULT });
    expect(answer.pages).toEqual(new Map([[0, 'unchanged']]));
  });

  it("gives EFAULT for the direct map's alias of the probe's page, or says why it has none (not root)", async () => {
    const answer = await call(getrandom, badInto('kernel-writable'));
    if (answer.unavailable.size > 0) {
      expect(answer.ret).toBeNull();
      expect(answer.unavailable.get(0)).toMatch(/^(no-frame-in-pagemap|mlock-failed)$/);
    } else {
      expect(answer).toMatchObject({ ret: -1n, errno: EFAULT });
      expect(answer.pages).toEqual(new Map([[0, 'unchanged']]));
    }
  });

  it('does not call when a bad pointer cannot be made, and says which and why', () => {
    // No locked memory: mlock fails (root keeps CAP_IPC_LOCK, so it runs as nobody).
    const asNobody = process.getuid?.() === 0 ? 'setpriv --reuid=65534 --regid=65534 --clear-groups ' : '';
    const run = spawnSync(
      'sh',
      [
        '-c',
        `ulimit -l 0 && ${asNobody}${context.probe} args ${getrandom} ${directMap} bad:kernel-writable int:16 int:0`,
      ],
      { encoding: 'utf8' },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('unavailable0=mlock-failed\n');
  });

  it('calls uname into a 390-byte buffer: struct utsname, "Linux" first', async () => {
    const answer = await call(uname, [{ kind: 'buffer', size: 390 }]);
    expect(answer).toMatchObject({ ret: 0n, errno: 0 });
    const buffer = answer.buffers.get(0);
    expect(buffer?.bytes.subarray(0, 6).toString('latin1')).toBe('Linux\0');
    expect(buffer?.guard).toBe('ok');
    expect(probe('args', String(uname), directMap, 'buf:390').stdout).toMatch(/^ret=0 errno=0 buf0=4c696e757800/);
  });

  it('calls a syscall without arguments', async () => {
    const answer = await call(getpid, []);
    expect(answer.ret).toBeGreaterThan(0n);
    expect(answer.errno).toBe(0);
  });

  it('sees a write past the buffer in the guard bytes', async () => {
    const answer = await call(getrandom, [
      { kind: 'buffer', size: 16 },
      { kind: 'int', value: 20n },
      { kind: 'int', value: 0n },
    ]);
    expect(answer.ret).toBe(20n);
    expect(answer.buffers.get(0)?.guard).toBe('clobbered');
  });

  it('stops a write past the guard bytes at an inaccessible page, not in the probe', async () => {
    // A count of 2^64-1: getrandom writes until it faults (or faults at once on older kernels).
    const answer = await call(getrandom, [
      { kind: 'buffer', size: 16 },
      { kind: 'int', value: -1n },
      { kind: 'int', value: 0n },
    ]);
    expect(answer.buffers.get(0)?.guard).toBe('clobbered');
    const stopped = answer.ret !== null && answer.ret > 16n && answer.ret <= 32n;
    const faulted = answer.ret === -1n && answer.errno === EFAULT;
    expect(stopped || faulted, `ret ${String(answer.ret)} errno ${String(answer.errno)}`).toBe(true);
  });

  it('takes values in hex, negative decimal and up to 2^64-1', () => {
    // getrandom(NULL, 0, flags): flags ~0 and -1 are the same bits; 0x0 and 0 are none.
    for (const flags of ['0xffffffffffffffff', '-1', '18446744073709551615'])
      expect(probe('args', String(getrandom), directMap, 'bad:null', 'int:0', `int:${flags}`).stdout, flags).toBe(
        `ret=-1 errno=${EINVAL}\n`,
      );
    for (const flags of ['0x0', '0'])
      expect(probe('args', String(getrandom), directMap, 'bad:null', 'int:0', `int:${flags}`).stdout, flags).toBe(
        'ret=0 errno=0\n',
      );
  });

  it('exits 2 with a message, without calling, on an argument it does not take', () => {
    const cases: [string[], RegExp][] = [
      [['foo:1'], /argument 0 "foo:1": an argument is int:V, buf:SIZE or bad:KIND/],
      [['buf:0'], /argument 0 "buf:0": buf:SIZE takes a size of 1 to 4096 bytes/],
      [['int:0', 'buf:4097'], /argument 1 "buf:4097"/],
      [['int:1x'], /argument 0 "int:1x": int:V takes/],
      [['int: 1'], /argument 0 "int: 1"/],
      [['int:18446744073709551616'], /argument 0 "int:18446744073709551616"/],
      [['int:-9223372036854775809'], /argument 0 "int:-9223372036854775809"/],
      [['bad:nowhere'], /bad:KIND takes null, unmapped, kernel, kernel-writable or readonly/],
      [Array<string>(7).fill('int:0'), /7 arguments, and a syscall takes 6 at most/],
    ];
    const noNumber = probe('args', 'getrandom', directMap);
    expect(noNumber).toMatchObject({ code: 2, stdout: '' });
    expect(noNumber.stderr).toMatch(/NR "getrandom" is not a decimal syscall number/);
    for (const [specs, message] of cases) {
      const run = probe('args', String(getrandom), directMap, ...specs);
      expect(run, specs.join(' ')).toMatchObject({ code: 2, stdout: '' });
      expect(run.stderr, specs.join(' ')).toMatch(message);
    }
  });

  it('has callsWithArgs report a refused argument as no answer, with exit 2 and the message', async () => {
    const result = await callWithArgs(getrandom, [{ kind: 'buffer', size: 0 }]);
    expect(result.answer).toBeUndefined();
    expect(result.code).toBe(2);
    expect(result.output).toContain('buf:SIZE takes a size of 1 to 4096 bytes');
  });
});
