/**
 * The x86-64 kernel's direct-map base (__PAGE_OFFSET) with 4-level paging and KASLR off
 * (`nokaslr no5lvl`): where the probe finds a kernel alias of a page it owns.
 *
 * Commit d52888aa2753 ("x86/mm: Move LDT remap out of KASLR region on 5-level paging") moved
 * __PAGE_OFFSET_BASE(_L4) in arch/x86/include/asm/page_64_types.h from 0xffff880000000000 to
 * 0xffff888000000000 in 4.20, and went to the stable trees as well: 4.19.5 and the 4.14 stable
 * review of 2018-11-26 (4.14.84). Before 2.6.27 the base was 0xffff810000000000.
 *
 * A wrong answer cannot fail a correct syscall (access_ok rejects every kernel address); it
 * only makes the probe miss the alias, so a store without access_ok would go unnoticed.
 */
export const directMapSince420 = '0xffff888000000000';
export const directMapBefore420 = '0xffff880000000000';
export const directMapBefore2627 = '0xffff810000000000';

/** The direct-map base for a kernel version ("6.1.192", "3.9.6", "4.19"). */
export function directMapBase(version: string): string {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!match) throw new Error(`cannot tell the direct-map base of kernel version "${version}"`);
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
  const atLeast = (a: number, b: number, c: number): boolean =>
    major !== a ? major > a : minor !== b ? minor > b : patch >= c;
  if (atLeast(4, 20, 0)) return directMapSince420;
  // The stable backports of d52888aa2753.
  if ((major === 4 && minor === 19 && patch >= 5) || (major === 4 && minor === 14 && patch >= 84))
    return directMapSince420;
  return atLeast(2, 6, 27) ? directMapBefore420 : directMapBefore2627;
}
