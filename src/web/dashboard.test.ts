/**
 * The dashboard's request handler on a plain node:http server (the browser flows are in
 * test/dashboard.test.ts): what it serves, with which headers, and what it leaves to the HTTP API.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../api/types.js';
import { contentSecurityPolicy, dashboardHandler, defaultStaticDir, enumsModule, IMPORT_MAP } from './dashboard.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let server: Server;
let port: number;
/** Requests the handler declined (the HTTP API would serve them). */
const declined: string[] = [];

function get(path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  const handle = dashboardHandler();
  server = createServer((req, res) => {
    if (handle(req, res)) return;
    declined.push(`${req.method} ${req.url}`);
    res.writeHead(599);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('dashboardHandler', () => {
  it('serves the page with a CSP that allows exactly its import map by hash', async () => {
    for (const path of ['/', '/index.html', '/?x=1']) {
      const r = await get(path);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toBe(contentSecurityPolicy());
      const map = /<script type="importmap">(.*?)<\/script>/s.exec(r.body)?.[1];
      expect(map).toBe(IMPORT_MAP);
      const hash = createHash('sha256').update(map!, 'utf8').digest('base64');
      expect(csp).toContain(`script-src 'self' 'sha256-${hash}';`);
      // no other inline script or style, no inline event handler
      expect(r.body.match(/<script/g)).toHaveLength(2);
      expect(r.body).toContain('<script type="module" src="/static/app.js"></script>');
      expect(r.body).not.toMatch(/<style|\son[a-z]+=|style="/);
    }
    const csp = contentSecurityPolicy();
    for (const d of ["default-src 'none'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'", "require-trusted-types-for 'script'"]) {
      expect(csp).toContain(d);
    }
    expect(csp).not.toContain('unsafe');
  });

  it('serves its static files and the vendored modules from node_modules', async () => {
    const app = await get('/static/app.js');
    expect(app.status).toBe(200);
    expect(app.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(app.body).toBe(readFileSync(`${defaultStaticDir()}/app.js`, 'utf8'));
    expect((await get('/static/style.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get('/static/icon.svg')).headers['content-type']).toBe('image/svg+xml');

    const preact = await get('/vendor/preact.mjs');
    expect(preact.status).toBe(200);
    expect(preact.body).toMatch(/export\s*\{/);
    const hooks = await get('/vendor/preact-hooks.mjs');
    expect(hooks.body).toContain('from"preact"'); // resolved by the import map
    expect((await get('/vendor/htm.mjs')).body).toMatch(/export\s*\{|export default/);
    const jsqr = await get('/vendor/jsqr.mjs');
    expect(jsqr.status).toBe(200);
    expect(jsqr.body.trimEnd().endsWith('export default jsQR;')).toBe(true);
    // every module the import map names is served
    for (const url of Object.values((JSON.parse(IMPORT_MAP) as { imports: Record<string, string> }).imports)) {
      expect((await get(url)).status).toBe(200);
    }
  });

  it('serves the API enums generated from src/api/types.ts', async () => {
    const r = await get('/enums.js');
    expect(r.status).toBe(200);
    expect(r.body).toBe(enumsModule());
    const m = /export const ResultCode = Object\.freeze\((\{.*?\})\);/.exec(r.body);
    const codes = JSON.parse(m![1]!) as Record<string, number>;
    expect(codes['RESULT_OK']).toBe(0);
    expect(codes['RESULT_MUST_DISABLE_PROFILE']).toBe(-1);
    expect(codes['RESULT_USER_CANCEL_DOWNLOAD']).toBe(ResultCode.RESULT_USER_CANCEL_DOWNLOAD);
    expect(Object.keys(codes)).toHaveLength(Object.values(ResultCode).filter((v) => typeof v === 'number').length);
    expect(r.body).toContain('export const OsuStatus = Object.freeze({"EUICC_UPGRADE_IN_PROGRESS":1,');
  });

  it('answers HEAD without a body', async () => {
    const r = await get('/static/app.js', 'HEAD');
    expect(r.status).toBe(200);
    expect(Number(r.headers['content-length'])).toBeGreaterThan(1000);
    expect(r.body).toBe('');
  });

  it('404s unknown or unsafe file names under /static and /vendor, never reading outside its folder', async () => {
    for (const path of [
      '/static/nope.js',
      '/static/../dashboard.ts',
      '/static/%2e%2e/dashboard.ts',
      '/static/..%2fdashboard.ts',
      '/static/',
      '/static/APP.JS',
      '/static/app.js/',
      '/static/.hidden.js',
      '/vendor/preact',
      '/vendor/../package.json',
      '/vendor/%2e%2e%2fpackage.json',
    ]) {
      const r = await get(path);
      // URL normalisation turns /static/../x into /x, which is not the dashboard's: declined
      expect([404, 599], path).toContain(r.status);
      expect(r.body, path).not.toContain('import');
    }
  });

  it('leaves the HTTP API routes and other methods to the daemon', async () => {
    declined.length = 0;
    await get('/api/session');
    await get('/api/events');
    await get('/', 'POST');
    await get('/static/app.js', 'DELETE');
    await get('/favicon.ico');
    expect(declined).toEqual(['GET /api/session', 'GET /api/events', 'POST /', 'DELETE /static/app.js', 'GET /favicon.ico']);
  });
});
