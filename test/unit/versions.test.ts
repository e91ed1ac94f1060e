import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors.ts';
import {
  compareVersions,
  isVersionString,
  kernelOrgUrl,
  parseVersion,
  parseVersionsTable,
  pinnedVersions,
  versionFromMakefile,
} from '../../src/kernel/versions.ts';

describe('parseVersion / isVersionString', () => {
  it.each([
    ['6.1', { major: 6, minor: 1, patch: null, extra: '' }],
    ['3.9.11', { major: 3, minor: 9, patch: 11, extra: '' }],
    ['6.12.16', { major: 6, minor: 12, patch: 16, extra: '' }],
    ['6.13-rc2', { major: 6, minor: 13, patch: null, extra: '-rc2' }],
    // Well-shaped although not pinned: refusing it is resolveSource's job.
    ['9.99', { major: 9, minor: 99, patch: null, extra: '' }],
  ])('accepts %s', (text, expected) => {
    expect(isVersionString(text)).toBe(true);
    expect(parseVersion(text)).toEqual(expected);
  });

  it.each(['latest!', '6', '6.1.x', '', 'v6.1', '6.1.', '6..1', '6.1.2.3', ' 6.1', '6.1 ', '6.1-rc', 'linux-6.1'])(
    'rejects %j',
    (text) => {
      expect(isVersionString(text)).toBe(false);
      expect(() => parseVersion(text)).toThrow(BadInputError);
    },
  );

  it('says what a version looks like, with exit code 2', () => {
    let error: unknown;
    try {
      parseVersion('latest!');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).exitCode).toBe(2);
    expect((error as BadInputError).message).toContain('"latest!" is not a kernel version');
    expect((error as BadInputError).fix).toMatch(/6\.1 or 3\.9\.11/);
  });
});

describe('compareVersions', () => {
  it('compares numerically, not as text', () => {
    expect(compareVersions('6.12.16', '6.2')).toBeGreaterThan(0);
    expect(compareVersions('6.2', '6.12.16')).toBeLessThan(0);
    expect(compareVersions('3.9.11', '3.9.6')).toBeGreaterThan(0);
    expect(compareVersions('4.19.325', '5.4.290')).toBeLessThan(0);
  });

  it('counts a missing patch level as 0', () => {
    expect(compareVersions('6.1', '6.1.0')).toBe(0);
    expect(compareVersions('6.1', '6.1.1')).toBeLessThan(0);
    expect(compareVersions('6.1.73', '6.1')).toBeGreaterThan(0);
  });

  it('sorts a list of versions', () => {
    const sorted = ['6.12.16', '3.9.11', '6.1.129', '6.1', '5.10.234', '6.1.73', '4.19.325'].sort(compareVersions);
    expect(sorted).toEqual(['3.9.11', '4.19.325', '5.10.234', '6.1', '6.1.73', '6.1.129', '6.12.16']);
  });

  it('throws on something that is not a version', () => {
    expect(() => compareVersions('6.1', 'latest')).toThrow(BadInputError);
  });
});

describe('versionFromMakefile', () => {
  it('reads VERSION/PATCHLEVEL/SUBLEVEL', () => {
    expect(versionFromMakefile('VERSION = 3\nPATCHLEVEL = 9\nSUBLEVEL = 6\nEXTRAVERSION =')).toBe('3.9.6');
    expect(versionFromMakefile('VERSION = 3\nPATCHLEVEL = 9\nSUBLEVEL = 6\nEXTRAVERSION =\n')).toBe('3.9.6');
  });

  it('leaves out SUBLEVEL 0, as `make kernelversion` does', () => {
    expect(
      versionFromMakefile(
        '# SPDX-License-Identifier: GPL-2.0\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\nEXTRAVERSION =\n',
      ),
    ).toBe('6.1');
  });

  it('appends EXTRAVERSION', () => {
    expect(
      versionFromMakefile(
        'VERSION = 6\nPATCHLEVEL = 13\nSUBLEVEL = 0\nEXTRAVERSION = -rc2\nNAME = Baby Opossum Posse\n',
      ),
    ).toBe('6.13-rc2');
  });

  it('does not confuse PATCHLEVEL or SUBLEVEL with VERSION, nor EXTRAVERSION with VERSION', () => {
    const makefile = 'EXTRAVERSION = -foo\nSUBLEVEL = 11\nPATCHLEVEL = 9\nVERSION = 3\n';
    expect(versionFromMakefile(makefile)).toBe('3.9.11-foo');
  });

  it('refuses a Makefile without VERSION/PATCHLEVEL', () => {
    expect(() => versionFromMakefile('all:\n\techo hi\n')).toThrow(BadInputError);
    expect(() => versionFromMakefile('VERSION = 6\n')).toThrow(/not a kernel tree/);
  });

  // An empty "EXTRAVERSION =" must not swallow the "NAME = ..." line after it.
  it('reads a real Makefile head (EXTRAVERSION empty, NAME on the next line)', () => {
    const head = 'VERSION = 3\nPATCHLEVEL = 9\nSUBLEVEL = 6\nEXTRAVERSION =\nNAME = Unicycling Gorilla\n';
    expect(versionFromMakefile(head)).toBe('3.9.6');
  });
});

describe('the pinned versions table', () => {
  it('pins 3.9.11 by sha256 on kernel.org', () => {
    const row = pinnedVersions().find((r) => r.version === '3.9.11');
    expect(row).toEqual({
      version: '3.9.11',
      sha256: 'd4b9e522925d9b1b3fd130c8b7690ef6af4faf118fc4c5e28dfcbb18de3cb234',
      url: 'https://cdn.kernel.org/pub/linux/kernel/v3.x/linux-3.9.11.tar.xz',
    });
  });

  it.each([
    ['5.10', 'bullseye,bullseye-security'],
    ['6.1', 'bookworm,bookworm-security'],
    ['6.12', 'trixie,trixie-security'],
    ['7.2', 'sid'],
  ])('takes %s from Debian %s, package linux-source-%s', (version, suite) => {
    const row = pinnedVersions().find((r) => r.version === version);
    expect(row).toEqual({
      version,
      sha256: null,
      url: `debian:${suite}:linux-source-${version}`,
      debian: { suite, package: `linux-source-${version}` },
    });
  });

  it('has well-formed rows: valid versions, unique, 64-hex checksums, URLs matching kernelOrgUrl', () => {
    const rows = pinnedVersions();
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(new Set(rows.map((r) => r.version)).size).toBe(rows.length);
    for (const row of rows) {
      expect(isVersionString(row.version), row.version).toBe(true);
      if (row.debian) {
        expect(row.sha256).toBeNull();
      } else {
        expect(row.sha256, row.version).toMatch(/^[0-9a-f]{64}$/);
        expect(row.url).toBe(kernelOrgUrl(row.version));
      }
    }
    expect(rows.some((r) => r.version === '9.99')).toBe(false);
  });

  it('parseVersionsTable skips comments and blank lines and rejects short lines', () => {
    const text = '# comment\n\n6.1\t-\tdebian:bookworm:pkg\n3.9.11\tabc\thttps://x/linux-3.9.11.tar.xz\n';
    expect(parseVersionsTable(text)).toEqual([
      { version: '6.1', sha256: null, url: 'debian:bookworm:pkg', debian: { suite: 'bookworm', package: 'pkg' } },
      { version: '3.9.11', sha256: 'abc', url: 'https://x/linux-3.9.11.tar.xz' },
    ]);
    expect(() => parseVersionsTable('6.1\t-\n')).toThrow(/malformed line/);
  });
});

describe('kernelOrgUrl', () => {
  it('uses the vN.x folder of the major version', () => {
    expect(kernelOrgUrl('3.9.11')).toBe('https://cdn.kernel.org/pub/linux/kernel/v3.x/linux-3.9.11.tar.xz');
    expect(kernelOrgUrl('6.12.16')).toBe('https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.12.16.tar.xz');
    expect(kernelOrgUrl('4.19.325')).toBe('https://cdn.kernel.org/pub/linux/kernel/v4.x/linux-4.19.325.tar.xz');
  });

  it('takes a mirror', () => {
    expect(kernelOrgUrl('5.4.290', 'file:///srv/mirror')).toBe('file:///srv/mirror/v5.x/linux-5.4.290.tar.xz');
  });

  it('refuses a non-version', () => {
    expect(() => kernelOrgUrl('latest')).toThrow(BadInputError);
  });
});
