/**
 * The daemon's Unix socket: newline-delimited JSON (wire format in protocol.ts).
 *
 * Server (`serveSocket`): the first line of a connection is `hello` with a token (CallerRegistry); then calls
 * tagged with ids run concurrently (the service queues per card), results are written back in completion
 * order; `sub`/`unsub` forward the service's events. The caller of every call is resolved again from the
 * registry, so a revoked permission answers 201 on the next call and a removed app / rotated token ends the
 * connection. A malformed line (not JSON, not an object, unknown `t`, over 1 MiB) gets an error line and the
 * connection is closed; other connections are not affected. A client that disconnects abandons its calls:
 * the operations finish on the card, their results are dropped. The socket file has mode 0600; an existing
 * socket file is removed only when no daemon answers on it.
 *
 * Client (`SocketBackend`): an EsimBackend over the socket. 3120001 when the daemon cannot be reached or
 * the connection drops while a call is in flight (the next call reconnects); 3120002 when no answer came
 * within timeoutOf(fn) + 5 s (a late answer is dropped). While calls are in flight the socket keeps the
 * process alive; an idle backend does not.
 */
import { setMaxListeners } from 'node:events';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { CallerRegistry } from './callers.js';
import { tokenDigest } from './callers.js';
import {
  EVENT_NAMES,
  EXTENSION_FUNCTIONS,
  GET_PERMISSION,
  LONG_CALL_TIMEOUT_MS,
  MAX_LINE_BYTES,
  PUBLIC_FUNCTIONS,
  SHELL_CALLER,
  SHELL_ONLY_FUNCTIONS,
  SYSTEM_FUNCTIONS,
  ServiceError,
  WIRE_VERSION,
  timeoutOf,
  type ApiFunction,
  type Caller,
  type EsimBackend,
  type EsimEventName,
  type EsimEvents,
  type ServiceErrorCode,
  type SlotJson,
  type WireFunction,
} from './protocol.js';

// ------------------------------------------------------------------------------------------ shared pieces

/** One structured log event (the daemon prints it as one JSON line; never pass secrets). */
export type DaemonLog = (level: 'debug' | 'info' | 'warn' | 'error', event: string, fields?: Record<string, unknown>) => void;
const noLog: DaemonLog = () => {};

/** What the socket and the HTTP API need of the service (EsimService satisfies it). */
export interface DaemonService {
  /** `signal`: the caller gave up (its connection closed): a queued call is dropped, a running one aborted or rolled back. */
  invoke(caller: Caller, fn: ApiFunction, args: readonly unknown[], o?: { readonly signal?: AbortSignal }): Promise<unknown>;
  on<E extends EsimEventName>(e: E, l: (p: EsimEvents[E]) => void): () => void;
  factoryReset(): Promise<unknown>;
  readonly config: {
    readonly slots: readonly { readonly slotId: number; readonly kind: SlotJson['transport']; readonly ports: number; readonly removable: boolean; readonly hasEuicc: boolean; readonly osu?: unknown }[];
  };
}

const WIRE_FUNCTIONS: ReadonlySet<string> = new Set<string>([...SYSTEM_FUNCTIONS, ...PUBLIC_FUNCTIONS, ...EXTENSION_FUNCTIONS, ...SHELL_ONLY_FUNCTIONS]);
/** Output buffered for a connection that does not read beyond which it is closed. */
const MAX_BUFFERED_BYTES = 64 * MAX_LINE_BYTES;
const SERVICE_CODES: ReadonlySet<number> = new Set([201, 202, 401, 801, 3120001, 3120002]);

export function isWireFunction(fn: unknown): fn is WireFunction {
  return typeof fn === 'string' && WIRE_FUNCTIONS.has(fn);
}

/** Slot descriptions for the welcome line and the dashboard. */
export function slotsJson(service: DaemonService): SlotJson[] {
  return service.config.slots.map((s) => ({
    slotId: s.slotId,
    transport: s.kind,
    ports: s.ports,
    removable: s.removable,
    hasEuicc: s.hasEuicc,
    osuProvider: s.osu !== undefined,
  }));
}

/** Whether a caller may receive events (they carry ICCIDs and transaction ids): system app with GET permission. */
export function eventsRefusal(caller: Caller): ServiceError | undefined {
  if (!caller.systemApp) return new ServiceError(202, 'Non-system applications use system APIs: events need a system application.');
  if (!caller.permissions.includes(GET_PERMISSION)) return new ServiceError(201, `Permission denied: events need ${GET_PERMISSION}.`);
  return undefined;
}

/**
 * Run one wire call for a caller: API functions go to the service; shell-only calls (factoryReset) are checked
 * here (202 non-system, 201 not the shell). Rejects only with ServiceError (anything else → 3120002).
 */
export async function dispatchCall(
  service: DaemonService,
  caller: Caller,
  fn: unknown,
  args: unknown,
  log: DaemonLog = noLog,
  signal?: AbortSignal,
): Promise<unknown> {
  if (!isWireFunction(fn)) throw new ServiceError(401, `Invalid parameter value: unknown function "${String(fn).slice(0, 64)}".`);
  if (!Array.isArray(args)) throw new ServiceError(401, `Invalid parameter value: args of ${fn} must be an array.`);
  try {
    if (fn === 'factoryReset') {
      if (!caller.systemApp) throw new ServiceError(202, 'Non-system applications use system APIs: factoryReset is reserved to the shell.');
      if (caller.bundleName !== SHELL_CALLER.bundleName) throw new ServiceError(201, 'Permission denied: factoryReset is reserved to the shell identity.');
      if (args.length !== 0) throw new ServiceError(401, 'Invalid parameter value: factoryReset takes no arguments.');
      return await service.factoryReset();
    }
    return await service.invoke(caller, fn, args, signal ? { signal } : {});
  } catch (e) {
    if (e instanceof ServiceError) throw e;
    log('error', 'internal-error', { fn, error: e instanceof Error ? e.name + ': ' + e.message : String(e) });
    throw new ServiceError(3120002, 'System internal error.');
  }
}

/** Splits a byte stream into lines; a line over `max` bytes is an error. */
class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  /** The complete lines in `chunk` (without '\n'); throws RangeError when a line exceeds the limit. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      if (this.size + nl - start > this.max) throw new RangeError('line too long');
      const piece = chunk.subarray(start, nl);
      const line = this.size === 0 ? piece : Buffer.concat([...this.parts, piece]);
      this.parts = [];
      this.size = 0;
      lines.push(line.toString('utf8'));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.size += rest.length;
      if (this.size > this.max) throw new RangeError('line too long');
      this.parts.push(Buffer.from(rest));
    }
    return lines;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validId(id: unknown): id is number | string {
  return (typeof id === 'number' && Number.isSafeInteger(id)) || (typeof id === 'string' && id.length > 0 && id.length <= 64);
}

// ------------------------------------------------------------------------------------------ server

export interface SocketServer {
  readonly path: string;
  /** Open connections. */
  connections(): number;
  /** No new connections; calls arriving from now on answer 3120001. In-flight calls continue. */
  stopAccepting(): void;
  /** stopAccepting, wait for in-flight calls (at most graceMs, default 35 s), close every connection, remove the socket file. */
  close(o?: { graceMs?: number }): Promise<void>;
}

export interface SocketServerOptions {
  readonly log?: DaemonLog;
  /** A connection that sends no hello within this time is closed (default 10 s). */
  readonly helloTimeoutMs?: number;
  /** In-flight calls per connection beyond which calls answer 3120002 (default 1024). */
  readonly maxInflightPerConnection?: number;
}

/** sun_path holds 108 bytes on Linux (104 on macOS), NUL included. */
const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

/** A daemon already answers on the socket path. */
export class SocketInUseError extends Error {
  override readonly name = 'SocketInUseError';
  constructor(readonly path: string) {
    super(`a daemon is already listening on ${path}`);
  }
}

/** Connect to `path`; true when something accepts the connection within `ms`. */
function probeSocket(path: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    const t = setTimeout(() => {
      s.destroy();
      resolve(true); // something holds the path and does not refuse: treat as alive
    }, ms);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  if (await probeSocket(path, 1000)) throw new SocketInUseError(path);
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function listenPrivate(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.once('listening', () => {
      server.removeListener('error', onError);
      resolve();
    });
    // bind() runs synchronously inside listen(): a 0177 umask makes the socket 0600 from its first moment
    let old: number | undefined;
    try {
      old = process.umask(0o177);
    } catch {
      old = undefined; // worker threads cannot change the umask: chmod below still applies
    }
    try {
      server.listen(path);
    } finally {
      if (old !== undefined) process.umask(old);
    }
  });
}

interface Conn {
  readonly socket: Socket;
  readonly id: number;
  state: 'hello' | 'ready' | 'closed';
  digest?: Buffer;
  bundleName?: string;
  inflight: number;
  /** Aborted when the connection closes: its calls are abandoned. */
  readonly abandon: AbortController;
  readonly subs: Map<EsimEventName, () => void>;
  helloTimer?: NodeJS.Timeout;
}

/** Serve the API on a Unix socket (mode 0600). Rejects with SocketInUseError when a daemon already answers there. */
export async function serveSocket(service: DaemonService, registry: CallerRegistry, socketPath: string, o: SocketServerOptions = {}): Promise<SocketServer> {
  const log = o.log ?? noLog;
  const helloTimeoutMs = o.helloTimeoutMs ?? 10_000;
  const maxInflight = o.maxInflightPerConnection ?? 1024;
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new Error(`the socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes (a Unix socket limit); choose a shorter one (esim serve --socket PATH)`);
  }
  await clearStaleSocket(socketPath);

  const conns = new Set<Conn>();
  let accepting = true;
  let nextConnId = 1;
  let idleWaiters: Array<() => void> = [];
  const totalInflight = (): number => {
    let n = 0;
    for (const c of conns) n += c.inflight;
    return n;
  };
  const checkIdle = (): void => {
    if (totalInflight() === 0) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const f of w) f();
    }
  };

  const send = (c: Conn, msg: unknown): boolean => {
    if (c.state === 'closed' || c.socket.destroyed) return false;
    let line: string;
    try {
      line = JSON.stringify(msg) + '\n';
    } catch {
      const id = isPlainObject(msg) ? msg['id'] : undefined;
      line = JSON.stringify({ t: 'error', ...(id !== undefined ? { id } : {}), code: 3120002, message: 'System internal error.' }) + '\n';
    }
    if (c.socket.writableLength > MAX_BUFFERED_BYTES) {
      // a client that does not read its answers/events: cut it off rather than buffer without bound
      closeConn(c, 'not-reading');
      c.socket.destroy();
      return false;
    }
    c.socket.write(line);
    return true;
  };

  const closeConn = (c: Conn, reason: string): void => {
    if (c.state === 'closed') return;
    c.state = 'closed';
    c.abandon.abort();
    if (c.helloTimer) clearTimeout(c.helloTimer);
    for (const off of c.subs.values()) off();
    c.subs.clear();
    log('debug', 'connection-closed', { conn: c.id, bundleName: c.bundleName, reason, abandonedCalls: c.inflight });
  };

  /** Error line then close (protocol faults, refused hello). */
  const fail = (c: Conn, code: ServiceErrorCode, message: string, reason: string): void => {
    send(c, { t: 'error', code, message });
    closeConn(c, reason);
    c.socket.end();
    setTimeout(() => c.socket.destroy(), 1000).unref();
  };

  const onCall = (c: Conn, msg: Record<string, unknown>): void => {
    const id = msg['id'];
    if (!validId(id)) return fail(c, 401, 'Invalid parameter value: a call needs an integer id.', 'malformed');
    const fn = msg['fn'];
    if (!accepting) {
      send(c, { t: 'error', id, code: 3120001, message: 'Service connection failed: the service is shutting down.' });
      return;
    }
    const caller = c.digest ? registry.resolveDigest(c.digest) : undefined;
    if (!caller) {
      send(c, { t: 'error', id, code: 201, message: 'Permission denied: the token is no longer valid (app removed or token rotated).' });
      return fail(c, 201, 'Permission denied: the token is no longer valid.', 'token-revoked');
    }
    if (c.inflight >= maxInflight) {
      send(c, { t: 'error', id, code: 3120002, message: 'System internal error: too many calls in flight on this connection.' });
      return;
    }
    c.inflight++;
    const started = performance.now();
    dispatchCall(service, caller, fn, msg['args'], log, c.abandon.signal).then(
      (value) => {
        c.inflight--;
        const delivered = send(c, { t: 'result', id, value: value === undefined ? null : value });
        log('debug', 'call', { conn: c.id, bundleName: caller.bundleName, fn, ms: Math.round(performance.now() - started), delivered });
        checkIdle();
      },
      (e: unknown) => {
        c.inflight--;
        const err = e instanceof ServiceError ? e : new ServiceError(3120002, 'System internal error.');
        const delivered = send(c, { t: 'error', id, code: err.code, message: err.message });
        log(err.code === 3120002 ? 'warn' : 'debug', 'call-error', { conn: c.id, bundleName: caller.bundleName, fn: isWireFunction(fn) ? fn : '?', code: err.code, delivered });
        checkIdle();
      },
    );
  };

  const onSub = (c: Conn, msg: Record<string, unknown>, on: boolean): void => {
    const event = msg['event'];
    if (typeof event !== 'string' || !(EVENT_NAMES as readonly string[]).includes(event)) {
      return fail(c, 401, 'Invalid parameter value: unknown event.', 'malformed');
    }
    const name = event as EsimEventName;
    if (!on) {
      c.subs.get(name)?.();
      c.subs.delete(name);
      return;
    }
    if (c.subs.has(name)) return;
    const caller = c.digest ? registry.resolveDigest(c.digest) : undefined;
    const refusal = caller ? eventsRefusal(caller) : new ServiceError(201, 'Permission denied: the token is no longer valid.');
    if (refusal) {
      send(c, { t: 'error', event: name, code: refusal.code, message: refusal.message });
      return;
    }
    const off = service.on(name, (payload) => {
      send(c, { t: 'event', event: name, payload });
    });
    c.subs.set(name, off);
  };

  const onLine = (c: Conn, line: string): void => {
    if (c.state === 'closed') return;
    if (line.length === 0 || /^\s*$/.test(line)) return; // blank lines are ignored
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      return fail(c, 401, 'Invalid parameter value: malformed JSON line.', 'malformed');
    }
    if (!isPlainObject(msg) || typeof msg['t'] !== 'string') return fail(c, 401, 'Invalid parameter value: a line must be a JSON object with "t".', 'malformed');
    if (c.state === 'hello') {
      if (msg['t'] !== 'hello') return fail(c, 201, 'Permission denied: the first line must be hello with a token.', 'no-hello');
      if (msg['v'] !== undefined && msg['v'] !== WIRE_VERSION) return fail(c, 401, `Invalid parameter value: wire version ${String(msg['v'])} (this daemon speaks ${WIRE_VERSION}).`, 'version');
      const token = msg['token'];
      const caller = typeof token === 'string' ? registry.resolveToken(token) : undefined;
      if (!caller) {
        log('warn', 'hello-refused', { conn: c.id });
        return fail(c, 201, 'Permission denied: unknown token.', 'bad-token');
      }
      if (c.helloTimer) clearTimeout(c.helloTimer);
      c.digest = tokenDigest(token as string);
      c.bundleName = caller.bundleName;
      c.state = 'ready';
      log('debug', 'connection-ready', { conn: c.id, bundleName: caller.bundleName });
      send(c, { t: 'welcome', v: WIRE_VERSION, caller: { bundleName: caller.bundleName, systemApp: caller.systemApp, permissions: [...caller.permissions] }, slots: slotsJson(service) });
      return;
    }
    switch (msg['t']) {
      case 'call':
        return onCall(c, msg);
      case 'sub':
        return onSub(c, msg, true);
      case 'unsub':
        return onSub(c, msg, false);
      case 'hello':
        return fail(c, 401, 'Invalid parameter value: hello was already sent.', 'malformed');
      default:
        return fail(c, 401, `Invalid parameter value: unknown line type "${String(msg['t']).slice(0, 32)}".`, 'malformed');
    }
  };

  const server = createServer({ allowHalfOpen: false }, (socket) => {
    const c: Conn = { socket, id: nextConnId++, state: 'hello', inflight: 0, abandon: new AbortController(), subs: new Map() };
    setMaxListeners(0, c.abandon.signal); // one listener per call in flight on this connection
    if (!accepting) {
      socket.destroy();
      return;
    }
    conns.add(c);
    const reader = new LineReader(MAX_LINE_BYTES);
    c.helloTimer = setTimeout(() => fail(c, 201, 'Permission denied: no hello received.', 'hello-timeout'), helloTimeoutMs);
    c.helloTimer.unref();
    socket.on('data', (chunk: Buffer) => {
      if (c.state === 'closed') return;
      let lines: string[];
      try {
        lines = reader.push(chunk);
      } catch {
        return fail(c, 401, `Invalid parameter value: line longer than ${MAX_LINE_BYTES} bytes.`, 'line-too-long');
      }
      for (const l of lines) {
        if ((c.state as Conn['state']) === 'closed') break;
        onLine(c, l);
      }
    });
    socket.on('error', () => {}); // EPIPE/ECONNRESET from a client that went away: handled by 'close'
    socket.on('close', () => {
      closeConn(c, 'peer-closed');
      conns.delete(c);
      // its in-flight calls keep running on the card; their results are dropped (send() checks the state)
      checkIdle();
    });
  });
  server.on('error', (e) => log('error', 'socket-server-error', { error: e.message }));

  await listenPrivate(server, socketPath);
  chmodSync(socketPath, 0o600);
  const ino = lstatSync(socketPath).ino;
  log('info', 'socket-listening', { path: socketPath });

  let closing: Promise<void> | undefined;
  const stopAccepting = (): void => {
    if (!accepting) return;
    accepting = false;
    server.close();
  };
  return {
    path: socketPath,
    connections: () => conns.size,
    stopAccepting,
    close(co = {}) {
      closing ??= (async () => {
        stopAccepting();
        const graceMs = co.graceMs ?? 35_000;
        if (totalInflight() > 0) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, graceMs);
            t.unref();
            idleWaiters.push(() => {
              clearTimeout(t);
              resolve();
            });
          });
        }
        for (const c of conns) {
          closeConn(c, 'daemon-stopping');
          c.socket.end();
        }
        // let the last lines drain, then make sure nothing stays open
        await new Promise<void>((resolve) => setTimeout(resolve, 20).unref());
        for (const c of conns) c.socket.destroy();
        conns.clear();
        try {
          if (lstatSync(socketPath).ino === ino) unlinkSync(socketPath);
        } catch {
          /* already removed (libuv unlinks it on close) */
        }
      })();
      return closing;
    },
  };
}

// ------------------------------------------------------------------------------------------ client

export interface SocketBackendOptions {
  /** Connect + hello/welcome within this time, else 3120001 (default 5 s). */
  readonly connectTimeoutMs?: number;
  /** Extra time the client waits beyond timeoutOf(fn) before answering 3120002 (default 5 s). */
  readonly timeoutSlackMs?: number;
  /** The service-side timeout of a call (default protocol.ts timeoutOf; factoryReset 180 s). */
  readonly callTimeoutMs?: (fn: WireFunction) => number;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: ServiceError): void;
  timer: NodeJS.Timeout;
}

interface Link {
  readonly socket: Socket;
  readonly pending: Map<number, Pending>;
  alive: boolean;
}

function connectionFailed(detail: string): ServiceError {
  return new ServiceError(3120001, `Service connection failed: ${detail}.`);
}

/** Open a connection, send hello, wait for welcome. */
function openLink(
  socketPath: string,
  token: string,
  timeoutMs: number,
  onLine: (link: Link, msg: Record<string, unknown>) => void,
  onClose: (link: Link, reason: ServiceError) => void,
): Promise<{ link: Link; welcome: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const link: Link = { socket, pending: new Map(), alive: false };
    const reader = new LineReader(MAX_LINE_BYTES * 64);
    let settled = false;
    let welcomed = false;
    let closeReason: ServiceError | undefined;
    const settleFail = (e: ServiceError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    const timer = setTimeout(() => settleFail(connectionFailed(`no answer from ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => {
      socket.write(JSON.stringify({ t: 'hello', v: WIRE_VERSION, token }) + '\n');
    });
    socket.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = reader.push(chunk);
      } catch {
        closeReason = new ServiceError(3120002, 'System internal error: answer from the daemon too long.');
        socket.destroy();
        return;
      }
      for (const l of lines) {
        let msg: unknown;
        try {
          msg = JSON.parse(l);
        } catch {
          msg = undefined;
        }
        if (!isPlainObject(msg)) {
          closeReason = new ServiceError(3120002, 'System internal error: malformed answer from the daemon.');
          socket.destroy();
          return;
        }
        if (!settled) {
          if (msg['t'] === 'welcome') {
            settled = true;
            welcomed = true;
            clearTimeout(timer);
            link.alive = true;
            resolve({ link, welcome: msg });
          } else if (msg['t'] === 'error') {
            const code = Number(msg['code']);
            const message = typeof msg['message'] === 'string' ? msg['message'] : 'refused by the daemon';
            settleFail(SERVICE_CODES.has(code) ? new ServiceError(code as ServiceErrorCode, message) : connectionFailed(message));
          } else {
            settleFail(connectionFailed('unexpected answer to hello'));
          }
          continue;
        }
        if (msg['t'] === 'error' && msg['id'] === undefined && msg['event'] === undefined) {
          const code = Number(msg['code']);
          closeReason = new ServiceError(SERVICE_CODES.has(code) ? (code as ServiceErrorCode) : 3120001, typeof msg['message'] === 'string' ? msg['message'] : 'closed by the daemon');
          continue;
        }
        onLine(link, msg);
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (!settled) settleFail(connectionFailed(`cannot connect to ${socketPath} (${e.code ?? e.message})`));
    });
    socket.on('close', () => {
      if (!settled) return settleFail(connectionFailed(`the daemon at ${socketPath} closed the connection`));
      if (!welcomed) return; // refused or timed out: the caller got the error
      link.alive = false;
      onClose(link, closeReason ?? connectionFailed('the connection to the daemon was lost'));
    });
  });
}

/** An EsimBackend talking to the daemon over its Unix socket (see the file comment). */
export class SocketBackend implements EsimBackend {
  private link: Link | undefined;
  private connecting: Promise<Link> | undefined;
  private nextId = 1;
  private closed = false;
  private readonly listeners = new Map<EsimEventName, Set<(p: never) => void>>();
  private readonly subRefused = new Map<EsimEventName, ServiceError>();
  private _caller: Caller;
  private _slots: SlotJson[];
  private readonly connectTimeoutMs: number;
  private readonly slackMs: number;
  private readonly timeoutOf: (fn: WireFunction) => number;

  private constructor(
    readonly socketPath: string,
    private readonly token: string,
    first: { link: Link; welcome: Record<string, unknown> },
    o: SocketBackendOptions,
  ) {
    this.connectTimeoutMs = o.connectTimeoutMs ?? 5000;
    this.slackMs = o.timeoutSlackMs ?? 5000;
    this.timeoutOf = o.callTimeoutMs ?? ((fn) => (fn === 'factoryReset' ? LONG_CALL_TIMEOUT_MS : timeoutOf(fn)));
    this._caller = parseCaller(first.welcome['caller']);
    this._slots = parseSlots(first.welcome['slots']);
    this.adopt(first.link);
  }

  /** Connect and authenticate. 3120001 when no daemon answers; the daemon's code (201) for a refused token. */
  static async connect(socketPath: string, token: string, o: SocketBackendOptions = {}): Promise<SocketBackend> {
    if (typeof token !== 'string' || token.length === 0) throw new ServiceError(201, 'Permission denied: no token.');
    let b!: SocketBackend;
    const first = await openLink(
      socketPath,
      token,
      o.connectTimeoutMs ?? 5000,
      (link, msg) => b.onLine(link, msg),
      (link, reason) => b.onClose(link, reason),
    );
    b = new SocketBackend(socketPath, token, first, o);
    return b;
  }

  /** The identity the daemon resolved for the token (as of the last welcome). */
  get caller(): Caller {
    return this._caller;
  }

  /** The daemon's slots (as of the last welcome). */
  get slots(): readonly SlotJson[] {
    return this._slots;
  }

  isSupportedSync(slotId: number): boolean {
    return this._slots.some((s) => s.slotId === slotId && s.hasEuicc);
  }

  invoke(fn: ApiFunction, args: readonly unknown[]): Promise<unknown> {
    return this.call(fn, args, this.timeoutOf(fn));
  }

  /** The shell-only factory reset (EsimService.factoryReset in the daemon). */
  async factoryReset(): Promise<{ slotId: number; resultCode: number; kept: boolean }[]> {
    return (await this.call('factoryReset', [], this.timeoutOf('factoryReset'))) as { slotId: number; resultCode: number; kept: boolean }[];
  }

  subscribe<E extends EsimEventName>(event: E, listener: (payload: EsimEvents[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const first = set.size === 0;
    set.add(listener as (p: never) => void);
    if (first && this.link?.alive) this.write(this.link, { t: 'sub', event });
    return () => {
      const s = this.listeners.get(event);
      if (!s || !s.delete(listener as (p: never) => void)) return;
      if (s.size === 0 && this.link?.alive) this.write(this.link, { t: 'unsub', event });
    };
  }

  /** Why the daemon refused a subscription (events need a system app with the GET permission), if it did. */
  subscriptionRefusal(event: EsimEventName): ServiceError | undefined {
    return this.subRefused.get(event);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const link = this.link;
    this.link = undefined;
    if (link) {
      this.failAll(link, connectionFailed('the client closed the connection'));
      await new Promise<void>((resolve) => {
        if (link.socket.destroyed) return resolve();
        // the socket is unref'd while idle (a script ends by itself); while closing it is ref'd, so that a
        // process awaiting close() is not ended by Node before close() resolves (code after it would never run)
        link.socket.ref();
        const timer = setTimeout(() => {
          link.socket.destroy();
          resolve();
        }, 500);
        link.socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        link.socket.end();
      });
    }
  }

  // ---------------------------------------------------------------------------------------- internals

  private async call(fn: WireFunction, args: readonly unknown[], timeoutMs: number): Promise<unknown> {
    if (this.closed) throw connectionFailed('the backend is closed');
    const link = await this.ensureLink();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (link.pending.delete(id)) {
          this.updateRef(link);
          reject(new ServiceError(3120002, `System internal error: no answer to ${fn} within ${Math.round((timeoutMs + this.slackMs) / 1000)} s.`));
        }
      }, timeoutMs + this.slackMs);
      timer.unref();
      link.pending.set(id, { resolve, reject, timer });
      this.updateRef(link);
      let line: string;
      try {
        line = JSON.stringify({ t: 'call', id, fn, args });
      } catch {
        link.pending.delete(id);
        clearTimeout(timer);
        this.updateRef(link);
        reject(new ServiceError(401, `Invalid parameter value: the arguments of ${fn} are not JSON-serialisable.`));
        return;
      }
      if (Buffer.byteLength(line) + 1 > MAX_LINE_BYTES) {
        link.pending.delete(id);
        clearTimeout(timer);
        this.updateRef(link);
        reject(new ServiceError(401, `Invalid parameter value: the arguments of ${fn} are larger than ${MAX_LINE_BYTES} bytes.`));
        return;
      }
      link.socket.write(line + '\n');
    });
  }

  private async ensureLink(): Promise<Link> {
    if (this.link?.alive) return this.link;
    this.connecting ??= openLink(
      this.socketPath,
      this.token,
      this.connectTimeoutMs,
      (link, msg) => this.onLine(link, msg),
      (link, reason) => this.onClose(link, reason),
    )
      .then(({ link, welcome }) => {
        if (this.closed) {
          link.socket.destroy();
          throw connectionFailed('the backend is closed');
        }
        this._caller = parseCaller(welcome['caller']);
        this._slots = parseSlots(welcome['slots']);
        this.adopt(link);
        return link;
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private adopt(link: Link): void {
    this.link = link;
    this.subRefused.clear();
    for (const [event, set] of this.listeners) if (set.size > 0) this.write(link, { t: 'sub', event });
    this.updateRef(link);
  }

  /** Keep the process alive only while calls are in flight. */
  private updateRef(link: Link): void {
    if (link.pending.size > 0) link.socket.ref();
    else link.socket.unref();
  }

  private write(link: Link, msg: unknown): void {
    if (link.alive && !link.socket.destroyed) link.socket.write(JSON.stringify(msg) + '\n');
  }

  private onLine(link: Link, msg: Record<string, unknown>): void {
    const t = msg['t'];
    if (t === 'result' || (t === 'error' && msg['id'] !== undefined)) {
      const id = msg['id'];
      if (typeof id !== 'number') return;
      const p = link.pending.get(id);
      if (!p) return; // abandoned (timed out): a late answer is dropped
      link.pending.delete(id);
      clearTimeout(p.timer);
      this.updateRef(link);
      if (t === 'result') p.resolve(msg['value']);
      else {
        const code = Number(msg['code']);
        const message = typeof msg['message'] === 'string' ? msg['message'] : 'System internal error.';
        p.reject(new ServiceError(SERVICE_CODES.has(code) ? (code as ServiceErrorCode) : 3120002, message));
      }
      return;
    }
    if (t === 'event') {
      const event = msg['event'] as EsimEventName;
      const set = this.listeners.get(event);
      if (!set) return;
      for (const l of [...set]) {
        try {
          (l as (p: unknown) => void)(msg['payload']);
        } catch {
          /* a listener's exception does not break the connection */
        }
      }
      return;
    }
    if (t === 'error' && typeof msg['event'] === 'string') {
      const code = Number(msg['code']);
      this.subRefused.set(msg['event'] as EsimEventName, new ServiceError(SERVICE_CODES.has(code) ? (code as ServiceErrorCode) : 201, String(msg['message'] ?? 'refused')));
    }
  }

  private onClose(link: Link, reason: ServiceError): void {
    this.failAll(link, reason);
    if (this.link === link) this.link = undefined;
  }

  private failAll(link: Link, reason: ServiceError): void {
    link.alive = false;
    const pending = [...link.pending.values()];
    link.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(reason);
    }
  }
}

function parseCaller(v: unknown): Caller {
  if (!isPlainObject(v)) return { bundleName: 'unknown', systemApp: false, permissions: [] };
  return {
    bundleName: String(v['bundleName'] ?? 'unknown'),
    systemApp: v['systemApp'] === true,
    permissions: Array.isArray(v['permissions']) ? v['permissions'].filter((x): x is string => typeof x === 'string') : [],
  };
}

function parseSlots(v: unknown): SlotJson[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isPlainObject).map((s) => ({
    slotId: Number(s['slotId']),
    transport: s['transport'] as SlotJson['transport'],
    ports: Number(s['ports']),
    removable: s['removable'] === true,
    hasEuicc: s['hasEuicc'] === true,
    osuProvider: s['osuProvider'] === true,
  }));
}
