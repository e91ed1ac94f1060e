import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Check } from '../checks/check.ts';
import { conformance as runtimeConformance } from '../checks/conformance.ts';
import { allChecks, runsUserland } from '../checks/index.ts';
import { shippedSkipReason } from '../checks/userland.ts';
import type { Options } from '../config.ts';
import { buildKeyOf, isBuildReady } from '../kernel/build.ts';
import { cache } from '../kernel/cache.ts';
import type { LocatedSource } from '../kernel/cached-source.ts';
import { addedSyscallsOfSet } from '../kernel/patches.ts';
import { newSyscalls, parseSyscallTable, syscallTableLocation, type SyscallEntry } from '../kernel/syscalls.ts';
import type { Accel } from '../vm/accel.ts';
import type { PlannedRun } from './plan.ts';
import { readStockControl, stockControlKey, type StockControl } from './stock-control.ts';

/** The commands a dry run stands in for: what each would do after planning. */
export type DryRunCommand = 'run' | 'build' | 'boot';

/** What one kernel's facts are read with. */
export interface DryRunContext {
  options: Options;
  command: DryRunCommand;
  /** The source as found without fetching (src/kernel/cached-source.ts). */
  located: LocatedSource;
  /** gcc and ld (part of every build key). */
  compiler: string;
  accel: Accel;
  /** `boot --stock` boots the stock kernel. */
  bootWhich?: 'stock' | 'patched';
}

/** The builds' keys when the source's content is known (not a Debian package still to download). */
interface BuildState {
  keys?: { stock: string; patched: string };
  stockReady: boolean;
  patchedReady: boolean;
}

/**
 * One kernel's plan as plain facts, one line each, in the order a run meets them: the source,
 * the series, the two builds, the boots, the checks. Reads local files and the cache only.
 */
export function kernelPlanLines(plan: PlannedRun, context: DryRunContext): string[] {
  const { located, options } = context;
  const added = addedSyscallsOfSet(plan.patchSet);
  const count = plan.patchSet.files.length;
  const adds = added.map((entry) => `${entry.name} ${entry.number}`).join(', ') || 'no syscall_64.tbl entry';
  const lines = [
    `source: Linux ${plan.source.version}: ${located.where}`,
    `series: ${plan.patchSet.dir} (${count === 1 ? '1 patch' : `${count} patches`}; adds ${adds})`,
    ...plan.notices.map((notice) => `notice: ${notice}`),
  ];
  // From 4.2 a series' registration is written anew for the kernel, from its source's files.
  if (!plan.source.path && syscallTableLocation(plan.source.version) === syscallTableLocation('4.2'))
    lines.push('series: numbers as the series writes them; its registration is regenerated once the source is fetched');
  const builds = buildState(plan, context);
  lines.push(...buildLines(plan, builds));
  if (context.command === 'build') return lines;
  const control = builds.keys && options.backend === 'qemu' ? cachedControl(builds, added) : undefined;
  lines.push(...bootLines(context, control));
  if (context.command === 'run') lines.push(...checkLines(plan, options, added, control));
  return lines;
}

function buildState(plan: PlannedRun, { located, compiler }: DryRunContext): BuildState {
  // A Debian package still to download: its content, and so both keys, are unknown until it is fetched.
  if (!located.present && plan.source.kind === 'debian') return { stockReady: false, patchedReady: false };
  const stock = buildKeyOf(plan.source, plan.builds.stock.plan, compiler);
  const patched = buildKeyOf(plan.source, plan.builds.patched.plan, compiler);
  return { keys: { stock, patched }, stockReady: isBuildReady(stock), patchedReady: isBuildReady(patched, stock) };
}

function buildLines(plan: PlannedRun, { keys, stockReady, patchedReady }: BuildState): string[] {
  const describe = (which: 'stock' | 'patched', key: string | undefined, ready: boolean): string => {
    const release = `${plan.source.version}${plan.builds[which].plan.localversion}`;
    if (!key)
      return `build ${which}: ${release}: to build unless the cache holds it (its key is known once the source is fetched)`;
    if (ready) return `build ${which}: ${release}: cached (${cache.build(key)})`;
    return `build ${which}: ${release}: to build (key ${key}${which === 'patched' ? ', in the stock tree' : ''})`;
  };
  return [describe('stock', keys?.stock, stockReady), describe('patched', keys?.patched, patchedReady)];
}

/**
 * The stock control remembered for this stock build and these numbers, if any: exact when both
 * builds are cached (the numbers from their tables), else from the series' table hunks.
 */
function cachedControl(builds: BuildState, added: SyscallEntry[]): StockControl | undefined {
  if (!builds.keys) return undefined;
  const table = (key: string): string => join(cache.build(key), 'syscall_64.tbl');
  const { stock, patched } = builds.keys;
  const numbers =
    builds.stockReady && builds.patchedReady && existsSync(table(stock)) && existsSync(table(patched))
      ? newSyscalls(
          parseSyscallTable(readFileSync(table(stock), 'utf8')),
          parseSyscallTable(readFileSync(table(patched), 'utf8')),
        )
      : added;
  return readStockControl(stockControlKey(stock, numbers));
}

function bootLines(context: DryRunContext, control: StockControl | undefined): string[] {
  const { options, accel } = context;
  const machine = `${options.backend}, ${accel}, ${options.cpus} CPUs, ${options.memory} MiB`;
  if (context.command === 'boot') {
    const which = context.bootWhich ?? 'patched';
    return [`boot: the ${which} kernel (${machine}), left running for \`syscall-lab ssh\` and \`syscall-lab test\``];
  }
  const stock = control
    ? `boot stock: not needed: its negative control is cached from ${control.date} (${control.run})`
    : `boot stock: the negative control (${machine})`;
  return [
    stock,
    `boot patched: ${control ? 'booted first' : 'a reboot after the stock checks'} (${machine})${options.keep ? ', kept running' : ''}`,
  ];
}

function checkLines(
  plan: PlannedRun,
  options: Options,
  added: SyscallEntry[],
  control: StockControl | undefined,
): string[] {
  const names = added.map((entry) => entry.name);
  const stage = (which: Check['stage']): string[] =>
    allChecks
      .filter((check) => check.stage === which)
      .flatMap((check) => checkFacts(check, plan, options, names))
      .concat(`check kernel-console:${which}`)
      .map((line) => (which === 'stock' && control ? `${line}: cached` : line));
  return [...stage('stock'), ...stage('patched'), conformanceLine(plan, options)];
}

/** The lines of one check: the check, or why it is skipped; the userland check, one per program. */
function checkFacts(check: Check, plan: PlannedRun, options: Options, added: string[]): string[] {
  if (check.needs !== undefined && !added.includes(check.needs))
    return [`check ${check.name}: skip (the patch set adds no ${check.needs} syscall)`];
  if (runsUserland(check)) {
    return plan.userlandFiles.map((file) => {
      const skip = shippedSkipReason(file, added);
      return `check userland:${basename(file)}${skip === null ? '' : `: skip (${skip})`}`;
    });
  }
  if (check === runtimeConformance) {
    const defined = plan.conformance?.definitions.map((signature) => signature.name) ?? [];
    if (options.conformance === 'off') return [`check ${check.name}: skip (--conformance off)`];
    return [
      `check ${check.name}: ${defined.length > 0 ? `generated cases of ${defined.join(', ')}` : 'skip (no SYSCALL_DEFINE in the series)'}`,
    ];
  }
  return [`check ${check.name}`];
}

function conformanceLine(plan: PlannedRun, options: Options): string {
  if (options.conformance === 'off') return 'conformance: off';
  return `conformance: adding-syscalls.rst's checklist on ${plan.patchSet.dir}, after the builds (--conformance ${options.conformance})`;
}
