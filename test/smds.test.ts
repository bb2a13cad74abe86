/**
 * ES11 end to end: the LPA's discoverProfiles (src/lpa/discovery.ts) with a software eUICC over
 * VirtualTransport, against the reference SM-DS over HTTPS on 127.0.0.1, events registered through ES12
 * with mutual TLS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { createCi, createEum, createEuicc, writeIdentity, type IssuedCertificate } from '../src/crypto/pki.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity, generateEid, loadIdentityFiles, type EuiccIdentity } from '../src/euicc/identity.js';
import { discoverProfiles, retrieveSmdsEvents, type DiscoveryOptions } from '../src/lpa/discovery.js';
import { Es11Client } from '../src/lpa/es11.js';
import { RspHttpClient, RspHttpError } from '../src/lpa/http.js';
import { startTestSmds, type TestSmds } from './support/smds.js';

const toLoopback = { resolve: () => '127.0.0.1', timeouts: { connectMs: 3_000, requestMs: 5_000 } };

describe('ES11 discovery: LPA + software eUICC + SM-DS over HTTPS', () => {
  let ci: IssuedCertificate;
  let ds: TestSmds;
  let identity: EuiccIdentity;
  const cards: SoftEuicc[] = [];
  let dir: string;

  function card(opts: { identity?: EuiccIdentity; defaultDpAddress?: string; svn?: string } = {}): { card: SoftEuicc; transport: VirtualTransport } {
    const c = SoftEuicc.create(':memory:', {
      identity: opts.identity ?? identity,
      rootDsAddress: ds.address,
      ...(opts.defaultDpAddress !== undefined && { defaultDpAddress: opts.defaultDpAddress }),
      ...(opts.svn !== undefined && { config: { svn: opts.svn } }),
    });
    cards.push(c);
    return { card: c, transport: new VirtualTransport(c) };
  }

  const discover = (transport: VirtualTransport, o: Partial<DiscoveryOptions> = {}) =>
    discoverProfiles({ transport, trustedCis: [ci.certDer], httpOptions: toLoopback, ...o });

  async function failure(p: Promise<unknown>): Promise<unknown> {
    try {
      await p;
    } catch (e) {
      return e;
    }
    throw new Error('expected a failure');
  }

  beforeAll(async () => {
    ci = createCi();
    ds = await startTestSmds({ ci });
    identity = createIdentity({ ci }).identity;
    dir = mkdtempSync(join(tmpdir(), 'esimkit-smds-e2e-'));
  });
  afterAll(async () => {
    for (const c of cards) c.close();
    await ds.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("events registered for the card's EID come back in order; other EIDs' events do not", async () => {
    const { transport } = card();
    const es12 = ds.es12();
    await es12.registerEvent({ eid: identity.eid, eventId: 'MATCH-1', rspServerAddress: 'smdp-a.example.com' });
    await es12.registerEvent({ eid: generateEid(), eventId: 'OTHER-1', rspServerAddress: 'smdp-b.example.com' });
    await es12.registerEvent({ eid: identity.eid, eventId: 'MATCH-2', rspServerAddress: 'smdp-b.example.com:8443' });
    const found = await discover(transport);
    expect(found).toEqual([
      { rspServerAddress: 'smdp-a.example.com', eventId: 'MATCH-1', source: 'smds' },
      { rspServerAddress: 'smdp-b.example.com:8443', eventId: 'MATCH-2', source: 'smds' },
    ]);
    // the session is consumed
    expect(ds.server.es11.sessionCount).toBe(0);
    // deleted events are gone on the next discovery
    await es12.deleteEvent({ eid: identity.eid, eventId: 'MATCH-1' });
    await es12.deleteEvent({ eid: identity.eid, eventId: 'MATCH-2' });
    expect(await discover(transport)).toEqual([]);
  });

  it('no events → an empty list; the default SM-DP+ comes first as an entry without eventId', async () => {
    const id2 = createIdentity({ ci }).identity;
    const a = card({ identity: id2 });
    expect(await discover(a.transport)).toEqual([]);
    const b = card({ identity: createIdentity({ ci }).identity, defaultDpAddress: 'default-smdp.example.com' });
    await ds.es12().registerEvent({ eid: b.card.eid, eventId: 'EV-DEF', rspServerAddress: 'smdp-c.example.com' });
    expect(await discover(b.transport)).toEqual([
      { rspServerAddress: 'default-smdp.example.com', source: 'default-smdp' },
      { rspServerAddress: 'smdp-c.example.com', eventId: 'EV-DEF', source: 'smds' },
    ]);
    expect(await discover(b.transport, { useSmds: false })).toEqual([{ rspServerAddress: 'default-smdp.example.com', source: 'default-smdp' }]);
    expect(await discover(b.transport, { useDefaultSmdp: false })).toEqual([{ rspServerAddress: 'smdp-c.example.com', eventId: 'EV-DEF', source: 'smds' }]);
  });

  it('the /gsma/rsp2/es11/ path style with smdsAddress works the same', async () => {
    const { card: c, transport } = card({ identity: createIdentity({ ci }).identity });
    await ds.es12().registerEvent({ eid: c.eid, eventId: 'EV-ES11', rspServerAddress: 'smdp-d.example.com' });
    expect(await discover(transport, { es11: { pathStyle: 'es11' } })).toEqual([{ rspServerAddress: 'smdp-d.example.com', eventId: 'EV-ES11', source: 'smds' }]);
  });

  it('an SM-DS TLS certificate from a CI the LPA does not trust → RspHttpError tls (certificate), nothing sent', async () => {
    const { transport } = card();
    const e = await failure(discover(transport, { trustedCis: [createCi().certDer] }));
    expect(e).toBeInstanceOf(RspHttpError);
    expect((e as RspHttpError).kind).toBe('tls');
    expect((e as RspHttpError).tls).toBe('certificate');
    expect(ds.server.es11.sessionCount).toBe(0);
  });

  it('a wrong SM-DS address (not the one the server answers for) → function-failed 8.9.1/3.8', async () => {
    const { transport } = card();
    const http = new RspHttpClient({ trustedCis: [ci.certDer], ...toLoopback });
    try {
      // same server, but called by another name that its TLS certificate also covers
      const e = await failure(discover(transport, { http, rootDsAddress: `LOCALHOST.:${ds.server.port}` }));
      expect(e).toBeInstanceOf(RspHttpError);
      expect({ kind: (e as RspHttpError).kind, s: (e as RspHttpError).subjectCode, r: (e as RspHttpError).reasonCode }).toEqual({ kind: 'function-failed', s: '8.9.1', r: '3.8' });
    } finally {
      await http.close();
    }
  });

  it('a card with an unsupported SVN → 8.9.3/3.1', async () => {
    const { transport } = card({ identity: createIdentity({ ci }).identity, svn: '1.1.0' });
    const e = await failure(discover(transport));
    expect({ s: (e as RspHttpError).subjectCode, r: (e as RspHttpError).reasonCode }).toEqual({ s: '8.9.3', r: '3.1' });
  });

  it('a card whose CI the SM-DS does not know → 8.9.2/3.1 at initiateAuthentication', async () => {
    const foreign = createIdentity().identity; // its own CI
    const { transport } = card({ identity: foreign });
    const e = await failure(discover(transport));
    expect(e).toBeInstanceOf(RspHttpError);
    expect({ s: (e as RspHttpError).subjectCode, r: (e as RspHttpError).reasonCode }).toEqual({ s: '8.9.2', r: '3.1' });
  });

  it('a card whose EUM is from an unknown CI (while it offers the known CI for signing) → 8.11.1/3.9, no events disclosed', async () => {
    const rogueCi = createCi();
    const rogueEum = createEum(rogueCi);
    const eid = generateEid();
    const euicc = createEuicc(rogueEum, eid);
    const files = {
      euicc: await writeIdentity(dir, 'rogue-euicc', euicc),
      eum: await writeIdentity(dir, 'rogue-eum', rogueEum),
      ci: await writeIdentity(dir, 'good-ci', ci),
      rogueCi: await writeIdentity(dir, 'rogue-ci', rogueCi),
    };
    const rogue = loadIdentityFiles({
      euiccCert: files.euicc.certDerPath,
      euiccKey: files.euicc.keyPath,
      eumCert: files.eum.certDerPath,
      ciCerts: [files.ci.certDerPath, files.rogueCi.certDerPath],
    });
    await ds.es12().registerEvent({ eid, eventId: 'SECRET-1', rspServerAddress: 'smdp-e.example.com' });
    const { transport } = card({ identity: rogue });
    const e = await failure(discover(transport));
    expect(e).toBeInstanceOf(RspHttpError);
    expect({ s: (e as RspHttpError).subjectCode, r: (e as RspHttpError).reasonCode }).toEqual({ s: '8.11.1', r: '3.9' });
    expect(JSON.stringify(e)).not.toContain('SECRET-1');
  });

  it('a card whose EID is outside its EUM range → 8.1.3/6.1', async () => {
    const eum = createEum(ci, { eidPrefixes: ['89049032'] });
    const euicc = createEuicc(eum, generateEid('89044000'));
    const f = { euicc: await writeIdentity(dir, 'range-euicc', euicc), eum: await writeIdentity(dir, 'range-eum', eum), ci: await writeIdentity(dir, 'range-ci', ci) };
    const bad = loadIdentityFiles({ euiccCert: f.euicc.certDerPath, euiccKey: f.euicc.keyPath, eumCert: f.eum.certDerPath, ciCerts: [f.ci.certDerPath] });
    const { transport } = card({ identity: bad });
    const e = await failure(discover(transport));
    expect({ s: (e as RspHttpError).subjectCode, r: (e as RspHttpError).reasonCode }).toEqual({ s: '8.1.3', r: '6.1' });
  });

  it('a tampered euiccSignature1 on the way to the SM-DS → 8.1/6.1, no events disclosed', async () => {
    const { card: c } = card({ identity: createIdentity({ ci }).identity });
    await ds.es12().registerEvent({ eid: c.eid, eventId: 'TAMPER-1', rspServerAddress: 'smdp-f.example.com' });
    const http = new RspHttpClient({ trustedCis: [ci.certDer], ...toLoopback });
    try {
      const { ApduChannel } = await import('../src/apdu/channel.js');
      const e = await ApduChannel.with(new VirtualTransport(c), {}, async (ch) => {
        const tampering = {
          async storeData(req: Uint8Array): Promise<Uint8Array> {
            const r = await ch.storeData(req);
            if (req[0] !== 0xbf || req[1] !== 0x38) return r;
            const out = r.slice();
            const i = Buffer.from(out).indexOf(Buffer.from([0x5f, 0x37, 0x40]));
            expect(i).toBeGreaterThan(0);
            out[i + 10] = out[i + 10]! ^ 0x01;
            return out;
          },
        };
        return failure(retrieveSmdsEvents(tampering, new Es11Client(http, ds.address)));
      });
      expect(e).toBeInstanceOf(RspHttpError);
      expect({ s: (e as RspHttpError).subjectCode, r: (e as RspHttpError).reasonCode }).toEqual({ s: '8.1', r: '6.1' });
      expect(JSON.stringify(e)).not.toContain('TAMPER-1');
    } finally {
      await http.close();
    }
  });

  it('an expired ES11 session → 8.10.1/3.9 (transactionId unknown)', async () => {
    const short = await startTestSmds({ ci, sessionTtlMs: 1 });
    const http = new RspHttpClient({ trustedCis: [ci.certDer], ...toLoopback });
    try {
      const es11 = new Es11Client(http, short.address);
      const { card: c } = card();
      const { ApduChannel } = await import('../src/apdu/channel.js');
      const { getEuiccChallenge } = await import('../src/lpa/es10b.js');
      const { encodeGetEuiccInfo1Request } = await import('../src/asn1/sgp22/euicc-info.js');
      const e = await ApduChannel.with(new VirtualTransport(c), {}, async (ch) => {
        const euiccChallenge = await getEuiccChallenge(ch);
        const euiccInfo1 = await ch.storeData(encodeGetEuiccInfo1Request());
        const ia = await es11.initiateAuthentication({ euiccChallenge, euiccInfo1 });
        await new Promise((r) => setTimeout(r, 10));
        return failure(es11.authenticateClient({ transactionId: ia.transactionId, authenticateServerResponse: Uint8Array.of(0xbf, 0x38, 0) }));
      });
      expect({ s: (e as RspHttpError).subjectCode, r: (e as RspHttpError).reasonCode }).toEqual({ s: '8.10.1', r: '3.9' });
    } finally {
      await http.close();
      await short.close();
    }
  });
});

describe('ES11 discovery on brainpoolP256r1 (CI, DSauth, DStls, eUICC)', () => {
  it('events come back over a brainpool TLS certificate and a brainpool DSauth signature', async () => {
    const ci = createCi({ curve: 'brainpoolP256r1' });
    const ds = await startTestSmds({ ci });
    const identity = createIdentity({ ci }).identity;
    const card = SoftEuicc.create(':memory:', { identity, rootDsAddress: ds.address });
    try {
      await ds.es12().registerEvent({ eid: identity.eid, eventId: 'BP-1', rspServerAddress: 'smdp-bp.example.com' });
      const found = await discoverProfiles({ transport: new VirtualTransport(card), trustedCis: [ci.certDer], httpOptions: toLoopback });
      expect(found).toEqual([{ rspServerAddress: 'smdp-bp.example.com', eventId: 'BP-1', source: 'smds' }]);
    } finally {
      card.close();
      await ds.close();
    }
  });
});
