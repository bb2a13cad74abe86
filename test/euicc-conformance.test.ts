/**
 * Conformance of the software eUICC against issue 3, through APDUs only (the card is driven with
 * test/support/card-driver.ts and test/support/download.ts; the store is only READ for assertions).
 *
 * ES10 function → every result value it can return → the test that proves it (through APDUs).
 * "here" = this file; other files are named. "—" rows are results the card never produces, and why.
 *
 * | Function (tag)                    | Result                                   | Test |
 * |-----------------------------------|------------------------------------------|------|
 * | GetEuiccConfiguredAddresses BF3C  | ok (80 default SM-DP+?, 81 root SM-DS)   | es10a.test: "reports the default SM-DP+ (80) and the root SM-DS (81), exact bytes"; "omits 80 …" |
 * | SetDefaultDpAddress BF3F          | ok(0)                                    | es10a.test: "ok(0): sets and replaces the default address; it survives reopening" |
 * |                                   | undefinedError(127)                      | es10a.test: "undefinedError(127) for an address with blanks/control characters or over 255 bytes; nothing changes" |
 * | GetEUICCChallenge BF2E            | ok (16 random bytes)                     | es10b.test: "returns 16 fresh random bytes each time" |
 * | GetEUICCInfo1 BF20                | ok                                       | es10b.test: "EUICCInfo1: svn and the CI PKIDs"; here: "SGP.26 identity (…)" |
 * | (OS update, proprietary INS EC-EF)| progress, bad signature 6982, downgrade 6985, version change | osu.test: "OS update through the card (APDUs only)"; here: "OS-update commands need ISD-R selected …" |
 * | GetEUICCInfo2 BF22                | ok, free NV memory shrinks per install   | here: "EUICCInfo2 free NV memory shrinks by the profile's size per download and grows back on delete" |
 * |                                   | euiccFirmwareVer follows an OS update    | osu.test: "a good update changes euiccFirmwareVer (BF22 tag 83); bad signature and downgrade are refused" |
 * | AuthenticateServer BF38           | ok (signed euiccSigned1 + certificates)  | es10b.test: "success: euiccSigned1 signed with SK.EUICC …"; here: "SGP.26 identity (…)" |
 * |                                   | invalidCertificate(1)                    | es10b.test: "invalidCertificate(1): a DPauth from another CI"; here: "LoadCRL: a revoked CERT.DPauth …" |
 * |                                   | invalidSignature(2)                      | es10b.test: "invalidSignature(2): serverSignature1 by another key" |
 * |                                   | unsupportedCurve(3)                      | here: "AuthenticateServer unsupportedCurve(3): CERT.DPauth with a P-384 key" |
 * |                                   | noSessionContext(4)                      | es10b.test: "noSessionContext(4): no challenge issued, …" |
 * |                                   | invalidOid(5)                            | es10b.test: "invalidOid(5): a certificate of the wrong role (DPpb as serverCertificate)" |
 * |                                   | euiccChallengeMismatch(6)                | es10b.test: "euiccChallengeMismatch(6)" |
 * |                                   | ciPKUnknown(7)                           | es10b.test: "ciPKUnknown(7): euiccCiPKIdToBeUsed not in the signing list" |
 * |                                   | undefinedError(127)                      | — no failure is left unclassified (a malformed request is 6A80) |
 * | PrepareDownload BF21              | ok (euiccSigned2, one-time key, hashCc)  | es10b.test: "success without CC …", "success with CC: hashCc copied into euiccSigned2" |
 * |                                   | invalidCertificate(1)                    | es10b.test: "invalidCertificate(1): DPpb from another CI, …"; here: "LoadCRL: … revoked CERT.DPpb" |
 * |                                   | invalidSignature(2)                      | es10b.test: "invalidSignature(2): smdpSignature2 by another key" |
 * |                                   | unsupportedCurve(3)                      | here: "PrepareDownload unsupportedCurve(3): CERT.DPpb with a P-384 key" |
 * |                                   | noSessionContext(4)                      | es10b.test: "noSessionContext(4) without AuthenticateServer" |
 * |                                   | invalidTransactionId(5)                  | es10b.test: "invalidTransactionId(5)" |
 * |                                   | undefinedError(127)                      | es10b.test: "undefinedError(127): ccRequiredFlag without hashCc (documented decision)" |
 * | LoadBoundProfilePackage BF36      | successResult (signed PIR)               | bpp.test: "installs, answers a signed successful PIR, …" (both curves, with/without RSK), recorded BPP, TS.48 |
 * |  (bppCommandId / errorReason)     | ISC / incorrectInputValues(1)            | here: "BPP: undecodable InitialiseSecureChannel → 0 / incorrectInputValues(1)" |
 * |                                   | ISC / invalidSignature(2)                | bpp.test: "smdpSign by another key → initialiseSecureChannel / invalidSignature(2)" |
 * |                                   | ISC / invalidTransactionId(3)            | bpp.test: "wrong transactionId in the ISC …", "BF36 without PrepareDownload …" |
 * |                                   | ISC / unsupportedCrtValues(4)            | here: "BPP: keyType other than AES → 0 / unsupportedCrtValues(4)" |
 * |                                   | ISC / unsupportedRemoteOperationType(5)  | here: "BPP: remoteOpId 2 → 0 / unsupportedRemoteOperationType(5)" |
 * |                                   | storeMetadata / unsupportedProfileClass(6) | bpp.test: "test profile without testProfileSupport → …" |
 * |                                   | configureISDP / scp03tStructureError(7)  | here: "BPP: empty A0 → configureISDP / scp03tStructureError(7)" |
 * |                                   | storeMetadata / scp03tStructureError(7)  | bpp.test: "segments out of order (A3 before A1) → scp03tStructureError(7)" |
 * |                                   | configureISDP / scp03tSecurityError(8)   | here: "BPP: bad MAC on the 87 of A0 → configureISDP / scp03tSecurityError(8)" |
 * |                                   | storeMetadata / 8, loadProfileElements / 8 | bpp.test: "bad MAC on the 88 segment …", "bad MAC on an 86 segment …" |
 * |                                   | replaceSessionKeys / 8                   | here: "BPP: bad MAC on the 87 of A2 → replaceSessionKeys / scp03tSecurityError(8)" |
 * |                                   | storeMetadata / iccidAlreadyExists(9)    | bpp.test: "ICCID already on the card → storeMetadata / 9" |
 * |                                   | loadProfileElements / insufficientMemory(10) | bpp.test: "out of memory → loadProfileElements / 10" |
 * |                                   | installFailedDueToInterruption(11)       | — the card cannot be interrupted inside a segment; an abandoned BPP is replaced by the next BF36 (LPA: CancelSession loadBppExecutionError) |
 * |                                   | loadProfileElements / PEProcessingError(12) | bpp.test: "profile elements that do not decode → …" |
 * |                                   | loadProfileElements / dataMismatch(13)   | bpp.test: "ICCID of the profile differs from StoreMetadata → …" |
 * |                                   | testProfileInstallFailedDueToInvalidNaaKey(14) | — no NAA runs on the software card, keys are not checked |
 * |                                   | storeMetadata / pprNotAllowed(15)        | bpp.test: "PPR on a test profile …", "PPR not allowed by the RAT …" |
 * |                                   | installFailedDueToUnknownError(127)      | — only for an internal fault (a bug) |
 * | CancelSession BF41                | ok (signed euiccCancelSessionSigned)     | es10b.test: "signed response with the SM-DP+ OID; ends the session", "after AuthenticateServer only …" |
 * |                                   | invalidTransactionId(5)                  | es10b.test: "invalidTransactionId(5) for another transaction or no session" |
 * |                                   | undefinedError(127)                      | — every other case is answered ok |
 * | ListNotification BF28             | ok (metadata list, filter)               | notifications.test: "lists all pending notifications …"; here: "notifications: install/enable/disable/delete …" |
 * |                                   | undefinedError(127)                      | notifications.test: "listNotificationsResultError undefinedError(127) when a stored notification is damaged" |
 * | RetrieveNotificationsList BF2B    | ok (all / by seqNumber / by event)       | notifications.test: "all, by seqNumber, by event; unknown seqNumber → empty list"; here: "notifications: …" |
 * |                                   | undefinedError(127)                      | notifications.test: "notificationsListResultError undefinedError(127) when a stored notification is damaged" |
 * | NotificationSent BF30             | ok(0)                                    | notifications.test: "ok(0) removes it; …"; here: "notifications: …" |
 * |                                   | nothingToDelete(1)                       | notifications.test: "… nothingToDelete(1) the second time or for an unknown one" |
 * |                                   | undefinedError(127)                      | — removal by seqNumber cannot fail otherwise |
 * | LoadCRL BF35                      | ok (no missingParts)                     | here: "LoadCRL: ok, then every error value" |
 * |                                   | invalidSignature(1), invalidCRLFormat(2), notEnoughMemorySpace(3), verificationKeyNotFound(4), fresherCrlAlreadyLoaded(5), baseCrlMissing(6) | here: "LoadCRL: ok, then every error value" |
 * |                                   | undefinedError(127)                      | — only for an internal fault |
 * | GetRAT BF43                       | ok                                       | rat.test: "default RAT: … exact bytes", "answers the stored RAT, also an empty one" |
 * | GetProfilesInfo BF2D              | ok (tagList, search by ICCID/AID/class)  | es10c.test: "… tagList limits the fields …", "searches by ISD-P AID, ICCID and profile class"; here: "MEP: …" |
 * |                                   | incorrectInputValues(1)                  | es10c.test: "answers incorrectInputValues(1) for a malformed tagList or searchCriteria" |
 * |                                   | undefinedError(127)                      | es10c.test: "answers undefinedError(127) when a stored profile cannot be rendered" |
 * | EnableProfile BF31                | ok(0)                                    | es10c.test: "enables by ICCID and by AID, …"; here: "MEP: …" |
 * |                                   | iccidOrAidNotFound(1)                    | es10c.test: "iccidOrAidNotFound(1)" |
 * |                                   | profileNotInDisabledState(2)             | es10c.test: "profileNotInDisabledState(2) for the enabled profile, nothing changes"; here: "MEP: …" (enabled on another port) |
 * |                                   | disallowedByPolicy(3)                    | es10c.test: "disallowedByPolicy(3) when the enabled profile has ppr1; nothing changes" |
 * |                                   | wrongProfileReenabling(4)                | — meaning UNCONFIRMED (SGP22-NOTES §10); never answered |
 * |                                   | catBusy(5)                               | — no CAT on a software card; reachable with a fault rule (resultFault(0xBF31, 5)): here "faults: a result code …" |
 * |                                   | undefinedError(127)                      | es10c.test: "undefinedError(127) for a port the card does not have (handler level …)" — unreachable through APDUs |
 * | DisableProfile BF32               | ok(0), iccidOrAidNotFound(1), profileNotInEnabledState(2), disallowedByPolicy(3) | es10c.test: "ok, with a disable notification", "iccidOrAidNotFound(1), profileNotInEnabledState(2), disallowedByPolicy(3)" |
 * |                                   | catBusy(5), undefinedError(127)          | — no CAT; nothing else can fail |
 * | DeleteProfile BF33                | ok(0), iccidOrAidNotFound(1), profileNotInDisabledState(2), disallowedByPolicy(3) | es10c.test: "ok: deletes, frees memory, …", "iccidOrAidNotFound(1), profileNotInDisabledState(2), disallowedByPolicy(3)" |
 * |                                   | undefinedError(127)                      | — nothing else can fail |
 * | eUICCMemoryReset BF34             | ok(0) per option bit                     | es10c.test: "deleteOperationalProfiles(0) alone …", "deleteFieldLoadedTestProfiles(1) alone …", "resetDefaultSmdpAddress(2) alone …", "all three bits …" |
 * |                                   | nothingToDelete(1)                       | es10c.test: "nothingToDelete(1) when nothing matches; the session then survives" |
 * |                                   | catBusy(5), undefinedError(127)          | — no CAT; nothing else can fail |
 * | GetEID BF3E                       | ok                                       | es10c.test: "returns the EID"; here: "SGP.26 identity (…)", "created identity …" |
 * | SetNickname BF29                  | ok(0) (UTF-8, 64-byte limit, empty clears) | es10c.test: "ok with UTF-8 (64 bytes is the limit), …" |
 * |                                   | iccidNotFound(1)                         | es10c.test: "iccidNotFound(1)" |
 * |                                   | undefinedError(127)                      | es10c.test: "undefinedError(127) above a smaller configured maxNicknameBytes" |
 * | (every function)                  | malformed request → 6A80, state unchanged | here: "bad input leaves the state unchanged …" |
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { segmentBpp } from '../src/asn1/sgp22/bpp.js';
import { encodeInteger, encodeOid } from '../src/asn1/der.js';
import { decodeTlv, encodeTlv } from '../src/asn1/tlv.js';
import { buildProfilePackage } from '../src/asn1/saip.js';
import { decodeAuthenticateServerResponse, decodePrepareDownloadResponse, type AuthenticateServerResponse } from '../src/asn1/sgp22/authentication.js';
import {
  decodeEUICCInfo1,
  decodeEUICCInfo2,
  decodeGetEuiccChallengeResponse,
  encodeGetEuiccChallengeRequest,
  encodeGetEuiccInfo1Request,
  encodeGetEuiccInfo2Request,
} from '../src/asn1/sgp22/euicc-info.js';
import { encodeStoreMetadataRequest, type StoreMetadataRequest } from '../src/asn1/sgp22/metadata.js';
import {
  decodeListNotificationResponse,
  decodeNotificationSentResponse,
  decodeProfileInstallationResult,
  decodeRetrieveNotificationsListResponse,
  encodeListNotificationRequest,
  encodeNotificationSentRequest,
  encodeRetrieveNotificationsListRequest,
  pirSignedData,
  type ProfileInstallationResult,
} from '../src/asn1/sgp22/notifications.js';
import {
  decodeDeleteProfileResponse,
  decodeDisableProfileResponse,
  decodeEnableProfileResponse,
  decodeGetEuiccDataResponse,
  decodeProfileInfoListResponse,
  encodeDeleteProfileRequest,
  encodeDisableProfileRequest,
  encodeEnableProfileRequest,
  encodeGetEuiccDataRequest,
  encodeProfileInfoListRequest,
  GET_EID_REQUEST,
  type ProfileIdentifier,
} from '../src/asn1/sgp22/profiles.js';
import { ciPkid, verifyEuiccChain } from '../src/crypto/certs.js';
import { privateKeyFromPem, sign as signDer, verify as verifyDer, verifyRaw, type Curve } from '../src/crypto/ecdsa.js';
import { createCi, createDpAuth, createDpPb, type IssuedCertificate } from '../src/crypto/pki.js';
import { encodeTime, parseCertificate, X509_OID } from '../src/crypto/x509.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { CardDisconnectedError, es10ResultResponse, resultFault } from '../src/euicc/faults.js';
import { createIdentity, IDENTITY_META, loadIdentityFiles, type EuiccIdentity } from '../src/euicc/identity.js';
import type { CardConfig } from '../src/euicc/types.js';
import { buildBoundProfilePackage } from '../src/smdp/bpp-builder.js';
import { buildAuthenticateServerRequest, buildPrepareDownloadRequest, makeServerSigned1, makeSmdpSigned2 } from '../src/smdp/signing.js';
import { decodeIccid, encodeIccid } from '../src/util/bcd.js';
import { verifyEid } from '../src/util/eid.js';
import { bytesEqual, concatBytes, fromHex, toHex } from '../src/util/hex.js';
import { es10, rawApdu, storeData } from './support/card-driver.js';
import { authenticateAndPrepare, downloadToCard, loadBpp, TEST_SMDP_ADDRESS } from './support/download.js';
import { describeWithReference, readRef, readRefText, refPath } from './support/reference.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');

const cards: SoftEuicc[] = [];
const dirs: string[] = [];
afterEach(() => {
  while (cards.length) cards.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

interface Env {
  card: SoftEuicc;
  identity: EuiccIdentity;
  ci: IssuedCertificate;
  dpAuth: IssuedCertificate;
  dpPb: IssuedCertificate;
}

function setup(config: Partial<CardConfig> = {}, curve: Curve = 'P-256'): Env {
  const { identity, ci } = createIdentity({ curve });
  const card = SoftEuicc.create(':memory:', { identity, config });
  cards.push(card);
  return { card, identity, ci, dpAuth: createDpAuth(ci), dpPb: createDpPb(ci) };
}

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'esimkit-'));
  dirs.push(d);
  return d;
}

function metadataFor(iccid: string, extra: Partial<StoreMetadataRequest> = {}): StoreMetadataRequest {
  return { iccid: encodeIccid(iccid), serviceProviderName: 'conformance SP', profileName: `profile ${iccid}`, ...extra };
}

const byIccid = (iccid: string): ProfileIdentifier => ({ kind: 'iccid', iccid: encodeIccid(iccid) });

function profileStates(card: SoftEuicc, port = 0): Record<string, number> {
  const r = decodeProfileInfoListResponse(es10(card, encodeProfileInfoListRequest({}), { port }));
  if (r.kind !== 'profileInfoListOk') throw new Error('GetProfilesInfo failed');
  return Object.fromEntries(r.profileInfoListOk.map((p) => [decodeIccid(p.iccid!), p.profileState!]));
}

function enable(card: SoftEuicc, iccid: string, port = 0): number {
  return decodeEnableProfileResponse(es10(card, encodeEnableProfileRequest({ profileIdentifier: byIccid(iccid), refreshFlag: false }), { port }))
    .enableResult;
}

function freeNv(card: SoftEuicc): { apps: number; freeNv: number } {
  const ecr = decodeEUICCInfo2(es10(card, encodeGetEuiccInfo2Request())).extCardResource;
  // ETSI TS 102 226: 81 installed applications, 82 free NV memory, 83 free volatile memory
  const items = new Map<number, Uint8Array>();
  let off = 0;
  while (off < ecr.length) {
    const tag = ecr[off]!;
    const len = ecr[off + 1]!;
    items.set(tag, ecr.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  const num = (b: Uint8Array | undefined): number => (b ?? new Uint8Array(0)).reduce((n, x) => n * 256 + x, 0);
  return { apps: num(items.get(0x81)), freeNv: num(items.get(0x82)) };
}

function errorOf(pir: ProfileInstallationResult): { bppCommandId: number; errorReason: number } | undefined {
  const f = pir.profileInstallationResultData.finalResult;
  return f.kind === 'errorResult' ? { bppCommandId: f.errorResult.bppCommandId, errorReason: f.errorResult.errorReason } : undefined;
}

// ---------------------------------------------------------------------------------------- EUICCInfo2 memory

describe('EUICCInfo2 extCardResource', () => {
  it("EUICCInfo2 free NV memory shrinks by the profile's size per download and grows back on delete", () => {
    const env = setup({ totalMemory: 200_000 });
    const start = freeNv(env.card);
    expect(start).toEqual({ apps: 0, freeNv: 200_000 });
    const sizes: number[] = [];
    const iccids = ['8949449999999990106', '8949449999999990114', '8949449999999990130'];
    let expected = start.freeNv;
    for (const [i, iccid] of iccids.entries()) {
      const upp = buildProfilePackage({ iccid, padToSize: 4000 + 3000 * i });
      const md = metadataFor(iccid);
      const r = downloadToCard(env.card, { upp, metadata: md, ci: env.ci, dpAuth: env.dpAuth, dpPb: env.dpPb });
      expect(errorOf(r.pir)).toBeUndefined();
      // size of a profile = its package + its StoreMetadata (computed here, independently of the card)
      const size = upp.length + encodeStoreMetadataRequest(md).length;
      sizes.push(size);
      expected -= size;
      expect(freeNv(env.card)).toEqual({ apps: i + 1, freeNv: expected });
    }
    const del = decodeDeleteProfileResponse(es10(env.card, encodeDeleteProfileRequest(byIccid(iccids[1]!))));
    expect(del.deleteResult).toBe(0);
    expect(freeNv(env.card)).toEqual({ apps: 2, freeNv: expected + sizes[1]! });
  });
});

// ---------------------------------------------------------------------------------------- unsupported curve

/**
 * `issued` re-made with a P-384 public key (same TBS fields and extensions otherwise), signed by `ci`: a
 * server certificate on a curve SGP.22 does not use. (Our ECDSA helpers sign on P-256/brainpool only, so the
 * test keeps signing serverSigned1 / smdpSigned2 with the P-256 key: the card refuses on the certificate first.)
 */
function onP384(issued: IssuedCertificate, ci: IssuedCertificate): Uint8Array {
  const kp = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const spki = new Uint8Array(kp.publicKey.export({ type: 'spki', format: 'der' }));
  const [tbs, alg] = decodeTlv(issued.certDer).children as [ReturnType<typeof decodeTlv>, ReturnType<typeof decodeTlv>];
  const items = tbs.children.map((c) => c.raw);
  const spkiIndex = tbs.children.findIndex((c, i) => i > 0 && c.tag === 0x30 && c.children[0]?.tag === 0x30 && c.children[1]?.tag === 0x03);
  expect(spkiIndex).toBeGreaterThan(0);
  items[spkiIndex] = spki;
  const newTbs = encodeTlv(0x30, items);
  const sig = signDer(ci.privateKey, newTbs);
  return encodeTlv(0x30, [newTbs, alg.raw, encodeTlv(0x03, concatBytes(Uint8Array.of(0), sig))]);
}

function authenticate(env: Env, dpAuth: { privateKey: KeyObject; certDer: Uint8Array }): { res: AuthenticateServerResponse; tId: Uint8Array } {
  const { euiccChallenge } = decodeGetEuiccChallengeResponse(es10(env.card, encodeGetEuiccChallengeRequest()));
  const s1 = makeServerSigned1({ euiccChallenge, serverAddress: TEST_SMDP_ADDRESS }, { privateKey: dpAuth.privateKey, cert: dpAuth.certDer });
  const req = buildAuthenticateServerRequest(s1, {
    euiccCiPKIdToBeUsed: ciPkid(env.ci.certDer),
    serverCertificate: dpAuth.certDer,
    ctxParams1: { kind: 'ctxParamsForCommonAuthentication', matchingId: 'CONF-1', deviceInfo: { tac: fromHex('35290611'), deviceCapabilities: {} } },
  });
  return { res: decodeAuthenticateServerResponse(es10(env.card, req)), tId: s1.transactionId };
}

function prepare(env: Env, dpPb: { privateKey: KeyObject; certDer: Uint8Array }): number | 'ok' {
  const { res, tId } = authenticate(env, env.dpAuth);
  if (res.kind !== 'authenticateResponseOk') throw new Error('AuthenticateServer failed');
  const s2 = makeSmdpSigned2({ transactionId: tId, ccRequiredFlag: false }, res.euiccSignature1, { privateKey: dpPb.privateKey, cert: dpPb.certDer });
  const r = decodePrepareDownloadResponse(es10(env.card, buildPrepareDownloadRequest(s2, { smdpCertificate: dpPb.certDer })));
  return r.kind === 'downloadResponseOk' ? 'ok' : r.downloadErrorCode;
}

describe('unsupported curves', () => {
  it('AuthenticateServer unsupportedCurve(3): CERT.DPauth with a P-384 key', () => {
    const env = setup();
    const { res } = authenticate(env, { privateKey: env.dpAuth.privateKey, certDer: onP384(createDpAuth(env.ci), env.ci) });
    expect(res.kind === 'authenticateResponseError' && res.authenticateErrorCode).toBe(3);
    // the same with a supported key succeeds
    expect(authenticate(env, env.dpAuth).res.kind).toBe('authenticateResponseOk');
  });

  it('PrepareDownload unsupportedCurve(3): CERT.DPpb with a P-384 key', () => {
    const env = setup();
    expect(prepare(env, { privateKey: env.dpPb.privateKey, certDer: onP384(createDpPb(env.ci), env.ci) })).toBe(3);
    expect(prepare(env, env.dpPb)).toBe('ok');
  });
});

// ---------------------------------------------------------------------------------------- LoadCRL

interface CrlOptions {
  number: number;
  revoked?: readonly Uint8Array[];
  deltaBase?: number;
  signer?: KeyObject;
  issuer?: Uint8Array;
  /** Leave the cRLNumber out (invalid format). */
  noNumber?: boolean;
  /** Add an authorityKeyIdentifier with this key id. */
  aki?: Uint8Array;
  padRevoked?: number;
}

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';

/** A CertificateList signed by `ci` (DER ECDSA-SHA256), as an SM-DP+/CI would publish it. */
function buildCrl(ci: IssuedCertificate, o: CrlOptions): Uint8Array {
  const alg = encodeTlv(0x30, [encodeOid(0x06, ECDSA_SHA256)]);
  const ext = (oid: string, value: Uint8Array, critical = false): Uint8Array =>
    encodeTlv(0x30, [encodeOid(0x06, oid), ...(critical ? [fromHex('0101FF')] : []), encodeTlv(0x04, value)]);
  const exts: Uint8Array[] = [];
  if (!o.noNumber) exts.push(ext('2.5.29.20', encodeInteger(0x02, o.number)));
  if (o.deltaBase !== undefined) exts.push(ext('2.5.29.27', encodeInteger(0x02, o.deltaBase), true));
  if (o.aki) exts.push(ext('2.5.29.35', encodeTlv(0x30, encodeTlv(0x80, o.aki))));
  const now = new Date();
  const entries = [...(o.revoked ?? [])];
  for (let i = 0; i < (o.padRevoked ?? 0); i++) entries.push(Uint8Array.of(0x7f, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff));
  const tbs = encodeTlv(0x30, [
    fromHex('020101'),
    alg,
    o.issuer ?? ci.cert.subject.raw,
    encodeTime(now),
    encodeTime(new Date(now.getTime() + 86_400_000)),
    ...(entries.length > 0 ? [encodeTlv(0x30, entries.map((s) => encodeTlv(0x30, [encodeTlv(0x02, s), encodeTime(now)])))] : []),
    ...(exts.length > 0 ? [encodeTlv(0xa0, encodeTlv(0x30, exts))] : []),
  ]);
  const sig = signDer(o.signer ?? ci.privateKey, tbs);
  return encodeTlv(0x30, [tbs, alg, encodeTlv(0x03, concatBytes(Uint8Array.of(0), sig))]);
}

/** LoadCRLRequest: the CRL with its outer 30 replaced by A0. */
function loadCrlRequest(crl: Uint8Array): Uint8Array {
  return encodeTlv(0xbf35, encodeTlv(0xa0, decodeTlv(crl).value));
}

/** 'ok' or the loadCRLResponseError value. */
function loadCrl(card: SoftEuicc, crl: Uint8Array): 'ok' | number {
  const r = decodeTlv(es10(card, loadCrlRequest(crl), { blockSize: 200 }));
  expect(r.tag).toBe(0xbf35);
  const c = r.children[0]!;
  if (c.tag === 0xa0) {
    expect(toHex(r.raw)).toBe('bf3502a000'); // loadCRLResponseOk without missingParts
    return 'ok';
  }
  expect(c.tag).toBe(0x81);
  return c.value[0]!;
}

describe('LoadCRL (BF35)', () => {
  it('LoadCRL: ok, then every error value', () => {
    const env = setup();
    expect(decodeEUICCInfo2(es10(env.card, encodeGetEuiccInfo2Request())).rspCapability).toContain(1); // crlSupport
    const ski = env.ci.cert.extensions.subjectKeyIdentifier!.keyIdentifier;
    // invalidCRLFormat(2): not a CertificateList; no cRLNumber; request without A0
    expect(loadCrl(env.card, encodeTlv(0x30, [encodeTlv(0x02, Uint8Array.of(1))]))).toBe(2);
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 1, noNumber: true }))).toBe(2);
    expect(toHex(es10(env.card, fromHex('BF3503800101')))).toBe('bf3503810102');
    // verificationKeyNotFound(4): a CRL of another CI (by name, and by AKI)
    const other = createCi({ subject: [{ oid: X509_OID.commonName, value: 'Another CI' }] });
    expect(loadCrl(env.card, buildCrl(other, { number: 1 }))).toBe(4);
    expect(loadCrl(env.card, buildCrl(other, { number: 1, aki: other.cert.extensions.subjectKeyIdentifier!.keyIdentifier }))).toBe(4);
    // invalidSignature(1): our CI's name (or key identifier), signed by another key
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 1, signer: other.privateKey }))).toBe(1);
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 1, aki: ski, signer: createCi().privateKey }))).toBe(1);
    // notEnoughMemorySpace(3): more than 64 KB
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 1, padRevoked: 3000 }))).toBe(3);
    // baseCrlMissing(6): a delta CRL before any base CRL
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 2, deltaBase: 1 }))).toBe(6);
    // ok: base CRL 5 (with AKI), then delta 6 on base 5
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 5, aki: ski }))).toBe('ok');
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 6, deltaBase: 5 }))).toBe('ok');
    // fresherCrlAlreadyLoaded(5): same or older numbers, base and delta
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 5 }))).toBe(5);
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 4 }))).toBe(5);
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 6, deltaBase: 5 }))).toBe(5);
    // baseCrlMissing(6): a delta on a base newer than the loaded one
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 9, deltaBase: 7 }))).toBe(6);
    // a newer base is accepted
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 7 }))).toBe('ok');
    // a malformed BER request is a status word, not a result
    expect(storeData(env.card, fromHex('BF3505A0')).sw).toBe(0x6a80);
  });

  it('LoadCRL: a revoked CERT.DPauth is refused by AuthenticateServer, a revoked CERT.DPpb by PrepareDownload (invalidCertificate)', () => {
    const env = setup();
    expect(authenticate(env, env.dpAuth).res.kind).toBe('authenticateResponseOk');
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 1, revoked: [env.dpAuth.cert.serialNumber] }))).toBe('ok');
    const { res } = authenticate(env, env.dpAuth);
    expect(res.kind === 'authenticateResponseError' && res.authenticateErrorCode).toBe(1);
    // another DPauth of the same CI is fine; the DPpb is still fine
    const dpAuth2 = createDpAuth(env.ci);
    const env2 = { ...env, dpAuth: dpAuth2 };
    expect(prepare(env2, env.dpPb)).toBe('ok');
    // revoke the DPpb with a delta CRL
    expect(loadCrl(env.card, buildCrl(env.ci, { number: 2, deltaBase: 1, revoked: [env.dpPb.cert.serialNumber] }))).toBe('ok');
    expect(prepare(env2, env.dpPb)).toBe(1);
    // the CRL survives a restart
    const dir = tmp();
    const path = join(dir, 'card.db');
    const card = SoftEuicc.create(path, { identity: env.identity });
    expect(loadCrl(card, buildCrl(env.ci, { number: 1, revoked: [env.dpAuth.cert.serialNumber] }))).toBe('ok');
    card.close();
    const reopened = SoftEuicc.open(path);
    cards.push(reopened);
    const { res: r2 } = authenticate({ ...env, card: reopened }, env.dpAuth);
    expect(r2.kind === 'authenticateResponseError' && r2.authenticateErrorCode).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------- BPP errors

type SegTamper = (segs: Uint8Array[]) => Uint8Array[];

function replaceOnce(b: Uint8Array, from: string, to: string): Uint8Array {
  const hex = toHex(b);
  const i = hex.indexOf(from.toUpperCase());
  expect(i % 2).toBe(0);
  expect(i).toBeGreaterThanOrEqual(0);
  return fromHex(hex.slice(0, i) + to + hex.slice(i + from.length));
}

function flipLast(b: Uint8Array): Uint8Array {
  const y = new Uint8Array(b);
  y[y.length - 1]! ^= 1;
  return y;
}

/** The item of a container segment list: index of the first segment with this first byte. */
const idx = (segs: Uint8Array[], tag: number): number => segs.findIndex((s) => s[0] === tag);

describe('LoadBoundProfilePackage: the remaining error results', () => {
  const cases: { name: string; rsk?: boolean; tamper: SegTamper; expected: { bppCommandId: number; errorReason: number } }[] = [
    {
      name: 'BPP: undecodable InitialiseSecureChannel → 0 / incorrectInputValues(1)',
      // BF36 header + BF23 whose content is not an InitialiseSecureChannelRequest
      tamper: (segs) => [concatBytes(fromHex('BF3607'), fromHex('BF2304800101FF')), ...segs.slice(1)],
      expected: { bppCommandId: 0, errorReason: 1 },
    },
    {
      name: 'BPP: keyType other than AES → 0 / unsupportedCrtValues(4)',
      tamper: (segs) => [replaceOnce(segs[0]!, '800188', '800189'), ...segs.slice(1)],
      expected: { bppCommandId: 0, errorReason: 4 },
    },
    {
      name: 'BPP: remoteOpId 2 → 0 / unsupportedRemoteOperationType(5)',
      tamper: (segs) => [replaceOnce(segs[0]!, '820101', '820102'), ...segs.slice(1)],
      expected: { bppCommandId: 0, errorReason: 5 },
    },
    {
      name: 'BPP: empty A0 → configureISDP / scp03tStructureError(7)',
      tamper: (segs) => [segs[0]!, fromHex('A000'), ...segs.slice(2)],
      expected: { bppCommandId: 1, errorReason: 7 },
    },
    {
      name: 'BPP: bad MAC on the 87 of A0 → configureISDP / scp03tSecurityError(8)',
      tamper: (segs) => segs.map((s, i) => (i === idx(segs, 0xa0) ? flipLast(s) : s)),
      expected: { bppCommandId: 1, errorReason: 8 },
    },
    {
      name: 'BPP: bad MAC on the 87 of A2 → replaceSessionKeys / scp03tSecurityError(8)',
      rsk: true,
      tamper: (segs) => segs.map((s, i) => (i === idx(segs, 0xa2) ? flipLast(s) : s)),
      expected: { bppCommandId: 4, errorReason: 8 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const env = setup();
      const iccid = '8949449999999990155';
      const s = authenticateAndPrepare(env.card, { ci: env.ci, dpAuth: env.dpAuth, dpPb: env.dpPb });
      const bpp = buildBoundProfilePackage({
        transactionId: s.transactionId,
        euiccOtpk: s.euiccOtpk,
        dpPb: { privateKey: env.dpPb.privateKey },
        eid: s.eid,
        upp: buildProfilePackage({ iccid }),
        metadata: metadataFor(iccid),
        ...(c.rsk && { replaceSessionKeys: true }),
      });
      const segs = c.tamper(segmentBpp(bpp));
      const { pir: bytes } = loadBpp(env.card, bpp, segs);
      const pir = decodeProfileInstallationResult(bytes);
      const key = parseCertificate(env.identity.euiccCertificate).subjectPublicKeyInfo.key!;
      expect(verifyRaw(key, pirSignedData(pir), pir.euiccSignPIR)).toBe(true);
      expect(errorOf(pir)).toEqual(c.expected);
      expect(env.card.runtime.store.listProfileHeaders()).toHaveLength(0);
      // the session is over
      expect(storeData(env.card, segs[segs.length - 1]!).sw).not.toBe(0x9000);
    });
  }
});

// ---------------------------------------------------------------------------------------- MEP

describe('MEP', () => {
  it('ports: 1 by default, up to 4; 0 and 5 are refused', () => {
    const { identity } = createIdentity();
    const c1 = SoftEuicc.create(':memory:', { identity });
    cards.push(c1);
    expect(c1.config.ports).toBe(1);
    expect(() => c1.transmit(fromHex('00A4040010A0000005591010FFFFFFFF8900000100'), 1)).toThrow(RangeError);
    expect(() => SoftEuicc.create(':memory:', { identity, config: { ports: 5 } })).toThrow(RangeError);
    expect(() => SoftEuicc.create(':memory:', { identity, config: { ports: 0 } })).toThrow(RangeError);
  });

  it('MEP: enabling through port N enables on port N and leaves the other ports alone; GetProfilesInfo shows the states on every port', () => {
    const env = setup({ ports: 4 });
    const iccids = ['8949449999999990205', '8949449999999990213', '8949449999999990221', '8949449999999990239', '8949449999999990247'];
    for (const iccid of iccids) {
      const r = downloadToCard(env.card, { upp: buildProfilePackage({ iccid }), metadata: metadataFor(iccid), ci: env.ci, dpAuth: env.dpAuth, dpPb: env.dpPb });
      expect(errorOf(r.pir)).toBeUndefined();
    }
    const all = (v: number[]): Record<string, number> => Object.fromEntries(iccids.map((i, k) => [i, v[k]!]));
    // one profile per port, each enabled through its own port
    for (let port = 0; port < 4; port++) expect(enable(env.card, iccids[port]!, port)).toBe(0);
    for (let port = 0; port < 4; port++) expect(profileStates(env.card, port)).toEqual(all([1, 1, 1, 1, 0]));
    const stored = new Map(env.card.runtime.store.listProfileHeaders().map((p) => [decodeIccid(p.iccid), p.port]));
    expect(iccids.map((i) => stored.get(i))).toEqual([0, 1, 2, 3, null]);
    // a profile enabled on port 1 cannot be enabled again through port 2
    expect(enable(env.card, iccids[1]!, 2)).toBe(2);
    // enabling the fifth through port 2 disables only port 2's profile
    expect(enable(env.card, iccids[4]!, 2)).toBe(0);
    expect(profileStates(env.card, 3)).toEqual(all([1, 1, 0, 1, 1]));
    const stored2 = new Map(env.card.runtime.store.listProfileHeaders().map((p) => [decodeIccid(p.iccid), p.port]));
    expect(iccids.map((i) => stored2.get(i))).toEqual([0, 1, null, 3, 2]);
    // disabling through any port names the profile
    expect(decodeDisableProfileResponse(es10(env.card, encodeDisableProfileRequest({ profileIdentifier: byIccid(iccids[3]!), refreshFlag: true }), { port: 0 })).disableResult).toBe(0);
    expect(profileStates(env.card, 1)).toEqual(all([1, 1, 0, 0, 1]));
  });
});

// ---------------------------------------------------------------------------------------- notifications

describe('notifications', () => {
  it('notifications: install/enable/disable/delete are listed, retrieved, signed by CERT.EUICC, removed; seqNumbers only grow across restarts', () => {
    const dir = tmp();
    const path = join(dir, 'card.db');
    const { identity, ci } = createIdentity({ curve: 'brainpoolP256r1' });
    let card = SoftEuicc.create(path, { identity });
    const dpAuth = createDpAuth(ci);
    const dpPb = createDpPb(ci);
    const a = '8949449999999990262';
    const b = '8949449999999990270';
    const notify = [{ profileManagementOperation: [1, 2, 3], notificationAddress: 'notify.example.com' }];
    for (const iccid of [a, b]) {
      const r = downloadToCard(card, { upp: buildProfilePackage({ iccid }), metadata: metadataFor(iccid, { notificationConfigurationInfo: notify }), ci, dpAuth, dpPb });
      expect(errorOf(r.pir)).toBeUndefined();
    }
    expect(enable(card, a)).toBe(0);
    expect(enable(card, b)).toBe(0); // implicit disable of a
    expect(decodeDeleteProfileResponse(es10(card, encodeDeleteProfileRequest(byIccid(a)))).deleteResult).toBe(0);

    const list = decodeListNotificationResponse(es10(card, encodeListNotificationRequest({})));
    if (list.kind !== 'notificationMetadataList') throw new Error('ListNotification failed');
    const events = list.notificationMetadataList.map((n) => [n.profileManagementOperation[0], decodeIccid(n.iccid!), n.notificationAddress]);
    expect(events).toEqual([
      [0, a, TEST_SMDP_ADDRESS],
      [0, b, TEST_SMDP_ADDRESS],
      [1, a, 'notify.example.com'],
      [2, a, 'notify.example.com'],
      [1, b, 'notify.example.com'],
      [3, a, 'notify.example.com'],
    ]);
    const seqs = list.notificationMetadataList.map((n) => n.seqNumber);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    // the filter
    const dis = decodeListNotificationResponse(es10(card, encodeListNotificationRequest({ profileManagementOperation: [2] })));
    expect(dis.kind === 'notificationMetadataList' && dis.notificationMetadataList.map((n) => n.seqNumber)).toEqual([seqs[3]]);

    // retrieve all, verify each signature with CERT.EUICC (chained to the CI)
    const chain = verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: identity.eumCertificate, euiccCert: identity.euiccCertificate, checkDates: false });
    expect(chain.eid).toBe(card.eid);
    const pk = chain.euicc.subjectPublicKeyInfo.key!;
    const all = decodeRetrieveNotificationsListResponse(es10(card, encodeRetrieveNotificationsListRequest({})));
    if (all.kind !== 'notificationList') throw new Error('RetrieveNotificationsList failed');
    expect(all.notificationList).toHaveLength(6);
    for (const n of all.notificationList) {
      if (n.kind === 'profileInstallationResult') {
        const pir = n.profileInstallationResult;
        expect(verifyRaw(pk, pirSignedData(pir), pir.euiccSignPIR)).toBe(true);
      } else {
        const o = n.otherSignedNotification;
        expect(toHex(o.euiccCertificate)).toBe(toHex(identity.euiccCertificate));
        expect(toHex(o.eumCertificate)).toBe(toHex(identity.eumCertificate));
        expect(verifyRaw(pk, o.tbsOtherNotification.raw!, o.euiccNotificationSignature)).toBe(true);
        // a changed byte breaks the signature
        const bad = new Uint8Array(o.tbsOtherNotification.raw!);
        bad[bad.length - 1]! ^= 1;
        expect(verifyRaw(pk, bad, o.euiccNotificationSignature)).toBe(false);
      }
    }
    // by seqNumber
    const one = decodeRetrieveNotificationsListResponse(es10(card, encodeRetrieveNotificationsListRequest({ searchCriteria: { kind: 'seqNumber', seqNumber: seqs[5]! } })));
    expect(one.kind === 'notificationList' && one.notificationList.length).toBe(1);

    // remove them all, restart, the next seqNumber is larger than all before
    for (const s of seqs) expect(decodeNotificationSentResponse(es10(card, encodeNotificationSentRequest({ seqNumber: s }))).deleteNotificationStatus).toBe(0);
    expect(decodeNotificationSentResponse(es10(card, encodeNotificationSentRequest({ seqNumber: seqs[0]! }))).deleteNotificationStatus).toBe(1);
    card.close();
    card = SoftEuicc.open(path);
    cards.push(card);
    const empty = decodeListNotificationResponse(es10(card, encodeListNotificationRequest({})));
    expect(empty.kind === 'notificationMetadataList' && empty.notificationMetadataList).toEqual([]);
    expect(decodeDisableProfileResponse(es10(card, encodeDisableProfileRequest({ profileIdentifier: byIccid(b), refreshFlag: false }))).disableResult).toBe(0);
    const after = decodeListNotificationResponse(es10(card, encodeListNotificationRequest({})));
    if (after.kind !== 'notificationMetadataList') throw new Error('ListNotification failed');
    expect(after.notificationMetadataList).toHaveLength(1);
    expect(after.notificationMetadataList[0]!.seqNumber).toBeGreaterThan(Math.max(...seqs));
  });
});

// ---------------------------------------------------------------------------------------- identity

function getEid(card: SoftEuicc): string {
  return toHex(decodeGetEuiccDataResponse(es10(card, encodeGetEuiccDataRequest(GET_EID_REQUEST))).eidValue);
}

describe('identity', () => {
  it('created identity: a given EID, or a generated one with valid check digits; kept across restarts in a 0600 state file', () => {
    const dir = tmp();
    const given = createIdentity({ eid: '89049032123451234512345678901235' });
    const p1 = join(dir, 'given.db');
    const c1 = SoftEuicc.create(p1, { identity: given.identity });
    expect(getEid(c1)).toBe('89049032123451234512345678901235');
    c1.close();
    const generated = createIdentity({ eum: given.eum, ci: given.ci });
    expect(verifyEid(generated.identity.eid)).toBe(true);
    expect(generated.identity.eid).not.toBe(given.identity.eid);
    const p2 = join(dir, 'generated.db');
    const c2 = SoftEuicc.create(p2, { identity: generated.identity });
    c2.close();
    for (const [p, eid] of [
      [p1, given.identity.eid],
      [p2, generated.identity.eid],
    ] as const) {
      expect(statSync(p).mode & 0o777).toBe(0o600);
      const c = SoftEuicc.open(p);
      cards.push(c);
      expect(getEid(c)).toBe(eid);
      // the private key is in the state file: the reopened card still signs for its certificate
      expect(c.runtime.store.getMeta(IDENTITY_META.privateKey)!.length).toBeGreaterThan(0);
      const key = parseCertificate(c.runtime.identity.euiccCertificate).subjectPublicKeyInfo.key!;
      const msg = fromHex('0102');
      expect(verifyRaw(key, msg, c.runtime.identity.sign(msg))).toBe(true);
    }
  });
});

describeWithReference('identity from the SGP.26 files', () => {
  for (const kind of ['NIST', 'BRP'] as const) {
    it(`SGP.26 identity (${kind}): GetEID, EUICCInfo1 PKIDs, and a download with the SGP.26 DPauth/DPpb, before and after a restart`, () => {
      const identity = loadIdentityFiles({
        euiccCert: refPath('sgp26', 'eUICC', `CERT_EUICC_ECDSA_${kind}.der`),
        euiccKey: refPath('sgp26', 'eUICC', `SK_EUICC_ECDSA_${kind}.pem`),
        eumCert: refPath('sgp26', 'EUM', `CERT_EUM_ECDSA_${kind}.der`),
        ciCerts: [refPath('sgp26', 'CertificateIssuer', `CERT_CI_ECDSA_${kind}.der`)],
      });
      expect(identity.curve).toBe(kind === 'NIST' ? 'P-256' : 'brainpoolP256r1');
      const path = join(tmp(), 'sgp26.db');
      const created = SoftEuicc.create(path, { identity });
      // EID of the SGP.26 CERT.EUICC (subject serialNumber)
      expect(getEid(created)).toBe('89049032123451234512345678901235');
      created.close();
      const card = SoftEuicc.open(path);
      cards.push(card);
      expect(getEid(card)).toBe('89049032123451234512345678901235');
      const ciDer = readRef('sgp26', 'CertificateIssuer', `CERT_CI_ECDSA_${kind}.der`);
      const info1 = decodeEUICCInfo1(es10(card, encodeGetEuiccInfo1Request()));
      expect(info1.euiccCiPKIdListForSigning.map(toHex)).toEqual([toHex(ciPkid(ciDer))]);
      expect(info1.euiccCiPKIdListForVerification.map(toHex)).toEqual([toHex(ciPkid(ciDer))]);
      const ci = { certDer: ciDer };
      const dpAuth = { certDer: readRef('sgp26', 'DPauth', `CERT_S_SM_DPauth_ECDSA_${kind}.der`), privateKey: privateKeyFromPem(readRefText('sgp26', 'DPauth', `SK_S_SM_DPauth_ECDSA_${kind}.pem`)) };
      const dpPb = { certDer: readRef('sgp26', 'DPpb', `CERT_S_SM_DPpb_ECDSA_${kind}.der`), privateKey: privateKeyFromPem(readRefText('sgp26', 'DPpb', `SK_S_SM_DPpb_ECDSA_${kind}.pem`)) };
      const iccid = '8949449999999990288';
      // downloadToCard verifies CERT.EUICC → CERT.EUM → SGP.26 CI and euiccSignature1/2 like an SM-DP+
      const r = downloadToCard(card, { upp: buildProfilePackage({ iccid }), metadata: metadataFor(iccid), ci, dpAuth, dpPb });
      expect(errorOf(r.pir)).toBeUndefined();
      expect(profileStates(card)).toEqual({ [iccid]: 0 });
    });
  }
});

// ---------------------------------------------------------------------------------------- bad input

interface Snapshot {
  profiles: string;
  notifications: string;
  meta: string;
}

function snapshot(card: SoftEuicc): Snapshot {
  const s = card.runtime.store;
  return {
    profiles: JSON.stringify(s.listProfiles().map((p) => ({ ...p, aid: toHex(p.aid), iccid: toHex(p.iccid), metadata: toHex(p.metadata), upp: toHex(p.upp), dpProprietaryData: p.dpProprietaryData && toHex(p.dpProprietaryData) }))),
    notifications: JSON.stringify(s.listNotifications().map((n) => ({ ...n, iccid: n.iccid && toHex(n.iccid), pending: toHex(n.pending) }))),
    meta: JSON.stringify(['defaultDpAddress', 'rootDsAddress', 'firmwareVersion', 'config', 'rat'].map((k) => s.getMetaString(k) ?? null)),
  };
}

describe('bad input', () => {
  it('bad input leaves the state unchanged: malformed ES10 requests answer 6A80 and change nothing, not even the sequence counter', () => {
    const env = setup({}, 'P-256');
    const iccids = ['8949449999999990296', '8949449999999990304'];
    const notify = [{ profileManagementOperation: [1, 2, 3], notificationAddress: 'n.example.com' }];
    for (const iccid of iccids) {
      downloadToCard(env.card, { upp: buildProfilePackage({ iccid }), metadata: metadataFor(iccid, { notificationConfigurationInfo: notify }), ci: env.ci, dpAuth: env.dpAuth, dpPb: env.dpPb });
    }
    expect(enable(env.card, iccids[0]!)).toBe(0);
    const seqBefore = Math.max(...env.card.runtime.store.listNotifications().map((n) => n.seqNumber));
    const before = snapshot(env.card);
    const iccid1 = toHex(encodeIccid(iccids[1]!));
    const malformed = [
      // EnableProfile: ICCID of 9 bytes; missing refreshFlag; trailing garbage; primitive
      `BF3110A00B5A09${iccid1.slice(0, 18)}810100`,
      `BF310EA00C5A0A${iccid1}`,
      `BF3113A00C5A0A${iccid1}810100FF00`,
      'BF3100', // empty EnableProfile
      `9F31025A00`,
      // DisableProfile / DeleteProfile with no identifier or a bad one
      'BF3203810100',
      'BF33035A0101',
      // SetNickname: nickname over 64 bytes; no ICCID
      `BF29${(12 + 2 + 65).toString(16).padStart(2, '0')}5A0A${iccid1}9041${'41'.repeat(65)}`,
      'BF29039001AA',
      // eUICCMemoryReset: resetOptions not a BIT STRING
      'BF34038201FF',
      'BF3400',
      // NotificationSent without seqNumber; RetrieveNotificationsList with an unknown criterion
      'BF3000',
      'BF2B05A003820100',
      // SetDefaultDpAddress without an address
      'BF3F00',
      // not DER at all
      'BF31',
      'BF3185000000',
    ];
    for (const hex of malformed) {
      const r = storeData(env.card, fromHex(hex));
      // every malformed request is a status word (6A80 for DER/structure faults; some decoders map empty
      // requests to results) and never a success result that changed something
      expect([0x6a80, 0x6a88, 0x9000], hex).toContain(r.sw);
      expect(snapshot(env.card), hex).toEqual(before);
    }
    // The counter was not consumed: the next notification follows directly
    expect(decodeDisableProfileResponse(es10(env.card, encodeDisableProfileRequest({ profileIdentifier: byIccid(iccids[0]!), refreshFlag: false }))).disableResult).toBe(0);
    const seqs = env.card.runtime.store.listNotifications().map((n) => n.seqNumber);
    expect(Math.max(...seqs)).toBe(seqBefore + 1);
  });

  it('lpac-style STORE DATA (case 3, class 8X / CX) and GET RESPONSE with the proprietary class of the channel', () => {
    const env = setup();
    const eid = toHex(env.identity.eidBytes);
    for (const ch of [1, 2, 3, 5, 19]) {
      const iso = ch < 4 ? ch : 0x40 | (ch - 4);
      const prop = iso | 0x80;
      const h = (b: number): string => b.toString(16).padStart(2, '0').toUpperCase();
      // MANAGE CHANNEL open with P2 = ch, SELECT ISD-R without Le (lpac)
      expect(rawApdu(env.card, `007000${h(ch)}00`).sw).toBe(0x9000);
      const sel = rawApdu(env.card, `${h(iso)}A4040010A0000005591010FFFFFFFF8900000100`);
      expect(sel.sw >> 8).toBe(0x61);
      expect(rawApdu(env.card, `${h(prop)}C00000${h(sel.sw & 0xff)}`).sw).toBe(0x9000);
      // GetEID in two blocks, case 3
      expect(toHex(rawApdu(env.card, `${h(prop)}E2110002BF3E`).data)).toBe('');
      const last = rawApdu(env.card, `${h(prop)}E2910104035C015A`);
      expect(last.sw).toBe(0x6115); // BF3E 12 5A 10 <16>: 21 bytes
      // lpac reads with the class of the STORE DATA; a short Le gives 61xx with the rest
      const part = rawApdu(env.card, `${h(prop)}C000000A`);
      expect(part.sw).toBe(0x610b);
      const rest = rawApdu(env.card, `${h(prop)}C000000B`);
      expect(rest.sw).toBe(0x9000);
      expect(toHex(concatBytes(part.data, rest.data))).toBe(`bf3e125a10${eid}`);
      // nothing left: 6985; close the channel; the channel is gone: 6881
      expect(rawApdu(env.card, `${h(prop)}C0000000`).sw).toBe(0x6985);
      expect(rawApdu(env.card, `007080${h(ch)}00`).sw).toBe(0x9000);
      expect(rawApdu(env.card, `${h(prop)}C0000000`).sw).toBe(0x6881);
    }
  });
});

// ---------------------------------------------------------------------------------------- OS update

describe('OS-update commands', () => {
  it('OS-update commands need ISD-R selected on the channel (nothing selected 6985, ECASD 6D00), as documented in osu.ts', () => {
    const env = setup();
    // basic channel, nothing selected
    expect(rawApdu(env.card, '80EF000000').sw).toBe(0x6985);
    expect(rawApdu(env.card, '80EC000000').sw).toBe(0x6985);
    // ECASD selected
    expect(rawApdu(env.card, '00A4040C10A0000005591010FFFFFFFF8900000200').sw).toBe(0x9000);
    expect(rawApdu(env.card, '80EF000000').sw).toBe(0x6d00);
    // ISD-R selected: STATUS answers idle, version 1.0.0
    expect(rawApdu(env.card, '00A4040C10A0000005591010FFFFFFFF8900000100').sw).toBe(0x9000);
    const st = rawApdu(env.card, '80EF000000');
    expect(st.sw).toBe(0x9000);
    expect(toHex(st.data.subarray(0, 4))).toBe('00010000');
  });
});

// ---------------------------------------------------------------------------------------- faults

describe('faults', () => {
  it('faults: a result code (catBusy on EnableProfile), a status word, a delay and a disconnect, as other tests use them', async () => {
    const env = setup();
    const iccid = '8949449999999990312';
    downloadToCard(env.card, { upp: buildProfilePackage({ iccid }), metadata: metadataFor(iccid), ci: env.ci, dpAuth: env.dpAuth, dpPb: env.dpPb });
    const catBusy = env.card.faults.add(resultFault(0xbf31, 5));
    expect(toHex(es10ResultResponse(0xbf31, 5))).toBe('bf3103800105');
    expect(enable(env.card, iccid)).toBe(5);
    expect(profileStates(env.card)).toEqual({ [iccid]: 0 }); // the card did nothing
    env.card.faults.remove(catBusy);
    // an AuthenticateServer error for the first attempt only, with the transactionId the test wants
    env.card.faults.add(resultFault(0xbf38, 2, { nth: 1 }, fromHex('0102')));
    const a1 = authenticate(env, env.dpAuth).res;
    expect(a1.kind === 'authenticateResponseError' && [toHex(a1.transactionId), a1.authenticateErrorCode]).toEqual(['0102', 2]);
    expect(authenticate(env, env.dpAuth).res.kind).toBe('authenticateResponseOk');
    env.card.faults.clear();
    // error-choice functions: 81
    env.card.faults.add(resultFault(0xbf2d, 127, { nth: 1 }));
    const pl = decodeProfileInfoListResponse(es10(env.card, encodeProfileInfoListRequest({})));
    expect(pl.kind === 'profileInfoListError' && pl.profileInfoListError).toBe(127);
    env.card.faults.clear();
    expect(() => es10ResultResponse(0xbf3e, 1)).toThrow(RangeError);
    const sw = env.card.faults.add({ match: { es10Tag: 0xbf2d, nth: 1 }, action: { kind: 'sw', sw: 0x6f00 } });
    expect(storeData(env.card, encodeProfileInfoListRequest({})).sw).toBe(0x6f00);
    expect(profileStates(env.card)).toEqual({ [iccid]: 0 }); // nth: only the first
    env.card.faults.remove(sw);
    env.card.faults.add({ match: { ins: 0xe2 }, action: { kind: 'delay', ms: 50 } });
    const t0 = Date.now();
    const r = await env.card.transmitAsync(fromHex('81E2910003BF2E00'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    expect(toHex(r.subarray(r.length - 2))).toBe('6115'); // BF2E 12 80 10 <16>: 21 bytes
    env.card.faults.clear();
    env.card.faults.add({ match: { ins: 0xe2, nth: 1 }, action: { kind: 'disconnect' } });
    expect(() => env.card.transmit(fromHex('81E2910003BF2E00'))).toThrow(CardDisconnectedError);
    // powered off: channel 1 is gone
    expect(rawApdu(env.card, '81E2910003BF2E00').sw).toBe(0x6881);
    expect(enable(env.card, iccid)).toBe(0); // the driver reopens after the power cycle
  });
});

// ---------------------------------------------------------------------------------------- secrets, layering

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(dir, f));
}

describe('secrets and layering', () => {
  it('the card code logs nothing (no console, no logger): keys cannot leak through logs', () => {
    for (const f of [...sources('src/euicc'), ...sources('src/apdu'), ...sources('src/apdu/transports')]) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      expect(text, f).not.toMatch(/\bconsole\.(log|info|warn|error|debug)\b/);
      expect(text, f).not.toMatch(/from 'pino'/);
    }
  });

  it('layering: src/euicc/ imports no lpa/, smdp/, service/, api/, cli/; src/smdp/ imports no euicc/', () => {
    const imports = (f: string): string[] => [...readFileSync(join(ROOT, f), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
    for (const f of sources('src/euicc')) {
      for (const i of imports(f)) expect(i, `${f} imports ${i}`).not.toMatch(/^\.\.\/(lpa|smdp|service|api|cli)\//);
    }
    for (const f of sources('src/smdp')) {
      for (const i of imports(f)) expect(i, `${f} imports ${i}`).not.toMatch(/^\.\.\/(euicc|lpa|service|api|cli)\//);
    }
  });

  it('the identity private key lives only in the 0600 state file, as PKCS#8 that matches CERT.EUICC', () => {
    const path = join(tmp(), 'secret.db');
    const { identity } = createIdentity();
    const card = SoftEuicc.create(path, { identity });
    cards.push(card);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const pkcs8 = card.runtime.store.getMeta(IDENTITY_META.privateKey)!;
    const key = privateKeyFromPem(`-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64')}\n-----END PRIVATE KEY-----\n`);
    const msg = fromHex('CAFE');
    const pub = parseCertificate(identity.euiccCertificate).subjectPublicKeyInfo.key!;
    // a DER signature by the stored key verifies with PK.EUICC
    expect(verifyDer(pub, msg, signDer(key, msg))).toBe(true);
    // nothing else in the folder but the state file
    expect(readdirSync(join(path, '..')).filter((f) => !f.startsWith('secret.db'))).toEqual([]);
    expect(bytesEqual(card.runtime.identity.eidBytes, identity.eidBytes)).toBe(true);
  });
});
