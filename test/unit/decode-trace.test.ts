import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrames, debugArtifacts, framesOf } from '../../src/kernel/decode-trace.ts';
import { SeriesLines } from '../../src/kernel/series-lines.ts';
import { decodeCrashes, decodeHint } from '../../src/stages/decode-crashes.ts';
import type { CheckResult } from '../../src/report/model.ts';
import { debianTarball, extractMembers, noDebianTarball } from './support/kselftest-files.ts';

const fixture = (name: string): string => readFileSync(join('test', 'fixtures', 'console', name), 'utf8');

describe('SeriesLines: the lines a series wrote, where they are in the patched tree', () => {
  const first = [
    '--- a/kernel/demo.c',
    '+++ b/kernel/demo.c',
    '@@ -10,3 +10,5 @@',
    ' a',
    '+first one',
    '+first two',
    ' b',
    ' c',
    '--- /dev/null',
    '+++ b/mysyscalls/new.c',
    '@@ -0,0 +1,2 @@',
    '+int x;',
    '+int y;',
    '',
  ].join('\n');
  const second = [
    '--- a/kernel/demo.c',
    '+++ b/kernel/demo.c',
    '@@ -2,2 +2,4 @@',
    ' p',
    '+second one',
    '+second two',
    ' q',
    '@@ -11,3 +13,2 @@',
    ' first one',
    '-first two',
    ' b',
    '',
  ].join('\n');
  const lines = SeriesLines.of([
    { name: '0001-first.patch', text: first },
    { name: '0002-second.patch', text: second },
  ]);

  it('names the patch and hunk of an added line, moved by the later patches', () => {
    // "first one" was line 11; the second patch adds two lines above it.
    expect(lines.originOf('kernel/demo.c', 13)).toEqual({ patch: '0001-first.patch', hunk: 1 });
    expect(lines.originOf('kernel/demo.c', 3)).toEqual({ patch: '0002-second.patch', hunk: 1 });
    expect(lines.originOf('kernel/demo.c', 4)).toEqual({ patch: '0002-second.patch', hunk: 1 });
    // A new file's lines are its second hunk (hunks counted over the patch's files).
    expect(lines.originOf('mysyscalls/new.c', 2)).toEqual({ patch: '0001-first.patch', hunk: 2 });
  });

  it('forgets a line a later patch removed, and never names context or unchanged lines', () => {
    // "first two" (line 12 after the first patch, 14 after the second's first hunk) was removed.
    expect(lines.originOf('kernel/demo.c', 14)).toBeUndefined();
    expect(lines.originOf('kernel/demo.c', 2)).toBeUndefined();
    expect(lines.originOf('kernel/demo.c', 12)).toBeUndefined();
    expect(lines.originOf('kernel/other.c', 1)).toBeUndefined();
  });

  it('forgets a file a later patch deletes', () => {
    const deleted = SeriesLines.of([
      { name: '0001-first.patch', text: first },
      { name: '0002-drop.patch', text: '--- a/mysyscalls/new.c\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-int x;\n-int y;\n' },
    ]);
    expect(deleted.originOf('mysyscalls/new.c', 1)).toBeUndefined();
  });
});

describe('framesOf: the frames of a crash excerpt', () => {
  it('finds the RIP and Call Trace frames of a 6.1 oops, "?" frames too', () => {
    const frames = framesOf(
      [
        'BUG: kernel NULL pointer dereference, address: 0000000000000000',
        'RIP: 0010:__x64_sys_callcount+0x1c/0x30',
        'Call Trace:',
        ' <TASK>',
        ' ? show_regs+0x5c/0x70',
        ' do_syscall_64+0x3b/0x90',
        ' entry_SYSCALL_64_after_hwframe+0x63/0xcd',
        'RIP: 0033:0x7f3a1c2e1f59',
      ].join('\n'),
    );
    expect(frames.map((frame) => [frame.index, frame.frame])).toEqual([
      [1, '__x64_sys_callcount+0x1c/0x30'],
      [4, 'show_regs+0x5c/0x70'],
      [5, 'do_syscall_64+0x3b/0x90'],
      [6, 'entry_SYSCALL_64_after_hwframe+0x63/0xcd'],
    ]);
    expect(frames[0]?.offset).toBe(0x1cn);
  });

  it("finds 3.9's frames after their addresses, and skips a module's", () => {
    const frames = framesOf(fixture('3.9-real-page-fault.log'));
    expect(frames.map((frame) => frame.frame)).toContain('sys_callcount+0x1c/0x70');
    expect(frames.map((frame) => frame.frame)).toContain('callcount_crash+0x9a/0xb0');
    expect(framesOf(' my_func+0x10/0x20 [mymodule]')).toEqual([]);
  });
});

/**
 * A small "vmlinux": a program with DWARF whose files sit where a kernel tree's would
 * (init/main.c holds kernel_init, which both decoders use to find the tree's top), and a
 * syscall-like function with an always-inlined helper from a header.
 */
describe('decoding frames with debug info', () => {
  let top: string;
  let cleanup: () => Promise<void>;
  let storeOffset: number;
  let buildDir: string;
  const demoC = [
    '#include "../include/demo.h"',
    '',
    'int sys_demo(int *p)',
    '{',
    '\treturn demo_store(p, 42);',
    '}',
    '',
  ];
  const demoH = [
    'static inline __attribute__((always_inline)) int demo_store(int *p, int v)',
    '{',
    '\t*p = v;',
    '\treturn 0;',
    '}',
    '',
  ];

  beforeAll(async () => {
    ({ path: top, cleanup } = await dir({ unsafeCleanup: true }));
    for (const folder of ['init', 'mysyscalls', 'include', 'build']) mkdirSync(join(top, folder));
    writeFileSync(join(top, 'mysyscalls', 'demo.c'), demoC.join('\n'));
    writeFileSync(join(top, 'include', 'demo.h'), demoH.join('\n'));
    writeFileSync(
      join(top, 'init', 'main.c'),
      'int sys_demo(int *p);\nint kernel_init(void)\n{\n\tint x;\n\treturn sys_demo(&x);\n}\nint main(void) { return kernel_init(); }\n',
    );
    buildDir = join(top, 'build');
    await execa('gcc', ['-g', '-O0', '-o', join(buildDir, 'vmlinux'), 'init/main.c', 'mysyscalls/demo.c'], {
      cwd: top,
    });
    writeFileSync(join(buildDir, '.config'), 'CONFIG_DEBUG_INFO=y\n');
    // The first offset in sys_demo that addr2line places at the helper's store (demo.h:3).
    const { stdout } = await execa('nm', [join(buildDir, 'vmlinux')]);
    const base = Number.parseInt(/^([0-9a-f]+) T sys_demo$/m.exec(stdout)?.[1] ?? '', 16);
    for (storeOffset = 0; storeOffset < 64; storeOffset++) {
      const where = await execa('addr2line', [
        '-i',
        '-e',
        join(buildDir, 'vmlinux'),
        (base + storeOffset).toString(16),
      ]);
      if (where.stdout.split('\n')[0]?.endsWith('include/demo.h:3')) break;
    }
    expect(storeOffset).toBeLessThan(64);
  });
  afterAll(() => cleanup());

  const excerpt = (): string =>
    [
      'BUG: unable to handle page fault for address: 00007ffd00000000',
      `RIP: 0010:sys_demo+0x${storeOffset.toString(16)}/0x30`,
      'Call Trace:',
      ' kernel_init+0x1a/0x40',
      ' no_such_symbol+0x10/0x20',
      // A known frame last: the script reads lines, and a last one must not be lost.
      ' ? sys_demo+0x0/0x30',
    ].join('\n');

  it('addr2line (kernels before 3.16): the inlined line first, then the line it was inlined in, relative to the tree', async () => {
    const frames = await decodeFrames(excerpt(), { vmlinux: join(buildDir, 'vmlinux') });
    expect(frames[0]).toMatchObject({
      index: 1,
      locations: [
        { file: 'include/demo.h', line: 3 },
        { file: 'mysyscalls/demo.c', line: 5 },
      ],
    });
    expect(frames[1]?.locations[0]?.file).toBe('init/main.c');
    expect(frames[2]).toMatchObject({ index: 4, locations: [] });
    expect(frames[3]).toMatchObject({ index: 5, locations: [{ file: 'mysyscalls/demo.c', line: 4 }] });
  });

  it("the tree's scripts/decode_stacktrace.sh (6.1's, from the cached Debian source) gives the same places", async (context) => {
    const tarball = debianTarball();
    if (!tarball) context.skip(noDebianTarball);
    const [script = ''] = await extractMembers(tarball ?? '', join(top, 'linux'), ['scripts/decode_stacktrace.sh']);
    const viaScript = await decodeFrames(excerpt(), { vmlinux: join(buildDir, 'vmlinux'), decodeScript: script });
    const viaAddr2line = await decodeFrames(excerpt(), { vmlinux: join(buildDir, 'vmlinux') });
    expect(viaScript).toEqual(viaAddr2line);
  });

  it('annotates each frame of a crash with file:line and the patch and hunk that wrote it', async () => {
    const patch = [
      '--- /dev/null',
      '+++ b/mysyscalls/demo.c',
      `@@ -0,0 +1,${demoC.length - 1} @@`,
      ...demoC.slice(0, -1).map((line) => `+${line}`),
      '',
    ].join('\n');
    const series = SeriesLines.of([{ name: '0001-add-demo.patch', text: patch }]);
    const crash: CheckResult = {
      name: 'callcount-increments',
      status: 'fail',
      expected: '',
      actual: '',
      details: excerpt(),
    };
    const clean: CheckResult = { ...crash, name: 'enosys-control', details: 'no oops here' };
    // A second excerpt of the same boot, two lines longer at its top: decoded in the same go, each
    // frame annotated on its own line of its own excerpt.
    const later: CheckResult = {
      ...crash,
      name: 'bad-pointer-efault',
      details: `BUG: again\nsecond line\n${excerpt()}`,
    };
    const [decoded, untouched, decodedLater] = await decodeCrashes([crash, clean, later], buildDir, series);
    const lines = decoded?.details.split('\n') ?? [];
    const rip = `RIP: 0010:sys_demo+0x${storeOffset.toString(16)}/0x30  at include/demo.h:3, inlined in mysyscalls/demo.c:5 (0001-add-demo.patch, hunk 1)`;
    expect(lines[1]).toBe(rip);
    expect(lines[3]).toMatch(/^ kernel_init\+0x1a\/0x40 {2}at init\/main\.c:\d+ \(not changed by the series\)$/);
    expect(lines[4]).toBe(' no_such_symbol+0x10/0x20');
    expect(untouched).toBe(clean);
    const laterLines = decodedLater?.details.split('\n') ?? [];
    expect(laterLines.slice(0, 2)).toEqual(['BUG: again', 'second line']);
    expect(laterLines[3]).toBe(rip);
    expect(laterLines.slice(2)).toEqual(lines);
  });

  it('without debug info, says how to get file:line instead', async () => {
    const plain = join(top, 'plain');
    mkdirSync(plain);
    writeFileSync(join(plain, '.config'), '# CONFIG_DEBUG_INFO is not set\n');
    writeFileSync(join(plain, 'vmlinux'), '');
    expect(debugArtifacts(plain)).toBeUndefined();
    const crash: CheckResult = {
      name: 'bad-pointer-efault',
      status: 'fail',
      expected: '',
      actual: '',
      details: excerpt(),
    };
    const [decoded] = await decodeCrashes([crash], plain, SeriesLines.of([]));
    expect(decoded?.details).toBe(`${excerpt()}\n${decodeHint}`);
  });
});
