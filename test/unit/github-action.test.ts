import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { load } from 'js-yaml';
import { runnerImage, thirdPartyActions } from '../../src/ci/github-workflow.ts';
import { main } from '../../src/cli.ts';
import { ciGithubCommand, workflowPath } from '../../src/commands/ci-github.ts';
import { aptPackages, requirements } from '../../src/doctor.ts';
import { silent } from '../../src/events.ts';
import { cache } from '../../src/kernel/cache.ts';
import { projectRoot } from '../../src/paths.ts';
import { useTempDirs } from './support/temp.ts';

// The action, its summary action and the workflows cannot run here (no GitHub, no KVM): they are
// checked offline against SchemaStore's github-action and github-workflow schemas by
// @action-validator/cli (its schemas are built into its WebAssembly), and their scripts by shellcheck.

const tempDir = useTempDirs('syscall-lab-github-action-');
const validator = join(projectRoot, 'node_modules', '@action-validator', 'cli', 'cli.mjs');
const actionFiles = ['action.yml', 'summary/action.yml'];

/** action-validator on one file: an action when it is named action.yml, else a workflow. */
async function validate(file: string): Promise<{ exitCode: number | undefined; output: string }> {
  const result = await execa(process.execPath, [validator, file], { reject: false, all: true, env: { NO_COLOR: '1' } });
  return { exitCode: result.exitCode, output: result.all };
}

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  shell?: string;
  if?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Action {
  inputs: Record<string, { required?: boolean; default?: string }>;
  runs: { using: string; steps: Step[] };
}

const readAction = (file: string): Action => load(readFileSync(join(projectRoot, file), 'utf8')) as Action;
const action = readAction('action.yml');
const step = (name: string): Step => {
  const found = action.runs.steps.find((s) => s.name === name || s.uses?.startsWith(name));
  if (!found) throw new Error(`action.yml has no step ${name}`);
  return found;
};

describe('the GitHub action and workflows, validated offline', () => {
  it.each([...actionFiles, workflowPath])('%s is valid for the Actions schema', async (file) => {
    const result = await validate(join(projectRoot, file));
    expect(result.output).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('a workflow `ci github` writes into a repository is valid too', async () => {
    const repo = tempDir();
    mkdirSync(join(repo, 'patches'));
    writeFileSync(join(repo, 'patches', '0001-hello.patch'), '--- a/x\n+++ b/x\n');
    ciGithubCommand(
      { kernels: ['6.1', '7.2', '3.9.11'], patches: join(repo, 'patches'), conformance: 'fail', repo, force: false },
      silent,
    );
    const result = await validate(join(repo, workflowPath));
    expect(result.output).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('the validator fails a broken workflow and a broken action (so a pass above means something)', async () => {
    const dir = tempDir();
    const workflow = join(dir, 'broken.yml');
    writeFileSync(workflow, readFileSync(join(projectRoot, workflowPath), 'utf8').replace('runs-on:', 'runs_on:'));
    const brokenWorkflow = await validate(workflow);
    expect(brokenWorkflow.exitCode).toBe(1);
    expect(brokenWorkflow.output).toContain("Additional property 'runs_on' is not allowed");

    // A composite step that runs a script must say its shell.
    mkdirSync(join(dir, 'broken'));
    const actionFile = join(dir, 'broken', 'action.yml');
    writeFileSync(actionFile, readFileSync(join(projectRoot, 'action.yml'), 'utf8').replace(/^ {6}shell: bash\n/m, ''));
    const brokenAction = await validate(actionFile);
    expect(brokenAction.exitCode).toBe(1);
    expect(brokenAction.output).toContain('/runs/steps/0/shell');
  });
});

describe('the action', () => {
  it('is a composite action with the six inputs; only kernels is required', () => {
    expect(action.runs.using).toBe('composite');
    expect(Object.keys(action.inputs)).toEqual([
      'kernels',
      'patches',
      'userland',
      'config-fragment',
      'conformance',
      'node-version',
    ]);
    expect(
      Object.entries(action.inputs)
        .filter(([, input]) => input.required)
        .map(([name]) => name),
    ).toEqual(['kernels']);
  });

  it('uses third-party actions pinned by major version, as the workflows do', () => {
    const pinned = new Set<string>(Object.values(thirdPartyActions));
    for (const file of actionFiles) {
      for (const { uses } of readAction(file).runs.steps) if (uses !== undefined) expect(pinned).toContain(uses);
    }
    const workflow = readFileSync(join(projectRoot, workflowPath), 'utf8');
    for (const [, uses] of workflow.matchAll(/uses: (\S+)/g))
      expect(uses!.startsWith('./') || pinned.has(uses!)).toBe(true);
    expect(workflow).toContain(`runs-on: ${runnerImage}`);
  });

  it('opens /dev/kvm with the udev rule for GitHub-hosted runners', () => {
    const kvm = step('Enable KVM').run!;
    expect(kvm).toContain(
      `echo 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"' | sudo tee /etc/udev/rules.d/99-kvm4all.rules`,
    );
    expect(kvm).toContain('sudo udevadm control --reload-rules');
    expect(kvm).toContain('sudo udevadm trigger --name-match=kvm');
  });

  it("installs doctor's packages, asked from doctor itself: one list", async () => {
    expect(step('Install what syscall-lab doctor lists').run).toMatch(
      /packages=\$\(node "\$GITHUB_ACTION_PATH\/bin\/syscall-lab\.mjs" doctor --apt-packages\)[\s\S]*apt-get install -y --no-install-recommends \$packages/,
    );
    let printed = '';
    const output = {
      quiet: false,
      emit: (event: { type: string; packages?: string[] }) => {
        if (event.type === 'apt-packages') printed = event.packages!.join(' ');
      },
    };
    expect(await main(['doctor', '--apt-packages'], output)).toBe(0);
    expect(printed.split(' ').sort()).toEqual([...new Set(requirements.map((req) => req.aptPackage))].sort());
    expect(aptPackages()).toContain('debian-archive-keyring');
  });

  it('.ci/run installs every package doctor lists (it runs before npm ci, so it cannot ask doctor)', () => {
    const script = readFileSync(join(projectRoot, '.ci', 'run'), 'utf8');
    const install = /apt-get install -y --no-install-recommends \\\n([\s\S]*?)\n(?!\s)/.exec(script)?.[1] ?? '';
    const listed = new Set(install.split(/[\s\\]+/).filter(Boolean));
    expect(aptPackages().filter((name) => !listed.has(name))).toEqual([]);
  });

  it('caches ccache and the small caches, keyed by kernels, compiler and inputs; never trees, builds or sources', () => {
    const cached = step('actions/cache@').with!;
    const folders = cached
      .path!.trim()
      .split('\n')
      .map((line) => basename(line.trim()));
    expect(folders).toEqual(
      [cache.ccache(), cache.controls(), cache.conformance(), cache.ported(), cache.programs()].map((dir) =>
        basename(dir),
      ),
    );
    for (const big of [cache.trees(), cache.builds(), cache.sources(), cache.runs()])
      expect(folders).not.toContain(basename(big));
    expect(cached.key).toBe('${{ steps.paths.outputs.key }}');
    expect(step('Paths and cache key').run).toMatch(/key=syscall-lab-1-\$RUNNER_OS-\$slug-\$compiler-\$inputs/);
  });

  it('runs syscall-lab as root with the JSON and JUnit reports, then uploads them with the logs and annotates, always', () => {
    const run = step('syscall-lab run').run!;
    expect(run).toMatch(
      /sudo env "CCACHE_MAXSIZE=\$CCACHE_MAXSIZE" "\$\(command -v node\)" "\$GITHUB_ACTION_PATH\/bin\/syscall-lab\.mjs" "\$\{args\[@\]\}"/,
    );
    for (const flag of [
      '--cache',
      '--json',
      '--junit',
      '--conformance',
      '--kernel',
      '--patches',
      '--userland',
      '--config-fragment',
    ])
      expect(run).toContain(flag);
    expect(step('Collect the logs').run).toMatch(/-name 'console-\*\.log' -o -name 'build-\*\.log'/);
    expect(step('actions/upload-artifact@')).toMatchObject({
      if: 'always()',
      with: { path: '${{ steps.paths.outputs.out }}' },
    });
    expect(step('Annotate the failures')).toMatchObject({ if: 'always()' });
    expect(step('Annotate the failures').run).toContain('report annotate "$OUT/syscall-lab.json"');
  });

  it('hands inputs to its scripts through the environment only (an expression in a script is code injection)', () => {
    for (const file of actionFiles)
      for (const { run } of readAction(file).runs.steps) if (run !== undefined) expect(run).not.toContain('${{');
  });

  it('has scripts shellcheck passes', async () => {
    const dir = tempDir();
    const scripts = actionFiles.flatMap((file) =>
      readAction(file)
        .runs.steps.filter((s) => s.run !== undefined)
        .map((s, index) => {
          const script = join(dir, `${file.replace('/', '-')}-${index}.sh`);
          // GitHub runs `shell: bash` as `bash --noprofile --norc -eo pipefail {0}`.
          writeFileSync(script, `#!/usr/bin/env bash\nset -eo pipefail\n${s.run!}`);
          return script;
        }),
    );
    expect(scripts.length).toBeGreaterThan(5);
    const result = await execa('shellcheck', ['-S', 'warning', ...scripts], { reject: false, all: true });
    expect(result.all).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
