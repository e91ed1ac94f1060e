// The conformance checklist's parts that start processes or drive machines: checkpatch run through
// a fake checkpatch.pl, the generated runtime items on this host's kernel (the probe's args mode,
// as probe-args.test.ts runs it) and on a fake machine, the static items after the fake builds of
// stages.test.ts, runKernel under --conformance warn and fail, and upgrade-kernel.sh --sparse.
// runKernel has no way to be handed a checkpatch (staticConformance's findCheckpatch is not one of
// its options): its tests replace checkpatchScript, the one that fetches the 6.1 source, below.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CheckContext } from '../../src/checks/check.ts';
import { conformance } from '../../src/checks/conformance.ts';
import { directMapBase } from '../../src/checks/direct-map.ts';
import { runCheckpatch, type Checkpatch } from '../../src/conformance/checkpatch.ts';
import { checklist } from '../../src/conformance/checklist.ts';
import { readDefinitions, type SyscallSignature } from '../../src/conformance/signature.ts';
import { InfrastructureError } from '../../src/errors.ts';
import type { LabEvent } from '../../src/events.ts';
import { upgradeKernelScript } from '../../src/paths.ts';
import type { CheckResult, ConformanceResult, RunReport } from '../../src/report/model.ts';
import { RunFolder } from '../../src/run-folder.ts';
import { buildKernels } from '../../src/stages/builds.ts';
import { conformanceAware, separateConformance, staticConformance } from '../../src/stages/conformance.ts';
import { checkPatchSeries, type CheckedRun } from '../../src/stages/patch-check.ts';
import { planRuns } from '../../src/stages/plan.ts';
import { runKernel } from '../../src/stages/run-kernel.ts';
import { MachineGoneError, type ExecResult } from '../../src/vm/machine.ts';
import { makeFakeBuild, pathWithout, writeScript, type FakeBuild } from './support/fake-build.ts';
import { writeFiles } from './support/fake-kernel.ts';
import { hostProbeContext, LocalMachine } from './support/local-machine.ts';
import { testOptions } from './support/options.ts';
import { perCallAnswers, RecordedMachine, testContext } from './support/recorded-machine.ts';
import { hostRunsI386Binaries } from './support/host-i386.ts';
import { useTempDirs } from './support/temp.ts';
import { FakeMachine, fakeBackend } from './support/fake-machine.ts';

const tempDir = useTempDirs('syscall-lab-conformance-run-');

// runKernel's checkpatch: the fake one a test sets, and how often runKernel asked for it.
const checkpatchFor = vi.hoisted(() => ({ current: undefined as Checkpatch | undefined, asked: 0 }));
vi.mock('../../src/conformance/checkpatch.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/conformance/checkpatch.ts')>();
  return {
    ...real,
    checkpatchScript: async (): Promise<Checkpatch> => {
      checkpatchFor.asked++;
      if (!checkpatchFor.current) throw new Error('the test set no fake checkpatch');
      return checkpatchFor.current;
    },
  };
});

const saved = {
  path: process.env.PATH,
  cache: process.env.SYSCALL_LAB_CACHE,
  state: process.env.FAKE_MAKE_STATE,
  sparse: process.env.FAKE_SPARSE_SAYS,
};

function restoreEnv(): void {
  for (const [name, value] of [
    ['PATH', saved.path],
    ['SYSCALL_LAB_CACHE', saved.cache],
    ['FAKE_MAKE_STATE', saved.state],
    ['FAKE_SPARSE_SAYS', saved.sparse],
  ] as const) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
}

interface FakeCheckpatch {
  checkpatch: Checkpatch;
  /** The argument lists of every run so far. */
  calls: () => string[][];
}

/**
 * A checkpatch.pl that records its arguments and prints `prints` (%FILE% is the patch it was
 * given) to stdout, `stderr` to stderr, then exits with `exit` (1 when it printed findings, as
 * the real one does).
 */
function fakeCheckpatch(
  identity: string,
  prints = '',
  { exit = prints ? 1 : 0, stderr = '' }: { exit?: number; stderr?: string } = {},
): FakeCheckpatch {
  const dir = tempDir();
  const log = join(dir, 'calls.log');
  const script = join(dir, 'checkpatch.pl');
  writeFileSync(
    script,
    [
      'use strict;',
      `open(my $log, '>>', '${log}') or die "calls.log: $!";`,
      'print $log join("\\t", @ARGV), "\\n";',
      'close($log);',
      'my $file = $ARGV[-1];',
      "my $out = <<'END_OUT';",
      prints,
      'END_OUT',
      "my $err = <<'END_ERR';",
      stderr,
      'END_ERR',
      '$out =~ s/%FILE%/$file/g;',
      'print $out;',
      'print STDERR $err if $err =~ /\\S/;',
      `exit ${exit};`,
      '',
    ].join('\n'),
  );
  return {
    checkpatch: { script, identity },
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .trimEnd()
            .split('\n')
            .map((line) => line.split('\t'))
        : [],
  };
}

const checkpatchArgs = ['--strict', '--no-tree', '--no-color', '--terse', '--show-types', '--no-summary'];

describe('runCheckpatch with a fake checkpatch.pl', () => {
  let cache: string;
  beforeEach(() => {
    cache = tempDir();
    process.env.SYSCALL_LAB_CACHE = cache;
  });
  afterEach(restoreEnv);

  const series = [
    { name: '0001-a.patch', text: 'Subject: a\n\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n' },
    { name: '0002-b.patch', text: 'Subject: b\n\n--- a/y.c\n+++ b/y.c\n@@ -1 +1 @@\n-a\n+b\n' },
  ];
  const findingsText = [
    "%FILE%:12: ERROR:SPACING: space required before the open parenthesis '('",
    '%FILE%:20: WARNING:LONG_LINE: line length of 101 exceeds 100 columns',
    'total: 1 errors, 1 warnings, 30 lines checked',
  ].join('\n');

  it('runs the script once per patch, with --strict --no-tree --terse --show-types, on the patch written to scratch', async () => {
    const fake = fakeCheckpatch('fake checkpatch 1', findingsText);
    const scratch = join(tempDir(), 'run', 'checkpatch');
    const findings = await runCheckpatch(fake.checkpatch, series, scratch);
    expect(fake.calls()).toEqual(series.map((patch) => [...checkpatchArgs, join(scratch, patch.name)]));
    for (const patch of series) expect(readFileSync(join(scratch, patch.name), 'utf8')).toBe(patch.text);
    // Each finding names its patch (not the scratch path the script was given).
    expect(findings).toEqual(
      series.flatMap((patch) => [
        {
          patch: patch.name,
          line: 12,
          level: 'ERROR',
          type: 'SPACING',
          message: "space required before the open parenthesis '('",
        },
        {
          patch: patch.name,
          line: 20,
          level: 'WARNING',
          type: 'LONG_LINE',
          message: 'line length of 101 exceeds 100 columns',
        },
      ]),
    );
  });

  it('remembers the findings in the cache: the same series and script do not run it again', async () => {
    const fake = fakeCheckpatch('fake checkpatch 1', findingsText);
    const first = await runCheckpatch(fake.checkpatch, series, join(tempDir(), 'checkpatch'));
    expect(fake.calls()).toHaveLength(2);
    expect(readdirSync(join(cache, 'conformance', 'checkpatch-results'))).toHaveLength(1);
    const again = await runCheckpatch(fake.checkpatch, series, join(tempDir(), 'checkpatch'));
    expect(fake.calls()).toHaveLength(2);
    expect(again).toEqual(first);
    // A changed patch or another script is another question.
    const changed = [series[0]!, { ...series[1]!, text: `${series[1]!.text}+c\n` }];
    await runCheckpatch(fake.checkpatch, changed, join(tempDir(), 'checkpatch'));
    expect(fake.calls()).toHaveLength(4);
    await runCheckpatch({ ...fake.checkpatch, identity: 'fake checkpatch 2' }, series, join(tempDir(), 'checkpatch'));
    expect(fake.calls()).toHaveLength(6);
  });

  it('takes exit 1 as findings and exit 0 as none; any other exit is an infrastructure error, not remembered', async () => {
    const clean = fakeCheckpatch('clean');
    expect(await runCheckpatch(clean.checkpatch, series, join(tempDir(), 'checkpatch'))).toEqual([]);
    const broken = fakeCheckpatch('broken checkpatch', '', {
      exit: 255,
      stderr: "Can't locate Term/ANSIColor.pm in @INC",
    });
    const error = await runCheckpatch(broken.checkpatch, series, join(tempDir(), 'checkpatch')).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toBe(
      "broken checkpatch failed on 0001-a.patch: Can't locate Term/ANSIColor.pm in @INC",
    );
    // It stopped at the first patch, and nothing was remembered: the next call runs it again.
    expect(broken.calls()).toHaveLength(1);
    await runCheckpatch(broken.checkpatch, series, join(tempDir(), 'checkpatch')).catch(() => undefined);
    expect(broken.calls()).toHaveLength(2);
  });
});

const signatureOf = (definition: string, nullable: string[] = []): SyscallSignature => {
  const [found] = readDefinitions(definition);
  if (!found) throw new Error(`no definition in ${definition}`);
  return { ...found, patch: '0001.patch', file: 'lab/lab.c', nullable };
};

const byName = (results: CheckResult[]): Record<string, CheckResult> =>
  Object.fromEntries(results.map((result) => [result.name, result]));

// The probe against this host's kernel, with x86-64's syscall numbers (as probe-args.test.ts).
describe.runIf(process.platform === 'linux' && process.arch === 'x64')('the runtime items on the host kernel', () => {
  let context: CheckContext;
  let remove: () => void;
  const getrandom = signatureOf('SYSCALL_DEFINE3(getrandom, char __user *, buf, size_t, count, unsigned int, flags)');
  // getpid takes no argument: a flags argument it is said to have is ignored, not rejected.
  const getpidWithFlags = signatureOf('SYSCALL_DEFINE1(getpid, unsigned int, flags)');
  const uname = signatureOf('SYSCALL_DEFINE1(uname, struct new_utsname __user *, name)');
  const notAdded = signatureOf('SYSCALL_DEFINE1(lab_missing, int __user *, p)');

  beforeAll(async () => {
    ({ context, remove } = await hostProbeContext('syscall-lab-conformance-probe-', {
      added: [
        { number: 318, abi: 'common', name: 'getrandom', entry: 'sys_getrandom' },
        { number: 39, abi: 'common', name: 'getpid', entry: 'sys_getpid' },
        { number: 63, abi: 'common', name: 'uname', entry: 'sys_newuname' },
      ],
      signatures: [getrandom, getpidWithFlags, uname, notAdded],
    }));
  });

  afterAll(() => {
    remove();
  });

  /** What a bad-pointer item reads when every kind gave EFAULT, with kernel-writable as it went. */
  /**
   * A bad-pointer item where every kind gave EFAULT. The direct map's alias needs
   * /proc/self/pagemap's frame numbers (root) and mlock: a case the probe could not make fails
   * the item (it proves nothing), as in bad-pointer-efault.
   */
  const expectEveryEfault = (efault: CheckResult | undefined, argument: string): void => {
    const kinds = ['null', 'unmapped', 'kernel', 'kernel-writable', 'readonly'];
    expect(efault?.expected).toBe(kinds.map((kind) => `${argument}=${kind}: -1/EFAULT`).join('; '));
    const unavailable = new RegExp(
      `${argument}=kernel-writable: not tested: (no-frame-in-pagemap|mlock-failed) <- wrong`,
    ).exec(efault?.actual ?? '')?.[1];
    const kernelWritable = unavailable ? `not tested: ${unavailable} <- wrong` : 'EFAULT';
    expect(efault).toMatchObject({
      status: unavailable ? 'fail' : 'pass',
      actual: kinds
        .map((kind) => `${argument}=${kind}: ${kind === 'kernel-writable' ? kernelWritable : 'EFAULT'}`)
        .join('; '),
    });
    // The memory behind read-only (and the alias) is watched: the probe reports it unchanged.
    expect(efault?.details).toMatch(/^ret=-1 errno=14 page0=unchanged$/m);
  };

  it('passes getrandom: every bad buf gives EFAULT, ~0 and 1 << 31 as flags EINVAL', async () => {
    const results = byName(await conformance.run(context));
    const efault = results['conformance:efault:getrandom']!;
    expectEveryEfault(efault, 'buf');
    // The probe's own lines are the evidence: one command per case.
    expect(efault.details.split('\n').filter((line) => line.startsWith('$ '))).toEqual(
      ['null', 'unmapped', 'kernel', 'kernel-writable', 'readonly'].map(
        (kind) => `$ ${context.probe} args 318 ${directMapBase(release())} bad:${kind} int:4096 int:0`,
      ),
    );
    expect(results['conformance:flags:getrandom']).toMatchObject({
      status: 'pass',
      expected: 'flags=~0: -1/EINVAL; flags=1u << 31: -1/EINVAL',
      actual: 'flags=~0: EINVAL; flags=1u << 31: EINVAL',
    });
  });

  it('passes a struct pointee (uname into a page-sized buffer), watched memory unchanged', async () => {
    const efault = byName(await conformance.run({ ...context, signatures: [uname] }))['conformance:efault:uname'];
    expectEveryEfault(efault, 'name');
  });

  it('fails a flags argument the syscall ignores (getpid returns its pid), and has no efault item for it', async () => {
    const results = byName(await conformance.run({ ...context, signatures: [getpidWithFlags] }));
    expect(results['conformance:efault:getpid']).toEqual({
      name: 'conformance:efault:getpid',
      status: 'skip',
      expected: '-',
      actual: '-',
      details: 'no pointer argument',
    });
    const flags = results['conformance:flags:getpid']!;
    expect(flags.status).toBe('fail');
    expect(flags.actual).toMatch(/^flags=~0: \d+\/errno 0 <- wrong; flags=1u << 31: \d+\/errno 0 <- wrong$/);
    expect(flags.details).toContain(`args 39 ${directMapBase(release())} int:18446744073709551615`);
    expect(flags.details).toContain(`args 39 ${directMapBase(release())} int:2147483648`);
  });

  it('skips (n/a) every item of a syscall that is not in the patched table, without calling anything', async () => {
    const machine = new LocalMachine();
    const results = await conformance.run({ ...context, machine, signatures: [notAdded] });
    expect(results).toEqual(
      ['efault', 'flags', 'x86-32'].map((item) => ({
        name: `conformance:${item}:lab_missing`,
        status: 'skip',
        expected: '-',
        actual: '-',
        details: 'lab_missing is not in the patched x86-64 syscall table',
      })),
    );
    expect(machine.recorded).toEqual([]);
  });

  // Without gcc-multilib the probe is not built (a test below); without IA32 emulation in this
  // host's kernel it cannot run here (the e2e conformance suite runs it in a guest that has it).
  it.skipIf(!hostRunsI386Binaries())(
    "calls getrandom and uname through this host's i386 entries from the static 32-bit probe: as 64-bit",
    async () => {
      process.env.SYSCALL_LAB_CACHE = tempDir();
      try {
        const results = byName(
          await conformance.run({
            ...context,
            signatures: [getrandom, uname],
            i386: [
              { name: 'getrandom', number: 355 },
              { name: 'uname', number: 122 },
            ],
          }),
        );
        const cases =
          'buf=null: as 64-bit; buf=unmapped: as 64-bit; buf=readonly: as 64-bit; flags=~0: as 64-bit; flags=1u << 31: as 64-bit';
        // Random bytes differ call by call: the values are not compared, and the item says so.
        expect(results['conformance:x86-32:getrandom']).toMatchObject({
          status: 'pass',
          actual: `valid call: as 64-bit; ${cases}; valid call: values not compared: the 64-bit valid call wrote different bytes each time`,
        });
        expect(results['conformance:x86-32:getrandom']?.details).toMatch(
          /probe32 args 355 \S+ buf:4096 int:4096 int:0\nret=4096 errno=0/,
        );
        // struct new_utsname: the same bytes on both ABIs, but a struct's are not compared (a compat entry may convert it).
        expect(results['conformance:x86-32:uname']).toMatchObject({
          status: 'pass',
          actual: 'valid call: as 64-bit; name=null: as 64-bit; name=unmapped: as 64-bit; name=readonly: as 64-bit',
        });
      } finally {
        restoreEnv();
      }
    },
  );

  it('returns nothing without signatures (--conformance off)', async () => {
    expect(await conformance.run({ ...context, signatures: [] })).toEqual([]);
  });
});

/** A guest kernel for the fake machines: how it answers the probe's args mode. */
interface FakeKernel {
  nullSucceeds?: boolean;
  ignoresFlags?: boolean;
  /** The kinds the probe cannot make (the answer names them unavailable). */
  unavailable?: string[];
  writesThroughReadonly?: boolean;
  clobbersGuard?: boolean;
  /** A probe killed by an oops on this kind: no answer, no exit code. */
  killedOn?: string;
  /** A valid call writes a number that grows call by call (a stamp) instead of the same one (42). */
  counter?: boolean;
  /** How the i386 entry (the calls of the static 32-bit probe) goes wrong. */
  i386?: { overrun?: boolean; shortWrite?: boolean; ignoresFlags?: boolean };
}

/** The probe's answer to `probe args NR DIRECTMAP SPEC...` on `kernel`; undefined for any other command. */
function argsAnswer(command: string, kernel: FakeKernel, calls = { count: 0 }): Partial<ExecResult> | undefined {
  const words = command.split(' ');
  if (words[1] !== 'args') return undefined;
  const i386 = words[0]?.endsWith('/probe32') ? (kernel.i386 ?? {}) : undefined;
  const specs = words.slice(4);
  const fields: string[] = [];
  const bad = specs.findIndex((spec) => spec.startsWith('bad:'));
  const kind = bad >= 0 ? specs[bad]!.slice(4) : undefined;
  if (kind !== undefined && kernel.killedOn === kind) return { code: null, stdout: '', stderr: '' };
  if (kind !== undefined && kernel.unavailable?.includes(kind)) return { stdout: `unavailable${bad}=mlock-failed\n` };
  const flags = specs.some((spec) => ['int:18446744073709551615', 'int:4294967295', 'int:2147483648'].includes(spec));
  const ignoresFlags = i386?.ignoresFlags ?? kernel.ignoresFlags;
  const fails = kind !== undefined ? !(kind === 'null' && kernel.nullSucceeds) : flags && !ignoresFlags;
  fields.push(fails ? `ret=-1 errno=${kind !== undefined ? 14 : 22}` : 'ret=0 errno=0');
  // A valid call writes its number into each buffer, little-endian (a short write leaves the fill in the upper half).
  const value = kernel.counter ? ++calls.count : 42;
  specs.forEach((spec, index) => {
    if (spec.startsWith('buf:')) {
      const size = Number(spec.slice(4));
      const bytes = Buffer.alloc(size, 0xa5);
      if (!fails && kind === undefined) {
        const written = i386?.shortWrite ? Math.ceil(size / 2) : size;
        bytes.fill(0, 0, written);
        bytes.writeUIntLE(value, 0, Math.min(written, 6));
      }
      const clobbered = kernel.clobbersGuard || (i386?.overrun === true && !fails);
      fields.push(`buf${index}=${bytes.toString('hex')}`, `guard${index}=${clobbered ? 'clobbered' : 'ok'}`);
    }
    if (spec === 'bad:readonly' || spec === 'bad:kernel-writable')
      fields.push(`page${index}=${kernel.writesThroughReadonly && spec === 'bad:readonly' ? 'changed' : 'unchanged'}`);
  });
  return { stdout: `${fields.join(' ')}\n` };
}

describe('the runtime items on a fake machine', () => {
  const lab = { number: 460, abi: 'common', name: 'lab_get', entry: 'sys_lab_get' };
  const labGet = signatureOf('SYSCALL_DEFINE3(lab_get, u32 __user *, out, size_t, len, unsigned int, flags)');
  const run = async (kernel: FakeKernel, signatures = [labGet]) => {
    const shell = perCallAnswers((command) => argsAnswer(command, kernel));
    const machine = new RecordedMachine((command) => shell.answer(command) ?? { code: 127 });
    const results = await conformance.run({ ...testContext(machine, { added: [lab] }), signatures });
    return { results: byName(results), machine, calls: shell.calls };
  };

  it('calls each case with every other argument valid, and passes a kernel that gets them all right', async () => {
    const { results, machine, calls } = await run({});
    const directMap = directMapBase('6.1.192');
    // Every case in one guest command: one SSH round trip.
    expect(machine.commands).toHaveLength(1);
    expect(calls).toEqual([
      ...['null', 'unmapped', 'kernel', 'kernel-writable', 'readonly'].map(
        (kind) => `/tmp/syscall-lab/probe args 460 ${directMap} bad:${kind} int:4 int:0`,
      ),
      `/tmp/syscall-lab/probe args 460 ${directMap} buf:4 int:4 int:18446744073709551615`,
      `/tmp/syscall-lab/probe args 460 ${directMap} buf:4 int:4 int:2147483648`,
    ]);
    expect(results['conformance:efault:lab_get']).toMatchObject({
      status: 'pass',
      actual:
        'out=null: EFAULT; out=unmapped: EFAULT; out=kernel: EFAULT; out=kernel-writable: EFAULT; out=readonly: EFAULT',
    });
    expect(results['conformance:flags:lab_get']).toMatchObject({
      status: 'pass',
      actual: 'flags=~0: EINVAL; flags=1u << 31: EINVAL',
    });
    expect(results['conformance:flags:lab_get']?.details).toBe(
      [
        `$ /tmp/syscall-lab/probe args 460 ${directMap} buf:4 int:4 int:18446744073709551615\nret=-1 errno=22 buf0=a5a5a5a5 guard0=ok`,
        `$ /tmp/syscall-lab/probe args 460 ${directMap} buf:4 int:4 int:2147483648\nret=-1 errno=22 buf0=a5a5a5a5 guard0=ok`,
      ].join('\n'),
    );
  });

  const wrong: [string, FakeKernel, string, string][] = [
    ['NULL taken as nothing to write', { nullSucceeds: true }, 'efault', 'out=null: 0/errno 0 <- wrong'],
    [
      'flags ignored',
      { ignoresFlags: true },
      'flags',
      'flags=~0: 0/errno 0 <- wrong; flags=1u << 31: 0/errno 0 <- wrong',
    ],
    ['read-only memory written', { writesThroughReadonly: true }, 'efault', 'out=readonly: page changed <- wrong'],
    [
      'a bad pointer the probe could not make',
      { unavailable: ['kernel-writable'] },
      'efault',
      'out=kernel-writable: not tested: mlock-failed <- wrong',
    ],
    [
      'a probe killed by an oops',
      { killedOn: 'kernel' },
      'efault',
      'out=kernel: no answer (probe killed by signal 9) <- wrong',
    ],
    [
      'the guard bytes after a valid buffer clobbered',
      { clobbersGuard: true },
      'flags',
      'flags=~0: guard bytes of argument 0 clobbered <- wrong; flags=1u << 31: guard bytes of argument 0 clobbered <- wrong',
    ],
  ];
  for (const [what, kernel, failing, actual] of wrong) {
    it(`fails ${failing} alone for ${what}`, async () => {
      const { results } = await run(kernel);
      const other = failing === 'efault' ? 'flags' : 'efault';
      expect(results[`conformance:${failing}:lab_get`]?.status).toBe('fail');
      expect(results[`conformance:${failing}:lab_get`]?.actual).toContain(actual);
      expect(results[`conformance:${other}:lab_get`]?.status).toBe('pass');
    });
  }

  it('skips an item with nothing to generate: no pointer, no flags', async () => {
    const { results, machine } = await run({}, [signatureOf('SYSCALL_DEFINE1(lab_get, int, mode)')]);
    expect(results['conformance:x86-32:lab_get']).toMatchObject({
      status: 'skip',
      details: '64-bit only: the series adds no i386 entry for lab_get',
    });
    expect(results['conformance:efault:lab_get']).toMatchObject({ status: 'skip', details: 'no pointer argument' });
    expect(results['conformance:flags:lab_get']).toMatchObject({ status: 'skip', details: 'no argument named flags' });
    expect(machine.commands).toEqual([]);
  });
});

describe('the x86-32 item on a fake machine (the static 32-bit probe compiled on this host)', () => {
  const lab = { number: 460, abi: 'common', name: 'lab_get', entry: 'sys_lab_get' };
  const labGet = signatureOf('SYSCALL_DEFINE3(lab_get, u32 __user *, out, size_t, len, unsigned int, flags)');
  const i386 = [{ name: 'lab_get', number: 470 }];
  let cacheDir: string;
  beforeAll(() => {
    cacheDir = tempDir();
    process.env.SYSCALL_LAB_CACHE = cacheDir;
  });
  afterAll(restoreEnv);
  const run = async (kernel: FakeKernel) => {
    const counter = { count: 0 };
    const shell = perCallAnswers((command) => argsAnswer(command, kernel, counter));
    const machine = new RecordedMachine((command) => shell.answer(command) ?? { code: 127 });
    const results = await conformance.run({ ...testContext(machine, { added: [lab] }), signatures: [labGet], i386 });
    return { results: byName(results), machine, calls: shell.calls };
  };

  it('calls the i386 entry from the uploaded static probe: the valid call between two 64-bit ones, then the cases a 32-bit program can make', async () => {
    const { results, machine, calls } = await run({});
    const directMap = directMapBase('6.1.192');
    const [binary] = readdirSync(join(cacheDir, 'programs', 'i386-static'));
    const probe32 = join(cacheDir, 'programs', 'i386-static', binary!, 'binary');
    // A static i386 ELF: runs in any x86-64 guest with IA32 emulation, whatever it has installed.
    expect(readFileSync(probe32).subarray(0, 5)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1]));
    expect(machine.copies).toEqual([`${probe32} -> /tmp/syscall-lab/probe32`]);
    // The 64-bit cases in one command, the 32-bit item's calls in another.
    expect(machine.commands).toHaveLength(2);
    expect(calls.slice(7)).toEqual([
      `/tmp/syscall-lab/probe args 460 ${directMap} buf:4 int:4 int:0`,
      `/tmp/syscall-lab/probe32 args 470 ${directMap} buf:4 int:4 int:0`,
      `/tmp/syscall-lab/probe args 460 ${directMap} buf:4 int:4 int:0`,
      ...['null', 'unmapped', 'readonly'].map(
        (kind) => `/tmp/syscall-lab/probe32 args 470 ${directMap} bad:${kind} int:4 int:0`,
      ),
      `/tmp/syscall-lab/probe32 args 470 ${directMap} buf:4 int:4 int:4294967295`,
      `/tmp/syscall-lab/probe32 args 470 ${directMap} buf:4 int:4 int:2147483648`,
    ]);
    expect(results['conformance:x86-32:lab_get']).toMatchObject({
      status: 'pass',
      expected: "i386 entry 470 (static -m32 program): the 64-bit call's return, errno and values; guard bytes intact",
      actual:
        'valid call: as 64-bit; out=null: as 64-bit; out=unmapped: as 64-bit; out=readonly: as 64-bit; flags=~0: as 64-bit; flags=1u << 31: as 64-bit',
    });
  });

  const wrong: [string, FakeKernel, string][] = [
    [
      'writing past the variable (the guard bytes)',
      { i386: { overrun: true } },
      'valid call: guard bytes of argument 0 clobbered <- wrong',
    ],
    [
      'writing half of it',
      { i386: { shortWrite: true } },
      'valid call: argument 0 (out) holds 2a00a5a5, 64-bit 2a000000 <- wrong',
    ],
    [
      'ignoring unknown flags where the 64-bit entry refuses them',
      { i386: { ignoresFlags: true } },
      'flags=~0: 0/errno 0 (64-bit: -1/errno 22) <- wrong; flags=1u << 31: 0/errno 0 (64-bit: -1/errno 22) <- wrong',
    ],
  ];
  for (const [what, kernel, actual] of wrong) {
    it(`fails x86-32 alone for an i386 entry ${what}`, async () => {
      const { results } = await run(kernel);
      expect(results['conformance:x86-32:lab_get']?.status).toBe('fail');
      expect(results['conformance:x86-32:lab_get']?.actual).toContain(actual);
      expect(results['conformance:efault:lab_get']?.status).toBe('pass');
      expect(results['conformance:flags:lab_get']?.status).toBe('pass');
    });
  }

  it('compares no values when the 64-bit valid call writes different ones each time (a stamp), and says so', async () => {
    const { results } = await run({ counter: true, i386: { shortWrite: true } });
    expect(results['conformance:x86-32:lab_get']).toMatchObject({ status: 'pass' });
    expect(results['conformance:x86-32:lab_get']?.actual).toContain(
      'valid call: values not compared: the 64-bit valid call wrote different bytes each time',
    );
  });

  it('skips the item, naming the fix, when gcc has no i386 libc (no gcc-multilib)', async () => {
    const bin = tempDir();
    // gcc -print-file-name prints the bare name of a file it cannot find.
    writeScript(
      join(bin, 'gcc'),
      '#!/bin/sh\nif [ "$2" = -print-file-name=libc.a ]; then echo libc.a; else exec /usr/bin/gcc "$@"; fi',
    );
    process.env.PATH = `${bin}${delimiter}${saved.path ?? ''}`;
    try {
      const { results, machine } = await run({});
      expect(results['conformance:x86-32:lab_get']).toMatchObject({
        status: 'skip',
        details:
          'no 32-bit probe: gcc -m32 finds no i386 libc.a (fix: install gcc-multilib (apt-get install gcc-multilib; `syscall-lab doctor` lists it))',
      });
      expect(machine.copies).toEqual([]);
    } finally {
      process.env.PATH = saved.path;
    }
  });
});

describe('separateConformance and conformanceAware', () => {
  const check = (name: string, status: CheckResult['status']): CheckResult => ({
    name,
    status,
    expected: 'e',
    actual: `${name} actual`,
    details: status === 'skip' ? 'no argument named flags' : 'probe output',
  });
  const staticItem: ConformanceResult = {
    name: 'conformance:prototype',
    status: 'pass',
    enforced: false,
    rule: checklist.prototype.rule,
    section: checklist.prototype.section,
    actual: 'prototypes: callcount',
    details: '',
  };
  const report = (): RunReport => ({
    kernel: { requested: '6.1', version: '6.1.0', source: 'x', patches: [] },
    backend: 'qemu',
    accel: 'tcg',
    phases: [],
    checks: [
      check('enosys-control', 'pass'),
      check('conformance:efault:callcount', 'fail'),
      check('callcount-increments', 'pass'),
      check('conformance:flags:callcount', 'skip'),
    ],
    conformance: [staticItem],
    logs: { console: [], build: [] },
    reproduce: 'r',
  });

  it('moves the runtime items out of the checks, after the static ones; a skip is n/a', () => {
    for (const mode of ['warn', 'fail'] as const) {
      const moved = report();
      separateConformance(moved, mode);
      expect(moved.checks.map((c) => c.name)).toEqual(['enosys-control', 'callcount-increments']);
      expect(moved.conformance?.map((c) => [c.name, c.status, c.enforced, c.actual])).toEqual([
        ['conformance:prototype', 'pass', false, 'prototypes: callcount'],
        ['conformance:efault:callcount', 'fail', mode === 'fail', 'conformance:efault:callcount actual'],
        ['conformance:flags:callcount', 'n/a', mode === 'fail', 'no argument named flags'],
      ]);
    }
    const none: RunReport = { ...report(), conformance: undefined };
    separateConformance(none, 'warn');
    expect(none.conformance?.map((c) => c.name)).toEqual([
      'conformance:efault:callcount',
      'conformance:flags:callcount',
    ]);
  });

  it('drops them under off (only a stopped run lists the runtime check, as not run), adding no checklist', () => {
    const off: RunReport = { ...report(), conformance: undefined };
    separateConformance(off, 'off');
    expect(off.checks.map((c) => c.name)).toEqual(['enosys-control', 'callcount-increments']);
    expect(off.conformance).toBeUndefined();
  });

  it("shows the check runner's runtime items as conformance events, every other event as it is", () => {
    const events: LabEvent[] = [];
    const emit = conformanceAware((event) => events.push(event), 'warn');
    emit({ type: 'check', scope: '6.1', result: check('conformance:efault:callcount', 'fail') });
    emit({ type: 'check', scope: '6.1', result: check('enosys-control', 'fail') });
    emit({ type: 'info', scope: '6.1', text: 'hello' });
    expect(events).toEqual([
      {
        type: 'conformance',
        scope: '6.1',
        result: {
          name: 'conformance:efault:callcount',
          status: 'fail',
          enforced: false,
          rule: checklist.efault.rule,
          section: checklist.efault.section,
          actual: 'conformance:efault:callcount actual',
          details: 'probe output',
        },
      },
      { type: 'check', scope: '6.1', result: check('enosys-control', 'fail') },
      { type: 'info', scope: '6.1', text: 'hello' },
    ]);
  });

  it('shows no runtime item under off (its check is only there as not run)', () => {
    const events: LabEvent[] = [];
    const emit = conformanceAware((event) => events.push(event), 'off');
    const notRun = { ...check('conformance:runtime', 'skip'), actual: 'not run' };
    emit({ type: 'check', scope: '6.1', result: notRun });
    emit({ type: 'check', scope: '6.1', result: check('enosys-control', 'pass') });
    expect(events).toEqual([{ type: 'check', scope: '6.1', result: check('enosys-control', 'pass') }]);
  });
});

// A fake 6.1 tree with every registration file adding-syscalls.rst asks for, and a series that
// registers callcount as it asks (SYSCALL_DEFINE1, prototype, COND_SYSCALL, generic table with
// __NR_syscalls raised): the fake builds of stages.test.ts, with sparse run by the fake make.
const unistdH = [
  '#define __NR_read 0',
  '__SYSCALL(__NR_read, sys_read)',
  '#define __NR_write 1',
  '__SYSCALL(__NR_write, sys_write)',
  '#define __NR_open 2',
  '__SYSCALL(__NR_open, sys_open)',
  '',
  '#undef __NR_syscalls',
  '#define __NR_syscalls 3',
  '',
].join('\n');
const sysNi = ['#include <linux/syscalls.h>', '', 'COND_SYSCALL(open);', ''].join('\n');

const conformantPatch = `From: test
Subject: [PATCH] add callcount

diff -uNr a/arch/x86/entry/syscalls/syscall_64.tbl b/arch/x86/entry/syscalls/syscall_64.tbl
--- a/arch/x86/entry/syscalls/syscall_64.tbl
+++ b/arch/x86/entry/syscalls/syscall_64.tbl
@@ -7,6 +7,7 @@
 0\tcommon\tread\t\t\tsys_read
 1\tcommon\twrite\t\t\tsys_write
 2\tcommon\topen\t\t\tsys_open
+3\tcommon\tcallcount\t\tsys_callcount
 
 #
 # Due to a historical design error, certain syscalls are numbered differently
diff -uNr a/include/linux/syscalls.h b/include/linux/syscalls.h
--- a/include/linux/syscalls.h
+++ b/include/linux/syscalls.h
@@ -2,4 +2,5 @@
 #define _LINUX_SYSCALLS_H
 asmlinkage long sys_read(unsigned int fd, char __user *buf, size_t count);
 asmlinkage long sys_write(unsigned int fd, const char __user *buf, size_t count);
+asmlinkage long sys_callcount(unsigned long __user *num);
 #endif
diff -uNr a/include/uapi/asm-generic/unistd.h b/include/uapi/asm-generic/unistd.h
--- a/include/uapi/asm-generic/unistd.h
+++ b/include/uapi/asm-generic/unistd.h
@@ -5,5 +5,8 @@
 #define __NR_open 2
 __SYSCALL(__NR_open, sys_open)
 
+#define __NR_callcount 3
+__SYSCALL(__NR_callcount, sys_callcount)
+
 #undef __NR_syscalls
-#define __NR_syscalls 3
+#define __NR_syscalls 4
diff -uNr a/kernel/sys_ni.c b/kernel/sys_ni.c
--- a/kernel/sys_ni.c
+++ b/kernel/sys_ni.c
@@ -2,2 +2,3 @@
 
 COND_SYSCALL(open);
+COND_SYSCALL(callcount);
diff -uNr a/mysyscalls/callcount.c b/mysyscalls/callcount.c
--- a/mysyscalls/callcount.c
+++ b/mysyscalls/callcount.c
@@ -0,0 +1,9 @@
+#include <linux/syscalls.h>
+
+SYSCALL_DEFINE1(callcount, unsigned long __user *, num)
+{
+\tunsigned long count = 1;
+
+\treturn copy_to_user(num, &count, sizeof(count)) ? -EFAULT : 0;
+}
+
`;

const staticIds = [
  'syscall-define',
  'prototype',
  'ni-stub',
  'generic-table',
  'x86-32-entry',
  'user-annotations',
  'checkpatch',
];

const statusOf = (items: ConformanceResult[] | undefined): Record<string, string> =>
  Object.fromEntries((items ?? []).map((item) => [item.name.replace(/^conformance:/, ''), item.status]));

/** Every item of the conformant series as it passes: x86-32-entry and flags n/a (64-bit only, no flags argument). */
const conformant = {
  'syscall-define': 'pass',
  prototype: 'pass',
  'ni-stub': 'pass',
  'generic-table': 'pass',
  'x86-32-entry': 'n/a',
  'user-annotations': 'pass',
  checkpatch: 'pass',
  'efault:callcount': 'pass',
  'flags:callcount': 'n/a',
  'x86-32:callcount': 'n/a',
};

describe('the static items and runKernel on fake builds', () => {
  let fake: FakeBuild;

  beforeEach(() => {
    fake = makeFakeBuild(tempDir());
    writeFiles(fake.tree, { 'include/uapi/asm-generic/unistd.h': unistdH, 'kernel/sys_ni.c': sysNi });
    writeFileSync(join(fake.patches, '0001-callcount.patch'), conformantPatch);
    // A sparse on PATH (the fake make prints what sparse would): the host's own is not needed.
    writeScript(join(fake.fakeBin, 'sparse'), '#!/bin/sh\necho "0.6.4 (fake)"\n');
    process.env.PATH = `${fake.fakeBin}${delimiter}${saved.path ?? ''}`;
    process.env.SYSCALL_LAB_CACHE = tempDir();
    process.env.FAKE_MAKE_STATE = fake.state;
    Reflect.deleteProperty(process.env, 'FAKE_SPARSE_SAYS');
    checkpatchFor.current = fakeCheckpatch('fake checkpatch.pl').checkpatch;
    checkpatchFor.asked = 0;
  });

  afterEach(restoreEnv);

  const options = (conformanceMode: string) =>
    testOptions({ kernel: [fake.tree], patches: fake.patches, conformance: conformanceMode });

  async function planned(conformanceMode = 'warn'): Promise<CheckedRun> {
    const [checked] = await checkPatchSeries(await planRuns(options(conformanceMode)));
    return checked!;
  }

  async function run(conformanceMode: string, guest: FakeKernel = {}) {
    const events: LabEvent[] = [];
    const outcome = await runKernel(await planned(conformanceMode), {
      options: options(conformanceMode),
      folder: RunFolder.create(0),
      accel: 'tcg',
      emit: (event) => events.push(event),
      reproduce: 'npx syscall-lab run',
      keep: false,
      backend: fakeBackend(new FakeMachine(perCallAnswers((command) => argsAnswer(command, guest)).answer)),
    });
    return { ...outcome, events };
  }

  describe('staticConformance', () => {
    it('judges the series, the sparse log of the patched build and checkpatch: all pass for a conformant series', async () => {
      const plan = await planned();
      expect(plan.builds.patched.plan.sparse).toEqual(['kernel/sys_ni.c', 'mysyscalls/callcount.c']);
      expect(plan.builds.stock.plan.sparse).toEqual([]);
      const built = await buildKernels(plan, { jobs: 1, folder: RunFolder.create(0) });
      expect(readFileSync(built.patched.sparseLog, 'utf8')).toBe(
        '== kernel/sys_ni.c\n  CHECK   kernel/sys_ni.c\n== mysyscalls/callcount.c\n  CHECK   mysyscalls/callcount.c\n',
      );
      const folder = RunFolder.create(1);
      const fakeScript = fakeCheckpatch('fake checkpatch.pl');
      let asked = 0;
      const items = await staticConformance(plan, built, 'fail', folder, async () => {
        asked++;
        return fakeScript.checkpatch;
      });
      expect(items.map((item) => item.name)).toEqual(staticIds.map((id) => `conformance:${id}`));
      expect(statusOf(items)).toEqual(
        Object.fromEntries(staticIds.map((id) => [id, conformant[id as keyof typeof conformant]])),
      );
      expect(items.every((item) => item.enforced)).toBe(true);
      expect(asked).toBe(1);
      // checkpatch ran on the series' one patch, written into the run folder.
      expect(fakeScript.calls()).toEqual([[...checkpatchArgs, join(folder.dir, 'checkpatch', '0001-callcount.patch')]]);
      expect(items.find((item) => item.name === 'conformance:checkpatch')?.actual).toBe(
        '0 errors, 0 warnings and checks (fake checkpatch.pl)',
      );
    });

    it('fails user-annotations on an address-space warning sparse gave in a series file', async () => {
      process.env.FAKE_SPARSE_SAYS =
        'mysyscalls/callcount.c:7:29: warning: incorrect type in argument 1 (different address spaces)';
      const plan = await planned();
      const built = await buildKernels(plan, { jobs: 1, folder: RunFolder.create(0) });
      const items = await staticConformance(
        plan,
        built,
        'warn',
        RunFolder.create(1),
        async () => checkpatchFor.current!,
      );
      expect(statusOf(items)).toMatchObject({ 'user-annotations': 'fail', checkpatch: 'pass', prototype: 'pass' });
      expect(items.find((item) => item.name === 'conformance:user-annotations')?.actual).toContain(
        'mysyscalls/callcount.c:7:29: warning: incorrect type in argument 1 (different address spaces)',
      );
    });

    it('makes a checkpatch that cannot be had a failed item; any other error stops it', async () => {
      const plan = await planned();
      const built = await buildKernels(plan, { jobs: 1, folder: RunFolder.create(0) });
      const folder = RunFolder.create(1);
      const items = await staticConformance(plan, built, 'warn', folder, async () => {
        throw new InfrastructureError('could not fetch the source of Linux 6.1: offline');
      });
      expect(items.at(-1)).toMatchObject({
        name: 'conformance:checkpatch',
        status: 'fail',
        actual: 'checkpatch.pl could not run: could not fetch the source of Linux 6.1: offline',
      });
      await expect(
        staticConformance(plan, built, 'warn', folder, async () => {
          throw new TypeError('a bug');
        }),
      ).rejects.toThrow('a bug');
    });

    it('judges nothing under off, and nothing for a plan made under off (no facts read)', async () => {
      const plan = await planned();
      const built = await buildKernels(plan, { jobs: 1, folder: RunFolder.create(0) });
      const never = async (): Promise<Checkpatch> => {
        throw new Error('checkpatch asked for');
      };
      expect(await staticConformance(plan, built, 'off', RunFolder.create(1), never)).toEqual([]);
      const offPlan = await planned('off');
      expect(offPlan.conformance).toBeUndefined();
      expect(offPlan.builds.patched.plan.sparse).toEqual([]);
      expect(await staticConformance(offPlan, built, 'warn', RunFolder.create(2), never)).toEqual([]);
    });
  });

  describe('runKernel', () => {
    it('reports every item apart from the checks, in order, as conformance events; exit 0 under fail when all pass', async () => {
      for (const mode of ['warn', 'fail']) {
        const { report, exitCode, events } = await run(mode);
        expect(report.error).toBeUndefined();
        expect(exitCode, mode).toBe(0);
        expect(report.conformance?.map((item) => item.name)).toEqual([
          ...staticIds.map((id) => `conformance:${id}`),
          'conformance:efault:callcount',
          'conformance:flags:callcount',
          'conformance:x86-32:callcount',
        ]);
        expect(statusOf(report.conformance)).toEqual(conformant);
        expect(report.conformance?.every((item) => item.enforced === (mode === 'fail'))).toBe(true);
        expect(report.checks.filter((check) => check.name.startsWith('conformance'))).toEqual([]);
        expect(report.checks.find((check) => check.name === 'callcount-increments')?.status).toBe('pass');
        // The static phase after the builds, before the machine.
        const phases = report.phases.map((phase) => phase.name);
        expect(phases.indexOf('conformance')).toBe(phases.indexOf('build-patched') + 1);
        expect(phases.indexOf('boot-stock')).toBe(phases.indexOf('conformance') + 1);
        // Each item is shown once, as a conformance event; no check event carries one.
        const shown = events.flatMap((event) => (event.type === 'conformance' ? [event.result.name] : []));
        expect(shown).toEqual(report.conformance?.map((item) => item.name));
        expect(events.filter((event) => event.type === 'check' && event.result.name.startsWith('conformance'))).toEqual(
          [],
        );
      }
    });

    it('a failed static item (a checkpatch error): exit 0 under warn, 1 under fail', async () => {
      checkpatchFor.current = fakeCheckpatch(
        'fake checkpatch.pl',
        "%FILE%:31: ERROR:SPACING: space required before the open parenthesis '('",
      ).checkpatch;
      const warned = await run('warn');
      expect(warned.exitCode).toBe(0);
      expect(statusOf(warned.report.conformance)).toEqual({ ...conformant, checkpatch: 'fail' });
      expect(warned.report.conformance?.find((item) => item.name === 'conformance:checkpatch')).toMatchObject({
        enforced: false,
        actual: '0001-callcount.patch: SPACING (1 errors, 0 warnings and checks; fake checkpatch.pl)',
      });
      const failed = await run('fail');
      expect(failed.exitCode).toBe(1);
      expect(failed.report.error).toBeUndefined();
      expect(statusOf(failed.report.conformance)).toEqual({ ...conformant, checkpatch: 'fail' });
      // The functional checks passed: only the checklist failed the run.
      expect(failed.report.checks.filter((check) => check.status === 'fail')).toEqual([]);
    });

    it('a failed sparse item: exit 0 under warn, 1 under fail', async () => {
      process.env.FAKE_SPARSE_SAYS =
        'mysyscalls/callcount.c:7:29: warning: incorrect type in argument 1 (different address spaces)';
      expect((await run('warn')).exitCode).toBe(0);
      const failed = await run('fail');
      expect(failed.exitCode).toBe(1);
      expect(statusOf(failed.report.conformance)).toEqual({ ...conformant, 'user-annotations': 'fail' });
    });

    it('a failed runtime item (NULL taken as nothing to write): exit 0 under warn, 1 under fail', async () => {
      const warned = await run('warn', { nullSucceeds: true });
      expect(warned.exitCode).toBe(0);
      expect(statusOf(warned.report.conformance)).toEqual({ ...conformant, 'efault:callcount': 'fail' });
      const efault = warned.report.conformance?.find((item) => item.name === 'conformance:efault:callcount');
      expect(efault).toMatchObject({
        enforced: false,
        rule: checklist.efault.rule,
        actual:
          'num=null: 0/errno 0 <- wrong; num=unmapped: EFAULT; num=kernel: EFAULT; num=kernel-writable: EFAULT; num=readonly: EFAULT',
      });
      // Shown as WARN while the run went on: a conformance event, not a failed check.
      expect(warned.events).toContainEqual({ type: 'conformance', scope: fake.tree, result: efault });
      const failed = await run('fail', { nullSucceeds: true });
      expect(failed.exitCode).toBe(1);
      expect(failed.report.checks.filter((check) => check.status === 'fail')).toEqual([]);
    });

    it('lists the runtime check not run as n/a when the stock kernel stopped the run, and under off not at all', async () => {
      const goneAtEnosys = (): FakeMachine => {
        const machine = new FakeMachine();
        const exec = machine.exec.bind(machine);
        machine.exec = async (command: string) => {
          if (command.includes(' enosys ')) throw new MachineGoneError('QEMU exited (killed)', '', null);
          return exec(command);
        };
        return machine;
      };
      for (const mode of ['warn', 'off']) {
        const outcome = await runKernel(await planned(mode), {
          options: options(mode),
          folder: RunFolder.create(0),
          accel: 'tcg',
          emit: () => undefined,
          reproduce: 'npx syscall-lab run',
          keep: false,
          backend: fakeBackend(goneAtEnosys()),
        });
        expect(outcome.exitCode, mode).toBe(3);
        expect(outcome.report.error, mode).toMatch(/QEMU exited \(killed\)/);
        // The functional checks the stop left unrun are listed; the checklist's one is not among them.
        expect(outcome.report.checks.find((check) => check.name === 'callcount-increments')?.actual).toBe('not run');
        expect(
          outcome.report.checks.filter((check) => check.name.startsWith('conformance')),
          mode,
        ).toEqual([]);
        if (mode === 'off') expect(outcome.report.conformance).toBeUndefined();
        else
          expect(outcome.report.conformance?.at(-1)).toMatchObject({
            name: 'conformance:runtime',
            status: 'n/a',
            actual: expect.stringMatching(/^not run: the stock kernel's checks stopped: /) as unknown,
          });
      }
    });

    it('judges nothing under off: no phase, no items, no checkpatch asked for, no sparse', async () => {
      const { report, exitCode, events } = await run('off', { nullSucceeds: true });
      expect(exitCode).toBe(0);
      expect(report.conformance).toBeUndefined();
      expect(report.phases.map((phase) => phase.name)).not.toContain('conformance');
      expect(report.checks.filter((check) => check.name.startsWith('conformance'))).toEqual([]);
      expect(events.filter((event) => event.type === 'conformance')).toEqual([]);
      expect(checkpatchFor.asked).toBe(0);
      expect(readFileSync(join(fake.state, 'calls'), 'utf8')).not.toMatch(/\.o$/m);
    });
  });
});

describe('upgrade-kernel.sh --sparse', () => {
  const printPlan = (args: string[], env: Record<string, string> = {}) =>
    execa(upgradeKernelScript, ['--print-plan', '6.1', ...args], {
      reject: false,
      timeout: 30_000,
      env: { TMPDIR: tempDir(), LC_ALL: 'C', ...env },
    });

  it("puts each file and sparse's version in the plan", async () => {
    const dir = tempDir();
    writeScript(join(dir, 'sparse'), '#!/bin/sh\necho "0.6.4 (Debian: 0.6.4-3)"\n');
    const result = await printPlan(['--sparse', 'mysyscalls/a.c', '--sparse', 'kernel/sys_ni.c'], {
      PATH: `${dir}${delimiter}${process.env.PATH ?? ''}`,
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.filter((line) => line.startsWith('sparse'))).toEqual([
      'sparse mysyscalls/a.c',
      'sparse kernel/sys_ni.c',
      'sparse-tool 0.6.4 (Debian: 0.6.4-3)',
    ]);
    // After the rest of the plan.
    expect(lines.findIndex((line) => line.startsWith('sparse '))).toBeGreaterThan(
      lines.findIndex((line) => line.startsWith('localversion ')),
    );
  });

  it('says "missing" for a sparse that is not installed, and prints no sparse lines without --sparse', async () => {
    const noSparse = pathWithout(join(tempDir(), 'bin'), ['sparse']);
    const missing = await printPlan(['--sparse', 'mysyscalls/a.c'], { PATH: noSparse });
    expect(missing.exitCode).toBe(0);
    expect(missing.stdout.split('\n').filter((line) => line.startsWith('sparse'))).toEqual([
      'sparse mysyscalls/a.c',
      'sparse-tool missing',
    ]);
    const without = await printPlan([]);
    expect(without.exitCode).toBe(0);
    expect(without.stdout).not.toMatch(/^sparse/m);
  });

  it('exits 2 (usage) for a path that is not a .c file inside the tree', async () => {
    for (const file of ['/abs.c', '../x.c', 'a/../../x.c', 'x.h', 'mysyscalls/']) {
      const result = await printPlan(['--sparse', file]);
      expect(result.exitCode, file).toBe(2);
      expect(result.stdout, file).toBe('');
      expect(result.stderr, file).toContain(`--sparse ${file}: give a .c file's path inside the tree`);
    }
  });
});
