/**
 * Test helper: drive a {@link SoftEuicc} through APDUs only, the way an LPA does.
 *
 * - `es10(card, requestTlv, opts)`: on first use of a (port, channel) — and again after a power cycle —
 *   opens the logical channel (MANAGE CHANNEL with the channel number in P2; channel 0 is never opened)
 *   and SELECTs ISD-R; then sends the request as STORE DATA blocks and follows 61xx with GET RESPONSE.
 *   Returns the response data (empty for "9000, no data", e.g. a non-final BPP segment). Throws
 *   {@link CardSwError} for any final status word other than 9000.
 * - `storeData(...)`: the same without throwing: `{ data, sw }`.
 * - `rawApdu(card, hex | bytes, port?)`: one APDU, no chaining: `{ data, sw }`.
 */
import {
  claFor,
  encodeCommandApdu,
  INS,
  parseResponse,
  storeDataBlocks,
  swHex,
  type ResponseApdu,
} from '../../src/apdu/apdu.js';
import type { SoftEuicc } from '../../src/euicc/card.js';
import { concatBytes, fromHex } from '../../src/util/hex.js';

export const ISDR_AID_HEX = 'A0000005591010FFFFFFFF8900000100';

export interface Es10DriverOptions {
  /** MEP port (default 0). */
  port?: number;
  /** Logical channel (default 1; 0 = basic channel, selected without MANAGE CHANNEL). */
  channel?: number;
  /** STORE DATA block size (default 255; over 255 → extended-length blocks). */
  blockSize?: number;
  /** Case 4 STORE DATA (Le 00) instead of case 3. */
  le?: boolean;
  /** GET RESPONSE class: 'iso' `0x|ch` (default) or 'proprietary' `8x|ch` (as lpac). */
  getResponseCla?: 'iso' | 'proprietary';
}

export class CardSwError extends Error {
  override readonly name = 'CardSwError';
  constructor(
    readonly sw: number,
    readonly data: Uint8Array,
    message: string,
  ) {
    super(message);
  }
}

/** Per card: "port:channel" → power-cycle count when the channel was opened and ISD-R selected. */
const ready = new WeakMap<SoftEuicc, Map<string, number>>();

function toBytes(apdu: string | Uint8Array): Uint8Array {
  return typeof apdu === 'string' ? fromHex(apdu.replace(/\s+/g, '')) : apdu;
}

/** Send one APDU; split the response. */
export function rawApdu(card: SoftEuicc, apdu: string | Uint8Array, port = 0): ResponseApdu {
  return parseResponse(card.transmit(toBytes(apdu), port));
}

/** Send one APDU and follow 61xx with GET RESPONSE on the same channel; concatenated data + final SW. */
export function transceive(
  card: SoftEuicc,
  apdu: string | Uint8Array,
  port = 0,
  channel = 0,
  getResponseCla: 'iso' | 'proprietary' = 'iso',
): ResponseApdu {
  let r = rawApdu(card, apdu, port);
  const parts: Uint8Array[] = [r.data];
  let guard = 0;
  while (r.sw >> 8 === 0x61) {
    if (++guard > 100000) throw new Error('GET RESPONSE loop');
    const le = r.sw & 0xff || 256;
    r = rawApdu(card, encodeCommandApdu({ cla: claFor(channel, getResponseCla === 'proprietary'), ins: INS.GET_RESPONSE, p1: 0, p2: 0, le }), port);
    parts.push(r.data);
  }
  return { data: concatBytes(...parts), sw: r.sw };
}

/** Open (if needed) the channel and select ISD-R on it. */
export function openIsdr(card: SoftEuicc, port = 0, channel = 1): void {
  let m = ready.get(card);
  if (!m) ready.set(card, (m = new Map()));
  const key = `${port}:${channel}`;
  if (m.get(key) === card.powerCycles) return;
  if (channel !== 0) {
    const open = rawApdu(card, encodeCommandApdu({ cla: 0, ins: INS.MANAGE_CHANNEL, p1: 0, p2: channel }), port);
    // 6A81 = already open (e.g. opened by the test itself): fine, select anyway
    if (open.sw !== 0x9000 && open.sw !== 0x6a81) {
      throw new CardSwError(open.sw, open.data, `MANAGE CHANNEL open ${channel}: ${swHex(open.sw)}`);
    }
  }
  const sel = transceive(card, encodeCommandApdu({ cla: claFor(channel, false), ins: INS.SELECT, p1: 4, p2: 0, data: fromHex(ISDR_AID_HEX) }), port, channel);
  if (sel.sw !== 0x9000) throw new CardSwError(sel.sw, sel.data, `SELECT ISD-R: ${swHex(sel.sw)}`);
  m.set(key, card.powerCycles);
}

/** Forget what the driver opened on this card (e.g. after the test closed a channel itself). */
export function forgetChannels(card: SoftEuicc): void {
  ready.delete(card);
}

/** Send an ES10 request; return data and final status word (never throws on a status word). */
export function storeData(card: SoftEuicc, request: Uint8Array, opts: Es10DriverOptions = {}): ResponseApdu {
  const port = opts.port ?? 0;
  const channel = opts.channel ?? 1;
  openIsdr(card, port, channel);
  const blocks = storeDataBlocks(channel, request, opts.blockSize ?? 255, { le: opts.le ?? false });
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i]!;
    if (i < blocks.length - 1) {
      const r = rawApdu(card, block, port);
      if (r.sw !== 0x9000) return r;
    } else {
      return transceive(card, block, port, channel, opts.getResponseCla ?? 'iso');
    }
  }
  throw new Error('unreachable: no STORE DATA blocks');
}

/** Send an ES10 request; return the response data (empty when the card answered 9000 without data). */
export function es10(card: SoftEuicc, request: Uint8Array, opts: Es10DriverOptions = {}): Uint8Array {
  const r = storeData(card, request, opts);
  if (r.sw !== 0x9000) throw new CardSwError(r.sw, r.data, `ES10 request answered ${swHex(r.sw)}`);
  return r.data;
}
