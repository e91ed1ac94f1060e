import { parseOptions, type Options } from '../../../src/config.ts';

/** Validated options as the CLI would give them for a small QEMU/TCG run, plus `extra`. */
export function testOptions(extra: Record<string, unknown>): Options {
  return parseOptions({
    backend: 'qemu',
    box: 'debian/bookworm64',
    provider: 'libvirt',
    buildInGuest: false,
    accel: 'tcg',
    cpus: 1,
    memory: 512,
    jobs: 1,
    keep: false,
    ...extra,
  });
}
