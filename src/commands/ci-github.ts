import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { actionRepository, githubWorkflow, type WorkflowRequest } from '../ci/github-workflow.ts';
import { userlandPrograms } from '../config.ts';
import { BadInputError, ExitCode } from '../errors.ts';
import type { Emit } from '../events.ts';
import { shellQuote } from '../guest/ssh.ts';
import { isVersionString, pinnedVersions } from '../kernel/versions.ts';
import { projectRoot } from '../paths.ts';

export interface CiGithubRequest {
  /** Kernel versions (default: 6.1). */
  kernels: string[];
  /** Paths as the user gives them (relative to the current folder); they must be inside the repository. */
  patches?: string | undefined;
  userland?: string | undefined;
  configFragment?: string | undefined;
  conformance?: string | undefined;
  /** `./` or `OWNER/REPO@REF` (default: syscall-lab's repository at this version's tag). */
  action?: string | undefined;
  /** The repository's top folder, where .github/workflows/ is. */
  repo: string;
  force: boolean;
}

export const defaultCiKernels = ['6.1'];
/** Where the workflow goes, under the repository's top. */
export const workflowPath = '.github/workflows/syscall-lab.yml';

/** `syscall-lab/syscall-lab@v0.1.0`: the action of the syscall-lab that writes the workflow. */
export function defaultAction(): string {
  const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  return `${actionRepository}@v${version}`;
}

function checkKernel(kernel: string): void {
  const pinned = pinnedVersions().map((row) => row.version);
  if (isVersionString(kernel) && pinned.includes(kernel)) return;
  throw new BadInputError(
    `--kernel ${kernel}: ${isVersionString(kernel) ? 'not in the pinned table (src/kernel/versions.tsv)' : 'not a kernel version'}`,
    `give versions a runner can fetch and verify without a local file: ${pinned.join(', ')}`,
  );
}

function checkAction(action: string): void {
  // A local folder of the checkout, or a published action at a ref (branch, tag or commit).
  if (/^\.\/[\w./-]*$/.test(action) && !action.includes('..')) return;
  if (/^[\w.-]+\/[\w.-]+(\/[\w.-]+)*@[\w./-]+$/.test(action)) return;
  throw new BadInputError(
    `--action ${action} is neither ./PATH nor OWNER/REPO@REF`,
    `give the action as a workflow's \`uses:\` names it, e.g. ${defaultAction()} (or ./ in syscall-lab's own repository)`,
  );
}

/** A path the user gave, as the workflow names it: relative to the repository's top, with `/`. */
function inRepository(repo: string, flag: string, path: string, kind: 'folder' | 'file'): string {
  const full = resolve(path);
  const isKind = existsSync(full) && (kind === 'folder' ? statSync(full).isDirectory() : statSync(full).isFile());
  if (!isKind) throw new BadInputError(`${flag} ${path} is not a ${kind}`, `give ${flag} an existing ${kind}`);
  const inside = relative(repo, full);
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw new BadInputError(
      `${flag} ${path} is outside the repository ${repo}`,
      `the runner checks out only the repository: move it in, or give --repo the folder that holds it`,
    );
  }
  return inside === '' ? '.' : inside.split(sep).join('/');
}

function conformanceMode(mode: string | undefined): WorkflowRequest['conformance'] {
  if (mode === undefined || mode === 'off' || mode === 'warn' || mode === 'fail') return mode;
  throw new BadInputError(`--conformance ${mode} is not off, warn or fail`, 'give --conformance off, warn or fail');
}

/** The command that writes this workflow again, run from the repository's top. */
function commandLine(request: Omit<WorkflowRequest, 'command'>, defaultRef: string): string {
  const args = ['npx', 'syscall-lab', 'ci', 'github'];
  if (request.action !== defaultRef) args.push('--action', request.action);
  for (const kernel of request.kernels) args.push('--kernel', kernel);
  if (request.patches !== undefined) args.push('--patches', request.patches);
  if (request.userland !== undefined) args.push('--userland', request.userland);
  if (request.configFragment !== undefined) args.push('--config-fragment', request.configFragment);
  if (request.conformance !== undefined) args.push('--conformance', request.conformance);
  return args.map(shellQuote).join(' ');
}

/** Every input checked, as the workflow will name them; bad input (exit 2) before anything is written. */
export function workflowRequest(request: CiGithubRequest): WorkflowRequest {
  const repo = resolve(request.repo);
  if (!existsSync(repo) || !statSync(repo).isDirectory()) {
    throw new BadInputError(`--repo ${request.repo} is not a folder`, "give --repo your repository's top folder");
  }
  const kernels = request.kernels.length > 0 ? request.kernels : defaultCiKernels;
  kernels.forEach(checkKernel);
  const twice = kernels.find((kernel, index) => kernels.indexOf(kernel) !== index);
  if (twice !== undefined) throw new BadInputError(`--kernel ${twice} is given twice`, 'give each kernel once');
  const defaultRef = defaultAction();
  const action = request.action ?? defaultRef;
  checkAction(action);
  if (request.userland !== undefined) userlandPrograms(request.userland);
  const resolved = {
    kernels,
    action,
    patches: request.patches === undefined ? undefined : inRepository(repo, '--patches', request.patches, 'folder'),
    userland: request.userland === undefined ? undefined : inRepository(repo, '--userland', request.userland, 'folder'),
    configFragment:
      request.configFragment === undefined
        ? undefined
        : inRepository(repo, '--config-fragment', request.configFragment, 'file'),
    conformance: conformanceMode(request.conformance),
  };
  return { ...resolved, command: commandLine(resolved, defaultRef) };
}

/**
 * `syscall-lab ci github [--kernel V]... [--patches DIR] [--userland DIR]`: writes
 * .github/workflows/syscall-lab.yml into the repository (src/ci/github-workflow.ts), one job per
 * kernel and a summary. An existing file is replaced only with --force; bad input writes nothing.
 */
export function ciGithubCommand(request: CiGithubRequest, emit: Emit): number {
  const workflow = workflowRequest(request);
  const file = join(resolve(request.repo), ...workflowPath.split('/'));
  if (existsSync(file) && !request.force) {
    throw new BadInputError(
      `${file} exists`,
      'add --force to replace it (edits made to it are lost), or change it by hand',
    );
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, githubWorkflow(workflow));
  emit({
    type: 'info',
    text: `wrote ${file}: one job per kernel (${workflow.kernels.join(', ')}) with ${workflow.action}, then the kernels × checks summary; commit and push it`,
  });
  return ExitCode.ok;
}
