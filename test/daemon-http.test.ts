/**
 * The dashboard's HTTP API of the daemon (127.0.0.1): login → session cookie, calls with the session's caller,
 * Server-Sent Events, Host/Origin/content-type guards, no secrets in answers.
 */
import { dashboardHandler } from '../src/web/dashboard.js';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDaemon, type RunningDaemon } from '../src/service/daemon.js';
import { readShellToken } from '../src/service/home.js';
import { demoActivationCodes, DOWNLOAD_CONFIG } from './support/daemon.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(url: string, o: { method?: string; body?: unknown; cookie?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    const req = request(
      {
        host: '127.0.0.1',
        port: u.port,
        path: u.pathname,
        method: o.method ?? (body === undefined ? 'GET' : 'POST'),
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(o.cookie ? { cookie: o.cookie } : {}),
          ...o.headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** An SSE stream: collected events. */
function sse(url: string, cookie: string): Promise<{ events: { event: string; data: unknown }[]; status: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const events: { event: string; data: unknown }[] = [];
    const req = request({ host: '127.0.0.1', port: u.port, path: '/api/events', headers: { cookie } }, (res) => {
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString('utf8');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
        }
      });
      resolve({ events, status: res.statusCode!, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(pred: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('daemon HTTP API', () => {
  let dir: string;
  let home: string;
  let d: RunningDaemon;
  let base: string;
  let shellCookie: string;
  const logs: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-daemon-http-'));
    home = join(dir, 'home');
    d = await runDaemon({ home, log: (l) => logs.push(l), logLevel: 'debug', dashboard: dashboardHandler() });
    base = d.dashboardUrl;
  });
  afterAll(async () => {
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the dashboard (src/web) at /, with a CSP and no secrets', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await http(base);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('text/html');
    expect(r.headers['content-security-policy']).toContain("default-src 'none'");
    expect(r.body).toContain('<meta name="generator" content="esimkit-dashboard">');
    expect(r.body).not.toContain(readShellToken(home));
    const js = await http(base + 'app.js');
    expect(js.status).toBe(200);
    expect(js.body).toContain('/api/login');
  });

  it('refuses calls without a session and logins with a bad token', async () => {
    const r = await http(base + 'api/call', { body: { fn: 'getEid', args: [0] } });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toEqual({ error: { code: 201, message: expect.stringContaining('log in') } });
    const bad = await http(base + 'api/login', { body: { token: 'wrong' } });
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body).error.code).toBe(201);
    expect(bad.headers['set-cookie']).toBeUndefined();
    const forged = await http(base + 'api/call', { body: { fn: 'getEid', args: [0] }, cookie: 'esim_session=forged' });
    expect(forged.status).toBe(401);
  });

  it('logs in with the shell token: HttpOnly SameSite=Strict cookie, calls answer {value} or {error}', async () => {
    const token = readShellToken(home);
    const r = await http(base + 'api/login', { body: { token } });
    expect(r.status).toBe(200);
    expect(r.body).not.toContain(token);
    expect(JSON.parse(r.body)).toEqual({ caller: { bundleName: 'shell', systemApp: true, permissions: expect.any(Array) } });
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(/^esim_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain(token);
    shellCookie = cookie.split(';')[0]!;

    const eid = await http(base + 'api/call', { body: { fn: 'getEid', args: [0] }, cookie: shellCookie });
    expect(eid.status).toBe(200);
    expect(JSON.parse(eid.body)).toEqual({ value: expect.stringMatching(/^\d{32}$/) });
    expect(JSON.parse((await http(base + 'api/call', { body: { fn: 'getEid', args: [7] }, cookie: shellCookie })).body)).toEqual({
      error: { code: 401, message: expect.stringContaining('slotId') },
    });
    expect(JSON.parse((await http(base + 'api/call', { body: { fn: 'rm -rf', args: [] }, cookie: shellCookie })).body).error.code).toBe(401);
    expect(JSON.parse((await http(base + 'api/call', { body: { fn: 'getEid', args: 0 }, cookie: shellCookie })).body).error.code).toBe(401);
    const session = JSON.parse((await http(base + 'api/session', { cookie: shellCookie })).body) as { caller: { bundleName: string }; slots: unknown[] };
    expect(session.caller.bundleName).toBe('shell');
    expect(session.slots).toHaveLength(2);
  });

  it('guards Host, Origin, content type and body size', async () => {
    const host = await http(base + 'api/session', { cookie: shellCookie, headers: { host: 'evil.example:80' } });
    expect(host.status).toBe(421);
    const origin = await http(base + 'api/call', { body: { fn: 'getEid', args: [0] }, cookie: shellCookie, headers: { origin: 'http://evil.example' } });
    expect(origin.status).toBe(403);
    const sameOrigin = await http(base + 'api/call', { body: { fn: 'getEid', args: [0] }, cookie: shellCookie, headers: { origin: base.slice(0, -1) } });
    expect(sameOrigin.status).toBe(200);
    const form = await http(base + 'api/call', { body: 'fn=getEid', cookie: shellCookie, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const malformed = await http(base + 'api/call', { body: '{"fn":', cookie: shellCookie });
    expect(malformed.status).toBe(400);
    // over 1 MiB: 413, or the connection is cut while the client still writes (then the write fails)
    const big = await http(base + 'api/call', { body: JSON.stringify({ fn: 'getEid', args: ['x'.repeat(1 << 21)] }), cookie: shellCookie }).then(
      (a) => a.status,
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect([413, 'EPIPE', 'ECONNRESET']).toContain(big);
    expect(JSON.parse((await http(base + 'api/call', { body: { fn: 'getEid', args: [0] }, cookie: shellCookie })).body).value).toMatch(/^\d{32}$/);
    expect((await http(base + 'nope')).status).toBe(404);
  });

  it('streams profileChange and downloadProgress events (SSE) to a logged-in system caller', async () => {
    const stream = await sse(base, shellCookie);
    expect(stream.status).toBe(200);
    try {
      const ac = demoActivationCodes(home)[1]!;
      const r = await http(base + 'api/call', { body: { fn: 'downloadProfile', args: [1, 0, { activationCode: ac }, DOWNLOAD_CONFIG] }, cookie: shellCookie });
      expect(JSON.parse(r.body).value).toMatchObject({ responseResult: 0 });
      await until(() => stream.events.some((e) => e.event === 'profileChange'));
      expect(stream.events.find((e) => e.event === 'profileChange')!.data).toMatchObject({ slotId: 1, change: 'installed', iccid: expect.stringMatching(/^\d+$/) });
      expect(stream.events.filter((e) => e.event === 'downloadProgress').map((e) => (e.data as { step: string }).step)).toContain('done');
    } finally {
      stream.close();
    }
  });

  it("uses the session's app identity, re-resolved on every call (revocation → 201, removal → logged out)", async () => {
    const { token } = d.registry.add('com.example.dash', { systemApp: true, permissions: ['GET'] });
    const login = await http(base + 'api/login', { body: { token } });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect(JSON.parse((await http(base + 'api/call', { body: { fn: 'getEid', args: [0] }, cookie })).body).value).toMatch(/^\d{32}$/);
    expect(JSON.parse((await http(base + 'api/call', { body: { fn: 'setDefaultSmdpAddress', args: [0, 'smdp.example.com'] }, cookie })).body).error.code).toBe(201);
    expect(JSON.parse((await http(base + 'api/call', { body: { fn: 'factoryReset', args: [] }, cookie })).body).error.code).toBe(201);
    d.registry.revoke('com.example.dash', 'GET');
    expect(JSON.parse((await http(base + 'api/call', { body: { fn: 'getEid', args: [0] }, cookie })).body).error.code).toBe(201);
    const noEvents = await sse(base, cookie);
    expect(noEvents.status).toBe(403);
    noEvents.close();
    d.registry.remove('com.example.dash');
    expect((await http(base + 'api/call', { body: { fn: 'getEid', args: [0] }, cookie })).status).toBe(401);

    // logout ends the shell session too
    const out = await http(base + 'api/logout', { body: {}, cookie: shellCookie });
    expect(out.status).toBe(200);
    expect((await http(base + 'api/session', { cookie: shellCookie })).status).toBe(401);
  });

  it('never logs tokens, session ids or activation codes', () => {
    const token = readShellToken(home);
    expect(logs.some((l) => l.includes('"event":"login"'))).toBe(true);
    expect(logs.some((l) => l.includes('"event":"login-refused"'))).toBe(true);
    for (const l of logs) {
      expect(l).not.toContain(token);
      expect(l).not.toContain(shellCookie.split('=')[1]!);
      expect(l).not.toContain('LPA:1$');
    }
  });
});
