import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeWithReference, readRefJson } from '../../test/support/reference.js';
import {
  ActivationCodeError,
  formatActivationCode,
  isValidSmdpAddress,
  parseActivationCode,
  type ActivationCode,
  type ActivationCodeFault,
} from './activation-code.js';

interface AcCase {
  input: string;
  verdict: 'valid' | 'invalid' | 'valid-by-interpretation' | 'implementation-defined';
  expected: ActivationCode | null;
}

function fault(input: string): ActivationCodeFault {
  try {
    parseActivationCode(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ActivationCodeError);
    return (e as ActivationCodeError).fault;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

/** Our fault for each `invalid` case of vectors/activation-codes.json (every invalid case must be listed). */
const INVALID_FAULTS: Record<string, ActivationCodeFault> = {
  '1$SMDP.GSMA.COM': 'format',
  '1SMDP.GSMA.COM04386-AGYFT-A74Y8-3F815': 'format',
  '': 'empty',
  'LPA:': 'empty',
  'LPA:1$': 'format',
  '1$$04386-AGYFT-A74Y8-3F815': 'address',
  '2$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815': 'format',
  '0$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815': 'format',
  '11$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815': 'format',
  '1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$0': 'cc-flag',
  '1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$1$EXTRA': 'format',
  ' LPA:1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815': 'characters',
};

describeWithReference('activation codes: vectors/activation-codes.json', () => {
  // read lazily: a skipped describe still runs its body while collecting
  let loaded: AcCase[] | undefined;
  const all = (): AcCase[] => (loaded ??= readRefJson<{ cases: AcCase[] }>('vectors', 'activation-codes.json').cases);

  it('has the 23 cases the README describes, every invalid one listed here', () => {
    expect(all()).toHaveLength(23);
    expect(all().filter((c) => c.verdict === 'invalid').map((c) => c.input).sort()).toEqual(
      Object.keys(INVALID_FAULTS).sort(),
    );
  });

  it('valid cases parse to expected, and format back to the input (canonical)', () => {
    const valid = all().filter((c) => c.verdict === 'valid');
    expect(valid.length).toBe(8);
    for (const c of valid) {
      const ac = parseActivationCode(c.input);
      expect(ac, c.input).toEqual(c.expected);
      const prefixed = c.input.startsWith('LPA:');
      expect(formatActivationCode(ac, { prefix: prefixed })).toBe(c.input);
      expect(parseActivationCode(formatActivationCode(ac))).toEqual(ac);
    }
  });

  it('invalid cases are rejected with ActivationCodeError naming the fault', () => {
    for (const c of all().filter((x) => x.verdict === 'invalid')) {
      expect(fault(c.input), JSON.stringify(c.input)).toBe(INVALID_FAULTS[c.input]);
    }
  });

  it('valid-by-interpretation: an empty AC_Token is accepted (decision in the file header)', () => {
    const c = all().filter((x) => x.verdict === 'valid-by-interpretation');
    expect(c.map((x) => x.input)).toEqual(['1$SMDP.GSMA.COM$']);
    const ac = parseActivationCode(c[0]!.input);
    expect(ac).toEqual(c[0]!.expected);
    expect(formatActivationCode(ac)).toBe('1$SMDP.GSMA.COM$');
  });

  it('implementation-defined: lower-case lpa: is rejected; a trailing $ is read as "no OID"', () => {
    const c = all().filter((x) => x.verdict === 'implementation-defined');
    expect(c.map((x) => x.input).sort()).toEqual(
      ['1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$', 'lpa:1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815'].sort(),
    );
    expect(fault('lpa:1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815')).toBe('format');
    const trailing = c.find((x) => x.input.endsWith('$'))!;
    const ac = parseActivationCode(trailing.input);
    expect(ac).toEqual(trailing.expected);
    // canonical form drops the empty field
    expect(formatActivationCode(ac)).toBe('1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815');
  });
});

describe('activation codes: own cases', () => {
  it('accepts ports and IP literals, keeps case', () => {
    expect(parseActivationCode('1$testsmdpplus1.example.com:8443$AB-12').smdpAddress).toBe('testsmdpplus1.example.com:8443');
    expect(parseActivationCode('1$127.0.0.1:8000$X').smdpAddress).toBe('127.0.0.1:8000');
    expect(parseActivationCode('1$[::1]:8443$X').smdpAddress).toBe('[::1]:8443');
    expect(parseActivationCode('1$[2001:db8::1]$X').smdpAddress).toBe('[2001:db8::1]');
    expect(parseActivationCode('LPA:1$localhost$$$1')).toEqual({
      acFormat: '1',
      smdpAddress: 'localhost',
      acToken: '',
      smdpOid: null,
      ccRequired: true,
    });
    expect(parseActivationCode('1$Smdp.Example.COM$tok$2.999.10$').smdpOid).toBe('2.999.10');
  });

  it('rejects bad addresses', () => {
    for (const a of [
      'https://smdp.example.com',
      'smdp.example.com/path',
      'smdp..example.com',
      '.smdp.example.com',
      'smdp.example.com.',
      'smdp.example.com:0',
      'smdp.example.com:65536',
      'smdp.example.com:080',
      'smdp.example.com:',
      'user@smdp.example.com',
      '-smdp.example.com',
      'smdp-.example.com',
      'smdp_x.example.com',
      '256.1.1.1',
      '1.2.3',
      '01.2.3.4',
      '::1',
      '[::1',
      '[::1]x',
      '[1.2.3.4]',
      'a'.repeat(64) + '.com',
      ('a'.repeat(60) + '.').repeat(5) + 'com',
    ]) {
      expect(isValidSmdpAddress(a), a).toBe(false);
      if (!a.includes('$')) expect(fault(`1$${a}$TOKEN`), a).toBe('address');
    }
    expect(fault('1$smdp example.com$T')).toBe('characters');
    expect(fault('1$smdp.example.com$T\n')).toBe('characters');
    expect(fault('1$smdp.exämple.com$T')).toBe('characters');
  });

  it('rejects bad tokens, OIDs and flags', () => {
    expect(fault('1$a.example$to!ken')).toBe('token');
    expect(fault('1$a.example$to/ken')).toBe('token');
    expect(fault('1$a.example$tok$1.2.')).toBe('oid');
    expect(fault('1$a.example$tok$3.1')).toBe('oid');
    expect(fault('1$a.example$tok$1.40')).toBe('oid');
    expect(fault('1$a.example$tok$1.02')).toBe('oid');
    expect(fault('1$a.example$tok$abc')).toBe('oid');
    expect(fault('1$a.example$tok$$2')).toBe('cc-flag');
    expect(fault('1$a.example$tok$$11')).toBe('cc-flag');
    expect(fault('1$a.example$tok$$true')).toBe('cc-flag');
    expect(fault('LPA:LPA:1$a.example$tok')).toBe('format');
  });

  it('formatActivationCode validates its input and writes the canonical form', () => {
    const base: ActivationCode = { acFormat: '1', smdpAddress: 'a.example', acToken: 'T', smdpOid: null, ccRequired: false };
    expect(formatActivationCode(base)).toBe('1$a.example$T');
    expect(formatActivationCode({ ...base, ccRequired: true }, { prefix: true })).toBe('LPA:1$a.example$T$$1');
    expect(formatActivationCode({ ...base, smdpOid: '1.2.3' })).toBe('1$a.example$T$1.2.3');
    expect(() => formatActivationCode({ ...base, smdpAddress: 'a b' })).toThrow(ActivationCodeError);
    expect(() => formatActivationCode({ ...base, acToken: 'x$y' })).toThrow(ActivationCodeError);
    expect(() => formatActivationCode({ ...base, smdpOid: '1..2' })).toThrow(ActivationCodeError);
  });

  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
  const host = fc
    .tuple(fc.array(label, { minLength: 0, maxLength: 3 }), fc.stringMatching(/^[a-z]{2,6}$/))
    .map(([ls, tld]) => [...ls, tld].join('.'));
  const address = fc.tuple(host, fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined })).map(([h, p]) =>
    p === undefined ? h : `${h}:${p}`,
  );
  const oid = fc
    .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.nat(100000), { maxLength: 6 }))
    .map(([a, b, rest]) => [a, b, ...rest].join('.'));
  const acArb: fc.Arbitrary<ActivationCode> = fc.record({
    acFormat: fc.constant('1' as const),
    smdpAddress: address,
    acToken: fc.stringMatching(/^[A-Za-z0-9._-]{0,40}$/),
    smdpOid: fc.option(oid, { nil: null }),
    ccRequired: fc.boolean(),
  });

  it('format then parse gives the same value; parse then format gives the canonical string', () => {
    fc.assert(
      fc.property(acArb, fc.boolean(), (ac, prefix) => {
        const s = formatActivationCode(ac, { prefix });
        expect(parseActivationCode(s)).toEqual(ac);
        expect(formatActivationCode(parseActivationCode(s), { prefix })).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });
});
