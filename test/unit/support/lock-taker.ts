// A process that takes a cache key lock, for test/unit/lock.test.ts:
//   node --import tsx lock-taker.ts '{"cache": DIR, "key": KEY, "timeout": S, "rounds": N, "go": FILE, "until": FILE}'
// Prints "ready", then for each round i (1..N, or once without `rounds`): waits for `go`-i to exist
// (a start line for several takers), takes the lock `key`-i (waiting at most `timeout` s), prints
// "won i" and holds it until `until`-i exists (or for `holdMs`), or prints "lost i <exit code>"
// when it times out. Without `rounds` the names are used as they are.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

interface Orders {
  cache: string;
  key: string;
  timeout: number;
  rounds?: number;
  holdMs?: number;
  go?: string;
  until?: string;
}

const orders = JSON.parse(process.argv[2] ?? '{}') as Orders;
process.env.SYSCALL_LAB_CACHE = orders.cache;
const { lockKey } = await import('../../../src/kernel/cache.ts');
const { LabError } = await import('../../../src/errors.ts');

process.stdout.write('ready\n');
for (let round = 1; round <= (orders.rounds ?? 1); round++) {
  const name = (base: string): string => (orders.rounds ? `${base}-${round}` : base);
  while (orders.go && !existsSync(name(orders.go))) await sleep(1);
  try {
    const lock = await lockKey(name(orders.key), { timeoutSeconds: orders.timeout, pollMs: 20 });
    process.stdout.write(`won ${round}\n`);
    const deadline = Date.now() + (orders.holdMs ?? 600_000);
    while (Date.now() < deadline && !(orders.until && existsSync(name(orders.until)))) await sleep(10);
    await lock[Symbol.asyncDispose]();
  } catch (error) {
    process.stdout.write(`lost ${round} ${error instanceof LabError ? error.exitCode : String(error)}\n`);
    process.exitCode = 3;
  }
}
