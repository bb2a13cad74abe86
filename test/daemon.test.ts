/**
 * The daemon in-process (runDaemon on a temporary home): socket mode and auth, permissions changed while it
 * runs, events, shell-only factoryReset, malformed input (fuzzed), abandoned calls, two daemons on one home,
 * stop → 3120001, logs without secrets.
 */
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { DaemonRunningError, readDaemonLock, runDaemon, type RunningDaemon } from '../src/service/daemon.js';
import { readShellToken } from '../src/service/home.js';
import { SocketBackend } from '../src/service/ipc.js';
import { MAX_LINE_BYTES, type DownloadProgressEvent, type ProfileChangeEvent } from '../src/service/protocol.js';
import { demoActivationCodes, DOWNLOAD_CONFIG, RawClient } from './support/daemon.js';
import { serviceCode } from './support/service.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const c = await runCli(args, { stdout: (s) => void (out += s), stderr: (s) => void (err += s) });
  return { code: c, out, err };
}

describe('daemon (in-process)', () => {
  let dir: string;
  let home: string;
  let d: RunningDaemon;
  const logs: string[] = [];
  let shell: SocketBackend;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-daemon-'));
    home = join(dir, 'home');
    d = await runDaemon({ home, log: (l) => logs.push(l), logLevel: 'debug' });
    shell = await SocketBackend.connect(d.socketPath, readShellToken(home));
  });
  afterAll(async () => {
    await shell?.close();
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on a 0600 socket, holds the lock, answers the shell identity', async () => {
    const st = lstatSync(d.socketPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    const lock = readDaemonLock(home)!;
    expect(lock).toMatchObject({ pid: process.pid, alive: true, socket: d.socketPath, dashboardUrl: d.dashboardUrl });
    expect(statSync(d.paths.lock).mode & 0o777).toBe(0o600);
    expect(shell.caller).toMatchObject({ bundleName: 'shell', systemApp: true });
    expect(shell.slots.map((s) => s.slotId)).toEqual([0, 1]);
    expect(shell.isSupportedSync(0)).toBe(true);
    expect(shell.isSupportedSync(7)).toBe(false);
    const eid0 = (await shell.invoke('getEid', [0])) as string;
    const eid1 = (await shell.invoke('getEid', [1])) as string;
    expect(eid0).toMatch(/^\d{32}$/);
    expect(eid1).toMatch(/^\d{32}$/);
    expect(eid0).not.toBe(eid1);
    // argument faults travel as ServiceError 401, not as a broken connection
    expect(await serviceCode(shell.invoke('getEid', [9]))).toBe(401);
    expect(await serviceCode(shell.invoke('getEid', ['0']))).toBe(401);
    expect((await shell.invoke('getEuiccProfileInfoList', [0])) as { responseResult: number }).toMatchObject({ responseResult: 0 });
  });

  it('refuses a bad token (201) and a connection without hello', async () => {
    expect(await serviceCode(SocketBackend.connect(d.socketPath, 'not-a-token'))).toBe(201);
    expect(await serviceCode(SocketBackend.connect(d.socketPath, readShellToken(home) + 'x'))).toBe(201);
    const raw = await RawClient.connect(d.socketPath);
    raw.sendJson({ t: 'call', id: 1, fn: 'getEid', args: [0] });
    await raw.untilClosed();
    expect(raw.lines).toEqual([{ t: 'error', code: 201, message: expect.stringContaining('hello') }]);
  });

  it('applies `esim apps` changes made while it runs on the next call (202, 201, revoked token)', async () => {
    const added = await cli(['apps', 'add', 'com.example.wallet', '--system', '--grant', 'GET', '--home', home, '--json']);
    expect(added.code).toBe(0);
    const { token } = JSON.parse(added.out) as { token: string };
    const app = await SocketBackend.connect(d.socketPath, token);
    try {
      expect(app.caller).toMatchObject({ bundleName: 'com.example.wallet', systemApp: true, permissions: ['ohos.permission.GET_TELEPHONY_ESIM_STATE'] });
      expect(await app.invoke('getEid', [0])).toMatch(/^\d{32}$/);
      expect(await serviceCode(app.invoke('setDefaultSmdpAddress', [0, 'smdp.example.com']))).toBe(201);
      expect(await serviceCode(app.invoke('factoryReset' as never, []))).toBe(201);

      expect((await cli(['apps', 'revoke', 'com.example.wallet', 'GET', '--home', home])).code).toBe(0);
      expect(await serviceCode(app.invoke('getEid', [0]))).toBe(201);
      expect((await cli(['apps', 'grant', 'com.example.wallet', 'ohos.permission.GET_TELEPHONY_ESIM_STATE', '--home', home])).code).toBe(0);
      expect(await app.invoke('getEid', [0])).toMatch(/^\d{32}$/);

      // a normal (non-system) app: 202 before 201 for system functions; public isSupported works
      const normal = JSON.parse((await cli(['apps', 'add', 'com.example.game', '--home', home, '--json'])).out) as { token: string };
      const g = await SocketBackend.connect(d.socketPath, normal.token);
      try {
        expect(await serviceCode(g.invoke('getEid', [0]))).toBe(202);
        expect(await serviceCode(g.invoke('factoryReset' as never, []))).toBe(202);
        expect(await g.invoke('isSupported', [0])).toBe(true);
        expect(await serviceCode(g.invoke('addProfile', [{ activationCode: demoActivationCodes(home)[0] }]))).toBe(201);
        g.subscribe('profileChange', () => {});
        await new Promise((r) => setTimeout(r, 100));
        expect(g.subscriptionRefusal('profileChange')?.code).toBe(202);
      } finally {
        await g.close();
      }

      // rotate: the old token stops working at once; the connection made with it is refused on its next call
      const rotated = await cli(['apps', 'rotate-token', 'com.example.wallet', '--home', home, '--json']);
      expect(rotated.code).toBe(0);
      const fresh = JSON.parse(rotated.out) as { token: string };
      expect(fresh.token).not.toBe(token);
      expect(await serviceCode(app.invoke('getEid', [0]))).toBe(201);
      expect(await serviceCode(SocketBackend.connect(d.socketPath, token))).toBe(201);
      const again = await SocketBackend.connect(d.socketPath, fresh.token);
      expect(await again.invoke('getEid', [0])).toMatch(/^\d{32}$/);
      await again.close();
    } finally {
      await app.close();
    }
  });

  it('delivers events to subscribers and runs a download through the socket', async () => {
    const changes: ProfileChangeEvent[] = [];
    const progress: DownloadProgressEvent[] = [];
    const off1 = shell.subscribe('profileChange', (p) => changes.push(p));
    const off2 = shell.subscribe('downloadProgress', (p) => progress.push(p));
    const ac = demoActivationCodes(home)[0]!;
    const r = (await shell.invoke('downloadProfile', [0, 0, { activationCode: ac }, DOWNLOAD_CONFIG])) as { responseResult: number };
    expect(r.responseResult).toBe(0);
    const list = (await shell.invoke('getEuiccProfileInfoList', [0])) as { profiles: { iccid: string }[] };
    expect(list.profiles).toHaveLength(1);
    const iccid = list.profiles[0]!.iccid;
    expect(await shell.invoke('setProfileNickname', [0, iccid, 'daemon test'])).toBe(0);
    // events are written before the call's answer on the same connection
    expect(changes).toEqual(expect.arrayContaining([expect.objectContaining({ slotId: 0, iccid, change: 'installed' }), expect.objectContaining({ slotId: 0, iccid, change: 'nickname' })]));
    expect(progress.map((p) => p.step)).toContain('done');
    expect(progress.find((p) => p.step === 'done')).toMatchObject({ slotId: 0, resultCode: 0, transactionId: expect.stringMatching(/^[0-9A-Fa-f]+$/) });
    off1();
    off2();
    const n = changes.length;
    expect(await shell.invoke('setProfileNickname', [0, iccid, 'after unsubscribe'])).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(changes).toHaveLength(n);
  });

  it('keeps serving others when a client sends garbage (fuzzed); each bad connection gets an error line and is closed', async () => {
    const token = readShellToken(home);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.concat([Buffer.from(b), Buffer.from('\n')])),
          fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) + '\n')),
          fc.record({ t: fc.constantFrom('call', 'sub', 'unsub', 'hello', 'x'), id: fc.anything(), fn: fc.string(), args: fc.anything(), event: fc.string() }).map((v) => Buffer.from(JSON.stringify(v) + '\n')),
        ),
        fc.boolean(),
        async (payload, afterHello) => {
          const raw = await RawClient.connect(d.socketPath);
          try {
            if (afterHello) {
              raw.sendJson({ t: 'hello', v: 1, token });
              await raw.until((l) => l.length >= 1);
            }
            raw.send(payload);
            // a valid-looking line may be answered without closing; anything malformed is answered then closed
            await raw.until((l) => l.length > (afterHello ? 1 : 0) || raw.closed);
            const last = raw.lines.at(-1) as Record<string, unknown>;
            expect(['welcome', 'error', 'result']).toContain(last['t']);
          } finally {
            raw.destroy();
          }
        },
      ),
      { numRuns: 150 },
    );
    // the daemon is still up and answers a well-behaved client
    expect(await shell.invoke('getEid', [0])).toMatch(/^\d{32}$/);
  });

  it('closes a connection whose line exceeds 1 MiB, and refuses a second hello', async () => {
    const raw = await RawClient.connect(d.socketPath);
    raw.sendJson({ t: 'hello', v: 1, token: readShellToken(home) });
    await raw.until((l) => l.length === 1);
    raw.send(Buffer.alloc(MAX_LINE_BYTES + 10, 0x61));
    await raw.untilClosed();
    expect(raw.lines.at(-1)).toMatchObject({ t: 'error', code: 401, message: expect.stringContaining('longer') });

    const raw2 = await RawClient.connect(d.socketPath);
    raw2.sendJson({ t: 'hello', v: 1, token: readShellToken(home) });
    raw2.sendJson({ t: 'hello', v: 1, token: readShellToken(home) });
    await raw2.untilClosed();
    expect(raw2.lines.map((l) => (l as { t: string }).t)).toEqual(['welcome', 'error']);
    expect(await shell.invoke('getEid', [1])).toMatch(/^\d{32}$/);
  });

  it('answers calls by id, in completion order, and drops the answers of a client that went away', async () => {
    const raw = await RawClient.connect(d.socketPath);
    raw.sendJson({ t: 'hello', v: 1, token: readShellToken(home) });
    raw.sendJson({ t: 'call', id: 'a', fn: 'getEid', args: [0] });
    raw.sendJson({ t: 'call', id: 2, fn: 'getEid', args: [1] });
    raw.sendJson({ t: 'call', id: 3, fn: 'noSuchFunction', args: [] });
    raw.sendJson({ t: 'call', id: 4, fn: 'getEid', args: 'zero' });
    expect(await raw.answer('a')).toMatchObject({ t: 'result', value: expect.stringMatching(/^\d{32}$/) });
    expect(await raw.answer(2)).toMatchObject({ t: 'result', value: expect.stringMatching(/^\d{32}$/) });
    expect(await raw.answer(3)).toMatchObject({ t: 'error', code: 401 });
    expect(await raw.answer(4)).toMatchObject({ t: 'error', code: 401 });
    expect(raw.closed).toBe(false);
    // many calls, then hang up before the answers: nothing breaks, the next client is served
    for (let i = 10; i < 60; i++) raw.sendJson({ t: 'call', id: i, fn: i % 2 ? 'getEuiccProfileInfoList' : 'getEid', args: [i % 2] });
    raw.destroy();
    const other = await SocketBackend.connect(d.socketPath, readShellToken(home));
    expect(await other.invoke('getEid', [0])).toMatch(/^\d{32}$/);
    await other.close();
  });

  it('serves 20 concurrent connections × 25 mixed calls on both slots with consistent answers', async () => {
    const eids = [await shell.invoke('getEid', [0]), await shell.invoke('getEid', [1])];
    const counts = [
      ((await shell.invoke('getEuiccProfileInfoList', [0])) as { profiles: unknown[] }).profiles.length,
      ((await shell.invoke('getEuiccProfileInfoList', [1])) as { profiles: unknown[] }).profiles.length,
    ];
    const clients = await Promise.all(Array.from({ length: 20 }, () => SocketBackend.connect(d.socketPath, readShellToken(home))));
    try {
      const answers = await Promise.all(
        clients.flatMap((c, i) =>
          Array.from({ length: 25 }, async (_, k) => {
            const slot = (i + k) % 2;
            if (k % 3 === 0) return [slot, 'list', ((await c.invoke('getEuiccProfileInfoList', [slot])) as { profiles: unknown[] }).profiles.length] as const;
            if (k % 3 === 1) return [slot, 'eid', await c.invoke('getEid', [slot])] as const;
            return [slot, 'smdp', typeof (await c.invoke('getDefaultSmdpAddress', [slot]))] as const;
          }),
        ),
      );
      expect(answers).toHaveLength(500);
      for (const [slot, kind, v] of answers) {
        if (kind === 'eid') expect(v).toBe(eids[slot]);
        else if (kind === 'list') expect(v).toBe(counts[slot]);
        else expect(v).toBe('string');
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('factoryReset over the socket is shell-only and honours reserveProfilesForFactoryRestore', async () => {
    const before = (await shell.invoke('getEuiccProfileInfoList', [0])) as { profiles: unknown[] };
    expect(before.profiles.length).toBeGreaterThan(0);
    expect(await shell.invoke('reserveProfilesForFactoryRestore', [0])).toBe(0);
    const r = await shell.factoryReset();
    expect(r).toEqual([
      { slotId: 0, resultCode: 0, kept: true },
      { slotId: 1, resultCode: 0, kept: false },
    ]);
    const after = (await shell.invoke('getEuiccProfileInfoList', [0])) as { profiles: unknown[] };
    expect(after.profiles).toHaveLength(before.profiles.length);
    // the flag was cleared: a second reset erases
    expect(await shell.factoryReset()).toEqual([
      { slotId: 0, resultCode: 0, kept: false },
      { slotId: 1, resultCode: 0, kept: false },
    ]);
    expect(((await shell.invoke('getEuiccProfileInfoList', [0])) as { profiles: unknown[] }).profiles).toHaveLength(0);
  });

  it('refuses a second daemon on the same home and keeps running', async () => {
    const second = await runDaemon({ home, log: () => {} }).then(
      () => 'started',
      (e: unknown) => e,
    );
    expect(second).toBeInstanceOf(DaemonRunningError);
    expect((second as Error).message).toContain('already running');
    expect((second as Error).message).toContain(home);
    // also with another socket path: the lock, not the socket, decides
    const third = await runDaemon({ home, socketPath: join(dir, 'other.sock'), log: () => {} }).then(
      () => 'started',
      (e: unknown) => e,
    );
    expect(third).toBeInstanceOf(DaemonRunningError);
    expect(existsSync(join(dir, 'other.sock'))).toBe(false);
    expect(await shell.invoke('getEid', [0])).toMatch(/^\d{32}$/);
  });

  it('logs JSON lines without tokens', () => {
    expect(logs.length).toBeGreaterThan(5);
    const token = readShellToken(home);
    for (const l of logs) {
      const v = JSON.parse(l) as Record<string, unknown>;
      expect(typeof v['event']).toBe('string');
      expect(typeof v['time']).toBe('string');
      expect(l).not.toContain(token);
      expect(l).not.toContain('LPA:1$');
    }
    expect(logs.some((l) => l.includes('"event":"started"'))).toBe(true);
    expect(logs.some((l) => l.includes('"event":"hello-refused"'))).toBe(true);
  });
});

describe('daemon stop', () => {
  it('stops cleanly: socket and lock removed, clients get 3120001, a new daemon starts on the same home', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'esimkit-daemon-stop-'));
    const home = join(dir, 'home');
    try {
      const d = await runDaemon({ home, log: () => {} });
      const b = await SocketBackend.connect(d.socketPath, readShellToken(home));
      expect(await b.invoke('getEid', [0])).toMatch(/^\d{32}$/);
      const ac = new AbortController();
      const d2p = runDaemon({ home, log: () => {}, signal: ac.signal }).catch((e: unknown) => e);
      expect(await d2p).toBeInstanceOf(DaemonRunningError);
      await d.stop();
      await d.closed;
      expect(existsSync(d.socketPath)).toBe(false);
      expect(existsSync(d.paths.lock)).toBe(false);
      expect(readDaemonLock(home)).toBeUndefined();
      expect(await serviceCode(b.invoke('getEid', [0]))).toBe(3120001);
      expect(await serviceCode(SocketBackend.connect(d.socketPath, readShellToken(home)))).toBe(3120001);
      // the same backend reconnects once a daemon is back
      const d3 = await runDaemon({ home, log: () => {}, signal: ac.signal });
      expect(await b.invoke('getEid', [0])).toMatch(/^\d{32}$/);
      ac.abort(); // the signal stops it
      await d3.closed;
      expect(existsSync(d3.socketPath)).toBe(false);
      expect(await serviceCode(b.invoke('getEid', [0]))).toBe(3120001);
      await b.close();
      expect(readFileSync(join(home, 'slots.json'), 'utf8')).toContain('virtual');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
