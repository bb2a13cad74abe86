/**
 * Helpers shared by the ES10 client modules: sending a request over a {@link StoreDataChannel} and decoding
 * its response with typed errors, SGP.22 enum ↔ name mapping, identifiers (ICCID digits, AID hex), MCC/MNC.
 *
 * Identifier conventions at the LPA API:
 * - ICCIDs are digit strings (18-20 digits, no F padding): "8949449999999990001";
 * - AIDs (ISD-P AIDs) are returned as upper-case hex strings; inputs accept hex (either case) or bytes;
 * - EIDs are 32-digit strings; certificate PKIDs and challenges stay Uint8Array.
 */
import type { StoreDataChannel } from '../apdu/channel.js';
import { decodeIccid, encodeIccid } from '../util/bcd.js';
import { fromHex, toHex } from '../util/hex.js';
import { EuiccResponseError } from './errors.js';

/** A named SGP.22 enumeration: name → value. */
export type ValueTable = Readonly<Record<string, number>>;

/** A result code as the caller sees it: the SGP.22 name ('unknown' for a value outside the table) and the raw value. */
export interface Es10Outcome<R extends string> {
  readonly result: R | 'unknown';
  readonly code: number;
}

export function nameOf<T extends ValueTable>(table: T, code: number): keyof T & string | 'unknown' {
  for (const [k, v] of Object.entries(table)) if (v === code) return k as keyof T & string;
  return 'unknown';
}

export function outcome<T extends ValueTable>(table: T, code: number): Es10Outcome<keyof T & string> {
  return { result: nameOf(table, code), code };
}

/** Named bits → set of names (unknown bits dropped). */
export function bitNames<T extends ValueTable>(table: T, bits: readonly number[]): (keyof T & string)[] {
  const out: (keyof T & string)[] = [];
  for (const [k, v] of Object.entries(table)) if (bits.includes(v)) out.push(k as keyof T & string);
  return out;
}

/** Named bits → { name: boolean } for every name of the table. */
export function bitFlags<T extends ValueTable>(table: T, bits: readonly number[]): Record<keyof T & string, boolean> {
  const out = {} as Record<string, boolean>;
  for (const [k, v] of Object.entries(table)) out[k] = bits.includes(v);
  return out as Record<keyof T & string, boolean>;
}

/** A value that must be one of the table's: its name, or EuiccResponseError. */
export function strictName<T extends ValueTable>(table: T, code: number, command: string, field: string): keyof T & string {
  const n = nameOf(table, code);
  if (n === 'unknown') throw new EuiccResponseError(command, `${field} ${code} is not an SGP.22 value`);
  return n;
}

/** Send `request`, decode the response with `decode`; decoding failures become EuiccResponseError. */
export async function call<T>(ch: StoreDataChannel, command: string, request: Uint8Array, decode: (b: Uint8Array) => T): Promise<T> {
  const response = await ch.storeData(request);
  return decodeAs(command, response, decode);
}

export function decodeAs<T>(command: string, response: Uint8Array, decode: (b: Uint8Array) => T): T {
  if (response.length === 0) throw new EuiccResponseError(command, 'empty response');
  try {
    return decode(response);
  } catch (e) {
    if (e instanceof EuiccResponseError) throw e;
    throw new EuiccResponseError(command, `undecodable response ${preview(response)}: ${(e as Error).message}`, { cause: e });
  }
}

function preview(b: Uint8Array): string {
  return b.length <= 24 ? toHex(b).toUpperCase() : `${toHex(b.subarray(0, 24)).toUpperCase()}… (${b.length} bytes)`;
}

/** ICCID digits → Iccid bytes (RangeError-like BcdError for bad input). */
export function iccidBytes(iccid: string): Uint8Array {
  return encodeIccid(iccid);
}

export function iccidString(b: Uint8Array, command: string): string {
  try {
    return decodeIccid(b);
  } catch (e) {
    throw new EuiccResponseError(command, `invalid ICCID ${toHex(b)}`, { cause: e });
  }
}

export function aidBytes(aid: string | Uint8Array): Uint8Array {
  const b = typeof aid === 'string' ? fromHex(aid) : aid;
  if (b.length < 1 || b.length > 16) throw new RangeError(`AID must be 1..16 bytes, got ${b.length}`);
  return b;
}

export function aidString(b: Uint8Array): string {
  return toHex(b).toUpperCase();
}

/** A profile named by ICCID (digits) or ISD-P AID; a bare string is an ICCID. */
export type ProfileId = string | { readonly iccid: string } | { readonly aid: string | Uint8Array };

export function profileIdentifier(id: ProfileId): { kind: 'iccid'; iccid: Uint8Array } | { kind: 'isdpAid'; isdpAid: Uint8Array } {
  if (typeof id === 'string') return { kind: 'iccid', iccid: iccidBytes(id) };
  if ('iccid' in id) return { kind: 'iccid', iccid: iccidBytes(id.iccid) };
  return { kind: 'isdpAid', isdpAid: aidBytes(id.aid) };
}

/** PLMN (MCC + MNC) as in 3GPP TS 24.008 (`mcc2 mcc1 | mnc3 mcc3 | mnc2 mnc1`, mnc3 = F for 2-digit MNCs). */
export interface Plmn {
  /** Three digits; an `E` stands for "any" in a RAT. */
  readonly mcc: string;
  /** Two or three digits; `E` = any. */
  readonly mnc: string;
}

const NIBBLE = '0123456789ABCDE';

export function decodePlmn(b: Uint8Array, command: string): Plmn {
  if (b.length !== 3) throw new EuiccResponseError(command, `mccMnc must be 3 bytes, got ${b.length}`);
  const n = (v: number, allowF: boolean): string => {
    if (v === 0xf && allowF) return '';
    const c = NIBBLE[v];
    if (c === undefined || (v > 9 && v !== 0xe)) throw new EuiccResponseError(command, `mccMnc ${toHex(b)} is not BCD`);
    return c;
  };
  const b0 = b[0]!;
  const b1 = b[1]!;
  const b2 = b[2]!;
  const mcc = n(b0 & 0xf, false) + n(b0 >> 4, false) + n(b1 & 0xf, false);
  const mnc = n(b2 & 0xf, false) + n(b2 >> 4, false) + n(b1 >> 4, true);
  return { mcc, mnc };
}

export function encodePlmn(p: Plmn): Uint8Array {
  const d = (c: string | undefined): number => {
    if (c === undefined) return 0xf;
    const v = NIBBLE.indexOf(c.toUpperCase());
    if (v < 0 || (v > 9 && v !== 0xe)) throw new RangeError(`PLMN digit ${c} invalid`);
    return v;
  };
  if (!/^[0-9Ee]{3}$/.test(p.mcc) || !/^[0-9Ee]{2,3}$/.test(p.mnc)) throw new RangeError(`PLMN ${p.mcc}/${p.mnc} invalid`);
  const [m1, m2, m3] = p.mcc;
  const [n1, n2, n3] = p.mnc;
  return Uint8Array.of((d(m2) << 4) | d(m1), (d(n3) << 4) | d(m3), (d(n2) << 4) | d(n1));
}
