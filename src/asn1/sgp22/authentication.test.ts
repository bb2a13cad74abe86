import { X509Certificate, createPrivateKey, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeWithReference, readRef, readRefJson, readRefText } from '../../../test/support/reference.js';
import { traceBlob, traceField } from '../../../test/support/trace.js';
import { assertDecodersTotal } from '../../../test/support/decoder-fuzz.js';
import { bytesEqual, fromHex, toHex } from '../../util/hex.js';
import { Asn1Error, decodeTlv } from '../tlv.js';
import {
  AuthenticateErrorCodeValue,
  DownloadErrorCodeValue,
  FUZZ_DECODERS_AUTHENTICATION,
  decodeAuthenticateServerRequest,
  decodeAuthenticateServerResponse,
  decodeCtxParams1,
  decodeEUICCSigned2,
  decodeEuiccSigned1,
  decodePrepareDownloadRequest,
  decodePrepareDownloadResponse,
  decodeServerSigned1,
  decodeSmdpSigned2,
  encodeAuthenticateServerRequest,
  encodeAuthenticateServerResponse,
  encodeCtxParams1,
  encodeEUICCSigned2,
  encodeEuiccSigned1,
  encodePrepareDownloadRequest,
  encodePrepareDownloadResponse,
  encodeServerSigned1,
  encodeSmdpSigned2,
  euiccSignature1Input,
  euiccSignature2Input,
  serverSignature1Input,
  signatureTlv,
  smdpSignature2Input,
  type AuthenticateServerRequest,
  type AuthenticateServerResponse,
  type CtxParams1,
  type PrepareDownloadRequest,
  type PrepareDownloadResponse,
} from './authentication.js';
import type { EUICCInfo2 } from './euicc-info.js';
import { codeOf } from '../../../test/support/asn1-assert.js';

const h = fromHex;
const TID = h('b0de55fbc632475d8a88829ae763a183'); // trace transactionId B0DE55FB…A183
const PKID = h('f54172bdf98a95d65cbeb88a38a1c11d800a85c3');


/** A syntactically valid stand-in certificate for synthetic round trips (SEQUENCE of one INTEGER). */
const FAKE_CERT = h('3003020101');

const info2: EUICCInfo2 = {
  profileVersion: '2.3.1',
  svn: '2.2.2',
  euiccFirmwareVer: '1.0.0',
  extCardResource: h('810100'),
  uiccCapability: [1, 2, 4],
  rspCapability: [0, 3],
  euiccCiPKIdListForVerification: [PKID],
  euiccCiPKIdListForSigning: [PKID],
  ppVersion: '1.0.0',
  sasAcreditationNumber: 'SAS-1',
};

const ctx: CtxParams1 = {
  kind: 'ctxParamsForCommonAuthentication',
  matchingId: 'ABC-123',
  deviceInfo: { tac: h('35290611'), deviceCapabilities: { eutranEpcSupportedRelease: '15.0.0' }, imei: h('3568460312345678') },
};

function withoutRaw<T>(x: T): T {
  return JSON.parse(
    JSON.stringify(x, (k, v: unknown) => (k === 'raw' ? undefined : v instanceof Uint8Array ? toHex(v) : v)),
  ) as T;
}

describe('authentication: synthetic round trips', () => {
  it('ServerSigned1', () => {
    const x = { transactionId: TID, euiccChallenge: new Uint8Array(16).fill(1), serverAddress: 'smdp.example.com', serverChallenge: new Uint8Array(16).fill(2) };
    const enc = encodeServerSigned1(x);
    const dec = decodeServerSigned1(enc);
    expect(dec).toEqual({ ...x, raw: enc });
    expect(serverSignature1Input(dec)).toBe(dec.raw);
    expect(serverSignature1Input(x)).toEqual(enc);
    expect(() => encodeServerSigned1({ ...x, transactionId: new Uint8Array(17) })).toThrow(RangeError);
  });

  it('CtxParams1: with and without matchingId, unknown alternative kept, universal tag rejected', () => {
    expect(decodeCtxParams1(encodeCtxParams1(ctx))).toEqual(ctx);
    const noId: CtxParams1 = { kind: 'ctxParamsForCommonAuthentication', deviceInfo: { tac: h('01020304'), deviceCapabilities: {} } };
    const enc = encodeCtxParams1(noId);
    expect(toHex(enc)).toBe('a00aa108800401020304a100');
    expect(decodeCtxParams1(enc)).toEqual(noId);
    const other = decodeCtxParams1(h('a1038001ff'));
    expect(other).toEqual({ kind: 'unknown', tag: 0xa1, encoded: h('a1038001ff') });
    expect(encodeCtxParams1(other)).toEqual(h('a1038001ff'));
    expect(codeOf(() => decodeCtxParams1(h('3000')))).toEqual({ code: 'unexpected-tag', offset: 0 });
  });

  it('AuthenticateServerRequest', () => {
    const x: AuthenticateServerRequest = {
      serverSigned1: { transactionId: TID, euiccChallenge: new Uint8Array(16), serverAddress: 'a.example', serverChallenge: new Uint8Array(16).fill(9) },
      serverSignature1: new Uint8Array(64).fill(7),
      euiccCiPKIdToBeUsed: PKID,
      serverCertificate: FAKE_CERT,
      ctxParams1: ctx,
    };
    const enc = encodeAuthenticateServerRequest(x);
    expect(decodeTlv(enc).children.map((c) => c.tag.toString(16))).toEqual(['30', '5f37', '4', '30', 'a0']);
    expect(withoutRaw(decodeAuthenticateServerRequest(enc))).toEqual(withoutRaw(x));
    expect(() => encodeAuthenticateServerRequest({ ...x, serverCertificate: h('0400') })).toThrow(RangeError);
  });

  it('AuthenticateServerResponse ok and error', () => {
    const ok: AuthenticateServerResponse = {
      kind: 'authenticateResponseOk',
      euiccSigned1: { transactionId: TID, serverAddress: 'a.example', serverChallenge: new Uint8Array(16).fill(3), euiccInfo2: info2, ctxParams1: ctx },
      euiccSignature1: new Uint8Array(64).fill(5),
      euiccCertificate: FAKE_CERT,
      eumCertificate: h('3003020102'),
    };
    const enc = encodeAuthenticateServerResponse(ok);
    const dec = decodeAuthenticateServerResponse(enc);
    expect(withoutRaw(dec)).toEqual(withoutRaw(ok));
    expect(dec.kind === 'authenticateResponseOk' && bytesEqual(dec.euiccSigned1.raw!, encodeEuiccSigned1(ok.euiccSigned1))).toBe(true);
    const err: AuthenticateServerResponse = { kind: 'authenticateResponseError', transactionId: TID, authenticateErrorCode: AuthenticateErrorCodeValue.ciPKUnknown };
    const encErr = encodeAuthenticateServerResponse(err);
    expect(toHex(encErr)).toBe('bf3817a1158010' + toHex(TID) + '020107');
    expect(decodeAuthenticateServerResponse(encErr)).toEqual(err);
    // unknown error values are kept
    expect(decodeAuthenticateServerResponse(encodeAuthenticateServerResponse({ ...err, authenticateErrorCode: 99 }))).toEqual({ ...err, authenticateErrorCode: 99 });
    // CHOICE faults
    expect(codeOf(() => decodeAuthenticateServerResponse(h('bf3800')))).toEqual({ code: 'missing-element', offset: 3 });
    expect(codeOf(() => decodeAuthenticateServerResponse(h('bf3802a200')))).toEqual({ code: 'unexpected-tag', offset: 3 });
  });

  it('SmdpSigned2, PrepareDownloadRequest', () => {
    const s2 = { transactionId: TID, ccRequiredFlag: true, bppEuiccOtpk: new Uint8Array(65).fill(4) };
    const enc = encodeSmdpSigned2(s2);
    expect(decodeSmdpSigned2(enc)).toEqual({ ...s2, raw: enc });
    expect(codeOf(() => decodeSmdpSigned2(h('30068001aa010101')))).toEqual({ code: 'bad-value', offset: 7 }); // BOOLEAN 01 is not DER
    const req: PrepareDownloadRequest = { smdpSigned2: s2, smdpSignature2: new Uint8Array(64).fill(1), hashCc: new Uint8Array(32).fill(8), smdpCertificate: FAKE_CERT };
    const encReq = encodePrepareDownloadRequest(req);
    expect(decodeTlv(encReq).children.map((c) => c.tag.toString(16))).toEqual(['30', '5f37', '4', '30']);
    expect(withoutRaw(decodePrepareDownloadRequest(encReq))).toEqual(withoutRaw(req));
    const noCc: PrepareDownloadRequest = { smdpSigned2: { transactionId: TID, ccRequiredFlag: false }, smdpSignature2: new Uint8Array(64), smdpCertificate: FAKE_CERT };
    const decNoCc = decodePrepareDownloadRequest(encodePrepareDownloadRequest(noCc));
    expect(Object.keys(decNoCc)).not.toContain('hashCc');
    expect(withoutRaw(decNoCc)).toEqual(withoutRaw(noCc));
    expect(codeOf(() => decodePrepareDownloadRequest(h('bf2109' + '0402aabb' + toHex(FAKE_CERT))))).toEqual({ code: 'unexpected-tag', offset: 3 });
  });

  it('EUICCSigned2, PrepareDownloadResponse ok and error', () => {
    const s2 = { transactionId: TID, euiccOtpk: new Uint8Array(65).fill(4), hashCc: new Uint8Array(32).fill(6) };
    const ok: PrepareDownloadResponse = { kind: 'downloadResponseOk', euiccSigned2: s2, euiccSignature2: new Uint8Array(64).fill(2) };
    expect(withoutRaw(decodePrepareDownloadResponse(encodePrepareDownloadResponse(ok)))).toEqual(withoutRaw(ok));
    const err: PrepareDownloadResponse = { kind: 'downloadResponseError', transactionId: TID, downloadErrorCode: DownloadErrorCodeValue.invalidTransactionId };
    expect(toHex(encodePrepareDownloadResponse(err))).toBe('bf2117a1158010' + toHex(TID) + '020105');
    expect(decodePrepareDownloadResponse(encodePrepareDownloadResponse(err))).toEqual(err);
    expect(codeOf(() => decodeEUICCSigned2(h('30048002aabb')))).toMatchObject({ code: 'missing-element' });
  });
});

// ------------------------------------------------------------------------------------------ reference

interface SigCase {
  id: string;
  signerCertificate: string;
  message: string;
  signatureTlv: string;
  signatureRS: string;
}

function verifyWith(certPath: string, msg: Uint8Array, sig: Uint8Array): boolean {
  const key = new X509Certificate(readRef(certPath)).publicKey;
  return verify('sha256', msg, { key, dsaEncoding: 'ieee-p1363' }, sig);
}

describeWithReference('authentication: recorded trace samples', () => {
  const cases = (): SigCase[] => readRefJson<{ cases: SigCase[] }>('vectors/es9p-signatures.json').cases;
  const caseOf = (id: string): SigCase => cases().find((c) => c.id === id)!;

  it('serverSigned1 decodes to the known values and re-encodes byte-identically', () => {
    const bytes = traceBlob('serverSigned1');
    const x = decodeServerSigned1(bytes);
    expect(x.transactionId).toEqual(h(traceField('transactionId')));
    expect(toHex(x.euiccChallenge)).toBe(toHex(traceBlob('euiccChallenge')));
    expect(x.serverAddress).toBe('testsmdpplus1.example.com');
    expect(toHex(x.serverChallenge)).toBe('2d1376a5662950e3f540d0c22ce4d555');
    expect(toHex(encodeServerSigned1(x))).toBe(toHex(bytes));
  });

  it('authenticateServerResponse (BF38) decodes and re-encodes byte-identically', () => {
    const bytes = traceBlob('authenticateServerResponse');
    const x = decodeAuthenticateServerResponse(bytes);
    if (x.kind !== 'authenticateResponseOk') throw new Error('expected ok');
    expect(x.euiccSigned1.transactionId).toEqual(TID);
    expect(x.euiccSigned1.serverAddress).toBe('testsmdpplus1.example.com');
    expect(x.euiccSigned1.ctxParams1).toEqual({
      kind: 'ctxParamsForCommonAuthentication',
      matchingId: 'TS48V2-SAIP2-1-BERTLV-UNIQUE',
      deviceInfo: { tac: h('35230145'), deviceCapabilities: {} },
    });
    expect(x.euiccSigned1.euiccInfo2.svn).toBe('2.4.0');
    // The trace carries pySim's copies of the SGP.26 certificates (other serial numbers): compare subjects and keys.
    const spki = (der: Uint8Array): string =>
      toHex(new Uint8Array(new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' })));
    const euicc = new X509Certificate(x.euiccCertificate);
    expect(euicc.subject).toContain('89049032123451234512345678901235');
    expect(spki(x.euiccCertificate)).toBe(spki(readRef('sgp26/eUICC/CERT_EUICC_ECDSA_NIST.der')));
    expect(spki(x.eumCertificate)).toBe(spki(readRef('sgp26/EUM/CERT_EUM_ECDSA_NIST.der')));
    expect(toHex(encodeAuthenticateServerResponse(x))).toBe(toHex(bytes));
    expect(toHex(encodeEuiccSigned1(x.euiccSigned1))).toBe(toHex(x.euiccSigned1.raw!));
    // ctxParams1 alone
    const ctxTlv = decodeTlv(bytes).children[0]!.children[0]!.children[4]!;
    expect(toHex(encodeCtxParams1(decodeCtxParams1(ctxTlv)))).toBe(toHex(ctxTlv.raw));
  });

  it('an AuthenticateServerRequest built from the initiateAuthentication response round-trips', () => {
    const bf38 = decodeTlv(traceBlob('authenticateServerResponse'));
    const ctxTlv = bf38.children[0]!.children[0]!.children[4]!;
    const req: AuthenticateServerRequest = {
      serverSigned1: decodeServerSigned1(traceBlob('serverSigned1')),
      serverSignature1: decodeTlv(traceBlob('serverSignature1')).value,
      euiccCiPKIdToBeUsed: decodeTlv(traceBlob('euiccCiPKIdToBeUsed')).value,
      serverCertificate: traceBlob('serverCertificate'),
      ctxParams1: decodeCtxParams1(ctxTlv),
    };
    const enc = encodeAuthenticateServerRequest(req);
    const dec = decodeAuthenticateServerRequest(enc);
    expect(dec.euiccCiPKIdToBeUsed).toEqual(PKID);
    expect(toHex(dec.serverSigned1.raw!)).toBe(toHex(traceBlob('serverSigned1')));
    expect(toHex(encodeAuthenticateServerRequest(dec))).toBe(toHex(enc));
  });

  it('smdpSigned2 and prepareDownloadResponse (BF21) re-encode byte-identically', () => {
    const s2bytes = traceBlob('smdpSigned2');
    const s2 = decodeSmdpSigned2(s2bytes);
    expect(s2).toEqual({ transactionId: TID, ccRequiredFlag: false, raw: s2bytes });
    expect(toHex(encodeSmdpSigned2(s2))).toBe(toHex(s2bytes));
    const pdr = traceBlob('prepareDownloadResponse');
    const x = decodePrepareDownloadResponse(pdr);
    if (x.kind !== 'downloadResponseOk') throw new Error('expected ok');
    expect(x.euiccSigned2.euiccOtpk.length).toBe(65);
    expect(x.euiccSigned2.hashCc).toBeUndefined();
    expect(toHex(encodePrepareDownloadResponse(x))).toBe(toHex(pdr));
    expect(toHex(encodeEUICCSigned2(x.euiccSigned2))).toBe(toHex(x.euiccSigned2.raw!));
  });

  it('a PrepareDownloadRequest built from the authenticateClient response round-trips', () => {
    const req: PrepareDownloadRequest = {
      smdpSigned2: decodeSmdpSigned2(traceBlob('smdpSigned2')),
      smdpSignature2: decodeTlv(traceBlob('smdpSignature2')).value,
      smdpCertificate: traceBlob('smdpCertificate'),
    };
    const enc = encodePrepareDownloadRequest(req);
    expect(toHex(encodePrepareDownloadRequest(decodePrepareDownloadRequest(enc)))).toBe(toHex(enc));
    expect(toHex(decodePrepareDownloadRequest(enc).smdpCertificate)).toBe(toHex(readRef('sgp26/DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der')));
  });

  it('the four ES9+ signatures validate over the bytes the decoders keep', () => {
    // vectors/es9p-signatures.json names the signer certificates; the messages are rebuilt from decoded data.
    const ss1 = decodeServerSigned1(traceBlob('serverSigned1'));
    const sig1 = decodeTlv(traceBlob('serverSignature1')).value;
    const asr = decodeAuthenticateServerResponse(traceBlob('authenticateServerResponse'));
    if (asr.kind !== 'authenticateResponseOk') throw new Error('expected ok');
    const smdpSigned2 = decodeSmdpSigned2(traceBlob('smdpSigned2'));
    const smdpSignature2 = decodeTlv(traceBlob('smdpSignature2')).value;
    const pdr = decodePrepareDownloadResponse(traceBlob('prepareDownloadResponse'));
    if (pdr.kind !== 'downloadResponseOk') throw new Error('expected ok');

    const checks: Array<[string, Uint8Array, Uint8Array]> = [
      ['serverSignature1', serverSignature1Input(ss1), sig1],
      ['euiccSignature1', euiccSignature1Input(asr.euiccSigned1), asr.euiccSignature1],
      ['smdpSignature2', smdpSignature2Input(smdpSigned2, asr.euiccSignature1), smdpSignature2],
      ['euiccSignature2', euiccSignature2Input(pdr.euiccSigned2, smdpSignature2), pdr.euiccSignature2],
    ];
    for (const [id, msg, sig] of checks) {
      const c = caseOf(id);
      expect(toHex(msg), id).toBe(c.message);
      expect(toHex(sig), id).toBe(c.signatureRS);
      expect(toHex(signatureTlv(sig)), id).toBe(c.signatureTlv);
      expect(verifyWith(c.signerCertificate, msg, sig), id).toBe(true);
      const tampered = Uint8Array.from(msg);
      tampered[tampered.length - 1]! ^= 1;
      expect(verifyWith(c.signerCertificate, tampered, sig), `${id} tampered`).toBe(false);
    }
    // the euiccCertificate carried in the BF38 is the signer of euiccSignature1
    const key = new X509Certificate(asr.euiccCertificate).publicKey;
    expect(verify('sha256', euiccSignature1Input(asr.euiccSigned1), { key, dsaEncoding: 'ieee-p1363' }, asr.euiccSignature1)).toBe(true);
  });

  it('a signature made over a fresh encoding verifies with the test eUICC key (sign side)', () => {
    const asr = decodeAuthenticateServerResponse(traceBlob('authenticateServerResponse'));
    if (asr.kind !== 'authenticateResponseOk') throw new Error('expected ok');
    const { raw: _raw, ...fields } = asr.euiccSigned1;
    const msg = euiccSignature1Input(fields);
    expect(toHex(msg)).toBe(toHex(asr.euiccSigned1.raw!));
    const sk = createPrivateKey(readRefText('sgp26/eUICC/SK_EUICC_ECDSA_NIST.pem'));
    const sig = new Uint8Array(sign('sha256', msg, { key: sk, dsaEncoding: 'ieee-p1363' }));
    expect(sig.length).toBe(64);
    expect(verifyWith('sgp26/eUICC/CERT_EUICC_ECDSA_NIST.der', msg, sig)).toBe(true);
  });
});

describeWithReference('authentication: fuzz', () => {
  it('every decoder returns or throws Asn1Error', () => {
    const bf38 = traceBlob('authenticateServerResponse');
    const t = decodeTlv(bf38);
    const samples = [
      traceBlob('serverSigned1'),
      traceBlob('smdpSigned2'),
      traceBlob('prepareDownloadResponse'),
      t.children[0]!.children[0]!.raw, // euiccSigned1
      t.children[0]!.children[0]!.children[4]!.raw, // ctxParams1
      bf38.subarray(0, 400), // truncated BF38 (keeps the mutations cheap)
      encodeAuthenticateServerRequest({
        serverSigned1: decodeServerSigned1(traceBlob('serverSigned1')),
        serverSignature1: new Uint8Array(64),
        euiccCiPKIdToBeUsed: PKID,
        serverCertificate: FAKE_CERT,
        ctxParams1: ctx,
      }),
      encodePrepareDownloadRequest({ smdpSigned2: { transactionId: TID, ccRequiredFlag: true }, smdpSignature2: new Uint8Array(64), hashCc: new Uint8Array(32), smdpCertificate: FAKE_CERT }),
      encodeAuthenticateServerResponse({ kind: 'authenticateResponseError', transactionId: TID, authenticateErrorCode: 127 }),
      encodePrepareDownloadResponse({ kind: 'downloadResponseError', transactionId: TID, downloadErrorCode: 127 }),
    ];
    assertDecodersTotal(FUZZ_DECODERS_AUTHENTICATION, samples, 4000);
    // the whole BF38 too, fewer runs
    assertDecodersTotal(FUZZ_DECODERS_AUTHENTICATION, [bf38], 1000);
  });
});
