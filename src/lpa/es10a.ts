/**
 * ES10a client (SGP22-NOTES §2.1): GetEuiccConfiguredAddresses, SetDefaultDpAddress.
 */
import type { StoreDataChannel } from '../apdu/channel.js';
import {
  SetDefaultDpAddressResultValue,
  decodeEuiccConfiguredAddressesResponse,
  decodeSetDefaultDpAddressResponse,
  encodeEuiccConfiguredAddressesRequest,
  encodeSetDefaultDpAddressRequest,
} from '../asn1/sgp22/addresses.js';
import { call, outcome, type Es10Outcome } from './es10-util.js';

export type SetDefaultDpAddressResult = keyof typeof SetDefaultDpAddressResultValue;

export interface ConfiguredAddresses {
  /** The default SM-DP+ address, when one is set. */
  readonly defaultDpAddress?: string;
  readonly rootDsAddress: string;
}

/** GetEuiccConfiguredAddresses. */
export async function getEuiccConfiguredAddresses(ch: StoreDataChannel): Promise<ConfiguredAddresses> {
  const r = await call(ch, 'GetEuiccConfiguredAddresses', encodeEuiccConfiguredAddressesRequest(), decodeEuiccConfiguredAddressesResponse);
  return { ...(r.defaultDpAddress !== undefined && { defaultDpAddress: r.defaultDpAddress }), rootDsAddress: r.rootDsAddress };
}

/** SetDefaultDpAddress (an empty string clears it on the software eUICC). */
export async function setDefaultDpAddress(ch: StoreDataChannel, address: string): Promise<Es10Outcome<SetDefaultDpAddressResult>> {
  const r = await call(ch, 'SetDefaultDpAddress', encodeSetDefaultDpAddressRequest({ defaultDpAddress: address }), decodeSetDefaultDpAddressResponse);
  return outcome(SetDefaultDpAddressResultValue, r.setDefaultDpAddressResult);
}
