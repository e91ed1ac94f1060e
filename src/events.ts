import type { RequirementStatus } from './doctor.ts';
import type { BisectVerdict } from './report/bisect-verdict.ts';
import type { CheckResult, ConformanceResult, PhaseTiming, RunReport } from './report/model.ts';

/**
 * What syscall-lab tells its user while it works, as data. Stages and machines emit events;
 * src/render.ts is the one place that turns them into terminal output. `scope` names what an
 * event is about (a kernel such as "6.1", or "6.1 stock" for one of its builds); events without
 * a scope concern the whole command.
 */
export type LabEvent =
  /** A line of progress ("booting 6.1.192-stock (qemu, tcg)"). */
  | { type: 'info'; scope?: string; text: string }
  /** Something the user should know but that does not stop the run (a fallback, a skipped optional tool). */
  | { type: 'notice'; scope?: string; text: string }
  /** Something went wrong on the side (a VM that could not be destroyed); the run goes on. */
  | { type: 'warning'; scope?: string; text: string }
  /** A phase of a run began; its live status line shows the phase until a status event refines it. */
  | { type: 'phase-start'; scope: string; name: string }
  | { type: 'phase-end'; scope: string; phase: PhaseTiming }
  /** The live status line: what is going on now, with the time elapsed since `since` (epoch ms). */
  | { type: 'status'; scope: string; text: string; since: number }
  | { type: 'status-end'; scope: string }
  /** Ctrl-C or SIGTERM: what is running is being stopped, temporary files removed. */
  | { type: 'interrupted'; signal: string }
  /** One result of a check, as soon as it is known. */
  | { type: 'check'; scope: string; result: CheckResult }
  /** One item of adding-syscalls.rst's checklist, as soon as it is judged. */
  | { type: 'conformance'; scope: string; result: ConformanceResult }
  /** `watch`: one round's verdict, a line on stdout (`label`: "round 2"). */
  | { type: 'verdict'; label: string; report: RunReport }
  /**
   * The reports of every kernel, at the end: the summary the user reads on stdout, or on stderr
   * when a report goes to stdout (`--json -`, `--junit -`), so that stdout holds the report alone.
   */
  | { type: 'summary'; reports: RunReport[]; toStderr?: boolean }
  /** `--json -` / `--junit -`: the report itself, written to stdout as it is. */
  | { type: 'report-stream'; text: string }
  /** `--dry-run`: one fact of the plan (a source, a build, a boot, a check), a plain line on stdout. */
  | { type: 'plan'; scope?: string; text: string }
  /**
   * `run --each`: after the summary (and where it goes), the first commit of the range whose build or
   * checks failed; none: no judged commit failed (`judged` of `commits` got a verdict).
   */
  | {
      type: 'first-failing-commit';
      commit?: { sha: string; subject: string };
      judged: number;
      commits: number;
      toStderr?: boolean;
    }
  /** `syscall-lab bisect`: after the summary (and where it goes), the first bad commit and its evidence. */
  | { type: 'bisect-verdict'; verdict: BisectVerdict; toStderr?: boolean }
  /** `syscall-lab build`'s result: one kernel in the cache (stdout). */
  | { type: 'built'; release: string; dir: string; cached: boolean }
  /** `syscall-lab box build`'s result (stdout). */
  | { type: 'box'; name: string; file: string }
  /** `syscall-lab doctor`'s result (stdout). */
  | { type: 'doctor'; statuses: RequirementStatus[] }
  /** `syscall-lab doctor --apt-packages`: every requirement's package, one line for `apt-get install` (stdout). */
  | { type: 'apt-packages'; packages: string[] }
  /**
   * `syscall-lab report merge`: the runs of several JSON reports as one (stdout), as JSON or as the
   * Markdown kernels × checks table, whose failures link to `consoleLogUrl` (filled in per run) when given.
   */
  | { type: 'merged-reports'; reports: RunReport[]; format: 'json' | 'markdown'; consoleLogUrl?: string }
  /** `syscall-lab report annotate`: GitHub's `::error`/`::warning` lines for the reports' failures (stdout). */
  | { type: 'annotations'; reports: RunReport[] };

export type Emit = (event: LabEvent) => void;

/** Drops every event: for callers that report nothing (a library use, a unit test that does not look). */
export const silent: Emit = () => undefined;

/**
 * Times the phases of one run: emits their start and end, and keeps their timings for the
 * report (the JSON's `phases`, the summary's phases line).
 */
export class PhaseClock {
  readonly phases: PhaseTiming[] = [];

  constructor(
    private readonly scope: string,
    private readonly emit: Emit,
  ) {}

  async time<T>(name: string, work: () => Promise<T>, cached: (value: T) => boolean = () => false): Promise<T> {
    const started = Date.now();
    this.emit({ type: 'phase-start', scope: this.scope, name });
    try {
      const value = await work();
      this.record({ name, seconds: elapsedSeconds(started), cached: cached(value) });
      return value;
    } finally {
      this.emit({ type: 'status-end', scope: this.scope });
    }
  }

  /** A phase measured elsewhere (the patch check of a whole matrix runs before the first build). */
  record(phase: PhaseTiming): void {
    this.phases.push(phase);
    this.emit({ type: 'phase-end', scope: this.scope, phase });
  }
}

/** Seconds since `started` (epoch ms), to a tenth. */
export function elapsedSeconds(started: number, now = Date.now()): number {
  return Math.round((now - started) / 100) / 10;
}
