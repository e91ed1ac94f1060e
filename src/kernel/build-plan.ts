import { InfrastructureError } from '../errors.ts';
import { upgradeKernelScript } from '../paths.ts';
import { scriptBadInput, scriptBadInputCodes, scriptErrorLine } from './script-errors.ts';
import { runTool } from '../spawn.ts';

/**
 * What a build will do, as upgrade-kernel.sh answers it (`--print-plan`). The script owns these
 * rules (the Vagrant guest runs it without Node): which make targets and config fragments a
 * version gets, which options must survive olddefconfig, which toolchain-compatibility series
 * comes first, and the release suffix. TypeScript only asks, and keys the cache by the answer.
 */
export interface BuildPlan {
  version: string;
  /** Toolchain-compatibility series applied before every other patch (src/kernel/compat/linux-X.Y). */
  compat: string[];
  /** Every patch file in application order: the compat series', then the user's. */
  patches: string[];
  /** The make targets that make the base config (tinyconfig, kvm_guest.config ...). */
  makeTargets: string[];
  /** The fragment files merged, in order. */
  fragments: string[];
  /** The options the fragments set for this version, in merge order: each must survive olddefconfig. */
  options: string[];
  /** The profile's options this version lacks, each with its range: "CONFIG_KASAN=y (from 4.0)". */
  leftOut: string[];
  /** CONFIG_LOCALVERSION: `-stock`, or `-patched-<hash of the user's patches>`. */
  localversion: string;
  /** The .c files sparse checks after the build (--sparse), and sparse's version ("missing" when absent). */
  sparse: string[];
  sparseTool: string;
}

/** The question, the same for --print-plan and for the build it describes. */
export interface PlanRequest {
  version: string;
  backend: string;
  /** The user's patch folders (the compat series is the script's to add). */
  patchDirs: string[];
  configFragments: string[];
  /** A config profile (--profile): default, or debug. */
  profile?: string;
  /** Config features (src/kernel/config/features/; --feature), e.g. ia32-emulation for a series with an i386 entry. */
  features?: string[];
  /** .c files of the tree for sparse to check after the build (the conformance item user-annotations). */
  sparse?: string[];
}

/** The options that make the build follow `request`: given both to --print-plan and to the build. */
export function planArguments(request: Omit<PlanRequest, 'version'>): string[] {
  return [
    '--backend',
    request.backend,
    ...request.patchDirs.flatMap((dir) => ['--patches', dir]),
    ...(request.profile && request.profile !== 'default' ? ['--profile', request.profile] : []),
    ...(request.features ?? []).flatMap((feature) => ['--feature', feature]),
    ...request.configFragments.flatMap((file) => ['--config-fragment', file]),
    ...(request.sparse ?? []).flatMap((file) => ['--sparse', file]),
  ];
}

export async function askBuildPlan(request: PlanRequest): Promise<BuildPlan> {
  const result = await runTool(upgradeKernelScript, ['--print-plan', request.version, ...planArguments(request)], {
    reject: false,
  });
  if (result.exitCode !== 0) {
    const line = scriptErrorLine(result.stderr);
    if (line && scriptBadInputCodes.has(result.exitCode ?? 0)) throw scriptBadInput(line);
    throw new InfrastructureError(
      `upgrade-kernel.sh --print-plan ${request.version} failed (exit ${result.exitCode}): ${line ?? result.stderr.trim()}`,
    );
  }
  return parseBuildPlan(result.stdout);
}

/** Reads the script's `key value` lines. */
export function parseBuildPlan(text: string): BuildPlan {
  const plan: BuildPlan = {
    version: '',
    compat: [],
    patches: [],
    makeTargets: [],
    fragments: [],
    options: [],
    leftOut: [],
    localversion: '',
    sparse: [],
    sparseTool: '',
  };
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const [key, value] = [line.slice(0, space), line.slice(space + 1)];
    if (key === 'version') plan.version = value;
    else if (key === 'compat') plan.compat.push(value);
    else if (key === 'patch') plan.patches.push(value);
    else if (key === 'make') plan.makeTargets.push(value);
    else if (key === 'fragment') plan.fragments.push(value);
    else if (key === 'option') plan.options.push(value);
    else if (key === 'left-out') plan.leftOut.push(value);
    else if (key === 'localversion') plan.localversion = value;
    else if (key === 'sparse') plan.sparse.push(value);
    else if (key === 'sparse-tool') plan.sparseTool = value;
  }
  if (!plan.version || plan.makeTargets.length === 0) {
    throw new InfrastructureError(`upgrade-kernel.sh --print-plan gave no plan: ${text.trim().slice(0, 300)}`);
  }
  return plan;
}
