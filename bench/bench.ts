/**
 * `npm run bench`: speed figures on the cached kernels of one version (built first if needed),
 * printed as a table beside a by-hand baseline (bench/by-hand.sh) and virtme-ng; never asserted.
 *
 *   npm run bench                 the table (6.1; about 5 minutes with both kernels cached)
 *   npm run bench -- --kernel X   another kernel
 *   npm run bench -- --soak N     N warm runs: failures (expect 0) and the spread of boot times
 */
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { cacheRoot, projectRoot } from '../src/paths.ts';
import type { RunReport } from '../src/report/model.ts';
import { virtmeNg } from './virtme-ng.ts';

const { values: args } = parseArgs({
  options: { kernel: { type: 'string', default: '6.1' }, soak: { type: 'string' } },
});
const kernel = args.kernel;
const cli = join(projectRoot, 'bin', 'syscall-lab.mjs');
const seconds = (started: number): number => (Date.now() - started) / 1000;

async function timed(
  command: string,
  commandArgs: string[],
): Promise<{ seconds: number; stdout: string; exitCode: number }> {
  const started = Date.now();
  const result = await execa(command, commandArgs, { reject: false, stderr: 'inherit', cwd: projectRoot });
  return { seconds: seconds(started), stdout: result.stdout, exitCode: result.exitCode ?? -1 };
}

/** A warm `run`: its wall time and report. */
async function run(
  name: string,
  extra: string[] = [],
): Promise<{ seconds: number; report: RunReport; exitCode: number }> {
  process.stderr.write(`\n=== ${name} ===\n`);
  const out = await dir({ unsafeCleanup: true });
  const json = join(out.path, 'report.json');
  const result = await timed('node', [cli, 'run', '--kernel', kernel, '--json', json, ...extra]);
  const [report] = (JSON.parse(readFileSync(json, 'utf8')) as { runs: RunReport[] }).runs;
  await out.cleanup();
  if (!report) throw new Error(`${name}: no report (exit ${result.exitCode})`);
  return { seconds: result.seconds, report, exitCode: result.exitCode };
}

/** The stock and patched builds of the default patch set (built now when not cached). */
async function builds(): Promise<{ stock: string; patched: string }> {
  const result = await timed('node', [cli, 'build', '--kernel', kernel]);
  const dirs = [...result.stdout.matchAll(/^(\S+): (\S+)/gm)].map(([, release, path]) => ({ release, path }));
  const stock = dirs.find((build) => build.release?.endsWith('-stock'))?.path;
  const patched = dirs.find((build) => build.release?.includes('-patched-'))?.path;
  if (!stock || !patched) throw new Error(`syscall-lab build printed no builds:\n${result.stdout}`);
  return { stock, patched };
}

/** bench/by-hand.sh on the same bzImages, numbers, probe, header and userland files as `run`. */
async function byHand(built: { stock: string; patched: string }): Promise<Record<string, number>> {
  process.stderr.write('\n=== by-hand baseline ===\n');
  const read = (file: string): string => readFileSync(join(built.patched, file), 'utf8');
  const number = (name: string): string =>
    new RegExp(`^(\\d+)\\s+\\S+\\s+${name}\\s`, 'm').exec(read('syscall_64.tbl'))?.[1] ?? '';
  const work = await dir({ unsafeCleanup: true });
  const header = join(work.path, 'syscall-lab-syscalls.h');
  writeFileSync(header, ['callcount', 'taskcount'].map((name) => `#define SYS_${name} ${number(name)}\n`).join(''));
  const userland = ['examples', 'tests'].flatMap((folder) =>
    readdirSync(join(projectRoot, 'userland', folder))
      .filter((file) => file.endsWith('.c'))
      .flatMap((file) => ['--userland', join(projectRoot, 'userland', folder, file)]),
  );
  const result = await execa(
    'bash',
    [
      join(projectRoot, 'bench', 'by-hand.sh'),
      ...['--stock', join(built.stock, 'bzImage'), '--patched', join(built.patched, 'bzImage')],
      ...['--callcount', number('callcount'), '--taskcount', number('taskcount')],
      ...['--probe', join(projectRoot, 'src', 'checks', 'guest', 'probe.c'), '--header', header],
      ...userland,
    ],
    { stderr: 'inherit' },
  );
  await work.cleanup();
  return Object.fromEntries(
    result.stdout.split('\n').flatMap((line) => {
      const [name, value] = line.split(' ');
      return name && value ? [[name, Number(value)]] : [];
    }),
  );
}

/** `test` on a VM kept by `boot`: the second of two, after one userland program was edited. */
async function testOnKeptVm(): Promise<{ first: number; edited: number }> {
  process.stderr.write('\n=== boot, test, edit one program, test ===\n');
  const userland = await dir({ unsafeCleanup: true });
  cpSync(join(projectRoot, 'userland', 'tests'), userland.path, { recursive: true });
  const booted = await timed('node', [cli, 'boot', '--kernel', kernel]);
  const first = await timed('node', [cli, 'test', '--userland', userland.path]);
  const program = join(userland.path, 'callcount_monotonic.c');
  writeFileSync(program, `${readFileSync(program, 'utf8')}\n/* edited ${Date.now()} */\n`);
  const edited = await timed('node', [cli, 'test', '--userland', userland.path]);
  await timed('node', [cli, 'clean', '--vms']);
  await userland.cleanup();
  // A boot that failed makes `test` fail at once: its seconds would look like a fast test.
  const codes = [booted, first, edited].map((step) => step.exitCode);
  if (codes.some((code) => code !== 0)) throw new Error(`boot, test, test exited ${codes.join(', ')} (expect 0, 0, 0)`);
  return { first: first.seconds, edited: edited.seconds };
}

/** A copy of the default patch set with one code line of callcount.c changed (ccache cannot serve it). */
async function editedPatchSet(): Promise<string> {
  const copy = await dir({ unsafeCleanup: true });
  cpSync(join(projectRoot, `patches-${kernel}`), copy.path, { recursive: true });
  const patch = readdirSync(copy.path).find((file) => file.includes('callcount'));
  if (!patch) throw new Error(`patches-${kernel} has no callcount patch`);
  const file = join(copy.path, patch);
  const text = readFileSync(file, 'utf8');
  // Still 0, but new code every time: neither ccache nor the build cache can serve it.
  const changed = text.replace(/ATOMIC_LONG_INIT\(0\)/, `ATOMIC_LONG_INIT(0 * ${Date.now() % 1_000_000})`);
  if (changed === text) throw new Error(`${file}: no ATOMIC_LONG_INIT(0) line to change`);
  writeFileSync(file, changed);
  return copy.path;
}

async function helpMedian(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 10; i++) times.push((await timed('node', [cli, '--help'])).seconds);
  return times.sort((a, b) => a - b)[5] ?? NaN;
}

/** Forget the remembered stock controls: the run boots the stock kernel and runs the control. */
function forgetStockControls(): void {
  rmSync(join(cacheRoot(), 'controls'), { recursive: true, force: true });
}

interface Row {
  figure: string;
  seconds: number | undefined;
  /** What it is divided by for the ratio column (a by-hand figure). */
  baseline?: number | undefined;
  goal: string;
}

function table(rows: Row[], machine: string): string {
  const head = ['figure', 'seconds', 'ratio', 'goal'];
  const cells = rows.map((row) => [
    row.figure,
    row.seconds === undefined ? 'not run' : row.seconds.toFixed(row.seconds < 1 ? 2 : 1),
    row.seconds !== undefined && row.baseline ? `${(row.seconds / row.baseline).toFixed(2)}x` : '',
    row.goal,
  ]);
  const widths = head.map((title, i) => Math.max(title.length, ...cells.map((cell) => (cell[i] ?? '').length)));
  const line = (cell: string[]): string => `| ${cell.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [machine, '', line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join(
    '\n',
  );
}

async function soakRuns(cycles: number): Promise<void> {
  const boots: number[] = [];
  let failed = 0;
  for (let i = 1; i <= cycles; i++) {
    const { report, exitCode } = await run(`soak ${i}/${cycles}`);
    boots.push(...report.phases.filter((p) => p.name.startsWith('boot-') && !p.cached).map((p) => p.seconds));
    if (exitCode !== 0) {
      failed++;
      const failing = report.checks.filter((c) => c.status === 'fail').map((c) => c.name);
      process.stdout.write(`cycle ${i}: exit ${exitCode}${failing.length ? `, failed: ${failing.join(', ')}` : ''}\n`);
    }
  }
  const sorted = boots.sort((a, b) => a - b);
  process.stdout.write(
    `soak: ${cycles} runs of ${kernel}, ${failed} failed (expect 0); boot-to-SSH min ${sorted[0]} s, median ${sorted[Math.floor(sorted.length / 2)]} s, max ${sorted.at(-1)} s\n`,
  );
}

if (args.soak) {
  await soakRuns(Number(args.soak));
  process.exit(0);
}
const built = await builds();
const hand = await byHand(built);
forgetStockControls();
const uncached = await run('run, stock control run');
const cached = await run('run, stock control cached');
const kept = await testOnKeptVm();
const incremental = await run('edit one code line of callcount.c, then run', ['--patches', await editedPatchSet()]);
const help = await helpMedian();
const peer = await virtmeNg(join(built.stock, 'bzImage'));
const bootToSsh = (report: RunReport, phase: string): number | undefined =>
  report.phases.find((p) => p.name === phase && !p.cached)?.seconds;
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, accel ${uncached.report.accel}, kernel ${uncached.report.kernel.version}, ${new Date().toISOString().slice(0, 10)}`;
process.stdout.write(
  `\n${table(
    [
      {
        figure: 'by-hand: both boots and all the work (bench/by-hand.sh)',
        seconds: hand.total,
        baseline: hand.total,
        goal: '',
      },
      {
        figure: 'by-hand: stock boot → first SSH command',
        seconds: hand['boot-to-ssh-stock'],
        goal: 'measured-here.md: about 6 s',
      },
      {
        figure: 'run, stock control run',
        seconds: uncached.seconds,
        baseline: hand.total,
        goal: '≤ 1.10x by-hand (best effort)',
      },
      { figure: 'run, stock control cached', seconds: cached.seconds, baseline: hand.total, goal: '≤ 20 s' },
      {
        figure: 'run: patched boot → first SSH command',
        seconds: bootToSsh(cached.report, 'boot-patched'),
        baseline: hand['boot-to-ssh-patched'],
        goal: '',
      },
      { figure: 'run: patched checks', seconds: bootToSsh(cached.report, 'checks-patched'), goal: '' },
      { figure: '`test` on a kept VM, first', seconds: kept.first, goal: '' },
      { figure: '`test` on a kept VM, one program edited', seconds: kept.edited, goal: '≤ 5 s' },
      { figure: 'edit one code line → verdict', seconds: incremental.seconds, goal: '≤ 45 s (best effort)' },
      { figure: '`--help` (median of 10)', seconds: help, goal: '≤ 0.3 s' },
      {
        figure: `virtme-ng: boot + one command (${peer.how})`,
        seconds: peer.seconds,
        baseline: hand['boot-to-ssh-stock'],
        goal: '',
      },
    ],
    machine,
  )}\n`,
);
process.stdout.write(
  `exit codes: ${[uncached, cached, incremental].map((r) => r.exitCode).join(', ')} (expect 0, 0, 0)\n`,
);
