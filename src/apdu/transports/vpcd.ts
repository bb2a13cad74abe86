/**
 * vpcd bridge: connects a software eUICC to pcscd through the vsmartcard "vpcd" reader driver, so the card
 * appears as an ordinary PC/SC reader with a card in it (pcsc_scan, scriptor, lpac, pySim ...).
 *
 * The vpcd protocol (vsmartcard, virtualsmartcard/doc/api.rst and src/vpcd/vpcd.c):
 * - pcscd's vpcd driver LISTENS on TCP (default port 35963, `VPCDPORT`; the Debian package's
 *   /etc/reader.conf.d/vpcd says `DEVICENAME /dev/null:0x8C7B` = port 35963); the card side ("vicc")
 *   CONNECTS to it.
 * - Every message in both directions is a 2-byte big-endian length followed by that many bytes.
 * - A message of exactly one byte from the reader is a control code: 0x00 power off, 0x01 power on,
 *   0x02 reset (none of these is answered), 0x04 get ATR (answered with the ATR).
 * - Any other message is a command APDU, answered with the complete response APDU (data + SW1 SW2).
 * - The reader polls presence by asking for the ATR; a failed send/receive or a zero-length answer makes
 *   the driver drop the connection ("card removed") and accept a new one, so we never answer with an
 *   empty message.
 *
 * The bridge reconnects with exponential backoff whenever the connection cannot be made or drops
 * (pcscd restarted, driver reloaded).
 */
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';

/** Default TCP port of the vpcd driver (vsmartcard `VPCDPORT`). */
export const VPCD_DEFAULT_PORT = 35963;

/** vpcd control codes (one-byte messages from the reader). */
export const VPCD_CTRL = {
  off: 0x00,
  on: 0x01,
  reset: 0x02,
  atr: 0x04,
} as const;

/** What the bridge needs from a card ({@link SoftEuicc} satisfies it). */
export interface VpcdCard {
  atr(): Uint8Array;
  powerOff(): void;
  reset(): void;
  transmitAsync(apdu: Uint8Array, port?: number): Promise<Uint8Array>;
}

export interface VpcdBridgeOptions {
  /** Host where pcscd's vpcd driver listens (default 127.0.0.1). */
  readonly host?: string;
  /** vpcd TCP port (default 35963). */
  readonly port?: number;
  /** MEP port of the card the APDUs go to (default 0). */
  readonly cardPort?: number;
  /** First reconnect delay in ms (default 250); doubles after each failure up to maxReconnectMs. */
  readonly reconnectMs?: number;
  /** Upper bound of the reconnect delay in ms (default 5000). */
  readonly maxReconnectMs?: number;
  /** Timeout of one TCP connect attempt in ms (default 5000). */
  readonly connectTimeoutMs?: number;
}

export interface VpcdConnectedEvent {
  readonly host: string;
  readonly port: number;
}
export interface VpcdDisconnectedEvent {
  readonly host: string;
  readonly port: number;
  readonly reason: string;
}
export interface VpcdConnectFailedEvent {
  readonly host: string;
  readonly port: number;
  readonly error: string;
  /** Delay before the next attempt (ms). */
  readonly retryInMs: number;
}
/** A control message or APDU exchanged (for logging / tests). */
export interface VpcdTrafficEvent {
  readonly kind: 'power-off' | 'power-on' | 'reset' | 'atr' | 'apdu' | 'unknown-control';
  readonly command?: Uint8Array;
  readonly response?: Uint8Array;
}

export interface VpcdBridgeEvents {
  connected: [VpcdConnectedEvent];
  disconnected: [VpcdDisconnectedEvent];
  connectFailed: [VpcdConnectFailedEvent];
  traffic: [VpcdTrafficEvent];
}

/** Frame a message: 2-byte big-endian length + data. */
export function vpcdFrame(data: Uint8Array): Uint8Array {
  if (data.length > 0xffff) throw new RangeError(`vpcd message too long (${data.length} bytes)`);
  const out = new Uint8Array(2 + data.length);
  out[0] = data.length >> 8;
  out[1] = data.length & 0xff;
  out.set(data, 2);
  return out;
}

/**
 * Incremental parser of length-prefixed vpcd messages (both directions use the same framing).
 * `push` returns every complete message the new bytes finish.
 */
export class VpcdFrameReader {
  private buf: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf, 0);
    joined.set(chunk, this.buf.length);
    const out: Uint8Array[] = [];
    let off = 0;
    while (joined.length - off >= 2) {
      const len = (joined[off]! << 8) | joined[off + 1]!;
      if (joined.length - off - 2 < len) break;
      out.push(joined.slice(off + 2, off + 2 + len));
      off += 2 + len;
    }
    this.buf = joined.slice(off);
    return out;
  }

  /** Bytes of an incomplete message still buffered. */
  get pending(): number {
    return this.buf.length;
  }
}

const SW_INTERNAL_ERROR = Uint8Array.of(0x6f, 0x00);

/**
 * Keeps a card connected to a vpcd reader. `start()` resolves once the first connection is established
 * (or when `stop()` is called first); afterwards the bridge keeps reconnecting until `stop()`.
 */
export class VpcdBridge extends EventEmitter<VpcdBridgeEvents> {
  readonly host: string;
  readonly port: number;
  readonly cardPort: number;
  private readonly reconnectMs: number;
  private readonly maxReconnectMs: number;
  private readonly connectTimeoutMs: number;
  private socket: Socket | undefined;
  private running = false;
  private delay: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private firstConnected: (() => void) | undefined;
  private queue: Promise<void> = Promise.resolve();
  private connectedNow = false;
  /** Number of connections established so far. */
  connections = 0;

  constructor(
    private readonly card: VpcdCard,
    opts: VpcdBridgeOptions = {},
  ) {
    super();
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? VPCD_DEFAULT_PORT;
    this.cardPort = opts.cardPort ?? 0;
    this.reconnectMs = Math.max(10, opts.reconnectMs ?? 250);
    this.maxReconnectMs = Math.max(this.reconnectMs, opts.maxReconnectMs ?? 5000);
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.delay = this.reconnectMs;
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535) {
      throw new RangeError(`invalid vpcd port ${this.port}`);
    }
  }

  /** Whether a reader connection is currently open. */
  get connected(): boolean {
    return this.connectedNow;
  }

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    const first = new Promise<void>((resolve) => {
      this.firstConnected = resolve;
    });
    this.connect();
    return first;
  }

  /** Disconnect and stop reconnecting. Resolves when the socket is closed. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.firstConnected?.();
    this.firstConnected = undefined;
    const s = this.socket;
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.destroy();
      });
    }
    await this.queue.catch(() => undefined);
  }

  private connect(): void {
    if (!this.running) return;
    const socket = new Socket();
    this.socket = socket;
    const reader = new VpcdFrameReader();
    let opened = false;
    let closeReason = 'connection closed by the reader';

    socket.setTimeout(this.connectTimeoutMs);
    socket.once('timeout', () => {
      if (!opened) {
        closeReason = `connect timeout after ${this.connectTimeoutMs} ms`;
        socket.destroy();
      }
    });
    socket.on('connect', () => {
      opened = true;
      socket.setTimeout(0);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      this.delay = this.reconnectMs;
      this.connectedNow = true;
      this.connections++;
      this.emit('connected', { host: this.host, port: this.port });
      this.firstConnected?.();
      this.firstConnected = undefined;
    });
    socket.on('data', (chunk: Buffer) => {
      const msgs = reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      for (const m of msgs) {
        this.queue = this.queue.then(() => this.handle(m, socket)).catch(() => undefined);
      }
    });
    socket.on('error', (e: Error) => {
      closeReason = e.message;
    });
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      if (opened) {
        this.connectedNow = false;
        this.emit('disconnected', { host: this.host, port: this.port, reason: this.running ? closeReason : 'stopped' });
        if (this.running) this.delay = this.reconnectMs;
      }
      if (!this.running) return;
      const wait = this.delay;
      if (!opened) {
        this.emit('connectFailed', { host: this.host, port: this.port, error: closeReason, retryInMs: wait });
        this.delay = Math.min(this.maxReconnectMs, this.delay * 2);
      }
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.connect();
      }, wait);
    });
    socket.connect({ host: this.host, port: this.port });
  }

  private async handle(msg: Uint8Array, socket: Socket): Promise<void> {
    if (socket.destroyed) return;
    if (msg.length === 0) return;
    if (msg.length === 1) {
      const code = msg[0]!;
      switch (code) {
        case VPCD_CTRL.off:
          this.card.powerOff();
          this.emit('traffic', { kind: 'power-off' });
          return;
        case VPCD_CTRL.on:
          this.card.reset();
          this.emit('traffic', { kind: 'power-on' });
          return;
        case VPCD_CTRL.reset:
          this.card.reset();
          this.emit('traffic', { kind: 'reset' });
          return;
        case VPCD_CTRL.atr: {
          const atr = this.card.atr();
          socket.write(vpcdFrame(atr));
          this.emit('traffic', { kind: 'atr', response: atr });
          return;
        }
        default:
          // Not defined by the protocol and never answered by a vicc: ignore.
          this.emit('traffic', { kind: 'unknown-control', command: msg });
          return;
      }
    }
    let response: Uint8Array;
    try {
      response = await this.card.transmitAsync(msg, this.cardPort);
    } catch {
      // The card (a fault rule) cut the connection: behave like a card pulled out of the reader.
      if (!socket.destroyed) socket.destroy();
      this.emit('traffic', { kind: 'apdu', command: msg });
      return;
    }
    if (response.length === 0) response = SW_INTERNAL_ERROR; // an empty answer would make vpcd drop us
    if (!socket.destroyed) socket.write(vpcdFrame(response));
    this.emit('traffic', { kind: 'apdu', command: msg, response });
  }
}
