/** ES10a through APDUs: GetEuiccConfiguredAddresses (BF3C), SetDefaultDpAddress (BF3F). */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SoftEuicc } from './card.js';
import { createIdentity, type EuiccIdentity } from './identity.js';
import { DEFAULT_ROOT_DS_ADDRESS } from './es10a.js';
import { es10, storeData } from '../../test/support/card-driver.js';
import {
  decodeEuiccConfiguredAddressesResponse,
  decodeSetDefaultDpAddressResponse,
  encodeEuiccConfiguredAddressesRequest,
  encodeSetDefaultDpAddressRequest,
} from '../asn1/sgp22/addresses.js';
import { encodeTlv } from '../asn1/tlv.js';
import { fromHex, toHex, utf8 } from '../util/hex.js';

let identity: EuiccIdentity;
beforeAll(() => {
  identity = createIdentity({}).identity;
});
const cards: SoftEuicc[] = [];
afterEach(() => {
  while (cards.length) cards.pop()!.close();
});
function newCard(opts: { defaultDpAddress?: string; rootDsAddress?: string } = {}): SoftEuicc {
  const c = SoftEuicc.create(':memory:', { identity, ...opts });
  cards.push(c);
  return c;
}
const addresses = (card: SoftEuicc) => decodeEuiccConfiguredAddressesResponse(es10(card, encodeEuiccConfiguredAddressesRequest()));
const setDp = (card: SoftEuicc, req: Uint8Array): number => decodeSetDefaultDpAddressResponse(es10(card, req)).setDefaultDpAddressResult;

describe('GetEuiccConfiguredAddresses (BF3C)', () => {
  it('reports the default SM-DP+ (80) and the root SM-DS (81), exact bytes', () => {
    const card = newCard({ defaultDpAddress: 'dp.example', rootDsAddress: 'ds.example' });
    expect(toHex(es10(card, fromHex('BF3C00')))).toBe(`bf3c18800a${toHex(utf8('dp.example'))}810a${toHex(utf8('ds.example'))}`);
    expect(addresses(card)).toEqual({ defaultDpAddress: 'dp.example', rootDsAddress: 'ds.example' });
  });

  it('omits 80 without a default SM-DP+; the root SM-DS defaults to the GSMA one', () => {
    const card = newCard();
    expect(addresses(card)).toEqual({ rootDsAddress: DEFAULT_ROOT_DS_ADDRESS });
    card.runtime.store.deleteMeta('rootDsAddress');
    expect(addresses(card)).toEqual({ rootDsAddress: 'lpa.ds.gsma.com' });
  });

});

describe('SetDefaultDpAddress (BF3F)', () => {
  it('ok(0): sets and replaces the default address; it survives reopening', () => {
    const dir = mkdtempSync(join(tmpdir(), 'esimkit-'));
    try {
      const path = join(dir, 'card.db');
      const card = SoftEuicc.create(path, { identity });
      expect(setDp(card, encodeSetDefaultDpAddressRequest({ defaultDpAddress: 'one.example' }))).toBe(0);
      expect(setDp(card, encodeSetDefaultDpAddressRequest({ defaultDpAddress: 'smdp.example.com:8443' }))).toBe(0);
      expect(addresses(card).defaultDpAddress).toBe('smdp.example.com:8443');
      card.close();
      const again = SoftEuicc.open(path);
      cards.push(again);
      expect(addresses(again).defaultDpAddress).toBe('smdp.example.com:8443');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an empty address clears the default', () => {
    const card = newCard({ defaultDpAddress: 'dp.example' });
    expect(toHex(es10(card, fromHex('BF3F028000')))).toBe('bf3f03800100');
    expect(addresses(card).defaultDpAddress).toBeUndefined();
  });

  it("accepts OpenHarmony's 0C tag", () => {
    const card = newCard();
    expect(setDp(card, encodeTlv(0xbf3f, encodeTlv(0x0c, utf8('oh.example'))))).toBe(0);
    expect(addresses(card).defaultDpAddress).toBe('oh.example');
  });

  it('undefinedError(127) for an address with blanks/control characters or over 255 bytes; nothing changes', () => {
    const card = newCard({ defaultDpAddress: 'keep.example' });
    expect(setDp(card, encodeSetDefaultDpAddressRequest({ defaultDpAddress: 'a b.example' }))).toBe(127);
    expect(setDp(card, encodeSetDefaultDpAddressRequest({ defaultDpAddress: 'a\u0001.example' }))).toBe(127);
    expect(setDp(card, encodeSetDefaultDpAddressRequest({ defaultDpAddress: `${'a'.repeat(250)}.example` }))).toBe(127);
    expect(addresses(card).defaultDpAddress).toBe('keep.example');
  });

  it('a missing address or invalid UTF-8 is answered 6A80', () => {
    const card = newCard();
    expect(storeData(card, fromHex('BF3F00')).sw).toBe(0x6a80);
    expect(storeData(card, fromHex('BF3F038001FF')).sw).toBe(0x6a80);
  });
});
