/**
 * The eSIM API through the daemon (src/service/daemon.ts runDaemon, the Unix socket of src/service/ipc.ts):
 * `createESim({ socket, token })` with app tokens (the permission matrix over the wire), events, the default
 * `eSIM` of a child process choosing the daemon (ESIM_SOCKET, or the home's socket) and exiting by itself, and
 * 3120001 when the daemon is stopped, cannot be reached, or dies in the middle of a call (a daemon child killed
 * with SIGKILL), then the same instance working again once a daemon is back.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusinessError, createESim, eSIM, type ESim } from '../src/index.js';
import { runDaemon, type RunningDaemon } from '../src/service/daemon.js';
import { ensureHome, homePaths, readShellToken } from '../src/service/home.js';
import { EXTENSION_FUNCTIONS, FUNCTION_PERMISSION, PUBLIC_FUNCTIONS, SYSTEM_FUNCTIONS, type ApiFunction, type ProfileChangeEvent } from '../src/service/protocol.js';
import { CONFIG, expectedCode, MATRIX_CALLERS, PROBE, rejection } from './support/api-matrix.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REGISTER = join(repo, 'src', 'api', 'register.ts');
const scratch = mkdtempSync(join(tmpdir(), 'esimkit-api-daemon-'));
process.env.ESIM_HOME = join(scratch, 'unused-default-home');
delete process.env.ESIM_SOCKET;
delete process.env.ESIM_TOKEN;

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A script under `node --import tsx --import register`; it must exit by itself (killed after 60 s otherwise). */
function runScript(file: string, env: Record<string, string | undefined>): Promise<Run> {
  const e: NodeJS.ProcessEnv = { ...process.env };
  delete e.ESIM_SOCKET;
  delete e.ESIM_TOKEN;
  delete e.NODE_OPTIONS;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
  else e[k] = v;
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', '--import', REGISTER, file], { cwd: repo, env: e, timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const x = err as (Error & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
      done({ code: x ? (typeof x.code === 'number' ? x.code : null) : 0, signal: x?.signal ?? null, stdout, stderr });
    });
  });
}

const SCRIPT = `import { eSIM } from '@kit.TelephonyKit';
import { BusinessError } from '@kit.BasicServicesKit';
try {
  const eid = await eSIM.getEid(0);
  const list = await eSIM.getEuiccProfileInfoList(0);
  console.log('eid ' + eid + ' profiles ' + list.profiles.length + ' result ' + list.responseResult);
} catch (e) {
  console.log('error ' + (e instanceof BusinessError) + ' ' + JSON.stringify(e));
}
`;

describe('the eSIM API through the daemon', () => {
  const home = join(scratch, 'home');
  let daemon: RunningDaemon;
  const logs: Record<string, unknown>[] = [];
  let shellToken: string;
  let shell: ESim;
  let script: string;

  beforeAll(async () => {
    ensureHome(home);
    daemon = await runDaemon({ home, dashboardPort: 0, logLevel: 'debug', log: (l) => void logs.push(JSON.parse(l) as Record<string, unknown>) });
    shellToken = readShellToken(home);
    shell = createESim({ socket: daemon.socketPath, token: shellToken, home });
    script = join(scratch, 'default-instance.mjs');
    writeFileSync(script, SCRIPT);
  });

  afterAll(async () => {
    await shell?.close();
    await daemon?.stop();
  });

  it('the shell token: calls, isSupported from the welcome, callbacks', async () => {
    expect(shell.isSupported(0)).toBe(true); // before the connection: home/slots.json
    expect(await shell.getEid(0)).toMatch(/^[0-9]{32}$/);
    expect(shell.backend).toBeDefined();
    expect(shell.isSupported(1)).toBe(true);
    expect(shell.isSupported(5)).toBe(false);
    const list = await shell.getEuiccProfileInfoList(1);
    expect(list.responseResult).toBe(eSIM.ResultCode.RESULT_OK);
    const viaCallback = await new Promise<[unknown, unknown]>((r) => shell.getEuiccInfo(0, (e, d) => r([e, d])));
    expect(viaCallback[0]).toBeNull();
    expect(typeof (viaCallback[1] as eSIM.EuiccInfo).osVersion).toBe('string');
    const fault = await rejection(shell.setDefaultSmdpAddress(0, 'no such address!'));
    expect([fault.code, fault.message.includes('address')]).toEqual([401, true]);
    expect(JSON.parse(JSON.stringify(fault))).toEqual({ code: 401, message: fault.message });
  });

  describe('permission matrix over the socket (app tokens from the registry)', () => {
    for (const [label, caller] of Object.entries(MATRIX_CALLERS)) {
      if (caller.bundleName === 'shell') continue;
      it(label, async () => {
        const { token } = daemon.registry.add(caller.bundleName, { systemApp: caller.systemApp, permissions: [...caller.permissions] });
        const api = createESim({ socket: daemon.socketPath, token });
        try {
          let checked = 0;
          for (const fn of [...SYSTEM_FUNCTIONS, ...PUBLIC_FUNCTIONS, ...EXTENSION_FUNCTIONS] as ApiFunction[]) {
            const args = PROBE[fn];
            if (!args) continue;
            const want = expectedCode(caller, fn);
            const e = await rejection((api[fn] as (...a: unknown[]) => unknown)(...args));
            if (want === 'permitted') expect(e.code, `${label}: ${fn}`).toBe(401);
            else {
              expect(e.code, `${label}: ${fn}`).toBe(want);
              expect(e.message).toContain(fn);
              if (want === 201) expect(e.message).toContain(FUNCTION_PERMISSION[fn]!);
            }
            checked++;
          }
          expect(checked).toBe(Object.keys(PROBE).length);
          expect(api.isSupported(0)).toBe(true);
        } finally {
          await api.close();
        }
      });
    }

    it('a revoked permission answers 201 on the next call; an unknown token is refused', async () => {
      const { token } = daemon.registry.add('com.example.revoked', { systemApp: true, permissions: [MATRIX_CALLERS['GET only']!.permissions[0]!] });
      const api = createESim({ socket: daemon.socketPath, token });
      try {
        expect(await api.getEid(1)).toMatch(/^[0-9]{32}$/);
        daemon.registry.revoke('com.example.revoked', MATRIX_CALLERS['GET only']!.permissions[0]!);
        expect((await rejection(api.getEid(1))).code).toBe(201);
      } finally {
        await api.close();
      }
      const stranger = createESim({ socket: daemon.socketPath, token: 'not-a-token' });
      expect((await rejection(stranger.getEid(0))).code).toBe(201);
      await stranger.close();
    });
  });

  it('events arrive over the socket', async () => {
    const list = await shell.getEuiccProfileInfoList(0);
    const target = list.profiles[0];
    if (!target) {
      // a fresh card has no profile: install one first
      const codes = (JSON.parse(readFileSync(homePaths(home).demoFile, 'utf8')) as { activationCodes: string[] }).activationCodes;
      const r = await shell.downloadProfile(0, 0, { activationCode: codes[0]! }, CONFIG);
      expect(r.responseResult).toBe(0);
    }
    const iccid = (await shell.getEuiccProfileInfoList(0)).profiles[0]!.iccid;
    const got = new Promise<ProfileChangeEvent>((r) => shell.on('profileChange', r));
    expect(await shell.setProfileNickname(0, iccid, 'via daemon')).toBe(eSIM.ResultCode.RESULT_OK);
    expect(await got).toMatchObject({ slotId: 0, iccid, change: 'nickname' });
    shell.off('profileChange');
  });

  it('getProfileDetails over the socket: the downloaded demo profile’s icon, byte for byte as the SM-DP+ order has it', async () => {
    const codes = (JSON.parse(readFileSync(homePaths(home).demoFile, 'utf8')) as { activationCodes: string[] }).activationCodes;
    const before = (await shell.getEuiccProfileInfoList(1)).profiles.map((p) => p.iccid);
    expect((await shell.downloadProfile(1, 0, { activationCode: codes[1]! }, CONFIG)).responseResult).toBe(eSIM.ResultCode.RESULT_OK);
    const iccid = (await shell.getEuiccProfileInfoList(1)).profiles.map((p) => p.iccid).find((i) => !before.includes(i))!;
    const details: eSIM.ProfileDetails[] = await shell.getProfileDetails(1);
    const d = details.find((x) => x.iccid === iccid)!;
    const ordered = daemon.service.demo!.smdp.inventory.storeMetadata(iccid, daemon.service.demo!.smdpAddress);
    expect(d.iconType).toBe('png');
    expect(new Uint8Array(Buffer.from(d.icon!, 'base64'))).toEqual(ordered.icon);
    // a GET-only app token reads it too; a SET-only one gets 201
    const get = daemon.registry.add('com.example.details_get', { systemApp: true, permissions: [FUNCTION_PERMISSION.getProfileDetails!] });
    const set = daemon.registry.add('com.example.details_set', { systemApp: true, permissions: [FUNCTION_PERMISSION.deleteProfile!] });
    const api = createESim({ socket: daemon.socketPath, token: get.token });
    const setApi = createESim({ socket: daemon.socketPath, token: set.token });
    try {
      expect(await api.getProfileDetails(1)).toEqual(details);
      expect((await rejection(setApi.getProfileDetails(1))).code).toBe(201);
    } finally {
      await api.close();
      await setApi.close();
    }
  });

  it('the default eSIM of a script uses the daemon with ESIM_SOCKET, and without it when the home has one; the script exits by itself', async () => {
    for (const env of [{ ESIM_HOME: home, ESIM_SOCKET: daemon.socketPath }, { ESIM_HOME: home }, { ESIM_HOME: join(scratch, 'elsewhere'), ESIM_SOCKET: daemon.socketPath, ESIM_TOKEN: shellToken }]) {
      const before = logs.length;
      const r = await runScript(script, env);
      expect(r.signal, `did not exit by itself: ${r.stderr}`).toBeNull();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^eid [0-9]{32} profiles \d+ result 0$/m);
      // the calls went through the daemon (it logs each call at debug level)
      const calls = logs.slice(before).filter((l) => l['event'] === 'call' && l['bundleName'] === 'shell');
      expect(calls.map((c) => c['fn'])).toEqual(expect.arrayContaining(['getEid', 'getEuiccProfileInfoList']));
    }
  });

  it('3120001 once the daemon is stopped: instances, callbacks and the default eSIM of a script', async () => {
    await daemon.stop();
    const e = await rejection(shell.getEid(0));
    expect(e.code).toBe(3120001);
    const cb = await new Promise<unknown>((r) => shell.getEuiccInfo(0, (err) => r(err)));
    expect((cb as BusinessError).code).toBe(3120001);
    const fresh = createESim({ socket: daemon.socketPath, token: shellToken, connectTimeoutMs: 2000 });
    expect((await rejection(fresh.getEid(0))).code).toBe(3120001);
    expect((await rejection(fresh.ready())).code).toBe(3120001);
    await fresh.close();
    const r = await runScript(script, { ESIM_HOME: home, ESIM_SOCKET: daemon.socketPath });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.stdout).toMatch(/^error true \{"code":3120001,"message":"Service connection failed/m);
  });
});

describe('a daemon that dies in the middle of a call', () => {
  const home = join(scratch, 'home-kill');
  let child: ChildProcess | undefined;

  /** Start `runDaemon` in a child process; resolves its socket path once it listens. */
  async function startDaemonChild(): Promise<string> {
    const file = join(scratch, 'daemon-child.mjs');
    writeFileSync(
      file,
      `import { runDaemon } from ${JSON.stringify(join(repo, 'src', 'service', 'daemon.ts'))};\n` +
        `const d = await runDaemon({ home: process.argv[2], dashboardPort: 0, log: () => {} });\n` +
        `process.stdout.write(JSON.stringify({ socket: d.socketPath }) + '\\n');\n`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_OPTIONS;
    const c = spawn(process.execPath, ['--import', 'tsx', file, home], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const line = await new Promise<string>((ok, fail) => {
      const rl = createInterface({ input: c.stdout! });
      rl.once('line', ok);
      c.once('exit', (code) => fail(new Error(`daemon child exited (${code}): ${stderr}`)));
    });
    return (JSON.parse(line) as { socket: string }).socket;
  }

  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('the call rejects with 3120001; the same instance works again once a daemon is back', async () => {
    ensureHome(home);
    const socket = await startDaemonChild();
    const api = createESim({ socket, token: readShellToken(home), home });
    try {
      expect(await api.getEid(0)).toMatch(/^[0-9]{32}$/);
      const codes = (JSON.parse(readFileSync(homePaths(home).demoFile, 'utf8')) as { activationCodes: string[] }).activationCodes;
      // kill the daemon as soon as the download is under way
      const killed = new Promise<void>((r) => {
        api.on('downloadProgress', (p) => {
          if (p.step === 'authenticating' || p.step === 'downloading') {
            child?.kill('SIGKILL');
            r();
          }
        });
      });
      const call = api.downloadProfile(0, 0, { activationCode: codes[1]! }, CONFIG);
      await killed;
      const e = await rejection(call);
      expect(e.code).toBe(3120001);
      expect((await rejection(api.getEid(0))).code).toBe(3120001);
      api.off('downloadProgress');

      await new Promise<void>((r) => (child!.exitCode !== null || child!.signalCode !== null ? r() : child!.once('exit', () => r())));
      await startDaemonChild(); // the dead daemon's lock and socket are taken over
      expect(await api.getEid(0)).toMatch(/^[0-9]{32}$/);
      const list = await api.getEuiccProfileInfoList(0);
      expect(list.responseResult).toBe(eSIM.ResultCode.RESULT_OK); // the card is consistent after the crash
    } finally {
      await api.close();
      child?.kill('SIGTERM');
    }
  });
});
