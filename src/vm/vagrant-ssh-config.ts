import { InfrastructureError } from '../errors.ts';

/** What `vagrant ssh-config` says about reaching the guest. */
export interface SshConfig {
  host: string;
  port: number;
  user: string;
  identityFile: string;
}

/** Parses `vagrant ssh-config` output (one Host block). */
export function parseSshConfig(text: string): SshConfig {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [, key, value] = /^\s*(\w+)\s+(.+?)\s*$/.exec(line) ?? [];
    if (key && value && !values.has(key)) values.set(key, value.replace(/^"(.*)"$/, '$1'));
  }
  const host = values.get('HostName');
  const user = values.get('User');
  const identityFile = values.get('IdentityFile');
  const port = Number(values.get('Port') ?? '22');
  if (!host || !user || !identityFile || !Number.isInteger(port)) {
    throw new InfrastructureError(
      `vagrant ssh-config gave no HostName/User/IdentityFile: ${text.trim().slice(0, 300)}`,
      'see vagrant.log in the run folder',
    );
  }
  return { host, port, user, identityFile };
}
