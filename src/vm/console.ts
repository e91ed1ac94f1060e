/**
 * The crash catalogue: what the kernel printed on its serial console when something went wrong
 * (oops, panic, warning, stall, unexpected reset), found in the console's text.
 *
 * The scanner works on text only, so it can be tested on captured logs and run on any slice
 * of a log (a whole boot, or what one check caused). It knows the wording of both kernel
 * generations syscall-lab builds: 3.9 ("BUG: unable to handle kernel NULL pointer
 * dereference at (null)", "WARNING: at file:line") and 6.x ("BUG: kernel NULL pointer
 * dereference, address: ...", "WARNING: CPU: 0 PID: 1 at file:line", "Oops: Oops: ..." from
 * 6.9 on), with or without printk timestamps.
 */
/** `failure`: the kernel is broken or dead. `warning`: worth showing, but TCG can cause it. */
export type Severity = 'failure' | 'warning';

export interface ConsoleFinding {
  /** What happened: panic, bad-access, gpf, oops, bug, warn, rcu-stall, reset, ... */
  kind: string;
  severity: Severity;
  /** The line that starts the incident, without its printk timestamp. */
  line: string;
  /** The incident's first lines (from `line` on), without timestamps: evidence for a report. */
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

/** One kind of headline line a kernel prints when something goes wrong. */
interface Pattern {
  kind: string;
  severity: Severity;
  re: RegExp;
  /** Secondary lines only start a finding outside any incident (a lone Call Trace). */
  secondary?: boolean;
}

/**
 * Headline patterns, tested on a line without its timestamp, first match wins. Anchored at
 * the start of the message so that userland lines ("probe: Bad address", dropbear's logs)
 * and harmless kernel lines ("Faulting", "default", "RAS: Correctable Errors ...") never
 * match, and so that userland crashes the kernel merely reports ("traps: probe[77] general
 * protection fault ip:...", "probe[77]: segfault at 0") are not taken for kernel bugs.
 * `(?:Oops: )*`: from 6.9 the die header reads "Oops: general protection fault, ..." and
 * a page fault reads "Oops: Oops: 0002 [#1]".
 */
const PATTERNS: readonly Pattern[] = [
  // Always a panic line ("Kernel panic - not syncing: stack-protector: ..."): named by its cause.
  {
    kind: 'stack-protector',
    severity: 'failure',
    re: /^(?:Kernel panic - not syncing: )?stack-protector: Kernel stack is corrupted/,
  },
  { kind: 'panic', severity: 'failure', re: /^Kernel panic - not syncing\b/ },
  // 6.x prints "traps: PANIC: double fault, error_code: 0x0" then the die header "double fault: 0000 [#1]".
  { kind: 'double-fault', severity: 'failure', re: /^(?:(?:traps: )?PANIC: |(?:Oops: )*)double fault\b/ },
  {
    kind: 'bad-access',
    severity: 'failure',
    re: /^BUG: (?:unable to handle kernel (?:NULL pointer dereference|paging request)|unable to handle page fault for address|kernel NULL pointer dereference)/,
  },
  { kind: 'gpf', severity: 'failure', re: /^(?:Oops: )*general protection fault\b/ },
  // Watchdogs: under TCG a busy host starves the guest's vCPU and they fire with no bug at all.
  { kind: 'soft-lockup', severity: 'warning', re: /^(?:watchdog: )?BUG: soft lockup\b/ },
  { kind: 'workqueue-lockup', severity: 'warning', re: /^BUG: workqueue lockup\b/ },
  { kind: 'hard-lockup', severity: 'warning', re: /^(?:(?:NMI )?watchdog: )?Watchdog detected hard LOCKUP\b/ },
  { kind: 'bug', severity: 'failure', re: /^kernel BUG at\b/ },
  // Every other "BUG: " headline is a kernel bug: scheduling while atomic, sleeping function
  // called from invalid context, Bad page state, KASAN, stack guard page, spinlock lockup.
  { kind: 'bug', severity: 'failure', re: /^BUG: / },
  { kind: 'invalid-opcode', severity: 'failure', re: /^(?:Oops: )*invalid opcode: / },
  { kind: 'oops', severity: 'failure', re: /^Oops: / },
  // 3.9 "WARNING: at file:line", 3.10-6.x "WARNING: CPU: 0 PID: 1 at file:line",
  // newest "WARNING: file:line at func, CPU#0: comm/pid".
  { kind: 'warn', severity: 'warning', re: /^WARNING: (?:at \S+:\d+|CPU: \d+ (?:UID: \d+ )?PID: \d+ at |\S+:\d+ at )/ },
  // 3.9 "INFO: rcu_sched detected stalls ...", 6.x "rcu: INFO: rcu_preempt detected stalls ...".
  {
    kind: 'rcu-stall',
    severity: 'warning',
    re: /^(?:rcu: )?INFO: rcu_\w+ (?:detected (?:expedited )?stalls?|self-detected stall)/,
  },
  { kind: 'hung-task', severity: 'warning', re: /^INFO: task \S+:\d+ blocked for more than \d+ seconds/ },
  { kind: 'call-trace', severity: 'warning', re: /^Call Trace:/, secondary: true },
];

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
 * RCU stall details). An incident runs on through them past its excerpt, so the second
 * Call Trace of a long stall report is not taken for a new incident.
 */
const DUMP_LINE =
  /^(?:\s|\? |<\/?(?:TASK|IRQ|NMI|EOI|SOFTIRQ)>|"echo 0 > |-+\[ cut here \]|(?:Call Trace|Stack|Code|Modules linked in|Hardware name|CPU|Pid|Process|IP|PGD|PUD|PMD|PTE|P4D|#PF|RIP|RSP|RAX|RBX|RCX|RDX|RSI|RDI|RBP|R\d+|FS|GS|CS|CR\d|DR\d|PKRU|Workqueue|Sending NMI|NMI backtrace|task|rcu|in_atomic\(\)|preempt_count|RCU nest depth|irq event stamp|hardirqs|softirqs|Preemption disabled|note|Kernel Offset|Rebooting in|Tainted|Not tainted|Showing|Mem-Info)\b)|\[<[0-9a-f]{8,16}>\]/;

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

function classify(message: string): Pattern | undefined {
  return PATTERNS.find((pattern) => pattern.re.test(message));
}

interface Incident {
  kind: string;
  severity: Severity;
  start: number;
  /** Last line of the excerpt (inclusive). */
  excerptEnd: number;
  /** Last line the incident covers so far (inclusive); grows through dump lines. */
  cover: number;
  /** False once an end marker or a banner closed it: nothing after belongs to it. */
  open: boolean;
}

/**
 * Finds the incidents in a console log, one finding each, in order of position. A finding's
 * incident covers its excerpt window and the kernel-dump lines that follow; inside it,
 * "Call Trace:" and the die header of the same oops are part of it, while any other
 * headline starts a new incident (a panic after an oops, a second warning, an oops during
 * a stall: each is its own event). A panic that follows an oops is reported separately: it
 * means the machine is dead, not just one process.
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
        found.push({ kind: 'reset', severity: 'failure', start: i, excerptEnd: i, cover: i, open: false });
      }
      banners++;
      continue;
    }

    // An incident runs on through kernel-dump lines after its window, up to its end marker.
    if (current && current.open && i === current.cover + 1 && i - current.start < MAX_INCIDENT) {
      if (END_MARKER.test(message)) {
        current.cover = i;
        current.open = false;
      } else if (DUMP_LINE.test(message)) {
        current.cover = i;
      }
    }

    const pattern = classify(message);
    if (!pattern) continue;
    const inside = current !== undefined && i <= current.cover;
    const partOfCurrent =
      inside && (pattern.secondary === true || (DIE_HEADER.test(message) && current?.severity === 'failure'));
    if (partOfCurrent) continue;

    const window = windowAfter(messages, i);
    current = {
      kind: pattern.kind,
      severity: pattern.severity,
      start: i,
      excerptEnd: window.end,
      cover: window.end,
      open: !window.closed,
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
    if (incident.kind !== 'reset' && !END_MARKER.test(messages[to] ?? '')) {
      // No end marker closed it (stalls, lockups, 3.9 panics): the window's tail is whatever
      // came next (dropbear's log, a shell prompt), so it ends at the dump's last line.
      while (excerpt.length > 1 && !DUMP_LINE.test(excerpt[excerpt.length - 1] ?? '')) excerpt.pop();
    }
    while (excerpt.length > 1 && excerpt[excerpt.length - 1] === '') excerpt.pop();
    return {
      kind: incident.kind,
      severity: incident.severity,
      line: messages[incident.start] ?? '',
      excerpt: excerpt.join('\n'),
      lineNumber: incident.start + 1,
    };
  });
}

/** The excerpt window after line `start`: up to EXCERPT_FOLLOWING lines, an end marker included, a banner excluded. */
function windowAfter(messages: readonly string[], start: number): { end: number; closed: boolean } {
  const last = Math.min(messages.length - 1, start + EXCERPT_FOLLOWING);
  for (let j = start + 1; j <= last; j++) {
    const message = messages[j] ?? '';
    if (BANNER.test(message)) return { end: j - 1, closed: true };
    if (END_MARKER.test(message)) return { end: j, closed: true };
  }
  return { end: last, closed: false };
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
