#!/usr/bin/env node
/** Bin entry of `esim-smdp` (see src/cli/smdp.ts). SIGINT/SIGTERM stop `serve`. */
import { runAsProcess } from './io.js';
import { runSmdpCli } from './smdp.js';

runAsProcess('esim-smdp', runSmdpCli);
