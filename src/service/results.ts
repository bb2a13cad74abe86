/**
 * ES10 / LPA outcomes → OpenHarmony ResultCode and result objects (the table per function is in
 * docs/api.md; keep both in step). Download, metadata and discovery failures go through the LPA's one
 * mapping (src/lpa/result-codes.ts mapFailure); this module adds the profile-management results and the
 * conversions of card data to the seed's shapes (EuiccProfile, metadata result, ...). Everything returned
 * is JSON-safe.
 */
import type {
  DownloadableProfile,
  EuiccProfile,
  GetDownloadableProfileMetadataResult,
  OperatorId,
} from '../api/types.js';
import type { Es10Outcome } from '../lpa/es10-util.js';
import type { EuiccInfo2, NotificationInfo } from '../lpa/es10b.js';
import type {
  DeleteResult,
  DisableResult,
  EnableResult,
  IconType,
  NotificationEventName,
  PolicyRule,
  ProfileClass,
  ProfileInfo,
  ProfileState,
  ResetResult,
  SetNicknameResult,
} from '../lpa/es10c.js';
import type { SetDefaultDpAddressResult } from '../lpa/es10a.js';
import { LpaError, mapFailure, ResultCode } from '../lpa/result-codes.js';
import { toBase64, toHex } from '../util/hex.js';
import { ServiceError } from './protocol.js';

type Code = number;

/** Numeric values of the seed's enums (src/api/types.ts), kept here so that service/ has no run-time import of api/. */
export const SolvableErrorsBit = { NEED_CONFIRMATION_CODE: 1, NEED_POLICY_RULE: 2 } as const;
const PROFILE_STATE: Readonly<Record<ProfileState, number>> = { disabled: 0, enabled: 1 };
const PROFILE_CLASS: Readonly<Record<ProfileClass, number>> = { test: 0, provisioning: 1, operational: 2 };
/** SGP.22 PPR → PolicyRules bit (ppr1: disabling not allowed, ppr2: deletion not allowed). */
const POLICY_RULE_BIT: Readonly<Partial<Record<PolicyRule, number>>> = { ppr1: 1, ppr2: 2 };

// ------------------------------------------------------------------------------------------ ES10c results

const R = ResultCode;

/** One ES10 outcome → ResultCode table: the listed results, anything else (undefinedError, unknown) → 400. */
function outcomeMapper<T extends string>(table: Readonly<Partial<Record<T, Code>>>): (o: Es10Outcome<T>) => Code {
  return (o) => (Object.hasOwn(table, o.result) ? table[o.result as T]! : R.RESULT_SGP_22_OTHER);
}

/** switchToProfile (EnableProfile). Already enabled → 0 (nothing to do); wrongProfileReenabling → 400. */
export const enableResultCode = outcomeMapper<EnableResult>({
  ok: R.RESULT_OK,
  profileNotInDisabledState: R.RESULT_OK,
  iccidOrAidNotFound: R.RESULT_NOTHING_TO_DELETE,
  disallowedByPolicy: R.RESULT_PPR_FORBIDDEN,
  catBusy: R.RESULT_CAT_BUSY,
});

/** disableProfile (extension). Already disabled → 0. */
export const disableResultCode = outcomeMapper<DisableResult>({
  ok: R.RESULT_OK,
  profileNotInEnabledState: R.RESULT_OK,
  iccidOrAidNotFound: R.RESULT_NOTHING_TO_DELETE,
  disallowedByPolicy: R.RESULT_PPR_FORBIDDEN,
  catBusy: R.RESULT_CAT_BUSY,
});

/** deleteProfile. An enabled profile must be disabled first → -1. */
export const deleteResultCode = outcomeMapper<DeleteResult>({
  ok: R.RESULT_OK,
  iccidOrAidNotFound: R.RESULT_NOTHING_TO_DELETE,
  profileNotInDisabledState: R.RESULT_MUST_DISABLE_PROFILE,
  disallowedByPolicy: R.RESULT_PROFILE_NON_DELETE,
});

/** resetMemory (eUICCMemoryReset). */
export const resetResultCode = outcomeMapper<ResetResult>({
  ok: R.RESULT_OK,
  nothingToDelete: R.RESULT_NOTHING_TO_DELETE,
  catBusy: R.RESULT_CAT_BUSY,
});

/** setProfileNickname (SetNickname). */
export const setNicknameResultCode = outcomeMapper<SetNicknameResult>({
  ok: R.RESULT_OK,
  iccidNotFound: R.RESULT_NOTHING_TO_DELETE,
});

/** setDefaultSmdpAddress (SetDefaultDpAddress). */
export const setDefaultDpResultCode = outcomeMapper<SetDefaultDpAddressResult>({ ok: R.RESULT_OK });

/** ES10b CancelSession on the card (no download of ours running with that transactionId). */
export function cancelSessionResultCode(r: { kind: 'ok' } | { kind: 'error'; code: number }): Code {
  if (r.kind === 'ok') return ResultCode.RESULT_OK;
  return r.code === 5 ? ResultCode.RESULT_TRANSACTION_ID_INVALID : ResultCode.RESULT_SGP_22_OTHER;
}

/** removeNotification (RemoveNotificationFromList). */
export function removeNotificationResultCode(o: Es10Outcome<'ok' | 'nothingToDelete' | 'undefinedError'>): Code {
  switch (o.result) {
    case 'ok':
      return ResultCode.RESULT_OK;
    case 'nothingToDelete':
      return ResultCode.RESULT_NOTHING_TO_DELETE;
    default:
      return ResultCode.RESULT_SGP_22_OTHER;
  }
}

/**
 * A card failure (status word, malformed answer, transport fault) of a function that answers a ResultCode:
 * RESULT_SGP_22_OTHER. A ServiceError (801, 3120001, 3120002 raised by the service itself) passes through.
 */
export function managementFailureCode(e: unknown): Code {
  if (e instanceof ServiceError) throw e;
  return ResultCode.RESULT_SGP_22_OTHER;
}

/** Download / metadata / discovery failures: the LPA's mapping (src/lpa/result-codes.ts). */
export function flowFailureCode(e: unknown): Code {
  if (e instanceof ServiceError) throw e;
  return mapFailure(e).resultCode;
}

/** The solvable-error bits a failed download or metadata request calls for (0 when none). */
export function solvableErrorsOf(e: unknown): number {
  const m = e instanceof LpaError ? { resultCode: e.resultCode, reason: e.reason } : mapFailure(e);
  if (m.resultCode !== ResultCode.RESULT_SOLVABLE_ERRORS) return 0;
  if (m.reason.includes('ppr-consent-required')) return SolvableErrorsBit.NEED_POLICY_RULE;
  return SolvableErrorsBit.NEED_CONFIRMATION_CODE; // check confirmation-code-required, or 8.2.7/2.2 without a code
}

// ------------------------------------------------------------------------------------------ conversions

export function policyRulesMask(rules: readonly PolicyRule[] | undefined): number {
  let m = 0;
  for (const r of rules ?? []) m |= POLICY_RULE_BIT[r] ?? 0;
  return m;
}

export function profileClassValue(c: ProfileClass | 'unknown' | undefined): number {
  if (c === undefined) return PROFILE_CLASS.operational; // SGP.22 DEFAULT
  return c === 'unknown' ? -1 : PROFILE_CLASS[c];
}

function operatorId(p: ProfileInfo['profileOwner']): OperatorId {
  return {
    mcc: p?.mcc ?? '',
    mnc: p?.mnc ?? '',
    gid1: p?.gid1 ? toHex(p.gid1).toUpperCase() : '',
    gid2: p?.gid2 ? toHex(p.gid2).toUpperCase() : '',
  };
}

/** GetProfilesInfo entry → EuiccProfile (absent texts → '', access rules are not stored by SGP.22 v2 cards → []). */
export function toEuiccProfile(p: ProfileInfo): EuiccProfile {
  return {
    iccid: p.iccid ?? '',
    nickName: p.nickname ?? '',
    serviceProviderName: p.serviceProviderName ?? '',
    profileName: p.profileName ?? '',
    state: p.state === undefined ? -1 : PROFILE_STATE[p.state],
    profileClass: profileClassValue(p.profileClass),
    operatorId: operatorId(p.profileOwner),
    policyRules: policyRulesMask(p.policyRules),
    accessRules: [],
  };
}

/** The metadata shown before a download, as the seed's result. */
export interface PreviewMetadata {
  readonly iccid: string;
  readonly serviceProviderName: string;
  readonly profileName: string;
  readonly profileClass: ProfileClass | 'unknown';
  readonly policyRules: readonly PolicyRule[];
}

export function metadataResult(
  profile: DownloadableProfile,
  m: PreviewMetadata,
  solvableErrors: number,
): GetDownloadableProfileMetadataResult {
  const pprType = policyRulesMask(m.policyRules);
  return {
    downloadableProfile: profile,
    pprType,
    pprFlag: pprType !== 0,
    iccid: m.iccid,
    serviceProviderName: m.serviceProviderName,
    profileName: m.profileName,
    profileClass: profileClassValue(m.profileClass),
    solvableErrors,
    responseResult: solvableErrors !== 0 ? ResultCode.RESULT_SOLVABLE_ERRORS : ResultCode.RESULT_OK,
  };
}

export function failedMetadataResult(profile: DownloadableProfile, responseResult: number, solvableErrors: number): GetDownloadableProfileMetadataResult {
  return {
    downloadableProfile: profile,
    pprType: 0,
    pprFlag: false,
    iccid: '',
    serviceProviderName: '',
    profileName: '',
    profileClass: -1,
    solvableErrors,
    responseResult,
  };
}

// ------------------------------------------------------------------------------------------ extensions (JSON)

export interface NotificationJson {
  readonly seqNumber: number;
  readonly event: string;
  readonly address: string;
  readonly iccid?: string;
}

export function notificationJson(n: NotificationInfo): NotificationJson {
  return { seqNumber: n.seqNumber, event: n.event, address: n.address, ...(n.iccid !== undefined && { iccid: n.iccid }) };
}

/**
 * One profile's details beyond the seed's EuiccProfile (extension getProfileDetails): the ES10c
 * GetProfilesInfo elements isdpAid (4F), iconType (93), icon (94), notificationConfigurationInfo (B6),
 * profileOwner (B7) and profilePolicyRules (99). JSON-safe: bytes as base64 (icon) or upper-case hex.
 */
export interface ProfileDetailsJson {
  readonly iccid: string;
  /** ISD-P AID, upper-case hex ('' when the card did not report it). */
  readonly isdpAid: string;
  /** The icon's format; present exactly when `icon` is. */
  readonly iconType?: IconType;
  /** The icon's bytes (SGP.22: PNG or JPEG, at most 1024 bytes), base64; absent when the profile has none. */
  readonly icon?: string;
  /** PLMN digits and group identifiers (upper-case hex); absent when the profile has no owner. */
  readonly profileOwner?: { readonly mcc: string; readonly mnc: string; readonly gid1?: string; readonly gid2?: string };
  /** Which operations send a notification, and where (SGP.22 event names). */
  readonly notificationConfigurationInfo: readonly { readonly events: readonly NotificationEventName[]; readonly address: string }[];
  /** The profile policy rules set (SGP.22 names: pprUpdateControl, ppr1, ppr2). */
  readonly profilePolicyRules: readonly PolicyRule[];
}

/** The icon format from its first bytes (PNG signature, JPEG SOI), for a card that stores an icon without iconType. */
export function sniffIconType(icon: Uint8Array): IconType | undefined {
  if (icon.length >= 8 && icon[0] === 0x89 && icon[1] === 0x50 && icon[2] === 0x4e && icon[3] === 0x47) return 'png';
  if (icon.length >= 3 && icon[0] === 0xff && icon[1] === 0xd8 && icon[2] === 0xff) return 'jpg';
  return undefined;
}

/** GetProfilesInfo entry → ProfileDetailsJson. An empty icon, or one of unknown format without iconType, is left out. */
export function profileDetailsJson(p: ProfileInfo): ProfileDetailsJson {
  const iconType = p.icon !== undefined && p.icon.length > 0 ? (p.iconType ?? sniffIconType(p.icon)) : undefined;
  const o = p.profileOwner;
  return {
    iccid: p.iccid ?? '',
    isdpAid: p.isdpAid ?? '',
    ...(iconType !== undefined && { iconType, icon: toBase64(p.icon!) }),
    ...(o && {
      profileOwner: {
        mcc: o.mcc,
        mnc: o.mnc,
        ...(o.gid1 && { gid1: toHex(o.gid1).toUpperCase() }),
        ...(o.gid2 && { gid2: toHex(o.gid2).toUpperCase() }),
      },
    }),
    notificationConfigurationInfo: (p.notificationConfigurations ?? []).map((n) => ({ events: [...n.events], address: n.address })),
    profilePolicyRules: [...(p.policyRules ?? [])],
  };
}

type Jsonish = string | number | boolean | null | Jsonish[] | { [k: string]: Jsonish };

/** Bytes → upper-case hex, recursively (EUICCInfo2 has PKIDs and raw resources). */
export function toJsonSafe(v: unknown): Jsonish {
  if (v instanceof Uint8Array) return toHex(v).toUpperCase();
  if (Array.isArray(v)) return v.map(toJsonSafe);
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') {
    const out: { [k: string]: Jsonish } = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJsonSafe(x);
    return out;
  }
  if (typeof v === 'bigint') return v.toString();
  return v as string | number | boolean;
}

/** Full EUICCInfo2 as JSON (byte strings as upper-case hex). */
export type EuiccInfo2Json = { [k: string]: Jsonish };
export function euiccInfo2Json(i: EuiccInfo2): EuiccInfo2Json {
  return toJsonSafe(i) as EuiccInfo2Json;
}
