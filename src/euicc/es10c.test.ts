/**
 * ES10c through APDUs only (test/support/card-driver.ts): GetProfilesInfo, Enable/Disable/Delete,
 * eUICCMemoryReset, GetEID, SetNickname — success and every result value each can return. Profiles are
 * put into the store directly (downloads are tested with bpp.ts).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SoftEuicc } from './card.js';
import { createIdentity, type EuiccIdentity } from './identity.js';
import { enableProfile } from './es10c.js';
import { es10, storeData } from '../../test/support/card-driver.js';
import { installTestProfile, notifyAll } from '../../test/support/stored-profiles.js';
import { decodeTlv, encodeTlv } from '../asn1/tlv.js';
import {
  decodeDeleteProfileResponse,
  decodeDisableProfileResponse,
  decodeEnableProfileResponse,
  decodeEuiccMemoryResetResponse,
  decodeGetEuiccDataResponse,
  decodeProfileInfoListResponse,
  decodeSetNicknameResponse,
  encodeDeleteProfileRequest,
  encodeDisableProfileRequest,
  encodeEnableProfileRequest,
  encodeEuiccMemoryResetRequest,
  encodeGetEuiccDataRequest,
  encodeProfileInfoListRequest,
  encodeSetNicknameRequest,
  GET_EID_REQUEST,
  type ProfileIdentifier,
  type ProfileInfo,
  type ProfileInfoListRequest,
} from '../asn1/sgp22/profiles.js';
import { decodeEuiccConfiguredAddressesResponse, encodeEuiccConfiguredAddressesRequest } from '../asn1/sgp22/addresses.js';
import { decodeListNotificationResponse, encodeListNotificationRequest } from '../asn1/sgp22/notifications.js';
import { decodeIccid, encodeIccid } from '../util/bcd.js';
import { fromHex, toHex } from '../util/hex.js';
import type { CardConfig } from './types.js';
import type { StoredProfile } from './state.js';

let identity: EuiccIdentity;
beforeAll(() => {
  identity = createIdentity({}).identity;
});

const cards: SoftEuicc[] = [];
afterEach(() => {
  while (cards.length) cards.pop()!.close();
});

function newCard(config: Partial<CardConfig> = {}, defaultDpAddress?: string): SoftEuicc {
  const c = SoftEuicc.create(':memory:', { identity, config, ...(defaultDpAddress !== undefined && { defaultDpAddress }) });
  cards.push(c);
  return c;
}

const ICCID = ['8949449999999990001', '8949449999999990002', '8949449999999990003', '8949449999999990004'] as const;
const byIccid = (i: string): ProfileIdentifier => ({ kind: 'iccid', iccid: encodeIccid(i) });
const byAid = (p: StoredProfile): ProfileIdentifier => ({ kind: 'isdpAid', isdpAid: p.aid });

function profiles(card: SoftEuicc, req: ProfileInfoListRequest = {}, port = 0): readonly ProfileInfo[] {
  const r = decodeProfileInfoListResponse(es10(card, encodeProfileInfoListRequest(req), { port }));
  if (r.kind !== 'profileInfoListOk') throw new Error(`profileInfoListError ${r.profileInfoListError}`);
  return r.profileInfoListOk;
}
function profilesError(card: SoftEuicc, raw: Uint8Array): number | undefined {
  const r = decodeProfileInfoListResponse(es10(card, raw));
  return r.kind === 'profileInfoListError' ? r.profileInfoListError : undefined;
}
const enable = (card: SoftEuicc, id: ProfileIdentifier, port = 0): number =>
  decodeEnableProfileResponse(es10(card, encodeEnableProfileRequest({ profileIdentifier: id, refreshFlag: true }), { port })).enableResult;
const disable = (card: SoftEuicc, id: ProfileIdentifier, port = 0): number =>
  decodeDisableProfileResponse(es10(card, encodeDisableProfileRequest({ profileIdentifier: id, refreshFlag: false }), { port })).disableResult;
const del = (card: SoftEuicc, id: ProfileIdentifier): number => decodeDeleteProfileResponse(es10(card, encodeDeleteProfileRequest(id))).deleteResult;
const reset = (card: SoftEuicc, bits: number[]): number =>
  decodeEuiccMemoryResetResponse(es10(card, encodeEuiccMemoryResetRequest({ resetOptions: bits }))).resetResult;
const states = (card: SoftEuicc): string[] => profiles(card).map((p) => `${p.profileState}`);
const notificationEvents = (card: SoftEuicc): string[] => {
  const r = decodeListNotificationResponse(es10(card, encodeListNotificationRequest({})));
  if (r.kind !== 'notificationMetadataList') throw new Error('list error');
  return r.notificationMetadataList.map((m) => `${m.seqNumber}:${m.profileManagementOperation[0]}:${toHex(m.iccid!)}`);
};

// ------------------------------------------------------------------------------------------------------

describe('GetProfilesInfo (BF2D)', () => {
  function fullCard(): { card: SoftEuicc; a: StoredProfile; b: StoredProfile } {
    const card = newCard();
    const a = installTestProfile(card.runtime, {
      iccid: ICCID[0],
      serviceProviderName: 'Opérateur',
      profileName: 'Full profile',
      iconType: 1,
      icon: fromHex('89504E470D0A1A0A'),
      profileClass: 2,
      notificationConfigurationInfo: notifyAll('smdp.example.com'),
      profileOwner: { mccMnc: fromHex('21F354'), gid1: fromHex('AB') },
      pprs: [1, 2],
      serviceSpecificDataStoredInEuicc: [{ vendorOid: '1.2.3', vendorSpecificData: fromHex('0401AA') }],
      nickname: 'Work',
      state: 1,
      dpProprietaryData: fromHex('B80506032B0601'),
    });
    const b = installTestProfile(card.runtime, { iccid: ICCID[1], profileClass: 0 });
    return { card, a, b };
  }

  it('answers an empty list on an empty card', () => {
    expect(profiles(newCard())).toEqual([]);
  });

  it('without a tagList returns every stored field, field by field, in installation order', () => {
    const { card, a, b } = fullCard();
    const [pa, pb] = profiles(card);
    expect(pa).toEqual({
      iccid: encodeIccid(ICCID[0]),
      isdpAid: a.aid,
      profileState: 1,
      profileNickname: 'Work',
      serviceProviderName: 'Opérateur',
      profileName: 'Full profile',
      iconType: 1,
      icon: fromHex('89504E470D0A1A0A'),
      profileClass: 2,
      notificationConfigurationInfo: [{ profileManagementOperation: [0, 1, 2, 3], notificationAddress: 'smdp.example.com' }],
      profileOwner: { mccMnc: fromHex('21F354'), gid1: fromHex('AB') },
      dpProprietaryData: { dpOid: '1.3.6.1' },
      profilePolicyRules: [1, 2],
      serviceSpecificDataStoredInEuicc: [{ vendorOid: '1.2.3', vendorSpecificData: fromHex('0401AA') }],
    });
    expect(pb).toEqual({
      iccid: encodeIccid(ICCID[1]),
      isdpAid: b.aid,
      profileState: 0,
      serviceProviderName: 'esimkit test',
      profileName: 'Profile 0002',
      profileClass: 0,
    });
  });

  it('a tagList limits the fields (one- and two-byte tags), in ASN.1 order, unknown tags ignored', () => {
    const { card } = fullCard();
    const raw = es10(card, encodeProfileInfoListRequest({ tagList: fromHex('9F70 5A BF76 9F24 99 95'.replace(/ /g, '')) }));
    const list = decodeTlv(raw).children[0]!.children;
    expect(list).toHaveLength(2);
    // exact bytes of the first ProfileInfo: 5A, 9F70, 95, 99 (ASN.1 order, not tagList order)
    expect(toHex(list[0]!.raw).toUpperCase()).toBe(`E3175A0A${toHex(encodeIccid(ICCID[0])).toUpperCase()}9F700101950102990205 60`.replace(' ', ''));
    expect(profiles(card, { tagList: fromHex('5A') }).map((p) => Object.keys(p))).toEqual([['iccid'], ['iccid']]);
    expect(profiles(card, { tagList: fromHex('90') })).toEqual([{ profileNickname: 'Work' }, {}]);
    expect(profiles(card, { tagList: fromHex('B8B7B6') })[0]).toEqual({
      notificationConfigurationInfo: [{ profileManagementOperation: [0, 1, 2, 3], notificationAddress: 'smdp.example.com' }],
      profileOwner: { mccMnc: fromHex('21F354'), gid1: fromHex('AB') },
      dpProprietaryData: { dpOid: '1.3.6.1' },
    });
    expect(profiles(card, { tagList: fromHex('BF76') })).toEqual([{}, {}]);
  });

  it('searches by ISD-P AID, ICCID and profile class', () => {
    const { card, a } = fullCard();
    expect(profiles(card, { searchCriteria: { kind: 'isdpAid', isdpAid: a.aid }, tagList: fromHex('5A') })).toEqual([
      { iccid: encodeIccid(ICCID[0]) },
    ]);
    expect(profiles(card, { searchCriteria: { kind: 'iccid', iccid: encodeIccid(ICCID[1]) }, tagList: fromHex('4F95') })).toEqual([
      { isdpAid: card.runtime.store.listProfiles()[1]!.aid, profileClass: 0 },
    ]);
    expect(profiles(card, { searchCriteria: { kind: 'iccid', iccid: encodeIccid(ICCID[3]) } })).toEqual([]);
    expect(profiles(card, { searchCriteria: { kind: 'profileClass', profileClass: 0 }, tagList: fromHex('5A') })).toEqual([
      { iccid: encodeIccid(ICCID[1]) },
    ]);
    expect(profiles(card, { searchCriteria: { kind: 'profileClass', profileClass: 2 }, tagList: fromHex('5A') })).toEqual([
      { iccid: encodeIccid(ICCID[0]) },
    ]);
    expect(profiles(card, { searchCriteria: { kind: 'profileClass', profileClass: 1 } })).toEqual([]);
  });

  it('answers incorrectInputValues(1) for a malformed tagList or searchCriteria', () => {
    const { card } = fullCard();
    expect(profilesError(card, fromHex('BF2D035C019F'))).toBe(1); // truncated two-byte tag
    expect(profilesError(card, fromHex('BF2D025C00'))).toBe(1); // empty tagList
    expect(profilesError(card, fromHex('BF2D07A0055A03981032'))).toBe(1); // ICCID of 3 bytes
    expect(profilesError(card, fromHex('BF2D05A003950107'))).toBe(1); // profileClass 7
    expect(profilesError(card, fromHex('BF2D05A003800101'))).toBe(1); // unknown criterion
    expect(profilesError(card, fromHex('BF2D02A000'))).toBe(1); // empty criteria
  });

  it('answers undefinedError(127) when a stored profile cannot be rendered', () => {
    const card = newCard();
    const p = installTestProfile(card.runtime, { iccid: ICCID[0] });
    card.runtime.store.deleteProfile(p.aid);
    card.runtime.store.insertProfile({ ...p, metadata: fromHex('BF2503010203') }); // not DER-constructed content
    expect(profilesError(card, fromHex('BF2D00'))).toBe(127);
  });

  it('hands out a long list through GET RESPONSE (20 profiles)', () => {
    const card = newCard();
    for (let i = 0; i < 20; i++) installTestProfile(card.runtime, { iccid: `89494499999999901${String(i).padStart(2, '0')}` });
    const list = profiles(card);
    expect(list).toHaveLength(20);
    expect(list.map((p) => toHex(p.iccid!))).toEqual(card.runtime.store.listProfiles().map((p) => toHex(p.iccid)));
  });

  it('is answered 6A80 for a request that is not DER', () => {
    const card = newCard();
    expect(storeData(card, fromHex('BF2D045C81015A')).sw).toBe(0x6a80);
  });
});

// ------------------------------------------------------------------------------------------------------

describe('EnableProfile (BF31)', () => {
  it('enables by ICCID and by AID, with an enable notification', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0], notificationConfigurationInfo: notifyAll('n.example') });
    const b = installTestProfile(card.runtime, { iccid: ICCID[1] });
    expect(enable(card, byIccid(ICCID[0]))).toBe(0);
    expect(card.runtime.store.findProfile({ iccid: encodeIccid(ICCID[0]) })).toMatchObject({ state: 1, port: 0 });
    expect(notificationEvents(card)).toEqual([`0:1:${toHex(encodeIccid(ICCID[0]))}`]);
    // by AID: implicit disable of the first (notification) then enable (no notification config)
    expect(enable(card, byAid(b))).toBe(0);
    expect(states(card)).toEqual(['0', '1']);
    expect(notificationEvents(card)).toEqual([`0:1:${toHex(encodeIccid(ICCID[0]))}`, `1:2:${toHex(encodeIccid(ICCID[0]))}`]);
  });

  it('implicit disable and enable notifications come in that order, in one transaction', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0], notificationConfigurationInfo: notifyAll('a.example'), state: 1 });
    installTestProfile(card.runtime, { iccid: ICCID[1], notificationConfigurationInfo: notifyAll('b.example') });
    expect(enable(card, byIccid(ICCID[1]))).toBe(0);
    expect(notificationEvents(card)).toEqual([`0:2:${toHex(encodeIccid(ICCID[0]))}`, `1:1:${toHex(encodeIccid(ICCID[1]))}`]);
    expect(card.runtime.store.listNotifications().map((n) => n.address)).toEqual(['a.example', 'b.example']);
  });

  it('iccidOrAidNotFound(1)', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0] });
    expect(enable(card, byIccid(ICCID[2]))).toBe(1);
    expect(enable(card, { kind: 'isdpAid', isdpAid: fromHex('A0000005591010FFFFFFFF8900009900') })).toBe(1);
  });

  it('profileNotInDisabledState(2) for the enabled profile, nothing changes', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0], state: 1, notificationConfigurationInfo: notifyAll('n.example') });
    expect(enable(card, byIccid(ICCID[0]))).toBe(2);
    expect(states(card)).toEqual(['1']);
    expect(notificationEvents(card)).toEqual([]);
  });

  it('disallowedByPolicy(3) when the enabled profile has ppr1; nothing changes', () => {
    const card = newCard();
    installTestProfile(card.runtime, {
      iccid: ICCID[0],
      state: 1,
      pprs: [1],
      profileOwner: { mccMnc: fromHex('21F354') },
      notificationConfigurationInfo: notifyAll('n.example'),
    });
    installTestProfile(card.runtime, { iccid: ICCID[1], notificationConfigurationInfo: notifyAll('n.example') });
    expect(enable(card, byIccid(ICCID[1]))).toBe(3);
    expect(states(card)).toEqual(['1', '0']);
    expect(notificationEvents(card)).toEqual([]);
  });

  it('ppr2 alone does not block the implicit disable', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0], state: 1, pprs: [2], profileOwner: { mccMnc: fromHex('21F354') } });
    installTestProfile(card.runtime, { iccid: ICCID[1] });
    expect(enable(card, byIccid(ICCID[1]))).toBe(0);
    expect(states(card)).toEqual(['0', '1']);
  });

  it('MEP with two ports: each port keeps its own enabled profile', () => {
    const card = newCard({ ports: 2 });
    for (const i of ICCID) installTestProfile(card.runtime, { iccid: i });
    expect(enable(card, byIccid(ICCID[0]), 0)).toBe(0);
    expect(enable(card, byIccid(ICCID[1]), 1)).toBe(0);
    const ports = (): (number | null)[] => card.runtime.store.listProfiles().map((p) => p.port);
    expect(ports()).toEqual([0, 1, null, null]);
    // enabling on port 1 replaces port 1's profile only
    expect(enable(card, byIccid(ICCID[2]), 1)).toBe(0);
    expect(ports()).toEqual([0, null, 1, null]);
    // a profile enabled on another port cannot be enabled here
    expect(enable(card, byIccid(ICCID[0]), 1)).toBe(2);
    expect(ports()).toEqual([0, null, 1, null]);
    // GetProfilesInfo on either port shows both enabled
    expect(profiles(card, { tagList: fromHex('9F70') }, 1).map((p) => p.profileState)).toEqual([1, 0, 1, 0]);
    // disable may be sent through any port
    expect(disable(card, byIccid(ICCID[2]), 0)).toBe(0);
    expect(ports()).toEqual([0, null, null, null]);
  });

  it('undefinedError(127) for a port the card does not have (handler level: the APDU layer never delivers one)', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0] });
    const req = decodeTlv(encodeEnableProfileRequest({ profileIdentifier: byIccid(ICCID[0]), refreshFlag: false }));
    expect(decodeEnableProfileResponse(enableProfile(req, { card: card.runtime, port: 3, channel: 1 })).enableResult).toBe(127);
  });

  it('accepts both refreshFlag values and an OpenHarmony 82 portIndex', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0] });
    const req = fromHex(`BF3114A00C5A0A${toHex(encodeIccid(ICCID[0]))}8101008201 00`.replace(/ /g, ''));
    expect(decodeEnableProfileResponse(es10(card, req)).enableResult).toBe(0);
  });

  it('malformed request → 6A80', () => {
    const card = newCard();
    expect(storeData(card, fromHex('BF3103810100')).sw).toBe(0x6a80); // no profileIdentifier
  });
});

describe('DisableProfile (BF32)', () => {
  it('ok, with a disable notification', () => {
    const card = newCard();
    const p = installTestProfile(card.runtime, { iccid: ICCID[0], state: 1, notificationConfigurationInfo: notifyAll('n.example') });
    expect(disable(card, byAid(p))).toBe(0);
    expect(card.runtime.store.findProfile({ aid: p.aid })).toMatchObject({ state: 0, port: null });
    expect(notificationEvents(card)).toEqual([`0:2:${toHex(p.iccid)}`]);
  });

  it('iccidOrAidNotFound(1), profileNotInEnabledState(2), disallowedByPolicy(3)', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0] });
    installTestProfile(card.runtime, { iccid: ICCID[1], state: 1, pprs: [1, 2], profileOwner: { mccMnc: fromHex('21F354') } });
    expect(disable(card, byIccid(ICCID[3]))).toBe(1);
    expect(disable(card, byIccid(ICCID[0]))).toBe(2);
    expect(disable(card, byIccid(ICCID[1]))).toBe(3);
    expect(states(card)).toEqual(['0', '1']);
  });
});

describe('DeleteProfile (BF33)', () => {
  it('ok: deletes, frees memory, creates a delete notification', () => {
    const card = newCard();
    const keep = installTestProfile(card.runtime, { iccid: ICCID[1] });
    const p = installTestProfile(card.runtime, { iccid: ICCID[0], notificationConfigurationInfo: notifyAll('n.example') });
    expect(card.runtime.store.usedMemory()).toBe(keep.size + p.size);
    expect(del(card, byIccid(ICCID[0]))).toBe(0);
    expect(card.runtime.store.usedMemory()).toBe(keep.size);
    expect(profiles(card).map((x) => toHex(x.iccid!))).toEqual([toHex(keep.iccid)]);
    expect(notificationEvents(card)).toEqual([`0:3:${toHex(p.iccid)}`]);
    expect(del(card, byAid(keep))).toBe(0);
    expect(profiles(card)).toEqual([]);
  });

  it('iccidOrAidNotFound(1), profileNotInDisabledState(2), disallowedByPolicy(3)', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0], state: 1 });
    installTestProfile(card.runtime, { iccid: ICCID[1], pprs: [2], profileOwner: { mccMnc: fromHex('21F354') } });
    installTestProfile(card.runtime, { iccid: ICCID[2], pprs: [1], profileOwner: { mccMnc: fromHex('21F354') } });
    expect(del(card, byIccid(ICCID[3]))).toBe(1);
    expect(del(card, byIccid(ICCID[0]))).toBe(2);
    expect(del(card, byIccid(ICCID[1]))).toBe(3);
    expect(del(card, byIccid(ICCID[2]))).toBe(0); // ppr1 does not forbid deletion
    expect(profiles(card)).toHaveLength(2);
  });

  it('test and provisioning profiles may be deleted too (the card allows all classes)', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0], profileClass: 0 });
    installTestProfile(card.runtime, { iccid: ICCID[1], profileClass: 1 });
    expect(enable(card, byIccid(ICCID[1]))).toBe(0);
    expect(disable(card, byIccid(ICCID[1]))).toBe(0);
    expect(del(card, byIccid(ICCID[0]))).toBe(0);
    expect(del(card, byIccid(ICCID[1]))).toBe(0);
  });
});

// ------------------------------------------------------------------------------------------------------

describe('eUICCMemoryReset (BF34)', () => {
  function classCard(): SoftEuicc {
    const card = newCard({}, 'smdp.example.com');
    installTestProfile(card.runtime, {
      iccid: ICCID[0],
      state: 1,
      pprs: [1, 2],
      profileOwner: { mccMnc: fromHex('21F354') },
      notificationConfigurationInfo: notifyAll('n.example'),
    }); // operational (default), enabled, PPRs
    installTestProfile(card.runtime, { iccid: ICCID[1], profileClass: 2 });
    installTestProfile(card.runtime, { iccid: ICCID[2], profileClass: 0 });
    installTestProfile(card.runtime, { iccid: ICCID[3], profileClass: 1 });
    return card;
  }
  const iccids = (card: SoftEuicc): string[] => profiles(card, { tagList: fromHex('5A') }).map((p) => decodeIccid(p.iccid!).slice(-1));
  const defaultDp = (card: SoftEuicc): string | undefined =>
    decodeEuiccConfiguredAddressesResponse(es10(card, encodeEuiccConfiguredAddressesRequest())).defaultDpAddress;

  it('deleteOperationalProfiles(0) alone: operational ones go (enabled and PPR ones too), no notifications', () => {
    const card = classCard();
    card.runtime.session.challenge = new Uint8Array(16);
    expect(reset(card, [0])).toBe(0);
    expect(iccids(card)).toEqual(['3', '4']); // test + provisioning remain
    expect(defaultDp(card)).toBe('smdp.example.com');
    expect(notificationEvents(card)).toEqual([]);
    expect(card.runtime.session.challenge).toBeUndefined();
    expect(card.runtime.store.usedMemory()).toBe(card.runtime.store.listProfiles().reduce((s, p) => s + p.size, 0));
  });

  it('deleteFieldLoadedTestProfiles(1) alone: only test profiles go', () => {
    const card = classCard();
    expect(reset(card, [1])).toBe(0);
    expect(iccids(card)).toEqual(['1', '2', '4']);
    expect(defaultDp(card)).toBe('smdp.example.com');
  });

  it('resetDefaultSmdpAddress(2) alone: only the default SM-DP+ goes', () => {
    const card = classCard();
    expect(reset(card, [2])).toBe(0);
    expect(iccids(card)).toHaveLength(4);
    expect(defaultDp(card)).toBeUndefined();
    expect(reset(card, [2])).toBe(1); // already cleared
  });

  it('all three bits (as lpac sends them): only the provisioning profile is left', () => {
    const card = classCard();
    expect(toHex(encodeEuiccMemoryResetRequest({ resetOptions: [0, 1, 2] }))).toBe('bf3404820205e0'); // lpac's request (SGP22-NOTES §7)
    expect(reset(card, [0, 1, 2])).toBe(0);
    expect(iccids(card)).toEqual(['4']);
    expect(defaultDp(card)).toBeUndefined();
  });

  it('nothingToDelete(1) when nothing matches; the session then survives', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0], profileClass: 1 });
    card.runtime.session.challenge = new Uint8Array(16);
    expect(reset(card, [0])).toBe(1);
    expect(reset(card, [1])).toBe(1);
    expect(reset(card, [2])).toBe(1);
    expect(reset(card, [])).toBe(1);
    expect(card.runtime.session.challenge).toBeDefined();
  });

  it('sequence numbers keep growing after a reset', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0], notificationConfigurationInfo: notifyAll('n.example') });
    expect(enable(card, byIccid(ICCID[0]))).toBe(0);
    expect(reset(card, [0])).toBe(0);
    installTestProfile(card.runtime, { iccid: ICCID[1], notificationConfigurationInfo: notifyAll('n.example') });
    expect(enable(card, byIccid(ICCID[1]))).toBe(0);
    expect(card.runtime.store.listNotifications().map((n) => n.seqNumber)).toEqual([0, 1]);
  });
});

// ------------------------------------------------------------------------------------------------------

describe('GetEID (BF3E)', () => {
  it('returns the EID', () => {
    const card = newCard();
    const r = decodeGetEuiccDataResponse(es10(card, encodeGetEuiccDataRequest(GET_EID_REQUEST)));
    expect(toHex(r.eidValue)).toBe(identity.eid);
    expect(toHex(es10(card, fromHex('BF3E035C015A')))).toBe(`bf3e125a10${identity.eid}`);
  });

  it('answers 6A88 for another tag and 6A80 for a malformed request', () => {
    const card = newCard();
    expect(storeData(card, fromHex('BF3E035C014F')).sw).toBe(0x6a88);
    expect(storeData(card, fromHex('BF3E00')).sw).toBe(0x6a80);
  });
});

describe('SetNickname (BF29)', () => {
  const setNick = (card: SoftEuicc, iccid: string, nick: string): number =>
    decodeSetNicknameResponse(es10(card, encodeSetNicknameRequest({ iccid: encodeIccid(iccid), profileNickname: nick }))).setNicknameResult;

  it('ok with UTF-8 (64 bytes is the limit), shown by GetProfilesInfo; empty removes it', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0] });
    expect(setNick(card, ICCID[0], 'Büro ☎')).toBe(0);
    expect(profiles(card, { tagList: fromHex('90') })).toEqual([{ profileNickname: 'Büro ☎' }]);
    const max = 'é'.repeat(32); // 64 bytes
    expect(setNick(card, ICCID[0], max)).toBe(0);
    expect(profiles(card, { tagList: fromHex('90') })).toEqual([{ profileNickname: max }]);
    expect(setNick(card, ICCID[0], '')).toBe(0);
    expect(profiles(card, { tagList: fromHex('90') })).toEqual([{}]);
  });

  it('iccidNotFound(1)', () => {
    const card = newCard();
    expect(setNick(card, ICCID[0], 'x')).toBe(1);
  });

  it('over 64 bytes is refused by the decoder: 6A80', () => {
    const card = newCard();
    installTestProfile(card.runtime, { iccid: ICCID[0] });
    const nick = new TextEncoder().encode('x'.repeat(65));
    const req = encodeTlv(0xbf29, [encodeTlv(0x5a, encodeIccid(ICCID[0])), encodeTlv(0x90, nick)]);
    expect(storeData(card, req).sw).toBe(0x6a80);
    expect(profiles(card, { tagList: fromHex('90') })).toEqual([{}]);
  });

  it('undefinedError(127) above a smaller configured maxNicknameBytes', () => {
    const card = newCard({ maxNicknameBytes: 8 });
    installTestProfile(card.runtime, { iccid: ICCID[0] });
    expect(setNick(card, ICCID[0], '12345678')).toBe(0);
    expect(setNick(card, ICCID[0], '123456789')).toBe(127);
    expect(profiles(card, { tagList: fromHex('90') })).toEqual([{ profileNickname: '12345678' }]);
  });
});

describe('state survives reopening', () => {
  it('enabled profile, nickname and notifications are still there after close/open', () => {
    const dir = mkdtempSync(join(tmpdir(), 'esimkit-'));
    try {
      const path = join(dir, 'card.db');
      const card = SoftEuicc.create(path, { identity });
      installTestProfile(card.runtime, { iccid: ICCID[0], notificationConfigurationInfo: notifyAll('n.example') });
      expect(enable(card, byIccid(ICCID[0]))).toBe(0);
      card.close();
      const again = SoftEuicc.open(path);
      cards.push(again);
      expect(profiles(again, { tagList: fromHex('5A9F70') })).toEqual([{ iccid: encodeIccid(ICCID[0]), profileState: 1 }]);
      expect(notificationEvents(again)).toEqual([`0:1:${toHex(encodeIccid(ICCID[0]))}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
