/**
 * Small helpers shared by the typed SGP.22 codecs of euicc-info.ts, authentication.ts, bpp.ts and
 * cancel-session.ts. Decoding helpers throw only {@link Asn1Error}; encoding helpers throw RangeError for
 * values that could not be decoded back (wrong fixed sizes, a certificate that is not one `30` TLV, ...).
 */
import { TlvReader, decodeExpecting, expectLength, expectTag } from '../der.js';
import { Asn1Error, decodeTlv, encodeTlv, tagHex, type Tlv } from '../tlv.js';

/** Tag of an ECDSA signature inside ASN.1 (`[APPLICATION 55]`). */
export const TAG_SIGNATURE = 0x5f37;
/** Tag of a one-time ECKA public key (`[APPLICATION 73]`). */
export const TAG_OTPK = 0x5f49;

/** The input of a typed decoder as a TLV with the required tag (a Uint8Array must be exactly one TLV). */
export function asTlv(input: Uint8Array | Tlv, tag: number, what: string): Tlv {
  return input instanceof Uint8Array ? decodeExpecting(input, tag, what) : expectTag(input, tag, what);
}

/** The input of a CHOICE decoder as one TLV (any tag). */
export function anyTlv(input: Uint8Array | Tlv): Tlv {
  return input instanceof Uint8Array ? decodeTlv(input) : input;
}

/** OCTET STRING content with a size constraint (both bounds inclusive). */
export function sizedOctets(t: Tlv, min: number, max: number, what: string): Uint8Array {
  return expectLength(t, min, max, what);
}

/** TransactionId ::= OCTET STRING (SIZE(1..16)). */
export function transactionIdOf(t: Tlv, what: string): Uint8Array {
  return expectLength(t, 1, 16, `${what}.transactionId`);
}

/** A Certificate field: the complete DER of the `30` TLV as received (parsed by the certificate module). */
export function certificateOf(t: Tlv, what: string): Uint8Array {
  return expectTag(t, 0x30, what).raw;
}

/**
 * After the known fields of an extensible SEQUENCE: skip unknown extension elements, but reject a
 * remaining element whose tag is one of the type's own fields (duplicate or out of order).
 */
export function endExtensible(r: TlvReader, knownTags: readonly number[]): void {
  for (const c of r.rest()) {
    if (knownTags.includes(c.tag)) {
      throw new Asn1Error('unexpected-tag', `${r.what}: element ${tagHex(c.tag)} duplicated or out of order`, c.offset);
    }
  }
}

/** SEQUENCE OF with every element of tag `elementTag`; returns the element TLVs. */
export function sequenceOf(t: Tlv, elementTag: number, what: string): readonly Tlv[] {
  for (const c of t.children) {
    if (c.tag !== elementTag) {
      throw new Asn1Error(
        'unexpected-tag',
        `${what}: element must be ${tagHex(elementTag)}, found ${tagHex(c.tag)}`,
        c.offset,
      );
    }
  }
  return t.children;
}

// ---------------------------------------------------------------------------------------------- encoding

/** Require a byte length in [min, max] for an encoder input. */
export function checkSize(bytes: Uint8Array, min: number, max: number, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length < min || bytes.length > max) {
    throw new RangeError(`${what} must be ${min === max ? min : `${min}..${max}`} bytes`);
  }
  return bytes;
}

/** Encoder side of a Certificate field: must be exactly one `30` TLV. */
export function checkCertificate(der: Uint8Array, what: string): Uint8Array {
  let ok = false;
  try {
    ok = decodeTlv(der).tag === 0x30;
  } catch {
    ok = false;
  }
  if (!ok) throw new RangeError(`${what} must be the DER of one certificate (a 30 TLV)`);
  return der;
}

/** Encoder side of a raw TLV kept in a field (segments, unknown CHOICE alternatives): one TLV with `tag`. */
export function checkTlv(bytes: Uint8Array, tag: number | undefined, what: string): Uint8Array {
  let t: Tlv | undefined;
  try {
    t = decodeTlv(bytes, { der: false });
  } catch {
    t = undefined;
  }
  if (!t || (tag !== undefined && t.tag !== tag)) {
    throw new RangeError(`${what} must be one complete TLV${tag === undefined ? '' : ` with tag ${tagHex(tag)}`}`);
  }
  return bytes;
}

/** `5F37 len r||s`: the complete signature TLV (DER-canonical, so rebuilding gives the bytes as received). */
export function signatureTlv(sig: Uint8Array): Uint8Array {
  return encodeTlv(TAG_SIGNATURE, sig);
}

/**
 * A SEQUENCE reader that skips elements with tags foreign to the type wherever they appear (for
 * card-produced structures such as EUICCInfo2, where later versions or vendors may add elements), while
 * the type's own fields must still come in order, once.
 */
export class LenientReader {
  private readonly r: TlvReader;
  constructor(
    parent: Tlv,
    readonly what: string,
    private readonly knownTags: readonly number[],
  ) {
    this.r = new TlvReader(parent, what);
  }

  private skipForeign(): void {
    for (let c = this.r.peek(); c && !this.knownTags.includes(c.tag); c = this.r.peek()) this.r.opt(c.tag);
  }

  opt(tag: number): Tlv | undefined {
    this.skipForeign();
    return this.r.opt(tag);
  }

  req(tag: number, field: string): Tlv {
    this.skipForeign();
    return this.r.req(tag, field);
  }

  end(): void {
    endExtensible(this.r, this.knownTags);
  }
}
