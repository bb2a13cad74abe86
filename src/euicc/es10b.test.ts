/**
 * ES10b download functions through APDUs only (STORE DATA via test/support/card-driver.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeAuthenticateServerResponse,
  decodePrepareDownloadResponse,
  euiccSignature1Input,
  euiccSignature2Input,
  AuthenticateErrorCodeValue as AE,
  DownloadErrorCodeValue as DE,
} from '../asn1/sgp22/authentication.js';
import {
  decodeEUICCInfo1,
  decodeEUICCInfo2,
  decodeGetEuiccChallengeResponse,
  encodeGetEuiccChallengeRequest,
  encodeGetEuiccInfo1Request,
  encodeGetEuiccInfo2Request,
  RspCapability,
} from '../asn1/sgp22/euicc-info.js';
import {
  decodeCancelSessionResponse,
  encodeCancelSessionRequest,
  euiccCancelSessionSignatureInput,
} from '../asn1/sgp22/cancel-session.js';
import { decodeTlv } from '../asn1/tlv.js';
import { buildProfilePackage } from '../asn1/saip.js';
import { ciPkid } from '../crypto/certs.js';
import { verifyRaw, type Curve } from '../crypto/ecdsa.js';
import { createCi, createDpAuth, createDpPb, createDsAuth, type IssuedCertificate } from '../crypto/pki.js';
import { parseCertificate } from '../crypto/x509.js';
import {
  buildAuthenticateServerRequest,
  buildPrepareDownloadRequest,
  computeHashCc,
  makeServerSigned1,
  makeSmdpSigned2,
  verifyAuthenticateServerResponse,
  verifyPrepareDownloadResponse,
} from '../smdp/signing.js';
import { buildBoundProfilePackage } from '../smdp/bpp-builder.js';
import { encodeIccid } from '../util/bcd.js';
import { bytesEqual, fromHex, toHex } from '../util/hex.js';
import { es10 } from '../../test/support/card-driver.js';
import { loadBpp, TEST_SMDP_ADDRESS } from '../../test/support/download.js';
import { SoftEuicc } from './card.js';
import { createIdentity } from './identity.js';
import type { CardConfig } from './types.js';

interface Env {
  card: SoftEuicc;
  ci: IssuedCertificate;
  dpAuth: IssuedCertificate;
  dpPb: IssuedCertificate;
  euiccKey: ReturnType<typeof parseCertificate>;
}

const cards: SoftEuicc[] = [];
afterEach(() => {
  while (cards.length) cards.pop()!.close();
});

function setup(curve: Curve = 'P-256', config: Partial<CardConfig> = {}): Env {
  const { identity, ci } = createIdentity({ curve });
  const card = SoftEuicc.create(':memory:', { identity, config });
  cards.push(card);
  return { card, ci, dpAuth: createDpAuth(ci), dpPb: createDpPb(ci), euiccKey: parseCertificate(identity.euiccCertificate) };
}

function challenge(card: SoftEuicc): Uint8Array {
  return decodeGetEuiccChallengeResponse(es10(card, encodeGetEuiccChallengeRequest())).euiccChallenge;
}

const CTX = {
  kind: 'ctxParamsForCommonAuthentication' as const,
  matchingId: 'MATCHING-ID-1',
  deviceInfo: { tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11), deviceCapabilities: {} },
};

function authRequest(
  env: Env,
  o: { euiccChallenge?: Uint8Array; signer?: IssuedCertificate; cert?: IssuedCertificate; pkid?: Uint8Array } = {},
) {
  const euiccChallenge = o.euiccChallenge ?? challenge(env.card);
  const signer = o.signer ?? env.dpAuth;
  const signed = makeServerSigned1({ euiccChallenge, serverAddress: TEST_SMDP_ADDRESS }, { privateKey: signer.privateKey, cert: signer.certDer });
  const bytes = buildAuthenticateServerRequest(signed, {
    euiccCiPKIdToBeUsed: o.pkid ?? ciPkid(env.ci.certDer),
    serverCertificate: (o.cert ?? env.dpAuth).certDer,
    ctxParams1: CTX,
  });
  return { signed, bytes };
}

function authenticate(env: Env) {
  const { signed, bytes } = authRequest(env);
  const v = verifyAuthenticateServerResponse(es10(env.card, bytes), {
    trustedCis: [env.ci.certDer],
    transactionId: signed.transactionId,
    serverChallenge: signed.serverChallenge,
    checkDates: false,
  });
  return { signed, v };
}

function authErrorCode(card: SoftEuicc, bytes: Uint8Array): number {
  const r = decodeAuthenticateServerResponse(es10(card, bytes));
  if (r.kind !== 'authenticateResponseError') throw new Error('expected an error');
  return r.authenticateErrorCode;
}

describe('GetEUICCChallenge (BF2E)', () => {
  it('returns 16 fresh random bytes each time', () => {
    const env = setup();
    const a = challenge(env.card);
    const b = challenge(env.card);
    expect(a).toHaveLength(16);
    expect(b).toHaveLength(16);
    expect(bytesEqual(a, b)).toBe(false);
  });

  it('a new challenge replaces the old one', () => {
    const env = setup();
    const old = challenge(env.card);
    challenge(env.card);
    const { bytes } = authRequest(env, { euiccChallenge: old });
    expect(authErrorCode(env.card, bytes)).toBe(AE.euiccChallengeMismatch);
  });
});

describe('GetEUICCInfo1 / GetEUICCInfo2', () => {
  it('EUICCInfo1: svn and the CI PKIDs', () => {
    const env = setup();
    const i1 = decodeEUICCInfo1(es10(env.card, encodeGetEuiccInfo1Request()));
    expect(i1.svn).toBe('2.2.2');
    expect(i1.euiccCiPKIdListForVerification.map(toHex)).toEqual([toHex(ciPkid(env.ci.certDer))]);
    expect(i1.euiccCiPKIdListForSigning.map(toHex)).toEqual([toHex(ciPkid(env.ci.certDer))]);
  });

  it('EUICCInfo2: versions, capabilities, free memory (ETSI TS 102 226 TLVs)', () => {
    const env = setup('P-256', { totalMemory: 300_000, testProfileSupport: false });
    const i2 = decodeEUICCInfo2(es10(env.card, encodeGetEuiccInfo2Request()));
    expect(i2.profileVersion).toBe('2.3.1');
    expect(i2.svn).toBe('2.2.2');
    expect(i2.euiccFirmwareVer).toBe(env.card.runtime.firmwareVersion());
    expect(toHex(i2.extCardResource)).toBe('810100' + '820400' + '0493e0' + '83024000');
    expect(i2.rspCapability).toContain(RspCapability.additionalProfile);
    expect(i2.rspCapability).not.toContain(RspCapability.testProfileSupport);
    expect(i2.euiccCiPKIdListForSigning.map(toHex)).toEqual([toHex(ciPkid(env.ci.certDer))]);
    expect(i2.ppVersion).toBe('1.0.0');
    expect(i2.euiccCategory).toBe(2);
  });

  it('EUICCInfo2 reports testProfileSupport when configured', () => {
    const env = setup('P-256', { testProfileSupport: true });
    const i2 = decodeEUICCInfo2(es10(env.card, encodeGetEuiccInfo2Request()));
    expect(i2.rspCapability).toContain(RspCapability.testProfileSupport);
  });
});

describe.each<Curve>(['P-256', 'brainpoolP256r1'])('AuthenticateServer (BF38), %s', (curve) => {
  it('success: euiccSigned1 signed with SK.EUICC, certificates returned, SM-DP+ verification passes', () => {
    const env = setup(curve);
    const { signed, v } = authenticate(env);
    expect(v.eid).toBe(env.card.eid);
    expect(v.euiccSigned1.serverAddress).toBe(TEST_SMDP_ADDRESS);
    expect(bytesEqual(v.euiccSigned1.transactionId, signed.transactionId)).toBe(true);
    expect(v.euiccSigned1.ctxParams1).toMatchObject({ kind: 'ctxParamsForCommonAuthentication', matchingId: 'MATCHING-ID-1' });
    expect(verifyRaw(env.euiccKey.subjectPublicKeyInfo.key!, euiccSignature1Input(v.euiccSigned1), v.euiccSignature1)).toBe(true);
    expect(env.card.runtime.session.auth?.matchingId).toBe('MATCHING-ID-1');
  });
});

describe('AuthenticateServer errors', () => {
  it('invalidCertificate(1): a DPauth from another CI', () => {
    const env = setup();
    const otherCi = createCi();
    const foreign = createDpAuth(otherCi);
    const { bytes } = authRequest(env, { signer: foreign, cert: foreign });
    expect(authErrorCode(env.card, bytes)).toBe(AE.invalidCertificate);
  });

  it('invalidOid(5): a certificate of the wrong role (DPpb as serverCertificate)', () => {
    const env = setup();
    const { bytes } = authRequest(env, { signer: env.dpPb, cert: env.dpPb });
    expect(authErrorCode(env.card, bytes)).toBe(AE.invalidOid);
  });

  it('an SM-DS (DSauth) certificate is accepted', () => {
    const env = setup();
    const ds = createDsAuth(env.ci);
    const { bytes } = authRequest(env, { signer: ds, cert: ds });
    expect(decodeAuthenticateServerResponse(es10(env.card, bytes)).kind).toBe('authenticateResponseOk');
  });

  it('invalidSignature(2): serverSignature1 by another key', () => {
    const env = setup();
    const { bytes } = authRequest(env, { signer: createDpAuth(env.ci), cert: env.dpAuth });
    expect(authErrorCode(env.card, bytes)).toBe(AE.invalidSignature);
  });

  it('euiccChallengeMismatch(6)', () => {
    const env = setup();
    challenge(env.card);
    const { bytes } = authRequest(env, { euiccChallenge: new Uint8Array(16).fill(7) });
    expect(authErrorCode(env.card, bytes)).toBe(AE.euiccChallengeMismatch);
  });

  it('noSessionContext(4): no challenge issued, and the challenge is consumed by a first attempt', () => {
    const env = setup();
    const { bytes } = authRequest(env, { euiccChallenge: new Uint8Array(16).fill(1) });
    expect(authErrorCode(env.card, bytes)).toBe(AE.noSessionContext);
    // a valid request replayed after success: the challenge is gone
    const ok = authRequest(env);
    expect(decodeAuthenticateServerResponse(es10(env.card, ok.bytes)).kind).toBe('authenticateResponseOk');
    expect(authErrorCode(env.card, ok.bytes)).toBe(AE.noSessionContext);
  });

  it('ciPKUnknown(7): euiccCiPKIdToBeUsed not in the signing list', () => {
    const env = setup();
    const { bytes } = authRequest(env, { pkid: new Uint8Array(20).fill(0xab) });
    expect(authErrorCode(env.card, bytes)).toBe(AE.ciPKUnknown);
  });

  it('the error echoes the transactionId', () => {
    const env = setup();
    const { signed, bytes } = authRequest(env, { pkid: new Uint8Array(20) });
    const r = decodeAuthenticateServerResponse(es10(env.card, bytes));
    expect(r.kind === 'authenticateResponseError' && toHex(r.transactionId)).toBe(toHex(signed.transactionId));
  });

  it('a malformed request is answered 6A80', async () => {
    const env = setup();
    const { storeData } = await import('../../test/support/card-driver.js');
    expect(storeData(env.card, fromHex('BF3803800100')).sw).toBe(0x6a80);
  });
});

function prepare(env: Env, o: { cc?: string; signer?: IssuedCertificate; cert?: IssuedCertificate; tId?: Uint8Array; omitHash?: boolean } = {}) {
  const { signed, v } = authenticate(env);
  const tId = o.tId ?? signed.transactionId;
  const signer = o.signer ?? env.dpPb;
  const s2 = makeSmdpSigned2({ transactionId: tId, ccRequiredFlag: o.cc !== undefined }, v.euiccSignature1, {
    privateKey: signer.privateKey,
    cert: signer.certDer,
  });
  const hashCc = o.cc !== undefined && !o.omitHash ? computeHashCc(o.cc, tId) : undefined;
  const bytes = buildPrepareDownloadRequest(s2, { smdpCertificate: (o.cert ?? env.dpPb).certDer, ...(hashCc && { hashCc }) });
  return { signed, v, s2, hashCc, bytes, tId };
}

function downloadErrorCode(card: SoftEuicc, bytes: Uint8Array): number {
  const r = decodePrepareDownloadResponse(es10(card, bytes));
  if (r.kind !== 'downloadResponseError') throw new Error('expected an error');
  return r.downloadErrorCode;
}

describe.each<Curve>(['P-256', 'brainpoolP256r1'])('PrepareDownload (BF21), %s', (curve) => {
  it('success without CC: euiccSigned2 with a one-time key, signed over euiccSigned2 ‖ smdpSignature2 TLV', () => {
    const env = setup(curve);
    const p = prepare(env);
    const raw = es10(env.card, p.bytes);
    const r = decodePrepareDownloadResponse(raw);
    expect(r.kind).toBe('downloadResponseOk');
    if (r.kind !== 'downloadResponseOk') return;
    expect(r.euiccSigned2.euiccOtpk).toHaveLength(65);
    expect(r.euiccSigned2.hashCc).toBeUndefined();
    expect(
      verifyRaw(env.euiccKey.subjectPublicKeyInfo.key!, euiccSignature2Input(r.euiccSigned2, p.s2.smdpSignature2), r.euiccSignature2),
    ).toBe(true);
    const d = env.card.runtime.session.download!;
    expect(d.curve).toBe(curve);
    expect(toHex(d.otPk)).toBe(toHex(r.euiccSigned2.euiccOtpk));
    expect(d.smdpOid).toBe('2.999.10');
  });

  it('success with CC: hashCc copied into euiccSigned2', () => {
    const env = setup(curve);
    const p = prepare(env, { cc: '1234' });
    const v = verifyPrepareDownloadResponse(es10(env.card, p.bytes), {
      transactionId: p.tId,
      smdpSignature2: p.s2.smdpSignature2,
      euiccCertificate: env.euiccKey,
      expectedHashCc: p.hashCc!,
    });
    expect(toHex(v.hashCc!)).toBe(toHex(computeHashCc('1234', p.tId)));
  });
});

describe('PrepareDownload errors', () => {
  it('noSessionContext(4) without AuthenticateServer', () => {
    const env = setup();
    const s2 = makeSmdpSigned2({ transactionId: new Uint8Array(16).fill(3), ccRequiredFlag: false }, new Uint8Array(64).fill(1), {
      privateKey: env.dpPb.privateKey,
      cert: env.dpPb.certDer,
    });
    expect(downloadErrorCode(env.card, buildPrepareDownloadRequest(s2, { smdpCertificate: env.dpPb.certDer }))).toBe(DE.noSessionContext);
  });

  it('invalidTransactionId(5)', () => {
    const env = setup();
    const p = prepare(env, { tId: new Uint8Array(16).fill(9) });
    expect(downloadErrorCode(env.card, p.bytes)).toBe(DE.invalidTransactionId);
  });

  it('invalidCertificate(1): DPpb from another CI, and a DPauth in place of a DPpb', () => {
    const env = setup();
    const foreign = createDpPb(createCi());
    expect(downloadErrorCode(env.card, prepare(env, { signer: foreign, cert: foreign }).bytes)).toBe(DE.invalidCertificate);
    expect(downloadErrorCode(env.card, prepare(env, { signer: env.dpAuth, cert: env.dpAuth }).bytes)).toBe(DE.invalidCertificate);
  });

  it('invalidSignature(2): smdpSignature2 by another key', () => {
    const env = setup();
    const p = prepare(env, { signer: createDpPb(env.ci), cert: env.dpPb });
    expect(downloadErrorCode(env.card, p.bytes)).toBe(DE.invalidSignature);
  });

  it('undefinedError(127): ccRequiredFlag without hashCc (documented decision)', () => {
    const env = setup();
    const p = prepare(env, { cc: '1234', omitHash: true });
    expect(downloadErrorCode(env.card, p.bytes)).toBe(DE.undefinedError);
  });
});

describe('CancelSession (BF41)', () => {
  it('signed response with the SM-DP+ OID; ends the session', () => {
    const env = setup();
    const p = prepare(env);
    es10(env.card, p.bytes);
    const r = decodeCancelSessionResponse(es10(env.card, encodeCancelSessionRequest({ transactionId: p.tId, reason: 0 })));
    expect(r.kind).toBe('cancelSessionResponseOk');
    if (r.kind !== 'cancelSessionResponseOk') return;
    expect(r.euiccCancelSessionSigned.smdpOid).toBe('2.999.10');
    expect(r.euiccCancelSessionSigned.reason).toBe(0);
    expect(toHex(r.euiccCancelSessionSigned.transactionId)).toBe(toHex(p.tId));
    expect(
      verifyRaw(env.euiccKey.subjectPublicKeyInfo.key!, euiccCancelSessionSignatureInput(r.euiccCancelSessionSigned), r.euiccCancelSessionSignature),
    ).toBe(true);
    expect(env.card.runtime.session.auth).toBeUndefined();
    expect(env.card.runtime.session.download).toBeUndefined();
    expect(env.card.runtime.session.retainedOtks.size).toBe(0);
  });

  it('after AuthenticateServer only (OID from CERT.DPauth)', () => {
    const env = setup();
    const { signed } = authenticate(env);
    const r = decodeCancelSessionResponse(es10(env.card, encodeCancelSessionRequest({ transactionId: signed.transactionId, reason: 127 })));
    expect(r.kind === 'cancelSessionResponseOk' && r.euiccCancelSessionSigned.smdpOid).toBe('2.999.10');
  });

  it('invalidTransactionId(5) for another transaction or no session', () => {
    const env = setup();
    const none = decodeCancelSessionResponse(es10(env.card, encodeCancelSessionRequest({ transactionId: Uint8Array.of(1), reason: 0 })));
    expect(none).toEqual({ kind: 'cancelSessionResponseError', cancelSessionResponseError: 5 });
    authenticate(env);
    const other = decodeCancelSessionResponse(es10(env.card, encodeCancelSessionRequest({ transactionId: Uint8Array.of(2), reason: 0 })));
    expect(other).toEqual({ kind: 'cancelSessionResponseError', cancelSessionResponseError: 5 });
    expect(env.card.runtime.session.auth).toBeDefined();
  });

  it('postponed(1) keeps the one-time key; a retry with bppEuiccOtpk reuses it and the BPP bound to it installs', () => {
    const env = setup();
    const p = prepare(env);
    const first = decodePrepareDownloadResponse(es10(env.card, p.bytes));
    if (first.kind !== 'downloadResponseOk') throw new Error('prepare failed');
    const otpk = first.euiccSigned2.euiccOtpk;
    es10(env.card, encodeCancelSessionRequest({ transactionId: p.tId, reason: 1 }));
    expect(env.card.runtime.session.retainedOtks.size).toBe(1);

    // retry: new session, smdpSigned2 names the old key
    const { signed, v } = authenticate(env);
    const s2 = makeSmdpSigned2({ transactionId: signed.transactionId, ccRequiredFlag: false, bppEuiccOtpk: otpk }, v.euiccSignature1, {
      privateKey: env.dpPb.privateKey,
      cert: env.dpPb.certDer,
    });
    const r = decodePrepareDownloadResponse(es10(env.card, buildPrepareDownloadRequest(s2, { smdpCertificate: env.dpPb.certDer })));
    expect(r.kind === 'downloadResponseOk' && toHex(r.euiccSigned2.euiccOtpk)).toBe(toHex(otpk));
    const iccid = '8949449999999990031';
    const bpp = buildBoundProfilePackage({
      transactionId: signed.transactionId,
      euiccOtpk: otpk,
      dpPb: { privateKey: env.dpPb.privateKey },
      eid: env.card.eid,
      upp: buildProfilePackage({ iccid }),
      metadata: { iccid: encodeIccid(iccid), serviceProviderName: 'SP', profileName: 'retry' },
    });
    const { pir } = loadBpp(env.card, bpp);
    expect(toHex(decodeTlv(pir).children[0]!.children.find((c) => c.tag === 0xa2)!.children[0]!.raw.subarray(0, 1))).toBe('a0');
  });

  it('bounded retention of one-time keys', () => {
    const env = setup();
    for (let i = 0; i < 6; i++) {
      const p = prepare(env);
      es10(env.card, p.bytes);
      es10(env.card, encodeCancelSessionRequest({ transactionId: p.tId, reason: 2 }));
    }
    expect(env.card.runtime.session.retainedOtks.size).toBe(4);
  });
});
