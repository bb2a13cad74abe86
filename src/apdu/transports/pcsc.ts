/**
 * PC/SC transport: a card in a reader managed by pcscd (pcsc-lite), through the `pcsclite` Node binding
 * (npm `pcsclite`, a thin NAN addon over libpcsclite, built from source by `npm ci`, which needs
 * libpcsclite-dev). Implements {@link ApduTransport} as a raw transport: complete command APDUs on the
 * card's basic interface; the ApduChannel opens logical channels itself with MANAGE CHANNEL.
 *
 * - Reader selection (`reader`): a number is an index into the reader list (pcscd's order); a string is an
 *   exact reader name, else a case-insensitive substring (first match wins); absent: the first reader with
 *   a card in it, else the first reader. `open` waits up to `timeoutMs` for the reader and its card
 *   (a card served through vpcd appears a moment after the bridge connects), then fails with a
 *   {@link PcscError} whose `reason` says what was missing: 'no-service', 'no-readers', 'no-match',
 *   'no-card'; 'sharing-violation' (code 'busy') when another application holds the card exclusively.
 * - Exclusive access: the binding exposes neither SCardBeginTransaction nor SCardReconnect, so exclusivity
 *   is the PC/SC share mode. `shareMode: 'exclusive'` (default) connects with SCARD_SHARE_EXCLUSIVE for
 *   the whole session; `exclusive(fn)` then only serialises callers in this process. `shareMode: 'shared'`
 *   connects shared, and `exclusive(fn)` re-connects exclusively for the duration of `fn` (disconnect with
 *   SCARD_LEAVE_CARD, connect exclusive, retried until `timeoutMs` while another application uses the
 *   card → 'busy'), then goes back to shared. Plain `transmit`s wait while such a switch is in progress.
 * - transmit uses the protocol negotiated at connect (T=0 or T=1). Card removal (a status change to
 *   EMPTY, SCARD_W_REMOVED_CARD, SCARD_E_NO_SMARTCARD, or SCARD_E_NOT_TRANSACTED / a response without a
 *   status word followed within a second by the reader reporting no card), a reset by another application, reader loss
 *   (SCARD_E_READER_UNAVAILABLE, the reader leaving the list) and pcscd going away (SCARD_E_NO_SERVICE,
 *   SCARD_F_COMM_ERROR) become TransportError('disconnected') (a {@link PcscError} with the reason); the
 *   transport then stays down — open a new one once the card is back (a re-inserted card is powered up
 *   afresh, so no logical channel survives). A transmit that does not complete within the per-APDU
 *   timeout → TransportError('timeout'); the native call cannot be cancelled, so the next transmit waits
 *   for it inside libpcsclite.
 * - `capabilities.extendedLength`: the `extendedLength` option when given, else what the ATR's card
 *   capabilities (historical bytes, compact-TLV tag 7, third byte bit 0x40) announce; false when unknown.
 * - close(): disconnects (SCARD_LEAVE_CARD), stops the binding's monitor threads and releases the
 *   connection; idempotent. (The binding frees its SCARDCONTEXT handles when its objects are collected.)
 *
 * pcscd's socket: libpcsclite honours PCSCLITE_CSOCK_NAME (read once per process, on the first context).
 */
import { createRequire } from 'node:module';
import { TransportError, type ApduTransport, type TransportCapabilities, type TransportErrorCode } from '../transport.js';

// ------------------------------------------------------------------------------------- errors

export type PcscErrorReason =
  | 'no-binding' // the native binding could not be loaded
  | 'no-service' // pcscd is not running / went away
  | 'no-readers' // no reader at all
  | 'no-match' // no reader matches the requested name / index
  | 'no-card' // the reader has no card
  | 'sharing-violation' // another application holds the card exclusively
  | 'removed' // the card was removed during the session
  | 'reset' // another application reset the card
  | 'reader-lost' // the reader went away during the session
  | 'failure'; // any other PC/SC failure

/** A PC/SC failure: a {@link TransportError} (code for the channel) with the PC/SC reason and return code. */
export class PcscError extends TransportError {
  constructor(
    code: TransportErrorCode,
    readonly reason: PcscErrorReason,
    message: string,
    /** The PC/SC return code (e.g. 0x80100069 SCARD_W_REMOVED_CARD) when one was reported. */
    readonly pcscCode?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** PC/SC return codes (pcsc-lite pcsclite.h / Windows winerror.h) the transport distinguishes. */
export const SCARD = {
  E_CANCELLED: 0x80100002,
  E_INVALID_HANDLE: 0x80100003,
  E_UNKNOWN_READER: 0x80100009,
  E_TIMEOUT: 0x8010000a,
  E_SHARING_VIOLATION: 0x8010000b,
  E_NO_SMARTCARD: 0x8010000c,
  E_PROTO_MISMATCH: 0x8010000f,
  F_COMM_ERROR: 0x80100013,
  E_READER_UNAVAILABLE: 0x80100017,
  E_NO_SERVICE: 0x8010001d,
  E_SERVICE_STOPPED: 0x8010001e,
  E_NO_READERS_AVAILABLE: 0x8010002e,
  W_UNRESPONSIVE_CARD: 0x80100066,
  W_UNPOWERED_CARD: 0x80100067,
  W_RESET_CARD: 0x80100068,
  W_REMOVED_CARD: 0x80100069,
} as const;

/** The PC/SC return code in a binding error message ("SCardTransmit error: Card was removed.(0x80100069)"). */
export function pcscCodeOf(e: unknown): number | undefined {
  const msg = e instanceof Error ? e.message : typeof e === 'string' ? e : '';
  const m = /\(0x([0-9a-fA-F]{1,8})\)/.exec(msg);
  return m ? Number.parseInt(m[1]!, 16) : undefined;
}

/** Map a binding error of operation `what` onto a typed {@link PcscError}. */
export function mapPcscError(what: string, e: unknown, reader?: string): PcscError {
  const code = pcscCodeOf(e);
  const detail = e instanceof Error ? e.message : String(e);
  const on = reader ? ` (reader "${reader}")` : '';
  switch (code) {
    case SCARD.W_REMOVED_CARD:
    case SCARD.E_NO_SMARTCARD:
      return new PcscError('disconnected', 'removed', `${what}: card removed${on}: ${detail}`, code, { cause: e });
    case SCARD.W_RESET_CARD:
      return new PcscError('disconnected', 'reset', `${what}: the card was reset by another application${on}; its logical channels are gone: ${detail}`, code, { cause: e });
    case SCARD.W_UNPOWERED_CARD:
    case SCARD.W_UNRESPONSIVE_CARD:
      return new PcscError('disconnected', 'removed', `${what}: card unpowered or unresponsive${on}: ${detail}`, code, { cause: e });
    case SCARD.E_READER_UNAVAILABLE:
    case SCARD.E_UNKNOWN_READER:
    case SCARD.E_INVALID_HANDLE:
      return new PcscError('disconnected', 'reader-lost', `${what}: reader lost${on}: ${detail}`, code, { cause: e });
    case SCARD.E_NO_SERVICE:
    case SCARD.E_SERVICE_STOPPED:
    case SCARD.F_COMM_ERROR:
      return new PcscError('disconnected', 'no-service', `${what}: pcscd not reachable${on}: ${detail}`, code, { cause: e });
    case SCARD.E_NO_READERS_AVAILABLE:
      return new PcscError('disconnected', 'no-readers', `${what}: no PC/SC reader available${on}: ${detail}`, code, { cause: e });
    case SCARD.E_SHARING_VIOLATION:
      return new PcscError('busy', 'sharing-violation', `${what}: the card is in use by another application${on}: ${detail}`, code, { cause: e });
    case SCARD.E_TIMEOUT:
      return new PcscError('timeout', 'failure', `${what}: PC/SC timeout${on}: ${detail}`, code, { cause: e });
    default:
      return new PcscError('protocol', 'failure', `${what} failed${on}: ${detail}`, code, { cause: e });
  }
}

// ------------------------------------------------------------------------------------- ATR

/**
 * Whether the ATR's historical bytes announce extended Lc/Le (ISO 7816-4 §12.1.1.9 card capabilities,
 * compact-TLV tag 7, third byte bit b7 = 0x40). undefined when the ATR does not say.
 */
export function atrExtendedLength(atr: Uint8Array): boolean | undefined {
  if (atr.length < 2) return undefined;
  const t0 = atr[1]!;
  const k = t0 & 0x0f;
  let y = t0 >> 4;
  let i = 2;
  // interface bytes: TAi TBi TCi TDi as announced by Y
  for (;;) {
    if (y & 0x1) i++;
    if (y & 0x2) i++;
    if (y & 0x4) i++;
    if (y & 0x8) {
      if (i >= atr.length) return undefined;
      y = atr[i]! >> 4;
      i++;
    } else break;
  }
  const hist = atr.subarray(i, i + k);
  if (hist.length !== k || k === 0) return undefined;
  const cat = hist[0]!;
  // 0x80: compact-TLV objects follow; 0x00: compact-TLV then 3 status bytes at the end
  let body: Uint8Array;
  if (cat === 0x80) body = hist.subarray(1);
  else if (cat === 0x00 && hist.length >= 4) body = hist.subarray(1, hist.length - 3);
  else return undefined;
  let j = 0;
  while (j < body.length) {
    const tag = body[j]! >> 4;
    const len = body[j]! & 0x0f;
    const value = body.subarray(j + 1, j + 1 + len);
    if (value.length !== len) return undefined;
    if (tag === 0x7) return len >= 3 ? (value[2]! & 0x40) !== 0 : false;
    j += 1 + len;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------- the binding

type Cb<T> = (err: Error | null | undefined, value: T) => void;

interface NativeStatus {
  readonly state: number;
  readonly atr?: Uint8Array;
}

/** The part of the `pcsclite` CardReader this transport uses. */
interface NativeReader {
  readonly name: string;
  readonly state: number;
  readonly connected: boolean;
  readonly SCARD_SHARE_SHARED: number;
  readonly SCARD_SHARE_EXCLUSIVE: number;
  readonly SCARD_PROTOCOL_T0: number;
  readonly SCARD_PROTOCOL_T1: number;
  readonly SCARD_STATE_EMPTY: number;
  readonly SCARD_STATE_PRESENT: number;
  readonly SCARD_STATE_MUTE: number;
  readonly SCARD_LEAVE_CARD: number;
  on(event: 'status', l: (s: NativeStatus) => void): this;
  on(event: 'error', l: (e: Error) => void): this;
  on(event: 'end', l: () => void): this;
  connect(options: { share_mode: number; protocol: number }, cb: Cb<number>): void;
  disconnect(disposition: number, cb: (err: Error | null | undefined) => void): void;
  transmit(data: Buffer, resLen: number, protocol: number, cb: Cb<Buffer>): void;
  close(): void;
}

/** The part of the `pcsclite` PCSCLite object this transport uses. */
interface NativePcsc {
  readers: Record<string, NativeReader>;
  start(cb: (err: Error | null | undefined, data: Buffer) => void): void;
  on(event: 'reader', l: (r: NativeReader) => void): this;
  on(event: 'error', l: (e: Error) => void): this;
  close(): void;
}

type PcscFactory = () => NativePcsc;

let factory: PcscFactory | undefined;

function loadBinding(): PcscFactory {
  if (factory) return factory;
  try {
    const require = createRequire(import.meta.url);
    factory = require('pcsclite') as PcscFactory;
    return factory;
  } catch (e) {
    throw new PcscError('unsupported', 'no-binding', `the pcsclite binding could not be loaded (npm ci with libpcsclite-dev installed): ${(e as Error).message}`, undefined, { cause: e });
  }
}

/**
 * One PC/SC context: the binding's reader monitor, with a "listed" signal after each reader-list update
 * (the binding emits 'reader' events only for new readers and nothing when the list is empty).
 */
class Context {
  private listedOnce = false;
  private waiters: (() => void)[] = [];
  /** Reader names in the order of the last listing. */
  names: string[] = [];
  error: Error | undefined;
  private closed = false;
  readonly statusListeners = new Set<(r: NativeReader, s: NativeStatus) => void>();
  readonly endListeners = new Set<(r: NativeReader) => void>();

  private constructor(readonly native: NativePcsc) {}

  static create(): Context {
    const make = loadBinding();
    let native: NativePcsc;
    try {
      native = make();
    } catch (e) {
      throw mapPcscError('SCardEstablishContext', e);
    }
    const ctx = new Context(native);
    // The binding calls native.start(cb) on the next tick; wrap the callback to learn about every listing.
    const start = native.start.bind(native);
    native.start = (cb) =>
      start((err, data) => {
        try {
          cb(err, data);
        } finally {
          if (!err) ctx.names = parseReaderList(data);
          ctx.listedOnce = true;
          ctx.wake();
        }
      });
    native.on('error', (e) => {
      if (ctx.closed) return; // "Command cancelled" after close()
      ctx.error = e;
      ctx.wake();
    });
    native.on('reader', (r) => {
      r.on('error', (e) => {
        if (!ctx.closed) ctx.error ??= e;
      });
      r.on('status', (s) => {
        for (const l of ctx.statusListeners) l(r, s);
        ctx.wake();
      });
      r.on('end', () => {
        for (const l of ctx.endListeners) l(r);
        ctx.wake();
      });
    });
    return ctx;
  }

  get listed(): boolean {
    return this.listedOnce;
  }

  reader(name: string): NativeReader | undefined {
    return this.native.readers[name];
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolve on the next event (listing, status change, error) or after `ms`. */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, Math.max(0, ms));
      const self = this;
      function done(): void {
        clearTimeout(t);
        self.waiters = self.waiters.filter((f) => f !== done);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of Object.values(this.native.readers)) {
      try {
        r.close();
      } catch {
        // already ended
      }
    }
    try {
      this.native.close();
    } catch {
      // already closed
    }
    this.wake();
  }
}

function parseReaderList(data: Buffer | undefined): string[] {
  if (!data || data.length === 0) return [];
  return data
    .toString('utf8')
    .split('\u0000')
    .filter((s) => s.length > 0);
}

function callback<T>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ------------------------------------------------------------------------------------- the transport

export type PcscShareMode = 'exclusive' | 'shared';

export interface PcscOpenOptions {
  /** Reader name (exact, else case-insensitive substring) or index into the reader list. */
  readonly reader?: string | number;
  /** How long `open` (and `exclusive` in shared mode) waits for the reader, the card and access (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Default per-APDU timeout (default 30000 ms); `transmit`'s own option overrides it. */
  readonly apduTimeoutMs?: number;
  /** PC/SC share mode of the session (default 'exclusive'). */
  readonly shareMode?: PcscShareMode;
  /** Override what the ATR says about extended-length APDUs. */
  readonly extendedLength?: boolean;
}

export interface PcscReaderInfo {
  readonly name: string;
  /** A card is present in the reader. */
  readonly cardPresent: boolean;
  /** The card's ATR when present. */
  readonly atr?: Uint8Array;
}

const DEFAULT_OPEN_TIMEOUT_MS = 5000;
const DEFAULT_APDU_TIMEOUT_MS = 30_000;
const LIST_SETTLE_MS = 2000;
/** How long a failed transmit waits for the reader to report a removed card. */
const CONFIRM_REMOVAL_MS = 1000;

function describeSelector(sel: string | number | undefined): string {
  return sel === undefined ? 'any reader' : typeof sel === 'number' ? `reader #${sel}` : `reader "${sel}"`;
}

/**
 * The reader `sel` designates among `names` (see {@link PcscOpenOptions.reader}); absent: the first with a
 * card (`hasCard`), else the first. undefined when nothing matches.
 */
export function selectReader(names: readonly string[], sel: string | number | undefined, hasCard: (n: string) => boolean): string | undefined {
  if (sel === undefined) return names.find(hasCard) ?? names[0];
  if (typeof sel === 'number') return Number.isInteger(sel) && sel >= 0 ? names[sel] : undefined;
  if (names.includes(sel)) return sel;
  const lower = sel.toLowerCase();
  return names.find((n) => n.toLowerCase().includes(lower));
}

export class PcscTransport implements ApduTransport {
  readonly capabilities: TransportCapabilities;
  private closed = false;
  private down: PcscError | undefined;
  private lock: Promise<void> = Promise.resolve();
  /** Set while `exclusive` switches share modes; transmits wait for it. */
  private gate: Promise<void> | undefined;
  private readonly onStatus: (r: NativeReader, s: NativeStatus) => void;
  private readonly onEnd: (r: NativeReader) => void;

  private constructor(
    private readonly ctx: Context,
    private readonly native: NativeReader,
    /** The reader's name. */
    readonly readerName: string,
    /** The card's ATR at connect time. */
    readonly atr: Uint8Array,
    private protocolId: number,
    readonly shareMode: PcscShareMode,
    private readonly timeoutMs: number,
    private readonly apduTimeoutMs: number,
    extendedLength: boolean,
  ) {
    this.capabilities = { extendedLength, maxCommandData: extendedLength ? 65535 : 255 };
    this.onStatus = (r, s) => {
      if (r !== this.native || this.closed || this.down) return;
      if (s.state & this.native.SCARD_STATE_EMPTY) {
        this.down = new PcscError('disconnected', 'removed', `card removed from reader "${this.readerName}"`, SCARD.W_REMOVED_CARD);
      }
    };
    this.onEnd = (r) => {
      if (r !== this.native || this.closed || this.down) return;
      this.down = new PcscError('disconnected', 'reader-lost', `reader "${this.readerName}" went away`, SCARD.E_READER_UNAVAILABLE);
    };
    ctx.statusListeners.add(this.onStatus);
    ctx.endListeners.add(this.onEnd);
  }

  /** The negotiated protocol: 'T=0' or 'T=1'. */
  get protocol(): 'T=0' | 'T=1' {
    return this.protocolId === this.native.SCARD_PROTOCOL_T0 ? 'T=0' : 'T=1';
  }

  /** Open, connected and not removed. */
  get isOpen(): boolean {
    return !this.closed && !this.down;
  }

  /**
   * The readers pcscd knows, with card presence. Rejects with PcscError 'no-service' when pcscd is not
   * running; an empty list when there is no reader.
   */
  static async listReaders(): Promise<PcscReaderInfo[]> {
    const ctx = Context.create();
    try {
      const end = Date.now() + LIST_SETTLE_MS;
      while (!ctx.listed && !ctx.error && Date.now() < end) await ctx.changed(end - Date.now());
      if (ctx.error) throw mapPcscError('SCardListReaders', ctx.error);
      // the status of each reader arrives right after the listing
      const statusEnd = Date.now() + 500;
      while (ctx.names.some((n) => (ctx.reader(n)?.state ?? 0) === 0) && Date.now() < statusEnd) await ctx.changed(statusEnd - Date.now());
      return ctx.names.map((name) => {
        const r = ctx.reader(name);
        const present = r !== undefined && (r.state & r.SCARD_STATE_PRESENT) !== 0;
        return { name, cardPresent: present };
      });
    } finally {
      ctx.close();
    }
  }

  /** Connect to the card in the selected reader (see the file comment for selection and errors). */
  static async open(opts: PcscOpenOptions = {}): Promise<PcscTransport> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
    const shareMode = opts.shareMode ?? 'exclusive';
    const end = Date.now() + timeoutMs;
    const statusDeadline = Date.now() + Math.min(500, timeoutMs);
    const ctx = Context.create();
    const atrs = new Map<string, Uint8Array>();
    const onStatus = (r: NativeReader, s: NativeStatus): void => {
      if (s.atr && s.atr.length > 0) atrs.set(r.name, new Uint8Array(s.atr));
    };
    ctx.statusListeners.add(onStatus);
    const present = (n: string): boolean => {
      const r = ctx.reader(n);
      return r !== undefined && (r.state & r.SCARD_STATE_PRESENT) !== 0 && (r.state & r.SCARD_STATE_MUTE) === 0;
    };
    try {
      let lastError: PcscError | undefined;
      for (;;) {
        if (ctx.error) throw mapPcscError('SCardGetStatusChange', ctx.error);
        // without a selector the choice depends on card presence: wait (briefly) for every reader's status
        const statusKnown = opts.reader !== undefined || ctx.names.every((n) => (ctx.reader(n)?.state ?? 0) !== 0) || Date.now() > statusDeadline;
        const name = ctx.listed && statusKnown ? selectReader(ctx.names, opts.reader, present) : undefined;
        const reader = name !== undefined ? ctx.reader(name) : undefined;
        if (name !== undefined && reader && present(name)) {
          const share = shareMode === 'exclusive' ? reader.SCARD_SHARE_EXCLUSIVE : reader.SCARD_SHARE_SHARED;
          try {
            const protocol = await callback<number>((cb) =>
              reader.connect({ share_mode: share, protocol: reader.SCARD_PROTOCOL_T0 | reader.SCARD_PROTOCOL_T1 }, cb),
            );
            const atr = atrs.get(name) ?? new Uint8Array(0);
            const ext = opts.extendedLength ?? atrExtendedLength(atr) ?? false;
            ctx.statusListeners.delete(onStatus);
            return new PcscTransport(ctx, reader, name, atr, protocol, shareMode, timeoutMs, opts.apduTimeoutMs ?? DEFAULT_APDU_TIMEOUT_MS, ext);
          } catch (e) {
            lastError = mapPcscError('SCardConnect', e, name);
            // retry while the card is settling or another application holds it; fail on anything else
            if (lastError.reason !== 'sharing-violation' && lastError.reason !== 'removed' && lastError.reason !== 'reset') throw lastError;
          }
        }
        const left = end - Date.now();
        if (left <= 0) {
          if (lastError && name !== undefined && present(name)) throw lastError;
          throw PcscTransport.notFound(ctx, opts.reader, ctx.listed ? selectReader(ctx.names, opts.reader, present) : undefined, timeoutMs);
        }
        await ctx.changed(Math.min(left, 100));
      }
    } catch (e) {
      ctx.close();
      throw e;
    }
  }

  private static notFound(ctx: Context, sel: string | number | undefined, name: string | undefined, timeoutMs: number): PcscError {
    if (!ctx.listed || ctx.names.length === 0) {
      return new PcscError('disconnected', 'no-readers', `no PC/SC reader found within ${timeoutMs} ms`, SCARD.E_NO_READERS_AVAILABLE);
    }
    const list = ctx.names.map((n, i) => `#${i} "${n}"`).join(', ');
    if (name === undefined) {
      return new PcscError('disconnected', 'no-match', `no PC/SC reader matches ${describeSelector(sel)}; readers: ${list}`, SCARD.E_UNKNOWN_READER);
    }
    return new PcscError('disconnected', 'no-card', `no card in reader "${name}" within ${timeoutMs} ms`, SCARD.E_NO_SMARTCARD);
  }

  /**
   * A card pulled out during the exchange often surfaces first as SCARD_E_NOT_TRANSACTED or an empty
   * response; the reader's status change follows within milliseconds. Wait briefly for it: the card is
   * gone → the transport is down ('disconnected'), else `err` stands.
   */
  private async confirmRemoval(err: PcscError): Promise<PcscError> {
    const until = Date.now() + CONFIRM_REMOVAL_MS;
    while (!this.down && !this.cardGone() && Date.now() < until) await this.ctx.changed(until - Date.now());
    if (!this.down && this.cardGone()) {
      this.down = new PcscError('disconnected', 'removed', `card removed from reader "${this.readerName}" during the exchange (${err.message})`, err.pcscCode, { cause: err });
    }
    return this.down ?? err;
  }

  /** The reader reports no card (or is gone). */
  private cardGone(): boolean {
    if (this.ctx.reader(this.readerName) !== this.native) return true;
    const st = this.native.state;
    return (st & this.native.SCARD_STATE_EMPTY) !== 0;
  }

  private check(): void {
    if (this.closed) throw new TransportError('closed', 'PC/SC transport closed');
    if (this.down) throw this.down;
  }

  async transmit(apdu: Uint8Array, options: { timeoutMs?: number } = {}): Promise<Uint8Array> {
    this.check();
    while (this.gate) {
      await this.gate;
      this.check();
    }
    return this.rawTransmit(apdu, options.timeoutMs ?? this.apduTimeoutMs);
  }

  private async rawTransmit(apdu: Uint8Array, ms: number): Promise<Uint8Array> {
    const resLen = this.capabilities.extendedLength ? 65536 + 2 : 256 + 2;
    const p = callback<Buffer>((cb) => this.native.transmit(Buffer.from(apdu), resLen, this.protocolId, cb)).then(
      async (b) => {
        if (b.length >= 2) return new Uint8Array(b);
        // No status word: a reader driver losing its card mid-exchange can answer "successfully" with
        // nothing (vpcd does). Removed card → disconnected, else a protocol error.
        throw await this.confirmRemoval(
          new PcscError('protocol', 'failure', `SCardTransmit: a ${b.length}-byte response without a status word from "${this.readerName}"`),
        );
      },
      async (e: unknown) => {
        const err = mapPcscError('SCardTransmit', e, this.readerName);
        if (err.code === 'disconnected') {
          this.down ??= err;
          throw this.down;
        }
        throw await this.confirmRemoval(err);
      },
    );
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(this.down ?? new TransportError('timeout', `no answer from the card in "${this.readerName}" within ${ms} ms`));
          }, ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      p.catch(() => undefined);
    }
  }

  /**
   * Run `fn` with exclusive access to the card (see the file comment). Calls are serialised; in shared
   * mode the connection is switched to exclusive for the duration (PcscError 'busy' when another
   * application keeps the card beyond `timeoutMs`).
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    await prev;
    try {
      this.check();
      if (this.shareMode === 'exclusive') return await fn();
      await this.reconnect(this.native.SCARD_SHARE_EXCLUSIVE);
      try {
        return await fn();
      } finally {
        if (!this.closed && !this.down) await this.reconnect(this.native.SCARD_SHARE_SHARED);
      }
    } finally {
      release();
    }
  }

  /** Disconnect (leave the card as is) and connect again with `share`, retrying sharing violations. */
  private async reconnect(share: number): Promise<void> {
    let open!: () => void;
    this.gate = new Promise<void>((r) => (open = r));
    try {
      await callback<void>((cb) => this.native.disconnect(this.native.SCARD_LEAVE_CARD, (e) => cb(e, undefined)));
      const end = Date.now() + this.timeoutMs;
      for (;;) {
        try {
          this.protocolId = await callback<number>((cb) =>
            this.native.connect({ share_mode: share, protocol: this.native.SCARD_PROTOCOL_T0 | this.native.SCARD_PROTOCOL_T1 }, cb),
          );
          return;
        } catch (e) {
          const err = mapPcscError('SCardConnect', e, this.readerName);
          if (err.reason !== 'sharing-violation' || Date.now() >= end) {
            if (err.code === 'disconnected') this.down ??= err;
            throw err;
          }
          await sleep(20);
        }
      }
    } catch (e) {
      throw e instanceof PcscError ? e : mapPcscError('SCardReconnect', e, this.readerName);
    } finally {
      this.gate = undefined;
      open();
    }
  }

  /** Disconnect (SCARD_LEAVE_CARD) and release the PC/SC context. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ctx.statusListeners.delete(this.onStatus);
    this.ctx.endListeners.delete(this.onEnd);
    if (this.native.connected) {
      await Promise.race([
        callback<void>((cb) => this.native.disconnect(this.native.SCARD_LEAVE_CARD, (e) => cb(e, undefined))).catch(() => undefined),
        sleep(2000),
      ]);
    }
    this.ctx.close();
  }
}
