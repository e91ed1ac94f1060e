import { decodeFrames, debugArtifacts, framesOf, type DecodedFrame } from '../kernel/decode-trace.ts';
import type { SeriesLines } from '../kernel/series-lines.ts';
import type { CheckResult } from '../report/model.ts';

/** Said once under each undecoded trace: how to get its file:line. */
export const decodeHint =
  'file:line for these frames: run again with --debug-info (a build with debug info, cached apart from the default one)';

function where(frame: DecodedFrame, series: SeriesLines): string {
  const [innermost, ...callers] = frame.locations;
  if (!innermost) return '';
  const place = [innermost, ...callers].map(({ file, line }) => `${file}:${line}`).join(', inlined in ');
  const origin = frame.locations
    .map((location) => series.originOf(location.file, location.line))
    .find((found) => found !== undefined);
  return `  at ${place} (${origin ? `${origin.patch}, hunk ${origin.hunk}` : 'not changed by the series'})`;
}

/**
 * The crash excerpts of a boot's results with file:line on every frame, and the patch and hunk
 * that wrote the line when the series did ("not changed by the series" otherwise). The build's
 * vmlinux must have debug info; without it, each trace gets the hint that says how to decode it.
 * Every excerpt of the boot is decoded in one go: one run of nm or of the tree's script.
 */
export async function decodeCrashes(
  results: CheckResult[],
  buildDir: string | undefined,
  series: SeriesLines,
): Promise<CheckResult[]> {
  const traced = results.filter((result) => framesOf(result.details).length > 0);
  if (traced.length === 0) return results;
  const debug = buildDir === undefined ? undefined : debugArtifacts(buildDir);
  if (!debug) {
    return results.map((result) =>
      traced.includes(result) ? { ...result, details: `${result.details}\n${decodeHint}` } : result,
    );
  }
  // The excerpts one after the other: a frame's line index, less its excerpt's first line, is its line there.
  const lines = traced.map((result) => result.details.split('\n'));
  const firsts = lines.map((_, i) => lines.slice(0, i).reduce((count, excerpt) => count + excerpt.length, 0));
  const frames = await decodeFrames(lines.map((excerpt) => excerpt.join('\n')).join('\n'), debug);
  return results.map((result) => {
    const at = traced.indexOf(result);
    const excerpt = lines[at];
    if (!excerpt) return result;
    const first = firsts[at] ?? 0;
    const annotated = [...excerpt];
    for (const frame of frames) {
      const index = frame.index - first;
      if (index >= 0 && index < excerpt.length) annotated[index] = `${excerpt[index] ?? ''}${where(frame, series)}`;
    }
    return { ...result, details: annotated.join('\n') };
  });
}
