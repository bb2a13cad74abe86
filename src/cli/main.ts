#!/usr/bin/env node
/**
 * `esim`: the esimkit command line. For now only the `card` group (the software eUICC); the full CLI
 * (LPA, SM-DP+, service) arrives with later issues.
 *
 * Exit codes: 0 success, 1 failure (the command could not do its job), 2 usage (bad arguments).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerAppsCommands } from './apps.js';
import { registerCardCommands } from './card.js';
import { registerChipCommands } from './chip.js';
import { registerCompletionCommand } from './completion.js';
import { registerDeviceCommands } from './device.js';
import { runAsProcess, runProgram, type CliIo } from './io.js';
import { registerNotificationCommands } from './notification.js';
import { registerOsuCommands } from './osu.js';
import { registerProfileCommands } from './profile.js';
import { registerServeCommand } from './serve.js';

export { CliExitError, CliFailure, CliUsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIo } from './io.js';
export { EXIT, type LpaIo } from './output.js';

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
  registerServeCommand(program, io);
  registerAppsCommands(program, io);
  registerDeviceCommands(program, io);
  registerChipCommands(program, io);
  registerProfileCommands(program, io);
  registerNotificationCommands(program, io);
  registerOsuCommands(program, io);
  registerCompletionCommand(program, io);
  program.addHelpText(
    'after',
    `
Examples:
  esim card create --state card.db
  esim card serve --state card.db --vpcd 127.0.0.1:35963
  esim serve
  esim apps add com.example.esim --system --grant GET SET
  esim device factory-reset --yes
  esim chip info
  esim profile list --json
  esim profile download -a 'LPA:1$smdp.example.com$MATCHING-ID' --preview
  source <(esim completion bash)`,
  );
  return program;
}

/** Run the CLI on `args` (without `node` and the script). Never throws; returns the exit code. */
export function runCli(args: readonly string[], io: CliIo): Promise<number> {
  return runProgram('esim', createProgram(io), args, io);
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

if (isMain()) runAsProcess('esim', runCli);
