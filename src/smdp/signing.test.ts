/**
 * SM-DP+ signing and verification against the recorded osmo-smdpp download (vectors/es9p-signatures.json,
 * SGP.26 NIST PKI) plus sign-then-verify round trips.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeServerSigned1 } from '../asn1/sgp22/authentication.js';
import { encodeTlv } from '../asn1/tlv.js';
import { verifyRaw, privateKeyFromPem } from '../crypto/ecdsa.js';
import { parseCertificate } from '../crypto/x509.js';
import { createCi, createDpAuth, createDpPb } from '../crypto/pki.js';
import { concatBytes, fromHex, toHex, utf8 } from '../util/hex.js';
import { describeWithReference, readRef, readRefJson, readRefText } from '../../test/support/reference.js';
import {
  SmdpError,
  computeHashCc,
  makeServerSigned1,
  makeSmdpSigned2,
  verifyAuthenticateServerResponse,
  verifyPrepareDownloadResponse,
} from './signing.js';

interface SigCase {
  id: string;
  message: string;
  signatureTlv: string;
  signatureRS: string;
}

function tlvLength(b: Uint8Array): number {
  return b[1]! < 0x80 ? b[1]! + 2 : b[1] === 0x81 ? b[2]! + 3 : ((b[2]! << 8) | b[3]!) + 4;
}

describeWithReference('recorded download (vectors/es9p-signatures.json)', () => {
  const cases = (): Map<string, SigCase> =>
    new Map(readRefJson<{ cases: SigCase[] }>('vectors', 'es9p-signatures.json').cases.map((c) => [c.id, c]));
  const euiccCert = (): Uint8Array => readRef('sgp26', 'eUICC', 'CERT_EUICC_ECDSA_NIST.der');
  const eumCert = (): Uint8Array => readRef('sgp26', 'EUM', 'CERT_EUM_ECDSA_NIST.der');
  const ciCert = (): Uint8Array => readRef('sgp26', 'CertificateIssuer', 'CERT_CI_ECDSA_NIST.der');

  it('verifyAuthenticateServerResponse accepts the recorded euiccSigned1/euiccSignature1 with the SGP.26 chain', () => {
    const c = cases();
    const s1 = decodeServerSigned1(fromHex(c.get('serverSignature1')!.message));
    const e1 = c.get('euiccSignature1')!;
    const resp = encodeTlv(0xbf38, encodeTlv(0xa0, [fromHex(e1.message), fromHex(e1.signatureTlv), euiccCert(), eumCert()]));
    const v = verifyAuthenticateServerResponse(resp, {
      trustedCis: [ciCert()],
      transactionId: s1.transactionId,
      serverChallenge: s1.serverChallenge,
      serverAddress: 'testsmdpplus1.example.com',
      at: new Date('2026-11-27T03:48:00Z'),
    });
    expect(v.eid).toBe('89049032123451234512345678901235');
    expect(toHex(v.euiccSignature1)).toBe(e1.signatureRS);
    // a wrong serverChallenge and a flipped signature are refused
    expect(() =>
      verifyAuthenticateServerResponse(resp, { trustedCis: [ciCert()], transactionId: s1.transactionId, serverChallenge: new Uint8Array(16), checkDates: false }),
    ).toThrow(SmdpError);
    const bad = fromHex(e1.signatureTlv);
    bad[10]! ^= 1;
    const resp2 = encodeTlv(0xbf38, encodeTlv(0xa0, [fromHex(e1.message), bad, euiccCert(), eumCert()]));
    expect(() =>
      verifyAuthenticateServerResponse(resp2, { trustedCis: [ciCert()], transactionId: s1.transactionId, serverChallenge: s1.serverChallenge, checkDates: false }),
    ).toThrow(expect.objectContaining({ code: 'bad-signature' }));
  });

  it('makeSmdpSigned2 signs exactly the recorded bytes (smdpSigned2 ‖ euiccSignature1 TLV)', () => {
    const c = cases();
    const rec = c.get('smdpSignature2')!;
    const e1 = c.get('euiccSignature1')!;
    const dpPbKey = privateKeyFromPem(readRefText('sgp26', 'DPpb', 'SK_S_SM_DPpb_ECDSA_NIST.pem'));
    const dpPbCert = readRef('sgp26', 'DPpb', 'CERT_S_SM_DPpb_ECDSA_NIST.der');
    const s2 = makeSmdpSigned2({ transactionId: fromHex('b0de55fbc632475d8a88829ae763a183'), ccRequiredFlag: false }, fromHex(e1.signatureRS), {
      privateKey: dpPbKey,
      cert: dpPbCert,
    });
    const message = concatBytes(s2.smdpSigned2.raw, fromHex(e1.signatureTlv));
    expect(toHex(message)).toBe(rec.message);
    const key = parseCertificate(dpPbCert).subjectPublicKeyInfo.key!;
    expect(verifyRaw(key, message, s2.smdpSignature2)).toBe(true);
    expect(verifyRaw(key, fromHex(rec.message), fromHex(rec.signatureRS))).toBe(true);
  });

  it('verifyPrepareDownloadResponse accepts the recorded euiccSigned2/euiccSignature2', () => {
    const c = cases();
    const e2 = c.get('euiccSignature2')!;
    const msg = fromHex(e2.message);
    const signed2 = msg.subarray(0, tlvLength(msg));
    const smdpSig2 = c.get('smdpSignature2')!;
    expect(toHex(msg.subarray(signed2.length))).toBe(smdpSig2.signatureTlv);
    const resp = encodeTlv(0xbf21, encodeTlv(0xa0, [signed2, fromHex(e2.signatureTlv)]));
    const v = verifyPrepareDownloadResponse(resp, {
      transactionId: fromHex('b0de55fbc632475d8a88829ae763a183'),
      smdpSignature2: fromHex(smdpSig2.signatureRS),
      euiccCertificate: euiccCert(),
    });
    expect(v.euiccOtpk).toHaveLength(65);
    expect(v.hashCc).toBeUndefined();
    expect(() =>
      verifyPrepareDownloadResponse(resp, { transactionId: fromHex('b0de55fbc632475d8a88829ae763a183'), smdpSignature2: new Uint8Array(64).fill(1), euiccCertificate: euiccCert() }),
    ).toThrow(expect.objectContaining({ code: 'bad-signature' }));
  });
});

describe('round trips', () => {
  it('makeServerSigned1: DER serverSigned1 signed with SK.DPauth', () => {
    const ci = createCi();
    const dpAuth = createDpAuth(ci);
    const ch = new Uint8Array(16).fill(5);
    const s = makeServerSigned1({ euiccChallenge: ch, serverAddress: 'smdp.example.com' }, { privateKey: dpAuth.privateKey, cert: dpAuth.certDer });
    expect(s.transactionId).toHaveLength(16);
    expect(s.serverChallenge).toHaveLength(16);
    const back = decodeServerSigned1(s.serverSigned1.raw);
    expect(back.serverAddress).toBe('smdp.example.com');
    expect(toHex(back.euiccChallenge)).toBe(toHex(ch));
    expect(verifyRaw(dpAuth.cert.subjectPublicKeyInfo.key!, s.serverSigned1.raw, s.serverSignature1)).toBe(true);
  });

  it('an eUICC error response becomes SmdpError euicc-error with the code', () => {
    const resp = encodeTlv(0xbf38, encodeTlv(0xa1, [encodeTlv(0x80, Uint8Array.of(1)), encodeTlv(0x02, Uint8Array.of(6))]));
    expect(() => verifyAuthenticateServerResponse(resp, { trustedCis: [], transactionId: Uint8Array.of(1), serverChallenge: new Uint8Array(16) })).toThrow(
      expect.objectContaining({ code: 'euicc-error', euiccErrorCode: 6 }),
    );
    const pd = encodeTlv(0xbf21, encodeTlv(0xa1, [encodeTlv(0x80, Uint8Array.of(1)), encodeTlv(0x02, Uint8Array.of(5))]));
    expect(() => verifyPrepareDownloadResponse(pd, { transactionId: Uint8Array.of(1), smdpSignature2: new Uint8Array(64), euiccCertificate: createDpPb(createCi()).certDer })).toThrow(
      expect.objectContaining({ code: 'euicc-error', euiccErrorCode: 5 }),
    );
    expect(() => verifyPrepareDownloadResponse(Uint8Array.of(1, 2), { transactionId: Uint8Array.of(1), smdpSignature2: new Uint8Array(64), euiccCertificate: new Uint8Array(0) })).toThrow(
      expect.objectContaining({ code: 'malformed' }),
    );
  });

  it('computeHashCc = SHA256(SHA256(CC) ‖ transactionId) (SGP22-NOTES §4.3)', () => {
    const tId = fromHex('b0de55fbc632475d8a88829ae763a183');
    const inner = createHash('sha256').update(utf8('12345678')).digest();
    const want = createHash('sha256').update(concatBytes(inner, tId)).digest('hex');
    expect(toHex(computeHashCc('12345678', tId))).toBe(want);
  });
});
