import { dump } from 'js-yaml';

// The one generator of syscall-lab's GitHub workflow: `syscall-lab ci github` writes its output into
// a user's repository, and this repository's .github/workflows/syscall-lab.yml is its output for
// this repository's kernels (a unit test compares the two, so they cannot drift apart).

/**
 * Where the action is published, for workflows written into other repositories (`--action` names
 * another copy or a fork); syscall-lab's own workflow uses its checkout (`./`).
 */
export const actionRepository = 'syscall-lab/syscall-lab';

/** The runner image the action is made for: its apt names, its gcc (13), AppArmor's user-namespace rules. */
export const runnerImage = 'ubuntu-24.04';

/** Major-version tags of the third-party actions, as GitHub's own starter workflows pin them. */
export const thirdPartyActions = {
  checkout: 'actions/checkout@v4',
  setupNode: 'actions/setup-node@v4',
  cache: 'actions/cache@v4',
  uploadArtifact: 'actions/upload-artifact@v4',
  downloadArtifact: 'actions/download-artifact@v4',
} as const;

export interface WorkflowRequest {
  /** Kernel versions, one job each. */
  kernels: string[];
  /** Folders and files as the workflow names them: relative to the repository's top, with `/`. */
  patches?: string | undefined;
  userland?: string | undefined;
  configFragment?: string | undefined;
  /** --conformance for every kernel; the action's default (warn) is left unsaid. */
  conformance?: 'off' | 'warn' | 'fail' | undefined;
  /** The action: `./` (this repository, checked out) or `OWNER/REPO@REF`; its summary action is beside it. */
  action: string;
  /** The command line that writes this workflow, for its header (run it again with --force to update it). */
  command: string;
}

/** The summary action's reference: the `summary/` folder of the action's repository, at the same ref. */
export function summaryAction(action: string): string {
  if (action.startsWith('./')) return `${action.replace(/\/+$/, '')}/summary`;
  const at = action.lastIndexOf('@');
  return `${action.slice(0, at)}/summary${action.slice(at)}`;
}

function kernelJob(request: WorkflowRequest): Record<string, unknown> {
  const inputs: Record<string, string> = { kernels: '${{ matrix.kernel }}' };
  if (request.patches !== undefined) inputs.patches = request.patches;
  if (request.userland !== undefined) inputs.userland = request.userland;
  if (request.configFragment !== undefined) inputs['config-fragment'] = request.configFragment;
  if (request.conformance !== undefined && request.conformance !== 'warn') inputs.conformance = request.conformance;
  return {
    name: 'Linux ${{ matrix.kernel }}',
    'runs-on': runnerImage,
    // Two cold kernel builds with KVM take well under an hour on a 4-core runner; a hung guest must not take six.
    'timeout-minutes': 120,
    strategy: { 'fail-fast': false, matrix: { kernel: request.kernels } },
    steps: [{ uses: thirdPartyActions.checkout }, { uses: request.action, with: inputs }],
  };
}

function summaryJob(request: WorkflowRequest): Record<string, unknown> {
  // A local action is a folder of the checkout; a published one is fetched by the runner itself.
  const checkout = request.action.startsWith('./') ? [{ uses: thirdPartyActions.checkout }] : [];
  return {
    name: 'Kernels × checks',
    needs: 'kernel',
    // Failed kernels are what the table is for.
    if: '${{ always() }}',
    'runs-on': runnerImage,
    'timeout-minutes': 15,
    steps: [...checkout, { uses: summaryAction(request.action) }],
  };
}

/** The workflow file's text: one job per kernel (fail-fast off), then the summary job. */
export function githubWorkflow(request: WorkflowRequest): string {
  const workflow = {
    name: 'syscall-lab',
    on: ['push', 'workflow_dispatch'],
    permissions: { contents: 'read' },
    // A newer push makes the runs of the older one useless.
    concurrency: { group: 'syscall-lab-${{ github.ref }}', 'cancel-in-progress': true },
    jobs: { kernel: kernelJob(request), summary: summaryJob(request) },
  };
  // js-yaml quotes what YAML would read as another type: kernel 5.10 stays '5.10', never 5.1.
  const body = dump(workflow, { lineWidth: -1, noRefs: true, quotingType: "'" });
  const header = [
    'syscall-lab: the syscall patches of this repository built, booted and checked on each kernel',
    '(one job per kernel, with KVM), then one kernels × checks table in the run summary.',
    `Written by: ${request.command}`,
    'Run it again with --force after changing its arguments; see syscall-lab\'s README, section "CI".',
  ]
    // A line break in a path must not end the comment.
    .flatMap((line) => line.split(/\r?\n|\r/))
    .map((line) => `# ${line}`);
  // A blank line between the jobs, for the reader.
  return [...header, '', body.replace(/^ {2}summary:$/m, '\n  summary:')].join('\n');
}
