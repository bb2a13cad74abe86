/**
 * SGP.22 Activation Code (SGP.22 section 4.1; see SGP22-NOTES.md section 6.1):
 *
 *     [LPA:]1$<SM-DP+ address>$<AC_Token>[$<SM-DP+ OID>[$<Confirmation Code Required Flag>]]
 *
 * `LPA:` is the QR-code prefix; it is accepted on input and added by `formatActivationCode` on request.
 *
 * Decisions (tested in activation-code.test.ts):
 * - Strictly one prefix spelling: `LPA:` in upper case. A lower-case `lpa:` (implementation-defined in the
 *   reference vectors) is REJECTED with fault 'format' — SGP.22 only shows the upper-case form and a QR code in
 *   alphanumeric mode can only hold upper case; a UI may normalise before calling the parser.
 * - An empty AC_Token (valid-by-interpretation in the vectors) is ACCEPTED and reported as "" — SGP.22 allows a
 *   download without MatchingID (the SM-DP+ finds the order by EID).
 * - Optional fields may be empty: an empty OID field means "no OID" and an empty flag field means "not
 *   required". So a trailing `$` after the token (implementation-defined in the vectors) is ACCEPTED as "no OID";
 *   the canonical form drops it.
 * - More than five fields is rejected ('format'); SGP.22 v3 additions are not accepted until we implement them.
 * - The CC flag, when present and non-empty, must be exactly "1" ("0" is rejected: 'cc-flag').
 * - The whole input must be printable ASCII without spaces (0x21..0x7E), else 'characters' — no trimming.
 * - Address: a DNS host name (labels of [A-Za-z0-9-], 1..63 characters, no leading/trailing hyphen, total at
 *   most 253, the last label not all-numeric), a dotted-quad IPv4 address, or a bracketed IPv6 literal, each
 *   with an optional `:port` (1..65535, no leading zeros). Case is kept as written. Schemes, paths, user
 *   info, empty labels (`a..b`, trailing dot) are rejected ('address').
 * - AC_Token characters: [A-Za-z0-9] plus `-`, `.`, `_` (lpac allows [A-Za-z0-9-]; the exact SGP.22 set is
 *   unconfirmed, so we allow a little more but nothing that needs escaping in JSON or a URL); else 'token'.
 * - OID: dotted decimal, first arc 0..2 (second arc < 40 under 0 and 1), no leading zeros; else 'oid'.
 *
 * Canonical form (formatActivationCode): `1$addr$token`, then `$oid` when there is an OID, then `$1` when a
 * confirmation code is required (with an empty OID field if there is no OID: `1$addr$token$$1`).
 */
import { isIP } from 'node:net';
import { isOid } from './der.js';

export type ActivationCodeFault = 'empty' | 'characters' | 'format' | 'address' | 'token' | 'oid' | 'cc-flag';

export class ActivationCodeError extends Error {
  override readonly name = 'ActivationCodeError';
  constructor(
    readonly fault: ActivationCodeFault,
    message: string,
  ) {
    super(`activation code: ${message}`);
  }
}

export interface ActivationCode {
  readonly acFormat: '1';
  /** SM-DP+ address: host name or IP literal, optionally with `:port`, as written. */
  readonly smdpAddress: string;
  /** AC_Token (MatchingID); may be empty. */
  readonly acToken: string;
  /** SM-DP+ OID (dotted) or null. */
  readonly smdpOid: string | null;
  /** Confirmation Code required. */
  readonly ccRequired: boolean;
}

const PREFIX = 'LPA:';
const TOKEN_RE = /^[A-Za-z0-9._-]*$/;
const LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function validPort(p: string): boolean {
  return /^[1-9][0-9]{0,4}$/.test(p) && Number(p) <= 65535;
}

function validHost(h: string): boolean {
  if (h.length === 0 || h.length > 253) return false;
  if (/^[0-9.]+$/.test(h)) return isIP(h) === 4 && h.split('.').every((x) => x === '0' || !x.startsWith('0'));
  const labels = h.split('.');
  if (!labels.every((l) => LABEL_RE.test(l))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

/** True when `a` is an acceptable SM-DP+ address (host or IP literal, optional :port). */
export function isValidSmdpAddress(a: string): boolean {
  if (a.startsWith('[')) {
    const close = a.indexOf(']');
    if (close < 0) return false;
    const host = a.slice(1, close);
    const rest = a.slice(close + 1);
    if (isIP(host) !== 6 || host.includes('%')) return false;
    return rest === '' || (rest.startsWith(':') && validPort(rest.slice(1)));
  }
  const colon = a.indexOf(':');
  if (colon >= 0) return validHost(a.slice(0, colon)) && validPort(a.slice(colon + 1));
  return validHost(a);
}

function checkFields(ac: {
  smdpAddress: string;
  acToken: string;
  smdpOid: string | null;
}): void {
  if (!isValidSmdpAddress(ac.smdpAddress)) {
    throw new ActivationCodeError(
      'address',
      ac.smdpAddress === '' ? 'SM-DP+ address is empty' : `invalid SM-DP+ address ${JSON.stringify(ac.smdpAddress)}`,
    );
  }
  if (!TOKEN_RE.test(ac.acToken)) throw new ActivationCodeError('token', `invalid character in AC_Token`);
  if (ac.smdpOid !== null && !isOid(ac.smdpOid)) {
    throw new ActivationCodeError('oid', `invalid SM-DP+ OID ${JSON.stringify(ac.smdpOid)}`);
  }
}

/** Parse an activation code, with or without the `LPA:` prefix. Throws ActivationCodeError. */
export function parseActivationCode(input: string): ActivationCode {
  if (typeof input !== 'string') throw new ActivationCodeError('format', 'input is not a string');
  if (input.length === 0) throw new ActivationCodeError('empty', 'input is empty');
  if (!/^[\x21-\x7e]*$/.test(input)) {
    throw new ActivationCodeError('characters', 'only printable ASCII without spaces is allowed');
  }
  const body = input.startsWith(PREFIX) ? input.slice(PREFIX.length) : input;
  if (body.length === 0) throw new ActivationCodeError('empty', 'nothing after the LPA: prefix');
  const fields = body.split('$');
  if (fields[0] !== '1') {
    throw new ActivationCodeError('format', `AC_Format must be "1", got ${JSON.stringify(fields[0]!.slice(0, 16))}`);
  }
  if (fields.length < 3) throw new ActivationCodeError('format', 'SM-DP+ address and AC_Token are mandatory');
  if (fields.length > 5) throw new ActivationCodeError('format', `${fields.length} fields (at most 5)`);
  const [, smdpAddress = '', acToken = '', oid = '', flag = ''] = fields;
  if (flag !== '' && flag !== '1') {
    throw new ActivationCodeError('cc-flag', `Confirmation Code Required Flag must be "1", got ${JSON.stringify(flag)}`);
  }
  const ac: ActivationCode = {
    acFormat: '1',
    smdpAddress,
    acToken,
    smdpOid: oid === '' ? null : oid,
    ccRequired: flag === '1',
  };
  checkFields(ac);
  return ac;
}

/** Canonical string of an activation code; `prefix: true` adds `LPA:` (QR-code payload). */
export function formatActivationCode(ac: ActivationCode, options?: { prefix?: boolean }): string {
  if (ac.acFormat !== '1') throw new ActivationCodeError('format', 'AC_Format must be "1"');
  checkFields(ac);
  let s = `1$${ac.smdpAddress}$${ac.acToken}`;
  if (ac.smdpOid !== null || ac.ccRequired) s += `$${ac.smdpOid ?? ''}`;
  if (ac.ccRequired) s += '$1';
  return (options?.prefix ? PREFIX : '') + s;
}
