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
    // The checklist's checkpatch comes from the 6.1 source (a Debian download): tests that judge
    // conformance ask for it (test/unit/conformance*.test.ts give staticConformance a fake one).
    conformance: 'off',
    ...extra,
  });
}
