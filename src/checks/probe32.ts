import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../paths.ts';
import { runTool } from '../spawn.ts';
import { compilerIdentity } from '../kernel/build.ts';
import { cache, writeEntry } from '../kernel/cache.ts';
import type { CheckContext } from './check.ts';

const guestSources = join(projectRoot, 'src', 'checks', 'guest');
/** The probe and the bad pointers it includes: the same C as the 64-bit probe, built for i386. */
const sources = ['probe.c', 'bad-pointers.h'];
const flags = ['-m32', '-static', '-O2', '-pthread'];

/** The static i386 probe, or why there is none (gcc-multilib missing, say). */
export type Probe32 = { binary: string } | { error: string };

/**
 * What decides the binary: the sources, the flags, gcc and ld, and the i386 libc linked in.
 * Undefined when gcc has no i386 libc (no gcc-multilib).
 */
async function probe32Key(): Promise<string | undefined> {
  const libc = await runTool('gcc', ['-m32', '-print-file-name=libc.a'], { reject: false });
  const libcPath = libc.stdout.trim();
  if (libc.exitCode !== 0 || !libcPath.startsWith('/') || !existsSync(libcPath)) return undefined;
  const { size, mtimeMs } = statSync(libcPath);
  const hash = createHash('sha256');
  for (const file of sources)
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(guestSources, file)))
      .update('\0');
  hash.update([...flags, await compilerIdentity(), libcPath, size, mtimeMs].join('\0'));
  return hash.digest('hex').slice(0, 16);
}

/**
 * The probe as a static i386 program, compiled on the host once per key and kept in the cache
 * (programs/i386-static/): static, it runs in any x86-64 guest whose kernel has IA32 emulation,
 * whatever the guest has installed, and calls the syscall through the i386 table (glibc's i386
 * syscall()). gcc-multilib gives the host its i386 libc.
 */
export async function compileProbe32(): Promise<Probe32> {
  const key = await probe32Key();
  const fix = 'install gcc-multilib (apt-get install gcc-multilib; `syscall-lab doctor` lists it)';
  if (key === undefined) return { error: `gcc -m32 finds no i386 libc.a (fix: ${fix})` };
  const entry = join(cache.programs(), 'i386-static', key);
  let failure = '';
  if (!existsSync(join(entry, 'binary'))) {
    await writeEntry(entry, async (binary) => {
      const run = await runTool('gcc', [...flags, '-o', binary, 'probe.c'], {
        cwd: guestSources,
        reject: false,
        all: true,
      });
      if (run.exitCode === 0) return run.all.trim();
      failure = `gcc ${flags.join(' ')} probe.c failed (exit ${run.exitCode ?? 'killed'}): ${run.all.trim()} (fix: ${fix})`;
      return undefined;
    });
  }
  return failure ? { error: failure } : { binary: join(entry, 'binary') };
}

/** Puts the static i386 probe into the guest; its guest path, or why there is none. */
export async function uploadProbe32(context: CheckContext): Promise<Probe32> {
  const compiled = await compileProbe32();
  if ('error' in compiled) return compiled;
  const guestBinary = `${context.guestDir}/probe32`;
  await context.machine.copy(compiled.binary, guestBinary, 0o755);
  return { binary: guestBinary };
}
