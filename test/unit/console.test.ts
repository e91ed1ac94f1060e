import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConsoleFile } from '../../src/vm/console-file.ts';
import { scanConsole, verdict, type ConsoleFinding } from '../../src/vm/console.ts';

const fixtures = fileURLToPath(new URL('../fixtures/console/', import.meta.url));

/** What a fixture's NAME.expected.json says about NAME.log (see test/fixtures/console/README.md). */
interface Expected {
  failed: boolean;
  kinds: string[];
  excerptFirstLine: string | null;
  excerptLastLine?: string;
  /** Every finding's headline (`line`), in order. */
  lines?: string[];
  fromBoot?: boolean;
}

function readExpected(name: string): Expected {
  const raw: unknown = JSON.parse(readFileSync(join(fixtures, `${name}.expected.json`), 'utf8'));
  const value = raw as Partial<Expected>;
  if (typeof value.failed !== 'boolean' || !Array.isArray(value.kinds) || value.excerptFirstLine === undefined) {
    throw new Error(`${name}.expected.json needs "failed", "kinds" and "excerptFirstLine"`);
  }
  return value as Expected;
}

function fixture(name: string): string {
  return readFileSync(join(fixtures, `${name}.log`), 'utf8');
}

const TIMESTAMP = /\[\s*\d+\.\d+\]/;

function excerptLines(finding: ConsoleFinding | undefined): string[] {
  return finding ? finding.excerpt.split('\n') : [];
}

describe('console fixtures', () => {
  const names = readdirSync(fixtures)
    .filter((file) => file.endsWith('.log'))
    .map((file) => file.slice(0, -'.log'.length))
    .sort();

  it('has fixtures for both kernel generations', () => {
    expect(names.some((name) => name.startsWith('3.9-'))).toBe(true);
    expect(names.some((name) => name.startsWith('6.1-'))).toBe(true);
  });

  describe.each(names)('%s', (name) => {
    const expected = readExpected(name);
    const findings = scanConsole(fixture(name), { fromBoot: expected.fromBoot ?? true });

    it('finds the expected kinds, in order', () => {
      expect(findings.map((finding) => finding.kind)).toEqual(expected.kinds);
    });

    it('gives the expected verdict', () => {
      expect(verdict(findings).failed).toBe(expected.failed);
    });

    it('starts (and ends) the first excerpt at the right line', () => {
      const lines = excerptLines(findings[0]);
      expect(lines[0] ?? null).toBe(expected.excerptFirstLine);
      if (expected.excerptLastLine !== undefined) expect(lines.at(-1)).toBe(expected.excerptLastLine);
      if (expected.lines !== undefined) expect(findings.map((finding) => finding.line)).toEqual(expected.lines);
    });

    it('keeps excerpts free of timestamps and carriage returns', () => {
      for (const finding of findings) {
        expect(finding.excerpt).not.toMatch(TIMESTAMP);
        expect(finding.excerpt).not.toContain('\r');
        expect(finding.excerpt).toContain(finding.line);
        expect(finding.excerpt.split('\n').length).toBeLessThanOrEqual(41);
      }
    });
  });
});

describe('scanConsole on kernel 3.9', () => {
  it('reports a NULL-pointer oops from a syscall as one bad-access finding', () => {
    const findings = scanConsole(fixture('3.9-null-deref-oops'));
    expect(findings).toHaveLength(1);
    const [oops] = findings;
    expect(oops?.kind).toBe('bad-access');
    expect(oops?.severity).toBe('failure');
    expect(oops?.lineNumber).toBe(6);
    expect(oops?.line).toBe('BUG: unable to handle kernel NULL pointer dereference at           (null)');
    const lines = excerptLines(oops);
    expect(lines[1]).toBe('IP: [<ffffffff810b1e45>] sys_callcount+0x15/0x30');
    expect(lines).toContain('Oops: 0002 [#1] SMP');
    expect(lines).toContain('Call Trace:');
    expect(lines).toContain(' [<ffffffff81563f59>] system_call_fastpath+0x16/0x1b');
    expect(lines.at(-1)).toBe('---[ end trace 8c4b2e6fa1d0e4b1 ]---');
    // Nothing after the end marker (dropbear's log line) belongs to the excerpt.
    expect(oops?.excerpt).not.toContain('Exited normally');
  });

  it('reads "kernel BUG at" and its invalid-opcode die header as one bug', () => {
    const findings = scanConsole(fixture('3.9-kernel-bug'));
    expect(findings.map((f) => [f.kind, f.severity])).toEqual([['bug', 'failure']]);
    expect(excerptLines(findings[0])[1]).toBe('invalid opcode: 0000 [#1] SMP');
  });

  it('reports a WARNING as a warning that does not fail', () => {
    const findings = scanConsole(fixture('3.9-warning'));
    expect(findings.map((f) => [f.kind, f.severity])).toEqual([['warn', 'warning']]);
    expect(verdict(findings)).toEqual({ failed: false, summary: 'kernel warnings on the console: warn' });
  });

  it('reports an RCU stall under TCG as a warning only', () => {
    const findings = scanConsole(fixture('3.9-rcu-stall-tcg'));
    expect(findings.map((f) => [f.kind, f.severity])).toEqual([['rcu-stall', 'warning']]);
    expect(verdict(findings).failed).toBe(false);
    // No end marker: the excerpt ends with the stack, not with dropbear's next log line.
    expect(excerptLines(findings[0]).at(-1)).toBe(' [<ffffffff81ab0698>] x86_64_start_kernel+0xf3/0x100');
  });

  it('finds nothing in a clean boot', () => {
    const findings = scanConsole(fixture('3.9-clean-boot'));
    expect(findings).toEqual([]);
    expect(verdict(findings)).toEqual({ failed: false, summary: 'console clean: no kernel errors' });
  });
});

describe('scanConsole on kernel 6.1', () => {
  it('reports a NULL-pointer oops from a syscall as one bad-access finding', () => {
    const findings = scanConsole(fixture('6.1-null-deref-oops'));
    expect(findings).toHaveLength(1);
    const [oops] = findings;
    expect(oops?.kind).toBe('bad-access');
    expect(oops?.severity).toBe('failure');
    expect(oops?.line).toBe('BUG: kernel NULL pointer dereference, address: 0000000000000000');
    const lines = excerptLines(oops);
    expect(lines[1]).toBe('#PF: supervisor write access in kernel mode');
    expect(lines).toContain('Oops: 0002 [#1] PREEMPT SMP NOPTI');
    expect(lines).toContain('CPU: 0 PID: 77 Comm: probe Not tainted 6.1.192-patched-ab12cd34 #1');
    expect(lines).toContain('RIP: 0010:__x64_sys_callcount+0x1d/0x40');
    expect(lines).toContain(' ? __x64_sys_callcount+0x1d/0x40');
    // The whole oops up to its end marker; the register dump repeated after it is not wanted.
    expect(lines.at(-1)).toMatch(/^---\[ end trace [0-9a-f]+ \]---$/);
    expect(lines.length).toBeLessThanOrEqual(41);
  });

  it('reports a panic at boot, and the boot banner before it is no reset', () => {
    const findings = scanConsole(fixture('6.1-vfs-panic-at-boot'));
    expect(findings.map((f) => [f.kind, f.severity])).toEqual([['panic', 'failure']]);
    const lines = excerptLines(findings[0]);
    expect(lines).toContain('Kernel Offset: disabled');
    expect(lines.at(-1)).toMatch(/^---\[ end Kernel panic - not syncing: VFS/);
    expect(verdict(findings).summary).toBe(
      'kernel failure on the console: panic (first: Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0))',
    );
  });

  it('reports a general protection fault, then the panic it caused', () => {
    const findings = scanConsole(fixture('6.1-gpf-panic-on-oops'));
    expect(findings.map((f) => f.kind)).toEqual(['gpf', 'panic']);
    expect(findings[1]?.line).toBe('Kernel panic - not syncing: Fatal exception');
    expect(excerptLines(findings[1]).at(-1)).toBe('---[ end Kernel panic - not syncing: Fatal exception ]---');
    expect(verdict(findings).summary).toMatch(
      /^kernel failure on the console: gpf, panic \(first: general protection fault/,
    );
  });

  it('reports a WARNING as a warning that does not fail', () => {
    const findings = scanConsole(fixture('6.1-warning'));
    expect(findings.map((f) => [f.kind, f.severity])).toEqual([['warn', 'warning']]);
    expect(excerptLines(findings[0]).at(-1)).toBe('---[ end trace 0000000000000000 ]---');
  });

  it('keeps a long RCU stall report, with two call traces, one warning', () => {
    const findings = scanConsole(fixture('6.1-rcu-stall-tcg'));
    expect(findings.map((f) => [f.kind, f.severity])).toEqual([['rcu-stall', 'warning']]);
    expect(verdict(findings).failed).toBe(false);
  });

  it('reports a soft lockup as a warning', () => {
    const findings = scanConsole(fixture('6.1-soft-lockup-tcg'));
    expect(findings.map((f) => [f.kind, f.severity])).toEqual([['soft-lockup', 'warning']]);
    expect(excerptLines(findings[0]).at(-1)).toBe(' </TASK>');
  });

  it('finds nothing in a clean boot full of harmless words', () => {
    expect(scanConsole(fixture('6.1-clean-boot'))).toEqual([]);
  });

  it('reports a second boot banner as a reset, with what came before it', () => {
    const findings = scanConsole(fixture('6.1-reset-second-banner'));
    expect(findings).toHaveLength(1);
    const [reset] = findings;
    expect(reset?.kind).toBe('reset');
    expect(reset?.severity).toBe('failure');
    expect(reset?.lineNumber).toBe(15);
    expect(reset?.line).toMatch(/^Linux version 6\.1\.192/);
    const lines = excerptLines(reset);
    expect(lines).toContain('probe: calling stackbomb(1000000)');
    expect(lines.at(-1)).toBe(reset?.line);
    expect(verdict(findings).summary).toMatch(
      /^kernel failure on the console: reset \(first: Linux version 6\.1\.192.{100,}…\)$/,
    );
  });
});

describe('scanConsole headlines', () => {
  const stamp = '[   12.345678] ';
  const cases: [line: string, kind: string, severity: 'failure' | 'warning'][] = [
    ['Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b', 'panic', 'failure'],
    ['BUG: unable to handle kernel NULL pointer dereference at 0000000000000000', 'bad-access', 'failure'],
    ['BUG: unable to handle kernel paging request at ffffffffa0001000', 'bad-access', 'failure'],
    ['BUG: unable to handle page fault for address: ffffc90000400000', 'bad-access', 'failure'],
    ['BUG: kernel NULL pointer dereference, address: 0000000000000008', 'bad-access', 'failure'],
    ['general protection fault: 0000 [#1] SMP', 'gpf', 'failure'],
    [
      'general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI',
      'gpf',
      'failure',
    ],
    [
      'Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI',
      'gpf',
      'failure',
    ],
    ['Oops: 0002 [#1] SMP', 'oops', 'failure'],
    ['Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI', 'oops', 'failure'],
    ['WARNING: at kernel/sched/core.c:1234 try_to_wake_up+0x2a/0x2c0()', 'warn', 'warning'],
    ['WARNING: CPU: 0 PID: 1 at mm/slab_common.c:661 kmem_cache_destroy+0x5d/0x70', 'warn', 'warning'],
    ['Call Trace:', 'call-trace', 'warning'],
    [
      'INFO: rcu_sched detected stalls on CPUs/tasks: { 0} (detected by 1, t=5252 jiffies, g=1102, c=1101, q=87)',
      'rcu-stall',
      'warning',
    ],
    ['rcu: INFO: rcu_sched detected stalls on CPUs/tasks:', 'rcu-stall', 'warning'],
    ['rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:', 'rcu-stall', 'warning'],
    ['rcu: INFO: rcu_preempt self-detected stall on CPU', 'rcu-stall', 'warning'],
    ['BUG: soft lockup - CPU#0 stuck for 22s! [probe:60]', 'soft-lockup', 'warning'],
    ['watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [probe:77]', 'soft-lockup', 'warning'],
    ['INFO: task probe:123 blocked for more than 120 seconds.', 'hung-task', 'warning'],
    ['double fault: 0000 [#1] SMP', 'double-fault', 'failure'],
    ['traps: PANIC: double fault, error_code: 0x0', 'double-fault', 'failure'],
    ['BUG: scheduling while atomic: probe/77/0x00000002', 'bug', 'failure'],
    ['BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580', 'bug', 'failure'],
    ['kernel BUG at mm/slub.c:3901!', 'bug', 'failure'],
    ['invalid opcode: 0000 [#1] PREEMPT SMP NOPTI', 'invalid-opcode', 'failure'],
    [
      'Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: __x64_sys_callcount+0x5e/0x60',
      'stack-protector',
      'failure',
    ],
    // arch/x86/kernel/traps.c die headers: 3.9-6.8 "<trap>: 0000 [#1] ...", 6.9+ "Oops: <trap>: ...".
    ['divide error: 0000 [#1] SMP', 'divide-error', 'failure'],
    ['divide error: 0000 [#1] PREEMPT SMP NOPTI', 'divide-error', 'failure'],
    ['Oops: divide error: 0000 [#1] PREEMPT SMP NOPTI', 'divide-error', 'failure'],
    ['stack segment: 0000 [#1] SMP', 'stack-segment', 'failure'],
    ['Oops: stack segment: 0000 [#1] PREEMPT SMP NOPTI', 'stack-segment', 'failure'],
    ['Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI', 'invalid-opcode', 'failure'],
    [
      'Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP',
      'gpf',
      'failure',
    ],
    ['segment not present: 0000 [#1] SMP', 'oops', 'failure'],
    ['alignment check: 0000 [#1] PREEMPT SMP NOPTI', 'oops', 'failure'],
    ['Oops: int3: 0000 [#1] PREEMPT SMP NOPTI', 'oops', 'failure'],
    ['BUG: Bad page state in process probe  pfn:1e4f3', 'bug', 'failure'],
    ['BUG: using smp_processor_id() in preemptible [00000000] code: probe/77', 'bug', 'failure'],
    // mm/kasan/report.c: 4.0-4.3 "BUG: KASan: ... at addr", 4.4+ "BUG: KASAN: ...".
    ['BUG: KASan: out of bounds access in kmalloc_oob_right+0x6d/0x94 at addr ffff88006a0dcf7b', 'kasan', 'failure'],
    ['BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0xa8/0xbc [test_kasan]', 'kasan', 'failure'],
    ['BUG: KASAN: use-after-free in __x64_sys_callcount+0x3a/0x90', 'kasan', 'failure'],
    ['BUG: KFENCE: out-of-bounds read in test_out_of_bounds_read+0xa6/0x234', 'kfence', 'failure'],
    ['BUG: KFENCE: invalid free in test_double_free+0xdc/0x171', 'kfence', 'failure'],
    // lib/ubsan.c: 4.5-5.10 "UBSAN: Undefined behaviour in", 5.11+ "UBSAN: <check> in".
    ['UBSAN: Undefined behaviour in mysyscalls/callcount.c:21:15', 'ubsan', 'failure'],
    ['UBSAN: shift-out-of-bounds in mysyscalls/callcount.c:21:15', 'ubsan', 'failure'],
    ['UBSAN: array-index-out-of-bounds in mysyscalls/callcount.c:30:9', 'ubsan', 'failure'],
    // Lockdep: 3.9 "[ INFO: ... ]" / "[ BUG: ... ]", later "WARNING: ..." (failures, not warnings).
    ['WARNING: possible circular locking dependency detected', 'lockdep', 'failure'],
    ['WARNING: suspicious RCU usage', 'lockdep', 'failure'],
    ['WARNING: possible recursive locking detected', 'lockdep', 'failure'],
    ['WARNING: inconsistent lock state', 'lockdep', 'failure'],
    ['WARNING: possible irq lock inversion dependency detected', 'lockdep', 'failure'],
    ['WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected', 'lockdep', 'failure'],
    ['WARNING: bad unlock balance detected!', 'lockdep', 'failure'],
    ['WARNING: lock held when returning to user space!', 'lockdep', 'failure'],
    ['WARNING: probe/77 still has locks held!', 'lockdep', 'failure'],
    ['[ INFO: possible circular locking dependency detected ]', 'lockdep', 'failure'],
    ['[ INFO: suspicious RCU usage. ]', 'lockdep', 'failure'],
    ['[ INFO: possible recursive locking detected ]', 'lockdep', 'failure'],
    ['[ INFO: inconsistent lock state ]', 'lockdep', 'failure'],
    ['[ INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected ]', 'lockdep', 'failure'],
    ['[ BUG: bad unlock balance detected! ]', 'lockdep', 'failure'],
    ['[ BUG: lock held when returning to user space! ]', 'lockdep', 'failure'],
    ['[ BUG: Invalid wait context ]', 'lockdep', 'failure'],
    // mm/slub.c slab_bug(), 3.9 and 6.x; the taint-less form is Documentation/mm/slub.rst's sample.
    ['BUG kmalloc-64 (Not tainted): Redzone overwritten', 'slub', 'failure'],
    ['BUG kmalloc-8 (Tainted: G    B             ): Poison overwritten', 'slub', 'failure'],
    ['BUG kmalloc-8 (Tainted: G    B       ): Poison overwritten', 'slub', 'failure'],
    ['BUG kmalloc-rcl-128 (Not tainted): Object padding overwritten', 'slub', 'failure'],
    ['BUG kmalloc-8: Right Redzone overwritten', 'slub', 'failure'],
    // lib/list_debug.c, 3.9 to 6.x.
    [
      'list_add corruption. prev->next should be next (ffffffff82a4e0c8), but was 0000000000000000. (prev=ffff88800467c610).',
      'list-corruption',
      'failure',
    ],
    [
      'list_add corruption. next->prev should be prev (ffff88800467c610), but was 0000000000000000. (next=ffffffff82a4e0c8).',
      'list-corruption',
      'failure',
    ],
    ['list_add corruption. prev is NULL.', 'list-corruption', 'failure'],
    ['list_del corruption, ffff88800467c610->next is LIST_POISON1 (dead000000000100)', 'list-corruption', 'failure'],
    [
      'list_del corruption. prev->next should be ffff88800467c610, but was ffffffff82a4e0c8. (prev=ffffffff82a4e0c8)',
      'list-corruption',
      'failure',
    ],
    [
      'list_add double add: new=ffff88800467c610, prev=ffff88800467c610, next=ffffffff82a4e0c8.',
      'list-corruption',
      'failure',
    ],
    [
      'list_add_rcu corruption. prev->next should be next (ffffffff81a3c6d0), but was           (null). (prev=ffff88001e5f2c10).',
      'list-corruption',
      'failure',
    ],
    // lib/refcount.c (4.11+) and x86's fast refcount (4.14-5.4).
    ['refcount_t: underflow; use-after-free.', 'refcount', 'failure'],
    ['refcount_t: saturated; leaking memory.', 'refcount', 'failure'],
    ['refcount_t: addition on 0; use-after-free.', 'refcount', 'failure'],
    ['refcount_t: increment on 0; use-after-free.', 'refcount', 'failure'],
    ['refcount_t: decrement hit 0; leaking memory.', 'refcount', 'failure'],
    ['refcount_t overflow at __x64_sys_callcount+0x37/0x70 in probe[77], uid/euid: 0/0', 'refcount', 'failure'],
    // Watchdogs and stalls: warnings.
    ['Watchdog detected hard LOCKUP on cpu 0', 'hard-lockup', 'warning'],
    ['NMI watchdog: Watchdog detected hard LOCKUP on cpu 1', 'hard-lockup', 'warning'],
    ['watchdog: Watchdog detected hard LOCKUP on cpu 1', 'hard-lockup', 'warning'],
    ['BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!', 'workqueue-lockup', 'warning'],
    ['INFO: rcu_sched self-detected stall on CPU { 0}  (t=21000 jiffies g=1840 c=1839 q=312)', 'rcu-stall', 'warning'],
    [
      'rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 0-... } 21002 jiffies s: 73 root: 0x1/.',
      'rcu-stall',
      'warning',
    ],
    ['INFO: rcu_tasks detected stalls on tasks:', 'rcu-stall', 'warning'],
    ['WARNING: CPU: 1 PID: 83 at mysyscalls/callcount.c:18 __x64_sys_callcount+0x3e/0x50', 'warn', 'warning'],
    ['WARNING: mm/slab_common.c:661 at kmem_cache_destroy+0x5d/0x70, CPU#0: swapper/0/1', 'warn', 'warning'],
  ];

  it.each(cases)('%s', (line, kind, severity) => {
    for (const text of [line, stamp + line, `[   12.345678][    T1] ${line}`, `${stamp + line}\r\n`]) {
      const findings = scanConsole(text);
      expect(findings.map((f) => [f.kind, f.severity])).toEqual([[kind, severity]]);
      expect(findings[0]?.line).toBe(line);
    }
  });

  const harmless = [
    'io scheduler deadline registered (default)',
    'probe: Faulting address 0x0 rejected by copy_to_user',
    'pci 0000:00:01.0: PIIX3: Enabling Passive Release, BAR 4 unused',
    'pci 0000:00:02.0: BAR 0: assigned [mem 0xfebf0000-0xfebf0fff]',
    "x86/fpu: Supporting XSAVE feature 0x001: 'x87 floating point registers'",
    'Spectre V2 : Mitigation: Retpolines',
    'RAS: Correctable Errors collector initialized.',
    'probe: callcount(NULL) = -1 EFAULT (Bad address), as expected',
    'PCI: Using host bridge windows from ACPI; if necessary, use "pci=nocrs" and report a bug',
    'Kernel Offset: disabled',
    'traps: crasher[90] general protection fault ip:401136 sp:7ffc4a5e8a10 error:0 in crasher[401000+1000]',
    'traps: crasher[92] trap invalid opcode ip:401136 sp:7ffc4a5e8a10 error:0 in crasher[401000+1000]',
    'crasher[91]: segfault at 0 ip 0000000000401136 sp 00007ffc4a5e8a10 error 6 in crasher[401000+1000]',
    '[Firmware Bug]: TSC_DEADLINE disabled due to Errata; please update microcode to version: 0x3a (or later)',
    'Performance Events: Broken PMU hardware detected, using software events only.',
    'rcu: Hierarchical RCU implementation.',
    'watchdog: Disabling watchdog on nohz_full cores by default',
    '[76] Jan 01 00:00:06 Exit (root) from <10.0.2.2:40524>: Exited normally',
    'probe: grep "Kernel panic - not syncing" found nothing',
    'lockdep: fixing up alternatives.',
    'Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar',
    'kfence: initialized - using 2097152 bytes for 255 objects at 0x(____ptrval____)-0x(____ptrval____)',
    'SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs=2, Nodes=1',
    'refcount_t tests passed',
    'WARNING: unsupported CPU configuration, continuing',
    'traps: probe[77] trap divide error ip:401136 sp:7ffc4a5e8a10 error:0 in probe[401000+1000]',
    'traps: probe[78] trap stack segment ip:401136 sp:7ffc4a5e8a10 error:0 in probe[401000+1000]',
  ];

  it.each(harmless)('ignores %s', (line) => {
    expect(scanConsole(`${line}\n${stamp}${line}\n`)).toEqual([]);
  });
});

describe('scanConsole incidents', () => {
  const warning39 = [
    '[   20.412345] ------------[ cut here ]------------',
    '[   20.412890] WARNING: at mysyscalls/callcount.c:18 sys_callcount+0x4a/0x60()',
    '[   20.414234] Pid: 61, comm: probe Not tainted 3.9.11-patched #1',
    '[   20.414678] Call Trace:',
    '[   20.415012]  [<ffffffff8103b1df>] warn_slowpath_common+0x7f/0xc0',
    '[   20.416678] ---[ end trace 3b0f5a2c7e9d1846 ]---',
  ];

  it('reports a Call Trace on its own only when nothing else covers it', () => {
    const lone = [
      '[   30.100000] CPU: 0 PID: 77 Comm: probe Not tainted 6.1.192 #1',
      '[   30.100000] Call Trace:',
      '[   30.100000]  <TASK>',
      '[   30.100000]  dump_stack_lvl+0x44/0x5c',
    ];
    expect(scanConsole(lone.join('\n')).map((f) => f.kind)).toEqual(['call-trace']);
    expect(scanConsole(warning39.join('\n')).map((f) => f.kind)).toEqual(['warn']);
    // After the warning's end marker, a new Call Trace is a new incident.
    expect(scanConsole([...warning39, ...lone].join('\n')).map((f) => f.kind)).toEqual(['warn', 'call-trace']);
  });

  it('counts each incident once, in order, and ends an excerpt where the next begins', () => {
    const text = [
      ...warning39,
      'syscall-lab-init: probe done',
      '[   25.000000] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:',
      '[   25.000000] rcu: 	0-...!: (1 GPs behind) idle=d8c/0/0x1 softirq=1416/1417 fqs=0',
      '[   25.000001] BUG: kernel NULL pointer dereference, address: 0000000000000000',
      '[   25.000002] #PF: supervisor write access in kernel mode',
      '[   25.000003] Oops: 0002 [#1] PREEMPT SMP NOPTI',
      '[   25.000004] Call Trace:',
      '[   25.000005] ---[ end trace 0000000000000000 ]---',
      ...warning39,
    ].join('\n');
    const findings = scanConsole(text);
    expect(findings.map((f) => f.kind)).toEqual(['warn', 'rcu-stall', 'bad-access', 'warn']);
    expect(findings.map((f) => f.lineNumber)).toEqual([2, 8, 10, 16]);
    // The stall's excerpt stops before the oops: the oops is a failure of its own.
    expect(excerptLines(findings[1])).toEqual([
      'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:',
      'rcu: \t0-...!: (1 GPs behind) idle=d8c/0/0x1 softirq=1416/1417 fqs=0',
    ]);
    expect(verdict(findings)).toEqual({
      failed: true,
      summary:
        'kernel failure on the console: warn x2, rcu-stall, bad-access (first: BUG: kernel NULL pointer dereference, address: 0000000000000000)',
    });
  });

  it('reads a double fault and its die header as one incident', () => {
    const text = [
      '[    5.000000] traps: PANIC: double fault, error_code: 0x0',
      '[    5.000001] double fault: 0000 [#1] PREEMPT SMP NOPTI',
      '[    5.000002] CPU: 0 PID: 77 Comm: probe Not tainted 6.1.192 #1',
    ].join('\n');
    expect(scanConsole(text).map((f) => f.kind)).toEqual(['double-fault']);
  });

  it('finds a kernel line that userland output ran into', () => {
    const findings = scanConsole(
      'login: [   12.345678] BUG: kernel NULL pointer dereference, address: 0000000000000000\n',
    );
    expect(findings.map((f) => f.kind)).toEqual(['bad-access']);
    expect(findings[0]?.line).toBe('BUG: kernel NULL pointer dereference, address: 0000000000000000');
  });

  it('ends an excerpt at a new boot banner, which is a reset', () => {
    const banner =
      '[    0.000000] Linux version 3.9.11-patched (builder@syscall-lab) (gcc version 4.7.2 (Debian 4.7.2-5) ) #1 SMP Mon Jan 6 12:00:00 UTC 2025';
    const text = [
      banner,
      '[    3.000000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b',
      '[    3.000001] Pid: 1, comm: init Not tainted 3.9.11-patched #1',
      banner,
      '[    0.000000] Command line: console=ttyS0',
    ].join('\n');
    const findings = scanConsole(text);
    expect(findings.map((f) => f.kind)).toEqual(['panic', 'reset']);
    expect(excerptLines(findings[0])).toHaveLength(2);
  });

  it('takes any banner as a reset in text read after boot', () => {
    const text = 'probe: start\n[    0.000000] Linux version 6.1.192-patched-ab12cd34 (builder@syscall-lab) #1 SMP\n';
    expect(scanConsole(text)).toEqual([]);
    expect(scanConsole(text, { fromBoot: false }).map((f) => f.kind)).toEqual(['reset']);
  });

  it('ignores ANSI escapes from the firmware and getty', () => {
    const text =
      '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\n\x1b[1;31m[    1.000000] Kernel panic - not syncing: No working init found.\x1b[0m\n';
    const findings = scanConsole(text);
    expect(findings.map((f) => f.kind)).toEqual(['panic']);
    expect(findings[0]?.line).toBe('Kernel panic - not syncing: No working init found.');
  });

  const stamped = (lines: string[]): string =>
    lines.map((line, i) => `[   40.${String(100000 + i)}] ${line}`).join('\n');
  const dump61 = [
    'Modules linked in:',
    'CPU: 0 PID: 77 Comm: probe Not tainted 6.1.192-patched-ab12cd34 #1',
    'RIP: 0010:refcount_warn_saturate+0xba/0x110',
    'Call Trace:',
    ' <TASK>',
    ' __x64_sys_callcount+0x4e/0x90',
    ' </TASK>',
    '---[ end trace 0000000000000000 ]---',
  ];

  it('reads a refcount_t report and the WARNING: line after it (later kernels) as one incident named by the report', () => {
    const findings = scanConsole(
      stamped([
        '------------[ cut here ]------------',
        'refcount_t: underflow; use-after-free.',
        'WARNING: CPU: 0 PID: 77 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110',
        ...dump61,
      ]),
    );
    expect(findings.map((f) => [f.kind, f.severity, f.line, f.lineNumber])).toEqual([
      ['refcount', 'failure', 'refcount_t: underflow; use-after-free.', 2],
    ]);
    expect(excerptLines(findings[0]).at(-1)).toBe('---[ end trace 0000000000000000 ]---');
  });

  it('reads a WARNING: line and the refcount_t report after it (early 4.x) as one incident named by the report', () => {
    const findings = scanConsole(
      stamped([
        '------------[ cut here ]------------',
        'WARNING: CPU: 0 PID: 77 at lib/refcount.c:187 refcount_sub_and_test+0x45/0x50',
        'refcount_t: underflow; use-after-free.',
        ...dump61,
      ]),
    );
    expect(findings.map((f) => [f.kind, f.line, f.lineNumber])).toEqual([
      ['refcount', 'refcount_t: underflow; use-after-free.', 3],
    ]);
    // The evidence starts with the WARNING: line, which says where.
    expect(excerptLines(findings[0])[0]).toBe(
      'WARNING: CPU: 0 PID: 77 at lib/refcount.c:187 refcount_sub_and_test+0x45/0x50',
    );
    expect(verdict(findings).summary).toBe(
      'kernel failure on the console: refcount (first: refcount_t: underflow; use-after-free.)',
    );
  });

  it("reads 3.9's WARN() hard lockup as one hard-lockup warning", () => {
    const findings = scanConsole(
      stamped([
        '------------[ cut here ]------------',
        'WARNING: at kernel/watchdog.c:245 watchdog_overflow_callback+0x9c/0xd0()',
        'Hardware name: Bochs',
        'Watchdog detected hard LOCKUP on cpu 0',
        'Modules linked in:',
        'Pid: 0, comm: swapper/0 Not tainted 3.9.11-patched #1',
        'Call Trace:',
        ' <NMI>  [<ffffffff8103b1df>] warn_slowpath_common+0x7f/0xc0',
        '---[ end trace 4c1a6e0b9d2f3a58 ]---',
      ]),
    );
    expect(findings.map((f) => [f.kind, f.severity, f.line])).toEqual([
      ['hard-lockup', 'warning', 'Watchdog detected hard LOCKUP on cpu 0'],
    ]);
    expect(verdict(findings).failed).toBe(false);
  });

  it('keeps a report line far from a WARNING: line a separate incident', () => {
    const findings = scanConsole(
      stamped([
        'WARNING: CPU: 0 PID: 77 at mysyscalls/callcount.c:18 __x64_sys_callcount+0x3e/0x50',
        'Modules linked in:',
        'CPU: 0 PID: 77 Comm: probe Not tainted 6.1.192-patched-ab12cd34 #1',
        'RIP: 0010:__x64_sys_callcount+0x3e/0x50',
        'Call Trace:',
        'refcount_t: saturated; leaking memory.',
      ]),
    );
    expect(findings.map((f) => f.kind)).toEqual(['warn', 'refcount']);
  });

  it('reads "kernel BUG at" and its 6.9+ die header as one bug', () => {
    const findings = scanConsole(
      stamped([
        '------------[ cut here ]------------',
        'kernel BUG at mysyscalls/taskcount.c:21!',
        'Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI',
        ...dump61,
      ]),
    );
    expect(findings.map((f) => f.kind)).toEqual(['bug']);
  });

  it('reads a 6.9+ divide error, then the panic it caused', () => {
    const findings = scanConsole(
      stamped([
        'Oops: divide error: 0000 [#1] PREEMPT SMP NOPTI',
        ...dump61,
        'Kernel panic - not syncing: Fatal exception',
        '---[ end Kernel panic - not syncing: Fatal exception ]---',
      ]),
    );
    expect(findings.map((f) => f.kind)).toEqual(['divide-error', 'panic']);
  });

  it('ends a KASAN report at its closing ruler, and a panic_on_warn panic after it is its own', () => {
    const findings = scanConsole(
      stamped([
        '==================================================================',
        'BUG: KASAN: use-after-free in __x64_sys_callcount+0x3a/0x90',
        'Read of size 8 at addr ffff888004f8c3c0 by task probe/77',
        '',
        'CPU: 0 PID: 77 Comm: probe Not tainted 6.1.192-patched-ab12cd34 #1',
        'Call Trace:',
        ' <TASK>',
        ' </TASK>',
        '==================================================================',
        'Kernel panic - not syncing: KASAN: panic_on_warn set ...',
      ]),
    );
    expect(findings.map((f) => f.kind)).toEqual(['kasan', 'panic']);
    expect(excerptLines(findings[0]).at(-1)).toBe('==================================================================');
  });

  it('returns nothing for an empty log', () => {
    expect(scanConsole('')).toEqual([]);
  });
});

describe('ConsoleFile', () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'syscall-lab-console-'));
    path = join(dir, 'console.log');
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('marks 0 and reads nothing before QEMU has created the file', () => {
    const console = new ConsoleFile(path);
    expect(console.path).toBe(path);
    expect(console.mark()).toBe(0);
    expect(console.since()).toBe('');
    expect(console.since(10)).toBe('');
    expect(console.tail(5)).toBe('');
  });

  it('reads the whole log, or only what was written since a mark, without \\r', () => {
    const console = new ConsoleFile(path);
    const before = console.mark();
    writeFileSync(path, '[    0.000000] Linux version 6.1.192\r\nsyscall-lab-init: sshd started\r\n');
    const mark = console.mark();
    expect(mark).toBe(Buffer.byteLength('[    0.000000] Linux version 6.1.192\r\nsyscall-lab-init: sshd started\r\n'));
    appendFileSync(path, '[    7.214580] BUG: kernel NULL pointer dereference, address: 0000000000000000\r\n');
    expect(console.since(mark)).toBe(
      '[    7.214580] BUG: kernel NULL pointer dereference, address: 0000000000000000\n',
    );
    expect(console.since(before)).toBe(console.since());
    expect(console.since()).toContain('Linux version 6.1.192\nsyscall-lab-init');
    expect(console.since(console.mark())).toBe('');
    expect(scanConsole(console.since(mark), { fromBoot: false }).map((f) => f.kind)).toEqual(['bad-access']);
  });

  it('decodes invalid UTF-8 lossily, and a mark inside a character', () => {
    const console = new ConsoleFile(path);
    // "a", a stray 0xff, " b ", then "é" (c3 a9) and a newline.
    writeFileSync(path, Buffer.from([0x61, 0xff, 0x20, 0x62, 0x20, 0xc3, 0xa9, 0x0a]));
    expect(console.since()).toBe('a\ufffd b \u00e9\n');
    expect(console.since(6)).toBe('\ufffd\n');
  });

  it('reads the whole file again when it was started over (mark beyond its end)', () => {
    const console = new ConsoleFile(path);
    writeFileSync(path, 'first boot, a long line of output\n');
    const mark = console.mark();
    writeFileSync(path, 'second run\n');
    expect(console.since(mark)).toBe('second run\n');
  });

  it('returns the last lines with tail()', () => {
    const console = new ConsoleFile(path);
    writeFileSync(path, 'one\r\ntwo\r\nthree\r\nfour\r\n');
    expect(console.tail(2)).toBe('three\nfour');
    expect(console.tail(10)).toBe('one\ntwo\nthree\nfour');
    expect(console.tail(0)).toBe('');
    appendFileSync(path, 'partial');
    expect(console.tail(2)).toBe('four\npartial');
  });

  it('tails a log larger than one read chunk', () => {
    const console = new ConsoleFile(path);
    const lines = Array.from({ length: 20_000 }, (_, i) => `[ ${String(i).padStart(6, '0')}.000000] line ${i}`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    expect(console.tail(3)).toBe(lines.slice(-3).join('\n'));
    expect(console.tail(5000).split('\n')).toEqual(lines.slice(-5000));
  });
});
