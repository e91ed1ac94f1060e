/**
 * Speed figures, printed (not asserted): seconds per phase for a cold run (empty cache,
 * empty ccache), a warm re-run (everything cached), and an incremental run after editing one
 * patch (patched kernel rebuilt from the stock tree), plus boot-to-SSH of each boot.
 *
 *   npm run bench                 all three (the cold run builds 6.1 from scratch: 15-25 min)
 *   npm run bench -- --no-cold    warm and incremental only, on the normal cache
 *   npm run bench -- --kernel X   another kernel (default 6.1)
 *   npm run bench -- --soak N     N boot/check cycles on the cached kernel: failures (expect 0)
 *                                 and the spread of boot-to-SSH times
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { projectRoot } from '../src/paths.ts';
import type { RunReport } from '../src/report/model.ts';

const { values: args } = parseArgs({
  options: { kernel: { type: 'string', default: '6.1' }, 'no-cold': { type: 'boolean' }, soak: { type: 'string' } },
});
const kernel = args.kernel;
const cold = !args['no-cold'];
const soak = Number(args.soak ?? 0);

interface Scenario {
  name: string;
  report: RunReport;
  exitCode: number | undefined;
  wallSeconds: number;
}

async function runOnce(name: string, extraArgs: string[], env: Record<string, string>): Promise<Scenario> {
  const out = await dir({ unsafeCleanup: true });
  const json = join(out.path, 'report.json');
  const started = Date.now();
  process.stderr.write(`\n=== ${name} ===\n`);
  const result = await execa(
    'node',
    [join(projectRoot, 'bin', 'syscall-lab.mjs'), 'run', '--kernel', kernel, '--json', json, ...extraArgs],
    {
      reject: false,
      env,
      stdout: 'ignore',
      stderr: 'inherit',
    },
  );
  const [report] = (JSON.parse(readFileSync(json, 'utf8')) as { runs: RunReport[] }).runs;
  if (!report) throw new Error(`${name}: the JSON report holds no run (exit ${result.exitCode})`);
  await out.cleanup();
  return { name, report, exitCode: result.exitCode, wallSeconds: (Date.now() - started) / 1000 };
}

/** A copy of the default patch set with one line of one patch changed (same line count). */
async function editedPatchSet(): Promise<string> {
  const copy = await dir({ unsafeCleanup: true });
  const source = join(projectRoot, `patches-${kernel}`);
  cpSync(source, copy.path, { recursive: true });
  const first = join(copy.path, '0001-callcount.patch');
  const text = readFileSync(first, 'utf8');
  writeFileSync(
    first,
    text.replace('+ * callcount(2): how many times', `+ * callcount(2): how many times (bench ${Date.now()})`),
  );
  return copy.path;
}

function print(scenarios: Scenario[]): void {
  const phases = [...new Set(scenarios.flatMap((s) => s.report.phases.map((p) => p.name)))];
  const width = Math.max(...phases.map((p) => p.length), 14);
  const header = ['phase'.padEnd(width), ...scenarios.map((s) => s.name.padStart(14))].join('  ');
  const rows = phases.map((phase) =>
    [
      phase.padEnd(width),
      ...scenarios.map((s) => {
        const p = s.report.phases.find((x) => x.name === phase);
        return (p ? `${p.seconds.toFixed(1)}${p.cached ? ' (c)' : ''}` : '-').padStart(14);
      }),
    ].join('  '),
  );
  const total = ['wall clock'.padEnd(width), ...scenarios.map((s) => s.wallSeconds.toFixed(1).padStart(14))].join('  ');
  const verdicts = ['exit code'.padEnd(width), ...scenarios.map((s) => String(s.exitCode).padStart(14))].join('  ');
  process.stdout.write(
    `\nkernel ${kernel}, accel ${scenarios[0]?.report.accel}; seconds, (c) = from cache; boot-* = QEMU start to first SSH command\n`,
  );
  process.stdout.write([header, ...rows, total, verdicts].join('\n') + '\n');
}

function spread(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return `min ${sorted[0]?.toFixed(1)} s, median ${at(0.5).toFixed(1)} s, p90 ${at(0.9).toFixed(1)} s, max ${sorted.at(-1)?.toFixed(1)} s`;
}

async function soakRuns(cycles: number): Promise<void> {
  const boots: number[] = [];
  let failedRuns = 0;
  for (let i = 1; i <= cycles; i++) {
    const { report, exitCode } = await runOnce(`soak ${i}/${cycles}`, [], { ...process.env } as Record<string, string>);
    boots.push(...report.phases.filter((p) => p.name.startsWith('boot-')).map((p) => p.seconds));
    if (exitCode !== 0) {
      failedRuns++;
      const failing = report.checks.filter((c) => c.status === 'fail').map((c) => c.name);
      process.stdout.write(
        `cycle ${i}: exit ${exitCode}${failing.length ? `, failed: ${failing.join(', ')}` : ''}${report.error ? `, error: ${report.error.split('\n')[0]}` : ''}\n`,
      );
    }
  }
  process.stdout.write(
    `\nsoak: ${cycles} cycles of kernel ${kernel}, ${failedRuns} failed (expect 0)\nboot-to-SSH over ${boots.length} boots: ${spread(boots)}\n`,
  );
}

const scenarios: Scenario[] = [];
const baseEnv = { ...process.env } as Record<string, string>;
if (soak > 0) {
  await soakRuns(soak);
  process.exit(0);
}
if (cold) {
  const coldCache = await dir({ unsafeCleanup: true });
  scenarios.push(await runOnce('cold', [], { ...baseEnv, SYSCALL_LAB_CACHE: coldCache.path }));
  scenarios.push(await runOnce('warm', [], { ...baseEnv, SYSCALL_LAB_CACHE: coldCache.path }));
  const edited = await editedPatchSet();
  scenarios.push(
    await runOnce('incremental', ['--patches', edited], { ...baseEnv, SYSCALL_LAB_CACHE: coldCache.path }),
  );
  await coldCache.cleanup();
} else {
  scenarios.push(await runOnce('warm', [], baseEnv));
  scenarios.push(await runOnce('incremental', ['--patches', await editedPatchSet()], baseEnv));
}
print(scenarios);
