/**
 * Profiling driver for the SM-DP+ throughput scenario of download.bench.ts (same setup: the SM-DP+ in a
 * child process, the devices in device processes; warm-up WARMUP_MS, default 8000). Not a bench group.
 * The device processes profile their measuring window (node:inspector) into <dir>/devices-<n>.cpuprofile.
 * The SM-DP+ child: ESIMKIT_SMDP_PROFILE=<file>,<fromMs>,<forMs> profiles a window of it, bundled (the
 * steady state: e.g. `/tmp/prof/smdp.cpuprofile,9000,3500`); or, unbundled with source names, its whole
 * life with ESIMKIT_SMDP_NODE_ARGS:
 *
 *   ESIMKIT_SMDP_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof/smdp" \
 *     node --import tsx bench/profile-download.ts [seconds=5] [devices=32] [deviceProcesses=1] [dir=/tmp/prof]
 *
 * Summaries: `node bench/cpuprofile-summary.mjs <file.cpuprofile>` (see that file for the options).
 * Everything in one process instead (LPA, card and SM-DP+, sequential): bench/profile-full.ts.
 */
import { mkdirSync } from 'node:fs';
import { benchThroughput } from './download.bench.js';

const seconds = Number(process.argv[2] ?? 5) || 5;
const devices = Number(process.argv[3] ?? 32) || 32;
const deviceProcesses = Number(process.argv[4] ?? 1) || 1;
const dir = process.argv[5] ?? '/tmp/prof';
mkdirSync(dir, { recursive: true });
if (process.env.ESIMKIT_SMDP_NODE_ARGS || process.env.ESIMKIT_SMDP_PROFILE) process.env.ESIMKIT_DEVICES_PROFILE ??= dir;
await benchThroughput(seconds, { duration: seconds, devices, deviceProcesses, bundle: !process.env.ESIMKIT_SMDP_NODE_ARGS, warmupMs: Number(process.env.WARMUP_MS ?? 8000) });
