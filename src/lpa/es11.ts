/**
 * ES11 client (LPA → SM-DS), SGP22-NOTES §5.3, over the shared {@link RspHttpClient} (CI-anchored TLS).
 *
 * initiateAuthentication is the ES9+ one with the SM-DS address in `smdpAddress`; authenticateClient answers
 * `{transactionId, eventEntries: [{eventId, rspServerAddress}, ...]}` (absent or empty = no events). Paths:
 * `/gsma/rsp2/es9plus/…` by default (what lpac and euicc-go use against the GSMA root SM-DS); the
 * `/gsma/rsp2/es11/…` variant with the field `smdsAddress` is available as `pathStyle: 'es11'`.
 *
 * The LPA checks of step 4 (SGP22-NOTES §4.1) are done on the initiateAuthentication result: outer
 * transactionId = serverSigned1.transactionId, serverSigned1.euiccChallenge = the card's challenge,
 * serverSigned1.serverAddress = the address called (case-insensitive). Failures are {@link Es11Error}.
 */
import { decodeServerSigned1, type ServerSigned1 } from '../asn1/sgp22/authentication.js';
import { eventEntriesFromJson, type EventEntries } from '../asn1/sgp22/es11.js';
import { decodeTlv } from '../asn1/tlv.js';
import { bytesEqual, fromBase64, fromHex, toBase64, toHex } from '../util/hex.js';
import type { JsonObject, RspHttpClient } from './http.js';

export type Es11Function = 'initiateAuthentication' | 'authenticateClient';

export type Es11ErrorCode =
  | 'malformed' // an output field is missing or does not decode
  | 'transaction-id' // the transactionId differs from the signed one / the one sent
  | 'euicc-challenge' // serverSigned1.euiccChallenge is not the card's challenge
  | 'server-address'; // serverSigned1.serverAddress is not the address called

export class Es11Error extends Error {
  override readonly name = 'Es11Error';
  constructor(
    readonly code: Es11ErrorCode,
    readonly fn: Es11Function,
    message: string,
    /** The output field concerned, when there is one. */
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(`ES11 ${fn}: ${message}`, options);
  }
}

export interface Es11InitiateAuthenticationResult {
  readonly transactionId: Uint8Array;
  /** Decoded serverSigned1, `raw` = the `30` TLV as received. */
  readonly serverSigned1: ServerSigned1 & { readonly raw: Uint8Array };
  /** r‖s (value of the 5F37 TLV). */
  readonly serverSignature1: Uint8Array;
  /** CI PKID (value of the `04` TLV). */
  readonly euiccCiPKIdToBeUsed: Uint8Array;
  /** CERT.DSauth DER. */
  readonly serverCertificate: Uint8Array;
}

export interface Es11CallOptions {
  readonly signal?: AbortSignal;
}

export interface Es11ClientOptions {
  /** 'es9plus' (default): /gsma/rsp2/es9plus/… with `smdpAddress`; 'es11': /gsma/rsp2/es11/… with `smdsAddress`. */
  readonly pathStyle?: 'es9plus' | 'es11';
}

function outputReader(fn: Es11Function, json: JsonObject) {
  const fail = (field: string, message: string, cause?: unknown): never => {
    throw new Es11Error('malformed', fn, `${field} ${message}`, field, cause !== undefined ? { cause } : undefined);
  };
  const str = (field: string): string => {
    const v = json[field];
    if (typeof v !== 'string' || v.length === 0) return fail(field, v === undefined ? 'missing' : 'is not a non-empty string');
    return v;
  };
  const tlv = (field: string, tag: number): { raw: Uint8Array; value: Uint8Array } => {
    let b: Uint8Array;
    try {
      b = fromBase64(str(field));
    } catch (e) {
      if (e instanceof Es11Error) throw e;
      return fail(field, 'is not base64', e);
    }
    let t;
    try {
      t = decodeTlv(b);
    } catch (e) {
      return fail(field, 'is not one DER TLV', e);
    }
    if (t.tag !== tag) return fail(field, `has tag ${t.tag.toString(16).toUpperCase()}, expected ${tag.toString(16).toUpperCase()}`);
    return { raw: b, value: t.value.slice() };
  };
  const tId = (): Uint8Array => {
    const s = str('transactionId');
    if (!/^[0-9A-Fa-f]{2,32}$/.test(s) || s.length % 2 !== 0) return fail('transactionId', 'is not a hex string of 1..16 bytes');
    return fromHex(s);
  };
  return { fail, str, tlv, tId };
}

/** The ES11 functions of one SM-DS. */
export class Es11Client {
  private readonly prefix: string;
  private readonly addressField: string;

  constructor(
    private readonly http: RspHttpClient,
    /** SM-DS address, host[:port]. */
    readonly address: string,
    opts: Es11ClientOptions = {},
  ) {
    const es11 = opts.pathStyle === 'es11';
    this.prefix = es11 ? '/gsma/rsp2/es11/' : '/gsma/rsp2/es9plus/';
    this.addressField = es11 ? 'smdsAddress' : 'smdpAddress';
  }

  private async post(fn: Es11Function, body: JsonObject, o: Es11CallOptions): Promise<JsonObject> {
    const r = await this.http.post(this.address, this.prefix + fn, body, o.signal ? { signal: o.signal } : {});
    if (r === undefined) throw new Es11Error('malformed', fn, 'no body (HTTP 204)', 'body');
    return r;
  }

  /**
   * initiateAuthentication `{euiccChallenge, euiccInfo1, smdpAddress}` (`euiccInfo1` = the BF20 TLV as read
   * from the card), with the LPA checks of step 4 against `euiccChallenge` and this client's address.
   */
  async initiateAuthentication(req: { euiccChallenge: Uint8Array; euiccInfo1: Uint8Array }, o: Es11CallOptions = {}): Promise<Es11InitiateAuthenticationResult> {
    const fn = 'initiateAuthentication';
    const json = await this.post(
      fn,
      { euiccChallenge: toBase64(req.euiccChallenge), euiccInfo1: toBase64(req.euiccInfo1), [this.addressField]: this.address },
      o,
    );
    const r = outputReader(fn, json);
    const transactionId = r.tId();
    const s1 = r.tlv('serverSigned1', 0x30);
    let serverSigned1: ServerSigned1;
    try {
      serverSigned1 = decodeServerSigned1(s1.raw);
    } catch (e) {
      return r.fail('serverSigned1', `cannot be decoded: ${(e as Error).message}`, e);
    }
    const serverSignature1 = r.tlv('serverSignature1', 0x5f37).value;
    const euiccCiPKIdToBeUsed = r.tlv('euiccCiPKIdToBeUsed', 0x04).value;
    const serverCertificate = r.tlv('serverCertificate', 0x30).raw;
    if (!bytesEqual(transactionId, serverSigned1.transactionId)) {
      throw new Es11Error('transaction-id', fn, 'transactionId differs from serverSigned1.transactionId', 'transactionId');
    }
    if (!bytesEqual(serverSigned1.euiccChallenge, req.euiccChallenge)) {
      throw new Es11Error('euicc-challenge', fn, 'serverSigned1.euiccChallenge is not the eUICC challenge', 'serverSigned1');
    }
    if (serverSigned1.serverAddress.toLowerCase() !== this.address.toLowerCase()) {
      throw new Es11Error('server-address', fn, `serverSigned1.serverAddress ${serverSigned1.serverAddress} is not ${this.address}`, 'serverSigned1');
    }
    return { transactionId, serverSigned1: { ...serverSigned1, raw: s1.raw }, serverSignature1, euiccCiPKIdToBeUsed, serverCertificate };
  }

  /**
   * authenticateClient `{transactionId, authenticateServerResponse}` (the BF38 as answered by the card) →
   * the event entries for the card's EID (empty when none).
   */
  async authenticateClient(req: { transactionId: Uint8Array; authenticateServerResponse: Uint8Array }, o: Es11CallOptions = {}): Promise<EventEntries[]> {
    const fn = 'authenticateClient';
    const json = await this.post(
      fn,
      { transactionId: toHex(req.transactionId).toUpperCase(), authenticateServerResponse: toBase64(req.authenticateServerResponse) },
      o,
    );
    const r = outputReader(fn, json);
    if (json['transactionId'] !== undefined && !bytesEqual(r.tId(), req.transactionId)) {
      throw new Es11Error('transaction-id', fn, 'transactionId differs from the one sent', 'transactionId');
    }
    try {
      return eventEntriesFromJson(json['eventEntries']);
    } catch (e) {
      return r.fail('eventEntries', (e as Error).message, e);
    }
  }
}
