import { formatDoctor } from './doctor.ts';
import type { Emit, LabEvent } from './events.ts';
import type { CheckStatus } from './report/model.ts';
import { githubAnnotations } from './report/annotations.ts';
import { formatBisectVerdict } from './report/bisect-verdict.ts';
import { toJson } from './report/json.ts';
import { formatMarkdownMatrix } from './report/markdown.ts';
import {
  conformanceLabel,
  formatFirstFailingCommit,
  formatSummary,
  formatVerdictLine,
  notJudgedMark,
} from './report/summary.ts';

/** Where rendered text goes: process.stdout/stderr, or a buffer in tests. */
export interface TextStream {
  write(text: string): unknown;
}

export interface RenderOptions {
  /** The summary (the report a user or a script reads). */
  stdout: TextStream;
  /** Progress, notices, check lines. */
  stderr: TextStream;
  /** stderr is a terminal: one status line rewritten in place, colours unless `color` is false. */
  tty: boolean;
  /** Only warnings and the summary. */
  quiet: boolean;
  /** Colour the status words (off with NO_COLOR, and always off when not a terminal). */
  color: boolean;
  /** How often a status line is printed when stderr is not a terminal (ms). */
  plainStatusEvery?: number;
  now?: () => number;
}

export interface Renderer {
  emit: Emit;
  /** --quiet, known once the options are parsed. */
  quiet: boolean;
  /** Stops the status line's timer and clears the line. */
  close(): void;
}

const STATUS_COLOR: Record<CheckStatus, string> = { pass: '\x1b[32m', fail: '\x1b[31m', skip: '\x1b[33m' };
const RESET = '\x1b[0m';
const CONFORMANCE_COLOR: Record<ReturnType<typeof conformanceLabel>, string> = {
  PASS: STATUS_COLOR.pass,
  FAIL: STATUS_COLOR.fail,
  WARN: '\x1b[33m',
  'N/A': '\x1b[2m',
};

/**
 * The one place that writes syscall-lab's output. Every other module emits events (src/events.ts).
 * On a terminal the live status shows as one line rewritten every second; elsewhere (CI logs) it
 * is printed every 30 s, so a log shows a long build is alive without filling up.
 */
export function createRenderer(options: RenderOptions): Renderer {
  const now = options.now ?? Date.now;
  const plainEvery = options.plainStatusEvery ?? 30_000;
  const color = options.tty && options.color;
  let status: { scope: string; text: string; since: number } | undefined;
  let shown = false;
  let lastPlain = 0;
  let timer: NodeJS.Timeout | undefined;

  const line = (text: string): void => {
    clearStatus();
    options.stderr.write(`${text}\n`);
  };
  const clearStatus = (): void => {
    if (shown) options.stderr.write('\r\x1b[K');
    shown = false;
  };
  const statusText = (): string => {
    if (!status) return '';
    return `[${status.scope}] ${status.text} ${formatDuration((now() - status.since) / 1000)}`;
  };
  const tick = (): void => {
    if (!status || renderer.quiet) return;
    if (options.tty) {
      options.stderr.write(`\r\x1b[K${statusText()}`);
      shown = true;
    } else if (now() - lastPlain >= plainEvery) {
      lastPlain = now();
      options.stderr.write(`${statusText()}\n`);
    }
  };
  const setStatus = (next: typeof status): void => {
    const fresh = status === undefined;
    status = next;
    if (fresh) lastPlain = now();
    timer ??= setInterval(tick, 1000).unref();
  };
  const endStatus = (): void => {
    status = undefined;
    clearStatus();
  };
  const prefixed = (scope: string | undefined, text: string): string =>
    scope === undefined ? `syscall-lab: ${text}` : `[${scope}] ${text}`;
  const statusWord = (value: CheckStatus): string =>
    color ? `${STATUS_COLOR[value]}${value.toUpperCase()}${RESET}` : value.toUpperCase();

  const emit = (event: LabEvent): void => {
    switch (event.type) {
      case 'summary':
        endStatus();
        (event.toStderr ? options.stderr : options.stdout).write(formatSummary(event.reports));
        return;
      case 'report-stream':
        options.stdout.write(event.text);
        return;
      case 'plan':
        options.stdout.write(`${event.scope === undefined ? '' : `[${event.scope}] `}${event.text}\n`);
        return;
      case 'verdict':
        endStatus();
        options.stdout.write(formatVerdictLine(event.label, event.report));
        return;
      case 'first-failing-commit':
        (event.toStderr ? options.stderr : options.stdout).write(`${formatFirstFailingCommit(event)}\n`);
        return;
      case 'bisect-verdict':
        (event.toStderr ? options.stderr : options.stdout).write(`${formatBisectVerdict(event.verdict).join('\n')}\n`);
        return;
      case 'built':
        options.stdout.write(`${event.release}: ${event.dir}${event.cached ? ' (cached)' : ''}\n`);
        return;
      case 'box':
        options.stdout.write(`${event.name}: ${event.file}\n`);
        return;
      case 'doctor':
        options.stdout.write(`${formatDoctor(event.statuses)}\n`);
        return;
      case 'apt-packages':
        options.stdout.write(`${event.packages.join(' ')}\n`);
        return;
      case 'merged-reports':
        options.stdout.write(
          event.format === 'json'
            ? toJson(event.reports)
            : formatMarkdownMatrix(event.reports, { consoleLogUrl: event.consoleLogUrl }),
        );
        return;
      case 'annotations':
        options.stdout.write(
          githubAnnotations(event.reports)
            .map((annotation) => `${annotation}\n`)
            .join(''),
        );
        return;
      case 'warning':
        line(prefixed(event.scope, `warning: ${event.text}`));
        return;
      case 'interrupted':
        line(`\nsyscall-lab: ${event.signal}: stopping VMs and builds, removing temporary files`);
        return;
      case 'status-end':
      case 'phase-end':
        endStatus();
        return;
    }
    if (renderer.quiet) return;
    switch (event.type) {
      case 'info':
        line(prefixed(event.scope, event.text));
        return;
      case 'notice':
        line(prefixed(event.scope, `notice: ${event.text}`));
        return;
      case 'phase-start':
        setStatus({ scope: event.scope, text: event.name, since: now() });
        return;
      case 'status':
        setStatus({ scope: event.scope, text: event.text, since: event.since });
        return;
      case 'check':
        line(
          `[${event.scope}] ${statusWord(event.result.status)} ${event.result.name}${notJudgedMark(event.result)}: ${event.result.actual}`,
        );
        return;
      case 'conformance': {
        const label = conformanceLabel(event.result);
        const colored = color ? `${CONFORMANCE_COLOR[label]}${label}${RESET}` : label;
        line(`[${event.scope}] ${colored} ${event.result.name}: ${event.result.actual}`);
        return;
      }
    }
  };

  const renderer: Renderer = {
    emit,
    quiet: options.quiet,
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      endStatus();
    },
  };
  return renderer;
}

/** 75 -> "1m15s", 9 -> "9s". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const m = Math.floor(whole / 60);
  const s = whole % 60;
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}
