/**
 * Live progress on stderr: one line per phase, and while a long phase runs a status line
 * (phase, elapsed, what it counted) rewritten in place on a terminal, printed every 30 s elsewhere.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private lastPrinted = 0;
  private status = '';
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly label: string) {}

  info(message: string): void {
    this.clear();
    process.stderr.write(`[${this.label}] ${message}\n`);
  }

  /** Starts a status line refreshed from `describe` until stop(). */
  live(describe: () => string): void {
    this.stop();
    const started = Date.now();
    const tick = (): void => {
      const seconds = Math.round((Date.now() - started) / 1000);
      this.status = `[${this.label}] ${describe()} ${formatDuration(seconds)}`;
      if (this.tty) {
        process.stderr.write(`\r\x1b[K${this.status}`);
      } else if (Date.now() - this.lastPrinted >= 30_000) {
        this.lastPrinted = Date.now();
        process.stderr.write(`${this.status}\n`);
      }
    };
    this.lastPrinted = Date.now();
    this.timer = setInterval(tick, 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private clear(): void {
    if (this.tty && this.status) process.stderr.write('\r\x1b[K');
    this.status = '';
  }
}

export function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}
