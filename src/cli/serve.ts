/**
 * `esim serve [--home DIR] [--socket PATH] [--dashboard-port N] [--json]`: run the daemon on a home (the
 * embedded default is created on a first start), print where everything is, stop cleanly on SIGINT/SIGTERM.
 * `npm start` (src/main.ts) prints the same summary for the default home.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { RunningDaemon } from '../service/daemon.js';
import { SHELL_CALLER, type SlotJson } from '../service/protocol.js';
import { slotsJson } from '../service/ipc.js';
import { CliFailure, type CliIo } from './io.js';

export interface DaemonSummary {
  home: string;
  created: boolean;
  socket: string;
  dashboard: string;
  shellTokenFile: string;
  slots: Array<SlotJson & { eid?: string }>;
  demo?: {
    smdpAddress?: string;
    smdsAddress?: string;
    activationCodes: string[];
  };
}

/** Activation codes found in home/demo.json (any `LPA:1$...` string in it). */
function demoInfo(home: string): DaemonSummary['demo'] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(join(home, 'demo.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const codes: string[] = [];
  const walk = (x: unknown): void => {
    if (typeof x === 'string') {
      if (/^LPA:1\$/.test(x)) codes.push(x);
    } else if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk(v);
  const o = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  return {
    ...(typeof o['smdpAddress'] === 'string' ? { smdpAddress: o['smdpAddress'] } : {}),
    ...(typeof o['smdsAddress'] === 'string' ? { smdsAddress: o['smdsAddress'] } : {}),
    activationCodes: codes,
  };
}

/** Everything a user needs to find the running daemon (no secrets: the shell token's file, not the token). */
export async function describeDaemon(d: RunningDaemon): Promise<DaemonSummary> {
  const slots: DaemonSummary['slots'] = [];
  for (const s of slotsJson(d.service)) {
    let eid: string | undefined;
    if (s.hasEuicc) {
      try {
        eid = (await d.service.invoke(SHELL_CALLER, 'getEid', [s.slotId])) as string;
      } catch {
        eid = undefined;
      }
    }
    slots.push({ ...s, ...(eid ? { eid } : {}) });
  }
  const demo = demoInfo(d.home);
  const fromService = d.service.demo ? { smdpAddress: d.service.demo.smdpAddress, smdsAddress: d.service.demo.smdsAddress } : {};
  return {
    home: d.home,
    created: d.created,
    socket: d.socketPath,
    dashboard: d.dashboardUrl,
    shellTokenFile: d.shellTokenFile,
    slots,
    ...(demo || d.service.demo ? { demo: { activationCodes: [], ...demo, ...fromService } } : {}),
  };
}

export function formatSummary(s: DaemonSummary): string {
  const lines = [
    `esimkit daemon running${s.created ? ' (new home created with the embedded default)' : ''}`,
    `  home:          ${s.home}`,
    `  socket:        ${s.socket}`,
    `  dashboard:     ${s.dashboard}`,
    `  shell token:   ${s.shellTokenFile}  (log in to the dashboard with its content)`,
    `  slots:`,
    ...s.slots.map(
      (x) => `    slot ${x.slotId}: ${x.transport}, ${x.ports} port${x.ports === 1 ? '' : 's'}` + (x.hasEuicc ? `, EID ${x.eid ?? '(unreadable)'}` : ', no eUICC'),
    ),
  ];
  if (s.demo) {
    if (s.demo.smdpAddress) lines.push(`  demo SM-DP+:   ${s.demo.smdpAddress}`);
    if (s.demo.smdsAddress) lines.push(`  demo SM-DS:    ${s.demo.smdsAddress}`);
    if (s.demo.activationCodes.length > 0) {
      lines.push('  demo activation codes (each downloads one demo profile):');
      for (const c of s.demo.activationCodes) lines.push(`    ${c}`);
    }
  }
  lines.push('Stop with Ctrl-C (SIGINT) or SIGTERM.');
  return lines.join('\n') + '\n';
}

function parsePort(v: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError('a port is an integer 0..65535 (0 = any free port)');
  return Number(v);
}

export function registerServeCommand(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('run the esimkit daemon: owns the cards, serves the API on a Unix socket and the dashboard on 127.0.0.1')
    .option('--home <dir>', 'esimkit home (default: $ESIM_HOME or ~/.esimkit)')
    .option('--socket <path>', 'Unix socket path (default: <home>/esim.sock)')
    .option('--dashboard-port <n>', 'dashboard port on 127.0.0.1 (default: slots.json "dashboardPort" or a free port)', parsePort)
    .option('--json', 'print the summary as one JSON document')
    .addHelpText('after', '\nExample:\n  esim serve --home ~/.esimkit --dashboard-port 8080')
    .action(async (opts: { home?: string; socket?: string; dashboardPort?: number; json?: boolean }) => {
      // loaded when the command runs (the daemon pulls in the service, the servers and fastify): `esim` starts faster
      const [{ DaemonRunningError, runDaemon }, { dashboardHandler }] = await Promise.all([import('../service/daemon.js'), import('../web/dashboard.js')]);
      let d: RunningDaemon;
      try {
        d = await runDaemon({
          dashboard: dashboardHandler(),
          ...(opts.home !== undefined ? { home: opts.home } : {}),
          ...(opts.socket !== undefined ? { socketPath: opts.socket } : {}),
          ...(opts.dashboardPort !== undefined ? { dashboardPort: opts.dashboardPort } : {}),
          ...(io.signal ? { signal: io.signal } : {}),
        });
      } catch (e) {
        if (e instanceof DaemonRunningError) throw new CliFailure(e.message);
        throw e;
      }
      if (!io.signal?.aborted) {
        const summary = await describeDaemon(d);
        io.stdout(opts.json ? JSON.stringify(summary) + '\n' : formatSummary(summary));
      }
      await d.closed;
    });
}
