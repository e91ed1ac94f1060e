import { describe, it, expect } from 'vitest';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunReport } from '../../src/report/model.ts';
import { toJunit, writeJunitReport } from '../../src/report/junit.ts';
import { run396, run61 } from './support/sample-runs.ts';

function runs(): RunReport[] {
  return [
    run61({
      phases: [
        { name: 'build-stock', seconds: 800.25, cached: true },
        { name: 'boot', seconds: 12.5, cached: false },
      ],
      checks: [
        { name: 'hello', status: 'pass', expected: '0', actual: '0', details: '' },
        {
          name: 'ktap-suite',
          status: 'fail',
          expected: '<all ok>',
          actual: 'a & "b"',
          details: 'if (x < 1 && y > 2) "quoted" \'single\'\x01 bell\x00 end',
          subresults: [
            { name: 'sub-a', status: 'pass' },
            { name: 'sub-b', status: 'fail' },
            { name: 'sub-c', status: 'skip' },
          ],
        },
        { name: 'needs-kvm', status: 'skip', expected: 'kvm', actual: 'tcg', details: 'no /dev/kvm\non this host' },
      ],
    }),
    run396({
      phases: [{ name: 'build-patched', seconds: 300, cached: false }],
      checks: [{ name: 'hello', status: 'fail', expected: '0', actual: '-38', details: 'ENOSYS' }],
      logs: { console: ['/logs/3.9.6/console <1>.log'], build: [] },
      error: 'boot panic: <VFS>',
    }),
  ];
}

interface Element {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: Element[];
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g;
const ILLEGAL = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;

function unescape(s: string): string {
  return s.replace(ENTITY, (e) => {
    const named: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" };
    if (named[e] !== undefined) return named[e];
    const hex = e.startsWith('&#x');
    return String.fromCodePoint(parseInt(e.slice(hex ? 3 : 2, -1), hex ? 16 : 10));
  });
}

/** A strict-enough XML 1.0 check: declaration, balanced tags, one root, legal text and attributes. */
function parseXml(xml: string): Element {
  if (ILLEGAL.test(xml)) throw new Error('illegal XML character');
  let rest = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  if (rest === xml) throw new Error('missing XML declaration');
  const checkText = (t: string): string => {
    if (t.includes('<') || t.includes('>')) throw new Error(`raw markup in text: ${t}`);
    if (t.replace(ENTITY, '').includes('&')) throw new Error(`bare & in: ${t}`);
    return unescape(t);
  };
  const root: Element = { name: '#document', attrs: {}, text: '', children: [] };
  const stack: Element[] = [root];
  const tag = /^<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*="[^"]*")*)\s*(\/?)>/;
  while (rest.length > 0) {
    const lt = rest.indexOf('<');
    const text = lt === -1 ? rest : rest.slice(0, lt);
    const top = stack[stack.length - 1]!;
    if (text.length > 0) {
      if (top === root && text.trim() !== '') throw new Error('text outside the root element');
      top.text += checkText(text);
    }
    if (lt === -1) break;
    rest = rest.slice(lt);
    const m = tag.exec(rest);
    if (!m) throw new Error(`malformed tag at: ${rest.slice(0, 40)}`);
    const [whole, close, name, attrText, selfClose] = m;
    rest = rest.slice(whole.length);
    if (close) {
      if (attrText || selfClose) throw new Error('malformed closing tag');
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([A-Za-z_][\w.:-]*)="([^"]*)"/g)) {
      if (attrs[a[1]!] !== undefined) throw new Error(`duplicate attribute ${a[1]}`);
      attrs[a[1]!] = checkText(a[2]!);
    }
    const el: Element = { name: name!, attrs, text: '', children: [] };
    if (top === root && root.children.length > 0) throw new Error('more than one root element');
    top.children.push(el);
    if (!selfClose) stack.push(el);
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (root.children.length !== 1) throw new Error('no root element');
  return root.children[0]!;
}

function all(el: Element, name: string): Element[] {
  return el.children.flatMap((c) => [...(c.name === name ? [c] : []), ...all(c, name)]);
}

describe('well-formedness checker', () => {
  it('rejects broken XML, so the tests below can fail', () => {
    const decl = '<?xml version="1.0"?>';
    expect(() => parseXml(`${decl}<a><b></a></b>`)).toThrow();
    expect(() => parseXml(`${decl}<a>x & y</a>`)).toThrow();
    expect(() => parseXml(`${decl}<a>x < y</a>`)).toThrow();
    expect(() => parseXml(`${decl}<a b="1"/><c/>`)).toThrow();
    expect(() => parseXml(`${decl}<a>\x01</a>`)).toThrow();
    expect(() => parseXml(`${decl}<a>`)).toThrow();
    expect(parseXml(`${decl}<a b="&lt;1&amp;"><c/>t&amp;</a>`).attrs.b).toBe('<1&');
  });
});

describe('toJunit', () => {
  const xml = toJunit(runs());
  const doc = parseXml(xml);
  const suites = all(doc, 'testsuite');

  it('is well-formed with the totals on <testsuites>', () => {
    expect(xml.endsWith('</testsuites>\n')).toBe(true);
    expect(doc.name).toBe('testsuites');
    // 6.1: 3 checks + 3 subresults; 3.9.6: 1 check + the run error.
    expect(doc.attrs).toMatchObject({ name: 'syscall-lab', tests: '8', failures: '3', skipped: '2', errors: '1' });
    expect(Number(doc.attrs.time)).toBeCloseTo(1112.75, 3);
  });

  it('has one testsuite per run with its own counts and summed phase time', () => {
    expect(suites).toHaveLength(2);
    expect(suites[0]!.attrs).toMatchObject({
      name: 'syscall-lab 6.1 (qemu/kvm)',
      tests: '6',
      failures: '2',
      skipped: '2',
      errors: '0',
      time: '812.750',
    });
    expect(suites[1]!.attrs).toMatchObject({
      name: 'syscall-lab 3.9.6 (qemu/tcg)',
      tests: '2',
      failures: '1',
      skipped: '0',
      errors: '1',
      time: '300.000',
    });
  });

  it('names testcases by kernel version and check, subresults as check/sub', () => {
    const cases = all(suites[0]!, 'testcase');
    expect(cases.map((c) => c.attrs.name)).toEqual([
      'hello',
      'ktap-suite',
      'ktap-suite/sub-a',
      'ktap-suite/sub-b',
      'ktap-suite/sub-c',
      'needs-kvm',
    ]);
    expect(new Set(cases.map((c) => c.attrs.classname))).toEqual(new Set(['syscall-lab.6.1.0']));
    expect(cases[0]!.children).toEqual([]);
    expect(cases[2]!.children).toEqual([]);
    expect(cases[3]!.children.map((c) => c.name)).toEqual(['failure']);
    expect(cases[4]!.children.map((c) => c.name)).toEqual(['skipped']);
  });

  it('escapes markup and strips illegal characters in the failure', () => {
    const failure = all(suites[0]!, 'testcase')[1]!.children[0]!;
    expect(failure.name).toBe('failure');
    expect(failure.attrs.message).toBe('expected <all ok>, got a & "b"');
    expect(failure.text).toBe('if (x < 1 && y > 2) "quoted" \'single\' bell end');
    expect(xml).toContain('&lt;all ok&gt;');
    expect(xml).toContain('a &amp; &quot;b&quot;');
    expect(xml).toContain('&apos;single&apos;');
    expect(xml).not.toMatch(/[\x00-\x08]/);
  });

  it('gives skipped checks their reason on one line', () => {
    const skipped = all(suites[0]!, 'testcase')[5]!.children[0]!;
    expect(skipped.name).toBe('skipped');
    expect(skipped.attrs.message).toBe('no /dev/kvm on this host');
  });

  it('reports a run error as an <error> testcase named run', () => {
    const cases = all(suites[1]!, 'testcase');
    const run = cases.find((c) => c.attrs.name === 'run');
    expect(run?.attrs.classname).toBe('syscall-lab.3.9.6');
    expect(run?.children[0]?.name).toBe('error');
    expect(run?.children[0]?.attrs.message).toBe('boot panic: <VFS>');
    expect(run?.children[0]?.text).toBe('boot panic: <VFS>');
    expect(all(suites[0]!, 'error')).toEqual([]);
  });

  it('puts console log paths in system-out', () => {
    expect(all(suites[0]!, 'system-out')[0]!.text).toContain('/logs/6.1/console.log');
    expect(all(suites[1]!, 'system-out')[0]!.text).toContain('/logs/3.9.6/console <1>.log');
  });

  it('is well-formed for no runs', () => {
    const empty = parseXml(toJunit([]));
    expect(empty.attrs).toMatchObject({ tests: '0', failures: '0', skipped: '0', time: '0.000' });
  });

  it('writes through a temp file and leaves only the report behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'report-junit-'));
    try {
      const file = join(dir, 'junit.xml');
      await writeJunitReport(file, runs());
      expect(await readFile(file, 'utf8')).toBe(xml);
      expect(await readdir(dir)).toEqual(['junit.xml']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
