/**
 * The RSP session of the software eUICC (SGP.22 §3.1.2-3.1.3 as digested in SGP22-NOTES §4): what the
 * card remembers between GetEUICCChallenge, AuthenticateServer, PrepareDownload and
 * LoadBoundProfilePackage. In memory only: a power-off or reset ends it, as on a real card.
 */
import type { EckaPrivateKey } from '../crypto/ecka.js';
import type { Certificate } from '../crypto/x509.js';
import type { Curve } from '../crypto/ecdsa.js';

/** After a successful AuthenticateServer. */
export interface AuthenticatedServer {
  readonly transactionId: Uint8Array;
  readonly serverAddress: string;
  readonly serverChallenge: Uint8Array;
  /** CERT.DPauth (or DSauth) as verified. */
  readonly serverCertificate: Certificate;
  /** PKID of the CI used for this session (euiccCiPKIdToBeUsed). */
  readonly ciPkid: Uint8Array;
  /** ctxParams1.matchingId, when sent. */
  readonly matchingId?: string;
  /**
   * The complete `5F37` TLV of the euiccSignature1 this card produced (added by E3): PrepareDownload
   * verifies smdpSignature2 over smdpSigned2 ‖ this TLV.
   */
  readonly euiccSignature1?: Uint8Array;
}

/** After a successful PrepareDownload. */
export interface PreparedDownload {
  readonly transactionId: Uint8Array;
  readonly serverAddress: string;
  /** CERT.DPpb as verified; its public key checks smdpSign in the BPP. */
  readonly dpPbCertificate: Certificate;
  /** SM-DP+ OID (registeredID in CERT.DPpb), for the PIR and CancelSession. */
  readonly smdpOid: string;
  readonly curve: Curve;
  /** One-time key pair of the eUICC (otSK.EUICC.ECKA / otPK.EUICC.ECKA, 65-byte point). */
  readonly otSk: EckaPrivateKey;
  readonly otPk: Uint8Array;
  readonly ccRequired: boolean;
  readonly hashCc?: Uint8Array;
}

/**
 * A BPP being loaded (owned by bpp.ts). Kept opaque here so the session does not depend on the loader.
 */
export interface BppLoadState {
  readonly transactionId: Uint8Array;
  /** Called when the session is reset or replaced, to drop key material. */
  dispose(): void;
}

/**
 * An OS image being loaded by the proprietary OS-update commands (owned by osu.ts). Opaque here; memory
 * only, so a power-off or reset aborts an OS load, which then restarts from its beginning.
 */
export interface OsuLoadState {
  readonly kind: 'osu-load';
}

export class RspSession {
  /** The last euiccChallenge handed out by GetEUICCChallenge (single use). */
  challenge: Uint8Array | undefined;
  auth: AuthenticatedServer | undefined;
  download: PreparedDownload | undefined;
  bpp: BppLoadState | undefined;
  /**
   * One-time key pairs kept after a failed or interrupted download, by transactionId (hex), so a retry
   * with bppEuiccOtpk in smdpSigned2 can reuse the key pair (SGP22-NOTES §4.3). Bounded, memory only.
   */
  readonly retainedOtks = new Map<string, { otSk: EckaPrivateKey; otPk: Uint8Array }>();
  /** An OS update in progress (osu.ts). */
  osuLoad?: OsuLoadState | undefined;

  /** End everything (power-off, reset, eUICC memory reset). */
  reset(): void {
    this.challenge = undefined;
    this.auth = undefined;
    this.download = undefined;
    this.bpp?.dispose();
    this.bpp = undefined;
    this.retainedOtks.clear();
    this.osuLoad = undefined;
  }
}
