/**
 * EsimService end to end on the embedded default (ensureHome in a temporary ESIM_HOME: two software eUICCs
 * over APDUs, the demo SM-DP+ and SM-DS over HTTPS on 127.0.0.1): every function's success and its main
 * ResultCode outcomes, events, notifications (sent after each operation, retried until acknowledged), the
 * addProfile queue, factory reset, OS update, cancelSession of a running download.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePlmn } from '../src/lpa/es10-util.js';
import { readFileSync } from 'node:fs';
import { DEMO_OS_VERSION, homePaths } from '../src/service/home.js';
import { SHELL_CALLER, type ApiFunction, type DownloadProgressEvent, type OsuProgressEvent, type ProfileChangeEvent } from '../src/service/protocol.js';
import { EsimService } from '../src/service/service.js';
import type { SoftEuicc } from '../src/euicc/card.js';
import { cardOf, CALLERS, errorCode, makeHome, newOrder, openChannelCount } from './support/service.js';

type Obj = Record<string, unknown>;

let home: { home: string; remove(): void };
let svc: EsimService;
let cards: SoftEuicc[];
const profileEvents: ProfileChangeEvent[] = [];
const progressEvents: DownloadProgressEvent[] = [];
const osuEvents: OsuProgressEvent[] = [];

const call = (fn: ApiFunction, ...args: unknown[]): Promise<unknown> => svc.invoke(SHELL_CALLER, fn, args);
const OK = { switchAfterDownload: false, forceDisableProfile: false, isPprAllowed: false };
const owner = { mccMnc: encodePlmn({ mcc: '001', mnc: '01' }) };

async function profiles(slotId: number): Promise<Obj[]> {
  const r = (await call('getEuiccProfileInfoList', slotId)) as { responseResult: number; profiles: Obj[] };
  expect(r.responseResult).toBe(0);
  return r.profiles;
}
async function iccids(slotId: number): Promise<string[]> {
  return (await profiles(slotId)).map((p) => p['iccid'] as string).sort();
}
async function stateOf(slotId: number, iccid: string): Promise<number | undefined> {
  return (await profiles(slotId)).find((p) => p['iccid'] === iccid)?.['state'] as number | undefined;
}
async function download(slotId: number, activationCode: string, cfg: Partial<typeof OK> = {}, extra: Obj = {}): Promise<{ responseResult: number; solvableErrors: number; cardId: number }> {
  return (await call('downloadProfile', slotId, 0, { activationCode, ...extra }, { ...OK, ...cfg })) as { responseResult: number; solvableErrors: number; cardId: number };
}
async function installed(slotId: number, o: Parameters<typeof newOrder>[1] = {}, cfg: Partial<typeof OK> = {}): Promise<string> {
  const order = newOrder(svc, o);
  const r = await download(slotId, order.activationCode, cfg);
  expect(r.responseResult).toBe(0);
  return order.iccid;
}
async function clean(): Promise<void> {
  await svc.whenIdle();
  for (const c of cards) expect(openChannelCount(c)).toBe(0);
}

beforeAll(async () => {
  home = makeHome();
  svc = await EsimService.open({ home: home.home, unref: true, notificationRetry: { baseDelayMs: 100, maxDelayMs: 400 } });
  cards = [await cardOf(svc, 0), await cardOf(svc, 1)];
  svc.on('profileChange', (e) => profileEvents.push(e));
  svc.on('downloadProgress', (e) => progressEvents.push(e));
  svc.on('osuProgress', (e) => osuEvents.push(e));
  await svc.whenIdle();
});

afterAll(async () => {
  await svc?.close();
  home?.remove();
});

describe('reading the card', () => {
  it('getEid, getEuiccInfo, getEuiccInfo2, getDefaultSmdpAddress, isSupported, listSlots answer what the card holds', async () => {
    expect(await call('getEid', 0)).toBe(cards[0]!.eid);
    expect(await call('getEid', 1)).toBe(cards[1]!.eid);
    expect(cards[0]!.eid).not.toBe(cards[1]!.eid);
    expect(await call('getEuiccInfo', 0)).toEqual({ osVersion: '1.0.0' });
    const info2 = (await call('getEuiccInfo2', 0)) as Obj;
    expect(info2['firmwareVersion']).toBe('1.0.0');
    expect(info2['svn']).toBe('2.2.2');
    expect(typeof (info2['ciPkidsForVerification'] as string[])[0]).toBe('string');
    expect(JSON.parse(JSON.stringify(info2))).toEqual(info2);
    expect(await call('getDefaultSmdpAddress', 0)).toBe(svc.demo!.smdpAddress);
    expect(await call('isSupported', 1)).toBe(true);
    expect(svc.isSupported(1)).toBe(true);
    expect(svc.isSupported(2)).toBe(false);
    expect(await call('listSlots')).toEqual([
      { slotId: 0, transport: 'virtual', ports: 1, removable: false, hasEuicc: true, osuProvider: true },
      { slotId: 1, transport: 'virtual', ports: 1, removable: false, hasEuicc: true, osuProvider: true },
    ]);
    const list = (await call('getEuiccProfileInfoList', 0)) as Obj;
    expect(list).toEqual({ responseResult: 0, profiles: [], isRemovable: false });
    await clean();
  });

  it('setDefaultSmdpAddress writes the card; a malformed address is 401 and changes nothing', async () => {
    expect(await call('setDefaultSmdpAddress', 1, 'smdp.example.com:8443')).toBe(0);
    expect(await call('getDefaultSmdpAddress', 1)).toBe('smdp.example.com:8443');
    const e = await errorCode(call('setDefaultSmdpAddress', 1, 'https://smdp.example.com'));
    expect(e?.code).toBe(401);
    expect(e?.message).toContain('address');
    expect(await call('getDefaultSmdpAddress', 1)).toBe('smdp.example.com:8443');
    expect(await call('setDefaultSmdpAddress', 1, svc.demo!.smdpAddress)).toBe(0);
  });
});

describe('discovery, metadata and download', () => {
  it('getDownloadableProfiles: the default SM-DP+ entry and the SM-DS event, each downloadable', async () => {
    const r = (await call('getDownloadableProfiles', 0, 0, false)) as { responseResult: number; downloadableProfiles: { activationCode: string }[] };
    expect(r.responseResult).toBe(0);
    const codes = r.downloadableProfiles.map((p) => p.activationCode);
    expect(codes).toHaveLength(2);
    expect(codes[0]).toBe(`LPA:1$${svc.demo!.smdpAddress}$`);
    expect(codes[1]).toMatch(new RegExp(`^LPA:1\\$${svc.demo!.smdpAddress}\\$[A-Z0-9-]+$`));
    for (const code of codes) expect((await download(0, code)).responseResult).toBe(0);
    expect(await iccids(0)).toHaveLength(2);
    await clean();
  });

  it('getDownloadableProfileMetadata: the metadata, nothing installed, the order still downloadable', async () => {
    const order = newOrder(svc, { metadata: { serviceProviderName: 'Meta SP', profileName: 'Meta name' } });
    const before = await iccids(1);
    const m = (await call('getDownloadableProfileMetadata', 1, 0, { activationCode: order.activationCode }, false)) as Obj;
    expect(m).toEqual({
      downloadableProfile: { activationCode: order.activationCode },
      pprType: 0,
      pprFlag: false,
      iccid: order.iccid,
      serviceProviderName: 'Meta SP',
      profileName: 'Meta name',
      profileClass: 2,
      solvableErrors: 0,
      responseResult: 0,
    });
    expect(await iccids(1)).toEqual(before);
    expect((await download(1, order.activationCode)).responseResult).toBe(0);
    expect(await iccids(1)).toContain(order.iccid);
    await clean();
  });

  it('confirmation code: metadata and download report SOLVABLE_ERRORS bit 1; a wrong code 212; the right one installs', async () => {
    const order = newOrder(svc, { confirmationCode: '4711' });
    const m = (await call('getDownloadableProfileMetadata', 1, 0, { activationCode: order.activationCode }, false)) as Obj;
    expect(m['responseResult']).toBe(-2);
    expect(m['solvableErrors']).toBe(1);
    expect(m['iccid']).toBe(order.iccid);
    const m2 = (await call('getDownloadableProfileMetadata', 1, 0, { activationCode: order.activationCode, confirmationCode: '4711' }, false)) as Obj;
    expect(m2['responseResult']).toBe(0);
    expect(await download(1, order.activationCode)).toEqual({ responseResult: -2, solvableErrors: 1, cardId: 1 });
    expect((await download(1, order.activationCode, {}, { confirmationCode: '0000' })).responseResult).toBe(212);
    expect(await iccids(1)).not.toContain(order.iccid);
    expect((await download(1, order.activationCode, {}, { confirmationCode: '4711' })).responseResult).toBe(0);
    expect(await iccids(1)).toContain(order.iccid);
    await clean();
  });

  it('policy rules needing consent: bit 2 until isPprAllowed (or the SDK alias isAlowPpr) is true', async () => {
    const order = newOrder(svc, { metadata: { profilePolicyRules: [1], profileOwner: owner } });
    const m = (await call('getDownloadableProfileMetadata', 1, 0, { activationCode: order.activationCode }, true)) as Obj;
    expect(m).toMatchObject({ responseResult: -2, solvableErrors: 2, pprType: 1, pprFlag: true, iccid: order.iccid });
    expect(await download(1, order.activationCode)).toEqual({ responseResult: -2, solvableErrors: 2, cardId: 1 });
    const r = (await call('downloadProfile', 1, 0, { activationCode: order.activationCode }, { switchAfterDownload: false, forceDisableProfile: false, isAlowPpr: true })) as Obj;
    expect(r['responseResult']).toBe(0);
    const p = (await profiles(1)).find((x) => x['iccid'] === order.iccid)!;
    expect(p['policyRules']).toBe(1);
    expect(p['operatorId']).toEqual({ mcc: '001', mnc: '01', gid1: '', gid2: '' });
    await clean();
  });

  it('download: progress events carry the transactionId, profileChange installed, the install notification acknowledged', async () => {
    const order = newOrder(svc);
    const from = progressEvents.length;
    const pFrom = profileEvents.length;
    expect(await download(0, order.activationCode)).toEqual({ responseResult: 0, solvableErrors: 0, cardId: 0 });
    const ev = progressEvents.slice(from);
    const tid = ev.find((e) => e.transactionId !== undefined)?.transactionId;
    expect(tid).toMatch(/^[0-9A-F]{32}$/);
    expect(ev.map((e) => e.step)).toEqual(expect.arrayContaining(['authenticating', 'downloading', 'installing', 'notifying', 'done']));
    expect(ev.at(-1)).toEqual({ slotId: 0, portIndex: 0, step: 'done', transactionId: tid, resultCode: 0 });
    expect(ev.filter((e) => e.step === 'installing').at(-1)).toMatchObject({ done: expect.any(Number), total: expect.any(Number) });
    expect(profileEvents.slice(pFrom)).toEqual([{ slotId: 0, portIndex: 0, iccid: order.iccid, change: 'installed' }]);
    expect(await stateOf(0, order.iccid)).toBe(0);
    await svc.whenIdle();
    expect(await call('listNotifications', 0)).toEqual([]);
    const got = svc.demo!.smdp.inventory.receivedNotifications().filter((n) => n.iccid === order.iccid);
    expect(got.map((n) => n.event)).toEqual(['install']);
    expect(await call('runningDownloads', 0)).toEqual([]);
    await clean();
  });

  it('downloads that fail resolve their ResultCode: unknown matchingId 231, malformed code 401', async () => {
    const r = await download(0, `LPA:1$${svc.demo!.smdpAddress}$NO-SUCH-ORDER`);
    expect(r.responseResult).toBe(231);
    const e = await errorCode(download(0, 'LPA:1$not a host$X'));
    expect(e?.code).toBe(401);
    expect(e?.message).toContain('profile.activationCode');
    const e2 = await errorCode(call('downloadProfile', 0, 0, { activationCode: `LPA:1$${svc.demo!.smdpAddress}$X` }, { switchAfterDownload: true }));
    expect(e2?.code).toBe(401);
    expect(e2?.message).toContain('configuration.forceDisableProfile');
    await clean();
  });

  it('switchAfterDownload honours forceDisableProfile: -1 and nothing installed, then the new profile enabled and the old disabled', async () => {
    const first = await installed(0, {}, { switchAfterDownload: true, forceDisableProfile: true });
    expect(await stateOf(0, first)).toBe(1);
    const order = newOrder(svc);
    const before = await iccids(0);
    expect(await download(0, order.activationCode, { switchAfterDownload: true, forceDisableProfile: false })).toEqual({ responseResult: -1, solvableErrors: 0, cardId: 0 });
    expect(await iccids(0)).toEqual(before);
    const pFrom = profileEvents.length;
    expect((await download(0, order.activationCode, { switchAfterDownload: true, forceDisableProfile: true })).responseResult).toBe(0);
    expect(await stateOf(0, order.iccid)).toBe(1);
    expect(await stateOf(0, first)).toBe(0);
    expect(profileEvents.slice(pFrom).map((e) => `${e.change} ${e.iccid}`)).toEqual([`installed ${order.iccid}`, `disabled ${first}`, `enabled ${order.iccid}`]);
    await svc.whenIdle();
    expect(await call('listNotifications', 0)).toEqual([]);
    await clean();
  });

  it('an activation code whose profile changed after the preview: 203, nothing installed; a fresh preview then downloads', async () => {
    const order = newOrder(svc);
    const m = (await call('getDownloadableProfileMetadata', 1, 0, { activationCode: order.activationCode }, false)) as Obj;
    expect(m['iccid']).toBe(order.iccid);
    // the operator re-points the printed activation code to another profile
    const inv = svc.demo!.smdp.inventory;
    inv.cancelOrder({ iccid: order.iccid, matchingId: order.matchingId, finalProfileStatusIndicator: 'Available' });
    const other = newOrder(svc, { metadata: {} });
    inv.cancelOrder({ iccid: other.iccid, matchingId: other.matchingId, finalProfileStatusIndicator: 'Available' });
    inv.createOrder({ iccid: other.iccid, matchingId: order.matchingId });
    const before = await iccids(1);
    expect((await download(1, order.activationCode)).responseResult).toBe(203);
    expect(await iccids(1)).toEqual(before);
    const m2 = (await call('getDownloadableProfileMetadata', 1, 0, { activationCode: order.activationCode }, false)) as Obj;
    expect(m2['iccid']).toBe(other.iccid);
    expect((await download(1, order.activationCode)).responseResult).toBe(0);
    expect(await iccids(1)).toContain(other.iccid);
    await clean();
  });
});

describe('profile details (extension getProfileDetails)', () => {
  it('after a demo download: the icon bytes and iconType of the SM-DP+ order, the AID, the notification configuration', async () => {
    const codes = (JSON.parse(readFileSync(homePaths(home.home).demoFile, 'utf8')) as { activationCodes: string[] }).activationCodes;
    const before = await iccids(0);
    expect((await download(0, codes[0]!)).responseResult).toBe(0);
    const iccid = (await iccids(0)).find((i) => !before.includes(i))!;
    const ordered = svc.demo!.smdp.inventory.storeMetadata(iccid, svc.demo!.smdpAddress);
    expect(ordered.iconType).toBe(1); // png: the demo content carries icons

    const details = (await call('getProfileDetails', 0)) as Obj[];
    // one entry per profile, in the order of getEuiccProfileInfoList
    expect(details.map((d) => d['iccid'])).toEqual((await profiles(0)).map((p) => p['iccid']));
    const d = details.find((x) => x['iccid'] === iccid)!;
    expect(d['iconType']).toBe('png');
    expect(new Uint8Array(Buffer.from(d['icon'] as string, 'base64'))).toEqual(ordered.icon);
    expect(d['isdpAid']).toMatch(/^A0000005591010FFFFFFFF89[0-9A-F]{8}$/);
    expect(d['notificationConfigurationInfo']).toEqual([
      { events: ['notificationEnable', 'notificationDisable', 'notificationDelete'], address: svc.demo!.smdpAddress },
    ]);
    expect(d['profilePolicyRules']).toEqual([]);
    expect('profileOwner' in d).toBe(false);
    expect(JSON.parse(JSON.stringify(details))).toEqual(details);
    // the seed's EuiccProfile keeps its shape: no icon there
    const p = (await profiles(0)).find((x) => x['iccid'] === iccid)!;
    expect(Object.keys(p).sort()).toEqual(['accessRules', 'iccid', 'nickName', 'operatorId', 'policyRules', 'profileClass', 'profileName', 'serviceProviderName', 'state']);
    await clean();
  });

  it('a profile without icon, with an owner and a PPR: no icon keys, the owner and ppr1', async () => {
    const order = newOrder(svc, { metadata: { profileOwner: { ...owner, gid1: Uint8Array.of(0x0f, 0xa1) }, profilePolicyRules: [1] } });
    expect((await download(1, order.activationCode, { isPprAllowed: true })).responseResult).toBe(0);
    const d = ((await call('getProfileDetails', 1)) as Obj[]).find((x) => x['iccid'] === order.iccid)!;
    expect('icon' in d || 'iconType' in d).toBe(false);
    expect(d['profileOwner']).toEqual({ mcc: '001', mnc: '01', gid1: '0FA1' });
    expect(d['profilePolicyRules']).toEqual(['ppr1']);
    await clean();
  });

  it('checks like its siblings: GET permission, system app, 401 for a bad slot, 801 never on a card slot', async () => {
    expect((await errorCode(svc.invoke(CALLERS.set, 'getProfileDetails', [0])))?.message).toBe(
      'Permission denied: getProfileDetails needs ohos.permission.GET_TELEPHONY_ESIM_STATE',
    );
    expect((await errorCode(svc.invoke(CALLERS.nonSystem, 'getProfileDetails', [0])))?.code).toBe(202);
    expect(Array.isArray(await svc.invoke(CALLERS.get, 'getProfileDetails', [1]))).toBe(true);
    for (const bad of [[2], [-1], ['0'], [], [0, 1]]) {
      const e = await errorCode(call('getProfileDetails', ...bad));
      expect(e?.code, JSON.stringify(bad)).toBe(401);
    }
    await clean();
  });
});

describe('profile management', () => {
  let a: string;
  let b: string;
  beforeAll(async () => {
    a = await installed(1);
    b = await installed(1);
  });

  it('switchToProfile: 0 enables; -1 without forceDisableProfile while another is enabled; already enabled 0; unknown 270', async () => {
    // nothing of a/b enabled yet; slot 1 may hold other (disabled) profiles from earlier tests
    for (const p of await profiles(1)) if (p['state'] === 1) expect(await call('disableProfile', 1, 0, p['iccid'])).toBe(0);
    expect(await call('switchToProfile', 1, 0, a, false)).toBe(0);
    expect(await stateOf(1, a)).toBe(1);
    expect(await call('switchToProfile', 1, 0, b, false)).toBe(-1);
    expect(await stateOf(1, a)).toBe(1);
    expect(await stateOf(1, b)).toBe(0);
    expect(await call('switchToProfile', 1, 0, a, false)).toBe(0);
    const pFrom = profileEvents.length;
    expect(await call('switchToProfile', 1, 0, b, true)).toBe(0);
    expect(profileEvents.slice(pFrom)).toEqual([
      { slotId: 1, portIndex: 0, iccid: a, change: 'disabled' },
      { slotId: 1, portIndex: 0, iccid: b, change: 'enabled' },
    ]);
    expect(await stateOf(1, b)).toBe(1);
    expect(await stateOf(1, a)).toBe(0);
    expect(await call('switchToProfile', 1, 0, '89490000000000000000', true)).toBe(270);
    await svc.whenIdle();
    expect(await call('listNotifications', 1)).toEqual([]);
    const events = svc.demo!.smdp.inventory.receivedNotifications().filter((n) => n.iccid === a || n.iccid === b).map((n) => `${n.event} ${n.iccid}`);
    expect(events).toEqual(expect.arrayContaining([`enable ${a}`, `disable ${a}`, `enable ${b}`]));
    await clean();
  });

  it('disableProfile (extension): 0, again 0, unknown 270', async () => {
    expect(await call('disableProfile', 1, 0, b)).toBe(0);
    expect(await stateOf(1, b)).toBe(0);
    expect(await call('disableProfile', 1, 0, b)).toBe(0);
    expect(await call('disableProfile', 1, 0, '89490000000000000000')).toBe(270);
  });

  it('setProfileNickname: 0 and visible; unknown 270; too long 401', async () => {
    expect(await call('setProfileNickname', 1, a, 'Mein Profil ✓')).toBe(0);
    expect((await profiles(1)).find((p) => p['iccid'] === a)?.['nickName']).toBe('Mein Profil ✓');
    expect(await call('setProfileNickname', 1, '89490000000000000000', 'x')).toBe(270);
    expect((await errorCode(call('setProfileNickname', 1, a, 'x'.repeat(65))))?.code).toBe(401);
  });

  it('deleteProfile: enabled -1, disabled 0 (notification acknowledged), unknown 270, ppr2 223', async () => {
    expect(await call('switchToProfile', 1, 0, a, true)).toBe(0);
    expect(await call('deleteProfile', 1, a)).toBe(-1);
    expect(await iccids(1)).toContain(a);
    const pFrom = profileEvents.length;
    expect(await call('deleteProfile', 1, b)).toBe(0);
    expect(profileEvents.slice(pFrom)).toEqual([{ slotId: 1, iccid: b, change: 'deleted' }]);
    expect(await iccids(1)).not.toContain(b);
    expect(await call('deleteProfile', 1, b)).toBe(270);
    await svc.whenIdle();
    expect(svc.demo!.smdp.inventory.receivedNotifications().some((n) => n.iccid === b && n.event === 'delete')).toBe(true);
    const p2 = await installed(1, { metadata: { profilePolicyRules: [2], profileOwner: owner } }, { isPprAllowed: true });
    expect(await call('deleteProfile', 1, p2)).toBe(223);
    expect(await iccids(1)).toContain(p2);
    await clean();
  });

  it('a profile whose PPR forbids disabling: switching away and disabling answer 268', async () => {
    const p1 = await installed(1, { metadata: { profilePolicyRules: [1], profileOwner: owner } }, { isPprAllowed: true, switchAfterDownload: true, forceDisableProfile: true });
    expect(await stateOf(1, p1)).toBe(1);
    expect(await call('switchToProfile', 1, 0, a, true)).toBe(268);
    expect(await call('disableProfile', 1, 0, p1)).toBe(268);
    expect(await stateOf(1, p1)).toBe(1);
  });

  it('resetMemory honours ResetOption: test profiles only → 270 when none; operational; default SM-DP+ address', async () => {
    const before = await iccids(1);
    expect(before.length).toBeGreaterThan(0);
    expect(await call('resetMemory', 1, 2)).toBe(270);
    expect(await iccids(1)).toEqual(before);
    const pFrom = profileEvents.length;
    expect(await call('resetMemory', 1)).toBe(0);
    expect(await iccids(1)).toEqual([]);
    const ev = profileEvents.slice(pFrom);
    expect(ev.filter((e) => e.change === 'deleted').map((e) => e.iccid).sort()).toEqual(before);
    expect(ev.at(-1)).toEqual({ slotId: 1, iccid: '', change: 'reset' });
    expect(await call('getDefaultSmdpAddress', 1)).toBe(svc.demo!.smdpAddress);
    expect(await call('resetMemory', 1, 4)).toBe(0);
    expect(await call('getDefaultSmdpAddress', 1)).toBe('');
    expect(await call('resetMemory', 1, 4)).toBe(270);
    expect(await call('setDefaultSmdpAddress', 1, svc.demo!.smdpAddress)).toBe(0);
    await clean();
  });
});

describe('notifications', () => {
  it('a notification whose SM-DP+ is unreachable stays on the card and is retried until acknowledged', async () => {
    // a port where nothing listens yet; later a plain TCP relay to the demo SM-DP+ (same TLS certificate for localhost)
    const probe: Server = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const relayAddress = `localhost:${port}`;
    const iccid = await installed(0, {
      metadata: { notificationConfigurationInfo: [{ profileManagementOperation: [1, 2, 3], notificationAddress: relayAddress }] },
    });
    expect(await call('switchToProfile', 0, 0, iccid, true)).toBe(0);
    const pending = (await call('listNotifications', 0)) as { seqNumber: number; event: string; address: string; iccid?: string }[];
    expect(pending.map((n) => `${n.event} ${n.address}`)).toContain(`notificationEnable ${relayAddress}`);
    const seq = pending.find((n) => n.iccid === iccid)!.seqNumber;
    const sent = (await call('sendNotifications', 0, seq)) as { sent: number[]; failed: { seqNumber: number; resultCode: number }[] };
    expect(sent.sent).toEqual([]);
    expect(sent.failed).toEqual([{ seqNumber: seq, resultCode: 220 }]);

    const sockets = new Set<Socket>();
    const relay = createServer((c) => {
      const up = connect(svc.demo!.smdp.port, '127.0.0.1');
      sockets.add(c).add(up);
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => relay.listen(port, '127.0.0.1', r));
    try {
      let left = pending.length;
      for (let i = 0; i < 200 && left > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        left = ((await call('listNotifications', 0)) as unknown[]).filter((n) => (n as { iccid?: string }).iccid === iccid).length;
      }
      expect(left).toBe(0);
      expect(svc.demo!.smdp.inventory.receivedNotifications().some((n) => n.iccid === iccid && n.event === 'enable')).toBe(true);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => relay.close(() => r()));
    }
    expect(await call('removeNotification', 0, 999_999)).toBe(270);
    await clean();
  });
});

describe('addProfile queue', () => {
  it('addProfile queues (true); listPendingAdds hides the codes; resolvePendingAdd drops or downloads', async () => {
    const order = newOrder(svc, { confirmationCode: '1234' });
    const app = CALLERS.nonSystem;
    expect(await svc.invoke(app, 'addProfile', [{ activationCode: order.activationCode, confirmationCode: '1234', carrierName: 'Carrier' }])).toBe(true);
    expect(await svc.invoke(app, 'addProfile', [{ activationCode: order.activationCode }])).toBe(true);
    const list = (await call('listPendingAdds')) as { id: string; slotId: number; smdpAddress: string; carrierName?: string; hasConfirmationCode: boolean; caller: string }[];
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({ slotId: 0, smdpAddress: svc.demo!.smdpAddress, carrierName: 'Carrier', hasConfirmationCode: true, caller: app.bundleName });
    expect(JSON.stringify(list)).not.toContain(order.matchingId);
    expect(JSON.stringify(list)).not.toContain('1234');
    expect(await call('resolvePendingAdd', list[1]!.id, false)).toBeNull();
    expect(await iccids(0)).not.toContain(order.iccid);
    expect(await call('resolvePendingAdd', list[0]!.id, true)).toEqual({ responseResult: 0, solvableErrors: 0, cardId: 0 });
    expect(await iccids(0)).toContain(order.iccid);
    expect(await call('listPendingAdds')).toEqual([]);
    expect((await errorCode(call('resolvePendingAdd', list[0]!.id, true)))?.code).toBe(401);
    expect((await errorCode(svc.invoke(app, 'addProfile', [{ activationCode: 'garbage' }])))?.code).toBe(401);
    await clean();
  });
});

describe('cancelSession', () => {
  it('an unknown transactionId: the card answers 215', async () => {
    expect(await call('cancelSession', 0, '00112233445566778899AABBCCDDEEFF', 0)).toBe(215);
    await clean();
  });

  it('cancels a running download by the transactionId of its progress events: 0, the card and the SM-DP+ end clean', async () => {
    const order = newOrder(svc);
    const card = cards[1]!;
    // both sides hold the session from PrepareDownload on; the first BPP segment is slow, so the cancel lands mid-download
    const slow = card.faults.add({ match: { es10Tag: 0xbf36 }, action: { kind: 'delay', ms: 300 } });
    let cancel: Promise<unknown> | undefined;
    let running: Promise<unknown> | undefined;
    let tid: string | undefined;
    const off = svc.on('downloadProgress', (e) => {
      if (e.slotId === 1 && e.step === 'downloading' && e.transactionId !== undefined && cancel === undefined) {
        tid = e.transactionId;
        running = call('runningDownloads', 1);
        cancel = call('cancelSession', 1, e.transactionId.toLowerCase(), 0);
      }
    });
    const before = await iccids(1);
    try {
      const r = await download(1, order.activationCode);
      expect(r.responseResult).toBe(218);
      expect(await cancel).toBe(0);
      expect(await running).toEqual([{ transactionId: tid, step: 'downloading' }]);
    } finally {
      off();
      card.faults.remove(slow);
    }
    expect(await iccids(1)).toEqual(before);
    const inv = svc.demo!.smdp.inventory;
    expect(inv.session(tid!)).toBeUndefined();
    expect(['installed', 'downloaded']).not.toContain(inv.profileState(order.iccid));
    expect(await call('runningDownloads', 1)).toEqual([]);
    // no RSP session left on the card: the next download runs
    expect((await download(1, newOrder(svc).activationCode)).responseResult).toBe(0);
    await clean();
  });
});

describe('OS update', () => {
  it('startOsu updates to the newer signed image (osuProgress events), then reports already latest', async () => {
    expect([4, 5, 3]).toContain(await call('getOsuStatus', 0));
    const from = osuEvents.length;
    expect(await call('startOsu', 0)).toBe(3);
    const ev = osuEvents.slice(from);
    expect(ev.at(-1)).toEqual({ slotId: 0, status: 3 });
    expect(ev.some((e) => e.status === 1 && e.total !== undefined)).toBe(true);
    expect(await call('getEuiccInfo', 0)).toEqual({ osVersion: DEMO_OS_VERSION });
    expect(await call('getOsuStatus', 0)).toBe(3);
    expect(await call('startOsu', 0)).toBe(4);
    expect(await call('getEuiccInfo', 1)).toEqual({ osVersion: '1.0.0' });
    await clean();
  });
});

describe('factory reset', () => {
  it('reserveProfilesForFactoryRestore keeps the operational profiles of its slot; the other slot is erased; flags cleared', async () => {
    await installed(1);
    const keep = await iccids(0);
    expect(keep.length).toBeGreaterThan(0);
    expect((await iccids(1)).length).toBeGreaterThan(0);
    expect(await call('reserveProfilesForFactoryRestore', 0)).toBe(0);
    expect(svc.store.getFactoryReserve(0)).toBe(true);
    expect(svc.store.getFactoryReserve(1)).toBe(false);
    const r = await svc.factoryReset();
    expect(r).toEqual([
      { slotId: 0, resultCode: 0, kept: true },
      { slotId: 1, resultCode: 0, kept: false },
    ]);
    expect(await iccids(0)).toEqual(keep);
    expect(await iccids(1)).toEqual([]);
    expect(await call('getDefaultSmdpAddress', 1)).toBe('');
    expect(svc.store.getFactoryReserve(0)).toBe(false);
    await clean();
  });
});
