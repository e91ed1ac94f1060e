/**
 * Regenerates the crash catalogue's real golden logs (`npm run golden:crash-logs [-- NAME...]`):
 * boots 6.1, 3.9 and 6.1 under --profile debug (NAME: 6.1, 3.9, 6.1-debug) with callcount made
 * to crash on purpose (test/fixtures/patches/crash-catalogue-<version>), runs one program per crash
 * (test/fixtures/userland/crash-catalogue: each marks the console through /dev/kmsg, then crashes
 * the kernel one way), and cuts the patched boot's console at
 * the marks into test/fixtures/console/<NAME>-real-<crash>.log, each with the
 * .expected.json the scanner gives it. Review the diff before committing: the expectations are
 * golden only once a person agrees with them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { projectRoot } from '../../src/paths.ts';
import type { RunReport } from '../../src/report/model.ts';
import { scanConsole, verdict } from '../../src/vm/console.ts';

const fixtures = join(projectRoot, 'test', 'fixtures');
/**
 * `programs`: the folder of crash programs (under test/fixtures/userland). The debug kernel runs
 * its own, in the order the detectors allow: an oops turns lockdep off (debug_locks_off), and so
 * does a KASAN report, which also reports only once per boot; UBSAN goes on after its report.
 */
const kernels: { version: string; kernel: string; name: string; profile?: string; programs: string }[] = [
  { version: '6.1', kernel: '6.1', name: '6.1', programs: 'crash-catalogue' },
  {
    version: '3.9',
    kernel: join(projectRoot, '..', 'shared', 'kernels', 'linux-3.9.6-onl.tar.xz'),
    name: '3.9',
    programs: 'crash-catalogue',
  },
  { version: '6.1', kernel: '6.1', name: '6.1-debug', profile: 'debug', programs: 'crash-catalogue-debug' },
];

/** The catalogue kind each crash program must produce: a log of another kind is not written. */
const kindOf: Record<string, string> = {
  'divide-error': 'divide-error',
  'invalid-opcode': 'invalid-opcode',
  'kernel-bug': 'bug',
  'general-protection-fault': 'gpf',
  // QEMU's TCG raises #GP, not #SS, for a non-canonical access through %rbp: only KVM gives this one.
  'stack-segment': 'stack-segment',
  'page-fault': 'bad-access',
  warning: 'warn',
  'refcount-underflow': 'refcount',
  panic: 'panic',
  // --profile debug only (crash-catalogue-debug): on the default profile these report nothing.
  'slab-out-of-bounds': 'kasan',
  'shift-out-of-bounds': 'ubsan',
  'lock-inversion': 'lockdep',
};

/** The console of the run's patched boot. */
async function crashConsole(version: string, kernel: string, programs: string, profile = 'default'): Promise<string> {
  const out = await dir({ unsafeCleanup: true });
  const json = join(out.path, 'report.json');
  await execa(
    'node',
    [
      join(projectRoot, 'bin', 'syscall-lab.mjs'),
      'run',
      '--kernel',
      kernel,
      '--patches',
      join(fixtures, 'patches', `crash-catalogue-${version}`),
      '--userland',
      join(fixtures, 'userland', programs),
      '--profile',
      profile,
      '--json',
      json,
    ],
    { reject: false, stdout: 'ignore', stderr: 'inherit' },
  );
  const [report] = (JSON.parse(readFileSync(json, 'utf8')) as { runs: RunReport[] }).runs;
  await out.cleanup();
  const consoleLog = report?.logs.console.at(-1);
  if (!consoleLog) throw new Error(`Linux ${version}: the run has no console log`);
  return readFileSync(consoleLog, 'utf8');
}

/** Splits the console at the programs' marks: crash name -> what the console shows after its mark. */
export function cutAtMarks(consoleText: string): Map<string, string> {
  const pieces = new Map<string, string>();
  let current: { name: string; lines: string[] } | undefined;
  for (const line of consoleText.split('\n')) {
    const mark = /syscall-lab golden: (\S+)/.exec(line);
    if (mark?.[1]) {
      if (current) pieces.set(current.name, current.lines.join('\n'));
      current = { name: mark[1], lines: [] };
    } else if (current && !/syscall-lab: end of checks/.test(line)) {
      current.lines.push(line);
    }
  }
  if (current) pieces.set(current.name, current.lines.join('\n'));
  return pieces;
}

// `npm run golden:crash-logs -- 6.1-debug`: only the kernels named (default: all).
const wanted = process.argv.slice(2);
for (const { version, kernel, name: kernelName, profile, programs } of kernels) {
  if (wanted.length > 0 && !wanted.includes(kernelName)) continue;
  const pieces = cutAtMarks(await crashConsole(version, kernel, programs, profile));
  for (const [crash, text] of pieces) {
    const findings = scanConsole(text, { fromBoot: false });
    if (findings.length === 0) {
      process.stdout.write(`${kernelName} ${crash}: nothing on the console (no such detector here), not written\n`);
      continue;
    }
    if (findings[0]?.kind !== kindOf[crash]) {
      process.stdout.write(
        `${kernelName} ${crash}: the kernel reported ${findings[0]?.kind ?? '?'} instead, not written\n`,
      );
      continue;
    }
    const name = `${kernelName}-real-${crash}`;
    const excerpt = findings[0]?.excerpt.split('\n') ?? [];
    const expected = {
      failed: verdict(findings).failed,
      kinds: findings.map((finding) => finding.kind),
      excerptFirstLine: excerpt[0] ?? null,
      excerptLastLine: excerpt.at(-1) ?? null,
      lines: findings.map((finding) => finding.line),
      fromBoot: false,
    };
    writeFileSync(join(fixtures, 'console', `${name}.log`), `${text.trimEnd()}\n`);
    writeFileSync(join(fixtures, 'console', `${name}.expected.json`), `${JSON.stringify(expected, null, 2)}\n`);
    process.stdout.write(`${name}: ${expected.kinds.join(', ')} (${expected.lines[0] ?? ''})\n`);
  }
}
