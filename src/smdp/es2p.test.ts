import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadOverHttps, startTestSmdp, statusOf, type TestSmdp } from '../../test/support/smdp.js';
import { registerEs2p, type DownloadProgressInfo, type Es2pService } from './es2p.js';

const HDR = { functionRequesterIdentifier: 'op1', functionCallIdentifier: 'c1' };

describe('ES2+ over HTTPS', () => {
  let t: TestSmdp;
  let svc: Es2pService;
  let cb: Server;
  const received: DownloadProgressInfo[] = [];
  let cbUrl = '';

  beforeAll(async () => {
    cb = createServer((req, res) => {
      let s = '';
      req.on('data', (d: Buffer) => (s += d.toString()));
      req.on('end', () => {
        received.push(JSON.parse(s) as DownloadProgressInfo);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => cb.listen(0, '127.0.0.1', r));
    cbUrl = `http://127.0.0.1:${(cb.address() as AddressInfo).port}/progress`;
    t = await startTestSmdp({ register: registerEs2p({ callbackRetryDelayMs: 20 }, (s) => (svc = s)) });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((r) => cb.close(() => r()));
  });

  async function es2(fn: string, body: unknown, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const r = await request(`${t.url}/gsma/rsp2/es2plus/${fn}`, {
      method: 'POST',
      dispatcher: t.dispatcher,
      headers: { 'content-type': 'application/json', 'x-admin-protocol': 'gsma/rsp/v2.2.0', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-admin-protocol']).toBe('gsma/rsp/v2.2.0');
    return (await r.body.json()) as Record<string, unknown>;
  }

  it('downloadOrder by ICCID and by profile type, with errors', async () => {
    const { iccid } = t.addTs48('TS48V2-SAIP2-1-BERTLV-UNIQUE.der', { profileType: 'typeA' });
    const r = await es2('downloadOrder', { header: HDR, iccid });
    expect(statusOf(r).status).toBe('Executed-Success');
    expect(r['iccid']).toBe(iccid);
    expect(t.server.inventory.profileState(iccid)).toBe('allocated');
    // again: already allocated
    expect(statusOf(await es2('downloadOrder', { header: HDR, iccid }))).toMatchObject({ status: 'Failed', subjectCode: '8.2.1', reasonCode: '3.3' });
    // unknown ICCID
    expect(statusOf(await es2('downloadOrder', { header: HDR, iccid: '8949000000000000001' }))).toMatchObject({ subjectCode: '8.2.1', reasonCode: '3.9' });
    // type exhausted / unknown
    expect(statusOf(await es2('downloadOrder', { header: HDR, profileType: 'typeA' }))).toMatchObject({ subjectCode: '8.2.5', reasonCode: '3.7' });
    expect(statusOf(await es2('downloadOrder', { header: HDR, profileType: 'nope' }))).toMatchObject({ subjectCode: '8.2.5', reasonCode: '3.9' });
    // neither / missing header / bad JSON / bad headers
    expect(statusOf(await es2('downloadOrder', { header: HDR }))).toMatchObject({ subjectCode: '1.3.1', reasonCode: '2.2' });
    expect(statusOf(await es2('downloadOrder', { iccid }))).toMatchObject({ subjectCode: '1.3.1', reasonCode: '2.2' });
    expect(statusOf(await es2('downloadOrder', '{not json'))).toMatchObject({ subjectCode: '1.3.1', reasonCode: '2.1' });
    expect(statusOf(await es2('downloadOrder', { header: HDR, iccid }, { 'x-admin-protocol': 'x' }))).toMatchObject({ subjectCode: '1.2.2' });
    expect(statusOf(await es2('downloadOrder', { header: HDR, eid: '123', iccid }))).toMatchObject({ subjectCode: '1.3.1', reasonCode: '2.1' });
  });

  it('confirmOrder, releaseProfile and cancelOrder with their errors', async () => {
    const { iccid } = t.addTs48('TS48V2-SAIP2-3-NOBERTLV-UNIQUE.der');
    expect(statusOf(await es2('confirmOrder', { header: HDR, iccid, releaseFlag: false }))).toMatchObject({ subjectCode: '8.2.1', reasonCode: '3.5' });
    await es2('downloadOrder', { header: HDR, iccid });
    expect(statusOf(await es2('confirmOrder', { header: HDR, iccid }))).toMatchObject({ subjectCode: '1.3.1', reasonCode: '2.2' });
    expect(statusOf(await es2('confirmOrder', { header: HDR, iccid, releaseFlag: 'yes' }))).toMatchObject({ subjectCode: '1.3.1', reasonCode: '2.1' });
    expect(statusOf(await es2('confirmOrder', { header: HDR, iccid, matchingId: '', releaseFlag: false }))).toMatchObject({ subjectCode: '8.1.1', reasonCode: '2.2' });
    const c = await es2('confirmOrder', { header: HDR, iccid, releaseFlag: false, confirmationCode: '1234' });
    expect(statusOf(c).status).toBe('Executed-Success');
    expect(typeof c['matchingId']).toBe('string');
    expect((c['matchingId'] as string).length).toBeGreaterThan(0);
    expect(c['eid']).toBeUndefined();
    expect(t.server.inventory.profileState(iccid)).toBe('confirmed');
    expect(statusOf(await es2('releaseProfile', { header: HDR, iccid })).status).toBe('Executed-Success');
    expect(t.server.inventory.profileState(iccid)).toBe('released');
    expect(statusOf(await es2('releaseProfile', { header: HDR, iccid }))).toMatchObject({ subjectCode: '8.2.1', reasonCode: '3.5' });
    expect(statusOf(await es2('releaseProfile', { header: HDR, iccid: '8949000000000000001' }))).toMatchObject({ subjectCode: '8.2.1', reasonCode: '3.9' });
    expect(statusOf(await es2('cancelOrder', { header: HDR, iccid, matchingId: 'wrong', finalProfileStatusIndicator: 'Available' }))).toMatchObject({ subjectCode: '8.2.6', reasonCode: '3.10' });
    expect(statusOf(await es2('cancelOrder', { header: HDR, iccid, finalProfileStatusIndicator: 'Maybe' }))).toMatchObject({ subjectCode: '1.3.1', reasonCode: '2.1' });
    const x = await es2('cancelOrder', { header: HDR, iccid, matchingId: c['matchingId'], finalProfileStatusIndicator: 'Available' });
    expect(statusOf(x).status).toBe('Executed-Success');
    expect(t.server.inventory.profileState(iccid)).toBe('available');
    expect(statusOf(await es2('cancelOrder', { header: HDR, iccid, finalProfileStatusIndicator: 'Available' }))).toMatchObject({ subjectCode: '8.2.1', reasonCode: '3.5' });
  });

  it('confirmOrder with an EID and releaseFlag, then a download reports progress to the operator', async () => {
    const card = t.newCard();
    const eid = card.eid;
    const { iccid } = t.addTs48('TS48V4-SAIP2-3-BERTLV-UNIQUE.der');
    const d = await es2('downloadOrder', { header: HDR, iccid, eid, progressCallbackUrl: cbUrl });
    expect(d['iccid']).toBe(iccid);
    expect(t.server.inventory.profileState(iccid)).toBe('linked');
    const other = '89049032123451234512345678901235';
    expect(statusOf(await es2('confirmOrder', { header: HDR, iccid, eid: other, releaseFlag: true }))).toMatchObject({ subjectCode: '8.1.1', reasonCode: '3.10' });
    const c = await es2('confirmOrder', { header: HDR, iccid, eid, releaseFlag: true });
    expect(c['eid']).toBe(eid);
    expect(t.server.inventory.profileState(iccid)).toBe('released');
    const r = await downloadOverHttps(t, card, { matchingId: c['matchingId'] as string });
    expect(r.notificationStatus).toBe(204);
    await svc.flush();
    const mine = received.filter((x) => x.iccid === iccid).sort((a, b) => a.notificationPointId - b.notificationPointId);
    expect(mine.map((x) => x.notificationPointId)).toEqual([3, 4]);
    for (const m of mine) {
      expect(m.eid).toBe(eid);
      expect(m.notificationPointStatus.status).toBe('Executed-Success');
      expect(m.header.functionRequesterIdentifier).toBe('esimkit-smdp');
      expect(m.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
  });

  it('an unreachable callback URL never blocks the download (bounded retry)', async () => {
    const warnings: string[] = [];
    const t2 = await startTestSmdp({ ci: t.ci, register: registerEs2p({ progressUrl: 'http://127.0.0.1:1/x', callbackAttempts: 2, callbackRetryDelayMs: 10, onWarning: (m) => warnings.push(m) }, (s) => (svc = s)) });
    try {
      const { iccid } = t2.addTs48();
      const { matchingId } = t2.server.inventory.createOrder({ iccid });
      const r = await downloadOverHttps(t2, t2.newCard(), { matchingId });
      expect(r.notificationStatus).toBe(204);
      expect(t2.server.inventory.profileState(iccid)).toBe('installed');
      await svc.flush();
      expect(warnings.length).toBe(4); // 2 points × 2 attempts
    } finally {
      await t2.close();
    }
  });
});
