/**
 * The registry of callers (apps) of the service: bundle name, system app or not, granted permissions, and a
 * token stored only as its SHA-256 (hex). A token is 32 random bytes in base64url, shown once (add, rotate).
 *
 * The table `apps` lives in the service's SQLite database (ESIM_HOME/service.db, WAL), so `esim apps ...`
 * can change it while the daemon runs: the daemon resolves the caller of every call again from the table,
 * so a revoked permission answers 201 on the next call and a removed app or rotated token is refused.
 *
 * The home's shell token (ESIM_HOME/shell.token) resolves to SHELL_CALLER (system, every permission).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { GET_PERMISSION, SET_OPEN_PERMISSION, SET_PERMISSION, SHELL_CALLER, type Caller } from './protocol.js';

/** The permissions an app can be granted (OpenHarmony names). */
export const KNOWN_PERMISSIONS: readonly string[] = Object.freeze([GET_PERMISSION, SET_PERMISSION, SET_OPEN_PERMISSION]);

const SHORT_PERMISSIONS: Readonly<Record<string, string>> = Object.freeze({
  GET: GET_PERMISSION,
  SET: SET_PERMISSION,
  SET_OPEN: SET_OPEN_PERMISSION,
  GET_TELEPHONY_ESIM_STATE: GET_PERMISSION,
  SET_TELEPHONY_ESIM_STATE: SET_PERMISSION,
  SET_TELEPHONY_ESIM_STATE_OPEN: SET_OPEN_PERMISSION,
});

export type CallerRegistryErrorKind = 'invalid' | 'exists' | 'not-found';

/** A bad bundle name or permission ('invalid'), a duplicate ('exists') or an unknown bundle ('not-found'). State is unchanged. */
export class CallerRegistryError extends Error {
  override readonly name = 'CallerRegistryError';
  constructor(
    readonly kind: CallerRegistryErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** `GET`, `SET`, `SET_OPEN` (any case) or the full `ohos.permission.*` name → the full name; else CallerRegistryError('invalid'). */
export function normalizePermission(p: string): string {
  if (typeof p !== 'string') throw new CallerRegistryError('invalid', 'a permission must be a string');
  if (KNOWN_PERMISSIONS.includes(p)) return p;
  const short = SHORT_PERMISSIONS[p.toUpperCase().replace(/-/g, '_')];
  if (short) return short;
  throw new CallerRegistryError(
    'invalid',
    `unknown permission "${p}" (use GET, SET, SET_OPEN or one of ${KNOWN_PERMISSIONS.join(', ')})`,
  );
}

const BUNDLE_RE = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

/** OpenHarmony-style bundle names: dot-separated identifiers, 1..128 characters; `shell` is reserved. */
export function validateBundleName(name: string): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > 128 || !BUNDLE_RE.test(name)) {
    throw new CallerRegistryError('invalid', `invalid bundle name "${String(name)}" (expected e.g. com.example.app, at most 128 characters)`);
  }
  if (name === SHELL_CALLER.bundleName) throw new CallerRegistryError('invalid', `the bundle name "${name}" is reserved for the shell identity`);
  return name;
}

/** A new token: 32 random bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 of a token (what is stored and compared). */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export interface AppEntry {
  readonly bundleName: string;
  readonly systemApp: boolean;
  readonly permissions: string[];
  readonly createdAt: number;
}

interface AppRow {
  bundle_name: string;
  system_app: number;
  permissions: string;
  token_sha256: string;
  created_at: number;
}

export interface CallerRegistryOptions {
  /** The home's shell token file: the token in it resolves to SHELL_CALLER. */
  readonly shellTokenFile?: string;
  readonly now?: () => number;
}

/** Local changes per database connection (PRAGMA data_version only reflects other connections' commits). */
const localGeneration = new WeakMap<Database.Database, number>();

interface CachedApp {
  readonly digest: Buffer;
  readonly caller: Caller;
}

export class CallerRegistry {
  private cache: { dataVersion: number; generation: number; apps: CachedApp[] } | undefined;
  private readonly all: Database.Statement<[], AppRow>;
  private readonly byName: Database.Statement<[string], AppRow>;
  private readonly dataVersion: Database.Statement<[], number>;
  private readonly shellTokenFile: string | undefined;
  private readonly now: () => number;
  private shellCache: { mtimeMs: number; size: number; ino: number; digest: Buffer | undefined } | undefined;

  constructor(
    private readonly db: Database.Database,
    o: CallerRegistryOptions = {},
  ) {
    this.shellTokenFile = o.shellTokenFile;
    this.now = o.now ?? Date.now;
    db.exec(`CREATE TABLE IF NOT EXISTS apps (
      bundle_name TEXT PRIMARY KEY,
      system_app INTEGER NOT NULL,
      permissions TEXT NOT NULL,
      token_sha256 TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`);
    this.all = db.prepare('SELECT * FROM apps ORDER BY bundle_name');
    this.byName = db.prepare('SELECT * FROM apps WHERE bundle_name = ?');
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /** Register an app; returns its token (shown once, stored hashed). */
  add(bundleName: string, o: { systemApp: boolean; permissions: string[] }): { token: string } {
    validateBundleName(bundleName);
    const perms = uniqueSorted(o.permissions.map(normalizePermission));
    const token = newToken();
    const digest = tokenDigest(token).toString('hex');
    const r = this.db
      .prepare('INSERT OR IGNORE INTO apps (bundle_name, system_app, permissions, token_sha256, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(bundleName, o.systemApp ? 1 : 0, JSON.stringify(perms), digest, this.now());
    if (r.changes === 0) throw new CallerRegistryError('exists', `app ${bundleName} is already registered (use rotate-token for a new token)`);
    this.changed();
    return { token };
  }

  grant(bundleName: string, permission: string): void {
    const p = normalizePermission(permission);
    this.update(bundleName, (perms) => uniqueSorted([...perms, p]));
  }

  revoke(bundleName: string, permission: string): void {
    const p = normalizePermission(permission);
    this.update(bundleName, (perms) => perms.filter((x) => x !== p));
  }

  remove(bundleName: string): void {
    const r = this.db.prepare('DELETE FROM apps WHERE bundle_name = ?').run(bundleName);
    this.changed();
    if (r.changes === 0) throw notFound(bundleName);
  }

  list(): AppEntry[] {
    return this.all.all().map(toEntry);
  }

  get(bundleName: string): AppEntry | undefined {
    const row = this.byName.get(bundleName);
    return row ? toEntry(row) : undefined;
  }

  /** A new token for the app; the old one stops working at once. */
  rotate(bundleName: string): { token: string } {
    const token = newToken();
    const r = this.db.prepare('UPDATE apps SET token_sha256 = ? WHERE bundle_name = ?').run(tokenDigest(token).toString('hex'), bundleName);
    this.changed();
    if (r.changes === 0) throw notFound(bundleName);
    return { token };
  }

  /** The caller a token stands for (constant-time comparison of SHA-256 digests), or undefined. */
  resolveToken(token: string): Caller | undefined {
    if (typeof token !== 'string' || token.length === 0 || token.length > 512) return undefined;
    return this.resolveDigest(tokenDigest(token));
  }

  /**
   * The caller for a token digest, read from the table now (the daemon calls this for every call, so grants,
   * revocations, removals and rotations apply at once). Every candidate is compared, in constant time.
   */
  resolveDigest(digest: Buffer): Caller | undefined {
    if (digest.length !== 32) return undefined;
    let found: Caller | undefined;
    const shell = this.shellDigest();
    if (shell && timingSafeEqual(shell, digest)) found = SHELL_CALLER;
    for (const app of this.apps()) {
      if (timingSafeEqual(app.digest, digest) && !found) found = app.caller;
    }
    return found;
  }

  /** The apps table, re-read only when it may have changed (another connection committed, or a local change). */
  private apps(): CachedApp[] {
    const dataVersion = this.dataVersion.get() as number;
    const generation = localGeneration.get(this.db) ?? 0;
    const c = this.cache;
    if (c && c.dataVersion === dataVersion && c.generation === generation) return c.apps;
    const apps: CachedApp[] = [];
    for (const row of this.all.iterate()) {
      const d = Buffer.from(row.token_sha256, 'hex');
      if (d.length !== 32) continue;
      apps.push({ digest: d, caller: Object.freeze({ bundleName: row.bundle_name, systemApp: row.system_app === 1, permissions: Object.freeze(parsePerms(row.permissions)) }) });
    }
    this.cache = { dataVersion, generation, apps };
    return apps;
  }

  private changed(): void {
    localGeneration.set(this.db, (localGeneration.get(this.db) ?? 0) + 1);
  }

  private shellDigest(): Buffer | undefined {
    if (!this.shellTokenFile) return undefined;
    let st;
    try {
      st = statSync(this.shellTokenFile);
    } catch {
      this.shellCache = undefined;
      return undefined;
    }
    const c = this.shellCache;
    if (c && c.mtimeMs === st.mtimeMs && c.size === st.size && c.ino === st.ino) return c.digest;
    let digest: Buffer | undefined;
    try {
      const t = readFileSync(this.shellTokenFile, 'utf8').trim();
      digest = t.length > 0 ? tokenDigest(t) : undefined;
    } catch {
      digest = undefined;
    }
    this.shellCache = { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino, digest };
    return digest;
  }

  private update(bundleName: string, f: (perms: string[]) => string[]): void {
    const tx = this.db.transaction(() => {
      const row = this.byName.get(bundleName);
      if (!row) throw notFound(bundleName);
      this.db.prepare('UPDATE apps SET permissions = ? WHERE bundle_name = ?').run(JSON.stringify(f(parsePerms(row.permissions))), bundleName);
    });
    try {
      tx.immediate();
    } finally {
      this.changed();
    }
  }
}

function notFound(bundleName: string): CallerRegistryError {
  return new CallerRegistryError('not-found', `no app ${bundleName} is registered`);
}

function uniqueSorted(xs: string[]): string[] {
  return [...new Set(xs)].sort();
}

function parsePerms(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function toEntry(row: AppRow): AppEntry {
  return { bundleName: row.bundle_name, systemApp: row.system_app === 1, permissions: parsePerms(row.permissions), createdAt: row.created_at };
}
