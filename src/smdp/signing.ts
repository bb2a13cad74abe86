/**
 * SM-DP+ side of the SGP.22 mutual authentication (SGP22-NOTES §4.1-4.3): serverSigned1 + serverSignature1
 * (initiateAuthentication), verification of the eUICC's AuthenticateServerResponse (authenticateClient),
 * smdpSigned2 + smdpSignature2, verification of the PrepareDownloadResponse (getBoundProfilePackage).
 *
 * Layering: imports crypto/, asn1/ and util/ only (never euicc/ or lpa/).
 * Every verification failure is an {@link SmdpError}.
 */
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import {
  decodeAuthenticateServerResponse,
  decodePrepareDownloadResponse,
  encodeAuthenticateServerRequest,
  encodePrepareDownloadRequest,
  encodeServerSigned1,
  encodeSmdpSigned2,
  euiccSignature1Input,
  euiccSignature2Input,
  signatureTlv,
  type AuthenticateResponseOk,
  type AuthenticateServerResponse,
  type CtxParams1,
  type EuiccSigned1,
  type EUICCSigned2,
  type ServerSigned1,
  type SmdpSigned2,
} from '../asn1/sgp22/authentication.js';
import { CertificateError, parseCertificateCached, verifyEuiccChain, type CertificateInput, type EuiccChainResult } from '../crypto/certs.js';
import { signRaw, verifyRaw } from '../crypto/ecdsa.js';
import type { Certificate } from '../crypto/x509.js';
import { bytesEqual, concatBytes, utf8 } from '../util/hex.js';

export type SmdpErrorCode =
  | 'euicc-error' // the eUICC answered with an error code instead of a signed response
  | 'transaction-id' // the response's transactionId is not the session's
  | 'server-challenge' // euiccSigned1.serverChallenge is not ours
  | 'server-address' // euiccSigned1.serverAddress is not ours
  | 'certificate' // eUICC / EUM certificate chain rejected (cause: CertificateError)
  | 'bad-signature' // euiccSignature1 / euiccSignature2 does not verify
  | 'hash-cc' // hashCc missing, unexpected or wrong
  | 'malformed'; // the response does not decode

export class SmdpError extends Error {
  override readonly name = 'SmdpError';
  constructor(
    readonly code: SmdpErrorCode,
    message: string,
    /** For 'euicc-error': the eUICC's authenticateErrorCode / downloadErrorCode. */
    readonly euiccErrorCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A signing identity of the SM-DP+ (DPauth or DPpb): private key and certificate DER. */
export interface SigningIdentity {
  readonly privateKey: KeyObject;
  /** Certificate DER. */
  readonly cert: Uint8Array;
}

// ------------------------------------------------------------------------------------------ hashCc

/** hashCc = SHA256(SHA256(CC as UTF-8) ‖ transactionId) (SGP22-NOTES §4.3). */
export function computeHashCc(confirmationCode: string, transactionId: Uint8Array): Uint8Array {
  const inner = createHash('sha256').update(utf8(confirmationCode)).digest();
  return new Uint8Array(createHash('sha256').update(inner).update(transactionId).digest());
}

// ------------------------------------------------------------------------------------------ step 3

export interface ServerSigned1Input {
  readonly euiccChallenge: Uint8Array;
  readonly serverAddress: string;
  /** Default: 16 random bytes. */
  readonly transactionId?: Uint8Array;
  /** Default: 16 random bytes. */
  readonly serverChallenge?: Uint8Array;
}

export interface SignedServer1 {
  readonly serverSigned1: ServerSigned1 & { readonly raw: Uint8Array };
  /** r‖s. */
  readonly serverSignature1: Uint8Array;
  readonly transactionId: Uint8Array;
  readonly serverChallenge: Uint8Array;
}

/** Build serverSigned1 and sign it with SK.DPauth (initiateAuthentication). */
export function makeServerSigned1(input: ServerSigned1Input, dpAuth: SigningIdentity): SignedServer1 {
  const transactionId = input.transactionId ?? new Uint8Array(randomBytes(16));
  const serverChallenge = input.serverChallenge ?? new Uint8Array(randomBytes(16));
  const fields = { transactionId, euiccChallenge: input.euiccChallenge, serverAddress: input.serverAddress, serverChallenge };
  const raw = encodeServerSigned1(fields);
  return { serverSigned1: { ...fields, raw }, serverSignature1: signRaw(dpAuth.privateKey, raw), transactionId, serverChallenge };
}

/** The complete AuthenticateServerRequest (BF38) an LPA sends the eUICC for `signed`. */
export function buildAuthenticateServerRequest(
  signed: SignedServer1,
  opts: { euiccCiPKIdToBeUsed: Uint8Array; serverCertificate: Uint8Array; ctxParams1: CtxParams1 },
): Uint8Array {
  return encodeAuthenticateServerRequest({
    serverSigned1: signed.serverSigned1,
    serverSignature1: signed.serverSignature1,
    euiccCiPKIdToBeUsed: opts.euiccCiPKIdToBeUsed,
    serverCertificate: opts.serverCertificate,
    ctxParams1: opts.ctxParams1,
  });
}

// ------------------------------------------------------------------------------------------ step 7

export interface VerifiedAuthenticateServerResponse {
  readonly response: AuthenticateResponseOk;
  readonly euiccSigned1: EuiccSigned1;
  /** r‖s of euiccSignature1 (smdpSignature2 covers its 5F37 TLV). */
  readonly euiccSignature1: Uint8Array;
  readonly chain: EuiccChainResult;
  readonly eid: string;
  readonly euiccCertificate: Certificate;
}

/**
 * Verify an AuthenticateServerResponse (authenticateClient): eUICC error → 'euicc-error'; transactionId,
 * serverChallenge (and serverAddress when given); CERT.EUICC → CERT.EUM → trusted CI; euiccSignature1
 * with PK.EUICC over euiccSigned1 as received.
 */
export function verifyAuthenticateServerResponse(
  /** The DER, or its decoding when the caller has it already. */
  response: Uint8Array | AuthenticateServerResponse,
  expected: {
    readonly trustedCis: readonly CertificateInput[];
    readonly transactionId: Uint8Array;
    readonly serverChallenge: Uint8Array;
    readonly serverAddress?: string;
    readonly at?: Date;
    readonly checkDates?: boolean;
  },
): VerifiedAuthenticateServerResponse {
  let r: AuthenticateServerResponse;
  try {
    r = response instanceof Uint8Array ? decodeAuthenticateServerResponse(response) : response;
  } catch (e) {
    throw new SmdpError('malformed', `AuthenticateServerResponse: ${(e as Error).message}`, undefined, { cause: e });
  }
  if (r.kind === 'authenticateResponseError') {
    throw new SmdpError('euicc-error', `eUICC authenticateErrorCode ${r.authenticateErrorCode}`, r.authenticateErrorCode);
  }
  const s1 = r.euiccSigned1;
  if (!bytesEqual(s1.transactionId, expected.transactionId)) throw new SmdpError('transaction-id', 'euiccSigned1.transactionId differs');
  if (!bytesEqual(s1.serverChallenge, expected.serverChallenge)) throw new SmdpError('server-challenge', 'serverChallenge differs');
  if (expected.serverAddress !== undefined && s1.serverAddress.toLowerCase() !== expected.serverAddress.toLowerCase()) {
    throw new SmdpError('server-address', `serverAddress ${s1.serverAddress} is not ${expected.serverAddress}`);
  }
  let chain: EuiccChainResult;
  try {
    chain = verifyEuiccChain({
      trustedCis: expected.trustedCis,
      eumCert: r.eumCertificate,
      euiccCert: r.euiccCertificate,
      ...(expected.at !== undefined && { at: expected.at }),
      ...(expected.checkDates !== undefined && { checkDates: expected.checkDates }),
    });
  } catch (e) {
    if (e instanceof CertificateError) throw new SmdpError('certificate', e.message, undefined, { cause: e });
    throw e;
  }
  const key = chain.euicc.subjectPublicKeyInfo.key;
  if (!key || !verifyRaw(key, euiccSignature1Input(s1), r.euiccSignature1)) {
    throw new SmdpError('bad-signature', 'euiccSignature1 does not verify');
  }
  return {
    response: r,
    euiccSigned1: s1,
    euiccSignature1: r.euiccSignature1,
    chain,
    eid: chain.eid,
    euiccCertificate: chain.euicc,
  };
}

// ------------------------------------------------------------------------------------------ smdpSigned2

export interface SignedSmdp2 {
  readonly smdpSigned2: SmdpSigned2 & { readonly raw: Uint8Array };
  /** r‖s. */
  readonly smdpSignature2: Uint8Array;
}

/** Build smdpSigned2 and sign it with SK.DPpb over smdpSigned2 ‖ the 5F37 TLV of euiccSignature1. */
export function makeSmdpSigned2(
  input: { transactionId: Uint8Array; ccRequiredFlag: boolean; bppEuiccOtpk?: Uint8Array },
  euiccSignature1: Uint8Array,
  dpPb: SigningIdentity,
): SignedSmdp2 {
  const fields: SmdpSigned2 = {
    transactionId: input.transactionId,
    ccRequiredFlag: input.ccRequiredFlag,
    ...(input.bppEuiccOtpk !== undefined && { bppEuiccOtpk: input.bppEuiccOtpk }),
  };
  const raw = encodeSmdpSigned2(fields);
  const smdpSignature2 = signRaw(dpPb.privateKey, concatBytes(raw, signatureTlv(euiccSignature1)));
  return { smdpSigned2: { ...fields, raw }, smdpSignature2 };
}

/** The complete PrepareDownloadRequest (BF21) an LPA sends the eUICC. */
export function buildPrepareDownloadRequest(signed: SignedSmdp2, opts: { smdpCertificate: Uint8Array; hashCc?: Uint8Array }): Uint8Array {
  return encodePrepareDownloadRequest({
    smdpSigned2: signed.smdpSigned2,
    smdpSignature2: signed.smdpSignature2,
    ...(opts.hashCc !== undefined && { hashCc: opts.hashCc }),
    smdpCertificate: opts.smdpCertificate,
  });
}

export interface VerifiedPrepareDownloadResponse {
  readonly euiccSigned2: EUICCSigned2;
  /** otPK.EUICC.ECKA (65 bytes). */
  readonly euiccOtpk: Uint8Array;
  readonly hashCc?: Uint8Array;
}

/**
 * Verify a PrepareDownloadResponse (getBoundProfilePackage): eUICC error → 'euicc-error'; transactionId;
 * euiccSignature2 with PK.EUICC over euiccSigned2 ‖ the 5F37 TLV of smdpSignature2; hashCc when expected
 * (`expectedHashCc`) must be present and equal, when not expected must be absent.
 */
export function verifyPrepareDownloadResponse(
  response: Uint8Array,
  expected: {
    readonly transactionId: Uint8Array;
    readonly smdpSignature2: Uint8Array;
    readonly euiccCertificate: CertificateInput;
    readonly expectedHashCc?: Uint8Array;
  },
): VerifiedPrepareDownloadResponse {
  let r;
  try {
    r = decodePrepareDownloadResponse(response);
  } catch (e) {
    throw new SmdpError('malformed', `PrepareDownloadResponse: ${(e as Error).message}`, undefined, { cause: e });
  }
  if (r.kind === 'downloadResponseError') {
    throw new SmdpError('euicc-error', `eUICC downloadErrorCode ${r.downloadErrorCode}`, r.downloadErrorCode);
  }
  const s2 = r.euiccSigned2;
  if (!bytesEqual(s2.transactionId, expected.transactionId)) throw new SmdpError('transaction-id', 'euiccSigned2.transactionId differs');
  const cert = expected.euiccCertificate instanceof Uint8Array ? parseCertificateCached(expected.euiccCertificate, 'euicc') : expected.euiccCertificate;
  const key = cert.subjectPublicKeyInfo.key;
  if (!key || !verifyRaw(key, euiccSignature2Input(s2, expected.smdpSignature2), r.euiccSignature2)) {
    throw new SmdpError('bad-signature', 'euiccSignature2 does not verify');
  }
  if (expected.expectedHashCc !== undefined) {
    if (!s2.hashCc || !bytesEqual(s2.hashCc, expected.expectedHashCc)) throw new SmdpError('hash-cc', 'hashCc missing or wrong');
  } else if (s2.hashCc !== undefined) {
    throw new SmdpError('hash-cc', 'hashCc present although no confirmation code was required');
  }
  return { euiccSigned2: s2, euiccOtpk: s2.euiccOtpk, ...(s2.hashCc !== undefined && { hashCc: s2.hashCc }) };
}
