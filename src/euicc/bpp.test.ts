/**
 * LoadBoundProfilePackage through APDUs: the recorded osmo-smdpp BPP (vectors/bpp-decode.json, with the
 * recorded session keys injected by the test-only hook), the TS.48 profiles built into BPPs by
 * src/smdp/bpp-builder.ts, and every error path.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeEUICCSigned2 } from '../asn1/sgp22/authentication.js';
import { segmentBpp } from '../asn1/sgp22/bpp.js';
import { decodeEUICCInfo2, encodeGetEuiccInfo2Request } from '../asn1/sgp22/euicc-info.js';
import { ProfileClassValue, type StoreMetadataRequest } from '../asn1/sgp22/metadata.js';
import {
  decodeListNotificationResponse,
  decodeProfileInstallationResult,
  encodeListNotificationRequest,
  pirSignedData,
  type ProfileInstallationResult,
} from '../asn1/sgp22/notifications.js';
import { decodeProfileInfoListResponse, encodeProfileInfoListRequest } from '../asn1/sgp22/profiles.js';
import { buildProfilePackage, decodeProfilePackage } from '../asn1/saip.js';
import { encodeTlv } from '../asn1/tlv.js';
import { generateKeyPair, privateKeyFromPem, verifyRaw, type Curve } from '../crypto/ecdsa.js';
import { createDpAuth as createDpAuthFor, createDpPb, type IssuedCertificate } from '../crypto/pki.js';
import { generateOneTimeKeyPair } from '../crypto/ecka.js';
import { parseCertificate } from '../crypto/x509.js';
import { buildBoundProfilePackage } from '../smdp/bpp-builder.js';
import { decodeIccid, encodeIccid } from '../util/bcd.js';
import { fromBase64, fromHex, toHex } from '../util/hex.js';
import { es10, storeData } from '../../test/support/card-driver.js';
import { authenticateAndPrepare, downloadToCard, loadBpp, TEST_SMDP_ADDRESS } from '../../test/support/download.js';
import { describeWithReference, readRef, readRefJson, readRefText, refPath } from '../../test/support/reference.js';
import { setTestOnlySessionKeys } from './bpp.js';
import { SoftEuicc } from './card.js';
import { createIdentity, loadIdentityFiles } from './identity.js';
import { setRat } from './rat.js';
import type { CardConfig } from './types.js';

const cards: SoftEuicc[] = [];
afterEach(() => {
  while (cards.length) cards.pop()!.close();
});

interface Env {
  card: SoftEuicc;
  ci: IssuedCertificate;
  dpAuth: IssuedCertificate;
  dpPb: IssuedCertificate;
}

function setup(curve: Curve = 'P-256', config: Partial<CardConfig> = {}): Env {
  const { identity, ci } = createIdentity({ curve });
  const card = SoftEuicc.create(':memory:', { identity, config });
  cards.push(card);
  return { card, ci, dpAuth: createDpAuthFor(ci), dpPb: createDpPb(ci) };
}


function metadataFor(iccid: string, extra: Partial<StoreMetadataRequest> = {}): StoreMetadataRequest {
  return { iccid: encodeIccid(iccid), serviceProviderName: 'esimkit SP', profileName: `profile ${iccid}`, ...extra };
}

function profiles(card: SoftEuicc): string[] {
  const r = decodeProfileInfoListResponse(es10(card, encodeProfileInfoListRequest({})));
  if (r.kind !== 'profileInfoListOk') throw new Error('GetProfilesInfo failed');
  return r.profileInfoListOk.map((p) => decodeIccid(p.iccid!));
}

function pendingPirs(card: SoftEuicc): number[] {
  const r = decodeListNotificationResponse(es10(card, encodeListNotificationRequest({})));
  if (r.kind !== 'notificationMetadataList') throw new Error('ListNotification failed');
  return r.notificationMetadataList.filter((n) => n.profileManagementOperation[0] === 0).map((n) => n.seqNumber);
}

/** Checks the euiccSignPIR with the card's CERT.EUICC key; returns the decoded PIR. */
function checkedPir(card: SoftEuicc, bytes: Uint8Array): ProfileInstallationResult {
  const pir = decodeProfileInstallationResult(bytes);
  const key = parseCertificate(card.runtime.identity.euiccCertificate).subjectPublicKeyInfo.key!;
  expect(verifyRaw(key, pirSignedData(pir), pir.euiccSignPIR)).toBe(true);
  return pir;
}

function errorOf(pir: ProfileInstallationResult): { bppCommandId: number; errorReason: number } {
  const f = pir.profileInstallationResultData.finalResult;
  if (f.kind !== 'errorResult') throw new Error('expected an errorResult');
  return { bppCommandId: f.errorResult.bppCommandId, errorReason: f.errorResult.errorReason };
}

// ------------------------------------------------------------------------------------------ successes

describe.each([
  { curve: 'P-256' as Curve, rsk: false },
  { curve: 'P-256' as Curve, rsk: true },
  { curve: 'brainpoolP256r1' as Curve, rsk: false },
  { curve: 'brainpoolP256r1' as Curve, rsk: true },
])('install of a built profile ($curve, ReplaceSessionKeys $rsk)', ({ curve, rsk }) => {
  it('installs, answers a signed successful PIR, stores the PIR as notification, memory shrinks', () => {
    const env = setup(curve);
    const iccid = '8949449999999990015';
    const upp = buildProfilePackage({ iccid, padToSize: 3000 });
    const free0 = decodeEUICCInfo2(es10(env.card, encodeGetEuiccInfo2Request())).extCardResource;
    const md = metadataFor(iccid);
    const r = downloadToCard(env.card, { upp, metadata: md, ci: env.ci, dpAuth: env.dpAuth, dpPb: env.dpPb, replaceSessionKeys: rsk, matchingId: 'AC-1' });
    const pir = checkedPir(env.card, r.pirBytes);
    const d = pir.profileInstallationResultData;
    expect(d.finalResult.kind).toBe('successResult');
    expect(d.smdpOid).toBe('2.999.10');
    expect(d.notificationMetadata.notificationAddress).toBe(TEST_SMDP_ADDRESS);
    expect(d.notificationMetadata.profileManagementOperation).toEqual([0]);
    expect(toHex(d.notificationMetadata.iccid!)).toBe(toHex(encodeIccid(iccid)));
    expect(toHex(d.transactionId)).toBe(toHex(r.transactionId));
    expect(profiles(env.card)).toEqual([iccid]);
    expect(pendingPirs(env.card)).toEqual([d.notificationMetadata.seqNumber]);
    const stored = env.card.runtime.store.listProfiles();
    expect(stored).toHaveLength(1);
    expect(stored[0]!.state).toBe(0);
    expect(toHex(stored[0]!.upp)).toBe(toHex(upp));
    expect(d.finalResult.kind === 'successResult' && toHex(d.finalResult.successResult.aid)).toBe(toHex(stored[0]!.aid));
    const free1 = decodeEUICCInfo2(es10(env.card, encodeGetEuiccInfo2Request())).extCardResource;
    const freeNv = (x: Uint8Array): number => new DataView(x.buffer, x.byteOffset).getUint32(5);
    expect(freeNv(free0) - freeNv(free1)).toBe(stored[0]!.size);
    expect(env.card.runtime.session.bpp).toBeUndefined();
    expect(env.card.runtime.session.download).toBeUndefined();
  });
});

it('two profiles in a row get different ISD-P AIDs and growing sequence numbers; confirmation code path', () => {
  const env = setup();
  const a = downloadToCard(env.card, { upp: buildProfilePackage({ iccid: '8949449999999990023' }), metadata: metadataFor('8949449999999990023'), ci: env.ci, dpAuth: env.dpAuth, dpPb: env.dpPb });
  const b = downloadToCard(env.card, { upp: buildProfilePackage({ iccid: '8949449999999990031' }), metadata: metadataFor('8949449999999990031'), ci: env.ci, dpAuth: env.dpAuth, dpPb: env.dpPb, cc: '9876' });
  const sa = a.pir.profileInstallationResultData;
  const sb = b.pir.profileInstallationResultData;
  expect(sb.notificationMetadata.seqNumber).toBeGreaterThan(sa.notificationMetadata.seqNumber);
  expect(sa.finalResult.kind === 'successResult' && sb.finalResult.kind === 'successResult').toBe(true);
  if (sa.finalResult.kind === 'successResult' && sb.finalResult.kind === 'successResult') {
    expect(toHex(sa.finalResult.successResult.aid)).not.toBe(toHex(sb.finalResult.successResult.aid));
  }
  expect(profiles(env.card)).toEqual(['8949449999999990023', '8949449999999990031']);
});

it('accepts a BPP sent as one STORE DATA sequence per container with whole A1/A3 (lenient cut)', () => {
  const env = setup();
  const iccid = '8949449999999990049';
  const s = authenticateAndPrepare(env.card, { ci: env.ci, dpAuth: env.dpAuth, dpPb: env.dpPb });
  const bpp = buildBoundProfilePackage({ transactionId: s.transactionId, euiccOtpk: s.euiccOtpk, dpPb: { privateKey: env.dpPb.privateKey }, eid: s.eid, upp: buildProfilePackage({ iccid }), metadata: metadataFor(iccid) });
  const segs = segmentBpp(bpp);
  // merge: [BF36+BF23], [A0], [A1 hdr + all 88], [A3 hdr + all 86]
  const a3 = segs.findIndex((x, i) => i > 2 && x[0] === 0xa3);
  const merged = [segs[0]!, segs[1]!, concat(segs.slice(2, a3)), concat(segs.slice(a3))];
  const { pir } = loadBpp(env.card, bpp, merged);
  expect(checkedPir(env.card, pir).profileInstallationResultData.finalResult.kind).toBe('successResult');
  expect(profiles(env.card)).toEqual([iccid]);
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ------------------------------------------------------------------------------------------ errors

interface ErrorCase {
  name: string;
  config?: Partial<CardConfig>;
  prepareCard?: (env: Env) => void;
  iccid?: string;
  metadata?: (iccid: string) => StoreMetadataRequest;
  upp?: (iccid: string) => Uint8Array;
  /** Change the built BPP / its segments. */
  tamperSegments?: (segs: Uint8Array[]) => Uint8Array[];
  /** Build with other inputs. */
  build?: (env: Env, s: { transactionId: Uint8Array; euiccOtpk: Uint8Array; eid: string }, upp: Uint8Array, md: StoreMetadataRequest) => Uint8Array;
  expected: { bppCommandId: number; errorReason: number };
  /** Profiles installed before (and so after) the failing download. */
  before?: number;
}

const ERROR_CASES: ErrorCase[] = [
  {
    name: 'bad MAC on an 86 segment → loadProfileElements / scp03tSecurityError(8)',
    tamperSegments: (segs) =>
      segs.map((x, i) => {
        if (i !== segs.length - 1 || x[0] !== 0x86) return x;
        const y = new Uint8Array(x);
        y[y.length - 1]! ^= 1;
        return y;
      }),
    expected: { bppCommandId: 5, errorReason: 8 },
  },
  {
    name: 'bad MAC on the 88 segment → storeMetadata / 8',
    tamperSegments: (segs) =>
      segs.map((x) => {
        if (x[0] !== 0x88) return x;
        const y = new Uint8Array(x);
        y[y.length - 3]! ^= 0x40;
        return y;
      }),
    expected: { bppCommandId: 2, errorReason: 8 },
  },
  {
    name: 'ICCID already on the card → storeMetadata / 9',
    prepareCard: (env) => {
      const iccid = '8949449999999990056';
      downloadToCard(env.card, { upp: buildProfilePackage({ iccid }), metadata: metadataFor(iccid), ci: env.ci, dpAuth: env.dpAuth, dpPb: env.dpPb });
    },
    iccid: '8949449999999990056',
    expected: { bppCommandId: 2, errorReason: 9 },
    before: 1,
  },
  {
    name: 'out of memory → loadProfileElements / 10',
    config: { totalMemory: 2500 },
    upp: (iccid) => buildProfilePackage({ iccid, padToSize: 5000 }),
    expected: { bppCommandId: 5, errorReason: 10 },
  },
  {
    name: 'PPR on a test profile → storeMetadata / pprNotAllowed(15)',
    metadata: (iccid) => metadataFor(iccid, { profileClass: ProfileClassValue.test, profilePolicyRules: [2] }),
    expected: { bppCommandId: 2, errorReason: 15 },
  },
  {
    name: 'PPR not allowed by the RAT → storeMetadata / 15',
    prepareCard: (env) => setRat(env.card.runtime.store, []),
    metadata: (iccid) => metadataFor(iccid, { profilePolicyRules: [1], profileOwner: { mccMnc: fromHex('00f110') } }),
    expected: { bppCommandId: 2, errorReason: 15 },
  },
  {
    name: 'test profile without testProfileSupport → storeMetadata / unsupportedProfileClass(6)',
    config: { testProfileSupport: false },
    metadata: (iccid) => metadataFor(iccid, { profileClass: ProfileClassValue.test }),
    expected: { bppCommandId: 2, errorReason: 6 },
  },
  {
    name: 'wrong transactionId in the ISC → initialiseSecureChannel / invalidTransactionId(3)',
    build: (env, s, upp, md) =>
      buildBoundProfilePackage({ transactionId: new Uint8Array(16).fill(0x55), euiccOtpk: s.euiccOtpk, dpPb: { privateKey: env.dpPb.privateKey }, eid: s.eid, upp, metadata: md }),
    expected: { bppCommandId: 0, errorReason: 3 },
  },
  {
    name: 'smdpSign by another key → initialiseSecureChannel / invalidSignature(2)',
    build: (_env, s, upp, md) =>
      buildBoundProfilePackage({ transactionId: s.transactionId, euiccOtpk: s.euiccOtpk, dpPb: { privateKey: generateKeyPair('P-256').privateKey }, eid: s.eid, upp, metadata: md }),
    expected: { bppCommandId: 0, errorReason: 2 },
  },
  {
    name: 'ICCID of the profile differs from StoreMetadata → loadProfileElements / installFailedDueToDataMismatch(13)',
    upp: () => buildProfilePackage({ iccid: '8949449999999990064' }),
    expected: { bppCommandId: 5, errorReason: 13 },
  },
  {
    name: 'profile elements that do not decode → loadProfileElements / installFailedDueToPEProcessingError(12)',
    upp: () => encodeTlv(0x30, new Uint8Array(40)),
    expected: { bppCommandId: 5, errorReason: 12 },
  },
  {
    name: 'segments out of order (A3 before A1) → scp03tStructureError(7)',
    tamperSegments: (segs) => {
      const a1 = segs.findIndex((x) => x[0] === 0xa1);
      return [segs[0]!, segs[1]!, ...segs.slice(a1 + 2)];
    },
    expected: { bppCommandId: 2, errorReason: 7 },
  },
];

describe('LoadBoundProfilePackage errors', () => {
  for (const c of ERROR_CASES) {
    it(c.name, () => {
      const env = setup('P-256', c.config ?? {});
      c.prepareCard?.(env);
      const iccid = c.iccid ?? '8949449999999990072';
      const md = c.metadata ? c.metadata(iccid) : metadataFor(iccid);
      const upp = c.upp ? c.upp(iccid) : buildProfilePackage({ iccid });
      const notesBefore = pendingPirs(env.card).length;
      const s = authenticateAndPrepare(env.card, { ci: env.ci, dpAuth: env.dpAuth, dpPb: env.dpPb });
      const bpp = c.build
        ? c.build(env, s, upp, md)
        : buildBoundProfilePackage({ transactionId: s.transactionId, euiccOtpk: s.euiccOtpk, dpPb: { privateKey: env.dpPb.privateKey }, eid: s.eid, upp, metadata: md });
      const segs = c.tamperSegments ? c.tamperSegments(segmentBpp(bpp)) : segmentBpp(bpp);
      const { pir: bytes, sent } = loadBpp(env.card, bpp, segs);
      const pir = checkedPir(env.card, bytes);
      expect(errorOf(pir)).toEqual(c.expected);
      expect(toHex(pir.profileInstallationResultData.transactionId)).toBe(toHex(s.transactionId));
      expect(pir.profileInstallationResultData.notificationMetadata.notificationAddress).toBe(TEST_SMDP_ADDRESS);
      // nothing of the profile stored; the PIR is pending
      expect(env.card.runtime.store.listProfiles()).toHaveLength(c.before ?? 0);
      const pend = pendingPirs(env.card);
      expect(pend).toHaveLength(notesBefore + 1);
      expect(pend[pend.length - 1]).toBe(pir.profileInstallationResultData.notificationMetadata.seqNumber);
      // the session is over: the remaining segments are refused
      expect(env.card.runtime.session.bpp).toBeUndefined();
      expect(env.card.runtime.session.download).toBeUndefined();
      if (sent < segs.length) expect(storeData(env.card, segs[sent]!).sw).not.toBe(0x9000);
    });
  }

  it('a BPP segment with no BPP loading is refused with a status word', () => {
    const env = setup();
    expect(storeData(env.card, fromHex('A30482020000')).sw).not.toBe(0x9000);
  });

  it('BF36 without PrepareDownload → BF37 invalidTransactionId(3), not stored', () => {
    const env = setup();
    const s = { transactionId: new Uint8Array(16).fill(1), euiccOtpk: generateKeyPairPoint(), eid: env.card.eid };
    const bpp = buildBoundProfilePackage({ ...s, dpPb: { privateKey: env.dpPb.privateKey }, upp: buildProfilePackage({ iccid: '8949449999999990080' }), metadata: metadataFor('8949449999999990080') });
    const bytes = es10(env.card, segmentBpp(bpp)[0]!);
    expect(errorOf(checkedPir(env.card, bytes))).toEqual({ bppCommandId: 0, errorReason: 3 });
    expect(pendingPirs(env.card)).toHaveLength(0);
  });
});

function generateKeyPairPoint(): Uint8Array {
  return generateOneTimeKeyPair('P-256').publicPoint;
}

// ------------------------------------------------------------------------------------------ reference

interface BppCase {
  id: string;
  bppBase64: string;
  sessionKeys: { sEnc: string; sMac: string; initialMcv: string };
  expected: { uppSha256: string; uppLength: number };
  derived: { initialiseSecureChannelRequest: { transactionId: string } };
}
interface SigCase {
  id: string;
  message: string;
}

function sgp26Identity(kind: 'NIST' | 'BRP') {
  return loadIdentityFiles({
    euiccCert: refPath('sgp26', 'eUICC', `CERT_EUICC_ECDSA_${kind}.der`),
    euiccKey: refPath('sgp26', 'eUICC', `SK_EUICC_ECDSA_${kind}.pem`),
    eumCert: refPath('sgp26', 'EUM', `CERT_EUM_ECDSA_${kind}.der`),
    ciCerts: [refPath('sgp26', 'CertificateIssuer', `CERT_CI_ECDSA_${kind}.der`)],
  });
}

describeWithReference('recorded osmo-smdpp BPP (vectors/bpp-decode.json) through APDUs', () => {
  it('installs TS48V2-SAIP2-1-BERTLV-UNIQUE with the recorded session keys, 1036-byte 86 segments included', () => {
    const vec = readRefJson<{ cases: BppCase[] }>('vectors', 'bpp-decode.json').cases.find((c) => c.id === 'osmo-smdpp-recorded-bpp')!;
    const sigs = readRefJson<{ cases: SigCase[] }>('vectors', 'es9p-signatures.json').cases;
    const bpp = fromBase64(vec.bppBase64);
    const segs = segmentBpp(bpp);
    expect(segs.some((x) => x[0] === 0x86 && x.length === 1036)).toBe(true); // osmo-smdpp's oversize segments

    const card = SoftEuicc.create(':memory:', { identity: sgp26Identity('NIST') });
    cards.push(card);
    expect(card.eid).toBe('89049032123451234512345678901235');
    // The session the recorded BPP was bound to: transactionId and otPK.EUICC from the trace (euiccSigned2 is
    // the first TLV of the signed message of euiccSignature2), CERT.DPpb NIST. otSK.EUICC was never published:
    // the recorded session keys are injected instead (test-only hook); smdpSign is verified for real.
    const euiccSigned2 = decodeEUICCSigned2(firstTlv(fromHex(sigs.find((c) => c.id === 'euiccSignature2')!.message)));
    const tId = fromHex(vec.derived.initialiseSecureChannelRequest.transactionId);
    expect(toHex(euiccSigned2.transactionId)).toBe(toHex(tId));
    const dpPb = parseCertificate(readRef('sgp26', 'DPpb', 'CERT_S_SM_DPpb_ECDSA_NIST.der'));
    card.runtime.session.download = {
      transactionId: tId,
      serverAddress: 'testsmdpplus1.example.com',
      dpPbCertificate: dpPb,
      smdpOid: '2.999.10',
      curve: 'P-256',
      otSk: generateKeyPair('P-256').privateKey,
      otPk: euiccSigned2.euiccOtpk,
      ccRequired: false,
    };
    setTestOnlySessionKeys(card.runtime, {
      sEnc: fromHex(vec.sessionKeys.sEnc),
      sMac: fromHex(vec.sessionKeys.sMac),
      initialMcv: fromHex(vec.sessionKeys.initialMcv),
    });
    const { pir, sent } = loadBpp(card, bpp);
    setTestOnlySessionKeys(card.runtime, undefined);
    expect(sent).toBe(segs.length);
    const r = checkedPir(card, pir);
    expect(r.profileInstallationResultData.finalResult.kind).toBe('successResult');
    // ICCID from the ts48 table of reference/README.md
    expect(profiles(card)).toEqual(['8949449999999990049']);
    const stored = card.runtime.store.listProfiles()[0]!;
    expect(createHash('sha256').update(stored.upp).digest('hex')).toBe(vec.expected.uppSha256);
    expect(toHex(stored.upp)).toBe(toHex(readRef('ts48', 'TS48V2-SAIP2-1-BERTLV-UNIQUE.der')));
  });

  it('the recorded BPP is refused when smdpSign does not match the session otPK (invalidSignature)', () => {
    const vec = readRefJson<{ cases: BppCase[] }>('vectors', 'bpp-decode.json').cases.find((c) => c.id === 'osmo-smdpp-recorded-bpp')!;
    const card = SoftEuicc.create(':memory:', { identity: sgp26Identity('NIST') });
    cards.push(card);
    const ot = generateOneTimeKeyPair('P-256');
    card.runtime.session.download = {
      transactionId: fromHex(vec.derived.initialiseSecureChannelRequest.transactionId),
      serverAddress: 'testsmdpplus1.example.com',
      dpPbCertificate: parseCertificate(readRef('sgp26', 'DPpb', 'CERT_S_SM_DPpb_ECDSA_NIST.der')),
      smdpOid: '2.999.10',
      curve: 'P-256',
      otSk: ot.privateKey,
      otPk: ot.publicPoint,
      ccRequired: false,
    };
    const { pir } = loadBpp(card, fromBase64(vec.bppBase64));
    expect(errorOf(checkedPir(card, pir))).toEqual({ bppCommandId: 0, errorReason: 2 });
  });
});

function firstTlv(b: Uint8Array): Uint8Array {
  // 30 81 xx / 30 xx
  const len = b[1]! < 0x80 ? b[1]! + 2 : b[1] === 0x81 ? b[2]! + 3 : ((b[2]! << 8) | b[3]!) + 4;
  return b.subarray(0, len);
}

describeWithReference('TS.48 profiles built into BPPs and installed through APDUs', () => {
  const files = (): string[] => readdirSync(refPath('ts48')).filter((f) => f.endsWith('.der')).sort();
  for (const variant of [
    { name: 'SGP.26 NIST identity + SGP.26 DPauth/DPpb, ReplaceSessionKeys', kind: 'NIST' as const, rsk: true },
    { name: 'SGP.26 brainpool identity + SGP.26 DPauth/DPpb, no ReplaceSessionKeys', kind: 'BRP' as const, rsk: false },
  ]) {
    it(variant.name, () => {
      const card = SoftEuicc.create(':memory:', { identity: sgp26Identity(variant.kind), config: { totalMemory: 1024 * 1024 } });
      cards.push(card);
      const k = variant.kind;
      const ci = { certDer: readRef('sgp26', 'CertificateIssuer', `CERT_CI_ECDSA_${k}.der`) };
      const dpAuth = { certDer: readRef('sgp26', 'DPauth', `CERT_S_SM_DPauth_ECDSA_${k}.der`), privateKey: privateKeyFromPem(readRefText('sgp26', 'DPauth', `SK_S_SM_DPauth_ECDSA_${k}.pem`)) };
      const dpPb = { certDer: readRef('sgp26', 'DPpb', `CERT_S_SM_DPpb_ECDSA_${k}.der`), privateKey: privateKeyFromPem(readRefText('sgp26', 'DPpb', `SK_S_SM_DPpb_ECDSA_${k}.pem`)) };
      const expected: string[] = [];
      for (const f of files()) {
        const upp = readRef('ts48', f);
        const iccid = decodeProfilePackage(upp).header.iccid;
        const r = downloadToCard(card, { upp, metadata: metadataFor(iccid), ci, dpAuth, dpPb, replaceSessionKeys: variant.rsk, matchingId: f });
        expect(checkedPir(card, r.pirBytes).profileInstallationResultData.finalResult.kind, f).toBe('successResult');
        expected.push(iccid);
        expect(profiles(card)).toEqual(expected);
      }
      // ICCIDs of reference/README.md's ts48 table
      expect([...expected].sort()).toEqual(
        ['8949449999999990049', '8949449999999990015', '8949449999999990122', '8949449999999990163', '8949449999999990148', '89000123456789012341'].sort(),
      );
    });
  }
});
