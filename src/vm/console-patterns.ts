/**
 * The crash catalogue's data: every headline a kernel prints when something goes wrong, in the
 * wording of each generation that has the detector (3.9, 4.x, 5.x, 6.1, 6.9+), with its kind and
 * severity. src/vm/console.ts scans console text with these; the sources of each wording are
 * named beside it and in test/fixtures/console/README.md.
 */

/** `failure`: the kernel is broken or dead. `warning`: worth showing, but TCG can cause it. */
export type Severity = 'failure' | 'warning';

/** One kind of headline line a kernel prints when something goes wrong. */
export interface Pattern {
  kind: string;
  severity: Severity;
  re: RegExp;
  /** Secondary lines only start a finding outside any incident (a lone Call Trace). */
  secondary?: boolean;
  /**
   * The line names a report the kernel prints through WARN() or BUG() (list corruption,
   * refcount_t, 3.9's hard lockup): the generic `WARNING:` or `kernel BUG at` line printed
   * just before it (3.9 and early 4.x) or just after it (later kernels' __warn_printk(), and
   * BUG_ON_DATA_CORRUPTION) is part of it.
   */
  names?: boolean;
  /** A generic WARN()/BUG() line: a report named next to it takes it over (see `names`). */
  trailer?: boolean;
  /**
   * A report with a body of its own (blank lines, tables, hex dumps): the incident covers
   * every line up to the first that matches `until` (then, unless `closes`, runs on through
   * dump lines as any other). KASAN, KFENCE and UBSAN end with a ruler; lockdep with its
   * "stack backtrace:"; SLUB with its Call Trace.
   */
  body?: { until: RegExp; closes: boolean };
}

/** The "=====" line that opens and closes KASAN, KFENCE and UBSAN reports. */
const RULER = /^={20,}$/;

/**
 * Lockdep's report titles. 3.9 (kernel/lockdep.c) prints them as "[ INFO: ... ]" or
 * "[ BUG: ... ]" (4.5 still does); later 4.x on (kernel/locking/lockdep.c) as "WARNING: ...". All are failures,
 * although most start with "WARNING:".
 */
const LOCKDEP =
  /^(?:WARNING: |\[ (?:INFO|BUG): )(?:possible (?:circular locking dependency|recursive locking|irq lock inversion dependency) detected|inconsistent lock state|suspicious RCU usage|[\w-]+-safe -> [\w-]+-unsafe lock order detected|Nested lock was not taken|bad (?:unlock balance|contention) detected!|held lock freed!|lock held (?:at task exit time|when returning to user space)!|\S+ still has locks held!|chain_key collision|Invalid wait context)/;

/**
 * Headline patterns, tested on a line without its timestamp, first match wins. Anchored at
 * the start of the message so that userland lines ("probe: Bad address", dropbear's logs)
 * and harmless kernel lines ("Faulting", "default", "RAS: Correctable Errors ...") never
 * match, and so that userland crashes the kernel merely reports ("traps: probe[77] general
 * protection fault ip:...", "probe[77]: segfault at 0") are not taken for kernel bugs.
 * `(?:Oops: )*`: from 6.9 the die header reads "Oops: general protection fault, ..." and
 * a page fault reads "Oops: Oops: 0002 [#1]".
 */
export const PATTERNS: readonly Pattern[] = [
  // Always a panic line ("Kernel panic - not syncing: stack-protector: ..."): named by its cause.
  {
    kind: 'stack-protector',
    severity: 'failure',
    re: /^(?:Kernel panic - not syncing: )?stack-protector: Kernel stack is corrupted/,
  },
  { kind: 'panic', severity: 'failure', re: /^Kernel panic - not syncing\b/ },
  // 6.x prints "traps: PANIC: double fault, error_code: 0x0" then the die header "double fault: 0000 [#1]".
  { kind: 'double-fault', severity: 'failure', re: /^(?:(?:traps: )?PANIC: |(?:Oops: )*)double fault\b/ },
  // mm/kasan/report.c: "BUG: KASan: %s in %pS at addr %p" (4.0-4.3), "BUG: KASAN: %s in %pS" (4.4+).
  { kind: 'kasan', severity: 'failure', re: /^BUG: KASAN: /i, body: { until: RULER, closes: true } },
  // mm/kfence/report.c (5.12+): "BUG: KFENCE: out-of-bounds read in %pS", use-after-free, invalid free, ...
  { kind: 'kfence', severity: 'failure', re: /^BUG: KFENCE: /, body: { until: RULER, closes: true } },
  // arch/x86/mm/fault.c: 3.9-4.x "BUG: unable to handle kernel NULL pointer dereference at" /
  // "... paging request at"; 5.x+ "BUG: kernel NULL pointer dereference, address:" /
  // "BUG: unable to handle page fault for address:".
  {
    kind: 'bad-access',
    severity: 'failure',
    re: /^BUG: (?:unable to handle kernel (?:NULL pointer dereference|paging request)|unable to handle page fault for address|kernel NULL pointer dereference)/,
  },
  { kind: 'gpf', severity: 'failure', re: /^(?:Oops: )*general protection fault\b/ },
  // arch/x86/kernel/traps.c die headers: "divide error: 0000 [#1] SMP" (3.9-6.8), "Oops: divide error: ..." (6.9+).
  { kind: 'divide-error', severity: 'failure', re: /^(?:Oops: )*divide error: / },
  { kind: 'stack-segment', severity: 'failure', re: /^(?:Oops: )*stack segment: / },
  // Watchdogs: under TCG a busy host starves the guest's vCPU and they fire with no bug at all.
  // kernel/watchdog.c: 3.9 "BUG: soft lockup - CPU#0 stuck for 22s! [probe:60]", 4.x+ with "watchdog: ".
  { kind: 'soft-lockup', severity: 'warning', re: /^(?:watchdog: )?BUG: soft lockup\b/ },
  // kernel/workqueue.c (4.5+): "BUG: workqueue lockup - pool cpus=0 ...".
  { kind: 'workqueue-lockup', severity: 'warning', re: /^BUG: workqueue lockup\b/ },
  // 3.9 WARN(1, "Watchdog detected hard LOCKUP on cpu %d"), 4.x+ pr_emerg with "NMI watchdog: " or "watchdog: ".
  {
    kind: 'hard-lockup',
    severity: 'warning',
    re: /^(?:(?:NMI )?watchdog: )?Watchdog detected hard LOCKUP\b/,
    names: true,
  },
  // lib/bug.c, every generation: "kernel BUG at %s:%u!".
  { kind: 'bug', severity: 'failure', re: /^kernel BUG at\b/, trailer: true },
  // mm/slub.c slab_bug(): "BUG %s (%s): %s" with print_tainted() (3.9+: "BUG kmalloc-64 (Not
  // tainted): Redzone overwritten"); Documentation/mm/slub.rst's older sample has no taint field.
  {
    kind: 'slub',
    severity: 'failure',
    re: /^BUG [^\s:]+(?: \((?:Not tainted|Tainted:[^)]*)\))?: \S/,
    body: { until: /^Call Trace:/, closes: false },
  },
  // Every other "BUG: " headline is a kernel bug: scheduling while atomic, sleeping function
  // called from invalid context, Bad page state, stack guard page, spinlock lockup.
  { kind: 'bug', severity: 'failure', re: /^BUG: / },
  { kind: 'invalid-opcode', severity: 'failure', re: /^(?:Oops: )*invalid opcode: / },
  { kind: 'oops', severity: 'failure', re: /^Oops: / },
  // Any other x86 die header ("segment not present: 0000 [#1]", "alignment check: ...", "int3: ...").
  { kind: 'oops', severity: 'failure', re: /^[A-Za-z][\w ]*: [0-9a-f]{4} \[#\d+\]/ },
  // lib/ubsan.c: "UBSAN: Undefined behaviour in %s:%d:%d" (4.5-5.10), "UBSAN: %s in %s:%d:%d" (5.11+).
  { kind: 'ubsan', severity: 'failure', re: /^UBSAN: /, body: { until: RULER, closes: true } },
  { kind: 'lockdep', severity: 'failure', re: LOCKDEP, body: { until: /^stack backtrace:/, closes: false } },
  // lib/list_debug.c (CONFIG_DEBUG_LIST): "list_add corruption. prev->next should be next (%p), ...",
  // "list_del corruption, %p->next is LIST_POISON1 (%p)", "list_add double add: ...", "..._rcu corruption".
  {
    kind: 'list-corruption',
    severity: 'failure',
    re: /^(?:list_(?:add|del)(?:_rcu)? corruption[.,] |list_add double add: )/,
    names: true,
  },
  // lib/refcount.c (4.11+): "refcount_t: underflow; use-after-free.", "refcount_t: saturated; leaking
  // memory.", "refcount_t: addition on 0; use-after-free."; x86's fast refcount (4.14-5.4):
  // "refcount_t overflow at %pB in %s[%d], uid/euid: %u/%u".
  { kind: 'refcount', severity: 'failure', re: /^refcount_t(?::| [\w ]+ at )/, names: true },
  // kernel/panic.c: 3.9 "WARNING: at file:line", 3.10-6.x "WARNING: CPU: 0 PID: 1 at file:line",
  // newest "WARNING: file:line at func, CPU#0: comm/pid".
  {
    kind: 'warn',
    severity: 'warning',
    re: /^WARNING: (?:at \S+:\d+|CPU: \d+ (?:UID: \d+ )?PID: \d+ at |\S+:\d+ at )/,
    trailer: true,
  },
  // 3.9 "INFO: rcu_sched detected stalls ...", 6.x "rcu: INFO: rcu_preempt detected stalls ...".
  {
    kind: 'rcu-stall',
    severity: 'warning',
    re: /^(?:rcu: )?INFO: rcu_\w+ (?:detected (?:expedited )?stalls?|self-detected stall)/,
  },
  // kernel/hung_task.c, every generation: "INFO: task %s:%d blocked for more than %ld seconds."
  { kind: 'hung-task', severity: 'warning', re: /^INFO: task \S+:\d+ blocked for more than \d+ seconds/ },
  { kind: 'call-trace', severity: 'warning', re: /^Call Trace:/, secondary: true },
];

export function classify(message: string): Pattern | undefined {
  return PATTERNS.find((pattern) => pattern.re.test(message));
}
