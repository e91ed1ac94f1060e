import { describe, expect, it } from 'vitest';
import { buildKey, buildRecipeVersion, shortHash, type BuildKeyInput } from '../../src/kernel/cache.ts';

const base: BuildKeyInput = {
  sourceIdentity: 'sha256:d4b9e522925d9b1b3fd130c8b7690ef6af4faf118fc4c5e28dfcbb18de3cb234',
  patches: ['--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n', '--- a/y\n+++ b/y\n@@ -1 +1 @@\n-c\n+d\n'],
  makeTargets: ['tinyconfig', 'kvm_guest.config'],
  options: ['CONFIG_9P_FS=y', 'CONFIG_DEBUG_INFO=y'],
  compiler: 'gcc (Debian 12.2.0-14) 12.2.0 / GNU ld (GNU Binutils for Debian) 2.40',
  localversion: '-patched-1234abcd',
};

describe('buildKey', () => {
  it('is 24 hex digits', () => {
    expect(buildKey(base)).toMatch(/^[0-9a-f]{24}$/);
  });

  it('is stable for equal input (a fresh, equal object gives the same key)', () => {
    const copy: BuildKeyInput = JSON.parse(JSON.stringify(base)) as BuildKeyInput;
    expect(buildKey(copy)).toBe(buildKey(base));
    expect(buildKey(base)).toBe(buildKey(base));
  });

  it('records the recipe version', () => {
    expect(buildRecipeVersion).toBeGreaterThanOrEqual(1);
  });

  const changes: [string, Partial<BuildKeyInput>][] = [
    [
      'the source identity',
      { sourceIdentity: 'sha256:5f81362a694f51520bff9faecb73f1cc9bc7bece6fdd10d5c27e348df39d7dc4' },
    ],
    ['a source of another kind', { sourceIdentity: 'apt:linux-source-6.1' }],
    ['one patch text (one character)', { patches: [base.patches[0]!, base.patches[1]!.replace('+d', '+e')] }],
    ['the patch order', { patches: [base.patches[1]!, base.patches[0]!] }],
    ['a patch added', { patches: [...base.patches, '--- a/z\n+++ b/z\n'] }],
    ['no patches (stock)', { patches: [] }],
    ['how the patch texts split', { patches: [base.patches[0]! + base.patches[1]!] }],
    ['a config option', { options: ['CONFIG_9P_FS=y', '# CONFIG_DEBUG_INFO is not set'] }],
    ['a config option dropped', { options: ['CONFIG_9P_FS=y'] }],
    ['the base config', { makeTargets: ['tinyconfig', 'kvmconfig'] }],
    ['the compiler', { compiler: 'gcc (Debian 12.2.0-14) 12.2.1 / GNU ld (GNU Binutils for Debian) 2.40' }],
    ['the linker', { compiler: 'gcc (Debian 12.2.0-14) 12.2.0 / GNU ld (GNU Binutils for Debian) 2.41' }],
    ['the localversion', { localversion: '-stock' }],
  ];

  it.each(changes)('changes with %s', (_what, change) => {
    expect(buildKey({ ...base, ...change })).not.toBe(buildKey(base));
  });

  it('gives distinct keys for all of those variations', () => {
    const keys = [base, ...changes.map(([, change]) => ({ ...base, ...change }))].map(buildKey);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('shortHash', () => {
  it('is 8 hex digits, stable, and sensitive to content, order and boundaries', () => {
    const hash = shortHash(['a', 'b']);
    expect(hash).toMatch(/^[0-9a-f]{8}$/);
    expect(shortHash(['a', 'b'])).toBe(hash);
    expect(shortHash(['b', 'a'])).not.toBe(hash);
    expect(shortHash(['ab'])).not.toBe(hash);
    expect(shortHash(['a', 'c'])).not.toBe(hash);
  });
});
