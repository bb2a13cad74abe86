import { describe, expect, it } from 'vitest';
import { fromBase64, fromHex, toBase64, toHex } from './hex.js';

describe('fromBase64 (strict, canonical)', () => {
  it('decodes canonical base64 into an array of its own', () => {
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);
    const back = fromBase64(toBase64(bytes));
    expect(back).toEqual(bytes);
    expect(back.byteOffset).toBe(0);
    expect(back.buffer.byteLength).toBe(bytes.length);
    expect(fromBase64('')).toEqual(new Uint8Array(0));
    expect(fromBase64('QQ==')).toEqual(Uint8Array.of(0x41));
  });

  it.each([
    ['URL-safe alphabet', '-_8='],
    ['whitespace inside', 'QUJD RA=='],
    ['line break', 'QUJD\nRA=='],
    ['missing padding', 'QQ'],
    ['non-zero padding bits', 'QR=='],
    ['too much padding', 'Q==='],
    ['foreign character', 'QU*D'],
  ])('refuses %s', (_what, text) => {
    expect(() => fromBase64(text)).toThrow(TypeError);
  });
});

describe('fromHex', () => {
  it('decodes either case, ignores whitespace, refuses odd length and non-hex', () => {
    expect(toHex(fromHex('00 ff\nA0b1'))).toBe('00ffa0b1');
    const b = fromHex('0102');
    expect(b.buffer.byteLength).toBe(2); // not a view into Buffer's shared pool
    expect(() => fromHex('abc')).toThrow(TypeError);
    expect(() => fromHex('zz')).toThrow(TypeError);
  });
});
