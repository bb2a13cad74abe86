/** GetRAT through APDUs, and the RAT check used by StoreMetadata. */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SoftEuicc } from './card.js';
import { createIdentity, type EuiccIdentity } from './identity.js';
import { ANY_OPERATOR, DEFAULT_RAT, getRat, operatorMatches, pprAllowedByRat, setRat } from './rat.js';
import { es10, storeData } from '../../test/support/card-driver.js';
import { decodeGetRatResponse, encodeGetRatRequest } from '../asn1/sgp22/rat.js';
import { fromHex, toHex } from '../util/hex.js';

let identity: EuiccIdentity;
beforeAll(() => {
  identity = createIdentity({}).identity;
});
const cards: SoftEuicc[] = [];
afterEach(() => {
  while (cards.length) cards.pop()!.close();
});
function newCard(): SoftEuicc {
  const c = SoftEuicc.create(':memory:', { identity });
  cards.push(c);
  return c;
}

const OWNER = { mccMnc: fromHex('21F354') }; // MCC 123, MNC 45 (TS 24.008 coding)

describe('GetRAT (BF43)', () => {
  it('default RAT: one rule, ppr1+ppr2, any operator (EEEEEE), consentRequired — exact bytes', () => {
    const card = newCard();
    const raw = es10(card, encodeGetRatRequest());
    // BF43 { A0 { 30 { 80 pprIds(bits 1,2) , A1 { 30 { 80 EEEEEE } }, 82 pprFlags(bit 0) } } }
    expect(toHex(raw)).toBe('bf4315a013301180020560a10730058003eeeeee820207 80'.replace(/ /g, ''));
    expect(decodeGetRatResponse(raw).rat).toEqual(DEFAULT_RAT);
  });

  it('answers the stored RAT, also an empty one', () => {
    const card = newCard();
    const rat = [
      { pprIds: [1], allowedOperators: [OWNER, { mccMnc: fromHex('62F210'), gid1: fromHex('01') }], pprFlags: [] },
      { pprIds: [2], allowedOperators: [], pprFlags: [0] },
    ];
    setRat(card.runtime.store, rat);
    expect(decodeGetRatResponse(es10(card, encodeGetRatRequest())).rat).toEqual(rat);
    setRat(card.runtime.store, []);
    expect(toHex(es10(card, fromHex('BF4300')))).toBe('bf4302a000');
  });

  it('primitive request → 6A80', () => {
    expect(storeData(newCard(), fromHex('BF43')).sw).not.toBe(0x9000);
  });
});

describe('pprAllowedByRat', () => {
  it('default RAT: any owner may set ppr1/ppr2; a profile with PPRs but no owner may not', () => {
    const card = newCard();
    expect(pprAllowedByRat(card.runtime, [], undefined)).toBe(true);
    expect(pprAllowedByRat(card.runtime, [0], undefined)).toBe(true); // pprUpdateControl is not checked
    expect(pprAllowedByRat(card.runtime, [1, 2], OWNER)).toBe(true);
    expect(pprAllowedByRat(card.runtime, [1, 2], { mccMnc: fromHex('130062'), gid1: fromHex('FF') })).toBe(true);
    expect(pprAllowedByRat(card.runtime, [1], undefined)).toBe(false);
  });

  it('an empty RAT refuses every PPR', () => {
    const card = newCard();
    setRat(card.runtime.store, []);
    expect(getRat(card.runtime.store)).toEqual([]);
    expect(pprAllowedByRat(card.runtime, [1], OWNER)).toBe(false);
    expect(pprAllowedByRat(card.runtime, [], OWNER)).toBe(true);
  });

  it('rules per PPR, per operator, with gid1/gid2 and partial wildcards', () => {
    const card = newCard();
    setRat(card.runtime.store, [
      { pprIds: [1], allowedOperators: [{ mccMnc: fromHex('21F354') }], pprFlags: [] },
      { pprIds: [2], allowedOperators: [{ mccMnc: fromHex('21EEEE'), gid1: fromHex('AA') }], pprFlags: [] },
    ]);
    expect(pprAllowedByRat(card.runtime, [1], OWNER)).toBe(true);
    expect(pprAllowedByRat(card.runtime, [1], { mccMnc: fromHex('21F355') })).toBe(false);
    expect(pprAllowedByRat(card.runtime, [2], OWNER)).toBe(false); // rule needs gid1 AA
    expect(pprAllowedByRat(card.runtime, [2], { ...OWNER, gid1: fromHex('AA') })).toBe(true);
    expect(pprAllowedByRat(card.runtime, [2], { mccMnc: fromHex('210099'), gid1: fromHex('AA') })).toBe(true);
    expect(pprAllowedByRat(card.runtime, [2], { mccMnc: fromHex('31F354'), gid1: fromHex('AA') })).toBe(false);
    expect(pprAllowedByRat(card.runtime, [1, 2], { ...OWNER, gid1: fromHex('AA') })).toBe(true);
    expect(pprAllowedByRat(card.runtime, [1, 2], { mccMnc: fromHex('210099'), gid1: fromHex('AA') })).toBe(false); // ppr1 not allowed
  });

  it('operatorMatches: gid2 and wildcard', () => {
    expect(operatorMatches(ANY_OPERATOR, { mccMnc: fromHex('000000') })).toBe(true);
    expect(operatorMatches({ mccMnc: fromHex('21F354'), gid2: fromHex('01') }, { mccMnc: fromHex('21F354'), gid2: fromHex('01') })).toBe(true);
    expect(operatorMatches({ mccMnc: fromHex('21F354'), gid2: fromHex('01') }, { mccMnc: fromHex('21F354'), gid2: fromHex('02') })).toBe(false);
    expect(operatorMatches({ mccMnc: fromHex('21F354') }, { mccMnc: fromHex('21F3') })).toBe(false);
  });
});
