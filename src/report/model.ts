/** What one run (one kernel) produced: the data behind the summary, JSON and JUnit reports. */
export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface SubResult {
  name: string;
  status: CheckStatus;
}

export interface CheckResult {
  name: string;
  status: CheckStatus;
  expected: string;
  actual: string;
  /** Evidence: samples, compiler messages, an oops excerpt, the reason for a skip. */
  details: string;
  /** KTAP lines a userland test printed, one sub-result each. */
  subresults?: SubResult[];
  /** When the check started (ISO 8601) and how long it took, in seconds. */
  started?: string;
  seconds?: number;
  /** A result remembered (a stock control from an earlier run, a kept VM's earlier checks): where and when it ran. */
  cachedFrom?: { run: string; date: string };
  /** false: --check named other checks, so this one ran and is shown but does not judge the run. */
  judged?: false;
}

/** Results remembered for reuse, with the run folder and date they came from. */
export interface RememberedResults {
  results: CheckResult[];
  run: string;
  date: string;
}

export interface PhaseTiming {
  name: string;
  seconds: number;
  cached: boolean;
}

export interface KernelInfo {
  /** What the user asked for: a version or a path. */
  requested: string;
  /** The version read from the source's Makefile. */
  version: string;
  source: string;
  /** A Debian source: its package and the Debian version fetched. */
  debian?: { package: string; version: string };
  /** The series chosen for this kernel, as given (before regeneration). */
  series?: string;
  /** Whether the series' syscall registration was regenerated for this kernel. */
  regenerated?: boolean;
  patches: string[];
  /** The new syscalls and their numbers on this kernel (from its patched syscall table). */
  syscalls?: { name: string; number: number }[];
  stockRelease?: string;
  patchedRelease?: string;
  /** A git kernel tree (--kernel TREE): the commits its stock and patched kernels are. */
  git?: GitInfo;
}

/** A git kernel tree's run: `base` (stock: A of --commits A..B, else HEAD) and the commit judged. */
export interface GitInfo {
  repository: string;
  base: string;
  /** --commits: the commit the patched kernel is, and its subject (absent: the tree's HEAD and --patches). */
  commit?: string;
  subject?: string;
  /** The uncommitted changes were added to this patched build (--dirty). */
  dirty: boolean;
}

/** A conformance item's outcome: `n/a` when the rule does not apply (a 64-bit-only syscall's 32-bit items). */
export type ConformanceStatus = 'pass' | 'fail' | 'n/a';

/** One item of adding-syscalls.rst's checklist, judged statically or by a generated runtime check. */
export interface ConformanceResult {
  /** `conformance:<item>` (static) or `conformance:<item>:<syscall>[:<argument>]` (runtime). */
  name: string;
  status: ConformanceStatus;
  /** Whether a failure fails the run (--conformance fail) or is only shown (warn). */
  enforced: boolean;
  /** The rule, in one sentence, and where it comes from. */
  rule: string;
  section: string;
  actual: string;
  /** Evidence: the tool's findings, the probe's output, the lines shown beside the findings. */
  details: string;
}

export interface RunReport {
  kernel: KernelInfo;
  backend: string;
  accel: string;
  phases: PhaseTiming[];
  checks: CheckResult[];
  /** adding-syscalls.rst's checklist (--conformance warn|fail), apart from the functional checks. */
  conformance?: ConformanceResult[];
  logs: { console: string[]; build: string[] };
  /** A one-line command that reproduces this run. */
  reproduce: string;
  /** Set when the run stopped before its checks finished (infrastructure, a boot panic). */
  error?: string;
}
