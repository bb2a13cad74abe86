import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SoftEuicc, CardSetupError, ISDR_AID, ECASD_AID, MAX_ES10_REQUEST, type CardOptions, type CreateCardOptions } from './card.js';
import { createIdentity, type EuiccIdentity } from './identity.js';
import { CardFault, type Es10Handler, type Es10Context } from './types.js';
import { encodeCommandApdu, parseCommandApdu, storeDataBlocks, SW } from '../apdu/apdu.js';
import { encodeTlv, type Tlv } from '../asn1/tlv.js';
import { fromHex, toHex, concatBytes } from '../util/hex.js';
import { es10, rawApdu, storeData, transceive, openIsdr, CardSwError } from '../../test/support/card-driver.js';

/** Test-only ES10 tags (not used by SGP.22). */
const ECHO = 0x9f70; // answers BF71 { the request value } — checks reassembly
const BIG = 0x9f72; // answers BF73 with N bytes (N = first two value bytes)
const FAULT = 0x9f74; // throws CardFault(value[0..1])
const BOOM = 0x9f75; // throws a plain Error
const WHERE = 0x9f76; // answers BF77 { 80 port, 81 channel }

const seen: Es10Context[] = [];
const extraHandlers = new Map<number, Es10Handler>([
  [ECHO, (req: Tlv) => encodeTlv(0xbf71, req.value)],
  [BIG, (req: Tlv) => encodeTlv(0xbf73, new Uint8Array((req.value[0]! << 8) | req.value[1]!).map((_, i) => i & 0xff))],
  [FAULT, (req: Tlv) => {
    throw new CardFault((req.value[0]! << 8) | req.value[1]!, 'test fault');
  }],
  [BOOM, () => {
    throw new Error('boom');
  }],
  [WHERE, (_req: Tlv, ctx: Es10Context) => {
    seen.push(ctx);
    return encodeTlv(0xbf77, [encodeTlv(0x80, Uint8Array.of(ctx.port)), encodeTlv(0x81, Uint8Array.of(ctx.channel))]);
  }],
]);

let identity: EuiccIdentity;
let dir: string;
beforeAll(() => {
  identity = createIdentity({}).identity;
  dir = mkdtempSync(join(tmpdir(), 'esimkit-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function newCard(opts: Partial<CreateCardOptions> & CardOptions = {}): SoftEuicc {
  return SoftEuicc.create(':memory:', { identity, extraHandlers, ...opts });
}

const SELECT_ISDR = '00A4040010A0000005591010FFFFFFFF8900000100';
const sw = (card: SoftEuicc, hex: string, port = 0): number => rawApdu(card, hex, port).sw;
const sd = (req: Uint8Array, le = false): string =>
  toHex(encodeCommandApdu({ cla: 0x81, ins: 0xe2, p1: 0x91, p2: 0, data: req, ...(le ? { le: 256 } : {}) }));
const hexSw = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');

describe('SoftEuicc: SELECT', () => {
  it('ISD-R case 3 (lpac) answers 61xx, then GET RESPONSE gives the FCI', () => {
    const card = newCard();
    const r = rawApdu(card, SELECT_ISDR);
    expect(r.data.length).toBe(0);
    const fci = '6f' + '1f' + '8410a0000005591010ffffffff8900000100' + 'a5049f6501ff' + 'e0058203020202';
    expect(toHex(fci.length === 0 ? new Uint8Array(0) : fromHex(fci)).length / 2).toBe(0x21);
    expect(hexSw(r.sw)).toBe('6121');
    const g = rawApdu(card, '00C0000021');
    expect(toHex(g.data)).toBe(fci);
    expect(g.sw).toBe(SW.OK);
  });
  it('case 4 answers the FCI directly; P2 0C answers no data; P2 04 answers an FCP template', () => {
    const card = newCard();
    const r = rawApdu(card, SELECT_ISDR + '00');
    expect(r.sw).toBe(SW.OK);
    expect(toHex(r.data).slice(0, 4)).toBe('6f1f');
    const n = rawApdu(card, '00A4040C10A0000005591010FFFFFFFF890000010000');
    expect(n).toEqual({ data: new Uint8Array(0), sw: SW.OK });
    const p = rawApdu(card, '00A4040410A0000005591010FFFFFFFF890000010000');
    expect(toHex(p.data).slice(0, 4)).toBe('621f');
  });
  it('status words: P1 not 04 → 6A86, P2 02 → 6A86, unknown AID → 6A82, no AID → 6700', () => {
    const card = newCard();
    expect(hexSw(sw(card, '00A4000010A0000005591010FFFFFFFF8900000100'))).toBe('6A86');
    expect(hexSw(sw(card, '00A4040210A0000005591010FFFFFFFF8900000100'))).toBe('6A86');
    expect(hexSw(sw(card, '00A4040010A0000005591010FFFFFFFF8900000300'))).toBe('6A82');
    expect(hexSw(sw(card, '00A4040004A0000005'))).toBe('6A82'); // shorter than 5 bytes
    expect(hexSw(sw(card, '00A40400'))).toBe('6700');
    expect(hexSw(sw(card, '00A4040000'))).toBe('6700');
  });
  it('ECASD is selectable but has no ES10 functions; a truncated AID selects ISD-R', () => {
    const card = newCard();
    expect(sw(card, '00A4040C10' + toHex(ECASD_AID))).toBe(SW.OK);
    expect(hexSw(sw(card, '80E2910003BF2E00'))).toBe('6D00');
    expect(sw(card, '00A4040C0BA0000005591010FFFFFFFF')).toBe(SW.OK); // 12-byte prefix: ISD-R first
    expect(toHex(rawApdu(card, '80E29100049F700100').data)).toBe(''); // 61xx pending
    expect(toHex(transceive(card, '80E29100049F70015500').data)).toBe('bf710155');
  });
});

describe('SoftEuicc: MANAGE CHANNEL', () => {
  it('opens the lowest free channel (lpac 00 70 00 00 01), up to 19, then 6A81', () => {
    const card = newCard();
    for (let ch = 1; ch <= 19; ch++) {
      const r = rawApdu(card, '0070000001');
      expect(r.sw).toBe(SW.OK);
      expect(r.data[0]).toBe(ch);
    }
    expect(hexSw(sw(card, '0070000001'))).toBe('6A81');
  });
  it('every channel 1-19 works with both class encodings, and closes', () => {
    const card = newCard();
    for (let ch = 1; ch <= 19; ch++) {
      const iso = ch < 4 ? ch : 0x40 + ch - 4;
      const prop = ch < 4 ? 0x80 + ch : 0xc0 + ch - 4;
      const h = (b: number) => b.toString(16).padStart(2, '0');
      expect(hexSw(sw(card, h(iso) + 'A4040C10' + toHex(ISDR_AID))), `select before open ${ch}`).toBe('6881');
      expect(sw(card, '007000' + h(ch))).toBe(SW.OK);
      expect(sw(card, h(iso) + 'A4040C10' + toHex(ISDR_AID))).toBe(SW.OK);
      const r = transceive(card, h(prop) + 'E29100059F700201' + h(ch), 0, ch);
      expect(r.sw).toBe(SW.OK);
      expect(toHex(r.data)).toBe('bf710201' + h(ch));
      // WHERE handler sees the channel number
      const w = transceive(card, h(prop) + 'E2910003' + '9F7600' + '00', 0, ch);
      expect(toHex(w.data)).toBe('bf77068001008101' + h(ch));
    }
    for (let ch = 19; ch >= 1; ch--) {
      expect(sw(card, '007080' + ch.toString(16).padStart(2, '0'))).toBe(SW.OK);
    }
    expect(hexSw(sw(card, '81E2910003BF2E00'))).toBe('6881');
    expect(hexSw(sw(card, 'C0E2910003BF2E00'))).toBe('6881');
    expect(hexSw(sw(card, '4FA4040C10' + toHex(ISDR_AID)))).toBe('6881');
  });
  it('status words: reopen open channel 6A81, P2 > 19 6A86, close 0 6A86, close closed 6881, bad P1 6A86, data 6700', () => {
    const card = newCard();
    expect(sw(card, '0070000300')).toBe(SW.OK);
    expect(hexSw(sw(card, '00700003'))).toBe('6A81');
    expect(hexSw(sw(card, '00700014'))).toBe('6A86');
    expect(hexSw(sw(card, '00708000'))).toBe('6A86'); // close the basic channel (P2 00 on channel 0)
    expect(hexSw(sw(card, '00708005'))).toBe('6881');
    expect(hexSw(sw(card, '00708014'))).toBe('6A86');
    expect(hexSw(sw(card, '00704000'))).toBe('6A86');
    expect(hexSw(sw(card, '007000000101'))).toBe('6700');
    expect(sw(card, '03708000')).toBe(SW.OK); // close the channel of the CLA
    expect(hexSw(sw(card, '03A4040C10' + toHex(ISDR_AID)))).toBe('6881');
  });
  it('a channel opened from a logical channel inherits its selection; from the basic channel it has none', () => {
    const card = newCard();
    expect(rawApdu(card, '0070000001').data[0]).toBe(1);
    expect(hexSw(sw(card, '81E29100049F70015500'))).toBe('6985'); // nothing selected
    expect(sw(card, '01A4040C10' + toHex(ISDR_AID))).toBe(SW.OK);
    expect(rawApdu(card, '0170000001').data[0]).toBe(2);
    expect(toHex(transceive(card, '82E29100049F70015500', 0, 2).data)).toBe('bf710155');
  });
});

describe('SoftEuicc: STORE DATA', () => {
  const payload = Uint8Array.from({ length: 1500 }, (_, i) => (i * 7) & 0xff);
  const request = encodeTlv(ECHO, payload);
  const expected = toHex(encodeTlv(0xbf71, payload));
  for (const blockSize of [6, 120, 255]) {
    it(`reassembles ${request.length} bytes in blocks of ${blockSize} (case 3 and case 4)`, () => {
      const card = newCard();
      expect(toHex(es10(card, request, { blockSize }))).toBe(expected);
      expect(toHex(es10(card, request, { blockSize, le: true }))).toBe(expected);
      expect(toHex(es10(card, request, { blockSize, channel: 0 }))).toBe(expected);
      expect(toHex(es10(card, request, { blockSize, channel: 9 }))).toBe(expected);
    });
  }
  it('extended-length single block (case 3 → 61xx; case 4 with extended Le → the whole response)', () => {
    const card = newCard();
    expect(toHex(es10(card, request, { blockSize: 65535 }))).toBe(expected);
    openIsdr(card, 0, 1);
    const blocks = storeDataBlocks(1, request, 65535, { le: true });
    expect(blocks.length).toBe(1);
    expect(parseCommandApdu(blocks[0]!)).toMatchObject({ extended: true, le: 65536 });
    const r = rawApdu(card, blocks[0]!);
    expect(r.sw).toBe(SW.OK);
    expect(toHex(r.data)).toBe(expected);
  });
  it('extended length refused (6700) when the card is configured without it', () => {
    const card = newCard({ config: { extendedLength: false } });
    openIsdr(card, 0, 1);
    expect(hexSw(rawApdu(card, storeDataBlocks(1, request, 65535)[0]!).sw)).toBe('6700');
    expect(toHex(es10(card, request, { blockSize: 255 }))).toBe(expected);
    expect(card.atr()[13]).toBe(0x1f);
  });
  it('non-final blocks answer 9000 without data', () => {
    const card = newCard();
    openIsdr(card);
    const blocks = storeDataBlocks(1, request, 100);
    for (const b of blocks.slice(0, -1)) expect(rawApdu(card, b)).toEqual({ data: new Uint8Array(0), sw: SW.OK });
  });
  it('broken sequences: gap and restart → 6985, data dropped; a new sequence from 00 works', () => {
    const card = newCard();
    openIsdr(card);
    const blocks = storeDataBlocks(1, request, 100);
    expect(sw(card, toHex(blocks[0]!))).toBe(SW.OK);
    expect(hexSw(sw(card, toHex(blocks[2]!)))).toBe('6985'); // gap
    expect(hexSw(sw(card, toHex(blocks[1]!)))).toBe('6985'); // data was dropped: block 1 no longer expected
    expect(sw(card, toHex(blocks[0]!))).toBe(SW.OK);
    expect(sw(card, toHex(blocks[1]!))).toBe(SW.OK);
    expect(hexSw(sw(card, toHex(blocks[0]!)))).toBe('6985'); // restart inside a sequence
    expect(hexSw(sw(card, '81E2910103BF2E00'))).toBe('6985'); // a lone block with P2 01
    expect(toHex(es10(card, request, { blockSize: 100 }))).toBe(expected);
  });
  it('P1 other than 11/91 → 6A86 (and the sequence is dropped)', () => {
    const card = newCard();
    openIsdr(card);
    expect(sw(card, '81E21100029F70')).toBe(SW.OK);
    expect(hexSw(sw(card, '81E2010101AA'))).toBe('6A86');
    expect(hexSw(sw(card, '81E2910101AA'))).toBe('6985');
    expect(hexSw(sw(card, '81E2900003BF2E00'))).toBe('6A86');
  });
  it('total request size is capped (6A84)', () => {
    const card = newCard();
    openIsdr(card);
    const block = new Uint8Array(255);
    let last = 0;
    for (let i = 0; i * 255 <= MAX_ES10_REQUEST + 255; i++) {
      last = rawApdu(card, encodeCommandApdu({ cla: 0x81, ins: 0xe2, p1: 0x11, p2: i & 0xff, data: block })).sw;
      if (last !== SW.OK) break;
    }
    expect(hexSw(last)).toBe('6A84');
    expect(toHex(es10(card, encodeTlv(ECHO, Uint8Array.of(1))))).toBe('bf710101');
  });
  it('request errors: not DER / trailing bytes / empty → 6A80, unknown tag → 6A88, CardFault → its SW, internal error → 6F00', () => {
    const card = newCard();
    const s = (req: string) => hexSw(storeData(card, fromHex(req)).sw);
    expect(s('9F7081020155')).toBe('6A80'); // non-minimal length
    expect(s('9F70015500')).toBe('6A80'); // trailing byte
    expect(s('9F7005')).toBe('6A80'); // truncated
    expect(s('')).toBe('6A80');
    expect(s('1F')).toBe('6A80');
    expect(s('BF7F00')).toBe('6A88');
    expect(s('A000')).toBe('6A88'); // BPP segment tag without a BPP in progress
    expect(s('9F74026982')).toBe('6982');
    expect(s('9F74026A84')).toBe('6A84');
    expect(s('9F7500')).toBe('6F00');
    expect(() => es10(card, fromHex('BF7F00'))).toThrow(CardSwError);
  });
  it('STORE DATA with nothing selected → 6985', () => {
    const card = newCard();
    expect(hexSw(sw(card, '80E2910003BF2E00'))).toBe('6985');
  });
  it('dispatches to the SGP.22 tables: GetEID BF3E (es10c.ts) on ports, channels and block sizes', () => {
    const card = newCard({ config: { ports: 2 } });
    const want = 'bf3e125a10' + toHex(identity.eidBytes);
    expect(toHex(es10(card, fromHex('BF3E035C015A')))).toBe(want);
    expect(toHex(es10(card, fromHex('BF3E035C015A'), { port: 1, channel: 7, blockSize: 1, le: true, getResponseCla: 'proprietary' }))).toBe(want);
    expect(toHex(es10(card, fromHex('BF3E035C015A'), { channel: 0 }))).toBe(want);
  });
  it('dispatches to the SGP.22 tables (GetEUICCChallenge BF2E from es10b.ts)', () => {
    const card = newCard();
    const r = storeData(card, fromHex('BF2E00'));
    // ES10b owner's handler: expect a BF2E response when it is implemented (6A88 only if the table is empty)
    expect([SW.OK, SW.REFERENCED_DATA_NOT_FOUND]).toContain(r.sw);
    if (r.sw === SW.OK) expect(toHex(r.data).slice(0, 4)).toBe('bf2e');
  });
});

describe('SoftEuicc: response chaining (61xx + GET RESPONSE)', () => {
  const big = (n: number) => encodeTlv(BIG, Uint8Array.of(n >> 8, n & 0xff));
  const bigResponse = (n: number) => toHex(encodeTlv(0xbf73, new Uint8Array(n).map((_, i) => i & 0xff)));
  it('1000-byte response: 6100, then 256-byte parts with ISO class 01 C0, last with 9000', () => {
    const card = newCard();
    openIsdr(card);
    const first = rawApdu(card, sd(big(1000)));
    expect(first.data.length).toBe(0);
    expect(hexSw(first.sw)).toBe('6100');
    const parts: Uint8Array[] = [];
    let r = rawApdu(card, '01C0000000');
    parts.push(r.data);
    const sws = [r.sw];
    while (r.sw >> 8 === 0x61) {
      r = rawApdu(card, '01C00000' + (r.sw & 0xff).toString(16).padStart(2, '0'));
      parts.push(r.data);
      sws.push(r.sw);
    }
    expect(sws.map(hexSw)).toEqual(['6100', '6100', '61ED', '9000']);
    expect(parts.map((p) => p.length)).toEqual([256, 256, 256, 1005 - 768]);
    expect(toHex(concatBytes(...parts))).toBe(bigResponse(1000));
  });
  it('lpac style: GET RESPONSE with class 81 C0 (and C0+ for channels ≥ 4)', () => {
    const card = newCard();
    expect(toHex(es10(card, big(700), { getResponseCla: 'proprietary' }))).toBe(bigResponse(700));
    expect(toHex(es10(card, big(700), { getResponseCla: 'proprietary', channel: 12 }))).toBe(bigResponse(700));
    expect(toHex(es10(card, big(700), { getResponseCla: 'iso', channel: 19 }))).toBe(bigResponse(700));
  });
  it('Le shorter than the remainder: partial data + 61xx with the exact remaining count', () => {
    const card = newCard();
    openIsdr(card);
    expect(hexSw(sw(card, sd(big(100))))).toBe('6167'); // 103 bytes
    const a = rawApdu(card, '81C0000010');
    expect(a.data.length).toBe(16);
    expect(hexSw(a.sw)).toBe('6157');
    const b = rawApdu(card, '01C0000057');
    expect(b.data.length).toBe(0x57);
    expect(b.sw).toBe(SW.OK);
    expect(toHex(concatBytes(a.data, b.data))).toBe(bigResponse(100));
  });
  it('case 4 with a short Le that fits: data + 9000 directly; that does not fit: 61xx', () => {
    const card = newCard();
    openIsdr(card);
    const r = rawApdu(card, sd(big(100), true));
    expect(r.sw).toBe(SW.OK);
    expect(toHex(r.data)).toBe(bigResponse(100));
    expect(hexSw(sw(card, sd(big(300), true)))).toBe('6100');
  });
  it('GET RESPONSE: nothing pending 6985, P1-P2 not 0000 6A86, other channel 6985, closed channel 6881; another command drops the data', () => {
    const card = newCard();
    openIsdr(card);
    expect(hexSw(sw(card, '01C0000000'))).toBe('6985');
    expect(hexSw(sw(card, sd(big(100))))).toBe('6167');
    expect(hexSw(sw(card, '01C0010000'))).toBe('6A86');
    expect(hexSw(sw(card, '00C0000000'))).toBe('6985'); // channel 0 has nothing pending
    expect(hexSw(sw(card, '02C0000000'))).toBe('6881');
    expect(hexSw(sw(card, '01C000000100'))).toBe('6700'); // data field
    expect(sw(card, '81AA00000AA9088100820101830107')).toBe(SW.OK);
    expect(hexSw(sw(card, '01C0000000'))).toBe('6985');
    // case 1 GET RESPONSE gives up to 256
    expect(hexSw(sw(card, sd(big(100))))).toBe('6167');
    const r = rawApdu(card, '01C00000');
    expect(r.sw).toBe(SW.OK);
    expect(r.data.length).toBe(103);
  });
  it('extended GET RESPONSE hands out more than 256 bytes at once', () => {
    const card = newCard();
    openIsdr(card);
    expect(hexSw(sw(card, sd(big(1000))))).toBe('6100');
    const r = rawApdu(card, '01C00000000000');
    expect(r.sw).toBe(SW.OK);
    expect(toHex(r.data)).toBe(bigResponse(1000));
  });
});

describe('SoftEuicc: other status words', () => {
  it('TERMINAL CAPABILITY (lpac) → 9000', () => {
    const card = newCard();
    expect(rawApdu(card, '80AA00000AA9088100820101830107')).toEqual({ data: new Uint8Array(0), sw: SW.OK });
    expect(card.transmit(fromHex('0070000001'))[0]).toBe(1);
    expect(sw(card, '81AA00000AA9088100820101830107')).toBe(SW.OK);
  });
  it('unknown INS 6D00, unknown class 6E00, class/INS mismatch 6E00, SM 6882, chaining 6884, wrong length 6700', () => {
    const card = newCard();
    expect(hexSw(sw(card, '80CA9F7F00'))).toBe('6D00');
    expect(hexSw(sw(card, '00B0000000'))).toBe('6D00');
    expect(hexSw(sw(card, 'A0A4000002 3F00'.replace(' ', '')))).toBe('6E00');
    expect(hexSw(sw(card, 'FFA4040000'))).toBe('6E00');
    expect(hexSw(sw(card, '20A4040000'))).toBe('6E00');
    expect(hexSw(sw(card, '00E2910003BF2E00'))).toBe('6E00');
    expect(hexSw(sw(card, '80A4040C10' + toHex(ISDR_AID)))).toBe('6E00');
    expect(hexSw(sw(card, '80700000 01'.replace(' ', '')))).toBe('6E00');
    expect(hexSw(sw(card, '0CA4040C10' + toHex(ISDR_AID)))).toBe('6882');
    expect(hexSw(sw(card, '84E2910003BF2E00'))).toBe('6882');
    expect(hexSw(sw(card, '90E2110003BF2E00'))).toBe('6884');
    expect(hexSw(sw(card, '80E29100'))).toBe('6985'); // well-formed but nothing selected
    expect(hexSw(sw(card, '80E2910005BF2E00'))).toBe('6700');
    expect(hexSw(sw(card, '80'))).toBe('6700');
    expect(hexSw(sw(card, ''))).toBe('6700');
  });
  it('the card never throws, not even for a non-Uint8Array, and a closed card answers 6F00', () => {
    const card = newCard();
    expect(toHex(card.transmit('nonsense' as unknown as Uint8Array))).toBe('6f00');
    card.close();
    expect(toHex(card.transmit(fromHex(SELECT_ISDR)))).toBe('6f00');
  });
});

describe('SoftEuicc: ports (MEP)', () => {
  it('each port has its own channels and STORE DATA sequences', () => {
    const card = newCard({ config: { ports: 2 } });
    openIsdr(card, 0, 1);
    expect(hexSw(sw(card, '01A4040C10' + toHex(ISDR_AID), 1))).toBe('6881');
    expect(sw(card, '81E21100029F70', 0)).toBe(SW.OK); // sequence in progress on port 0 ch 1
    expect(sw(card, '0070000100', 1)).toBe(SW.OK);
    expect(sw(card, '01A4040C10' + toHex(ISDR_AID), 1)).toBe(SW.OK);
    expect(toHex(transceive(card, '81E29100039F7600', 1, 1).data)).toBe('bf7706800101810101');
    expect(toHex(transceive(card, '81E29101020155', 0, 1).data)).toBe('bf710155'); // port 0 sequence intact
  });
  it('port index reaches handlers; out-of-range port is a RangeError', () => {
    const card = newCard({ config: { ports: 4 } });
    for (let port = 0; port < 4; port++) {
      expect(toHex(es10(card, fromHex('9F7600'), { port, channel: 2 }))).toBe(`bf770680010${port}810102`);
    }
    expect(() => card.transmit(fromHex(SELECT_ISDR), 4)).toThrow(RangeError);
    expect(() => card.transmit(fromHex(SELECT_ISDR), -1)).toThrow(RangeError);
    expect(() => newCard({ config: { ports: 5 } })).toThrow(RangeError);
    expect(() => newCard({ config: { ports: 0 } })).toThrow(RangeError);
  });
  it('closing a channel on port 1 leaves port 0 alone', () => {
    const card = newCard({ config: { ports: 2 } });
    openIsdr(card, 0, 3);
    openIsdr(card, 1, 3);
    expect(sw(card, '00708003', 1)).toBe(SW.OK);
    expect(toHex(es10(card, encodeTlv(ECHO, Uint8Array.of(9)), { channel: 3 }))).toBe('bf710109');
    expect(hexSw(sw(card, '03A4040C10' + toHex(ISDR_AID), 1))).toBe('6881');
  });
});

describe('SoftEuicc: power, ATR, state', () => {
  it('powerOff/reset close every channel and end the RSP session', () => {
    const card = newCard({ config: { ports: 2 } });
    openIsdr(card, 0, 1);
    openIsdr(card, 1, 1);
    card.runtime.session.challenge = Uint8Array.of(1, 2, 3);
    card.powerOff();
    expect(card.runtime.session.challenge).toBeUndefined();
    expect(hexSw(sw(card, '81E29100039F7600'))).toBe('6881');
    expect(hexSw(sw(card, '81E29100039F7600', 1))).toBe('6881');
    expect(toHex(es10(card, fromHex('9F7600')))).toBe('bf7706800100810101'); // driver reopens after the power cycle
    card.reset();
    expect(hexSw(sw(card, '81E29100039F7600'))).toBe('6881');
  });
  it('ATR: 3B 9F 96 80 81 1F C7 … with a valid TCK', () => {
    const card = newCard();
    const atr = card.atr();
    expect(toHex(atr)).toBe('3b9f9680811fc78031e073fe215f633a204e83009000' + toHex(atr.subarray(-1)));
    expect(atr.length).toBe(23);
    let x = 0;
    for (const b of atr.subarray(1)) x ^= b;
    expect(x).toBe(0); // TCK: XOR of T0..TCK is zero
    // T0 low nibble = number of historical bytes
    expect(atr[1]! & 0x0f).toBe(15);
  });
  it('create → close → open keeps identity, config and addresses; refuses to create twice or open a non-card', () => {
    const path = join(dir, 'card.db');
    const card = SoftEuicc.create(path, { identity, config: { ports: 3 }, defaultDpAddress: 'smdp.example.com' });
    const eid = card.eid;
    expect(eid).toBe(identity.eid);
    expect(card.runtime.firmwareVersion()).toBe('1.0.0');
    card.close();
    const again = SoftEuicc.open(path);
    expect(again.eid).toBe(eid);
    expect(again.config.ports).toBe(3);
    expect(again.runtime.store.getMetaString('defaultDpAddress')).toBe('smdp.example.com');
    expect(again.runtime.store.getMetaString('rootDsAddress')).toBe('lpa.ds.gsma.com');
    expect(toHex(again.runtime.identity.euiccCertificate)).toBe(toHex(identity.euiccCertificate));
    again.close();
    expect(() => SoftEuicc.create(path, { identity })).toThrow(CardSetupError);
    const empty = join(dir, 'empty.db');
    expect(() => SoftEuicc.open(empty)).toThrow(CardSetupError);
    writeFileSync(join(dir, 'junk.db'), 'not sqlite at all, not at all, not at all');
    expect(() => SoftEuicc.open(join(dir, 'junk.db'))).toThrow();
  });
  it('random and now are the ones given', () => {
    const card = newCard({ random: (n) => new Uint8Array(n).fill(7), now: () => new Date(0) });
    expect(toHex(card.runtime.random(2))).toBe('0707');
    expect(card.runtime.now().getTime()).toBe(0);
  });
});
