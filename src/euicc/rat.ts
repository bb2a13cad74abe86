/**
 * Rules Authorisation Table of the software eUICC (SGP22-NOTES §7): GetRAT (BF43) and the check the card
 * makes when a profile with PPRs is installed (StoreMetadata, bpp.ts).
 *
 * The RAT is stored in meta 'rat' as the encoded GetRatResponse (BF43). When unset, {@link DEFAULT_RAT}
 * applies.
 *
 * Choices (UNCONFIRMED against the SGP.22 text):
 *   - Default RAT: one rule allowing ppr1 and ppr2 for any operator, with consentRequired set (the LPA asks
 *     the user). "Any operator" is written as the OperatorId mccMnc `EE EE EE`: in a RAT mccMnc every nibble
 *     `E` is a wildcard matching any nibble of the profile owner's mccMnc (digit or the `F` filler).
 *   - Only ppr1 and ppr2 are checked against the RAT; pprUpdateControl(0) is not a policy rule about
 *     disabling/deleting and is always allowed.
 *   - A PPR is allowed when some rule lists it and one of its allowedOperators matches the profile owner:
 *     mccMnc nibble by nibble (E = wildcard), then gid1 / gid2 when the rule gives them (the owner must then
 *     have the same value). A profile with PPRs but no profileOwner is refused. An empty RAT refuses every PPR.
 *   - pprFlags (consentRequired) do not affect the card's decision: consent is the LPA's business.
 */
import type { Tlv } from '../asn1/tlv.js';
import type { OperatorId } from '../asn1/sgp22/metadata.js';
import { PprIdsBit } from '../asn1/sgp22/metadata.js';
import {
  PprFlagsBit,
  RAT_TAGS,
  decodeGetRatRequest,
  decodeGetRatResponse,
  encodeGetRatResponse,
  type GetRatResponse,
  type RulesAuthorisationTable,
} from '../asn1/sgp22/rat.js';
import { bytesEqual } from '../util/hex.js';
import type { CardStore } from './state.js';
import type { CardRuntime, Es10Context, Es10Handler, Es10HandlerTable } from './types.js';

/** Meta key of the stored RAT (encoded GetRatResponse). */
export const RAT_META_KEY = 'rat';

/** Wildcard OperatorId: every mccMnc nibble is E. */
export const ANY_OPERATOR: OperatorId = { mccMnc: Uint8Array.of(0xee, 0xee, 0xee) };

/** The RAT of a card that has none stored. */
export const DEFAULT_RAT: RulesAuthorisationTable = [
  { pprIds: [PprIdsBit.ppr1, PprIdsBit.ppr2], allowedOperators: [ANY_OPERATOR], pprFlags: [PprFlagsBit.consentRequired] },
];

/** The card's RAT (stored, else the default). */
export function getRat(store: CardStore): RulesAuthorisationTable {
  const raw = store.getMeta(RAT_META_KEY);
  if (raw === undefined) return DEFAULT_RAT;
  return decodeGetRatResponse(raw).rat;
}

/** Replace the card's RAT (e.g. at creation). */
export function setRat(store: CardStore, rat: RulesAuthorisationTable): void {
  store.setMeta(RAT_META_KEY, encodeGetRatResponse({ rat }));
}

function mccMncMatches(rule: Uint8Array, owner: Uint8Array): boolean {
  if (rule.length !== owner.length) return false;
  for (let i = 0; i < rule.length; i++) {
    const r = rule[i]!;
    const o = owner[i]!;
    for (const shift of [4, 0]) {
      const rn = (r >> shift) & 0x0f;
      if (rn !== 0x0e && rn !== ((o >> shift) & 0x0f)) return false;
    }
  }
  return true;
}

/** True when the rule's OperatorId admits the profile owner. */
export function operatorMatches(rule: OperatorId, owner: OperatorId): boolean {
  if (!mccMncMatches(rule.mccMnc, owner.mccMnc)) return false;
  if (rule.gid1 !== undefined && (owner.gid1 === undefined || !bytesEqual(rule.gid1, owner.gid1))) return false;
  if (rule.gid2 !== undefined && (owner.gid2 === undefined || !bytesEqual(rule.gid2, owner.gid2))) return false;
  return true;
}

/**
 * Whether the card's RAT allows a profile owned by `owner` to carry `pprs` (set PprIds bits). For E3's
 * StoreMetadata check: false → errorReason pprNotAllowed(15).
 */
export function pprAllowedByRat(card: CardRuntime, pprs: readonly number[], owner: OperatorId | undefined): boolean {
  const checked = pprs.filter((p) => p === PprIdsBit.ppr1 || p === PprIdsBit.ppr2);
  if (checked.length === 0) return true;
  if (owner === undefined) return false;
  const rat = getRat(card.store);
  return checked.every((ppr) => rat.some((rule) => rule.pprIds.includes(ppr) && rule.allowedOperators.some((op) => operatorMatches(op, owner))));
}

/** GetRAT BF43 {} -> BF43 { A0 { 30 rule ... } }. */
export const getRatHandler: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  decodeGetRatRequest(request);
  const raw = ctx.card.store.getMeta(RAT_META_KEY);
  return raw ?? encodeGetRatResponse({ rat: DEFAULT_RAT } satisfies GetRatResponse);
};

export const RAT_HANDLERS: Es10HandlerTable = new Map<number, Es10Handler>([[RAT_TAGS.getRatRequest, getRatHandler]]);
