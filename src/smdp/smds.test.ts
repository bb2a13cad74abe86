/**
 * The SM-DS over HTTPS on 127.0.0.1: ES12 register / duplicate / delete / unknown, mutual TLS for ES12,
 * request checks, persistence across a restart, and the ES11 initiateAuthentication checks (the full ES11
 * flow with a software eUICC is in test/smds.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeServerSigned1 } from '../asn1/sgp22/authentication.js';
import { encodeEUICCInfo1 } from '../asn1/sgp22/euicc-info.js';
import { ciPkid, verifyServerCertificate } from '../crypto/certs.js';
import { verifyRaw } from '../crypto/ecdsa.js';
import { createCi, createDpTls } from '../crypto/pki.js';
import { parseCertificate, toPem } from '../crypto/x509.js';
import { fromBase64, toBase64 } from '../util/hex.js';
import { startTestSmds, type TestSmds } from '../../test/support/smds.js';
import { Es12ClientError } from './es12.js';

const EID_A = '89049032123451234512345678901235';
const EID_B = '89049032000000000000000000000042';

function codeOf(e: unknown): string {
  if (e instanceof Es12ClientError) return e.kind === 'function-failed' ? `${e.details.subjectCode}/${e.details.reasonCode}` : `${e.kind}:${e.details.status ?? ''}`;
  return String(e);
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return codeOf(e);
  }
  return 'no error';
}

describe('SM-DS ES12 over HTTPS (mutual TLS)', () => {
  let ds: TestSmds;
  let agent: Agent;

  async function raw(path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
    const res = await request(`https://${ds.address}${path}`, { method: 'POST', dispatcher: agent, headers, body });
    return { status: res.statusCode, json: (await res.body.json()) as { header: { functionExecutionStatus: { status: string; statusCodeData?: Record<string, string> } } } & Record<string, unknown>, adminProtocol: res.headers['x-admin-protocol'] };
  }

  beforeAll(async () => {
    ds = await startTestSmds();
    agent = new Agent({
      connect: {
        ca: toPem(ds.ci.certDer),
        lookup: (_h, o, cb) => (o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)),
      },
    });
  });
  afterAll(async () => {
    await agent.close();
    await ds.close();
  });

  it('the server presents a CERT.DStls for localhost issued by the CI', async () => {
    const r = await raw('/gsma/rsp2/es12/deleteEvent', '{}');
    expect(r.status).toBe(403); // reachable over verified TLS; no client certificate → refused
    const cert = parseCertificate(Buffer.from(ds.identity.tls.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
    expect(() => verifyServerCertificate({ trustedCis: [ds.ci.certDer], cert, role: 'DStls', hostName: 'localhost' })).not.toThrow();
  });

  it('registerEvent → success; the same eventId again → 8.9.5/3.3; the events are stored per EID', async () => {
    const c = ds.es12();
    await c.registerEvent({ eid: EID_A, eventId: 'EV-1', rspServerAddress: 'smdp.example.com' });
    await c.registerEvent({ eid: EID_A, eventId: 'EV-2', rspServerAddress: 'other.example.com:8443', forwardingIndicator: true });
    await c.registerEvent({ eid: EID_B, eventId: 'EV-3', rspServerAddress: 'smdp.example.com' });
    expect(await failure(c.registerEvent({ eid: EID_A, eventId: 'EV-1', rspServerAddress: 'smdp.example.com' }))).toBe('8.9.5/3.3');
    expect(await failure(c.registerEvent({ eid: EID_B, eventId: 'EV-1', rspServerAddress: 'x.example.com' }))).toBe('8.9.5/3.3');
    const a = ds.server.events.eventsFor(EID_A);
    expect(a.map((e) => [e.eventId, e.rspServerAddress, e.forwardingIndicator])).toEqual([
      ['EV-1', 'smdp.example.com', false],
      ['EV-2', 'other.example.com:8443', true],
    ]);
    expect(ds.server.events.eventsFor(EID_B).map((e) => e.eventId)).toEqual(['EV-3']);
  });

  it('deleteEvent → success; again → 8.9.5/3.9; an eventId of another EID → 8.9.5/3.9', async () => {
    const c = ds.es12();
    await c.registerEvent({ eid: EID_A, eventId: 'DEL-1', rspServerAddress: 'smdp.example.com' });
    expect(await failure(c.deleteEvent({ eid: EID_B, eventId: 'DEL-1' }))).toBe('8.9.5/3.9');
    await c.deleteEvent({ eid: EID_A, eventId: 'DEL-1' });
    expect(ds.server.events.get('DEL-1')).toBeUndefined();
    expect(await failure(c.deleteEvent({ eid: EID_A, eventId: 'DEL-1' }))).toBe('8.9.5/3.9');
    expect(await failure(c.deleteEvent({ eid: EID_A, eventId: 'never-registered' }))).toBe('8.9.5/3.9');
  });

  it('ES12 without a client certificate, or with one from another CI → HTTP 403, nothing registered', async () => {
    const none = ds.es12({ clientTls: null });
    expect(await failure(none.registerEvent({ eid: EID_A, eventId: 'NOPE-1', rspServerAddress: 'a.example.com' }))).toBe('http-status:403');
    const rogue = createDpTls(createCi(), 'localhost');
    const foreign = ds.es12({ clientTls: { certPem: rogue.certPem, keyPem: rogue.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string } });
    expect(await failure(foreign.registerEvent({ eid: EID_A, eventId: 'NOPE-2', rspServerAddress: 'a.example.com' }))).toBe('http-status:403');
    expect(ds.server.events.get('NOPE-1')).toBeUndefined();
    expect(ds.server.events.get('NOPE-2')).toBeUndefined();
  });

  it("registerEvent for an rspServerAddress outside the caller's DPtls SAN → 8.8.1/3.8, nothing stored; deleteEvent of another SM-DP+'s event → 8.9.5/3.9, kept", async () => {
    const other = createDpTls(ds.ci, 'smdp-other.test', { extraDnsNames: ['*.other.test'] });
    const otherPem = { certPem: other.certPem, keyPem: other.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
    const mallory = ds.es12({ clientTls: otherPem });
    // the default test DPtls covers localhost and *.example.com
    for (const addr of ['localhost:8443', 'smdp.example.com', 'SMDP.Example.COM:443', 'sub.x.example.com', 'example.com', 'smdp.example.com.evil.test']) {
      expect(await failure(mallory.registerEvent({ eid: EID_A, eventId: `BIND-${addr}`, rspServerAddress: addr })), addr).toBe('8.8.1/3.8');
      expect(ds.server.events.get(`BIND-${addr}`)).toBeUndefined();
    }
    // its own names (and a wildcard one level deep) are fine
    await mallory.registerEvent({ eid: EID_A, eventId: 'BIND-OWN-1', rspServerAddress: 'smdp-other.test:9443' });
    await mallory.registerEvent({ eid: EID_A, eventId: 'BIND-OWN-2', rspServerAddress: 'dp2.other.test' });
    expect(ds.server.events.get('BIND-OWN-2')?.rspServerAddress).toBe('dp2.other.test');
    // the rightful SM-DP+ registers; the other one cannot delete it
    const c = ds.es12();
    await c.registerEvent({ eid: EID_A, eventId: 'BIND-MINE', rspServerAddress: 'localhost:8443' });
    expect(await failure(mallory.deleteEvent({ eid: EID_A, eventId: 'BIND-MINE' }))).toBe('8.9.5/3.9');
    expect(ds.server.events.get('BIND-MINE')?.rspServerAddress).toBe('localhost:8443');
    await c.deleteEvent({ eid: EID_A, eventId: 'BIND-MINE' });
    expect(ds.server.events.get('BIND-MINE')).toBeUndefined();
    await mallory.deleteEvent({ eid: EID_A, eventId: 'BIND-OWN-1' });
    await mallory.deleteEvent({ eid: EID_A, eventId: 'BIND-OWN-2' });
  });

  it('the ES12 client refuses an SM-DS whose TLS certificate is not from its CIs', async () => {
    const c = ds.es12({ trustedCis: [createCi().certDer] });
    const e = await c.registerEvent({ eid: EID_A, eventId: 'TLS-1', rspServerAddress: 'a.example.com' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Es12ClientError);
    expect((e as Es12ClientError).kind).toBe('transport');
    expect(ds.server.events.get('TLS-1')).toBeUndefined();
  });

  it('request checks: Content-Type 1.2.1/2.1, X-Admin-Protocol 1.2.2/2.1, not JSON 1.3.1/2.1, missing field 1.3.1/2.2, bad EID 1.3.1/2.1', async () => {
    const ia = '/gsma/rsp2/es9plus/initiateAuthentication';
    const scd = async (p: ReturnType<typeof raw>): Promise<string> => {
      const r = await p;
      expect(r.status).toBe(200);
      expect(r.adminProtocol).toMatch(/^gsma\/rsp\/v/);
      expect(r.json.header.functionExecutionStatus.status).toBe('Failed');
      expect(r.json.header.functionExecutionStatus.statusCodeData?.['message']).toBeTruthy();
      const d = r.json.header.functionExecutionStatus.statusCodeData!;
      return `${d['subjectCode']}/${d['reasonCode']}`;
    };
    expect(await scd(raw(ia, '{}', { 'content-type': 'text/plain' }))).toBe('1.2.1/2.1');
    expect(await scd(raw(ia, '{}', { 'content-type': 'application/json', 'x-admin-protocol': 'bogus' }))).toBe('1.2.2/2.1');
    expect(await scd(raw(ia, '{not json', { 'content-type': 'application/json;charset=UTF-8' }))).toBe('1.3.1/2.1');
    expect(await scd(raw(ia, '[1,2]'))).toBe('1.3.1/2.1');
    expect(await scd(raw(ia, '{}'))).toBe('1.3.1/2.2');
    const c = ds.es12();
    expect(await failure(c.registerEvent({ eid: '1234', eventId: 'X', rspServerAddress: 'a.example.com' }))).toBe('1.3.1/2.1');
    expect(await failure(c.registerEvent({ eid: EID_A, eventId: '', rspServerAddress: 'a.example.com' }))).toBe('1.3.1/2.1');
  });

  describe('ES11 initiateAuthentication checks', () => {
    const challenge = new Uint8Array(16).fill(7);
    const info1 = (o: { svn?: string; sign?: Uint8Array[]; verify?: Uint8Array[] } = {}): string =>
      toBase64(
        encodeEUICCInfo1({
          svn: o.svn ?? '2.2.2',
          euiccCiPKIdListForVerification: o.verify ?? [ciPkid(ds.ci.certDer)],
          euiccCiPKIdListForSigning: o.sign ?? [ciPkid(ds.ci.certDer)],
        }),
      );
    const call = async (path: string, body: Record<string, unknown>) => {
      const r = await raw(path, JSON.stringify(body));
      expect(r.status).toBe(200);
      return r.json;
    };
    const codes = (j: Awaited<ReturnType<typeof call>>): string => {
      const d = j.header.functionExecutionStatus.statusCodeData;
      return d ? `${d['subjectCode']}/${d['reasonCode']}` : j.header.functionExecutionStatus.status;
    };

    it('success on both paths and with both address fields: serverSigned1 signed with CERT.DSauth', async () => {
      for (const [path, field] of [
        ['/gsma/rsp2/es9plus/initiateAuthentication', 'smdpAddress'],
        ['/gsma/rsp2/es11/initiateAuthentication', 'smdsAddress'],
        ['/gsma/rsp2/es11/initiateAuthentication', 'smdpAddress'],
      ] as const) {
        const j = await call(path, { euiccChallenge: toBase64(challenge), euiccInfo1: info1(), [field]: ds.address.toUpperCase() });
        expect(j.header.functionExecutionStatus.status).toBe('Executed-Success');
        const s1Raw = fromBase64(j['serverSigned1'] as string);
        const s1 = decodeServerSigned1(s1Raw);
        expect(s1.euiccChallenge).toEqual(challenge);
        expect(s1.serverAddress).toBe(ds.address);
        expect(Buffer.from(s1.transactionId).toString('hex').toUpperCase()).toBe(j['transactionId']);
        const cert = fromBase64(j['serverCertificate'] as string);
        const v = verifyServerCertificate({ trustedCis: [ds.ci.certDer], cert, role: 'DSauth' });
        const sig = fromBase64(j['serverSignature1'] as string);
        expect([sig[0], sig[1], sig[2]]).toEqual([0x5f, 0x37, 0x40]);
        expect(verifyRaw(v.cert.subjectPublicKeyInfo.key!, s1Raw, sig.subarray(3))).toBe(true);
        expect(fromBase64(j['euiccCiPKIdToBeUsed'] as string)).toEqual(Uint8Array.of(0x04, 0x14, ...ciPkid(ds.ci.certDer)));
      }
    });

    it('8.9.1/3.8 wrong address, 8.9.3/3.1 SVN, 8.9.2/3.1 PKID, 8.9.4/3.7 no DSauth the eUICC verifies, 1.3.1/2.1 bad challenge', async () => {
      const ia = '/gsma/rsp2/es9plus/initiateAuthentication';
      const other = ciPkid(createCi().certDer);
      const base = { euiccChallenge: toBase64(challenge), smdpAddress: ds.address };
      expect(codes(await call(ia, { ...base, euiccInfo1: info1(), smdpAddress: 'wrong.example.com' }))).toBe('8.9.1/3.8');
      expect(codes(await call(ia, { ...base, euiccInfo1: info1({ svn: '1.0.0' }) }))).toBe('8.9.3/3.1');
      expect(codes(await call(ia, { ...base, euiccInfo1: info1({ sign: [other] }) }))).toBe('8.9.2/3.1');
      expect(codes(await call(ia, { ...base, euiccInfo1: info1({ verify: [other] }) }))).toBe('8.9.4/3.7');
      expect(codes(await call(ia, { ...base, euiccInfo1: info1(), euiccChallenge: toBase64(new Uint8Array(8)) }))).toBe('1.3.1/2.1');
      expect(codes(await call(ia, { ...base, euiccInfo1: 'not base64!' }))).toBe('1.3.1/2.1');
    });

    it('authenticateClient with an unknown transactionId → 8.10.1/3.9; a session is usable once', async () => {
      const ac = '/gsma/rsp2/es9plus/authenticateClient';
      expect(codes(await call(ac, { transactionId: '00112233', authenticateServerResponse: toBase64(Uint8Array.of(0xbf, 0x38, 0)) }))).toBe('8.10.1/3.9');
      const j = await call('/gsma/rsp2/es9plus/initiateAuthentication', { euiccChallenge: toBase64(challenge), euiccInfo1: info1(), smdpAddress: ds.address });
      const tId = j['transactionId'] as string;
      // a garbage response burns the session ...
      expect(codes(await call(ac, { transactionId: tId.toLowerCase(), authenticateServerResponse: toBase64(Uint8Array.of(0xbf, 0x38, 0)) }))).toBe('1.3.1/2.1');
      // ... so the transactionId is unknown afterwards
      expect(codes(await call(ac, { transactionId: tId, authenticateServerResponse: toBase64(Uint8Array.of(0xbf, 0x38, 0)) }))).toBe('8.10.1/3.9');
    });
  });
});

describe('SM-DS persistence', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-smds-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('events registered before a restart are still there after it (and deletable), none duplicated', async () => {
    const ds = await startTestSmds({ dbPath: join(dir, 'smds.db') });
    try {
      const c = ds.es12();
      await c.registerEvent({ eid: EID_A, eventId: 'P-1', rspServerAddress: 'smdp.example.com' });
      await c.registerEvent({ eid: EID_A, eventId: 'P-2', rspServerAddress: 'smdp.example.com' });
      await ds.restart();
      expect(ds.server.events.eventsFor(EID_A).map((e) => e.eventId)).toEqual(['P-1', 'P-2']);
      const c2 = ds.es12();
      expect(await failure(c2.registerEvent({ eid: EID_A, eventId: 'P-1', rspServerAddress: 'smdp.example.com' }))).toBe('8.9.5/3.3');
      await c2.deleteEvent({ eid: EID_A, eventId: 'P-1' });
      await ds.restart();
      expect(ds.server.events.eventsFor(EID_A).map((e) => e.eventId)).toEqual(['P-2']);
      expect(ds.server.events.count()).toBe(1);
    } finally {
      await ds.close();
    }
  });
});
