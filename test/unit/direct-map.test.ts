import { describe, expect, it } from 'vitest';
import { directMapBase } from '../../src/checks/direct-map.ts';

describe('directMapBase (4-level paging, nokaslr)', () => {
  it.each([
    ['6.1.192', '0xffff888000000000'],
    ['6.1', '0xffff888000000000'],
    ['5.4.0', '0xffff888000000000'],
    ['4.20', '0xffff888000000000'],
    ['4.20.17', '0xffff888000000000'],
    ['10.0.1', '0xffff888000000000'],
    // d52888aa2753 went to the stable trees: 4.19.5 and 4.14.84.
    ['4.19.5', '0xffff888000000000'],
    ['4.19.4', '0xffff880000000000'],
    ['4.19', '0xffff880000000000'],
    ['4.14.84', '0xffff888000000000'],
    ['4.14.83', '0xffff880000000000'],
    ['4.18.20', '0xffff880000000000'],
    ['4.9.337', '0xffff880000000000'],
    ['3.9.6', '0xffff880000000000'],
    ['3.9.11', '0xffff880000000000'],
    ['2.6.27', '0xffff880000000000'],
    ['2.6.26.8', '0xffff810000000000'],
  ])('%s: %s', (version, base) => {
    expect(directMapBase(version)).toBe(base);
  });

  it('throws on a version it cannot read', () => {
    expect(() => directMapBase('linux')).toThrow(/cannot tell the direct-map base/);
  });
});
