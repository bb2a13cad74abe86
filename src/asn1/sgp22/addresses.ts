/**
 * ES10a configured addresses (SGP.22 RSPDefinitions v2.5):
 *   GetEuiccConfiguredAddresses  BF3C {} -> BF3C { 80 defaultDpAddress?, 81 rootDsAddress }
 *   SetDefaultDpAddress          BF3F { 80 defaultDpAddress } -> BF3F { 80 setDefaultDpAddressResult }
 * Addresses are UTF8String FQDNs. (OpenHarmony sends the address with tag 0C, which is not conformant;
 * this decoder rejects it — leniency, if wanted, belongs to the eUICC handler.)
 */
import { decodeUtf8, encodeInteger } from '../der.js';
import { encodeTlv, type Tlv } from '../tlv.js';
import { asTlv } from './codec-util.js';
import { SeqFields, encodeString, integerOf, requireConstructed } from './fields.js';

export const ADDRESSES_TAGS = {
  euiccConfiguredAddressesRequest: 0xbf3c,
  euiccConfiguredAddressesResponse: 0xbf3c,
  setDefaultDpAddressRequest: 0xbf3f,
  setDefaultDpAddressResponse: 0xbf3f,
  defaultDpAddress: 0x80,
  rootDsAddress: 0x81,
  setDefaultDpAddressResult: 0x80,
} as const;

const T = ADDRESSES_TAGS;

export const SetDefaultDpAddressResultValue = { ok: 0, undefinedError: 127 } as const;

export interface EuiccConfiguredAddressesRequest {}

export interface EuiccConfiguredAddressesResponse {
  readonly defaultDpAddress?: string;
  readonly rootDsAddress: string;
}

export interface SetDefaultDpAddressRequest {
  readonly defaultDpAddress: string;
}

export interface SetDefaultDpAddressResponse {
  /** See SetDefaultDpAddressResultValue. */
  readonly setDefaultDpAddressResult: number;
}

export function encodeEuiccConfiguredAddressesRequest(_x: EuiccConfiguredAddressesRequest = {}): Uint8Array {
  return encodeTlv(T.euiccConfiguredAddressesRequest);
}

/** Accepts `BF3C 00`; unknown extension elements inside are skipped. */
export function decodeEuiccConfiguredAddressesRequest(input: Uint8Array | Tlv): EuiccConfiguredAddressesRequest {
  requireConstructed(asTlv(input, T.euiccConfiguredAddressesRequest, 'EuiccConfiguredAddressesRequest'), 'EuiccConfiguredAddressesRequest');
  return {};
}

export function encodeEuiccConfiguredAddressesResponse(x: EuiccConfiguredAddressesResponse): Uint8Array {
  const w = 'EuiccConfiguredAddressesResponse';
  const parts: Uint8Array[] = [];
  if (x.defaultDpAddress !== undefined) parts.push(encodeString(T.defaultDpAddress, x.defaultDpAddress, `${w}.defaultDpAddress`));
  parts.push(encodeString(T.rootDsAddress, x.rootDsAddress, `${w}.rootDsAddress`));
  return encodeTlv(T.euiccConfiguredAddressesResponse, parts);
}

export function decodeEuiccConfiguredAddressesResponse(input: Uint8Array | Tlv): EuiccConfiguredAddressesResponse {
  const w = 'EuiccConfiguredAddressesResponse';
  const t = asTlv(input, T.euiccConfiguredAddressesResponse, w);
  const f = new SeqFields(t, w, [T.defaultDpAddress, T.rootDsAddress]);
  const dp = f.opt(T.defaultDpAddress);
  const rootDsAddress = decodeUtf8(f.req(T.rootDsAddress, 'rootDsAddress'));
  return { ...(dp && { defaultDpAddress: decodeUtf8(dp) }), rootDsAddress };
}

export function encodeSetDefaultDpAddressRequest(x: SetDefaultDpAddressRequest): Uint8Array {
  return encodeTlv(
    T.setDefaultDpAddressRequest,
    encodeString(T.defaultDpAddress, x.defaultDpAddress, 'SetDefaultDpAddressRequest.defaultDpAddress'),
  );
}

export function decodeSetDefaultDpAddressRequest(input: Uint8Array | Tlv): SetDefaultDpAddressRequest {
  const w = 'SetDefaultDpAddressRequest';
  const t = asTlv(input, T.setDefaultDpAddressRequest, w);
  return { defaultDpAddress: decodeUtf8(new SeqFields(t, w, [T.defaultDpAddress]).req(T.defaultDpAddress, 'defaultDpAddress')) };
}

export function encodeSetDefaultDpAddressResponse(x: SetDefaultDpAddressResponse): Uint8Array {
  return encodeTlv(T.setDefaultDpAddressResponse, encodeInteger(T.setDefaultDpAddressResult, x.setDefaultDpAddressResult));
}

export function decodeSetDefaultDpAddressResponse(input: Uint8Array | Tlv): SetDefaultDpAddressResponse {
  const w = 'SetDefaultDpAddressResponse';
  const t = asTlv(input, T.setDefaultDpAddressResponse, w);
  return {
    setDefaultDpAddressResult: integerOf(
      new SeqFields(t, w, [T.setDefaultDpAddressResult]).req(T.setDefaultDpAddressResult, 'setDefaultDpAddressResult'),
    ),
  };
}

export const FUZZ_DECODERS_ADDRESSES: ReadonlyArray<{ name: string; decode: (b: Uint8Array) => unknown }> = [
  { name: 'EuiccConfiguredAddressesRequest', decode: (b) => decodeEuiccConfiguredAddressesRequest(b) },
  { name: 'EuiccConfiguredAddressesResponse', decode: (b) => decodeEuiccConfiguredAddressesResponse(b) },
  { name: 'SetDefaultDpAddressRequest', decode: (b) => decodeSetDefaultDpAddressRequest(b) },
  { name: 'SetDefaultDpAddressResponse', decode: (b) => decodeSetDefaultDpAddressResponse(b) },
];
