import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ExitCode, InfrastructureError, LabError, withKind } from '../errors.ts';
import type { Emit } from '../events.ts';
import { upgradeKernelScript } from '../paths.ts';
import { killGroup, onExit, stopGroupSync } from '../reaper.ts';
import type { BuildPlan } from './build-plan.ts';
import { buildKey, cache, isComplete, lockKey, publish, readText } from './cache.ts';
import { buildFailureEvidence } from './compile-errors.ts';
import { assertDiskSpace } from './disk-space.ts';
import { ScratchFolder } from './scratch.ts';
import { scriptBadInput, scriptBadInputCodes, scriptErrorLine } from './script-errors.ts';
import type { KernelSource } from './source.ts';
import { runTool } from '../spawn.ts';

/** A built kernel in the cache: what the VM boots and what is kept for debugging. */
export interface KernelBuild {
  key: string;
  dir: string;
  bzImage: string;
  release: string;
  version: string;
  syscallTable: string;
  /** kselftest's headers of its tree (empty: the tree has none; absent: cached before they were kept). */
  kselftestDir: string;
  /** What sparse said of the --sparse files (empty without them; "sparse-missing" without sparse). */
  sparseLog: string;
  log: string;
  cached: boolean;
  seconds: number;
}

export interface BuildRequest {
  source: KernelSource;
  /** What upgrade-kernel.sh said this build does (--print-plan): the cache key comes from it. */
  plan: BuildPlan;
  /** The options that asked for that plan, given to the build unchanged. */
  planArgs: string[];
  /** Cache key of the stock build whose tree the patched build starts from. */
  reuseTreeOf?: string;
  jobs: number;
  /** Seconds to wait for another run's lock on the tree (--lock-timeout). */
  lockTimeout: number;
  compiler: string;
  /** Where the build log goes (the run's folder); it is also kept with the build. */
  log: string;
  /** Names the build in progress events ("6.1 stock"). */
  scope: string;
  emit: Emit;
  /** Stops the build (`watch`: a newer change makes it useless): make gets SIGTERM, the build throws BuildAbortedError. */
  signal?: AbortSignal;
}

/** A build stopped by its request's signal; nothing of it is published. */
export class BuildAbortedError extends Error {
  constructor(scope: string) {
    super(`the ${scope} build was stopped`);
  }
}

/** gcc and ld versions: part of every cache key, since they change the objects. */
export async function compilerIdentity(): Promise<string> {
  const gcc = await runTool('gcc', ['--version'], { reject: false });
  const ld = await runTool('ld', ['--version'], { reject: false });
  return `${gcc.stdout.split('\n')[0]} / ${ld.stdout.split('\n')[0]}`;
}

/** The cache key of a build: its source's content, what its plan does and patches, the compiler. */
export function buildKeyOf(source: KernelSource, plan: BuildPlan, compiler: string): string {
  return buildKey({
    sourceIdentity: source.identity,
    patches: plan.patches.map((file) => readFileSync(file, 'utf8')),
    makeTargets: plan.makeTargets,
    options: plan.options,
    compiler,
    localversion: plan.localversion,
    ...(plan.sparse.length > 0 && { sparse: { files: plan.sparse, tool: plan.sparseTool } }),
  });
}

/** Whether a build is in the cache, with the tree it was built in (a patched build's is its stock build's). */
export function isBuildReady(key: string, treeKey = key): boolean {
  return isComplete(cache.build(key)) && treeDir(treeKey) !== undefined;
}

/**
 * Builds (or finds in the cache) one kernel. The stock build unpacks the source into the
 * cache's tree for its key and keeps it there; a patched build happens in that same tree, at
 * the same path (kbuild and objtool record absolute paths: a copy elsewhere rebuilds
 * everything), after reverting the previous patched build's patches. Builds of one tree are
 * serialised by a lock on it.
 */
export async function buildKernel(request: BuildRequest): Promise<KernelBuild> {
  const key = buildKeyOf(request.source, request.plan, request.compiler);
  const treeKey = request.reuseTreeOf ?? key;
  const ready = (): boolean => isBuildReady(key, treeKey);
  const started = Date.now();
  if (ready()) return describe(key, true, 0);
  await using _lock = await lockKey(`tree-${treeKey}`, {
    timeoutSeconds: request.lockTimeout,
    onWait: (text) => {
      request.emit({ type: 'notice', scope: request.scope, text });
    },
  });
  // Another run may have built it while this one waited for the lock.
  if (ready()) return describe(key, true, 0);
  await runScript(request, key, treeKey);
  return describe(key, false, (Date.now() - started) / 1000);
}

/** The kernel tree of a stock build, once it is complete. */
export function treeDir(stockKey: string): string | undefined {
  const root = cache.tree(stockKey);
  if (!existsSync(join(root, 'complete'))) return undefined;
  const name = readdirSync(root).find((entry) => entry.startsWith('linux-'));
  return name ? join(root, name) : undefined;
}

function describe(key: string, cached: boolean, seconds: number): KernelBuild {
  const dir = cache.build(key);
  return {
    key,
    dir,
    bzImage: join(dir, 'bzImage'),
    release: readText(join(dir, 'kernelrelease')),
    version: readText(join(dir, 'version')),
    syscallTable: join(dir, 'syscall_64.tbl'),
    kselftestDir: join(dir, 'kselftest'),
    sparseLog: join(dir, 'sparse.log'),
    log: join(dir, 'build.log'),
    cached,
    seconds,
  };
}

async function runScript(request: BuildRequest, key: string, treeKey: string): Promise<void> {
  assertDiskSpace(cache.scratch());
  const isStock = treeKey === key;
  const inTree = isStock ? undefined : treeDir(treeKey);
  if (!isStock && !inTree) {
    throw new InfrastructureError(
      `the stock tree ${cache.tree(treeKey)} is missing`,
      'run again: the stock kernel is rebuilt',
    );
  }
  // A stock build starts from nothing: whatever a crashed build left in its tree goes.
  if (isStock) rmSync(cache.tree(key), { recursive: true, force: true });
  // While a patched build changes the tree, it is not known to be consistent: if this process
  // dies halfway, the next run rebuilds the tree from the source instead of trusting it.
  const completeMarker = join(cache.tree(treeKey), 'complete');
  if (!isStock) rmSync(completeMarker, { force: true });
  using work = new ScratchFolder(key);
  const out = join(work.path, 'out');
  const args = [
    ...(inTree ? ['--in-tree', inTree] : request.source.scriptArgs),
    '--work',
    isStock ? cache.tree(key) : work.path,
    '--jobs',
    String(request.jobs),
    '--build-only',
    out,
    ...request.planArgs,
  ];
  const result = await runLogged(request, args, work.path);
  try {
    // A compile error leaves the tree consistent (patches applied and recorded); anything else may not.
    if (!isStock && (result.exitCode === 0 || result.exitCode === 70)) {
      writeFileSync(completeMarker, `${new Date().toISOString()}\n`);
    }
    if (request.signal?.aborted) throw new BuildAbortedError(request.scope);
    if (result.exitCode !== 0) throw scriptError(result.exitCode, result.tail, request);
    request.emit({
      type: 'info',
      scope: request.scope,
      text: `built ${readText(join(out, 'kernelrelease'))}: ${result.compiled} files compiled`,
    });
    copyFileSync(request.log, join(out, 'build.log'));
    if (isStock) writeFileSync(completeMarker, `${new Date().toISOString()}\n`);
    publish(out, cache.build(key));
  } catch (error) {
    if (isStock) rmSync(cache.tree(key), { recursive: true, force: true });
    throw error;
  }
}

/**
 * Runs upgrade-kernel.sh in its own process group, its output into the build log, its progress
 * (phase, files compiled, its own messages) out as events.
 */
async function runLogged(
  request: BuildRequest,
  args: string[],
  tmp: string,
): Promise<{ exitCode: number; tail: string[]; compiled: number }> {
  const { emit, scope } = request;
  mkdirSync(cache.ccache(), { recursive: true });
  mkdirSync(join(request.log, '..'), { recursive: true });
  const log = createWriteStream(request.log);
  const started = Date.now();
  let phase = 'start';
  let compiled = 0;
  const child = runTool(upgradeKernelScript, args, {
    reject: false,
    all: true,
    buffer: false,
    detached: true,
    // TMPDIR in the scratch folder: temporary files of the script, gcc and friends go with it,
    // also when they were killed before they could remove them (SIGKILL, a crashed run's reaper).
    env: { CCACHE_DIR: cache.ccache(), CCACHE_MAXSIZE: process.env.CCACHE_MAXSIZE ?? '5G', TMPDIR: tmp },
  });
  const pid = child.pid;
  if (pid) writeFileSync(join(tmp, 'make.pid'), String(pid));
  // SIGTERM first: make deletes the half-written target it was building.
  const killBuild = onExit(() => {
    if (pid) stopGroupSync(pid);
  });
  const stop = (): void => {
    if (pid) killGroup(pid, 'SIGTERM');
  };
  request.signal?.addEventListener('abort', stop, { once: true });
  const tail: string[] = [];
  emit({
    type: 'info',
    scope,
    text: `building ${request.plan.localversion.replace(/^-/, '')} kernel: upgrade-kernel.sh ${args.join(' ')}`,
  });
  const status = (): void => {
    emit({ type: 'status', scope, text: `${phase}: ${compiled} files compiled`, since: started });
  };
  status();
  child.all.setEncoding('utf8');
  let pending = '';
  child.all.on('data', (chunk: string) => {
    log.write(chunk);
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      const phaseLine = /^syscall-lab: phase (\S+)/.exec(line);
      if (phaseLine) phase = phaseLine[1] ?? phase;
      else if (/^\s+(CC|AS|LD)\s/.test(line)) compiled++;
      // The plan's lines (`syscall-lab: plan: ...`) are for the log; the script's other messages are progress.
      else if (/^syscall-lab: (?!phase |plan: )/.test(line))
        emit({ type: 'info', scope, text: line.replace(/^syscall-lab: /, '') });
      else continue;
      status();
    }
  });
  const result = await child;
  request.signal?.removeEventListener('abort', stop);
  emit({ type: 'status-end', scope });
  killBuild();
  await new Promise<void>((resolve) => log.end(resolve));
  return { exitCode: result.exitCode ?? -1, tail, compiled };
}

function scriptError(code: number, tail: string[], request: BuildRequest): LabError {
  const errorLine = scriptErrorLine(tail.join('\n'));
  if (scriptBadInputCodes.has(code) && errorLine) return scriptBadInput(errorLine);
  // The compiler's own errors, wherever they are in the log (under -j2 the tail is the other job's CC lines).
  const evidence = buildFailureEvidence(readLog(request.log), request.log, tail);
  const isPatched = request.reuseTreeOf !== undefined;
  const error = new LabError(
    `the ${isPatched ? 'patched' : 'stock'} kernel did not build (upgrade-kernel.sh exit ${code})${errorLine ? `: ${errorLine}` : ''}; full log: ${request.log}`,
    // A patch that does not compile is the patch's failure; a stock build failing is the machine's.
    isPatched ? ExitCode.checkFailed : ExitCode.infrastructure,
    isPatched
      ? 'fix the compiler errors above in your patch'
      : 'see the log; run `syscall-lab doctor` to check the host',
    evidence,
  );
  return withKind(error, isPatched ? 'patched-build' : 'stock-build');
}

/** The whole build log, or undefined when it cannot be read (the evidence is then the tail). */
function readLog(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
