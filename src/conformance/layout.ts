import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parsePatch } from '../kernel/registration/patch-text.ts';
import type { SeriesPatch } from '../kernel/registration/port.ts';
import { runTool } from '../spawn.ts';

/**
 * Whether a struct or union that a syscall's pointer argument points to has one layout for i386
 * and x86-64 (then its i386 entry needs no compat_sys_ entry point): its uapi definition, as the
 * series adds it, compiled with `gcc -m32` and `gcc -m64`, its size and every member's offset compared.
 */
export type LayoutComparison =
  { kind: 'same'; detail: string } | { kind: 'differs'; detail: string } | { kind: 'unknown'; detail: string };

/** The uapi headers a series adds or changes, as they are after it: include/uapi/<path> -> <path>. */
export function uapiHeaders(series: SeriesPatch[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (const patch of series) {
    for (const file of parsePatch(patch.text).files) {
      const include = /^include\/uapi\/(.+\.h)$/.exec(file.path)?.[1];
      const created = file.hunks.length === 1 && file.hunks[0]?.oldStart === 0;
      // Only a header the series creates is known whole; a changed one is the tree's, not the series'.
      if (!include || !created) continue;
      const lines = file.hunks[0]?.lines.filter((line) => line.startsWith('+')).map((line) => line.slice(1)) ?? [];
      headers.set(include, `${lines.join('\n')}\n`);
    }
  }
  return headers;
}

/** The members of `struct NAME { ... }` (or union) in the headers: their names, or why they cannot be compared. */
export function membersOf(type: string, headers: Map<string, string>): string[] | string {
  const [keyword = '', name = ''] = type.split(/\s+/);
  const pattern = new RegExp(`\\b${keyword}\\s+${name}\\s*\\{([^{}]*)\\}`);
  const body = [...headers.values()].map((text) => pattern.exec(text)?.[1]).find((found) => found !== undefined);
  if (body === undefined) return `${type} is not defined in a uapi header the series adds`;
  const members: string[] = [];
  for (const declaration of body.replace(/\/\*[\s\S]*?\*\//g, '').split(';')) {
    const text = declaration.trim();
    if (text === '') continue;
    if (text.includes(':')) return `${type} has a bit-field (${text}): offsetof cannot compare it`;
    const member = /(\w+)\s*(\[[^\]]*\]\s*)*$/.exec(text)?.[1];
    if (!member) return `cannot read the member "${text}" of ${type}`;
    members.push(member);
  }
  return members;
}

/**
 * The C file whose one array holds the type's size and each member's offset: the same text for
 * -m32 and -m64. It is compiled, never run, so a host that cannot execute i386 binaries (a kernel
 * without IA32 emulation) still compares layouts.
 */
export function layoutProgram(type: string, members: string[], includes: string[]): string {
  return [
    '#include <stddef.h>',
    ...includes.map((path) => `#include <${path}>`),
    `const unsigned long ${layoutArray}[] = {`,
    `\tsizeof(${type}),`,
    ...members.map((member) => `\toffsetof(${type}, ${member}),`),
    '};',
    '',
  ].join('\n');
}

const layoutArray = 'syscall_lab_layout';

/**
 * The values of the layout array in gcc's assembly: `.long N` (i386) or `.quad N` (x86-64) per
 * element, and `.zero BYTES` where gcc folds zeros.
 */
export function layoutValues(assembly: string): number[] {
  const lines = assembly.split('\n').map((line) => line.trim());
  const start = lines.indexOf(`${layoutArray}:`);
  const values: number[] = [];
  let width = 0;
  for (const line of start < 0 ? [] : lines.slice(start + 1)) {
    const data = /^\.(long|quad)\s+(\d+)$/.exec(line);
    const zeros = /^\.zero\s+(\d+)$/.exec(line);
    if (data) {
      width = data[1] === 'long' ? 4 : 8;
      values.push(Number(data[2]));
    } else if (zeros && width > 0) {
      values.push(...new Array<number>(Number(zeros[1]) / width).fill(0));
    } else break;
  }
  return values;
}

/** Compiles the layout file for both ABIs in `scratch`; `unknown` when it cannot (no gcc-multilib). */
export async function compareLayout(
  type: string,
  headers: Map<string, string>,
  scratch: string,
): Promise<LayoutComparison> {
  const members = membersOf(type, headers);
  if (typeof members === 'string') return { kind: 'unknown', detail: members };
  const dir = join(scratch, type.replace(/\W+/g, '-'));
  for (const [path, text] of headers) {
    mkdirSync(dirname(join(dir, 'include', path)), { recursive: true });
    writeFileSync(join(dir, 'include', path), text);
  }
  const source = join(dir, 'layout.c');
  writeFileSync(source, layoutProgram(type, members, [...headers.keys()]));
  const layouts: string[] = [];
  for (const abi of ['-m32', '-m64']) {
    const built = await runTool('gcc', [abi, '-S', '-O0', '-I', join(dir, 'include'), '-o', '-', source], {
      reject: false,
    });
    if (built.exitCode !== 0) {
      const missing =
        abi === '-m32' && /asm\/\w+\.h: No such file|bits\/libc-header-start\.h|gnu\/stubs-32\.h/.test(built.stderr);
      return {
        kind: 'unknown',
        detail: missing
          ? 'gcc -m32 cannot build here (fix: apt-get install gcc-multilib)'
          : `gcc ${abi} failed on ${type}: ${built.stderr.trim().split('\n').slice(0, 3).join(' ')}`,
      };
    }
    const [size, ...offsets] = layoutValues(built.stdout);
    if (size === undefined || offsets.length !== members.length) {
      return { kind: 'unknown', detail: `gcc ${abi} gave no layout of ${type} (its assembly holds no ${layoutArray})` };
    }
    layouts.push(
      [`sizeof ${String(size)}`, ...members.map((member, i) => `${member} ${String(offsets[i])}`)].join(', '),
    );
  }
  const [i386 = '', x86_64 = ''] = layouts;
  return i386 === x86_64
    ? { kind: 'same', detail: `${type}: ${x86_64} on both` }
    : { kind: 'differs', detail: `${type}: i386 ${i386}; x86-64 ${x86_64}` };
}
