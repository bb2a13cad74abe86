/**
 * Input mutation and checking shared by src/asn1/fuzz.test.ts and scripts/fuzz.ts.
 *
 * Mutations are plain data (so fast-check can generate and shrink them) and are applied to a copy of a seed:
 * bit flips, byte sets, truncation, insertion, deletion, chunk duplication, and edits of TLV length fields
 * (off-by-n, long/indefinite/over-long forms) found by walking the seed's TLV structure.
 */
import { decodeTlvs, type Tlv } from './tlv.js';
import type { FuzzTarget } from './fuzz-targets.js';

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly kind: 'delete'; readonly at: number; readonly count: number }
  | { readonly kind: 'duplicate'; readonly at: number; readonly count: number }
  | { readonly kind: 'length'; readonly which: number; readonly edit: LengthEdit };

/** How to rewrite a length field: add a delta, or replace it by a special form. */
export type LengthEdit =
  | { readonly kind: 'delta'; readonly delta: number }
  | { readonly kind: 'indefinite' }
  | { readonly kind: 'long'; readonly bytes: number } // same value in a longer (non-minimal) form
  | { readonly kind: 'huge' } // 84 ff ff ff ff
  | { readonly kind: 'too-many' }; // 85 + 5 bytes

function tagLength(tag: number): number {
  return tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
}

/** Offsets of the length fields of every TLV in `seed` (if it parses as BER-TLV at all). */
export function lengthFieldOffsets(seed: Uint8Array): number[] {
  const out: number[] = [];
  const walk = (t: Tlv): void => {
    out.push(t.offset + tagLength(t.tag));
    for (const c of t.children) walk(c);
  };
  try {
    for (const t of decodeTlvs(seed, { der: false, maxDepth: 64 })) walk(t);
  } catch {
    // not TLV: no length fields to edit
  }
  return out;
}

function lengthValueAt(b: Uint8Array, off: number): { value: number; size: number } {
  const l0 = b[off] ?? 0;
  if (l0 < 0x80) return { value: l0, size: 1 };
  const n = l0 & 0x7f;
  let v = 0;
  for (let i = 1; i <= n; i++) v = v * 256 + (b[off + i] ?? 0);
  return { value: v, size: 1 + n };
}

function encodeLength(v: number, minBytes = 0): number[] {
  if (v < 0x80 && minBytes === 0) return [v];
  const bytes: number[] = [];
  let x = v;
  while (x > 0) {
    bytes.unshift(x & 0xff);
    x = Math.floor(x / 256);
  }
  while (bytes.length < Math.max(1, minBytes)) bytes.unshift(0);
  return [0x80 | bytes.length, ...bytes];
}

function splice(b: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, at), 0);
  out.set(insert, at);
  out.set(b.subarray(at + remove), at + insert.length);
  return out;
}

/** Keep the length-field offsets pointing at the same bytes after `remove` bytes at `at` became `insert` bytes. */
function shiftOffsets(lens: number[], at: number, remove: number, insert: number): number[] {
  const d = insert - remove;
  const out: number[] = [];
  for (const o of lens) {
    if (o < at) out.push(o);
    else if (o >= at + remove) out.push(o + d);
  }
  return out;
}

/**
 * Apply mutations in order to a copy of `seed`. `lengths` = lengthFieldOffsets(seed) (computed when absent);
 * the offsets are shifted along with every edit, so length edits still hit the seed's length fields.
 */
export function applyMutations(seed: Uint8Array, muts: readonly Mutation[], lengths?: readonly number[]): Uint8Array {
  let b: Uint8Array = seed.slice();
  let lens = [...(lengths ?? lengthFieldOffsets(seed))];
  for (const m of muts) {
    const n = b.length;
    switch (m.kind) {
      case 'flip':
        if (n) b[m.at % n]! ^= 1 << (m.bit & 7);
        break;
      case 'set':
        if (n) b[m.at % n] = m.value & 0xff;
        break;
      case 'truncate': {
        const at = n ? m.at % n : 0;
        b = b.slice(0, at);
        lens = lens.filter((o) => o < at);
        break;
      }
      case 'insert': {
        const at = n ? m.at % (n + 1) : 0;
        b = splice(b, at, 0, m.bytes.map((x) => x & 0xff));
        lens = shiftOffsets(lens, at, 0, m.bytes.length);
        break;
      }
      case 'delete': {
        if (!n) break;
        const at = m.at % n;
        const count = Math.min(m.count, n - at);
        b = splice(b, at, count, []);
        lens = shiftOffsets(lens, at, count, 0);
        break;
      }
      case 'duplicate': {
        if (!n) break;
        const at = m.at % n;
        const chunk = b.slice(at, at + m.count);
        b = splice(b, at, 0, chunk);
        lens = shiftOffsets(lens, at, 0, chunk.length);
        break;
      }
      case 'length': {
        if (lens.length === 0) break;
        const off = lens[m.which % lens.length]!;
        if (off >= b.length) break;
        const cur = lengthValueAt(b, off);
        const size = Math.min(cur.size, b.length - off);
        let repl: number[];
        switch (m.edit.kind) {
          case 'delta':
            repl = encodeLength(Math.max(0, cur.value + m.edit.delta));
            break;
          case 'indefinite':
            repl = [0x80];
            break;
          case 'long':
            repl = encodeLength(cur.value, Math.max(1, Math.min(4, m.edit.bytes)));
            break;
          case 'huge':
            repl = [0x84, 0xff, 0xff, 0xff, 0xff];
            break;
          case 'too-many':
            repl = [0x85, 0, 0, 0, 0, 1];
            break;
        }
        b = splice(b, off, size, repl);
        lens = shiftOffsets(lens, off + 1, Math.max(0, size - 1), Math.max(0, repl.length - 1));
        break;
      }
    }
  }
  return b;
}

/** A small fast deterministic PRNG (xorshift32). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.s = x;
    return x;
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

const INTERESTING = [0x00, 0x01, 0x1f, 0x20, 0x30, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0xa0, 0xbf, 0xff, 0x24, 0x3a];

/** One random mutation (for the long-run script). */
export function randomMutation(r: Rng): Mutation {
  switch (r.int(8)) {
    case 0:
      return { kind: 'flip', at: r.next(), bit: r.int(8) };
    case 1:
      return { kind: 'set', at: r.next(), value: r.int(2) ? INTERESTING[r.int(INTERESTING.length)]! : r.int(256) };
    case 2:
      return { kind: 'truncate', at: r.next() };
    case 3:
      return { kind: 'insert', at: r.next(), bytes: Array.from(r.bytes(1 + r.int(8))) };
    case 4:
      return { kind: 'delete', at: r.next(), count: 1 + r.int(16) };
    case 5:
      return { kind: 'duplicate', at: r.next(), count: 1 + r.int(64) };
    default: {
      const k = r.int(5);
      const edit: LengthEdit =
        k === 0
          ? { kind: 'delta', delta: r.int(9) - 4 }
          : k === 1
            ? { kind: 'indefinite' }
            : k === 2
              ? { kind: 'long', bytes: 1 + r.int(4) }
              : k === 3
                ? { kind: 'huge' }
                : { kind: 'too-many' };
      return { kind: 'length', which: r.next(), edit };
    }
  }
}

/** Random structured TLV bytes: nested TLVs with random tags, optionally wrong lengths, deep nesting, trailing bytes. */
export function randomTlv(r: Rng, depth = 0): Uint8Array {
  const parts: number[] = [];
  const constructed = depth < 40 && r.int(3) === 0;
  const tags = [0x30, 0xa0, 0xa1, 0xbf2d, 0xbf22, 0x5a, 0x80, 0x81, 0x04, 0x02, 0x06, 0x0c, 0x5f37, 0x9f70, 0xbf8101];
  let tag = tags[r.int(tags.length)]!;
  if (constructed && tag <= 0xff) tag |= 0x20;
  const tb = tag > 0xffff ? [tag >> 16, (tag >> 8) & 0xff, tag & 0xff] : tag > 0xff ? [tag >> 8, tag & 0xff] : [tag];
  let value: number[] = [];
  if (constructed) {
    const n = r.int(4);
    for (let i = 0; i < n; i++) value.push(...randomTlv(r, depth + 1 + (r.int(4) === 0 ? 5 : 0)));
  } else {
    value = Array.from(r.bytes(r.int(r.int(8) === 0 ? 300 : 12)));
  }
  let len = value.length;
  if (r.int(10) === 0) len = Math.max(0, len + r.int(7) - 3);
  parts.push(...tb, ...encodeLength(len, r.int(12) === 0 ? 2 : 0), ...value);
  if (depth === 0 && r.int(6) === 0) parts.push(...r.bytes(1 + r.int(4)));
  return Uint8Array.from(parts);
}

/** Run one input; returns undefined when the target behaved, else what escaped. */
export function checkInput(target: FuzzTarget, input: Uint8Array): { error: unknown } | undefined {
  try {
    target.decode(input);
    return undefined;
  } catch (e) {
    return target.isExpectedError(e) ? undefined : { error: e };
  }
}
