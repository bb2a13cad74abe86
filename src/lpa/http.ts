/**
 * The LPA's HTTPS JSON client for ES9+ (SM-DP+) and ES11 (SM-DS), on undici@7 (SGP22-NOTES §4.4, §5).
 *
 * Trust: the server's TLS certificate must chain to one of the configured CI certificates (never to the
 * system roots), the host name must match a dNSName of its subjectAltName (Node's checkServerIdentity),
 * and in addition the leaf is checked against the SGP.22 rules for CERT.DPtls / CERT.DStls (policy OID,
 * extendedKeyUsage serverAuth, issued directly by a trusted CI; src/crypto/certs.ts). TLS 1.2 (SGP.22 v2
 * mandates it; OpenSSL 3.0 cannot sign TLS 1.3 with brainpool keys) with the brainpool groups offered.
 *
 * Every failure is one {@link RspHttpError} whose `kind` names the class:
 * - `dns`: the name does not resolve (or the address is not a host[:port]);
 * - `connect`: TCP connection refused/reset/unreachable;
 * - `tls`: handshake failure (`tls: 'handshake'`) or certificate not trusted / wrong host (`tls: 'certificate'`);
 * - `timeout`: connect + TLS handshake not done within `connectMs` (`phase: 'connect'`) or no complete
 *   response within `requestMs` (`phase: 'response'`);
 * - `http-status`: HTTP status other than 200/204;
 * - `json`: body not JSON, not an object, no `header.functionExecutionStatus.status` or an unknown status;
 * - `function-failed`: functionExecutionStatus `Failed` / `Expired`, with subjectCode / reasonCode;
 * - `aborted`: the caller's AbortSignal fired.
 * Request bodies (matching IDs, signed data) are never put into error messages.
 */
import { checkServerIdentity as nodeCheckServerIdentity, type PeerCertificate } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { isIP } from 'node:net';
import { verifyServerCertificate, type ServerRole } from '../crypto/certs.js';
import { toPem } from '../crypto/x509.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type RspHttpErrorKind = 'dns' | 'connect' | 'tls' | 'timeout' | 'http-status' | 'json' | 'function-failed' | 'aborted';

export interface RspHttpErrorDetails {
  /** HTTP status (http-status; also set for json/function-failed). */
  readonly status?: number;
  /** functionExecutionStatus.status (function-failed): 'Failed' | 'Expired'. */
  readonly executionStatus?: string;
  readonly subjectCode?: string;
  readonly reasonCode?: string;
  /** Server-provided message of statusCodeData (function-failed). */
  readonly serverMessage?: string;
  /** Node / undici error code (ENOTFOUND, ECONNREFUSED, UND_ERR_CONNECT_TIMEOUT, ...). */
  readonly code?: string;
  /** tls: certificate problem (untrusted, expired, wrong host/policy) or handshake failure (alert, no common cipher). */
  readonly tls?: 'certificate' | 'handshake';
  /** timeout: during connect + TLS handshake, or while waiting for the response. */
  readonly phase?: 'connect' | 'response';
  /** The function called: "<path>" at "<address>". */
  readonly address?: string;
  readonly path?: string;
  readonly cause?: unknown;
}

export class RspHttpError extends Error {
  override readonly name = 'RspHttpError';
  readonly status?: number;
  readonly executionStatus?: string;
  readonly subjectCode?: string;
  readonly reasonCode?: string;
  readonly serverMessage?: string;
  readonly code?: string;
  readonly tls?: 'certificate' | 'handshake';
  readonly phase?: 'connect' | 'response';
  readonly address?: string;
  readonly path?: string;

  constructor(
    readonly kind: RspHttpErrorKind,
    message: string,
    d: RspHttpErrorDetails = {},
  ) {
    super(message, d.cause !== undefined ? { cause: d.cause } : undefined);
    if (d.status !== undefined) this.status = d.status;
    if (d.executionStatus !== undefined) this.executionStatus = d.executionStatus;
    if (d.subjectCode !== undefined) this.subjectCode = d.subjectCode;
    if (d.reasonCode !== undefined) this.reasonCode = d.reasonCode;
    if (d.serverMessage !== undefined) this.serverMessage = d.serverMessage;
    if (d.code !== undefined) this.code = d.code;
    if (d.tls !== undefined) this.tls = d.tls;
    if (d.phase !== undefined) this.phase = d.phase;
    if (d.address !== undefined) this.address = d.address;
    if (d.path !== undefined) this.path = d.path;
  }
}

export interface RspHttpTimeouts {
  /** TCP connect + TLS handshake (default 10000 ms). */
  readonly connectMs?: number;
  /** Whole request, from sending to the last byte of the response (default 30000 ms). */
  readonly requestMs?: number;
}

export interface RspHttpClientOptions {
  /** DER certificates of the CIs the TLS server certificate must chain to. At least one unless allowHttp. */
  readonly trustedCis: readonly Uint8Array[];
  readonly timeouts?: RspHttpTimeouts;
  /** Test flag only: talk plain http:// (no TLS at all). */
  readonly allowHttp?: boolean;
  /** Override name resolution (tests): host → IP address. Throwing or returning undefined = not found. */
  readonly resolve?: (host: string) => string | undefined | Promise<string | undefined>;
  /** SGP.22 roles the TLS certificate may have (default DPtls and DStls). */
  readonly tlsRoles?: readonly Extract<ServerRole, 'DPtls' | 'DStls'>[];
  /** X-Admin-Protocol value (default gsma/rsp/v2.2.0). */
  readonly adminProtocol?: string;
  /** Largest accepted response body (default 8 MiB). */
  readonly maxResponseBytes?: number;
}

export interface RspPostOptions {
  readonly signal?: AbortSignal;
  /** A shorter deadline for this request than the client's `timeouts.requestMs` (best-effort cleanup calls). */
  readonly timeoutMs?: number;
}

export const ADMIN_PROTOCOL = 'gsma/rsp/v2.2.0';
export const USER_AGENT = 'gsma-rsp-lpad';
const DEFAULT_CONNECT_MS = 10_000;
const DEFAULT_REQUEST_MS = 30_000;
const DEFAULT_MAX_RESPONSE = 8 * 1024 * 1024;
/** Groups offered in TLS 1.2: the NIST ones plus brainpool (SGP.22 curves). */
const ECDH_CURVES = 'X25519:prime256v1:secp384r1:brainpoolP256r1:brainpoolP384r1:brainpoolP512r1';

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_FAIL', 'EAI_NONAME', 'ERSPADDRESS']);
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);
const CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_RSP_TLS_CERTIFICATE',
]);

/** host[:port] with a DNS name, IPv4, or [IPv6]; port 1..65535. */
export function parseAddress(address: string): { host: string; port?: number } | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(address);
  if (!m) return undefined;
  const host = m[1]!;
  if (host.startsWith('[')) {
    if (isIP(host.slice(1, -1)) !== 6) return undefined;
  } else {
    const labels = host.replace(/\.$/, '').split('.');
    if (host.length > 253 || labels.some((l) => l.length === 0 || l.length > 63 || l.startsWith('-') || l.endsWith('-'))) return undefined;
  }
  if (m[2] === undefined) return { host };
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

function errCode(e: unknown): string | undefined {
  for (let x: unknown = e, i = 0; x instanceof Error && i < 5; x = x.cause, i++) {
    const c = (x as { code?: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

/** Classify a failure of undici.request (before a response arrived). */
function classify(e: unknown, address: string, path: string): RspHttpError {
  const code = errCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  const where = { address, path, cause: e, ...(code !== undefined && { code }) };
  if (code !== undefined && DNS_CODES.has(code)) return new RspHttpError('dns', `cannot resolve ${address}: ${msg}`, where);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new RspHttpError('timeout', `${address}: connect/TLS handshake timed out`, { ...where, phase: 'connect' });
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new RspHttpError('timeout', `${address}${path}: no response in time`, { ...where, phase: 'response' });
  }
  if (code !== undefined && (CERT_CODES.has(code) || code.startsWith('ERR_TLS_CERT'))) {
    return new RspHttpError('tls', `${address}: TLS certificate not accepted: ${msg}`, { ...where, tls: 'certificate' });
  }
  if (code !== undefined && (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO')) {
    return new RspHttpError('tls', `${address}: TLS handshake failed: ${msg}`, { ...where, tls: 'handshake' });
  }
  if (code !== undefined && CONNECT_CODES.has(code)) return new RspHttpError('connect', `cannot connect to ${address}: ${msg}`, where);
  if (/secure TLS connection|before secure/i.test(msg)) {
    return new RspHttpError('tls', `${address}: TLS handshake failed: ${msg}`, { ...where, tls: 'handshake' });
  }
  return new RspHttpError('connect', `${address}${path}: request failed: ${msg}`, where);
}

/**
 * An HTTPS client for the RSP servers. One undici Agent (keep-alive pool) per client; `close()` releases it.
 */
export class RspHttpClient {
  private readonly agent: Agent;
  private readonly connectMs: number;
  private readonly requestMs: number;
  private readonly allowHttp: boolean;
  private readonly adminProtocol: string;
  private readonly maxResponseBytes: number;
  /** The RSP request headers (SGP22-NOTES §5), the same for every request of this client. */
  private readonly headers: Record<string, string>;
  /** Addresses already checked by parseAddress (a device talks to one or two servers, four requests each). */
  private readonly validAddresses = new Set<string>();

  constructor(private readonly opts: RspHttpClientOptions) {
    this.connectMs = opts.timeouts?.connectMs ?? DEFAULT_CONNECT_MS;
    this.requestMs = opts.timeouts?.requestMs ?? DEFAULT_REQUEST_MS;
    for (const [n, v] of [['connectMs', this.connectMs], ['requestMs', this.requestMs]] as const) {
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${n} ${v} must be a positive number`);
    }
    this.allowHttp = opts.allowHttp === true;
    this.adminProtocol = opts.adminProtocol ?? ADMIN_PROTOCOL;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
    this.headers = { 'content-type': 'application/json;charset=UTF-8', 'x-admin-protocol': this.adminProtocol, 'user-agent': USER_AGENT, accept: 'application/json' };
    if (!this.allowHttp && opts.trustedCis.length === 0) throw new RangeError('RspHttpClient: at least one trusted CI certificate is required');
    const cis = opts.trustedCis.map((c) => c.slice());
    const roles = opts.tlsRoles ?? ['DPtls', 'DStls'];
    if (roles.length === 0) throw new RangeError('RspHttpClient: tlsRoles must not be empty');

    const checkServerIdentity = (host: string, cert: PeerCertificate): Error | undefined => {
      const e = nodeCheckServerIdentity(host, cert);
      if (e) return e;
      let last: unknown;
      for (const role of roles) {
        try {
          verifyServerCertificate({ trustedCis: cis, cert: new Uint8Array(cert.raw), role, hostName: host });
          return undefined;
        } catch (x) {
          last = x;
        }
      }
      const err = new Error(`TLS certificate is not a valid SGP.22 ${roles.join('/')} certificate: ${(last as Error).message}`, { cause: last });
      (err as Error & { code: string }).code = 'ERR_RSP_TLS_CERTIFICATE';
      return err;
    };

    const resolve = opts.resolve;
    const lookup =
      resolve &&
      ((hostname: string, o: { all?: boolean }, cb: (err: NodeJS.ErrnoException | null, address?: unknown, family?: number) => void): void => {
        Promise.resolve()
          .then(() => resolve(hostname))
          .then(
            (ip) => {
              const family = ip === undefined ? 0 : isIP(ip);
              if (ip === undefined || family === 0) {
                const e: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
                e.code = 'ENOTFOUND';
                cb(e);
              } else if (o.all) cb(null, [{ address: ip, family }]);
              else cb(null, ip, family);
            },
            (x: unknown) => {
              const e: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`, { cause: x });
              e.code = 'ENOTFOUND';
              cb(e);
            },
          );
      });

    this.agent = new Agent({
      connect: {
        timeout: this.connectMs,
        ca: cis.map((c) => toPem(c)),
        rejectUnauthorized: true,
        checkServerIdentity,
        minVersion: 'TLSv1.2',
        maxVersion: 'TLSv1.2',
        ecdhCurve: ECDH_CURVES,
        ...(lookup && { lookup }),
      },
      // the request deadline is enforced below; these only stop a stuck socket
      headersTimeout: this.requestMs,
      bodyTimeout: this.requestMs,
      keepAliveTimeout: 4_000,
    });
  }

  /**
   * POST `body` as JSON to https://<address><path>. Returns the parsed JSON object for 200 (after checking
   * functionExecutionStatus), undefined for 204. Throws {@link RspHttpError}.
   */
  async post(address: string, path: string, body: JsonObject, options: RspPostOptions = {}): Promise<JsonObject | undefined> {
    if (!this.validAddresses.has(address)) {
      if (!parseAddress(address)) throw new RspHttpError('dns', `not a valid server address (host[:port])`, { address, path, code: 'ERSPADDRESS' });
      if (this.validAddresses.size >= 64) this.validAddresses.clear();
      this.validAddresses.add(address);
    }
    if (!path.startsWith('/')) throw new RangeError(`path must start with /: ${path}`);
    const origin = `${this.allowHttp ? 'http' : 'https'}://${address}`;

    const requestMs = options.timeoutMs !== undefined && options.timeoutMs < this.requestMs ? options.timeoutMs : this.requestMs;
    const outer = options.signal;
    const payload = JSON.stringify(body);
    const max = this.maxResponseBytes;
    // undici's dispatch with a handler of our own: no response stream, no AbortController and no promise per
    // chunk (a download makes four requests per device; this is the client's whole per-request cost)
    return new Promise<JsonObject | undefined>((resolve, reject) => {
      let abortRequest: ((reason: Error) => void) | undefined;
      let abortReason: Error | undefined;
      let timedOut = false;
      let settled = false;
      let status = 0;
      let size = 0;
      const chunks: Buffer[] = [];
      const abort = (reason: Error): void => {
        if (abortReason !== undefined) return;
        abortReason = reason;
        if (abortRequest) abortRequest(reason);
        else fail(reason); // still queued (connecting): answer now; onConnect aborts the request later
      };
      const timer = setTimeout(() => {
        timedOut = true;
        abort(new Error('request deadline'));
      }, requestMs);
      const onOuter = (): void => abort(outer?.reason instanceof Error ? outer.reason : new Error('cancelled'));
      const settle = (err: RspHttpError | undefined, value?: JsonObject): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outer?.removeEventListener('abort', onOuter);
        if (err) reject(err);
        else resolve(value);
      };
      const aborted = (e: unknown): RspHttpError | undefined => {
        if (timedOut) return new RspHttpError('timeout', `${address}${path}: no complete response within ${requestMs} ms`, { address, path, phase: 'response', cause: e });
        if (outer?.aborted) return new RspHttpError('aborted', `${address}${path}: cancelled`, { address, path, cause: outer.reason ?? e });
        return undefined;
      };
      const fail = (e: unknown): void => {
        // before the status line: connection/TLS/DNS classes; after it: the body was cut short
        settle(aborted(e) ?? (status === 0 ? classify(e, address, path) : classifyBody(e, address, path, status)));
      };
      if (outer?.aborted) onOuter();
      else outer?.addEventListener('abort', onOuter, { once: true });
      const handler: Dispatcher.DispatchHandler = {
        onConnect: (abortFn: (err?: Error) => void): void => {
          if (abortReason !== undefined) abortFn(abortReason);
          else abortRequest = abortFn;
        },
        onHeaders: (statusCode: number): boolean => {
          status = statusCode;
          return true;
        },
        onData: (chunk: Buffer): boolean => {
          size += chunk.length;
          if (size > max) {
            abort(new RspHttpError('json', `response larger than ${max} bytes`));
            return false;
          }
          chunks.push(chunk);
          return true;
        },
        onComplete: (): void => {
          if (settled) return;
          try {
            if (status === 204) return settle(undefined, undefined);
            if (status !== 200) throw new RspHttpError('http-status', `${address}${path}: HTTP ${status}`, { address, path, status });
            const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
            settle(undefined, checkExecutionStatus(text, address, path, status));
          } catch (e) {
            settle(classifyBody(e, address, path, status));
          }
        },
        onError: fail,
      };
      try {
        this.agent.dispatch(
          {
            origin,
            path,
            method: 'POST',
            headers: this.headers,
            body: payload,
          },
          handler,
        );
      } catch (e) {
        fail(e);
      }
    });
  }

  /** Release the connection pool. */
  async close(): Promise<void> {
    await this.agent.close();
  }
}

function classifyBody(e: unknown, address: string, path: string, status: number): RspHttpError {
  if (e instanceof RspHttpError) return e;
  const c = classify(e, address, path);
  return c.kind === 'timeout' ? c : new RspHttpError('connect', `${address}${path}: connection lost while reading the response: ${(e as Error).message}`, {
    address,
    path,
    status,
    cause: e,
  });
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse a 200 body and check header.functionExecutionStatus (SGP22-NOTES §5). */
export function checkExecutionStatus(text: string, address: string, path: string, status = 200): JsonObject {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RspHttpError('json', `${address}${path}: response is not JSON`, { address, path, status, cause: e });
  }
  if (!isObject(json)) throw new RspHttpError('json', `${address}${path}: response is not a JSON object`, { address, path, status });
  const header = json['header'];
  const fes = isObject(header) ? header['functionExecutionStatus'] : undefined;
  const st = isObject(fes) ? fes['status'] : undefined;
  if (typeof st !== 'string') {
    throw new RspHttpError('json', `${address}${path}: response without header.functionExecutionStatus.status`, { address, path, status });
  }
  if (st === 'Executed-Success' || st === 'Executed-WithWarning') return json;
  if (st === 'Failed' || st === 'Expired') {
    const scd = isObject(fes) ? fes['statusCodeData'] : undefined;
    const s = (k: string): string | undefined => {
      const v = isObject(scd) ? scd[k] : undefined;
      return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
    };
    const subjectCode = s('subjectCode');
    const reasonCode = s('reasonCode');
    const serverMessage = s('message');
    throw new RspHttpError(
      'function-failed',
      `${address}${path}: ${st}${subjectCode !== undefined ? ` ${subjectCode}/${reasonCode ?? '?'}` : ''}${serverMessage ? ` (${serverMessage})` : ''}`,
      {
        address,
        path,
        status,
        executionStatus: st,
        ...(subjectCode !== undefined && { subjectCode }),
        ...(reasonCode !== undefined && { reasonCode }),
        ...(serverMessage !== undefined && { serverMessage }),
      },
    );
  }
  throw new RspHttpError('json', `${address}${path}: unknown functionExecutionStatus.status ${JSON.stringify(st)}`, { address, path, status });
}
