/**
 * Shared shapes of the software eUICC (src/euicc/). The card speaks only APDUs (card.ts); ES10 requests
 * reassembled from STORE DATA are dispatched by their outer tag to handlers (es10a.ts, es10b.ts, es10c.ts),
 * which read and change the card through a {@link CardRuntime}.
 *
 * Layering: euicc/ imports asn1/, crypto/, util/ and apdu/apdu.ts only — never lpa/, smdp/, service/, api/.
 */
import type { Tlv } from '../asn1/tlv.js';
import type { CardStore } from './state.js';
import type { EuiccIdentity } from './identity.js';
import type { RspSession } from './session.js';

/** Static configuration of a card (fixed at creation, stored in its state file). */
export interface CardConfig {
  /** Number of MEP ports (1..4). Each port is its own APDU interface with its own logical channels. */
  readonly ports: number;
  /** Bytes of non-volatile memory available for profiles (free memory = this minus installed profiles). */
  readonly totalMemory: number;
  /** Whether extended-length APDUs are accepted (short ones always are). */
  readonly extendedLength: boolean;
  /** rspCapability.testProfileSupport: test profiles may be installed. */
  readonly testProfileSupport: boolean;
  /** SGP.22 version reported (EUICCInfo1/2 svn), e.g. "2.2.2". */
  readonly svn: string;
  /** SAIP version supported (EUICCInfo2 profileVersion), e.g. "2.3.1". */
  readonly profileVersion: string;
  /** Maximum nickname length in bytes (SGP.22: 64). */
  readonly maxNicknameBytes: number;
}

export const DEFAULT_CARD_CONFIG: CardConfig = {
  ports: 1,
  totalMemory: 512 * 1024,
  extendedLength: true,
  testProfileSupport: true,
  svn: '2.2.2',
  profileVersion: '2.3.1',
  maxNicknameBytes: 64,
};

/** Everything a handler may use. One runtime per card; handlers never keep references past a call. */
export interface CardRuntime {
  readonly config: CardConfig;
  readonly store: CardStore;
  readonly identity: EuiccIdentity;
  /** The RSP session (challenge, authentication, download, BPP loading); in memory only, lost on power-off. */
  readonly session: RspSession;
  /** Firmware version reported in EUICCInfo2 (changes with an OS update), "x.y.z". */
  firmwareVersion(): string;
  /** Random bytes (node:crypto underneath; replaceable for deterministic tests). */
  random(n: number): Uint8Array;
  /** Wall clock (the eUICC has no trusted clock: use only for bookkeeping, never for certificate dates). */
  now(): Date;
}

/** Per-request context: which port and logical channel the request came in on. */
export interface Es10Context {
  readonly card: CardRuntime;
  readonly port: number;
  readonly channel: number;
}

/**
 * An ES10 handler: takes the decoded request TLV, returns the complete response TLV (sent with 9000).
 * Business errors are encoded in the response, as SGP.22 wants. Malformed requests throw an Asn1Error
 * (answered 6A80); other APDU-level faults throw {@link CardFault}.
 */
export type Es10Handler = (request: Tlv, ctx: Es10Context) => Uint8Array;

/** Handlers by outer request tag (0xBF2D, 0xBF3E, ...). */
export type Es10HandlerTable = ReadonlyMap<number, Es10Handler>;

/** An APDU-level failure a handler wants answered with a specific status word. */
export class CardFault extends Error {
  override readonly name = 'CardFault';
  constructor(
    readonly sw: number,
    message: string,
  ) {
    super(message);
  }
}
