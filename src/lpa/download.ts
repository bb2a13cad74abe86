/**
 * The profile download flow (SGP22-NOTES §4.1, ARCHITECTURE §4), LPA side:
 *
 *   activation code / address + matchingId
 *   → GetEUICCChallenge + GetEUICCInfo1 → ES9+ initiateAuthentication
 *   → LPA checks: outer tId = signed tId, euiccChallenge, serverAddress = address called, AC OID = DPauth OID
 *   → ES10b AuthenticateServer → ES9+ authenticateClient (tId checks)
 *   → metadata: PPR check against GetRAT / forbiddenProfilePolicyRules (§7), onMetadata (preview/consent)
 *   → confirmation code: hashCc = SHA256(SHA256(cc) ‖ tId)
 *   → ES10b PrepareDownload → ES9+ getBoundProfilePackage
 *   → LoadBoundProfilePackage segment by segment (progress installing n/m) → PIR
 *   → ES9+ handleNotification(PIR) → RemoveNotificationFromList → optional EnableProfile.
 *
 * A failure once the card holds a session (after AuthenticateServer) sends ES10b CancelSession with the
 * reason that fits (endUserRejection, postponed, timeout, pprNotAllowed, metadataMismatch,
 * loadBppExecutionError, undefinedReason) and then ES9+ cancelSession with the card's signed answer.
 * Cancellation: `signal`, or {@link cancelDownload}(transactionId) from another caller. Every thrown error
 * is an {@link LpaError} (result-codes.ts). Secrets (matching ID, confirmation code) are never logged or
 * put in messages.
 */
import { createHash } from 'node:crypto';
import { ApduChannel, type ApduChannelOptions, type StoreDataChannel } from '../apdu/channel.js';
import type { ApduTransport } from '../apdu/transport.js';
import { parseActivationCode } from '../asn1/activation-code.js';
import { segmentBpp } from '../asn1/sgp22/bpp.js';
import { CancelSessionReasonValue } from '../asn1/sgp22/cancel-session.js';
import { decodeEUICCInfo1, encodeGetEuiccInfo1Request, type DeviceInfo } from '../asn1/sgp22/euicc-info.js';
import { decodeProfileInstallationResult } from '../asn1/sgp22/notifications.js';
import { IconTypeValue, NotificationEventBit, PprIdsBit, ProfileClassValue, type StoreMetadataRequest } from '../asn1/sgp22/metadata.js';
import { parseCertificate } from '../crypto/x509.js';
import { decodeIccid } from '../util/bcd.js';
import { bytesEqual, concatBytes, toHex, utf8 } from '../util/hex.js';
import { bitNames, decodeAs, decodePlmn, nameOf, type Es10Outcome } from './es10-util.js';
import * as es10b from './es10b.js';
import { enableProfile, type EnableResult, type IconType, type NotificationEventName, type PolicyRule, type ProfileClass, type ProfileOwner } from './es10c.js';
import { Es9pClient, transactionIdHex } from './es9p.js';
import { RspHttpClient, RspHttpError, type RspHttpClientOptions } from './http.js';
import { Es10DownloadError, LpaCheckError, LpaError, mapFailure, type LpaCheck, type MappingContext } from './result-codes.js';

export type DownloadStep = 'authenticating' | 'downloading' | 'installing' | 'notifying';

export interface DownloadProgress {
  /** Hex transactionId, once the SM-DP+ has given one. */
  readonly transactionId?: string;
  readonly step: DownloadStep;
  /** installing: segments loaded so far / segment count. */
  readonly done?: number;
  readonly total?: number;
}

/** The profile metadata shown before the download (preview / consent). */
export interface ProfileMetadata {
  readonly iccid: string;
  readonly serviceProviderName: string;
  readonly profileName: string;
  readonly profileClass: ProfileClass | 'unknown';
  readonly iconType?: IconType | 'unknown';
  readonly icon?: Uint8Array;
  readonly profileOwner?: ProfileOwner;
  readonly policyRules: readonly PolicyRule[];
  readonly notificationConfigurations: readonly { readonly events: readonly NotificationEventName[]; readonly address: string }[];
  /** The BF25 as received. */
  readonly raw: Uint8Array;
}

export interface DownloadTimeouts {
  /** TCP connect + TLS handshake per request (default 10 s). */
  readonly connectMs?: number;
  /** One HTTP request (default 30 s). */
  readonly requestMs?: number;
  /** The whole download (default 180 s, as OpenHarmony). */
  readonly overallMs?: number;
}

export interface DownloadOptions {
  /** The card connection; one logical channel to the ISD-R is opened for the download and closed after. */
  readonly transport: ApduTransport;
  readonly channelOptions?: ApduChannelOptions;
  /** `LPA:1$addr$token[$oid[$cc]]` (with or without `LPA:`). Or give smdpAddress (+ matchingId). */
  readonly activationCode?: string;
  readonly smdpAddress?: string;
  readonly matchingId?: string;
  readonly confirmationCode?: string;
  /** The user agreed to PPRs whose RAT rule asks for consent. Default false. */
  readonly pprConsent?: boolean;
  readonly enableAfterDownload?: boolean;
  /** The CI certificates (DER) the SM-DP+ TLS certificate must chain to. */
  readonly trust: { readonly ciCertificates: readonly Uint8Array[] };
  readonly timeouts?: DownloadTimeouts;
  readonly signal?: AbortSignal;
  readonly onProgress?: (e: DownloadProgress) => void;
  /** Preview / consent: false (or a rejected promise) cancels the download with endUserRejection. */
  readonly onMetadata?: (m: ProfileMetadata) => Promise<boolean> | boolean;
  /** DeviceInfo sent in ctxParams1 (default: a test TAC and no capabilities). */
  readonly deviceInfo?: DeviceInfo;
  /** A shared HTTP client (not closed by the flow); by default one is made from trust/timeouts/http. */
  readonly httpClient?: RspHttpClient;
  /** Extra options for the HTTP client made by the flow (tests: resolve, allowHttp). */
  readonly http?: Pick<RspHttpClientOptions, 'resolve' | 'allowHttp' | 'tlsRoles' | 'adminProtocol'>;
}

export interface DownloadResult {
  readonly iccid: string;
  /** Hex transactionId of the session. */
  readonly transactionId: string;
  /** ISD-P AID (upper-case hex) from the PIR. */
  readonly isdpAid: string;
  readonly metadata: ProfileMetadata;
  /** The install notification was accepted by the SM-DP+ and removed from the card. */
  readonly notificationSent: boolean;
  /** When enableAfterDownload: the EnableProfile outcome. */
  readonly enable?: Es10Outcome<EnableResult>;
}

const DEFAULT_OVERALL_MS = 180_000;
const DEFAULT_DEVICE_INFO: DeviceInfo = { tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11), deviceCapabilities: {} };
const CANCEL_REQUEST_MS = 5_000;

// ------------------------------------------------------------------------------------------ cancellation

const running = new Map<string, AbortController>();

/** Cancel a running download by its transactionId (hex, either case). Returns false when none runs. */
export function cancelDownload(transactionId: string): boolean {
  const c = running.get(transactionId.toUpperCase());
  if (!c) return false;
  c.abort(new LpaCheckError('cancelled', 'download cancelled'));
  return true;
}

/** transactionIds of the downloads running in this process. */
export function runningDownloads(): string[] {
  return [...running.keys()];
}

// ------------------------------------------------------------------------------------------ helpers

/** hashCc = SHA256( SHA256(CC as UTF-8) ‖ transactionId ) (SGP22-NOTES §4.3). */
export function confirmationCodeHash(cc: string, transactionId: Uint8Array): Uint8Array {
  const inner = createHash('sha256').update(utf8(cc)).digest();
  return new Uint8Array(createHash('sha256').update(concatBytes(new Uint8Array(inner), transactionId)).digest());
}

export function toProfileMetadata(m: StoreMetadataRequest, raw: Uint8Array): ProfileMetadata {
  const C = 'profileMetadata';
  return {
    iccid: decodeIccid(m.iccid),
    serviceProviderName: m.serviceProviderName,
    profileName: m.profileName,
    profileClass: nameOf(ProfileClassValue, m.profileClass ?? ProfileClassValue.operational),
    ...(m.iconType !== undefined && { iconType: nameOf(IconTypeValue, m.iconType) }),
    ...(m.icon !== undefined && { icon: m.icon }),
    ...(m.profileOwner !== undefined && {
      profileOwner: {
        ...decodePlmn(m.profileOwner.mccMnc, C),
        ...(m.profileOwner.gid1 !== undefined && { gid1: m.profileOwner.gid1 }),
        ...(m.profileOwner.gid2 !== undefined && { gid2: m.profileOwner.gid2 }),
      },
    }),
    policyRules: bitNames(PprIdsBit, m.profilePolicyRules ?? []),
    notificationConfigurations: (m.notificationConfigurationInfo ?? []).map((n) => ({
      events: bitNames(NotificationEventBit, n.profileManagementOperation),
      address: n.notificationAddress,
    })),
    raw,
  };
}

/** Nibble-wise PLMN digit match; a 2-digit MNC carries the F filler; E in the rule matches anything. */
function digitMatches(rulePattern: string, ownerValue: string): boolean {
  const pattern = rulePattern.padEnd(3, 'F');
  const value = ownerValue.padEnd(3, 'F');
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!.toUpperCase();
    if (p !== 'E' && p !== value[i]) return false;
  }
  return true;
}

function operatorMatches(rule: es10b.RatRule['allowedOperators'][number], owner: ProfileOwner | undefined): boolean {
  if (!owner) return false;
  if (!digitMatches(rule.mcc, owner.mcc) || !digitMatches(rule.mnc, owner.mnc)) return false;
  if (rule.gid1 !== undefined && (owner.gid1 === undefined || !bytesEqual(rule.gid1, owner.gid1))) return false;
  if (rule.gid2 !== undefined && (owner.gid2 === undefined || !bytesEqual(rule.gid2, owner.gid2))) return false;
  return true;
}

/**
 * The RAT check of SGP22-NOTES §7 for the PPRs a profile carries: ok, consent needed, or the check that
 * fails (ppr-forbidden: no rule or forbidden by the eUICC; ppr-not-match: a rule exists but not for this owner).
 */
export function checkPolicyRules(
  rules: readonly PolicyRule[],
  owner: ProfileOwner | undefined,
  rat: readonly es10b.RatRule[],
  forbidden: readonly PolicyRule[] = [],
): { ok: true; consentRequired: boolean } | { ok: false; check: Extract<LpaCheck, 'ppr-forbidden' | 'ppr-not-match'>; rule: PolicyRule } {
  let consentRequired = false;
  for (const ppr of rules) {
    if (ppr === 'pprUpdateControl') continue; // not a restriction on the device (semantics UNCONFIRMED)
    if (forbidden.includes(ppr)) return { ok: false, check: 'ppr-forbidden', rule: ppr };
    const candidates = rat.filter((r) => r.policyRules.includes(ppr));
    if (candidates.length === 0) return { ok: false, check: 'ppr-forbidden', rule: ppr };
    const match = candidates.find((r) => r.allowedOperators.some((op) => operatorMatches(op, owner)));
    if (!match) return { ok: false, check: 'ppr-not-match', rule: ppr };
    if (match.consentRequired) consentRequired = true;
  }
  return { ok: true, consentRequired };
}

/** The SM-DP+ OID (registeredID in the SAN) of a CERT.DPauth, if any. */
function certificateOid(der: Uint8Array): string | undefined {
  try {
    const san = parseCertificate(der).extensions.subjectAltName?.names ?? [];
    for (const n of san) if (n.type === 'registeredID') return n.value;
  } catch {
    return undefined;
  }
  return undefined;
}

function cancelReasonFor(e: unknown): number {
  const R = CancelSessionReasonValue;
  const inner = e instanceof LpaError ? e.cause : e;
  if (inner instanceof LpaCheckError) {
    switch (inner.check) {
      case 'user-rejected':
      case 'cancelled':
        return R.endUserRejection;
      case 'confirmation-code-required':
      case 'ppr-consent-required':
        return R.postponed;
      case 'deadline':
        return R.timeout;
      case 'ppr-forbidden':
      case 'ppr-not-match':
        return R.pprNotAllowed;
      case 'metadata-changed':
        return R.metadataMismatch;
      default:
        return R.undefinedReason;
    }
  }
  if (inner instanceof RspHttpError && inner.kind === 'aborted') return R.endUserRejection;
  const code = mapFailure(inner).resultCode;
  if (code === 287 || code === 209) return R.timeout;
  return R.undefinedReason;
}

// ------------------------------------------------------------------------------------------ the flow

/** Download and install one profile. Throws {@link LpaError}. */
export async function downloadProfile(o: DownloadOptions): Promise<DownloadResult> {
  const ctx: { matchingIdSent: boolean; confirmationCodeSent: boolean } = { matchingIdSent: false, confirmationCodeSent: false };
  const overall = new AbortController();
  const overallMs = o.timeouts?.overallMs ?? DEFAULT_OVERALL_MS;
  const deadline = setTimeout(() => overall.abort(new LpaCheckError('deadline', `download not done within ${overallMs} ms`)), overallMs);
  const onOuter = (): void => overall.abort(new LpaCheckError('cancelled', 'download cancelled'));
  if (o.signal?.aborted) onOuter();
  else o.signal?.addEventListener('abort', onOuter, { once: true });

  let http: RspHttpClient | undefined;
  let tIdKey: string | undefined;
  try {
    // --- address and matchingId
    let address = o.smdpAddress;
    let matchingId = o.matchingId;
    let acOid: string | undefined;
    if (o.activationCode !== undefined) {
      const ac = parseActivationCode(o.activationCode);
      address = ac.smdpAddress;
      matchingId = ac.acToken;
      acOid = ac.smdpOid ?? undefined;
    }
    if (address === undefined || address.length === 0) throw new LpaCheckError('no-address', 'no SM-DP+ address (no activation code, no address)');
    if (matchingId === '') matchingId = undefined;
    ctx.matchingIdSent = matchingId !== undefined;

    http =
      o.httpClient ??
      new RspHttpClient({
        trustedCis: o.trust.ciCertificates,
        timeouts: {
          ...(o.timeouts?.connectMs !== undefined && { connectMs: o.timeouts.connectMs }),
          ...(o.timeouts?.requestMs !== undefined && { requestMs: o.timeouts.requestMs }),
        },
        ...o.http,
      });
    const es9p = new Es9pClient(http, address);
    const smdpAddress = address;
    const signal = overall.signal;

    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new LpaCheckError('cancelled', 'download cancelled');
    return await ApduChannel.with(o.transport, o.channelOptions ?? {}, async (ch) => {
      const state = { cardSession: false, serverSession: false, pirReceived: false, transactionId: undefined as Uint8Array | undefined };
      const check = (): void => {
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new LpaCheckError('cancelled', 'download cancelled');
      };
      const progress = (e: Omit<DownloadProgress, 'transactionId'>): void => {
        try {
          o.onProgress?.({ ...(state.transactionId && { transactionId: transactionIdHex(state.transactionId) }), ...e });
        } catch {
          /* a listener's failure does not break the download */
        }
      };
      try {
        return await run(ch);
      } catch (e) {
        // once the HTTP call was cut by our own controller, report the controller's reason (cancelled / deadline)
        const err = e instanceof RspHttpError && e.kind === 'aborted' && signal.reason instanceof LpaCheckError ? signal.reason : e;
        if (state.cardSession && !state.pirReceived && state.transactionId) {
          await cancelBoth(ch, es9p, state.transactionId, cancelReasonFor(err), state.serverSession);
        }
        throw err;
      }

      async function run(ch: StoreDataChannel): Promise<DownloadResult> {
        progress({ step: 'authenticating' });
        check();
        const euiccChallenge = await es10b.getEuiccChallenge(ch);
        const euiccInfo1 = await ch.storeData(encodeGetEuiccInfo1Request());
        decodeAs('GetEUICCInfo1', euiccInfo1, decodeEUICCInfo1);
        check();

        const ia = await es9p.initiateAuthentication({ euiccChallenge, euiccInfo1, smdpAddress }, { signal });
        const tId = ia.transactionId;
        if (!bytesEqual(tId, ia.serverSigned1.transactionId)) throw new LpaCheckError('transaction-id', 'transactionId differs from the one in serverSigned1');
        state.transactionId = tId;
        tIdKey = transactionIdHex(tId);
        running.set(tIdKey, overall);
        progress({ step: 'authenticating' });
        if (!bytesEqual(ia.serverSigned1.euiccChallenge, euiccChallenge)) throw new LpaCheckError('euicc-challenge', 'serverSigned1 carries another euiccChallenge');
        if (ia.serverSigned1.serverAddress.toLowerCase() !== smdpAddress.toLowerCase()) {
          throw new LpaCheckError('server-address', `serverSigned1.serverAddress ${ia.serverSigned1.serverAddress} is not the address called`);
        }
        if (acOid !== undefined) {
          const oid = certificateOid(ia.serverCertificate);
          if (oid !== acOid) throw new LpaCheckError('ac-oid', `the activation code's SM-DP+ OID ${acOid} is not the one of CERT.DPauth (${oid ?? 'none'})`);
        }
        check();

        const as = await es10b.authenticateServer(ch, {
          serverSigned1: ia.serverSigned1,
          serverSignature1: ia.serverSignature1,
          euiccCiPKIdToBeUsed: ia.euiccCiPKIdToBeUsed,
          serverCertificate: ia.serverCertificate,
          ctxParams1: { kind: 'ctxParamsForCommonAuthentication', ...(matchingId !== undefined && { matchingId }), deviceInfo: o.deviceInfo ?? DEFAULT_DEVICE_INFO },
        });
        if (as.response.kind === 'authenticateResponseError') {
          // forwarded so that the SM-DP+ can end its session; its answer does not change the outcome
          await es9p.authenticateClient({ transactionId: tId, authenticateServerResponse: as.raw }, { signal }).catch(() => undefined);
          throw new Es10DownloadError('AuthenticateServer', as.response.authenticateErrorCode);
        }
        state.cardSession = true;
        check();

        const acr = await es9p.authenticateClient({ transactionId: tId, authenticateServerResponse: as.raw }, { signal });
        state.serverSession = true;
        if (!bytesEqual(acr.transactionId, tId) || !bytesEqual(acr.smdpSigned2.transactionId, tId)) {
          throw new LpaCheckError('transaction-id', 'authenticateClient answered another transactionId');
        }
        let metadata: ProfileMetadata;
        try {
          metadata = toProfileMetadata(acr.profileMetadata, acr.profileMetadataRaw);
        } catch (e) {
          throw new LpaError(229, 'profileMetadata undecodable', `profileMetadata: ${(e as Error).message}`, { cause: e });
        }

        // --- PPRs (§7)
        if (metadata.policyRules.some((r) => r !== 'pprUpdateControl')) {
          const rat = await es10b.getRat(ch);
          const info2 = await es10b.getEuiccInfo2(ch);
          const v = checkPolicyRules(metadata.policyRules, metadata.profileOwner, rat, info2.forbiddenProfilePolicyRules ?? []);
          if (!v.ok) throw new LpaCheckError(v.check, `the profile's policy rule ${v.rule} is not allowed on this device`);
          if (v.consentRequired && o.pprConsent !== true) throw new LpaCheckError('ppr-consent-required', 'the profile carries policy rules that need the user\'s consent');
        }
        if (o.onMetadata) {
          let accepted: boolean;
          try {
            accepted = await o.onMetadata(metadata);
          } catch (e) {
            throw new LpaCheckError('user-rejected', 'the metadata callback failed', { cause: e });
          }
          if (accepted !== true) throw new LpaCheckError('user-rejected', 'the user declined the profile');
        }
        check();

        // --- confirmation code (§4.3)
        let hashCc: Uint8Array | undefined;
        if (acr.smdpSigned2.ccRequiredFlag) {
          if (o.confirmationCode === undefined || o.confirmationCode.length === 0) {
            throw new LpaCheckError('confirmation-code-required', 'the SM-DP+ requires a confirmation code');
          }
          hashCc = confirmationCodeHash(o.confirmationCode, acr.smdpSigned2.transactionId);
          ctx.confirmationCodeSent = true;
        }

        const pd = await es10b.prepareDownload(ch, {
          smdpSigned2: acr.smdpSigned2,
          smdpSignature2: acr.smdpSignature2,
          ...(hashCc && { hashCc }),
          smdpCertificate: acr.smdpCertificate,
        });
        if (pd.response.kind === 'downloadResponseError') throw new Es10DownloadError('PrepareDownload', pd.response.downloadErrorCode);
        check();

        progress({ step: 'downloading' });
        const gb = await es9p.getBoundProfilePackage({ transactionId: tId, prepareDownloadResponse: pd.raw }, { signal });
        if (!bytesEqual(gb.transactionId, tId)) throw new LpaCheckError('transaction-id', 'getBoundProfilePackage answered another transactionId');
        let segments: Uint8Array[];
        try {
          segments = segmentBpp(gb.boundProfilePackage);
        } catch (e) {
          throw new LpaCheckError('bpp-undecodable', `the BoundProfilePackage cannot be segmented: ${(e as Error).message}`, { cause: e });
        }
        check();

        // --- LoadBoundProfilePackage
        let pirRaw: Uint8Array | undefined;
        progress({ step: 'installing', done: 0, total: segments.length });
        for (let i = 0; i < segments.length; i++) {
          check();
          const r = await es10b.loadBppSegment(ch, segments[i]!);
          progress({ step: 'installing', done: i + 1, total: segments.length });
          if (r.length > 0) {
            pirRaw = r;
            break;
          }
        }
        if (pirRaw === undefined) throw new LpaCheckError('bpp-undecodable', 'no ProfileInstallationResult after the last segment');
        const pir = decodeAs('LoadBoundProfilePackage', pirRaw, decodeProfileInstallationResult);
        state.pirReceived = true;
        const data = pir.profileInstallationResultData;

        // --- notification (also for a failed installation: the card made one)
        progress({ step: 'notifying' });
        let notificationSent = false;
        try {
          await es9p.handleNotification(pirRaw, { signal: AbortSignal.timeout(CANCEL_REQUEST_MS) });
          const rm = await es10b.removeNotification(ch, data.notificationMetadata.seqNumber);
          notificationSent = rm.result === 'ok';
        } catch {
          notificationSent = false; // stays pending on the card; sent later with retry
        }

        if (data.finalResult.kind === 'errorResult') {
          throw new Es10DownloadError('LoadBoundProfilePackage', data.finalResult.errorResult.errorReason, data.finalResult.errorResult.bppCommandId);
        }
        const isdpAid = toHex(data.finalResult.successResult.aid).toUpperCase();
        let enable: Es10Outcome<EnableResult> | undefined;
        if (o.enableAfterDownload) enable = await enableProfile(ch, metadata.iccid);
        return { iccid: metadata.iccid, transactionId: tIdKey!, isdpAid, metadata, notificationSent, ...(enable && { enable }) };
      }
    });
  } catch (e) {
    const inner = e instanceof RspHttpError && e.kind === 'aborted' && overall.signal.reason instanceof LpaCheckError ? overall.signal.reason : e;
    throw LpaError.from(inner, ctx satisfies MappingContext);
  } finally {
    clearTimeout(deadline);
    o.signal?.removeEventListener('abort', onOuter);
    if (tIdKey !== undefined && running.get(tIdKey) === overall) running.delete(tIdKey);
    if (http && !o.httpClient) await http.close().catch(() => undefined);
  }
}

/** ES10b CancelSession, then (when the card signed it and the SM-DP+ has a session) ES9+ cancelSession. Best effort. */
async function cancelBoth(ch: StoreDataChannel, es9p: Es9pClient, transactionId: Uint8Array, reason: number, serverSession: boolean): Promise<void> {
  let raw: Uint8Array;
  try {
    const r = await es10b.cancelSession(ch, transactionId, reason);
    if (r.response.kind !== 'cancelSessionResponseOk') return;
    raw = r.raw;
  } catch {
    return;
  }
  if (!serverSession) return;
  await es9p.cancelSession({ transactionId, cancelSessionResponse: raw }, { signal: AbortSignal.timeout(CANCEL_REQUEST_MS) }).catch(() => undefined);
}
