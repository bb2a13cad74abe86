/**
 * APDU transport to the eUICC inside an LTE/5G modem, over its AT-command serial port (`serialport`),
 * implementing {@link ApduTransport}. 3GPP TS 27.007 commands:
 *
 * - logical channels (mode `cgla`): `AT+CCHO="<AID hex>"` → `+CCHO: <n>` (or a bare `<n>` line),
 *   `AT+CGLA=<n>,<len*2>,"<APDU hex>"` → `+CGLA: <len>,"<hex>"`, `AT+CCHC=<n>`. The transport then has
 *   {@link AtTransport.openLogicalChannel}; APDUs given to transmit are routed to the session of the
 *   channel in their CLA (channel 0 goes through AT+CSIM);
 * - basic access (mode `csim`): `AT+CSIM=<len*2>,"<APDU hex>"` → `+CSIM: <len>,"<hex>"`. The transport
 *   has no openLogicalChannel, so the ApduChannel opens channels itself (MANAGE CHANNEL, SELECT).
 *
 * `mode: 'auto'` (default) probes at open: `AT+CCHO=?`, `AT+CGLA=?`, `AT+CCHC=?`; when a test command is
 * refused (modems without `=?` support) the commands themselves are tried (CCHO to `probeAid`, then CCHC);
 * when those fail too, AT+CSIM is used. `cgla` / `csim` force a mode without probing.
 *
 * Line handling: commands are serialized (one at a time); input is split on any CR/LF combination and
 * only complete lines are used (partial reads are buffered); the command's echo is skipped (echo is
 * turned off with ATE0 at open, but tolerated when the modem keeps it on); every line that is not the
 * expected answer is an unsolicited result code and ignored (`+CREG: 1`, `RING`, `^SIMST: 1`, ...).
 * Final results: `OK`; `ERROR`, `+CME ERROR: <n>`, `+CMS ERROR: <n>` (and `NO CARRIER` etc.) reject with
 * {@link AtCommandError} (a TransportError 'protocol' carrying the modem's text). No final result within
 * the timeout → TransportError('timeout'); the port closed or the device gone (write failure, the device
 * path disappearing while a command waits) → TransportError('disconnected'), and the transport stays down.
 *
 * `AtTransport.openStream(duplex, opts)` does the same over any byte stream (a TCP serial bridge such as
 * ser2net; the unit tests' scripted modem).
 *
 * Session ids: modems that answer a session id in 1..19 are taken to use the logical channel number as
 * the id (as lpac assumes). Another id is mapped onto a free local channel number so that the ApduChannel
 * can encode it in the CLA; such modems set the channel bits of the APDU themselves.
 */
import { existsSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';
import { decodeCla } from '../apdu.js';
import { TransportError, type ApduTransport, type TransportCapabilities, type TransportChannel } from '../transport.js';
import { fromHex, toHex } from '../../util/hex.js';

export type AtMode = 'auto' | 'cgla' | 'csim';

export interface AtStreamOptions {
  /** Per-command timeout in ms when a call gives none (default 10000). */
  readonly timeoutMs?: number;
  /** Default 'auto'. */
  readonly mode?: AtMode;
  /** AID used to try AT+CCHO when the modem does not answer `AT+CCHO=?` (default the ISD-R). */
  readonly probeAid?: Uint8Array;
  /** A device path watched while a command waits: when it disappears the link is 'disconnected'. */
  readonly devicePath?: string;
}

export interface AtOpenOptions extends Omit<AtStreamOptions, 'devicePath'> {
  /** Serial device, e.g. /dev/ttyUSB2. */
  readonly path: string;
  /** Default 115200. */
  readonly baudRate?: number;
}

/**
 * The modem answered a command with an error final result (ERROR, +CME ERROR, +CMS ERROR, ...): a
 * TransportError with code 'protocol' (its `name` stays 'TransportError'), plus the command and the text.
 */
export class AtCommandError extends TransportError {
  constructor(
    /** The command name, e.g. `AT+CGLA` (never its arguments: APDUs may carry secrets). */
    readonly command: string,
    /** The final result line as the modem sent it, e.g. `ERROR` or `+CME ERROR: 21`. */
    readonly result: string,
  ) {
    super('protocol', `${command}: modem answered ${result}`);
  }

  /** The +CME / +CMS error code (number or the modem's text), undefined for plain ERROR. */
  get errorCode(): number | string | undefined {
    const m = /^\+CM[ES] ERROR:\s*(.*)$/i.exec(this.result);
    if (!m) return undefined;
    const v = m[1]!.trim();
    return /^\d+$/.test(v) ? Number(v) : v;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
const ISDR_AID = fromHex('A0000005591010FFFFFFFF8900000100');
const ERROR_FINALS = /^(ERROR|\+CME ERROR\b.*|\+CMS ERROR\b.*|NO CARRIER|NO ANSWER|NO DIALTONE|BUSY|COMMAND NOT SUPPORT)$/i;
/** How often a waiting command checks that the device path still exists. */
const WATCH_MS = 200;

interface Pending {
  readonly command: string;
  readonly lines: string[];
  readonly resolve: (lines: string[]) => void;
  readonly reject: (e: Error) => void;
  echoSeen: boolean;
}

function commandName(cmd: string): string {
  const m = /^(AT[^=?]*)/i.exec(cmd);
  return (m ? m[1]! : cmd).toUpperCase();
}

/** The line-level AT link: one command at a time, final results, echo and URC filtering. */
class AtLink {
  private buf = '';
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private down: TransportError | undefined;
  /** Set after a timeout: input buffered until the next command is discarded first. */
  private stale = false;

  constructor(
    private readonly port: Duplex,
    /** For messages; and watched for disappearance when `watchPath`. */
    private readonly path: string,
    private readonly watchPath: boolean,
  ) {
    port.on('data', (chunk: Buffer | string) => this.onData(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk));
    port.on('error', (e: Error) => this.fail(new TransportError('disconnected', `${path}: ${e.message}`, { cause: e })));
    port.on('close', () => this.fail(new TransportError('disconnected', `${path} closed`)));
    port.on('end', () => this.fail(new TransportError('disconnected', `${path} ended`)));
  }

  private gone(): boolean {
    return this.watchPath && !existsSync(this.path);
  }

  get isDown(): boolean {
    return this.down !== undefined;
  }

  /** Mark the link as down (idempotent) and reject the waiting command. */
  fail(e: TransportError): void {
    if (!this.down) this.down = e;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(this.down);
  }

  /** Send `cmd` (without CR) and return the intermediate lines once the modem answered OK. */
  run(cmd: string, timeoutMs: number): Promise<string[]> {
    const next = this.queue.then(
      () => this.exec(cmd, timeoutMs),
      () => this.exec(cmd, timeoutMs),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  private exec(cmd: string, timeoutMs: number): Promise<string[]> {
    if (this.down) return Promise.reject(this.down);
    if (this.stale) {
      this.buf = '';
      this.stale = false;
    }
    return new Promise<string[]>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let watch: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(watch);
      };
      this.pending = {
        command: cmd,
        lines: [],
        echoSeen: false,
        resolve: (l) => {
          done();
          resolve(l);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      timer = setTimeout(() => {
        this.pending = undefined;
        this.stale = true;
        done();
        if (this.gone()) {
          this.fail(new TransportError('disconnected', `serial device ${this.path} is gone`));
          reject(this.down);
          return;
        }
        reject(new TransportError('timeout', `${commandName(cmd)}: no final result within ${timeoutMs} ms`));
      }, timeoutMs);
      if (this.watchPath) {
        watch = setInterval(() => {
          if (this.gone()) this.fail(new TransportError('disconnected', `serial device ${this.path} is gone`));
        }, WATCH_MS);
      }
      this.port.write(`${cmd}\r`, 'latin1', (err) => {
        if (err) this.fail(new TransportError('disconnected', `${this.path}: ${err.message}`, { cause: err }));
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.buf += chunk.toString('latin1');
    let end = -1;
    for (let i = this.buf.length - 1; i >= 0; i--) {
      const c = this.buf.charCodeAt(i);
      if (c === 13 || c === 10) {
        end = i;
        break;
      }
    }
    if (end < 0) {
      if (this.buf.length > 1 << 20) this.buf = ''; // a peer that never ends a line
      return;
    }
    const complete = this.buf.slice(0, end + 1);
    this.buf = this.buf.slice(end + 1);
    for (const raw of complete.split(/[\r\n]+/)) {
      const line = raw.trim();
      if (line.length > 0) this.onLine(line);
    }
  }

  private onLine(line: string): void {
    const p = this.pending;
    if (!p) return; // unsolicited result code between commands (or a late answer after a timeout)
    if (!p.echoSeen && line.toUpperCase() === p.command.toUpperCase()) {
      p.echoSeen = true;
      return;
    }
    if (line === 'OK') {
      this.pending = undefined;
      p.resolve(p.lines);
      return;
    }
    if (ERROR_FINALS.test(line)) {
      this.pending = undefined;
      p.reject(new AtCommandError(commandName(p.command), line));
      return;
    }
    p.lines.push(line);
  }
}

/** `+PREFIX: <len>,"<hex>"` among the lines (URCs ignored) → the response bytes. */
function parseApduReply(prefix: string, lines: readonly string[], command: string): Uint8Array {
  const re = new RegExp(`^\\${prefix}:\\s*(\\d+)\\s*,\\s*"?([0-9A-Fa-f]*)"?\\s*$`);
  for (const line of lines) {
    if (!line.toUpperCase().startsWith(prefix)) continue;
    const m = re.exec(line);
    if (!m) throw new TransportError('protocol', `${command}: malformed reply ${JSON.stringify(line.slice(0, 80))}`);
    const len = Number(m[1]);
    const hex = m[2]!;
    if (hex.length % 2 !== 0 || (len !== hex.length && len !== hex.length / 2)) {
      throw new TransportError('protocol', `${command}: reply length ${len} does not match ${hex.length} hex digits`);
    }
    const bytes = fromHex(hex);
    if (bytes.length < 2) throw new TransportError('protocol', `${command}: reply of ${bytes.length} bytes has no status word`);
    return bytes;
  }
  throw new TransportError('protocol', `${command}: OK without a ${prefix} reply`);
}

/** The session id of a CCHO reply: `+CCHO: <n>` or a bare `<n>` line (URCs ignored). */
function parseCchoReply(lines: readonly string[]): number {
  for (const line of lines) {
    const m = /^(?:\+CCHO:\s*)?"?(\d+)"?$/i.exec(line);
    if (m) return Number(m[1]);
  }
  throw new TransportError('protocol', 'AT+CCHO: OK without a session id');
}

function validateApdu(apdu: Uint8Array): void {
  if (!(apdu instanceof Uint8Array) || apdu.length < 4) {
    throw new TransportError('protocol', `command APDU of ${apdu instanceof Uint8Array ? apdu.length : 0} bytes is too short`);
  }
}

export class AtTransport implements ApduTransport {
  readonly capabilities: TransportCapabilities = { extendedLength: false, maxCommandData: 255 };
  /** Open a logical channel with AT+CCHO (only in mode 'cgla'). */
  readonly openLogicalChannel?: (aid: Uint8Array, options?: { timeoutMs?: number }) => Promise<TransportChannel>;
  /** Close a channel with AT+CCHC (only in mode 'cgla'). */
  readonly closeLogicalChannel?: (channel: number, options?: { timeoutMs?: number }) => Promise<void>;

  private closed = false;
  /** Local channel number → modem session id (mode 'cgla'). */
  private readonly sessions = new Map<number, number>();

  private constructor(
    private readonly closeStream: () => Promise<void>,
    private readonly link: AtLink,
    /** The mode in use after probing. */
    readonly mode: 'cgla' | 'csim',
    readonly timeoutMs: number,
  ) {
    if (mode === 'cgla') {
      this.openLogicalChannel = (aid, options) => this.ccho(aid, options?.timeoutMs);
      this.closeLogicalChannel = (channel, options) => this.cchc(channel, options?.timeoutMs);
    }
  }

  /** Open the serial port, turn echo off and pick the mode. */
  static async open(opts: AtOpenOptions): Promise<AtTransport> {
    checkTimeout(opts.timeoutMs);
    const port = new SerialPort({ path: opts.path, baudRate: opts.baudRate ?? 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new TransportError('disconnected', `cannot open ${opts.path}: ${err.message}`, { cause: err })) : resolve())),
    );
    const closeStream = async (): Promise<void> => {
      if (!port.isOpen) return;
      await new Promise<void>((resolve) => port.close(() => resolve()));
    };
    return AtTransport.start(port, closeStream, { ...opts, devicePath: opts.path }, `serial port ${opts.path}`);
  }

  /**
   * The same over any byte stream to an AT interpreter (a TCP serial bridge such as ser2net, a test
   * double). The stream is destroyed by close().
   */
  static async openStream(stream: Duplex, opts: AtStreamOptions = {}): Promise<AtTransport> {
    checkTimeout(opts.timeoutMs);
    const closeStream = async (): Promise<void> => {
      if (!stream.destroyed) stream.destroy();
    };
    return AtTransport.start(stream, closeStream, opts, opts.devicePath ?? 'AT stream');
  }

  private static async start(stream: Duplex, closeStream: () => Promise<void>, opts: AtStreamOptions, label: string): Promise<AtTransport> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const mode = opts.mode ?? 'auto';
    const link = new AtLink(stream, opts.devicePath ?? label, opts.devicePath !== undefined);
    try {
      await link.run('AT', timeoutMs).catch(async (e: unknown) => {
        // line noise before the first command can make the first AT fail; one retry
        if (e instanceof AtCommandError) return link.run('AT', timeoutMs);
        throw e;
      });
      await link.run('ATE0', timeoutMs).catch((e: unknown) => {
        if (!(e instanceof AtCommandError)) throw e; // echo stays on: tolerated
      });
      const chosen = mode === 'auto' ? await probeMode(link, timeoutMs, opts.probeAid ?? ISDR_AID) : mode;
      return new AtTransport(closeStream, link, chosen, timeoutMs);
    } catch (e) {
      link.fail(new TransportError('closed', 'transport closed'));
      await closeStream();
      throw e;
    }
  }

  get isOpen(): boolean {
    return !this.closed && !this.link.isDown;
  }

  /** Logical channels opened with AT+CCHO and not closed yet. */
  get openChannels(): number[] {
    return [...this.sessions.keys()];
  }

  /** One raw AT command (without CR): the intermediate lines (URCs included) once the modem says OK. */
  async command(cmd: string, options: { timeoutMs?: number } = {}): Promise<string[]> {
    this.checkUsable();
    return this.link.run(cmd, options.timeoutMs ?? this.timeoutMs);
  }

  async transmit(apdu: Uint8Array, options: { timeoutMs?: number } = {}): Promise<Uint8Array> {
    this.checkUsable();
    validateApdu(apdu);
    const hex = toHex(apdu).toUpperCase();
    const t = options.timeoutMs ?? this.timeoutMs;
    if (this.mode === 'cgla') {
      let channel: number;
      try {
        channel = decodeCla(apdu[0]!).channel;
      } catch (e) {
        throw new TransportError('protocol', `CLA ${apdu[0]!.toString(16)} names no logical channel`, { cause: e });
      }
      if (channel !== 0) {
        const session = this.sessions.get(channel) ?? channel;
        const lines = await this.link.run(`AT+CGLA=${session},${hex.length},"${hex}"`, t);
        return parseApduReply('+CGLA', lines, 'AT+CGLA');
      }
    }
    const lines = await this.link.run(`AT+CSIM=${hex.length},"${hex}"`, t);
    return parseApduReply('+CSIM', lines, 'AT+CSIM');
  }

  /** Close the channels this transport opened (best effort), then the port. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.link.isDown) {
      for (const ch of [...this.sessions.keys()]) {
        try {
          await this.cchc(ch, Math.min(this.timeoutMs, 2000));
        } catch {
          // best effort
        }
      }
    }
    this.closed = true;
    this.link.fail(new TransportError('closed', 'transport closed'));
    await this.closeStream();
  }

  private checkUsable(): void {
    if (this.closed) throw new TransportError('closed', 'transport closed');
  }

  private async ccho(aid: Uint8Array, timeoutMs?: number): Promise<TransportChannel> {
    this.checkUsable();
    if (!(aid instanceof Uint8Array) || aid.length < 5 || aid.length > 16) throw new RangeError('AID must be 5..16 bytes');
    const lines = await this.link.run(`AT+CCHO="${toHex(aid).toUpperCase()}"`, timeoutMs ?? this.timeoutMs);
    const session = parseCchoReply(lines);
    let channel = session;
    if (session < 1 || session > 19 || this.sessions.has(session)) {
      channel = 0;
      for (let c = 1; c <= 19; c++) {
        if (!this.sessions.has(c)) {
          channel = c;
          break;
        }
      }
      if (channel === 0) {
        await this.link.run(`AT+CCHC=${session}`, timeoutMs ?? this.timeoutMs).catch(() => undefined);
        throw new TransportError('unsupported', 'no free logical channel number');
      }
    }
    this.sessions.set(channel, session);
    return { channel, selectResponse: new Uint8Array(0) };
  }

  private async cchc(channel: number, timeoutMs?: number): Promise<void> {
    this.checkUsable();
    const session = this.sessions.get(channel) ?? channel;
    await this.link.run(`AT+CCHC=${session}`, timeoutMs ?? this.timeoutMs);
    this.sessions.delete(channel);
  }
}

/** Is the AT+CCHO / AT+CGLA / AT+CCHC family there? Test commands first, the commands themselves next. */
async function probeMode(link: AtLink, timeoutMs: number, probeAid: Uint8Array): Promise<'cgla' | 'csim'> {
  const ok = async (cmd: string): Promise<string[] | undefined> => {
    try {
      return await link.run(cmd, timeoutMs);
    } catch (e) {
      if (e instanceof AtCommandError) return undefined;
      throw e;
    }
  };
  if ((await ok('AT+CCHO=?')) && (await ok('AT+CGLA=?')) && (await ok('AT+CCHC=?'))) return 'cgla';
  const opened = await ok(`AT+CCHO="${toHex(probeAid).toUpperCase()}"`);
  if (opened) {
    let session: number | undefined;
    try {
      session = parseCchoReply(opened);
    } catch {
      session = undefined;
    }
    if (session !== undefined && (await ok(`AT+CCHC=${session}`))) return 'cgla';
  }
  return 'csim';
}

function checkTimeout(ms: number | undefined): void {
  if (ms !== undefined && (!Number.isFinite(ms) || ms <= 0)) throw new RangeError(`timeoutMs ${ms} must be positive`);
}
