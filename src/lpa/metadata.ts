/**
 * The profile metadata flow (OpenHarmony getDownloadableProfileMetadata; SGP22-NOTES §4.1 steps 1-8, §6.2):
 * authenticate with the SM-DP+ exactly as a download does (rsp-session.ts), read the profile metadata of
 * authenticateClient, check its PPRs against the card's RAT, then end the session properly: ES10b
 * CancelSession with `cancelReason` (default postponed(1): the user will decide later) and ES9+
 * cancelSession with the card's signed answer. Nothing is installed; the card keeps no RSP session.
 *
 * What the reference SM-DP+ does with the order after cancelSession (src/smdp/es9p.ts
 * RETRYABLE_CANCEL_REASONS, inventory.ts releaseAfterCancel): postponed(1), timeout(2), metadataMismatch(4),
 * loadBppExecutionError(5), undefinedReason(127) keep the order active and the profile released, so the
 * previewed profile can be downloaded afterwards (each authenticateClient counts one of the order's download
 * attempts, preview included); endUserRejection(0) and pprNotAllowed(3) end the order (cancelled, profile in
 * error), as the user or the device refused the profile for good.
 *
 * Outcomes:
 * - PPRs that the RAT allows only with the user's consent are reported (`pprConsentRequired`), not refused;
 * - PPRs the device does not allow fail with 268 / 276 (CancelSession pprNotAllowed), as a download would;
 * - a confirmation code requirement is reported (`confirmationCodeRequired`), nothing is sent;
 * - any failure (including the final CancelSession / cancelSession) is an {@link LpaError} mapped by
 *   result-codes.ts, like a download's; an invalid `cancelReason` is a RangeError before anything is done;
 * - cancelled (signal, cancelDownload(transactionId)) after AuthenticateServer: the session ends with
 *   `cancelReason`, not endUserRejection — abandoning a preview does not refuse the profile (218 all the same).
 * Other failures after AuthenticateServer end it with the reason a download would use (rsp-session.ts).
 */
import { CancelSessionReasonValue } from '../asn1/sgp22/cancel-session.js';
import type { PolicyRule } from './es10c.js';
import { RspHttpError } from './http.js';
import { LpaCheckError } from './result-codes.js';
import { checkCancelReason, evaluatePolicyRules, runRspSession, type ProfileMetadata, type RspSessionOptions } from './rsp-session.js';

export interface MetadataOptions extends RspSessionOptions {
  /** CancelSessionReason sent to end the session (default 1 = postponed). */
  readonly cancelReason?: number;
}

export interface MetadataResult {
  readonly metadata: ProfileMetadata;
  /** Hex transactionId of the (ended) session. */
  readonly transactionId: string;
  /** The SM-DP+ will ask for a confirmation code (ccRequiredFlag of smdpSigned2). */
  readonly confirmationCodeRequired: boolean;
  /** The RAT says the user must consent to the profile's PPRs (download with pprConsent). */
  readonly pprConsentRequired: boolean;
  /** The profile's policy rules (as in metadata.policyRules). */
  readonly pprs: PolicyRule[];
}

/** Read the metadata of the profile an activation code (or address + matchingId) points to. Throws {@link LpaError}. */
export async function getProfileMetadata(o: MetadataOptions): Promise<MetadataResult> {
  const reason = checkCancelReason(o.cancelReason ?? 1, 'cancelReason');
  const hooks = {
    what: 'metadata request',
    // abandoning a preview (signal, cancelDownload) is not a rejection of the profile: end with the caller's reason
    cancelReason: (e: unknown, fallback: number): number => (fallback === CancelSessionReasonValue.endUserRejection && isCancellation(e) ? reason : fallback),
  };
  return runRspSession(o, hooks, async (s) => {
    const { consentRequired } = await evaluatePolicyRules(s.ch, s.metadata);
    const confirmationCodeRequired = s.authenticateClient.smdpSigned2.ccRequiredFlag;
    s.check();
    await s.cancel(reason);
    return {
      metadata: s.metadata,
      transactionId: s.transactionIdHex,
      confirmationCodeRequired,
      pprConsentRequired: consentRequired,
      pprs: [...s.metadata.policyRules],
    };
  });
}

function isCancellation(e: unknown): boolean {
  return (e instanceof LpaCheckError && e.check === 'cancelled') || (e instanceof RspHttpError && e.kind === 'aborted');
}
