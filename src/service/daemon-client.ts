/**
 * The client side of the daemon's lock file and socket (daemon.ts describes the daemon): whether a daemon
 * runs on a home (readDaemonLock) and a connection to it (connectToDaemon). Light: only the socket client,
 * the protocol and home-paths.ts, so that a daemon client does not load the service, SQLite or the LPA.
 * daemon.ts re-exports everything public here and shares `heldLocks` with its lock taking.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { homePaths, pidAlive, readShellToken } from './home-paths.js';
import { SocketBackend } from './ipc.js';
import { ServiceError } from './protocol.js';

export interface DaemonLockInfo {
  readonly pid: number;
  /** /proc/<pid>/stat start time (Linux): tells a reused pid from the daemon's. */
  readonly procStart?: string;
  readonly nonce: string;
  readonly home: string;
  readonly startedAt: number;
  readonly socket?: string;
  readonly dashboardUrl?: string;
}

/**
 * Locks held by daemons of this process (several daemons on different homes can run in one process, e.g. tests):
 * lock file → nonce. The one map of the process: daemon.ts's acquireLock/releaseLock fill it.
 */
export const heldLocks = new Map<string, string>();

/** @internal /proc/<pid>/stat start time (Linux); undefined elsewhere or when the process is gone. */
export function procStartOf(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** @internal */
export function parseLock(text: string): DaemonLockInfo | undefined {
  try {
    const v = JSON.parse(text) as DaemonLockInfo;
    return typeof v === 'object' && v !== null && Number.isSafeInteger(v.pid) && typeof v.nonce === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** @internal */
export function lockAlive(lockFile: string, info: DaemonLockInfo): boolean {
  if (info.pid === process.pid) return heldLocks.get(lockFile) === info.nonce;
  if (!pidAlive(info.pid)) return false;
  if (info.procStart !== undefined) {
    const now = procStartOf(info.pid);
    if (now !== undefined && now !== info.procStart) return false; // the pid was reused
  }
  return true;
}

/** The home's daemon lock, and whether its daemon is alive (undefined: no lock file). */
export function readDaemonLock(home: string): (DaemonLockInfo & { alive: boolean }) | undefined {
  const file = homePaths(resolvePath(home)).lock;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const info = parseLock(text);
  if (!info) return undefined;
  return { ...info, alive: lockAlive(file, info) };
}

/**
 * A SocketBackend to the daemon of `home` when one answers (socket: `o.socket`, else the running daemon's
 * from its lock file, else home/esim.sock; token: `o.token`, else the home's shell token); undefined when no
 * daemon runs there. When the lock file says a daemon is alive (e.g. still starting), connecting is retried
 * until `connectTimeoutMs` (default 3 s), then ServiceError 3120001 — never undefined, so that callers do not
 * open the daemon's cards in-process beside it. Other refusals (a bad token: 201) reject.
 */
export async function connectToDaemon(
  home: string,
  o: { socket?: string; token?: string; connectTimeoutMs?: number } = {},
): Promise<SocketBackend | undefined> {
  const h = resolvePath(home);
  const timeoutMs = o.connectTimeoutMs ?? 3000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lock = readDaemonLock(h);
    const alive = lock?.alive === true;
    const socket = o.socket ?? (alive ? lock.socket : undefined) ?? homePaths(h).socket;
    if (existsSync(socket)) {
      try {
        return await SocketBackend.connect(socket, o.token ?? readShellToken(h), { connectTimeoutMs: Math.max(100, deadline - Date.now()) });
      } catch (e) {
        if (!(e instanceof ServiceError) || e.code !== 3120001) throw e;
      }
    }
    if (!alive) return undefined;
    if (Date.now() >= deadline) {
      throw new ServiceError(3120001, `Service connection failed: the daemon (pid ${lock.pid}) of ${h} does not answer on ${socket}.`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
