import type { ConformanceResult, RunReport } from './model.ts';
import { writeFileAtomic } from './atomic-write.ts';

// Characters XML 1.0 forbids even as character references; lone surrogates are caught because
// the `u` flag makes them match as single code points outside the allowed ranges.
const ILLEGAL_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function escapeText(text: string): string {
  return text
    .replace(ILLEGAL_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

// Parsers normalise raw newlines and tabs in attribute values to spaces; references keep them.
function escapeAttr(text: string): string {
  return escapeText(text).replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function seconds(n: number): string {
  return (Number.isFinite(n) && n > 0 ? n : 0).toFixed(3);
}

function oneLine(text: string, fallback: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat === '' ? fallback : flat;
}

interface Suite {
  xml: string;
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  time: number;
}

function testcase(classname: string, name: string, body: string, time = 0): string {
  const open = `    <testcase classname="${escapeAttr(classname)}" name="${escapeAttr(name)}" time="${seconds(time)}"`;
  return body === '' ? `${open}/>` : `${open}>\n${body}\n    </testcase>`;
}

function suite(run: RunReport): Suite {
  const classname = `syscall-lab.${run.kernel.version}`;
  const cases: string[] = [];
  let failures = 0;
  let skipped = 0;
  let errors = 0;

  for (const check of run.checks) {
    let body = '';
    if (check.status === 'fail') {
      failures++;
      const message = `expected ${check.expected}, got ${check.actual}`;
      body = `      <failure message="${escapeAttr(message)}">${escapeText(check.details)}</failure>`;
    } else if (check.status === 'skip') {
      skipped++;
      body = `      <skipped message="${escapeAttr(oneLine(check.details, 'skipped'))}"/>`;
    }
    // --check named other checks: this one's status is kept, and its name says it does not judge the run.
    const name = check.judged === false ? `${check.name} (not judged)` : check.name;
    cases.push(testcase(classname, name, body, check.seconds));

    for (const sub of check.subresults ?? []) {
      let subBody = '';
      if (sub.status === 'fail') {
        failures++;
        subBody = `      <failure message="KTAP: not ok"/>`;
      } else if (sub.status === 'skip') {
        skipped++;
        subBody = `      <skipped message="KTAP: SKIP"/>`;
      }
      cases.push(testcase(classname, `${check.name}/${sub.name}`, subBody));
    }
  }

  if (run.error !== undefined) {
    errors++;
    const message = oneLine(run.error.split('\n')[0] ?? '', 'run failed');
    cases.push(
      testcase(classname, 'run', `      <error message="${escapeAttr(message)}">${escapeText(run.error)}</error>`),
    );
  }

  const time = run.phases.reduce((sum, p) => sum + (Number.isFinite(p.seconds) ? p.seconds : 0), 0);
  const name = `syscall-lab ${run.kernel.requested} (${run.backend}/${run.accel})`;
  const out = [
    ...run.logs.console.map((p) => `console: ${p}`),
    ...run.logs.build.map((p) => `build: ${p}`),
    `reproduce: ${run.reproduce}`,
  ].join('\n');
  const xml = [
    `  <testsuite name="${escapeAttr(name)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds(time)}">`,
    ...cases,
    `    <system-out>${escapeText(out)}</system-out>`,
    '  </testsuite>',
  ].join('\n');
  return { xml, tests: cases.length, failures, errors, skipped, time };
}

/**
 * The checklist's own testsuite: a finding fails its testcase only when enforced (--conformance
 * fail); under warn it is a passing testcase with the finding in <system-out>; n/a is skipped.
 */
function conformanceSuite(run: RunReport, conformance: ConformanceResult[]): Suite {
  const classname = `syscall-lab.${run.kernel.version}.conformance`;
  let failures = 0;
  let skipped = 0;
  const cases = conformance.map((item) => {
    const finding = `${item.actual}\nrule: ${item.rule} (${item.section})${item.details ? `\n${item.details}` : ''}`;
    if (item.status === 'n/a') {
      skipped++;
      return testcase(classname, item.name, `      <skipped message="${escapeAttr(oneLine(item.actual, 'n/a'))}"/>`);
    }
    if (item.status === 'pass') return testcase(classname, item.name, '');
    if (item.enforced) {
      failures++;
      const message = `${item.rule}: ${item.actual}`;
      return testcase(
        classname,
        item.name,
        `      <failure message="${escapeAttr(oneLine(message, 'failed'))}">${escapeText(finding)}</failure>`,
      );
    }
    return testcase(classname, item.name, `      <system-out>${escapeText(`WARN ${finding}`)}</system-out>`);
  });
  const name = `syscall-lab conformance ${run.kernel.requested} (${run.backend}/${run.accel})`;
  const xml = [
    `  <testsuite name="${escapeAttr(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="0.000">`,
    ...cases,
    '  </testsuite>',
  ].join('\n');
  return { xml, tests: cases.length, failures, errors: 0, skipped, time: 0 };
}

/**
 * JUnit XML for CI: one testsuite per run, one testcase per check and per KTAP sub-result; the
 * conformance items of a run in a testsuite of their own.
 */
export function toJunit(runs: RunReport[]): string {
  const suites = runs.flatMap((run) => [
    suite(run),
    ...(run.conformance && run.conformance.length > 0 ? [conformanceSuite(run, run.conformance)] : []),
  ]);
  const total = (key: 'tests' | 'failures' | 'errors' | 'skipped' | 'time'): number =>
    suites.reduce((sum, s) => sum + s[key], 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="syscall-lab" tests="${total('tests')}" failures="${total('failures')}" errors="${total('errors')}" skipped="${total('skipped')}" time="${seconds(total('time'))}">`,
    ...suites.map((s) => s.xml),
    '</testsuites>',
    '',
  ].join('\n');
}

export async function writeJunitReport(file: string, runs: RunReport[]): Promise<void> {
  await writeFileAtomic(file, toJunit(runs));
}
