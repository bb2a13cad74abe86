/**
 * ES10b client (SGP22-NOTES §2.2): GetEUICCInfo1/2, GetEUICCChallenge, GetRAT, ListNotification,
 * RetrieveNotificationsList, RemoveNotificationFromList, and thin typed wrappers for the download flow
 * (AuthenticateServer, PrepareDownload, LoadBoundProfilePackage segments, CancelSession): those return the
 * decoded response together with the response bytes as received (`raw`), which the flow forwards to the
 * SM-DP+ unchanged.
 */
import type { StoreDataChannel } from '../apdu/channel.js';
import {
  EuiccCategoryValue,
  RspCapability,
  TreProperties,
  UICCCapability,
  decodeEUICCInfo1,
  decodeEUICCInfo2,
  decodeGetEuiccChallengeResponse,
  encodeGetEuiccChallengeRequest,
  encodeGetEuiccInfo1Request,
  encodeGetEuiccInfo2Request,
  type CertificationDataObject,
} from '../asn1/sgp22/euicc-info.js';
import { PprFlagsBit, decodeGetRatResponse, encodeGetRatRequest } from '../asn1/sgp22/rat.js';
import {
  DeleteNotificationStatusValue,
  ListNotificationsResultErrorValue,
  NotificationsListResultErrorValue,
  decodeListNotificationResponse,
  decodeNotificationSentResponse,
  decodePendingNotification,
  decodeProfileInstallationResult,
  decodeRetrieveNotificationsListResponse,
  encodeListNotificationRequest,
  encodeNotificationSentRequest,
  encodeRetrieveNotificationsListRequest,
  pendingNotificationMetadata,
  type NotificationMetadata as RawNotificationMetadata,
  type PendingNotification as RawPendingNotification,
  type ProfileInstallationResult,
  type RetrieveNotificationsListRequest,
} from '../asn1/sgp22/notifications.js';
import { NotificationEventBit, PprIdsBit } from '../asn1/sgp22/metadata.js';
import {
  decodeAuthenticateServerResponse,
  decodePrepareDownloadResponse,
  encodeAuthenticateServerRequest,
  encodePrepareDownloadRequest,
  type AuthenticateServerRequest,
  type AuthenticateServerResponse,
  type PrepareDownloadRequest,
  type PrepareDownloadResponse,
} from '../asn1/sgp22/authentication.js';
import {
  decodeCancelSessionResponse,
  encodeCancelSessionRequest,
  type CancelSessionResponse,
} from '../asn1/sgp22/cancel-session.js';
import { segmentBpp } from '../asn1/sgp22/bpp.js';
import { decodeTlv } from '../asn1/tlv.js';
import { EuiccResponseError, Es10ResultError } from './errors.js';
import {
  bitFlags,
  bitNames,
  call,
  decodeAs,
  decodePlmn,
  iccidString,
  nameOf,
  outcome,
  type Es10Outcome,
} from './es10-util.js';
import type { NotificationEventName, PolicyRule } from './es10c.js';

export type RspCapabilityName = keyof typeof RspCapability;
export type UiccCapabilityName = keyof typeof UICCCapability;
export type TrePropertyName = keyof typeof TreProperties;
export type EuiccCategory = keyof typeof EuiccCategoryValue;
export type DeleteNotificationStatus = keyof typeof DeleteNotificationStatusValue;

export interface EuiccInfo1 {
  /** SGP.22 version, "x.y.z". */
  readonly svn: string;
  readonly ciPkidsForVerification: readonly Uint8Array[];
  readonly ciPkidsForSigning: readonly Uint8Array[];
}

/** ETSI TS 102 226 extended card resource information (what the card reports; absent items undefined). */
export interface ExtCardResource {
  /** 81: number of installed applications. */
  readonly installedApplications?: number;
  /** 82: free non-volatile memory, bytes. */
  readonly freeNonVolatileMemory?: number;
  /** 83: free volatile memory, bytes. */
  readonly freeVolatileMemory?: number;
}

export interface EuiccInfo2 {
  /** SAIP version supported. */
  readonly profileVersion: string;
  readonly svn: string;
  readonly firmwareVersion: string;
  readonly extCardResource: ExtCardResource;
  /** The extCardResource bytes as received. */
  readonly extCardResourceRaw: Uint8Array;
  readonly uiccCapability: Readonly<Record<UiccCapabilityName, boolean>>;
  readonly ts102241Version?: string;
  readonly globalplatformVersion?: string;
  readonly rspCapability: Readonly<Record<RspCapabilityName, boolean>>;
  readonly ciPkidsForVerification: readonly Uint8Array[];
  readonly ciPkidsForSigning: readonly Uint8Array[];
  /** 'unknown' for a value outside SGP.22 (see euiccCategoryCode). */
  readonly euiccCategory?: EuiccCategory | 'unknown';
  readonly euiccCategoryCode?: number;
  readonly forbiddenProfilePolicyRules?: readonly PolicyRule[];
  readonly ppVersion: string;
  readonly sasAccreditationNumber: string;
  readonly certificationDataObject?: CertificationDataObject;
  readonly treProperties?: Readonly<Record<TrePropertyName, boolean>>;
  readonly treProductReference?: string;
  readonly additionalEuiccProfilePackageVersions?: readonly string[];
}

/** GetEUICCInfo1. */
export async function getEuiccInfo1(ch: StoreDataChannel): Promise<EuiccInfo1> {
  const r = await call(ch, 'GetEUICCInfo1', encodeGetEuiccInfo1Request(), decodeEUICCInfo1);
  return { svn: r.svn, ciPkidsForVerification: r.euiccCiPKIdListForVerification, ciPkidsForSigning: r.euiccCiPKIdListForSigning };
}

/** Parse ETSI TS 102 226 extended card resource information (81/82/83, big-endian unsigned). */
export function parseExtCardResource(b: Uint8Array): ExtCardResource {
  const out: { -readonly [K in keyof ExtCardResource]: ExtCardResource[K] } = {};
  let o = 0;
  while (o < b.length) {
    const tag = b[o]!;
    const len = b[o + 1];
    if (len === undefined || o + 2 + len > b.length || len > 6) {
      throw new EuiccResponseError('GetEUICCInfo2', 'extCardResource is not a list of short TLVs');
    }
    let v = 0;
    for (let i = 0; i < len; i++) v = v * 256 + b[o + 2 + i]!;
    if (tag === 0x81) out.installedApplications = v;
    else if (tag === 0x82) out.freeNonVolatileMemory = v;
    else if (tag === 0x83) out.freeVolatileMemory = v;
    o += 2 + len;
  }
  return out;
}

/** GetEUICCInfo2. */
export async function getEuiccInfo2(ch: StoreDataChannel): Promise<EuiccInfo2> {
  const r = await call(ch, 'GetEUICCInfo2', encodeGetEuiccInfo2Request(), decodeEUICCInfo2);
  return {
    profileVersion: r.profileVersion,
    svn: r.svn,
    firmwareVersion: r.euiccFirmwareVer,
    extCardResource: parseExtCardResource(r.extCardResource),
    extCardResourceRaw: r.extCardResource,
    uiccCapability: bitFlags(UICCCapability, r.uiccCapability),
    ...(r.ts102241Version !== undefined && { ts102241Version: r.ts102241Version }),
    ...(r.globalplatformVersion !== undefined && { globalplatformVersion: r.globalplatformVersion }),
    rspCapability: bitFlags(RspCapability, r.rspCapability),
    ciPkidsForVerification: r.euiccCiPKIdListForVerification,
    ciPkidsForSigning: r.euiccCiPKIdListForSigning,
    ...(r.euiccCategory !== undefined && { euiccCategory: nameOf(EuiccCategoryValue, r.euiccCategory), euiccCategoryCode: r.euiccCategory }),
    ...(r.forbiddenProfilePolicyRules !== undefined && { forbiddenProfilePolicyRules: bitNames(PprIdsBit, r.forbiddenProfilePolicyRules) }),
    ppVersion: r.ppVersion,
    sasAccreditationNumber: r.sasAcreditationNumber,
    ...(r.certificationDataObject !== undefined && { certificationDataObject: r.certificationDataObject }),
    ...(r.treProperties !== undefined && { treProperties: bitFlags(TreProperties, r.treProperties) }),
    ...(r.treProductReference !== undefined && { treProductReference: r.treProductReference }),
    ...(r.additionalEuiccProfilePackageVersions !== undefined && {
      additionalEuiccProfilePackageVersions: r.additionalEuiccProfilePackageVersions,
    }),
  };
}

/** GetEUICCChallenge: 16 bytes. */
export async function getEuiccChallenge(ch: StoreDataChannel): Promise<Uint8Array> {
  return (await call(ch, 'GetEUICCChallenge', encodeGetEuiccChallengeRequest(), decodeGetEuiccChallengeResponse)).euiccChallenge;
}

export interface RatRule {
  readonly policyRules: readonly PolicyRule[];
  /** PLMNs (E = wildcard digit) with optional GIDs. */
  readonly allowedOperators: readonly { readonly mcc: string; readonly mnc: string; readonly gid1?: Uint8Array; readonly gid2?: Uint8Array }[];
  readonly consentRequired: boolean;
}

/** GetRAT: the rules authorisation table. */
export async function getRat(ch: StoreDataChannel): Promise<RatRule[]> {
  const r = await call(ch, 'GetRAT', encodeGetRatRequest(), decodeGetRatResponse);
  return r.rat.map((rule) => ({
    policyRules: bitNames(PprIdsBit, rule.pprIds),
    allowedOperators: rule.allowedOperators.map((op) => ({
      ...decodePlmn(op.mccMnc, 'GetRAT'),
      ...(op.gid1 !== undefined && { gid1: op.gid1 }),
      ...(op.gid2 !== undefined && { gid2: op.gid2 }),
    })),
    consentRequired: rule.pprFlags.includes(PprFlagsBit.consentRequired),
  }));
}

// ------------------------------------------------------------------------------------------ notifications

export interface NotificationInfo {
  readonly seqNumber: number;
  /** The one event of the notification ('unknown' when the card sets none or several bits). */
  readonly event: NotificationEventName | 'unknown';
  readonly address: string;
  readonly iccid?: string;
}

function toNotificationInfo(m: RawNotificationMetadata, command: string): NotificationInfo {
  const events = bitNames(NotificationEventBit, m.profileManagementOperation);
  return {
    seqNumber: m.seqNumber,
    event: events.length === 1 ? events[0]! : 'unknown',
    address: m.notificationAddress,
    ...(m.iccid !== undefined && { iccid: iccidString(m.iccid, command) }),
  };
}

/** ListNotification, optionally only those of one event. */
export async function listNotifications(ch: StoreDataChannel, event?: NotificationEventName): Promise<NotificationInfo[]> {
  const C = 'ListNotification';
  const req = encodeListNotificationRequest(event === undefined ? {} : { profileManagementOperation: [eventBit(event)] });
  const r = await call(ch, C, req, decodeListNotificationResponse);
  if (r.kind === 'listNotificationsResultError') {
    throw new Es10ResultError(C, nameOf(ListNotificationsResultErrorValue, r.listNotificationsResultError), r.listNotificationsResultError);
  }
  return r.notificationMetadataList.map((m) => toNotificationInfo(m, C));
}

function eventBit(e: NotificationEventName): number {
  const b = NotificationEventBit[e];
  if (b === undefined) throw new RangeError(`unknown notification event ${String(e)}`);
  return b;
}

export interface PendingNotificationInfo extends NotificationInfo {
  readonly kind: RawPendingNotification['kind'];
  /** The PendingNotification TLV (BF37 or 30) as received: what is sent to the SM-DP+ (ES9+ handleNotification). */
  readonly raw: Uint8Array;
  readonly notification: RawPendingNotification;
}

/** RetrieveNotificationsList: all, one by sequence number, or those of one event. */
export async function retrieveNotifications(
  ch: StoreDataChannel,
  criteria?: { readonly seqNumber: number } | { readonly event: NotificationEventName },
): Promise<PendingNotificationInfo[]> {
  const C = 'RetrieveNotificationsList';
  let req: RetrieveNotificationsListRequest = {};
  if (criteria !== undefined) {
    req =
      'seqNumber' in criteria
        ? { searchCriteria: { kind: 'seqNumber', seqNumber: criteria.seqNumber } }
        : { searchCriteria: { kind: 'profileManagementOperation', profileManagementOperation: [eventBit(criteria.event)] } };
  }
  const response = await ch.storeData(encodeRetrieveNotificationsListRequest(req));
  const r = decodeAs(C, response, decodeRetrieveNotificationsListResponse);
  if (r.kind === 'notificationsListResultError') {
    throw new Es10ResultError(C, nameOf(NotificationsListResultErrorValue, r.notificationsListResultError), r.notificationsListResultError);
  }
  const elements = decodeAs(C, response, (b) => decodeTlv(b).children[0]?.children ?? []);
  return elements.map((e) => {
    const n = decodeAs(C, e.raw, decodePendingNotification);
    return { ...toNotificationInfo(pendingNotificationMetadata(n), C), kind: n.kind, raw: e.raw.slice(), notification: n };
  });
}

/** RemoveNotificationFromList (NotificationSent). */
export async function removeNotification(ch: StoreDataChannel, seqNumber: number): Promise<Es10Outcome<DeleteNotificationStatus>> {
  const r = await call(ch, 'RemoveNotificationFromList', encodeNotificationSentRequest({ seqNumber }), decodeNotificationSentResponse);
  return outcome(DeleteNotificationStatusValue, r.deleteNotificationStatus);
}

// ------------------------------------------------------------------------------------------ download flow

/** A decoded response together with its bytes as received. */
export interface WithRaw<T> {
  readonly response: T;
  readonly raw: Uint8Array;
}

/** AuthenticateServer (the response is signed: forward `raw` to the SM-DP+). */
export async function authenticateServer(ch: StoreDataChannel, req: AuthenticateServerRequest): Promise<WithRaw<AuthenticateServerResponse>> {
  const raw = await ch.storeData(encodeAuthenticateServerRequest(req));
  return { response: decodeAs('AuthenticateServer', raw, decodeAuthenticateServerResponse), raw };
}

/** PrepareDownload. */
export async function prepareDownload(ch: StoreDataChannel, req: PrepareDownloadRequest): Promise<WithRaw<PrepareDownloadResponse>> {
  const raw = await ch.storeData(encodePrepareDownloadRequest(req));
  return { response: decodeAs('PrepareDownload', raw, decodePrepareDownloadResponse), raw };
}

/**
 * One LoadBoundProfilePackage segment (its own STORE DATA sequence). Returns the response bytes: empty
 * for an intermediate segment, the ProfileInstallationResult (BF37) after the last one or on an error.
 */
export async function loadBppSegment(ch: StoreDataChannel, segment: Uint8Array): Promise<Uint8Array> {
  return ch.storeData(segment);
}

/**
 * LoadBoundProfilePackage: every segment of `bpp` (segmentBpp), stopping at the first segment that returns
 * a ProfileInstallationResult. Throws EuiccResponseError when no result comes back.
 */
export async function loadBoundProfilePackage(
  ch: StoreDataChannel,
  bpp: Uint8Array,
  onSegment?: (index: number, count: number) => void,
): Promise<WithRaw<ProfileInstallationResult>> {
  const C = 'LoadBoundProfilePackage';
  let segments: Uint8Array[];
  try {
    segments = segmentBpp(bpp);
  } catch (e) {
    throw new RangeError(`not a BoundProfilePackage: ${(e as Error).message}`, { cause: e });
  }
  for (let i = 0; i < segments.length; i++) {
    const raw = await loadBppSegment(ch, segments[i]!);
    onSegment?.(i, segments.length);
    if (raw.length > 0) return { response: decodeAs(C, raw, decodeProfileInstallationResult), raw };
  }
  throw new EuiccResponseError(C, 'no ProfileInstallationResult after the last segment');
}

/** CancelSession. */
export async function cancelSession(ch: StoreDataChannel, transactionId: Uint8Array, reason: number): Promise<WithRaw<CancelSessionResponse>> {
  const raw = await ch.storeData(encodeCancelSessionRequest({ transactionId, reason }));
  return { response: decodeAs('CancelSession', raw, decodeCancelSessionResponse), raw };
}
