/**
 * ES10b AuthenticateServer and PrepareDownload (mutual authentication and download preparation),
 * RSPDefinitions v2.5.
 *
 *   AuthenticateServerRequest  BF38 {30 serverSigned1, 5F37 serverSignature1, 04 euiccCiPKIdToBeUsed,
 *                                    30 serverCertificate, A0 ctxParams1}
 *   ServerSigned1              30 {80 transactionId, 81 euiccChallenge, 83 serverAddress, 84 serverChallenge}
 *   CtxParams1 (CHOICE)        A0 ctxParamsForCommonAuthentication {80 matchingId?, A1 deviceInfo}
 *   AuthenticateServerResponse BF38 {A0 {30 euiccSigned1, 5F37 euiccSignature1, 30 euiccCertificate, 30 eumCertificate}
 *                                   | A1 {80 transactionId, 02 authenticateErrorCode}}
 *   EuiccSigned1               30 {80 transactionId, 83 serverAddress, 84 serverChallenge, BF22 euiccInfo2, A0 ctxParams1}
 *   PrepareDownloadRequest     BF21 {30 smdpSigned2, 5F37 smdpSignature2, 04 hashCc?, 30 smdpCertificate}
 *   SmdpSigned2                30 {80 transactionId, 01 ccRequiredFlag, 5F49 bppEuiccOtpk?}
 *   PrepareDownloadResponse    BF21 {A0 {30 euiccSigned2, 5F37 euiccSignature2} | A1 {80 transactionId, 02 downloadErrorCode}}
 *   EUICCSigned2               30 {80 transactionId, 5F49 euiccOtpk, 04 hashCc?}
 *
 * Signed data convention (SGP22-NOTES §4.2). The decoders of the signed structures (ServerSigned1,
 * EuiccSigned1, SmdpSigned2, EUICCSigned2) set `raw` to the complete TLV exactly as received; encoders ignore
 * `raw`. Signatures are the raw `r||s` content of `5F37`. The `*Input` functions return the exact bytes a
 * signature covers, from `raw` when present (received data) else from a fresh DER encoding (data being
 * built for signing):
 *   serverSignature1 : serverSigned1 TLV
 *   euiccSignature1  : euiccSigned1 TLV
 *   smdpSignature2   : smdpSigned2 TLV ‖ the complete `5F37` TLV of euiccSignature1
 *   euiccSignature2  : euiccSigned2 TLV ‖ the complete `5F37` TLV of smdpSignature2
 * A `5F37` TLV is rebuilt from the signature bytes with {@link signatureTlv}; since signatures are
 * decoded in DER mode only (minimal length), the rebuilt TLV equals the one received.
 */
import { TlvReader, decodeBoolean, decodeInteger, decodeUtf8, encodeBoolean, encodeInteger, encodeUtf8, expectLength } from '../der.js';
import { Asn1Error, encodeTlv, tagHex, type Tlv } from '../tlv.js';
import { concatBytes } from '../../util/hex.js';
import {
  TAG_OTPK,
  TAG_SIGNATURE,
  anyTlv,
  asTlv,
  certificateOf,
  checkCertificate,
  checkSize,
  checkTlv,
  endExtensible,
  signatureTlv,
  transactionIdOf,
} from './codec-util.js';
import { decodeDeviceInfo, decodeEUICCInfo2, encodeDeviceInfo, encodeEUICCInfo2, type DeviceInfo, type EUICCInfo2 } from './euicc-info.js';

export { signatureTlv } from './codec-util.js';

export const AuthenticationTag = {
  AuthenticateServerRequest: 0xbf38,
  AuthenticateServerResponse: 0xbf38,
  PrepareDownloadRequest: 0xbf21,
  PrepareDownloadResponse: 0xbf21,
  ServerSigned1: 0x30,
  EuiccSigned1: 0x30,
  SmdpSigned2: 0x30,
  EUICCSigned2: 0x30,
  CtxParamsForCommonAuthentication: 0xa0,
  AuthenticateResponseOk: 0xa0,
  AuthenticateResponseError: 0xa1,
  PrepareDownloadResponseOk: 0xa0,
  PrepareDownloadResponseError: 0xa1,
  Signature: TAG_SIGNATURE,
  Otpk: TAG_OTPK,
} as const;

/** AuthenticateErrorCode values (other values are kept as numbers: the type is extensible). */
export const AuthenticateErrorCodeValue = {
  invalidCertificate: 1,
  invalidSignature: 2,
  unsupportedCurve: 3,
  noSessionContext: 4,
  invalidOid: 5,
  euiccChallengeMismatch: 6,
  ciPKUnknown: 7,
  undefinedError: 127,
} as const;

/** DownloadErrorCode values (PrepareDownload). */
export const DownloadErrorCodeValue = {
  invalidCertificate: 1,
  invalidSignature: 2,
  unsupportedCurve: 3,
  noSessionContext: 4,
  invalidTransactionId: 5,
  undefinedError: 127,
} as const;

// ------------------------------------------------------------------------------------------ ServerSigned1

export interface ServerSigned1 {
  readonly transactionId: Uint8Array;
  readonly euiccChallenge: Uint8Array;
  readonly serverAddress: string;
  readonly serverChallenge: Uint8Array;
  /** The complete `30` TLV as received (set by the decoder, ignored by the encoder). */
  readonly raw?: Uint8Array;
}

export function encodeServerSigned1(x: ServerSigned1): Uint8Array {
  return encodeTlv(0x30, [
    encodeTlv(0x80, checkSize(x.transactionId, 1, 16, 'transactionId')),
    encodeTlv(0x81, checkSize(x.euiccChallenge, 16, 16, 'euiccChallenge')),
    encodeUtf8(0x83, x.serverAddress),
    encodeTlv(0x84, checkSize(x.serverChallenge, 16, 16, 'serverChallenge')),
  ]);
}

export function decodeServerSigned1(input: Uint8Array | Tlv): ServerSigned1 {
  const t = asTlv(input, 0x30, 'ServerSigned1');
  const r = new TlvReader(t, 'ServerSigned1');
  const transactionId = transactionIdOf(r.req(0x80, 'transactionId'), 'ServerSigned1');
  const euiccChallenge = expectLength(r.req(0x81, 'euiccChallenge'), 16, 16, 'ServerSigned1.euiccChallenge');
  const serverAddress = decodeUtf8(r.req(0x83, 'serverAddress'));
  const serverChallenge = expectLength(r.req(0x84, 'serverChallenge'), 16, 16, 'ServerSigned1.serverChallenge');
  endExtensible(r, [0x80, 0x81, 0x83, 0x84]);
  return { transactionId, euiccChallenge, serverAddress, serverChallenge, raw: t.raw };
}

/** Bytes covered by serverSignature1. */
export function serverSignature1Input(x: ServerSigned1): Uint8Array {
  return x.raw ?? encodeServerSigned1(x);
}

// ------------------------------------------------------------------------------------------ CtxParams1

export type CtxParams1 =
  | {
      readonly kind: 'ctxParamsForCommonAuthentication';
      /** Activation code token, SM-DS eventId, or absent. */
      readonly matchingId?: string;
      readonly deviceInfo: DeviceInfo;
    }
  | {
      /** A later-version alternative (the CHOICE is extensible): kept as its complete TLV. */
      readonly kind: 'unknown';
      readonly tag: number;
      readonly encoded: Uint8Array;
    };

export function encodeCtxParams1(x: CtxParams1): Uint8Array {
  if (x.kind === 'unknown') return checkTlv(x.encoded, x.tag, 'CtxParams1 (unknown alternative)');
  const parts: Uint8Array[] = [];
  if (x.matchingId !== undefined) parts.push(encodeUtf8(0x80, x.matchingId));
  parts.push(encodeDeviceInfo(x.deviceInfo, 0xa1));
  return encodeTlv(0xa0, parts);
}

export function decodeCtxParams1(input: Uint8Array | Tlv): CtxParams1 {
  const t = anyTlv(input);
  if (t.tag === 0xa0) {
    const r = new TlvReader(t, 'CtxParamsForCommonAuthentication');
    const m = r.opt(0x80);
    const deviceInfo = decodeDeviceInfo(r.req(0xa1, 'deviceInfo'), 0xa1);
    endExtensible(r, [0x80, 0xa1]);
    return m
      ? { kind: 'ctxParamsForCommonAuthentication', matchingId: decodeUtf8(m), deviceInfo }
      : { kind: 'ctxParamsForCommonAuthentication', deviceInfo };
  }
  // Extension alternatives of a CHOICE are context-specific ([1], [2], ...).
  if ((t.raw[0]! & 0xc0) !== 0x80) {
    throw new Asn1Error('unexpected-tag', `CtxParams1: unexpected alternative ${tagHex(t.tag)}`, t.offset);
  }
  return { kind: 'unknown', tag: t.tag, encoded: t.raw };
}

// ------------------------------------------------------------------------------------------ AuthenticateServerRequest

export interface AuthenticateServerRequest {
  readonly serverSigned1: ServerSigned1;
  /** r||s. */
  readonly serverSignature1: Uint8Array;
  /** SubjectKeyIdentifier of the CI to use (content of the `04` TLV). */
  readonly euiccCiPKIdToBeUsed: Uint8Array;
  /** CERT.XXauth.ECDSA, complete DER. */
  readonly serverCertificate: Uint8Array;
  readonly ctxParams1: CtxParams1;
}

export function encodeAuthenticateServerRequest(x: AuthenticateServerRequest): Uint8Array {
  return encodeTlv(AuthenticationTag.AuthenticateServerRequest, [
    encodeServerSigned1(x.serverSigned1),
    signatureTlv(x.serverSignature1),
    encodeTlv(0x04, x.euiccCiPKIdToBeUsed),
    checkCertificate(x.serverCertificate, 'serverCertificate'),
    encodeCtxParams1(x.ctxParams1),
  ]);
}

export function decodeAuthenticateServerRequest(input: Uint8Array | Tlv): AuthenticateServerRequest {
  const t = asTlv(input, AuthenticationTag.AuthenticateServerRequest, 'AuthenticateServerRequest');
  const r = new TlvReader(t, 'AuthenticateServerRequest');
  const serverSigned1 = decodeServerSigned1(r.req(0x30, 'serverSigned1'));
  const serverSignature1 = r.req(TAG_SIGNATURE, 'serverSignature1').value;
  const euiccCiPKIdToBeUsed = r.req(0x04, 'euiccCiPKIdToBeUsed').value;
  const serverCertificate = certificateOf(r.req(0x30, 'serverCertificate'), 'serverCertificate');
  const c = r.peek();
  if (!c) throw new Asn1Error('missing-element', 'AuthenticateServerRequest: mandatory ctxParams1 missing', t.valueOffset + t.value.length);
  const ctxParams1 = decodeCtxParams1(c);
  r.rest(); // extension elements after ctxParams1 are skipped
  return { serverSigned1, serverSignature1, euiccCiPKIdToBeUsed, serverCertificate, ctxParams1 };
}

// ------------------------------------------------------------------------------------------ EuiccSigned1

export interface EuiccSigned1 {
  readonly transactionId: Uint8Array;
  readonly serverAddress: string;
  readonly serverChallenge: Uint8Array;
  readonly euiccInfo2: EUICCInfo2;
  readonly ctxParams1: CtxParams1;
  /** The complete `30` TLV as received (set by the decoder, ignored by the encoder). */
  readonly raw?: Uint8Array;
}

export function encodeEuiccSigned1(x: EuiccSigned1): Uint8Array {
  return encodeTlv(0x30, [
    encodeTlv(0x80, checkSize(x.transactionId, 1, 16, 'transactionId')),
    encodeUtf8(0x83, x.serverAddress),
    encodeTlv(0x84, checkSize(x.serverChallenge, 16, 16, 'serverChallenge')),
    encodeEUICCInfo2(x.euiccInfo2),
    encodeCtxParams1(x.ctxParams1),
  ]);
}

export function decodeEuiccSigned1(input: Uint8Array | Tlv): EuiccSigned1 {
  const t = asTlv(input, 0x30, 'EuiccSigned1');
  const r = new TlvReader(t, 'EuiccSigned1');
  const transactionId = transactionIdOf(r.req(0x80, 'transactionId'), 'EuiccSigned1');
  const serverAddress = decodeUtf8(r.req(0x83, 'serverAddress'));
  const serverChallenge = expectLength(r.req(0x84, 'serverChallenge'), 16, 16, 'EuiccSigned1.serverChallenge');
  const euiccInfo2 = decodeEUICCInfo2(r.req(0xbf22, 'euiccInfo2'));
  const c = r.peek();
  if (!c) throw new Asn1Error('missing-element', 'EuiccSigned1: mandatory ctxParams1 missing', t.valueOffset + t.value.length);
  const ctxParams1 = decodeCtxParams1(c);
  r.rest(); // extension elements after ctxParams1 are skipped
  return { transactionId, serverAddress, serverChallenge, euiccInfo2, ctxParams1, raw: t.raw };
}

/** Bytes covered by euiccSignature1. */
export function euiccSignature1Input(x: EuiccSigned1): Uint8Array {
  return x.raw ?? encodeEuiccSigned1(x);
}

// ------------------------------------------------------------------------------------------ AuthenticateServerResponse

export interface AuthenticateResponseOk {
  readonly kind: 'authenticateResponseOk';
  readonly euiccSigned1: EuiccSigned1;
  readonly euiccSignature1: Uint8Array;
  /** CERT.EUICC.ECDSA, complete DER. */
  readonly euiccCertificate: Uint8Array;
  /** CERT.EUM.ECDSA, complete DER. */
  readonly eumCertificate: Uint8Array;
}

export interface AuthenticateResponseError {
  readonly kind: 'authenticateResponseError';
  readonly transactionId: Uint8Array;
  /** See {@link AuthenticateErrorCodeValue}. */
  readonly authenticateErrorCode: number;
}

export type AuthenticateServerResponse = AuthenticateResponseOk | AuthenticateResponseError;

export function encodeAuthenticateServerResponse(x: AuthenticateServerResponse): Uint8Array {
  const inner =
    x.kind === 'authenticateResponseOk'
      ? encodeTlv(0xa0, [
          encodeEuiccSigned1(x.euiccSigned1),
          signatureTlv(x.euiccSignature1),
          checkCertificate(x.euiccCertificate, 'euiccCertificate'),
          checkCertificate(x.eumCertificate, 'eumCertificate'),
        ])
      : encodeTlv(0xa1, [
          encodeTlv(0x80, checkSize(x.transactionId, 1, 16, 'transactionId')),
          encodeInteger(0x02, x.authenticateErrorCode),
        ]);
  return encodeTlv(AuthenticationTag.AuthenticateServerResponse, inner);
}

export function decodeAuthenticateServerResponse(input: Uint8Array | Tlv): AuthenticateServerResponse {
  const t = asTlv(input, AuthenticationTag.AuthenticateServerResponse, 'AuthenticateServerResponse');
  const c = choiceOf(t, 'AuthenticateServerResponse', [0xa0, 0xa1]);
  if (c.tag === 0xa0) {
    const r = new TlvReader(c, 'AuthenticateResponseOk');
    const euiccSigned1 = decodeEuiccSigned1(r.req(0x30, 'euiccSigned1'));
    const euiccSignature1 = r.req(TAG_SIGNATURE, 'euiccSignature1').value;
    const euiccCertificate = certificateOf(r.req(0x30, 'euiccCertificate'), 'euiccCertificate');
    const eumCertificate = certificateOf(r.req(0x30, 'eumCertificate'), 'eumCertificate');
    endExtensible(r, [0x30, TAG_SIGNATURE]);
    return { kind: 'authenticateResponseOk', euiccSigned1, euiccSignature1, euiccCertificate, eumCertificate };
  }
  const r = new TlvReader(c, 'AuthenticateResponseError');
  const transactionId = transactionIdOf(r.req(0x80, 'transactionId'), 'AuthenticateResponseError');
  const authenticateErrorCode = decodeInteger(r.req(0x02, 'authenticateErrorCode'));
  endExtensible(r, [0x80, 0x02]);
  return { kind: 'authenticateResponseError', transactionId, authenticateErrorCode };
}

/**
 * The single alternative inside an explicitly tagged CHOICE (`BF38 {A0 …}`), which must be one of `tags`.
 * An unknown alternative is an error here: the caller could not act on it.
 */
function choiceOf(t: Tlv, what: string, tags: readonly number[]): Tlv {
  const c = t.children[0];
  if (!c) throw new Asn1Error('missing-element', `${what}: empty CHOICE`, t.valueOffset);
  if (!tags.includes(c.tag)) {
    throw new Asn1Error('unexpected-tag', `${what}: unknown alternative ${tagHex(c.tag)}`, c.offset);
  }
  if (t.children.length > 1) {
    throw new Asn1Error('trailing-bytes', `${what}: more than one alternative`, t.children[1]!.offset);
  }
  return c;
}

// ------------------------------------------------------------------------------------------ SmdpSigned2

export interface SmdpSigned2 {
  readonly transactionId: Uint8Array;
  readonly ccRequiredFlag: boolean;
  /** otPK.EUICC.ECKA already used for binding the BPP (retry), 65 bytes `04||X||Y`. */
  readonly bppEuiccOtpk?: Uint8Array;
  /** The complete `30` TLV as received (set by the decoder, ignored by the encoder). */
  readonly raw?: Uint8Array;
}

export function encodeSmdpSigned2(x: SmdpSigned2): Uint8Array {
  const parts = [
    encodeTlv(0x80, checkSize(x.transactionId, 1, 16, 'transactionId')),
    encodeBoolean(0x01, x.ccRequiredFlag),
  ];
  if (x.bppEuiccOtpk !== undefined) parts.push(encodeTlv(TAG_OTPK, x.bppEuiccOtpk));
  return encodeTlv(0x30, parts);
}

export function decodeSmdpSigned2(input: Uint8Array | Tlv): SmdpSigned2 {
  const t = asTlv(input, 0x30, 'SmdpSigned2');
  const r = new TlvReader(t, 'SmdpSigned2');
  const transactionId = transactionIdOf(r.req(0x80, 'transactionId'), 'SmdpSigned2');
  const ccRequiredFlag = decodeBoolean(r.req(0x01, 'ccRequiredFlag'));
  const otpk = r.opt(TAG_OTPK);
  endExtensible(r, [0x80, 0x01, TAG_OTPK]);
  return otpk
    ? { transactionId, ccRequiredFlag, bppEuiccOtpk: otpk.value, raw: t.raw }
    : { transactionId, ccRequiredFlag, raw: t.raw };
}

/** Bytes covered by smdpSignature2: smdpSigned2 TLV ‖ `5F37` TLV of euiccSignature1. */
export function smdpSignature2Input(smdpSigned2: SmdpSigned2, euiccSignature1: Uint8Array): Uint8Array {
  return concatBytes(smdpSigned2.raw ?? encodeSmdpSigned2(smdpSigned2), signatureTlv(euiccSignature1));
}

// ------------------------------------------------------------------------------------------ PrepareDownloadRequest

export interface PrepareDownloadRequest {
  readonly smdpSigned2: SmdpSigned2;
  readonly smdpSignature2: Uint8Array;
  /** SHA-256 of the confirmation code material, 32 bytes. */
  readonly hashCc?: Uint8Array;
  /** CERT.DPpb.ECDSA, complete DER. */
  readonly smdpCertificate: Uint8Array;
}

export function encodePrepareDownloadRequest(x: PrepareDownloadRequest): Uint8Array {
  const parts = [encodeSmdpSigned2(x.smdpSigned2), signatureTlv(x.smdpSignature2)];
  if (x.hashCc !== undefined) parts.push(encodeTlv(0x04, checkSize(x.hashCc, 32, 32, 'hashCc')));
  parts.push(checkCertificate(x.smdpCertificate, 'smdpCertificate'));
  return encodeTlv(AuthenticationTag.PrepareDownloadRequest, parts);
}

export function decodePrepareDownloadRequest(input: Uint8Array | Tlv): PrepareDownloadRequest {
  const t = asTlv(input, AuthenticationTag.PrepareDownloadRequest, 'PrepareDownloadRequest');
  const r = new TlvReader(t, 'PrepareDownloadRequest');
  const smdpSigned2 = decodeSmdpSigned2(r.req(0x30, 'smdpSigned2'));
  const smdpSignature2 = r.req(TAG_SIGNATURE, 'smdpSignature2').value;
  const h = r.opt(0x04);
  const smdpCertificate = certificateOf(r.req(0x30, 'smdpCertificate'), 'smdpCertificate');
  endExtensible(r, [0x30, TAG_SIGNATURE, 0x04]);
  return h
    ? { smdpSigned2, smdpSignature2, hashCc: expectLength(h, 32, 32, 'PrepareDownloadRequest.hashCc'), smdpCertificate }
    : { smdpSigned2, smdpSignature2, smdpCertificate };
}

// ------------------------------------------------------------------------------------------ EUICCSigned2

export interface EUICCSigned2 {
  readonly transactionId: Uint8Array;
  /** otPK.EUICC.ECKA, 65 bytes `04||X||Y`. */
  readonly euiccOtpk: Uint8Array;
  readonly hashCc?: Uint8Array;
  /** The complete `30` TLV as received (set by the decoder, ignored by the encoder). */
  readonly raw?: Uint8Array;
}
/** Alias with the capitalisation of the rest of the API. */
export type EuiccSigned2 = EUICCSigned2;

export function encodeEUICCSigned2(x: EUICCSigned2): Uint8Array {
  const parts = [encodeTlv(0x80, checkSize(x.transactionId, 1, 16, 'transactionId')), encodeTlv(TAG_OTPK, x.euiccOtpk)];
  if (x.hashCc !== undefined) parts.push(encodeTlv(0x04, checkSize(x.hashCc, 32, 32, 'hashCc')));
  return encodeTlv(0x30, parts);
}

export function decodeEUICCSigned2(input: Uint8Array | Tlv): EUICCSigned2 {
  const t = asTlv(input, 0x30, 'EUICCSigned2');
  const r = new TlvReader(t, 'EUICCSigned2');
  const transactionId = transactionIdOf(r.req(0x80, 'transactionId'), 'EUICCSigned2');
  const euiccOtpk = r.req(TAG_OTPK, 'euiccOtpk').value;
  const h = r.opt(0x04);
  endExtensible(r, [0x80, TAG_OTPK, 0x04]);
  return h
    ? { transactionId, euiccOtpk, hashCc: expectLength(h, 32, 32, 'EUICCSigned2.hashCc'), raw: t.raw }
    : { transactionId, euiccOtpk, raw: t.raw };
}

export const encodeEuiccSigned2 = encodeEUICCSigned2;
export const decodeEuiccSigned2 = decodeEUICCSigned2;

/** Bytes covered by euiccSignature2: euiccSigned2 TLV ‖ `5F37` TLV of smdpSignature2. */
export function euiccSignature2Input(euiccSigned2: EUICCSigned2, smdpSignature2: Uint8Array): Uint8Array {
  return concatBytes(euiccSigned2.raw ?? encodeEUICCSigned2(euiccSigned2), signatureTlv(smdpSignature2));
}

// ------------------------------------------------------------------------------------------ PrepareDownloadResponse

export interface PrepareDownloadResponseOk {
  readonly kind: 'downloadResponseOk';
  readonly euiccSigned2: EUICCSigned2;
  readonly euiccSignature2: Uint8Array;
}

export interface PrepareDownloadResponseError {
  readonly kind: 'downloadResponseError';
  readonly transactionId: Uint8Array;
  /** See {@link DownloadErrorCodeValue}. */
  readonly downloadErrorCode: number;
}

export type PrepareDownloadResponse = PrepareDownloadResponseOk | PrepareDownloadResponseError;

export function encodePrepareDownloadResponse(x: PrepareDownloadResponse): Uint8Array {
  const inner =
    x.kind === 'downloadResponseOk'
      ? encodeTlv(0xa0, [encodeEUICCSigned2(x.euiccSigned2), signatureTlv(x.euiccSignature2)])
      : encodeTlv(0xa1, [
          encodeTlv(0x80, checkSize(x.transactionId, 1, 16, 'transactionId')),
          encodeInteger(0x02, x.downloadErrorCode),
        ]);
  return encodeTlv(AuthenticationTag.PrepareDownloadResponse, inner);
}

export function decodePrepareDownloadResponse(input: Uint8Array | Tlv): PrepareDownloadResponse {
  const t = asTlv(input, AuthenticationTag.PrepareDownloadResponse, 'PrepareDownloadResponse');
  const c = choiceOf(t, 'PrepareDownloadResponse', [0xa0, 0xa1]);
  if (c.tag === 0xa0) {
    const r = new TlvReader(c, 'PrepareDownloadResponseOk');
    const euiccSigned2 = decodeEUICCSigned2(r.req(0x30, 'euiccSigned2'));
    const euiccSignature2 = r.req(TAG_SIGNATURE, 'euiccSignature2').value;
    endExtensible(r, [0x30, TAG_SIGNATURE]);
    return { kind: 'downloadResponseOk', euiccSigned2, euiccSignature2 };
  }
  const r = new TlvReader(c, 'PrepareDownloadResponseError');
  const transactionId = transactionIdOf(r.req(0x80, 'transactionId'), 'PrepareDownloadResponseError');
  const downloadErrorCode = decodeInteger(r.req(0x02, 'downloadErrorCode'));
  endExtensible(r, [0x80, 0x02]);
  return { kind: 'downloadResponseError', transactionId, downloadErrorCode };
}

export const FUZZ_DECODERS_AUTHENTICATION: ReadonlyArray<{ name: string; decode: (b: Uint8Array) => unknown }> = [
  { name: 'ServerSigned1', decode: decodeServerSigned1 },
  { name: 'CtxParams1', decode: decodeCtxParams1 },
  { name: 'AuthenticateServerRequest', decode: decodeAuthenticateServerRequest },
  { name: 'EuiccSigned1', decode: decodeEuiccSigned1 },
  { name: 'AuthenticateServerResponse', decode: decodeAuthenticateServerResponse },
  { name: 'SmdpSigned2', decode: decodeSmdpSigned2 },
  { name: 'PrepareDownloadRequest', decode: decodePrepareDownloadRequest },
  { name: 'EUICCSigned2', decode: decodeEUICCSigned2 },
  { name: 'PrepareDownloadResponse', decode: decodePrepareDownloadResponse },
];
