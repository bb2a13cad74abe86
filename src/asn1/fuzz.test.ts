/**
 * Property-based fuzzing of every decoder in FUZZ_TARGETS: only the target's own error class may escape.
 * Bounded to stay well under ~20 s; `npm run fuzz` runs the same targets for millions of inputs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HAVE_REFERENCE, readRef } from '../../test/support/reference.js';
import { toHex } from '../util/hex.js';
import { FUZZ_TARGETS, fuzzTarget, type FuzzTarget } from './fuzz-targets.js';
import { applyMutations, checkInput, lengthFieldOffsets, type LengthEdit, type Mutation } from './fuzz-mutate.js';
import { Asn1Error, decodeTlv, decodeTlvs } from './tlv.js';

/** Distinct inputs run, per target group (tlv, activation-code, saip). */
const inputs = new Map<string, number>();

/** Assert that every target accepts or cleanly rejects `input`; count the input once for its group. */
function check(targets: readonly FuzzTarget[], input: Uint8Array): void {
  const group = targets[0]?.name.split('.')[0] ?? '';
  inputs.set(group, (inputs.get(group) ?? 0) + 1);
  for (const t of targets) {
    const bad = checkInput(t, input);
    if (bad) {
      const e = bad.error;
      throw new Error(
        `${t.name}: unexpected ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} for input ${toHex(input)}`,
      );
    }
  }
}

const SEED = 0x5eed;

// ------------------------------------------------------------------------------------------- arbitraries

const lengthEdit: fc.Arbitrary<LengthEdit> = fc.oneof(
  fc.record({ kind: fc.constant('delta' as const), delta: fc.integer({ min: -4, max: 4 }) }),
  fc.constant({ kind: 'indefinite' as const }),
  fc.record({ kind: fc.constant('long' as const), bytes: fc.integer({ min: 1, max: 4 }) }),
  fc.constant({ kind: 'huge' as const }),
  fc.constant({ kind: 'too-many' as const }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('length' as const), which: fc.nat(), edit: lengthEdit }),
);

function mutatedSeeds(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const lens = seeds.map(lengthFieldOffsets);
  return fc
    .tuple(fc.nat(seeds.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([i, muts]) => applyMutations(seeds[i]!, muts, lens[i]));
}

const TAGS = [0x30, 0x31, 0xa0, 0xa1, 0xa5, 0xbf2d, 0xbf22, 0xbf8101, 0x5a, 0x80, 0x81, 0x83, 0x04, 0x02, 0x06, 0x0c, 0x5f37, 0x9f70];

interface Node {
  tag: number;
  children?: Node[];
  value?: Uint8Array;
  lengthDelta: number;
  longForm: boolean;
}

function tagBytesLoose(tag: number): number[] {
  return tag > 0xffff ? [tag >> 16, (tag >> 8) & 0xff, tag & 0xff] : tag > 0xff ? [tag >> 8, tag & 0xff] : [tag];
}

function lengthBytesLoose(n: number, long: boolean): number[] {
  if (n < 0x80 && !long) return [n];
  if (n < 0x100) return [0x81, n];
  return [0x82, n >> 8, n & 0xff];
}

function encodeNode(n: Node): number[] {
  const value = n.children ? n.children.flatMap(encodeNode) : Array.from(n.value ?? []);
  const len = Math.max(0, value.length + n.lengthDelta);
  return [...tagBytesLoose(n.tag), ...lengthBytesLoose(len, n.longForm), ...value];
}

/** Mostly-correct TLV trees; sometimes with a wrong length (delta != 0) or a non-minimal length form. */
const tlvTree = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      tag: fc.constantFrom(...TAGS),
      value: fc.uint8Array({ maxLength: 40 }),
      lengthDelta: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
      longForm: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
    fc.record({
      tag: fc.constantFrom(0x30, 0xa0, 0xa1, 0xbf2d, 0xe3, 0xbf8101),
      children: fc.array(tie('node'), { maxLength: 4 }),
      lengthDelta: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
      longForm: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
  ),
})).node;

const structuredTlv: fc.Arbitrary<Uint8Array> = fc
  .tuple(tlvTree, fc.oneof({ weight: 5, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }) }))
  .map(([n, trailing]) => Uint8Array.from([...encodeNode(n), ...trailing]));

/** Deep nesting: `depth` constructed wrappers around a leaf, optionally one wrong length somewhere. */
const deepTlv: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.integer({ min: 1, max: 120 }), fc.nat(), fc.integer({ min: -2, max: 2 }))
  .map(([depth, where, delta]) => {
    let inner: number[] = [0x80, 0x01, 0x00];
    for (let i = 0; i < depth; i++) {
      const d = i === where % depth ? delta : 0;
      inner = [0xa0, ...lengthBytesLoose(Math.max(0, inner.length + d), false), ...inner];
    }
    return Uint8Array.from(inner);
  });

// ----------------------------------------------------------------------------------------------- tests

const tlvTargets = FUZZ_TARGETS.filter((t) => t.name.startsWith('tlv.'));
const acTargets = FUZZ_TARGETS.filter((t) => t.name.startsWith('activation-code.'));
const saipTargets = FUZZ_TARGETS.filter((t) => t.name.startsWith('saip.'));
const sgp22Targets = FUZZ_TARGETS.filter((t) => t.name.startsWith('sgp22.'));

describe('fuzz: TLV decoder', () => {
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => check(tlvTargets, b)), { numRuns: 12_000, seed: SEED });
  });

  it('structured TLVs with wrong lengths, long forms and trailing bytes', () => {
    fc.assert(fc.property(structuredTlv, (b) => check(tlvTargets, b)), { numRuns: 12_000, seed: SEED });
  });

  it('deep nesting is bounded (too-deep), never a stack overflow', () => {
    fc.assert(fc.property(deepTlv, (b) => check(tlvTargets, b)), { numRuns: 2000, seed: SEED });
    const deep = fc.sample(deepTlv, { numRuns: 1, seed: 1 })[0]!;
    expect(deep.length).toBeGreaterThan(0);
    // 10,000 levels: an Asn1Error, not a RangeError from the call stack (built back to front)
    const levels = 10_000;
    const out = new Uint8Array(levels * 4 + 2);
    let start = out.length - 2;
    out[start + 0] = 0x80;
    for (let i = 0; i < levels; i++) {
      const len = out.length - start;
      const hdr = len < 0x80 ? [0xa0, len] : len < 0x100 ? [0xa0, 0x81, len] : [0xa0, 0x82, len >> 8, len & 0xff];
      start -= hdr.length;
      out.set(hdr, start);
    }
    expect(() => decodeTlv(out.subarray(start))).toThrow(Asn1Error);

  });

  it('mutations of real seeds (flips, truncations, insertions, length edits)', () => {
    const seeds = fuzzTarget('tlv.decodeTlv').seeds();
    if (HAVE_REFERENCE) seeds.push(readRef('ts48', 'TS48V2-SAIP2-1-BERTLV-UNIQUE.der'));
    fc.assert(fc.property(mutatedSeeds(seeds), (b) => check(tlvTargets, b)), { numRuns: 10_000, seed: SEED });
  });

  it('a well-formed structured TLV decodes to the same bytes', () => {
    fc.assert(
      fc.property(structuredTlv, (b) => {
        try {
          const ts = decodeTlvs(b, { der: false });
          expect(toHex(Uint8Array.from(ts.flatMap((t) => Array.from(t.raw))))).toBe(toHex(b));
        } catch (e) {
          expect(e).toBeInstanceOf(Asn1Error);
        }
      }),
      { numRuns: 2000, seed: SEED },
    );
  });
});

describe('fuzz: activation-code parser', () => {
  const valid = fuzzTarget('activation-code.latin1').seeds();
  const dec = new TextDecoder();

  it('random bytes and random strings', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => check(acTargets, b)), { numRuns: 5000, seed: SEED });
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => check(acTargets, new TextEncoder().encode(s))),
      { numRuns: 5000, seed: SEED },
    );
  });

  it('AC-shaped strings from the delimiter alphabet', () => {
    const piece = fc.oneof(
      fc.constantFrom('1', '$', 'LPA:', 'lpa:', '.', ':', '[', ']', '::1', '-', '0', '65535', '65536', '1.3.6.1', ' ', '\u00e9', '/', '@'),
      fc.stringMatching(/^[A-Za-z0-9.-]{0,12}$/),
    );
    const acLike = fc.array(piece, { maxLength: 14 }).map((ps) => new TextEncoder().encode(ps.join('')));
    fc.assert(fc.property(acLike, (b) => check(acTargets, b)), { numRuns: 8000, seed: SEED });
  });

  it('mutations of valid activation codes', () => {
    fc.assert(fc.property(mutatedSeeds(valid), (b) => check(acTargets, b)), { numRuns: 8000, seed: SEED });
    expect(dec.decode(valid[0]!)).toContain('$');
  });
});

describe('fuzz: SAIP decoders', () => {
  it('mutations of built packages and elements', () => {
    const seeds = fuzzTarget('saip.decodeProfilePackage').seeds();
    if (HAVE_REFERENCE) seeds.push(readRef('ts48', 'TS48V5-SAIP2-3-BERTLV-SUCI-UNIQUE.der'));
    fc.assert(fc.property(mutatedSeeds(seeds), (b) => check(saipTargets, b)), { numRuns: 2500, seed: SEED });
  });

  it('random and structured bytes', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), structuredTlv), (b) => check(saipTargets, b)), {
      numRuns: 2500,
      seed: SEED,
    });
  });
});

describe('fuzz: typed SGP.22 decoders', () => {
  it('covers every message family', () => {
    expect(sgp22Targets.length).toBeGreaterThan(60);
    // every seed decodes with at least one typed decoder (the corpus is valid, not noise)
    const seeds = sgp22Targets[0]!.seeds();
    for (const seed of seeds) {
      const ok = sgp22Targets.some((t) => {
        try {
          t.decode(seed);
          return true;
        } catch {
          return false;
        }
      });
      expect(ok, toHex(seed.subarray(0, 8))).toBe(true);
    }
  });

  it('mutations of valid messages through every typed decoder', () => {
    const seeds = sgp22Targets[0]!.seeds();
    fc.assert(fc.property(mutatedSeeds(seeds), (b) => check(sgp22Targets, b)), { numRuns: 4000, seed: SEED });
  });

  it('random structured TLVs through every typed decoder', () => {
    fc.assert(fc.property(structuredTlv, (b) => check(sgp22Targets, b)), { numRuns: 1500, seed: SEED });
  });
});

describe('fuzz: harness', () => {
  it('check() reports an unexpected exception with the input in hex', () => {
    const failing: FuzzTarget = {
      name: 'always-type-error',
      decode: () => {
        throw new TypeError('boom');
      },
      isExpectedError: (e) => e instanceof Asn1Error,
      seeds: () => [],
    };
    expect(() => check([failing], Uint8Array.of(0xab, 0xcd))).toThrow(/always-type-error: unexpected TypeError: boom for input abcd/);
    inputs.delete('always-type-error');
  });

  it('applyMutations edits length fields in place', () => {
    const seed = Uint8Array.of(0x30, 0x03, 0x80, 0x01, 0x00);
    expect(toHex(applyMutations(seed, [{ kind: 'length', which: 1, edit: { kind: 'delta', delta: 1 } }]))).toBe('3003800200');
    expect(toHex(applyMutations(seed, [{ kind: 'length', which: 0, edit: { kind: 'long', bytes: 2 } }]))).toBe('308200038001' + '00');
    expect(toHex(applyMutations(seed, [{ kind: 'length', which: 0, edit: { kind: 'indefinite' } }]))).toBe('3080800100');
    expect(toHex(applyMutations(seed, [{ kind: 'truncate', at: 3 }]))).toBe('300380');
  });
});

describe('fuzz: volume', () => {
  // runs last in this file (vitest runs tests in order): the floor is 60,000 TLV + AC inputs
  it('ran at least 60,000 generated/mutated inputs through the TLV decoder and the AC parser', (ctx) => {
    const tlv = inputs.get('tlv') ?? 0;
    const ac = inputs.get('activation-code') ?? 0;
    if (tlv === 0 || ac === 0) ctx.skip(); // a filtered run (-t) of single tests
    expect(tlv + ac).toBeGreaterThanOrEqual(60_000);
  });
});
