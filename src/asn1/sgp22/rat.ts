/**
 * Rules Authorisation Table (SGP.22 RSPDefinitions v2.5), ES10b.GetRAT:
 *   GetRatRequest  BF43 {}
 *   GetRatResponse BF43 { A0 rat { 30 ProfilePolicyAuthorisationRule {
 *                           80 pprIds, A1 allowedOperators { 30 OperatorId ... }, 82 pprFlags } ... } }
 */
import { decodeBitString, encodeBitString } from '../der.js';
import { encodeTlv, type Tlv } from '../tlv.js';
import { asTlv } from './codec-util.js';
import { SeqFields, requireConstructed } from './fields.js';
import { decodeOperatorId, encodeOperatorId, type OperatorId, type PprIds } from './metadata.js';

export const RAT_TAGS = {
  getRatRequest: 0xbf43,
  getRatResponse: 0xbf43,
  rat: 0xa0,
  profilePolicyAuthorisationRule: 0x30,
  pprIds: 0x80,
  allowedOperators: 0xa1,
  operatorId: 0x30,
  pprFlags: 0x82,
} as const;

const T = RAT_TAGS;

/** ProfilePolicyAuthorisationRule.pprFlags named bits. */
export const PprFlagsBit = { consentRequired: 0 } as const;

export interface GetRatRequest {}

export interface ProfilePolicyAuthorisationRule {
  /** PPRs this rule is about (see PprIdsBit in metadata.ts). */
  readonly pprIds: PprIds;
  readonly allowedOperators: readonly OperatorId[];
  /** Set bits of pprFlags (see PprFlagsBit). */
  readonly pprFlags: readonly number[];
}

export type RulesAuthorisationTable = readonly ProfilePolicyAuthorisationRule[];

export interface GetRatResponse {
  readonly rat: RulesAuthorisationTable;
}

export function encodeGetRatRequest(_x: GetRatRequest = {}): Uint8Array {
  return encodeTlv(T.getRatRequest);
}

export function decodeGetRatRequest(input: Uint8Array | Tlv): GetRatRequest {
  requireConstructed(asTlv(input, T.getRatRequest, 'GetRatRequest'), 'GetRatRequest');
  return {};
}

export function encodeProfilePolicyAuthorisationRule(x: ProfilePolicyAuthorisationRule): Uint8Array {
  return encodeTlv(T.profilePolicyAuthorisationRule, [
    encodeBitString(T.pprIds, x.pprIds),
    encodeTlv(
      T.allowedOperators,
      x.allowedOperators.map((o) => encodeOperatorId(o, T.operatorId)),
    ),
    encodeBitString(T.pprFlags, x.pprFlags),
  ]);
}

export function decodeProfilePolicyAuthorisationRule(input: Uint8Array | Tlv): ProfilePolicyAuthorisationRule {
  const w = 'ProfilePolicyAuthorisationRule';
  const t = asTlv(input, T.profilePolicyAuthorisationRule, w);
  const f = new SeqFields(t, w, [T.pprIds, T.allowedOperators, T.pprFlags]);
  const pprIds = decodeBitString(f.req(T.pprIds, 'pprIds'));
  const ops = f.req(T.allowedOperators, 'allowedOperators');
  const pprFlags = decodeBitString(f.req(T.pprFlags, 'pprFlags'));
  return { pprIds, allowedOperators: ops.children.map((c) => decodeOperatorId(c, T.operatorId)), pprFlags };
}

export function encodeGetRatResponse(x: GetRatResponse): Uint8Array {
  return encodeTlv(T.getRatResponse, encodeTlv(T.rat, x.rat.map(encodeProfilePolicyAuthorisationRule)));
}

export function decodeGetRatResponse(input: Uint8Array | Tlv): GetRatResponse {
  const w = 'GetRatResponse';
  const t = asTlv(input, T.getRatResponse, w);
  const rat = new SeqFields(t, w, [T.rat]).req(T.rat, 'rat');
  return { rat: rat.children.map((c) => decodeProfilePolicyAuthorisationRule(c)) };
}

export const FUZZ_DECODERS_RAT: ReadonlyArray<{ name: string; decode: (b: Uint8Array) => unknown }> = [
  { name: 'GetRatRequest', decode: (b) => decodeGetRatRequest(b) },
  { name: 'GetRatResponse', decode: (b) => decodeGetRatResponse(b) },
  { name: 'ProfilePolicyAuthorisationRule', decode: (b) => decodeProfilePolicyAuthorisationRule(b) },
];
