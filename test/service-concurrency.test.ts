/**
 * EsimService under concurrency, on the embedded default: one FIFO queue per card (calls on one slot in
 * order, slots in parallel), callers that give up (queued: never run; running: late result dropped),
 * timeouts → 3120002 (a card fault delays the answer), many callers × 2 slots × mixed calls with results
 * consistent with the card and no logical channel left open, close() with a download in flight.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SoftEuicc } from '../src/euicc/card.js';
import type { FaultRule } from '../src/euicc/faults.js';
import { GET_PERMISSION, SET_PERMISSION, SHELL_CALLER, type ApiFunction, type Caller } from '../src/service/protocol.js';
import { EsimService } from '../src/service/service.js';
import { cardOf, errorCode, makeHome, newOrder, openChannelCount } from './support/service.js';

const CFG = { switchAfterDownload: false, forceDisableProfile: false, isPprAllowed: false };
const GET_EID = 0xbf3e;
const GET_PROFILES = 0xbf2d;

function delay(card: SoftEuicc, es10Tag: number, ms: number): FaultRule {
  return card.faults.add({ match: { es10Tag }, action: { kind: 'delay', ms } });
}

describe('queues, abandonment and timeouts', () => {
  let home: { home: string; remove(): void };
  let svc: EsimService;
  let cards: SoftEuicc[];
  let iccid: string;
  const call = (fn: ApiFunction, ...args: unknown[]): Promise<unknown> => svc.invoke(SHELL_CALLER, fn, args);

  beforeAll(async () => {
    home = makeHome();
    svc = await EsimService.open({ home: home.home, unref: true, timeouts: { callMs: 400 } });
    cards = [await cardOf(svc, 0), await cardOf(svc, 1)];
    await svc.whenIdle();
    const order = newOrder(svc);
    expect(((await call('downloadProfile', 0, 0, { activationCode: order.activationCode }, CFG)) as { responseResult: number }).responseResult).toBe(0);
    iccid = order.iccid;
    await svc.whenIdle();
  });
  afterAll(async () => {
    await svc?.close();
    home?.remove();
  });

  it('calls on one card complete in the order they were made; the other card is not held up', async () => {
    const slow = delay(cards[0]!, GET_EID, 250);
    const done: string[] = [];
    const track = (name: string, p: Promise<unknown>): Promise<unknown> => p.then((v) => (done.push(name), v));
    try {
      const ps = [
        track('0:getEid', call('getEid', 0)),
        track('0:nickname', call('setProfileNickname', 0, iccid, 'first')),
        track('0:list', call('getEuiccProfileInfoList', 0)),
        track('0:nickname2', call('setProfileNickname', 0, iccid, 'second')),
        track('1:getEid', call('getEid', 1)),
      ];
      const r = await Promise.all(ps);
      expect(r[0]).toBe(cards[0]!.eid);
      expect(r[1]).toBe(0);
      // the list was read after the first nickname and before the second
      expect((r[2] as { profiles: { nickName: string }[] }).profiles[0]!.nickName).toBe('first');
      expect(r[3]).toBe(0);
      expect(r[4]).toBe(cards[1]!.eid);
      expect(done.filter((d) => d.startsWith('0:'))).toEqual(['0:getEid', '0:nickname', '0:list', '0:nickname2']);
      expect(done.indexOf('1:getEid')).toBeLessThan(done.indexOf('0:getEid'));
    } finally {
      cards[0]!.faults.remove(slow);
    }
    await svc.whenIdle();
    expect(openChannelCount(cards[0]!)).toBe(0);
  });

  it('a caller that gives up while queued: its call never runs; while running: its result is dropped, the next caller gets its own', async () => {
    const slow = delay(cards[0]!, GET_EID, 200);
    try {
      const first = call('getEid', 0);
      const ac = new AbortController();
      const abandoned = svc.invoke(SHELL_CALLER, 'setProfileNickname', [0, iccid, 'never'], { signal: ac.signal });
      const after = call('getEuiccProfileInfoList', 0);
      ac.abort();
      expect((await errorCode(abandoned))?.code).toBe(3120002);
      expect(await first).toBe(cards[0]!.eid);
      const list = (await after) as { profiles: { nickName: string }[] };
      expect(list.profiles[0]!.nickName).toBe('second');

      const ac2 = new AbortController();
      const running = svc.invoke(SHELL_CALLER, 'getEid', [0], { signal: ac2.signal });
      const next = call('getEid', 1);
      const next0 = call('getEuiccInfo', 0);
      await new Promise((r) => setTimeout(r, 50));
      ac2.abort();
      expect((await errorCode(running))?.code).toBe(3120002);
      expect(await next).toBe(cards[1]!.eid);
      expect(await next0).toEqual({ osVersion: '1.0.0' });
    } finally {
      cards[0]!.faults.remove(slow);
    }
    await svc.whenIdle();
    expect(openChannelCount(cards[0]!)).toBe(0);
  });

  it('timeouts: a card answering too late → 3120002; a call timing out in the queue never runs; the card works afterwards', async () => {
    const slow = delay(cards[1]!, GET_PROFILES, 900);
    try {
      const t0 = call('getEuiccProfileInfoList', 1);
      const queued = call('setDefaultSmdpAddress', 1, 'late.example.com');
      const e = await errorCode(t0);
      expect(e?.code).toBe(3120002);
      expect(e?.message).toContain('timed out');
      expect((await errorCode(queued))?.code).toBe(3120002);
    } finally {
      cards[1]!.faults.remove(slow);
    }
    // the late answer is dropped; the card is held until it came, then serves the next caller
    await svc.whenIdle();
    expect(await call('getDefaultSmdpAddress', 1)).toBe(svc.demo!.smdpAddress);
    expect(await call('getEid', 1)).toBe(cards[1]!.eid);
    await svc.whenIdle();
    expect(openChannelCount(cards[1]!)).toBe(0);
  });

  it('a card answering an error status word: getEid → 3120002 naming the function, ResultCode functions resolve 400', async () => {
    const sw = cards[1]!.faults.add({ match: { es10Tag: 0xbf29 }, action: { kind: 'sw', sw: 0x6f00 } });
    try {
      expect(await call('setProfileNickname', 1, '89490000000000000000', 'x')).toBe(400);
    } finally {
      cards[1]!.faults.remove(sw);
    }
    const sw2 = cards[1]!.faults.add({ match: { es10Tag: GET_EID }, action: { kind: 'sw', sw: 0x6f00 } });
    try {
      const e = await errorCode(call('getEid', 1));
      expect(e?.code).toBe(3120002);
      expect(e?.message).toContain('getEid');
    } finally {
      cards[1]!.faults.remove(sw2);
    }
    await svc.whenIdle();
    expect(openChannelCount(cards[1]!)).toBe(0);
  });
});

describe('many callers × 2 slots × mixed calls', () => {
  let home: { home: string; remove(): void };
  let svc: EsimService;
  let cards: SoftEuicc[];
  const profiles: string[][] = [[], []];

  beforeAll(async () => {
    home = makeHome();
    svc = await EsimService.open({ home: home.home }); // as the daemon: one shared HTTPS client
    cards = [await cardOf(svc, 0), await cardOf(svc, 1)];
    await svc.whenIdle();
    for (const slot of [0, 1]) {
      for (let i = 0; i < 2; i++) {
        const order = newOrder(svc);
        const r = (await svc.invoke(SHELL_CALLER, 'downloadProfile', [slot, 0, { activationCode: order.activationCode }, CFG])) as { responseResult: number };
        expect(r.responseResult).toBe(0);
        profiles[slot]!.push(order.iccid);
      }
    }
    await svc.whenIdle();
  });
  afterAll(async () => {
    await svc?.close();
    home?.remove();
  });

  // The figure: 50 callers × 2 slots × 200 mixed calls — each of the 50 callers makes 200 calls, one after
  // the other (as an app does), on both slots: 10 000 calls (about a minute on 2 cores under load).
  // ESIM_SERVICE_STRESS_CALLS changes the calls per caller (e.g. 8 for a quick local run).
  const PER_CALLER = Number(process.env['ESIM_SERVICE_STRESS_CALLS'] ?? 200);
  it(`50 callers × 2 slots × ${50 * PER_CALLER} mixed calls: no undocumented error, results consistent with the card, no channel left open`, { timeout: 600_000 }, async () => {
    const CALLERS = 50;
    let seed = 42; // mulberry32: a reproducible mix
    const rnd = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
    };
    /** Per slot, in the order the calls were made (= queue order): the switch targets and the nickname writes. */
    const switches: string[][] = [[], []];
    const nicknames: Map<string, string>[] = [new Map(), new Map()];
    const failures: string[] = [];
    const counts = new Map<string, number>();
    const mixed = ['getEid', 'getEuiccProfileInfoList', 'getEuiccInfo', 'switchToProfile', 'setProfileNickname', 'getDefaultSmdpAddress', 'listNotifications', 'getOsuStatus'] as const;

    const check = (fn: (typeof mixed)[number], slot: number, v: unknown): void => {
      switch (fn) {
        case 'getEid':
          if (v !== cards[slot]!.eid) failures.push(`getEid ${slot}: ${String(v)}`);
          break;
        case 'getEuiccProfileInfoList': {
          const r = v as { responseResult: number; profiles: { iccid: string; state: number }[] };
          const ids = r.profiles.map((p) => p.iccid).sort();
          if (r.responseResult !== 0 || JSON.stringify(ids) !== JSON.stringify([...profiles[slot]!].sort())) failures.push(`list ${slot}: ${JSON.stringify(r)}`);
          if (r.profiles.filter((p) => p.state === 1).length > 1) failures.push(`two enabled on ${slot}`);
          break;
        }
        case 'getEuiccInfo':
          if ((v as { osVersion: string }).osVersion !== '1.0.0') failures.push(`info ${slot}`);
          break;
        case 'switchToProfile':
        case 'setProfileNickname':
          if (v !== 0) failures.push(`${fn} ${slot}: ${String(v)}`);
          break;
        case 'getDefaultSmdpAddress':
          if (v !== svc.demo!.smdpAddress) failures.push(`address ${slot}: ${String(v)}`);
          break;
        case 'listNotifications':
          if (!Array.isArray(v)) failures.push(`notifications ${slot}`);
          break;
        case 'getOsuStatus':
          if (typeof v !== 'number' || v < 1 || v > 5) failures.push(`osu ${slot}: ${String(v)}`);
          break;
      }
    };

    const runCaller = async (c: number): Promise<void> => {
      const caller: Caller = { bundleName: `com.example.app${c}`, systemApp: true, permissions: [GET_PERMISSION, SET_PERMISSION] };
      for (let k = 0; k < PER_CALLER; k++) {
        const slot = rnd(2);
        const fn = mixed[rnd(mixed.length)]!;
        const target = profiles[slot]![rnd(2)]!;
        let args: unknown[] = [slot];
        if (fn === 'switchToProfile') {
          args = [slot, 0, target, true];
          switches[slot]!.push(target);
        } else if (fn === 'setProfileNickname') {
          const nick = `n${c}-${k}`;
          args = [slot, target, nick];
          nicknames[slot]!.set(target, nick);
        }
        counts.set(fn, (counts.get(fn) ?? 0) + 1);
        try {
          check(fn, slot, await svc.invoke(caller, fn, args));
        } catch (e) {
          failures.push(`${fn} ${slot} rejected: ${(e as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CALLERS }, (_, c) => runCaller(c)));
    expect(failures).toEqual([]);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(CALLERS * PER_CALLER);
    expect(counts.get('switchToProfile')).toBeGreaterThan(CALLERS * PER_CALLER / 16);
    await svc.whenIdle();
    for (const slot of [0, 1]) {
      const list = (await svc.invoke(SHELL_CALLER, 'getEuiccProfileInfoList', [slot])) as { profiles: { iccid: string; state: number; nickName: string }[] };
      const enabled = list.profiles.filter((p) => p.state === 1).map((p) => p.iccid);
      expect(enabled).toEqual(switches[slot]!.length > 0 ? [switches[slot]!.at(-1)] : []);
      for (const [id, nick] of nicknames[slot]!) expect(list.profiles.find((p) => p.iccid === id)?.nickName).toBe(nick);
      expect(openChannelCount(cards[slot]!)).toBe(0);
      expect(await svc.invoke(SHELL_CALLER, 'listNotifications', [slot])).toEqual([]);
    }
  });
});

describe('close with card operations in flight', () => {
  it('a running download finishes, queued calls and new calls get 3120001; with no grace the download rolls back', async () => {
    const home = makeHome();
    try {
      let svc = await EsimService.open({ home: home.home, unref: true });
      await svc.whenIdle();
      let card = await cardOf(svc, 0);
      const order = newOrder(svc);
      let slow = delay(card, 0xbf36, 200);
      const dl = svc.invoke(SHELL_CALLER, 'downloadProfile', [0, 0, { activationCode: order.activationCode }, CFG]);
      await new Promise((r) => setTimeout(r, 30));
      const queued = svc.invoke(SHELL_CALLER, 'getEid', [0]);
      const closing = svc.close();
      expect((await errorCode(svc.invoke(SHELL_CALLER, 'getEid', [0])))?.code).toBe(3120001);
      expect((await errorCode(queued))?.code).toBe(3120001);
      expect(((await dl) as { responseResult: number }).responseResult).toBe(0);
      await closing;

      // reopen the same home: the profile is there; a download cut by a close without grace leaves nothing
      svc = await EsimService.open({ home: home.home, unref: true, closeGraceMs: 1 });
      await svc.whenIdle();
      const list = (await svc.invoke(SHELL_CALLER, 'getEuiccProfileInfoList', [0])) as { profiles: { iccid: string }[] };
      expect(list.profiles.map((p) => p.iccid)).toEqual([order.iccid]);
      card = await cardOf(svc, 0);
      const order2 = newOrder(svc);
      slow = delay(card, 0xbf36, 300);
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      svc.on('downloadProgress', (e) => {
        if (e.step === 'downloading') started();
      });
      const dl2 = svc.invoke(SHELL_CALLER, 'downloadProfile', [0, 0, { activationCode: order2.activationCode }, CFG]);
      await running;
      const closed = svc.close();
      // the grace period is over at once: the download is aborted, rolls back, and its caller gets 218
      expect(((await dl2) as { responseResult: number }).responseResult).toBe(218);
      await closed;
      void slow;
      svc = await EsimService.open({ home: home.home, unref: true });
      const after = (await svc.invoke(SHELL_CALLER, 'getEuiccProfileInfoList', [0])) as { profiles: { iccid: string }[] };
      expect(after.profiles.map((p) => p.iccid)).toEqual([order.iccid]);
      await svc.whenIdle();
      expect(openChannelCount(await cardOf(svc, 0))).toBe(0);
      await svc.close();
    } finally {
      home.remove();
    }
  });
});

describe('pending notifications at start', () => {
  it('notifications left on the card by an earlier run are sent when the service opens', async () => {
    const home = makeHome();
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    let relay: Server | undefined;
    const sockets = new Set<Socket>();
    try {
      let svc = await EsimService.open({ home: home.home, unref: true, notificationRetry: { baseDelayMs: 60_000 } });
      await svc.whenIdle();
      const order = newOrder(svc, {
        metadata: { notificationConfigurationInfo: [{ profileManagementOperation: [1, 2, 3], notificationAddress: `localhost:${port}` }] },
      });
      expect(((await svc.invoke(SHELL_CALLER, 'downloadProfile', [0, 0, { activationCode: order.activationCode }, { ...CFG, switchAfterDownload: true, forceDisableProfile: true }])) as { responseResult: number }).responseResult).toBe(0);
      await svc.whenIdle();
      const pending = (await svc.invoke(SHELL_CALLER, 'listNotifications', [0])) as { event: string }[];
      expect(pending.map((n) => n.event)).toEqual(['notificationEnable']);
      const smdpPort = svc.demo!.smdp.port;
      await svc.close();

      relay = createServer((c) => {
        const up = connect(smdpPort, '127.0.0.1');
        sockets.add(c).add(up);
        c.pipe(up).pipe(c);
        c.on('error', () => up.destroy());
        up.on('error', () => c.destroy());
      });
      await new Promise<void>((r) => relay!.listen(port, '127.0.0.1', r));
      svc = await EsimService.open({ home: home.home, unref: true });
      await svc.whenIdle();
      expect(await svc.invoke(SHELL_CALLER, 'listNotifications', [0])).toEqual([]);
      expect(svc.demo!.smdp.inventory.receivedNotifications().some((n) => n.iccid === order.iccid && n.event === 'enable')).toBe(true);
      await svc.close();
    } finally {
      for (const s of sockets) s.destroy();
      if (relay) await new Promise<void>((r) => relay!.close(() => r()));
      home.remove();
    }
  });
});
