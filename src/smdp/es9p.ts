/**
 * ES9+ function logic of the reference SM-DP+ (SGP22-NOTES §4.1, §5.1, §5.2): initiateAuthentication,
 * authenticateClient, getBoundProfilePackage, handleNotification and cancelSession over the JSON bodies of
 * §5.1, with every check answering its SGP.22 subject/reason code. Transport-free: server.ts puts it on
 * HTTPS; tests call it directly.
 *
 * Layering: asn1/, crypto/, util/ and smdp/ only.
 */
import { createHash } from 'node:crypto';
import {
  decodeAuthenticateServerResponse,
  decodePrepareDownloadResponse,
  encodeSmdpSigned2,
  type AuthenticateServerResponse,
} from '../asn1/sgp22/authentication.js';
import { decodeCancelSessionResponse, euiccCancelSessionSignatureInput } from '../asn1/sgp22/cancel-session.js';
import { decodeEUICCInfo1, type EUICCInfo2 } from '../asn1/sgp22/euicc-info.js';
import { encodeStoreMetadataRequest, NotificationEventBit } from '../asn1/sgp22/metadata.js';
import {
  decodePendingNotification,
  otherNotificationSignedData,
  pirSignedData,
  type ProfileInstallationResult,
  type OtherSignedNotification,
} from '../asn1/sgp22/notifications.js';
import { signatureTlv } from '../asn1/sgp22/codec-util.js';
import { CertificateError, parseCertificateCached, verifyEuiccChain, verifyServerCertificate } from '../crypto/certs.js';
import { verifyRaw } from '../crypto/ecdsa.js';
import { parseCertificate, type Certificate } from '../crypto/x509.js';
import { decodeIccid } from '../util/bcd.js';
import { bytesEqual, concatBytes, fromBase64, fromHex, toBase64, toHex } from '../util/hex.js';
import { buildBoundProfilePackageDetailed, decodeBppSeed, encodeBppSeed, type BppSeed, type BuiltBpp } from './bpp-builder.js';
import type { SmdpIdentity } from './identity.js';
import { InventoryError, type NotificationEventName, type SmdpInventory } from './inventory.js';
import {
  computeHashCc,
  makeServerSigned1,
  makeSmdpSigned2,
  SmdpError,
  verifyAuthenticateServerResponse,
  verifyPrepareDownloadResponse,
} from './signing.js';

// ------------------------------------------------------------------------------------------ JSON shapes

export type ExecutionStatus = 'Executed-Success' | 'Executed-WithWarning' | 'Failed' | 'Expired';

export interface StatusCodeData {
  subjectCode: string;
  reasonCode: string;
  subjectIdentifier?: string;
  message?: string;
}

export interface ResponseHeader {
  functionExecutionStatus: { status: ExecutionStatus; statusCodeData?: StatusCodeData };
}

export type Es9pFunction = 'initiateAuthentication' | 'authenticateClient' | 'getBoundProfilePackage' | 'handleNotification' | 'cancelSession';

export const ES9P_FUNCTIONS: readonly Es9pFunction[] = [
  'initiateAuthentication',
  'authenticateClient',
  'getBoundProfilePackage',
  'handleNotification',
  'cancelSession',
];

/** A function's answer: HTTP 200 with a JSON body (success or Failed), or 204 without body. */
export type Es9pResult = { httpStatus: 200; body: { header: ResponseHeader } & Record<string, unknown> } | { httpStatus: 204 };

/** A function failure with its SGP.22 subject/reason code. */
export class Es9pError extends Error {
  override readonly name = 'Es9pError';
  constructor(
    readonly subjectCode: string,
    readonly reasonCode: string,
    message: string,
  ) {
    super(message);
  }
}

export function failedBody(subjectCode: string, reasonCode: string, message: string): { header: ResponseHeader } {
  return { header: { functionExecutionStatus: { status: 'Failed', statusCodeData: { subjectCode, reasonCode, message } } } };
}

const SUCCESS: ResponseHeader = { functionExecutionStatus: { status: 'Executed-Success' } };

// ------------------------------------------------------------------------------------------ options

export interface Es9pOptions {
  identity: SmdpIdentity;
  inventory: SmdpInventory;
  /** The address this SM-DP+ answers for; default identity.address. */
  address?: string;
  /** Wrong confirmation codes allowed per order (default 3). */
  confirmationCodeRetries?: number;
  /** Session lifetime (default 10 minutes). */
  sessionTtlMs?: number;
  /** Put a ReplaceSessionKeys (A2) into the BPP (default true). */
  replaceSessionKeys?: boolean;
  /** Check validity dates of eUICC/EUM certificates (default true). */
  checkCertificateDates?: boolean;
  now?: () => Date;
  /** Called for notifications whose verification failed (never with secrets). */
  onWarning?: (message: string) => void;
}

/**
 * CancelSession reasons after which the order stays usable: postponed, timeout, metadataMismatch (the LPA
 * found another profile than the one it previewed, e.g. after the operator re-pointed the matchingId: the
 * order itself is sound, the user previews again), loadBppExecutionError, undefinedReason. endUserRejection
 * and pprNotAllowed end the order.
 */
export const RETRYABLE_CANCEL_REASONS: ReadonlySet<number> = new Set([1, 2, 4, 5, 127]);

// ------------------------------------------------------------------------------------------ helpers

function str(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (v === undefined || v === null) throw new Es9pError('1.3.1', '2.2', `mandatory element ${field} missing`);
  if (typeof v !== 'string') throw new Es9pError('1.3.1', '2.1', `${field} must be a string`);
  return v;
}

function b64(body: Record<string, unknown>, field: string): Uint8Array {
  const s = str(body, field);
  try {
    return fromBase64(s);
  } catch {
    throw new Es9pError('1.3.1', '2.1', `${field} is not base64`);
  }
}

function tid(body: Record<string, unknown>): string {
  const s = str(body, 'transactionId');
  if (!/^([0-9A-Fa-f]{2}){1,16}$/.test(s)) throw new Es9pError('8.10.1', '3.9', 'transactionId unknown');
  return s.toUpperCase();
}

function octetStringTlv(v: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(0x04, v.length), v);
}

function sha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(b).digest());
}

/** Free non-volatile memory from EUICCInfo2.extCardResource (tag 82), or undefined. */
export function freeNvm(extCardResource: Uint8Array): number | undefined {
  let i = 0;
  while (i + 2 <= extCardResource.length) {
    const tag = extCardResource[i]!;
    const len = extCardResource[i + 1]!;
    if (len > 0x7f || i + 2 + len > extCardResource.length) return undefined;
    if (tag === 0x82) {
      let v = 0;
      for (let k = 0; k < len; k++) v = v * 256 + extCardResource[i + 2 + k]!;
      return v;
    }
    i += 2 + len;
  }
  return undefined;
}

function certCodes(e: CertificateError): Es9pError {
  if (e.reason === 'unknown-ci') return new Es9pError('8.11.1', '3.9', e.message);
  if (e.reason === 'eid-mismatch') return new Es9pError('8.1.1', '3.8', e.message);
  const expired = e.reason === 'expired' || e.reason === 'not-yet-valid';
  const subject = e.certificate === 'euicc' ? '8.1.3' : '8.1.2';
  return new Es9pError(subject, expired ? '6.3' : '6.1', e.message);
}

const EVENT_NAMES: Record<number, NotificationEventName> = {
  [NotificationEventBit.notificationInstall]: 'install',
  [NotificationEventBit.notificationEnable]: 'enable',
  [NotificationEventBit.notificationDisable]: 'disable',
  [NotificationEventBit.notificationDelete]: 'delete',
};

// ------------------------------------------------------------------------------------------ service

export class Es9pService {
  readonly identity: SmdpIdentity;
  readonly inventory: SmdpInventory;
  address: string;
  readonly smdpOid: string;
  private readonly ccRetries: number;
  private readonly ttl: number;
  private readonly rsk: boolean;
  private readonly checkDates: boolean;
  private readonly now: () => Date;
  private readonly warn: (m: string) => void;
  private readonly ciByPkid: { pkid: Uint8Array; der: Uint8Array }[];
  private readonly dpAuthCiPkid: Uint8Array;

  constructor(o: Es9pOptions) {
    this.identity = o.identity;
    this.inventory = o.inventory;
    this.address = o.address ?? o.identity.address;
    this.ccRetries = o.confirmationCodeRetries ?? 3;
    this.ttl = o.sessionTtlMs ?? 600_000;
    this.rsk = o.replaceSessionKeys ?? true;
    this.checkDates = o.checkCertificateDates ?? true;
    this.now = o.now ?? (() => new Date());
    this.warn = o.onWarning ?? (() => undefined);
    this.ciByPkid = o.identity.ciCerts.map((der) => {
      const ski = parseCertificate(der, 'ci').extensions.subjectKeyIdentifier?.keyIdentifier;
      if (!ski) throw new TypeError('CI certificate without subjectKeyIdentifier');
      return { pkid: ski, der };
    });
    const auth = verifyServerCertificate({ trustedCis: o.identity.ciCerts, cert: o.identity.dpAuth.certDer, role: 'DPauth', checkDates: false });
    if (auth.smdpOid === undefined) throw new TypeError('CERT.DPauth carries no SM-DP+ OID');
    this.smdpOid = auth.smdpOid;
    const aki = auth.cert.extensions.authorityKeyIdentifier?.keyIdentifier;
    if (!aki) throw new TypeError('CERT.DPauth without authorityKeyIdentifier');
    this.dpAuthCiPkid = aki;
  }

  /** Dispatch by function name; never throws for protocol failures (they become Failed bodies). */
  async handle(fn: Es9pFunction, body: unknown): Promise<Es9pResult> {
    try {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Es9pError('1.3.1', '2.1', 'request body must be a JSON object');
      const b = body as Record<string, unknown>;
      switch (fn) {
        case 'initiateAuthentication':
          return { httpStatus: 200, body: this.initiateAuthentication(b) };
        case 'authenticateClient':
          return { httpStatus: 200, body: this.authenticateClient(b) };
        case 'getBoundProfilePackage':
          return { httpStatus: 200, body: this.getBoundProfilePackage(b) };
        case 'handleNotification':
          this.handleNotification(b);
          return { httpStatus: 204 };
        case 'cancelSession':
          return { httpStatus: 200, body: this.cancelSession(b) };
      }
    } catch (e) {
      if (e instanceof Es9pError || e instanceof InventoryError) return { httpStatus: 200, body: failedBody(e.subjectCode, e.reasonCode, e.message) };
      throw e;
    }
  }

  // -------------------------------------------------------------------------- initiateAuthentication

  initiateAuthentication(body: Record<string, unknown>): { header: ResponseHeader } & Record<string, unknown> {
    const euiccChallenge = b64(body, 'euiccChallenge');
    const info1Bytes = b64(body, 'euiccInfo1');
    const smdpAddress = str(body, 'smdpAddress');
    if (euiccChallenge.length !== 16) throw new Es9pError('1.3.1', '2.1', 'euiccChallenge must be 16 bytes');
    if (smdpAddress.toLowerCase() !== this.address.toLowerCase()) throw new Es9pError('8.8.1', '3.8', `SM-DP+ address ${smdpAddress} refused`);
    let info1;
    try {
      info1 = decodeEUICCInfo1(info1Bytes);
    } catch (e) {
      throw new Es9pError('8.8.3', '3.1', `euiccInfo1 undecodable: ${(e as Error).message}`);
    }
    const major = Number(info1.svn.split('.')[0]);
    if (major !== 2) throw new Es9pError('8.8.3', '3.1', `eUICC SVN ${info1.svn} not supported`);
    const chosen = this.ciByPkid.find((c) => info1.euiccCiPKIdListForSigning.some((p) => bytesEqual(p, c.pkid)));
    if (!chosen) throw new Es9pError('8.8.2', '3.1', 'no proposed CI PKID is supported');
    if (!info1.euiccCiPKIdListForVerification.some((p) => bytesEqual(p, this.dpAuthCiPkid))) {
      throw new Es9pError('8.8.4', '3.7', 'no CERT.DPauth under a CI the eUICC verifies');
    }
    const signed = makeServerSigned1({ euiccChallenge, serverAddress: this.address }, { privateKey: this.identity.dpAuth.privateKey, cert: this.identity.dpAuth.certDer });
    const transactionId = toHex(signed.transactionId).toUpperCase();
    this.inventory.createSession({ transactionId, euiccChallenge, serverChallenge: signed.serverChallenge, ciPkid: chosen.pkid, ttlMs: this.ttl });
    return {
      header: SUCCESS,
      transactionId,
      serverSigned1: toBase64(signed.serverSigned1.raw),
      serverSignature1: toBase64(signatureTlv(signed.serverSignature1)),
      euiccCiPKIdToBeUsed: toBase64(octetStringTlv(chosen.pkid)),
      serverCertificate: toBase64(this.identity.dpAuth.certDer),
    };
  }

  // -------------------------------------------------------------------------- authenticateClient

  authenticateClient(body: Record<string, unknown>): { header: ResponseHeader } & Record<string, unknown> {
    const transactionId = tid(body);
    const session = this.inventory.session(transactionId);
    if (!session) throw new Es9pError('8.10.1', '3.9', 'transactionId unknown');
    const payload = b64(body, 'authenticateServerResponse');
    const reqHash = sha256(payload);
    if (session.state !== 'initiated') {
      // the same request again (the answer was lost): the same answer, rebuilt from what the session keeps
      if (session.acRequestHash && bytesEqual(session.acRequestHash, reqHash) && session.smdpSignature2 && session.iccid) {
        return this.authenticateClientResponse(transactionId, session.iccid, session.ccRequired, session.smdpSignature2);
      }
      throw new Es9pError('8.10.1', '3.9', 'transactionId unknown (session already authenticated)');
    }
    try {
      return this.authenticateClientChecked(transactionId, session.serverChallenge, session.ciPkid, payload, reqHash);
    } catch (e) {
      // any failure ends the session: the LPA starts again with a new transaction
      this.inventory.deleteSession(transactionId);
      throw e;
    }
  }

  private authenticateClientChecked(
    transactionId: string,
    serverChallenge: Uint8Array,
    ciPkid: Uint8Array,
    payload: Uint8Array,
    reqHash: Uint8Array,
  ): { header: ResponseHeader } & Record<string, unknown> {
    const ci = this.ciByPkid.find((c) => bytesEqual(c.pkid, ciPkid));
    if (!ci) throw new Es9pError('8.11.1', '3.9', 'CI of the session no longer trusted');
    // The EUM must be issued by the CI chosen in initiateAuthentication (8.11.1/3.9). Checked on the
    // decoded response before the full verification so that the code is the specific one.
    let decoded: AuthenticateServerResponse | undefined;
    try {
      decoded = decodeAuthenticateServerResponse(payload);
    } catch {
      decoded = undefined; // reported by the full verification (8.1.3 / malformed)
    }
    if (decoded) this.checkEumIssuer(decoded, ciPkid);
    let verified;
    try {
      verified = verifyAuthenticateServerResponse(decoded ?? payload, {
        trustedCis: [ci.der],
        transactionId: fromHex(transactionId),
        serverChallenge,
        serverAddress: this.address,
        at: this.now(),
        checkDates: this.checkDates,
      });
    } catch (e) {
      if (!(e instanceof SmdpError)) throw e;
      switch (e.code) {
        case 'euicc-error':
          throw new Es9pError('8.1', '6.1', `the eUICC refused the authentication (authenticateErrorCode ${e.euiccErrorCode})`);
        case 'transaction-id':
          throw new Es9pError('8.10.1', '3.9', 'transactionId in euiccSigned1 differs');
        case 'server-challenge':
          throw new Es9pError('8.1', '6.1', 'serverChallenge invalid');
        case 'server-address':
          throw new Es9pError('8.8.1', '3.8', 'serverAddress in euiccSigned1 refused');
        case 'certificate':
          if (e.cause instanceof CertificateError) throw certCodes(e.cause);
          throw new Es9pError('8.1.3', '6.1', e.message);
        case 'bad-signature':
          throw new Es9pError('8.1', '6.1', 'euiccSignature1 invalid');
        default:
          throw new Es9pError('1.3.1', '2.1', e.message);
      }
    }
    const eid = verified.eid;
    const ctx = verified.euiccSigned1.ctxParams1;
    if (ctx.kind !== 'ctxParamsForCommonAuthentication') throw new Es9pError('8.2.6', '3.8', 'no ctxParamsForCommonAuthentication');
    const mid = ctx.matchingId;
    let order;
    if (mid === undefined || mid === '') {
      order = this.inventory.activeOrderForEid(eid);
      if (!order) throw new Es9pError('8.2.6', '3.8', 'no pending order for this EID');
    } else {
      order = this.inventory.order(mid);
      if (!order) throw new Es9pError('8.2.6', '3.8', 'matchingId refused');
    }
    if (order.state !== 'active') throw new Es9pError('8.2.6', '3.8', 'matchingId refused (order finished)');
    if (order.eid !== undefined && order.eid !== eid) throw new Es9pError('8.1.1', '3.8', 'EID does not match the order');
    // eligibility: memory and forbidden PPRs
    const metadata = this.inventory.storeMetadata(order.iccid, this.address);
    this.checkEligibility(verified.euiccSigned1.euiccInfo2, order.iccid, metadata.profilePolicyRules ?? []);
    // one transaction (one commit): the order's attempt and EID binding together with the session
    return this.inventory.transaction(() => {
      const { order: o2, iccid } = this.inventory.beginDownload(order.matchingId, eid);
      const signed2 = makeSmdpSigned2({ transactionId: fromHex(transactionId), ccRequiredFlag: o2.ccRequired }, verified.euiccSignature1, {
        privateKey: this.identity.dpPb.privateKey,
        cert: this.identity.dpPb.certDer,
      });
      this.inventory.authenticateSession(transactionId, {
        eid,
        matchingId: o2.matchingId,
        iccid,
        euiccCert: verified.response.euiccCertificate,
        smdpSignature2: signed2.smdpSignature2,
        ccRequired: o2.ccRequired,
        acRequestHash: reqHash,
      });
      return this.authenticateClientResponse(transactionId, iccid, o2.ccRequired, signed2.smdpSignature2, encodeStoreMetadataRequest(metadata), signed2.smdpSigned2.raw);
    });
  }

  /**
   * The authenticateClient answer. Everything in it is a function of the session (transactionId, the
   * profile's metadata, ccRequired, the smdpSignature2 made once), so a repeated request gets the same bytes.
   */
  private authenticateClientResponse(
    transactionId: string,
    iccid: string,
    ccRequired: boolean,
    smdpSignature2: Uint8Array,
    metadata = encodeStoreMetadataRequest(this.inventory.storeMetadata(iccid, this.address)),
    smdpSigned2 = encodeSmdpSigned2({ transactionId: fromHex(transactionId), ccRequiredFlag: ccRequired }),
  ): { header: ResponseHeader } & Record<string, unknown> {
    return {
      header: SUCCESS,
      transactionId,
      profileMetadata: toBase64(metadata),
      smdpSigned2: toBase64(smdpSigned2),
      smdpSignature2: toBase64(signatureTlv(smdpSignature2)),
      smdpCertificate: toBase64(this.identity.dpPb.certDer),
    };
  }

  /** The EUM must name (AKI) the CI chosen in initiateAuthentication: none → 8.1.2/6.1, another → 8.11.1/3.9. */
  private checkEumIssuer(r: AuthenticateServerResponse, ciPkid: Uint8Array): void {
    if (r.kind !== 'authenticateResponseOk') return;
    let eum: Certificate;
    try {
      eum = parseCertificateCached(r.eumCertificate, 'eum');
    } catch (e) {
      throw new Es9pError('8.1.2', '6.1', `EUM certificate invalid: ${(e as Error).message}`);
    }
    const aki = eum.extensions.authorityKeyIdentifier?.keyIdentifier;
    if (!aki) throw new Es9pError('8.1.2', '6.1', 'EUM certificate without authorityKeyIdentifier');
    if (!bytesEqual(aki, ciPkid)) throw new Es9pError('8.11.1', '3.9', 'EUM certificate not issued by the CI chosen for this session');
  }

  private checkEligibility(info2: EUICCInfo2, iccid: string, pprs: readonly number[]): void {
    const free = freeNvm(info2.extCardResource);
    const size = this.inventory.profile(iccid)?.uppSize ?? 0;
    if (free !== undefined && free < size) throw new Es9pError('8.1', '4.8', `not enough eUICC memory (${free} < ${size})`);
    const forbidden = info2.forbiddenProfilePolicyRules ?? [];
    if (pprs.some((p) => forbidden.includes(p))) throw new Es9pError('8.2.5', '4.3', 'the profile has a PPR the eUICC forbids');
  }

  // -------------------------------------------------------------------------- getBoundProfilePackage

  getBoundProfilePackage(body: Record<string, unknown>): { header: ResponseHeader } & Record<string, unknown> {
    const transactionId = tid(body);
    const s = this.inventory.session(transactionId);
    if (!s || s.state === 'initiated' || !s.euiccCert || !s.smdpSignature2 || !s.iccid || !s.eid || !s.matchingId) {
      throw new Es9pError('8.10.1', '3.9', 'transactionId unknown');
    }
    const payload = b64(body, 'prepareDownloadResponse');
    let decoded;
    try {
      decoded = decodePrepareDownloadResponse(payload);
    } catch (e) {
      throw new Es9pError('1.3.1', '2.1', `prepareDownloadResponse undecodable: ${(e as Error).message}`);
    }
    if (decoded.kind === 'downloadResponseError') {
      this.inventory.deleteSession(transactionId);
      throw new Es9pError('8.1', '6.1', `the eUICC refused PrepareDownload (downloadErrorCode ${decoded.downloadErrorCode})`);
    }
    const got = decoded.euiccSigned2.hashCc;
    let verified;
    try {
      verified = verifyPrepareDownloadResponse(payload, {
        transactionId: fromHex(transactionId),
        smdpSignature2: s.smdpSignature2,
        euiccCertificate: s.euiccCert,
        ...(got !== undefined && { expectedHashCc: got }),
      });
    } catch (e) {
      if (!(e instanceof SmdpError)) throw e;
      if (e.code === 'transaction-id') throw new Es9pError('8.10.1', '3.9', 'transactionId in euiccSigned2 differs');
      throw new Es9pError('8.1', '6.1', 'euiccSignature2 invalid');
    }
    // retry within the session: the same one-time key gets the same BPP (rebuilt from its seed)
    const seed = s.state === 'bpp-issued' && s.bppSeed && s.euiccOtpk && bytesEqual(s.euiccOtpk, verified.euiccOtpk) ? decodeBppSeed(s.bppSeed) : undefined;
    if (seed) return { header: SUCCESS, transactionId, boundProfilePackage: toBase64(this.buildBpp(transactionId, s.eid, s.iccid, verified.euiccOtpk, seed).bpp) };
    if (s.ccRequired) {
      if (got === undefined) {
        this.inventory.deleteSession(transactionId);
        throw new Es9pError('8.2.7', '2.2', 'confirmation code missing');
      }
      const ccHash = this.inventory.ccHash(s.matchingId);
      const expected = ccHash && computeHashCcFromInner(ccHash, fromHex(transactionId));
      if (!expected || !bytesEqual(expected, got)) {
        this.inventory.deleteSession(transactionId);
        const r = this.inventory.recordCcFailure(s.matchingId, this.ccRetries);
        if (r.exhausted) throw new Es9pError('8.2.7', '6.4', 'confirmation code retries exceeded');
        throw new Es9pError('8.2.7', '3.8', 'confirmation code refused');
      }
    } else if (got !== undefined) {
      throw new Es9pError('8.2.7', '3.8', 'hashCc sent although no confirmation code is required');
    }
    const built = this.buildBpp(transactionId, s.eid, s.iccid, verified.euiccOtpk);
    this.inventory.issueBpp(transactionId, s.iccid, s.eid, verified.euiccOtpk, encodeBppSeed(built.seed));
    return { header: SUCCESS, transactionId, boundProfilePackage: toBase64(built.bpp) };
  }

  private buildBpp(transactionId: string, eid: string, iccid: string, euiccOtpk: Uint8Array, seed?: BppSeed): BuiltBpp {
    return buildBoundProfilePackageDetailed({
      transactionId: fromHex(transactionId),
      euiccOtpk,
      dpPb: { privateKey: this.identity.dpPb.privateKey, cert: this.identity.dpPb.certDer },
      eid,
      upp: this.inventory.upp(iccid),
      metadata: this.inventory.storeMetadata(iccid, this.address),
      replaceSessionKeys: this.rsk,
      ...(seed !== undefined && { seed }),
    });
  }

  // -------------------------------------------------------------------------- handleNotification

  /** Always answered with 204; verification failures are recorded as unverified and reported via onWarning. */
  handleNotification(body: Record<string, unknown>): void {
    const raw = b64(body, 'pendingNotification');
    let n;
    try {
      n = decodePendingNotification(raw);
    } catch (e) {
      this.warn(`handleNotification: undecodable pendingNotification (${(e as Error).message})`);
      return;
    }
    if (n.kind === 'profileInstallationResult') this.handlePir(n.profileInstallationResult, raw);
    else this.handleOther(n.otherSignedNotification, raw);
  }

  private handlePir(pir: ProfileInstallationResult, raw: Uint8Array): void {
    const d = pir.profileInstallationResultData;
    const transactionId = toHex(d.transactionId).toUpperCase();
    const s = this.inventory.session(transactionId);
    const success = d.finalResult.kind === 'successResult';
    const md = d.notificationMetadata;
    const iccid = md.iccid ? decodeIccid(md.iccid) : s?.iccid;
    let verified = false;
    if (s?.euiccCert && s.eid && s.iccid) {
      const key = parseCertificateCached(s.euiccCert, 'euicc').subjectPublicKeyInfo.key;
      verified = !!key && verifyRaw(key, pirSignedData(pir), pir.euiccSignPIR);
      if (verified && d.smdpOid !== this.smdpOid) {
        verified = false;
        this.warn(`PIR for ${transactionId}: smdpOid ${d.smdpOid} is not ${this.smdpOid}`);
      }
      if (!verified) this.warn(`PIR for ${transactionId}: signature invalid`);
    } else {
      this.warn(`PIR for unknown or finished session ${transactionId}`);
    }
    // one transaction (one commit): the notification, the install result and the end of the session
    this.inventory.transaction(() => {
      this.inventory.recordNotification({
        eid: s?.eid ?? '',
        seqNumber: md.seqNumber,
        event: 'install',
        ...(iccid !== undefined && { iccid }),
        success,
        transactionId,
        verified,
        raw,
      });
      if (verified && s?.iccid) {
        this.inventory.markInstallResult(s.iccid, success);
        this.inventory.deleteSession(transactionId);
      }
    });
  }

  private handleOther(n: OtherSignedNotification, raw: Uint8Array): void {
    const md = n.tbsOtherNotification;
    let eid = '';
    let verified = false;
    try {
      const chain = verifyEuiccChain({
        trustedCis: this.identity.ciCerts,
        eumCert: n.eumCertificate,
        euiccCert: n.euiccCertificate,
        at: this.now(),
        checkDates: this.checkDates,
      });
      eid = chain.eid;
      const key: Certificate['subjectPublicKeyInfo']['key'] = chain.euicc.subjectPublicKeyInfo.key;
      verified = !!key && verifyRaw(key, otherNotificationSignedData(n), n.euiccNotificationSignature);
      if (!verified) this.warn(`notification ${md.seqNumber}: signature invalid`);
    } catch (e) {
      this.warn(`notification ${md.seqNumber}: certificate rejected (${(e as Error).message})`);
    }
    const event = EVENT_NAMES[md.profileManagementOperation[0] ?? -1] ?? 'install';
    this.inventory.recordNotification({
      eid,
      seqNumber: md.seqNumber,
      event,
      ...(md.iccid && { iccid: decodeIccid(md.iccid) }),
      verified,
      raw,
    });
  }

  // -------------------------------------------------------------------------- cancelSession

  cancelSession(body: Record<string, unknown>): { header: ResponseHeader } {
    const transactionId = tid(body);
    const s = this.inventory.session(transactionId);
    if (!s || !s.euiccCert) throw new Es9pError('8.10.1', '3.9', 'transactionId unknown');
    const payload = b64(body, 'cancelSessionResponse');
    let r;
    try {
      r = decodeCancelSessionResponse(payload);
    } catch (e) {
      throw new Es9pError('1.3.1', '2.1', `cancelSessionResponse undecodable: ${(e as Error).message}`);
    }
    if (r.kind === 'cancelSessionResponseError') {
      throw new Es9pError('8.1', '6.1', `the eUICC answered cancelSessionResponseError ${r.cancelSessionResponseError}`);
    }
    const signed = r.euiccCancelSessionSigned;
    if (!bytesEqual(signed.transactionId, fromHex(transactionId))) throw new Es9pError('8.10.1', '3.9', 'transactionId in euiccCancelSessionSigned differs');
    if (signed.smdpOid !== this.smdpOid) throw new Es9pError('8.8', '3.10', `SM-DP+ OID ${signed.smdpOid} invalid`);
    const key = parseCertificateCached(s.euiccCert, 'euicc').subjectPublicKeyInfo.key;
    if (!key || !verifyRaw(key, euiccCancelSessionSignatureInput(signed), r.euiccCancelSessionSignature)) {
      throw new Es9pError('8.1', '6.1', 'euiccCancelSessionSignature invalid');
    }
    if (s.iccid) this.inventory.releaseAfterCancel(s.iccid, RETRYABLE_CANCEL_REASONS.has(signed.reason));
    this.inventory.deleteSession(transactionId);
    return { header: SUCCESS };
  }
}

/** hashCc from the stored SHA-256(CC): SHA256(SHA256(CC) ‖ transactionId). */
export function computeHashCcFromInner(ccSha256: Uint8Array, transactionId: Uint8Array): Uint8Array {
  return sha256(concatBytes(ccSha256, transactionId));
}

export { computeHashCc };
