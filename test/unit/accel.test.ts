import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseAccel, probeAccel, timeoutScale } from '../../src/vm/accel.ts';
import type { LabError } from '../../src/errors.ts';
import { useTempDirs } from './support/temp.ts';

const tempDir = useTempDirs('syscall-lab-accel-');
const isRoot = process.getuid?.() === 0;

describe('probeAccel', () => {
  it('falls back to TCG when the device does not exist, and says why', () => {
    const device = join(tempDir(), 'kvm');
    expect(probeAccel(device)).toEqual({ accel: 'tcg', reason: `${device} does not exist` });
  });

  const vmx = 'processor\t: 0\nflags\t\t: fpu vme de pse vmx sse sse2\n';
  const svm = 'processor\t: 0\nflags\t\t: fpu vme de pse svm sse sse2\n';
  const neither = 'processor\t: 0\nflags\t\t: fpu vme de pse hypervisor sse sse2\n';

  it.each([
    ['VT-x', vmx],
    ['AMD-V', svm],
  ])('uses KVM when the device can be opened read-write and the CPU has %s', (_what, cpuinfo) => {
    const device = join(tempDir(), 'kvm');
    writeFileSync(device, '');
    chmodSync(device, 0o660);
    expect(probeAccel(device, cpuinfo)).toEqual({ accel: 'kvm' });
  });

  it('falls back to TCG when /dev/kvm opens but the CPU has no VT-x or AMD-V (a paravirtual-only KVM)', () => {
    const device = join(tempDir(), 'kvm');
    writeFileSync(device, '');
    chmodSync(device, 0o660);
    const probed = probeAccel(device, neither);
    expect(probed.accel).toBe('tcg');
    expect(probed.reason).toMatch(/no VT-x or AMD-V \(no vmx or svm flag/);
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

describe('chooseAccel', () => {
  const noKvm = { accel: 'tcg' as const, reason: '/dev/kvm does not exist' };
  it('auto: KVM when usable, else TCG with a notice saying why', () => {
    expect(chooseAccel('auto', { accel: 'kvm' })).toEqual({ accel: 'kvm' });
    expect(chooseAccel('auto', noKvm)).toEqual({
      accel: 'tcg',
      notice: 'no KVM (/dev/kvm does not exist): using TCG software emulation, timeouts x4',
    });
  });

  it('tcg: TCG without a notice, even where KVM works', () => {
    expect(chooseAccel('tcg', { accel: 'kvm' })).toEqual({ accel: 'tcg' });
  });

  it('kvm: refused (exit 3) where KVM does not work', () => {
    expect(() => chooseAccel('kvm', noKvm)).toThrow(/--accel kvm, but KVM is not usable: \/dev\/kvm does not exist/);
    try {
      chooseAccel('kvm', noKvm);
    } catch (error) {
      expect((error as LabError).exitCode).toBe(3);
    }
  });
});
