/**
 * ES11 (LPA -> SM-DS) event retrieval result, in the ASN.1 binding of RSPDefinitions v2.5:
 *
 *   AuthenticateClientResponseEs11 ::= [64] CHOICE                       -- BF40
 *     A0 authenticateClientOk AuthenticateClientOkEs11 {
 *          80 transactionId, A1 eventEntries { 30 EventEntries { 80 eventId, 81 rspServerAddress } ... } }
 *     81 authenticateClientError INTEGER
 *
 * (AUTOMATIC TAGS: none of the components is tagged, so AuthenticateClientOkEs11 and EventEntries get
 * context tags [0], [1].) The JSON binding of ES11 authenticateClient carries the same entries as
 * `eventEntries: [{eventId, rspServerAddress}, ...]` (SGP22-NOTES.md §5.3); {@link eventEntriesFromJson}
 * validates such a value.
 */
import { decodeUtf8, encodeInteger, expectLength } from '../der.js';
import { encodeTlv, type Tlv } from '../tlv.js';
import { asTlv } from './codec-util.js';
import { SeqFields, encodeOctets, encodeString, integerOf, singleChild, unknownAlternative } from './fields.js';

export const ES11_TAGS = {
  authenticateClientResponseEs11: 0xbf40,
  authenticateClientOk: 0xa0,
  authenticateClientError: 0x81,
  transactionId: 0x80,
  eventEntries: 0xa1,
  eventEntry: 0x30,
  eventId: 0x80,
  rspServerAddress: 0x81,
} as const;

const T = ES11_TAGS;

export const AuthenticateClientErrorEs11Value = {
  eumCertificateInvalid: 1,
  eumCertificateExpired: 2,
  euiccCertificateInvalid: 3,
  euiccCertificateExpired: 4,
  euiccSignatureInvalid: 5,
  eventIdUnknown: 6,
  invalidTransactionId: 7,
  undefinedError: 127,
} as const;

export interface EventEntries {
  /** The event id; used as matchingId in the following ES9+ download. */
  readonly eventId: string;
  /** The SM-DP+ (or SM-DS) address holding the event. */
  readonly rspServerAddress: string;
}

export interface AuthenticateClientOkEs11 {
  readonly transactionId: Uint8Array;
  readonly eventEntries: readonly EventEntries[];
}

export type AuthenticateClientResponseEs11 =
  | { readonly kind: 'authenticateClientOk'; readonly authenticateClientOk: AuthenticateClientOkEs11 }
  | { readonly kind: 'authenticateClientError'; readonly authenticateClientError: number };

// ------------------------------------------------------------------------------------------- EventEntries

export function encodeEventEntries(x: EventEntries): Uint8Array {
  return encodeTlv(T.eventEntry, [
    encodeString(T.eventId, x.eventId, 'EventEntries.eventId'),
    encodeString(T.rspServerAddress, x.rspServerAddress, 'EventEntries.rspServerAddress'),
  ]);
}

export function decodeEventEntries(input: Uint8Array | Tlv): EventEntries {
  const w = 'EventEntries';
  const t = asTlv(input, T.eventEntry, w);
  const f = new SeqFields(t, w, [T.eventId, T.rspServerAddress]);
  return {
    eventId: decodeUtf8(f.req(T.eventId, 'eventId')),
    rspServerAddress: decodeUtf8(f.req(T.rspServerAddress, 'rspServerAddress')),
  };
}

// ------------------------------------------------------------------------------- AuthenticateClientOkEs11

/** AuthenticateClientOkEs11 as a TLV with `tag` (A0 inside AuthenticateClientResponseEs11). */
export function encodeAuthenticateClientOkEs11(x: AuthenticateClientOkEs11, tag: number = T.authenticateClientOk): Uint8Array {
  return encodeTlv(tag, [
    encodeOctets(T.transactionId, x.transactionId, 1, 16, 'AuthenticateClientOkEs11.transactionId'),
    encodeTlv(T.eventEntries, x.eventEntries.map(encodeEventEntries)),
  ]);
}

export function decodeAuthenticateClientOkEs11(input: Uint8Array | Tlv, tag: number = T.authenticateClientOk): AuthenticateClientOkEs11 {
  const w = 'AuthenticateClientOkEs11';
  const t = asTlv(input, tag, w);
  const f = new SeqFields(t, w, [T.transactionId, T.eventEntries]);
  const transactionId = expectLength(f.req(T.transactionId, 'transactionId'), 1, 16, `${w}.transactionId`);
  const entries = f.req(T.eventEntries, 'eventEntries');
  return { transactionId, eventEntries: entries.children.map((c) => decodeEventEntries(c)) };
}

// ------------------------------------------------------------------------- AuthenticateClientResponseEs11

export function encodeAuthenticateClientResponseEs11(x: AuthenticateClientResponseEs11): Uint8Array {
  switch (x.kind) {
    case 'authenticateClientOk':
      return encodeTlv(T.authenticateClientResponseEs11, encodeAuthenticateClientOkEs11(x.authenticateClientOk));
    case 'authenticateClientError':
      return encodeTlv(T.authenticateClientResponseEs11, encodeInteger(T.authenticateClientError, x.authenticateClientError));
    default:
      throw new RangeError('AuthenticateClientResponseEs11: unknown kind');
  }
}

export function decodeAuthenticateClientResponseEs11(input: Uint8Array | Tlv): AuthenticateClientResponseEs11 {
  const w = 'AuthenticateClientResponseEs11';
  const t = asTlv(input, T.authenticateClientResponseEs11, w);
  const c = singleChild(t, w);
  if (c.tag === T.authenticateClientOk) return { kind: 'authenticateClientOk', authenticateClientOk: decodeAuthenticateClientOkEs11(c) };
  if (c.tag === T.authenticateClientError) return { kind: 'authenticateClientError', authenticateClientError: integerOf(c) };
  throw unknownAlternative(c, w);
}

// ------------------------------------------------------------------------------------------------- JSON

/** The JSON form of one event entry in the ES11 authenticateClient response. */
export interface EventEntryJson {
  eventId: string;
  rspServerAddress: string;
}

/** A JSON `eventEntries` value that is not an array of `{eventId: string, rspServerAddress: string}`. */
export class EventEntriesJsonError extends TypeError {
  override readonly name = 'EventEntriesJsonError';
}

export function eventEntriesToJson(entries: readonly EventEntries[]): EventEntryJson[] {
  return entries.map((e) => ({ eventId: e.eventId, rspServerAddress: e.rspServerAddress }));
}

/**
 * Validate the `eventEntries` field of an ES11 authenticateClient JSON response (absent -> no events).
 * Extra keys in an entry are ignored; anything else throws {@link EventEntriesJsonError}.
 */
export function eventEntriesFromJson(value: unknown): EventEntries[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new EventEntriesJsonError('eventEntries must be an array');
  return value.map((e: unknown, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) {
      throw new EventEntriesJsonError(`eventEntries[${i}] must be an object`);
    }
    const o = e as Record<string, unknown>;
    if (typeof o.eventId !== 'string') throw new EventEntriesJsonError(`eventEntries[${i}].eventId must be a string`);
    if (typeof o.rspServerAddress !== 'string') {
      throw new EventEntriesJsonError(`eventEntries[${i}].rspServerAddress must be a string`);
    }
    return { eventId: o.eventId, rspServerAddress: o.rspServerAddress };
  });
}

export const FUZZ_DECODERS_ES11: ReadonlyArray<{ name: string; decode: (b: Uint8Array) => unknown }> = [
  { name: 'EventEntries', decode: (b) => decodeEventEntries(b) },
  { name: 'AuthenticateClientOkEs11', decode: (b) => decodeAuthenticateClientOkEs11(b) },
  { name: 'AuthenticateClientResponseEs11', decode: (b) => decodeAuthenticateClientResponseEs11(b) },
];
