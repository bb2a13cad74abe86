/**
 * EID check digits (GSMA SGP.29, ISO 7064 MOD 97-10 as for IBANs): the 32-digit EID, read as a decimal
 * number, is 1 modulo 97. To compute: take the first 30 digits, append "00", and the check digits are
 * 98 - (N mod 97), two digits with a leading zero.
 */

export class EidError extends TypeError {
  override readonly name = 'EidError';
}

function mod97(digits: string): number {
  // chunked to stay within safe integers (no BigInt needed)
  let r = 0;
  for (let i = 0; i < digits.length; i += 7) r = Number(String(r) + digits.slice(i, i + 7)) % 97;
  return r;
}

/** True when the 32-digit EID has valid check digits. Throws EidError unless it is 32 decimal digits. */
export function verifyEid(eid: string): boolean {
  if (typeof eid !== 'string' || !/^[0-9]{32}$/.test(eid)) {
    throw new EidError(`EID must be 32 decimal digits, got ${JSON.stringify(eid)}`);
  }
  return mod97(eid) === 1;
}

/**
 * The full 32-digit EID for its first 30 digits (given alone, or as a 32-digit EID whose last two digits are
 * replaced). Throws EidError for anything but 30 or 32 decimal digits.
 */
export function computeEidCheckDigits(digits: string): string {
  if (typeof digits !== 'string' || !/^(?:[0-9]{30}|[0-9]{32})$/.test(digits)) {
    throw new EidError(`EID input must be 30 or 32 decimal digits, got ${JSON.stringify(digits)}`);
  }
  const body = digits.slice(0, 30);
  const check = 98 - mod97(body + '00');
  return body + String(check).padStart(2, '0');
}
