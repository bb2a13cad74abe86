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
 *
 * Usage (rules are given at creation, `SoftEuicc.create(path, { identity, faults: [...] })`, or added later
 * with `card.faults.add(rule)` / `remove(rule)` / `clear()`):
 * ```ts
 * card.faults.add({ match: { ins: 0xe2, nth: 3 }, action: { kind: 'sw', sw: 0x6f00 } }); // 3rd STORE DATA APDU fails
 * card.faults.add(resultFault(0xbf31, 5));               // EnableProfile answers catBusy(5), the card does nothing
 * card.faults.add(resultFault(0xbf38, 2, { nth: 1 }));   // first AuthenticateServer: invalidSignature(2)
 * card.faults.add({ match: { es10Tag: 0xbf2d }, action: { kind: 'delay', ms: 500 } }); // slow GetProfilesInfo
 * card.faults.add({ match: { es10Tag: 0xbf36 }, action: { kind: 'disconnect' } });    // cut the link at LoadBPP
 * ```
 */
import { encodeInteger } from '../asn1/der.js';
import { encodeTlv } from '../asn1/tlv.js';

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

/** ES10 functions whose response is `<tag> { 80 result }` (Enable, Disable, Delete, MemoryReset, SetNickname, SetDefaultDpAddress, NotificationSent). */
const SIMPLE_RESULT_TAGS: ReadonlySet<number> = new Set([0xbf31, 0xbf32, 0xbf33, 0xbf34, 0xbf29, 0xbf3f, 0xbf30]);
/** ES10 functions whose error is `<tag> { 81 error }` (GetProfilesInfo, ListNotification, RetrieveNotificationsList, CancelSession, LoadCRL). */
const ERROR_81_TAGS: ReadonlySet<number> = new Set([0xbf2d, 0xbf28, 0xbf2b, 0xbf41, 0xbf35]);
/** ES10 functions whose error is `<tag> { A1 { 80 transactionId, 02 code } }` (AuthenticateServer, PrepareDownload). */
const TRANSACTION_ERROR_TAGS: ReadonlySet<number> = new Set([0xbf38, 0xbf21]);

/**
 * The complete ES10 response carrying result / error `code` for the function with request tag `es10Tag`:
 * `<tag> {80 code}` for the functions with a result value, `<tag> {81 code}` for those with an error choice,
 * `<tag> {A1 {80 transactionId, 02 code}}` for AuthenticateServer / PrepareDownload (transactionId default
 * 16 zero bytes). Throws RangeError for other tags (use a `result` action with your own bytes).
 */
export function es10ResultResponse(es10Tag: number, code: number, transactionId: Uint8Array = new Uint8Array(16)): Uint8Array {
  if (!Number.isInteger(code) || code < 0 || code > 0x7fffffff) throw new RangeError(`result code ${code} invalid`);
  if (SIMPLE_RESULT_TAGS.has(es10Tag)) return encodeTlv(es10Tag, encodeInteger(0x80, code));
  if (ERROR_81_TAGS.has(es10Tag)) return encodeTlv(es10Tag, encodeInteger(0x81, code));
  if (TRANSACTION_ERROR_TAGS.has(es10Tag)) return encodeTlv(es10Tag, encodeTlv(0xa1, [encodeTlv(0x80, transactionId), encodeInteger(0x02, code)]));
  throw new RangeError(`no result code in the response of ES10 tag ${es10Tag.toString(16)}`);
}

/**
 * A rule making the ES10 function `es10Tag` answer result / error `code` (with 9000) instead of running: the
 * card state does not change. `match` may add `nth` and `port`.
 */
export function resultFault(
  es10Tag: number,
  code: number,
  match: Omit<FaultMatch, 'es10Tag' | 'ins'> = {},
  transactionId?: Uint8Array,
): FaultRule {
  return { match: { ...match, es10Tag }, action: { kind: 'result', response: es10ResultResponse(es10Tag, code, transactionId) } };
}
