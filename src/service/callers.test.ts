import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallerRegistry, CallerRegistryError, normalizePermission, tokenDigest } from './callers.js';
import { GET_PERMISSION, SET_OPEN_PERMISSION, SET_PERMISSION, SHELL_CALLER } from './protocol.js';

describe('CallerRegistry', () => {
  let dir: string;
  let db: Database.Database;
  let reg: CallerRegistry;
  const shellFile = (): string => join(dir, 'shell.token');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-callers-'));
    db = new Database(join(dir, 'service.db'));
    db.pragma('journal_mode = WAL');
    reg = new CallerRegistry(db, { shellTokenFile: shellFile(), now: () => 1234 });
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds an app, returns a 32-byte base64url token once and stores only its SHA-256', () => {
    const { token } = reg.add('com.example.app', { systemApp: true, permissions: ['GET', 'SET'] });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    const rows = db.prepare('SELECT * FROM apps').all() as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows[0]!['token_sha256']).toBe(tokenDigest(token).toString('hex'));
    expect(reg.list()).toEqual([{ bundleName: 'com.example.app', systemApp: true, permissions: [GET_PERMISSION, SET_PERMISSION].sort(), createdAt: 1234 }]);
    expect(reg.resolveToken(token)).toEqual({ bundleName: 'com.example.app', systemApp: true, permissions: [GET_PERMISSION, SET_PERMISSION].sort() });
  });

  it('resolves nothing for unknown, empty, oversized or near-miss tokens', () => {
    const { token } = reg.add('com.example.app', { systemApp: false, permissions: [] });
    expect(reg.resolveToken('')).toBeUndefined();
    expect(reg.resolveToken('x'.repeat(10_000))).toBeUndefined();
    expect(reg.resolveToken(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(reg.resolveToken(token + ' ')).toBeUndefined();
    expect(reg.resolveDigest(Buffer.alloc(5))).toBeUndefined();
  });

  it('grants and revokes short and full permission names; the caller changes at once', () => {
    const { token } = reg.add('com.example.app', { systemApp: true, permissions: [] });
    reg.grant('com.example.app', 'get');
    reg.grant('com.example.app', SET_PERMISSION);
    reg.grant('com.example.app', 'SET_OPEN');
    reg.grant('com.example.app', 'GET'); // idempotent
    expect(reg.resolveToken(token)!.permissions).toEqual([GET_PERMISSION, SET_PERMISSION, SET_OPEN_PERMISSION].sort());
    reg.revoke('com.example.app', 'SET');
    expect(reg.resolveToken(token)!.permissions).toEqual([GET_PERMISSION, SET_OPEN_PERMISSION].sort());
    reg.revoke('com.example.app', 'SET'); // revoking an absent permission changes nothing
    expect(reg.get('com.example.app')!.permissions).toEqual([GET_PERMISSION, SET_OPEN_PERMISSION].sort());
  });

  it('rejects unknown permissions, bad or reserved bundle names and duplicates, leaving state unchanged', () => {
    reg.add('com.example.app', { systemApp: false, permissions: ['GET'] });
    const before = reg.list();
    const kind = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(CallerRegistryError);
        return (e as CallerRegistryError).kind;
      }
      return 'none';
    };
    expect(kind(() => reg.grant('com.example.app', 'ohos.permission.CAMERA'))).toBe('invalid');
    expect(kind(() => reg.add('com.other', { systemApp: false, permissions: ['GET', 'ROOT'] }))).toBe('invalid');
    expect(kind(() => reg.add('shell', { systemApp: true, permissions: [] }))).toBe('invalid');
    expect(kind(() => reg.add('bad name!', { systemApp: true, permissions: [] }))).toBe('invalid');
    expect(kind(() => reg.add('', { systemApp: true, permissions: [] }))).toBe('invalid');
    expect(kind(() => reg.add('com.example.app', { systemApp: true, permissions: [] }))).toBe('exists');
    expect(kind(() => reg.grant('com.nobody', 'GET'))).toBe('not-found');
    expect(kind(() => reg.remove('com.nobody'))).toBe('not-found');
    expect(kind(() => reg.rotate('com.nobody'))).toBe('not-found');
    expect(reg.list()).toEqual(before);
    expect(() => normalizePermission('SET_TELEPHONY_ESIM_STATE')).not.toThrow();
  });

  it('rotate-token invalidates the old token; remove invalidates the app', () => {
    const { token: t1 } = reg.add('com.example.app', { systemApp: true, permissions: ['GET'] });
    const { token: t2 } = reg.rotate('com.example.app');
    expect(t2).not.toBe(t1);
    expect(reg.resolveToken(t1)).toBeUndefined();
    expect(reg.resolveToken(t2)?.bundleName).toBe('com.example.app');
    reg.remove('com.example.app');
    expect(reg.resolveToken(t2)).toBeUndefined();
    expect(reg.list()).toEqual([]);
  });

  it("resolves the home's shell token to SHELL_CALLER and follows a replaced token file", () => {
    expect(reg.resolveToken('anything')).toBeUndefined(); // no shell.token yet
    writeFileSync(shellFile(), 'shell-token-one\n', { mode: 0o600 });
    expect(reg.resolveToken('shell-token-one')).toBe(SHELL_CALLER);
    writeFileSync(shellFile(), 'shell-token-number-two\n', { mode: 0o600 });
    expect(reg.resolveToken('shell-token-number-two')).toBe(SHELL_CALLER);
    expect(reg.resolveToken('shell-token-one')).toBeUndefined();
  });

  it('sees changes made through another connection to the same database (the CLI while the daemon runs)', () => {
    const { token } = reg.add('com.example.app', { systemApp: true, permissions: ['GET', 'SET'] });
    const other = new Database(join(dir, 'service.db'));
    try {
      new CallerRegistry(other).revoke('com.example.app', 'SET');
    } finally {
      other.close();
    }
    expect(reg.resolveToken(token)!.permissions).toEqual([GET_PERMISSION]);
  });
});
