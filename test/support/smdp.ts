/**
 * Test helper: the reference SM-DP+ (src/smdp/server.ts) on 127.0.0.1 in one line, plus a software eUICC
 * that trusts the same CI, an ES9+ JSON client over HTTPS (undici, trusting only the test CI) and a full
 * download driven through APDUs (src/lpa/es10b.ts over VirtualTransport + ApduChannel).
 *
 *   const t = await startTestSmdp();                       // P-256, fresh test PKI, ':memory:' inventory
 *   const { iccid } = t.addTs48();                          // a TS.48 UPP from ../shared/reference/ts48
 *   const { matchingId } = t.server.inventory.createOrder({ iccid });
 *   const card = t.newCard();                               // SoftEuicc under t.ci / t.eum
 *   const r = await downloadOverHttps(t, card, { matchingId });
 *   await t.close();
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { expect } from 'vitest';
import { ApduChannel } from '../../src/apdu/channel.js';
import { VirtualTransport } from '../../src/apdu/transports/virtual.js';
import { encodeGetEuiccInfo1Request } from '../../src/asn1/sgp22/euicc-info.js';
import { decodeServerSigned1, decodeSmdpSigned2 } from '../../src/asn1/sgp22/authentication.js';
import { decodeTlv } from '../../src/asn1/tlv.js';
import type { ProfileInstallationResult } from '../../src/asn1/sgp22/notifications.js';
import type { Curve } from '../../src/crypto/ecdsa.js';
import { createEum, type IssuedCertificate } from '../../src/crypto/pki.js';
import { SoftEuicc, type CreateCardOptions } from '../../src/euicc/card.js';
import { createIdentity, loadIdentityFiles, type EuiccIdentity } from '../../src/euicc/identity.js';
import * as es10b from '../../src/lpa/es10b.js';
import { createSmdpIdentity, loadSgp26SmdpIdentity, type SmdpIdentity } from '../../src/smdp/identity.js';
import { ADMIN_PROTOCOL, SmdpServer, type SmdpServerOptions } from '../../src/smdp/server.js';
import { fromBase64, fromHex, toBase64 } from '../../src/util/hex.js';
import { getProfilesInfo, listNotifications } from '../../src/lpa/index.js';
import { LpaError } from '../../src/lpa/result-codes.js';
import { computeHashCc } from '../../src/smdp/signing.js';
import { refPath } from './reference.js';

export const TS48_FILES = [
  'TS48V2-SAIP2-1-BERTLV-UNIQUE.der',
  'TS48V2-SAIP2-3-NOBERTLV-UNIQUE.der',
  'TS48V4-SAIP2-3-BERTLV-UNIQUE.der',
  'TS48V5-SAIP2-3-BERTLV-SUCI-UNIQUE.der',
  'TS48V5-SAIP2-1A-NOBERTLV-UNIQUE.der',
  'TS48v2_SAIP2.1_BERTLV.der',
] as const;

export interface StartTestSmdpOptions extends Partial<Omit<SmdpServerOptions, 'identity'>> {
  curve?: Curve;
  /** Issue the SM-DP+ certificates under this CI (default: a fresh test CI). */
  ci?: IssuedCertificate;
  /** Use the SGP.26 CI/DPauth/DPpb (NIST for P-256, BRP for brainpool) with a fresh DPtls for localhost. */
  sgp26?: boolean;
}

export interface TestSmdp {
  server: SmdpServer;
  identity: SmdpIdentity;
  /** The CI of the SM-DP+ (and of the cards made by newCard). */
  ci: IssuedCertificate;
  /** An EUM under `ci` for newCard (undefined with sgp26: newCard then uses the SGP.26 eUICC). */
  eum?: IssuedCertificate;
  curve: Curve;
  /** `localhost:<port>`. */
  address: string;
  /** `https://localhost:<port>`. */
  url: string;
  /** What an LPA trusts for TLS and signatures: the CI certificates (DER). */
  trust: { ciCertificates: Uint8Array[] };
  /** An undici dispatcher trusting only the test CI (TLS verified). */
  dispatcher: Agent;
  /** A card identity under the test CI/EUM (or the SGP.26 eUICC). */
  newEuiccIdentity(opts?: { eid?: string }): EuiccIdentity;
  /** A SoftEuicc (':memory:') trusting the SM-DP+'s CI. */
  newCard(opts?: Partial<CreateCardOptions> & { eid?: string }): SoftEuicc;
  /** Add a TS.48 profile from the reference folder (default the first one). */
  addTs48(file?: (typeof TS48_FILES)[number], metadata?: Parameters<SmdpServer['inventory']['addProfile']>[1]): { iccid: string };
  close(): Promise<void>;
}

export function sgp26EuiccIdentity(curve: Curve = 'P-256'): EuiccIdentity {
  const kind = curve === 'P-256' ? 'NIST' : 'BRP';
  return loadIdentityFiles({
    euiccCert: refPath('sgp26', 'eUICC', `CERT_EUICC_ECDSA_${kind}.der`),
    euiccKey: refPath('sgp26', 'eUICC', `SK_EUICC_ECDSA_${kind}.pem`),
    eumCert: refPath('sgp26', 'EUM', `CERT_EUM_ECDSA_${kind}.der`),
    ciCerts: [refPath('sgp26', 'CertificateIssuer', `CERT_CI_ECDSA_${kind}.der`)],
  });
}

/** Start the SM-DP+ on 127.0.0.1 (random port) with address localhost:<port>. */
export async function startTestSmdp(o: StartTestSmdpOptions = {}): Promise<TestSmdp> {
  const curve: Curve = o.curve ?? o.ci?.curve ?? 'P-256';
  const id = o.sgp26
    ? loadSgp26SmdpIdentity({ dir: refPath('sgp26'), address: 'localhost:0', curve, tlsHost: 'localhost' })
    : createSmdpIdentity({ address: 'localhost:0', curve, tlsHost: 'localhost', ...(o.ci && { ci: o.ci }) });
  const { ci, ...identity } = id;
  const eum = o.sgp26 ? undefined : createEum(ci, { curve });
  const { curve: _c, ci: _ci, sgp26: _s, ...rest } = o;
  const server = await SmdpServer.start({ dbPath: ':memory:', ...rest, identity });
  const dispatcher = new Agent({ connect: { ca: ci.certPem, timeout: 5000 }, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const newEuiccIdentity = (opts: { eid?: string } = {}): EuiccIdentity =>
    o.sgp26 ? sgp26EuiccIdentity(curve) : createIdentity({ curve, ci, eum: eum!, ...(opts.eid !== undefined && { eid: opts.eid }) }).identity;
  const cards: SoftEuicc[] = [];
  return {
    server,
    identity,
    ci,
    ...(eum && { eum }),
    curve,
    address: server.address,
    url: server.url,
    trust: { ciCertificates: identity.ciCerts },
    dispatcher,
    newEuiccIdentity,
    newCard(opts = {}) {
      const { eid, ...cardOpts } = opts;
      const card = SoftEuicc.create(':memory:', { identity: newEuiccIdentity(eid !== undefined ? { eid } : {}), ...cardOpts });
      cards.push(card);
      return card;
    },
    addTs48(file = TS48_FILES[0], metadata) {
      const upp = new Uint8Array(readFileSync(refPath('ts48', file)));
      return server.inventory.addProfile(upp, metadata ?? { serviceProviderName: 'esimkit test', profileName: file.replace(/\.der$/, '') });
    },
    async close() {
      await server.close();
      await dispatcher.close();
      for (const c of cards) {
        try {
          (c as unknown as { close?: () => void }).close?.();
        } catch {
          /* already closed */
        }
      }
    },
  };
}

// ------------------------------------------------------------------------------------------ ES9+ client

export interface Es9pHttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON (undefined for an empty body). */
  json: Record<string, unknown> | undefined;
}

/** POST one ES9+ function over HTTPS with the GSMA headers. */
export async function postEs9p(t: Pick<TestSmdp, 'url' | 'dispatcher'>, fn: string, body: unknown, headers: Record<string, string> = {}): Promise<Es9pHttpResponse> {
  const r = await request(`${t.url}/gsma/rsp2/es9plus/${fn}`, {
    method: 'POST',
    dispatcher: t.dispatcher,
    headers: { 'content-type': 'application/json', 'x-admin-protocol': 'gsma/rsp/v2.5.0', 'user-agent': 'gsma-rsp-lpad', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, json: text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

export function statusOf(j: Record<string, unknown> | undefined): { status: string; subjectCode?: string; reasonCode?: string } {
  const h = (j?.['header'] as { functionExecutionStatus?: { status: string; statusCodeData?: { subjectCode: string; reasonCode: string } } } | undefined)?.functionExecutionStatus;
  return { status: h?.status ?? 'missing', ...(h?.statusCodeData && { subjectCode: h.statusCodeData.subjectCode, reasonCode: h.statusCodeData.reasonCode }) };
}

export class Es9pFailed extends Error {
  constructor(
    readonly fn: string,
    readonly subjectCode: string | undefined,
    readonly reasonCode: string | undefined,
  ) {
    super(`${fn} failed: ${subjectCode}/${reasonCode}`);
  }
}

async function call(t: Pick<TestSmdp, 'url' | 'dispatcher'>, fn: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await postEs9p(t, fn, body);
  const s = statusOf(r.json);
  if (r.status !== 200 || s.status !== 'Executed-Success') throw new Es9pFailed(fn, s.subjectCode, s.reasonCode);
  return r.json!;
}

export interface HttpsDownloadOptions {
  matchingId?: string;
  confirmationCode?: string;
  /** Stop after authenticateClient / getBoundProfilePackage (for cancel tests). */
  stopAfter?: 'authenticateClient' | 'getBoundProfilePackage';
  /** Send the PIR with handleNotification (default true). */
  notify?: boolean;
  smdpAddress?: string;
}

export interface HttpsDownloadResult {
  transactionId: string;
  pir?: ProfileInstallationResult;
  pirRaw?: Uint8Array;
  boundProfilePackage?: Uint8Array;
  profileMetadata?: Uint8Array;
  notificationStatus?: number;
  channel: ApduChannel;
}

/**
 * A download through APDUs (es10b wrappers over VirtualTransport + ApduChannel) and ES9+ over HTTPS.
 * The channel is left open in the result (close it, or let the card go).
 */
export async function downloadOverHttps(t: Pick<TestSmdp, 'url' | 'dispatcher' | 'address'>, card: SoftEuicc, o: HttpsDownloadOptions = {}): Promise<HttpsDownloadResult> {
  const ch = await ApduChannel.open(new VirtualTransport(card));
  const euiccChallenge = await es10b.getEuiccChallenge(ch);
  const euiccInfo1 = await ch.storeData(encodeGetEuiccInfo1Request());
  const ia = await call(t, 'initiateAuthentication', { euiccChallenge: toBase64(euiccChallenge), euiccInfo1: toBase64(euiccInfo1), smdpAddress: o.smdpAddress ?? t.address });
  const transactionId = ia['transactionId'] as string;
  const serverSigned1 = decodeServerSigned1(fromBase64(ia['serverSigned1'] as string));
  const as = await es10b.authenticateServer(ch, {
    serverSigned1,
    serverSignature1: decodeTlv(fromBase64(ia['serverSignature1'] as string)).value,
    euiccCiPKIdToBeUsed: decodeTlv(fromBase64(ia['euiccCiPKIdToBeUsed'] as string)).value,
    serverCertificate: fromBase64(ia['serverCertificate'] as string),
    ctxParams1: {
      kind: 'ctxParamsForCommonAuthentication',
      ...(o.matchingId !== undefined && { matchingId: o.matchingId }),
      deviceInfo: { tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11), deviceCapabilities: {} },
    },
  });
  const ac = await call(t, 'authenticateClient', { transactionId, authenticateServerResponse: toBase64(as.raw) });
  const profileMetadata = fromBase64(ac['profileMetadata'] as string);
  if (o.stopAfter === 'authenticateClient') return { transactionId, profileMetadata, channel: ch };
  const smdpSigned2 = decodeSmdpSigned2(fromBase64(ac['smdpSigned2'] as string));
  const hashCc = smdpSigned2.ccRequiredFlag && o.confirmationCode !== undefined ? computeHashCc(o.confirmationCode, fromHex(transactionId)) : undefined;
  const pd = await es10b.prepareDownload(ch, {
    smdpSigned2,
    smdpSignature2: decodeTlv(fromBase64(ac['smdpSignature2'] as string)).value,
    ...(hashCc && { hashCc }),
    smdpCertificate: fromBase64(ac['smdpCertificate'] as string),
  });
  const gb = await call(t, 'getBoundProfilePackage', { transactionId, prepareDownloadResponse: toBase64(pd.raw) });
  const bpp = fromBase64(gb['boundProfilePackage'] as string);
  if (o.stopAfter === 'getBoundProfilePackage') return { transactionId, profileMetadata, boundProfilePackage: bpp, channel: ch };
  const pir = await es10b.loadBoundProfilePackage(ch, bpp);
  let notificationStatus: number | undefined;
  if (o.notify ?? true) {
    const r = await postEs9p(t, 'handleNotification', { pendingNotification: toBase64(pir.raw) });
    notificationStatus = r.status;
    if (r.status === 204) await es10b.removeNotification(ch, pir.response.profileInstallationResultData.notificationMetadata.seqNumber);
  }
  return { transactionId, pir: pir.response, pirRaw: pir.raw, boundProfilePackage: bpp, profileMetadata, channel: ch, ...(notificationStatus !== undefined && { notificationStatus }) };
}

/** DNS for the tests: `localhost` → 127.0.0.1 (the test SM-DP+ listens there), everything else unresolved. */
export const loopbackResolve = (h: string): string | undefined => (h === 'localhost' ? '127.0.0.1' : undefined);

/** The LpaError a promise rejects with (fails the test if it resolves or rejects with something else). */
export async function lpaFailure(p: Promise<unknown>): Promise<LpaError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(LpaError);
  return e as LpaError;
}

/** The ICCIDs of the profiles on a software eUICC, sorted (ES10c over VirtualTransport). */
export async function cardIccids(card: SoftEuicc): Promise<string[]> {
  const list = await ApduChannel.with(new VirtualTransport(card), {}, (ch) => getProfilesInfo(ch));
  return list.map((p) => p.iccid!).sort();
}

/** How many notifications a software eUICC has pending (ES10b over VirtualTransport). */
export async function pendingCount(card: SoftEuicc): Promise<number> {
  return (await ApduChannel.with(new VirtualTransport(card), {}, (ch) => listNotifications(ch))).length;
}

export { ADMIN_PROTOCOL };
