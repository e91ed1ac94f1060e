import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { runCli, statusOf } from '../e2e/helpers.ts';

const builtinChecks = [
  'enosys-control',
  'patched-kernel-running',
  'taskcount-matches-top',
  'taskcount-matches-proc',
  'callcount-increments',
  'bad-pointer-efault',
];

async function syscallLabDomains(): Promise<string[]> {
  const listed = await execa('virsh', ['-c', 'qemu:///system', 'list', '--all', '--name']);
  return listed.stdout.split('\n').filter((name) => name.startsWith('syscall-lab-'));
}

// Real Vagrant + libvirt (inside the namespace that test/vagrant/run.ts made): the offline box
// boots on Debian's kernel (negative control), installs the host-built patched 6.1 with
// upgrade-kernel.sh --install-prebuilt, reloads into it, and every check runs over ssh2.
describe('Linux 6.1 in a Vagrant (libvirt) VM', () => {
  it('passes every check, then destroys the VM', async () => {
    expect(await syscallLabDomains()).toEqual([]);
    const { exitCode, report, stdout } = await runCli([
      '--kernel',
      '6.1',
      '--backend',
      'vagrant',
      '--box',
      'syscall-lab/bookworm',
      '--memory',
      '1536',
    ]);
    const run = report.runs[0]!;
    expect(
      run.checks.filter((check) => check.status !== 'pass'),
      stdout,
    ).toEqual([]);
    expect(exitCode, stdout).toBe(0);
    expect(run.backend).toBe('vagrant');
    for (const name of builtinChecks) expect(statusOf(run, name), name).toBe('pass');
    expect(run.kernel.patchedRelease).toMatch(/-patched-[0-9a-f]{8}$/);
    expect(run.phases.map((phase) => phase.name)).toEqual([
      'patch-check',
      'build-stock',
      'build-patched',
      'conformance',
      'boot-stock',
      'checks-stock',
      'boot-patched',
      'checks-patched',
    ]);
    expect(await syscallLabDomains()).toEqual([]);
  });
});
