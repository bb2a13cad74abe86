import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../util/hex.js';
import { AesCmac, aesCmac, cmacSubkeys } from './cmac.js';
import { CryptoError } from './errors.js';

// RFC 4493 §4 (Test Vectors): AES-128 key, subkeys and the CMAC of the four example messages.
const KEY = fromHex('2b7e1516 28aed2a6 abf71588 09cf4f3c');
const M64 = fromHex(
  '6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51' +
    '30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710',
);
const EXAMPLES: ReadonlyArray<[number, string]> = [
  [0, 'bb1d6929 e9593728 7fa37d12 9b756746'],
  [16, '070a16b4 6b4d4144 f79bdd9d d04a287c'],
  [40, 'dfa66747 de9ae630 30ca3261 1497c827'],
  [64, '51f0bebf 7e3b9d92 fc497417 79363cfe'],
];

describe('AES-CMAC (RFC 4493 §4)', () => {
  it('derives the subkeys K1 and K2', () => {
    const { k1, k2 } = cmacSubkeys(KEY);
    expect(toHex(k1)).toBe('fbeed618357133667c85e08f7236a8de');
    expect(toHex(k2)).toBe('f7ddac306ae266ccf90bc11ee46d513b');
  });

  for (const [len, mac] of EXAMPLES) {
    it(`Example with a ${len}-byte message`, () => {
      expect(toHex(aesCmac(KEY, M64.subarray(0, len)))).toBe(mac.replace(/ /g, ''));
      // the cached-subkey form over split parts gives the same tag
      const c = new AesCmac(KEY);
      const cut = Math.floor(len / 3);
      expect(toHex(c.mac(M64.subarray(0, cut), M64.subarray(cut, len)))).toBe(mac.replace(/ /g, ''));
    });
  }

  it('rejects keys of a wrong size with CryptoError', () => {
    expect(() => aesCmac(new Uint8Array(15), new Uint8Array(0))).toThrow(CryptoError);
  });
});
