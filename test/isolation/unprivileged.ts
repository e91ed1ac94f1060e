/**
 * `npm run test:isolation-unprivileged` (root): the isolation program of test/e2e/isolation.test.ts,
 * with the harness started as an unprivileged user (runuser). Its cache starts empty, so this
 * builds 6.1 from scratch (half an hour on 2 cores): not part of `npm test` or `.ci/run`. Needs
 * unprivileged user namespaces (bubblewrap builds the guest's view in one).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../src/paths.ts';
import type { RunReport } from '../../src/report/model.ts';
import { plantCanaries } from '../e2e/canaries.ts';

const user = 'syscall-lab-test';
const fail = (why: string): never => {
  process.stderr.write(`test:isolation-unprivileged: ${why}\n`);
  process.exit(1);
};

if (process.getuid?.() !== 0) fail('run it as root: it makes the user and plants canaries in /root and /var/lib');
if ((await execa('id', [user], { reject: false })).exitCode !== 0)
  await execa('useradd', ['-m', '-s', '/bin/bash', user]);
const home = (await execa('sh', ['-c', `getent passwd ${user} | cut -d: -f6`])).stdout.trim();
const cache = join(home, '.cache', 'syscall-lab');
const canaries = plantCanaries(cache);
// Planted as root, the cache folder (and ~/.cache) must still be the user's: the harness writes there.
await execa('chown', [`${user}:`, join(home, '.cache'), cache]);
const out = mkdtempSync(join(tmpdir(), 'syscall-lab-isolation-report-'));
await execa('chown', [user, out]);
const json = join(out, 'report.json');
const started = Date.now();
try {
  const result = await execa(
    'runuser',
    [
      '-u',
      user,
      '--',
      process.execPath,
      join(projectRoot, 'bin', 'syscall-lab.mjs'),
      'run',
      '--kernel',
      '6.1',
      '--userland',
      canaries.userland,
      '--json',
      json,
    ],
    { reject: false, stdout: 'inherit', stderr: 'inherit', env: { ISOLATION_CANARY: canaries.token } },
  );
  if (!existsSync(json)) fail(`no report (exit ${result.exitCode})`);
  const [run] = (JSON.parse(readFileSync(json, 'utf8')) as { runs: RunReport[] }).runs;
  const program = run?.checks.find((check) => check.name === 'userland:isolation.c');
  const subresults = program?.subresults?.map((sub) => `${sub.status} ${sub.name}`) ?? [];
  process.stdout.write(`\nisolation as ${user}: ${program?.status ?? 'missing'}\n${subresults.join('\n')}\n`);
  process.stdout.write(`took ${Math.round((Date.now() - started) / 60_000)} min\n`);
  if (program?.status !== 'pass' || subresults.length !== 12)
    fail(program?.details ?? 'the isolation program did not run');
  if (readFileSync(json, 'utf8').includes(canaries.token)) fail('the canary is in the report');
} finally {
  canaries.remove();
  rmSync(out, { recursive: true, force: true });
}
