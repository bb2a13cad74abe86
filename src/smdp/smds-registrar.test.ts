/**
 * The SM-DP+'s ES12 registrations table and worker: schema migration of an older file, conditional state
 * changes, ended orders → delete-pending, and the retry bound against an SM-DS that never answers (a closed
 * port on 127.0.0.1). The full flows with a real SM-DS are in test/smds-registration.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCi, createDpTls } from '../crypto/pki.js';
import { SmdsRegistrar, SmdsRegistrationStore, migrateSmdsRegistrations, type SmdsRegistration } from './smds-registrar.js';

const EID = '89049032123451234512345678901235';
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'esimkit-smds-registrar-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An inventory-like database: the orders table the store joins with. */
function db(path = ':memory:'): Database.Database {
  const d = new Database(path);
  d.exec("CREATE TABLE IF NOT EXISTS orders (matching_id TEXT PRIMARY KEY, iccid TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'active')");
  return d;
}
const reg = (eventId: string, smdsAddress = 'smds.example.com') => ({ smdsAddress, eventId, matchingId: eventId, eid: EID, rspServerAddress: 'smdp.example.com' });

describe('smds_registrations schema', () => {
  it('an older table without the later columns gets them; data is kept; migrating twice changes nothing', () => {
    const path = join(dir, 'old.db');
    const d = db(path);
    d.exec(`CREATE TABLE smds_registrations (smds_address TEXT NOT NULL, event_id TEXT NOT NULL, matching_id TEXT NOT NULL, eid TEXT NOT NULL,
      rsp_server_address TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (smds_address, event_id));
      INSERT INTO smds_registrations VALUES ('smds.example.com', 'OLD-1', 'OLD-1', '${EID}', 'smdp.example.com', 'registered');`);
    migrateSmdsRegistrations(d);
    migrateSmdsRegistrations(d);
    const cols = (d.prepare('PRAGMA table_info(smds_registrations)').all() as { name: string }[]).map((c) => c.name);
    expect(cols).toEqual(expect.arrayContaining(['forwarding', 'root_smds_address', 'attempts', 'last_error', 'next_attempt_at', 'created_at', 'updated_at']));
    const s = new SmdsRegistrationStore(d);
    expect(s.get('smds.example.com', 'OLD-1')).toMatchObject({ state: 'registered', attempts: 0, forwardingIndicator: false });
    d.close();
  });

  it('add / duplicate / conditional transitions / nextDue order and skip', () => {
    const d = db();
    const s = new SmdsRegistrationStore(d);
    s.add(reg('A'));
    s.add(reg('B'));
    expect(() => s.add(reg('A'))).toThrow(/UNIQUE|PRIMARY/);
    s.add(reg('A', 'other-smds.example.com')); // same eventId on another SM-DS is another row
    expect(s.all().map((r) => [r.smdsAddress, r.eventId, r.state])).toEqual([
      ['smds.example.com', 'A', 'pending'],
      ['smds.example.com', 'B', 'pending'],
      ['other-smds.example.com', 'A', 'pending'],
    ]);
    expect(s.nextDue(Date.now(), new Set())?.eventId).toBe('A');
    expect(s.nextDue(Date.now(), new Set(['smds.example.com\u0000A']))?.eventId).toBe('B');
    // from the wrong state: nothing changes
    expect(s.transition(reg('A'), 'registered', { state: 'deleted', attempts: 9 })).toBe(false);
    expect(s.get('smds.example.com', 'A')?.state).toBe('pending');
    expect(s.transition(reg('A'), 'pending', { state: 'pending', attempts: 1, lastError: 'x', nextAttemptAt: Date.now() + 60_000 })).toBe(true);
    expect(s.nextDue(Date.now(), new Set())?.eventId).toBe('B'); // A waits
    expect(s.openCount()).toBe(3);
    d.close();
  });

  it('registrations of orders that are no longer active become delete-pending (attempts reset); finished ones stay', () => {
    const d = db();
    const s = new SmdsRegistrationStore(d);
    d.exec("INSERT INTO orders VALUES ('ACT', '1', 'active'), ('DONE', '2', 'done'), ('CANC', '3', 'cancelled'), ('FAIL', '4', 'failed'), ('OLD', '5', 'done')");
    for (const m of ['ACT', 'DONE', 'CANC', 'FAIL', 'OLD', 'GONE']) s.add(reg(m));
    s.transition(reg('DONE'), 'pending', { state: 'registered', attempts: 3 });
    s.transition(reg('FAIL'), 'pending', { state: 'failed', attempts: 8, lastError: 'refused' });
    s.transition(reg('OLD'), 'pending', { state: 'deleted', attempts: 1 });
    expect(s.markEndedOrders()).toBe(4); // DONE, CANC, FAIL, GONE (no order at all)
    const st = Object.fromEntries(s.all().map((r) => [r.eventId, [r.state, r.attempts, r.lastError ?? null]]));
    expect(st).toEqual({
      ACT: ['pending', 0, null],
      DONE: ['delete-pending', 0, null],
      CANC: ['delete-pending', 0, null],
      FAIL: ['delete-pending', 0, null],
      OLD: ['deleted', 1, null],
      GONE: ['delete-pending', 0, null],
    });
    expect(s.markEndedOrders()).toBe(0);
    d.close();
  });
});

describe('SmdsRegistrar retry bound', () => {
  it('an SM-DS that refuses connections: bounded attempts, then failed with 8.9/5.1; the delete phase is bounded too', async () => {
    // a port that was free a moment ago: nothing listens
    const port = await new Promise<number>((res) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => res(p));
      });
    });
    const ci = createCi();
    const tls = createDpTls(ci, 'localhost');
    const d = db();
    const warnings: string[] = [];
    const r = new SmdsRegistrar(d, {
      trustedCis: [ci.certDer],
      clientTls: { certPem: tls.certPem, keyPem: tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string },
      resolve: () => '127.0.0.1',
      maxAttempts: 3,
      retryDelayMs: 5,
      maxRetryDelayMs: 10,
      pollIntervalMs: 0,
      timeoutMs: 2000,
      onWarning: (m) => warnings.push(m),
    });
    const changes: SmdsRegistration[] = [];
    r.onChange((x) => changes.push(x));
    const address = `localhost:${port}`;
    const finished = (state: string) =>
      new Promise<SmdsRegistration>((res) => {
        const off = r.onChange((x) => {
          if (x.state === state) {
            off();
            res(x);
          }
        });
      });
    try {
      d.prepare("INSERT INTO orders VALUES ('EV-1', '1', 'active')").run();
      const failed = finished('failed');
      r.add({ smdsAddress: address, eventId: 'EV-1', matchingId: 'EV-1', eid: EID, rspServerAddress: 'localhost:8443' });
      r.start();
      const f = await failed;
      expect(f.attempts).toBe(3);
      expect(f.lastError).toMatch(/^8\.9\/5\.1 SM-DS unreachable/);
      expect(f.nextAttemptAt).toBeUndefined();
      expect(changes.map((c) => [c.state, c.attempts])).toEqual([
        ['pending', 1],
        ['pending', 2],
        ['failed', 3],
      ]);
      expect(warnings).toHaveLength(3);
      expect(warnings.join('\n')).not.toMatch(/PRIVATE KEY/);
      // the order ends: a delete is tried (the event may have been created by a lost answer), bounded as well
      d.prepare("UPDATE orders SET state = 'cancelled'").run();
      const deleteFailed = finished('delete-failed');
      r.reconcile();
      expect((await deleteFailed).attempts).toBe(3);
      await r.whenIdle();
      expect(r.store.openCount()).toBe(0);
    } finally {
      await r.close();
      d.close();
    }
  });
});
