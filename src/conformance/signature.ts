/**
 * A new system call's signature, read from its `SYSCALL_DEFINEn(name, type, arg, ...)` in the
 * series: what the generated runtime checks call it with and what the static items judge.
 */
export interface SyscallArgument {
  name: string;
  /** The type as written (`unsigned long __user *`). */
  type: string;
  /** Whether it is a pointer (one `*` or more). */
  pointer: boolean;
  /** Whether the pointer is annotated `__user` (sparse checks the uses; this is the declaration). */
  user: boolean;
  /** Whether the pointee is const (the syscall only reads it: read-only memory is no bad pointer then). */
  constant: boolean;
  /** The pointee without qualifiers (`unsigned long`, `struct foo`, `void`); for a non-pointer, the type. */
  pointee: string;
}

export interface SyscallSignature {
  name: string;
  arguments: SyscallArgument[];
  /** The patch and file that define it. */
  patch: string;
  file: string;
  /** Arguments the author marked optional with a `syscall-lab: nullable(arg)` comment: NULL is valid there. */
  nullable: string[];
  /**
   * Values the author gives integer arguments for the valid call (`syscall-lab: valid(fd=0)`): by
   * default they are 0, which a syscall may reject (EBADF) before it reads its pointers.
   */
  valid?: Record<string, bigint>;
}

function argumentOf(type: string, name: string): SyscallArgument {
  const clean = type.replace(/\s+/g, ' ').trim();
  const pointer = clean.includes('*');
  // The pointee's own qualifiers are written between the last `*` and the one before it (or the
  // start): `const char __user * __user *` points to a pointer the syscall may write.
  const pointeeQualifiers = clean.split('*').at(-2) ?? '';
  const pointee = clean
    .replace(/\*.*$/, '')
    .replace(/\b(__user|const|volatile)\b/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return {
    name,
    type: clean,
    pointer,
    user: /\b__user\b/.test(clean),
    constant: pointer && /\bconst\b/.test(pointeeQualifiers),
    pointee: pointer && /\*.*\*/.test(clean) ? `${pointee} *` : pointee,
  };
}

const definition = /\bSYSCALL_DEFINE(\d)\s*\(\s*(\w+)\s*((?:,[^()]*)?)\)/g;

/**
 * The `SYSCALL_DEFINEn` of a C text (a file the series adds, or its added lines): name and
 * arguments, in order. A definition whose argument count disagrees with n is returned with the
 * arguments it has: the compiler reports that, not this reader.
 */
export function readDefinitions(text: string): { name: string; arguments: SyscallArgument[] }[] {
  const found: { name: string; arguments: SyscallArgument[] }[] = [];
  for (const match of text.matchAll(definition)) {
    const parts = (match[3] ?? '')
      .split(',')
      .slice(1)
      .map((part) => part.trim());
    const args: SyscallArgument[] = [];
    for (let k = 0; k + 1 < parts.length; k += 2) args.push(argumentOf(parts[k] ?? '', parts[k + 1] ?? ''));
    found.push({ name: match[2] ?? '', arguments: args });
  }
  return found;
}

/** `/* syscall-lab: nullable(arg) *\/` comments: the arguments their author says may be NULL. */
export function readNullable(text: string): string[] {
  return [...text.matchAll(/syscall-lab:\s*nullable\(\s*(\w+)\s*\)/g)].map((match) => match[1] ?? '');
}

/** `/* syscall-lab: valid(arg=VALUE) *\/` comments: the value an integer argument takes in the valid call. */
export function readValid(text: string): Record<string, bigint> {
  return Object.fromEntries(
    [...text.matchAll(/syscall-lab:\s*valid\(\s*(\w+)\s*=\s*(-?(?:0x[0-9a-fA-F]+|\d+))\s*\)/g)].map((match) => [
      match[1] ?? '',
      BigInt(match[2] ?? '0'),
    ]),
  );
}
