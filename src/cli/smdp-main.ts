#!/usr/bin/env node
/** Bin entry of `esim-smdp` (see src/cli/smdp.ts). SIGINT/SIGTERM stop `serve`. */
import { EXIT_FAILURE } from './io.js';
import { runSmdpCli } from './smdp.js';

const ac = new AbortController();
const stop = (): void => ac.abort();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
runSmdpCli(process.argv.slice(2), { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s), signal: ac.signal }).then(
  (code) => {
    process.exitCode = code;
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  },
  (e: unknown) => {
    process.stderr.write(`esim-smdp: ${String(e)}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
