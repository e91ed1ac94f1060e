import { BadInputError } from '../errors.ts';

/**
 * upgrade-kernel.sh reports a failure as one line, "upgrade-kernel.sh: error: CAUSE (fix: FIX)",
 * and its exit code says whose fault it is (sysexits.h): these mean the input was bad.
 */
export const scriptBadInputCodes: ReadonlySet<number> = new Set([2, 65, 66, 78]);

/** The script's error line in its output, without the prefix. */
export function scriptErrorLine(output: string): string | undefined {
  const prefix = 'upgrade-kernel.sh: error: ';
  return output
    .split('\n')
    .find((line) => line.startsWith(prefix))
    ?.slice(prefix.length);
}

/** An error line's cause and its "(fix: ...)", apart. */
export function causeAndFix(errorLine: string): { cause: string; fix?: string } {
  const match = /^(.*) \(fix: (.*)\)$/s.exec(errorLine);
  return { cause: match?.[1] ?? errorLine, ...(match?.[2] !== undefined && { fix: match[2] }) };
}

/** The script's error as a BadInputError, cause and fix apart. */
export function scriptBadInput(errorLine: string): BadInputError {
  const { cause, fix } = causeAndFix(errorLine);
  return new BadInputError(cause, fix);
}
