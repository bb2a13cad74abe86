/**
 * Field-level helpers for the typed codecs of metadata.ts, profiles.ts, addresses.ts, rat.ts,
 * notifications.ts and es11.ts (general TLV helpers shared with the other codecs are in codec-util.ts).
 *
 * Decoding helpers throw only {@link Asn1Error}; encoding helpers throw RangeError for values that could
 * not be decoded back (wrong sizes, strings too long, non-integers).
 */
import { decodeInteger, decodeUtf8, expectLength } from '../der.js';
import { Asn1Error, encodeTlv, tagHex, type Tlv } from '../tlv.js';

const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------- decoding

/**
 * The children of an extensible SEQUENCE, matched against the type's fields in definition order.
 * Known fields must appear in that order and at most once (else `unexpected-tag`); elements with other tags
 * (extension additions of later versions, e.g. BF76 / 9F24 in ProfileInfo) are skipped wherever they are.
 */
export class SeqFields {
  private readonly found = new Map<number, Tlv>();

  constructor(
    readonly parent: Tlv,
    readonly what: string,
    order: readonly number[],
  ) {
    let pos = -1;
    for (const c of parent.children) {
      const i = order.indexOf(c.tag);
      if (i < 0) continue;
      if (i <= pos) {
        throw new Asn1Error('unexpected-tag', `${what}: element ${tagHex(c.tag)} duplicated or out of order`, c.offset);
      }
      pos = i;
      this.found.set(c.tag, c);
    }
  }

  opt(tag: number): Tlv | undefined {
    return this.found.get(tag);
  }

  req(tag: number, field: string): Tlv {
    const t = this.found.get(tag);
    if (!t) {
      throw new Asn1Error(
        'missing-element',
        `${this.what}: mandatory ${field} (${tagHex(tag)}) missing`,
        this.parent.valueOffset + this.parent.value.length,
      );
    }
    return t;
  }
}

/** A CHOICE wrapped in an explicit tag (`[n] CHOICE`): exactly one child. */
export function singleChild(t: Tlv, what: string): Tlv {
  const c = t.children[0];
  if (!c) throw new Asn1Error('missing-element', `${what}: the CHOICE alternative is missing`, t.valueOffset);
  const extra = t.children[1];
  if (extra) throw new Asn1Error('unexpected-tag', `${what}: more than one CHOICE alternative`, extra.offset);
  return c;
}

/** Error for an unknown CHOICE alternative. */
export function unknownAlternative(c: Tlv, what: string): Asn1Error {
  return new Asn1Error('unexpected-tag', `${what}: unknown alternative ${tagHex(c.tag)}`, c.offset);
}

/** Iccid ::= [APPLICATION 26] OCTET STRING (SIZE(10)). */
export function iccidOf(t: Tlv, what: string): Uint8Array {
  return expectLength(t, 10, 10, `${what}.iccid`);
}

/** UTF8String (SIZE(0..max)), the bound counted in bytes. */
export function utf8MaxBytes(t: Tlv, maxBytes: number, what: string): string {
  if (t.value.length > maxBytes) {
    throw new Asn1Error('bad-value', `${what} longer than ${maxBytes} bytes (${t.value.length})`, t.valueOffset);
  }
  return decodeUtf8(t);
}

/** UTF8String (SIZE(0..max)), the bound counted in characters (code points), as X.680 counts them. */
export function utf8MaxChars(t: Tlv, maxChars: number, what: string): string {
  const s = decodeUtf8(t);
  if (codePoints(s) > maxChars) {
    throw new Asn1Error('bad-value', `${what} longer than ${maxChars} characters`, t.valueOffset);
  }
  return s;
}

/** INTEGER with named values: any value is kept (the types are extensible). */
export function integerOf(t: Tlv): number {
  return decodeInteger(t);
}

/** A constructed element whose content must be empty apart from unknown extensions (e.g. `BF43 00`). */
export function requireConstructed(t: Tlv, what: string): Tlv {
  if (!t.constructed) throw new Asn1Error('unexpected-tag', `${what}: must be constructed`, t.offset);
  return t;
}

// ---------------------------------------------------------------------------------------------- encoding

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Encode a UTF8String, requiring at most `maxBytes` bytes. */
export function encodeUtf8MaxBytes(tag: number, s: string, maxBytes: number, what: string): Uint8Array {
  if (typeof s !== 'string') throw new RangeError(`${what} must be a string`);
  const b = utf8Encoder.encode(s);
  if (b.length > maxBytes) throw new RangeError(`${what} must be at most ${maxBytes} bytes of UTF-8, got ${b.length}`);
  return encodeTlv(tag, b);
}

/** Encode a UTF8String, requiring at most `maxChars` characters. */
export function encodeUtf8MaxChars(tag: number, s: string, maxChars: number, what: string): Uint8Array {
  if (typeof s !== 'string') throw new RangeError(`${what} must be a string`);
  if (codePoints(s) > maxChars) throw new RangeError(`${what} must be at most ${maxChars} characters`);
  return encodeTlv(tag, utf8Encoder.encode(s));
}

/** Encode an unconstrained UTF8String. */
export function encodeString(tag: number, s: string, what: string): Uint8Array {
  if (typeof s !== 'string') throw new RangeError(`${what} must be a string`);
  return encodeTlv(tag, utf8Encoder.encode(s));
}

/** Encode an OCTET STRING with a size constraint. */
export function encodeOctets(tag: number, bytes: Uint8Array, min: number, max: number, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length < min || bytes.length > max) {
    throw new RangeError(`${what} must be ${min === max ? min : `${min}..${max}`} bytes`);
  }
  return encodeTlv(tag, bytes);
}

/** Encode an Iccid (10 bytes as coded in EF.ICCID). */
export function encodeIccidField(tag: number, iccid: Uint8Array, what: string): Uint8Array {
  return encodeOctets(tag, iccid, 10, 10, `${what}.iccid`);
}
