import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { ConsoleLog } from './machine.ts';

/** The console log QEMU writes (`-serial file:PATH` or a file chardev), read as it grows. */
export class ConsoleFile implements ConsoleLog {
  /** Set by a machine whose boots share one file (Vagrant), or that attaches to a running one. */
  bootStart = 0;

  constructor(readonly path: string) {}

  /** Current size in bytes; 0 before QEMU has created the file, so a mark taken before boot is valid. */
  mark(): number {
    try {
      return statSync(this.path).size;
    } catch (error) {
      if (isMissing(error)) return 0;
      throw error;
    }
  }

  /**
   * Text from byte offset `mark` to the current end (the whole log when omitted).
   * Read synchronously: checks call it right after a command returns, and a partial line
   * at the end is harmless to the scanner. Decoded as lossy UTF-8 (a mark can fall inside a
   * multi-byte character, and the serial line carries whatever userland writes) with `\r`
   * removed (the 8250 console writes CRLF).
   */
  since(mark = 0): string {
    return readOpen(this.path, (fd) => {
      const size = fstatSync(fd).size;
      // A mark beyond the end means the file was started over (a new QEMU run truncated it):
      // everything in it is then newer than the mark.
      const start = mark > size ? 0 : Math.max(0, mark);
      return decode(readRange(fd, start, size));
    });
  }

  /** Text from byte offset `from` to byte offset `to` (marks), decoded as since() does. */
  between(from: number, to: number): string {
    return readOpen(this.path, (fd) => decode(readRange(fd, Math.max(0, from), Math.max(from, to))));
  }

  /**
   * The last `lines` lines of the log, for error details. Reads backwards from the end in
   * chunks, so a long-running VM's multi-megabyte log is not read whole for a few lines.
   */
  tail(lines: number): string {
    if (lines <= 0) return '';
    return readOpen(this.path, (fd) => {
      const size = fstatSync(fd).size;
      const chunk = 64 * 1024;
      let start = size;
      let newlines = 0;
      const parts: Buffer[] = [];
      // One newline more than the lines wanted: the line before the first kept one must end.
      // A final newline ends the last line and does not start another, hence the +1 again.
      while (start > 0 && newlines <= lines + 1) {
        const from = Math.max(0, start - chunk);
        const part = readRange(fd, from, start);
        for (const byte of part) if (byte === 0x0a) newlines++;
        parts.unshift(part);
        start = from;
      }
      const all = decode(Buffer.concat(parts)).split('\n');
      if (all.length > 0 && all[all.length - 1] === '') all.pop();
      return all.slice(-lines).join('\n');
    });
  }
}

/** `read` on the file opened for reading, closed afterwards; '' while the file does not exist yet. */
function readOpen(path: string, read: (fd: number) => string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if (isMissing(error)) return '';
    throw error;
  }
  try {
    return read(fd);
  } finally {
    closeSync(fd);
  }
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT';
}

function readRange(fd: number, start: number, end: number): Buffer {
  const buffer = Buffer.alloc(Math.max(0, end - start));
  let done = 0;
  while (done < buffer.length) {
    const n = readSync(fd, buffer, done, buffer.length - done, start + done);
    if (n === 0) break; // the file shrank while reading: keep what was there
    done += n;
  }
  return buffer.subarray(0, done);
}

function decode(bytes: Buffer): string {
  return bytes.toString('utf8').replace(/\r/g, '');
}
