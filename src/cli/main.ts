#!/usr/bin/env node
/**
 * `esim`: the esimkit command line. For now only the `card` group (the software eUICC); the full CLI
 * (LPA, SM-DP+, service) arrives with later issues.
 *
 * Exit codes: 0 success, 1 failure (the command could not do its job), 2 usage (bad arguments).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerCardCommands } from './card.js';
import { CliUsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIo } from './io.js';

export { CliFailure, CliUsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIo } from './io.js';

export function createProgram(io: CliIo): Command {
  const program = new Command('esim');
  program
    .description('esimkit: GSMA SGP.22 consumer eSIM toolkit (software eUICC, LPA, SM-DP+)')
    .version('0.1.0', '-V, --version')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .exitOverride();
  registerCardCommands(program, io);
  program.addHelpText(
    'after',
    `
Examples:
  esim card create --state card.db
  esim card serve --state card.db --vpcd 127.0.0.1:35963`,
  );
  return program;
}

/** Apply exitOverride/output settings to every subcommand (commander does not inherit them all). */
function harden(cmd: Command, io: CliIo): void {
  for (const c of cmd.commands) {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
    c.showHelpAfterError('(run with --help for usage)');
    harden(c, io);
  }
}

/** Run the CLI on `args` (without `node` and the script). Never throws; returns the exit code. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  harden(program, io);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help / version displayed: exitCode 0; everything else commander reports is a usage error
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (e instanceof CliUsageError) {
      io.stderr(`esim: ${e.message}\n(run with --help for usage)\n`);
      return EXIT_USAGE;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr(`esim: ${msg}\n`);
    return EXIT_FAILURE;
  }
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const io: CliIo = {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    signal: ac.signal,
  };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    },
    (e: unknown) => {
      process.stderr.write(`esim: ${String(e)}\n`);
      process.exitCode = EXIT_FAILURE;
    },
  );
}
