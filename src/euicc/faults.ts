/**
 * Fault injection for the software eUICC: make chosen commands fail the way real cards do, so the LPA's
 * error handling can be tested. Rules are matched at two points of {@link SoftEuicc} processing:
 *
 * - APDU point: every command APDU as it arrives (rules without `es10Tag`; `ins` and `port` filter);
 * - ES10 point: a reassembled ES10 request (STORE DATA sequence complete) about to be dispatched (rules
 *   with `es10Tag`, the outer request tag, e.g. 0xBF2D; `ins`, when given, must be 0xE2).
 *
 * `nth` fires the rule only on the nth matching event (1-based; counted per rule from when it was added).
 * Actions: `sw` answers that status word (a STORE DATA sequence in progress on the channel is dropped);
 * `result` answers the given bytes with 9000 (through 61xx chaining like any response); `delay` holds the
 * response back (transmitAsync only; ignored, and not counted, by the synchronous transmit); `disconnect`
 * powers the card off and throws {@link CardDisconnectedError}; `kill` sends SIGKILL to this process
 * (crash-consistency tests run the card in a child process).
 */

export type FaultAction =
  | { readonly kind: 'sw'; readonly sw: number }
  | { readonly kind: 'result'; readonly response: Uint8Array }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'disconnect' }
  | { readonly kind: 'kill' };

export interface FaultMatch {
  readonly ins?: number;
  readonly es10Tag?: number;
  /** Only the nth matching APDU / request (1-based). */
  readonly nth?: number;
  readonly port?: number;
}

export interface FaultRule {
  readonly match: FaultMatch;
  readonly action: FaultAction;
}

/** The connection to the card was cut (fault injection). The card is powered off. */
export class CardDisconnectedError extends Error {
  override readonly name = 'CardDisconnectedError';
  constructor(message = 'card disconnected') {
    super(message);
  }
}

/** One event a rule may match. */
export interface FaultEvent {
  readonly ins: number;
  readonly port: number;
  /** Set at the ES10 point only. */
  readonly es10Tag?: number;
}

interface ActiveRule {
  readonly rule: FaultRule;
  count: number;
}

/** The fault rules of one card. */
export class FaultSet {
  private rules: ActiveRule[] = [];

  constructor(rules: readonly FaultRule[] = []) {
    for (const r of rules) this.add(r);
  }

  /** Add a rule (its nth counter starts at 0). Returns the rule, for {@link remove}. */
  add(rule: FaultRule): FaultRule {
    this.rules.push({ rule, count: 0 });
    return rule;
  }

  /** Remove one rule (by identity). */
  remove(rule: FaultRule): boolean {
    const i = this.rules.findIndex((r) => r.rule === rule);
    if (i < 0) return false;
    this.rules.splice(i, 1);
    return true;
  }

  clear(): void {
    this.rules = [];
  }

  get size(): number {
    return this.rules.length;
  }

  /**
   * Match an event. Every rule that matches has its counter advanced; the first rule that fires (no
   * `nth`, or `nth` equal to its counter) gives the action. `async` false skips delay rules entirely.
   */
  check(event: FaultEvent, async: boolean): FaultAction | undefined {
    let fired: FaultAction | undefined;
    for (const ar of this.rules) {
      const { match, action } = ar.rule;
      if (!async && action.kind === 'delay') continue;
      if ((match.es10Tag !== undefined) !== (event.es10Tag !== undefined)) continue;
      if (match.es10Tag !== undefined && match.es10Tag !== event.es10Tag) continue;
      if (match.ins !== undefined && match.ins !== event.ins) continue;
      if (match.port !== undefined && match.port !== event.port) continue;
      ar.count++;
      if (fired === undefined && (match.nth === undefined || match.nth === ar.count)) fired = action;
    }
    return fired;
  }
}
