import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
