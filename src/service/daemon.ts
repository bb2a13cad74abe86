/**
 * The daemon (`esim serve`, `npm start`): owns the cards of one home, serves the API on a Unix socket
 * (ipc.ts) and the dashboard's HTTP API on 127.0.0.1 (http-api.ts).
 *
 * Start: ensureHome → lock file (home/daemon.lock, O_EXCL; a second daemon on the same home refuses with a
 * clear message; a lock left by a dead process is taken over) → EsimService.open → socket → HTTP.
 * Stop (signal aborted, stop()): no new connections or calls (3120001), in-flight card operations finish or
 * roll back (EsimService.close), their answers are delivered, then the socket and the lock are removed.
 * Logs one JSON line per event (stderr by default); never tokens, session ids, call arguments or codes.
 */
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CallerRegistry } from './callers.js';
import { heldLocks, lockAlive, parseLock, procStartOf, type DaemonLockInfo } from './daemon-client.js';
import { ensureHome } from './home.js';
import { defaultHome, readShellToken, type HomePaths } from './home-paths.js';
import { serveHttpApi, type HttpApi, type HttpApiOptions } from './http-api.js';
import { serveSocket, type DaemonLog, type SocketServer } from './ipc.js';
import type { SlotJson } from './protocol.js';
import { EsimService } from './service.js';

// the client side (lock file reading, connecting) lives in daemon-client.ts; re-exported for every existing importer
export { connectToDaemon, readDaemonLock, type DaemonLockInfo } from './daemon-client.js';

// ------------------------------------------------------------------------------------------ logging

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function envLevel(): LogLevel {
  const v = (process.env['ESIM_LOG_LEVEL'] ?? '').toLowerCase();
  return v in LEVELS ? (v as LogLevel) : 'info';
}

/** A tiny JSON-lines logger: {"time","level","event",...fields}. */
export function jsonLogger(write: (line: string) => void, minLevel: LogLevel = envLevel()): DaemonLog {
  const min = LEVELS[minLevel];
  return (level, event, fields = {}) => {
    if (LEVELS[level] < min) return;
    let line: string;
    try {
      line = JSON.stringify({ time: new Date().toISOString(), level, event, ...fields });
    } catch {
      line = JSON.stringify({ time: new Date().toISOString(), level, event });
    }
    try {
      write(line);
    } catch {
      /* a closed stderr must not stop the daemon */
    }
  };
}

// ------------------------------------------------------------------------------------------ lock file

/** A daemon already runs on this home. */
export class DaemonRunningError extends Error {
  override readonly name = 'DaemonRunningError';
  constructor(
    readonly home: string,
    readonly pid: number | undefined,
    readonly lockFile: string,
  ) {
    super(
      `another esim daemon${pid ? ` (pid ${pid})` : ''} is already running on ${home}; stop it first` +
        ` (or, if you are sure none runs, remove ${lockFile})`,
    );
  }
}

function acquireLock(lockFile: string, home: string): DaemonLockInfo {
  const procStart = procStartOf(process.pid);
  const info: DaemonLockInfo = {
    pid: process.pid,
    ...(procStart !== undefined ? { procStart } : {}),
    nonce: randomBytes(16).toString('hex'),
    home,
    startedAt: Date.now(),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(lockFile, JSON.stringify(info) + '\n', { flag: 'wx', mode: 0o600 });
      heldLocks.set(lockFile, info.nonce);
      return info;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let text = '';
    let age = 0;
    try {
      text = readFileSync(lockFile, 'utf8');
      age = Date.now() - statSync(lockFile).mtimeMs;
    } catch {
      continue; // removed meanwhile: try again
    }
    const cur = parseLock(text);
    if (cur ? lockAlive(lockFile, cur) : age < 5000) throw new DaemonRunningError(home, cur?.pid, lockFile);
    try {
      unlinkSync(lockFile); // a dead daemon's lock
    } catch {
      /* someone else took it over: retry */
    }
  }
  throw new DaemonRunningError(home, undefined, lockFile);
}

function updateLock(lockFile: string, info: DaemonLockInfo): void {
  const tmp = `${lockFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(info) + '\n', { mode: 0o600 });
  renameSync(tmp, lockFile);
}

function releaseLock(lockFile: string, nonce: string): void {
  heldLocks.delete(lockFile);
  try {
    const cur = parseLock(readFileSync(lockFile, 'utf8'));
    if (cur?.nonce === nonce) unlinkSync(lockFile);
  } catch {
    /* already gone */
  }
}

// ------------------------------------------------------------------------------------------ daemon

export interface RunDaemonOptions {
  /** Default: ESIM_HOME or ~/.esimkit. */
  readonly home?: string;
  /** Default: home/esim.sock. */
  readonly socketPath?: string;
  /** Default: `dashboardPort` of slots.json, else 0 (a free port). */
  readonly dashboardPort?: number;
  /** Aborting stops the daemon (SIGTERM/SIGINT in `esim serve`). */
  readonly signal?: AbortSignal;
  /** One JSON line per event; default process.stderr. */
  readonly log?: (line: string) => void;
  readonly logLevel?: LogLevel;
  /**
   * Serves the dashboard's page and files before the HTTP API's own routes (HttpApiOptions.handle). The
   * dashboard lives above the service (src/web): `esim serve` and `npm start` pass `dashboardHandler()`;
   * without one, `/` is the HTTP API's minimal page.
   */
  readonly dashboard?: HttpApiOptions['handle'];
}

export interface RunningDaemon {
  readonly home: string;
  readonly paths: HomePaths;
  /** True when this start created the home (embedded default). */
  readonly created: boolean;
  readonly socketPath: string;
  readonly dashboardUrl: string;
  readonly shellTokenFile: string;
  readonly service: EsimService;
  readonly registry: CallerRegistry;
  /** Resolves once the daemon has stopped (socket and lock removed). */
  readonly closed: Promise<void>;
  stop(): Promise<void>;
}

/** Start the daemon on a home (see the file comment). Rejects with DaemonRunningError when one already runs there. */
export async function runDaemon(o: RunDaemonOptions = {}): Promise<RunningDaemon> {
  const home = resolvePath(o.home ?? defaultHome());
  const log = jsonLogger(o.log ?? ((l) => void process.stderr.write(l + '\n')), o.logLevel ?? envLevel());
  const t0 = performance.now();
  const { created, paths } = ensureHome(home);
  const lock = acquireLock(paths.lock, home);
  const socketPath = resolvePath(o.socketPath ?? paths.socket);

  let service: EsimService | undefined;
  let sock: SocketServer | undefined;
  let http: HttpApi | undefined;
  let registry: CallerRegistry | undefined;
  const offEvents: Array<() => void> = [];
  try {
    readShellToken(home); // created 0600 if missing
    service = await EsimService.open({ home });
    registry = new CallerRegistry(service.store.db, { shellTokenFile: paths.shellToken });
    sock = await serveSocket(service, registry, socketPath, { log });

    const fromConfig = o.dashboardPort === undefined ? service.config.dashboardPort : undefined;
    const handle = o.dashboard;
    try {
      http = await serveHttpApi(service, registry, { port: o.dashboardPort ?? fromConfig ?? 0, log, handle });
    } catch (e) {
      if (fromConfig === undefined || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      log('warn', 'dashboard-port-in-use', { port: fromConfig });
      http = await serveHttpApi(service, registry, { port: 0, log, handle });
    }
    updateLock(paths.lock, { ...lock, socket: socketPath, dashboardUrl: http.url });

    offEvents.push(
      service.on('profileChange', (p) => log('info', 'profile-change', { slotId: p.slotId, portIndex: p.portIndex, iccid: p.iccid, change: p.change })),
      service.on('downloadProgress', (p) =>
        log(p.step === 'done' || p.step === 'failed' ? 'info' : 'debug', 'download-progress', { slotId: p.slotId, step: p.step, resultCode: p.resultCode }),
      ),
      service.on('osuProgress', (p) => log('info', 'osu-progress', { slotId: p.slotId, status: p.status, version: p.version })),
    );
    log('info', 'started', {
      home,
      created,
      socket: socketPath,
      dashboard: http.url,
      slots: service.config.slots.length,
      ms: Math.round(performance.now() - t0),
    });
  } catch (e) {
    for (const off of offEvents) off();
    await http?.close().catch(() => {});
    await sock?.close({ graceMs: 0 }).catch(() => {});
    await service?.close().catch(() => {});
    releaseLock(paths.lock, lock.nonce);
    log('error', 'start-failed', { error: e instanceof Error ? e.message : String(e) });
    throw e;
  }

  const svc = service;
  const socketServer = sock;
  const httpApi = http;
  const reg = registry;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const t = performance.now();
      log('info', 'stopping', {});
      socketServer.stopAccepting();
      httpApi.stopAccepting();
      try {
        await svc.close(); // in-flight card operations finish or roll back; their answers go out below
      } catch (e) {
        log('error', 'service-close-failed', { error: e instanceof Error ? e.message : String(e) });
      }
      await socketServer.close({ graceMs: 5000 });
      await httpApi.close();
      for (const off of offEvents) off();
      releaseLock(paths.lock, lock.nonce);
      log('info', 'stopped', { ms: Math.round(performance.now() - t) });
      resolveClosed();
    })();
    return stopping;
  };
  if (o.signal) {
    if (o.signal.aborted) void stop();
    else o.signal.addEventListener('abort', () => void stop(), { once: true });
  }

  return {
    home,
    paths,
    created,
    socketPath,
    dashboardUrl: httpApi.url,
    shellTokenFile: paths.shellToken,
    service: svc,
    registry: reg,
    closed,
    stop,
  };
}

/** Slot descriptions as the welcome carries them (for summaries). */
export type { SlotJson };
