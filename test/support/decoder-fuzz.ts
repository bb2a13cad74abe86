/**
 * Property-test helper for typed decoders: random bytes and mutated valid samples (byte flips, truncation,
 * insertion, deletion, length-byte tweaks) must either decode or throw Asn1Error — nothing else.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { Asn1Error } from '../../src/asn1/tlv.js';

export interface FuzzDecoder {
  readonly name: string;
  readonly decode: (b: Uint8Array) => unknown;
}

/** Arbitrary inputs: pure random bytes, or a sample with a few random mutations. */
export function fuzzInputs(samples: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const random = fc.uint8Array({ maxLength: 300 });
  if (samples.length === 0) return random;
  const mutation = fc.record({
    kind: fc.constantFrom('flip', 'set', 'truncate', 'insert', 'delete'),
    pos: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  });
  const mutated = fc
    .record({ idx: fc.nat({ max: samples.length - 1 }), muts: fc.array(mutation, { minLength: 1, maxLength: 4 }) })
    .map(({ idx, muts }) => {
      let b = Uint8Array.from(samples[idx]!);
      for (const m of muts) {
        const p = b.length === 0 ? 0 : m.pos % b.length;
        if (m.kind === 'flip' && b.length > 0) b[p] = b[p]! ^ (1 << (m.byte % 8));
        else if (m.kind === 'set' && b.length > 0) b[p] = m.byte;
        else if (m.kind === 'truncate') b = b.subarray(0, p);
        else if (m.kind === 'insert') b = Uint8Array.from([...b.subarray(0, p), m.byte, ...b.subarray(p)]);
        else if (m.kind === 'delete' && b.length > 0) b = Uint8Array.from([...b.subarray(0, p), ...b.subarray(p + 1)]);
      }
      return b;
    });
  return fc.oneof({ arbitrary: random, weight: 1 }, { arbitrary: mutated, weight: 3 });
}

/** Run every decoder on every generated input; any exception other than Asn1Error fails. */
export function assertDecodersTotal(decoders: readonly FuzzDecoder[], samples: readonly Uint8Array[], numRuns: number): void {
  fc.assert(
    fc.property(fuzzInputs(samples), (bytes) => {
      for (const d of decoders) {
        try {
          d.decode(bytes);
        } catch (e) {
          if (!(e instanceof Asn1Error)) {
            throw new Error(`${d.name} threw ${String(e)} for ${Buffer.from(bytes).toString('hex')}`);
          }
        }
      }
    }),
    { numRuns },
  );
  expect(decoders.length).toBeGreaterThan(0);
}
