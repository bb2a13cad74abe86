import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProfilePackage } from '../asn1/saip.js';
import { InventoryError, SmdpInventory, confirmationCodeHash } from './inventory.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function upp(iccid: string): Uint8Array {
  return buildProfilePackage({ iccid });
}

describe('SmdpInventory', () => {
  it('survives a restart: profiles, orders, sessions, notifications; file mode 0600', () => {
    const d = mkdtempSync(join(tmpdir(), 'smdp-inv-'));
    dirs.push(d);
    const path = join(d, 'smdp.db');
    let inv = new SmdpInventory(path);
    const { iccid } = inv.addProfile(upp('8949449999999990049'), { serviceProviderName: 'SPN', profileType: 'T' });
    const { matchingId } = inv.createOrder({ profileType: 'T', confirmationCode: '1234' });
    inv.createSession({ transactionId: 'AA', euiccChallenge: new Uint8Array(16), serverChallenge: new Uint8Array(16), ciPkid: new Uint8Array(20), ttlMs: 60_000 });
    inv.recordNotification({ eid: 'E', seqNumber: 1, event: 'install', verified: true, raw: Uint8Array.of(1) });
    inv.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    inv = new SmdpInventory(path);
    expect(inv.profileState(iccid)).toBe('released');
    expect(inv.order(matchingId)).toMatchObject({ iccid, ccRequired: true, state: 'active' });
    expect(inv.ccHash(matchingId)).toEqual(confirmationCodeHash('1234'));
    expect(inv.session('AA')?.state).toBe('initiated');
    expect(inv.receivedNotifications()).toHaveLength(1);
    expect(inv.storeMetadata(iccid, 'x').serviceProviderName).toBe('SPN');
    inv.close();
  });

  it('durability: a file is WAL + synchronous NORMAL with group-commit durable(); :memory: syncs nothing', async () => {
    const d = mkdtempSync(join(tmpdir(), 'smdp-inv-'));
    dirs.push(d);
    const path = join(d, 'smdp.db');
    const inv = new SmdpInventory(path);
    expect(inv.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(inv.db.pragma('synchronous', { simple: true })).toBe(1);
    inv.addProfile(upp('8949449999999990056'));
    const first = inv.durable();
    // callers of the same turn share one sync at its end, which covers commits made after they asked
    inv.addProfile(upp('8949449999999990064'));
    const second = inv.durable();
    let settled = 0;
    void Promise.all([first, second]).then(() => settled++);
    await Promise.resolve();
    expect(settled).toBe(0); // not before the end of the turn
    await Promise.all([first, second]);
    expect(settled).toBe(1);
    await inv.durable(); // nothing new: resolves without a sync
    // a sync in another turn covers what was committed before it
    inv.addProfile(upp('8949449999999990114'));
    inv.db.prepare('DELETE FROM profile_upps WHERE iccid = ?').run('8949449999999990114');
    inv.db.prepare('DELETE FROM profiles WHERE iccid = ?').run('8949449999999990114');
    await inv.durable();
    // a nested transaction() is one commit, rolled back as a whole on error
    expect(() =>
      inv.transaction(() => {
        inv.addProfile(upp('8949449999999990072'));
        inv.transaction(() => inv.addProfile(upp('8949449999999990080')));
        throw new Error('abort');
      }),
    ).toThrow('abort');
    expect(inv.profiles().map((p) => p.iccid)).toEqual(['8949449999999990056', '8949449999999990064']);
    inv.addProfile(upp('8949449999999990098'));
    inv.close(); // syncs what durable() did not
    const again = new SmdpInventory(path);
    expect(again.profiles()).toHaveLength(3);
    again.close();
    const mem = new SmdpInventory(':memory:');
    expect(mem.db.pragma('synchronous', { simple: true })).toBe(2);
    mem.addProfile(upp('8949449999999990106'));
    await mem.durable();
    mem.close();
  });

  it('an older file with the UPPs inside profiles is migrated (UPPs moved to profile_upps, nothing lost)', () => {
    const d = mkdtempSync(join(tmpdir(), 'smdp-inv-'));
    dirs.push(d);
    const path = join(d, 'old.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE profiles (
      iccid TEXT PRIMARY KEY, upp BLOB NOT NULL, metadata TEXT NOT NULL, profile_type TEXT,
      state TEXT NOT NULL, eid TEXT, matching_id TEXT, updated_at INTEGER NOT NULL)`);
    const u = upp('8949449999999990122');
    old.prepare('INSERT INTO profiles VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('8949449999999990122', Buffer.from(u), '{"serviceProviderName":"S"}', 'T', 'released', null, null, 1);
    old.close();
    for (let i = 0; i < 2; i++) {
      const inv = new SmdpInventory(path); // the second open finds nothing to migrate
      expect(inv.upp('8949449999999990122')).toEqual(u);
      expect(inv.profile('8949449999999990122')).toMatchObject({ state: 'released', profileType: 'T', uppSize: u.length });
      expect((inv.db.prepare('PRAGMA table_info(profiles)').all() as { name: string }[]).map((c) => c.name)).not.toContain('upp');
      inv.close();
    }
  });

  it('opens a file whose sessions table predates bpp_seed (adds the column, keeps the rows)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'esimkit-inv-mig-'));
    try {
      const path = join(dir, 'old.sqlite');
      const old = new Database(path);
      old.exec(`CREATE TABLE sessions (
        transaction_id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
        euicc_challenge BLOB NOT NULL, server_challenge BLOB NOT NULL, ci_pkid BLOB NOT NULL, eid TEXT, matching_id TEXT,
        iccid TEXT, euicc_cert BLOB, eum_cert BLOB, smdp_signature2 BLOB, cc_required INTEGER NOT NULL DEFAULT 0,
        euicc_otpk BLOB, bpp BLOB, ac_request_hash BLOB, ac_response TEXT)`);
      old.prepare("INSERT INTO sessions (transaction_id, state, created_at, expires_at, euicc_challenge, server_challenge, ci_pkid, bpp, ac_response) VALUES ('AA', 'initiated', 0, ?, x'00', x'01', x'02', x'0303', '{}')").run(Date.now() + 60_000);
      old.close();
      const inv = new SmdpInventory(path);
      expect(inv.session('AA')).toMatchObject({ transactionId: 'AA', state: 'initiated', serverChallenge: Uint8Array.of(1) });
      expect(inv.session('AA')?.bppSeed).toBeUndefined();
      inv.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a session is small: no BPP and no answer stored, only what rebuilds them (bpp_seed, smdpSignature2)', () => {
    const inv = new SmdpInventory(':memory:');
    const { iccid } = inv.addProfile(upp('8949449999999990114'));
    const { matchingId } = inv.createOrder({ iccid });
    const eid = '89049032000000000000000000000094';
    inv.createSession({ transactionId: 'BB', euiccChallenge: new Uint8Array(16), serverChallenge: new Uint8Array(16).fill(1), ciPkid: new Uint8Array(20), ttlMs: 60_000 });
    inv.beginDownload(matchingId, eid);
    inv.authenticateSession('BB', { eid, matchingId, iccid, euiccCert: Uint8Array.of(1), smdpSignature2: Uint8Array.of(3), ccRequired: false, acRequestHash: Uint8Array.of(4) });
    inv.issueBpp('BB', iccid, eid, Uint8Array.of(5), Uint8Array.of(7, 7));
    expect(inv.session('BB')).toMatchObject({ state: 'bpp-issued', smdpSignature2: Uint8Array.of(3), euiccOtpk: Uint8Array.of(5), bppSeed: Uint8Array.of(7, 7), acRequestHash: Uint8Array.of(4) });
    expect(inv.profileState(iccid)).toBe('downloaded');
    const row = inv.db.prepare("SELECT length(bpp) AS b, length(ac_response) AS a, length(eum_cert) AS e FROM sessions WHERE transaction_id = 'BB'").get();
    expect(row).toEqual({ b: null, a: null, e: null });
    expect(inv.session('CC')).toBeUndefined();
    inv.close();
  });

  it('never issues a profile twice: one active order per profile, downloaded bound to one EID', () => {
    const inv = new SmdpInventory(':memory:');
    const { iccid } = inv.addProfile(upp('8949449999999990015'));
    expect(() => inv.addProfile(upp('8949449999999990015'))).toThrow(InventoryError);
    const o = inv.createOrder({ iccid });
    expect(() => inv.createOrder({ iccid })).toThrow(/is released/);
    inv.beginDownload(o.matchingId, '1'.repeat(32));
    inv.markDownloaded(iccid, '1'.repeat(32));
    inv.markDownloaded(iccid, '1'.repeat(32)); // idempotent for the same EID
    expect(() => inv.markDownloaded(iccid, '2'.repeat(32))).toThrow(expect.objectContaining({ subjectCode: '8.2', reasonCode: '3.7' }));
    expect(() => inv.beginDownload(o.matchingId, '2'.repeat(32))).toThrow(expect.objectContaining({ subjectCode: '8.1.1' }));
    inv.markInstallResult(iccid, true);
    expect(inv.profileState(iccid)).toBe('installed');
    expect(() => inv.beginDownload(o.matchingId, '1'.repeat(32))).toThrow(expect.objectContaining({ subjectCode: '8.2.6', reasonCode: '3.8' }));
    expect(() => inv.cancelOrder({ iccid, finalProfileStatusIndicator: 'Available' })).toThrow(expect.objectContaining({ reasonCode: '3.5' }));
    inv.close();
  });

  it('ES2+ states: downloadOrder (linked), confirmOrder, releaseProfile, cancelOrder', () => {
    const inv = new SmdpInventory(':memory:');
    const { iccid } = inv.addProfile(upp('8949449999999990122'), { profileType: 'P' });
    expect(() => inv.downloadOrder({ profileType: 'nope' })).toThrow(expect.objectContaining({ subjectCode: '8.2.5', reasonCode: '3.9' }));
    expect(inv.downloadOrder({ profileType: 'P', eid: '3'.repeat(32) })).toEqual({ iccid });
    expect(inv.profileState(iccid)).toBe('linked');
    expect(() => inv.downloadOrder({ profileType: 'P' })).toThrow(expect.objectContaining({ subjectCode: '8.2.5', reasonCode: '3.7' }));
    const c = inv.confirmOrder({ iccid, releaseFlag: false });
    expect(c.eid).toBe('3'.repeat(32));
    expect(inv.profileState(iccid)).toBe('confirmed');
    inv.releaseProfile(iccid);
    expect(inv.profileState(iccid)).toBe('released');
    inv.cancelOrder({ iccid, finalProfileStatusIndicator: 'Unavailable' });
    expect(inv.profileState(iccid)).toBe('unavailable');
    expect(inv.order(c.matchingId)?.state).toBe('cancelled');
    inv.close();
  });

  it('a cancelled order\'s matchingId can point to a new order (the old row is kept); an active one cannot', () => {
    const inv = new SmdpInventory(':memory:');
    const a = inv.addProfile(upp('8949449999999990130')).iccid;
    const b = inv.addProfile(upp('8949449999999990148')).iccid;
    const c = inv.addProfile(upp('8949449999999990155')).iccid;
    inv.createOrder({ iccid: a, matchingId: 'SAME-ID' });
    inv.downloadOrder({ iccid: b });
    expect(() => inv.confirmOrder({ iccid: b, matchingId: 'SAME-ID', releaseFlag: true })).toThrow(expect.objectContaining({ subjectCode: '8.2.6', reasonCode: '3.3' }));
    expect(inv.profileState(b)).toBe('allocated'); // the refused confirmOrder changed nothing
    inv.cancelOrder({ iccid: a, finalProfileStatusIndicator: 'Available' });
    expect(inv.confirmOrder({ iccid: b, matchingId: 'SAME-ID', releaseFlag: true })).toEqual({ matchingId: 'SAME-ID' });
    expect(inv.order('SAME-ID')).toMatchObject({ iccid: b, state: 'active' });
    // again: the second cancelled order gets its own archived row
    inv.cancelOrder({ iccid: b, finalProfileStatusIndicator: 'Available' });
    inv.createOrder({ iccid: c, matchingId: 'SAME-ID' });
    const rows = inv.db.prepare("SELECT matching_id, iccid, state FROM orders WHERE matching_id LIKE 'SAME-ID%' ORDER BY rowid").all() as { matching_id: string; iccid: string; state: string }[];
    expect(rows.map((r) => [r.iccid, r.state])).toEqual([[a, 'cancelled'], [b, 'cancelled'], [c, 'active']]);
    expect(rows.map((r) => r.matching_id)).toEqual([expect.stringMatching(/^SAME-ID#cancelled-\d+$/), expect.stringMatching(/^SAME-ID#cancelled-\d+$/), 'SAME-ID']);
    inv.close();
  });
});
