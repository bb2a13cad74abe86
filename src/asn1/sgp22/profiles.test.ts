import { describe, expect, it } from 'vitest';
import { expectAsn1Error } from '../../../test/support/asn1-assert.js';
import { assertDecodersTotal } from '../../../test/support/decoder-fuzz.js';
import { encodeEid, encodeIccid } from '../../util/bcd.js';
import { fromHex, toHex } from '../../util/hex.js';
import { IconTypeValue, NotificationEventBit, PprIdsBit, ProfileClassValue, ProfileStateValue } from './metadata.js';
import {
  DeleteResultValue,
  DisableResultValue,
  EnableResultValue,
  FUZZ_DECODERS_PROFILES,
  GET_EID_REQUEST,
  PROFILES_TAGS,
  ProfileInfoListErrorValue,
  ResetOptionsBit,
  ResetResultValue,
  SetNicknameResultValue,
  decodeDeleteProfileRequest,
  decodeDeleteProfileResponse,
  decodeDisableProfileRequest,
  decodeDisableProfileResponse,
  decodeEnableProfileRequest,
  decodeEnableProfileResponse,
  decodeEuiccMemoryResetRequest,
  decodeEuiccMemoryResetResponse,
  decodeGetEuiccDataRequest,
  decodeGetEuiccDataResponse,
  decodeProfileInfo,
  decodeProfileInfoListRequest,
  decodeProfileInfoListResponse,
  decodeSetNicknameRequest,
  decodeSetNicknameResponse,
  encodeDeleteProfileRequest,
  encodeDeleteProfileResponse,
  encodeDisableProfileRequest,
  encodeDisableProfileResponse,
  encodeEnableProfileRequest,
  encodeEnableProfileResponse,
  encodeEuiccMemoryResetRequest,
  encodeEuiccMemoryResetResponse,
  encodeGetEuiccDataRequest,
  encodeGetEuiccDataResponse,
  encodeProfileInfo,
  encodeProfileInfoListRequest,
  encodeProfileInfoListResponse,
  encodeSetNicknameRequest,
  encodeSetNicknameResponse,
  type ProfileInfo,
  type ProfileInfoListResponse,
} from './profiles.js';

const ICCID = encodeIccid('8949449999999990049'); // 98 94 44 99 99 99 99 09 40 F9
const ISDP_AID = fromHex('a0000005591010ffffffff8900001000');
const EID = encodeEid('89049032123451234512345678901235'); // SGP.26 test eUICC (reference README)

const FULL_INFO: ProfileInfo = {
  iccid: ICCID,
  isdpAid: ISDP_AID,
  profileState: ProfileStateValue.enabled,
  profileNickname: 'Work phone ☎',
  serviceProviderName: 'OsmocomSPN',
  profileName: 'TS48V2-SAIP2-1-BERTLV-UNIQUE',
  iconType: IconTypeValue.jpg,
  icon: fromHex('ffd8ffe000104a464946'),
  profileClass: ProfileClassValue.operational,
  notificationConfigurationInfo: [
    { profileManagementOperation: [NotificationEventBit.notificationEnable], notificationAddress: 'testsmdpplus1.example.com' },
  ],
  profileOwner: { mccMnc: fromHex('09f910'), gid1: fromHex('42') },
  dpProprietaryData: { dpOid: '2.999.10' },
  profilePolicyRules: [PprIdsBit.ppr2],
  serviceSpecificDataStoredInEuicc: [{ vendorOid: '2.999.1.2', vendorSpecificData: fromHex('0400') }],
};

describe('ProfileInfoListRequest / ProfileInfo / ProfileInfoListResponse', () => {
  it('encodes the empty request as BF2D 00 and a tag list as 5C', () => {
    expect(toHex(encodeProfileInfoListRequest({}))).toBe('bf2d00');
    expect(decodeProfileInfoListRequest(fromHex('bf2d00'))).toEqual({});
    const tagList = fromHex('5a4f9f7090919295');
    const enc = encodeProfileInfoListRequest({ tagList });
    expect(toHex(enc)).toBe('bf2d0a5c085a4f9f7090919295');
    expect(decodeProfileInfoListRequest(enc)).toEqual({ tagList });
  });

  it('round-trips each search criterion inside A0', () => {
    const byIccid = encodeProfileInfoListRequest({ searchCriteria: { kind: 'iccid', iccid: ICCID } });
    expect(toHex(byIccid)).toBe('bf2d0ea00c5a0a989444999999990940f9');
    for (const sc of [
      { kind: 'iccid', iccid: ICCID },
      { kind: 'isdpAid', isdpAid: ISDP_AID },
      { kind: 'profileClass', profileClass: ProfileClassValue.test },
    ] as const) {
      const x = { searchCriteria: sc, tagList: fromHex('5a') };
      expect(decodeProfileInfoListRequest(encodeProfileInfoListRequest(x))).toEqual(x);
    }
    expect(toHex(encodeProfileInfoListRequest({ searchCriteria: { kind: 'profileClass', profileClass: 1 } }))).toBe('bf2d05a003950101');
    expectAsn1Error(() => decodeProfileInfoListRequest(fromHex('bf2d04a0028000')), 'unexpected-tag');
    expectAsn1Error(() => decodeProfileInfoListRequest(fromHex('bf2d02a000')), 'missing-element');
  });

  it('round-trips a ProfileInfo with every field', () => {
    const enc = encodeProfileInfo(FULL_INFO);
    expect(toHex(enc.subarray(0, 3))).toBe('e381' + toHex(Uint8Array.of(enc.length - 3)));
    expect(decodeProfileInfo(enc)).toEqual(FULL_INFO);
    expect(decodeProfileInfo(fromHex('e300'))).toEqual({});
  });

  it('skips unknown tags (BF76 access rules, 9F24 port) wherever they are', () => {
    // E3 { 5A iccid, 9F24 01 00 (MEP port), 9F70 01 01, BF76 03 E1 01 00 }
    const hex = 'e3' + '19' + '5a0a989444999999990940f9' + '9f240100' + '9f700101' + 'bf7602e100';
    const x = decodeProfileInfo(fromHex(hex));
    expect(x).toEqual({ iccid: ICCID, profileState: ProfileStateValue.enabled });
    // a known field out of order is an error
    expectAsn1Error(() => decodeProfileInfo(fromHex('e3109f7001015a0a989444999999990940f9')), 'unexpected-tag');
  });

  it('profileNickname: at most 64 bytes of UTF-8, on encode and decode', () => {
    expect(decodeProfileInfo(encodeProfileInfo({ profileNickname: 'é'.repeat(32) })).profileNickname).toBe('é'.repeat(32));
    expect(() => encodeProfileInfo({ profileNickname: 'é'.repeat(33) })).toThrow(RangeError);
    expect(() => encodeProfileInfo({ profileNickname: 'n'.repeat(65) })).toThrow(RangeError);
    const e = expectAsn1Error(() => decodeProfileInfo(fromHex('e343' + '9041' + '6e'.repeat(65))), 'bad-value');
    expect(e.offset).toBe(4);
  });

  it('ProfileInfoListResponse: ok with profiles, ok empty, error', () => {
    const cases: ProfileInfoListResponse[] = [
      { kind: 'profileInfoListOk', profileInfoListOk: [FULL_INFO, { iccid: encodeIccid('8949449999999990015'), profileState: 0 }] },
      { kind: 'profileInfoListOk', profileInfoListOk: [] },
      { kind: 'profileInfoListError', profileInfoListError: ProfileInfoListErrorValue.undefinedError },
    ];
    for (const c of cases) expect(decodeProfileInfoListResponse(encodeProfileInfoListResponse(c))).toEqual(c);
    expect(toHex(encodeProfileInfoListResponse(cases[1]!))).toBe('bf2d02a000');
    expect(toHex(encodeProfileInfoListResponse(cases[2]!))).toBe('bf2d0381017f');
    // unknown value kept (extensible INTEGER)
    expect(decodeProfileInfoListResponse(fromHex('bf2d03810105'))).toEqual({ kind: 'profileInfoListError', profileInfoListError: 5 });
    expectAsn1Error(() => decodeProfileInfoListResponse(fromHex('bf2d00')), 'missing-element');
    expectAsn1Error(() => decodeProfileInfoListResponse(fromHex('bf2d03820100')), 'unexpected-tag');
    expectAsn1Error(() => decodeProfileInfoListResponse(fromHex('bf2d04a0023000')), 'unexpected-tag');
  });
});

describe('Enable / Disable / Delete', () => {
  it('EnableProfileRequest known encodings (A0 wrapper, 81 refreshFlag)', () => {
    const byIccid = encodeEnableProfileRequest({ profileIdentifier: { kind: 'iccid', iccid: ICCID }, refreshFlag: true });
    expect(toHex(byIccid)).toBe('bf3111a00c5a0a989444999999990940f98101ff');
    const byAid = encodeEnableProfileRequest({ profileIdentifier: { kind: 'isdpAid', isdpAid: ISDP_AID }, refreshFlag: false });
    expect(toHex(byAid)).toBe('bf3117a0124f10a0000005591010ffffffff8900001000810100');
    expect(decodeEnableProfileRequest(byIccid)).toEqual({ profileIdentifier: { kind: 'iccid', iccid: ICCID }, refreshFlag: true });
    expect(decodeEnableProfileRequest(byAid)).toEqual({ profileIdentifier: { kind: 'isdpAid', isdpAid: ISDP_AID }, refreshFlag: false });
    // an unknown trailing element (e.g. a v3 82 portIndex) is skipped
    expect(decodeEnableProfileRequest(fromHex('bf3114a00c5a0a989444999999990940f98101ff820100')).refreshFlag).toBe(true);
    expectAsn1Error(() => decodeEnableProfileRequest(fromHex('bf310ea00c5a0a989444999999990940f9')), 'missing-element');
    expectAsn1Error(() => decodeEnableProfileRequest(fromHex('bf3111a00c5a0a989444999999990940f9810101')), 'bad-value');
    expectAsn1Error(() => decodeEnableProfileRequest(fromHex('bf3110a00b5a099894449999999909408101ff')), 'bad-value');
  });

  it('DisableProfileRequest and the responses', () => {
    const x = { profileIdentifier: { kind: 'iccid', iccid: ICCID }, refreshFlag: true } as const;
    const enc = encodeDisableProfileRequest(x);
    expect(toHex(enc)).toBe('bf3211a00c5a0a989444999999990940f98101ff');
    expect(decodeDisableProfileRequest(enc)).toEqual(x);
    expectAsn1Error(() => decodeDisableProfileRequest(encodeEnableProfileRequest(x)), 'unexpected-tag');
    expect(toHex(encodeEnableProfileResponse({ enableResult: EnableResultValue.ok }))).toBe('bf3103800100');
    expect(toHex(encodeDisableProfileResponse({ disableResult: DisableResultValue.profileNotInEnabledState }))).toBe('bf3203800102');
    for (const v of Object.values(EnableResultValue)) {
      expect(decodeEnableProfileResponse(encodeEnableProfileResponse({ enableResult: v }))).toEqual({ enableResult: v });
    }
    for (const v of Object.values(DisableResultValue)) {
      expect(decodeDisableProfileResponse(encodeDisableProfileResponse({ disableResult: v }))).toEqual({ disableResult: v });
    }
    expectAsn1Error(() => decodeEnableProfileResponse(fromHex('bf3100')), 'missing-element');
  });

  it('DeleteProfileRequest has no A0 wrapper', () => {
    const enc = encodeDeleteProfileRequest({ kind: 'iccid', iccid: ICCID });
    expect(toHex(enc)).toBe('bf330c5a0a989444999999990940f9');
    expect(decodeDeleteProfileRequest(enc)).toEqual({ kind: 'iccid', iccid: ICCID });
    const byAid = encodeDeleteProfileRequest({ kind: 'isdpAid', isdpAid: ISDP_AID });
    expect(toHex(byAid)).toBe('bf33124f10a0000005591010ffffffff8900001000');
    expect(decodeDeleteProfileRequest(byAid)).toEqual({ kind: 'isdpAid', isdpAid: ISDP_AID });
    expectAsn1Error(() => decodeDeleteProfileRequest(fromHex('bf330ea00c5a0a989444999999990940f9')), 'unexpected-tag');
    expectAsn1Error(() => decodeDeleteProfileRequest(fromHex('bf3300')), 'missing-element');
    expectAsn1Error(() => decodeDeleteProfileRequest(fromHex('bf33024f00')), 'bad-value'); // OctetTo16: 1..16
    expect(toHex(encodeDeleteProfileResponse({ deleteResult: DeleteResultValue.disallowedByPolicy }))).toBe('bf3303800103');
    expect(decodeDeleteProfileResponse(fromHex('bf330380017f'))).toEqual({ deleteResult: DeleteResultValue.undefinedError });
  });
});

describe('EuiccMemoryReset / GetEID / SetNickname', () => {
  it('memory reset known encodings (SGP22-NOTES.md §7: lpac 82 02 05 E0, OH 05 A0)', () => {
    const all = encodeEuiccMemoryResetRequest({
      resetOptions: [
        ResetOptionsBit.deleteOperationalProfiles,
        ResetOptionsBit.deleteFieldLoadedTestProfiles,
        ResetOptionsBit.resetDefaultSmdpAddress,
      ],
    });
    expect(toHex(all)).toBe('bf3404820205e0');
    expect(toHex(encodeEuiccMemoryResetRequest({ resetOptions: [0, 2] }))).toBe('bf3404820205a0');
    expect(decodeEuiccMemoryResetRequest(fromHex('bf3404820205a0'))).toEqual({ resetOptions: [0, 2] });
    expect(toHex(encodeEuiccMemoryResetRequest({ resetOptions: [0] }))).toBe('bf3404820207' + '80');
    expectAsn1Error(() => decodeEuiccMemoryResetRequest(fromHex('bf3404820200e0')), 'bad-value'); // trailing zero bits kept
    expectAsn1Error(() => decodeEuiccMemoryResetRequest(fromHex('bf3400')), 'missing-element');
    expect(toHex(encodeEuiccMemoryResetResponse({ resetResult: ResetResultValue.nothingToDelete }))).toBe('bf3403800101');
    expect(decodeEuiccMemoryResetResponse(fromHex('bf3403800105'))).toEqual({ resetResult: ResetResultValue.catBusy });
  });

  it('GetEID request is BF3E035C015A (SGP22-NOTES.md §2.3)', () => {
    expect(toHex(encodeGetEuiccDataRequest(GET_EID_REQUEST))).toBe('bf3e035c015a');
    expect(decodeGetEuiccDataRequest(fromHex('BF3E035C015A'))).toEqual(GET_EID_REQUEST);
    expectAsn1Error(() => decodeGetEuiccDataRequest(fromHex('bf3e045c025a4f')), 'bad-value');
    const rsp = encodeGetEuiccDataResponse({ eidValue: EID });
    expect(toHex(rsp)).toBe('bf3e125a1089049032123451234512345678901235');
    expect(decodeGetEuiccDataResponse(rsp)).toEqual({ eidValue: EID });
    expectAsn1Error(() => decodeGetEuiccDataResponse(fromHex('bf3e115a0f' + '00'.repeat(15))), 'bad-value');
    expect(() => encodeGetEuiccDataResponse({ eidValue: new Uint8Array(15) })).toThrow(RangeError);
  });

  it('SetNickname: 64-byte limit on encode and decode', () => {
    const x = { iccid: ICCID, profileNickname: 'My Profile' };
    const enc = encodeSetNicknameRequest(x);
    expect(toHex(enc)).toBe('bf29185a0a989444999999990940f9900a4d792050726f66696c65');
    expect(decodeSetNicknameRequest(enc)).toEqual(x);
    const empty = { iccid: ICCID, profileNickname: '' };
    expect(decodeSetNicknameRequest(encodeSetNicknameRequest(empty))).toEqual(empty);
    const max = { iccid: ICCID, profileNickname: '€'.repeat(21) + 'a' }; // 63 + 1 = 64 bytes
    expect(decodeSetNicknameRequest(encodeSetNicknameRequest(max))).toEqual(max);
    expect(() => encodeSetNicknameRequest({ iccid: ICCID, profileNickname: '€'.repeat(22) })).toThrow(RangeError);
    const tooLong = fromHex('bf294f5a0a989444999999990940f99041' + '61'.repeat(65));
    expect(expectAsn1Error(() => decodeSetNicknameRequest(tooLong), 'bad-value').offset).toBe(17);
    expectAsn1Error(() => decodeSetNicknameRequest(fromHex('bf290c5a0a989444999999990940f9')), 'missing-element');
    expect(toHex(encodeSetNicknameResponse({ setNicknameResult: SetNicknameResultValue.iccidNotFound }))).toBe('bf2903800101');
    expect(decodeSetNicknameResponse(fromHex('bf2903800100'))).toEqual({ setNicknameResult: SetNicknameResultValue.ok });
  });

  it('exports the tag numbers', () => {
    expect(PROFILES_TAGS).toMatchObject({
      profileInfoListRequest: 0xbf2d,
      enableProfileRequest: 0xbf31,
      disableProfileRequest: 0xbf32,
      deleteProfileRequest: 0xbf33,
      euiccMemoryResetRequest: 0xbf34,
      getEuiccDataRequest: 0xbf3e,
      setNicknameRequest: 0xbf29,
      profileInfo: 0xe3,
      profileState: 0x9f70,
      profileNickname: 0x90,
      dpProprietaryData: 0xb8,
    });
  });
});

describe('profiles decoders are total', () => {
  it('random and mutated inputs only ever throw Asn1Error', () => {
    const samples = [
      encodeProfileInfoListRequest({ searchCriteria: { kind: 'iccid', iccid: ICCID }, tagList: fromHex('5a4f') }),
      encodeProfileInfoListResponse({ kind: 'profileInfoListOk', profileInfoListOk: [FULL_INFO] }),
      encodeEnableProfileRequest({ profileIdentifier: { kind: 'isdpAid', isdpAid: ISDP_AID }, refreshFlag: true }),
      encodeDisableProfileRequest({ profileIdentifier: { kind: 'iccid', iccid: ICCID }, refreshFlag: false }),
      encodeDeleteProfileRequest({ kind: 'iccid', iccid: ICCID }),
      encodeEuiccMemoryResetRequest({ resetOptions: [0, 1, 2] }),
      encodeGetEuiccDataRequest(GET_EID_REQUEST),
      encodeGetEuiccDataResponse({ eidValue: EID }),
      encodeSetNicknameRequest({ iccid: ICCID, profileNickname: 'nick' }),
      encodeSetNicknameResponse({ setNicknameResult: 0 }),
      encodeEnableProfileResponse({ enableResult: 1 }),
    ];
    assertDecodersTotal(FUZZ_DECODERS_PROFILES, samples, 4000);
  });
});
