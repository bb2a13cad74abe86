/**
 * Test helper: a complete SGP.22 profile download into a {@link SoftEuicc}, through APDUs only, with the
 * SM-DP+ pieces of src/smdp/ playing the server:
 *   GetEUICCChallenge + GetEUICCInfo1 → serverSigned1 (DPauth) → AuthenticateServer → verify (eUICC chain,
 *   euiccSignature1) → smdpSigned2 (DPpb) → PrepareDownload → verify (euiccSignature2, hashCc) → BPP
 *   (bpp-builder) → LoadBoundProfilePackage segment by segment (segmentBpp; each segment its own STORE DATA
 *   sequence) → the BF37 ProfileInstallationResult.
 *
 * `downloadToCard` does it all; `authenticateAndPrepare` + `loadBpp` let tests tamper with the BPP between.
 */
import { encodeGetEuiccChallengeRequest, encodeGetEuiccInfo1Request, decodeGetEuiccChallengeResponse, decodeEUICCInfo1 } from '../../src/asn1/sgp22/euicc-info.js';
import { segmentBpp } from '../../src/asn1/sgp22/bpp.js';
import { decodeProfileInstallationResult, type ProfileInstallationResult } from '../../src/asn1/sgp22/notifications.js';
import type { StoreMetadataRequest } from '../../src/asn1/sgp22/metadata.js';
import { ciPkid } from '../../src/crypto/certs.js';
import type { IssuedCertificate } from '../../src/crypto/pki.js';
import type { SoftEuicc } from '../../src/euicc/card.js';
import { buildBoundProfilePackageDetailed, type BuiltBpp } from '../../src/smdp/bpp-builder.js';
import {
  buildAuthenticateServerRequest,
  buildPrepareDownloadRequest,
  computeHashCc,
  makeServerSigned1,
  makeSmdpSigned2,
  verifyAuthenticateServerResponse,
  verifyPrepareDownloadResponse,
} from '../../src/smdp/signing.js';
import { decodeIccid } from '../../src/util/bcd.js';
import { bytesEqual } from '../../src/util/hex.js';
import { es10 } from './card-driver.js';

export const TEST_SMDP_ADDRESS = 'testsmdpplus1.example.com';

export interface PrepareOptions {
  /** The CI the eUICC should sign with (its PKID becomes euiccCiPKIdToBeUsed) and the SM-DP+ trusts. */
  ci: IssuedCertificate | { certDer: Uint8Array };
  dpAuth: { privateKey: IssuedCertificate['privateKey']; certDer: Uint8Array };
  dpPb: { privateKey: IssuedCertificate['privateKey']; certDer: Uint8Array };
  matchingId?: string;
  /** Confirmation code: sets ccRequiredFlag and sends hashCc. */
  cc?: string;
  serverAddress?: string;
}

export interface PreparedSession {
  transactionId: Uint8Array;
  euiccOtpk: Uint8Array;
  eid: string;
  serverAddress: string;
}

/** Steps 1-10 of the download (SGP22-NOTES §4.1) up to the eUICC's one-time key. Throws on any error. */
export function authenticateAndPrepare(card: SoftEuicc, o: PrepareOptions): PreparedSession {
  const serverAddress = o.serverAddress ?? TEST_SMDP_ADDRESS;
  const { euiccChallenge } = decodeGetEuiccChallengeResponse(es10(card, encodeGetEuiccChallengeRequest()));
  const info1 = decodeEUICCInfo1(es10(card, encodeGetEuiccInfo1Request()));
  const pkid = ciPkid(o.ci.certDer);
  if (!info1.euiccCiPKIdListForSigning.some((p) => bytesEqual(p, pkid))) throw new Error('the card does not sign with this CI');
  const signed1 = makeServerSigned1({ euiccChallenge, serverAddress }, { privateKey: o.dpAuth.privateKey, cert: o.dpAuth.certDer });
  const authReq = buildAuthenticateServerRequest(signed1, {
    euiccCiPKIdToBeUsed: pkid,
    serverCertificate: o.dpAuth.certDer,
    ctxParams1: {
      kind: 'ctxParamsForCommonAuthentication',
      ...(o.matchingId !== undefined && { matchingId: o.matchingId }),
      deviceInfo: { tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11), deviceCapabilities: {} },
    },
  });
  const auth = verifyAuthenticateServerResponse(es10(card, authReq), {
    trustedCis: [o.ci.certDer],
    transactionId: signed1.transactionId,
    serverChallenge: signed1.serverChallenge,
    serverAddress,
    checkDates: false,
  });
  const tId = signed1.transactionId;
  const signed2 = makeSmdpSigned2({ transactionId: tId, ccRequiredFlag: o.cc !== undefined }, auth.euiccSignature1, {
    privateKey: o.dpPb.privateKey,
    cert: o.dpPb.certDer,
  });
  const hashCc = o.cc !== undefined ? computeHashCc(o.cc, tId) : undefined;
  const pdReq = buildPrepareDownloadRequest(signed2, { smdpCertificate: o.dpPb.certDer, ...(hashCc && { hashCc }) });
  const pd = verifyPrepareDownloadResponse(es10(card, pdReq), {
    transactionId: tId,
    smdpSignature2: signed2.smdpSignature2,
    euiccCertificate: auth.euiccCertificate,
    ...(hashCc && { expectedHashCc: hashCc }),
  });
  return { transactionId: tId, euiccOtpk: pd.euiccOtpk, eid: auth.eid, serverAddress };
}

/**
 * LoadBoundProfilePackage: each segment of segmentBpp as its own STORE DATA sequence; stops at the first
 * response with data (the BF37). Returns the BF37 bytes and the number of segments sent.
 */
export function loadBpp(card: SoftEuicc, bpp: Uint8Array, segments?: readonly Uint8Array[]): { pir: Uint8Array; sent: number } {
  const segs = segments ?? segmentBpp(bpp);
  for (let i = 0; i < segs.length; i++) {
    const r = es10(card, segs[i]!);
    if (r.length > 0) return { pir: r, sent: i + 1 };
  }
  throw new Error('the card answered no ProfileInstallationResult');
}

export interface DownloadOptions extends PrepareOptions {
  upp: Uint8Array;
  metadata: StoreMetadataRequest;
  replaceSessionKeys?: boolean;
  hostId?: Uint8Array;
}

export interface DownloadResult {
  /** The decoded BF37. */
  pir: ProfileInstallationResult;
  pirBytes: Uint8Array;
  /** ICCID digits of the metadata. */
  iccid: string;
  transactionId: Uint8Array;
  built: BuiltBpp;
}

/** A complete download; the PIR may be a success or an error result (check `pir`). */
export function downloadToCard(card: SoftEuicc, o: DownloadOptions): DownloadResult {
  const s = authenticateAndPrepare(card, o);
  const built = buildBoundProfilePackageDetailed({
    transactionId: s.transactionId,
    euiccOtpk: s.euiccOtpk,
    dpPb: { privateKey: o.dpPb.privateKey, cert: o.dpPb.certDer },
    eid: s.eid,
    upp: o.upp,
    metadata: o.metadata,
    ...(o.replaceSessionKeys !== undefined && { replaceSessionKeys: o.replaceSessionKeys }),
    ...(o.hostId !== undefined && { hostId: o.hostId }),
  });
  const { pir } = loadBpp(card, built.bpp);
  return { pir: decodeProfileInstallationResult(pir), pirBytes: pir, iccid: decodeIccid(o.metadata.iccid), transactionId: s.transactionId, built };
}
