import { X509Certificate, createPrivateKey, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeWithReference, readRef, readRefText } from '../../../test/support/reference.js';
import { assertDecodersTotal } from '../../../test/support/decoder-fuzz.js';
import { fromHex, toHex } from '../../util/hex.js';
import { Asn1Error, decodeTlv } from '../tlv.js';
import {
  CancelSessionReasonValue,
  CancelSessionResponseErrorValue,
  FUZZ_DECODERS_CANCEL_SESSION,
  decodeCancelSessionRequest,
  decodeCancelSessionResponse,
  decodeEuiccCancelSessionSigned,
  encodeCancelSessionRequest,
  encodeCancelSessionResponse,
  encodeEuiccCancelSessionSigned,
  euiccCancelSessionSignatureInput,
  type CancelSessionResponse,
} from './cancel-session.js';
import { codeOf } from '../../../test/support/asn1-assert.js';

const h = fromHex;
const TID = h('b0de55fbc632475d8a88829ae763a183'); // trace transactionId
// SM-DP+ OID of the SGP.26 DPauth test certificate: subjectAltName registeredID 88 03 88 37 0a = 2.999.10
const SMDP_OID = '2.999.10';


describe('cancel-session', () => {
  it('CancelSessionRequest: tags 80/81 and round trip (unknown reasons kept)', () => {
    const x = { transactionId: TID, reason: CancelSessionReasonValue.postponed };
    const enc = encodeCancelSessionRequest(x);
    expect(toHex(enc)).toBe('bf41158010' + toHex(TID) + '810101');
    expect(decodeCancelSessionRequest(enc)).toEqual(x);
    expect(decodeCancelSessionRequest(encodeCancelSessionRequest({ transactionId: TID, reason: 200 }))).toEqual({ transactionId: TID, reason: 200 });
    expect(codeOf(() => decodeCancelSessionRequest(h('bf410580010181')))).toMatchObject({ code: 'length-past-end' });
    expect(codeOf(() => decodeCancelSessionRequest(h('bf41058000810100')))).toEqual({ code: 'bad-value', offset: 5 });
    expect(codeOf(() => decodeCancelSessionRequest(h('bf4103800101')))).toEqual({ code: 'missing-element', offset: 6 });
  });

  it('EuiccCancelSessionSigned: tags 80/81 (OID)/82, raw kept', () => {
    const x = { transactionId: TID, smdpOid: SMDP_OID, reason: CancelSessionReasonValue.endUserRejection };
    const enc = encodeEuiccCancelSessionSigned(x);
    expect(toHex(enc)).toBe('301a8010' + toHex(TID) + '810388370a' + '820100');
    const dec = decodeEuiccCancelSessionSigned(enc);
    expect(dec).toEqual({ ...x, raw: enc });
    expect(euiccCancelSessionSignatureInput(dec)).toBe(dec.raw);
    expect(codeOf(() => decodeEuiccCancelSessionSigned(h('3009800101810180820100')))).toMatchObject({ code: 'bad-value', offset: 7 });
  });

  it('CancelSessionResponse ok and error', () => {
    const ok: CancelSessionResponse = {
      kind: 'cancelSessionResponseOk',
      euiccCancelSessionSigned: { transactionId: TID, smdpOid: SMDP_OID, reason: CancelSessionReasonValue.timeout },
      euiccCancelSessionSignature: new Uint8Array(64).fill(3),
    };
    const enc = encodeCancelSessionResponse(ok);
    expect(decodeTlv(enc).children.map((c) => c.tag.toString(16))).toEqual(['a0']);
    const dec = decodeCancelSessionResponse(enc);
    if (dec.kind !== 'cancelSessionResponseOk') throw new Error('expected ok');
    expect({ ...dec, euiccCancelSessionSigned: { ...dec.euiccCancelSessionSigned, raw: undefined } }).toEqual({
      ...ok,
      euiccCancelSessionSigned: { ...ok.euiccCancelSessionSigned, raw: undefined },
    });
    const err: CancelSessionResponse = { kind: 'cancelSessionResponseError', cancelSessionResponseError: CancelSessionResponseErrorValue.invalidTransactionId };
    expect(toHex(encodeCancelSessionResponse(err))).toBe('bf4103810105');
    expect(decodeCancelSessionResponse(h('bf4103810105'))).toEqual(err);
    expect(decodeCancelSessionResponse(h('bf410381017f'))).toEqual({ kind: 'cancelSessionResponseError', cancelSessionResponseError: 127 });
    expect(codeOf(() => decodeCancelSessionResponse(h('bf4103820105')))).toEqual({ code: 'unexpected-tag', offset: 3 });
    expect(codeOf(() => decodeCancelSessionResponse(h('bf4100')))).toEqual({ code: 'missing-element', offset: 3 });
    expect(codeOf(() => decodeCancelSessionResponse(h('bf4106810105810105')))).toEqual({ code: 'trailing-bytes', offset: 6 });
  });
});

describeWithReference('cancel-session: signature with the SGP.26 test eUICC key', () => {
  it('signs over the encoded euiccCancelSessionSigned and verifies over the decoded raw', () => {
    const signed = encodeEuiccCancelSessionSigned({ transactionId: TID, smdpOid: SMDP_OID, reason: CancelSessionReasonValue.pprNotAllowed });
    const sk = createPrivateKey(readRefText('sgp26/eUICC/SK_EUICC_ECDSA_NIST.pem'));
    const sig = new Uint8Array(sign('sha256', signed, { key: sk, dsaEncoding: 'ieee-p1363' }));
    const rsp = encodeCancelSessionResponse({
      kind: 'cancelSessionResponseOk',
      euiccCancelSessionSigned: decodeEuiccCancelSessionSigned(signed),
      euiccCancelSessionSignature: sig,
    });
    const dec = decodeCancelSessionResponse(rsp);
    if (dec.kind !== 'cancelSessionResponseOk') throw new Error('expected ok');
    const key = new X509Certificate(readRef('sgp26/eUICC/CERT_EUICC_ECDSA_NIST.der')).publicKey;
    const msg = euiccCancelSessionSignatureInput(dec.euiccCancelSessionSigned);
    expect(toHex(msg)).toBe(toHex(signed));
    expect(verify('sha256', msg, { key, dsaEncoding: 'ieee-p1363' }, dec.euiccCancelSessionSignature)).toBe(true);
    // the smdpOid carried matches the DPauth certificate's registeredID (88 03 88 37 0a in its SAN)
    expect(toHex(readRef('sgp26/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der'))).toContain('8803' + '88370a');
  });
});

describe('cancel-session: fuzz', () => {
  it('every decoder returns or throws Asn1Error', () => {
    const signed = { transactionId: TID, smdpOid: SMDP_OID, reason: 127 };
    const samples = [
      encodeCancelSessionRequest({ transactionId: TID, reason: 0 }),
      encodeEuiccCancelSessionSigned(signed),
      encodeCancelSessionResponse({ kind: 'cancelSessionResponseOk', euiccCancelSessionSigned: signed, euiccCancelSessionSignature: new Uint8Array(64) }),
      encodeCancelSessionResponse({ kind: 'cancelSessionResponseError', cancelSessionResponseError: 5 }),
    ];
    assertDecodersTotal(FUZZ_DECODERS_CANCEL_SESSION, samples, 5000);
  });
});
