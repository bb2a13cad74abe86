/**
 * The LPA commands of `esim` through a daemon:
 * - a running `runDaemon` on the home is found by itself (no option): the same `profile list` document as
 *   in-process, downloads with progress events from the daemon, Ctrl-C of a child `esim profile download`
 *   cancels through the daemon (the card slowed by a delay fault);
 * - app tokens (ESIM_TOKEN): 201 / 202 → exit 5;
 * - notifications (list, process, remove) on a test-owned service served on a socket (--socket), the demo
 *   SM-DP+ stopped so that notifications stay pending, then started again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultName } from '../src/cli/output.js';
import { runDaemon, type RunningDaemon } from '../src/service/daemon.js';
import { startDemoServers, type DemoServers } from '../src/service/demo.js';
import { GET_PERMISSION, SET_PERMISSION, SHELL_CALLER } from '../src/service/protocol.js';
import { cli, socketService, spawnCli } from './support/cli.js';
import { demoActivationCodes } from './support/daemon.js';
import { cardOf, makeHome, newOrder } from './support/service.js';

type Json = Record<string, unknown>;

describe('esim through a running daemon (found on the home)', () => {
  let home: ReturnType<typeof makeHome>;
  let daemon: RunningDaemon;
  const log: Json[] = [];
  const h = (): string[] => ['--home', home.home];

  beforeAll(async () => {
    home = makeHome();
    daemon = await runDaemon({ home: home.home, dashboardPort: 0, logLevel: 'debug', log: (l) => void log.push(JSON.parse(l) as Json) });
  });
  afterAll(async () => {
    await daemon?.stop();
    home.remove();
  });

  const callsOf = (fn: string): number => log.filter((l) => l['event'] === 'call' && l['fn'] === fn).length;

  let viaDaemon: Json;
  it('profile download and list go through the daemon (its log shows the calls); progress from daemon events', async () => {
    const code = demoActivationCodes(home.home)[0]!;
    const before = callsOf('downloadProfile');
    const d = await cli(['profile', 'download', '-a', code, '--json', ...h()]);
    expect(d.code).toBe(0);
    expect(d.json()).toMatchObject({ installed: true, resultCode: 0 });
    expect(callsOf('downloadProfile')).toBe(before + 1);
    const steps = d.err
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as Json)['step']);
    expect(steps[0]).toBe('authenticating');
    expect(steps.at(-1)).toBe('done');

    const listBefore = callsOf('getEuiccProfileInfoList');
    const l = await cli(['profile', 'list', '--json', ...h()]);
    expect(l.code).toBe(0);
    expect(callsOf('getEuiccProfileInfoList')).toBe(listBefore + 1);
    viaDaemon = l.json();
    expect((viaDaemon['profiles'] as Json[]).map((p) => p['iccid'])).toEqual([d.json()['iccid']]);
  });

  it('tokens of apps: GET only lists but cannot delete (201, exit 5); a non-system app gets 202 (exit 5); a bad token 201', async () => {
    const get = daemon.registry.add('com.example.reader', { systemApp: true, permissions: [GET_PERMISSION] });
    const app = daemon.registry.add('com.example.app', { systemApp: false, permissions: [GET_PERMISSION, SET_PERMISSION] });
    const ok = await cli(['profile', 'list', '--json', ...h()], { env: { ESIM_TOKEN: get.token } });
    expect(ok.code).toBe(0);
    expect(ok.json()).toEqual(viaDaemon);
    const iccid = ((viaDaemon['profiles'] as Json[])[0]!['iccid'] as string) ?? '';
    const del = await cli(['profile', 'delete', iccid, '--json', ...h()], { env: { ESIM_TOKEN: get.token } });
    expect(del.code).toBe(5);
    expect(del.json<{ error: Json }>().error).toMatchObject({ code: 201 });
    expect(del.err).toMatch(/SET_TELEPHONY_ESIM_STATE/);
    const sys = await cli(['profile', 'list', ...h()], { env: { ESIM_TOKEN: app.token } });
    expect(sys.code).toBe(5);
    expect(sys.err).toMatch(/\(202\)/);
    const bad = await cli(['chip', 'info', '--json', ...h()], { env: { ESIM_TOKEN: 'not-a-token' } });
    expect(bad.code).toBe(5);
    expect(bad.json<{ error: Json }>().error['code']).toBe(201);
    for (const r of [ok, del, sys, bad]) {
      expect(r.out + r.err).not.toContain(get.token);
      expect(r.out + r.err).not.toContain(app.token);
    }
    expect((await cli(['profile', 'list', ...h()])).code).toBe(0); // the shell token still works
  });

  it('Ctrl-C of a child `esim profile download` (daemon found on the home) cancels mid-install: no profile, no session, order cancelled', async () => {
    const order = newOrder(daemon.service);
    const card = await cardOf(daemon.service, 1);
    card.faults.add({ match: { ins: 0xe2 }, action: { kind: 'delay', ms: 120 } });
    let child;
    try {
      child = await spawnCli(['profile', 'download', '-a', order.activationCode, '--slot', '1', '--json', '--home', home.home]);
      await child.waitFor((o) => /"step":"installing","done":[1-9]/.test(o.stderr), 90_000);
      child.child.kill('SIGINT');
      expect(await child.exit, child.stderr).toBe(130);
    } finally {
      card.faults.clear();
    }
    expect(child.stderr).toMatch(/esim: download cancelled\n$/);
    const doc = JSON.parse(child.stdout) as Json;
    expect(doc).toMatchObject({ slot: 1, installed: false, cancelled: true });
    const tid = doc['transactionId'] as string;
    const list = (await daemon.service.invoke(SHELL_CALLER, 'getEuiccProfileInfoList', [1])) as { profiles: { iccid: string }[] };
    expect(list.profiles.map((p) => p.iccid)).not.toContain(order.iccid);
    expect(await daemon.service.invoke(SHELL_CALLER, 'cancelSession', [1, tid, 0])).toBe(215);
    expect(await daemon.service.invoke(SHELL_CALLER, 'runningDownloads', [1])).toEqual([]);
    expect(daemon.service.demo!.smdp.inventory.order(order.matchingId)?.state).toBe('cancelled');
  });

  it('the same list in-process once the daemon has stopped', async () => {
    await daemon.stop();
    const l = await cli(['profile', 'list', '--json', ...h()]);
    expect(l.code).toBe(0);
    expect(l.json()).toEqual(viaDaemon);
  });
});

describe('esim notification (test-owned service on a socket, --socket)', () => {
  let home: ReturnType<typeof makeHome>;
  let served: Awaited<ReturnType<typeof socketService>>;
  let restarted: DemoServers | undefined;
  const s = (): string[] => ['--socket', served.socket, '--home', home.home];
  const list = async (): Promise<{ seqNumber: number; event: string; address: string; iccid: string | null }[]> => {
    const r = await cli(['notification', 'list', '--json', ...s()]);
    expect(r.code).toBe(0);
    return r.json<{ notifications: { seqNumber: number; event: string; address: string; iccid: string | null }[] }>().notifications;
  };

  beforeAll(async () => {
    home = makeHome();
    // retries far in the future: pending notifications stay until the test sends them
    served = await socketService(home.home, { notificationRetry: { baseDelayMs: 3_600_000, maxDelayMs: 3_600_000 } });
  });
  afterAll(async () => {
    await restarted?.close();
    await served.close();
    home.remove();
  });

  it('list / remove / process with the demo SM-DP+ down, then up', async () => {
    const order = newOrder(served.service);
    const d = await cli(['profile', 'download', '-a', order.activationCode, '--json', ...s()]);
    expect(d.json()).toMatchObject({ installed: true, iccid: order.iccid });
    expect(await list()).toEqual([]); // the install notification was acknowledged
    const empty = await cli(['notification', 'list', ...s()]);
    expect(empty.out).toBe('no pending notifications on slot 0\n');

    await served.service.demo!.close();
    expect((await cli(['profile', 'enable', order.iccid, ...s()])).code).toBe(0);
    expect((await cli(['profile', 'disable', order.iccid, ...s()])).code).toBe(0);
    const pending = await list();
    const address = served.service.demo!.smdpAddress;
    expect(pending).toEqual([
      { seqNumber: expect.any(Number), event: 'enable', address, iccid: order.iccid },
      { seqNumber: expect.any(Number), event: 'disable', address, iccid: order.iccid },
    ]);
    const [enable, disable] = pending.map((n) => n.seqNumber) as [number, number];
    const text = await cli(['notification', 'list', ...s()]);
    expect(text.out).toMatch(new RegExp(`^SEQ +EVENT +ICCID +SM-DP\\+\\n${enable} +enable +${order.iccid} +${address.replace('.', '\\.')}\\n`));

    const down = await cli(['notification', 'process', '--json', ...s()]);
    expect(down.code).toBe(3);
    const dj = down.json<{ slot: number; sent: number[]; failed: Json[] }>();
    expect(dj.slot).toBe(0);
    expect(dj.sent).toEqual([]);
    expect(dj.failed.map((f) => f['seqNumber']).sort()).toEqual([enable, disable].sort());
    for (const f of dj.failed) {
      expect(f['resultCode']).toBe(220); // RESULT_SERVER_UNAVAILABLE: the SM-DP+ is down
      expect(f['result']).toBe(resultName(f['resultCode'] as number));
    }
    expect(await list()).toHaveLength(2);

    const rm = await cli(['notification', 'remove', String(disable), '--json', ...s()]);
    expect(rm.code).toBe(0);
    expect(rm.json()).toEqual({ slot: 0, removed: [disable], failed: [] });
    const again = await cli(['notification', 'remove', String(disable), '--json', ...s()]);
    expect(again.code).toBe(3);
    expect(again.json()).toEqual({ slot: 0, removed: [], failed: [{ seqNumber: disable, resultCode: 270, result: 'RESULT_NOTHING_TO_DELETE' }] });
    const usage = await cli(['notification', 'remove', ...s()]);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/or --all/);

    restarted = await startDemoServers(served.service.config, { unref: true });
    const up = await cli(['notification', 'process', String(enable), '--json', ...s()]);
    expect(up.code).toBe(0);
    expect(up.json()).toEqual({ slot: 0, sent: [enable], failed: [] });
    expect(await list()).toEqual([]);

    // --all removes whatever is pending
    await restarted.close();
    restarted = undefined;
    expect((await cli(['profile', 'enable', order.iccid, ...s()])).code).toBe(0);
    expect(await list()).toHaveLength(1);
    const all = await cli(['notification', 'remove', '--all', ...s()]);
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^removed: \d+\n$/);
    expect(await list()).toEqual([]);
  });
});
