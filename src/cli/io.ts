/** Shared pieces of the `esim` CLI: output/abort plumbing and the two error kinds (exit codes 2 and 1). */
import { CommanderError, type Command } from 'commander';

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

/**
 * A failure with its own exit code (the LPA commands: 3 eUICC/server refusal, 4 service unreachable,
 * 5 permission, 130 interrupted; see src/cli/output.ts). An empty message prints nothing.
 */
export class CliExitError extends Error {
  override readonly name = 'CliExitError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Apply exitOverride/output settings to every subcommand (commander does not inherit them all). */
function harden(cmd: Command, io: CliIo): void {
  for (const c of cmd.commands) {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
    c.showHelpAfterError('(run with --help for usage)');
    harden(c, io);
  }
}

/**
 * Run a commander program on `args` (without `node` and the script). Never throws; returns the exit code:
 * 0 ok (help and version included), 2 usage errors (commander's or CliUsageError), 1 any other failure.
 */
export async function runProgram(name: string, program: Command, args: readonly string[], io: CliIo): Promise<number> {
  harden(program, io);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (e instanceof CliExitError) {
      if (e.message) io.stderr(`${name}: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof CliUsageError) {
      io.stderr(`${name}: ${e.message}\n(run with --help for usage)\n`);
      return EXIT_USAGE;
    }
    io.stderr(`${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAILURE;
  }
}

/** A bin entry: run `run` on the process arguments, SIGINT/SIGTERM abort its signal, set the exit code. */
export function runAsProcess(name: string, run: (args: readonly string[], io: CliIo) => Promise<number>): void {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const io: CliIo = { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s), signal: ac.signal };
  run(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    },
    (e: unknown) => {
      process.stderr.write(`${name}: ${String(e)}\n`);
      process.exitCode = EXIT_FAILURE;
    },
  );
}
