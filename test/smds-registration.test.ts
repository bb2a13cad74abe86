/**
 * ES12 from the SM-DP+ itself: ES2+ confirmOrder with smdsAddress registers an event on the SM-DS (mutual TLS
 * with the SM-DP+'s DPtls), the LPA discovers it through ES11 on a software eUICC over APDUs, downloads with
 * matchingId = eventId, and the SM-DP+ deletes the event once the install notification arrives; cancelOrder
 * deletes it too; an SM-DS that is down is retried; a restart neither loses nor repeats a registration; an
 * SM-DP+ whose DPtls does not cover its address is refused. Both servers are real HTTPS on 127.0.0.1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { loadOrCreatePki, runSmdpCli } from '../src/cli/smdp.js';
import { createCi, createDpTls, type IssuedCertificate } from '../src/crypto/pki.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { discoverProfiles } from '../src/lpa/discovery.js';
import { downloadProfile } from '../src/lpa/download.js';
import { registerEs2p } from '../src/smdp/es2p.js';
import { SmdpInventory } from '../src/smdp/inventory.js';
import type { SmdsRegistration, SmdsRegistrar, SmdsRegistrationState } from '../src/smdp/smds-registrar.js';
import { describeWithReference, refPath } from './support/reference.js';
import { startTestSmdp, statusOf, type StartTestSmdpOptions, type TestSmdp } from './support/smdp.js';
import { startTestSmds, type TestSmds } from './support/smds.js';

const HDR = { functionRequesterIdentifier: 'op1', functionCallIdentifier: 'c1' };
const LOOPBACK = { resolve: () => '127.0.0.1', timeouts: { connectMs: 3_000, requestMs: 10_000 } };
/** Fast, bounded retries for the tests. */
const SMDS_OPTS = { resolve: () => '127.0.0.1', retryDelayMs: 20, maxRetryDelayMs: 100, maxAttempts: 200, timeoutMs: 3_000, pollIntervalMs: 0 } as const;

async function es2(t: TestSmdp, fn: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await request(`${t.url}/gsma/rsp2/es2plus/${fn}`, {
    method: 'POST',
    dispatcher: t.dispatcher,
    headers: { 'content-type': 'application/json', 'x-admin-protocol': 'gsma/rsp/v2.2.0' },
    body: JSON.stringify({ header: HDR, ...body }),
  });
  expect(r.statusCode).toBe(200);
  return (await r.body.json()) as Record<string, unknown>;
}

/** downloadOrder + confirmOrder(eid, smdsAddress, releaseFlag) → matchingId. */
async function order(t: TestSmdp, iccid: string, eid: string, smds: Record<string, string>): Promise<string> {
  expect(statusOf(await es2(t, 'downloadOrder', { iccid, eid })).status).toBe('Executed-Success');
  const c = await es2(t, 'confirmOrder', { iccid, eid, releaseFlag: true, ...smds });
  expect(statusOf(c)).toEqual({ status: 'Executed-Success' });
  return c['matchingId'] as string;
}

/** Resolves once the registration reaches `state` (driven by the registrar's change events, no polling). */
function until(reg: SmdsRegistrar, eventId: string, pred: (r: SmdsRegistration) => boolean): Promise<SmdsRegistration> {
  return new Promise((resolve) => {
    const check = (r: SmdsRegistration | undefined): boolean => {
      if (r && r.eventId === eventId && pred(r)) {
        off();
        resolve(r);
        return true;
      }
      return false;
    };
    const off = reg.onChange((r) => void check(r));
    check(reg.registrations().find((r) => r.eventId === eventId));
  });
}
const inState = (s: SmdsRegistrationState) => (r: SmdsRegistration) => r.state === s;

describeWithReference('SM-DP+ → SM-DS event registration (ES12) end to end', () => {
  let ci: IssuedCertificate;
  let ds: TestSmds;
  let dir: string;
  const closers: (() => Promise<void>)[] = [];
  const cards: SoftEuicc[] = [];

  beforeAll(async () => {
    ci = createCi();
    ds = await startTestSmds({ ci });
    dir = mkdtempSync(join(tmpdir(), 'esimkit-smds-reg-'));
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    for (const c of cards) c.close();
    await ds.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function smdp(o: StartTestSmdpOptions = {}): Promise<TestSmdp> {
    const t = await startTestSmdp({ ci, register: registerEs2p(), ...o, smds: { ...SMDS_OPTS, ...o.smds } });
    closers.push(() => t.close());
    return t;
  }
  function card(t: TestSmdp, rootDsAddress: string): { card: SoftEuicc; transport: VirtualTransport } {
    const c = t.newCard({ rootDsAddress });
    return { card: c, transport: new VirtualTransport(c) };
  }
  const discover = (transport: VirtualTransport, smdsAddress: string) =>
    discoverProfiles({ transport, trustedCis: [ci.certDer], httpOptions: LOOPBACK, useDefaultSmdp: false, rootDsAddress: smdsAddress });

  it('confirmOrder(eid, smdsAddress) → event on the SM-DS → discovery on the card → download with eventId → event deleted', async () => {
    const t = await smdp();
    const { iccid } = t.addTs48();
    const { card: c, transport } = card(t, ds.address);
    const mid = await order(t, iccid, c.eid, { smdsAddress: ds.address });
    await t.server.smds.whenIdle();

    const reg = t.server.smds.store.get(ds.address, mid)!;
    expect(reg).toMatchObject({ state: 'registered', eventId: mid, matchingId: mid, eid: c.eid, rspServerAddress: t.address, forwardingIndicator: false, attempts: 1 });
    expect(ds.server.events.get(mid)).toMatchObject({ eid: c.eid.toUpperCase(), rspServerAddress: t.address, forwardingIndicator: false });

    const found = await discover(transport, ds.address);
    expect(found).toEqual([{ rspServerAddress: t.address, eventId: mid, source: 'smds' }]);

    const r = await downloadProfile({ transport, smdpAddress: found[0]!.rspServerAddress, matchingId: found[0]!.eventId!, trust: { ciCertificates: [ci.certDer] }, http: { resolve: () => '127.0.0.1' } });
    expect(r.iccid).toBe(iccid);
    expect(r.notificationSent).toBe(true);
    expect(t.server.inventory.profileState(iccid)).toBe('installed');

    await t.server.smds.whenIdle();
    expect(t.server.smds.store.get(ds.address, mid)).toMatchObject({ state: 'deleted', attempts: 1 });
    expect(ds.server.events.get(mid)).toBeUndefined();
    expect(await discover(transport, ds.address)).toEqual([]);
  });

  it('cancelOrder deletes the event; the order listing shows the SM-DS state', async () => {
    const dbPath = join(dir, 'cancel.db');
    const t = await smdp({ dbPath });
    const { iccid } = t.addTs48();
    const { card: c, transport } = card(t, ds.address);
    const mid = await order(t, iccid, c.eid, { smdsAddress: ds.address });
    await t.server.smds.whenIdle();
    expect(ds.server.events.get(mid)?.eid).toBe(c.eid.toUpperCase());
    expect(await discover(transport, ds.address)).toEqual([{ rspServerAddress: t.address, eventId: mid, source: 'smds' }]);

    let out = '';
    expect(await runSmdpCli(['order', 'list', '--db', dbPath, '--json'], { stdout: (s) => (out += s), stderr: () => undefined })).toBe(0);
    expect((JSON.parse(out) as { matchingId: string; smds: unknown[] }[]).find((o) => o.matchingId === mid)?.smds).toEqual([{ address: ds.address, eventId: mid, state: 'registered', attempts: 1 }]);

    expect(statusOf(await es2(t, 'cancelOrder', { iccid, eid: c.eid, matchingId: mid, finalProfileStatusIndicator: 'Available' })).status).toBe('Executed-Success');
    await t.server.smds.whenIdle();
    expect(t.server.smds.store.get(ds.address, mid)?.state).toBe('deleted');
    expect(ds.server.events.get(mid)).toBeUndefined();
    expect(await discover(transport, ds.address)).toEqual([]);
  });

  it('rootSmdsAddress alone registers on the root SM-DS; with a different smdsAddress the event goes there with forwardingIndicator', async () => {
    const alt = await startTestSmds({ ci });
    closers.push(() => alt.close());
    const t = await smdp();
    const a = t.addTs48();
    const b = t.addTs48('TS48V4-SAIP2-3-BERTLV-UNIQUE.der');
    const eid = t.newEuiccIdentity().eid;
    const eid2 = t.newEuiccIdentity().eid;
    const m1 = await order(t, a.iccid, eid, { rootSmdsAddress: ds.address });
    const m2 = await order(t, b.iccid, eid2, { smdsAddress: alt.address, rootSmdsAddress: ds.address });
    await t.server.smds.whenIdle();
    expect(ds.server.events.get(m1)).toMatchObject({ rspServerAddress: t.address, forwardingIndicator: false });
    expect(alt.server.events.get(m2)).toMatchObject({ rspServerAddress: t.address, forwardingIndicator: true });
    expect(ds.server.events.get(m2)).toBeUndefined(); // cascading is the alternative SM-DS's job
    expect(t.server.smds.store.get(alt.address, m2)).toMatchObject({ state: 'registered', rootSmdsAddress: ds.address });
    await es2(t, 'cancelOrder', { iccid: a.iccid, finalProfileStatusIndicator: 'Available' });
    await es2(t, 'cancelOrder', { iccid: b.iccid, finalProfileStatusIndicator: 'Available' });
    await t.server.smds.whenIdle();
    expect(ds.server.events.get(m1)).toBeUndefined();
    expect(alt.server.events.get(m2)).toBeUndefined();
  });

  it('bad confirmOrder input → the SGP.22 code, nothing confirmed and nothing registered', async () => {
    const t = await smdp();
    const { iccid } = t.addTs48();
    // no EID anywhere → 8.1.1/2.2
    expect(statusOf(await es2(t, 'downloadOrder', { iccid })).status).toBe('Executed-Success');
    expect(statusOf(await es2(t, 'confirmOrder', { iccid, releaseFlag: true, smdsAddress: ds.address }))).toEqual({ status: 'Failed', subjectCode: '8.1.1', reasonCode: '2.2' });
    expect(t.server.inventory.profileState(iccid)).toBe('allocated');
    const eid = t.newEuiccIdentity().eid;
    // malformed address, empty matchingId → 1.3.1/2.1
    for (const extra of [{ smdsAddress: 'https://smds/x' }, { rootSmdsAddress: 'a b' }, { smdsAddress: ds.address, matchingId: '' }]) {
      expect(statusOf(await es2(t, 'confirmOrder', { iccid, eid, releaseFlag: true, ...extra })), JSON.stringify(extra)).toEqual({ status: 'Failed', subjectCode: '1.3.1', reasonCode: '2.1' });
    }
    expect(t.server.inventory.profileState(iccid)).toBe('allocated');
    expect(t.server.smds.registrations()).toEqual([]);
    expect(ds.server.events.eventsFor(eid)).toEqual([]);
    // and without smdsAddress nothing goes to the SM-DS (backward compatible)
    const mid = await order(t, t.addTs48('TS48V4-SAIP2-3-BERTLV-UNIQUE.der').iccid, eid, {});
    expect(t.server.inventory.order(mid)?.state).toBe('active');
    expect(t.server.smds.registrations()).toEqual([]);
  });

  it('SM-DS down at confirm time → the registration is retried (failure visible in the listing) and done once it is up', async () => {
    // an SM-DS address with nothing listening yet
    const probe = await startTestSmds({ ci });
    const port = probe.server.port;
    const address = probe.address;
    await probe.close();
    const dbPath = join(dir, 'down.db');
    const t = await smdp({ dbPath });
    const { iccid } = t.addTs48();
    const { card: c, transport } = card(t, address);
    const mid = await order(t, iccid, c.eid, { smdsAddress: address });
    const failing = await until(t.server.smds, mid, (r) => r.attempts >= 2);
    expect(failing.state).toBe('pending');
    expect(failing.lastError).toMatch(/^8\.9\/5\.1 SM-DS unreachable/);

    let out = '';
    expect(await runSmdpCli(['order', 'list', '--db', dbPath], { stdout: (s) => (out += s), stderr: () => undefined })).toBe(0);
    const line = out.split('\n').find((l) => l.includes(mid))!;
    expect(line).toContain(`${address} pending (8.9/5.1 SM-DS unreachable`);

    const up = await startTestSmds({ ci, port });
    closers.push(() => up.close());
    const done = await until(t.server.smds, mid, inState('registered'));
    expect(done.attempts).toBeGreaterThanOrEqual(3);
    expect(done.lastError).toBeUndefined();
    expect(up.server.events.eventsFor(c.eid)).toEqual([expect.objectContaining({ eventId: mid, rspServerAddress: t.address })]);
    expect(await discover(transport, address)).toEqual([{ rspServerAddress: t.address, eventId: mid, source: 'smds' }]);
  });

  it('a restart of the SM-DP+ between confirm and registration → registered exactly once, then deleted after the download', async () => {
    const probe = await startTestSmds({ ci });
    const smdsPort = probe.server.port;
    const address = probe.address;
    await probe.close();
    const dbPath = join(dir, 'restart.db');
    const t1 = await startTestSmdp({ ci, dbPath, register: registerEs2p(), smds: SMDS_OPTS });
    const smdpPort = t1.server.port;
    const x = t1.addTs48();
    const y = t1.addTs48('TS48V4-SAIP2-3-BERTLV-UNIQUE.der');
    // a card that outlives t1 (whose close() closes the cards it made)
    const c = SoftEuicc.create(':memory:', { identity: t1.newEuiccIdentity(), rootDsAddress: address });
    cards.push(c);
    const transport = new VirtualTransport(c);
    const eidY = t1.newEuiccIdentity().eid;
    const mx = await order(t1, x.iccid, c.eid, { smdsAddress: address });
    const my = await order(t1, y.iccid, eidY, { smdsAddress: address });
    await until(t1.server.smds, mx, (r) => r.attempts >= 1);
    await until(t1.server.smds, my, (r) => r.attempts >= 1);
    await t1.close(); // "crash" before any registration went through

    const up = await startTestSmds({ ci, port: smdsPort });
    closers.push(() => up.close());
    // Y's RegisterEvent reached the SM-DS but its answer was lost: the event is there, the row still pending
    await up.es12().registerEvent({ eid: eidY, eventId: my, rspServerAddress: `localhost:${smdpPort}` });

    const t2 = await smdp({ dbPath, port: smdpPort });
    expect(t2.address).toBe(t1.address);
    const rx = await until(t2.server.smds, mx, inState('registered'));
    const ry = await until(t2.server.smds, my, inState('registered'));
    expect(rx.attempts).toBeGreaterThanOrEqual(2);
    expect(ry.attempts).toBeGreaterThanOrEqual(2); // the retry got 8.9.5/3.3 = already registered
    expect(up.server.events.eventsFor(c.eid).map((e) => e.eventId)).toEqual([mx]);
    expect(up.server.events.eventsFor(eidY).map((e) => e.eventId)).toEqual([my]);
    await t2.close();
    closers.pop();

    // a third start has nothing to do: no second RegisterEvent
    const t3 = await smdp({ dbPath, port: smdpPort });
    await t3.server.smds.whenIdle();
    expect(t3.server.smds.store.get(address, mx)).toEqual(rx);
    expect(t3.server.smds.store.get(address, my)).toEqual(ry);

    // and the event works: discovery → download → deleted
    const found = await discover(transport, address);
    expect(found).toEqual([{ rspServerAddress: t3.address, eventId: mx, source: 'smds' }]);
    const r = await downloadProfile({ transport, smdpAddress: t3.address, matchingId: mx, trust: { ciCertificates: [ci.certDer] }, http: { resolve: () => '127.0.0.1' } });
    expect(r.iccid).toBe(x.iccid);
    await t3.server.smds.whenIdle();
    expect(t3.server.smds.store.get(address, mx)?.state).toBe('deleted');
    expect(up.server.events.get(mx)).toBeUndefined();
    expect(up.server.events.get(my)?.eid).toBe(eidY.toUpperCase());
  });

  it('an SM-DP+ whose DPtls does not cover its address is refused by the SM-DS (8.8.1/3.8, not retried)', async () => {
    const wrong = createDpTls(ci, 'smdp.evil.test');
    const t = await smdp({ smds: { clientTls: { certPem: wrong.certPem, keyPem: wrong.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string } } });
    const { iccid } = t.addTs48();
    const eid = t.newEuiccIdentity().eid;
    const mid = await order(t, iccid, eid, { smdsAddress: ds.address });
    await t.server.smds.whenIdle();
    const r = t.server.smds.store.get(ds.address, mid)!;
    expect(r).toMatchObject({ state: 'failed', attempts: 1 });
    expect(r.lastError).toMatch(/^8\.8\.1\/3\.8 refused by the SM-DS/);
    expect(ds.server.events.get(mid)).toBeUndefined();
    expect(ds.server.events.eventsFor(eid)).toEqual([]);
  });

  it('an inventory file of the previous version gets the registrations table on open', async () => {
    const dbPath = join(dir, 'old.db');
    const old = new SmdpInventory(dbPath);
    old.close();
    const before = new Database(dbPath, { readonly: true });
    expect(before.prepare("SELECT name FROM sqlite_master WHERE name = 'smds_registrations'").get()).toBeUndefined();
    before.close();
    const t = await smdp({ dbPath });
    const { iccid } = t.addTs48();
    const eid = t.newEuiccIdentity().eid;
    const mid = await order(t, iccid, eid, { smdsAddress: ds.address });
    await t.server.smds.whenIdle();
    expect(t.server.smds.store.get(ds.address, mid)?.state).toBe('registered');
    await es2(t, 'cancelOrder', { iccid, finalProfileStatusIndicator: 'Unavailable' });
    await t.server.smds.whenIdle();
    expect(ds.server.events.get(mid)).toBeUndefined();
  });
});

describe('SM-DP+ without ES2+ SM-DS use', () => {
  it('starts and stops with the defaults; the registrar has nothing to do', async () => {
    const t = await startTestSmdp();
    try {
      expect(t.server.smds.registrations()).toEqual([]);
      await t.server.smds.whenIdle();
    } finally {
      await t.close();
    }
  });
});

describeWithReference('esim-smdp order create --smds', () => {
  let dir: string;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-smds-cli-'));
  });
  afterAll(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });
  async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runSmdpCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
    return { code, out, err };
  }

  it('registers the event (EID required), order list shows it; an SM-DS that is down leaves it pending for serve', async () => {
    const db = join(dir, 'smdp.db');
    const add = async (i: number): Promise<string> => {
      const files = ['TS48V2-SAIP2-1-BERTLV-UNIQUE.der', 'TS48V4-SAIP2-3-BERTLV-UNIQUE.der', 'TS48V5-SAIP2-3-BERTLV-SUCI-UNIQUE.der'];
      const r = await run(['profile', 'add', refPath('ts48', files[i]!), '--db', db]);
      expect(r.code, r.err).toBe(0);
      return r.out.trim();
    };
    const [p1, p2, p3] = [await add(0), await add(1), await add(2)];
    // the PKI `serve` would create; the SM-DS trusts its CI
    const { ci, identity } = loadOrCreatePki(`${db}.pki`, 'localhost:8443');
    const ds = await startTestSmds({ ci });
    closers.push(() => ds.close());
    const eid = '89049032123451234512345678901235';

    expect((await run(['order', 'create', '--db', db, '--profile', p1, '--address', 'localhost:8443', '--smds', ds.address])).code).toBe(2); // --eid missing
    expect((await run(['order', 'create', '--db', db, '--profile', p1, '--address', 'localhost:8443', '--smds', 'not an address', '--eid', eid])).code).toBe(2);
    expect((await run(['order', 'create', '--db', db, '--profile', p1, '--address', 'localhost:8443', '--pki', `${db}.pki`])).code).toBe(2); // --pki without --smds
    const inv = new SmdpInventory(db);
    expect(inv.profileState(p1)).toBe('available'); // nothing happened
    inv.close();

    const ok = await run(['order', 'create', '--db', db, '--profile', p1, '--address', 'localhost:8443', '--eid', eid, '--smds', ds.address, '--json']);
    expect(ok.code, ok.err).toBe(0);
    const j = JSON.parse(ok.out) as { matchingId: string; smds: { address: string; eventId: string; state: string } };
    expect(j.smds).toEqual({ address: ds.address, eventId: j.matchingId, state: 'registered', attempts: 1 });
    expect(ds.server.events.get(j.matchingId)).toMatchObject({ eid, rspServerAddress: 'localhost:8443' });

    // SM-DS down: the order is created, the registration stays pending (exit 0, said on stderr)
    const probe = await startTestSmds({ ci });
    const downPort = probe.server.port;
    const downAddress = probe.address;
    await probe.close();
    const pend = await run(['order', 'create', '--db', db, '--profile', p2, '--address', 'localhost:8443', '--eid', eid, '--smds', downAddress]);
    expect(pend.code, pend.err).toBe(0);
    expect(pend.err).toContain(`SM-DS ${downAddress}: registration pending (esim-smdp serve retries it): 8.9/5.1 SM-DS unreachable`);
    const pendingMid = pend.out.trim().split('$')[2]!;

    // an SM-DS of another CI (not trusted) with --smds-ca pointing at the wrong CI → pending as well
    const wrongCa = join(dir, 'wrong-ci.pem');
    writeFileSync(wrongCa, createCi().certPem);
    const untrusted = await run(['order', 'create', '--db', db, '--profile', p3, '--address', 'localhost:8443', '--eid', eid, '--smds', ds.address, '--smds-ca', wrongCa, '--json']);
    expect(untrusted.code, untrusted.err).toBe(0);
    expect((JSON.parse(untrusted.out) as { smds: { state: string } }).smds.state).toBe('pending');

    const list = JSON.parse((await run(['order', 'list', '--db', db, '--json'])).out) as { matchingId: string; smds: { state: string; lastError?: string }[] }[];
    expect(list.map((o) => o.smds.map((s) => s.state))).toEqual([['registered'], ['pending'], ['pending']]);
    expect(list[1]!.smds[0]!.lastError).toMatch(/^8\.9\/5\.1/);
    expect(list[1]!.matchingId).toBe(pendingMid);

    // the SM-DS comes up; a server on this inventory finishes the pending registration
    const up = await startTestSmds({ ci, port: downPort });
    closers.push(() => up.close());
    const { SmdpServer } = await import('../src/smdp/server.js');
    const server = await SmdpServer.start({ identity: { ...identity, address: 'localhost:0' }, dbPath: db, smds: { ...SMDS_OPTS } });
    closers.push(() => server.close());
    const r = await until(server.smds, pendingMid, inState('registered'));
    expect(r.rspServerAddress).toBe('localhost:8443');
    expect(up.server.events.get(pendingMid)?.eid).toBe(eid);
    const lt = await run(['order', 'list', '--db', db]);
    expect(lt.out.split('\n')[0]).toContain('SM-DS');
    expect(lt.out.split('\n').find((l) => l.includes(pendingMid))).toContain(`${downAddress} registered`);
  });
});
