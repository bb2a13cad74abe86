/** Shared pieces of the `esim` CLI: output/abort plumbing and the two error kinds (exit codes 2 and 1). */

/** Where the CLI writes, and what stops long-running commands (card serve). */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Aborted on SIGINT/SIGTERM (real process) or by a test. */
  readonly signal?: AbortSignal;
}

/** Bad arguments: exit code 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** The command failed: exit code 1. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
