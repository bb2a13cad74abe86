/**
 * The reference SM-DP+ over HTTPS (fastify): ES9+ at /gsma/rsp2/es9plus/<function> with the headers and
 * JSON bodies of SGP22-NOTES §5 (Content-Type application/json, X-Admin-Protocol gsma/rsp/v2.x.y; HTTP 200
 * with header.functionExecutionStatus, 204 for handleNotification). Inventory and sessions in SQLite.
 *
 * Other interfaces (ES2+, admin) can be added with the `register` hook before the server listens.
 *
 * ES12 (SM-DP+ → SM-DS): `server.smds` keeps the event registrations of the orders (smds-registrar.ts) in the
 * same SQLite file and works them off in the background with the DPtls certificate as TLS client
 * certificate; after each ES9+ call that can end an order (authenticateClient, getBoundProfilePackage,
 * handleNotification, cancelSession) the events of ended orders are deleted.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import { ES9P_FUNCTIONS, Es9pService, failedBody, type Es9pFunction } from './es9p.js';
import { hostOfAddress, type SmdpIdentity } from './identity.js';
import { SmdpInventory } from './inventory.js';
import { SmdsRegistrar, type SmdsRegistrationOptions } from './smds-registrar.js';

export const ES9P_PREFIX = '/gsma/rsp2/es9plus/';
/** X-Admin-Protocol this server answers with. */
export const ADMIN_PROTOCOL = 'gsma/rsp/v2.2.0';
const ADMIN_PROTOCOL_RE = /^gsma\/rsp\/v2\.\d+\.\d+$/;
const JSON_CT_RE = /^application\/json\s*(;.*)?$/i;
const BODY_LIMIT = 1024 * 1024;
/** Expired sessions are purged at most this often (a table scan; session() ignores expired ones anyway). */
const PURGE_INTERVAL_MS = 1000;

export interface SmdpServerOptions {
  identity: SmdpIdentity;
  /** SQLite file; ':memory:' is fine for tests. */
  dbPath: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (default) = a random port. */
  port?: number;
  /** Wrong confirmation codes allowed per order (default 3). */
  confirmationCodeRetries?: number;
  sessionTtlMs?: number;
  /** ReplaceSessionKeys in the BPP (default true). */
  replaceSessionKeys?: boolean;
  logger?: boolean;
  now?: () => Date;
  /** Add further routes (ES2+, admin) before listening. */
  register?: (app: FastifyInstance, ctx: SmdpRegisterContext) => void | Promise<void>;
  /** Notification verification failures etc. (default: ignored). */
  onWarning?: (message: string) => void;
  /**
   * ES12 event registration on SM-DSs (ES2+ confirmOrder with smdsAddress): trusted CIs for the SM-DS TLS
   * (default identity.ciCerts), client TLS (default identity.tls), a connect-address override, retry bounds.
   */
  smds?: SmdsRegistrationOptions;
}

/** What `register` hooks get. */
export interface SmdpRegisterContext {
  inventory: SmdpInventory;
  es9p: Es9pService;
  /** ES12 event registrations on SM-DSs. */
  smds: SmdsRegistrar;
}

/** Send a JSON ES9+/ES2+ answer with the GSMA headers. */
export function sendGsmaJson(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.code(200).header('Content-Type', 'application/json;charset=UTF-8').header('X-Admin-Protocol', ADMIN_PROTOCOL).send(JSON.stringify(body));
}

/** Check Content-Type and X-Admin-Protocol; returns a Failed body or undefined. */
export function checkGsmaHeaders(req: FastifyRequest): ReturnType<typeof failedBody> | undefined {
  const ct = req.headers['content-type'];
  if (typeof ct !== 'string' || !JSON_CT_RE.test(ct)) return failedBody('1.2.1', '2.1', 'Content-Type must be application/json');
  const ap = req.headers['x-admin-protocol'];
  if (typeof ap !== 'string' || !ADMIN_PROTOCOL_RE.test(ap)) return failedBody('1.2.2', '2.1', 'X-Admin-Protocol must be gsma/rsp/v2.x.y');
  return undefined;
}

/** Parse the raw body as JSON; returns a Failed body on error. */
export function parseGsmaBody(raw: unknown): { ok: true; value: unknown } | { ok: false; body: ReturnType<typeof failedBody> } {
  if (typeof raw !== 'string' || raw.length === 0) return { ok: false, body: failedBody('1.3.1', '2.2', 'empty request body') };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false, body: failedBody('1.3.1', '2.1', 'request body is not JSON') };
  }
}

export class SmdpServer {
  private constructor(
    readonly app: FastifyInstance,
    readonly inventory: SmdpInventory,
    readonly es9p: Es9pService,
    readonly port: number,
    readonly url: string,
    /** ES12 event registrations on SM-DSs (state per order: `smds.store.forOrder(matchingId)`). */
    readonly smds: SmdsRegistrar,
  ) {}

  /** The SM-DP+ address it answers for (serverSigned1.serverAddress, activation codes). */
  get address(): string {
    return this.es9p.address;
  }

  /** `LPA:1$<address>$<matchingId>` (+ `$$1` when a confirmation code is required). */
  activationCode(matchingId: string, ccRequired = false): string {
    return `LPA:1$${this.address}$${matchingId}${ccRequired ? '$$1' : ''}`;
  }

  static async start(o: SmdpServerOptions): Promise<SmdpServer> {
    const inventory = new SmdpInventory(o.dbPath, o.now ? { now: () => o.now!().getTime() } : {});
    let app: FastifyInstance | undefined;
    let smds: SmdsRegistrar | undefined;
    try {
      const tls = o.identity.tls;
      smds = new SmdsRegistrar(inventory.db, {
        ...o.smds,
        trustedCis: o.smds?.trustedCis ?? o.identity.ciCerts,
        clientTls: o.smds?.clientTls ?? { certPem: tls.certPem + (tls.chainPem ?? ''), keyPem: tls.keyPem },
        ...(o.onWarning !== undefined && { onWarning: o.onWarning }),
      });
      const registrar = smds;
      app = Fastify({
        https: { cert: o.identity.tls.certPem + (o.identity.tls.chainPem ?? ''), key: o.identity.tls.keyPem },
        logger: o.logger ?? false,
        bodyLimit: BODY_LIMIT,
      });
      const es9p = new Es9pService({
        identity: o.identity,
        inventory,
        ...(o.confirmationCodeRetries !== undefined && { confirmationCodeRetries: o.confirmationCodeRetries }),
        ...(o.sessionTtlMs !== undefined && { sessionTtlMs: o.sessionTtlMs }),
        ...(o.replaceSessionKeys !== undefined && { replaceSessionKeys: o.replaceSessionKeys }),
        ...(o.now !== undefined && { now: o.now }),
        ...(o.onWarning !== undefined && { onWarning: o.onWarning }),
      });
      // An answer goes out only once what it reports is on stable storage (inventory.durable(): one shared
      // fdatasync of the WAL per group of answers). ES9+ does this in its route, except for
      // initiateAuthentication/authenticateClient (a session lost in a power cut only makes the LPA retry).
      app.addHook('onSend', (req, _reply, payload, done) => {
        if (req.url.startsWith(ES9P_PREFIX)) return done(null, payload);
        inventory.durable().then(
          () => done(null, payload),
          (e: unknown) => done(e as Error),
        );
      });
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));
      const fns = new Set<string>(ES9P_FUNCTIONS);
      let lastPurge = 0;
      app.post<{ Params: { fn: string } }>(`${ES9P_PREFIX}:fn`, async (req, reply) => {
        const fn = req.params.fn;
        if (!fns.has(fn)) return reply.code(404).send();
        const bad = checkGsmaHeaders(req);
        if (bad) return sendGsmaJson(reply, bad);
        const parsed = parseGsmaBody(req.body);
        if (!parsed.ok) return sendGsmaJson(reply, parsed.body);
        inventory.joinTurn(); // this turn's ES9+ writes: one commit at its end (inventory.ts)
        if (fn === 'initiateAuthentication' && Date.now() - lastPurge >= PURGE_INTERVAL_MS) {
          lastPurge = Date.now();
          inventory.purgeExpiredSessions();
        }
        const r = await es9p.handle(fn as Es9pFunction, parsed.value);
        if (fn !== 'initiateAuthentication' && fn !== 'authenticateClient') await inventory.durable();
        if (fn !== 'initiateAuthentication') registrar.reconcile(); // an order may have ended: delete its SM-DS events
        if (r.httpStatus === 204) return reply.code(204).header('X-Admin-Protocol', ADMIN_PROTOCOL).send();
        return sendGsmaJson(reply, r.body);
      });
      if (o.register) await o.register(app, { inventory, es9p, smds });
      const host = o.host ?? '127.0.0.1';
      await app.listen({ host, port: o.port ?? 0 });
      const port = (app.server.address() as AddressInfo).port;
      if (es9p.address.endsWith(':0')) es9p.address = `${es9p.address.slice(0, -2)}:${port}`;
      const urlHost = ['127.0.0.1', '::1', 'localhost', '0.0.0.0', '::'].includes(host) ? 'localhost' : hostOfAddress(host);
      smds.start(); // the address is known now; resumes registrations a previous run left
      return new SmdpServer(app, inventory, es9p, port, `https://${urlHost}:${port}`, smds);
    } catch (e) {
      await app?.close().catch(() => undefined);
      await smds?.close().catch(() => undefined);
      inventory.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    try {
      await this.app.close();
    } finally {
      await this.smds.close().catch(() => undefined);
      this.inventory.close();
    }
  }
}
