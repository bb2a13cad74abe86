import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../util/hex.js';
import { Asn1Error, decodeTlv, decodeTlvs, encodeTlv, readTlv, readTlvHeader, tagBytes } from './tlv.js';

function err(fn: () => unknown): Asn1Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Asn1Error);
    return e as Asn1Error;
  }
  throw new Error('expected an Asn1Error');
}

describe('BER-TLV decode', () => {
  it('decodes one-, two- and three-byte tags', () => {
    expect(decodeTlv(fromHex('5a0189')).tag).toBe(0x5a);
    expect(decodeTlv(fromHex('9f700101')).tag).toBe(0x9f70);
    expect(decodeTlv(fromHex('bf2d00')).tag).toBe(0xbf2d);
    expect(decodeTlv(fromHex('5f370100')).tag).toBe(0x5f37);
    const t3 = decodeTlv(fromHex('bf810100'));
    expect(t3.tag).toBe(0xbf8101);
    expect(t3.constructed).toBe(true);
  });

  it('decodes lengths in 1 to 4 bytes and nested children with offsets', () => {
    const v200 = new Uint8Array(200).fill(7);
    const t = decodeTlv(encodeTlv(0x04, v200));
    expect(toHex(t.raw.subarray(0, 3))).toBe('0481c8');
    expect(t.value.length).toBe(200);
    const big = encodeTlv(0x86, new Uint8Array(70000));
    expect(toHex(big.subarray(0, 5))).toBe('8683011170');
    expect(decodeTlv(big).value.length).toBe(70000);
    const n = decodeTlv(fromHex('bf2d07a0055a03010203'));
    expect(n.children[0]!.tag).toBe(0xa0);
    expect(n.children[0]!.children[0]!.offset).toBe(5);
    expect(toHex(n.children[0]!.children[0]!.value)).toBe('010203');
  });

  it('keeps the exact raw bytes of each element', () => {
    const input = fromHex('30068001018101ff');
    const t = decodeTlv(input);
    expect(toHex(t.children[1]!.raw)).toBe('8101ff');
    expect(t.raw.buffer).toBe(input.buffer);
  });

  it('rejects every malformation with a typed error and an offset', () => {
    expect(err(() => decodeTlv(fromHex(''))).code).toBe('truncated');
    expect(err(() => decodeTlv(fromHex('bf'))).code).toBe('truncated');
    expect(err(() => decodeTlv(fromHex('5a'))).code).toBe('truncated');
    expect(err(() => decodeTlv(fromHex('5a8201'))).code).toBe('truncated');
    const past = err(() => decodeTlv(fromHex('30055a0301')));
    expect(past.code).toBe('length-past-end');
    expect(err(() => decodeTlv(fromHex('3003' + '5a0501'))).offset).toBe(2);
    const trail = err(() => decodeTlv(fromHex('5a010100')));
    expect(trail.code).toBe('trailing-bytes');
    expect(trail.offset).toBe(3);
    expect(err(() => decodeTlv(fromHex('30800000'))).code).toBe('indefinite-length');
    expect(err(() => decodeTlv(fromHex('5a817f' + '00'.repeat(127)))).code).toBe('non-minimal-length');
    expect(err(() => decodeTlv(fromHex('5a820080' + '00'.repeat(128)))).code).toBe('non-minimal-length');
    expect(err(() => decodeTlv(fromHex('5a850000000001'))).code).toBe('length-too-long');
    expect(err(() => decodeTlv(fromHex('9f0100'))).code).toBe('bad-tag');
    expect(err(() => decodeTlv(fromHex('9f808000'))).code).toBe('bad-tag');
    expect(err(() => decodeTlv(fromHex('9f81818100'))).code).toBe('bad-tag');
  });

  it('accepts non-minimal lengths when DER is not required', () => {
    expect(decodeTlv(fromHex('5a8101ff'), { der: false }).value.length).toBe(1);
  });

  it('bounds the nesting depth', () => {
    let b = fromHex('0400');
    for (let i = 0; i < 40; i++) b = encodeTlv(0x30, b);
    const e = err(() => decodeTlv(b));
    expect(e.code).toBe('too-deep');
    expect(decodeTlv(b, { maxDepth: 64 }).tag).toBe(0x30);
    // a caller-raised bound is capped, so even absurd nesting gives Asn1Error, never a stack overflow
    let deep = fromHex('0400');
    for (let i = 0; i < 20000; i++) deep = encodeTlv(0x30, deep);
    expect(err(() => decodeTlv(deep, { maxDepth: 1e9 })).code).toBe('too-deep');
  });

  it('reads concatenations and single TLVs from a stream', () => {
    const list = decodeTlvs(fromHex('5a01018001ff'));
    expect(list.map((t) => t.tag)).toEqual([0x5a, 0x80]);
    const r = readTlv(fromHex('5a0101800100'), 3);
    expect(r.tlv.tag).toBe(0x80);
    expect(r.next).toBe(6);
    expect(readTlvHeader(fromHex('bf3682032b'))).toEqual({ tag: 0xbf36, constructed: true, headerLength: 5, length: 0x32b });
  });
});

describe('BER-TLV encode', () => {
  it('encodes tags and minimal lengths', () => {
    expect(toHex(encodeTlv(0xbf2d, []))).toBe('bf2d00');
    expect(toHex(encodeTlv(0x5f37, new Uint8Array(64)).subarray(0, 3))).toBe('5f3740');
    expect(toHex(encodeTlv(0x04, new Uint8Array(300)).subarray(0, 4))).toBe('0482012c');
    expect(toHex(tagBytes(0xbf8101))).toBe('bf8101');
    expect(() => tagBytes(0x1f)).toThrow(RangeError);
    expect(() => tagBytes(0xbf80)).toThrow(RangeError);
  });
});
