import { describe, expect, it } from 'vitest';
import { expectAsn1Error } from '../../../test/support/asn1-assert.js';
import { assertDecodersTotal } from '../../../test/support/decoder-fuzz.js';
import { fromHex, toHex } from '../../util/hex.js';
import {
  AuthenticateClientErrorEs11Value,
  ES11_TAGS,
  EventEntriesJsonError,
  FUZZ_DECODERS_ES11,
  decodeAuthenticateClientOkEs11,
  decodeAuthenticateClientResponseEs11,
  decodeEventEntries,
  encodeAuthenticateClientOkEs11,
  encodeAuthenticateClientResponseEs11,
  encodeEventEntries,
  eventEntriesFromJson,
  eventEntriesToJson,
  type AuthenticateClientResponseEs11,
} from './es11.js';

const TID = fromHex('b0de55fbc632475d8a88829ae763a183');
const OK: AuthenticateClientResponseEs11 = {
  kind: 'authenticateClientOk',
  authenticateClientOk: {
    transactionId: TID,
    eventEntries: [
      { eventId: 'EVT-0001-ab', rspServerAddress: 'testsmdpplus1.example.com' },
      { eventId: '04386-AGYFT-A74Y8-3F815', rspServerAddress: 'smdp.operator.example:8443' },
    ],
  },
};

describe('ES11 event entries', () => {
  it('EventEntries known encoding: 30 { 80 eventId, 81 rspServerAddress }', () => {
    const enc = encodeEventEntries({ eventId: 'E1', rspServerAddress: 'a.b' });
    expect(toHex(enc)).toBe('3009' + '80024531' + '8103612e62');
    expect(decodeEventEntries(enc)).toEqual({ eventId: 'E1', rspServerAddress: 'a.b' });
    expectAsn1Error(() => decodeEventEntries(fromHex('300480024531')), 'missing-element');
  });

  it('AuthenticateClientResponseEs11 (BF40): ok with events, ok without, error', () => {
    const enc = encodeAuthenticateClientResponseEs11(OK);
    expect(toHex(enc.subarray(0, 2))).toBe('bf40');
    expect(decodeAuthenticateClientResponseEs11(enc)).toEqual(OK);
    const none: AuthenticateClientResponseEs11 = { kind: 'authenticateClientOk', authenticateClientOk: { transactionId: TID, eventEntries: [] } };
    expect(toHex(encodeAuthenticateClientResponseEs11(none))).toBe('bf4016a0148010' + toHex(TID) + 'a100');
    expect(decodeAuthenticateClientResponseEs11(encodeAuthenticateClientResponseEs11(none))).toEqual(none);
    for (const v of Object.values(AuthenticateClientErrorEs11Value)) {
      const e: AuthenticateClientResponseEs11 = { kind: 'authenticateClientError', authenticateClientError: v };
      expect(decodeAuthenticateClientResponseEs11(encodeAuthenticateClientResponseEs11(e))).toEqual(e);
    }
    expect(toHex(encodeAuthenticateClientResponseEs11({ kind: 'authenticateClientError', authenticateClientError: 6 }))).toBe('bf4003810106');
    expectAsn1Error(() => decodeAuthenticateClientResponseEs11(fromHex('bf4003820106')), 'unexpected-tag');
    expectAsn1Error(() => decodeAuthenticateClientResponseEs11(fromHex('bf4004a0028000')), 'bad-value'); // empty transactionId
    expectAsn1Error(() => decodeAuthenticateClientOkEs11(fromHex('a0038001ff')), 'missing-element');
    expect(decodeAuthenticateClientOkEs11(encodeAuthenticateClientOkEs11(OK.authenticateClientOk, 0x30), 0x30)).toEqual(OK.authenticateClientOk);
    expect(ES11_TAGS.authenticateClientResponseEs11).toBe(0xbf40);
  });

  it('JSON shape {eventId, rspServerAddress}', () => {
    const entries = OK.kind === 'authenticateClientOk' ? OK.authenticateClientOk.eventEntries : [];
    const json = JSON.parse(JSON.stringify(eventEntriesToJson(entries))) as unknown;
    expect(json).toEqual([
      { eventId: 'EVT-0001-ab', rspServerAddress: 'testsmdpplus1.example.com' },
      { eventId: '04386-AGYFT-A74Y8-3F815', rspServerAddress: 'smdp.operator.example:8443' },
    ]);
    expect(eventEntriesFromJson(json)).toEqual(entries);
    expect(eventEntriesFromJson(undefined)).toEqual([]);
    expect(eventEntriesFromJson([{ eventId: 'x', rspServerAddress: 'y', extra: 1 }])).toEqual([{ eventId: 'x', rspServerAddress: 'y' }]);
    expect(() => eventEntriesFromJson({})).toThrow(EventEntriesJsonError);
    expect(() => eventEntriesFromJson([null])).toThrow(EventEntriesJsonError);
    expect(() => eventEntriesFromJson([{ eventId: 1, rspServerAddress: 'y' }])).toThrow(EventEntriesJsonError);
    expect(() => eventEntriesFromJson([{ eventId: 'x' }])).toThrow(EventEntriesJsonError);
  });

  it('decoders are total', () => {
    assertDecodersTotal(FUZZ_DECODERS_ES11, [encodeAuthenticateClientResponseEs11(OK), encodeEventEntries({ eventId: 'E', rspServerAddress: 'a' })], 2500);
  });
});
