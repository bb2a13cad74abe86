#!/usr/bin/env node
/**
 * `npm start`: runs the esimkit daemon on the default home ($ESIM_HOME or ~/.esimkit; the embedded default
 * is created on a first start: two slots with software eUICCs, a demo SM-DP+ and SM-DS) and prints where
 * everything is: home, socket, dashboard URL, shell token file, slots with EIDs, the demo servers and
 * activation codes. SIGINT/SIGTERM stop it cleanly (exit 0).
 */
import { DaemonRunningError, runDaemon } from './service/daemon.js';
import { describeDaemon, formatSummary } from './cli/serve.js';
import { dashboardHandler } from './web/dashboard.js';

const ac = new AbortController();
const stop = (): void => ac.abort();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

try {
  const d = await runDaemon({ signal: ac.signal, dashboard: dashboardHandler() });
  if (!ac.signal.aborted) process.stdout.write(formatSummary(await describeDaemon(d)));
  await d.closed;
  process.exitCode = 0;
} catch (e) {
  process.stderr.write(`esimkit: ${e instanceof DaemonRunningError || e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
