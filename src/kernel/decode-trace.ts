import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { runTool } from '../spawn.ts';

/**
 * Stack frames of a crash excerpt turned into file:line, the way kernel developers do it: the
 * tree's own scripts/decode_stacktrace.sh (3.16+, kept with the build by upgrade-kernel.sh), else
 * addr2line on vmlinux, frame by frame. Both need a vmlinux with DWARF debug info (--debug-info).
 */

/** What a build keeps for decoding: its vmlinux, and the tree's decode_stacktrace.sh if it had one. */
export interface DebugArtifacts {
  vmlinux: string;
  decodeScript?: string;
}

export interface SourceLocation {
  /** Relative to the tree's top (mysyscalls/callcount.c), as the series' patches name files. */
  file: string;
  line: number;
}

export interface DecodedFrame {
  /** Index of the frame's line in the text decoded. */
  index: number;
  /** The frame as printed: `__x64_sys_callcount+0x1c/0x30`. */
  frame: string;
  /** Innermost first: the inlined function's line, then each caller it was inlined into. */
  locations: SourceLocation[];
}

/**
 * A frame: `symbol+0xOFFSET/0xSIZE`, on a RIP line ("RIP: 0010:sym+0x1c/0x30"), a Call Trace line
 * (" sym+0x1c/0x30", " ? sym+0x..."), or after 3.9's address ("[<ffffffff81...>] sym+0x1c/0x30").
 * Frames of modules (" [name]") are not decoded: these kernels have none.
 */
const FRAME = /(?:^|[\s:])([A-Za-z_.$][\w.$]*)\+0x([0-9a-f]+)\/0x[0-9a-f]+(?!\S*\s*\[\w+\])/;

/** The build's debug artefacts, when its vmlinux has debug info (its .config says so); else undefined. */
export function debugArtifacts(buildDir: string): DebugArtifacts | undefined {
  const config = join(buildDir, '.config');
  const vmlinux = join(buildDir, 'vmlinux');
  if (!existsSync(config) || !existsSync(vmlinux)) return undefined;
  if (!/^CONFIG_DEBUG_INFO=y$/m.test(readFileSync(config, 'utf8'))) return undefined;
  const script = join(buildDir, 'scripts', 'decode_stacktrace.sh');
  return { vmlinux, ...(existsSync(script) && { decodeScript: script }) };
}

/** A frame found in a text, not decoded yet: its line, as printed, its symbol and offset. */
interface FoundFrame {
  index: number;
  frame: string;
  symbol: string;
  offset: bigint;
}

/** The frames of `text` (one per line at most), not decoded yet. */
export function framesOf(text: string): FoundFrame[] {
  return text.split('\n').flatMap((line, index) => {
    const match = FRAME.exec(line);
    if (!match?.[1] || !match[2]) return [];
    const frame = `${match[1]}+0x${match[2]}`;
    const printed = line.slice(line.indexOf(frame)).split(/\s/)[0] ?? frame;
    return [{ index, frame: printed, symbol: match[1], offset: BigInt(`0x${match[2]}`) }];
  });
}

/** The tree's top as the debug info names it: the folder above init/main.c (where kernel_init is). */
function basePathOf(locations: SourceLocation[]): string | undefined {
  const main = locations.find((location) => location.file.endsWith('/init/main.c'));
  return main ? main.file.slice(0, -'/init/main.c'.length) : undefined;
}

function relative(location: SourceLocation, base: string | undefined): SourceLocation {
  const file = base && location.file.startsWith(`${base}/`) ? location.file.slice(base.length + 1) : location.file;
  return { file, line: location.line };
}

/** `path:line` tokens of addr2line's or the script's output ("??:0" and "??:?" are no location). */
function locationsIn(text: string): SourceLocation[] {
  return (
    [...text.matchAll(/([^\s()]+):(\d+)/g)]
      .filter((match) => match[1] !== '??' && Number(match[2]) > 0)
      // "mysyscalls/../include/x.h", "./include/x.h": as the series' patches name the file.
      .map((match) => ({ file: posix.normalize(match[1] ?? ''), line: Number(match[2]) }))
  );
}

/** Through the tree's decode_stacktrace.sh: it prints each frame line back with "(file:line ...)" appended. */
async function viaScript(
  frames: FoundFrame[],
  lines: string[],
  debug: Required<DebugArtifacts>,
): Promise<DecodedFrame[]> {
  // One line per frame, each ended: the script's `while read` drops a last line without its newline.
  const input = frames.map((frame) => `${lines[frame.index] ?? ''}\n`).join('');
  const result = await runTool('bash', [debug.decodeScript, debug.vmlinux], { input, reject: false });
  const output = result.stdout.split('\n');
  return frames.map((frame, i) => {
    // The script appends "(file:line file:line)" after the symbol: only that group is read.
    const decoded = /\s\(([^()]*(?:\(discriminator \d+\)[^()]*)*)\)\s*(?:\[\w+\])?\s*$/.exec(output[i] ?? '');
    return { index: frame.index, frame: frame.frame, locations: locationsIn(decoded?.[1] ?? '') };
  });
}

/** Without the script (before 3.16): the symbol's address from nm, plus the offset, through `addr2line -i`. */
async function viaAddr2line(frames: FoundFrame[], vmlinux: string): Promise<DecodedFrame[]> {
  const nm = await runTool('nm', [vmlinux], {});
  const symbols = new Map<string, bigint>();
  for (const line of nm.stdout.split('\n')) {
    const [address, type, name] = line.split(' ');
    if (address && name && /^[tTwW]$/.test(type ?? '') && !symbols.has(name)) symbols.set(name, BigInt(`0x${address}`));
  }
  const wanted = ['kernel_init', ...frames.map((frame) => frame.symbol)];
  const addresses = wanted.map((symbol, i) => {
    const base = symbols.get(symbol);
    return base === undefined ? undefined : base + (i === 0 ? 0n : (frames[i - 1]?.offset ?? 0n));
  });
  const known = addresses.filter((address): address is bigint => address !== undefined);
  const result = await runTool(
    'addr2line',
    ['-e', vmlinux, '-i', '-a', ...known.map((a) => `0x${a.toString(16)}`)],
    {},
  );
  // One block per address: its "0x..." line, then one "file:line" per inlining level.
  const blocks = new Map<bigint, SourceLocation[]>();
  let current: SourceLocation[] = [];
  for (const line of result.stdout.split('\n')) {
    if (/^0x[0-9a-f]+$/.test(line)) blocks.set(BigInt(line), (current = []));
    else current.push(...locationsIn(line));
  }
  const located = (address: bigint | undefined): SourceLocation[] =>
    address === undefined ? [] : (blocks.get(address) ?? []);
  const base = basePathOf(located(addresses[0]));
  return frames.map((frame, i) => ({
    index: frame.index,
    frame: frame.frame,
    locations: located(addresses[i + 1]).map((location) => relative(location, base)),
  }));
}

/** Each frame of `text` with its source locations (none where the symbol is unknown). */
export async function decodeFrames(text: string, debug: DebugArtifacts): Promise<DecodedFrame[]> {
  const frames = framesOf(text);
  if (frames.length === 0) return [];
  const { decodeScript } = debug;
  return decodeScript
    ? viaScript(frames, text.split('\n'), { ...debug, decodeScript })
    : viaAddr2line(frames, debug.vmlinux);
}
