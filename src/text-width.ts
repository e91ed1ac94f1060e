/**
 * The width of a cell of yargs' help, in columns: the `string-width` that cliui and wrap-ansi
 * import is replaced by this one in the bundle (esbuild --alias, package.json "build"). The real
 * one creates an Intl.Segmenter when its module loads, which loads ICU's segmentation data: 0.1 s
 * of every start of the CLI, a third of `--help`. The harness's help is ASCII, measured here
 * without it; other text is measured by grapheme (a wide character counts one column too few,
 * which only shifts a help column).
 */
// ANSI SGR and other CSI sequences (colours), which take no column.
const csi = new RegExp(String.raw`\u001b\[[0-9;?]*[ -/]*[@-~]`, 'g');
const printableAscii = /^[\x20-\x7e]*$/;
let segmenter: Intl.Segmenter | undefined;

export default function textWidth(text: unknown): number {
  if (typeof text !== 'string' || text === '') return 0;
  const plain = text.replace(csi, '');
  if (printableAscii.test(plain)) return plain.length;
  segmenter ??= new Intl.Segmenter();
  let width = 0;
  for (const { segment } of segmenter.segment(plain)) {
    const codePoint = segment.codePointAt(0) ?? 0;
    // Control characters take no column.
    if (codePoint > 0x1f && (codePoint < 0x7f || codePoint > 0x9f)) width++;
  }
  return width;
}
