/**
 * The client side of the eSIM API: one {@link EsimClient} per `createESim()` instance (and one for the default
 * `eSIM`), bound to an EsimBackend that is opened lazily on the first call:
 *
 * - in-process: `EsimService.open({ home, unref: true })`, shared by every client of the same home (reference
 *   counted: the last client's close() closes the service), `service.backendFor(caller)`;
 * - daemon: `SocketBackend.connect(socket, token)` (src/service/ipc.ts), 3120001 when it cannot be reached;
 * - default `eSIM`: the daemon when ESIM_SOCKET is set (token ESIM_TOKEN or home/shell.token), or when
 *   home/esim.sock accepts a connection; else the in-process service of `defaultHome()` as SHELL_CALLER. An
 *   in-process service is unref'd and an idle socket too, so a script that only awaits a few calls exits.
 *
 * Every call: argument count/type checks (sync 401, args.ts), then the backend; a ServiceError becomes a
 * BusinessError with the same code and message (errors.ts). A trailing function is a Node-style callback
 * `(err, data)` (err null on success); the call then returns undefined.
 *
 * The service and the socket client are imported lazily, so `import { BusinessError } from 'esimkit'` or a
 * daemon-only client does not load SQLite and the LPA.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { defaultHome, homePaths, readShellToken } from '../service/home-paths.js';
import type { EsimService } from '../service/service.js';
import {
  SHELL_CALLER,
  ServiceError,
  type ApiFunction,
  type Caller,
  type EsimBackend,
  type EsimEventName,
} from '../service/protocol.js';
import { checkCall, checkEventName, type NodeCallback } from './args.js';
import { BusinessError, parameterError, toBusinessError } from './errors.js';

type Listener = (payload: never) => void;

/** How a client reaches its backend; `release` runs once at close(). */
export interface OpenedBackend {
  readonly backend: EsimBackend;
  readonly release?: () => Promise<void>;
}

export interface EsimClientOptions {
  /** Open the backend (called lazily; called again after a failure). */
  readonly open: () => Promise<OpenedBackend>;
  /** isSupported before the backend is open (slots.json of the home). */
  readonly supportedBeforeOpen: (slotId: number) => boolean;
}

/** Call a Node-style callback; an exception it throws surfaces as an uncaught exception, as in Node. */
function deliver(cb: NodeCallback, err: unknown, data?: unknown): void {
  try {
    if (err) cb(err);
    else cb(null, data);
  } catch (e) {
    process.nextTick(() => {
      throw e;
    });
  }
}

export class EsimClient {
  private backend: EsimBackend | undefined;
  private release: (() => Promise<void>) | undefined;
  private opening: Promise<EsimBackend> | undefined;
  private closed = false;
  private readonly listeners = new Map<EsimEventName, Set<Listener>>();
  private readonly backendSubs = new Map<EsimEventName, () => void>();

  constructor(private readonly o: EsimClientOptions) {}

  /** An API function: sync 401 for count/type faults; Promise, or undefined with a callback. */
  call(fn: ApiFunction, raw: readonly unknown[]): Promise<unknown> | undefined {
    const { args, callback } = checkCall(fn, raw);
    const p = this.invoke(fn, args);
    if (!callback) return p;
    p.then(
      (v) => deliver(callback, null, v),
      (e: unknown) => deliver(callback, e),
    );
    return undefined;
  }

  /** The synchronous public isSupported(slotId). */
  isSupported(raw: readonly unknown[]): boolean {
    const { args } = checkCall('isSupported', raw, false);
    const slotId = args[0] as number;
    if (!Number.isInteger(slotId) || slotId < 0) return false;
    if (this.backend) return this.backend.isSupportedSync(slotId);
    return this.o.supportedBeforeOpen(slotId);
  }

  /**
   * Add an event listener. With the backend open, a refused subscription (events need a system app with the
   * GET permission: 202 / 201) throws that BusinessError synchronously; before it is open the subscription is
   * made when it opens, and a refusal then drops the listener (the daemon reports refusals on its socket).
   */
  on(type: unknown, callback: unknown): void {
    checkEventName('on', type);
    if (typeof callback !== 'function') throw parameterError(`on: "callback" must be a function, got ${callback === null ? 'null' : typeof callback}.`);
    const name = type as EsimEventName;
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(callback as Listener);
    if (this.closed) return;
    if (this.backend) {
      try {
        this.subscribeBackend(this.backend, name);
      } catch (e) {
        set.delete(callback as Listener);
        if (set.size === 0) this.listeners.delete(name);
        throw toBusinessError(e);
      }
    } else this.getBackend().catch(() => {}); // subscribes once open; a failed open is retried by the next call
  }

  off(type: unknown, callback?: unknown): void {
    checkEventName('off', type);
    if (callback !== undefined && callback !== null && typeof callback !== 'function') {
      throw parameterError(`off: "callback" must be a function, got ${typeof callback}.`);
    }
    const name = type as EsimEventName;
    const set = this.listeners.get(name);
    if (!set) return;
    if (typeof callback === 'function') set.delete(callback as Listener);
    else set.clear();
    if (set.size === 0) {
      this.listeners.delete(name);
      this.backendSubs.get(name)?.();
      this.backendSubs.delete(name);
    }
  }

  /** Open the backend now (otherwise the first call does); rejects with BusinessError. */
  async ready(): Promise<void> {
    try {
      await this.getBackend();
    } catch (e) {
      throw toBusinessError(e);
    }
  }

  /** The open backend, if any (for tools that need more than the API, e.g. SocketBackend.factoryReset). */
  get currentBackend(): EsimBackend | undefined {
    return this.backend;
  }

  /** Stop: later calls reject with 3120001; the backend is closed and a shared service released. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.backendSubs.values()) off();
    this.backendSubs.clear();
    this.listeners.clear();
    let backend = this.backend;
    if (!backend && this.opening) backend = await this.opening.catch(() => undefined);
    this.backend = undefined;
    const release = this.release;
    this.release = undefined;
    try {
      await backend?.close();
    } finally {
      await release?.();
    }
  }

  // ---------------------------------------------------------------------------------------- internals

  private async invoke(fn: ApiFunction, args: readonly unknown[]): Promise<unknown> {
    try {
      const backend = await this.getBackend();
      return await backend.invoke(fn, args);
    } catch (e) {
      throw toBusinessError(e);
    }
  }

  private getBackend(): Promise<EsimBackend> {
    if (this.closed) return Promise.reject(new ServiceError(3120001, 'Service connection failed: this eSIM instance is closed.'));
    if (this.backend) return Promise.resolve(this.backend);
    this.opening ??= this.o
      .open()
      .then(async ({ backend, release }) => {
        if (this.closed) {
          await backend.close().catch(() => {});
          await release?.();
          throw new ServiceError(3120001, 'Service connection failed: this eSIM instance is closed.');
        }
        this.backend = backend;
        this.release = release;
        for (const name of [...this.listeners.keys()]) {
          try {
            this.subscribeBackend(backend, name);
          } catch {
            this.listeners.delete(name); // refused (202/201): the listeners of this event never fire
          }
        }
        return backend;
      }, openFailure)
      .finally(() => {
        this.opening = undefined;
      });
    return this.opening;
  }

  private subscribeBackend(backend: EsimBackend, name: EsimEventName): void {
    if (this.backendSubs.has(name)) return;
    const off = backend.subscribe(name, (payload) => {
      const set = this.listeners.get(name);
      if (!set) return;
      for (const l of [...set]) {
        try {
          (l as (p: unknown) => void)(payload);
        } catch (e) {
          process.nextTick(() => {
            throw e;
          });
        }
      }
    });
    this.backendSubs.set(name, off);
  }
}

/** A backend that cannot be opened: ServiceErrors keep their code (3120001, 201 for a refused token); anything else is 3120001. */
function openFailure(e: unknown): never {
  if (e instanceof ServiceError || e instanceof BusinessError) throw e;
  const detail = e instanceof Error ? e.message : String(e);
  throw new ServiceError(3120001, `Service connection failed: cannot start the eSIM service (${detail}).`);
}

// ------------------------------------------------------------------------------------------ backends

interface SharedService {
  readonly service: Promise<EsimService>;
  refs: number;
}

/** One in-process service per home (absolute path), shared by every client of that home. */
const sharedServices = new Map<string, SharedService>();

async function loadService(): Promise<typeof import('../service/service.js')> {
  return import('../service/service.js');
}

async function loadIpc(): Promise<typeof import('../service/ipc.js')> {
  return import('../service/ipc.js');
}

/** Acquire the shared service of `home` (opened on first use); `release` closes it with its last user. */
export async function acquireService(home: string): Promise<{ service: EsimService; release: () => Promise<void> }> {
  const key = resolvePath(home);
  let entry = sharedServices.get(key);
  if (!entry) {
    const service = loadService().then(({ EsimService }) => EsimService.open({ home: key, unref: true }));
    const created: SharedService = { service, refs: 0 };
    entry = created;
    sharedServices.set(key, created);
    service.catch(() => {
      if (sharedServices.get(key) === created) sharedServices.delete(key);
    });
  }
  entry.refs++;
  const held = entry;
  let service: EsimService;
  try {
    service = await held.service;
  } catch (e) {
    held.refs--;
    throw e;
  }
  let released = false;
  return {
    service,
    release: async () => {
      if (released) return;
      released = true;
      held.refs--;
      if (held.refs === 0 && sharedServices.get(key) === held) {
        sharedServices.delete(key);
        await service.close();
      }
    },
  };
}

/** Homes with an open shared in-process service (for diagnostics and tests). */
export function openServiceHomes(): string[] {
  return [...sharedServices.keys()];
}

/** In-process backend for `caller` on the shared service of `home`. */
export async function openInProcess(home: string, caller: Caller): Promise<OpenedBackend> {
  const { service, release } = await acquireService(home);
  try {
    return { backend: service.backendFor(caller), release };
  } catch (e) {
    await release();
    throw e;
  }
}

/** Backend over the daemon's socket. */
export async function openSocket(socket: string, token: string, connectTimeoutMs?: number): Promise<OpenedBackend> {
  const { SocketBackend } = await loadIpc();
  const backend = await SocketBackend.connect(socket, token, connectTimeoutMs === undefined ? {} : { connectTimeoutMs });
  return { backend };
}

/** The default `eSIM`'s backend (see the file comment). */
export async function openDefault(): Promise<OpenedBackend> {
  const home = resolvePath(defaultHome());
  const envToken = process.env.ESIM_TOKEN !== undefined && process.env.ESIM_TOKEN.length > 0 ? process.env.ESIM_TOKEN : undefined;
  const envSocket = process.env.ESIM_SOCKET;
  if (envSocket !== undefined && envSocket.length > 0) return openSocket(envSocket, envToken ?? readShellToken(home));
  const paths = homePaths(home);
  if (existsSync(paths.socket) || existsSync(paths.lock)) {
    // a daemon may run on this home (its socket: the lock file's, else home/esim.sock); none answers → in-process
    const { connectToDaemon } = await import('../service/daemon-client.js');
    const backend = await connectToDaemon(home, { ...(envToken !== undefined && { token: envToken }), connectTimeoutMs: 2000 });
    if (backend) return { backend };
  }
  return openInProcess(home, SHELL_CALLER);
}

// ------------------------------------------------------------------------------------------ isSupported before open

/**
 * Whether slot `slotId` has an eUICC according to `home`/slots.json, read synchronously (isSupported is
 * synchronous and may be the first call). No slots.json yet: the embedded default a first start creates
 * (two slots with a software eUICC).
 */
export function slotsFileSupports(home: string, slotId: number): boolean {
  const file = resolvePath(home, 'slots.json');
  if (!existsSync(file)) return slotId === 0 || slotId === 1;
  try {
    const cfg = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    const slots = (cfg as { slots?: unknown }).slots;
    if (!Array.isArray(slots)) return false;
    const entry = slots.find((s: unknown, i: number) => {
      const id = (s as { slotId?: unknown }).slotId;
      return (typeof id === 'number' ? id : i) === slotId;
    }) as Record<string, unknown> | undefined;
    if (!entry) return false;
    const kind = entry['transport'] ?? entry['kind'] ?? entry['type'];
    if (typeof kind === 'string') return kind !== 'none' && !kind.startsWith('none');
    if (typeof kind === 'object' && kind !== null) {
      const k = (kind as Record<string, unknown>)['kind'] ?? (kind as Record<string, unknown>)['type'];
      return k !== 'none';
    }
    return false;
  } catch {
    return false;
  }
}

/** ESIM_HOME or ~/.esimkit, absolute (src/service/home-paths.ts defaultHome, which loads no service code). */
export function defaultHomeSync(): string {
  return resolvePath(defaultHome());
}
