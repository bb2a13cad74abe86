/**
 * ES10c client (local profile management, SGP22-NOTES §2.3): GetEID, GetProfilesInfo, EnableProfile,
 * DisableProfile, DeleteProfile, eUICCMemoryReset, SetNickname. Each function takes a
 * {@link StoreDataChannel} (an ApduChannel) and returns typed values: result codes as SGP.22 names plus the
 * raw number ({@link Es10Outcome}), ICCIDs as digit strings, AIDs as upper-case hex.
 */
import type { StoreDataChannel } from '../apdu/channel.js';
import {
  DeleteResultValue,
  DisableResultValue,
  EnableResultValue,
  GET_EID_REQUEST,
  PROFILES_TAGS,
  ProfileInfoListErrorValue,
  ResetOptionsBit,
  ResetResultValue,
  SetNicknameResultValue,
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
  type ProfileInfo as RawProfileInfo,
  type ProfileInfoListRequest,
} from '../asn1/sgp22/profiles.js';
import {
  IconTypeValue,
  NotificationEventBit,
  PprIdsBit,
  ProfileClassValue,
  ProfileStateValue,
  type VendorSpecificExtension,
} from '../asn1/sgp22/metadata.js';
import { tagBytes } from '../asn1/tlv.js';
import { decodeEid } from '../util/bcd.js';
import { toHex } from '../util/hex.js';
import { EuiccResponseError, Es10ResultError } from './errors.js';
import {
  aidBytes,
  aidString,
  bitNames,
  call,
  decodePlmn,
  iccidBytes,
  iccidString,
  nameOf,
  outcome,
  profileIdentifier,
  strictName,
  type Es10Outcome,
  type ProfileId,
} from './es10-util.js';

export type { ProfileId, Es10Outcome } from './es10-util.js';

export type EnableResult = keyof typeof EnableResultValue;
export type DisableResult = keyof typeof DisableResultValue;
export type DeleteResult = keyof typeof DeleteResultValue;
export type ResetResult = keyof typeof ResetResultValue;
export type SetNicknameResult = keyof typeof SetNicknameResultValue;
export type ProfileState = keyof typeof ProfileStateValue;
export type ProfileClass = keyof typeof ProfileClassValue;
export type IconType = keyof typeof IconTypeValue;
export type PolicyRule = keyof typeof PprIdsBit;
export type NotificationEventName = keyof typeof NotificationEventBit;

/** ProfileOwner (B7): PLMN digits and optional group identifiers. */
export interface ProfileOwner {
  readonly mcc: string;
  readonly mnc: string;
  readonly gid1?: Uint8Array;
  readonly gid2?: Uint8Array;
}

export interface NotificationConfiguration {
  readonly events: readonly NotificationEventName[];
  readonly address: string;
}

/** One profile as GetProfilesInfo returns it (fields absent when not stored or not requested by a tag list). */
export interface ProfileInfo {
  readonly iccid?: string;
  /** ISD-P AID, upper-case hex. */
  readonly isdpAid?: string;
  readonly state?: ProfileState;
  readonly nickname?: string;
  readonly serviceProviderName?: string;
  readonly profileName?: string;
  readonly iconType?: IconType;
  readonly icon?: Uint8Array;
  /** Absent from the card's answer means operational (SGP.22 DEFAULT); reported as such when absent. */
  readonly profileClass?: ProfileClass;
  readonly notificationConfigurations?: readonly NotificationConfiguration[];
  readonly profileOwner?: ProfileOwner;
  readonly dpProprietaryData?: { readonly dpOid: string; readonly additionalData?: readonly Uint8Array[] };
  readonly policyRules?: readonly PolicyRule[];
  readonly serviceSpecificData?: VendorSpecificExtension;
}

/** The ProfileInfo fields a tag list can ask for. */
export const PROFILE_INFO_FIELDS = {
  iccid: PROFILES_TAGS.iccid,
  isdpAid: PROFILES_TAGS.isdpAid,
  state: PROFILES_TAGS.profileState,
  nickname: PROFILES_TAGS.profileNickname,
  serviceProviderName: PROFILES_TAGS.serviceProviderName,
  profileName: PROFILES_TAGS.profileName,
  iconType: PROFILES_TAGS.iconType,
  icon: PROFILES_TAGS.icon,
  profileClass: PROFILES_TAGS.profileClass,
  notificationConfigurations: PROFILES_TAGS.notificationConfigurationInfo,
  profileOwner: PROFILES_TAGS.profileOwner,
  dpProprietaryData: PROFILES_TAGS.dpProprietaryData,
  policyRules: PROFILES_TAGS.profilePolicyRules,
  serviceSpecificData: PROFILES_TAGS.serviceSpecificDataStoredInEuicc,
} as const;
export type ProfileInfoField = keyof typeof PROFILE_INFO_FIELDS;

export interface GetProfilesInfoOptions {
  /** Search criteria (at most one). */
  readonly iccid?: string;
  readonly aid?: string | Uint8Array;
  readonly profileClass?: ProfileClass;
  /** Only these fields (tag list `5C`); default: everything the card stores. */
  readonly fields?: readonly ProfileInfoField[];
}

const C_EID = 'GetEID';
const C_LIST = 'GetProfilesInfo';

/** GetEID: the EID as 32 digits. */
export async function getEid(ch: StoreDataChannel): Promise<string> {
  const r = await call(ch, C_EID, encodeGetEuiccDataRequest(GET_EID_REQUEST), decodeGetEuiccDataResponse);
  try {
    return decodeEid(r.eidValue);
  } catch (e) {
    throw new EuiccResponseError(C_EID, `invalid EID ${toHex(r.eidValue)}`, { cause: e });
  }
}

/** GetProfilesInfo. Throws Es10ResultError for ProfileInfoListError (incorrectInputValues, undefinedError). */
export async function getProfilesInfo(ch: StoreDataChannel, opts: GetProfilesInfoOptions = {}): Promise<ProfileInfo[]> {
  const criteria = [opts.iccid, opts.aid, opts.profileClass].filter((x) => x !== undefined).length;
  if (criteria > 1) throw new RangeError('getProfilesInfo: give at most one of iccid, aid, profileClass');
  const req: { -readonly [K in keyof ProfileInfoListRequest]: ProfileInfoListRequest[K] } = {};
  if (opts.iccid !== undefined) req.searchCriteria = { kind: 'iccid', iccid: iccidBytes(opts.iccid) };
  else if (opts.aid !== undefined) req.searchCriteria = { kind: 'isdpAid', isdpAid: aidBytes(opts.aid) };
  else if (opts.profileClass !== undefined) {
    const v = ProfileClassValue[opts.profileClass];
    if (v === undefined) throw new RangeError(`unknown profile class ${String(opts.profileClass)}`);
    req.searchCriteria = { kind: 'profileClass', profileClass: v };
  }
  if (opts.fields !== undefined) {
    const tags = opts.fields.map((f) => {
      const t = PROFILE_INFO_FIELDS[f];
      if (t === undefined) throw new RangeError(`unknown ProfileInfo field ${String(f)}`);
      return tagBytes(t);
    });
    const n = tags.reduce((a, t) => a + t.length, 0);
    const list = new Uint8Array(n);
    let o = 0;
    for (const t of tags) {
      list.set(t, o);
      o += t.length;
    }
    req.tagList = list;
  }
  const r = await call(ch, C_LIST, encodeProfileInfoListRequest(req), decodeProfileInfoListResponse);
  if (r.kind === 'profileInfoListError') {
    throw new Es10ResultError(C_LIST, nameOf(ProfileInfoListErrorValue, r.profileInfoListError), r.profileInfoListError);
  }
  return r.profileInfoListOk.map((p) => toProfileInfo(p, opts.fields === undefined || opts.fields.includes('profileClass')));
}

function toProfileInfo(p: RawProfileInfo, defaultClass: boolean): ProfileInfo {
  const out: { -readonly [K in keyof ProfileInfo]: ProfileInfo[K] } = {};
  if (p.iccid) out.iccid = iccidString(p.iccid, C_LIST);
  if (p.isdpAid) out.isdpAid = aidString(p.isdpAid);
  if (p.profileState !== undefined) out.state = strictName(ProfileStateValue, p.profileState, C_LIST, 'profileState');
  if (p.profileNickname !== undefined) out.nickname = p.profileNickname;
  if (p.serviceProviderName !== undefined) out.serviceProviderName = p.serviceProviderName;
  if (p.profileName !== undefined) out.profileName = p.profileName;
  if (p.iconType !== undefined) out.iconType = strictName(IconTypeValue, p.iconType, C_LIST, 'iconType');
  if (p.icon !== undefined) out.icon = p.icon.slice();
  if (p.profileClass !== undefined) out.profileClass = strictName(ProfileClassValue, p.profileClass, C_LIST, 'profileClass');
  else if (defaultClass) out.profileClass = 'operational';
  if (p.notificationConfigurationInfo) {
    out.notificationConfigurations = p.notificationConfigurationInfo.map((n) => ({
      events: bitNames(NotificationEventBit, n.profileManagementOperation),
      address: n.notificationAddress,
    }));
  }
  if (p.profileOwner) {
    const plmn = decodePlmn(p.profileOwner.mccMnc, C_LIST);
    out.profileOwner = {
      ...plmn,
      ...(p.profileOwner.gid1 !== undefined && { gid1: p.profileOwner.gid1.slice() }),
      ...(p.profileOwner.gid2 !== undefined && { gid2: p.profileOwner.gid2.slice() }),
    };
  }
  if (p.dpProprietaryData) out.dpProprietaryData = p.dpProprietaryData;
  if (p.profilePolicyRules) out.policyRules = bitNames(PprIdsBit, p.profilePolicyRules);
  if (p.serviceSpecificDataStoredInEuicc) out.serviceSpecificData = p.serviceSpecificDataStoredInEuicc;
  return out;
}

export interface SwitchOptions {
  /** refreshFlag: the eUICC issues a REFRESH (true, default, as lpac) or the device handles the reset. */
  readonly refresh?: boolean;
}

/** EnableProfile. Every SGP.22 result is returned, never thrown. */
export async function enableProfile(ch: StoreDataChannel, id: ProfileId, opts: SwitchOptions = {}): Promise<Es10Outcome<EnableResult>> {
  const req = encodeEnableProfileRequest({ profileIdentifier: profileIdentifier(id), refreshFlag: opts.refresh ?? true });
  const r = await call(ch, 'EnableProfile', req, decodeEnableProfileResponse);
  return outcome(EnableResultValue, r.enableResult);
}

/** DisableProfile. */
export async function disableProfile(ch: StoreDataChannel, id: ProfileId, opts: SwitchOptions = {}): Promise<Es10Outcome<DisableResult>> {
  const req = encodeDisableProfileRequest({ profileIdentifier: profileIdentifier(id), refreshFlag: opts.refresh ?? true });
  const r = await call(ch, 'DisableProfile', req, decodeDisableProfileResponse);
  return outcome(DisableResultValue, r.disableResult);
}

/** DeleteProfile. */
export async function deleteProfile(ch: StoreDataChannel, id: ProfileId): Promise<Es10Outcome<DeleteResult>> {
  const r = await call(ch, 'DeleteProfile', encodeDeleteProfileRequest(profileIdentifier(id)), decodeDeleteProfileResponse);
  return outcome(DeleteResultValue, r.deleteResult);
}

/** SetNickname (an empty nickname removes it on the software eUICC). */
export async function setNickname(ch: StoreDataChannel, iccid: string, nickname: string): Promise<Es10Outcome<SetNicknameResult>> {
  const req = encodeSetNicknameRequest({ iccid: iccidBytes(iccid), profileNickname: nickname });
  const r = await call(ch, 'SetNickname', req, decodeSetNicknameResponse);
  return outcome(SetNicknameResultValue, r.setNicknameResult);
}

/** eUICCMemoryReset options (resetOptions bits). At least one should be set. */
export interface MemoryResetOptions {
  readonly deleteOperationalProfiles?: boolean;
  readonly deleteFieldLoadedTestProfiles?: boolean;
  readonly resetDefaultSmdpAddress?: boolean;
}

/** eUICCMemoryReset. */
export async function euiccMemoryReset(ch: StoreDataChannel, opts: MemoryResetOptions): Promise<Es10Outcome<ResetResult>> {
  const bits: number[] = [];
  for (const k of Object.keys(ResetOptionsBit) as (keyof typeof ResetOptionsBit)[]) {
    if (opts[k] === true) bits.push(ResetOptionsBit[k]);
  }
  const r = await call(ch, 'eUICCMemoryReset', encodeEuiccMemoryResetRequest({ resetOptions: bits }), decodeEuiccMemoryResetResponse);
  return outcome(ResetResultValue, r.resetResult);
}
