import type { SyscallEntry } from '../kernel/syscalls.ts';

/** The seed talk's syscalls, which the built-in checks know how to judge. */
export const builtinNames = ['callcount', 'taskcount'] as const;

export function builtinSyscalls(added: SyscallEntry[]): SyscallEntry[] {
  return added.filter((entry) => (builtinNames as readonly string[]).includes(entry.name));
}
