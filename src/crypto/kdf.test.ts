import { describe, expect, it } from 'vitest';
import { describeWithReference, readRefJson } from '../../test/support/reference.js';
import { fromHex, toHex } from '../util/hex.js';
import { CryptoError } from './errors.js';
import { bspSharedInfo, deriveSessionKeys, x963Kdf } from './kdf.js';

interface KdfCase {
  id: string;
  sharedSecret: string;
  hostId: string;
  eid: string;
  keyType: string;
  keyLength: number;
  expected: { sEnc: string; sMac: string; initialMcv: string };
  derived?: { sharedInfo: string; kdfOutput: string };
  recorded?: { sharedInfo: string; kdfOutput: string };
}

describeWithReference('BSP KDF (vectors/bsp-kdf.json)', () => {
  const file = readRefJson<{ cases: KdfCase[] }>('vectors', 'bsp-kdf.json');

  it('has the three cases', () => {
    expect(file.cases.map((c) => c.id)).toEqual([
      'pysim-BSP_Test.test_kdf',
      'pysim-BSP_Test_mode51.test_kdf',
      'osmo-smdpp-recorded-session',
    ]);
  });

  for (const c of file.cases) {
    it(`derives the session keys of ${c.id}`, () => {
      const z = fromHex(c.sharedSecret);
      const hostId = fromHex(c.hostId);
      const eid = fromHex(c.eid);
      const keys = deriveSessionKeys(z, hostId, eid);
      expect(toHex(keys.sEnc)).toBe(c.expected.sEnc);
      expect(toHex(keys.sMac)).toBe(c.expected.sMac);
      expect(toHex(keys.initialMcv)).toBe(c.expected.initialMcv);

      const extra = c.derived ?? c.recorded;
      expect(extra).toBeDefined();
      const si = bspSharedInfo(hostId, eid, parseInt(c.keyType, 16), c.keyLength);
      expect(toHex(si)).toBe(extra!.sharedInfo);
      expect(toHex(x963Kdf(z, si, 48))).toBe(extra!.kdfOutput);
    });
  }
});

describe('x963Kdf / bspSharedInfo', () => {
  it('truncates and extends consistently (a prefix of a longer output)', () => {
    const z = new Uint8Array(32).fill(1);
    const si = Uint8Array.of(1, 2, 3);
    const long = x963Kdf(z, si, 100);
    expect(long.length).toBe(100);
    expect(toHex(x963Kdf(z, si, 48))).toBe(toHex(long.subarray(0, 48)));
    expect(x963Kdf(z, si, 0).length).toBe(0);
  });

  it('rejects a wrong EID, hostId or shared secret size', () => {
    const eid = new Uint8Array(16);
    expect(() => bspSharedInfo(new Uint8Array(0), eid)).toThrow(CryptoError);
    expect(() => bspSharedInfo(new Uint8Array(17), eid)).toThrow(CryptoError);
    expect(() => bspSharedInfo(new Uint8Array(8), new Uint8Array(15))).toThrow(CryptoError);
    expect(() => deriveSessionKeys(new Uint8Array(31), new Uint8Array(8), eid)).toThrow(CryptoError);
    expect(() => x963Kdf(new Uint8Array(32), new Uint8Array(0), -1)).toThrow(CryptoError);
  });
});
