/**
 * Test helper: a small HTTPS man-in-the-middle for ES9+ on 127.0.0.1. It presents the SM-DP+'s own DPtls
 * certificate (test material: startTestSmdp gives the identity), forwards every request to the real
 * SM-DP+ (TLS verified against the test CI) and can, per ES9+ function, rewrite the answer's JSON fields,
 * replace the answer by a Failed status with chosen subject/reason codes, or answer without forwarding.
 *
 *   const proxy = await Es9pProxy.start({ tls: t.identity.tls, caPem: t.ci.certPem, targetPort: t.server.port });
 *   t.server.es9p.address = proxy.address;      // the SM-DP+ answers for the proxy's address
 *   proxy.on('initiateAuthentication', { rewrite: (j) => ({ ...j, transactionId: 'AB' }) });
 *   ... downloadProfile({ activationCode: t.server.activationCode(matchingId), ... }) ...
 *   await proxy.close();
 *
 * Only for tests: bound to 127.0.0.1, nothing logged.
 */
import { createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Json = Record<string, unknown>;

export interface Es9pProxyRule {
  /** Rewrite the real server's JSON answer (200 with a body). */
  rewrite?: (response: Json, request: Json) => Json;
  /** Answer this instead of the real server's answer (the request is still forwarded). */
  replace?: (request: Json) => Json;
  /** Answer without forwarding the request to the real server. */
  answer?: (request: Json) => Json;
  /** Apply once, then forward unchanged (default true). */
  once?: boolean;
}

export interface Es9pProxyOptions {
  /** The DPtls certificate (PEM, with chain) and key the proxy presents. */
  tls: { certPem: string; keyPem: string; chainPem?: string };
  /** The CI certificate (PEM) the real server's TLS certificate chains to. */
  caPem: string;
  /** Port of the real SM-DP+ on 127.0.0.1. */
  targetPort: number;
  /** TLS server name used toward the real SM-DP+ (default localhost). */
  servername?: string;
}

export interface Es9pProxyCall {
  fn: string;
  status: number;
  /** A rule changed this answer. */
  tampered: boolean;
}

/** functionExecutionStatus Failed with the given subject/reason code. */
export function failedStatus(subjectCode: string, reasonCode: string): Json {
  return { header: { functionExecutionStatus: { status: 'Failed', statusCodeData: { subjectCode, reasonCode, message: 'injected by the test proxy' } } } };
}

const ES9P_PREFIX = '/gsma/rsp2/es9plus/';

export class Es9pProxy {
  private readonly rules = new Map<string, Es9pProxyRule>();
  private readonly sockets = new Set<Socket>();
  /** Every ES9+ call seen, in order. */
  readonly calls: Es9pProxyCall[] = [];

  private constructor(
    private readonly server: Server,
    private readonly o: Es9pProxyOptions,
    readonly port: number,
  ) {}

  /** `localhost:<port>`: give it to the SM-DP+ as the address it answers for. */
  get address(): string {
    return `localhost:${this.port}`;
  }

  static async start(o: Es9pProxyOptions): Promise<Es9pProxy> {
    let proxy: Es9pProxy | undefined;
    const server = createServer({ cert: o.tls.certPem + (o.tls.chainPem ?? ''), key: o.tls.keyPem }, (req, res) => {
      proxy!.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    proxy = new Es9pProxy(server, o, (server.address() as AddressInfo).port);
    server.on('connection', (s: Socket) => {
      proxy!.sockets.add(s);
      s.on('close', () => proxy!.sockets.delete(s));
    });
    return proxy;
  }

  /** Set the rule for one ES9+ function (replacing any earlier one). */
  on(fn: string, rule: Es9pProxyRule): this {
    this.rules.set(fn, rule);
    return this;
  }

  /** Forward everything unchanged from now on. */
  clear(): void {
    this.rules.clear();
  }

  /** The functions called, in order. */
  functions(): string[] {
    return this.calls.map((c) => c.fn);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const path = req.url ?? '/';
    const fn = path.startsWith(ES9P_PREFIX) ? path.slice(ES9P_PREFIX.length) : path;
    const rule = this.rules.get(fn);
    if (rule && (rule.once ?? true)) this.rules.delete(fn);
    const reqJson = (): Json => {
      try {
        return JSON.parse(body.toString('utf8')) as Json;
      } catch {
        return {};
      }
    };

    if (rule?.answer) {
      this.send(res, fn, 200, JSON.stringify(rule.answer(reqJson())), true);
      return;
    }
    const up = await this.forward(req, path, body);
    if (rule && up.status === 200 && up.body.length > 0 && (rule.rewrite || rule.replace)) {
      const out = rule.replace ? rule.replace(reqJson()) : rule.rewrite!(JSON.parse(up.body.toString('utf8')) as Json, reqJson());
      this.send(res, fn, 200, JSON.stringify(out), true);
      return;
    }
    this.send(res, fn, up.status, up.body, false);
  }

  private send(res: ServerResponse, fn: string, status: number, body: string | Buffer, tampered: boolean): void {
    this.calls.push({ fn, status, tampered });
    const headers: Record<string, string> = { 'X-Admin-Protocol': 'gsma/rsp/v2.2.0' };
    if (status === 200) headers['Content-Type'] = 'application/json;charset=UTF-8';
    res.writeHead(status, headers);
    res.end(status === 204 ? undefined : body);
  }

  private forward(req: IncomingMessage, path: string, body: Buffer): Promise<{ status: number; body: Buffer }> {
    const headers: Record<string, string> = {};
    for (const h of ['content-type', 'x-admin-protocol', 'user-agent']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    headers['content-length'] = String(body.length);
    return new Promise((resolve, reject) => {
      const r = request(
        {
          host: '127.0.0.1',
          port: this.o.targetPort,
          servername: this.o.servername ?? 'localhost',
          ca: this.o.caPem,
          method: 'POST',
          path,
          headers,
          agent: false,
          timeout: 10_000,
        },
        (up) => {
          const cs: Buffer[] = [];
          up.on('data', (c: Buffer) => cs.push(c));
          up.on('end', () => resolve({ status: up.statusCode ?? 502, body: Buffer.concat(cs) }));
          up.on('error', reject);
        },
      );
      r.on('timeout', () => r.destroy(new Error('upstream timeout')));
      r.on('error', reject);
      r.end(body);
    });
  }
}
