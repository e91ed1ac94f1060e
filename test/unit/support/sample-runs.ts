import type { RunReport } from '../../../src/report/model.ts';

/** What a report test chooses for itself (keys `K`), plus any other part it wants to change. */
type RunParts<K extends keyof RunReport> = Pick<RunReport, K> & Partial<RunReport>;

/** A run of Linux 6.1 under KVM, patched, with both releases recorded and both logs kept. */
export function run61(parts: RunParts<'phases' | 'checks'>): RunReport {
  return {
    kernel: {
      requested: '6.1',
      version: '6.1.0',
      source: '/cache/linux-6.1',
      patches: ['add-hello.patch'],
      stockRelease: '6.1.0',
      patchedRelease: '6.1.0-lab',
    },
    backend: 'qemu',
    accel: 'kvm',
    logs: { console: ['/logs/6.1/console.log'], build: ['/logs/6.1/build.log'] },
    reproduce: 'syscall-lab run --kernel 6.1',
    ...parts,
  };
}

/** A run of Linux 3.9.6 under TCG, without patches or recorded releases, that stopped on an error. */
export function run396(parts: RunParts<'phases' | 'checks' | 'logs' | 'error'>): RunReport {
  return {
    kernel: { requested: '3.9.6', version: '3.9.6', source: '/cache/linux-3.9.6', patches: [] },
    backend: 'qemu',
    accel: 'tcg',
    reproduce: 'syscall-lab run --kernel 3.9.6',
    ...parts,
  };
}
