/**
 * ES9+ client (LPA → SM-DP+), SGP22-NOTES §5.1, over {@link RspHttpClient}.
 *
 * Encodings (as in the osmo-smdpp trace): binary fields are standard base64 (with padding) of complete DER
 * TLVs — `serverSignature1` / `smdpSignature2` are the whole `5F37` TLV, `euiccCiPKIdToBeUsed` the whole
 * `04 14 …` TLV; transactionId is a hex string (sent upper case, compared as bytes). Requests carry no
 * `header` object. Responses are checked field by field: a missing or undecodable output field is an
 * {@link Es9pResponseError} naming the function and the field.
 */
import { decodeTlv } from '../asn1/tlv.js';
import { decodeServerSigned1, decodeSmdpSigned2, type ServerSigned1, type SmdpSigned2 } from '../asn1/sgp22/authentication.js';
import { decodeStoreMetadataRequest, type StoreMetadataRequest } from '../asn1/sgp22/metadata.js';
import { bytesEqual, fromBase64, fromHex, toBase64, toHex } from '../util/hex.js';
import type { JsonObject, RspHttpClient } from './http.js';

export const ES9P_PREFIX = '/gsma/rsp2/es9plus/';

export type Es9pFunction = 'initiateAuthentication' | 'authenticateClient' | 'getBoundProfilePackage' | 'handleNotification' | 'cancelSession';

/** The SM-DP+ answered success but an output field is missing or cannot be decoded. */
export class Es9pResponseError extends Error {
  override readonly name = 'Es9pResponseError';
  constructor(
    readonly fn: Es9pFunction,
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`ES9+ ${fn}: ${field} ${message}`, options);
  }
}

export interface InitiateAuthenticationResult {
  readonly transactionId: Uint8Array;
  /** Decoded serverSigned1, `raw` = the `30` TLV as received. */
  readonly serverSigned1: ServerSigned1 & { readonly raw: Uint8Array };
  /** r‖s (the value of the 5F37 TLV). */
  readonly serverSignature1: Uint8Array;
  /** The CI PKID (value of the `04` TLV). */
  readonly euiccCiPKIdToBeUsed: Uint8Array;
  /** CERT.DPauth DER. */
  readonly serverCertificate: Uint8Array;
}

export interface AuthenticateClientResult {
  readonly transactionId: Uint8Array;
  /** Decoded profileMetadata (BF25 StoreMetadataRequest). */
  readonly profileMetadata: StoreMetadataRequest;
  readonly profileMetadataRaw: Uint8Array;
  readonly smdpSigned2: SmdpSigned2 & { readonly raw: Uint8Array };
  /** r‖s. */
  readonly smdpSignature2: Uint8Array;
  /** CERT.DPpb DER. */
  readonly smdpCertificate: Uint8Array;
}

export interface GetBoundProfilePackageResult {
  readonly transactionId: Uint8Array;
  /** The BF36 TLV. */
  readonly boundProfilePackage: Uint8Array;
}

export interface Es9pCallOptions {
  readonly signal?: AbortSignal;
  /** A shorter deadline than the HTTP client's request timeout (see RspPostOptions.timeoutMs). */
  readonly timeoutMs?: number;
}

/** hex, even length, 1..16 bytes. */
export function transactionIdHex(tId: Uint8Array): string {
  return toHex(tId).toUpperCase();
}

class Reader {
  constructor(
    private readonly fn: Es9pFunction,
    private readonly json: JsonObject,
  ) {}

  fail(field: string, message: string, cause?: unknown): never {
    throw new Es9pResponseError(this.fn, field, message, cause !== undefined ? { cause } : undefined);
  }

  str(field: string): string {
    const v = this.json[field];
    if (typeof v !== 'string' || v.length === 0) this.fail(field, v === undefined ? 'missing' : 'is not a non-empty string');
    return v;
  }

  b64(field: string): Uint8Array {
    const s = this.str(field);
    try {
      return fromBase64(s);
    } catch (e) {
      return this.fail(field, 'is not base64', e);
    }
  }

  /** base64 of one complete TLV with tag `tag`; returns the whole TLV. */
  tlv(field: string, tag: number): { raw: Uint8Array; value: Uint8Array } {
    const b = this.b64(field);
    try {
      const t = decodeTlv(b);
      if (t.tag !== tag) this.fail(field, `has tag ${t.tag.toString(16).toUpperCase()}, expected ${tag.toString(16).toUpperCase()}`);
      return { raw: b, value: t.value.slice() };
    } catch (e) {
      if (e instanceof Es9pResponseError) throw e;
      return this.fail(field, 'is not one DER TLV', e);
    }
  }

  tId(field = 'transactionId'): Uint8Array {
    const s = this.str(field);
    if (!/^[0-9A-Fa-f]{2,32}$/.test(s) || s.length % 2 !== 0) this.fail(field, 'is not a hex string of 1..16 bytes');
    return fromHex(s);
  }

  decode<T>(field: string, raw: Uint8Array, f: (b: Uint8Array) => T): T {
    try {
      return f(raw);
    } catch (e) {
      return this.fail(field, `cannot be decoded: ${(e as Error).message}`, e);
    }
  }
}

/** The ES9+ functions for one SM-DP+ address. */
export class Es9pClient {
  constructor(
    private readonly http: RspHttpClient,
    /** SM-DP+ address, host[:port]. */
    readonly address: string,
  ) {}

  private async call(fn: Es9pFunction, body: JsonObject, o: Es9pCallOptions): Promise<JsonObject | undefined> {
    return this.http.post(this.address, ES9P_PREFIX + fn, body, o);
  }

  private async callWithOutput(fn: Es9pFunction, body: JsonObject, o: Es9pCallOptions): Promise<Reader> {
    const r = await this.call(fn, body, o);
    if (r === undefined) throw new Es9pResponseError(fn, 'body', 'missing (HTTP 204)');
    return new Reader(fn, r);
  }

  /** initiateAuthentication `{euiccChallenge, euiccInfo1, smdpAddress}`. `euiccInfo1` = the BF20 TLV as read from the card. */
  async initiateAuthentication(
    req: { euiccChallenge: Uint8Array; euiccInfo1: Uint8Array; smdpAddress: string },
    o: Es9pCallOptions = {},
  ): Promise<InitiateAuthenticationResult> {
    const r = await this.callWithOutput(
      'initiateAuthentication',
      { euiccChallenge: toBase64(req.euiccChallenge), euiccInfo1: toBase64(req.euiccInfo1), smdpAddress: req.smdpAddress },
      o,
    );
    const transactionId = r.tId();
    const s1 = r.tlv('serverSigned1', 0x30);
    const serverSigned1 = r.decode('serverSigned1', s1.raw, decodeServerSigned1);
    const serverSignature1 = r.tlv('serverSignature1', 0x5f37).value;
    const euiccCiPKIdToBeUsed = r.tlv('euiccCiPKIdToBeUsed', 0x04).value;
    const serverCertificate = r.tlv('serverCertificate', 0x30).raw;
    return { transactionId, serverSigned1: { ...serverSigned1, raw: s1.raw }, serverSignature1, euiccCiPKIdToBeUsed, serverCertificate };
  }

  /** authenticateClient `{transactionId, authenticateServerResponse}` (the BF38 as answered by the card, even an error). */
  async authenticateClient(
    req: { transactionId: Uint8Array; authenticateServerResponse: Uint8Array },
    o: Es9pCallOptions = {},
  ): Promise<AuthenticateClientResult> {
    const r = await this.callWithOutput(
      'authenticateClient',
      { transactionId: transactionIdHex(req.transactionId), authenticateServerResponse: toBase64(req.authenticateServerResponse) },
      o,
    );
    const transactionId = r.tId();
    const md = r.tlv('profileMetadata', 0xbf25);
    const profileMetadata = r.decode('profileMetadata', md.raw, decodeStoreMetadataRequest);
    const s2 = r.tlv('smdpSigned2', 0x30);
    const smdpSigned2 = r.decode('smdpSigned2', s2.raw, decodeSmdpSigned2);
    const smdpSignature2 = r.tlv('smdpSignature2', 0x5f37).value;
    const smdpCertificate = r.tlv('smdpCertificate', 0x30).raw;
    return { transactionId, profileMetadata, profileMetadataRaw: md.raw, smdpSigned2: { ...smdpSigned2, raw: s2.raw }, smdpSignature2, smdpCertificate };
  }

  /** getBoundProfilePackage `{transactionId, prepareDownloadResponse}` (BF21). */
  async getBoundProfilePackage(
    req: { transactionId: Uint8Array; prepareDownloadResponse: Uint8Array },
    o: Es9pCallOptions = {},
  ): Promise<GetBoundProfilePackageResult> {
    const r = await this.callWithOutput(
      'getBoundProfilePackage',
      { transactionId: transactionIdHex(req.transactionId), prepareDownloadResponse: toBase64(req.prepareDownloadResponse) },
      o,
    );
    const transactionId = r.tId();
    const boundProfilePackage = r.tlv('boundProfilePackage', 0xbf36).raw;
    return { transactionId, boundProfilePackage };
  }

  /** handleNotification `{pendingNotification}` (BF37 or 30). Success = 204 (or 200 with a success header). */
  async handleNotification(pendingNotification: Uint8Array, o: Es9pCallOptions = {}): Promise<void> {
    await this.call('handleNotification', { pendingNotification: toBase64(pendingNotification) }, o);
  }

  /** cancelSession `{transactionId, cancelSessionResponse}` (BF41 as answered by the card). */
  async cancelSession(req: { transactionId: Uint8Array; cancelSessionResponse: Uint8Array }, o: Es9pCallOptions = {}): Promise<void> {
    await this.call('cancelSession', { transactionId: transactionIdHex(req.transactionId), cancelSessionResponse: toBase64(req.cancelSessionResponse) }, o);
  }
}

/** transactionIds compare as bytes (the JSON hex may be either case). */
export function sameTransactionId(a: Uint8Array, b: Uint8Array): boolean {
  return bytesEqual(a, b);
}
