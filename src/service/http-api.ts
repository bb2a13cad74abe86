/**
 * The dashboard's HTTP API, on 127.0.0.1 only (issue 7 builds the dashboard on it):
 *
 *   POST /api/login   {"token": "..."}  → 200 {caller} + cookie `esim_session` (HttpOnly, SameSite=Strict, Path=/)
 *                                       | 401 {error:{code:201,message}}
 *   POST /api/logout                    → 200 {} (session dropped)
 *   GET  /api/session                   → 200 {caller, slots} | 401
 *   POST /api/call    {"fn", "args"}    → 200 {value} | 200 {error:{code,message}} (ServiceError codes); 401 without a session
 *   GET  /api/events                    → text/event-stream: `event: profileChange|downloadProgress|osuProgress`, `data: <json>`
 *   GET  /                              → a minimal page (slots, login, profiles) that issue 7 replaces
 *
 * The caller of a session is resolved again from the registry on every call (revocations apply at once).
 * Requests must name this server in Host (127.0.0.1 / localhost, DNS-rebinding guard); POSTs must be
 * application/json and, when they carry an Origin, come from this origin (with SameSite=Strict: no CSRF).
 * Bodies are limited to 1 MiB. Tokens, session ids and call arguments are never logged or echoed.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallerRegistry } from './callers.js';
import { tokenDigest } from './callers.js';
import { dispatchCall, eventsRefusal, slotsJson, type DaemonLog, type DaemonService } from './ipc.js';
import { EVENT_NAMES, MAX_LINE_BYTES, ServiceError, type Caller, type EsimEventName } from './protocol.js';

export const SESSION_COOKIE = 'esim_session';

export interface HttpApi {
  readonly url: string;
  readonly port: number;
  /** Calls from now on answer 3120001; event streams end. */
  stopAccepting(): void;
  close(): Promise<void>;
}

export interface HttpApiOptions {
  /** 0 (default) = a free port. */
  readonly port?: number;
  readonly log?: DaemonLog;
  /** Session lifetime (default 12 h). */
  readonly sessionTtlMs?: number;
  /** Serves a request before the built-in routes (issue 7's dashboard); return true when handled. */
  readonly handle?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}

interface Session {
  readonly digest: Buffer;
  readonly expires: number;
}

const MAX_SESSIONS = 1000;
const noLog: DaemonLog = () => {};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function callerJson(c: Caller): { bundleName: string; systemApp: boolean; permissions: string[] } {
  return { bundleName: c.bundleName, systemApp: c.systemApp, permissions: [...c.permissions] };
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const h = req.headers.cookie;
  if (!h) return undefined;
  for (const part of h.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new HttpError(413, 401, `Invalid parameter value: body larger than ${max} bytes.`));
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 401, 'Invalid parameter value: the body must be application/json.');
  const body = await readBody(req, MAX_LINE_BYTES);
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 401, 'Invalid parameter value: malformed JSON body.');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, 401, 'Invalid parameter value: the body must be a JSON object.');
  return v as Record<string, unknown>;
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  let text: string;
  try {
    text = JSON.stringify(body);
  } catch {
    status = 200;
    text = JSON.stringify({ error: { code: 3120002, message: 'System internal error.' } });
  }
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

/** Start the dashboard HTTP API on 127.0.0.1. */
export async function serveHttpApi(service: DaemonService, registry: CallerRegistry, o: HttpApiOptions = {}): Promise<HttpApi> {
  const log = o.log ?? noLog;
  const ttl = o.sessionTtlMs ?? 12 * 3600_000;
  const sessions = new Map<string, Session>();
  const streams = new Set<ServerResponse>();
  let accepting = true;
  let port = 0;

  const allowedHosts = (): Set<string> => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const sessionCaller = (req: IncomingMessage): { sid: string; caller: Caller } | undefined => {
    const sid = cookieValue(req, SESSION_COOKIE);
    if (!sid) return undefined;
    const s = sessions.get(sid);
    if (!s) return undefined;
    if (s.expires < Date.now()) {
      sessions.delete(sid);
      return undefined;
    }
    const caller = registry.resolveDigest(s.digest);
    if (!caller) {
      sessions.delete(sid); // app removed or token rotated
      return undefined;
    }
    return { sid, caller };
  };

  const needSession = (req: IncomingMessage): { sid: string; caller: Caller } => {
    const s = sessionCaller(req);
    if (!s) throw new HttpError(401, 201, 'Permission denied: log in first (POST /api/login).');
    return s;
  };

  const login = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readJson(req);
    const token = body['token'];
    const caller = typeof token === 'string' ? registry.resolveToken(token) : undefined;
    if (!caller) {
      log('warn', 'login-refused', {});
      throw new HttpError(401, 201, 'Permission denied: unknown token.');
    }
    const now = Date.now();
    for (const [k, s] of sessions) if (s.expires < now) sessions.delete(k);
    while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
    const sid = randomBytes(32).toString('base64url');
    sessions.set(sid, { digest: tokenDigest(token as string), expires: now + ttl });
    log('info', 'login', { bundleName: caller.bundleName });
    sendJson(res, 200, { caller: callerJson(caller) }, {
      'set-cookie': `${SESSION_COOKIE}=${sid}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(ttl / 1000)}`,
    });
  };

  const call = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readJson(req);
    const { caller } = needSession(req);
    const fn = body['fn'];
    const args = body['args'] ?? [];
    if (!accepting) {
      sendJson(res, 200, { error: { code: 3120001, message: 'Service connection failed: the service is shutting down.' } });
      return;
    }
    const gaveUp = new AbortController(); // the browser went away before the answer: the call is abandoned
    const onClose = (): void => {
      if (!res.writableFinished) gaveUp.abort();
    };
    res.on('close', onClose);
    try {
      const value = await dispatchCall(service, caller, fn, args, log, gaveUp.signal);
      sendJson(res, 200, { value: value === undefined ? null : value });
      log('debug', 'http-call', { bundleName: caller.bundleName, fn });
    } catch (e) {
      const err = e instanceof ServiceError ? e : new ServiceError(3120002, 'System internal error.');
      log(err.code === 3120002 ? 'warn' : 'debug', 'http-call-error', { bundleName: caller.bundleName, fn: typeof fn === 'string' ? fn.slice(0, 64) : '?', code: err.code });
      sendJson(res, 200, { error: { code: err.code, message: err.message } });
    }
  };

  const events = (req: IncomingMessage, res: ServerResponse): void => {
    const { sid, caller } = needSession(req);
    const refusal = eventsRefusal(caller);
    if (refusal) throw new HttpError(403, refusal.code, refusal.message);
    if (!accepting) throw new HttpError(503, 3120001, 'Service connection failed: the service is shutting down.');
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    streams.add(res);
    const offs: Array<() => void> = [];
    const end = (): void => {
      for (const off of offs.splice(0)) off();
      clearInterval(ping);
      streams.delete(res);
      if (!res.writableEnded) res.end();
    };
    for (const name of EVENT_NAMES) {
      offs.push(
        service.on(name as EsimEventName, (payload: unknown) => {
          // permissions may have been revoked since the stream opened
          const now = sessions.get(sid) ? registry.resolveDigest(sessions.get(sid)!.digest) : undefined;
          if (!now || eventsRefusal(now)) return end();
          res.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`);
        }),
      );
    }
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    ping.unref();
    res.on('close', end); // the client went away (req 'close' fires when the request is consumed, too early)
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!allowedHosts().has(host)) throw new HttpError(421, 401, 'Invalid parameter value: unexpected Host header.');
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (req.method === 'POST') {
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedHosts().has(origin.replace(/^http:\/\//, '').toLowerCase())) {
        throw new HttpError(403, 201, 'Permission denied: cross-origin request.');
      }
    }
    if (o.handle && (await o.handle(req, res))) return;
    const key = `${req.method} ${url.pathname}`;
    switch (key) {
      case 'POST /api/login':
        return login(req, res);
      case 'POST /api/logout': {
        const sid = cookieValue(req, SESSION_COOKIE);
        if (sid) sessions.delete(sid);
        return sendJson(res, 200, {}, { 'set-cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` });
      }
      case 'GET /api/session': {
        const { caller } = needSession(req);
        return sendJson(res, 200, { caller: callerJson(caller), slots: slotsJson(service) });
      }
      case 'POST /api/call':
        return call(req, res);
      case 'GET /api/events':
        return events(req, res);
      case 'GET /':
      case 'GET /index.html':
        res.writeHead(200, {
          ...SECURITY_HEADERS,
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
        });
        res.end(indexPage(service));
        return;
      case 'GET /app.js':
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/javascript; charset=utf-8' });
        res.end(APP_JS);
        return;
      default:
        throw new HttpError(404, 401, `Invalid parameter value: no route ${req.method} ${url.pathname}.`);
    }
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HttpError) sendJson(res, e.status, { error: { code: e.code, message: e.message } });
      else {
        log('error', 'http-internal-error', { error: e instanceof Error ? e.message : String(e) });
        sendJson(res, 500, { error: { code: 3120002, message: 'System internal error.' } });
      }
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 200_000; // downloads run up to 180 s
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/`;
  log('info', 'dashboard-listening', { url });

  let closing: Promise<void> | undefined;
  const stopAccepting = (): void => {
    accepting = false;
    for (const s of [...streams]) s.end();
  };
  return {
    url,
    port,
    stopAccepting,
    close() {
      closing ??= new Promise<void>((resolve) => {
        stopAccepting();
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
        sessions.clear();
      });
      return closing;
    },
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function indexPage(service: DaemonService): string {
  const rows = slotsJson(service)
    .map(
      (s) =>
        `<tr><td>${s.slotId}</td><td>${escapeHtml(s.transport)}</td><td>${s.ports}</td><td>${s.hasEuicc ? 'yes' : 'no'}</td><td id="eid-${s.slotId}"></td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>esimkit</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}</style>
</head><body>
<h1>esimkit</h1>
<h2>Slots</h2>
<table><thead><tr><th>Slot</th><th>Transport</th><th>Ports</th><th>eUICC</th><th>EID</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Log in</h2>
<form id="login"><label for="token">Token</label> <input id="token" type="password" autocomplete="off" required> <button type="submit">Log in</button></form>
<p id="status" role="status"></p>
<h2>Profiles</h2>
<div id="profiles"><p>Log in to see the profiles.</p></div>
<script src="/app.js"></script>
</body></html>
`;
}

const APP_JS = `'use strict';
async function api(path, body) {
  const r = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return r.json();
}
function text(tag, t) { const e = document.createElement(tag); e.textContent = t; return e; }
async function load() {
  const s = await api('/api/session');
  if (!s.caller) return;
  document.getElementById('status').textContent = 'Logged in as ' + s.caller.bundleName;
  const box = document.getElementById('profiles');
  box.replaceChildren();
  for (const slot of s.slots) {
    if (!slot.hasEuicc) continue;
    const eid = await api('/api/call', { fn: 'getEid', args: [slot.slotId] });
    const cell = document.getElementById('eid-' + slot.slotId);
    if (cell && eid.value) cell.textContent = eid.value;
    const list = await api('/api/call', { fn: 'getEuiccProfileInfoList', args: [slot.slotId] });
    box.append(text('h3', 'Slot ' + slot.slotId));
    const ul = document.createElement('ul');
    for (const p of (list.value && list.value.profiles) || []) {
      ul.append(text('li', p.iccid + ' ' + (p.nickName || p.profileName || '') + (p.state === 1 ? ' (enabled)' : '')));
    }
    if (!ul.children.length) ul.append(text('li', list.error ? list.error.message : 'no profiles'));
    box.append(ul);
  }
}
document.getElementById('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = document.getElementById('token');
  const r = await api('/api/login', { token: input.value });
  input.value = '';
  document.getElementById('status').textContent = r.error ? r.error.message : '';
  if (!r.error) load();
});
load();
`;
