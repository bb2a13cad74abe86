/**
 * ES10b CancelSession (RSPDefinitions v2.5).
 *
 *   CancelSessionRequest      BF41 {80 transactionId, 81 reason}
 *   CancelSessionResponse     BF41 {A0 cancelSessionResponseOk {30 euiccCancelSessionSigned, 5F37 signature}
 *                                  | 81 cancelSessionResponseError INTEGER}
 *   EuiccCancelSessionSigned  30 {80 transactionId, 81 smdpOid, 82 reason}
 *
 * Signed data: euiccCancelSessionSignature covers the euiccCancelSessionSigned TLV. The decoder keeps it
 * exactly as received in `raw` (ignored by the encoder); {@link euiccCancelSessionSignatureInput} returns
 * `raw` when present, else a fresh DER encoding.
 */
import { TlvReader, decodeInteger, decodeOid, encodeInteger, encodeOid } from '../der.js';
import { Asn1Error, encodeTlv, tagHex, type Tlv } from '../tlv.js';
import { TAG_SIGNATURE, asTlv, checkSize, endExtensible, signatureTlv, transactionIdOf } from './codec-util.js';

export const CancelSessionTag = {
  CancelSessionRequest: 0xbf41,
  CancelSessionResponse: 0xbf41,
  CancelSessionResponseOk: 0xa0,
  CancelSessionResponseError: 0x81,
  EuiccCancelSessionSigned: 0x30,
  Signature: TAG_SIGNATURE,
} as const;

/** CancelSessionReason values (other values are kept as numbers). */
export const CancelSessionReasonValue = {
  endUserRejection: 0,
  postponed: 1,
  timeout: 2,
  pprNotAllowed: 3,
  metadataMismatch: 4,
  loadBppExecutionError: 5,
  undefinedReason: 127,
} as const;

/** cancelSessionResponseError values. */
export const CancelSessionResponseErrorValue = {
  invalidTransactionId: 5,
  undefinedError: 127,
} as const;

export interface CancelSessionRequest {
  readonly transactionId: Uint8Array;
  /** See {@link CancelSessionReasonValue}. */
  readonly reason: number;
}

export function encodeCancelSessionRequest(x: CancelSessionRequest): Uint8Array {
  return encodeTlv(CancelSessionTag.CancelSessionRequest, [
    encodeTlv(0x80, checkSize(x.transactionId, 1, 16, 'transactionId')),
    encodeInteger(0x81, x.reason),
  ]);
}

export function decodeCancelSessionRequest(input: Uint8Array | Tlv): CancelSessionRequest {
  const t = asTlv(input, CancelSessionTag.CancelSessionRequest, 'CancelSessionRequest');
  const r = new TlvReader(t, 'CancelSessionRequest');
  const transactionId = transactionIdOf(r.req(0x80, 'transactionId'), 'CancelSessionRequest');
  const reason = decodeInteger(r.req(0x81, 'reason'));
  endExtensible(r, [0x80, 0x81]);
  return { transactionId, reason };
}

export interface EuiccCancelSessionSigned {
  readonly transactionId: Uint8Array;
  /** SM-DP+ OID as contained in CERT.DPauth.ECDSA, dotted. */
  readonly smdpOid: string;
  readonly reason: number;
  /** The complete `30` TLV as received (set by the decoder, ignored by the encoder). */
  readonly raw?: Uint8Array;
}

export function encodeEuiccCancelSessionSigned(x: EuiccCancelSessionSigned): Uint8Array {
  return encodeTlv(0x30, [
    encodeTlv(0x80, checkSize(x.transactionId, 1, 16, 'transactionId')),
    encodeOid(0x81, x.smdpOid),
    encodeInteger(0x82, x.reason),
  ]);
}

export function decodeEuiccCancelSessionSigned(input: Uint8Array | Tlv): EuiccCancelSessionSigned {
  const t = asTlv(input, 0x30, 'EuiccCancelSessionSigned');
  const r = new TlvReader(t, 'EuiccCancelSessionSigned');
  const transactionId = transactionIdOf(r.req(0x80, 'transactionId'), 'EuiccCancelSessionSigned');
  const smdpOid = decodeOid(r.req(0x81, 'smdpOid'));
  const reason = decodeInteger(r.req(0x82, 'reason'));
  endExtensible(r, [0x80, 0x81, 0x82]);
  return { transactionId, smdpOid, reason, raw: t.raw };
}

/** Bytes covered by euiccCancelSessionSignature. */
export function euiccCancelSessionSignatureInput(x: EuiccCancelSessionSigned): Uint8Array {
  return x.raw ?? encodeEuiccCancelSessionSigned(x);
}

export type CancelSessionResponse =
  | {
      readonly kind: 'cancelSessionResponseOk';
      readonly euiccCancelSessionSigned: EuiccCancelSessionSigned;
      /** r||s. */
      readonly euiccCancelSessionSignature: Uint8Array;
    }
  | {
      readonly kind: 'cancelSessionResponseError';
      /** See {@link CancelSessionResponseErrorValue}. */
      readonly cancelSessionResponseError: number;
    };

export function encodeCancelSessionResponse(x: CancelSessionResponse): Uint8Array {
  const inner =
    x.kind === 'cancelSessionResponseOk'
      ? encodeTlv(0xa0, [encodeEuiccCancelSessionSigned(x.euiccCancelSessionSigned), signatureTlv(x.euiccCancelSessionSignature)])
      : encodeInteger(0x81, x.cancelSessionResponseError);
  return encodeTlv(CancelSessionTag.CancelSessionResponse, inner);
}

export function decodeCancelSessionResponse(input: Uint8Array | Tlv): CancelSessionResponse {
  const t = asTlv(input, CancelSessionTag.CancelSessionResponse, 'CancelSessionResponse');
  const c = t.children[0];
  if (!c) throw new Asn1Error('missing-element', 'CancelSessionResponse: empty CHOICE', t.valueOffset);
  if (t.children.length > 1) {
    throw new Asn1Error('trailing-bytes', 'CancelSessionResponse: more than one alternative', t.children[1]!.offset);
  }
  if (c.tag === 0x81) return { kind: 'cancelSessionResponseError', cancelSessionResponseError: decodeInteger(c) };
  if (c.tag !== 0xa0) {
    throw new Asn1Error('unexpected-tag', `CancelSessionResponse: unknown alternative ${tagHex(c.tag)}`, c.offset);
  }
  const r = new TlvReader(c, 'CancelSessionResponseOk');
  const euiccCancelSessionSigned = decodeEuiccCancelSessionSigned(r.req(0x30, 'euiccCancelSessionSigned'));
  const euiccCancelSessionSignature = r.req(TAG_SIGNATURE, 'euiccCancelSessionSignature').value;
  endExtensible(r, [0x30, TAG_SIGNATURE]);
  return { kind: 'cancelSessionResponseOk', euiccCancelSessionSigned, euiccCancelSessionSignature };
}

export const FUZZ_DECODERS_CANCEL_SESSION: ReadonlyArray<{ name: string; decode: (b: Uint8Array) => unknown }> = [
  { name: 'CancelSessionRequest', decode: decodeCancelSessionRequest },
  { name: 'EuiccCancelSessionSigned', decode: decodeEuiccCancelSessionSigned },
  { name: 'CancelSessionResponse', decode: decodeCancelSessionResponse },
];
