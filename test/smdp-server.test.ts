import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeStoreMetadataRequest } from '../src/asn1/sgp22/metadata.js';
import { TLSSocket, connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { downloadOverHttps, postEs9p, startTestSmdp, statusOf, type TestSmdp } from './support/smdp.js';
import { HAVE_REFERENCE } from './support/reference.js';
import * as es10c from '../src/lpa/es10c.js';

describe.skipIf(!HAVE_REFERENCE)('SM-DP+ over HTTPS on 127.0.0.1', () => {
  let t: TestSmdp;
  beforeAll(async () => {
    t = await startTestSmdp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves a DPtls certificate for localhost that chains to the test CI', async () => {
    const cert = await new Promise<X509Certificate>((resolve, reject) => {
      const s: TLSSocket = connect({ host: '127.0.0.1', port: t.server.port, servername: 'localhost', ca: t.ci.certPem }, () => {
        const c = s.getPeerX509Certificate();
        s.end();
        if (c) resolve(c);
        else reject(new Error('no peer certificate'));
      });
      s.on('error', reject);
    });
    expect(cert.checkIssued(new X509Certificate(t.ci.certPem))).toBe(true);
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(t.address).toBe(`localhost:${t.server.port}`);
  });

  it('rejects a TLS client that does not trust the CI', async () => {
    await expect(
      new Promise((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: t.server.port, servername: 'localhost' }, () => resolve(s.end()));
        s.on('error', reject);
      }),
    ).rejects.toThrow(/self[- ]signed|unable to (get|verify)|certificate/i);
  });

  it('checks Content-Type and X-Admin-Protocol, answers with X-Admin-Protocol', async () => {
    const r1 = await postEs9p(t, 'initiateAuthentication', '{}', { 'content-type': 'text/plain' });
    expect(r1.status).toBe(200);
    expect(statusOf(r1.json)).toEqual({ status: 'Failed', subjectCode: '1.2.1', reasonCode: '2.1' });
    const r2 = await postEs9p(t, 'initiateAuthentication', '{}', { 'x-admin-protocol': 'gsma/rsp/v9' });
    expect(statusOf(r2.json)).toEqual({ status: 'Failed', subjectCode: '1.2.2', reasonCode: '2.1' });
    const r3 = await postEs9p(t, 'initiateAuthentication', { euiccChallenge: 'AAAAAAAAAAAAAAAAAAAAAA==' }, { 'content-type': 'application/json;charset=UTF-8' });
    expect(statusOf(r3.json)).toEqual({ status: 'Failed', subjectCode: '1.3.1', reasonCode: '2.2' });
    expect(r3.headers['x-admin-protocol']).toMatch(/^gsma\/rsp\/v2\./);
    expect(String(r3.headers['content-type'])).toMatch(/^application\/json/);
    const r4 = await postEs9p(t, 'noSuchFunction', {});
    expect(r4.status).toBe(404);
  });

  it('downloads a TS.48 profile end to end; the install notification is recorded and the profile installed', async () => {
    const { iccid } = t.addTs48();
    const { matchingId } = t.server.inventory.createOrder({ iccid });
    const card = t.newCard();
    const r = await downloadOverHttps(t, card, { matchingId });
    expect(r.pir?.profileInstallationResultData.finalResult.kind).toBe('successResult');
    expect(r.notificationStatus).toBe(204);
    const md = decodeStoreMetadataRequest(r.profileMetadata!);
    expect(md.serviceProviderName).toBe('esimkit test');
    expect(md.notificationConfigurationInfo?.[0]?.notificationAddress).toBe(t.address);
    const profiles = await es10c.getProfilesInfo(r.channel);
    expect(profiles.map((p) => p.iccid)).toContain(iccid);
    await r.channel.close();
    expect(t.server.inventory.profileState(iccid)).toBe('installed');
    const n = t.server.inventory.receivedNotifications().filter((x) => x.iccid === iccid);
    expect(n).toEqual([expect.objectContaining({ event: 'install', success: true, eid: card.eid, verified: true })]);
    // the same matchingId is refused now
    const card2 = t.newCard();
    await expect(downloadOverHttps(t, card2, { matchingId })).rejects.toMatchObject({ subjectCode: '8.2.6', reasonCode: '3.8' });
  });
});
