/**
 * How the LPA commands reach the eSIM service:
 *
 * 1. `--socket PATH` (or ESIM_SOCKET): that daemon only; not answering → 3120001 (exit 4).
 * 2. A daemon running on the home (its lock file or home/esim.sock exists and the socket accepts a
 *    connection): through its Unix socket. A daemon whose lock says it is alive but does not answer is
 *    3120001 too: the CLI never opens that daemon's cards beside it.
 * 3. Otherwise the embedded service in-process (createESim with the shell caller on the home), closed when
 *    the command ends so that the process exits promptly.
 *
 * The token is ESIM_TOKEN, else the home's shell.token (the shell identity: system app, both permissions).
 * The token's value is never printed. Service and socket code are imported lazily.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { ESim } from '../api/esim.js';
import { defaultHome, homePaths, readShellToken } from '../service/home-paths.js';
import type { EsimBackend } from '../service/protocol.js';
import type { CliIo } from './io.js';
import { envOf, failure, outFor, type Out } from './output.js';

export interface Connection {
  readonly esim: ESim;
  readonly via: 'daemon' | 'in-process';
  readonly home: string;
  /** Close the connection / the embedded service (idempotent). */
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** esimkit home (default ESIM_HOME or ~/.esimkit). */
  readonly home?: string;
  /** The daemon's socket (default ESIM_SOCKET; else the home's daemon when one runs). */
  readonly socket?: string;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.length > 0 ? v : undefined;
}

/** The home a command works on: --home, else ESIM_HOME, else ~/.esimkit (absolute). */
export function homeOf(io: CliIo, home: string | undefined): string {
  return resolve(home ?? defaultHome(envOf(io)));
}

/** The socket a running daemon wrote into home/daemon.lock, if any. */
function lockSocket(home: string): string | undefined {
  try {
    const v = JSON.parse(readFileSync(homePaths(home).lock, 'utf8')) as { socket?: unknown };
    return typeof v.socket === 'string' && v.socket.length > 0 ? v.socket : undefined;
  } catch {
    return undefined;
  }
}

/** A SocketBackend when the daemon's socket answers at once; undefined to take the slow path. A refused token rejects. */
async function connectFast(home: string, envToken: string | undefined): Promise<EsimBackend | undefined> {
  const socket = lockSocket(home) ?? homePaths(home).socket;
  if (!existsSync(socket)) return undefined;
  let token = envToken;
  if (token === undefined) {
    try {
      token = readFileSync(homePaths(home).shellToken, 'utf8').trim();
    } catch {
      return undefined;
    }
    if (token === '') return undefined;
  }
  const [{ SocketBackend }, { ServiceError }] = await Promise.all([import('../service/ipc.js'), import('../service/protocol.js')]);
  try {
    return await SocketBackend.connect(socket, token, { connectTimeoutMs: 1000 });
  } catch (e) {
    if (e instanceof ServiceError && e.code === 3120001) return undefined;
    throw e;
  }
}

function wrap(esim: ESim, via: Connection['via'], home: string): Connection {
  let closing: Promise<void> | undefined;
  return { esim, via, home, close: () => (closing ??= esim.close()) };
}

/** Open the connection (see the file comment). Rejects with ServiceError / BusinessError (3120001, 201). */
export async function connect(io: CliIo, o: ConnectOptions = {}): Promise<Connection> {
  const env = envOf(io);
  const home = homeOf(io, o.home);
  const envToken = nonEmpty(env['ESIM_TOKEN']);
  const socket = o.socket ?? nonEmpty(env['ESIM_SOCKET']);
  const { createESim } = await import('../api/esim.js');
  if (socket !== undefined) {
    const { SocketBackend } = await import('../service/ipc.js');
    const backend = await SocketBackend.connect(resolve(socket), envToken ?? readShellToken(home), { connectTimeoutMs: 3000 });
    return wrap(createESim({ backend }), 'daemon', home);
  }
  const paths = homePaths(home);
  if (existsSync(paths.socket) || existsSync(paths.lock)) {
    // fast path (loads only the socket client): the lock's socket, else home/esim.sock, with the token
    const fast = await connectFast(home, envToken);
    if (fast) return wrap(createESim({ backend: fast }), 'daemon', home);
    // a daemon still starting, a stale lock...: the daemon module's own rules (retries while it is alive)
    const { connectToDaemon } = await import('../service/daemon-client.js');
    const backend = await connectToDaemon(home, { ...(envToken !== undefined && { token: envToken }), connectTimeoutMs: 3000 });
    if (backend) return wrap(createESim({ backend }), 'daemon', home);
  }
  const { SHELL_CALLER } = await import('../service/protocol.js');
  const esim = createESim({ caller: SHELL_CALLER, home });
  try {
    await esim.ready();
  } catch (e) {
    await esim.close().catch(() => undefined);
    throw e;
  }
  return wrap(esim, 'in-process', home);
}

// ------------------------------------------------------------------------------------------ command plumbing

/** The options every LPA command takes. */
export interface CommonOpts {
  slot: number;
  port: number;
  json?: boolean;
  home?: string;
  socket?: string;
}

/** A non-negative integer option value (commander: a bad one is a usage error, exit 2). */
export function parseIndex(name: string): (v: string) => number {
  return (v: string): number => {
    if (!/^\d{1,9}$/.test(v)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return Number(v);
  };
}

/** Add the common options: --slot, --port, --json, --home, --socket. */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--slot <n>', 'slot of the eUICC', parseIndex('--slot'), 0)
    .option('--port <n>', 'port index of the slot (MEP)', parseIndex('--port'), 0)
    .option('--json', 'print one JSON document on stdout (schema in the README); progress as JSON lines on stderr')
    .option('--home <dir>', 'esimkit home (default: $ESIM_HOME or ~/.esimkit)')
    .option('--socket <path>', "the daemon's socket (default: $ESIM_SOCKET, else the home's daemon if one runs, else the service runs in-process)");
}

/**
 * Run `fn` with a connection to the service; any failure becomes the documented exit code (output.ts
 * `failure`), and the connection is closed in every case.
 */
export async function withService<T>(io: CliIo, opts: CommonOpts, fn: (c: Connection, out: Out) => Promise<T>): Promise<T> {
  const out = outFor(io, opts.json);
  // The command's promise decides when the process ends: the daemon connection and the embedded service
  // hold only unref'd handles while idle (closing them waits on such handles), so without this the process
  // could end early with exit code 0 before the command has reported its result.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    let c: Connection;
    try {
      c = await connect(io, { ...(opts.home !== undefined && { home: opts.home }), ...(opts.socket !== undefined && { socket: opts.socket }) });
    } catch (e) {
      throw failure(out, e);
    }
    try {
      return await fn(c, out);
    } catch (e) {
      throw failure(out, e);
    } finally {
      await c.close().catch(() => undefined);
    }
  } finally {
    clearInterval(keepAlive);
  }
}
