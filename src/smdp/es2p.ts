/**
 * ES2+ (operator → SM-DP+) at /gsma/rsp2/es2plus/<function> (SGP22-NOTES §5.5, es2p_Types_JSON.ttcn):
 * downloadOrder, confirmOrder, cancelOrder, releaseProfile over the SQLite inventory, answering the §5.2
 * subject/reason codes of InventoryError; and handleDownloadProgressInfo callbacks (SM-DP+ → operator) at the
 * notification points 3 (BPP download) and 4 (BPP installation), POSTed best effort (bounded retry, never
 * blocking the download) to the URL given per order (non-standard request field `progressCallbackUrl` in
 * downloadOrder/confirmOrder) or per server (`progressUrl`).
 *
 * confirmOrder with `smdsAddress` (and/or `rootSmdsAddress`) also registers an event on that SM-DS (ES12, in the
 * background, see smds-registrar.ts): eventId = the matchingId, the order's EID, this SM-DP+'s address. The
 * registration is stored in the same transaction as the order; the EID is then mandatory (8.1.1/2.2) and the
 * matchingId must not be empty. `rootSmdsAddress` (SGP.22 v2.4+ field, **UNCONFIRMED** here: not in the TTCN
 * types of SGP22-NOTES §5.5) alone registers on the root SM-DS; with a different `smdsAddress` (an alternative
 * SM-DS) the event is registered there with forwardingIndicator = true. cancelOrder deletes the events.
 *
 * MISSING: mutual TLS for ES2+ (operator client certificates) is not implemented — ES2+ is served on the
 * same HTTPS listener as ES9+ without client authentication; per-order callback URLs are kept in memory
 * (lost on a restart; the per-server URL is not).
 */
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { failedBody } from './es9p.js';
import { InventoryError, type SmdpInventory } from './inventory.js';
import { checkGsmaHeaders, parseGsmaBody, sendGsmaJson, ADMIN_PROTOCOL, type SmdpRegisterContext } from './server.js';
import type { SmdsRegistrar } from './smds-registrar.js';

export const ES2P_PREFIX = '/gsma/rsp2/es2plus/';
export const ES2P_FUNCTIONS = ['downloadOrder', 'confirmOrder', 'cancelOrder', 'releaseProfile'] as const;
export type Es2pFunction = (typeof ES2P_FUNCTIONS)[number];

/** Notification points of handleDownloadProgressInfo (SGP.22 §5.3.5). */
export const NOTIFICATION_POINT = { bppDownload: 3, bppInstallation: 4 } as const;

export interface DownloadProgressInfo {
  header: { functionRequesterIdentifier: string; functionCallIdentifier: string };
  eid?: string;
  iccid: string;
  profileType?: string;
  timestamp: string;
  notificationPointId: number;
  notificationPointStatus: { status: 'Executed-Success' | 'Failed' };
}

export interface Es2pOptions {
  /** Default operator URL for handleDownloadProgressInfo (per-order URLs take precedence). */
  progressUrl?: string;
  /** Attempts per callback (default 3). */
  callbackAttempts?: number;
  /** Per-attempt timeout (default 2000 ms). */
  callbackTimeoutMs?: number;
  /** Delay between attempts (default 200 ms). */
  callbackRetryDelayMs?: number;
  /** Callback delivery failures (no secrets). */
  onWarning?: (message: string) => void;
  /** functionRequesterIdentifier of callbacks (default 'esimkit-smdp'). */
  requesterId?: string;
}

class Es2pError extends Error {
  constructor(readonly subjectCode: string, readonly reasonCode: string, message: string) {
    super(message);
  }
}

const SUCCESS = { functionExecutionStatus: { status: 'Executed-Success' as const } };

function obj(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Es2pError('1.3.1', '2.1', 'request body must be a JSON object');
  return v as Record<string, unknown>;
}
function optStr(b: Record<string, unknown>, f: string, re?: RegExp): string | undefined {
  const v = b[f];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Es2pError('1.3.1', '2.1', `${f} must be a string`);
  if (re && !re.test(v)) throw new Es2pError('1.3.1', '2.1', `${f} is malformed`);
  return v;
}
function reqStr(b: Record<string, unknown>, f: string, re?: RegExp): string {
  const v = optStr(b, f, re);
  if (v === undefined) throw new Es2pError('1.3.1', '2.2', `mandatory element ${f} missing`);
  return v;
}
const ICCID_RE = /^[0-9]{18,19}[0-9F]?$/i;
/** An SM-DS address: FQDN (or IPv4) with an optional port. */
const RSP_ADDRESS_RE = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::\d{1,5})?$/;
const EID_RE = /^[0-9]{32}$/;
function checkHeader(b: Record<string, unknown>): void {
  const h = b['header'];
  if (typeof h !== 'object' || h === null) throw new Es2pError('1.3.1', '2.2', 'mandatory element header missing');
  const hh = h as Record<string, unknown>;
  if (typeof hh['functionRequesterIdentifier'] !== 'string' || typeof hh['functionCallIdentifier'] !== 'string') {
    throw new Es2pError('1.3.1', '2.2', 'header needs functionRequesterIdentifier and functionCallIdentifier');
  }
}
function callbackUrl(b: Record<string, unknown>): string | undefined {
  const u = optStr(b, 'progressCallbackUrl');
  if (u !== undefined && !/^https?:\/\//.test(u)) throw new Es2pError('1.3.1', '2.1', 'progressCallbackUrl must be an http(s) URL');
  return u;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** ES2+ function logic + progress callbacks over an inventory. */
export class Es2pService {
  private readonly orderUrls = new Map<string, string>();
  /** iccid → notification points already reported. */
  private readonly reported = new Map<string, Set<number>>();
  private readonly pending = new Set<Promise<void>>();
  private seq = 0;

  constructor(
    readonly inventory: SmdpInventory,
    readonly o: Es2pOptions = {},
    /** ES12 registrations (confirmOrder with smdsAddress); without it such a confirmOrder fails 8.9/5.1. */
    readonly smds?: { registrar: SmdsRegistrar; rspServerAddress: () => string },
  ) {
    // after a restart, points already reached are not reported again
    for (const p of inventory.profiles()) {
      if (p.state === 'downloaded') this.reported.set(p.iccid, new Set([3]));
      else if (p.state === 'installed' || p.state === 'error') this.reported.set(p.iccid, new Set([3, 4]));
    }
  }

  /** Handle one ES2+ function; returns the JSON answer (always HTTP 200). */
  handle(fn: Es2pFunction, raw: unknown): Record<string, unknown> {
    try {
      const b = obj(raw);
      checkHeader(b);
      const inv = this.inventory;
      switch (fn) {
        case 'downloadOrder': {
          const eid = optStr(b, 'eid', EID_RE);
          const iccid = optStr(b, 'iccid', ICCID_RE);
          const profileType = optStr(b, 'profileType');
          const url = callbackUrl(b);
          const r = inv.downloadOrder({ ...(eid !== undefined && { eid }), ...(iccid !== undefined && { iccid }), ...(profileType !== undefined && { profileType }) });
          if (url) this.orderUrls.set(r.iccid, url);
          return { header: SUCCESS, iccid: r.iccid };
        }
        case 'confirmOrder': {
          const iccid = reqStr(b, 'iccid', ICCID_RE);
          const eid = optStr(b, 'eid', EID_RE);
          const matchingId = optStr(b, 'matchingId');
          const confirmationCode = optStr(b, 'confirmationCode');
          const smdsAddress = optStr(b, 'smdsAddress', RSP_ADDRESS_RE);
          const rootSmdsAddress = optStr(b, 'rootSmdsAddress', RSP_ADDRESS_RE);
          const rf = b['releaseFlag'];
          if (rf === undefined) throw new Es2pError('1.3.1', '2.2', 'mandatory element releaseFlag missing');
          if (typeof rf !== 'boolean') throw new Es2pError('1.3.1', '2.1', 'releaseFlag must be a boolean');
          const url = callbackUrl(b);
          const target = smdsAddress ?? rootSmdsAddress;
          const smds = this.smds;
          if (target !== undefined && !smds) throw new Es2pError('8.9', '5.1', 'no SM-DS registration configured on this SM-DP+');
          if (target !== undefined && matchingId === '') throw new Es2pError('1.3.1', '2.1', 'an SM-DS event needs a matchingId (eventId): it must not be empty');
          const r = inv.db.transaction(() => {
            const r = inv.confirmOrder({
              iccid,
              releaseFlag: rf,
              ...(eid !== undefined && { eid }),
              ...(matchingId !== undefined && { matchingId }),
              ...(confirmationCode !== undefined && { confirmationCode }),
            });
            if (target !== undefined && smds) {
              if (r.eid === undefined) throw new InventoryError('8.1.1', '2.2', 'an SM-DS event needs the EID');
              const cascade = smdsAddress !== undefined && rootSmdsAddress !== undefined && smdsAddress.toLowerCase() !== rootSmdsAddress.toLowerCase();
              smds.registrar.add({
                smdsAddress: target,
                eventId: r.matchingId,
                matchingId: r.matchingId,
                eid: r.eid,
                rspServerAddress: smds.rspServerAddress(),
                forwardingIndicator: cascade,
                ...(rootSmdsAddress !== undefined && { rootSmdsAddress }),
              });
            }
            return r;
          })();
          if (target !== undefined) smds?.registrar.kick();
          if (url) this.orderUrls.set(iccid, url);
          this.reported.delete(iccid);
          return { header: SUCCESS, ...(r.eid !== undefined && { eid: r.eid }), matchingId: r.matchingId };
        }
        case 'cancelOrder': {
          const iccid = reqStr(b, 'iccid', ICCID_RE);
          const eid = optStr(b, 'eid', EID_RE);
          const matchingId = optStr(b, 'matchingId');
          const fpsi = reqStr(b, 'finalProfileStatusIndicator');
          if (fpsi !== 'Available' && fpsi !== 'Unavailable') throw new Es2pError('1.3.1', '2.1', 'finalProfileStatusIndicator must be Available or Unavailable');
          inv.cancelOrder({ iccid, finalProfileStatusIndicator: fpsi, ...(eid !== undefined && { eid }), ...(matchingId !== undefined && { matchingId }) });
          this.orderUrls.delete(iccid);
          this.smds?.registrar.reconcile(); // the order's SM-DS events are deleted
          return { header: SUCCESS };
        }
        case 'releaseProfile': {
          const iccid = reqStr(b, 'iccid', ICCID_RE);
          inv.releaseProfile(iccid);
          return { header: SUCCESS };
        }
      }
    } catch (e) {
      if (e instanceof Es2pError || e instanceof InventoryError) return failedBody(e.subjectCode, e.reasonCode, e.message);
      return failedBody('1.1', '1.2', 'internal error');
    }
  }

  /**
   * Look at the profiles of the orders with a callback URL and report newly reached notification points
   * (downloaded → 3, installed/error → 4). Called after ES9+ getBoundProfilePackage / handleNotification.
   */
  checkProgress(): void {
    const urls = new Set([...this.orderUrls.keys()]);
    if (this.o.progressUrl) for (const p of this.inventory.profiles()) urls.add(p.iccid);
    for (const iccid of urls) {
      const p = this.inventory.profile(iccid);
      const url = this.orderUrls.get(iccid) ?? this.o.progressUrl;
      if (!p || !url) continue;
      const done = this.reported.get(iccid) ?? new Set<number>();
      const points: [number, 'Executed-Success' | 'Failed'][] = [];
      if ((p.state === 'downloaded' || p.state === 'installed' || p.state === 'error') && !done.has(3)) points.push([3, 'Executed-Success']);
      if ((p.state === 'installed' || p.state === 'error') && !done.has(4)) points.push([4, p.state === 'installed' ? 'Executed-Success' : 'Failed']);
      if (points.length === 0) continue;
      this.reported.set(iccid, done);
      for (const [id, status] of points) {
        done.add(id);
        const info: DownloadProgressInfo = {
          header: { functionRequesterIdentifier: this.o.requesterId ?? 'esimkit-smdp', functionCallIdentifier: `dpi-${Date.now()}-${++this.seq}` },
          ...(p.eid !== undefined && { eid: p.eid }),
          iccid,
          ...(p.profileType !== undefined && { profileType: p.profileType }),
          timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
          notificationPointId: id,
          notificationPointStatus: { status },
        };
        this.send(url, info);
      }
    }
  }

  private send(url: string, info: DownloadProgressInfo): void {
    const attempts = this.o.callbackAttempts ?? 3;
    const p = (async () => {
      for (let i = 1; i <= attempts; i++) {
        try {
          const r = await request(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-admin-protocol': ADMIN_PROTOCOL },
            body: JSON.stringify(info),
            headersTimeout: this.o.callbackTimeoutMs ?? 2000,
            bodyTimeout: this.o.callbackTimeoutMs ?? 2000,
          });
          await r.body.dump();
          if (r.statusCode >= 200 && r.statusCode < 300) return;
          this.o.onWarning?.(`handleDownloadProgressInfo: HTTP ${r.statusCode} (attempt ${i})`);
        } catch (e) {
          this.o.onWarning?.(`handleDownloadProgressInfo: ${(e as Error).message} (attempt ${i})`);
        }
        if (i < attempts) await sleep(this.o.callbackRetryDelayMs ?? 200);
      }
    })();
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Wait for callbacks in flight (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}

/**
 * A `register` hook for SmdpServer: ES2+ routes plus progress tracking on ES9+ answers.
 *   SmdpServer.start({ ..., register: registerEs2p(opts, (svc) => { es2p = svc; }) })
 */
export function registerEs2p(opts: Es2pOptions = {}, onService?: (s: Es2pService) => void) {
  return (app: FastifyInstance, ctx: Pick<SmdpRegisterContext, 'inventory' | 'es9p'> & Partial<Pick<SmdpRegisterContext, 'smds'>>): void => {
    const svc = new Es2pService(ctx.inventory, opts, ctx.smds && { registrar: ctx.smds, rspServerAddress: () => ctx.es9p.address });
    onService?.(svc);
    const fns = new Set<string>(ES2P_FUNCTIONS);
    app.post<{ Params: { fn: string } }>(`${ES2P_PREFIX}:fn`, async (req, reply) => {
      if (!fns.has(req.params.fn)) return reply.code(404).send();
      const bad = checkGsmaHeaders(req);
      if (bad) return sendGsmaJson(reply, bad);
      const parsed = parseGsmaBody(req.body);
      if (!parsed.ok) return sendGsmaJson(reply, parsed.body);
      return sendGsmaJson(reply, svc.handle(req.params.fn as Es2pFunction, parsed.value));
    });
    app.addHook('onResponse', async (req) => {
      if (req.url.endsWith('/getBoundProfilePackage') || req.url.endsWith('/handleNotification') || req.url.endsWith('/cancelSession')) svc.checkProgress();
    });
    app.addHook('onClose', async () => {
      await svc.flush();
    });
  };
}
