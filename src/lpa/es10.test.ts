/**
 * ES10 client functions against a fake StoreDataChannel (canned responses built with the asn1 encoders):
 * request encoding, response mapping to typed values, PLMN coding, extCardResource parsing, typed errors.
 * The end-to-end checks against the software eUICC are in test/support/lpa-suite.ts.
 */
import { describe, expect, it } from 'vitest';
import { encodeTlv } from '../asn1/tlv.js';
import { encodeInteger } from '../asn1/der.js';
import { encodeProfileInfoListResponse } from '../asn1/sgp22/profiles.js';
import { encodeEuiccConfiguredAddressesResponse } from '../asn1/sgp22/addresses.js';
import { encodeIccid } from '../util/bcd.js';
import { fromHex, toHex } from '../util/hex.js';
import {
  decodePlmn,
  encodePlmn,
  enableProfile,
  deleteProfile,
  euiccMemoryReset,
  EuiccResponseError,
  getEuiccConfiguredAddresses,
  getProfilesInfo,
  parseExtCardResource,
  type StoreDataChannel,
} from './index.js';

function fake(response: Uint8Array): StoreDataChannel & { sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  return {
    sent,
    storeData: async (req) => {
      sent.push(req);
      return response;
    },
  };
}

describe('ES10 client mapping', () => {
  it('PLMN coding (TS 24.008): 2- and 3-digit MNCs, wildcards', () => {
    expect(decodePlmn(fromHex('21F354'), 'x')).toEqual({ mcc: '123', mnc: '45' });
    expect(decodePlmn(fromHex('130062'), 'x')).toEqual({ mcc: '310', mnc: '260' });
    expect(decodePlmn(fromHex('EEEEEE'), 'x')).toEqual({ mcc: 'EEE', mnc: 'EEE' });
    expect(toHex(encodePlmn({ mcc: '123', mnc: '45' }))).toBe('21f354');
    expect(toHex(encodePlmn({ mcc: '310', mnc: '260' }))).toBe('130062');
    expect(() => decodePlmn(fromHex('2AF354'), 'x')).toThrow(EuiccResponseError);
    expect(() => encodePlmn({ mcc: '12', mnc: '45' })).toThrow(RangeError);
  });

  it('extCardResource: 81/82/83 big-endian; unknown tags skipped; malformed rejected', () => {
    expect(parseExtCardResource(fromHex('8101038204000100008302400084010A'))).toEqual({
      installedApplications: 3,
      freeNonVolatileMemory: 65536,
      freeVolatileMemory: 0x4000,
    });
    expect(() => parseExtCardResource(fromHex('8105'))).toThrow(EuiccResponseError);
  });

  it('enable by ICCID / AID: request bytes, refresh flag, result names', async () => {
    const ch = fake(fromHex('BF3103800105'));
    expect(await enableProfile(ch, '8949449999999990011')).toEqual({ result: 'catBusy', code: 5 });
    expect(toHex(ch.sent[0]!)).toBe(`bf3111a00c5a0a${toHex(encodeIccid('8949449999999990011'))}8101ff`);
    await enableProfile(ch, { aid: 'A0000005591010FFFFFFFF8900001000' }, { refresh: false });
    expect(toHex(ch.sent[1]!)).toBe('bf3117a0124f10a0000005591010ffffffff8900001000810100');
    expect(await deleteProfile(fake(fromHex('BF3303800163')), { iccid: '8949449999999990011' })).toEqual({ result: 'unknown', code: 99 });
  });

  it('memory reset options become resetOptions bits', async () => {
    const ch = fake(fromHex('BF3403800100'));
    await euiccMemoryReset(ch, { deleteOperationalProfiles: true, resetDefaultSmdpAddress: true });
    expect(toHex(ch.sent[0]!)).toBe('bf3404820205a0');
  });

  it('GetProfilesInfo: defaults profileClass to operational; invalid enum values are EuiccResponseError', async () => {
    const ok = encodeProfileInfoListResponse({ kind: 'profileInfoListOk', profileInfoListOk: [{ iccid: encodeIccid('8949449999999990011'), profileState: 1 }] });
    expect(await getProfilesInfo(fake(ok))).toEqual([{ iccid: '8949449999999990011', state: 'enabled', profileClass: 'operational' }]);
    expect(await getProfilesInfo(fake(ok), { fields: ['iccid', 'state'] })).toEqual([{ iccid: '8949449999999990011', state: 'enabled' }]);
    const bad = encodeProfileInfoListResponse({ kind: 'profileInfoListOk', profileInfoListOk: [{ profileState: 7 }] });
    await expect(getProfilesInfo(fake(bad))).rejects.toMatchObject({ name: 'EuiccResponseError', command: 'GetProfilesInfo' });
    await expect(getProfilesInfo(fake(ok), { iccid: '8949449999999990011', profileClass: 'test' })).rejects.toBeInstanceOf(RangeError);
  });

  it('empty or wrongly tagged responses are EuiccResponseError', async () => {
    await expect(getEuiccConfiguredAddresses(fake(new Uint8Array(0)))).rejects.toMatchObject({ name: 'EuiccResponseError' });
    await expect(getEuiccConfiguredAddresses(fake(encodeTlv(0xbf3d, encodeInteger(0x80, 0))))).rejects.toMatchObject({
      command: 'GetEuiccConfiguredAddresses',
    });
    expect(await getEuiccConfiguredAddresses(fake(encodeEuiccConfiguredAddressesResponse({ rootDsAddress: 'ds.example' })))).toEqual({
      rootDsAddress: 'ds.example',
    });
  });
});
