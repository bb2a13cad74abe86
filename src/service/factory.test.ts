import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApduChannel } from '../apdu/channel.js';
import { buildProfilePackage } from '../asn1/saip.js';
import { getEuiccConfiguredAddresses } from '../lpa/es10a.js';
import { downloadProfile } from '../lpa/download.js';
import { enableProfile, getProfilesInfo } from '../lpa/es10c.js';
import { startDemoServers, type DemoServers } from './demo.js';
import { factoryResetCard, factoryResetOptions } from './factory.js';
import { ensureHome, withLuhn } from './home.js';
import { loadServiceConfig, type ServiceConfig } from './slots.js';
import { openServiceStore, type ServiceStore } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'esimkit-factory-test-'));
const home = join(root, 'home');
let store: ServiceStore;
let cfg: ServiceConfig;
let demo: DemoServers;
let codes: string[];

beforeAll(async () => {
  ensureHome(home);
  store = openServiceStore(':memory:');
  cfg = loadServiceConfig(home, store);
  demo = await startDemoServers(cfg, { unref: true });
  codes = (JSON.parse(readFileSync(join(home, 'demo.json'), 'utf8')) as { activationCodes: string[] }).activationCodes;
});
afterAll(async () => {
  await demo?.close();
  await cfg?.close?.();
  store?.close();
  rmSync(root, { recursive: true, force: true });
});

let serial = 0;
/** A test-class profile on the demo SM-DP+, downloaded onto `slot`. */
async function installTestProfile(slot: number): Promise<string> {
  const iccid = withLuhn(`89990000000000${String(++serial).padStart(4, '0')}`);
  demo.smdp.inventory.addProfile(buildProfilePackage({ iccid }), { serviceProviderName: 'esimkit', profileName: 'Test profile', profileClass: 0 });
  const { matchingId } = demo.smdp.inventory.createOrder({ iccid });
  const r = await downloadProfile({ transport: await cfg.slots[slot]!.transport(), activationCode: demo.smdp.activationCode(matchingId), trust: cfg.trust, http: { resolve: cfg.resolve! } });
  return r.iccid;
}

async function installOperational(slot: number, code: string): Promise<string> {
  const r = await downloadProfile({ transport: await cfg.slots[slot]!.transport(), activationCode: code, trust: cfg.trust, http: { resolve: cfg.resolve! } });
  return r.iccid;
}

async function cardState(slot: number): Promise<{ profiles: { iccid: string; cls: string; state: string }[]; defaultDp: string | undefined }> {
  return ApduChannel.with(await cfg.slots[slot]!.transport(), {}, async (ch) => {
    const list = await getProfilesInfo(ch);
    const addr = await getEuiccConfiguredAddresses(ch);
    return {
      profiles: list.map((p) => ({ iccid: p.iccid!, cls: p.profileClass ?? 'operational', state: p.state ?? '?' })).sort((a, b) => a.iccid.localeCompare(b.iccid)),
      defaultDp: addr.defaultDpAddress || undefined,
    };
  });
}

describe('factoryResetCard', () => {
  it('the reset options of both ways', () => {
    expect(factoryResetOptions(true)).toEqual({ deleteFieldLoadedTestProfiles: true });
    expect(factoryResetOptions(false)).toEqual({ deleteOperationalProfiles: true, deleteFieldLoadedTestProfiles: true, resetDefaultSmdpAddress: true });
  });

  it('reserved: operational profiles (even enabled) and the default SM-DP+ stay, test profiles go', async () => {
    const op = await installOperational(0, codes[0]!);
    const test = await installTestProfile(0);
    await ApduChannel.with(await cfg.slots[0]!.transport(), {}, (ch) => enableProfile(ch, { iccid: op }));
    const before = await cardState(0);
    expect(before.profiles.map((p) => [p.iccid, p.cls])).toEqual(
      [
        [op, 'operational'],
        [test, 'test'],
      ].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    );
    const r = await factoryResetCard(await cfg.slots[0]!.transport(), true);
    expect(r).toEqual({ resultCode: 0, kept: true, result: 'ok' });
    const after = await cardState(0);
    expect(after.profiles).toEqual([{ iccid: op, cls: 'operational', state: 'enabled' }]);
    expect(after.defaultDp).toBe(before.defaultDp);
    expect(after.defaultDp).toBe(cfg.demo!.smdp.address);
    // again: nothing to delete is still a successful factory state
    expect(await factoryResetCard(await cfg.slots[0]!.transport(), true)).toEqual({ resultCode: 0, kept: true, result: 'nothingToDelete' });
  });

  it('not reserved: every operational and test profile goes and the default SM-DP+ address is reset', async () => {
    const op = await installOperational(1, codes[1]!);
    const test = await installTestProfile(1);
    expect((await cardState(1)).profiles.map((p) => p.iccid).sort()).toEqual([op, test].sort());
    const r = await factoryResetCard(await cfg.slots[1]!.transport(), false, { blockSize: 64 });
    expect(r).toEqual({ resultCode: 0, kept: false, result: 'ok' });
    const after = await cardState(1);
    expect(after.profiles).toEqual([]);
    expect(after.defaultDp).toBeUndefined();
    // slot 0 was not touched
    expect((await cardState(0)).profiles).toHaveLength(1);
  });
});
