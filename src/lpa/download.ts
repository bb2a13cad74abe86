/**
 * The profile download flow (SGP22-NOTES §4.1, ARCHITECTURE §4), LPA side:
 *
 *   activation code / address + matchingId
 *   → authentication and profile metadata (rsp-session.ts: GetEUICCChallenge + GetEUICCInfo1 → ES9+
 *     initiateAuthentication → LPA checks → ES10b AuthenticateServer → ES9+ authenticateClient)
 *   → expectedIccid: the ICCID previewed earlier (metadata.ts) must be the one offered now, else 203
 *   → metadata: PPR check against GetRAT / forbiddenProfilePolicyRules (§7), onMetadata (preview/consent)
 *   → confirmation code: hashCc = SHA256(SHA256(cc) ‖ tId)
 *   → ES10b PrepareDownload → ES9+ getBoundProfilePackage
 *   → LoadBoundProfilePackage segment by segment (progress installing n/m) → PIR
 *   → ES9+ handleNotification(PIR) → RemoveNotificationFromList (notifications.ts) → optional EnableProfile.
 *
 * A failure once the card holds a session (after AuthenticateServer) sends ES10b CancelSession with the
 * reason that fits (endUserRejection, postponed, timeout, pprNotAllowed, metadataMismatch,
 * loadBppExecutionError, undefinedReason) and then ES9+ cancelSession with the card's signed answer.
 * A changed ICCID (expectedIccid) is cancelled with metadataMismatch(4), as SGP22-NOTES §6.2 proposes
 * ("metadata differs from what was promised, e.g. the ICCID from a previous metadata preview"); the
 * reference SM-DP+ keeps the order for that reason, so the user can preview the new profile and download it.
 * Cancellation: `signal`, or {@link cancelDownload}(transactionId) from another caller. Every thrown error
 * is an {@link LpaError} (result-codes.ts). Secrets (matching ID, confirmation code) are never logged or
 * put in messages.
 */
import { segmentBpp } from '../asn1/sgp22/bpp.js';
import { decodeProfileInstallationResult } from '../asn1/sgp22/notifications.js';
import { bytesEqual, toHex } from '../util/hex.js';
import { decodeAs, type Es10Outcome } from './es10-util.js';
import * as es10b from './es10b.js';
import { enableProfile, type EnableResult } from './es10c.js';
import { deliverNotification } from './notifications.js';
import { Es10DownloadError, LpaCheckError } from './result-codes.js';
import {
  CLEANUP_REQUEST_MS,
  confirmationCodeHash,
  evaluatePolicyRules,
  runRspSession,
  type AuthenticatedSession,
  type ProfileMetadata,
  type RspSessionOptions,
} from './rsp-session.js';

export {
  cancelDownload,
  runningDownloads,
  checkPolicyRules,
  confirmationCodeHash,
  toProfileMetadata,
  type DownloadTimeouts,
  type ProfileMetadata,
  type RspSessionOptions,
} from './rsp-session.js';

export type DownloadStep = 'authenticating' | 'downloading' | 'installing' | 'notifying';

export interface DownloadProgress {
  /** Hex transactionId, once the SM-DP+ has given one. */
  readonly transactionId?: string;
  readonly step: DownloadStep;
  /** installing: segments loaded so far / segment count. */
  readonly done?: number;
  readonly total?: number;
}

export interface DownloadOptions extends RspSessionOptions {
  readonly confirmationCode?: string;
  /** The user agreed to PPRs whose RAT rule asks for consent. Default false. */
  readonly pprConsent?: boolean;
  readonly enableAfterDownload?: boolean;
  /**
   * The ICCID the user previewed (getProfileMetadata). When authenticateClient offers another profile, the
   * download stops before anything is installed: CancelSession metadataMismatch, LpaError 203.
   */
  readonly expectedIccid?: string;
  readonly onProgress?: (e: DownloadProgress) => void;
  /** Preview / consent: false (or a rejected promise) cancels the download with endUserRejection. */
  readonly onMetadata?: (m: ProfileMetadata) => Promise<boolean> | boolean;
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

/** ICCID digits compare without F padding and case. */
function sameIccid(a: string, b: string): boolean {
  const n = (x: string): string => x.toUpperCase().replace(/F+$/, '');
  return n(a) === n(b);
}

/** Download and install one profile. Throws {@link LpaError}. */
export async function downloadProfile(o: DownloadOptions): Promise<DownloadResult> {
  let tId: string | undefined;
  const progress = (e: Omit<DownloadProgress, 'transactionId'>): void => {
    try {
      o.onProgress?.({ ...(tId !== undefined && { transactionId: tId }), ...e });
    } catch {
      /* a listener's failure does not break the download */
    }
  };
  return runRspSession(
    o,
    {
      what: 'download',
      onAuthenticating: (t) => {
        tId = t;
        progress({ step: 'authenticating' });
      },
    },
    (s) => afterAuthentication(o, s, progress),
  );
}

async function afterAuthentication(
  o: DownloadOptions,
  s: AuthenticatedSession,
  progress: (e: Omit<DownloadProgress, 'transactionId'>) => void,
): Promise<DownloadResult> {
  const { ch, es9p, metadata, signal } = s;
  const acr = s.authenticateClient;
  const tId = s.transactionId;

  // --- the profile previewed earlier (203)
  if (o.expectedIccid !== undefined && !sameIccid(metadata.iccid, o.expectedIccid)) {
    throw new LpaCheckError('metadata-changed', `the SM-DP+ now offers ICCID ${metadata.iccid}, not the profile previewed (${o.expectedIccid})`);
  }

  // --- PPRs (§7)
  const ppr = await evaluatePolicyRules(ch, metadata);
  if (ppr.consentRequired && o.pprConsent !== true) throw new LpaCheckError('ppr-consent-required', "the profile carries policy rules that need the user's consent");
  if (o.onMetadata) {
    let accepted: boolean;
    try {
      accepted = await o.onMetadata(metadata);
    } catch (e) {
      throw new LpaCheckError('user-rejected', 'the metadata callback failed', { cause: e });
    }
    if (accepted !== true) throw new LpaCheckError('user-rejected', 'the user declined the profile');
  }
  s.check();

  // --- confirmation code (§4.3)
  let hashCc: Uint8Array | undefined;
  if (acr.smdpSigned2.ccRequiredFlag) {
    if (o.confirmationCode === undefined || o.confirmationCode.length === 0) {
      throw new LpaCheckError('confirmation-code-required', 'the SM-DP+ requires a confirmation code');
    }
    hashCc = confirmationCodeHash(o.confirmationCode, acr.smdpSigned2.transactionId);
    s.ctx.confirmationCodeSent = true;
  }

  const pd = await es10b.prepareDownload(ch, {
    smdpSigned2: acr.smdpSigned2,
    smdpSignature2: acr.smdpSignature2,
    ...(hashCc && { hashCc }),
    smdpCertificate: acr.smdpCertificate,
  });
  if (pd.response.kind === 'downloadResponseError') throw new Es10DownloadError('PrepareDownload', pd.response.downloadErrorCode);
  s.check();

  progress({ step: 'downloading' });
  const gb = await es9p.getBoundProfilePackage({ transactionId: tId, prepareDownloadResponse: pd.raw }, { signal });
  if (!bytesEqual(gb.transactionId, tId)) throw new LpaCheckError('transaction-id', 'getBoundProfilePackage answered another transactionId');
  let segments: Uint8Array[];
  try {
    segments = segmentBpp(gb.boundProfilePackage);
  } catch (e) {
    throw new LpaCheckError('bpp-undecodable', `the BoundProfilePackage cannot be segmented: ${(e as Error).message}`, { cause: e });
  }
  s.check();

  // --- LoadBoundProfilePackage
  let pirRaw: Uint8Array | undefined;
  progress({ step: 'installing', done: 0, total: segments.length });
  for (let i = 0; i < segments.length; i++) {
    s.check();
    const r = await es10b.loadBppSegment(ch, segments[i]!);
    progress({ step: 'installing', done: i + 1, total: segments.length });
    if (r.length > 0) {
      pirRaw = r;
      break;
    }
  }
  if (pirRaw === undefined) throw new LpaCheckError('bpp-undecodable', 'no ProfileInstallationResult after the last segment');
  const pir = decodeAs('LoadBoundProfilePackage', pirRaw, decodeProfileInstallationResult);
  s.markEnded();
  const data = pir.profileInstallationResultData;

  // --- notification (also for a failed installation: the card made one); left pending on any failure,
  // sent later with retry (notifications.ts sendPendingNotifications)
  progress({ step: 'notifying' });
  let notificationSent = false;
  try {
    await deliverNotification(ch, es9p, data.notificationMetadata.seqNumber, pirRaw, { timeoutMs: CLEANUP_REQUEST_MS });
    notificationSent = true;
  } catch {
    notificationSent = false;
  }

  if (data.finalResult.kind === 'errorResult') {
    throw new Es10DownloadError('LoadBoundProfilePackage', data.finalResult.errorResult.errorReason, data.finalResult.errorResult.bppCommandId);
  }
  const isdpAid = toHex(data.finalResult.successResult.aid).toUpperCase();
  let enable: Es10Outcome<EnableResult> | undefined;
  if (o.enableAfterDownload) enable = await enableProfile(ch, metadata.iccid);
  return { iccid: metadata.iccid, transactionId: s.transactionIdHex, isdpAid, metadata, notificationSent, ...(enable && { enable }) };
}
