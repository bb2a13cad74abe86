/**
 * SM-DS event store and ES12 (SM-DP+ → SM-DS) function logic (SGP22-NOTES §5.4), plus a small ES12 client
 * for an SM-DP+.
 *
 *   registerEvent {header, eid, rspServerAddress, eventId, forwardingIndicator} → {header}
 *   deleteEvent   {header, eid, eventId}                                       → {header}
 *
 * Failures: duplicate eventId → 8.9.5/3.3; unknown event (or an event of another EID) → 8.9.5/3.9; a missing
 * mandatory field → 1.3.1/2.2; a field of the wrong type/format → 1.3.1/2.1.
 *
 * Caller binding (when the SM-DS knows the caller's TLS client certificate, i.e. ES12 over mutual TLS): the
 * host of `rspServerAddress` must be one of the dNSNames of the caller's CERT.DPtls, else RegisterEvent fails
 * with 8.8.1/3.8 ("SM-DP+ address refused", SGP22-NOTES §5.2; the ES12-specific code is **UNCONFIRMED**), so an
 * SM-DP+ cannot register events that send eUICCs to another SM-DP+. DeleteEvent of an event whose
 * rspServerAddress is not the caller's answers 8.9.5/3.9 (unknown event: its existence is not revealed).
 *
 * The store is SQLite (better-sqlite3): table `events(eventId PRIMARY KEY, eid, rspServerAddress,
 * forwardingIndicator, created)`; a file database survives restarts. An eventId is unique over the whole
 * SM-DS (it is the matchingId the LPA later presents to `rspServerAddress`).
 *
 * Layering: imports crypto/ and util/ only.
 */
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { hostNameMatches, parseCertificateCached, verifyServerCertificate } from '../crypto/certs.js';
import { toPem } from '../crypto/x509.js';
import { hostOfAddress } from './identity.js';

// ------------------------------------------------------------------------------------------------ JSON

export type SmdsJsonValue = string | number | boolean | null | SmdsJsonValue[] | { [key: string]: SmdsJsonValue };
export type SmdsJsonObject = { [key: string]: SmdsJsonValue };

export interface SmdsStatusCodeData {
  readonly subjectCode: string;
  readonly reasonCode: string;
  readonly message?: string;
}

/** A function failure: answered as HTTP 200 with functionExecutionStatus `Failed` and the status code data. */
export class SmdsFunctionError extends Error {
  override readonly name = 'SmdsFunctionError';
  constructor(
    readonly subjectCode: string,
    readonly reasonCode: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${subjectCode}/${reasonCode}: ${message}`, options);
    this.detail = message;
  }
  /** The message without the codes (sent as statusCodeData.message). */
  readonly detail: string;
}

/** `{header: {functionExecutionStatus: {status: 'Executed-Success'}}}` plus `body`. */
export function successResponse(body: SmdsJsonObject = {}): SmdsJsonObject {
  return { header: { functionExecutionStatus: { status: 'Executed-Success' } }, ...body };
}

/** The Failed response for a status code (always with a message, SGP22-NOTES §5). */
export function failedResponse(s: SmdsStatusCodeData): SmdsJsonObject {
  return {
    header: {
      functionExecutionStatus: {
        status: 'Failed',
        statusCodeData: { subjectCode: s.subjectCode, reasonCode: s.reasonCode, message: s.message ?? `${s.subjectCode}/${s.reasonCode}` },
      },
    },
  };
}

export function isSmdsJsonObject(v: unknown): v is SmdsJsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A mandatory string field; missing → 1.3.1/2.2, not a string → 1.3.1/2.1. */
export function reqString(body: SmdsJsonObject, name: string): string {
  const v = body[name];
  if (v === undefined || v === null) throw new SmdsFunctionError('1.3.1', '2.2', `mandatory element ${name} missing`);
  if (typeof v !== 'string') throw new SmdsFunctionError('1.3.1', '2.1', `${name} must be a string`);
  return v;
}

// ------------------------------------------------------------------------------------------------ store

export interface SmdsEvent {
  readonly eventId: string;
  /** 32 characters, upper case. */
  readonly eid: string;
  readonly rspServerAddress: string;
  readonly forwardingIndicator: boolean;
  /** ms since the epoch. */
  readonly created: number;
}

interface EventRow {
  eventId: string;
  eid: string;
  rspServerAddress: string;
  forwardingIndicator: number;
  created: number;
}

const rowToEvent = (r: EventRow): SmdsEvent => ({
  eventId: r.eventId,
  eid: r.eid,
  rspServerAddress: r.rspServerAddress,
  forwardingIndicator: r.forwardingIndicator !== 0,
  created: r.created,
});

export type RegisterOutcome = 'registered' | 'duplicate';

/** The SM-DS events table (SQLite; `':memory:'` for a throw-away store). */
export class SmdsEventStore {
  private readonly db: Database.Database;
  private readonly insertStmt: Database.Statement<[string, string, string, number, number]>;
  private readonly deleteStmt: Database.Statement<[string, string]>;
  private readonly byEidStmt: Database.Statement<[string], EventRow>;
  private readonly byIdStmt: Database.Statement<[string], EventRow>;

  constructor(readonly path: string) {
    this.db = new Database(path);
    if (path !== ':memory:') {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
    }
    this.db.exec(`CREATE TABLE IF NOT EXISTS events (
      eventId TEXT PRIMARY KEY NOT NULL,
      eid TEXT NOT NULL,
      rspServerAddress TEXT NOT NULL,
      forwardingIndicator INTEGER NOT NULL,
      created INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS events_eid ON events(eid);`);
    this.insertStmt = this.db.prepare(
      'INSERT OR IGNORE INTO events (eventId, eid, rspServerAddress, forwardingIndicator, created) VALUES (?, ?, ?, ?, ?)',
    );
    this.deleteStmt = this.db.prepare('DELETE FROM events WHERE eventId = ? AND eid = ?');
    this.byEidStmt = this.db.prepare('SELECT * FROM events WHERE eid = ? ORDER BY created, rowid');
    this.byIdStmt = this.db.prepare('SELECT * FROM events WHERE eventId = ?');
  }

  register(e: { eid: string; eventId: string; rspServerAddress: string; forwardingIndicator?: boolean }): RegisterOutcome {
    const r = this.insertStmt.run(e.eventId, normalizeEid(e.eid), e.rspServerAddress, e.forwardingIndicator ? 1 : 0, Date.now());
    return r.changes === 1 ? 'registered' : 'duplicate';
  }

  /** true when the event existed for that EID and was deleted. */
  delete(eid: string, eventId: string): boolean {
    return this.deleteStmt.run(eventId, normalizeEid(eid)).changes === 1;
  }

  eventsFor(eid: string): SmdsEvent[] {
    return this.byEidStmt.all(normalizeEid(eid)).map(rowToEvent);
  }

  get(eventId: string): SmdsEvent | undefined {
    const r = this.byIdStmt.get(eventId);
    return r ? rowToEvent(r) : undefined;
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** EIDs are 32 digits; the ES12 examples use 32 hex characters, so hex is accepted and upper-cased. */
const EID_RE = /^[0-9A-Fa-f]{32}$/;

function normalizeEid(eid: string): string {
  return eid.toUpperCase();
}

function checkEid(eid: string): string {
  if (!EID_RE.test(eid)) throw new SmdsFunctionError('1.3.1', '2.1', 'eid must be 32 digits');
  return normalizeEid(eid);
}

function checkNonEmpty(v: string, name: string, max = 255): string {
  if (v.length === 0 || v.length > max) throw new SmdsFunctionError('1.3.1', '2.1', `${name} must be 1..${max} characters`);
  return v;
}

// ------------------------------------------------------------------------------------------------ ES12 logic

/** Who calls ES12: the DER of the caller's TLS client certificate (CERT.DPtls), when mutual TLS is used. */
export interface Es12Caller {
  readonly tlsCertificate?: Uint8Array;
}

/** The host part of an RSP server address `host[:port]` / `[v6]:port`, lower case. */
export function hostOfRspAddress(address: string): string {
  return hostOfAddress(address).toLowerCase();
}

/** The dNSNames of a certificate's subjectAltName. */
function dnsNamesOf(certDer: Uint8Array): string[] {
  try {
    const names = parseCertificateCached(certDer, 'server').extensions.subjectAltName?.names ?? [];
    return names.flatMap((n) => (n.type === 'dNSName' ? [n.value] : []));
  } catch {
    return [];
  }
}

/** true when no certificate is known (no mutual TLS) or the address's host is one of its dNSNames. */
export function callerOwnsAddress(caller: Es12Caller | undefined, rspServerAddress: string): boolean {
  if (!caller?.tlsCertificate) return true;
  const host = hostOfRspAddress(rspServerAddress);
  return dnsNamesOf(caller.tlsCertificate).some((p) => hostNameMatches(p, host));
}

/** ES12.RegisterEvent. Throws {@link SmdsFunctionError}. */
export function registerEvent(store: SmdsEventStore, body: SmdsJsonObject, caller?: Es12Caller): SmdsJsonObject {
  const eid = checkEid(reqString(body, 'eid'));
  const rspServerAddress = checkNonEmpty(reqString(body, 'rspServerAddress'), 'rspServerAddress');
  const eventId = checkNonEmpty(reqString(body, 'eventId'), 'eventId');
  const fi = body['forwardingIndicator'];
  if (fi !== undefined && typeof fi !== 'boolean') throw new SmdsFunctionError('1.3.1', '2.1', 'forwardingIndicator must be a boolean');
  if (!callerOwnsAddress(caller, rspServerAddress)) {
    throw new SmdsFunctionError('8.8.1', '3.8', `rspServerAddress host ${hostOfRspAddress(rspServerAddress)} is not in the caller's TLS certificate`);
  }
  const outcome = store.register({ eid, eventId, rspServerAddress, forwardingIndicator: fi === true });
  if (outcome === 'duplicate') throw new SmdsFunctionError('8.9.5', '3.3', 'event already exists');
  return successResponse();
}

/** ES12.DeleteEvent. Throws {@link SmdsFunctionError}. */
export function deleteEvent(store: SmdsEventStore, body: SmdsJsonObject, caller?: Es12Caller): SmdsJsonObject {
  const eid = checkEid(reqString(body, 'eid'));
  const eventId = checkNonEmpty(reqString(body, 'eventId'), 'eventId');
  const ev = store.get(eventId);
  if (ev && ev.eid === eid && !callerOwnsAddress(caller, ev.rspServerAddress)) throw new SmdsFunctionError('8.9.5', '3.9', 'unknown event');
  if (!store.delete(eid, eventId)) throw new SmdsFunctionError('8.9.5', '3.9', 'unknown event');
  return successResponse();
}

// ------------------------------------------------------------------------------------------------ ES12 client

export const ES12_PATHS = {
  registerEvent: '/gsma/rsp2/es12/registerEvent',
  deleteEvent: '/gsma/rsp2/es12/deleteEvent',
} as const;

export type Es12ClientErrorKind = 'transport' | 'http-status' | 'json' | 'function-failed';

export class Es12ClientError extends Error {
  override readonly name = 'Es12ClientError';
  constructor(
    readonly kind: Es12ClientErrorKind,
    message: string,
    readonly details: { status?: number; subjectCode?: string; reasonCode?: string; code?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Es12ClientOptions {
  /** The SM-DS address (host[:port]). */
  readonly smdsAddress: string;
  /** CI certificates (DER) the SM-DS TLS certificate (CERT.DStls) must chain to. */
  readonly trustedCis: readonly Uint8Array[];
  /** The SM-DP+ TLS client identity (CERT.DPtls + key, PEM) for mutual TLS. */
  readonly clientTls?: { readonly certPem: string; readonly keyPem: string };
  /** Identifies the caller in the request header (default 'esimkit-smdp'). */
  readonly functionRequesterIdentifier?: string;
  readonly timeoutMs?: number;
  /** Override DNS (tests): connect to this IP address instead of resolving the host. */
  readonly connectAddress?: string;
}

/** SM-DP+ side of ES12 over HTTPS (mutual TLS when clientTls is given). */
export class Es12Client {
  private readonly agent: Agent;
  private calls = 0;

  constructor(private readonly o: Es12ClientOptions) {
    if (o.trustedCis.length === 0) throw new RangeError('Es12Client: at least one trusted CI is required');
    const cis = o.trustedCis.map((c) => c.slice());
    const ip = o.connectAddress;
    this.agent = new Agent({
      connect: {
        timeout: o.timeoutMs ?? 10_000,
        ca: cis.map((c) => toPem(c)),
        rejectUnauthorized: true,
        // TLS 1.2 (SGP.22 v2; OpenSSL 3 cannot do TLS 1.3 with brainpool keys), brainpool groups offered
        minVersion: 'TLSv1.2',
        maxVersion: 'TLSv1.2',
        ecdhCurve: 'X25519:prime256v1:secp384r1:brainpoolP256r1:brainpoolP384r1:brainpoolP512r1',
        ...(o.clientTls && { cert: o.clientTls.certPem, key: o.clientTls.keyPem }),
        checkServerIdentity: (host, cert) => {
          try {
            verifyServerCertificate({ trustedCis: cis, cert: new Uint8Array(cert.raw), role: 'DStls', hostName: host });
            return undefined;
          } catch (e) {
            return e as Error;
          }
        },
        ...(ip !== undefined && {
          lookup: (_h: string, opts: { all?: boolean }, cb: (e: Error | null, a?: unknown, f?: number) => void) => {
            const family = ip.includes(':') ? 6 : 4;
            if (opts.all) cb(null, [{ address: ip, family }]);
            else cb(null, ip, family);
          },
        }),
      },
      headersTimeout: o.timeoutMs ?? 10_000,
      bodyTimeout: o.timeoutMs ?? 10_000,
    });
  }

  registerEvent(e: { eid: string; eventId: string; rspServerAddress: string; forwardingIndicator?: boolean }): Promise<void> {
    return this.call(ES12_PATHS.registerEvent, {
      eid: e.eid,
      rspServerAddress: e.rspServerAddress,
      eventId: e.eventId,
      forwardingIndicator: e.forwardingIndicator ?? false,
    });
  }

  deleteEvent(e: { eid: string; eventId: string }): Promise<void> {
    return this.call(ES12_PATHS.deleteEvent, { eid: e.eid, eventId: e.eventId });
  }

  private async call(path: string, body: SmdsJsonObject): Promise<void> {
    const header = {
      functionRequesterIdentifier: this.o.functionRequesterIdentifier ?? 'esimkit-smdp',
      functionCallIdentifier: `es12-${++this.calls}`,
    };
    let res;
    try {
      res = await request(`https://${this.o.smdsAddress}${path}`, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json;charset=UTF-8', 'x-admin-protocol': 'gsma/rsp/v2.2.0' },
        body: JSON.stringify({ header, ...body }),
      });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw new Es12ClientError('transport', `ES12 ${path}: ${(e as Error).message}`, typeof code === 'string' ? { code } : {}, { cause: e });
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Es12ClientError('http-status', `ES12 ${path}: HTTP ${res.statusCode}`, { status: res.statusCode });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Es12ClientError('json', `ES12 ${path}: response is not JSON`, { status: 200 }, { cause: e });
    }
    const fes = isSmdsJsonObject(json) && isSmdsJsonObject(json['header']) ? json['header']['functionExecutionStatus'] : undefined;
    const status = isSmdsJsonObject(fes) ? fes['status'] : undefined;
    if (status === 'Executed-Success' || status === 'Executed-WithWarning') return;
    if (typeof status !== 'string') throw new Es12ClientError('json', `ES12 ${path}: no functionExecutionStatus`, { status: 200 });
    const scd = isSmdsJsonObject(fes) ? fes['statusCodeData'] : undefined;
    const subjectCode = isSmdsJsonObject(scd) && typeof scd['subjectCode'] === 'string' ? scd['subjectCode'] : undefined;
    const reasonCode = isSmdsJsonObject(scd) && typeof scd['reasonCode'] === 'string' ? scd['reasonCode'] : undefined;
    throw new Es12ClientError('function-failed', `ES12 ${path}: ${status} ${subjectCode ?? '?'}/${reasonCode ?? '?'}`, {
      status: 200,
      ...(subjectCode !== undefined && { subjectCode }),
      ...(reasonCode !== undefined && { reasonCode }),
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
