/**
 * ES10c of the software eUICC (SGP22-NOTES §2.3, §7): GetProfilesInfo (BF2D), EnableProfile (BF31),
 * DisableProfile (BF32), DeleteProfile (BF33), eUICCMemoryReset (BF34), GetEID (BF3E), SetNickname (BF29).
 *
 * Every state change (with the notifications it creates) is one store transaction: a crash leaves the
 * card before or after it.
 *
 * Rules the card enforces:
 *   - One enabled profile per MEP port. EnableProfile works on the port the request came in on (ctx.port):
 *     the profile enabled there is disabled implicitly (disable notification first, then the enable one),
 *     unless its ppr1 forbids → disallowedByPolicy(3). Profiles enabled on other ports are left alone; a
 *     profile enabled on any port (this or another) answers profileNotInDisabledState(2).
 *   - DisableProfile may be sent on any port (it names the profile); ppr1 → disallowedByPolicy(3).
 *   - DeleteProfile: enabled → profileNotInDisabledState(2), then ppr2 → disallowedByPolicy(3).
 *   - Profile classes: the card allows Enable/Disable/Delete/SetNickname on all classes (test, provisioning,
 *     operational); restricting what the user sees is the LPA's job (SGP22-NOTES §7). The class matters
 *     for eUICCMemoryReset only: bit deleteOperationalProfiles(0) deletes operational profiles (enabled ones
 *     too), bit deleteFieldLoadedTestProfiles(1) deletes test profiles (every test profile on this card was
 *     field-loaded), provisioning profiles are never deleted by a reset.
 *
 * Choices (UNCONFIRMED against the SGP.22 text):
 *   - refreshFlag is accepted and ignored: a software card has no CAT/proactive session, so no REFRESH is
 *     issued and catBusy(5) is never answered; wrongProfileReenabling(4) is never answered.
 *   - eUICCMemoryReset creates no notifications, is not blocked by PPRs, keeps already pending notifications
 *     and the sequence counter, and ends the RSP session (challenge, authentication, download) when it did
 *     anything (result ok). Nothing matched the options → nothingToDelete(1).
 *   - GetProfilesInfo: no tagList → every stored field; a tagList limits the fields to the listed tags (one-
 *     or multi-byte tags such as 9F70; unknown tags, e.g. BF76 or 9F24, are ignored); fields come in ASN.1
 *     order whatever the tagList order. An empty or truncated tagList, or undecodable searchCriteria (bad
 *     ICCID/AID length, unknown alternative, profileClass outside 0..2), → incorrectInputValues(1). A
 *     stored profile that cannot be rendered (damaged metadata) → undefinedError(127).
 *   - SetNickname: nicknames longer than 64 bytes of UTF-8 are rejected by the decoder (the ASN.1 SIZE):
 *     6A80. A card configured with maxNicknameBytes < 64 answers undefinedError(127) for a nickname between
 *     its limit and 64. An empty nickname removes the nickname (ProfileInfo then has no 90).
 *   - GetEID with a tagList other than 5A → status word 6A88 (referenced data not found).
 *   - Result undefinedError(127) for Enable when the request's port is outside the card's ports.
 */
import { encodeBitString, encodeInteger } from '../asn1/der.js';
import { Asn1Error, decodeTlv, encodeTlv, type Tlv } from '../asn1/tlv.js';
import { ProfileClassValue } from '../asn1/sgp22/metadata.js';
import {
  DeleteResultValue,
  DisableResultValue,
  EnableResultValue,
  PROFILES_TAGS,
  PROFILE_INFO_FIELD_TAGS,
  ProfileInfoListErrorValue,
  ResetOptionsBit,
  ResetResultValue,
  SetNicknameResultValue,
  decodeDeleteProfileRequest,
  decodeDisableProfileRequest,
  decodeEnableProfileRequest,
  decodeEuiccMemoryResetRequest,
  decodeGetEuiccDataRequest,
  decodeProfileInfoListRequest,
  decodeSetNicknameRequest,
  encodeDeleteProfileResponse,
  encodeDisableProfileResponse,
  encodeEnableProfileResponse,
  encodeEuiccMemoryResetResponse,
  encodeGetEuiccDataResponse,
  encodeSetNicknameResponse,
  type ProfileIdentifier,
  type ProfileInfoListRequest,
} from '../asn1/sgp22/profiles.js';
import { PprIdsBit } from '../asn1/sgp22/metadata.js';
import { NotificationEventBit } from '../asn1/sgp22/metadata.js';
import { bytesEqual } from '../util/hex.js';
import { createOtherSignedNotification } from './notifications.js';
import { DEFAULT_DP_ADDRESS_META } from './es10a.js';
import type { ProfileHeader, StoredProfile } from './state.js';
import { CardFault, type Es10Context, type Es10Handler, type Es10HandlerTable } from './types.js';

const T = PROFILES_TAGS;

/** Metadata (BF25) elements copied as-is into ProfileInfo (same tags in both). */
const METADATA_FIELDS_IN_PROFILE_INFO: ReadonlySet<number> = new Set([
  T.serviceProviderName,
  T.profileName,
  T.iconType,
  T.icon,
  T.notificationConfigurationInfo,
  T.profileOwner,
  T.serviceSpecificDataStoredInEuicc,
]);

function findProfile(ctx: Es10Context, id: ProfileIdentifier): ProfileHeader | undefined {
  return ctx.card.store.findProfile(id.kind === 'isdpAid' ? { aid: id.isdpAid } : { iccid: id.iccid });
}

// ---------------------------------------------------------------------------------------- GetProfilesInfo

/** The tags in a tagList value (BER tag encoding, multi-byte tags allowed), or null when malformed. */
export function parseTagList(v: Uint8Array): number[] | null {
  if (v.length === 0) return null;
  const tags: number[] = [];
  let i = 0;
  while (i < v.length) {
    const first = v[i++]!;
    let tag = first;
    if ((first & 0x1f) === 0x1f) {
      let n = 0;
      for (;;) {
        if (i >= v.length || n >= 3) return null;
        const b = v[i++]!;
        tag = tag * 256 + b;
        n++;
        if ((b & 0x80) === 0) break;
      }
    }
    tags.push(tag);
  }
  return tags;
}

/** All ProfileInfo fields of a stored profile, by tag, each a complete TLV. */
function profileFields(p: ProfileHeader): Map<number, Uint8Array> {
  const f = new Map<number, Uint8Array>();
  f.set(T.iccid, encodeTlv(T.iccid, p.iccid));
  f.set(T.isdpAid, encodeTlv(T.isdpAid, p.aid));
  f.set(T.profileState, encodeInteger(T.profileState, p.state));
  if (p.nickname !== undefined && p.nickname !== '') f.set(T.profileNickname, encodeTlv(T.profileNickname, new TextEncoder().encode(p.nickname)));
  const md = decodeTlv(p.metadata, { der: true });
  let metadataHasPprs = false;
  for (const c of md.children) {
    if (METADATA_FIELDS_IN_PROFILE_INFO.has(c.tag)) f.set(c.tag, c.raw);
    if (c.tag === T.profilePolicyRules) metadataHasPprs = true;
  }
  f.set(T.profileClass, encodeInteger(T.profileClass, p.profileClass));
  if (p.dpProprietaryData !== undefined) {
    const dp = decodeTlv(p.dpProprietaryData, { der: true });
    f.set(T.dpProprietaryData, dp.tag === T.dpProprietaryData ? dp.raw : encodeTlv(T.dpProprietaryData, dp.value));
  }
  if (metadataHasPprs || p.pprs.length > 0) f.set(T.profilePolicyRules, encodeBitString(T.profilePolicyRules, p.pprs));
  return f;
}

function profileInfoListError(code: number): Uint8Array {
  return encodeTlv(T.profileInfoListResponse, encodeInteger(T.profileInfoListError, code));
}

/** GetProfilesInfo BF2D { A0 criteria?, 5C tagList? } -> BF2D { A0 { E3 ... } } | BF2D { 81 error }. */
export const getProfilesInfo: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  let req: ProfileInfoListRequest;
  try {
    req = decodeProfileInfoListRequest(request);
  } catch (e) {
    if (e instanceof Asn1Error) return profileInfoListError(ProfileInfoListErrorValue.incorrectInputValues);
    throw e;
  }
  let wanted: ReadonlySet<number> | undefined;
  if (req.tagList !== undefined) {
    const tags = parseTagList(req.tagList);
    if (tags === null) return profileInfoListError(ProfileInfoListErrorValue.incorrectInputValues);
    wanted = new Set(tags);
  }
  const sc = req.searchCriteria;
  if (sc?.kind === 'profileClass' && !(sc.profileClass >= 0 && sc.profileClass <= 2)) {
    return profileInfoListError(ProfileInfoListErrorValue.incorrectInputValues);
  }
  let profiles = ctx.card.store.listProfileHeaders();
  if (sc !== undefined) {
    profiles = profiles.filter((p) =>
      sc.kind === 'isdpAid' ? bytesEqual(p.aid, sc.isdpAid) : sc.kind === 'iccid' ? bytesEqual(p.iccid, sc.iccid) : p.profileClass === sc.profileClass,
    );
  }
  const infos: Uint8Array[] = [];
  try {
    for (const p of profiles) {
      const fields = profileFields(p);
      const parts: Uint8Array[] = [];
      for (const tag of PROFILE_INFO_FIELD_TAGS) {
        if (wanted !== undefined && !wanted.has(tag)) continue;
        const v = fields.get(tag);
        if (v !== undefined) parts.push(v);
      }
      infos.push(encodeTlv(T.profileInfo, parts));
    }
  } catch {
    return profileInfoListError(ProfileInfoListErrorValue.undefinedError);
  }
  return encodeTlv(T.profileInfoListResponse, encodeTlv(T.profileInfoListOk, infos));
};

// ------------------------------------------------------------------------------- Enable / Disable / Delete

/** EnableProfile BF31 { A0 { 4F | 5A }, 81 refreshFlag } -> BF31 { 80 enableResult }. */
export const enableProfile: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  const req = decodeEnableProfileRequest(request);
  const res = (enableResult: number): Uint8Array => encodeEnableProfileResponse({ enableResult });
  const { card, port } = ctx;
  if (!Number.isInteger(port) || port < 0 || port >= card.config.ports) return res(EnableResultValue.undefinedError);
  return card.store.transaction(() => {
    const target = findProfile(ctx, req.profileIdentifier);
    if (!target) return res(EnableResultValue.iccidOrAidNotFound);
    if (target.state === 1) return res(EnableResultValue.profileNotInDisabledState);
    const current = card.store.listProfileHeaders().find((p) => p.state === 1 && p.port === port);
    if (current) {
      if (current.pprs.includes(PprIdsBit.ppr1)) return res(EnableResultValue.disallowedByPolicy);
      card.store.updateProfile(current.aid, { state: 0, port: null });
      createOtherSignedNotification(card, NotificationEventBit.notificationDisable, current);
    }
    card.store.updateProfile(target.aid, { state: 1, port });
    createOtherSignedNotification(card, NotificationEventBit.notificationEnable, target);
    return res(EnableResultValue.ok);
  });
};

/** DisableProfile BF32 { A0 { 4F | 5A }, 81 refreshFlag } -> BF32 { 80 disableResult }. */
export const disableProfile: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  const req = decodeDisableProfileRequest(request);
  const res = (disableResult: number): Uint8Array => encodeDisableProfileResponse({ disableResult });
  const { card } = ctx;
  return card.store.transaction(() => {
    const target = findProfile(ctx, req.profileIdentifier);
    if (!target) return res(DisableResultValue.iccidOrAidNotFound);
    if (target.state !== 1) return res(DisableResultValue.profileNotInEnabledState);
    if (target.pprs.includes(PprIdsBit.ppr1)) return res(DisableResultValue.disallowedByPolicy);
    card.store.updateProfile(target.aid, { state: 0, port: null });
    createOtherSignedNotification(card, NotificationEventBit.notificationDisable, target);
    return res(DisableResultValue.ok);
  });
};

/** DeleteProfile BF33 { 4F | 5A } -> BF33 { 80 deleteResult }. */
export const deleteProfile: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  const id = decodeDeleteProfileRequest(request);
  const res = (deleteResult: number): Uint8Array => encodeDeleteProfileResponse({ deleteResult });
  const { card } = ctx;
  return card.store.transaction(() => {
    const target = findProfile(ctx, id);
    if (!target) return res(DeleteResultValue.iccidOrAidNotFound);
    if (target.state === 1) return res(DeleteResultValue.profileNotInDisabledState);
    if (target.pprs.includes(PprIdsBit.ppr2)) return res(DeleteResultValue.disallowedByPolicy);
    createOtherSignedNotification(card, NotificationEventBit.notificationDelete, target);
    card.store.deleteProfile(target.aid);
    return res(DeleteResultValue.ok);
  });
};

// --------------------------------------------------------------------------------------- EuiccMemoryReset

/** eUICCMemoryReset BF34 { 82 resetOptions } -> BF34 { 80 resetResult }. */
export const euiccMemoryReset: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  const { resetOptions } = decodeEuiccMemoryResetRequest(request);
  const { card } = ctx;
  const delOperational = resetOptions.includes(ResetOptionsBit.deleteOperationalProfiles);
  const delTest = resetOptions.includes(ResetOptionsBit.deleteFieldLoadedTestProfiles);
  const resetDp = resetOptions.includes(ResetOptionsBit.resetDefaultSmdpAddress);
  const did = card.store.transaction(() => {
    let n = 0;
    for (const p of card.store.listProfileHeaders()) {
      const hit =
        (delOperational && p.profileClass === ProfileClassValue.operational) || (delTest && p.profileClass === ProfileClassValue.test);
      if (hit && card.store.deleteProfile(p.aid)) n++;
    }
    if (resetDp && card.store.deleteMeta(DEFAULT_DP_ADDRESS_META)) n++;
    return n;
  });
  if (did === 0) return encodeEuiccMemoryResetResponse({ resetResult: ResetResultValue.nothingToDelete });
  card.session.reset();
  return encodeEuiccMemoryResetResponse({ resetResult: ResetResultValue.ok });
};

// ------------------------------------------------------------------------------------ GetEID, SetNickname

/** GetEID (GetEuiccData) BF3E { 5C 01 5A } -> BF3E { 5A EID }. */
export const getEid: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  const { tagList } = decodeGetEuiccDataRequest(request);
  if (tagList[0] !== 0x5a) throw new CardFault(0x6a88, 'GetEuiccData: only the EID (tag 5A) can be read');
  return encodeGetEuiccDataResponse({ eidValue: ctx.card.identity.eidBytes });
};

/** SetNickname BF29 { 5A iccid, 90 nickname } -> BF29 { 80 setNicknameResult }. */
export const setNickname: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  const req = decodeSetNicknameRequest(request);
  const res = (setNicknameResult: number): Uint8Array => encodeSetNicknameResponse({ setNicknameResult });
  const { card } = ctx;
  if (new TextEncoder().encode(req.profileNickname).length > card.config.maxNicknameBytes) return res(SetNicknameResultValue.undefinedError);
  return card.store.transaction(() => {
    const p = card.store.findProfile({ iccid: req.iccid });
    if (!p) return res(SetNicknameResultValue.iccidNotFound);
    card.store.updateProfile(p.aid, { nickname: req.profileNickname === '' ? undefined : req.profileNickname });
    return res(SetNicknameResultValue.ok);
  });
};

export const ES10C_HANDLERS: Es10HandlerTable = new Map<number, Es10Handler>([
  [T.profileInfoListRequest, getProfilesInfo],
  [T.enableProfileRequest, enableProfile],
  [T.disableProfileRequest, disableProfile],
  [T.deleteProfileRequest, deleteProfile],
  [T.euiccMemoryResetRequest, euiccMemoryReset],
  [T.getEuiccDataRequest, getEid],
  [T.setNicknameRequest, setNickname],
]);
