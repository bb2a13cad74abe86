import { describe, expect, it } from 'vitest';
import { describeWithReference, readRefJson } from '../../test/support/reference.js';
import { computeEidCheckDigits, EidError, verifyEid } from './eid.js';

interface EidCase {
  op: 'verify' | 'compute';
  input: string;
  expected: boolean | string;
}

describeWithReference('EID check digits: vectors/eid.json', () => {
  // read lazily: a skipped describe still runs its body while collecting
  const cases = (): EidCase[] => readRefJson<{ cases: EidCase[] }>('vectors', 'eid.json').cases;

  it('has 11 cases', () => expect(cases()).toHaveLength(11));

  it('every case gives the expected answer', () => {
    for (const c of cases()) {
      if (c.op === 'verify') expect(verifyEid(c.input), c.input).toBe(c.expected);
      else expect(computeEidCheckDigits(c.input), c.input).toBe(c.expected);
    }
  });
});

describe('EID check digits', () => {
  it('the SGP.26 test eUICC EID (reference README) verifies, and every single-digit change is caught', () => {
    const eid = '89049032123451234512345678901235';
    expect(verifyEid(eid)).toBe(true);
    expect(computeEidCheckDigits(eid.slice(0, 30))).toBe(eid);
    for (let i = 0; i < 32; i++) {
      for (let d = 0; d < 10; d++) {
        if (String(d) === eid[i]) continue;
        expect(verifyEid(eid.slice(0, i) + d + eid.slice(i + 1))).toBe(false);
      }
    }
  });

  it('check digits below 10 get a leading zero; computed EIDs always verify', () => {
    let sawLeadingZero = false;
    for (let n = 0; n < 500; n++) {
      const body = ('89049032' + String(n * 7919).padStart(22, '0')).slice(0, 30);
      const eid = computeEidCheckDigits(body);
      expect(eid).toHaveLength(32);
      expect(verifyEid(eid)).toBe(true);
      if (eid[30] === '0') sawLeadingZero = true;
    }
    expect(sawLeadingZero).toBe(true);
  });

  it('throws EidError for non-digits and wrong lengths', () => {
    for (const bad of ['', '8904903212345123451234567890123', '890490321234512345123456789012355', '8904903212345123451234567890123x', ' 8904903212345123451234567890123']) {
      expect(() => verifyEid(bad)).toThrow(EidError);
    }
    for (const bad of ['', '89049032123451234512345678901', '8904903212345123451234567890123', 'a90490321234512345123456789012', '89049032123451234512345678901２']) {
      expect(() => computeEidCheckDigits(bad)).toThrow(EidError);
    }
  });
});
