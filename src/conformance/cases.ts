import { badKinds } from '../checks/bad-pointer-efault.ts';
import type { BadKind, ProbeArg } from '../checks/probe-args.ts';
import type { SyscallArgument, SyscallSignature } from './signature.ts';

/**
 * The runtime checks generated from a syscall's signature: one case table that drives the probe
 * (src/checks/conformance.ts) and, written out as C, an exported selftest.
 */
export interface GeneratedCase {
  item: 'efault' | 'flags';
  syscall: string;
  /** What the case changes from the valid call: `num=null`, `flags=~0`. */
  label: string;
  args: ProbeArg[];
  expect: 'EFAULT' | 'EINVAL';
  /** The bad pointer's memory must stay as it was (read-only memory, the kernel's writable alias). */
  watched: boolean;
}

/** The ABI a call goes through: the x86-64 table, or the i386 one (a 32-bit program). */
export type Abi = 'x86_64' | 'i386';

/**
 * Sizes of the pointees a type name shows, on x86-64 and on i386; a struct, union or void gets a
 * page (its size is not known here). long, size_t and pointers are the ones that differ.
 */
const sizes: [RegExp, Record<Abi, number>][] = [
  [/^(char|unsigned char|signed char|u8|s8|__u8|__s8|bool)$/, { x86_64: 1, i386: 1 }],
  [/^(short|unsigned short|u16|s16|__u16|__s16)$/, { x86_64: 2, i386: 2 }],
  [/^(int|unsigned int|unsigned|u32|s32|__u32|__s32|pid_t|uid_t|gid_t|mode_t|key_serial_t)$/, { x86_64: 4, i386: 4 }],
  [/^(long long|unsigned long long|u64|s64|__u64|__s64|loff_t)$/, { x86_64: 8, i386: 8 }],
  [/^(long|unsigned long|size_t|ssize_t|off_t|__kernel_\w+|.*\*)$/, { x86_64: 8, i386: 4 }],
];
const unknownSize = 4096;

export function pointeeSize(argument: SyscallArgument, abi: Abi = 'x86_64'): number {
  return sizes.find(([pattern]) => pattern.test(argument.pointee))?.[1][abi] ?? unknownSize;
}

/**
 * Whether a 32-bit call's bytes can be compared with a 64-bit call's: the pointee is a plain
 * value of one size on both ABIs (a struct's layout may rightly differ, a compat entry converting it).
 */
export function sameOnBothAbis(argument: SyscallArgument): boolean {
  const size = sizes.find(([pattern]) => pattern.test(argument.pointee))?.[1];
  return size !== undefined && size.x86_64 === size.i386;
}

/** A length argument: it gets the size of the buffer before it. */
const isLength = (argument: SyscallArgument): boolean =>
  !argument.pointer && /^(len|length|size|count|n|nbytes|bufsize|\w+_(len|size))$/.test(argument.name);

/**
 * The valid call: a buffer of the pointee's size for each pointer, lengths equal to it, the values
 * the author gave (`valid(arg=VALUE)`), flags and the rest 0.
 */
export function validArguments(signature: SyscallSignature, abi: Abi = 'x86_64'): ProbeArg[] {
  let lastSize = 0;
  return signature.arguments.map((argument, index) => {
    if (argument.pointer) {
      // A byte buffer with its length after it (char *buf, size_t len) is a buffer, not one byte:
      // a page, so that a syscall that needs room (a name, a message) is called validly.
      const next = signature.arguments[index + 1];
      const byteBuffer = /^(void|char|unsigned char|u8|__u8)$/.test(argument.pointee) && next && isLength(next);
      lastSize = byteBuffer ? unknownSize : pointeeSize(argument, abi);
      return { kind: 'buffer', size: lastSize };
    }
    const given = signature.valid?.[argument.name];
    if (given !== undefined) return { kind: 'int', value: registerOf(given, abi) };
    return { kind: 'int', value: isLength(argument) ? BigInt(lastSize) : 0n };
  });
}

/** A value as the ABI's register holds it: i386 registers are 32 bits (~0 is 0xffffffff there). */
export function registerOf(value: bigint, abi: Abi): bigint {
  return abi === 'i386' ? BigInt.asUintN(32, value) : value;
}

/** Read-only memory is a bad pointer only for a pointer the syscall writes through (not const). */
function kindsFor(argument: SyscallArgument, nullable: string[]): BadKind[] {
  return badKinds.filter(
    (kind) => !(kind === 'readonly' && argument.constant) && !(kind === 'null' && nullable.includes(argument.name)),
  );
}

/** A 32-bit program cannot name a 64-bit kernel's addresses: its bad pointers are these. */
const i386Kinds: readonly BadKind[] = ['null', 'unmapped', 'readonly'];

/**
 * Every case of one syscall: each pointer argument bad in each kind; a flags argument ~0 and
 * 1u << 31. For i386, the same cases with 32-bit registers and i386 sizes, without the kernel kinds.
 */
export function generatedCases(signature: SyscallSignature, abi: Abi = 'x86_64'): GeneratedCase[] {
  const valid = validArguments(signature, abi);
  const cases: GeneratedCase[] = [];
  signature.arguments.forEach((argument, index) => {
    const replaced = (arg: ProbeArg): ProbeArg[] => valid.map((other, k) => (k === index ? arg : other));
    if (argument.pointer) {
      for (const kind of kindsFor(argument, signature.nullable).filter(
        (k) => abi === 'x86_64' || i386Kinds.includes(k),
      )) {
        cases.push({
          item: 'efault',
          syscall: signature.name,
          label: `${argument.name}=${kind}`,
          args: replaced({ kind: 'bad', pointer: kind }),
          expect: 'EFAULT',
          watched: kind === 'readonly' || kind === 'kernel-writable',
        });
      }
    } else if (argument.name === 'flags') {
      for (const [label, value] of [
        ['~0', 0xffffffffffffffffn],
        ['1u << 31', 1n << 31n],
      ] as const) {
        cases.push({
          item: 'flags',
          syscall: signature.name,
          label: `flags=${label}`,
          args: replaced({ kind: 'int', value: registerOf(value, abi) }),
          expect: 'EINVAL',
          watched: false,
        });
      }
    }
  });
  return cases;
}
