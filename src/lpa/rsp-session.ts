/**
 * The first half of an ES9+ RSP session, shared by the download flow (download.ts) and the profile metadata
 * flow (metadata.ts), SGP22-NOTES §4.1 steps 1-8:
 *
 *   activation code / address + matchingId
 *   → GetEUICCChallenge + GetEUICCInfo1 → ES9+ initiateAuthentication
 *   → LPA checks: outer tId = signed tId, euiccChallenge, serverAddress = address called, AC OID = DPauth OID
 *   → ES10b AuthenticateServer → ES9+ authenticateClient (tId checks) → profile metadata decoded
 *
 * then the flow's own steps (`body`), with one logical channel to the ISD-R held for the whole session and
 * one overall deadline. A failure once the card holds a session (after AuthenticateServer) and before the
 * session ended by itself (PIR) or by the flow ({@link AuthenticatedSession.cancel}) sends ES10b
 * CancelSession with the reason that fits the failure ({@link cancelReasonFor}) and then ES9+ cancelSession
 * with the card's signed answer, best effort. Every thrown error is an {@link LpaError} mapped by
 * result-codes.ts. Cancellation: the caller's `signal`, or {@link cancelDownload}(transactionId) from
 * another caller (downloads and metadata sessions alike). Secrets (matching ID, confirmation code) are never
 * logged or put in messages.
 */
import { createHash } from 'node:crypto';
import { ApduChannel, type ApduChannelOptions, type StoreDataChannel } from '../apdu/channel.js';
import type { ApduTransport } from '../apdu/transport.js';
import { parseActivationCode } from '../asn1/activation-code.js';
import { CancelSessionReasonValue } from '../asn1/sgp22/cancel-session.js';
import { decodeEUICCInfo1, encodeGetEuiccInfo1Request, type DeviceInfo } from '../asn1/sgp22/euicc-info.js';
import { IconTypeValue, NotificationEventBit, PprIdsBit, ProfileClassValue, type StoreMetadataRequest } from '../asn1/sgp22/metadata.js';
import { parseCertificate } from '../crypto/x509.js';
import { decodeIccid } from '../util/bcd.js';
import { bytesEqual, concatBytes, utf8 } from '../util/hex.js';
import { bitNames, decodeAs, decodePlmn, nameOf } from './es10-util.js';
import * as es10b from './es10b.js';
import type { IconType, NotificationEventName, PolicyRule, ProfileClass, ProfileOwner } from './es10c.js';
import { Es9pClient, Es9pResponseError, transactionIdHex, type AuthenticateClientResult } from './es9p.js';
import { RspHttpClient, RspHttpError, type RspHttpClientOptions } from './http.js';
import { Es10DownloadError, LpaCheckError, LpaError, mapFailure, type LpaCheck, type MappingContext } from './result-codes.js';

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
  /** The whole flow (default 180 s, as OpenHarmony). */
  readonly overallMs?: number;
}

/** What every ES9+ session flow (download, metadata) needs: card, SM-DP+ address, trust, timeouts. */
export interface RspSessionOptions {
  /** The card connection; one logical channel to the ISD-R is opened for the session and closed after. */
  readonly transport: ApduTransport;
  readonly channelOptions?: ApduChannelOptions;
  /** `LPA:1$addr$token[$oid[$cc]]` (with or without `LPA:`). Or give smdpAddress (+ matchingId). */
  readonly activationCode?: string;
  readonly smdpAddress?: string;
  readonly matchingId?: string;
  /** The CI certificates (DER) the SM-DP+ TLS certificate must chain to. */
  readonly trust: { readonly ciCertificates: readonly Uint8Array[] };
  readonly timeouts?: DownloadTimeouts;
  readonly signal?: AbortSignal;
  /** DeviceInfo sent in ctxParams1 (default: a test TAC and no capabilities). */
  readonly deviceInfo?: DeviceInfo;
  /** A shared HTTP client (not closed by the flow); by default one is made from trust/timeouts/http. */
  readonly httpClient?: RspHttpClient;
  /** Extra options for the HTTP client made by the flow (tests: resolve, allowHttp). */
  readonly http?: Pick<RspHttpClientOptions, 'resolve' | 'allowHttp' | 'tlsRoles' | 'adminProtocol'>;
}

const DEFAULT_OVERALL_MS = 180_000;
const DEFAULT_DEVICE_INFO: DeviceInfo = { tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11), deviceCapabilities: {} };
/** Bound of the ES9+ calls that end a session or deliver a notification after the flow's own work. */
export const CLEANUP_REQUEST_MS = 5_000;

// ------------------------------------------------------------------------------------------ cancellation

const running = new Map<string, AbortController>();

/**
 * Cancel a running download (or metadata session) by its transactionId (hex, either case), ending both
 * sessions with `reason` (an SGP.22 CancelSessionReason; default endUserRejection). Returns false when none runs.
 */
export function cancelDownload(transactionId: string, reason?: number): boolean {
  const c = running.get(transactionId.toUpperCase());
  if (!c) return false;
  const cancelReason = reason === undefined ? undefined : checkCancelReason(reason, 'reason');
  c.abort(new LpaCheckError('cancelled', 'download cancelled', cancelReason === undefined ? {} : { cancelReason }));
  return true;
}

/**
 * The CancelSessionReason an outer AbortSignal asks for: its reason is a CancelSessionReason number, or an
 * object with a numeric `cancelReason` (e.g. the service's queue abort); anything else → undefined.
 */
function requestedCancelReason(reason: unknown): number | undefined {
  const v =
    typeof reason === 'number'
      ? reason
      : typeof reason === 'object' && reason !== null && typeof (reason as { cancelReason?: unknown }).cancelReason === 'number'
        ? (reason as { cancelReason: number }).cancelReason
        : undefined;
  return v !== undefined && CANCEL_REASONS.has(v) ? v : undefined;
}

/** transactionIds of the downloads (and metadata sessions) running in this process. */
export function runningDownloads(): string[] {
  return [...running.keys()];
}

// ------------------------------------------------------------------------------------------ pure helpers

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

/**
 * The PPR check against the card (GetRAT, EUICCInfo2.forbiddenProfilePolicyRules) for a profile's metadata.
 * Returns whether the user's consent is needed; throws LpaCheckError ppr-forbidden / ppr-not-match.
 * No card access when the profile carries no restricting PPR.
 */
export async function evaluatePolicyRules(ch: StoreDataChannel, metadata: ProfileMetadata): Promise<{ consentRequired: boolean }> {
  if (!metadata.policyRules.some((r) => r !== 'pprUpdateControl')) return { consentRequired: false };
  const rat = await es10b.getRat(ch);
  const info2 = await es10b.getEuiccInfo2(ch);
  const v = checkPolicyRules(metadata.policyRules, metadata.profileOwner, rat, info2.forbiddenProfilePolicyRules ?? []);
  if (!v.ok) throw new LpaCheckError(v.check, `the profile's policy rule ${v.rule} is not allowed on this device`);
  return { consentRequired: v.consentRequired };
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

/** The CancelSession reason (SGP22-NOTES §6.2) that fits a failure after AuthenticateServer. */
export function cancelReasonFor(e: unknown): number {
  const R = CancelSessionReasonValue;
  const inner = e instanceof LpaError ? e.cause : e;
  if (inner instanceof LpaCheckError) {
    switch (inner.check) {
      case 'user-rejected':
        return R.endUserRejection;
      case 'cancelled':
        return inner.cancelReason ?? R.endUserRejection;
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

const CANCEL_REASONS: ReadonlySet<number> = new Set(Object.values(CancelSessionReasonValue));

/** A CancelSessionReason of SGP.22 (0-5, 127), else RangeError naming `option`. */
export function checkCancelReason(reason: number, option: string): number {
  if (!Number.isInteger(reason) || !CANCEL_REASONS.has(reason)) {
    throw new RangeError(`${option} ${String(reason)} is not a CancelSessionReason (${[...CANCEL_REASONS].join(', ')})`);
  }
  return reason;
}

// ------------------------------------------------------------------------------------------ the session

/** An authenticated ES9+ session, handed to the flow's own steps. */
export interface AuthenticatedSession {
  readonly ch: StoreDataChannel;
  readonly es9p: Es9pClient;
  readonly transactionId: Uint8Array;
  /** Upper-case hex. */
  readonly transactionIdHex: string;
  /** authenticateClient's answer (smdpSigned2, signatures, CERT.DPpb). */
  readonly authenticateClient: AuthenticateClientResult;
  readonly metadata: ProfileMetadata;
  /** Aborted on cancel / deadline; pass it to the HTTP calls. */
  readonly signal: AbortSignal;
  /** Mapping context of the flow (the flow sets confirmationCodeSent). */
  readonly ctx: { matchingIdSent: boolean; confirmationCodeSent: boolean };
  /** Throw the cancel / deadline reason when the session was aborted. */
  check(): void;
  /** The card's session ended by itself (a PIR arrived): no CancelSession on a later failure. */
  markEnded(): void;
  /**
   * End the session on both sides with `reason`: ES10b CancelSession, then ES9+ cancelSession with the
   * card's signed answer. Throws (Es10DownloadError CancelSession when the card answers an error, the ES9+
   * failure otherwise); no second CancelSession is attempted after it.
   */
  cancel(reason: number): Promise<void>;
}

export interface RspSessionHooks {
  /** 'download' or 'metadata request', for messages. */
  readonly what: string;
  /** Called when authentication starts and again once the transactionId is known. */
  readonly onAuthenticating?: (transactionId: string | undefined) => void;
  /** The CancelSession reason for a failure, when the flow's differs from {@link cancelReasonFor}. */
  readonly cancelReason?: (failure: unknown, fallback: number) => number;
}

/**
 * Run one ES9+ session: authenticate (steps 1-8), then `body`. Throws {@link LpaError}; on a failure after
 * AuthenticateServer both sessions are cancelled first (unless `body` ended them).
 */
export async function runRspSession<T>(o: RspSessionOptions, hooks: RspSessionHooks, body: (s: AuthenticatedSession) => Promise<T>): Promise<T> {
  const ctx = { matchingIdSent: false, confirmationCodeSent: false };
  const overall = new AbortController();
  const overallMs = o.timeouts?.overallMs ?? DEFAULT_OVERALL_MS;
  const deadline = setTimeout(() => overall.abort(new LpaCheckError('deadline', `${hooks.what} not done within ${overallMs} ms`)), overallMs);
  const onOuter = (): void => {
    const cancelReason = requestedCancelReason(o.signal?.reason);
    overall.abort(new LpaCheckError('cancelled', `${hooks.what} cancelled`, cancelReason === undefined ? {} : { cancelReason }));
  };
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

    http = o.httpClient ?? newHttpClient(o);
    const es9p = new Es9pClient(http, address);
    const smdpAddress = address;
    const signal = overall.signal;
    const check = (): void => {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new LpaCheckError('cancelled', `${hooks.what} cancelled`);
    };

    check();
    return await ApduChannel.with(o.transport, o.channelOptions ?? {}, async (ch) => {
      const state = { cardSession: false, serverSession: false, ended: false, transactionId: undefined as Uint8Array | undefined };
      const onAuth = (): void => {
        try {
          hooks.onAuthenticating?.(state.transactionId && transactionIdHex(state.transactionId));
        } catch {
          /* a listener's failure does not break the flow */
        }
      };
      try {
        onAuth();
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
        onAuth();
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

        const acr = await es9p.authenticateClient({ transactionId: tId, authenticateServerResponse: as.raw }, { signal }).catch((e: unknown) => {
          // a success answer with an unusable field: the SM-DP+ holds an authenticated session all the same
          if (e instanceof Es9pResponseError) state.serverSession = true;
          throw e;
        });
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
        return await body({
          ch,
          es9p,
          transactionId: tId,
          transactionIdHex: tIdKey,
          authenticateClient: acr,
          metadata,
          signal,
          ctx,
          check,
          markEnded: () => {
            state.ended = true;
          },
          cancel: async (reason) => {
            state.ended = true; // whatever the card answers, no second CancelSession
            const r = await es10b.cancelSession(ch, tId, reason);
            if (r.response.kind !== 'cancelSessionResponseOk') throw new Es10DownloadError('CancelSession', r.response.cancelSessionResponseError);
            await es9p.cancelSession({ transactionId: tId, cancelSessionResponse: r.raw }, { signal });
            state.serverSession = false;
          },
        });
      } catch (e) {
        // once the HTTP call was cut by our own controller, report the controller's reason (cancelled / deadline)
        const err = ownAbortReason(e, signal);
        if (state.cardSession && !state.ended && state.transactionId) {
          const fallback = cancelReasonFor(err);
          await cancelBoth(ch, es9p, state.transactionId, hooks.cancelReason ? hooks.cancelReason(err, fallback) : fallback, state.serverSession);
        }
        throw err;
      }
    });
  } catch (e) {
    throw LpaError.from(ownAbortReason(e, overall.signal), ctx satisfies MappingContext);
  } finally {
    clearTimeout(deadline);
    o.signal?.removeEventListener('abort', onOuter);
    if (tIdKey !== undefined && running.get(tIdKey) === overall) running.delete(tIdKey);
    if (http && !o.httpClient) await http.close().catch(() => undefined);
  }
}

/** The HTTP client a flow makes from its options (trust, timeouts, http). */
export function newHttpClient(o: Pick<RspSessionOptions, 'trust' | 'timeouts' | 'http'>): RspHttpClient {
  return new RspHttpClient({
    trustedCis: o.trust.ciCertificates,
    timeouts: {
      ...(o.timeouts?.connectMs !== undefined && { connectMs: o.timeouts.connectMs }),
      ...(o.timeouts?.requestMs !== undefined && { requestMs: o.timeouts.requestMs }),
    },
    ...o.http,
  });
}

function ownAbortReason(e: unknown, signal: AbortSignal): unknown {
  return e instanceof RspHttpError && e.kind === 'aborted' && signal.reason instanceof LpaCheckError ? signal.reason : e;
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
  await es9p.cancelSession({ transactionId, cancelSessionResponse: raw }, { timeoutMs: CLEANUP_REQUEST_MS }).catch(() => undefined);
}
