import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApduChannel } from '../apdu/channel.js';
import { TransportError } from '../apdu/transport.js';
import { getEid } from '../lpa/es10c.js';
import { SoftEuicc } from '../euicc/card.js';
import { ensureHome } from './home.js';
import { ServiceError } from './protocol.js';
import { loadServiceConfig, parseSlotsFile, SlotsConfigError } from './slots.js';
import { openServiceStore, type ServiceStore } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'esimkit-slots-test-'));
const home = join(root, 'home');
let store: ServiceStore;
let base: Record<string, unknown>;

beforeAll(() => {
  ensureHome(home);
  store = openServiceStore(':memory:');
  base = JSON.parse(readFileSync(join(home, 'slots.json'), 'utf8')) as Record<string, unknown>;
});
afterAll(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

/** base with `patch` applied at a dotted path ('slots.0.transport'); undefined deletes. */
function variant(path: string, value: unknown): string {
  const copy = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  const keys = path.split('.');
  let o: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
  if (value === undefined) delete o[keys[keys.length - 1]!];
  else o[keys[keys.length - 1]!] = value;
  return JSON.stringify(copy);
}

function fieldOf(text: string): string {
  try {
    parseSlotsFile(home, text);
  } catch (e) {
    expect(e).toBeInstanceOf(SlotsConfigError);
    expect((e as SlotsConfigError).message).toContain((e as SlotsConfigError).field);
    expect((e as Error).stack).toBeDefined();
    return (e as SlotsConfigError).field;
  }
  throw new Error('no error');
}

describe('slots.json parsing', () => {
  it('the embedded default parses', () => {
    const f = parseSlotsFile(home, JSON.stringify(base));
    expect(f.slots).toHaveLength(2);
    expect(f.slots[0]).toMatchObject({ slotId: 0, kind: 'virtual', ports: 1, removable: false, target: join(home, 'cards', 'slot0.db') });
    expect(f.ciCertificates).toHaveLength(1);
    expect(f.hosts).toEqual({ localhost: '127.0.0.1' });
    expect(f.osu).toEqual({ dir: join(home, 'osu') });
    expect(f.demo?.smdp.db).toBe(join(home, 'demo', 'smdp.db'));
    expect(typeof f.dashboardPort).toBe('number');
  });

  it('each bad field is a SlotsConfigError naming it', () => {
    const cases: [string, unknown, string][] = [
      ['version', 2, 'version'],
      ['version', undefined, 'version'],
      ['slots', [], 'slots'],
      ['slots', 'x', 'slots'],
      ['slots.0', 'x', 'slots[0]'],
      ['slots.0.slotId', 1, 'slots[0].slotId'],
      ['slots.1.slotId', '1', 'slots[1].slotId'],
      ['slots.0.transport', 'usb', 'slots[0].transport'],
      ['slots.0.transport', 'pcsc:', 'slots[0].transport'],
      ['slots.0.transport', undefined, 'slots[0].transport'],
      ['slots.0.state', undefined, 'slots[0].state'],
      ['slots.0.state', 7, 'slots[0].state'],
      ['slots.0.ports', 0, 'slots[0].ports'],
      ['slots.0.ports', 5, 'slots[0].ports'],
      ['slots.0.ports', 1.5, 'slots[0].ports'],
      ['slots.0.removable', 'yes', 'slots[0].removable'],
      ['slots.0.atMode', 'cgla', 'slots[0].atMode'],
      ['slots.0.mss', 3, 'slots[0].mss'],
      ['slots.0.apduTimeoutMs', 5, 'slots[0].apduTimeoutMs'],
      ['slots.0.transprt', 'virtual', 'slots[0].transprt'],
      ['trust', [], 'trust'],
      ['trust.ciCertificates', 'pki/ci.pem', 'trust.ciCertificates'],
      ['trust.ciCertificates', ['pki/missing.pem'], 'trust.ciCertificates[0]'],
      ['trust.ciCertificates', ['slots.json'], 'trust.ciCertificates[0]'],
      ['trust.extra', 1, 'trust.extra'],
      ['hosts', { localhost: 'not-an-ip' }, 'hosts.localhost'],
      ['hosts', { 'bad host!': '127.0.0.1' }, 'hosts.bad host!'],
      ['hosts', [], 'hosts'],
      ['demo.smdp', undefined, 'demo.smdp'],
      ['demo.smdp.address', 'https://x', 'demo.smdp.address'],
      ['demo.smdp.port', 70000, 'demo.smdp.port'],
      ['demo.smds.db', '', 'demo.smds.db'],
      ['demo.extra', {}, 'demo.extra'],
      ['osu', {}, 'osu'],
      ['osu', { dir: 'osu', url: 'https://x/' }, 'osu'],
      ['osu', { url: 'http://example.com/os/' }, 'osu.url'],
      ['osu', { url: 'not a url' }, 'osu.url'],
      ['osu', { dir: 'osu', ca: 'pki/ci.pem' }, 'osu.ca'],
      ['osu', { url: 'https://example.com/', ca: 'pki/none.pem' }, 'osu.ca'],
      ['dashboardPort', -1, 'dashboardPort'],
    ];
    for (const [path, value, field] of cases) expect(fieldOf(variant(path, value)), `${path} = ${JSON.stringify(value)}`).toBe(field);
    expect(fieldOf('{"version": 1,')).toBe('(file)');
    expect(fieldOf('[]')).toBe('(file)');
    // same port twice for the demo servers
    const d = base['demo'] as { smdp: { port: number } };
    expect(fieldOf(variant('demo.smds.port', d.smdp.port))).toBe('demo.smds.port');
  });

  it('other transports and options', () => {
    const f = parseSlotsFile(
      home,
      JSON.stringify({
        version: 1,
        slots: [
          { slotId: 0, transport: 'pcsc:Virtual PCD', mss: 120, apduTimeoutMs: 5000 },
          { slotId: 1, transport: 'at:/dev/ttyUSB2', atMode: 'csim', baudRate: 9600, ports: 2 },
          { slotId: 2, transport: 'none' },
        ],
        unknownTopLevel: { ignored: true },
      }),
    );
    expect(f.slots[0]).toMatchObject({ kind: 'pcsc', target: 'Virtual PCD', removable: true, ports: 1, channelOptions: { blockSize: 120, timeoutMs: 5000 } });
    expect(f.slots[1]).toMatchObject({ kind: 'at', target: '/dev/ttyUSB2', atMode: 'csim', baudRate: 9600, ports: 2, removable: false });
    expect(f.slots[2]).toMatchObject({ kind: 'none', ports: 0, removable: false });
    expect(f.ciCertificates).toEqual([]);
    expect(f.demo).toBeUndefined();
  });
});

describe('loadServiceConfig', () => {
  it('a missing or broken file is a SlotsConfigError, never a crash', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(() => loadServiceConfig(empty, store)).toThrow(SlotsConfigError);
    writeFileSync(join(empty, 'slots.json'), '{"version":1,"slots":[{"slotId":0,"transport":"virtual"}]}');
    try {
      loadServiceConfig(empty, store);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SlotsConfigError);
      expect((e as SlotsConfigError).field).toBe('slots[0].state');
    }
  });

  it('virtual slots open their card lazily and keep the connection; resolve maps localhost', async () => {
    const cfg = loadServiceConfig(home, store);
    try {
      expect(cfg.home).toBe(home);
      expect(cfg.resolve?.('localhost')).toBe('127.0.0.1');
      expect(cfg.resolve?.('LOCALHOST')).toBe('127.0.0.1');
      expect(cfg.resolve?.('example.com')).toBeUndefined();
      const s0 = cfg.slots[0]!;
      expect(s0).toMatchObject({ slotId: 0, kind: 'virtual', ports: 1, removable: false, hasEuicc: true });
      expect(s0.osu).toBeDefined();
      const [t1, t2] = await Promise.all([s0.transport(), s0.transport()]);
      expect(t1).toBe(t2);
      expect(await s0.transport()).toBe(t1);
      const eid = await ApduChannel.with(t1, {}, getEid);
      const card = SoftEuicc.open(join(home, 'cards', 'slot0.db'));
      const expected = card.eid;
      card.close();
      expect(eid).toBe(expected);
      const eid1 = await ApduChannel.with(await cfg.slots[1]!.transport(), {}, getEid);
      expect(eid1).not.toBe(eid);
    } finally {
      await cfg.close?.();
    }
    await expect(cfg.slots[0]!.transport()).rejects.toBeInstanceOf(TransportError);
  });

  it('a slot without an eUICC answers 801; an unreachable device fails and is retried on the next call', async () => {
    const h = join(root, 'other');
    mkdirSync(h);
    writeFileSync(
      join(h, 'slots.json'),
      JSON.stringify({ version: 1, slots: [{ slotId: 0, transport: 'none' }, { slotId: 1, transport: 'at:/dev/esimkit-no-such-modem' }] }),
    );
    const cfg = loadServiceConfig(h, store);
    try {
      const none = cfg.slots[0]!;
      expect(none).toMatchObject({ kind: 'none', hasEuicc: false, ports: 0 });
      expect(none.osu).toBeUndefined();
      const e = await none.transport().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ServiceError);
      expect((e as ServiceError).code).toBe(801);
      const at = cfg.slots[1]!;
      expect(at.osu).toBeUndefined();
      await expect(at.transport()).rejects.toBeInstanceOf(TransportError);
      await expect(at.transport()).rejects.toThrow(/esimkit-no-such-modem/);
    } finally {
      await cfg.close?.();
    }
  });

  it('a virtual slot whose state file is missing fails clearly and creates nothing', async () => {
    const h = join(root, 'missing-card');
    mkdirSync(h);
    writeFileSync(join(h, 'slots.json'), JSON.stringify({ version: 1, slots: [{ slotId: 0, transport: 'virtual', state: 'cards/nothing.db' }] }));
    const cfg = loadServiceConfig(h, store);
    try {
      const e = await cfg.slots[0]!.transport().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(SlotsConfigError);
      expect((e as SlotsConfigError).field).toBe('slots[0].state');
      expect(existsSync(join(h, 'cards', 'nothing.db'))).toBe(false);
    } finally {
      await cfg.close?.();
    }
  });

  it('ports above the card\'s own are refused when the card is opened', async () => {
    const h = join(root, 'ports');
    mkdirSync(h);
    writeFileSync(join(h, 'slots.json'), JSON.stringify({ version: 1, slots: [{ slotId: 0, transport: 'virtual', state: join(home, 'cards', 'slot1.db'), ports: 3 }] }));
    const cfg = loadServiceConfig(h, store);
    try {
      const e = await cfg.slots[0]!.transport().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(SlotsConfigError);
      expect((e as SlotsConfigError).field).toBe('slots[0].ports');
    } finally {
      await cfg.close?.();
    }
  });
});
