/**
 * BER-TLV codec as SGP.22 uses it (ASN.1 DER for ES8+/ES9+/ES10; BER-TLV for STORE DATA payloads).
 *
 * - Tags of one, two or three bytes (5A, 9F70, BF2D, 5F37, BF76, ...), kept as the big-endian integer of
 *   the tag bytes: 0x5a, 0x9f70, 0xbf2d.
 * - Definite lengths in 1 to 4 length bytes (short form, 81 xx, 82 xx xx, 83 xx xx xx).
 * - Decoding is strict: every fault is an {@link Asn1Error} carrying the byte offset where it was found.
 *   Nothing else is ever thrown for any input, and decoding is linear in the input size.
 * - Decoded TLVs are views into the input: `raw` is the exact received encoding (for signature checks),
 *   `value` the content bytes. Constructed TLVs are parsed eagerly (bounded depth) into `children`.
 */

export type Asn1ErrorCode =
  | 'truncated' // input ends inside a tag or length field
  | 'length-past-end' // the length says more bytes than remain
  | 'trailing-bytes' // bytes left after the expected TLV(s)
  | 'indefinite-length' // 0x80 length form
  | 'non-minimal-length' // DER requires the shortest length form
  | 'length-too-long' // more than 4 length bytes, or reserved 0xFF
  | 'bad-tag' // tag encoding invalid (non-minimal tag number, more than 3 bytes)
  | 'too-deep' // nesting deeper than the bound
  | 'unexpected-tag' // typed decoder: a different tag than the one required
  | 'missing-element' // typed decoder: a mandatory element is absent
  | 'bad-value'; // typed decoder: content not valid for its type (integer, boolean, enum, ...)

export class Asn1Error extends Error {
  override readonly name = 'Asn1Error';
  constructor(
    readonly code: Asn1ErrorCode,
    message: string,
    /** Byte offset in the decoded input where the fault was found (-1 when not applicable). */
    readonly offset: number,
  ) {
    super(`${message} (at offset ${offset})`);
  }
}

export interface Tlv {
  /** Tag as the integer of its bytes, e.g. 0x5a, 0x9f70, 0xbf2d. */
  readonly tag: number;
  /** True when bit 6 of the first tag byte is set. */
  readonly constructed: boolean;
  /** Content bytes (a view into the decoded input). */
  readonly value: Uint8Array;
  /** The complete encoding: tag, length and value, exactly as received (a view). */
  readonly raw: Uint8Array;
  /** Offset of the tag in the outermost decoded input. */
  readonly offset: number;
  /** Offset of the value in the outermost decoded input. */
  readonly valueOffset: number;
  /** For constructed TLVs: the parsed children in order. Empty for primitive TLVs. */
  readonly children: readonly Tlv[];
}

export interface DecodeOptions {
  /** Require DER length encoding (minimal forms). Default true. Indefinite length is always rejected. */
  readonly der?: boolean;
  /** Maximum nesting depth of constructed TLVs (the outermost is depth 1). Default 32. */
  readonly maxDepth?: number;
  /** Offset to report for byte 0 of the input (when decoding a slice of a larger buffer). Default 0. */
  readonly baseOffset?: number;
}

const DEFAULT_MAX_DEPTH = 32;
const NO_CHILDREN: readonly Tlv[] = Object.freeze([]);
/** Hard ceiling for `maxDepth`: the parser recurses once per level and must stay far from the stack limit. */
export const MAX_DEPTH_LIMIT = 1000;

interface Header {
  tag: number;
  constructed: boolean;
  headerLength: number;
  length: number;
}

/** Parse a tag + length header at `pos`. */
function readHeader(buf: Uint8Array, pos: number, end: number, der: boolean, base: number): Header {
  const start = pos;
  if (pos >= end) throw new Asn1Error('truncated', 'expected a tag, found end of input', base + pos);
  const first = buf[pos++]!;
  let tag = first;
  if ((first & 0x1f) === 0x1f) {
    // multi-byte tag number: subsequent bytes, bit 8 = more to follow
    let count = 0;
    for (;;) {
      if (pos >= end) throw new Asn1Error('truncated', 'input ends inside a multi-byte tag', base + pos);
      const b = buf[pos++]!;
      if (count === 0 && b === 0x80) {
        throw new Asn1Error('bad-tag', 'tag number has a leading zero group', base + start);
      }
      tag = tag * 256 + b;
      count++;
      if ((b & 0x80) === 0) break;
      if (count >= 2) throw new Asn1Error('bad-tag', 'tags longer than 3 bytes are not supported', base + start);
    }
    if (count === 1 && (tag & 0x7f) < 0x1f && der) {
      throw new Asn1Error('bad-tag', 'tag number below 31 encoded in the multi-byte form', base + start);
    }
  }
  if (pos >= end) throw new Asn1Error('truncated', 'expected a length, found end of input', base + pos);
  const lenStart = pos;
  const l0 = buf[pos++]!;
  let length: number;
  if (l0 < 0x80) {
    length = l0;
  } else if (l0 === 0x80) {
    throw new Asn1Error('indefinite-length', 'indefinite length is not allowed', base + lenStart);
  } else {
    const n = l0 & 0x7f;
    if (n > 4) throw new Asn1Error('length-too-long', `length field of ${n} bytes (at most 4)`, base + lenStart);
    if (pos + n > end) throw new Asn1Error('truncated', 'input ends inside a length field', base + pos);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
    if (der) {
      if (length < 0x80 || buf[lenStart + 1] === 0) {
        throw new Asn1Error('non-minimal-length', `length ${length} not in its shortest form`, base + lenStart);
      }
    }
  }
  return { tag, constructed: (first & 0x20) !== 0, headerLength: pos - start, length };
}

function parseOne(
  buf: Uint8Array,
  pos: number,
  end: number,
  depth: number,
  der: boolean,
  maxDepth: number,
  base: number,
): TlvNode {
  if (depth > maxDepth) throw new Asn1Error('too-deep', `nesting deeper than ${maxDepth}`, base + pos);
  const h = readHeader(buf, pos, end, der, base);
  const valueStart = pos + h.headerLength;
  if (h.length > end - valueStart) {
    throw new Asn1Error(
      'length-past-end',
      `length ${h.length} runs past the end (${end - valueStart} bytes remain)`,
      base + pos,
    );
  }
  const valueEnd = valueStart + h.length;
  let children: readonly Tlv[] = NO_CHILDREN;
  if (h.constructed) {
    const list: TlvNode[] = [];
    children = list;
    let p = valueStart;
    while (p < valueEnd) {
      const c = parseOne(buf, p, valueEnd, depth + 1, der, maxDepth, base);
      list.push(c);
      p += c.encodedLength;
    }
  }
  return new TlvNode(h.tag, h.constructed, buf, pos, valueStart, valueEnd, base, children);
}

/**
 * A decoded TLV. `value` and `raw` are views created on first use (most nodes of a large structure are
 * never asked for them), then cached.
 */
class TlvNode implements Tlv {
  #value: Uint8Array | undefined;
  #raw: Uint8Array | undefined;
  readonly offset: number;
  readonly valueOffset: number;

  constructor(
    readonly tag: number,
    readonly constructed: boolean,
    private readonly buf: Uint8Array,
    private readonly start: number,
    private readonly valueStart: number,
    private readonly end: number,
    base: number,
    readonly children: readonly Tlv[],
  ) {
    this.offset = base + start;
    this.valueOffset = base + valueStart;
  }

  get value(): Uint8Array {
    return (this.#value ??= this.buf.subarray(this.valueStart, this.end));
  }

  get raw(): Uint8Array {
    return (this.#raw ??= this.buf.subarray(this.start, this.end));
  }

  /** Total encoded length (tag + length + value) without creating a view. */
  get encodedLength(): number {
    return this.end - this.start;
  }
}

function opts(o?: DecodeOptions): { der: boolean; maxDepth: number; base: number } {
  const maxDepth = Math.min(o?.maxDepth ?? DEFAULT_MAX_DEPTH, MAX_DEPTH_LIMIT);
  return { der: o?.der ?? true, maxDepth, base: o?.baseOffset ?? 0 };
}

/** Decode exactly one TLV filling the whole input. */
export function decodeTlv(input: Uint8Array, options?: DecodeOptions): Tlv {
  const { der, maxDepth, base } = opts(options);
  const t = parseOne(input, 0, input.length, 1, der, maxDepth, base);
  const n = t.encodedLength;
  if (n !== input.length) {
    throw new Asn1Error('trailing-bytes', `${input.length - n} bytes after the TLV`, base + n);
  }
  return t;
}

/** Decode a concatenation of TLVs filling the whole input (possibly none). */
export function decodeTlvs(input: Uint8Array, options?: DecodeOptions): Tlv[] {
  const { der, maxDepth, base } = opts(options);
  const out: Tlv[] = [];
  let p = 0;
  while (p < input.length) {
    const t = parseOne(input, p, input.length, 1, der, maxDepth, base);
    out.push(t);
    p += t.encodedLength;
  }
  return out;
}

/**
 * Read one TLV at `offset` (the rest of the input may hold more). Returns the TLV and the offset after it.
 * For streaming parsers (BPP segments, SAIP profile elements).
 */
export function readTlv(input: Uint8Array, offset: number, options?: DecodeOptions): { tlv: Tlv; next: number } {
  const { der, maxDepth, base } = opts(options);
  const t = parseOne(input, offset, input.length, 1, der, maxDepth, base);
  return { tlv: t, next: offset + t.encodedLength };
}

/**
 * Read only the tag and length at `offset`, without requiring the value to be present.
 * Returns the header length and value length. For splitting a large TLV (BF36, A1, A3 headers).
 */
export function readTlvHeader(
  input: Uint8Array,
  offset = 0,
  options?: DecodeOptions,
): { tag: number; constructed: boolean; headerLength: number; length: number } {
  const { der, base } = opts(options);
  return readHeader(input, offset, input.length, der, base);
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

/** Bytes of a tag integer (0x5a -> [5a], 0xbf2d -> [bf 2d]). Validates the tag's own form. */
export function tagBytes(tag: number): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffff) throw new RangeError(`invalid tag ${tag}`);
  if (tag <= 0xff) {
    if ((tag & 0x1f) === 0x1f) throw new RangeError(`tag ${tag.toString(16)} needs following tag bytes`);
    return Uint8Array.of(tag);
  }
  if (tag <= 0xffff) {
    const out = Uint8Array.of(tag >> 8, tag & 0xff);
    if ((out[0]! & 0x1f) !== 0x1f || (out[1]! & 0x80) !== 0) {
      throw new RangeError(`invalid two-byte tag ${tag.toString(16)}`);
    }
    return out;
  }
  const out = Uint8Array.of(tag >> 16, (tag >> 8) & 0xff, tag & 0xff);
  if ((out[0]! & 0x1f) !== 0x1f || (out[1]! & 0x80) === 0 || (out[2]! & 0x80) !== 0) {
    throw new RangeError(`invalid three-byte tag ${tag.toString(16)}`);
  }
  return out;
}

/** DER length field for `n` (definite, shortest form). */
export function lengthBytes(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`invalid length ${n}`);
  if (n < 0x80) return Uint8Array.of(n);
  if (n <= 0xff) return Uint8Array.of(0x81, n);
  if (n <= 0xffff) return Uint8Array.of(0x82, n >> 8, n & 0xff);
  if (n <= 0xffffff) return Uint8Array.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
  return Uint8Array.of(0x84, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** Number of bytes of a valid tag integer (validated by {@link tagBytes} on first sight). */
const validTags = new Set<number>();
function tagSize(tag: number): number {
  if (!validTags.has(tag)) {
    tagBytes(tag); // throws RangeError for an invalid tag
    if (validTags.size < 4096) validTags.add(tag);
  }
  return tag <= 0xff ? 1 : tag <= 0xffff ? 2 : 3;
}

function lengthSize(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`invalid length ${n}`);
  return n < 0x80 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : n <= 0xffffff ? 4 : 5;
}

/** Write tag and length at `out[0..]`; returns the header size. */
function writeHeader(out: Uint8Array, tag: number, tagLen: number, len: number, lenLen: number): number {
  let o = 0;
  if (tagLen === 3) out[o++] = tag >>> 16;
  if (tagLen >= 2) out[o++] = (tag >>> 8) & 0xff;
  out[o++] = tag & 0xff;
  if (lenLen === 1) {
    out[o++] = len;
  } else {
    out[o++] = 0x80 | (lenLen - 1);
    for (let i = lenLen - 2; i >= 0; i--) out[o++] = (len / 2 ** (8 * i)) & 0xff;
  }
  return o;
}

/** Encode a TLV; `value` may be one byte array or a list concatenated in order. */
export function encodeTlv(tag: number, value: Uint8Array | readonly Uint8Array[] = EMPTY): Uint8Array {
  const tl = tagSize(tag);
  if (value instanceof Uint8Array) {
    const ll = lengthSize(value.length);
    const out = new Uint8Array(tl + ll + value.length);
    out.set(value, writeHeader(out, tag, tl, value.length, ll));
    return out;
  }
  let len = 0;
  for (const p of value) len += p.length;
  const ll = lengthSize(len);
  const out = new Uint8Array(tl + ll + len);
  let o = writeHeader(out, tag, tl, len, ll);
  for (const p of value) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const EMPTY = new Uint8Array(0);

/** Encode only the header (tag + length) of a TLV whose value is `length` bytes. */
export function encodeTlvHeader(tag: number, length: number): Uint8Array {
  const t = tagBytes(tag);
  const l = lengthBytes(length);
  const out = new Uint8Array(t.length + l.length);
  out.set(t, 0);
  out.set(l, t.length);
  return out;
}

/** Whether a tag integer denotes a constructed encoding. */
export function isConstructedTag(tag: number): boolean {
  const first = tag > 0xffff ? tag >> 16 : tag > 0xff ? tag >> 8 : tag;
  return (first & 0x20) !== 0;
}

/** Tag as upper-case hex, for messages ("BF2D"). */
export function tagHex(tag: number): string {
  const s = tag.toString(16).toUpperCase();
  return s.length % 2 ? '0' + s : s;
}
