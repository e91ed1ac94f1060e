import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeAccel, timeoutScale } from '../../src/vm/qemu.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-accel-');
const isRoot = process.getuid?.() === 0;

describe('probeAccel', () => {
  it('falls back to TCG when the device does not exist, and says why', () => {
    const device = join(tempDir(), 'kvm');
    expect(probeAccel(device)).toEqual({ accel: 'tcg', reason: `${device} does not exist` });
  });

  it('uses KVM when the device can be opened read-write', () => {
    const device = join(tempDir(), 'kvm');
    writeFileSync(device, '');
    chmodSync(device, 0o660);
    expect(probeAccel(device)).toEqual({ accel: 'kvm' });
  });

  it.skipIf(isRoot)('falls back to TCG when the device is not writable by this user', () => {
    const device = join(tempDir(), 'kvm');
    writeFileSync(device, '');
    chmodSync(device, 0o400);
    const probed = probeAccel(device);
    expect(probed.accel).toBe('tcg');
    expect(probed.reason).toContain('kvm group');
  });

  it('gives a consistent answer for the real /dev/kvm', () => {
    const probed = probeAccel();
    expect(['kvm', 'tcg']).toContain(probed.accel);
    if (probed.accel === 'tcg') expect(probed.reason).toMatch(/^\/dev\/kvm /);
    else expect(probed.reason).toBeUndefined();
  });
});

describe('timeoutScale', () => {
  it('is 1 under KVM and 4 under TCG', () => {
    expect(timeoutScale('kvm')).toBe(1);
    expect(timeoutScale('tcg')).toBe(4);
  });
});
