/**
 * A private pcscd with vsmartcard-vpcd readers, for tests and benchmarks that drive a software eUICC
 * through real PC/SC.
 *
 * Isolation: pcscd's socket path (/run/pcscd/pcscd.comm) is compiled into the daemon, so two pcscd cannot
 * run side by side — yet several test files (test/pcsc.test.ts, test/lpa.pcsc.test.ts) run in parallel
 * forks. {@link startPcscd} therefore starts pcscd (as root) in a private mount namespace
 * (`unshare --mount`) where a temporary directory is bind-mounted over /run/pcscd, and points this
 * process's PC/SC client library at the socket through PCSCLITE_CSOCK_NAME (read once by libpcsclite, on
 * the first context: one process talks to one pcscd). Nothing is visible at /run/pcscd outside, so it
 * neither disturbs nor is disturbed by a system pcscd or by test/pcsc.test.ts.
 *
 * Latency: the vpcd driver sends each message as two writes (2-byte length, then the body) on a socket
 * with Nagle's algorithm on, so the body waits for the ACK of the length — which Linux delays by up to
 * 40 ms on the receiving side. Every APDU would cost ~44 ms. When socat and iproute2 are present (the
 * default `quickAck`), pcscd also gets its own network namespace whose loopback route has the `quickack`
 * attribute (the driver's length is ACKed at once), and a socat pair relays each vpcd port through a
 * Unix socket to the same port on the host's 127.0.0.1 (TCP_NODELAY on the host side): ~0.3 ms per APDU.
 * Without them it falls back to the plain (slow but correct) setup.
 *
 * The vpcd driver listens on two TCP ports (p and p+1), one reader slot each:
 * "<name> 00 00" on p and "<name> 00 01" on p+1. {@link serveCard} connects a card to a slot through
 * {@link VpcdBridge}.
 *
 * When the namespace cannot be made (not root, no CAP_SYS_ADMIN) the prerequisites report a skip reason;
 * {@link describePcscd} skips visibly, or fails when ESIM_REQUIRE_SYSTEM_TESTS=1.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { VpcdBridge, type VpcdCard } from '../../src/apdu/transports/vpcd.js';
import { REQUIRE_SYSTEM_TESTS } from './reference.js';

export const VPCD_DRIVER_CANDIDATES = [
  '/usr/lib/pcsc/drivers/serial/libifdvpcd.so',
  '/usr/lib64/pcsc/drivers/serial/libifdvpcd.so',
  '/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so',
  '/usr/lib/x86_64-linux-gnu/pcsc/drivers/serial/libifdvpcd.so',
];

export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin'])) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** In a new network namespace: bring loopback up with immediate ACKs (route attribute quickack). */
const QUICKACK_SETUP =
  'ip link set lo up && ip route change local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1 quickack 1';

/** Can this process create a mount namespace and bind-mount over /run/pcscd inside it? */
function canUnshare(unshareBin: string): boolean {
  const r = spawnSync(unshareBin, ['--mount', '--pid', '--fork', '--propagation', 'private', '--', 'sh', '-c', 'mkdir -p /run/pcscd && mount -t tmpfs none /run/pcscd'], {
    timeout: 5000,
    stdio: 'ignore',
  });
  return r.status === 0;
}

function loadsBinding(): boolean {
  try {
    // the native module is loaded lazily by the transport; check it resolves and loads here
    const r = spawnSync(process.execPath, ['-e', "require('pcsclite')"], { timeout: 10_000, stdio: 'ignore', cwd: process.cwd() });
    return r.status === 0;
  } catch {
    return false;
  }
}

export interface PcscdPrerequisites {
  readonly pcscdBin?: string;
  readonly socatBin?: string;
  /** pcscd can run in its own network namespace with a quick-ACK loopback (see {@link startPcscd}). */
  readonly quickAck: boolean;
  readonly vpcdDriver?: string;
  readonly unshareBin?: string;
  /** Why PC/SC system tests cannot run here, or undefined when they can. */
  readonly skipReason?: string;
}

let prereqCache: PcscdPrerequisites | undefined;

/** What is present on this machine (computed once per process). */
export function pcscdPrerequisites(): PcscdPrerequisites {
  if (prereqCache) return prereqCache;
  const pcscdBin = which('pcscd');
  const vpcdDriver = VPCD_DRIVER_CANDIDATES.find((p) => existsSync(p));
  const unshareBin = which('unshare');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const missing: string[] = [];
  if (!pcscdBin) missing.push('pcscd');
  if (!vpcdDriver) missing.push('the vsmartcard-vpcd driver (libifdvpcd.so)');
  if (!loadsBinding()) missing.push('the pcsclite Node binding (npm ci; needs libpcsclite-dev to build)');
  if (missing.length === 0) {
    if (!isRoot) missing.push('root (to run a private pcscd)');
    else if (!unshareBin) missing.push('unshare (util-linux)');
    else if (!canUnshare(unshareBin)) missing.push('a private mount namespace for pcscd (unshare --mount --pid failed: CAP_SYS_ADMIN?)');
  }
  const socatBin = which('socat');
  const ipBin = which('ip');
  const quickAck =
    missing.length === 0 &&
    socatBin !== undefined &&
    ipBin !== undefined &&
    spawnSync(unshareBin!, ['--net', '--', 'sh', '-c', QUICKACK_SETUP], { timeout: 5000, stdio: 'ignore' }).status === 0;
  const skipReason =
    missing.length > 0 ? `missing ${missing.join(', ')}; apt-get install pcscd vsmartcard-vpcd libpcsclite-dev` : undefined;
  prereqCache = { pcscdBin, vpcdDriver, unshareBin, socatBin, quickAck, skipReason };
  return prereqCache;
}

/** `describe` for blocks that need pcscd + vpcd: skipped visibly, or failing under ESIM_REQUIRE_SYSTEM_TESTS=1. */
export function describePcscd(name: string, fn: () => void): void {
  const reason = pcscdPrerequisites().skipReason;
  if (!reason) describe(name, fn);
  else if (REQUIRE_SYSTEM_TESTS) {
    describe(name, () => {
      it('needs pcscd + vsmartcard-vpcd + the pcsclite binding', () => {
        throw new Error(`${reason}; ESIM_REQUIRE_SYSTEM_TESTS=1 forbids skipping`);
      });
    });
  } else describe.skip(`${name} [skipped: ${reason}]`, fn);
}

export function socketAlive(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolveAlive) => {
    if (!existsSync(path)) return resolveAlive(false);
    const s = netConnect(path);
    const t = setTimeout(() => {
      s.destroy();
      resolveAlive(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolveAlive(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolveAlive(false);
    });
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const s = netConnect({ host: '127.0.0.1', port });
    const t = setTimeout(() => {
      s.destroy();
      resolveOpen(false);
    }, 1000);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolveOpen(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolveOpen(false);
    });
  });
}

/** A TCP port p where p and p+1 are free on this host (vpcd listens on both). */
export async function freePortPair(): Promise<number> {
  const tryBind = (port: number): Promise<boolean> =>
    new Promise((r) => {
      const srv = createServer();
      srv.once('error', () => r(false));
      srv.listen(port, '0.0.0.0', () => srv.close(() => r(true)));
    });
  for (let i = 0; i < 50; i++) {
    const p = 20000 + 2 * Math.floor(Math.random() * 10000);
    if ((await tryBind(p)) && (await tryBind(p + 1))) return p;
  }
  throw new Error('no free port pair for vpcd');
}

export async function waitFor(what: string | (() => string), timeoutMs: number, cond: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timeout (${timeoutMs} ms) waiting for ${typeof what === 'string' ? what : what()}`);
}

export async function stopProcess(p: ChildProcess | undefined, timeoutMs = 5000): Promise<number | null> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

export interface PrivatePcscd {
  /** The quick-ACK relay is in use (see {@link startPcscd}). */
  readonly quickAck: boolean;
  /** pcscd's socket as seen from this process (also set as PCSCLITE_CSOCK_NAME). */
  readonly socketPath: string;
  /** vpcd TCP port of slot 0; slot 1 is port + 1. */
  readonly vpcdPort: number;
  /** Reader names of slot 0 and slot 1. */
  readonly readerNames: readonly [string, string];
  /** pcscd's output so far. */
  log(): string;
  /** Whether pcscd is still running. */
  readonly running: boolean;
  /** Stop pcscd only (the reader disappears for every client); {@link restart} brings it back. */
  kill(): Promise<void>;
  /** Stop pcscd if running and start it again with the same socket and readers. */
  restart(): Promise<void>;
  /** Stop pcscd (SIGTERM, then SIGKILL) and remove the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

export interface StartPcscdOptions {
  /** FRIENDLYNAME of the vpcd reader (default "esimkit vpcd"). */
  readonly friendlyName?: string;
  /** Wait for the socket at most this long (default 15000 ms). */
  readonly timeoutMs?: number;
  /** Use the quick-ACK relay when possible (default true; see {@link startPcscd}). */
  readonly quickAck?: boolean;
}

/**
 * Start a private pcscd with a vpcd reader on a free port pair (see the file comment). Throws when the
 * prerequisites are missing (check {@link pcscdPrerequisites} first) or pcscd does not come up in time.
 */
export async function startPcscd(opts: StartPcscdOptions = {}): Promise<PrivatePcscd> {
  const pre = pcscdPrerequisites();
  if (pre.skipReason) throw new Error(pre.skipReason);
  // libpcsclite reads PCSCLITE_CSOCK_NAME once per process: a second private pcscd would be unreachable.
  if (startedSocket !== undefined) throw new Error(`a private pcscd was already started in this process (${startedSocket})`);
  const dir = mkdtempSync(join(tmpdir(), 'esimkit-pcscd-'));
  const runDir = join(dir, 'run');
  const confDir = join(dir, 'reader.conf.d');
  mkdirSync(runDir);
  mkdirSync(confDir);
  const socketPath = join(runDir, 'pcscd.comm');
  const friendly = opts.friendlyName ?? 'esimkit vpcd';
  const vpcdPort = await freePortPair();
  writeFileSync(
    join(confDir, 'vpcd'),
    `FRIENDLYNAME "${friendly}"\nDEVICENAME /dev/null:${vpcdPort}\nLIBPATH ${pre.vpcdDriver}\nCHANNELID ${vpcdPort}\n`,
  );
  let out = '';
  const quick = (opts.quickAck ?? true) && pre.quickAck;
  // $1 run dir, $2 pcscd, $3 config dir, $4 vpcd port, $5 relay socket dir
  // sh runs as PID 1 of a private PID namespace: when it ends, the kernel ends everything started in it,
  // so neither pcscd nor the relay can outlive the helper (unshare --kill-child forwards SIGTERM to sh).
  const script = [
    'mkdir -p /run/pcscd && mount --bind "$1" /run/pcscd',
    'rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid',
    ...(quick
      ? [
          QUICKACK_SETUP,
          `"$6" -t 0.05 UNIX-LISTEN:"$5/slot0.sock",fork,unlink-early TCP:127.0.0.1:"$4",nodelay &`,
          'r0=$!',
          `"$6" -t 0.05 UNIX-LISTEN:"$5/slot1.sock",fork,unlink-early TCP:127.0.0.1:"$(($4 + 1))",nodelay &`,
          'r1=$!',
        ]
      : ['r0=', 'r1=']),
    '"$2" --foreground --config "$3" --error &',
    'p=$!',
    "trap 'kill $p $r0 $r1 2>/dev/null; wait; exit 0' TERM INT HUP",
    'wait $p',
    'rc=$?',
    'kill $r0 $r1 2>/dev/null',
    'wait',
    'exit $rc',
  ].join('\n');
  const nsFlags = ['--mount', '--pid', '--kill-child=SIGTERM', '--propagation', 'private', ...(quick ? ['--net'] : [])];
  let child: ChildProcess | undefined;
  const relays: ChildProcess[] = [];
  let stopped = false;
  const launch = async (): Promise<void> => {
    const c = spawn(pre.unshareBin!, [...nsFlags, '--', 'sh', '-c', script, 'sh', runDir, pre.pcscdBin!, confDir, String(vpcdPort), dir, pre.socatBin ?? 'socat'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => `pcscd socket ${socketPath}\n${out}`, opts.timeoutMs ?? 15_000, async () => {
      if (c.exitCode !== null) throw new Error(`pcscd exited (${c.exitCode}):\n${out}`);
      return socketAlive(socketPath);
    });
  };
  if (quick) {
    // host side of the relay: the vpcd ports on 127.0.0.1, TCP_NODELAY, each connection to the slot's socket
    for (const slot of [0, 1]) {
      const r = spawn(
        pre.socatBin!,
        ['-t', '0.05', `TCP-LISTEN:${vpcdPort + slot},bind=127.0.0.1,reuseaddr,fork,nodelay`, `UNIX-CONNECT:${join(dir, `slot${slot}.sock`)}`],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      r.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      relays.push(r);
    }
  }
  /** Stop the namespace (pcscd and the inner relay) and wait until pcscd's socket is dead. */
  const halt = async (): Promise<void> => {
    await stopProcess(child);
    await waitFor(`pcscd to release ${socketPath}`, 10_000, async () => !(await socketAlive(socketPath))).catch(() => undefined);
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await halt();
    for (const r of relays) await stopProcess(r);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await launch();
  } catch (e) {
    await stop();
    throw e;
  }
  if (quick) {
    await waitFor(() => `the vpcd relay on ports ${vpcdPort}/${vpcdPort + 1}\n${out}`, opts.timeoutMs ?? 15_000, async () => {
      for (const r of relays) if (r.exitCode !== null) throw new Error(`socat relay exited (${r.exitCode}):\n${out}`);
      return (await tcpOpen(vpcdPort)) && (await tcpOpen(vpcdPort + 1));
    }).catch(async (e: unknown) => {
      await stop();
      throw e;
    });
  }
  process.env.PCSCLITE_CSOCK_NAME = socketPath;
  startedSocket = socketPath;
  return {
    quickAck: quick,
    socketPath,
    vpcdPort,
    readerNames: [`${friendly} 00 00`, `${friendly} 00 01`],
    log: () => out,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    kill: async () => {
      await halt();
    },
    restart: async () => {
      if (stopped) throw new Error('pcscd was stopped');
      await halt();
      await launch();
    },
    stop,
  };
}

let startedSocket: string | undefined;

/**
 * Connect `card` to vpcd slot `slot` (0 or 1) of `pcscd` and wait until the bridge is connected.
 * The bridge keeps reconnecting until `bridge.stop()`; call `bridge.start()` again to re-insert the card.
 */
export async function serveCard(card: VpcdCard, pcscd: Pick<PrivatePcscd, 'vpcdPort'>, slot: 0 | 1 = 0, timeoutMs = 15_000): Promise<VpcdBridge> {
  const bridge = new VpcdBridge(card, { host: '127.0.0.1', port: pcscd.vpcdPort + slot, reconnectMs: 50, maxReconnectMs: 500 });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      bridge.start(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`vpcd slot ${slot} (port ${pcscd.vpcdPort + slot}) did not accept the card within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    await bridge.stop();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return bridge;
}
