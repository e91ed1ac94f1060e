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
 */
export async function decodeCrashes(
  results: CheckResult[],
  buildDir: string | undefined,
  series: SeriesLines,
): Promise<CheckResult[]> {
  const debug = buildDir === undefined ? undefined : debugArtifacts(buildDir);
  return Promise.all(
    results.map(async (result) => {
      if (framesOf(result.details).length === 0) return result;
      if (!debug) return { ...result, details: `${result.details}\n${decodeHint}` };
      const lines = result.details.split('\n');
      for (const frame of await decodeFrames(result.details, debug)) {
        lines[frame.index] = `${lines[frame.index] ?? ''}${where(frame, series)}`;
      }
      return { ...result, details: lines.join('\n') };
    }),
  );
}
