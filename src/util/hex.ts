/** Hex and byte helpers. Bytes are Uint8Array everywhere; hex appears only at the edges. */

const HEX = '0123456789abcdef';

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    s += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return s;
}

/** Parse hex (either case, optional whitespace). Throws TypeError on odd length or a non-hex digit. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0) throw new TypeError(`hex string has odd length ${clean.length}`);
  if (!/^[0-9a-fA-F]*$/.test(clean)) throw new TypeError('hex string contains a non-hex character');
  // all characters checked above; copied out of Buffer's shared pool into an array of its own
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

/** Concatenate byte arrays. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A copy that does not share memory with the input (decoders return views; keep copies where data outlives the buffer). */
export function copyBytes(a: Uint8Array): Uint8Array {
  return new Uint8Array(a);
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Strict, canonical standard base64 (padding required, no whitespace, zero padding bits). Throws TypeError otherwise. */
export function fromBase64(b64: string): Uint8Array {
  // Node's decoder skips what is not base64 (and takes the URL-safe alphabet): the input is canonical
  // exactly when encoding the result gives it back (also rejects non-zero padding bits). 4x faster than a
  // regular expression over a 17 KB boundProfilePackage.
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.toString('base64') !== b64) throw new TypeError('not canonical base64');
  return new Uint8Array(bytes);
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
