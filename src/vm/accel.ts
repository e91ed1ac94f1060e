import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { LabError, ExitCode } from '../errors.ts';

export type Accel = 'kvm' | 'tcg';

/**
 * KVM when /dev/kvm can be opened read-write and the CPU has hardware virtualization (VT-x or
 * AMD-V: the vmx or svm flag); TCG (software emulation) otherwise. The flag matters: a cloud VM
 * may offer a /dev/kvm that only runs paravirtual guests (kvm_pvm, no vmx/svm), where QEMU
 * aborts with `-cpu host` and an unmodified kernel never prints a line.
 */
export function probeAccel(device = '/dev/kvm', cpuinfo = readCpuinfo()): { accel: Accel; reason?: string } {
  if (!existsSync(device)) return { accel: 'tcg', reason: `${device} does not exist` };
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: `${device} is not usable by this user (add it to the kvm group)` };
  }
  if (!/^flags\s*:.*\b(?:vmx|svm)\b/m.test(cpuinfo)) {
    return {
      accel: 'tcg',
      reason: `${device} exists, but this CPU has no VT-x or AMD-V (no vmx or svm flag in /proc/cpuinfo): KVM cannot run an unmodified kernel here`,
    };
  }
  return { accel: 'kvm' };
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** TCG runs guests several times slower: every wait is scaled by this. */
export function timeoutScale(accel: Accel): number {
  return accel === 'kvm' ? 1 : 4;
}

/** --accel auto|kvm|tcg -> the accelerator to use; a fallback to TCG comes with a notice saying why. */
export function chooseAccel(requested: 'auto' | Accel, probed = probeAccel()): { accel: Accel; notice?: string } {
  if (requested === 'kvm' && probed.accel !== 'kvm') {
    throw new LabError(
      `--accel kvm, but KVM is not usable: ${probed.reason ?? 'unknown reason'}`,
      ExitCode.infrastructure,
      'load kvm and give this user /dev/kvm, or use --accel tcg',
    );
  }
  if (requested === 'tcg') return { accel: 'tcg' };
  if (probed.accel === 'tcg') {
    return {
      accel: 'tcg',
      notice: `no KVM (${probed.reason ?? 'unknown reason'}): using TCG software emulation, timeouts x${timeoutScale('tcg')}`,
    };
  }
  return { accel: 'kvm' };
}
