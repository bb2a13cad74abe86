/** Assertion helpers for typed-codec tests. */
import { expect } from 'vitest';
import { Asn1Error, type Asn1ErrorCode } from '../../src/asn1/tlv.js';

/** Run `fn`, require an Asn1Error (with `code` when given) and return it. */
export function expectAsn1Error(fn: () => unknown, code?: Asn1ErrorCode): Asn1Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Asn1Error);
    if (code !== undefined) expect((e as Asn1Error).code).toBe(code);
    return e as Asn1Error;
  }
  throw new Error('expected an Asn1Error, nothing was thrown');
}

/** A deep copy of a decoded value without the `raw` fields (which encoders ignore). */
export function withoutRaw<T>(x: T): T {
  if (x instanceof Uint8Array) return x;
  if (Array.isArray(x)) return x.map((e: unknown) => withoutRaw(e)) as T;
  if (typeof x === 'object' && x !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (k !== 'raw') out[k] = withoutRaw(v);
    return out as T;
  }
  return x;
}

/** Run `fn`, require an Asn1Error and return its code and offset (for `toEqual` checks). */
export function codeOf(fn: () => unknown): { code: string; offset: number } {
  const e = expectAsn1Error(fn);
  return { code: e.code, offset: e.offset };
}
