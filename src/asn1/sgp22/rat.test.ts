import { describe, expect, it } from 'vitest';
import { expectAsn1Error } from '../../../test/support/asn1-assert.js';
import { assertDecodersTotal } from '../../../test/support/decoder-fuzz.js';
import { fromHex, toHex } from '../../util/hex.js';
import { PprIdsBit } from './metadata.js';
import {
  FUZZ_DECODERS_RAT,
  PprFlagsBit,
  RAT_TAGS,
  decodeGetRatRequest,
  decodeGetRatResponse,
  decodeProfilePolicyAuthorisationRule,
  encodeGetRatRequest,
  encodeGetRatResponse,
  encodeProfilePolicyAuthorisationRule,
  type GetRatResponse,
} from './rat.js';

// MCC 262 / MNC 01 -> 62 F2 10; MCC 310 / MNC 410 -> 13 00 14 (3GPP TS 24.008 coding)
const RAT: GetRatResponse = {
  rat: [
    {
      pprIds: [PprIdsBit.ppr1, PprIdsBit.ppr2],
      allowedOperators: [{ mccMnc: fromHex('62f210') }, { mccMnc: fromHex('130014'), gid1: fromHex('a1'), gid2: fromHex('b2b2') }],
      pprFlags: [PprFlagsBit.consentRequired],
    },
    { pprIds: [PprIdsBit.ppr1], allowedOperators: [], pprFlags: [] },
  ],
};

describe('GetRat', () => {
  it('request is BF43 00', () => {
    expect(toHex(encodeGetRatRequest())).toBe('bf4300');
    expect(decodeGetRatRequest(fromHex('bf4300'))).toEqual({});
    expectAsn1Error(() => decodeGetRatRequest(fromHex('bf4400')), 'unexpected-tag');
  });

  it('rule known encoding: 30 { 80 pprIds, A1 { 30 OperatorId }, 82 pprFlags }', () => {
    const enc = encodeProfilePolicyAuthorisationRule({ pprIds: [1], allowedOperators: [{ mccMnc: fromHex('62f210') }], pprFlags: [0] });
    expect(toHex(enc)).toBe('3011' + '80020640' + 'a107' + '3005800362f210' + '82020780');
    expect(decodeProfilePolicyAuthorisationRule(enc)).toEqual({ pprIds: [1], allowedOperators: [{ mccMnc: fromHex('62f210') }], pprFlags: [0] });
    // empty pprFlags is 82 01 00
    expect(toHex(encodeProfilePolicyAuthorisationRule({ pprIds: [2], allowedOperators: [], pprFlags: [] }))).toBe('3009' + '80020520' + 'a100' + '820100');
  });

  it('response round trip and strictness', () => {
    const enc = encodeGetRatResponse(RAT);
    expect(toHex(enc.subarray(0, 2))).toBe('bf43');
    expect(decodeGetRatResponse(enc)).toEqual(RAT);
    expect(toHex(encodeGetRatResponse({ rat: [] }))).toBe('bf4302a000');
    expect(decodeGetRatResponse(fromHex('bf4302a000'))).toEqual({ rat: [] });
    expectAsn1Error(() => decodeGetRatResponse(fromHex('bf4300')), 'missing-element');
    expectAsn1Error(() => decodeGetRatResponse(fromHex('bf430aa008300680020640a100')), 'missing-element'); // no pprFlags
    expectAsn1Error(() => decodeGetRatResponse(fromHex('bf4309a007a1053003800100')), 'unexpected-tag');
    expect(RAT_TAGS.getRatResponse).toBe(0xbf43);
  });

  it('decoders are total', () => {
    assertDecodersTotal(FUZZ_DECODERS_RAT, [encodeGetRatResponse(RAT), encodeGetRatRequest()], 2500);
  });
});
