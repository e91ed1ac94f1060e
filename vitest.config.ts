import { defineConfig } from 'vitest/config';

// Tests that start the CLI run bin/syscall-lab.mjs, which loads dist/: built first when a source changed.
const globalSetup = ['test/build-dist.ts'];

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000, globalSetup } },
      {
        // Only through `npm run test:vagrant` (test/vagrant/run.ts sets up libvirtd in a network namespace).
        test: {
          name: 'vagrant',
          globalSetup,
          include: ['test/vagrant/**/*.test.ts'],
          testTimeout: 90 * 60_000,
          hookTimeout: 90 * 60_000,
          fileParallelism: false,
        },
      },
      {
        // Every negative fixture alone: `npm run test:fixtures` (npm test runs them paired).
        test: {
          name: 'fixtures',
          globalSetup,
          include: ['test/fixtures-e2e/**/*.test.ts'],
          testTimeout: 60 * 60_000,
          hookTimeout: 60 * 60_000,
          fileParallelism: false,
        },
      },
      {
        // Five kernels from 3.9 to 7.2: `npm run test:matrix` (its own script, not in `npm test`).
        test: {
          name: 'matrix',
          globalSetup,
          include: ['test/matrix/**/*.test.ts'],
          testTimeout: 6 * 60 * 60_000,
          hookTimeout: 6 * 60 * 60_000,
          fileParallelism: false,
        },
      },
      {
        // adding-syscalls.rst's checklist on stamp(2) and its broken variants: `npm run test:conformance`
        // (its own builds; not in `npm test`).
        test: {
          name: 'conformance',
          globalSetup,
          include: ['test/conformance/**/*.test.ts'],
          testTimeout: 60 * 60_000,
          hookTimeout: 60 * 60_000,
          fileParallelism: false,
        },
      },
      {
        // Debug kernels on 6.1 (--debug-info's decoded oops, --profile debug's KASAN): `npm run test:debug`
        // (its own builds; not in `npm test`).
        test: {
          name: 'debug',
          globalSetup,
          include: ['test/debug/**/*.test.ts'],
          // A cold test builds two kernels, and these suites are often run beside another run.
          testTimeout: 150 * 60_000,
          hookTimeout: 90 * 60_000,
          fileParallelism: false,
        },
      },
      {
        // A real 6.1 git tree (--each, bisect, --worktree, a decoded oops named by commit): `npm run test:git`
        // (its own builds; not in `npm test`).
        test: {
          name: 'git',
          globalSetup,
          include: ['test/git/**/*.test.ts'],
          // --each builds the stock kernel and four commits; cold, beside another run, past 90 minutes.
          testTimeout: 150 * 60_000,
          hookTimeout: 30 * 60_000,
          fileParallelism: false,
        },
      },
      {
        // The watch loop on real kernels: `npm run test:watch` (its own script, not in `npm test`).
        test: {
          name: 'watch',
          globalSetup,
          include: ['test/watch/**/*.test.ts'],
          testTimeout: 60 * 60_000,
          hookTimeout: 60 * 60_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          globalSetup,
          include: ['test/e2e/**/*.test.ts'],
          // Real kernel builds and TCG boots: minutes, not seconds. One VM at a time on 2 cores.
          testTimeout: 60 * 60_000,
          hookTimeout: 60 * 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
