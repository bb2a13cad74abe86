/**
 * The web dashboard (issue 7), served by the daemon's HTTP API on 127.0.0.1 through its `handle` hook
 * (src/service/http-api.ts): this module serves the page and its static files; everything else (login,
 * calls, events) is the HTTP API's.
 *
 *   GET /, /index.html        the page: an import map (Preact, hooks, htm) and /static/app.js
 *   GET /static/<name>        the dashboard's own files (src/web/static: *.js, *.css, *.svg), a fixed list
 *   GET /vendor/<name>        Preact, preact/hooks and htm as ES modules, jsQR wrapped as an ES module,
 *                             read from node_modules (no CDN, nothing downloaded at run time)
 *   GET /enums.js             the API's enums (ResultCode, OsuStatus, ...) as an ES module, generated from
 *                             src/api/types.ts so that the page names codes exactly as the API does
 *
 * No build step: the browser code is plain ES modules (Preact + htm tagged templates), type-checked by
 * tsconfig.web.json. The page runs under a strict Content-Security-Policy: scripts only from this origin plus
 * the import map by its hash, no inline script or style, no eval, Trusted Types required for every DOM sink,
 * connections only to this origin, no framing. The page never receives a token, a session id or a
 * confirmation code: the session is an HttpOnly cookie set by POST /api/login.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CancelReason,
  OsuStatus,
  PolicyRules,
  ProfileClass,
  ProfileState,
  ResetOption,
  ResultCode,
  SolvableErrors,
} from '../api/types.js';

/** What the daemon's HTTP API calls before its own routes; true when the request was answered. */
export type DashboardHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface DashboardOptions {
  /** Folder of the dashboard's static files (default: src/web/static of this package). */
  readonly staticDir?: string;
}

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * src/web/static beside this file (tsx / vitest), or the package's src/web/static from dist/web; for a
 * bundled copy of the daemon (tests run children from esbuild bundles in a temp folder): $ESIM_WEB_STATIC,
 * then src/web/static under the working directory.
 */
export function defaultStaticDir(): string {
  const candidates = [
    ...(process.env['ESIM_WEB_STATIC'] ? [process.env['ESIM_WEB_STATIC']] : []),
    join(HERE, 'static'),
    join(HERE, '..', '..', 'src', 'web', 'static'),
    join(process.cwd(), 'src', 'web', 'static'),
  ];
  for (const c of candidates) if (existsSync(join(c, 'app.js'))) return c;
  throw new Error(`dashboard: static files not found (looked in ${candidates.join(', ')})`);
}

const CONTENT_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

const STATIC_NAME = /^[a-z0-9][a-z0-9-]*\.(js|css|svg)$/;

const BASE_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** The import map of the page: bare specifiers of the browser code → files served under /vendor. */
export const IMPORT_MAP = JSON.stringify({
  imports: {
    preact: '/vendor/preact.mjs',
    'preact/hooks': '/vendor/preact-hooks.mjs',
    htm: '/vendor/htm.mjs',
  },
});

/** The page's Content-Security-Policy (the import map is the only inline script, allowed by its hash). */
export function contentSecurityPolicy(importMap = IMPORT_MAP): string {
  const hash = createHash('sha256').update(importMap, 'utf8').digest('base64');
  return [
    "default-src 'none'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    "connect-src 'self'",
    "manifest-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

function indexHtml(importMap: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="esimkit-dashboard">
<title>esimkit dashboard</title>
<link rel="stylesheet" href="/static/style.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<script type="importmap">${importMap}</script>
<script type="module" src="/static/app.js"></script>
</head>
<body>
<div id="app"><p class="loading">Loading the dashboard…</p></div>
<noscript><p>The esimkit dashboard needs JavaScript (ES modules). The command line (<code>esim --help</code>) offers the same functions.</p></noscript>
</body>
</html>
`;
}

/** An enum object (numeric TS enum) → { NAME: value } without the reverse mapping. */
function enumEntries(e: Record<string, string | number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(e)) if (typeof v === 'number') out[k] = v;
  return out;
}

/** /enums.js: the API's enums as frozen objects, from src/api/types.ts. */
export function enumsModule(): string {
  const enums: Record<string, Record<string, string | number>> = {
    ResultCode,
    OsuStatus,
    ProfileState,
    ProfileClass,
    PolicyRules,
    SolvableErrors,
    CancelReason,
    ResetOption,
  };
  const lines = ['// Generated by the daemon from src/api/types.ts (the eSIM API enums).'];
  for (const [name, e] of Object.entries(enums)) lines.push(`export const ${name} = Object.freeze(${JSON.stringify(enumEntries(e))});`);
  return lines.join('\n') + '\n';
}

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

/** The vendored browser modules, resolved in node_modules like any dependency. */
function vendorAssets(staticDir: string): Map<string, () => Asset> {
  // resolved from this module, or from the package that holds the static folder (<root>/src/web/static) when
  // this module runs from a bundle outside the package
  const fromHere = createRequire(import.meta.url);
  const fromRoot = createRequire(join(staticDir, '..', '..', '..', 'package.json'));
  const require = {
    resolve: (id: string): string => {
      try {
        return fromHere.resolve(id);
      } catch {
        return fromRoot.resolve(id);
      }
    },
  };
  const js = CONTENT_TYPES['js']!;
  const file = (path: string) => (): Asset => ({ body: readFileSync(path), type: js });
  const m = new Map<string, () => Asset>();
  m.set('preact.mjs', file(require.resolve('preact')));
  m.set('preact-hooks.mjs', file(require.resolve('preact/hooks')));
  // htm's package exports map `require` to dist/htm.js; its ES module sits beside it
  m.set('htm.mjs', file(join(dirname(require.resolve('htm')), 'htm.mjs')));
  // jsQR ships a UMD bundle only: give it a CommonJS `module` to fill, then export its default
  const jsqrPath = require.resolve('jsqr');
  m.set('jsqr.mjs', () => {
    const src = readFileSync(jsqrPath, 'utf8');
    const body =
      'const module = { exports: {} }; const exports = module.exports;\n' +
      src +
      '\nconst jsQR = module.exports && module.exports.default ? module.exports.default : module.exports;\nexport default jsQR;\n';
    return { body: Buffer.from(body, 'utf8'), type: js };
  });
  return m;
}

/**
 * The dashboard's request handler for `HttpApiOptions.handle`: answers GET (and HEAD) requests for the page,
 * its static files, the vendored modules and /enums.js; returns false for everything else (the HTTP API's
 * routes: /api/*). The HTTP API has checked the Host header before.
 */
export function dashboardHandler(o: DashboardOptions = {}): DashboardHandler {
  const staticDir = o.staticDir ?? defaultStaticDir();
  const importMap = IMPORT_MAP;
  const csp = contentSecurityPolicy(importMap);
  const page = Buffer.from(indexHtml(importMap), 'utf8');
  const enums = Buffer.from(enumsModule(), 'utf8');

  // a fixed list: only files present at start, with a safe name (no path is ever built from the URL)
  const staticFiles = new Map<string, string>();
  for (const name of readdirSync(staticDir)) if (STATIC_NAME.test(name)) staticFiles.set(name, join(staticDir, name));
  const vendor = vendorAssets(staticDir);
  const cache = new Map<string, Asset>();

  const send = (req: IncomingMessage, res: ServerResponse, status: number, body: Buffer, type: string, extra: Record<string, string> = {}): true => {
    res.writeHead(status, { ...BASE_HEADERS, 'content-type': type, 'content-length': String(body.length), ...extra });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };

  const asset = (key: string, load: () => Asset): Asset => {
    let a = cache.get(key);
    if (!a) cache.set(key, (a = load()));
    return a;
  };

  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    } catch {
      return false;
    }
    if (path === '/' || path === '/index.html') {
      return send(req, res, 200, page, 'text/html; charset=utf-8', { 'content-security-policy': csp, 'cache-control': 'no-store' });
    }
    if (path === '/enums.js') return send(req, res, 200, enums, CONTENT_TYPES['js']!, { 'cache-control': 'no-cache' });
    if (path.startsWith('/static/')) {
      const name = path.slice('/static/'.length);
      const file = staticFiles.get(name);
      if (!file) return notFound(req, res);
      const ext = name.slice(name.lastIndexOf('.') + 1);
      const a = asset(`static/${name}`, () => ({ body: readFileSync(file), type: CONTENT_TYPES[ext]! }));
      return send(req, res, 200, a.body, a.type, { 'cache-control': 'no-cache' });
    }
    if (path.startsWith('/vendor/')) {
      const name = path.slice('/vendor/'.length);
      const load = vendor.get(name);
      if (!load) return notFound(req, res);
      const a = asset(`vendor/${name}`, load);
      return send(req, res, 200, a.body, a.type, { 'cache-control': 'no-cache' });
    }
    return false;
  };

  function notFound(req: IncomingMessage, res: ServerResponse): true {
    return send(req, res, 404, Buffer.from('not found\n', 'utf8'), 'text/plain; charset=utf-8');
  }
}
