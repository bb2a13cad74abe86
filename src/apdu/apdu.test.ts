import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ApduError,
  buildResponse,
  claFor,
  decodeCla,
  encodeCommandApdu,
  parseCommandApdu,
  parseResponse,
  storeDataBlocks,
  SW,
  swHex,
} from './apdu.js';
import { fromHex, toHex } from '../util/hex.js';

function swOf(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof ApduError) return e.sw;
    throw e;
  }
  return undefined;
}

describe('parseCommandApdu', () => {
  it('case 1', () => {
    const c = parseCommandApdu(fromHex('80AA0000'));
    expect(c).toMatchObject({ cla: 0x80, ins: 0xaa, p1: 0, p2: 0, le: undefined, case: 1, extended: false });
    expect(c.data.length).toBe(0);
  });
  it('case 2 short (00 = 256) and the MANAGE CHANNEL open of lpac', () => {
    expect(parseCommandApdu(fromHex('0070000001'))).toMatchObject({ ins: 0x70, le: 1, case: 2, extended: false });
    expect(parseCommandApdu(fromHex('00C0000000'))).toMatchObject({ le: 256, case: 2 });
  });
  it('case 3 short (lpac SELECT without Le)', () => {
    const c = parseCommandApdu(fromHex('01A4040010A0000005591010FFFFFFFF8900000100'));
    expect(c).toMatchObject({ cla: 1, ins: 0xa4, p1: 4, p2: 0, le: undefined, case: 3, extended: false });
    expect(toHex(c.data).toUpperCase()).toBe('A0000005591010FFFFFFFF8900000100');
  });
  it('case 4 short (pySim STORE DATA with Le 00)', () => {
    const c = parseCommandApdu(fromHex('81E2910003BF3E0000'));
    expect(c).toMatchObject({ case: 4, le: 256, p1: 0x91 });
    expect(toHex(c.data)).toBe('bf3e00');
  });
  it('case 2 extended (0000 = 65536)', () => {
    expect(parseCommandApdu(fromHex('00C00000000000'))).toMatchObject({ case: 2, le: 65536, extended: true });
    expect(parseCommandApdu(fromHex('00C00000000102'))).toMatchObject({ case: 2, le: 258, extended: true });
  });
  it('case 3 and 4 extended', () => {
    const data = new Uint8Array(300).fill(7);
    const c3 = parseCommandApdu(new Uint8Array([0x80, 0xe2, 0x91, 0x00, 0x00, 0x01, 0x2c, ...data]));
    expect(c3).toMatchObject({ case: 3, extended: true, le: undefined });
    expect(c3.data.length).toBe(300);
    const c4 = parseCommandApdu(new Uint8Array([0x80, 0xe2, 0x91, 0x00, 0x00, 0x01, 0x2c, ...data, 0x00, 0x00]));
    expect(c4).toMatchObject({ case: 4, extended: true, le: 65536 });
    const c4b = parseCommandApdu(new Uint8Array([0x80, 0xe2, 0x91, 0x00, 0x00, 0x00, 0x01, 0x55, 0x01, 0x00]));
    expect(c4b).toMatchObject({ case: 4, extended: true, le: 256 });
  });
  it('wrong lengths answer 6700', () => {
    for (const hex of ['', '00', '00A404', '80E2910003BF3E', '80E2910003BF3E000000', '8000000000000000', '80E2910000000301', '80E29100000002AABBCC']) {
      expect(swOf(() => parseCommandApdu(fromHex(hex))), hex).toBe(SW.WRONG_LENGTH);
    }
  });
});

describe('encodeCommandApdu', () => {
  it('encodes each case, short and extended', () => {
    expect(toHex(encodeCommandApdu({ cla: 0x80, ins: 0xaa, p1: 0, p2: 0 }))).toBe('80aa0000');
    expect(toHex(encodeCommandApdu({ cla: 0, ins: 0x70, p1: 0, p2: 0, le: 1 }))).toBe('0070000001');
    expect(toHex(encodeCommandApdu({ cla: 0, ins: 0xc0, p1: 0, p2: 0, le: 256 }))).toBe('00c0000000');
    expect(toHex(encodeCommandApdu({ cla: 0x81, ins: 0xe2, p1: 0x91, p2: 0, data: fromHex('bf3e00') }))).toBe('81e2910003bf3e00');
    expect(toHex(encodeCommandApdu({ cla: 0x81, ins: 0xe2, p1: 0x91, p2: 0, data: fromHex('bf3e00'), le: 256 }))).toBe('81e2910003bf3e0000');
    expect(toHex(encodeCommandApdu({ cla: 0, ins: 0xc0, p1: 0, p2: 0, le: 65536 }))).toBe('00c00000000000');
    expect(toHex(encodeCommandApdu({ cla: 0x81, ins: 0xe2, p1: 0x91, p2: 0, data: fromHex('bf3e00'), extended: true }))).toBe('81e291000000' + '03bf3e00');
    expect(toHex(encodeCommandApdu({ cla: 0x81, ins: 0xe2, p1: 0x91, p2: 0, data: fromHex('bf3e00'), le: 65536, extended: true }))).toBe(
      '81e2910000' + '0003bf3e00' + '0000',
    );
  });
  it('rejects values outside the fields', () => {
    expect(() => encodeCommandApdu({ cla: 256, ins: 0, p1: 0, p2: 0 })).toThrow(RangeError);
    expect(() => encodeCommandApdu({ cla: 0, ins: 0, p1: 0, p2: 0, le: 0 })).toThrow(RangeError);
    expect(() => encodeCommandApdu({ cla: 0, ins: 0, p1: 0, p2: 0, le: 65537 })).toThrow(RangeError);
    expect(() => encodeCommandApdu({ cla: 0, ins: 0, p1: 0, p2: 0, data: new Uint8Array(65536) })).toThrow(RangeError);
  });
  it('parse(encode(x)) == x for every case (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          cla: fc.integer({ min: 0, max: 255 }),
          ins: fc.integer({ min: 0, max: 255 }),
          p1: fc.integer({ min: 0, max: 255 }),
          p2: fc.integer({ min: 0, max: 255 }),
          data: fc.uint8Array({ maxLength: 600 }),
          le: fc.option(fc.integer({ min: 1, max: 65536 }), { nil: undefined }),
          extended: fc.boolean(),
        }),
        (x) => {
          const c = parseCommandApdu(encodeCommandApdu(x));
          expect(c.cla).toBe(x.cla);
          expect(c.ins).toBe(x.ins);
          expect(c.p1).toBe(x.p1);
          expect(c.p2).toBe(x.p2);
          expect(toHex(c.data)).toBe(toHex(x.data));
          expect(c.le).toBe(x.le);
          expect(c.extended).toBe((x.data.length > 0 || x.le !== undefined) && (x.extended || x.data.length > 255 || (x.le ?? 0) > 256));
          expect(c.case).toBe(x.data.length > 0 ? (x.le !== undefined ? 4 : 3) : x.le !== undefined ? 2 : 1);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('responses', () => {
  it('build and parse', () => {
    expect(toHex(buildResponse(fromHex('0102'), 0x9000))).toBe('01029000');
    expect(toHex(buildResponse(new Uint8Array(0), 0x6a88))).toBe('6a88');
    const r = parseResponse(fromHex('BF3E0090 00'.replace(' ', '')));
    expect(toHex(r.data)).toBe('bf3e00');
    expect(r.sw).toBe(0x9000);
    expect(swOf(() => parseResponse(fromHex('90')))).toBe(SW.NO_PRECISE_DIAGNOSIS);
    expect(swHex(0x6a88)).toBe('6A88');
    expect(swHex(0x6100)).toBe('6100');
  });
});

describe('class byte', () => {
  it('channels 0-3 and 4-19 in both encodings (SGP22-NOTES §1 CLA table)', () => {
    for (let ch = 0; ch < 20; ch++) {
      const iso = claFor(ch, false);
      const prop = claFor(ch, true);
      expect(iso).toBe(ch < 4 ? ch : 0x40 + ch - 4);
      expect(prop).toBe(ch < 4 ? 0x80 + ch : 0xc0 + ch - 4);
      expect(decodeCla(iso)).toEqual({ channel: ch, proprietary: false, chaining: false });
      expect(decodeCla(prop)).toEqual({ channel: ch, proprietary: true, chaining: false });
    }
    expect(() => claFor(20, false)).toThrow(RangeError);
    expect(() => claFor(-1, true)).toThrow(RangeError);
  });
  it('chaining bit', () => {
    expect(decodeCla(0x10)).toEqual({ channel: 0, proprietary: false, chaining: true });
    expect(decodeCla(0x91)).toEqual({ channel: 1, proprietary: true, chaining: true });
    expect(decodeCla(0x5f)).toEqual({ channel: 19, proprietary: false, chaining: true });
  });
  it('secure messaging answers 6882, reserved classes and FF 6E00', () => {
    for (const cla of [0x04, 0x08, 0x0c, 0x84, 0x8f, 0x60, 0x6f, 0xe0, 0xef]) {
      expect(swOf(() => decodeCla(cla)), cla.toString(16)).toBe(SW.SECURE_MESSAGING_NOT_SUPPORTED);
    }
    for (const cla of [0x20, 0x3f, 0xa0, 0xa4, 0xbf, 0xff]) {
      expect(swOf(() => decodeCla(cla)), cla.toString(16)).toBe(SW.CLA_NOT_SUPPORTED);
    }
  });
});

describe('storeDataBlocks', () => {
  const req = Uint8Array.from({ length: 13 }, (_, i) => i);
  it('splits with P1 11/91 and P2 block numbers', () => {
    const blocks = storeDataBlocks(1, req, 6).map(toHex);
    expect(blocks).toEqual(['81e2110006000102030405', '81e2110106060708090a0b', '81e29102010c']);
  });
  it('single block, channel 5 class C1, case 4', () => {
    expect(storeDataBlocks(5, fromHex('bf3e00'), 120, { le: true }).map(toHex)).toEqual(['c1e2910003bf3e0000']);
  });
  it('extended-length single block', () => {
    const big = new Uint8Array(1000).fill(0xab);
    const blocks = storeDataBlocks(2, big, 65535);
    expect(blocks.length).toBe(1);
    const c = parseCommandApdu(blocks[0]!);
    expect(c).toMatchObject({ cla: 0x82, ins: 0xe2, p1: 0x91, p2: 0, extended: true, case: 3 });
    expect(c.data.length).toBe(1000);
  });
  it('empty request is one final block; P2 wraps after FF', () => {
    expect(storeDataBlocks(0, new Uint8Array(0), 255).map(toHex)).toEqual(['80e29100']);
    const many = storeDataBlocks(1, new Uint8Array(300), 1);
    expect(many.length).toBe(300);
    expect(many[255]![3]).toBe(255);
    expect(many[256]![3]).toBe(0);
    expect(many[299]![2]).toBe(0x91);
  });
  it('rejects bad block sizes', () => {
    expect(() => storeDataBlocks(1, req, 0)).toThrow(RangeError);
    expect(() => storeDataBlocks(1, req, 65536)).toThrow(RangeError);
  });
});
