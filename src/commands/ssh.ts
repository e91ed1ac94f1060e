import { readFileSync, writeFileSync } from 'node:fs';
import { ExitCode } from '../errors.ts';
import { RunFolder } from '../run-folder.ts';
import { runTool } from '../spawn.ts';

/**
 * `syscall-lab ssh [command]`: logs into the VM kept by `boot` or `run --keep` with OpenSSH,
 * which gets the terminal; the guest's host key is the pinned one.
 */
export async function sshCommand(run: string | undefined, command: string[]): Promise<number> {
  const folder = RunFolder.kept(run);
  const port = readFileSync(folder.sshPort, 'utf8').trim();
  const hostKey = readFileSync(folder.guestHostKeyPublic, 'utf8').trim();
  writeFileSync(folder.knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`);
  const result = await runTool(
    'ssh',
    [
      ...['-i', folder.clientKey, '-p', port],
      ...['-o', `UserKnownHostsFile=${folder.knownHosts}`, '-o', 'StrictHostKeyChecking=yes'],
      'root@127.0.0.1',
      ...command,
    ],
    { stdio: 'inherit', reject: false },
  );
  return result.exitCode ?? ExitCode.infrastructure;
}
