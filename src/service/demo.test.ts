import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApduChannel } from '../apdu/channel.js';
import { discoverProfiles } from '../lpa/discovery.js';
import { downloadProfile } from '../lpa/download.js';
import { getProfilesInfo } from '../lpa/es10c.js';
import { createDemoContent, ensureHome } from './home.js';
import { DemoServersError, startDemoServers, type DemoServers } from './demo.js';
import { loadServiceConfig, type ServiceConfig } from './slots.js';
import { openServiceStore, type ServiceStore } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'esimkit-demo-test-'));
const home = join(root, 'home');
let store: ServiceStore;
let cfg: ServiceConfig;
let demo: DemoServers;
let demoJson: { smdpAddress: string; smdsAddress: string; activationCodes: string[] };

beforeAll(async () => {
  ensureHome(home);
  store = openServiceStore(join(home, 'service.db'));
  cfg = loadServiceConfig(home, store);
  demo = await startDemoServers(cfg, { unref: true });
  demoJson = JSON.parse(readFileSync(join(home, 'demo.json'), 'utf8')) as typeof demoJson;
});
afterAll(async () => {
  await demo?.close();
  await cfg?.close?.();
  store?.close();
  rmSync(root, { recursive: true, force: true });
});

const http = (): { resolve: (h: string) => string | undefined } => ({ resolve: cfg.resolve! });

async function iccidsOn(slot: number): Promise<string[]> {
  const t = await cfg.slots[slot]!.transport();
  const list = await ApduChannel.with(t, {}, (ch) => getProfilesInfo(ch));
  return list.map((p) => p.iccid!).sort();
}

describe('demo servers', () => {
  it('listen at the addresses of slots.json and demo.json', () => {
    expect(demo.smdpAddress).toBe(cfg.demo!.smdp.address);
    expect(demo.smdsAddress).toBe(cfg.demo!.smds.address);
    expect(demo.smdpAddress).toBe(demoJson.smdpAddress);
    expect(demo.smdp.port).toBe(cfg.demo!.smdp.port);
    expect(demo.smds.port).toBe(cfg.demo!.smds.port);
  });

  it('a demo activation code downloads onto slot 0\'s card (real ES9+ over TLS, trust from the config)', async () => {
    const transport = await cfg.slots[0]!.transport();
    const steps: string[] = [];
    const r = await downloadProfile({
      transport,
      activationCode: demoJson.activationCodes[0]!,
      trust: cfg.trust,
      http: http(),
      onProgress: (p) => steps.push(p.step),
    });
    expect(r.iccid).toMatch(/^8999\d{15}$/);
    expect(r.metadata.serviceProviderName).toBe('esimkit');
    expect(r.notificationSent).toBe(true);
    expect(steps).toContain('installing');
    expect(await iccidsOn(0)).toContain(r.iccid);
    expect(demo.smdp.inventory.profileState(r.iccid)).toBe('installed');
    // the card stores the profile's PNG icon and returns it as the SM-DP+ gave it
    const ordered = demo.smdp.inventory.storeMetadata(r.iccid, demo.smdpAddress);
    const [onCard] = await ApduChannel.with(transport, {}, (ch) => getProfilesInfo(ch, { iccid: r.iccid, fields: ['iccid', 'iconType', 'icon'] }));
    expect(onCard).toEqual({ iccid: r.iccid, iconType: 'png', icon: ordered.icon });
    // the same code again: the order is used up
    await expect(downloadProfile({ transport, activationCode: demoJson.activationCodes[0]!, trust: cfg.trust, http: http() })).rejects.toThrow();
  });

  it('discovery finds each card\'s default-SM-DP+ order and its SM-DS event; both download', async () => {
    for (const slot of [0, 1]) {
      const transport = await cfg.slots[slot]!.transport();
      const found = await discoverProfiles({ transport, trustedCis: cfg.trust.ciCertificates, httpOptions: http() });
      expect(found.map((f) => f.source)).toEqual(['default-smdp', 'smds']);
      expect(found[0]).toEqual({ rspServerAddress: demoJson.smdpAddress, source: 'default-smdp' });
      expect(found[1]!.rspServerAddress).toBe(demoJson.smdpAddress);
      const before = await iccidsOn(slot);
      const viaDefault = await downloadProfile({ transport, smdpAddress: found[0]!.rspServerAddress, trust: cfg.trust, http: http() });
      const viaSmds = await downloadProfile({ transport, smdpAddress: found[1]!.rspServerAddress, matchingId: found[1]!.eventId!, trust: cfg.trust, http: http() });
      expect(viaDefault.metadata.profileName).toContain('default SM-DP+');
      expect(viaSmds.metadata.profileName).toContain('SM-DS');
      expect(await iccidsOn(slot)).toEqual([...before, viaDefault.iccid, viaSmds.iccid].sort());
    }
  });

  it('a port taken by another program is a DemoServersError naming the slots.json field', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const other = { ...cfg, demo: { smdp: { ...cfg.demo!.smdp, port, db: ':memory:' }, smds: { ...cfg.demo!.smds, port: 0, db: ':memory:' } } };
      const e = await startDemoServers(other).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(DemoServersError);
      expect((e as Error).message).toContain('demo.smdp.port');
      expect((e as Error).message).toContain('in use');
      const none = await startDemoServers({ ...cfg, demo: undefined } as ServiceConfig).catch((x: unknown) => x);
      expect(none).toBeInstanceOf(DemoServersError);
    } finally {
      blocker.close();
    }
  });
});

describe('createDemoContent', () => {
  it('orders per EID (default SM-DP+ oldest), SM-DS events and free codes', async () => {
    const { SmdpInventory } = await import('../smdp/inventory.js');
    const { SmdsEventStore } = await import('../smdp/es12.js');
    const dir = mkdtempSync(join(root, 'content-'));
    const eids = ['89049032000000000000000000000123', '89049032000000000000000000000456'];
    const c = createDemoContent({ smdpDb: join(dir, 'dp.db'), smdsDb: join(dir, 'ds.db'), smdpAddress: 'localhost:1', smdsAddress: 'localhost:2', eids, freeCodes: 4 });
    expect(c.activationCodes).toHaveLength(4);
    const inv = new SmdpInventory(join(dir, 'dp.db'));
    const ev = new SmdsEventStore(join(dir, 'ds.db'));
    try {
      expect(inv.profiles()).toHaveLength(8);
      for (const card of c.cards) {
        expect(inv.activeOrderForEid(card.eid)?.iccid).toBe(card.defaultSmdpIccid);
        expect(inv.order(card.smdsEventId)).toMatchObject({ iccid: card.smdsIccid, eid: card.eid, state: 'active' });
        expect(ev.eventsFor(card.eid)).toEqual([expect.objectContaining({ eventId: card.smdsEventId, rspServerAddress: 'localhost:1' })]);
      }
      // every demo profile carries a PNG icon within SGP.22's 1024 bytes, one colour per kind
      const icons = new Set<string>();
      for (const p of inv.profiles()) {
        const m = inv.storeMetadata(p.iccid, 'localhost:1');
        expect(m.iconType, p.iccid).toBe(1);
        expect(m.icon!.length).toBeLessThanOrEqual(1024);
        expect([...m.icon!.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
        icons.add(Buffer.from(m.icon!).toString('hex'));
      }
      expect(icons.size).toBe(3);
      for (const ac of c.activationCodes) {
        const o = inv.order(ac.split('$')[2]!);
        expect(o).toMatchObject({ state: 'active', ccRequired: false });
        expect(o?.eid).toBeUndefined();
      }
    } finally {
      inv.close();
      ev.close();
    }
  });
});
