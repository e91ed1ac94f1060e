/**
 * The crash catalogue: what the kernel printed on its serial console when something went wrong
 * (oops, panic, KASAN/KFENCE/UBSAN/lockdep/SLUB/list/refcount report, warning, stall,
 * unexpected reset), found in the console's text.
 *
 * The scanner works on text only, so it can be tested on captured logs and run on any slice
 * of a log (a whole boot, or what one check caused), with or without printk timestamps. The
 * headlines it knows, in the wording of every generation from 3.9 to 6.9+ ("BUG: unable to
 * handle kernel NULL pointer dereference at (null)" / "BUG: kernel NULL pointer dereference,
 * address: ...", "WARNING: at file:line" / "WARNING: CPU: 0 PID: 1 at file:line",
 * "divide error: 0000 [#1]" / "Oops: divide error: ..."), are in console-patterns.ts; this
 * module groups the lines that follow a headline into one incident.
 */
import { classify, type Pattern, type Severity } from './console-patterns.ts';

export type { Severity } from './console-patterns.ts';

export interface ConsoleFinding {
  /** What happened: panic, bad-access, gpf, oops, kasan, lockdep, warn, rcu-stall, reset, ... */
  kind: string;
  severity: Severity;
  /** The incident's headline (the line that names it), without its printk timestamp. */
  line: string;
  /**
   * The incident's first lines, without timestamps: evidence for a report. It starts at the
   * incident's first line: the headline, or the generic `WARNING:` line that 3.9 and early 4.x print
   * before the report a WARN() names ("list_add corruption. ...", "refcount_t: ...").
   */
  excerpt: string;
  /** 1-based number of `line` in the scanned text, to find it in the full log. */
  lineNumber: number;
}

export interface ScanOptions {
  /**
   * Whether the text starts at (or before) the boot, so its first "Linux version" banner is
   * expected. False for text since a mark taken after boot: any banner in it is a reset.
   * Default true.
   */
  fromBoot?: boolean;
}

/** How many lines after a finding's line its excerpt (and its own incident) runs at most. */
const EXCERPT_FOLLOWING = 40;
/** How many lines before an unexpected banner show what the machine was doing when it reset. */
const RESET_CONTEXT = 10;
/** Hard limit on how far an incident's dump can run on, so one stall cannot swallow a log. */
const MAX_INCIDENT = 400;
/** How close a report named by WARN()/BUG() and its generic WARNING:/kernel BUG at line are. */
const TRAILER_DISTANCE = 3;

/** The die header every x86 oops prints once ("Oops: 0002 [#1] SMP", "invalid opcode: 0000 [#1] ..."). */
const DIE_HEADER = /\b[0-9a-f]{4} \[#\d+\]/;
/** The boot banner, first line of every kernel's log. */
const BANNER = /^Linux version \d/;
/** "---[ end trace 1234 ]---" after an oops or warning, "---[ end Kernel panic - ... ]---" (6.x). */
const END_MARKER = /^---\[ end /;
/**
 * `[    1.234567] ` (PRINTK_TIME), with 6.x's optional caller id `[    T1]` and a raw
 * kmsg level `<4>`. Searched anywhere in the line: userland output on the same console can
 * run into a kernel line ("login: [   12.3] BUG: ...").
 */
const TIMESTAMP = /(?:<\d>)?\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])? ?/;

/**
 * Lines that belong to a kernel dump (registers, stacks, frames, per-CPU NMI backtraces,
 * RCU stall details, SLUB's FIX lines). An incident runs on through them past its excerpt, so the second
 * Call Trace of a long stall report is not taken for a new incident.
 */
const DUMP_LINE =
  /^(?:\s|\? |<\/?(?:TASK|IRQ|NMI|EOI|SOFTIRQ)>|"echo 0 > |-+\[ cut here \]|(?:Call Trace|Stack|Code|Modules linked in|Hardware name|CPU|Pid|Process|IP|PGD|PUD|PMD|PTE|P4D|#PF|RIP|RSP|RAX|RBX|RCX|RDX|RSI|RDI|RBP|R\d+|FS|GS|CS|CR\d|DR\d|PKRU|Workqueue|Sending NMI|NMI backtrace|task|rcu|in_atomic\(\)|preempt_count|RCU nest depth|irq event stamp|hardirqs|softirqs|Preemption disabled|note|Kernel Offset|Rebooting in|Tainted|Not tainted|Showing|Mem-Info|Disabling lock debugging)\b|FIX [^\s:]+: )|\[<[0-9a-f]{8,16}>\]/;

/** Removes what the scanner must not see: carriage returns, ANSI colours (systemd, getty), NULs. */
function normalize(text: string): string[] {
  return (
    text
      .replace(/\r/g, '')
      // eslint-disable-next-line no-control-regex -- ANSI escapes are what it removes
      .replace(/\x1b(?:\[[0-9;?]*[A-Za-z]|[^[])/g, '')
      .replace(/\0/g, '')
      .split('\n')
  );
}

/** The message part of a console line: what follows the printk timestamp, if any. */
function messageOf(line: string): string {
  const match = TIMESTAMP.exec(line);
  return (match ? line.slice(match.index + match[0].length) : line).trimEnd();
}

interface Incident {
  kind: string;
  severity: Severity;
  /** What it matched; undefined for a reset. */
  pattern?: Pattern;
  /** First line of the incident (and of its excerpt). */
  start: number;
  /** The line that names it: `start`, or the report line a generic WARNING: line was followed by. */
  headline: number;
  /** Last line of the excerpt (inclusive). */
  excerptEnd: number;
  /** Last line the incident covers so far (inclusive); grows through dump lines (and its body). */
  cover: number;
  /** False once an end marker, its closing ruler or a banner closed it: nothing after belongs to it. */
  open: boolean;
  /** The line that ended its body (a report with a body of its own), once seen. */
  bodyEnd?: number;
}

/**
 * Finds the incidents in a console log, one finding each, in order of position. A finding's
 * incident covers its excerpt window, its body (for reports that have one) and the
 * kernel-dump lines that follow; inside it, "Call Trace:" and the die header of the same oops
 * are part of it, and so is the generic WARNING:/kernel BUG at line of a report printed
 * through WARN()/BUG() (list corruption, refcount_t); any other headline starts a new
 * incident (a panic after an oops, a second warning, an oops during a stall: each is its own
 * event). A panic that follows an oops is reported separately: it means the machine is dead,
 * not just one process.
 */
export function scanConsole(text: string, options: ScanOptions = {}): ConsoleFinding[] {
  const lines = normalize(text);
  const messages = lines.map(messageOf);
  const found: Incident[] = [];
  let current: Incident | undefined;
  let banners = 0;

  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] ?? '';

    if (BANNER.test(message)) {
      if (current) current.open = false;
      current = undefined;
      if (banners > 0 || options.fromBoot === false) {
        // Evidence of a reset is what came before it: the lines leading up to the new banner.
        found.push({ kind: 'reset', severity: 'failure', start: i, headline: i, excerptEnd: i, cover: i, open: false });
      }
      banners++;
      continue;
    }

    // An incident runs on through its body and kernel-dump lines after its window, up to its end.
    if (current && current.open && i === current.cover + 1 && i - current.start < MAX_INCIDENT)
      runOn(current, message, i);

    const pattern = classify(message);
    if (!pattern) continue;
    if (current && i <= current.cover && joins(current, pattern, message, i)) continue;

    const window = windowAfter(messages, i, pattern);
    current = {
      kind: pattern.kind,
      severity: pattern.severity,
      pattern,
      start: i,
      headline: i,
      excerptEnd: window.end,
      cover: window.end,
      open: !window.closed,
      bodyEnd: window.bodyEnd,
    };
    found.push(current);
  }

  return found.map((incident, index) => {
    const next = found[index + 1];
    let from = incident.start;
    let to = incident.excerptEnd;
    if (incident.kind === 'reset') {
      from = resetContextStart(messages, incident.start);
    } else if (next && next.start <= to) {
      // Stop before the next incident's own line: its lines are its evidence, not this one's.
      to = next.start - 1;
    }
    const excerpt = messages.slice(from, to + 1);
    if (incident.kind !== 'reset' && !endsIncident(incident, messages[to] ?? '')) {
      // No end marker closed it (stalls, lockups, 3.9 panics): the window's tail is whatever
      // came next (dropbear's log, a shell prompt), so it ends at the dump's last line. A
      // report's own body is kept whole.
      const keep = incident.bodyEnd ?? (incident.pattern?.body ? Infinity : incident.headline);
      while (from + excerpt.length - 1 > keep && !DUMP_LINE.test(excerpt[excerpt.length - 1] ?? '')) excerpt.pop();
    }
    while (excerpt.length > 1 && excerpt[excerpt.length - 1] === '') excerpt.pop();
    return {
      kind: incident.kind,
      severity: incident.severity,
      line: messages[incident.headline] ?? '',
      excerpt: excerpt.join('\n'),
      lineNumber: incident.headline + 1,
    };
  });
}

/** Line `i` right after what `incident` covers: its body, an end marker or a dump line extends it. */
function runOn(incident: Incident, message: string, i: number): void {
  const body = incident.pattern?.body;
  if (body && incident.bodyEnd === undefined) {
    incident.cover = i;
    if (body.until.test(message)) {
      incident.bodyEnd = i;
      if (body.closes) incident.open = false;
    }
  } else if (END_MARKER.test(message)) {
    incident.cover = i;
    incident.open = false;
  } else if (DUMP_LINE.test(message)) {
    incident.cover = i;
  }
}

/**
 * Whether headline `pattern` at line `i`, inside what `incident` covers, belongs to it: a
 * Call Trace, the die header of the same oops, the WARNING:/kernel BUG at line that follows a
 * report printed through WARN()/BUG() (later kernels), or the report line that follows a generic
 * WARNING: (3.9 and early 4.x print the WARNING: line first): the incident then takes the report's name.
 */
function joins(incident: Incident, pattern: Pattern, message: string, i: number): boolean {
  if (pattern.secondary === true) return true;
  if (DIE_HEADER.test(message) && incident.severity === 'failure') return true;
  const near = i - incident.start <= TRAILER_DISTANCE;
  if (near && pattern.trailer === true && incident.pattern?.names === true) return true;
  // Never lowers a failure to a warning (a "kernel BUG at" stays a failure whatever follows).
  const lowers = incident.severity === 'failure' && pattern.severity === 'warning';
  if (
    near &&
    pattern.names === true &&
    incident.pattern?.trailer === true &&
    incident.headline === incident.start &&
    !lowers
  ) {
    incident.kind = pattern.kind;
    incident.severity = pattern.severity;
    incident.pattern = pattern;
    incident.headline = i;
    return true;
  }
  return false;
}

/** Whether `message`, an excerpt's last line, ends its incident: an end marker or its closing ruler. */
function endsIncident(incident: Incident, message: string): boolean {
  const body = incident.pattern?.body;
  return END_MARKER.test(message) || (body?.closes === true && body.until.test(message));
}

/**
 * The excerpt window after line `start`: up to EXCERPT_FOLLOWING lines, an end marker (or a
 * report's closing ruler) included, a banner excluded; and where its body ended, if it did.
 */
function windowAfter(
  messages: readonly string[],
  start: number,
  pattern: Pattern,
): { end: number; closed: boolean; bodyEnd?: number } {
  const last = Math.min(messages.length - 1, start + EXCERPT_FOLLOWING);
  const body = pattern.body;
  let bodyEnd: number | undefined;
  for (let j = start + 1; j <= last; j++) {
    const message = messages[j] ?? '';
    if (BANNER.test(message)) return { end: j - 1, closed: true, bodyEnd };
    if (body && bodyEnd === undefined && body.until.test(message)) {
      bodyEnd = j;
      if (body.closes) return { end: j, closed: true, bodyEnd };
    } else if (END_MARKER.test(message)) return { end: j, closed: true, bodyEnd };
  }
  return { end: last, closed: false, bodyEnd };
}

/** First line of the context shown before an unexpected banner: never before the previous banner. */
function resetContextStart(messages: readonly string[], banner: number): number {
  let from = banner;
  while (from > 0 && banner - from < RESET_CONTEXT && !BANNER.test(messages[from - 1] ?? '')) from--;
  // Blank lines (QEMU/firmware noise between boots) are not evidence.
  while (from < banner && (messages[from] ?? '').trim() === '') from++;
  return from;
}

export interface Verdict {
  /** True when any finding is a failure; warnings alone never fail a check. */
  failed: boolean;
  /** One line for a report: the kinds found, with counts, and the first failure's line. */
  summary: string;
}

export function verdict(findings: readonly ConsoleFinding[]): Verdict {
  if (findings.length === 0) return { failed: false, summary: 'console clean: no kernel errors' };
  const counts = new Map<string, number>();
  for (const finding of findings) counts.set(finding.kind, (counts.get(finding.kind) ?? 0) + 1);
  const kinds = [...counts].map(([kind, n]) => (n > 1 ? `${kind} x${n}` : kind)).join(', ');
  const firstFailure = findings.find((finding) => finding.severity === 'failure');
  if (firstFailure) {
    const first = firstFailure.line.length > 160 ? `${firstFailure.line.slice(0, 159)}…` : firstFailure.line;
    return { failed: true, summary: `kernel failure on the console: ${kinds} (first: ${first})` };
  }
  return { failed: false, summary: `kernel warnings on the console: ${kinds}` };
}
