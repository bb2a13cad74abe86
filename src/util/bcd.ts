/**
 * BCD digit codings used by SGP.22:
 *  - ICCID (`Iccid`, tag 5A): EF.ICCID coding, nibble-swapped per byte, padded with F to 10 bytes.
 *  - EID (tag 5A in GetEuiccDataResponse): plain BCD, 16 bytes, not swapped.
 */

export class BcdError extends TypeError {
  override readonly name = 'BcdError';
}

/** Encode a 19/20-digit ICCID (an optional trailing F is accepted) in the swapped EF.ICCID form, 10 bytes. */
export function encodeIccid(iccid: string): Uint8Array {
  if (!/^[0-9]{18,20}[fF]?$/.test(iccid) || iccid.length > 20) {
    throw new BcdError(`ICCID must be 18 to 20 decimal digits, got ${JSON.stringify(iccid)}`);
  }
  const digits = iccid.toLowerCase().padEnd(20, 'f');
  const out = new Uint8Array(10);
  for (let i = 0; i < 10; i++) {
    const lo = parseInt(digits[2 * i]!, 16);
    const hi = parseInt(digits[2 * i + 1]!, 16);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Decode the swapped EF.ICCID form into its digit string (trailing F padding removed). */
export function decodeIccid(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    s += (b & 0x0f).toString(16) + (b >> 4).toString(16);
  }
  s = s.replace(/f+$/, '');
  if (!/^[0-9]*$/.test(s)) throw new BcdError(`ICCID bytes contain a non-decimal nibble: ${s}`);
  return s;
}

/** Plain (unswapped) BCD digits, F padding allowed at the end only. */
export function decodePlainBcd(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b >> 4).toString(16) + (b & 0x0f).toString(16);
  s = s.replace(/f+$/, '');
  if (!/^[0-9]*$/.test(s)) throw new BcdError(`BCD bytes contain a non-decimal nibble: ${s}`);
  return s;
}

export function encodePlainBcd(digits: string, length?: number): Uint8Array {
  if (!/^[0-9]*$/.test(digits)) throw new BcdError('BCD input must be decimal digits');
  const padded = digits.padEnd(length !== undefined ? length * 2 : digits.length + (digits.length % 2), 'f');
  if (padded.length % 2 !== 0 || (length !== undefined && padded.length !== length * 2)) {
    throw new BcdError(`BCD input of ${digits.length} digits does not fit ${length} bytes`);
  }
  const out = new Uint8Array(padded.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(padded.substr(2 * i, 2), 16);
  return out;
}

/** EID as 32 decimal digits <-> 16 bytes plain BCD. */
export function encodeEid(eid: string): Uint8Array {
  if (!/^[0-9]{32}$/.test(eid)) throw new BcdError(`EID must be 32 decimal digits, got ${JSON.stringify(eid)}`);
  return encodePlainBcd(eid, 16);
}

export function decodeEid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new BcdError(`EID must be 16 bytes, got ${bytes.length}`);
  const s = decodePlainBcd(bytes);
  if (s.length !== 32) throw new BcdError('EID must be 32 decimal digits');
  return s;
}
