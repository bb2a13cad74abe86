import { describe, expect, it } from 'vitest';
import { expectAsn1Error } from '../../../test/support/asn1-assert.js';
import { assertDecodersTotal } from '../../../test/support/decoder-fuzz.js';
import { fromHex, toHex } from '../../util/hex.js';
import {
  ADDRESSES_TAGS,
  FUZZ_DECODERS_ADDRESSES,
  SetDefaultDpAddressResultValue,
  decodeEuiccConfiguredAddressesRequest,
  decodeEuiccConfiguredAddressesResponse,
  decodeSetDefaultDpAddressRequest,
  decodeSetDefaultDpAddressResponse,
  encodeEuiccConfiguredAddressesRequest,
  encodeEuiccConfiguredAddressesResponse,
  encodeSetDefaultDpAddressRequest,
  encodeSetDefaultDpAddressResponse,
} from './addresses.js';

describe('ES10a GetEuiccConfiguredAddresses', () => {
  it('request is BF3C 00', () => {
    expect(toHex(encodeEuiccConfiguredAddressesRequest())).toBe('bf3c00');
    expect(decodeEuiccConfiguredAddressesRequest(fromHex('bf3c00'))).toEqual({});
    expect(decodeEuiccConfiguredAddressesRequest(fromHex('bf3c03800100'))).toEqual({}); // unknown extension skipped
    expectAsn1Error(() => decodeEuiccConfiguredAddressesRequest(fromHex('bf3d00')), 'unexpected-tag');
  });

  it('response with and without the default SM-DP+ address', () => {
    const both = { defaultDpAddress: 'testsmdpplus1.example.com', rootDsAddress: 'lpa.ds.gsma.com' };
    const enc = encodeEuiccConfiguredAddressesResponse(both);
    expect(toHex(enc)).toBe(
      'bf3c2c' + '8019' + toHex(new TextEncoder().encode(both.defaultDpAddress)) + '810f' + toHex(new TextEncoder().encode('lpa.ds.gsma.com')),
    );
    expect(decodeEuiccConfiguredAddressesResponse(enc)).toEqual(both);
    const rootOnly = { rootDsAddress: 'lpa.ds.gsma.com' };
    const enc2 = encodeEuiccConfiguredAddressesResponse(rootOnly);
    expect(toHex(enc2.subarray(0, 5))).toBe('bf3c11810f');
    const dec2 = decodeEuiccConfiguredAddressesResponse(enc2);
    expect(dec2).toEqual(rootOnly);
    expect('defaultDpAddress' in dec2).toBe(false);
    expect(decodeEuiccConfiguredAddressesResponse(fromHex('bf3c0480008100'))).toEqual({ defaultDpAddress: '', rootDsAddress: '' });
    expectAsn1Error(() => decodeEuiccConfiguredAddressesResponse(fromHex('bf3c028000')), 'missing-element');
    expectAsn1Error(() => decodeEuiccConfiguredAddressesResponse(fromHex('bf3c0481008000')), 'unexpected-tag');
  });
});

describe('ES10a SetDefaultDpAddress', () => {
  it('request and response', () => {
    const x = { defaultDpAddress: 'smdp.example.com' };
    const enc = encodeSetDefaultDpAddressRequest(x);
    expect(toHex(enc)).toBe('bf3f128010' + toHex(new TextEncoder().encode('smdp.example.com')));
    expect(decodeSetDefaultDpAddressRequest(enc)).toEqual(x);
    expect(decodeSetDefaultDpAddressRequest(fromHex('bf3f028000'))).toEqual({ defaultDpAddress: '' });
    // OpenHarmony's non-conformant 0C tag is rejected
    expectAsn1Error(() => decodeSetDefaultDpAddressRequest(fromHex('bf3f030c0161')), 'missing-element');
    expect(toHex(encodeSetDefaultDpAddressResponse({ setDefaultDpAddressResult: SetDefaultDpAddressResultValue.ok }))).toBe('bf3f03800100');
    expect(decodeSetDefaultDpAddressResponse(fromHex('bf3f0380017f'))).toEqual({
      setDefaultDpAddressResult: SetDefaultDpAddressResultValue.undefinedError,
    });
    expect(ADDRESSES_TAGS).toMatchObject({ euiccConfiguredAddressesRequest: 0xbf3c, setDefaultDpAddressRequest: 0xbf3f });
  });

  it('decoders are total', () => {
    const samples = [
      encodeEuiccConfiguredAddressesRequest(),
      encodeEuiccConfiguredAddressesResponse({ defaultDpAddress: 'a.example', rootDsAddress: 'b.example' }),
      encodeSetDefaultDpAddressRequest({ defaultDpAddress: 'a.example' }),
      encodeSetDefaultDpAddressResponse({ setDefaultDpAddressResult: 0 }),
    ];
    assertDecodersTotal(FUZZ_DECODERS_ADDRESSES, samples, 2500);
  });
});
