import { describe, expect, it } from 'vitest';
import textWidth from '../../src/text-width.ts';

describe('textWidth (string-width in the bundle)', () => {
  it('counts ASCII by character and colours not at all', () => {
    expect(textWidth('syscall-lab run')).toBe(15);
    expect(textWidth('\u001b[31mFAIL\u001b[39m')).toBe(4);
    expect(textWidth('')).toBe(0);
    expect(textWidth(undefined)).toBe(0);
  });

  it('counts other text by grapheme, control characters not at all', () => {
    expect(textWidth('naïve')).toBe(5);
    expect(textWidth('e\u0301')).toBe(1);
    expect(textWidth('a\u0007b')).toBe(2);
  });
});
