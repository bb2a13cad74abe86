/**
 * ES10a of the software eUICC (SGP22-NOTES §2.1): GetEuiccConfiguredAddresses (BF3C) and
 * SetDefaultDpAddress (BF3F). Addresses live in meta 'defaultDpAddress' / 'rootDsAddress'.
 *
 * Choices:
 *   - SetDefaultDpAddress with an empty string clears the default SM-DP+ address (BF3C then has no 80).
 *     (UNCONFIRMED in SGP.22; it is the only way an LPA can remove it apart from a memory reset.)
 *   - OpenHarmony sends the address under tag 0C (UTF8String universal) instead of 80; accepted too.
 *   - setDefaultDpAddressResult undefinedError(127) for an address longer than 255 bytes of UTF-8 or containing
 *     whitespace or control characters (no FQDN[:port] has them). Undecodable UTF-8 / a missing address → 6A80.
 *   - rootDsAddress is mandatory in BF3C: when none is configured the card reports the GSMA root SM-DS
 *     {@link DEFAULT_ROOT_DS_ADDRESS}.
 */
import { decodeUtf8 } from '../asn1/der.js';
import { Asn1Error, type Tlv } from '../asn1/tlv.js';
import {
  ADDRESSES_TAGS,
  SetDefaultDpAddressResultValue,
  decodeEuiccConfiguredAddressesRequest,
  encodeEuiccConfiguredAddressesResponse,
  encodeSetDefaultDpAddressResponse,
} from '../asn1/sgp22/addresses.js';
import type { Es10Context, Es10Handler, Es10HandlerTable } from './types.js';

export const DEFAULT_DP_ADDRESS_META = 'defaultDpAddress';
export const ROOT_DS_ADDRESS_META = 'rootDsAddress';
/** Root SM-DS reported when the card has none configured (the GSMA root SM-DS). */
export const DEFAULT_ROOT_DS_ADDRESS = 'lpa.ds.gsma.com';

const MAX_ADDRESS_BYTES = 255;

/** GetEuiccConfiguredAddresses BF3C {} -> BF3C { 80 defaultDpAddress?, 81 rootDsAddress }. */
export const getEuiccConfiguredAddresses: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  decodeEuiccConfiguredAddressesRequest(request);
  const { store } = ctx.card;
  const dp = store.getMetaString(DEFAULT_DP_ADDRESS_META);
  const ds = store.getMetaString(ROOT_DS_ADDRESS_META) ?? DEFAULT_ROOT_DS_ADDRESS;
  return encodeEuiccConfiguredAddressesResponse({ ...(dp !== undefined && dp !== '' && { defaultDpAddress: dp }), rootDsAddress: ds });
};

/** The address element of BF3F: 80 (SGP.22) or 0C (OpenHarmony), the first one present. */
function addressElement(request: Tlv): Tlv {
  if (!request.constructed) throw new Asn1Error('unexpected-tag', 'SetDefaultDpAddressRequest must be constructed', request.offset);
  const el = request.children.find((c) => c.tag === ADDRESSES_TAGS.defaultDpAddress || c.tag === 0x0c);
  if (!el) {
    throw new Asn1Error('missing-element', 'SetDefaultDpAddressRequest: defaultDpAddress missing', request.valueOffset + request.value.length);
  }
  if (el.constructed) throw new Asn1Error('unexpected-tag', 'SetDefaultDpAddressRequest: defaultDpAddress is constructed', el.offset);
  return el;
}

/** SetDefaultDpAddress BF3F { 80|0C address } -> BF3F { 80 ok(0) | undefinedError(127) }. */
export const setDefaultDpAddress: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  const el = addressElement(request);
  const address = decodeUtf8(el);
  if (el.value.length > MAX_ADDRESS_BYTES || /[\s\p{Cc}]/u.test(address)) {
    return encodeSetDefaultDpAddressResponse({ setDefaultDpAddressResult: SetDefaultDpAddressResultValue.undefinedError });
  }
  const { store } = ctx.card;
  if (address === '') store.deleteMeta(DEFAULT_DP_ADDRESS_META);
  else store.setMetaString(DEFAULT_DP_ADDRESS_META, address);
  return encodeSetDefaultDpAddressResponse({ setDefaultDpAddressResult: SetDefaultDpAddressResultValue.ok });
};

export const ES10A_HANDLERS: Es10HandlerTable = new Map<number, Es10Handler>([
  [ADDRESSES_TAGS.euiccConfiguredAddressesRequest, getEuiccConfiguredAddresses],
  [ADDRESSES_TAGS.setDefaultDpAddressRequest, setDefaultDpAddress],
]);
