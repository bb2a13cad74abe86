/**
 * ApduChannel: one logical channel to the ISD-R (or another application given by AID) over an
 * {@link ApduTransport}, carrying ES10 requests as GlobalPlatform STORE DATA (SGP22-NOTES §1).
 *
 * - open: `transport.openLogicalChannel(aid)` when the transport has it (AT+CCHO style), else
 *   MANAGE CHANNEL open `00 70 00 00 01` and SELECT `0x A4 04 00 Lc AID 00` on the new channel. A failed
 *   SELECT closes the channel again before the error is thrown.
 * - storeData: the request is cut into blocks of `blockSize` bytes (6..255, like lpac's MSS; a larger size
 *   only when the transport carries extended-length APDUs, then one extended APDU per block), P1 `11`/`91`,
 *   P2 the block number from 00, CLA `80|ch` (`C0+ch-4` for ch ≥ 4), case 4 with Le `00`. `61xx` is followed
 *   by GET RESPONSE on the channel's class (ISO `0x|ch` by default, or proprietary `8x|ch`) until `9000`;
 *   `6Cxx` resends the same APDU with Le = xx. Any other status word → {@link EuiccSwError} naming the ES10
 *   function (from the request's outer tag) and the SW.
 * - every APDU has a timeout (default 10 s): on expiry → TransportError('timeout'), and the channel is
 *   closed (best effort) so that it is not leaked on the card.
 * - `ApduChannel.with(transport, opts, fn)` opens, runs `fn`, and closes on every path; it runs inside
 *   `transport.exclusive` when the transport has it.
 *
 * This module knows APDUs and the ES10 request tags (for error messages) only; it never imports lpa/.
 */
import {
  claFor,
  encodeCommandApdu,
  INS,
  parseCommandApdu,
  parseResponse,
  storeDataBlocks,
  swHex,
  SW,
  type ResponseApdu,
} from './apdu.js';
import { TransportError, type ApduTransport } from './transport.js';
import { concatBytes, fromHex, toHex } from '../util/hex.js';

/** The standard ISD-R AID (SGP.22). */
export const ISDR_AID = fromHex('A0000005591010FFFFFFFF8900000100');
export const DEFAULT_BLOCK_SIZE = 255;
export const MIN_BLOCK_SIZE = 6;
export const DEFAULT_APDU_TIMEOUT_MS = 10_000;

/** ES10 function names by outer request tag (for error messages). */
export const ES10_COMMAND_NAMES: ReadonlyMap<number, string> = new Map([
  [0xbf20, 'GetEUICCInfo1'],
  [0xbf21, 'PrepareDownload'],
  [0xbf22, 'GetEUICCInfo2'],
  [0xbf28, 'ListNotification'],
  [0xbf29, 'SetNickname'],
  [0xbf2b, 'RetrieveNotificationsList'],
  [0xbf2d, 'GetProfilesInfo'],
  [0xbf2e, 'GetEUICCChallenge'],
  [0xbf30, 'RemoveNotificationFromList'],
  [0xbf31, 'EnableProfile'],
  [0xbf32, 'DisableProfile'],
  [0xbf33, 'DeleteProfile'],
  [0xbf34, 'eUICCMemoryReset'],
  [0xbf35, 'LoadCRL'],
  [0xbf36, 'LoadBoundProfilePackage'],
  [0xbf38, 'AuthenticateServer'],
  [0xbf3c, 'GetEuiccConfiguredAddresses'],
  [0xbf3e, 'GetEID'],
  [0xbf3f, 'SetDefaultDpAddress'],
  [0xbf41, 'CancelSession'],
  [0xbf43, 'GetRAT'],
  // BPP segments after the first (each sent as its own STORE DATA sequence)
  [0xa0, 'LoadBoundProfilePackage'],
  [0xa1, 'LoadBoundProfilePackage'],
  [0xa2, 'LoadBoundProfilePackage'],
  [0xa3, 'LoadBoundProfilePackage'],
  [0x86, 'LoadBoundProfilePackage'],
  [0x88, 'LoadBoundProfilePackage'],
]);

/** The ES10 function name of a request (its outer tag), or `STORE DATA <tag>` when unknown. */
export function es10CommandName(request: Uint8Array): string {
  const b0 = request[0];
  if (b0 === undefined) return 'STORE DATA';
  const tag = (b0 & 0x1f) === 0x1f && request.length > 1 ? (b0 << 8) | request[1]! : b0;
  return ES10_COMMAND_NAMES.get(tag) ?? `STORE DATA ${tag.toString(16).toUpperCase()}`;
}

/** The card answered a status word the command does not allow (e.g. 6A88, 6985, 6A82 on SELECT). */
export class EuiccSwError extends Error {
  override readonly name = 'EuiccSwError';
  constructor(
    /** ES10 function name (GetProfilesInfo, EnableProfile, ...) or APDU name (SELECT, MANAGE CHANNEL). */
    readonly command: string,
    /** SW1 SW2 as one number. */
    readonly sw: number,
    message?: string,
  ) {
    super(message ?? `${command}: the eUICC answered ${swHex(sw)}`);
  }
}

/** Anything with STORE DATA: what the ES10 client functions need. */
export interface StoreDataChannel {
  storeData(request: Uint8Array): Promise<Uint8Array>;
}

export interface ApduChannelOptions {
  /** Application to select (default the ISD-R). Hex string or bytes, 5..16 bytes. */
  readonly aid?: Uint8Array | string;
  /** STORE DATA block size: 6..255, or larger when the transport has extendedLength. Default 255. */
  readonly blockSize?: number;
  /** Per-APDU timeout in ms (default 10000). */
  readonly timeoutMs?: number;
  /** GET RESPONSE class: ISO `0x|ch` (default) or proprietary `8x|ch` (as lpac). */
  readonly getResponseCla?: 'iso' | 'proprietary';
}

const MAX_GET_RESPONSE_LOOPS = 4096;

function toAid(aid: Uint8Array | string | undefined): Uint8Array {
  if (aid === undefined) return ISDR_AID;
  const b = typeof aid === 'string' ? fromHex(aid) : aid;
  if (b.length < 5 || b.length > 16) throw new RangeError(`AID must be 5..16 bytes, got ${b.length}`);
  return b;
}

/** Run `p` with a timeout; on expiry reject with TransportError('timeout'). */
async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransportError('timeout', `${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
    // a late rejection of `p` after the timeout must not become an unhandled rejection
    p.catch(() => undefined);
  }
}

export class ApduChannel implements StoreDataChannel {
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly transport: ApduTransport,
    /** Logical channel number (1..19). */
    readonly channel: number,
    /** SELECT response data (FCI), when the card or transport returned one. */
    readonly selectResponse: Uint8Array,
    readonly blockSize: number,
    readonly timeoutMs: number,
    private readonly getResponseCla: 'iso' | 'proprietary',
    /** Opened by transport.openLogicalChannel (closed with closeLogicalChannel). */
    private readonly transportOpened: boolean,
  ) {}

  /** Open a logical channel and select the application. */
  static async open(transport: ApduTransport, opts: ApduChannelOptions = {}): Promise<ApduChannel> {
    const aid = toAid(opts.aid);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_APDU_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`timeoutMs ${timeoutMs} must be positive`);
    const blockSize = checkBlockSize(opts.blockSize ?? defaultBlockSize(transport), transport);
    const getResponseCla = opts.getResponseCla ?? 'iso';

    if (transport.openLogicalChannel) {
      // No timeout is passed down for the open: the channel enforces it, so that a late answer can still be
      // seen (and its channel closed) instead of being dropped by the transport.
      const pending = transport.openLogicalChannel(aid);
      const tc = await withTimeout(pending, timeoutMs, 'open logical channel').catch((e: unknown) => {
        // a late answer still opened a channel on the card: close it when it arrives
        if (e instanceof TransportError && e.code === 'timeout') {
          pending.then((late) => transport.closeLogicalChannel?.(late.channel, { timeoutMs })).catch(() => undefined);
        }
        throw e;
      });
      if (!Number.isInteger(tc.channel) || tc.channel < 1 || tc.channel > 19) {
        throw new TransportError('protocol', `transport opened channel ${tc.channel}, outside 1..19`);
      }
      return new ApduChannel(transport, tc.channel, tc.selectResponse, blockSize, timeoutMs, getResponseCla, true);
    }

    const openApdu = Uint8Array.of(0x00, INS.MANAGE_CHANNEL, 0x00, 0x00, 0x01);
    const pending = transport.transmit(openApdu); // no transport timeout: see above
    const raw = await withTimeout(pending, timeoutMs, 'MANAGE CHANNEL').catch((e: unknown) => {
      // a late answer still opened a channel on the card: close it when it arrives
      if (e instanceof TransportError && e.code === 'timeout') {
        pending
          .then((late) => {
            const lr = late.length === 3 ? parseResponse(late) : undefined;
            const lch = lr?.data[0];
            if (lr?.sw === SW.OK && lch !== undefined && lch >= 1 && lch <= 19) {
              return transport.transmit(Uint8Array.of(0x00, INS.MANAGE_CHANNEL, 0x80, lch), { timeoutMs });
            }
            return undefined;
          })
          .catch(() => undefined);
      }
      throw e;
    });
    const r = parseResponseOrThrow(raw, 'MANAGE CHANNEL');
    if (r.sw !== SW.OK) throw new EuiccSwError('MANAGE CHANNEL', r.sw);
    const ch = r.data[0];
    if (r.data.length !== 1 || ch === undefined || ch < 1 || ch > 19) {
      throw new TransportError('protocol', `MANAGE CHANNEL answered ${toHex(r.data)}, not a channel number 1..19`);
    }
    const channel = new ApduChannel(transport, ch, new Uint8Array(0), blockSize, timeoutMs, getResponseCla, false);
    try {
      const sel = await channel.transceive(encodeCommandApdu({ cla: claFor(ch, false), ins: INS.SELECT, p1: 0x04, p2: 0x00, data: aid, le: 256 }));
      if (sel.sw !== SW.OK) throw new EuiccSwError('SELECT', sel.sw, `SELECT ${toHex(aid).toUpperCase()}: the eUICC answered ${swHex(sel.sw)}`);
      return new ApduChannel(transport, ch, sel.data, blockSize, timeoutMs, getResponseCla, false);
    } catch (e) {
      await channel.closeQuietly();
      throw e;
    }
  }

  /**
   * Open, run `fn`, close — on every path (fn throws, an APDU times out, the card disconnects). Runs inside
   * `transport.exclusive` when the transport offers it. A failure to close is reported only when `fn`
   * succeeded (it never hides fn's own error).
   */
  static async with<T>(transport: ApduTransport, opts: ApduChannelOptions, fn: (ch: ApduChannel) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const ch = await ApduChannel.open(transport, opts);
      let result: T;
      try {
        result = await fn(ch);
      } catch (e) {
        await ch.closeQuietly();
        throw e;
      }
      await ch.close();
      return result;
    };
    return transport.exclusive ? transport.exclusive(run) : run();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Class byte of this channel: ISO (SELECT, GET RESPONSE) or proprietary (STORE DATA). */
  cla(proprietary: boolean): number {
    return claFor(this.channel, proprietary);
  }

  /** Send one ES10 request as STORE DATA blocks; return the response data (empty for "9000, no data"). */
  async storeData(request: Uint8Array): Promise<Uint8Array> {
    const command = es10CommandName(request);
    const blocks = storeDataBlocks(this.channel, request, this.blockSize, { le: true });
    for (let i = 0; i < blocks.length; i++) {
      const r = await this.transceive(blocks[i]!, command);
      if (r.sw !== SW.OK) throw new EuiccSwError(command, r.sw);
      if (i === blocks.length - 1) return r.data;
    }
    throw new Error('unreachable: no STORE DATA blocks');
  }

  /**
   * One raw APDU (sent as given: the caller encodes the channel in the CLA, see {@link cla}), with the
   * timeout, without GET RESPONSE handling. Returns data and SW.
   */
  async transmit(apdu: Uint8Array, what = 'APDU'): Promise<ResponseApdu> {
    this.checkOpen();
    try {
      const pending = this.transport.transmit(apdu, { timeoutMs: this.timeoutMs });
      const raw = await (this.transport.capabilities.enforcesTimeout === true ? pending : withTimeout(pending, this.timeoutMs, what));
      return parseResponseOrThrow(raw, what);
    } catch (e) {
      await this.onTransportError(e);
      throw e;
    }
  }

  /**
   * One APDU with response handling: `61xx` → GET RESPONSE on the channel until the final SW, `6Cxx` →
   * the same APDU again with Le = xx. Returns the concatenated data and the final status word.
   */
  async transceive(apdu: Uint8Array, what = 'APDU'): Promise<ResponseApdu> {
    let r = await this.transmit(apdu, what);
    let current = apdu;
    const parts: Uint8Array[] = [];
    for (let guard = 0; ; guard++) {
      if (guard > MAX_GET_RESPONSE_LOOPS) throw new TransportError('protocol', `${what}: endless 61xx/6Cxx answers`);
      const sw1 = r.sw >> 8;
      if (sw1 === 0x6c) {
        current = withLe(current, r.sw & 0xff || 256);
        r = await this.transmit(current, what);
        continue;
      }
      parts.push(r.data);
      if (sw1 !== 0x61) break;
      current = encodeCommandApdu({
        cla: claFor(this.channel, this.getResponseCla === 'proprietary'),
        ins: INS.GET_RESPONSE,
        p1: 0,
        p2: 0,
        le: r.sw & 0xff || 256,
      });
      r = await this.transmit(current, what);
    }
    return { data: parts.length === 1 ? parts[0]! : concatBytes(...parts), sw: r.sw };
  }

  /** Close the logical channel (MANAGE CHANNEL close, or the transport's closeLogicalChannel). Idempotent. */
  async close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const t = this.timeoutMs;
    if (this.transportOpened && this.transport.closeLogicalChannel) {
      await withTimeout(this.transport.closeLogicalChannel(this.channel, { timeoutMs: t }), t, 'close logical channel');
      return;
    }
    const apdu = Uint8Array.of(0x00, INS.MANAGE_CHANNEL, 0x80, this.channel);
    const r = parseResponseOrThrow(await withTimeout(this.transport.transmit(apdu, { timeoutMs: t }), t, 'MANAGE CHANNEL close'), 'MANAGE CHANNEL close');
    if (r.sw !== SW.OK) throw new EuiccSwError('MANAGE CHANNEL close', r.sw);
  }

  /** Close, ignoring any failure (error paths). */
  async closeQuietly(): Promise<void> {
    try {
      await this.close();
    } catch {
      // best effort: the transport may be gone
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new TransportError('closed', `logical channel ${this.channel} is closed`);
  }

  /** After a timeout the channel is closed (best effort); after a disconnect it is gone. */
  private async onTransportError(e: unknown): Promise<void> {
    if (!(e instanceof TransportError)) return;
    if (e.code === 'timeout') await this.closeQuietly();
    else if (e.code === 'disconnected' || e.code === 'closed') this.closed = true;
  }
}

function defaultBlockSize(transport: ApduTransport): number {
  return Math.min(DEFAULT_BLOCK_SIZE, transport.capabilities.maxCommandData ?? DEFAULT_BLOCK_SIZE);
}

function checkBlockSize(n: number, transport: ApduTransport): number {
  const caps = transport.capabilities;
  const max = caps.extendedLength === true ? Math.min(65535, caps.maxCommandData ?? 65535) : Math.min(255, caps.maxCommandData ?? 255);
  if (!Number.isInteger(n) || n < MIN_BLOCK_SIZE || n > max) {
    throw new RangeError(`block size ${n} out of range ${MIN_BLOCK_SIZE}..${max}${caps.extendedLength === true ? '' : ' (no extended length on this transport)'}`);
  }
  return n;
}

function parseResponseOrThrow(raw: Uint8Array, what: string): ResponseApdu {
  if (!(raw instanceof Uint8Array) || raw.length < 2) {
    throw new TransportError('protocol', `${what}: response of ${raw instanceof Uint8Array ? raw.length : 0} bytes has no status word`);
  }
  return parseResponse(raw);
}

/** The same command APDU with another Le (6Cxx). */
function withLe(apdu: Uint8Array, le: number): Uint8Array {
  const c = parseCommandApdu(apdu);
  return encodeCommandApdu({ cla: c.cla, ins: c.ins, p1: c.p1, p2: c.p2, data: c.data, le, extended: c.extended });
}
