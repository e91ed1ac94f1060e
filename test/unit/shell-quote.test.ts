import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { shellCommand, shellQuote } from '../../src/guest/ssh.ts';

describe('shellQuote', () => {
  it('quotes a word with "=", which the shell would take as an assignment in first place', () => {
    expect(shellQuote('x=1')).toBe("'x=1'");
  });

  it.each(['gcc', '-Wall', '/tmp/syscall-lab/userland/a.c', 'user@host:22', 'a,b', '50%', 'c++'])(
    'leaves the safe word %s alone',
    (word) => {
      expect(shellQuote(word)).toBe(word);
    },
  );

  it('quotes spaces, globs, variables and the empty string', () => {
    expect(shellQuote('hello world')).toBe("'hello world'");
    expect(shellQuote('*.c')).toBe("'*.c'");
    expect(shellQuote('$HOME')).toBe("'$HOME'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('~')).toBe("'~'");
  });

  it('escapes single quotes', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote("'")).toBe(`''\\'''`);
  });

  const tricky = [
    'plain',
    '',
    'two words',
    "it's",
    "''",
    '"double"',
    '$(touch /tmp/syscall-lab-pwned)',
    '`id`',
    '$HOME ${PATH}',
    'a;b&&c||d|e',
    'line1\nline2\n',
    '\ttab',
    '*?[a-z]',
    '-n',
    '\\back\\slash\\',
    '!bang',
    '~root',
    '#comment',
    'ünïcödé ✓',
    'mixed \'single\' and "double" and $(sub) and `tick` \\ end',
  ];

  it.each(tricky)('round-trips %j through sh', async (text) => {
    const result = await execa('sh', ['-c', `printf %s ${shellQuote(text)}`], { stripFinalNewline: false });
    expect(result.stdout).toBe(text);
  });

  it('stays one argument however tricky (sh sees exactly one word)', async () => {
    for (const text of tricky) {
      const result = await execa('sh', ['-c', `set -- ${shellQuote(text)}; printf '%s' "$#"`]);
      expect(result.stdout, JSON.stringify(text)).toBe('1');
    }
  });
});

describe('shellCommand', () => {
  it('quotes each argument and joins with spaces', () => {
    expect(shellCommand(['gcc', '-o', 'my prog', "it's.c"])).toBe(`gcc -o 'my prog' 'it'\\''s.c'`);
  });

  it('passes every argument through sh unchanged', async () => {
    const args = ['a b', "c'd", '$(e)', '', 'f'];
    const result = await execa('sh', ['-c', `for a in ${shellCommand(args)}; do printf '<%s>' "$a"; done`]);
    expect(result.stdout).toBe(args.map((a) => `<${a}>`).join(''));
  });
});
