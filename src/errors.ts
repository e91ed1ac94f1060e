/** Exit codes: 0 every check passed, 1 a check failed, 2 bad input, 3 infrastructure. */
export const ExitCode = { ok: 0, checkFailed: 1, badInput: 2, infrastructure: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that names its cause and the fix, and says which exit code it means. */
export class LabError extends Error {
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
