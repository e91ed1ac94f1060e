import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';

/**
 * Whether this host's kernel runs i386 binaries (IA32 emulation built in and not turned off):
 * a static `gcc -m32` program that exits 7 is run. Some hosts (a VM kernel without IA32
 * emulation) answer "Exec format error"; a test that calls the host's i386 entries is skipped there.
 */
export function hostRunsI386Binaries(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'syscall-lab-i386-'));
  try {
    const binary = join(dir, 'exit7');
    const built = execaSync('gcc', ['-m32', '-static', '-x', 'c', '-', '-o', binary], {
      input: 'int main(void) { return 7; }\n',
      reject: false,
    });
    return built.exitCode === 0 && execaSync(binary, [], { reject: false }).exitCode === 7;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
