/**
 * Notifications and the Profile Installation Result (SGP.22 RSPDefinitions v2.5):
 *
 *   NotificationMetadata      BF2F { 80 seqNumber, 81 profileManagementOperation, 0C notificationAddress, 5A iccid? }
 *   ListNotification          BF28 { 81 filter? } -> BF28 { A0 { BF2F ... } | 81 listNotificationsResultError }
 *   RetrieveNotificationsList BF2B { A0 { 80 seqNumber | 81 NotificationEvent }? }
 *                          -> BF2B { A0 { PendingNotification ... } | 81 notificationsListResultError }
 *   PendingNotification       BF37 ProfileInstallationResult | 30 OtherSignedNotification
 *   OtherSignedNotification   30 { BF2F tbsOtherNotification, 5F37 euiccNotificationSignature,
 *                                  30 euiccCertificate, 30 eumCertificate }
 *   NotificationSent          BF30 { 80 seqNumber } -> BF30 { 80 deleteNotificationStatus }
 *   ProfileInstallationResult BF37 { BF27 ProfileInstallationResultData, 5F37 euiccSignPIR }
 *   ProfileInstallationResultData BF27 { 80 transactionId, BF2F notificationMetadata, 06 smdpOid,
 *       A2 finalResult { A0 successResult { 4F aid, 04 simaResponse }
 *                      | A1 errorResult { 80 bppCommandId, 81 errorReason, 82 simaResponse? } } }
 *
 * Signed data. euiccSignPIR covers the complete BF27 TLV; euiccNotificationSignature covers the complete
 * BF2F TLV (tbsOtherNotification). Decoders keep the exact received TLV in `raw` (on NotificationMetadata,
 * ProfileInstallationResultData, ProfileInstallationResult, OtherSignedNotification); encoders ignore `raw`.
 * Verify with {@link pirSignedData} / {@link otherNotificationSignedData}, which return the received bytes
 * when there are any and the DER encoding otherwise (what a signer signs).
 *
 * NotificationMetadata.profileManagementOperation must have exactly one bit set (enforced both ways).
 * Certificates are the complete DER of their `30` TLV; signatures the raw r||s content of `5F37`.
 */
import { decodeBitString, decodeOid, decodeUtf8, encodeBitString, encodeInteger, encodeOid, expectLength } from '../der.js';
import { Asn1Error, encodeTlv, type Tlv } from '../tlv.js';
import { anyTlv, asTlv, certificateOf, checkCertificate } from './codec-util.js';
import {
  SeqFields,
  encodeIccidField,
  encodeOctets,
  encodeString,
  iccidOf,
  integerOf,
  singleChild,
  unknownAlternative,
} from './fields.js';
import type { NotificationEvent } from './metadata.js';

export const NOTIFICATIONS_TAGS = {
  notificationMetadata: 0xbf2f,
  seqNumber: 0x80,
  profileManagementOperation: 0x81,
  notificationAddress: 0x0c,
  iccid: 0x5a,
  listNotificationRequest: 0xbf28,
  listNotificationResponse: 0xbf28,
  /** ListNotificationResponse / RetrieveNotificationsListResponse alternatives. */
  notificationMetadataList: 0xa0,
  listNotificationsResultError: 0x81,
  notificationList: 0xa0,
  notificationsListResultError: 0x81,
  retrieveNotificationsListRequest: 0xbf2b,
  retrieveNotificationsListResponse: 0xbf2b,
  searchCriteria: 0xa0,
  otherSignedNotification: 0x30,
  signature: 0x5f37,
  certificate: 0x30,
  notificationSentRequest: 0xbf30,
  notificationSentResponse: 0xbf30,
  deleteNotificationStatus: 0x80,
  profileInstallationResult: 0xbf37,
  profileInstallationResultData: 0xbf27,
  transactionId: 0x80,
  smdpOid: 0x06,
  finalResult: 0xa2,
  successResult: 0xa0,
  errorResult: 0xa1,
  aid: 0x4f,
  simaResponse: 0x04,
  bppCommandId: 0x80,
  errorReason: 0x81,
  errorSimaResponse: 0x82,
} as const;

const T = NOTIFICATIONS_TAGS;

export const ListNotificationsResultErrorValue = { undefinedError: 127 } as const;
export const NotificationsListResultErrorValue = { undefinedError: 127 } as const;
export const DeleteNotificationStatusValue = { ok: 0, nothingToDelete: 1, undefinedError: 127 } as const;
export const BppCommandIdValue = {
  initialiseSecureChannel: 0,
  configureISDP: 1,
  storeMetadata: 2,
  storeMetadata2: 3,
  replaceSessionKeys: 4,
  loadProfileElements: 5,
} as const;
export const ErrorReasonValue = {
  incorrectInputValues: 1,
  invalidSignature: 2,
  invalidTransactionId: 3,
  unsupportedCrtValues: 4,
  unsupportedRemoteOperationType: 5,
  unsupportedProfileClass: 6,
  scp03tStructureError: 7,
  scp03tSecurityError: 8,
  installFailedDueToIccidAlreadyExistsOnEuicc: 9,
  installFailedDueToInsufficientMemoryForProfile: 10,
  installFailedDueToInterruption: 11,
  installFailedDueToPEProcessingError: 12,
  installFailedDueToDataMismatch: 13,
  testProfileInstallFailedDueToInvalidNaaKey: 14,
  pprNotAllowed: 15,
  installFailedDueToUnknownError: 127,
} as const;

// ---------------------------------------------------------------------------------- NotificationMetadata

export interface NotificationMetadata {
  readonly seqNumber: number;
  /** Exactly one bit (see NotificationEventBit in metadata.ts). */
  readonly profileManagementOperation: NotificationEvent;
  readonly notificationAddress: string;
  readonly iccid?: Uint8Array;
  /** The complete BF2F TLV as received (what euiccNotificationSignature covers). */
  readonly raw?: Uint8Array;
}

export function encodeNotificationMetadata(x: NotificationMetadata): Uint8Array {
  const w = 'NotificationMetadata';
  if (x.profileManagementOperation.length !== 1) {
    throw new RangeError(`${w}.profileManagementOperation must have exactly one bit set`);
  }
  const parts = [
    encodeInteger(T.seqNumber, x.seqNumber),
    encodeBitString(T.profileManagementOperation, x.profileManagementOperation),
    encodeString(T.notificationAddress, x.notificationAddress, `${w}.notificationAddress`),
  ];
  if (x.iccid !== undefined) parts.push(encodeIccidField(T.iccid, x.iccid, w));
  return encodeTlv(T.notificationMetadata, parts);
}

export function decodeNotificationMetadata(input: Uint8Array | Tlv): NotificationMetadata {
  const w = 'NotificationMetadata';
  const t = asTlv(input, T.notificationMetadata, w);
  const f = new SeqFields(t, w, [T.seqNumber, T.profileManagementOperation, T.notificationAddress, T.iccid]);
  const seqNumber = integerOf(f.req(T.seqNumber, 'seqNumber'));
  const opT = f.req(T.profileManagementOperation, 'profileManagementOperation');
  const op = decodeBitString(opT);
  if (op.length !== 1) throw new Asn1Error('bad-value', `${w}: exactly one operation bit must be set`, opT.valueOffset);
  const notificationAddress = decodeUtf8(f.req(T.notificationAddress, 'notificationAddress'));
  const iccid = f.opt(T.iccid);
  return {
    seqNumber,
    profileManagementOperation: op,
    notificationAddress,
    ...(iccid && { iccid: iccidOf(iccid, w) }),
    raw: t.raw,
  };
}

// ------------------------------------------------------------------------------------- ListNotification

export interface ListNotificationRequest {
  /** Filter: set bits of NotificationEvent. */
  readonly profileManagementOperation?: NotificationEvent;
}

export type ListNotificationResponse =
  | { readonly kind: 'notificationMetadataList'; readonly notificationMetadataList: readonly NotificationMetadata[] }
  | { readonly kind: 'listNotificationsResultError'; readonly listNotificationsResultError: number };

export function encodeListNotificationRequest(x: ListNotificationRequest): Uint8Array {
  return encodeTlv(
    T.listNotificationRequest,
    x.profileManagementOperation === undefined ? [] : [encodeBitString(T.profileManagementOperation, x.profileManagementOperation)],
  );
}

export function decodeListNotificationRequest(input: Uint8Array | Tlv): ListNotificationRequest {
  const w = 'ListNotificationRequest';
  const t = asTlv(input, T.listNotificationRequest, w);
  const op = new SeqFields(t, w, [T.profileManagementOperation]).opt(T.profileManagementOperation);
  return op ? { profileManagementOperation: decodeBitString(op) } : {};
}

export function encodeListNotificationResponse(x: ListNotificationResponse): Uint8Array {
  switch (x.kind) {
    case 'notificationMetadataList':
      return encodeTlv(
        T.listNotificationResponse,
        encodeTlv(T.notificationMetadataList, x.notificationMetadataList.map(encodeNotificationMetadata)),
      );
    case 'listNotificationsResultError':
      return encodeTlv(T.listNotificationResponse, encodeInteger(T.listNotificationsResultError, x.listNotificationsResultError));
    default:
      throw new RangeError('ListNotificationResponse: unknown kind');
  }
}

export function decodeListNotificationResponse(input: Uint8Array | Tlv): ListNotificationResponse {
  const w = 'ListNotificationResponse';
  const t = asTlv(input, T.listNotificationResponse, w);
  const c = singleChild(t, w);
  if (c.tag === T.notificationMetadataList) {
    return { kind: 'notificationMetadataList', notificationMetadataList: c.children.map((e) => decodeNotificationMetadata(e)) };
  }
  if (c.tag === T.listNotificationsResultError) {
    return { kind: 'listNotificationsResultError', listNotificationsResultError: integerOf(c) };
  }
  throw unknownAlternative(c, w);
}

// ------------------------------------------------------------------------------ ProfileInstallationResult

export interface SuccessResult {
  /** AID of the ISD-P, 5..16 bytes. */
  readonly aid: Uint8Array;
  /** Concatenated SAIP EUICCResponse TLVs. */
  readonly simaResponse: Uint8Array;
}

export interface ErrorResult {
  /** See BppCommandIdValue. */
  readonly bppCommandId: number;
  /** See ErrorReasonValue. */
  readonly errorReason: number;
  readonly simaResponse?: Uint8Array;
}

export type FinalResult =
  | { readonly kind: 'successResult'; readonly successResult: SuccessResult }
  | { readonly kind: 'errorResult'; readonly errorResult: ErrorResult };

export interface ProfileInstallationResultData {
  readonly transactionId: Uint8Array;
  readonly notificationMetadata: NotificationMetadata;
  readonly smdpOid: string;
  readonly finalResult: FinalResult;
  /** The complete BF27 TLV as received (what euiccSignPIR covers). */
  readonly raw?: Uint8Array;
}

export interface ProfileInstallationResult {
  readonly profileInstallationResultData: ProfileInstallationResultData;
  /** r||s of the eUICC's signature over the BF27 TLV. */
  readonly euiccSignPIR: Uint8Array;
  /** The complete BF37 TLV as received. */
  readonly raw?: Uint8Array;
}

function encodeFinalResult(x: FinalResult): Uint8Array {
  const w = 'ProfileInstallationResultData.finalResult';
  switch (x.kind) {
    case 'successResult':
      return encodeTlv(
        T.finalResult,
        encodeTlv(T.successResult, [
          encodeOctets(T.aid, x.successResult.aid, 5, 16, `${w}.aid`),
          encodeOctets(T.simaResponse, x.successResult.simaResponse, 0, Infinity, `${w}.simaResponse`),
        ]),
      );
    case 'errorResult': {
      const e = x.errorResult;
      const parts = [encodeInteger(T.bppCommandId, e.bppCommandId), encodeInteger(T.errorReason, e.errorReason)];
      if (e.simaResponse !== undefined) parts.push(encodeOctets(T.errorSimaResponse, e.simaResponse, 0, Infinity, `${w}.simaResponse`));
      return encodeTlv(T.finalResult, encodeTlv(T.errorResult, parts));
    }
    default:
      throw new RangeError(`${w}: unknown kind`);
  }
}

function decodeFinalResult(t: Tlv): FinalResult {
  const w = 'ProfileInstallationResultData.finalResult';
  const c = singleChild(t, w);
  if (c.tag === T.successResult) {
    const f = new SeqFields(c, `${w}.successResult`, [T.aid, T.simaResponse]);
    return {
      kind: 'successResult',
      successResult: {
        aid: expectLength(f.req(T.aid, 'aid'), 5, 16, `${w}.aid`),
        simaResponse: f.req(T.simaResponse, 'simaResponse').value,
      },
    };
  }
  if (c.tag === T.errorResult) {
    const f = new SeqFields(c, `${w}.errorResult`, [T.bppCommandId, T.errorReason, T.errorSimaResponse]);
    const bppCommandId = integerOf(f.req(T.bppCommandId, 'bppCommandId'));
    const errorReason = integerOf(f.req(T.errorReason, 'errorReason'));
    const sima = f.opt(T.errorSimaResponse);
    return { kind: 'errorResult', errorResult: { bppCommandId, errorReason, ...(sima && { simaResponse: sima.value }) } };
  }
  throw unknownAlternative(c, w);
}

export function encodeProfileInstallationResultData(x: ProfileInstallationResultData): Uint8Array {
  const w = 'ProfileInstallationResultData';
  return encodeTlv(T.profileInstallationResultData, [
    encodeOctets(T.transactionId, x.transactionId, 1, 16, `${w}.transactionId`),
    encodeNotificationMetadata(x.notificationMetadata),
    encodeOid(T.smdpOid, x.smdpOid),
    encodeFinalResult(x.finalResult),
  ]);
}

export function decodeProfileInstallationResultData(input: Uint8Array | Tlv): ProfileInstallationResultData {
  const w = 'ProfileInstallationResultData';
  const t = asTlv(input, T.profileInstallationResultData, w);
  const f = new SeqFields(t, w, [T.transactionId, T.notificationMetadata, T.smdpOid, T.finalResult]);
  return {
    transactionId: expectLength(f.req(T.transactionId, 'transactionId'), 1, 16, `${w}.transactionId`),
    notificationMetadata: decodeNotificationMetadata(f.req(T.notificationMetadata, 'notificationMetadata')),
    smdpOid: decodeOid(f.req(T.smdpOid, 'smdpOid')),
    finalResult: decodeFinalResult(f.req(T.finalResult, 'finalResult')),
    raw: t.raw,
  };
}

export function encodeProfileInstallationResult(x: ProfileInstallationResult): Uint8Array {
  if (!(x.euiccSignPIR instanceof Uint8Array)) throw new RangeError('ProfileInstallationResult.euiccSignPIR must be bytes');
  return encodeTlv(T.profileInstallationResult, [
    encodeProfileInstallationResultData(x.profileInstallationResultData),
    encodeTlv(T.signature, x.euiccSignPIR),
  ]);
}

export function decodeProfileInstallationResult(input: Uint8Array | Tlv): ProfileInstallationResult {
  const w = 'ProfileInstallationResult';
  const t = asTlv(input, T.profileInstallationResult, w);
  const f = new SeqFields(t, w, [T.profileInstallationResultData, T.signature]);
  return {
    profileInstallationResultData: decodeProfileInstallationResultData(f.req(T.profileInstallationResultData, 'profileInstallationResultData')),
    euiccSignPIR: f.req(T.signature, 'euiccSignPIR').value,
    raw: t.raw,
  };
}

/** The bytes euiccSignPIR covers: the BF27 TLV as received, or its DER encoding when built locally. */
export function pirSignedData(pir: ProfileInstallationResult | ProfileInstallationResultData): Uint8Array {
  const data = 'profileInstallationResultData' in pir ? pir.profileInstallationResultData : pir;
  return data.raw ?? encodeProfileInstallationResultData(data);
}

// -------------------------------------------------------------------------------- OtherSignedNotification

export interface OtherSignedNotification {
  /** The signed NotificationMetadata (its `raw` is what the signature covers). */
  readonly tbsOtherNotification: NotificationMetadata;
  /** r||s of the eUICC's signature over the BF2F TLV. */
  readonly euiccNotificationSignature: Uint8Array;
  /** CERT.EUICC, complete DER. */
  readonly euiccCertificate: Uint8Array;
  /** CERT.EUM, complete DER. */
  readonly eumCertificate: Uint8Array;
  /** The complete 30 TLV as received. */
  readonly raw?: Uint8Array;
}

export function encodeOtherSignedNotification(x: OtherSignedNotification): Uint8Array {
  const w = 'OtherSignedNotification';
  if (!(x.euiccNotificationSignature instanceof Uint8Array)) throw new RangeError(`${w}.euiccNotificationSignature must be bytes`);
  return encodeTlv(T.otherSignedNotification, [
    encodeNotificationMetadata(x.tbsOtherNotification),
    encodeTlv(T.signature, x.euiccNotificationSignature),
    checkCertificate(x.euiccCertificate, `${w}.euiccCertificate`),
    checkCertificate(x.eumCertificate, `${w}.eumCertificate`),
  ]);
}

export function decodeOtherSignedNotification(input: Uint8Array | Tlv): OtherSignedNotification {
  const w = 'OtherSignedNotification';
  const t = asTlv(input, T.otherSignedNotification, w);
  // Positional: the two certificates share the tag 30.
  const [md, sig, euicc, eum] = t.children;
  const need = (c: Tlv | undefined, tag: number, field: string): Tlv => {
    if (!c) {
      throw new Asn1Error('missing-element', `${w}: mandatory ${field} missing`, t.valueOffset + t.value.length);
    }
    return asTlv(c, tag, `${w}.${field}`);
  };
  const tbs = need(md, T.notificationMetadata, 'tbsOtherNotification');
  const s = need(sig, T.signature, 'euiccNotificationSignature');
  const c1 = need(euicc, T.certificate, 'euiccCertificate');
  const c2 = need(eum, T.certificate, 'eumCertificate');
  return {
    tbsOtherNotification: decodeNotificationMetadata(tbs),
    euiccNotificationSignature: s.value,
    euiccCertificate: certificateOf(c1, `${w}.euiccCertificate`),
    eumCertificate: certificateOf(c2, `${w}.eumCertificate`),
    raw: t.raw,
  };
}

/** The bytes euiccNotificationSignature covers: the BF2F TLV as received, or its DER encoding. */
export function otherNotificationSignedData(x: OtherSignedNotification | NotificationMetadata): Uint8Array {
  const md = 'tbsOtherNotification' in x ? x.tbsOtherNotification : x;
  return md.raw ?? encodeNotificationMetadata(md);
}

// ------------------------------------------------------------------------------------ PendingNotification

export type PendingNotification =
  | { readonly kind: 'profileInstallationResult'; readonly profileInstallationResult: ProfileInstallationResult }
  | { readonly kind: 'otherSignedNotification'; readonly otherSignedNotification: OtherSignedNotification };

export function encodePendingNotification(x: PendingNotification): Uint8Array {
  switch (x.kind) {
    case 'profileInstallationResult':
      return encodeProfileInstallationResult(x.profileInstallationResult);
    case 'otherSignedNotification':
      return encodeOtherSignedNotification(x.otherSignedNotification);
    default:
      throw new RangeError('PendingNotification: unknown kind');
  }
}

/** A PendingNotification (as sent in ES9+ handleNotification): BF37 or 30. */
export function decodePendingNotification(input: Uint8Array | Tlv): PendingNotification {
  const t = anyTlv(input);
  if (t.tag === T.profileInstallationResult) {
    return { kind: 'profileInstallationResult', profileInstallationResult: decodeProfileInstallationResult(t) };
  }
  if (t.tag === T.otherSignedNotification) {
    return { kind: 'otherSignedNotification', otherSignedNotification: decodeOtherSignedNotification(t) };
  }
  throw unknownAlternative(t, 'PendingNotification');
}

/** The NotificationMetadata of a pending notification (seqNumber, operation, address). */
export function pendingNotificationMetadata(x: PendingNotification): NotificationMetadata {
  return x.kind === 'profileInstallationResult'
    ? x.profileInstallationResult.profileInstallationResultData.notificationMetadata
    : x.otherSignedNotification.tbsOtherNotification;
}

// ----------------------------------------------------------------------------- RetrieveNotificationsList

export type RetrieveNotificationsSearchCriteria =
  | { readonly kind: 'seqNumber'; readonly seqNumber: number }
  | { readonly kind: 'profileManagementOperation'; readonly profileManagementOperation: NotificationEvent };

export interface RetrieveNotificationsListRequest {
  readonly searchCriteria?: RetrieveNotificationsSearchCriteria;
}

export type RetrieveNotificationsListResponse =
  | { readonly kind: 'notificationList'; readonly notificationList: readonly PendingNotification[] }
  | { readonly kind: 'notificationsListResultError'; readonly notificationsListResultError: number };

export function encodeRetrieveNotificationsListRequest(x: RetrieveNotificationsListRequest): Uint8Array {
  const sc = x.searchCriteria;
  if (sc === undefined) return encodeTlv(T.retrieveNotificationsListRequest);
  let inner: Uint8Array;
  if (sc.kind === 'seqNumber') inner = encodeInteger(T.seqNumber, sc.seqNumber);
  else if (sc.kind === 'profileManagementOperation') inner = encodeBitString(T.profileManagementOperation, sc.profileManagementOperation);
  else throw new RangeError('RetrieveNotificationsListRequest.searchCriteria: unknown kind');
  return encodeTlv(T.retrieveNotificationsListRequest, encodeTlv(T.searchCriteria, inner));
}

export function decodeRetrieveNotificationsListRequest(input: Uint8Array | Tlv): RetrieveNotificationsListRequest {
  const w = 'RetrieveNotificationsListRequest';
  const t = asTlv(input, T.retrieveNotificationsListRequest, w);
  const sc = new SeqFields(t, w, [T.searchCriteria]).opt(T.searchCriteria);
  if (!sc) return {};
  const c = singleChild(sc, `${w}.searchCriteria`);
  if (c.tag === T.seqNumber) return { searchCriteria: { kind: 'seqNumber', seqNumber: integerOf(c) } };
  if (c.tag === T.profileManagementOperation) {
    return { searchCriteria: { kind: 'profileManagementOperation', profileManagementOperation: decodeBitString(c) } };
  }
  throw unknownAlternative(c, `${w}.searchCriteria`);
}

export function encodeRetrieveNotificationsListResponse(x: RetrieveNotificationsListResponse): Uint8Array {
  switch (x.kind) {
    case 'notificationList':
      return encodeTlv(T.retrieveNotificationsListResponse, encodeTlv(T.notificationList, x.notificationList.map(encodePendingNotification)));
    case 'notificationsListResultError':
      return encodeTlv(
        T.retrieveNotificationsListResponse,
        encodeInteger(T.notificationsListResultError, x.notificationsListResultError),
      );
    default:
      throw new RangeError('RetrieveNotificationsListResponse: unknown kind');
  }
}

export function decodeRetrieveNotificationsListResponse(input: Uint8Array | Tlv): RetrieveNotificationsListResponse {
  const w = 'RetrieveNotificationsListResponse';
  const t = asTlv(input, T.retrieveNotificationsListResponse, w);
  const c = singleChild(t, w);
  if (c.tag === T.notificationList) {
    return { kind: 'notificationList', notificationList: c.children.map((e) => decodePendingNotification(e)) };
  }
  if (c.tag === T.notificationsListResultError) {
    return { kind: 'notificationsListResultError', notificationsListResultError: integerOf(c) };
  }
  throw unknownAlternative(c, w);
}

// ------------------------------------------------------------------------------------- NotificationSent

export interface NotificationSentRequest {
  readonly seqNumber: number;
}

export interface NotificationSentResponse {
  /** See DeleteNotificationStatusValue. */
  readonly deleteNotificationStatus: number;
}

export function encodeNotificationSentRequest(x: NotificationSentRequest): Uint8Array {
  return encodeTlv(T.notificationSentRequest, encodeInteger(T.seqNumber, x.seqNumber));
}

export function decodeNotificationSentRequest(input: Uint8Array | Tlv): NotificationSentRequest {
  const w = 'NotificationSentRequest';
  const t = asTlv(input, T.notificationSentRequest, w);
  return { seqNumber: integerOf(new SeqFields(t, w, [T.seqNumber]).req(T.seqNumber, 'seqNumber')) };
}

export function encodeNotificationSentResponse(x: NotificationSentResponse): Uint8Array {
  return encodeTlv(T.notificationSentResponse, encodeInteger(T.deleteNotificationStatus, x.deleteNotificationStatus));
}

export function decodeNotificationSentResponse(input: Uint8Array | Tlv): NotificationSentResponse {
  const w = 'NotificationSentResponse';
  const t = asTlv(input, T.notificationSentResponse, w);
  return {
    deleteNotificationStatus: integerOf(
      new SeqFields(t, w, [T.deleteNotificationStatus]).req(T.deleteNotificationStatus, 'deleteNotificationStatus'),
    ),
  };
}

// ----------------------------------------------------------------------------------------------- fuzzing

export const FUZZ_DECODERS_NOTIFICATIONS: ReadonlyArray<{ name: string; decode: (b: Uint8Array) => unknown }> = [
  { name: 'NotificationMetadata', decode: (b) => decodeNotificationMetadata(b) },
  { name: 'ListNotificationRequest', decode: (b) => decodeListNotificationRequest(b) },
  { name: 'ListNotificationResponse', decode: (b) => decodeListNotificationResponse(b) },
  { name: 'RetrieveNotificationsListRequest', decode: (b) => decodeRetrieveNotificationsListRequest(b) },
  { name: 'RetrieveNotificationsListResponse', decode: (b) => decodeRetrieveNotificationsListResponse(b) },
  { name: 'PendingNotification', decode: (b) => decodePendingNotification(b) },
  { name: 'OtherSignedNotification', decode: (b) => decodeOtherSignedNotification(b) },
  { name: 'NotificationSentRequest', decode: (b) => decodeNotificationSentRequest(b) },
  { name: 'NotificationSentResponse', decode: (b) => decodeNotificationSentResponse(b) },
  { name: 'ProfileInstallationResult', decode: (b) => decodeProfileInstallationResult(b) },
  { name: 'ProfileInstallationResultData', decode: (b) => decodeProfileInstallationResultData(b) },
];
