/**
 * In-process APDU transport to a {@link SoftEuicc} (the embedded default card of the LPA).
 * Each transmit goes through the card's transmitAsync (so delay/disconnect fault rules apply).
 * After a disconnect (fault) or close(), every transmit rejects with {@link CardDisconnectedError}.
 */
import { CardDisconnectedError, type SoftEuicc } from '../../euicc/card.js';

export class VirtualTransport {
  private closed = false;

  constructor(
    readonly card: SoftEuicc,
    readonly port = 0,
  ) {
    if (!Number.isInteger(port) || port < 0 || port >= card.config.ports) {
      throw new RangeError(`port ${port} out of range 0..${card.config.ports - 1}`);
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (this.closed) throw new CardDisconnectedError('transport closed');
    try {
      return await this.card.transmitAsync(apdu, this.port);
    } catch (e) {
      if (e instanceof CardDisconnectedError) this.closed = true;
      throw e;
    }
  }

  /** End the connection (the card itself stays usable for other transports). */
  close(): void {
    this.closed = true;
  }
}
