/**
 * Exit codes: 0 every check passed, 1 a check failed, 2 bad input, 3 infrastructure; under
 * `run --bisect` (for `git bisect run`) 125 this commit cannot be tested and 128 stop the bisection.
 */
export const ExitCode = { ok: 0, checkFailed: 1, badInput: 2, infrastructure: 3, cannotTest: 125, abort: 128 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Failures that share an exit code with others but that `run --bisect` must tell apart
 * (src/stages/bisect-exit.ts): tagged where they are found, by withKind.
 */
export type FailureKind = 'series-does-not-apply' | 'stock-build' | 'patched-build' | 'stock-crash';

/** An error that names its cause and the fix, and says which exit code it means. */
export class LabError extends Error {
  /** Which of the FailureKinds this is, if one. */
  kind?: FailureKind;

  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly fix?: string,
    /** Evidence kept with the error: a console tail, the end of a build log. */
    readonly details?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadInputError extends LabError {
  constructor(message: string, fix?: string) {
    super(message, ExitCode.badInput, fix);
  }
}

export class InfrastructureError extends LabError {
  constructor(message: string, fix?: string, details?: string) {
    super(message, ExitCode.infrastructure, fix, details);
  }
}

/** A bounded wait ran out. */
export class TimeoutError extends InfrastructureError {}

/** `error`, tagged as a failure of that kind. */
export function withKind<E extends LabError>(error: E, kind: FailureKind): E {
  error.kind = kind;
  return error;
}
