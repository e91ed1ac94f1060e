import { existsSync, readFileSync } from 'node:fs';
import type { ConformanceResult } from '../report/model.ts';
import { itemResult, type ConformanceMode } from './checklist.ts';

/** A sparse warning that the __user annotations are wrong or missing (a pointer crossing address spaces). */
const addressSpace = /address space|__user|noderef|dereference of noderef/i;

/**
 * Judges what sparse said (upgrade-kernel.sh --sparse: `make C=2 FILE.o` after the patched build,
 * its output in the build's sparse.log): warnings about address spaces in the checked files are
 * findings, every other message is shown.
 */
export function sparseItem(logFile: string, files: string[], mode: ConformanceMode): ConformanceResult {
  if (files.length === 0)
    return itemResult('user-annotations', 'n/a', 'the series adds or changes no .c file', '', mode);
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  if (log.trim() === 'sparse-missing')
    return itemResult(
      'user-annotations',
      'fail',
      'sparse is not installed, so the __user annotations were not checked (fix: apt-get install sparse)',
      '',
      mode,
    );
  if (!log.includes('== '))
    return itemResult(
      'user-annotations',
      'fail',
      `no sparse output in ${logFile}: the files were not checked`,
      '',
      mode,
    );
  // kbuild prints "CHECK   <file>" for each file sparse looked at: a file without one was not checked.
  const checked = new Set(log.split('\n').map((line) => /^\s+CHECK\s+(\S+)$/.exec(line)?.[1]));
  const unchecked = files.filter((file) => !checked.has(file));
  // Newer kernels refuse an older sparse (Linux 7.2 refuses Debian 12's 0.6.4) and check nothing.
  const refused = /C=2 specified, but sparse is not available or not up to date/.exec(log)?.[0];
  if (refused)
    return itemResult(
      'user-annotations',
      'fail',
      `not checked: the kernel's Makefile says "${refused}" (fix: a newer sparse, or --conformance off for this kernel)`,
      log,
      mode,
    );
  if (unchecked.length > 0)
    return itemResult(
      'user-annotations',
      'fail',
      `sparse did not check ${unchecked.join(', ')} (not built in this configuration?)`,
      log,
      mode,
    );
  const messages = log.split('\n').filter((line) => /^[^\s=].*:\d+:\d+: (warning|error):/.test(line));
  const ours = (line: string): boolean => files.some((file) => line.startsWith(`${file}:`));
  const findings = messages.filter((line) => ours(line) && addressSpace.test(line));
  // sparse puts the expected and the actual type on the lines after an address-space warning.
  const evidence = log
    .split('\n')
    .filter((line) => !line.startsWith('  CHECK') && line.trim() !== '')
    .join('\n');
  return findings.length === 0
    ? itemResult(
        'user-annotations',
        'pass',
        `sparse: no address-space warning in ${files.join(', ')} (${messages.length} other messages)`,
        messages.length > 0 ? evidence : '',
        mode,
      )
    : itemResult('user-annotations', 'fail', findings.join('; '), evidence, mode);
}
