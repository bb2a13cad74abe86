import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ActivationCodeError } from '../asn1/activation-code.js';
import { openServiceStore, ServiceStoreError } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'esimkit-store-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newPath = (): string => join(root, `service-${n++}.db`);

const AC = 'LPA:1$smdp.example.com:8443$ABCDE-12345';

describe('ServiceStore', () => {
  it('creates the file 0600 in WAL mode; the WAL files are 0600 too', () => {
    const path = newPath();
    const s = openServiceStore(path);
    try {
      s.setOsu(0, { status: 3, version: '1.1.0' });
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
      for (const f of readdirSync(root).filter((x) => x.startsWith(path.split('/').pop()!))) {
        expect(statSync(join(root, f)).mode & 0o777, f).toBe(0o600);
      }
    } finally {
      s.close();
    }
  });

  it('OSU status and the factory-restore flag survive a reopen', () => {
    const path = newPath();
    let t = 1000;
    const s = openServiceStore(path, { now: () => t });
    expect(s.getOsu(0)).toBeUndefined();
    expect(s.getFactoryReserve(0)).toBe(false);
    s.setOsu(0, { status: 1, version: '1.1.0' });
    t = 2000;
    s.setOsu(0, { status: 3, version: '1.1.0' });
    s.setOsu(1, { status: 4 });
    s.setFactoryReserve(1, true);
    s.close();
    const r = openServiceStore(path);
    try {
      expect(r.getOsu(0)).toEqual({ status: 3, version: '1.1.0', updatedAt: 2000 });
      expect(r.getOsu(1)).toEqual({ status: 4, updatedAt: 2000 });
      expect(r.getFactoryReserve(1)).toBe(true);
      expect(r.getFactoryReserve(0)).toBe(false);
      r.setFactoryReserve(1, false);
      expect(r.getFactoryReserve(1)).toBe(false);
    } finally {
      r.close();
    }
  });

  it('bad values throw a typed error and change nothing', () => {
    const s = openServiceStore(':memory:');
    try {
      s.setOsu(0, { status: 4 });
      expect(() => s.setOsu(0, { status: 9 })).toThrow(ServiceStoreError);
      expect(() => s.setOsu(-1, { status: 3 })).toThrow(ServiceStoreError);
      expect(() => s.setFactoryReserve(1.5, true)).toThrow(ServiceStoreError);
      expect(s.getOsu(0)?.status).toBe(4);
      expect(() => s.addPending({ slotId: 0, activationCode: 'LPA:1$bad address$X', caller: 'a' })).toThrow(ActivationCodeError);
      expect(() => s.addPending({ slotId: 0, activationCode: AC, confirmationCode: '', caller: 'a' })).toThrow(ServiceStoreError);
      expect(() => s.addPending({ slotId: 0, activationCode: AC, caller: '' })).toThrow(ServiceStoreError);
      expect(s.listPending()).toEqual([]);
    } finally {
      s.close();
    }
  });

  it('the addProfile queue: listed without codes, taken once with them, persisted', () => {
    const path = newPath();
    let t = 10;
    const s = openServiceStore(path, { now: () => t++ });
    const a = s.addPending({ slotId: 0, activationCode: AC, confirmationCode: '1234', carrierName: 'Example', caller: 'com.example.app' });
    const b = s.addPending({ slotId: 1, activationCode: '1$10.0.0.1$', caller: 'shell' });
    expect(a).toEqual({ id: a.id, slotId: 0, smdpAddress: 'smdp.example.com:8443', carrierName: 'Example', hasConfirmationCode: true, caller: 'com.example.app', createdAt: 10 });
    expect(b).toMatchObject({ slotId: 1, smdpAddress: '10.0.0.1', hasConfirmationCode: false });
    expect(b.carrierName).toBeUndefined();
    s.close();
    const r = openServiceStore(path);
    try {
      const list = r.listPending();
      expect(list.map((p) => p.id)).toEqual([a.id, b.id]);
      expect(JSON.stringify(list)).not.toContain('1234');
      expect(JSON.stringify(list)).not.toContain('ABCDE-12345');
      const got = r.takePending(a.id);
      expect(got).toMatchObject({ id: a.id, activationCode: AC, confirmationCode: '1234', hasConfirmationCode: true });
      expect(r.takePending(a.id)).toBeUndefined();
      expect(r.takePending(b.id)?.confirmationCode).toBeUndefined();
      expect(r.listPending()).toEqual([]);
    } finally {
      r.close();
    }
  });

  it('other modules can add their own tables to db', () => {
    const path = newPath();
    const s = openServiceStore(path);
    s.db.exec('CREATE TABLE IF NOT EXISTS apps (bundle TEXT PRIMARY KEY)');
    s.db.prepare('INSERT INTO apps VALUES (?)').run('x');
    s.close();
    const r = openServiceStore(path);
    try {
      expect(r.db.prepare('SELECT bundle FROM apps').all()).toEqual([{ bundle: 'x' }]);
    } finally {
      r.close();
    }
  });

  it('a store from a newer esimkit (schema version) is refused', () => {
    const path = newPath();
    const s = openServiceStore(path);
    s.db.pragma('user_version = 99');
    s.close();
    expect(() => openServiceStore(path)).toThrow(/schema version 99/);
    expect(existsSync(path)).toBe(true);
  });
});
