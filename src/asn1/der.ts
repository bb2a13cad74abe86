/**
 * DER primitive values and helpers for typed decoders. Every decode fault is an Asn1Error with an offset.
 */
import { Asn1Error, decodeTlv, encodeTlv, tagHex, type DecodeOptions, type Tlv } from './tlv.js';

// ------------------------------------------------------------------------------------------------ INTEGER

/** Decode a DER INTEGER content as a JS number (must fit in a safe integer). */
export function decodeInteger(t: Tlv): number {
  const v = t.value;
  if (v.length === 0) throw new Asn1Error('bad-value', `INTEGER ${tagHex(t.tag)} is empty`, t.valueOffset);
  if (v.length > 1 && ((v[0] === 0 && (v[1]! & 0x80) === 0) || (v[0] === 0xff && (v[1]! & 0x80) !== 0))) {
    throw new Asn1Error('bad-value', `INTEGER ${tagHex(t.tag)} is not minimally encoded`, t.valueOffset);
  }
  if (v.length > 6) throw new Asn1Error('bad-value', `INTEGER ${tagHex(t.tag)} too large`, t.valueOffset);
  let n = v[0]! & 0x80 ? -1 : 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

/** Content bytes of a DER INTEGER for a safe integer. */
export function integerContent(n: number): Uint8Array {
  if (!Number.isSafeInteger(n)) throw new RangeError(`not a safe integer: ${n}`);
  const bytes: number[] = [];
  let x = n;
  for (;;) {
    const b = ((x % 256) + 256) % 256;
    bytes.unshift(b);
    x = Math.floor(x / 256);
    if ((x === 0 && (b & 0x80) === 0) || (x === -1 && (b & 0x80) !== 0)) break;
  }
  return Uint8Array.from(bytes);
}

export function encodeInteger(tag: number, n: number): Uint8Array {
  return encodeTlv(tag, integerContent(n));
}

/** Decode an INTEGER/ENUMERATED restricted to a set of known values (others -> bad-value unless allowed). */
export function decodeEnum<T extends number>(t: Tlv, known: readonly number[], what: string): T {
  const n = decodeInteger(t);
  if (!known.includes(n)) throw new Asn1Error('bad-value', `${what}: unknown value ${n}`, t.valueOffset);
  return n as T;
}

// ------------------------------------------------------------------------------------------------ BOOLEAN

export function decodeBoolean(t: Tlv, der = true): boolean {
  if (t.value.length !== 1) throw new Asn1Error('bad-value', `BOOLEAN ${tagHex(t.tag)} must be 1 byte`, t.valueOffset);
  const b = t.value[0]!;
  if (der && b !== 0 && b !== 0xff) {
    throw new Asn1Error('bad-value', `BOOLEAN ${tagHex(t.tag)} must be 00 or FF in DER`, t.valueOffset);
  }
  return b !== 0;
}

export function encodeBoolean(tag: number, b: boolean): Uint8Array {
  return encodeTlv(tag, Uint8Array.of(b ? 0xff : 0x00));
}

// ------------------------------------------------------------------------------------------------ NULL

export function decodeNull(t: Tlv): null {
  if (t.value.length !== 0) throw new Asn1Error('bad-value', `NULL ${tagHex(t.tag)} must be empty`, t.valueOffset);
  return null;
}

// --------------------------------------------------------------------------------------------- BIT STRING

/**
 * Decode a named-bit BIT STRING into the sorted list of set bit numbers (bit 0 = MSB of the first data byte).
 * DER: unused bits must be zero; with `der`, trailing zero bits must be dropped (named bits).
 */
export function decodeBitString(t: Tlv, der = true): number[] {
  const v = t.value;
  if (v.length === 0) throw new Asn1Error('bad-value', `BIT STRING ${tagHex(t.tag)} is empty`, t.valueOffset);
  const unused = v[0]!;
  if (unused > 7 || (v.length === 1 && unused !== 0)) {
    throw new Asn1Error('bad-value', `BIT STRING ${tagHex(t.tag)} has invalid unused-bit count ${unused}`, t.valueOffset);
  }
  if (v.length > 1) {
    const last = v[v.length - 1]!;
    if ((last & ((1 << unused) - 1)) !== 0) {
      throw new Asn1Error('bad-value', `BIT STRING ${tagHex(t.tag)} has non-zero unused bits`, t.valueOffset);
    }
    if (der && last === 0) {
      throw new Asn1Error('bad-value', `BIT STRING ${tagHex(t.tag)} has trailing zero bytes`, t.valueOffset);
    }
    if (der && (last & (1 << unused)) === 0) {
      throw new Asn1Error('bad-value', `BIT STRING ${tagHex(t.tag)} does not drop trailing zero bits`, t.valueOffset);
    }
  }
  const bits: number[] = [];
  for (let i = 1; i < v.length; i++) {
    for (let j = 0; j < 8; j++) if (v[i]! & (0x80 >> j)) bits.push((i - 1) * 8 + j);
  }
  return bits;
}

/** Content of a named-bit BIT STRING in DER (trailing zero bits dropped). */
export function bitStringContent(bits: readonly number[]): Uint8Array {
  if (bits.length === 0) return Uint8Array.of(0);
  const max = Math.max(...bits);
  for (const b of bits) if (!Number.isInteger(b) || b < 0) throw new RangeError(`bad bit number ${b}`);
  const nbytes = Math.floor(max / 8) + 1;
  const out = new Uint8Array(1 + nbytes);
  for (const b of bits) out[1 + Math.floor(b / 8)]! |= 0x80 >> b % 8;
  out[0] = 7 - (max % 8);
  return out;
}

export function encodeBitString(tag: number, bits: readonly number[]): Uint8Array {
  return encodeTlv(tag, bitStringContent(bits));
}

/** Raw-content bit string (e.g. a 32-bit capability mask): returns data bytes and unused count. */
export function decodeRawBitString(t: Tlv): { unusedBits: number; data: Uint8Array } {
  const v = t.value;
  if (v.length === 0 || v[0]! > 7 || (v.length === 1 && v[0] !== 0)) {
    throw new Asn1Error('bad-value', `BIT STRING ${tagHex(t.tag)} is malformed`, t.valueOffset);
  }
  return { unusedBits: v[0]!, data: v.subarray(1) };
}

// ------------------------------------------------------------------------------------------------ strings

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export function decodeUtf8(t: Tlv): string {
  // Fast path: short ASCII strings (nearly every SGP.22 string) without a TextDecoder call.
  const v = t.value;
  if (v.length <= 256) {
    let ascii = true;
    for (let i = 0; i < v.length; i++) {
      if (v[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, v as unknown as number[]);
  }
  try {
    return utf8Decoder.decode(t.value);
  } catch {
    throw new Asn1Error('bad-value', `UTF8String ${tagHex(t.tag)} is not valid UTF-8`, t.valueOffset);
  }
}

export function encodeUtf8(tag: number, s: string): Uint8Array {
  return encodeTlv(tag, utf8Encoder.encode(s));
}

/** PrintableString / IA5String / VisibleString content as ASCII (rejects bytes >= 0x80). */
export function decodeAscii(t: Tlv): string {
  let s = '';
  for (const b of t.value) {
    if (b >= 0x80) throw new Asn1Error('bad-value', `string ${tagHex(t.tag)} is not ASCII`, t.valueOffset);
    s += String.fromCharCode(b);
  }
  return s;
}

export function encodeAscii(tag: number, s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) throw new RangeError('string is not ASCII');
    out[i] = c;
  }
  return encodeTlv(tag, out);
}

// ------------------------------------------------------------------------------------ OBJECT IDENTIFIER

export function decodeOidContent(v: Uint8Array, offset = -1): string {
  if (v.length === 0) throw new Asn1Error('bad-value', 'OBJECT IDENTIFIER is empty', offset);
  const arcs: number[] = [];
  let n = 0;
  let started = false;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (!started && b === 0x80) throw new Asn1Error('bad-value', 'OBJECT IDENTIFIER arc has a leading zero', offset);
    started = true;
    n = n * 128 + (b & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER / 128) throw new Asn1Error('bad-value', 'OBJECT IDENTIFIER arc too large', offset);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        if (n < 40) arcs.push(0, n);
        else if (n < 80) arcs.push(1, n - 40);
        else arcs.push(2, n - 80);
      } else arcs.push(n);
      n = 0;
      started = false;
    }
  }
  if (started) throw new Asn1Error('bad-value', 'OBJECT IDENTIFIER ends inside an arc', offset);
  return arcs.join('.');
}

export function decodeOid(t: Tlv): string {
  return decodeOidContent(t.value, t.valueOffset);
}

export function oidContent(oid: string): Uint8Array {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(oid)) throw new RangeError(`invalid OID ${JSON.stringify(oid)}`);
  const arcs = oid.split('.').map(Number);
  const a0 = arcs[0]!;
  const a1 = arcs[1]!;
  if (a0 < 2 && a1 >= 40) throw new RangeError(`invalid OID ${oid}`);
  const out: number[] = [];
  const push = (x: number): void => {
    const tmp = [x & 0x7f];
    x = Math.floor(x / 128);
    while (x > 0) {
      tmp.unshift((x & 0x7f) | 0x80);
      x = Math.floor(x / 128);
    }
    out.push(...tmp);
  };
  push(a0 * 40 + a1);
  for (const a of arcs.slice(2)) push(a);
  return Uint8Array.from(out);
}

export function encodeOid(tag: number, oid: string): Uint8Array {
  return encodeTlv(tag, oidContent(oid));
}

/** True when `s` is a dotted OID string. */
export function isOid(s: string): boolean {
  try {
    oidContent(s);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------- typed reading

/**
 * Walks the children of a constructed TLV in order, for typed SEQUENCE decoders.
 * `opt(tag)` takes the next child if it has that tag; `req(tag)` requires it. Unknown extension elements
 * (SGP.22 `...`) are skipped by `end()` when `allowUnknown` is true, else they are an error.
 */
export class TlvReader {
  private i = 0;
  constructor(
    readonly parent: Tlv,
    readonly what: string,
  ) {}

  get children(): readonly Tlv[] {
    return this.parent.children;
  }

  peek(): Tlv | undefined {
    return this.parent.children[this.i];
  }

  /** Next child if its tag is `tag`; otherwise undefined (skips nothing). */
  opt(tag: number): Tlv | undefined {
    const c = this.parent.children[this.i];
    if (c && c.tag === tag) {
      this.i++;
      return c;
    }
    return undefined;
  }

  /** Next child if its tag is one of `tags`. */
  optAny(tags: readonly number[]): Tlv | undefined {
    const c = this.parent.children[this.i];
    if (c && tags.includes(c.tag)) {
      this.i++;
      return c;
    }
    return undefined;
  }

  /** Next child, which must have tag `tag`. */
  req(tag: number, field: string): Tlv {
    const c = this.parent.children[this.i];
    if (!c) {
      throw new Asn1Error(
        'missing-element',
        `${this.what}: mandatory ${field} (${tagHex(tag)}) missing`,
        this.parent.valueOffset + this.parent.value.length,
      );
    }
    if (c.tag !== tag) {
      throw new Asn1Error(
        'unexpected-tag',
        `${this.what}: expected ${field} (${tagHex(tag)}), found ${tagHex(c.tag)}`,
        c.offset,
      );
    }
    this.i++;
    return c;
  }

  /** Skip forward to the next child with `tag` (skipping unknown extensions), or undefined. */
  find(tag: number): Tlv | undefined {
    for (let j = this.i; j < this.parent.children.length; j++) {
      if (this.parent.children[j]!.tag === tag) {
        this.i = j + 1;
        return this.parent.children[j];
      }
    }
    return undefined;
  }

  /** All remaining children. */
  rest(): readonly Tlv[] {
    const r = this.parent.children.slice(this.i);
    this.i = this.parent.children.length;
    return r;
  }

  /** Require that no children remain (or skip them if `allowUnknown`). */
  end(allowUnknown = true): void {
    if (this.i < this.parent.children.length && !allowUnknown) {
      const c = this.parent.children[this.i]!;
      throw new Asn1Error('unexpected-tag', `${this.what}: unexpected element ${tagHex(c.tag)}`, c.offset);
    }
    this.i = this.parent.children.length;
  }
}

/** Require a TLV to have a given tag. */
export function expectTag(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag) {
    throw new Asn1Error('unexpected-tag', `${what}: expected tag ${tagHex(tag)}, found ${tagHex(t.tag)}`, t.offset);
  }
  return t;
}

/** Decode `input` as one TLV with tag `tag`. */
export function decodeExpecting(input: Uint8Array, tag: number, what: string, options?: DecodeOptions): Tlv {
  return expectTag(decodeTlv(input, options), tag, what);
}

/** Require a fixed content length. */
export function expectLength(t: Tlv, min: number, max: number, what: string): Uint8Array {
  if (t.value.length < min || t.value.length > max) {
    throw new Asn1Error(
      'bad-value',
      `${what} must be ${min === max ? min : `${min}..${max}`} bytes, got ${t.value.length}`,
      t.valueOffset,
    );
  }
  return t.value;
}

// ------------------------------------------------------------------------------------------ VersionType

/** SGP.22 `VersionType` (3 bytes major.minor.revision) -> "2.2.2". */
export function decodeVersion(t: Tlv): string {
  expectLength(t, 3, 3, `VersionType ${tagHex(t.tag)}`);
  return `${t.value[0]}.${t.value[1]}.${t.value[2]}`;
}

export function versionContent(v: string): Uint8Array {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) throw new RangeError(`invalid version ${JSON.stringify(v)}`);
  return Uint8Array.of(Number(m[1]), Number(m[2]), Number(m[3]));
}

export function encodeVersion(tag: number, v: string): Uint8Array {
  return encodeTlv(tag, versionContent(v));
}

/** OCTET STRING content as a copy-free view (any length). */
export function octets(t: Tlv): Uint8Array {
  return t.value;
}
