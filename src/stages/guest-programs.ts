import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { CompiledProgram } from '../checks/check.ts';
import { ExitCode, LabError } from '../errors.ts';
import { shellCommand, shellQuote } from '../guest/ssh.ts';
import { writeEntry } from '../kernel/cache.ts';
import { kselftestUpload, missingKselftestHint, type KselftestHeaders } from './kselftest-headers.ts';
import { projectRoot } from '../paths.ts';
import { runTool } from '../spawn.ts';
import type { Machine } from '../vm/machine.ts';

const probeSource = join(projectRoot, 'src', 'checks', 'guest', 'probe.c');
/** The probe's bad pointers and buffers (shared with export-selftest's tests): it goes next to probe.c. */
const badPointersHeader = join(projectRoot, 'src', 'checks', 'guest', 'bad-pointers.h');

/**
 * A program to compile in the guest: its host source, its name there, gcc's flags, whether it
 * includes the syscall header, and the files it includes by `#include "…"` (they sit next to the
 * source on the host and are uploaded next to it).
 */
interface Program {
  source: string;
  name: string;
  flags: string[];
  includesHeader: boolean;
  companions?: string[];
}

export interface GuestPrograms {
  /** The compiled probe (guest path). */
  probe: string;
  /** Every userland program by its host path: its binary, or gcc's errors. */
  userland: Map<string, CompiledProgram>;
}

/**
 * The guest's one compile step: the probe and every userland program, uploaded and compiled at
 * once, in parallel (the guest has as many vCPUs as the machine; under TCG gcc takes seconds per
 * file). Each binary lives under build/<hash of its source, the headers it gets and its flags>:
 * a program that did not change since the last compile in this boot (`syscall-lab test` on a
 * kept VM) is not compiled again. Programs still run one at a time, later (an oops is attributed
 * to its program). A plain POSIX shell script, not make: a Vagrant box need not have make.
 *
 * With `binaryCache` (a host folder), binaries are kept across boots, keyed by the program's hash
 * and the guest's toolchain (guestToolchainScript), and uploaded instead of compiled again. When
 * the guest's toolchain is the host's own (QEMU: the guest's /usr is the host's), the host
 * compiles what the cache lacks: the same gcc, headers, libc and flags make the same binary, in
 * a fraction of a second instead of seconds under TCG. Every program still runs in the guest.
 */
export async function compileGuestPrograms(
  machine: Machine,
  guestDir: string,
  headerFile: string,
  userlandFiles: string[],
  timeout: number,
  binaryCache?: string,
  kselftest?: KselftestHeaders,
): Promise<GuestPrograms> {
  const upload = kselftestUpload(kselftest, guestDir);
  // What the userland programs include: the syscall header and kselftest's (a new one recompiles them).
  const header = readFileSync(headerFile, 'utf8') + upload.fingerprint;
  const guestHeader = `${guestDir}/syscall-lab-syscalls.h`;
  const programs: Program[] = [
    // The probe takes syscall numbers as arguments: a new header does not recompile it.
    {
      source: probeSource,
      name: 'probe',
      flags: ['-O2', '-pthread'],
      includesHeader: false,
      companions: [badPointersHeader],
    },
    ...userlandFiles.map((file) => ({
      source: file,
      name: basename(file).replace(/\.c$/, ''),
      // No -Werror: warnings are shown, only errors fail the program.
      flags: ['-Wall', '-O2', '-include', guestHeader, ...upload.flags],
      includesHeader: true,
    })),
  ];
  const hashes = programs.map((program) => programHash(program, header));
  // Each source keeps its name (gcc's messages name it) in a folder of its own.
  const sourceDirs = hashes.map((hash) => `${guestDir}/src/${hash}`);
  const binary = (index: number): string => `${guestDir}/build/${hashes[index] ?? ''}/${programs[index]?.name ?? ''}`;
  const mkdirs = shellCommand([
    'mkdir',
    '-p',
    ...upload.guestFolders,
    ...sourceDirs,
    ...hashes.map((hash) => `${guestDir}/build/${hash}`),
  ]);
  const prepared = await machine.exec(binaryCache ? `${mkdirs}\n${guestToolchainScript}` : mkdirs, { timeout });
  const toolchain = binaryCache ? prepared.stdout.trim() : '';
  const entryOf = (index: number): string | undefined =>
    binaryCache && toolchain ? join(binaryCache, toolchainKey(toolchain), hashes[index] ?? '') : undefined;
  const hostCompiles = binaryCache !== undefined && toolchain !== '' && (await hostToolchain(toolchain)) === toolchain;

  await machine.copy(headerFile, guestHeader);
  for (const { host, guest } of upload.copies) await machine.copy(host, guest);
  const hostPaths = new Map([[guestHeader, headerFile], ...upload.hostPaths]);
  const outcomes = new Map<string, Outcome>();
  const missing = programs.flatMap((_, index) => {
    const entry = entryOf(index);
    return entry && existsSync(join(entry, 'binary')) ? [] : [index];
  });
  if (hostCompiles) {
    await Promise.all(
      missing.map(async (index) => {
        const program = programs[index];
        const entry = entryOf(index);
        if (!program || !entry) return;
        const outcome = await compileOnHost(program, { hostPaths, path: pathOf(toolchain) }, entry);
        if (outcome.status !== 0) outcomes.set(hashes[index] ?? '', outcome);
      }),
    );
  }
  const toCompile: number[] = [];
  for (const [index, program] of programs.entries()) {
    const entry = entryOf(index);
    if (outcomes.has(hashes[index] ?? '')) continue;
    if (entry && existsSync(join(entry, 'binary'))) {
      await machine.copy(join(entry, 'binary'), binary(index), 0o755);
      outcomes.set(hashes[index] ?? '', { status: 0, log: readFileSync(join(entry, 'log'), 'utf8') });
    } else {
      for (const file of [program.source, ...(program.companions ?? [])])
        await machine.copy(file, `${sourceDirs[index] ?? ''}/${basename(file)}`);
      toCompile.push(index);
    }
  }
  let stderr = '';
  if (toCompile.length > 0) {
    const pick = <T>(list: T[]): T[] => toCompile.map((index) => list[index] as T);
    const run = await machine.exec(compileScript(guestDir, pick(programs), pick(hashes)), { timeout: timeout * 2 });
    stderr = run.stderr.trim() || `exit ${run.code ?? 'killed'}`;
    for (const [hash, outcome] of parseOutcomes(run.stdout)) outcomes.set(hash, outcome);
    for (const index of toCompile) {
      const entry = entryOf(index);
      const outcome = outcomes.get(hashes[index] ?? '');
      if (entry && outcome?.status === 0) await keepGuestBinary(machine, binary(index), outcome.log, entry);
    }
  }
  const probe = outcomes.get(hashes[0] ?? '');
  if (probe?.status !== 0) {
    throw new LabError(`the probe did not compile in the guest: ${probe?.log ?? stderr}`, ExitCode.infrastructure);
  }
  const userland = new Map<string, CompiledProgram>();
  for (const [index, program] of programs.entries()) {
    if (index === 0) continue;
    const outcome = outcomes.get(hashes[index] ?? '');
    userland.set(program.source, {
      binary: binary(index),
      ok: outcome?.status === 0,
      status: outcome?.status ?? null,
      log: outcome?.log ?? `no compile result (${stderr})`,
      hint: outcome?.status === 0 ? undefined : missingKselftestHint(outcome?.log ?? '', kselftest),
    });
  }
  return { probe: binary(0), userland };
}

interface Outcome {
  status: number | null;
  log: string;
}

/**
 * What decides what the guest's gcc makes, cheaply (one stat, no gcc runs, no hashing of 100 MB
 * of toolchain under TCG): the PATH its commands get, the compiler driver, every cc1, the
 * assembler, the linker, libc (size and mtime), and the folders of the system headers (a package
 * upgrade replaces files by rename, which changes the folder's mtime). Stops after the PATH when
 * the guest has no gcc.
 */
export const guestToolchainScript = [
  'echo "PATH=$PATH"',
  'command -v gcc >/dev/null || exit 0',
  'stat -L -c "%n %s %Y" "$(command -v gcc)" /usr/lib/gcc/*/*/cc1 "$(command -v as)" "$(command -v ld)" \\',
  '  /usr/lib/*/libc.so.6 /usr/lib/*/libc.so /usr/include /usr/include/linux /usr/include/asm-generic \\',
  '  /usr/include/*-linux-gnu* /usr/include/*/asm /usr/include/*/bits /usr/include/*/sys 2>&1',
].join('\n');

export function toolchainKey(identity: string): string {
  return createHash('sha256').update(identity.trim()).digest('hex').slice(0, 16);
}

/** The PATH a guest's commands get, from its guestToolchainScript answer. */
const pathOf = (toolchain: string): string => /^PATH=(.*)$/m.exec(toolchain)?.[1] ?? '';

const hostToolchains = new Map<string, Promise<string>>();

/** The host's answer to guestToolchainScript with the PATH the guest reported (once per process and PATH). */
function hostToolchain(guestToolchain: string): Promise<string> {
  const path = pathOf(guestToolchain);
  let answer = hostToolchains.get(path);
  if (!answer) {
    answer = runTool('sh', ['-c', guestToolchainScript], { env: { PATH: path }, reject: false }).then((result) =>
      result.stdout.trim(),
    );
    hostToolchains.set(path, answer);
  }
  return answer;
}

/**
 * Compiles a program on the host as the guest would (the same flags, the headers at their host
 * paths, gcc run in the source's folder so that its messages name the file as the guest's would,
 * with the guest's PATH). A binary goes into the cache entry, whole or not at all; gcc's errors
 * are returned.
 */
async function compileOnHost(
  program: Program,
  host: { hostPaths: Map<string, string>; path: string },
  entry: string,
): Promise<Outcome> {
  const flags = program.flags.map((flag) => host.hostPaths.get(flag) ?? flag);
  let outcome: Outcome = { status: null, log: '' };
  await writeEntry(entry, async (binary) => {
    const run = await runTool('gcc', [...flags, '-o', binary, basename(program.source)], {
      cwd: dirname(program.source),
      env: { PATH: host.path },
      reject: false,
      all: true,
    });
    outcome = { status: run.exitCode ?? null, log: run.all.trim() };
    return outcome.status === 0 ? outcome.log : undefined;
  });
  return outcome;
}

/** Downloads a binary the guest compiled into the cache; a failed download is compiled again next boot. */
async function keepGuestBinary(machine: Machine, guestBinary: string, log: string, entry: string): Promise<void> {
  if (existsSync(entry)) return;
  await writeEntry(entry, async (binary) => {
    await machine.download(guestBinary, binary);
    return log;
  }).catch(() => undefined);
}

export function programHash(program: Program, header: string): string {
  return createHash('sha256')
    .update(basename(program.source))
    .update('\0')
    .update(readFileSync(program.source))
    .update('\0')
    .update(program.includesHeader ? header : '')
    .update('\0')
    .update(program.flags.join(' '))
    .update((program.companions ?? []).map((file) => `\0${basename(file)}\0${readFileSync(file, 'utf8')}`).join(''))
    .digest('hex')
    .slice(0, 16);
}

/** Compiles every program not compiled yet, all at once, then prints each one's status and log. */
export function compileScript(guestDir: string, programs: Program[], hashes: string[]): string {
  const lines = [
    `cd ${shellQuote(guestDir)}`,
    // A program whose build folder has a status is done (a kept VM's earlier `test`).
    // gcc runs in the source's folder, so its messages name the file as the user named it.
    'compile() { h=$1; shift; [ -f "build/$h/status" ] && return 0; mkdir -p "build/$h"; (cd "src/$h" && "$@") >"build/$h/log" 2>&1; echo $? >"build/$h/status"; }',
  ];
  for (const [index, program] of programs.entries()) {
    const hash = hashes[index] ?? '';
    const output = `../../build/${hash}/${program.name}`;
    lines.push(`compile ${hash} ${shellCommand(['gcc', ...program.flags, '-o', output, basename(program.source)])} &`);
  }
  lines.push('wait');
  lines.push(
    `for h in ${hashes.join(' ')}; do echo "=== $h $(cat "build/$h/status" 2>/dev/null)"; cat "build/$h/log" 2>/dev/null; done`,
  );
  return lines.join('\n');
}

/** "=== <hash> <status>" followed by gcc's output, for each program. */
export function parseOutcomes(stdout: string): Map<string, Outcome> {
  const outcomes = new Map<string, Outcome>();
  let current: { hash: string; status: number | null; log: string[] } | undefined;
  const close = (): void => {
    if (current) outcomes.set(current.hash, { status: current.status, log: current.log.join('\n').trim() });
  };
  for (const line of stdout.split('\n')) {
    const head = /^=== ([0-9a-f]+) ?(\d*)$/.exec(line);
    if (head) {
      close();
      current = { hash: head[1] ?? '', status: head[2] ? Number(head[2]) : null, log: [] };
    } else {
      current?.log.push(line);
    }
  }
  close();
  return outcomes;
}
