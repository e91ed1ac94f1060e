import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildFailureEvidence, findCompileErrors } from '../../src/kernel/compile-errors.ts';
import { makeFakeBuild, startFakeBuild } from './support/fake-build.ts';
import { useTempDirs } from './support/temp.ts';

// Build logs in test/fixtures/build-logs/ (see its README.md): real gcc 12 and GNU ld 2.40 output
// around real kbuild lines of a 6.1 patched build.
const fixtures = fileURLToPath(new URL('../fixtures/build-logs/', import.meta.url));
const log = (name: string): string => readFileSync(join(fixtures, `${name}.log`), 'utf8');
/** The last `n` lines, as build.ts keeps them while the build runs. */
const tailOf = (text: string, n = 40): string[] => text.replace(/\n$/, '').split('\n').slice(-n);
const errorLines = (text: string): string[][] => findCompileErrors(text).shown.map((error) => error.lines);

describe('findCompileErrors on recorded build logs', () => {
  it('finds a -j2 error far above the end, among the other job CC lines, once for both files', () => {
    const text = log('6.1-j2-header-error-among-cc-lines');
    // The problem: the tail build.ts used to report holds no error at all.
    expect(findCompileErrors(tailOf(text).join('\n')).total).toBe(0);
    expect(tailOf(text).some((line) => line.includes('callcount_t'))).toBe(false);
    const found = findCompileErrors(text);
    // callcount.c and taskcount.c both include the broken header: one error, shown with its first includer.
    expect(found.total).toBe(1);
    expect(found.shown.map((error) => [error.lineNumber, error.line])).toEqual([
      [26, './include/linux/mysyscalls.h:6:9: error: unknown type name ‘callcount_t’'],
    ]);
    expect(errorLines(text)).toEqual([
      [
        'In file included from mysyscalls/callcount.c:9:',
        './include/linux/mysyscalls.h:6:9: error: unknown type name ‘callcount_t’',
        '    6 |         callcount_t calls;',
        '      |         ^~~~~~~~~~~',
      ],
    ]);
  });

  it('shows a missing semicolon with its function line and every caret line, fix-it included', () => {
    expect(errorLines(log('6.1-missing-semicolon'))).toEqual([
      [
        'mysyscalls/callcount.c: In function ‘__do_sys_callcount’:',
        'mysyscalls/callcount.c:19:17: error: expected ‘;’ before ‘}’ token',
        '   19 |         return 0',
        '      |                 ^',
        '      |                 ;',
        '   20 | }',
        '      | ~                ',
      ],
    ]);
  });

  it('shows an implicit declaration, without the cc1 line and the CC lines around it', () => {
    expect(errorLines(log('6.1-implicit-declaration'))).toEqual([
      [
        'mysyscalls/callcount.c: In function ‘__do_sys_callcount’:',
        'mysyscalls/callcount.c:15:31: error: implicit declaration of function ‘callcount_next’ [-Werror=implicit-function-declaration]',
        '   15 |         unsigned long count = callcount_next(&callcount_calls);',
        '      |                               ^~~~~~~~~~~~~~',
      ],
    ]);
  });

  it("shows the linker's undefined reference with its in-function line", () => {
    const found = findCompileErrors(log('6.1-undefined-reference'));
    expect(found.shown.map((error) => [error.lineNumber, error.lines])).toEqual([
      [
        37,
        [
          "ld: vmlinux.o: in function `__x64_sys_callcount':",
          "(.text+0x3e): undefined reference to `callcount_record'",
        ],
      ],
    ]);
  });

  it('shows the first 10 of 12 errors, the function line once', () => {
    const found = findCompileErrors(log('6.1-twelve-errors'));
    expect(found.total).toBe(12);
    expect(found.shown).toHaveLength(10);
    expect(found.shown[0]?.lines[0]).toBe('mysyscalls/callcount.c: In function ‘__do_sys_callcount’:');
    expect(found.shown[9]?.lines).toEqual([
      'mysyscalls/callcount.c:26:9: error: implicit declaration of function ‘callcount_step10’ [-Werror=implicit-function-declaration]',
      '   26 |         callcount_step10(&callcount_calls);',
      '      |         ^~~~~~~~~~~~~~~~',
    ]);
    expect(found.shown.flatMap((error) => error.lines).filter((line) => line.includes('In function'))).toHaveLength(1);
  });

  it('finds nothing in a log with warnings only whose make failed for another reason', () => {
    const text = log('6.1-warnings-only-make-fails');
    expect(text).toContain('warning: no semicolon at end of struct or union');
    expect(findCompileErrors(text)).toEqual({ shown: [], total: 0 });
  });
});

describe('findCompileErrors on other recorded gcc and ld output', () => {
  it('reads the C locale quotes', () => {
    const text = [
      "mysyscalls/callcount.c: In function '__do_sys_callcount':",
      "mysyscalls/callcount.c:15:31: error: implicit declaration of function 'callcount_next' [-Werror=implicit-function-declaration]",
      '   15 |         unsigned long count = callcount_next(&callcount_calls);',
      '      |                               ^~~~~~~~~~~~~~',
      'cc1: some warnings being treated as errors',
    ].join('\n');
    expect(errorLines(text)).toEqual([text.split('\n').slice(0, 4)]);
  });

  it('removes gcc colours (-fdiagnostics-color=always)', () => {
    const text =
      '\u001b[01m\u001b[Kcolor.c:\u001b[m\u001b[K In function \u2018\u001b[01m\u001b[Kf\u001b[m\u001b[K\u2019:\n\u001b[01m\u001b[Kcolor.c:1:22:\u001b[m\u001b[K \u001b[01;31m\u001b[Kerror: \u001b[m\u001b[Kimplicit declaration of function \u2018\u001b[01m\u001b[Kg\u001b[m\u001b[K\u2019 [\u001b[01;31m\u001b[K-Werror=implicit-function-declaration\u001b[m\u001b[K]\n    1 | int f(void) { return \u001b[01;31m\u001b[Kg\u001b[m\u001b[K(); }\n      |                      \u001b[01;31m\u001b[K^\u001b[m\u001b[K\ncc1: some warnings being treated as errors\n';
    expect(errorLines(text)).toEqual([
      [
        'color.c: In function ‘f’:',
        'color.c:1:22: error: implicit declaration of function ‘g’ [-Werror=implicit-function-declaration]',
        '    1 | int f(void) { return g(); }',
        '      |                      ^',
      ],
    ]);
  });

  it('shows a fatal error and an undeclared identifier with its note, not the warning after it', () => {
    const text = [
      '  CC      mysyscalls/callcount.o',
      'mysyscalls/callcount.c:8:10: fatal error: linux/callcount.h: No such file or directory',
      '    8 | #include <linux/callcount.h>',
      '      |          ^~~~~~~~~~~~~~~~~~~',
      'compilation terminated.',
      '  CC      mysyscalls/taskcount.o',
      'mysyscalls/taskcount.c: In function ‘__do_sys_taskcount’:',
      'mysyscalls/taskcount.c:15:55: error: ‘callcount_cals’ undeclared (first use in this function); did you mean ‘callcount_calls’?',
      '   15 |         unsigned long count = atomic_long_inc_return(&callcount_cals);',
      '      |                                                       ^~~~~~~~~~~~~~',
      '      |                                                       callcount_calls',
      'mysyscalls/taskcount.c:15:55: note: each undeclared identifier is reported only once for each function it appears in',
      'mysyscalls/taskcount.c: At top level:',
      'mysyscalls/taskcount.c:10:22: warning: ‘callcount_calls’ defined but not used [-Wunused-variable]',
      '   10 | static atomic_long_t callcount_calls = ATOMIC_LONG_INIT(0);',
      '      |                      ^~~~~~~~~~~~~~~',
    ];
    expect(errorLines(text.join('\n'))).toEqual([text.slice(1, 4), text.slice(6, 12)]);
  });

  it('shortens a long include chain, keeping where it starts and ends', () => {
    const text = [
      'In file included from include/linux/chain6.h:1,',
      '                 from include/linux/chain5.h:1,',
      '                 from include/linux/chain4.h:1,',
      '                 from include/linux/chain3.h:1,',
      '                 from include/linux/chain2.h:1,',
      '                 from include/linux/chain1.h:1,',
      '                 from user.c:1:',
      'include/linux/chain7.h:2:9: error: unknown type name ‘chain_t’',
      '    2 |         chain_t value;',
      '      |         ^~~~~~~',
    ];
    expect(errorLines(text.join('\n'))).toEqual([
      [
        'In file included from include/linux/chain6.h:1,',
        '                 from include/linux/chain5.h:1,',
        '[... 3 more lines ...]',
        '                 from include/linux/chain1.h:1,',
        '                 from user.c:1:',
        ...text.slice(7),
      ],
    ]);
  });

  it('takes every reference to one missing symbol for one error, and collect2 for another', () => {
    const text = [
      "/usr/bin/ld: /tmp/ccsjSuMU.o: in function `main':",
      "prog.c:(.text+0x5): undefined reference to `nothere'",
      "prog.c:(.text+0x13): undefined reference to `nothere'",
      "/usr/bin/ld: /tmp/ccsjSuMU.o: in function `__save_error_info':",
      "prog.c:(.text+0x2a): undefined reference to `nothere_either'",
      'collect2: error: ld returned 1 exit status',
    ];
    const found = findCompileErrors(text.join('\n'));
    expect(found.shown.map((error) => error.lines)).toEqual([text.slice(0, 2), text.slice(3, 5), text.slice(5)]);
    expect(found.total).toBe(3);
  });

  it("does not take make's or upgrade-kernel.sh's error lines for the compiler's", () => {
    const text = [
      'make[2]: *** [scripts/Makefile.build:255: mysyscalls/callcount.o] Error 1',
      "make[2]: *** No rule to make target 'mysyscalls/callcont.o', needed by 'mysyscalls/built-in.a'.  Stop.",
      'make: *** [Makefile:2065: .] Error 2',
      'upgrade-kernel.sh: error: the kernel did not build (see the messages above)',
      'cc1: some warnings being treated as errors',
    ];
    expect(findCompileErrors(text.join('\n')).total).toBe(0);
  });
});

describe('buildFailureEvidence', () => {
  it('reports the errors, how many, and where the first is', () => {
    const text = log('6.1-j2-header-error-among-cc-lines');
    expect(buildFailureEvidence(text, '/runs/1/build-patched.log', tailOf(text))).toBe(
      [
        '1 compiler/linker error in /runs/1/build-patched.log, the first at line 26:',
        'In file included from mysyscalls/callcount.c:9:',
        './include/linux/mysyscalls.h:6:9: error: unknown type name ‘callcount_t’',
        '    6 |         callcount_t calls;',
        '      |         ^~~~~~~~~~~',
      ].join('\n'),
    );
  });

  it('says when it shows only the first errors, and separates them by a blank line', () => {
    const evidence = buildFailureEvidence(log('6.1-twelve-errors'), 'build.log', []);
    expect(evidence.split('\n')[0]).toBe(
      'the first 10 of 12 compiler/linker errors in build.log, the first at line 25:',
    );
    expect(evidence.split('\n\n')).toHaveLength(10);
  });

  it('falls back to the last lines of the log when it holds no compiler error, or cannot be read', () => {
    const text = log('6.1-warnings-only-make-fails');
    const tail = tailOf(text);
    const expected = `last 40 lines of build.log:\n${tail.join('\n')}`;
    expect(buildFailureEvidence(text, 'build.log', tail)).toBe(expected);
    expect(buildFailureEvidence(undefined, 'build.log', tail)).toBe(expected);
  });
});

const tempDir = useTempDirs('syscall-lab-compile-errors-');

describe('a patched build that does not compile (fake make, real upgrade-kernel.sh)', () => {
  it("fails with the compiler's errors from the build log, not its last lines", async () => {
    const root = tempDir();
    const fake = makeFakeBuild(root);
    // The patched bzImage prints the recorded -j2 log and fails as make does; the rest is the usual fake.
    const recorded = join(fixtures, '6.1-j2-header-error-among-cc-lines.log');
    renameSync(join(fake.fakeBin, 'make'), join(fake.fakeBin, 'make.fake'));
    writeFileSync(
      join(fake.fakeBin, 'make'),
      `#!/bin/bash
tree=. target=""
for arg; do case "$prev" in -C) tree=$arg ;; esac; case "$arg" in -*|*=*) ;; *) [ "$prev" = -C ] || target=$arg ;; esac; prev=$arg; done
lv=$(sed -n 's/^CONFIG_LOCALVERSION="\\(.*\\)"$/\\1/p' "$tree/.config" 2>/dev/null | tail -1)
if [ "$target" = bzImage ] && [ "\${lv#-patched}" != "$lv" ]; then
  grep -v '^upgrade-kernel.sh: ' '${recorded}'
  exit 2
fi
exec "$(dirname "$0")/make.fake" "$@"
`,
    );
    chmodSync(join(fake.fakeBin, 'make'), 0o755);
    const result = await startFakeBuild(fake, join(root, 'cache'));
    expect(result.exitCode, result.all).toBe(1);
    expect(result.all).toMatch(/the patched kernel did not build \(upgrade-kernel\.sh exit 70\)/);
    expect(result.all).toMatch(/1 compiler\/linker error in \S+build-patched\.log, the first at line \d+:\n/);
    expect(result.all).toContain(
      [
        'In file included from mysyscalls/callcount.c:9:',
        './include/linux/mysyscalls.h:6:9: error: unknown type name ‘callcount_t’',
        '    6 |         callcount_t calls;',
        '      |         ^~~~~~~~~~~',
      ].join('\n'),
    );
    // Not the tail: the drivers/ CC lines that ended the log.
    expect(result.all).not.toContain('AR      drivers/built-in.a');
  }, 120_000);
});
