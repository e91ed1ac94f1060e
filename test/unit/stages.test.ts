import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors.ts';
import type { LabEvent } from '../../src/events.ts';
import { shortHash } from '../../src/kernel/cache.ts';
import { projectRoot } from '../../src/paths.ts';
import { createRenderer } from '../../src/render.ts';
import { RunFolder } from '../../src/run-folder.ts';
import { buildKernels } from '../../src/stages/builds.ts';
import { checkPatchSeries } from '../../src/stages/patch-check.ts';
import { planRuns } from '../../src/stages/plan.ts';
import { writeReports } from '../../src/stages/report.ts';
import { runKernel } from '../../src/stages/run-kernel.ts';
import { useFakeBuild, type FakeBuild } from './support/fake-build.ts';
import { FakeMachine, fakeBackend } from './support/fake-machine.ts';
import { testOptions } from './support/options.ts';
import { callcountPatch } from './support/fake-kernel.ts';
import { useTempDirs } from './support/temp.ts';

// Each stage on its own, as kunit_tool's are: a fake kernel tree and a fake `make` for the builds,
// a fake machine for the checks. No VM, no compiler.
const tempDir = useTempDirs('syscall-lab-stages-');
const fakeBuild = useFakeBuild(tempDir);
let fake: FakeBuild;

beforeEach(() => {
  fake = fakeBuild();
});

const options = (extra: Record<string, unknown> = {}) =>
  testOptions({ kernel: [fake.tree], patches: fake.patches, ...extra });

describe('stage 1: planRuns', () => {
  it('validates a kernel tree and a patch set, and asks upgrade-kernel.sh for both build plans', async () => {
    const [plan, ...rest] = await planRuns(options());
    expect(rest).toEqual([]);
    expect(plan?.source).toMatchObject({ kind: 'tree', version: '6.1', path: fake.tree });
    expect(plan?.patchSet.files).toEqual([join(fake.patches, '0001-callcount.patch')]);
    expect(plan?.builds.stock.plan.localversion).toBe('-stock');
    expect(plan?.builds.stock.plan.patches).toEqual([]);
    expect(plan?.builds.patched.plan.localversion).toBe(`-patched-${shortHash([callcountPatch])}`);
    expect(plan?.builds.patched.plan.patches).toEqual([join(fake.patches, '0001-callcount.patch')]);
    expect(plan?.builds.patched.plan.makeTargets).toEqual(['tinyconfig', 'kvm_guest.config']);
    expect(plan?.builds.patched.args).toEqual(['--backend', 'qemu', '--patches', fake.patches]);
    expect(plan?.userlandFiles.map((file) => file.replace(`${projectRoot}/`, ''))).toEqual([
      'userland/examples/callcount_example.c',
      'userland/examples/taskcount_example.c',
      'userland/tests/callcount_monotonic.c',
      'userland/tests/taskcount_sane.c',
    ]);
  });

  it('says when a patch set adds no syscall-table entry (the built-in checks will be skipped)', async () => {
    const onlyAFile = [
      'diff -uNr a/mysyscalls/hello.c b/mysyscalls/hello.c',
      '--- a/mysyscalls/hello.c',
      '+++ b/mysyscalls/hello.c',
      '@@ -0,0 +1 @@',
      '+int hello;',
      '',
    ].join('\n');
    writeFileSync(join(fake.patches, '0001-callcount.patch'), onlyAFile);
    const [plan] = await planRuns(options());
    expect(plan?.notices.join('\n')).toMatch(
      /adds no entry to syscall_64\.tbl: the built-in syscall checks will be skipped/,
    );
  });

  it('refuses a patch set made for the other syscall-table location (bad input)', async () => {
    writeFileSync(
      join(fake.patches, '0001-callcount.patch'),
      callcountPatch.replaceAll('arch/x86/entry/syscalls/syscall_64.tbl', 'arch/x86/syscalls/syscall_64.tbl'),
    );
    await expect(planRuns(options())).rejects.toThrow(/keeps its x86-64 syscall table at arch\/x86\/entry\/syscalls/);
  });
});

describe('stage 1b: checkPatchSeries', () => {
  it('checks the inputs but tries no dry run once both builds are made', async () => {
    const [plan] = await checkPatchSeries(await planRuns(options()));
    await buildKernels(plan!, { jobs: 1, folder: RunFolder.create(0) });
    // A dry run would copy the table from the source tree and fail without it; the made builds need neither.
    rmSync(join(fake.tree, 'arch/x86/entry/syscalls/syscall_64.tbl'));
    const [made] = await checkPatchSeries(await planRuns(options()));
    expect(made?.builtAlready).toBe(true);
    expect(made?.keys).toEqual(plan?.keys);
  });

  it('tries the series and reports how long it took', async () => {
    const [checked] = await checkPatchSeries(await planRuns(options()));
    expect(checked?.patchCheckSeconds).toBeGreaterThanOrEqual(0);
  });

  // A hunk of a file that holds no registration (a registration hunk is written anew for the tree).
  it('refuses a series that does not apply, naming the patch, before anything is built', async () => {
    writeFileSync(
      join(fake.patches, '0001-callcount.patch'),
      `${callcountPatch}--- a/kernel/sched.c\n+++ b/kernel/sched.c\n@@ -1 +1 @@\n-void schedule(int cpu) {}\n+void schedule(int cpu) { }\n`,
    );
    const error = await checkPatchSeries(await planRuns(options())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toMatch(/0001-callcount\.patch does not apply/);
    expect(existsSync(join(process.env.SYSCALL_LAB_CACHE ?? '', 'builds'))).toBe(false);
  });
});

describe('stage 2: buildKernels', () => {
  it('builds stock then patched in the same tree, finds the added syscall and writes its header; then serves both from the cache', async () => {
    const [plan] = await checkPatchSeries(await planRuns(options()));
    expect(plan?.builtAlready).toBe(false);
    const events: LabEvent[] = [];
    const folder = RunFolder.create(0);
    const built = await buildKernels(plan!, { jobs: 1, folder, emit: (event) => events.push(event) });
    expect([built.stock.key, built.patched.key]).toEqual([plan!.keys.stock, plan!.keys.patched]);
    expect(built.stock.release).toBe('6.1.0-stock');
    expect(built.patched.release).toBe(`6.1.0${plan!.builds.patched.plan.localversion}`);
    expect([built.stock.cached, built.patched.cached]).toEqual([false, false]);
    expect(built.added).toEqual([{ number: 3, abi: 'common', name: 'callcount', entry: 'sys_callcount' }]);
    expect(readFileSync(built.headerFile, 'utf8')).toContain('#define __NR_callcount 3');
    expect(events.filter((event) => event.type === 'phase-end').map((event) => event.phase.name)).toEqual([
      'build-stock',
      'build-patched',
    ]);
    // The plan's lines stay in the build log.
    expect(readFileSync(built.patched.log, 'utf8')).toMatch(/^syscall-lab: plan: /m);
    expect(events.some((event) => event.type === 'info' && event.text.startsWith('plan: '))).toBe(false);

    const [made] = await checkPatchSeries(await planRuns(options()));
    expect(made?.builtAlready).toBe(true);
    const again = await buildKernels(made!, { jobs: 1, folder: RunFolder.create(1) });
    expect([again.stock.cached, again.patched.cached]).toEqual([true, true]);
    expect(again.patched.key).toBe(built.patched.key);
  });
});

describe('stages 2-4: runKernel with a fake backend', () => {
  async function run(machine: FakeMachine, keep = false, boxFirst = false, extra: Record<string, unknown> = {}) {
    const [checked] = await checkPatchSeries(await planRuns(options()));
    const events: LabEvent[] = [];
    const outcome = await runKernel(checked!, {
      options: options(extra),
      folder: RunFolder.create(0),
      accel: 'tcg',
      // As the event was when emitted (the report's results are marked once more at the end).
      emit: (event) => events.push(structuredClone(event)),
      reproduce: 'npx syscall-lab run',
      keep,
      backend: fakeBackend(machine, boxFirst),
    });
    return { ...outcome, events };
  }

  it('boots stock, runs the control, reboots into the patched build, runs its checks, then stops the machine', async () => {
    const machine = new FakeMachine();
    const { report, exitCode, events } = await run(machine);
    expect(report.error).toBeUndefined();
    expect(exitCode).toBe(0);
    expect(machine.life).toEqual(['start', `reboot ${report.kernel.patchedRelease ?? ''}`, 'stop']);
    expect(report.phases.map((phase) => phase.name)).toEqual([
      'patch-check',
      'build-stock',
      'build-patched',
      'boot-stock',
      'checks-stock',
      'boot-patched',
      'checks-patched',
    ]);
    expect(report.checks.find((check) => check.name === 'enosys-control')?.status).toBe('pass');
    expect(report.checks.find((check) => check.name === 'callcount-increments')?.status).toBe('pass');
    expect(report.checks.find((check) => check.name === 'taskcount-matches-top')?.status).toBe('skip');
    for (const check of report.checks) {
      expect(check.started, check.name).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(check.seconds, check.name).toBeGreaterThanOrEqual(0);
    }
    const checkEvents = events.filter((event) => event.type === 'check').map((event) => event.result.name);
    expect(checkEvents).toEqual(report.checks.map((check) => check.name));
  });

  it('remembers a stock control that passed: the next run boots the patched kernel directly, the control marked cached', async () => {
    const first = await run(new FakeMachine());
    expect(first.report.checks.find((check) => check.name === 'enosys-control')?.cachedFrom).toBeUndefined();
    const machine = new FakeMachine();
    const { report, exitCode } = await run(machine);
    expect(exitCode).toBe(0);
    // No stock boot, no reboot: the one boot is the patched kernel's.
    expect(machine.life).toEqual(['start', 'stop']);
    const control = report.checks.find((check) => check.name === 'enosys-control');
    expect(control?.status).toBe('pass');
    expect(control?.cachedFrom?.run).toMatch(new RegExp(`^${process.env.SYSCALL_LAB_CACHE ?? ''}/runs/`));
    expect(control?.actual).toMatch(/\(cached from \d{4}-/);
    expect(report.checks.find((check) => check.name === 'kernel-console:stock')?.cachedFrom).toBeDefined();
    expect(report.phases.filter((phase) => phase.cached).map((phase) => phase.name)).toEqual([
      'patch-check',
      'build-stock',
      'build-patched',
      'boot-stock',
      'checks-stock',
    ]);
    expect(report.kernel.stockRelease).toBe(first.report.kernel.stockRelease);
  });

  it("neither uses nor remembers a stock control on a backend that boots its own kernel first (Vagrant's box)", async () => {
    const controlFrom = async (): Promise<string | undefined> =>
      (await run(new FakeMachine())).report.checks.find((check) => check.name === 'enosys-control')?.cachedFrom?.run;
    await run(new FakeMachine());
    const firstControl = await controlFrom();
    expect(firstControl).toBeDefined();
    const machine = new FakeMachine();
    const { report } = await run(machine, false, true);
    expect(machine.life).toEqual(['start', `reboot ${report.kernel.patchedRelease ?? ''}`, 'stop']);
    expect(report.checks.filter((check) => check.cachedFrom)).toEqual([]);
    // A control on the box's kernel is not the stock build's: the next QEMU run still uses the first one's.
    expect(await controlFrom()).toBe(firstControl);
  });

  it('--check NAME: the live line of a check not named says "(not judged)", as the summary will; nothing remembered is marked', async () => {
    const named = 'callcount-increments';
    const { report, events } = await run(new FakeMachine(), false, false, { check: [named] });
    const live = events.flatMap((event) => (event.type === 'check' ? [event.result] : []));
    expect(live.map((result) => result.name)).toEqual(report.checks.map((check) => check.name));
    for (const result of live) expect(result.judged, result.name).toBe(result.name === named ? undefined : false);
    expect(report.checks.map((check) => check.judged)).toEqual(live.map((result) => result.judged));
    const stderr: string[] = [];
    const renderer = createRenderer({
      stdout: { write: () => true },
      stderr: { write: (text: string) => stderr.push(text) },
      tty: false,
      quiet: false,
      color: false,
    });
    for (const event of events) if (event.type === 'check') renderer.emit(event);
    renderer.close();
    expect(stderr).toContainEqual(expect.stringMatching(/^\[.*\] PASS enosys-control \(not judged\): /));
    expect(stderr).toContainEqual(expect.stringMatching(/^\[.*\] PASS callcount-increments: /));
    // The stock control remembered for the next run carries no run's --check.
    const next = await run(new FakeMachine());
    const control = next.report.checks.find((check) => check.name === 'enosys-control');
    expect(control?.cachedFrom).toBeDefined();
    expect(control?.judged).toBeUndefined();
  });

  it('keeps the machine instead of stopping it with --keep', async () => {
    const machine = new FakeMachine();
    const { events } = await run(machine, true);
    expect(machine.life.at(-1)).toBe('keep patched');
    expect(machine.life).not.toContain('stop');
    expect(events).toContainEqual({ type: 'info', text: 'kept' });
  });

  it('stops the machine and reports the error (exit 3) when the stock kernel does not boot', async () => {
    const machine = new FakeMachine();
    machine.start = async () => {
      machine.life.push('start');
      throw new Error('QEMU would not start');
    };
    const { report, exitCode } = await run(machine);
    expect(exitCode).toBe(3);
    expect(report.error).toMatch(/QEMU would not start/);
    expect(machine.life).toEqual(['start', 'stop']);
  });
});

describe('stage 5: writeReports', () => {
  it('emits the summary and writes the JSON and JUnit files asked for', async () => {
    const dir = tempDir();
    const events: LabEvent[] = [];
    const report = {
      kernel: { requested: '6.1', version: '6.1.0', source: 'x', patches: [] },
      backend: 'qemu',
      accel: 'tcg',
      phases: [],
      checks: [{ name: 'a', status: 'pass' as const, expected: 'e', actual: 'a', details: '', seconds: 1.5 }],
      logs: { console: [], build: [] },
      reproduce: 'r',
    };
    await writeReports([report], { json: join(dir, 'r.json'), junit: join(dir, 'r.xml') }, (event) =>
      events.push(event),
    );
    expect(events).toEqual([{ type: 'summary', reports: [report] }]);
    expect(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'))).toMatchObject({
      runs: [{ checks: [{ seconds: 1.5 }] }],
    });
    expect(readFileSync(join(dir, 'r.xml'), 'utf8')).toContain('name="a" time="1.500"');
  });
});
