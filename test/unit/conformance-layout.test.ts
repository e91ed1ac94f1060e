import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareLayout, layoutProgram, layoutValues, membersOf, uapiHeaders } from '../../src/conformance/layout.ts';
import { layoutQuestions, registrationItems } from '../../src/conformance/registration-items.ts';
import { readSeriesFacts } from '../../src/conformance/series-facts.ts';

const scratch = mkdtempSync(join(tmpdir(), 'syscall-lab-layout-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** A series that adds include/uapi/linux/lab.h with `body`, and lab(2) taking a pointer to `type`. */
function series(body: string, type: string, compat = false): { name: string; text: string }[] {
  const header = ['#include <linux/types.h>', ...body.split('\n')];
  const text = `From: test
Subject: [PATCH] add lab

diff --git a/include/uapi/linux/lab.h b/include/uapi/linux/lab.h
--- /dev/null
+++ b/include/uapi/linux/lab.h
@@ -0,0 +1,${header.length} @@
${header.map((line) => `+${line}`).join('\n')}
diff --git a/arch/x86/entry/syscalls/syscall_64.tbl b/arch/x86/entry/syscalls/syscall_64.tbl
--- a/arch/x86/entry/syscalls/syscall_64.tbl
+++ b/arch/x86/entry/syscalls/syscall_64.tbl
@@ -1,1 +1,2 @@
 450\tcommon\tset_mempolicy_home_node\tsys_set_mempolicy_home_node
+451\tcommon\tlab\t\t\tsys_lab
diff --git a/arch/x86/entry/syscalls/syscall_32.tbl b/arch/x86/entry/syscalls/syscall_32.tbl
--- a/arch/x86/entry/syscalls/syscall_32.tbl
+++ b/arch/x86/entry/syscalls/syscall_32.tbl
@@ -1,1 +1,2 @@
 450\ti386\tset_mempolicy_home_node\t\tsys_set_mempolicy_home_node
+451\ti386\tlab\t\t\tsys_lab${compat ? '\t\t\tcompat_sys_lab' : ''}
diff --git a/lab/lab.c b/lab/lab.c
--- /dev/null
+++ b/lab/lab.c
@@ -0,0 +1,4 @@
+#include <linux/syscalls.h>
+#include <uapi/linux/lab.h>
+
+SYSCALL_DEFINE1(lab, ${type} __user *, arg)
`;
  return [{ name: '0001-lab.patch', text }];
}

const x86Item = (patches: { name: string; text: string }[], layouts: Parameters<typeof registrationItems>[3]) =>
  registrationItems(readSeriesFacts(patches), '6.1.192', 'warn', layouts).find(
    (item) => item.name === 'conformance:x86-32-entry',
  );

describe('the layout of a struct argument between i386 and x86-64 (gcc -m32 and -m64)', () => {
  it('reads the headers a series creates and the members of a struct', () => {
    const headers = uapiHeaders(
      series('struct lab_arg {\n\t__u32 a; /* first */\n\t__u64 b[2];\n};', 'struct lab_arg'),
    );
    expect([...headers.keys()]).toEqual(['linux/lab.h']);
    expect(membersOf('struct lab_arg', headers)).toEqual(['a', 'b']);
    expect(membersOf('struct other', headers)).toBe('struct other is not defined in a uapi header the series adds');
    const bits = uapiHeaders(series('struct lab_bits { __u32 a : 3; };', 'struct lab_bits'));
    expect(membersOf('struct lab_bits', bits)).toMatch(/bit-field/);
    expect(layoutProgram('struct lab_arg', ['a'], ['linux/lab.h'])).toContain('\toffsetof(struct lab_arg, a),');
  });

  it("reads the layout array out of gcc's assembly: .long (i386), .quad (x86-64), zeros folded into .zero", () => {
    const i386 = [
      '\t.globl\tsyscall_lab_layout',
      'syscall_lab_layout:',
      '\t.long\t12',
      '\t.zero\t8',
      '\t.long\t4',
      '\t.ident\t"GCC"',
    ];
    expect(layoutValues(i386.join('\n'))).toEqual([12, 0, 0, 4]);
    expect(layoutValues('syscall_lab_layout:\n\t.quad\t16\n\t.quad\t0\n\t.quad\t8\n\t.section\t.note')).toEqual([
      16, 0, 8,
    ]);
    expect(layoutValues('main:\n\tret\n')).toEqual([]);
  });

  it('finds a __u64 after a __u32 at offset 4 on i386 and 8 on x86-64: x86-32-entry fails without compat_sys_', async () => {
    const patches = series('struct lab_arg {\n\t__u32 a;\n\t__u64 b;\n};', 'struct lab_arg');
    expect(layoutQuestions(readSeriesFacts(patches))).toEqual(['struct lab_arg']);
    const layout = await compareLayout('struct lab_arg', uapiHeaders(patches), scratch);
    expect(layout).toEqual({
      kind: 'differs',
      detail: 'struct lab_arg: i386 sizeof 12, a 0, b 4; x86-64 sizeof 16, a 0, b 8',
    });
    const item = x86Item(patches, new Map([['struct lab_arg', layout]]));
    expect(item?.status).toBe('fail');
    expect(item?.actual).toBe(
      'lab: i386 entry without compat_sys_lab, but arg (struct lab_arg __user *) differs between i386 and x86-64',
    );
    expect(item?.details).toBe(layout.detail);
    // With a compat entry point there is nothing to compare, and the item passes.
    const withCompat = series('struct lab_arg {\n\t__u32 a;\n\t__u64 b;\n};', 'struct lab_arg', true);
    expect(layoutQuestions(readSeriesFacts(withCompat))).toEqual([]);
    expect(x86Item(withCompat, new Map())?.status).toBe('pass');
  });

  it('finds one layout for two __u64 and passes x86-32-entry without compat_sys_', async () => {
    const patches = series('struct lab_arg {\n\t__u64 a;\n\t__u64 b;\n};', 'struct lab_arg');
    const layout = await compareLayout('struct lab_arg', uapiHeaders(patches), scratch);
    expect(layout).toEqual({ kind: 'same', detail: 'struct lab_arg: sizeof 16, a 0, b 8 on both' });
    expect(x86Item(patches, new Map([['struct lab_arg', layout]]))?.status).toBe('pass');
  });

  it('fails x86-32-entry, saying why, when the layout cannot be compared (a bit-field, a type the series does not define)', async () => {
    const patches = series('struct lab_bits { __u32 a : 3; };', 'struct lab_bits');
    const layout = await compareLayout('struct lab_bits', uapiHeaders(patches), scratch);
    expect(layout.kind).toBe('unknown');
    const item = x86Item(patches, new Map([['struct lab_bits', layout]]));
    expect(item?.status).toBe('fail');
    expect(item?.actual).toMatch(
      /^lab: i386 entry without compat_sys_lab, and cannot tell whether arg \(struct lab_bits __user \*\): struct lab_bits has a bit-field/,
    );
  });
});
