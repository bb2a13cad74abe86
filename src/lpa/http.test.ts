/**
 * RspHttpClient against small local servers (node:https / node:http / node:net on 127.0.0.1): success,
 * headers, brainpool TLS, and every failure class provoked for real.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCi, createDpTls, createDsTls, type IssuedCertificate } from '../crypto/pki.js';
import { RspHttpClient, RspHttpError, checkExecutionStatus, parseAddress } from './http.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

interface Running {
  port: number;
  close: () => Promise<void>;
}

const servers: Running[] = [];
const clients: RspHttpClient[] = [];
const sockets = new Set<Socket>();

function keyPem(c: IssuedCertificate): string {
  return c.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

async function listen(srv: HttpsServer | HttpServer | NetServer): Promise<Running> {
  srv.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const run = {
    port,
    close: () =>
      new Promise<void>((r) => {
        srv.close(() => r());
        (srv as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
  servers.push(run);
  return run;
}

function handle(h: Handler) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => h(req, Buffer.concat(chunks).toString('utf8'), res));
  };
}

async function https(tls: IssuedCertificate, h: Handler, extra: { minVersion?: 'TLSv1.3' } = {}): Promise<Running> {
  return listen(createHttpsServer({ cert: tls.certPem, key: keyPem(tls), ...extra }, handle(h)));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8' });
  res.end(JSON.stringify(body));
}

const OK = { header: { functionExecutionStatus: { status: 'Executed-Success' } } };

function client(cis: IssuedCertificate[], o: Partial<ConstructorParameters<typeof RspHttpClient>[0]> = {}): RspHttpClient {
  const c = new RspHttpClient({
    trustedCis: cis.map((x) => x.certDer),
    timeouts: { connectMs: 2000, requestMs: 3000 },
    resolve: (h) => (h === 'localhost' || h === 'smdp.test' ? '127.0.0.1' : undefined),
    ...o,
  });
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<RspHttpError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RspHttpError);
  return e as RspHttpError;
}

let ci: IssuedCertificate;
let otherCi: IssuedCertificate;
let tls: IssuedCertificate;

beforeAll(() => {
  ci = createCi();
  otherCi = createCi();
  tls = createDpTls(ci, 'localhost');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => s.close()));
});

describe('RspHttpClient: success', () => {
  it('POSTs JSON with the RSP headers and returns the parsed object (P-256)', async () => {
    let seen: { headers: IncomingMessage['headers']; url?: string; method?: string; body: string } | undefined;
    const s = await https(tls, (req, body, res) => {
      seen = { headers: req.headers, url: req.url, method: req.method, body };
      json(res, 200, { ...OK, transactionId: 'AB12' });
    });
    const r = await client([ci]).post(`localhost:${s.port}`, '/gsma/rsp2/es9plus/initiateAuthentication', { a: 'x', n: 1 });
    expect(r).toEqual({ ...OK, transactionId: 'AB12' });
    expect(seen?.method).toBe('POST');
    expect(seen?.url).toBe('/gsma/rsp2/es9plus/initiateAuthentication');
    expect(seen?.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(seen?.headers['x-admin-protocol']).toBe('gsma/rsp/v2.2.0');
    expect(seen?.headers['user-agent']).toBe('gsma-rsp-lpad');
    expect(JSON.parse(seen?.body ?? '')).toEqual({ a: 'x', n: 1 });
  });

  it('works with a brainpoolP256r1 CI and DPtls certificate (TLS 1.2 with brainpool groups)', async () => {
    const bci = createCi({ curve: 'brainpoolP256r1' });
    const s = await https(createDpTls(bci, 'localhost'), (_q, _b, res) => json(res, 200, { ...OK, v: 2 }));
    expect(await client([otherCi, bci]).post(`localhost:${s.port}`, '/x', {})).toEqual({ ...OK, v: 2 });
  });

  it('uses the system resolver when no override is given (localhost)', async () => {
    const s = await https(tls, (_q, _b, res) => json(res, 200, OK));
    const c = new RspHttpClient({ trustedCis: [ci.certDer], timeouts: { connectMs: 2000, requestMs: 3000 } });
    clients.push(c);
    expect(await c.post(`localhost:${s.port}`, '/x', {})).toEqual(OK);
  });

  it('204 → undefined; Executed-WithWarning is a success; an SM-DS DStls certificate is accepted by default', async () => {
    const s = await https(tls, (_q, _b, res) => {
      res.writeHead(204);
      res.end();
    });
    expect(await client([ci]).post(`localhost:${s.port}`, '/gsma/rsp2/es9plus/handleNotification', {})).toBeUndefined();
    const warn = { header: { functionExecutionStatus: { status: 'Executed-WithWarning' } } };
    const d = await https(createDsTls(ci, 'smdp.test'), (_q, _b, res) => json(res, 200, warn));
    expect(await client([ci]).post(`smdp.test:${d.port}`, '/x', {})).toEqual(warn);
  });

  it('allowHttp (test flag) talks plain HTTP', async () => {
    const s = await listen(createHttpServer(handle((_q, _b, res) => json(res, 200, OK))));
    expect(await client([], { allowHttp: true }).post(`localhost:${s.port}`, '/x', {})).toEqual(OK);
  });
});

describe('RspHttpClient: one error kind per failure class', () => {
  it('tls (certificate): server certificate from an untrusted CI', async () => {
    const s = await https(createDpTls(otherCi, 'localhost'), (_q, _b, res) => json(res, 200, OK));
    const e = await failure(client([ci]).post(`localhost:${s.port}`, '/x', {}));
    expect(e.kind).toBe('tls');
    expect(e.tls).toBe('certificate');
  });

  it('tls (certificate): trusted CI but the host name is not in the certificate', async () => {
    const s = await https(createDpTls(ci, 'other.example.com'), (_q, _b, res) => json(res, 200, OK));
    const e = await failure(client([ci]).post(`localhost:${s.port}`, '/x', {}));
    expect([e.kind, e.tls, e.code]).toEqual(['tls', 'certificate', 'ERR_TLS_CERT_ALTNAME_INVALID']);
  });

  it('tls (certificate): expired DPtls certificate', async () => {
    const old = createDpTls(ci, 'localhost', { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    const s = await https(old, (_q, _b, res) => json(res, 200, OK));
    const e = await failure(client([ci]).post(`localhost:${s.port}`, '/x', {}));
    expect([e.kind, e.tls, e.code]).toEqual(['tls', 'certificate', 'CERT_HAS_EXPIRED']);
  });

  it('tls (certificate): SGP.22 role check — a DPtls certificate where only DStls is accepted', async () => {
    const s = await https(tls, (_q, _b, res) => json(res, 200, OK));
    const e = await failure(client([ci], { tlsRoles: ['DStls'] }).post(`localhost:${s.port}`, '/x', {}));
    expect([e.kind, e.tls, e.code]).toEqual(['tls', 'certificate', 'ERR_RSP_TLS_CERTIFICATE']);
    expect(e.message).toMatch(/policy|DStls/i);
  });

  it('tls (handshake): server speaks TLS 1.3 only', async () => {
    const s = await https(tls, (_q, _b, res) => json(res, 200, OK), { minVersion: 'TLSv1.3' });
    const e = await failure(client([ci]).post(`localhost:${s.port}`, '/x', {}));
    expect([e.kind, e.tls]).toEqual(['tls', 'handshake']);
  });

  it('connect: connection refused', async () => {
    const s = await listen(createNetServer());
    const port = s.port;
    await s.close();
    const e = await failure(client([ci]).post(`localhost:${port}`, '/x', {}));
    expect([e.kind, e.code]).toEqual(['connect', 'ECONNREFUSED']);
  });

  it('dns: a name under .invalid (system resolver), a resolver override miss, a malformed address', async () => {
    const sys = new RspHttpClient({ trustedCis: [ci.certDer], timeouts: { connectMs: 2000, requestMs: 3000 } });
    clients.push(sys);
    const e1 = await failure(sys.post('no-such-smdp.invalid', '/x', {}));
    expect(e1.kind).toBe('dns');
    expect(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_FAIL']).toContain(e1.code);
    const e2 = await failure(client([ci]).post('unknown.test:443', '/x', {}));
    expect([e2.kind, e2.code]).toEqual(['dns', 'ENOTFOUND']);
    const e3 = await failure(client([ci]).post('bad host/x', '/x', {}));
    expect([e3.kind, e3.code]).toEqual(['dns', 'ERSPADDRESS']);
  });

  it('timeout (response): the server accepts the request and never answers', async () => {
    const s = await https(tls, () => undefined);
    const started = Date.now();
    const e = await failure(client([ci], { timeouts: { connectMs: 2000, requestMs: 250 } }).post(`localhost:${s.port}`, '/x', {}));
    expect([e.kind, e.phase]).toEqual(['timeout', 'response']);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('timeout (connect): TCP accepted but no TLS handshake ever', async () => {
    const s = await listen(createNetServer(() => undefined));
    const e = await failure(client([ci], { timeouts: { connectMs: 200, requestMs: 5000 } }).post(`localhost:${s.port}`, '/x', {}));
    expect([e.kind, e.phase]).toEqual(['timeout', 'connect']);
  });

  it('http-status: 500', async () => {
    const s = await https(tls, (_q, _b, res) => json(res, 500, { error: 'boom' }));
    const e = await failure(client([ci]).post(`localhost:${s.port}`, '/x', {}));
    expect([e.kind, e.status]).toEqual(['http-status', 500]);
  });

  it('json: a non-JSON body, a JSON array, no functionExecutionStatus, an unknown status', async () => {
    const bodies = ['<html>oops</html>', '[1,2]', '{"transactionId":"00"}', '{"header":{"functionExecutionStatus":{"status":"Maybe"}}}'];
    let i = 0;
    const s = await https(tls, (_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(bodies[i++]);
    });
    const c = client([ci]);
    for (let k = 0; k < bodies.length; k++) {
      const e = await failure(c.post(`localhost:${s.port}`, '/x', {}));
      expect(e.kind).toBe('json');
    }
  });

  it('function-failed: Failed and Expired carry subject/reason codes and the server message', async () => {
    const statuses = ['Failed', 'Expired'];
    let i = 0;
    const s = await https(tls, (_q, _b, res) =>
      json(res, 200, {
        header: {
          functionExecutionStatus: {
            status: statuses[i++],
            statusCodeData: { subjectCode: '8.2.7', reasonCode: '3.8', message: 'Confirmation code refused' },
          },
        },
      }),
    );
    const c = client([ci]);
    for (const st of statuses) {
      const e = await failure(c.post(`localhost:${s.port}`, '/x', {}));
      expect(e).toMatchObject({ kind: 'function-failed', executionStatus: st, subjectCode: '8.2.7', reasonCode: '3.8', serverMessage: 'Confirmation code refused' });
    }
  });

  it('aborted: the caller cancels while waiting', async () => {
    const s = await https(tls, () => undefined);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('user')), 100);
    const e = await failure(client([ci]).post(`localhost:${s.port}`, '/x', {}, { signal: ac.signal }));
    expect(e.kind).toBe('aborted');
    const pre = await failure(client([ci]).post(`localhost:${s.port}`, '/x', {}, { signal: AbortSignal.abort() }));
    expect(pre.kind).toBe('aborted');
  });

  it('aborted while still connecting: answered at once, not when the connect timeout ends', async () => {
    const s = await listen(createNetServer(() => undefined)); // TCP accepted, never a TLS handshake
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('user')), 100);
    const started = Date.now();
    const e = await failure(client([ci], { timeouts: { connectMs: 5000, requestMs: 10_000 } }).post(`localhost:${s.port}`, '/x', {}, { signal: ac.signal }));
    expect(e.kind).toBe('aborted');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('timeoutMs: one request with a shorter deadline than the client', async () => {
    const s = await https(tls, () => undefined);
    const started = Date.now();
    const e = await failure(client([ci], { timeouts: { connectMs: 2000, requestMs: 10_000 } }).post(`localhost:${s.port}`, '/x', {}, { timeoutMs: 200 }));
    expect([e.kind, e.phase]).toEqual(['timeout', 'response']);
    expect(e.message).toContain('200 ms');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('json: a response larger than maxResponseBytes is cut off', async () => {
    const s = await https(tls, (_q, _b, res) => json(res, 200, { header: { functionExecutionStatus: { status: 'Executed-Success' } }, pad: 'x'.repeat(100_000) }));
    const e = await failure(client([ci], { maxResponseBytes: 10_000 }).post(`localhost:${s.port}`, '/x', {}));
    expect(e.kind).toBe('json');
    expect(e.message).toContain('larger than 10000 bytes');
    expect((await client([ci]).post(`localhost:${s.port}`, '/x', {}))?.['pad']).toHaveLength(100_000);
  });
});

describe('http helpers', () => {
  it('parseAddress accepts host[:port] and rejects the rest', () => {
    expect(parseAddress('smdp.example.com')).toEqual({ host: 'smdp.example.com' });
    expect(parseAddress('localhost:8443')).toEqual({ host: 'localhost', port: 8443 });
    expect(parseAddress('[::1]:443')).toEqual({ host: '[::1]', port: 443 });
    for (const bad of ['', 'a b', 'x:0', 'x:70000', 'https://x', '-a.com', 'a..b', 'x/y']) expect(parseAddress(bad)).toBeUndefined();
  });

  it('checkExecutionStatus: numeric codes are accepted as strings', () => {
    expect(() => checkExecutionStatus('{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":8.1,"reasonCode":6.1}}}}', 'a', '/p')).toThrow(
      expect.objectContaining({ kind: 'function-failed', subjectCode: '8.1', reasonCode: '6.1' }),
    );
  });

  it('the constructor refuses no CI without allowHttp, and bad timeouts', () => {
    expect(() => new RspHttpClient({ trustedCis: [] })).toThrow(RangeError);
    expect(() => new RspHttpClient({ trustedCis: [ci.certDer], timeouts: { connectMs: 0 } })).toThrow(RangeError);
  });
});
