/**
 * Fuzzing of the card's APDU layer and STORE DATA reassembly (issue 3: 100,000 inputs): random APDUs,
 * mutated valid APDUs, and random STORE DATA sequences (valid splits of ES10 requests with perturbed
 * class/P1/P2/Lc/data), sent to a card with the real ES10 handler tables. The card must always answer a
 * response with at least a status word, and never throw.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SoftEuicc } from './card.js';
import { createIdentity, type EuiccIdentity } from './identity.js';
import { claFor, encodeCommandApdu, storeDataBlocks } from '../apdu/apdu.js';
import { fromHex, toHex } from '../util/hex.js';

const RANDOM_APDUS = 35_000;
const MUTATED_APDUS = 35_000;
const SEQUENCES = 3_000;
const BLOCKS_PER_SEQUENCE = 10; // 30,000 APDUs
const TOTAL = RANDOM_APDUS + MUTATED_APDUS + SEQUENCES * BLOCKS_PER_SEQUENCE;

/** Minimal ES10 requests of every function plus BPP pieces and junk (all short; real handlers run on them). */
const ES10_REQUESTS = [
  'BF2E00', 'BF2000', 'BF2200', 'BF3E00', 'BF3E035C015A', 'BF3C00', 'BF3F00', 'BF3F03800161', 'BF2D00', 'BF2D035C015A',
  'BF2D06A0045A02AB12', 'BF2800', 'BF2B00', 'BF3000', 'BF300380010A', 'BF4300', 'BF4100', 'BF3100', 'BF3200',
  'BF3300', 'BF3400', 'BF340382020780', 'BF2900', 'BF3800', 'BF2100', 'BF3600', 'BF3605BF2302 8000', 'A000',
  'A100', 'A300', '8600', '8800', 'BF7F00', '30 00', '0400', '', 'BF3500', 'BF3502A000', 'BF350BA009300402010130000300',
].map((h) => fromHex(h.replace(/\s+/g, '')));

const ISDR = 'A0000005591010FFFFFFFF8900000100';
const VALID_APDUS = [
  '0070000001', '00700001', '00700013', '0070800100', '00708013', '01708000',
  `00A4040010${ISDR}`, `01A4040010${ISDR}00`, `4FA4040C10${ISDR}`, `00A4040C10A0000005591010FFFFFFFF8900000200`,
  '00C0000000', '81C0000010', 'C0C00000', '01C00000000000',
  '80AA00000AA9088100820101830107', '80E2910003BF2E00', '81E2910003BF220000', '81E2110002BF2D', '81E2910101 00',
  'C3E2910003BF3E00', '81E2910000000003BF2000', '81E2910000000003BF20000000', '81EC000000', '81EF000000',
].map((h) => fromHex(h.replace(/\s+/g, '')));

const CLASSES = [0x00, 0x01, 0x02, 0x03, 0x40, 0x4f, 0x80, 0x81, 0x83, 0xc0, 0xcf, 0x10, 0x84, 0xa0, 0xff, 0x60];
const INSES = [0x70, 0xa4, 0xc0, 0xe2, 0xaa, 0xca, 0xec, 0xed, 0xee, 0xef, 0xb0, 0x00];

let identity: EuiccIdentity;
beforeAll(() => {
  identity = createIdentity({}).identity;
});

interface Stats {
  count: number;
  sw: Map<number, number>;
  full: Map<number, number>;
}

function checked(card: SoftEuicc, apdu: Uint8Array, port: number, stats: Stats): void {
  let r: Uint8Array;
  try {
    r = card.transmit(apdu, port);
  } catch (e) {
    throw new Error(`transmit threw for ${toHex(apdu)} on port ${port}: ${(e as Error).stack ?? String(e)}`);
  }
  stats.count++;
  if (!(r instanceof Uint8Array) || r.length < 2) throw new Error(`no status word for ${toHex(apdu)}`);
  const sw1 = r[r.length - 2]!;
  if (!((sw1 >= 0x61 && sw1 <= 0x6f) || sw1 === 0x90 || sw1 === 0x91)) {
    throw new Error(`SW1 ${sw1.toString(16)} is not an ISO status byte, for ${toHex(apdu)}`);
  }
  stats.sw.set(sw1, (stats.sw.get(sw1) ?? 0) + 1);
  const full = (sw1 << 8) | r[r.length - 1]!;
  stats.full.set(full, (stats.full.get(full) ?? 0) + 1);
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(input: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let b = Uint8Array.from(input);
  for (const m of ms) {
    const n = b.length;
    switch (m.kind) {
      case 'flip':
        if (n) b[m.at % n]! ^= 1 << m.bit;
        break;
      case 'set':
        if (n) b[m.at % n] = m.value;
        break;
      case 'truncate':
        b = b.subarray(0, n ? m.at % n : 0);
        break;
      case 'append': {
        const c = new Uint8Array(n + m.bytes.length);
        c.set(b);
        c.set(m.bytes, n);
        b = c;
        break;
      }
      case 'insert': {
        const at = m.at % (n + 1);
        b = Uint8Array.from([...b.subarray(0, at), m.value, ...b.subarray(at)]);
        break;
      }
      case 'delete':
        if (n) {
          const at = m.at % n;
          b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1)]);
        }
        break;
    }
  }
  return b;
}

describe(`SoftEuicc fuzz (${TOTAL} inputs)`, () => {
  it('random APDUs, mutated valid APDUs and random STORE DATA sequences: always a status word, never a throw', () => {
    const card = SoftEuicc.create(':memory:', { identity, config: { ports: 2 } });
    const stats: Stats = { count: 0, sw: new Map(), full: new Map() };
    // a selected ISD-R on some channels, so that deeper paths are reached
    for (const port of [0, 1]) {
      card.transmit(fromHex(`00A4040C10${ISDR}`), port);
      card.transmit(fromHex('0070000100'), port);
      card.transmit(fromHex(`01A4040C10${ISDR}`), port);
    }

    // 1. random APDUs: raw bytes, and structured headers with random bodies
    const randomApdu = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc
        .record({
          cla: fc.oneof(fc.constantFrom(...CLASSES), fc.integer({ min: 0, max: 255 })),
          ins: fc.oneof(fc.constantFrom(...INSES), fc.integer({ min: 0, max: 255 })),
          p1: fc.oneof(fc.constantFrom(0x00, 0x04, 0x11, 0x80, 0x91), fc.integer({ min: 0, max: 255 })),
          p2: fc.oneof(fc.constantFrom(0x00, 0x01, 0x0c, 0x13), fc.integer({ min: 0, max: 255 })),
          body: fc.uint8Array({ maxLength: 280 }),
        })
        .map((x) => Uint8Array.from([x.cla, x.ins, x.p1, x.p2, ...x.body])),
    );
    fc.assert(
      fc.property(randomApdu, fc.integer({ min: 0, max: 1 }), (apdu, port) => {
        checked(card, apdu, port, stats);
      }),
      { numRuns: RANDOM_APDUS },
    );

    // 2. mutated valid APDUs (including STORE DATA blocks of real ES10 requests)
    const corpus = [
      ...VALID_APDUS,
      ...ES10_REQUESTS.flatMap((r) => storeDataBlocks(1, r, 255)),
      ...ES10_REQUESTS.flatMap((r) => storeDataBlocks(0, r, 255, { le: true })),
    ];
    fc.assert(
      fc.property(fc.constantFrom(...corpus), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 1 }), (apdu, ms, port) => {
        checked(card, mutate(apdu, ms), port, stats);
      }),
      { numRuns: MUTATED_APDUS },
    );

    // 3. STORE DATA sequences: a valid split of a (possibly mutated or random) request, with perturbations
    const request = fc.oneof(
      fc.constantFrom(...ES10_REQUESTS),
      fc.tuple(fc.constantFrom(...ES10_REQUESTS), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([r, ms]) => mutate(r, ms)),
      fc.uint8Array({ maxLength: 2000 }),
    );
    const perturb = fc.option(
      fc.record({
        field: fc.constantFrom('cla', 'p1', 'p2', 'lc', 'data', 'drop', 'dup'),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      { freq: 4 },
    );
    const sequence = fc.record({
      req: request,
      blockSize: fc.oneof(fc.constantFrom(1, 6, 120, 255, 300, 2000), fc.integer({ min: 1, max: 255 })),
      channel: fc.constantFrom(0, 1, 2, 5, 19),
      le: fc.boolean(),
      port: fc.integer({ min: 0, max: 1 }),
      perturbations: fc.array(perturb, { minLength: BLOCKS_PER_SEQUENCE, maxLength: BLOCKS_PER_SEQUENCE }),
    });
    fc.assert(
      fc.property(sequence, (s) => {
        const blocks = storeDataBlocks(s.channel, s.req, s.blockSize, { le: s.le });
        const out: Uint8Array[] = [];
        // first APDUs: (re)open and select the channel, then the blocks; exactly BLOCKS_PER_SEQUENCE APDUs
        if (s.channel !== 0) out.push(encodeCommandApdu({ cla: 0, ins: 0x70, p1: 0, p2: s.channel }));
        out.push(encodeCommandApdu({ cla: claFor(s.channel, false), ins: 0xa4, p1: 4, p2: 0x0c, data: fromHex(ISDR) }));
        for (const b of blocks) out.push(b);
        while (out.length < BLOCKS_PER_SEQUENCE) out.push(encodeCommandApdu({ cla: claFor(s.channel, true), ins: 0xc0, p1: 0, p2: 0, le: 256 }));
        out.length = BLOCKS_PER_SEQUENCE;
        for (let i = 0; i < out.length; i++) {
          let apdu = out[i]!;
          const p = s.perturbations[i];
          if (p) {
            apdu = Uint8Array.from(apdu);
            switch (p.field) {
              case 'cla':
                apdu[0] = p.value;
                break;
              case 'p1':
                apdu[2] = p.value;
                break;
              case 'p2':
                apdu[3] = p.value;
                break;
              case 'lc':
                if (apdu.length > 4) apdu[4] = p.value;
                break;
              case 'data':
                if (apdu.length > 5) apdu[5 + (p.value % (apdu.length - 5))] = p.value;
                break;
              case 'drop':
                continue;
              case 'dup':
                checked(card, apdu, s.port, stats);
                stats.count--; // the duplicate is not counted: keep the total exact
                break;
            }
          }
          checked(card, apdu, s.port, stats);
        }
        // dropped APDUs still count as inputs of the sequence (the card saw the gap)
        stats.count += s.perturbations.filter((p) => p?.field === 'drop').length;
      }),
      { numRuns: SEQUENCES },
    );

    expect(stats.count).toBe(TOTAL);
    // the fuzz reached both success and the main error paths
    for (const sw1 of [0x90, 0x61, 0x67, 0x68, 0x69, 0x6a, 0x6d, 0x6e]) expect(stats.sw.get(sw1) ?? 0, sw1.toString(16)).toBeGreaterThan(0);
    // reassembled requests reached the ES10 layer: undecodable (6A80) and unknown tags (6A88)
    for (const sw of [0x6a80, 0x6a88, 0x6985, 0x6881]) expect(stats.full.get(sw) ?? 0, sw.toString(16)).toBeGreaterThan(0);
    card.close();
  });
});
