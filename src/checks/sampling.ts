/** The sampling rule of the count checks: 5 samples, pass when at least 3 are exactly equal. */
export const samples = 5;
export const samplesNeeded = 3;

export interface Sample {
  syscall: number | null;
  reference: number | null;
  /** The syscall's return value; any non-negative value is success. */
  ret: number | null;
}

export function judgeSamples(samplesTaken: Sample[]): { pass: boolean; equal: number; table: string } {
  const equal = samplesTaken.filter(
    (s) => s.ret !== null && s.ret >= 0 && s.syscall !== null && s.syscall === s.reference,
  ).length;
  const table = samplesTaken
    .map(
      (s, i) =>
        `sample ${i + 1}: syscall ${s.syscall ?? 'none'} (ret ${s.ret ?? 'none'}), reference ${s.reference ?? 'none'}${s.syscall === s.reference && s.syscall !== null ? '' : '  <- differs'}`,
    )
    .join('\n');
  return { pass: samplesTaken.length === samples && equal >= samplesNeeded, equal, table };
}
