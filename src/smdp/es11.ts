/**
 * ES11 (LPA → SM-DS) function logic of the SM-DS (SGP22-NOTES §4.1, §5.3): the first half of the ES9+
 * mutual authentication, signed with CERT.DSauth, ending in the event entries registered for the EID.
 *
 *   initiateAuthentication {euiccChallenge, euiccInfo1, smdpAddress | smdsAddress}
 *     → {transactionId, serverSigned1, serverSignature1, euiccCiPKIdToBeUsed, serverCertificate}
 *   authenticateClient {transactionId, authenticateServerResponse}
 *     → {transactionId, eventEntries: [{eventId, rspServerAddress}, ...]}   (empty array: no events)
 *
 * Checks and codes: address 8.9.1/3.8; eUICC SVN 8.9.3/3.1; no signing PKID the SM-DS trusts 8.9.2/3.1;
 * no CERT.DSauth under a CI the eUICC verifies 8.9.4/3.7; unknown / expired / used transactionId
 * 8.10.1/3.9; EUM not from the CI chosen in initiateAuthentication 8.11.1/3.9; EUM certificate invalid /
 * expired 8.1.2/6.1, 6.3; eUICC certificate invalid / expired (incl. EID outside the EUM's range)
 * 8.1.3/6.1, 6.3; euiccSignature1, serverChallenge, serverAddress or an eUICC error response 8.1/6.1.
 *
 * Sessions live in memory (an ES11 session is short and simply abandoned on failure, §6.2); events are in
 * the {@link SmdsEventStore}.
 */
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { decodeEUICCInfo1 } from '../asn1/sgp22/euicc-info.js';
import { signatureTlv } from '../asn1/sgp22/authentication.js';
import { encodeTlv } from '../asn1/tlv.js';
import { CertificateError, ciPkid, findCiByPkid } from '../crypto/certs.js';
import { parseCertificate, type Certificate } from '../crypto/x509.js';
import { bytesEqual, fromBase64, fromHex, toBase64, toHex } from '../util/hex.js';
import { makeServerSigned1, SmdpError, verifyAuthenticateServerResponse } from './signing.js';
import { reqString, SmdsFunctionError, successResponse, type SmdsJsonObject, type SmdsEventStore } from './es12.js';

export interface Es11ServiceOptions {
  /** The SM-DS address (FQDN[:port]) that initiateAuthentication must name; serverSigned1.serverAddress. */
  readonly address: string;
  /** CI certificates (DER) trusted for eUICC chains; their PKIDs are the ones accepted for signing. */
  readonly ciCerts: readonly Uint8Array[];
  /** CERT.DSauth (one per CI it may be verified under) and SK.DSauth. */
  readonly dsAuth: readonly { readonly certDer: Uint8Array; readonly privateKey: KeyObject }[];
  readonly store: SmdsEventStore;
  /** Session lifetime (default 5 minutes). */
  readonly sessionTtlMs?: number;
  /** Accepted eUICC SVN major versions (default [2, 3]). */
  readonly supportedSvnMajors?: readonly number[];
  /** Largest number of concurrent sessions kept (default 10000; the oldest are dropped). */
  readonly maxSessions?: number;
}

interface Session {
  readonly transactionId: Uint8Array;
  readonly serverChallenge: Uint8Array;
  readonly ci: Certificate;
  readonly expires: number;
}

const DEFAULT_TTL = 5 * 60_000;

function b64Field(body: SmdsJsonObject, name: string): Uint8Array {
  const s = reqString(body, name);
  try {
    return fromBase64(s);
  } catch {
    throw new SmdsFunctionError('1.3.1', '2.1', `${name} is not base64`);
  }
}

export class Es11Service {
  private readonly sessions = new Map<string, Session>();
  private readonly cis: Certificate[];
  private readonly dsAuth: { cert: Certificate; certDer: Uint8Array; privateKey: KeyObject }[];
  private readonly ttl: number;
  private readonly svnMajors: readonly number[];
  private readonly maxSessions: number;

  constructor(private readonly o: Es11ServiceOptions) {
    if (o.ciCerts.length === 0) throw new RangeError('Es11Service: at least one CI certificate is required');
    if (o.dsAuth.length === 0) throw new RangeError('Es11Service: a CERT.DSauth is required');
    this.cis = o.ciCerts.map((c) => parseCertificate(c, 'ci'));
    this.dsAuth = o.dsAuth.map((d) => ({ cert: parseCertificate(d.certDer, 'server'), certDer: d.certDer, privateKey: d.privateKey }));
    this.ttl = o.sessionTtlMs ?? DEFAULT_TTL;
    this.svnMajors = o.supportedSvnMajors ?? [2, 3];
    this.maxSessions = o.maxSessions ?? 10_000;
  }

  get address(): string {
    return this.o.address;
  }

  /** Number of open sessions (tests). */
  get sessionCount(): number {
    this.expire();
    return this.sessions.size;
  }

  initiateAuthentication(body: SmdsJsonObject): SmdsJsonObject {
    const euiccChallenge = b64Field(body, 'euiccChallenge');
    if (euiccChallenge.length !== 16) throw new SmdsFunctionError('1.3.1', '2.1', 'euiccChallenge must be 16 bytes');
    const info1Raw = b64Field(body, 'euiccInfo1');
    let info1;
    try {
      info1 = decodeEUICCInfo1(info1Raw);
    } catch (e) {
      throw new SmdsFunctionError('1.3.1', '2.1', 'euiccInfo1 does not decode', { cause: e });
    }
    const addrField = body['smdsAddress'] !== undefined ? 'smdsAddress' : 'smdpAddress';
    const address = reqString(body, addrField);
    if (address.toLowerCase() !== this.o.address.toLowerCase()) throw new SmdsFunctionError('8.9.1', '3.8', 'SM-DS address refused');

    const major = Number(info1.svn.split('.')[0]);
    if (!this.svnMajors.includes(major)) throw new SmdsFunctionError('8.9.3', '3.1', `eUICC SVN ${info1.svn} not supported`);

    let ci: Certificate | undefined;
    for (const pkid of info1.euiccCiPKIdListForSigning) {
      ci = findCiByPkid(this.cis, pkid);
      if (ci) break;
    }
    if (!ci) throw new SmdsFunctionError('8.9.2', '3.1', 'none of the proposed CI PKIDs is supported');

    const ver = info1.euiccCiPKIdListForVerification;
    const auth = this.dsAuth.find((d) => {
      const aki = d.cert.extensions.authorityKeyIdentifier?.keyIdentifier;
      return aki !== undefined && ver.some((p) => bytesEqual(p, aki));
    });
    if (!auth) throw new SmdsFunctionError('8.9.4', '3.7', 'no CERT.DSauth under a CI the eUICC verifies');

    const transactionId = new Uint8Array(randomBytes(16));
    const signed = makeServerSigned1({ euiccChallenge, serverAddress: this.o.address, transactionId }, { privateKey: auth.privateKey, cert: auth.certDer });
    this.expire();
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const tIdHex = toHex(transactionId).toUpperCase();
    this.sessions.set(tIdHex, { transactionId, serverChallenge: signed.serverChallenge, ci, expires: Date.now() + this.ttl });
    return successResponse({
      transactionId: tIdHex,
      serverSigned1: toBase64(signed.serverSigned1.raw),
      serverSignature1: toBase64(signatureTlv(signed.serverSignature1)),
      euiccCiPKIdToBeUsed: toBase64(encodeTlv(0x04, ciPkid(ci))),
      serverCertificate: toBase64(auth.certDer),
    });
  }

  authenticateClient(body: SmdsJsonObject): SmdsJsonObject {
    const tIdHex = reqString(body, 'transactionId');
    const response = b64Field(body, 'authenticateServerResponse');
    this.expire();
    const key = /^[0-9A-Fa-f]{2,32}$/.test(tIdHex) && tIdHex.length % 2 === 0 ? toHex(fromHex(tIdHex)).toUpperCase() : undefined;
    const session = key !== undefined ? this.sessions.get(key) : undefined;
    if (!session || key === undefined) throw new SmdsFunctionError('8.10.1', '3.9', 'unknown transactionId');
    // one attempt per session, whatever its outcome
    this.sessions.delete(key);

    let verified;
    try {
      verified = verifyAuthenticateServerResponse(response, {
        trustedCis: this.cis,
        transactionId: session.transactionId,
        serverChallenge: session.serverChallenge,
        serverAddress: this.o.address,
      });
    } catch (e) {
      throw mapVerifyError(e);
    }
    // the EUM must come from the CI chosen in initiateAuthentication (euiccCiPKIdToBeUsed)
    if (!bytesEqual(ciPkid(verified.chain.ci), ciPkid(session.ci))) {
      throw new SmdsFunctionError('8.11.1', '3.9', 'EUM certificate is not from the CI indicated by euiccCiPKIdToBeUsed');
    }
    const entries = this.o.store.eventsFor(verified.eid).map((e) => ({ eventId: e.eventId, rspServerAddress: e.rspServerAddress }));
    return successResponse({ transactionId: toHex(session.transactionId).toUpperCase(), eventEntries: entries });
  }

  private expire(): void {
    const now = Date.now();
    for (const [k, s] of this.sessions) if (s.expires <= now) this.sessions.delete(k);
  }
}

function mapVerifyError(e: unknown): SmdsFunctionError {
  if (e instanceof SmdpError) {
    switch (e.code) {
      case 'malformed':
        return new SmdsFunctionError('1.3.1', '2.1', 'authenticateServerResponse does not decode', { cause: e });
      case 'transaction-id':
        return new SmdsFunctionError('8.10.1', '3.9', 'transactionId in euiccSigned1 differs', { cause: e });
      case 'certificate': {
        const c = e.cause;
        if (c instanceof CertificateError) {
          if (c.reason === 'unknown-ci') return new SmdsFunctionError('8.11.1', '3.9', 'EUM certificate from an unknown CI', { cause: e });
          const expired = c.reason === 'expired' || c.reason === 'not-yet-valid';
          const reason = expired ? '6.3' : '6.1';
          if (c.certificate === 'eum' || c.certificate === 'ci') return new SmdsFunctionError('8.1.2', reason, `EUM certificate ${expired ? 'expired' : 'invalid'}`, { cause: e });
          return new SmdsFunctionError('8.1.3', reason, `eUICC certificate ${expired ? 'expired' : 'invalid'}`, { cause: e });
        }
        return new SmdsFunctionError('8.1.3', '6.1', 'eUICC certificate invalid', { cause: e });
      }
      case 'euicc-error':
        return new SmdsFunctionError('8.1', '6.1', `the eUICC answered an error (${e.euiccErrorCode ?? '?'})`, { cause: e });
      default:
        return new SmdsFunctionError('8.1', '6.1', 'eUICC signature or serverChallenge invalid', { cause: e });
    }
  }
  if (e instanceof CertificateError) return new SmdsFunctionError('8.1.3', '6.1', 'eUICC certificate invalid', { cause: e });
  throw e;
}
