/**
 * ES10b download functions of the software eUICC (SGP22-NOTES §2.2, §4): GetEUICCChallenge (BF2E),
 * GetEUICCInfo1 (BF20), GetEUICCInfo2 (BF22), AuthenticateServer (BF38), PrepareDownload (BF21) and
 * CancelSession (BF41). LoadBoundProfilePackage lives in bpp.ts; the notification functions in
 * notifications.ts.
 *
 * Decisions (proposed, SGP22-NOTES leaves them open):
 * - The card has no clock: certificate dates are never checked (checkDates: false).
 * - AuthenticateServer check order: serverCertificate (invalidCertificate / invalidOid / unsupportedCurve),
 *   euiccCiPKIdToBeUsed in the signing list (ciPKUnknown), serverSignature1 (invalidSignature), a challenge
 *   was issued (noSessionContext), the challenge matches (euiccChallengeMismatch). The challenge is single use:
 *   it is consumed by every AuthenticateServer, successful or not, and every AuthenticateServer ends the
 *   previous RSP session.
 * - The server certificate may be a CERT.DPauth or (for an SM-DS) a CERT.DSauth; it must chain to a CI in the
 *   verification list. CERT.DPpb must chain to the same CI as the authenticated server certificate.
 * - PrepareDownload with ccRequiredFlag TRUE but no hashCc: undefinedError(127) (the SM-DP+ could never
 *   check the confirmation code). A hashCc sent with ccRequiredFlag FALSE is ignored (not copied).
 * - bppEuiccOtpk names a retained one-time key pair (see CancelSession): it is reused; when the card no
 *   longer has it, a fresh pair is generated (the SM-DP+ then sees a different euiccOtpk).
 * - A server certificate (CERT.DPauth / DSauth / DPpb) listed by a CRL loaded with LoadCRL (crl.ts) is refused as
 *   invalidCertificate(1).
 * - CancelSession: the current session is the prepared download, else the authenticated server. After
 *   postponed(1) / timeout(2) the one-time key pair is retained (at most {@link MAX_RETAINED_OTKS}, oldest
 *   dropped first) for a retry with bppEuiccOtpk.
 */
import { encodeTlv, type Tlv } from '../asn1/tlv.js';
import { encodeInteger } from '../asn1/der.js';
import {
  decodeAuthenticateServerRequest,
  decodePrepareDownloadRequest,
  encodeEUICCSigned2,
  encodeEuiccSigned1,
  encodeSmdpSigned2,
  signatureTlv,
  serverSignature1Input,
  AuthenticateErrorCodeValue as AE,
  DownloadErrorCodeValue as DE,
} from '../asn1/sgp22/authentication.js';
import {
  decodeGetEuiccChallengeRequest,
  decodeGetEuiccInfo1Request,
  decodeGetEuiccInfo2Request,
  encodeEUICCInfo1,
  encodeEUICCInfo2,
  encodeGetEuiccChallengeResponse,
  EuiccCategoryValue,
  RspCapability,
  UICCCapability,
  type EUICCInfo2,
} from '../asn1/sgp22/euicc-info.js';
import {
  CancelSessionReasonValue,
  CancelSessionResponseErrorValue,
  decodeCancelSessionRequest,
  encodeCancelSessionResponse,
  encodeEuiccCancelSessionSigned,
} from '../asn1/sgp22/cancel-session.js';
import { CertificateError, verifyServerCertificate, type ServerCertificateResult, type ServerRole } from '../crypto/certs.js';
import { verifyRaw, type Curve } from '../crypto/ecdsa.js';
import { generateOneTimeKeyPair, type EckaPrivateKey } from '../crypto/ecka.js';
import type { Certificate } from '../crypto/x509.js';
import { bytesEqual, concatBytes, toHex } from '../util/hex.js';
import type { CardRuntime, Es10Context, Es10Handler, Es10HandlerTable } from './types.js';
import type { RspSession } from './session.js';
import { isRevoked } from './crl.js';

/** How many one-time key pairs CancelSession keeps for a retry. */
export const MAX_RETAINED_OTKS = 4;

/** Free volatile memory reported in extCardResource (the software card has no real RAM limit). */
const FREE_VOLATILE_MEMORY = 0x4000;

/** UICC capabilities the software card reports (it stores any SAIP package; no real NAA runs). */
const UICC_CAPABILITIES: readonly number[] = [
  UICCCapability.usimSupport,
  UICCCapability.isimSupport,
  UICCCapability.akaMilenage,
  UICCCapability.akaTuak128,
  UICCCapability.akaTuak256,
  UICCCapability.usimTestAlgorithm,
  UICCCapability.javacard,
  UICCCapability.berTlvFileSupport,
  UICCCapability.dfLinkSupport,
  UICCCapability.getIdentity,
  UICCCapability['profile-a-x25519'],
  UICCCapability['profile-b-p256'],
];

/** Reported ppVersion (Protection Profile) and SAS accreditation "number" (a software card has none). */
const PP_VERSION = '1.0.0';
const SAS_ACCREDITATION = 'ESIMKIT-SOFT-EUICC';

// ------------------------------------------------------------------------------------------ helpers

function uintBytes(n: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  let v = Math.max(0, Math.min(n, 2 ** (8 * size) - 1));
  for (let i = size - 1; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return b;
}

/**
 * ETSI TS 102 226 Extended Card Resource Information: 81 number of installed applications (1 byte),
 * 82 free non-volatile memory (4 bytes), 83 free volatile memory (2 bytes), as real cards send them.
 */
export function extCardResource(card: CardRuntime): Uint8Array {
  const profiles = card.store.profileCount();
  const freeNv = Math.max(0, card.config.totalMemory - card.store.usedMemory());
  return new Uint8Array([
    ...encodeTlv(0x81, uintBytes(profiles, 1)),
    ...encodeTlv(0x82, uintBytes(freeNv, 4)),
    ...encodeTlv(0x83, uintBytes(FREE_VOLATILE_MEMORY, 2)),
  ]);
}

/** The card's EUICCInfo2 as of now (free memory shrinks as profiles are installed). */
export function euiccInfo2Of(card: CardRuntime): EUICCInfo2 {
  const rsp: number[] = [RspCapability.additionalProfile, RspCapability.crlSupport];
  if (card.config.testProfileSupport) rsp.push(RspCapability.testProfileSupport);
  return {
    profileVersion: card.config.profileVersion,
    svn: card.config.svn,
    euiccFirmwareVer: card.firmwareVersion(),
    extCardResource: extCardResource(card),
    uiccCapability: UICC_CAPABILITIES,
    ts102241Version: '9.2.0',
    globalplatformVersion: '2.3.0',
    rspCapability: rsp,
    euiccCiPKIdListForVerification: card.identity.ciPkidsForVerification,
    euiccCiPKIdListForSigning: card.identity.ciPkidsForSigning,
    euiccCategory: EuiccCategoryValue.mediumEuicc,
    ppVersion: PP_VERSION,
    sasAcreditationNumber: SAS_ACCREDITATION,
  };
}

function containsPkid(list: readonly Uint8Array[], pkid: Uint8Array): boolean {
  return list.some((p) => bytesEqual(p, pkid));
}

/** Trusted CIs usable for verifying server certificates (those in the verification list). */
function verificationCis(card: CardRuntime): Certificate[] {
  const list = card.identity.ciPkidsForVerification;
  return card.identity.trustedCis.filter((ci) => {
    const ski = ci.extensions.subjectKeyIdentifier?.keyIdentifier;
    return ski !== undefined && containsPkid(list, ski);
  });
}

type CertCheck = { ok: true; result: ServerCertificateResult } | { ok: false; code: 'certificate' | 'oid' | 'curve' };

function classify(e: unknown): 'certificate' | 'oid' | 'curve' {
  if (e instanceof CertificateError) {
    if (e.reason === 'bad-policy') return 'oid';
    if (e.reason === 'unsupported-curve') return 'curve';
  }
  return 'certificate';
}

/** Verify a server certificate for one of `roles` (first success wins; the first role's failure is reported). */
function checkServerCert(card: CardRuntime, der: Uint8Array, roles: readonly ServerRole[]): CertCheck {
  let first: 'certificate' | 'oid' | 'curve' | undefined;
  for (const role of roles) {
    try {
      const result = verifyServerCertificate({ trustedCis: verificationCis(card), cert: der, role, checkDates: false });
      // A certificate listed by a CRL loaded with LoadCRL (crl.ts) is refused like an invalid one.
      if (isRevoked(card, result.cert)) return { ok: false, code: 'certificate' };
      return { ok: true, result };
    } catch (e) {
      const c = classify(e);
      first ??= c;
      if (c !== 'oid') break; // only a policy (role) failure is worth trying the next role for
    }
  }
  return { ok: false, code: first ?? 'certificate' };
}

/** registeredID of the subjectAltName (SM-DP+ / SM-DS OID), if any. */
export function serverOidOf(cert: Certificate): string | undefined {
  const names = cert.extensions.subjectAltName?.names ?? [];
  for (const n of names) if (n.type === 'registeredID') return n.value;
  return undefined;
}

function curveOf(cert: Certificate): Curve | undefined {
  const c = cert.subjectPublicKeyInfo.curve;
  return c === 'P-256' || c === 'brainpoolP256r1' ? c : undefined;
}

/** End the RSP session (authentication, download, BPP); the challenge and retained keys are left alone. */
export function endRspSession(session: RspSession): void {
  session.auth = undefined;
  session.download = undefined;
  session.bpp?.dispose();
  session.bpp = undefined;
}

function retainOtk(session: RspSession, transactionId: Uint8Array, otSk: EckaPrivateKey, otPk: Uint8Array): void {
  const key = toHex(transactionId);
  session.retainedOtks.delete(key);
  session.retainedOtks.set(key, { otSk, otPk });
  while (session.retainedOtks.size > MAX_RETAINED_OTKS) {
    const oldest = session.retainedOtks.keys().next().value;
    if (oldest === undefined) break;
    session.retainedOtks.delete(oldest);
  }
}

// ------------------------------------------------------------------------------------------ handlers

const getEuiccChallenge: Es10Handler = (req: Tlv, ctx: Es10Context) => {
  decodeGetEuiccChallengeRequest(req);
  const challenge = ctx.card.random(16);
  ctx.card.session.challenge = challenge;
  return encodeGetEuiccChallengeResponse({ euiccChallenge: challenge });
};

const getEuiccInfo1: Es10Handler = (req: Tlv, ctx: Es10Context) => {
  decodeGetEuiccInfo1Request(req);
  const id = ctx.card.identity;
  return encodeEUICCInfo1({
    svn: ctx.card.config.svn,
    euiccCiPKIdListForVerification: id.ciPkidsForVerification,
    euiccCiPKIdListForSigning: id.ciPkidsForSigning,
  });
};

const getEuiccInfo2: Es10Handler = (req: Tlv, ctx: Es10Context) => {
  decodeGetEuiccInfo2Request(req);
  return encodeEUICCInfo2(euiccInfo2Of(ctx.card));
};

function authError(transactionId: Uint8Array, code: number): Uint8Array {
  return encodeTlv(0xbf38, encodeTlv(0xa1, [encodeTlv(0x80, transactionId), encodeInteger(0x02, code)]));
}

const authenticateServer: Es10Handler = (req: Tlv, ctx: Es10Context) => {
  const request = decodeAuthenticateServerRequest(req);
  const card = ctx.card;
  const session = card.session;
  // A new authentication ends any previous session; the challenge is single use.
  const challenge = session.challenge;
  session.challenge = undefined;
  endRspSession(session);
  const s1 = request.serverSigned1;
  const tId = s1.transactionId;

  const cert = checkServerCert(card, request.serverCertificate, ['DPauth', 'DSauth']);
  if (!cert.ok) {
    const code = cert.code === 'oid' ? AE.invalidOid : cert.code === 'curve' ? AE.unsupportedCurve : AE.invalidCertificate;
    return authError(tId, code);
  }
  if (!containsPkid(card.identity.ciPkidsForSigning, request.euiccCiPKIdToBeUsed)) return authError(tId, AE.ciPKUnknown);
  const serverKey = cert.result.cert.subjectPublicKeyInfo.key;
  if (!serverKey) return authError(tId, AE.unsupportedCurve);
  if (!verifyRaw(serverKey, serverSignature1Input(s1), request.serverSignature1)) return authError(tId, AE.invalidSignature);
  if (challenge === undefined) return authError(tId, AE.noSessionContext);
  if (!bytesEqual(challenge, s1.euiccChallenge)) return authError(tId, AE.euiccChallengeMismatch);

  const euiccSigned1 = encodeEuiccSigned1({
    transactionId: tId,
    serverAddress: s1.serverAddress,
    serverChallenge: s1.serverChallenge,
    euiccInfo2: euiccInfo2Of(card),
    ctxParams1: request.ctxParams1,
  });
  const sig1 = signatureTlv(card.identity.sign(euiccSigned1));
  const matchingId = request.ctxParams1.kind === 'ctxParamsForCommonAuthentication' ? request.ctxParams1.matchingId : undefined;
  session.auth = {
    transactionId: tId,
    serverAddress: s1.serverAddress,
    serverChallenge: s1.serverChallenge,
    serverCertificate: cert.result.cert,
    ciPkid: request.euiccCiPKIdToBeUsed,
    ...(matchingId !== undefined && { matchingId }),
    euiccSignature1: sig1,
  };
  return encodeTlv(
    0xbf38,
    encodeTlv(0xa0, [euiccSigned1, sig1, card.identity.euiccCertificate, card.identity.eumCertificate]),
  );
};

function downloadError(transactionId: Uint8Array, code: number): Uint8Array {
  return encodeTlv(0xbf21, encodeTlv(0xa1, [encodeTlv(0x80, transactionId), encodeInteger(0x02, code)]));
}

const prepareDownload: Es10Handler = (req: Tlv, ctx: Es10Context) => {
  const request = decodePrepareDownloadRequest(req);
  const card = ctx.card;
  const session = card.session;
  const s2 = request.smdpSigned2;
  const tId = s2.transactionId;
  const auth = session.auth;
  if (!auth || !auth.euiccSignature1) return downloadError(tId, DE.noSessionContext);
  if (!bytesEqual(auth.transactionId, tId)) return downloadError(tId, DE.invalidTransactionId);

  const cert = checkServerCert(card, request.smdpCertificate, ['DPpb']);
  if (!cert.ok) return downloadError(tId, cert.code === 'curve' ? DE.unsupportedCurve : DE.invalidCertificate);
  const authCi = auth.serverCertificate.extensions.authorityKeyIdentifier?.keyIdentifier;
  const pbCi = cert.result.cert.extensions.authorityKeyIdentifier?.keyIdentifier;
  if (!authCi || !pbCi || !bytesEqual(authCi, pbCi)) return downloadError(tId, DE.invalidCertificate);
  const pbKey = cert.result.cert.subjectPublicKeyInfo.key;
  const curve = curveOf(cert.result.cert);
  if (!pbKey || !curve) return downloadError(tId, DE.unsupportedCurve);
  // smdpSignature2 covers smdpSigned2 as received ‖ the 5F37 TLV of our euiccSignature1.
  if (!verifyRaw(pbKey, concatBytes(s2.raw ?? encodeSmdpSigned2(s2), auth.euiccSignature1), request.smdpSignature2)) {
    return downloadError(tId, DE.invalidSignature);
  }
  if (s2.ccRequiredFlag && request.hashCc === undefined) return downloadError(tId, DE.undefinedError);

  // One-time key pair: the retained one when smdpSigned2 names it, else a fresh one.
  let ot: { otSk: EckaPrivateKey; otPk: Uint8Array } | undefined;
  if (s2.bppEuiccOtpk !== undefined) {
    for (const [k, v] of session.retainedOtks) {
      if (bytesEqual(v.otPk, s2.bppEuiccOtpk)) {
        ot = v;
        session.retainedOtks.delete(k);
        break;
      }
    }
  }
  if (!ot) {
    const fresh = generateOneTimeKeyPair(curve);
    ot = { otSk: fresh, otPk: fresh.publicPoint };
  }
  const hashCc = s2.ccRequiredFlag ? request.hashCc : undefined;
  const euiccSigned2 = encodeEUICCSigned2({ transactionId: tId, euiccOtpk: ot.otPk, ...(hashCc !== undefined && { hashCc }) });
  const sig2 = card.identity.sign(concatBytes(euiccSigned2, signatureTlv(request.smdpSignature2)));

  session.bpp?.dispose();
  session.bpp = undefined;
  session.download = {
    transactionId: tId,
    serverAddress: auth.serverAddress,
    dpPbCertificate: cert.result.cert,
    smdpOid: cert.result.smdpOid ?? serverOidOf(cert.result.cert) ?? '',
    curve,
    otSk: ot.otSk,
    otPk: ot.otPk,
    ccRequired: s2.ccRequiredFlag,
    ...(hashCc !== undefined && { hashCc }),
  };
  return encodeTlv(0xbf21, encodeTlv(0xa0, [euiccSigned2, signatureTlv(sig2)]));
};

const cancelSession: Es10Handler = (req: Tlv, ctx: Es10Context) => {
  const request = decodeCancelSessionRequest(req);
  const session = ctx.card.session;
  const current = session.download ?? session.auth;
  if (!current || !bytesEqual(current.transactionId, request.transactionId)) {
    return encodeCancelSessionResponse({
      kind: 'cancelSessionResponseError',
      cancelSessionResponseError: CancelSessionResponseErrorValue.invalidTransactionId,
    });
  }
  const smdpOid =
    session.download?.smdpOid || (session.auth ? serverOidOf(session.auth.serverCertificate) : undefined) || '0.0';
  const signed = encodeEuiccCancelSessionSigned({ transactionId: request.transactionId, smdpOid, reason: request.reason });
  const sig = ctx.card.identity.sign(signed);
  const dl = session.download;
  if (dl && (request.reason === CancelSessionReasonValue.postponed || request.reason === CancelSessionReasonValue.timeout)) {
    retainOtk(session, dl.transactionId, dl.otSk, dl.otPk);
  }
  endRspSession(session);
  return encodeTlv(0xbf41, encodeTlv(0xa0, [signed, signatureTlv(sig)]));
};

export const ES10B_HANDLERS: Es10HandlerTable = new Map<number, Es10Handler>([
  [0xbf2e, getEuiccChallenge],
  [0xbf20, getEuiccInfo1],
  [0xbf22, getEuiccInfo2],
  [0xbf38, authenticateServer],
  [0xbf21, prepareDownload],
  [0xbf41, cancelSession],
]);
