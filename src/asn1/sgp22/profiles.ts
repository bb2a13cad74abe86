/**
 * ES10c local profile management (SGP.22 RSPDefinitions v2.5):
 *   GetProfilesInfo   BF2D { A0 searchCriteria { 4F isdpAid | 5A iccid | 95 profileClass }?, 5C tagList? }
 *                  -> BF2D { A0 { E3 ProfileInfo ... } | 81 ProfileInfoListError }
 *   EnableProfile     BF31 { A0 { 4F | 5A }, 81 refreshFlag } -> BF31 { 80 enableResult }
 *   DisableProfile    BF32 { A0 { 4F | 5A }, 81 refreshFlag } -> BF32 { 80 disableResult }
 *   DeleteProfile     BF33 { 4F | 5A }  (a tagged CHOICE: no A0 wrapper) -> BF33 { 80 deleteResult }
 *   eUICCMemoryReset  BF34 { 82 resetOptions } -> BF34 { 80 resetResult }
 *   GetEID            BF3E { 5C 01 5A } -> BF3E { 5A EID(16) }
 *   SetNickname       BF29 { 5A iccid, 90 profileNickname } -> BF29 { 80 setNicknameResult }
 *
 * ProfileInfo (E3): 5A iccid, 4F isdpAid, 9F70 profileState, 90 profileNickname, 91 serviceProviderName,
 * 92 profileName, 93 iconType, 94 icon, 95 profileClass, B6 notificationConfigurationInfo, B7 profileOwner,
 * B8 dpProprietaryData, 99 profilePolicyRules, BF22 serviceSpecificDataStoredInEuicc — all optional.
 * Tags of later versions (BF76 access rules, 9F24 MEP port, an `82 portIndex` in Enable/Disable) are not in
 * v2.5 and are skipped on decode.
 *
 * profileNickname is limited to 64 bytes of UTF-8 on encode and decode (stricter than the 64 characters of
 * the ASN.1 SIZE, and what an eUICC can store); serviceProviderName / profileName are 32 / 64 characters.
 */
import { decodeBitString, decodeBoolean, encodeBitString, encodeBoolean, encodeInteger, expectLength } from '../der.js';
import { encodeTlv, type Tlv } from '../tlv.js';
import { asTlv } from './codec-util.js';
import {
  SeqFields,
  encodeIccidField,
  encodeOctets,
  encodeUtf8MaxBytes,
  encodeUtf8MaxChars,
  iccidOf,
  integerOf,
  singleChild,
  unknownAlternative,
  utf8MaxBytes,
  utf8MaxChars,
} from './fields.js';
import {
  METADATA_TAGS,
  decodeDpProprietaryData,
  decodeNotificationConfigurationInfoList,
  decodeOperatorId,
  decodeVendorSpecificExtension,
  encodeDpProprietaryData,
  encodeNotificationConfigurationInfoList,
  encodeOperatorId,
  encodeVendorSpecificExtension,
  type DpProprietaryData,
  type NotificationConfigurationInformation,
  type OperatorId,
  type PprIds,
  type VendorSpecificExtension,
} from './metadata.js';

export const PROFILES_TAGS = {
  profileInfoListRequest: 0xbf2d,
  profileInfoListResponse: 0xbf2d,
  enableProfileRequest: 0xbf31,
  enableProfileResponse: 0xbf31,
  disableProfileRequest: 0xbf32,
  disableProfileResponse: 0xbf32,
  deleteProfileRequest: 0xbf33,
  deleteProfileResponse: 0xbf33,
  euiccMemoryResetRequest: 0xbf34,
  euiccMemoryResetResponse: 0xbf34,
  getEuiccDataRequest: 0xbf3e,
  getEuiccDataResponse: 0xbf3e,
  setNicknameRequest: 0xbf29,
  setNicknameResponse: 0xbf29,
  profileInfo: 0xe3,
  /** ProfileInfoListRequest.searchCriteria, EnableProfileRequest/DisableProfileRequest.profileIdentifier. */
  searchCriteria: 0xa0,
  profileIdentifier: 0xa0,
  /** ProfileInfoListResponse alternatives. */
  profileInfoListOk: 0xa0,
  profileInfoListError: 0x81,
  tagList: 0x5c,
  refreshFlag: 0x81,
  /** enableResult / disableResult / deleteResult / resetResult / setNicknameResult. */
  result: 0x80,
  resetOptions: 0x82,
  eidValue: 0x5a,
  iccid: METADATA_TAGS.iccid,
  isdpAid: METADATA_TAGS.isdpAid,
  profileState: METADATA_TAGS.profileState,
  profileNickname: METADATA_TAGS.profileNickname,
  serviceProviderName: METADATA_TAGS.serviceProviderName,
  profileName: METADATA_TAGS.profileName,
  iconType: METADATA_TAGS.iconType,
  icon: METADATA_TAGS.icon,
  profileClass: METADATA_TAGS.profileClass,
  notificationConfigurationInfo: METADATA_TAGS.notificationConfigurationInfo,
  profileOwner: METADATA_TAGS.profileOwner,
  dpProprietaryData: METADATA_TAGS.dpProprietaryData,
  profilePolicyRules: METADATA_TAGS.profilePolicyRules,
  serviceSpecificDataStoredInEuicc: METADATA_TAGS.serviceSpecificDataStoredInEuicc,
} as const;

const T = PROFILES_TAGS;

export const ProfileInfoListErrorValue = { incorrectInputValues: 1, undefinedError: 127 } as const;
export const EnableResultValue = {
  ok: 0,
  iccidOrAidNotFound: 1,
  profileNotInDisabledState: 2,
  disallowedByPolicy: 3,
  wrongProfileReenabling: 4,
  catBusy: 5,
  undefinedError: 127,
} as const;
export const DisableResultValue = {
  ok: 0,
  iccidOrAidNotFound: 1,
  profileNotInEnabledState: 2,
  disallowedByPolicy: 3,
  catBusy: 5,
  undefinedError: 127,
} as const;
export const DeleteResultValue = {
  ok: 0,
  iccidOrAidNotFound: 1,
  profileNotInDisabledState: 2,
  disallowedByPolicy: 3,
  undefinedError: 127,
} as const;
export const ResetResultValue = { ok: 0, nothingToDelete: 1, catBusy: 5, undefinedError: 127 } as const;
export const SetNicknameResultValue = { ok: 0, iccidNotFound: 1, undefinedError: 127 } as const;
/** EuiccMemoryResetRequest.resetOptions named bits. */
export const ResetOptionsBit = {
  deleteOperationalProfiles: 0,
  deleteFieldLoadedTestProfiles: 1,
  resetDefaultSmdpAddress: 2,
} as const;

/** The tags a ProfileInfo may carry (v2.5), in order: also the values valid in a tagList. */
export const PROFILE_INFO_FIELD_TAGS: readonly number[] = [
  T.iccid,
  T.isdpAid,
  T.profileState,
  T.profileNickname,
  T.serviceProviderName,
  T.profileName,
  T.iconType,
  T.icon,
  T.profileClass,
  T.notificationConfigurationInfo,
  T.profileOwner,
  T.dpProprietaryData,
  T.profilePolicyRules,
  T.serviceSpecificDataStoredInEuicc,
];

// ------------------------------------------------------------------------------------- shared CHOICEs

/** `CHOICE { isdpAid [APPLICATION 15] OctetTo16, iccid Iccid }`. */
export type ProfileIdentifier =
  | { readonly kind: 'isdpAid'; readonly isdpAid: Uint8Array }
  | { readonly kind: 'iccid'; readonly iccid: Uint8Array };

function encodeProfileIdentifier(x: ProfileIdentifier, what: string): Uint8Array {
  switch (x.kind) {
    case 'isdpAid':
      return encodeOctets(T.isdpAid, x.isdpAid, 1, 16, `${what}.isdpAid`);
    case 'iccid':
      return encodeIccidField(T.iccid, x.iccid, what);
    default:
      throw new RangeError(`${what}: unknown profile identifier kind`);
  }
}

function decodeProfileIdentifier(c: Tlv, what: string): ProfileIdentifier {
  if (c.tag === T.isdpAid) return { kind: 'isdpAid', isdpAid: expectLength(c, 1, 16, `${what}.isdpAid`) };
  if (c.tag === T.iccid) return { kind: 'iccid', iccid: iccidOf(c, what) };
  throw unknownAlternative(c, what);
}

// ---------------------------------------------------------------------------------- ProfileInfoListRequest

export type ProfileInfoSearchCriteria =
  | { readonly kind: 'isdpAid'; readonly isdpAid: Uint8Array }
  | { readonly kind: 'iccid'; readonly iccid: Uint8Array }
  | { readonly kind: 'profileClass'; readonly profileClass: number };

export interface ProfileInfoListRequest {
  readonly searchCriteria?: ProfileInfoSearchCriteria;
  /** Concatenated tags of the wanted ProfileInfo fields (e.g. `5A 90 9F70`). */
  readonly tagList?: Uint8Array;
}

export function encodeProfileInfoListRequest(x: ProfileInfoListRequest): Uint8Array {
  const w = 'ProfileInfoListRequest';
  const parts: Uint8Array[] = [];
  const sc = x.searchCriteria;
  if (sc !== undefined) {
    const inner =
      sc.kind === 'profileClass' ? encodeInteger(T.profileClass, sc.profileClass) : encodeProfileIdentifier(sc, `${w}.searchCriteria`);
    parts.push(encodeTlv(T.searchCriteria, inner));
  }
  if (x.tagList !== undefined) parts.push(encodeOctets(T.tagList, x.tagList, 0, Infinity, `${w}.tagList`));
  return encodeTlv(T.profileInfoListRequest, parts);
}

export function decodeProfileInfoListRequest(input: Uint8Array | Tlv): ProfileInfoListRequest {
  const w = 'ProfileInfoListRequest';
  const t = asTlv(input, T.profileInfoListRequest, w);
  const f = new SeqFields(t, w, [T.searchCriteria, T.tagList]);
  const sc = f.opt(T.searchCriteria);
  const tagList = f.opt(T.tagList);
  let searchCriteria: ProfileInfoSearchCriteria | undefined;
  if (sc) {
    const c = singleChild(sc, `${w}.searchCriteria`);
    searchCriteria =
      c.tag === T.profileClass
        ? { kind: 'profileClass', profileClass: integerOf(c) }
        : decodeProfileIdentifier(c, `${w}.searchCriteria`);
  }
  return {
    ...(searchCriteria && { searchCriteria }),
    ...(tagList && { tagList: tagList.value }),
  };
}

// ------------------------------------------------------------------------------------------- ProfileInfo

export interface ProfileInfo {
  readonly iccid?: Uint8Array;
  readonly isdpAid?: Uint8Array;
  /** See ProfileStateValue. */
  readonly profileState?: number;
  readonly profileNickname?: string;
  readonly serviceProviderName?: string;
  readonly profileName?: string;
  readonly iconType?: number;
  readonly icon?: Uint8Array;
  readonly profileClass?: number;
  readonly notificationConfigurationInfo?: readonly NotificationConfigurationInformation[];
  readonly profileOwner?: OperatorId;
  readonly dpProprietaryData?: DpProprietaryData;
  readonly profilePolicyRules?: PprIds;
  readonly serviceSpecificDataStoredInEuicc?: VendorSpecificExtension;
}

export function encodeProfileInfo(x: ProfileInfo): Uint8Array {
  const w = 'ProfileInfo';
  const p: Uint8Array[] = [];
  if (x.iccid !== undefined) p.push(encodeIccidField(T.iccid, x.iccid, w));
  if (x.isdpAid !== undefined) p.push(encodeOctets(T.isdpAid, x.isdpAid, 1, 16, `${w}.isdpAid`));
  if (x.profileState !== undefined) p.push(encodeInteger(T.profileState, x.profileState));
  if (x.profileNickname !== undefined) p.push(encodeUtf8MaxBytes(T.profileNickname, x.profileNickname, 64, `${w}.profileNickname`));
  if (x.serviceProviderName !== undefined) {
    p.push(encodeUtf8MaxChars(T.serviceProviderName, x.serviceProviderName, 32, `${w}.serviceProviderName`));
  }
  if (x.profileName !== undefined) p.push(encodeUtf8MaxChars(T.profileName, x.profileName, 64, `${w}.profileName`));
  if (x.iconType !== undefined) p.push(encodeInteger(T.iconType, x.iconType));
  if (x.icon !== undefined) p.push(encodeOctets(T.icon, x.icon, 0, 1024, `${w}.icon`));
  if (x.profileClass !== undefined) p.push(encodeInteger(T.profileClass, x.profileClass));
  if (x.notificationConfigurationInfo !== undefined) p.push(encodeNotificationConfigurationInfoList(x.notificationConfigurationInfo));
  if (x.profileOwner !== undefined) p.push(encodeOperatorId(x.profileOwner, T.profileOwner));
  if (x.dpProprietaryData !== undefined) p.push(encodeDpProprietaryData(x.dpProprietaryData));
  if (x.profilePolicyRules !== undefined) p.push(encodeBitString(T.profilePolicyRules, x.profilePolicyRules));
  if (x.serviceSpecificDataStoredInEuicc !== undefined) {
    p.push(encodeVendorSpecificExtension(x.serviceSpecificDataStoredInEuicc, T.serviceSpecificDataStoredInEuicc));
  }
  return encodeTlv(T.profileInfo, p);
}

export function decodeProfileInfo(input: Uint8Array | Tlv): ProfileInfo {
  const w = 'ProfileInfo';
  const t = asTlv(input, T.profileInfo, w);
  const f = new SeqFields(t, w, PROFILE_INFO_FIELD_TAGS);
  const g = (tag: number): Tlv | undefined => f.opt(tag);
  const iccid = g(T.iccid);
  const isdpAid = g(T.isdpAid);
  const state = g(T.profileState);
  const nick = g(T.profileNickname);
  const spn = g(T.serviceProviderName);
  const name = g(T.profileName);
  const iconType = g(T.iconType);
  const icon = g(T.icon);
  const cls = g(T.profileClass);
  const nci = g(T.notificationConfigurationInfo);
  const owner = g(T.profileOwner);
  const dp = g(T.dpProprietaryData);
  const ppr = g(T.profilePolicyRules);
  const ssd = g(T.serviceSpecificDataStoredInEuicc);
  // Built imperatively: object spreads of optional fields cost several microseconds per profile.
  const out: { -readonly [K in keyof ProfileInfo]: ProfileInfo[K] } = {};
  if (iccid) out.iccid = iccidOf(iccid, w);
  if (isdpAid) out.isdpAid = expectLength(isdpAid, 1, 16, 'ProfileInfo.isdpAid');
  if (state) out.profileState = integerOf(state);
  if (nick) out.profileNickname = utf8MaxBytes(nick, 64, 'ProfileInfo.profileNickname');
  if (spn) out.serviceProviderName = utf8MaxChars(spn, 32, 'ProfileInfo.serviceProviderName');
  if (name) out.profileName = utf8MaxChars(name, 64, 'ProfileInfo.profileName');
  if (iconType) out.iconType = integerOf(iconType);
  if (icon) out.icon = expectLength(icon, 0, 1024, 'ProfileInfo.icon');
  if (cls) out.profileClass = integerOf(cls);
  if (nci) out.notificationConfigurationInfo = decodeNotificationConfigurationInfoList(nci);
  if (owner) out.profileOwner = decodeOperatorId(owner, T.profileOwner);
  if (dp) out.dpProprietaryData = decodeDpProprietaryData(dp);
  if (ppr) out.profilePolicyRules = decodeBitString(ppr);
  if (ssd) out.serviceSpecificDataStoredInEuicc = decodeVendorSpecificExtension(ssd, T.serviceSpecificDataStoredInEuicc);
  return out;
}

// ---------------------------------------------------------------------------------- ProfileInfoListResponse

export type ProfileInfoListResponse =
  | { readonly kind: 'profileInfoListOk'; readonly profileInfoListOk: readonly ProfileInfo[] }
  | { readonly kind: 'profileInfoListError'; readonly profileInfoListError: number };

export function encodeProfileInfoListResponse(x: ProfileInfoListResponse): Uint8Array {
  switch (x.kind) {
    case 'profileInfoListOk':
      return encodeTlv(T.profileInfoListResponse, encodeTlv(T.profileInfoListOk, x.profileInfoListOk.map(encodeProfileInfo)));
    case 'profileInfoListError':
      return encodeTlv(T.profileInfoListResponse, encodeInteger(T.profileInfoListError, x.profileInfoListError));
    default:
      throw new RangeError('ProfileInfoListResponse: unknown kind');
  }
}

export function decodeProfileInfoListResponse(input: Uint8Array | Tlv): ProfileInfoListResponse {
  const w = 'ProfileInfoListResponse';
  const t = asTlv(input, T.profileInfoListResponse, w);
  const c = singleChild(t, w);
  if (c.tag === T.profileInfoListOk) {
    return { kind: 'profileInfoListOk', profileInfoListOk: c.children.map((e) => decodeProfileInfo(e)) };
  }
  if (c.tag === T.profileInfoListError) return { kind: 'profileInfoListError', profileInfoListError: integerOf(c) };
  throw unknownAlternative(c, w);
}

// -------------------------------------------------------------------------------- Enable / Disable profile

export interface EnableProfileRequest {
  readonly profileIdentifier: ProfileIdentifier;
  readonly refreshFlag: boolean;
}
export type DisableProfileRequest = EnableProfileRequest;

export interface EnableProfileResponse {
  /** See EnableResultValue. */
  readonly enableResult: number;
}
export interface DisableProfileResponse {
  /** See DisableResultValue. */
  readonly disableResult: number;
}

function encodeSwitchRequest(tag: number, x: EnableProfileRequest, what: string): Uint8Array {
  return encodeTlv(tag, [
    encodeTlv(T.profileIdentifier, encodeProfileIdentifier(x.profileIdentifier, `${what}.profileIdentifier`)),
    encodeBoolean(T.refreshFlag, x.refreshFlag),
  ]);
}

function decodeSwitchRequest(input: Uint8Array | Tlv, tag: number, what: string): EnableProfileRequest {
  const t = asTlv(input, tag, what);
  const f = new SeqFields(t, what, [T.profileIdentifier, T.refreshFlag]);
  const id = f.req(T.profileIdentifier, 'profileIdentifier');
  return {
    profileIdentifier: decodeProfileIdentifier(singleChild(id, `${what}.profileIdentifier`), `${what}.profileIdentifier`),
    refreshFlag: decodeBoolean(f.req(T.refreshFlag, 'refreshFlag')),
  };
}

/** `<tag> { 80 result }` responses. */
function decodeResult(input: Uint8Array | Tlv, tag: number, what: string, field: string): number {
  const t = asTlv(input, tag, what);
  return integerOf(new SeqFields(t, what, [T.result]).req(T.result, field));
}

export function encodeEnableProfileRequest(x: EnableProfileRequest): Uint8Array {
  return encodeSwitchRequest(T.enableProfileRequest, x, 'EnableProfileRequest');
}
export function decodeEnableProfileRequest(input: Uint8Array | Tlv): EnableProfileRequest {
  return decodeSwitchRequest(input, T.enableProfileRequest, 'EnableProfileRequest');
}
export function encodeEnableProfileResponse(x: EnableProfileResponse): Uint8Array {
  return encodeTlv(T.enableProfileResponse, encodeInteger(T.result, x.enableResult));
}
export function decodeEnableProfileResponse(input: Uint8Array | Tlv): EnableProfileResponse {
  return { enableResult: decodeResult(input, T.enableProfileResponse, 'EnableProfileResponse', 'enableResult') };
}

export function encodeDisableProfileRequest(x: DisableProfileRequest): Uint8Array {
  return encodeSwitchRequest(T.disableProfileRequest, x, 'DisableProfileRequest');
}
export function decodeDisableProfileRequest(input: Uint8Array | Tlv): DisableProfileRequest {
  return decodeSwitchRequest(input, T.disableProfileRequest, 'DisableProfileRequest');
}
export function encodeDisableProfileResponse(x: DisableProfileResponse): Uint8Array {
  return encodeTlv(T.disableProfileResponse, encodeInteger(T.result, x.disableResult));
}
export function decodeDisableProfileResponse(input: Uint8Array | Tlv): DisableProfileResponse {
  return { disableResult: decodeResult(input, T.disableProfileResponse, 'DisableProfileResponse', 'disableResult') };
}

// ---------------------------------------------------------------------------------------- DeleteProfile

/** `[51] CHOICE { isdpAid, iccid }`: the identifier directly inside BF33. */
export type DeleteProfileRequest = ProfileIdentifier;

export interface DeleteProfileResponse {
  /** See DeleteResultValue. */
  readonly deleteResult: number;
}

export function encodeDeleteProfileRequest(x: DeleteProfileRequest): Uint8Array {
  return encodeTlv(T.deleteProfileRequest, encodeProfileIdentifier(x, 'DeleteProfileRequest'));
}
export function decodeDeleteProfileRequest(input: Uint8Array | Tlv): DeleteProfileRequest {
  const t = asTlv(input, T.deleteProfileRequest, 'DeleteProfileRequest');
  return decodeProfileIdentifier(singleChild(t, 'DeleteProfileRequest'), 'DeleteProfileRequest');
}
export function encodeDeleteProfileResponse(x: DeleteProfileResponse): Uint8Array {
  return encodeTlv(T.deleteProfileResponse, encodeInteger(T.result, x.deleteResult));
}
export function decodeDeleteProfileResponse(input: Uint8Array | Tlv): DeleteProfileResponse {
  return { deleteResult: decodeResult(input, T.deleteProfileResponse, 'DeleteProfileResponse', 'deleteResult') };
}

// ------------------------------------------------------------------------------------- EuiccMemoryReset

export interface EuiccMemoryResetRequest {
  /** Set bits of resetOptions (see ResetOptionsBit). */
  readonly resetOptions: readonly number[];
}
export interface EuiccMemoryResetResponse {
  /** See ResetResultValue. */
  readonly resetResult: number;
}

export function encodeEuiccMemoryResetRequest(x: EuiccMemoryResetRequest): Uint8Array {
  return encodeTlv(T.euiccMemoryResetRequest, encodeBitString(T.resetOptions, x.resetOptions));
}
export function decodeEuiccMemoryResetRequest(input: Uint8Array | Tlv): EuiccMemoryResetRequest {
  const w = 'EuiccMemoryResetRequest';
  const t = asTlv(input, T.euiccMemoryResetRequest, w);
  return { resetOptions: decodeBitString(new SeqFields(t, w, [T.resetOptions]).req(T.resetOptions, 'resetOptions')) };
}
export function encodeEuiccMemoryResetResponse(x: EuiccMemoryResetResponse): Uint8Array {
  return encodeTlv(T.euiccMemoryResetResponse, encodeInteger(T.result, x.resetResult));
}
export function decodeEuiccMemoryResetResponse(input: Uint8Array | Tlv): EuiccMemoryResetResponse {
  return { resetResult: decodeResult(input, T.euiccMemoryResetResponse, 'EuiccMemoryResetResponse', 'resetResult') };
}

// ------------------------------------------------------------------------------------------- GetEuiccData

export interface GetEuiccDataRequest {
  /** One byte; SGP.22 requires `5A` (the EID). */
  readonly tagList: Uint8Array;
}
export interface GetEuiccDataResponse {
  /** The EID, 16 bytes of plain BCD. */
  readonly eidValue: Uint8Array;
}

/** The GetEID request value: `{ tagList: 5A }`. */
export const GET_EID_REQUEST: GetEuiccDataRequest = { tagList: Uint8Array.of(0x5a) };

export function encodeGetEuiccDataRequest(x: GetEuiccDataRequest): Uint8Array {
  return encodeTlv(T.getEuiccDataRequest, encodeOctets(T.tagList, x.tagList, 1, 1, 'GetEuiccDataRequest.tagList'));
}
export function decodeGetEuiccDataRequest(input: Uint8Array | Tlv): GetEuiccDataRequest {
  const w = 'GetEuiccDataRequest';
  const t = asTlv(input, T.getEuiccDataRequest, w);
  return { tagList: expectLength(new SeqFields(t, w, [T.tagList]).req(T.tagList, 'tagList'), 1, 1, `${w}.tagList`) };
}
export function encodeGetEuiccDataResponse(x: GetEuiccDataResponse): Uint8Array {
  return encodeTlv(T.getEuiccDataResponse, encodeOctets(T.eidValue, x.eidValue, 16, 16, 'GetEuiccDataResponse.eidValue'));
}
export function decodeGetEuiccDataResponse(input: Uint8Array | Tlv): GetEuiccDataResponse {
  const w = 'GetEuiccDataResponse';
  const t = asTlv(input, T.getEuiccDataResponse, w);
  return { eidValue: expectLength(new SeqFields(t, w, [T.eidValue]).req(T.eidValue, 'eidValue'), 16, 16, `${w}.eidValue`) };
}

// -------------------------------------------------------------------------------------------- SetNickname

export interface SetNicknameRequest {
  readonly iccid: Uint8Array;
  /** At most 64 bytes of UTF-8. */
  readonly profileNickname: string;
}
export interface SetNicknameResponse {
  /** See SetNicknameResultValue. */
  readonly setNicknameResult: number;
}

export function encodeSetNicknameRequest(x: SetNicknameRequest): Uint8Array {
  const w = 'SetNicknameRequest';
  return encodeTlv(T.setNicknameRequest, [
    encodeIccidField(T.iccid, x.iccid, w),
    encodeUtf8MaxBytes(T.profileNickname, x.profileNickname, 64, `${w}.profileNickname`),
  ]);
}
export function decodeSetNicknameRequest(input: Uint8Array | Tlv): SetNicknameRequest {
  const w = 'SetNicknameRequest';
  const t = asTlv(input, T.setNicknameRequest, w);
  const f = new SeqFields(t, w, [T.iccid, T.profileNickname]);
  return {
    iccid: iccidOf(f.req(T.iccid, 'iccid'), w),
    profileNickname: utf8MaxBytes(f.req(T.profileNickname, 'profileNickname'), 64, `${w}.profileNickname`),
  };
}
export function encodeSetNicknameResponse(x: SetNicknameResponse): Uint8Array {
  return encodeTlv(T.setNicknameResponse, encodeInteger(T.result, x.setNicknameResult));
}
export function decodeSetNicknameResponse(input: Uint8Array | Tlv): SetNicknameResponse {
  return { setNicknameResult: decodeResult(input, T.setNicknameResponse, 'SetNicknameResponse', 'setNicknameResult') };
}

// ----------------------------------------------------------------------------------------------- fuzzing

export const FUZZ_DECODERS_PROFILES: ReadonlyArray<{ name: string; decode: (b: Uint8Array) => unknown }> = [
  { name: 'ProfileInfoListRequest', decode: (b) => decodeProfileInfoListRequest(b) },
  { name: 'ProfileInfo', decode: (b) => decodeProfileInfo(b) },
  { name: 'ProfileInfoListResponse', decode: (b) => decodeProfileInfoListResponse(b) },
  { name: 'EnableProfileRequest', decode: (b) => decodeEnableProfileRequest(b) },
  { name: 'EnableProfileResponse', decode: (b) => decodeEnableProfileResponse(b) },
  { name: 'DisableProfileRequest', decode: (b) => decodeDisableProfileRequest(b) },
  { name: 'DisableProfileResponse', decode: (b) => decodeDisableProfileResponse(b) },
  { name: 'DeleteProfileRequest', decode: (b) => decodeDeleteProfileRequest(b) },
  { name: 'DeleteProfileResponse', decode: (b) => decodeDeleteProfileResponse(b) },
  { name: 'EuiccMemoryResetRequest', decode: (b) => decodeEuiccMemoryResetRequest(b) },
  { name: 'EuiccMemoryResetResponse', decode: (b) => decodeEuiccMemoryResetResponse(b) },
  { name: 'GetEuiccDataRequest', decode: (b) => decodeGetEuiccDataRequest(b) },
  { name: 'GetEuiccDataResponse', decode: (b) => decodeGetEuiccDataResponse(b) },
  { name: 'SetNicknameRequest', decode: (b) => decodeSetNicknameRequest(b) },
  { name: 'SetNicknameResponse', decode: (b) => decodeSetNicknameResponse(b) },
];

