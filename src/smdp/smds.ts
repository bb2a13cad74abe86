/**
 * The reference SM-DS: ES11 (LPA → SM-DS) and ES12 (SM-DP+ → SM-DS) over HTTPS (fastify), events in SQLite
 * (SGP22-NOTES §5.3, §5.4).
 *
 * Paths: ES11 is served under both `/gsma/rsp2/es9plus/` (lpac, euicc-go) and `/gsma/rsp2/es11/`, and
 * initiateAuthentication accepts the address as `smdpAddress` or `smdsAddress`. ES12 is
 * `/gsma/rsp2/es12/registerEvent|deleteEvent` and requires mutual TLS by default: the caller's TLS client
 * certificate must chain to a trusted CI and be a valid SGP.22 CERT.DPtls (else HTTP 403), and the host of an
 * event's rspServerAddress must be one of its dNSNames (else 8.8.1/3.8, see es12.ts). With
 * `es12ClientAuth: 'none'` neither check is made.
 *
 * Responses: HTTP 200 JSON with `header.functionExecutionStatus` (failures are `Failed` + subject/reason +
 * message); header `X-Admin-Protocol`. Requests: Content-Type must be JSON (else 1.2.1/2.1), an
 * X-Admin-Protocol present must be `gsma/rsp/vX.Y.Z` (else 1.2.2/2.1), the body a JSON object (else
 * 1.3.1/2.1). Request bodies are never logged.
 *
 * Identity: CERT.DSauth + SK.DSauth (signs serverSigned1) and CERT.DStls, issued by the CI(s) given, or by
 * a new test CI (src/crypto/pki.ts).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { verifyServerCertificate } from '../crypto/certs.js';
import type { Curve } from '../crypto/ecdsa.js';
import { createCi, createDsAuth, createDsTls, type IssuedCertificate } from '../crypto/pki.js';
import { toPem } from '../crypto/x509.js';
import { Es11Service } from './es11.js';
import {
  deleteEvent,
  failedResponse,
  isSmdsJsonObject,
  registerEvent,
  SmdsEventStore,
  SmdsFunctionError,
  type Es12Caller,
  type SmdsJsonObject,
} from './es12.js';

export interface SmdsIdentity {
  /** The SM-DS address (FQDN[:port]); a trailing `:0` is replaced by the port the server listens on. */
  readonly address: string;
  /** DER; CIs trusted for eUICC chains (and, for ES12 mutual TLS, for the SM-DP+ client certificates). */
  readonly ciCerts: readonly Uint8Array[];
  readonly dsAuth: { readonly certDer: Uint8Array; readonly privateKey: KeyObject };
  readonly tls: { readonly certPem: string; readonly keyPem: string; readonly chainPem?: string };
}

/** A test identity: DSauth and DStls (for `tlsHost`, default 'localhost') from `ci` or a new test CI. */
export function createSmdsIdentity(opts: { address: string; ci?: IssuedCertificate; curve?: Curve; tlsHost?: string }): SmdsIdentity & {
  ci: IssuedCertificate;
} {
  const ci = opts.ci ?? createCi({ curve: opts.curve ?? 'P-256' });
  const dsAuth = createDsAuth(ci);
  const tlsHost = opts.tlsHost ?? 'localhost';
  const dsTls = createDsTls(ci, tlsHost);
  return {
    address: opts.address,
    ciCerts: [ci.certDer],
    dsAuth: { certDer: dsAuth.certDer, privateKey: dsAuth.privateKey },
    tls: { certPem: dsTls.certPem, keyPem: dsTls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string },
    ci,
  };
}

export interface SmdsServerOptions {
  readonly identity: SmdsIdentity;
  /** SQLite file of the events (':memory:' for tests). */
  readonly dbPath: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (a random free port). */
  readonly port?: number;
  /** ES11 session lifetime (default 5 minutes). */
  readonly sessionTtlMs?: number;
  /** ES12 client authentication: 'require' (default) a CERT.DPtls client certificate, or 'none'. */
  readonly es12ClientAuth?: 'require' | 'none';
  /** fastify request logging (never bodies). Default false. */
  readonly logger?: boolean;
}

export const ES11_PATH_PREFIXES = ['/gsma/rsp2/es9plus', '/gsma/rsp2/es11'] as const;
const ADMIN_PROTOCOL = 'gsma/rsp/v2.2.0';
/** ECDHE groups: the usual NIST ones plus brainpool (SGP.22 curves; in TLS 1.2 they also gate ECDSA certificates). */
export const TLS_GROUPS = 'X25519:prime256v1:secp384r1:brainpoolP256r1:brainpoolP384r1:brainpoolP512r1';

function isBrainpoolKey(keyPem: string): boolean {
  const c = createPrivateKey(keyPem).asymmetricKeyDetails?.namedCurve ?? '';
  return c.toLowerCase().startsWith('brainpool');
}

type Handler = (body: SmdsJsonObject, req: FastifyRequest) => SmdsJsonObject;

export class SmdsServer {
  private constructor(
    private readonly app: FastifyInstance,
    /** The events table. */
    readonly events: SmdsEventStore,
    readonly es11: Es11Service,
    /** https://<host>:<port> (localhost for a loopback host). */
    readonly url: string,
    readonly port: number,
    /** The SM-DS address it answers for (serverSigned1.serverAddress). */
    readonly address: string,
  ) {}

  static async start(o: SmdsServerOptions): Promise<SmdsServer> {
    const id = o.identity;
    const host = o.host ?? '127.0.0.1';
    const clientAuth = o.es12ClientAuth ?? 'require';
    const cis = id.ciCerts.map((c) => c.slice());
    const events = new SmdsEventStore(o.dbPath);
    let app: FastifyInstance | undefined;
    try {
      app = Fastify({
        logger: o.logger ?? false,
        bodyLimit: 1024 * 1024,
        https: {
          cert: id.tls.chainPem ? `${id.tls.certPem.trim()}\n${id.tls.chainPem.trim()}\n` : id.tls.certPem,
          key: id.tls.keyPem,
          minVersion: 'TLSv1.2',
          // OpenSSL 3 cannot sign TLS 1.3 handshakes with brainpool keys: such a server speaks TLS 1.2
          ...(isBrainpoolKey(id.tls.keyPem) && { maxVersion: 'TLSv1.2' as const }),
          ecdhCurve: TLS_GROUPS,
          // ES12 callers present a CERT.DPtls; LPAs present none (checked per route, not by the handshake)
          requestCert: clientAuth === 'require',
          rejectUnauthorized: false,
          ...(clientAuth === 'require' && { ca: cis.map((c) => toPem(c)) }),
        },
      });
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

      // the address is only known once listening (port 0): es11 is created lazily below
      let es11: Es11Service | undefined;
      const route = (path: string, handler: Handler): void => {
        app!.post(path, async (req, reply) => respond(req, reply, handler));
      };
      for (const prefix of ES11_PATH_PREFIXES) {
        route(`${prefix}/initiateAuthentication`, (b) => es11!.initiateAuthentication(b));
        route(`${prefix}/authenticateClient`, (b) => es11!.authenticateClient(b));
      }
      const es12Guard = (req: FastifyRequest): Es12Caller | undefined => {
        if (clientAuth === 'none') return undefined;
        const sock = req.raw.socket as TLSSocket;
        const peer = typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : undefined;
        if (!sock.authorized || !peer || !peer.raw) throw new ForbiddenError('ES12 requires a TLS client certificate issued by a trusted CI');
        const tlsCertificate = new Uint8Array(peer.raw);
        try {
          verifyServerCertificate({ trustedCis: cis, cert: tlsCertificate, role: 'DPtls' });
        } catch (e) {
          throw new ForbiddenError(`ES12 client certificate refused: ${(e as Error).message}`);
        }
        return { tlsCertificate };
      };
      // the caller's CERT.DPtls binds the events it may register/delete to its own host names (es12.ts)
      route('/gsma/rsp2/es12/registerEvent', (b, req) => registerEvent(events, b, es12Guard(req)));
      route('/gsma/rsp2/es12/deleteEvent', (b, req) => deleteEvent(events, b, es12Guard(req)));

      await app.listen({ host, port: o.port ?? 0 });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 0);
      const address = id.address.endsWith(':0') ? `${id.address.slice(0, -2)}:${port}` : id.address;
      es11 = new Es11Service({
        address,
        ciCerts: cis,
        dsAuth: [id.dsAuth],
        store: events,
        ...(o.sessionTtlMs !== undefined && { sessionTtlMs: o.sessionTtlMs }),
      });
      const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
      const urlHost = loopback ? 'localhost' : host.includes(':') ? `[${host}]` : host;
      return new SmdsServer(app, events, es11, `https://${urlHost}:${port}`, port, address);
    } catch (e) {
      await app?.close().catch(() => undefined);
      events.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    try {
      await this.app.close();
    } finally {
      this.events.close();
    }
  }
}

class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
}

function respond(req: FastifyRequest, reply: FastifyReply, handler: Handler): SmdsJsonObject {
  reply.header('x-admin-protocol', ADMIN_PROTOCOL);
  reply.header('content-type', 'application/json;charset=UTF-8');
  try {
    const ct = req.headers['content-type'] ?? '';
    if (!/^application\/json\s*(;.*)?$/i.test(ct)) throw new SmdsFunctionError('1.2.1', '2.1', 'Content-Type must be application/json');
    const ap = req.headers['x-admin-protocol'];
    if (ap !== undefined && (typeof ap !== 'string' || !/^gsma\/rsp\/v\d+\.\d+\.\d+$/.test(ap))) {
      throw new SmdsFunctionError('1.2.2', '2.1', 'X-Admin-Protocol not supported');
    }
    let body: unknown;
    try {
      body = JSON.parse(typeof req.body === 'string' ? req.body : '');
    } catch {
      throw new SmdsFunctionError('1.3.1', '2.1', 'body is not JSON');
    }
    if (!isSmdsJsonObject(body)) throw new SmdsFunctionError('1.3.1', '2.1', 'body is not a JSON object');
    return handler(body, req);
  } catch (e) {
    if (e instanceof SmdsFunctionError) {
      return failedResponse({ subjectCode: e.subjectCode, reasonCode: e.reasonCode, message: e.detail });
    }
    if (e instanceof ForbiddenError) {
      reply.code(403);
      return failedResponse({ subjectCode: '1.2', reasonCode: '1.2', message: e.message });
    }
    req.log.error({ err: { name: (e as Error).name, message: (e as Error).message } }, 'SM-DS internal error');
    reply.code(500);
    return failedResponse({ subjectCode: '8.9', reasonCode: '4.2', message: 'internal error' });
  }
}
