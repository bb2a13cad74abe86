/**
 * The transport contract between the LPA's {@link ApduChannel} (channel.ts) and a card connection.
 * Transports are adapters at the edge (src/apdu/transports/*): the LPA sees only this interface.
 *
 * Two shapes exist in the field:
 * - raw transports (the in-process software eUICC, PC/SC readers, an AT modem with only AT+CSIM) carry
 *   complete command APDUs on the card's basic interface; the channel opens logical channels itself with
 *   MANAGE CHANNEL and SELECTs the ISD-R;
 * - channel transports (an AT modem with AT+CCHO / AT+CGLA / AT+CCHC) open a logical channel *to an
 *   application* themselves and then carry APDUs on it. They implement {@link ApduTransport.openLogicalChannel}.
 */

/** Typed transport failures; every transport maps its own faults onto these. */
export type TransportErrorCode =
  | 'timeout' // no answer within the per-APDU timeout
  | 'disconnected' // the link or the card went away (card removed, reader lost, serial port closed)
  | 'busy' // exclusive access could not be obtained
  | 'protocol' // the peer answered something that is not a response (garbage, ERROR, malformed frame)
  | 'unsupported' // the transport cannot do what was asked (e.g. no logical channels)
  | 'closed'; // used after close()

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What a transport can do, so the channel can pick block sizes and framing. */
export interface TransportCapabilities {
  /** Extended-length APDUs can be carried end to end (default false). */
  readonly extendedLength?: boolean;
  /** Largest command data field the transport can carry in one APDU (default 255). */
  readonly maxCommandData?: number;
  /**
   * transmit() itself rejects with TransportError('timeout') once `options.timeoutMs` has passed, so the
   * channel arms no timer of its own per APDU (default false: the channel races every transmit with one).
   */
  readonly enforcesTimeout?: boolean;
}

/** A logical channel opened by the transport itself (AT+CCHO style). */
export interface TransportChannel {
  /** Logical channel number (1-19) as the card sees it. */
  readonly channel: number;
  /** The SELECT response data (FCI) when the transport returns it, else empty. */
  readonly selectResponse: Uint8Array;
}

export interface ApduTransport {
  readonly capabilities: TransportCapabilities;
  /** Send one command APDU, return the response APDU (data + SW1 SW2). Rejects with TransportError. */
  transmit(apdu: Uint8Array, options?: { timeoutMs?: number }): Promise<Uint8Array>;
  /**
   * Optional: open a logical channel to the application `aid` (channel transports). When absent, the
   * ApduChannel uses MANAGE CHANNEL + SELECT over {@link transmit}. APDUs for such a channel still go
   * through {@link transmit} with the channel encoded in the CLA.
   */
  openLogicalChannel?(aid: Uint8Array, options?: { timeoutMs?: number }): Promise<TransportChannel>;
  /** Optional counterpart of {@link openLogicalChannel}. */
  closeLogicalChannel?(channel: number, options?: { timeoutMs?: number }): Promise<void>;
  /** Exclusive access for the duration of `fn` (PC/SC transactions); default: just runs `fn`. */
  exclusive?<T>(fn: () => Promise<T>): Promise<T>;
  /** Release the connection. Idempotent. */
  close(): Promise<void>;
}
