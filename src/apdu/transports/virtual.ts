/**
 * In-process APDU transport to a {@link SoftEuicc} (the embedded default card of the LPA), implementing
 * {@link ApduTransport}. Each transmit is answered by the card at once (SoftEuicc.transmitTimed); a delay
 * fault rule holds the answer back, and disconnect fault rules apply. A `disconnect` fault (CardDisconnectedError) becomes TransportError('disconnected') and
 * the transport stays down; after close(), every transmit rejects with TransportError('closed').
 * A per-APDU `timeoutMs` gives TransportError('timeout') (the card itself has already processed the APDU).
 */
import { CardDisconnectedError, type SoftEuicc } from '../../euicc/card.js';
import { TransportError, type ApduTransport, type TransportCapabilities } from '../transport.js';

export class VirtualTransport implements ApduTransport {
  private closed = false;
  private disconnected = false;
  readonly capabilities: TransportCapabilities;

  constructor(
    readonly card: SoftEuicc,
    readonly port = 0,
  ) {
    if (!Number.isInteger(port) || port < 0 || port >= card.config.ports) {
      throw new RangeError(`port ${port} out of range 0..${card.config.ports - 1}`);
    }
    const ext = card.config.extendedLength;
    this.capabilities = { extendedLength: ext, maxCommandData: ext ? 65535 : 255, enforcesTimeout: true };
  }

  get isOpen(): boolean {
    return !this.closed && !this.disconnected;
  }

  async transmit(apdu: Uint8Array, options: { timeoutMs?: number } = {}): Promise<Uint8Array> {
    if (this.closed) throw new TransportError('closed', 'transport closed');
    if (this.disconnected) throw new TransportError('disconnected', 'card disconnected');
    let answer: { response: Uint8Array; delayMs: number };
    try {
      answer = this.card.transmitTimed(apdu, this.port);
    } catch (e) {
      if (e instanceof CardDisconnectedError) {
        this.disconnected = true;
        throw new TransportError('disconnected', e.message, { cause: e });
      }
      throw new TransportError('protocol', `card failure: ${(e as Error).message}`, { cause: e });
    }
    // the card answers synchronously: only a delay fault rule makes the answer late (and the timeout matter)
    if (answer.delayMs <= 0) return answer.response;
    const ms = options.timeoutMs;
    const timesOut = ms !== undefined && answer.delayMs > ms;
    await new Promise((resolve) => setTimeout(resolve, timesOut ? ms : answer.delayMs));
    if (timesOut) throw new TransportError('timeout', `no answer within ${ms} ms`);
    return answer.response;
  }

  /** End the connection (the card itself stays usable for other transports). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
  }
}
