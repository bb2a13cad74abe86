/**
 * `esim apps ...` and `esim device factory-reset` (in-process CLI, runCli) on a temporary home, with and
 * without a running daemon.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { CallerRegistry } from '../src/service/callers.js';
import { runDaemon } from '../src/service/daemon.js';
import { homePaths, readShellToken } from '../src/service/home.js';
import { SocketBackend } from '../src/service/ipc.js';
import { SHELL_CALLER } from '../src/service/protocol.js';
import { EsimService } from '../src/service/service.js';
import { demoActivationCodes, DOWNLOAD_CONFIG } from './support/daemon.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => void (out += s), stderr: (s) => void (err += s) });
  return { code, out, err };
}

const GET = 'ohos.permission.GET_TELEPHONY_ESIM_STATE';
const SET = 'ohos.permission.SET_TELEPHONY_ESIM_STATE';
const SET_OPEN = 'ohos.permission.SET_TELEPHONY_ESIM_STATE_OPEN';

describe('esim apps', () => {
  let dir: string;
  let home: string;
  const h = (): string[] => ['--home', home];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-apps-'));
    home = join(dir, 'home');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('add prints the token once (text and --json); the database keeps only its hash', async () => {
    const a = await cli(['apps', 'add', 'com.example.one', '--system', '--grant', 'GET', 'SET', ...h()]);
    expect(a.code).toBe(0);
    const token = /token: ([A-Za-z0-9_-]{43})/.exec(a.out)![1]!;
    expect(a.out).toContain('shown only once');
    const j = await cli(['apps', 'add', 'com.example.two', '--grant', SET_OPEN, ...h(), '--json']);
    expect(j.code).toBe(0);
    const two = JSON.parse(j.out) as { bundleName: string; systemApp: boolean; permissions: string[]; token: string };
    expect(two).toEqual({ bundleName: 'com.example.two', systemApp: false, permissions: [SET_OPEN], token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });

    const db = new Database(homePaths(home).serviceDb, { readonly: true });
    try {
      const dump = JSON.stringify(db.prepare('SELECT * FROM apps').all());
      expect(dump).not.toContain(token);
      expect(dump).not.toContain(two.token);
      const reg = new CallerRegistry(db);
      expect(reg.resolveToken(token)).toEqual({ bundleName: 'com.example.one', systemApp: true, permissions: [GET, SET] });
    } finally {
      db.close();
    }
    const list = await cli(['apps', 'list', ...h()]);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/com\.example\.one +system +GET_TELEPHONY_ESIM_STATE, SET_TELEPHONY_ESIM_STATE/);
    expect(list.out).toMatch(/com\.example\.two +normal +SET_TELEPHONY_ESIM_STATE_OPEN/);
    expect(list.out).not.toContain(token);
  });

  it('grant/revoke with short and full names; list --json', async () => {
    expect((await cli(['apps', 'grant', 'com.example.two', 'get', ...h()])).code).toBe(0);
    expect((await cli(['apps', 'revoke', 'com.example.two', SET_OPEN, ...h()])).code).toBe(0);
    const g = await cli(['apps', 'grant', 'com.example.two', 'SET_TELEPHONY_ESIM_STATE', ...h(), '--json']);
    expect(JSON.parse(g.out)).toMatchObject({ bundleName: 'com.example.two', permissions: [GET, SET] });
    const list = JSON.parse((await cli(['apps', 'list', ...h(), '--json'])).out) as { bundleName: string; permissions: string[]; createdAt: number }[];
    expect(list.map((a) => [a.bundleName, a.permissions])).toEqual([
      ['com.example.one', [GET, SET]],
      ['com.example.two', [GET, SET]],
    ]);
    expect(list.every((a) => typeof a.createdAt === 'number' && !('token' in a))).toBe(true);
  });

  it('usage errors (exit 2) and failures (exit 1) leave the registry unchanged', async () => {
    const before = (await cli(['apps', 'list', ...h(), '--json'])).out;
    const unknownPerm = await cli(['apps', 'grant', 'com.example.one', 'CAMERA', ...h()]);
    expect(unknownPerm.code).toBe(2);
    expect(unknownPerm.err).toContain('unknown permission "CAMERA"');
    expect((await cli(['apps', 'add', 'com.example.three', '--grant', 'GET', 'ROOT', ...h()])).code).toBe(2);
    expect((await cli(['apps', 'add', 'not a bundle', ...h()])).code).toBe(2);
    expect((await cli(['apps', 'add', 'shell', '--system', ...h()])).code).toBe(2);
    const dup = await cli(['apps', 'add', 'com.example.one', ...h()]);
    expect(dup.code).toBe(1);
    expect(dup.err).toContain('already registered');
    const missing = await cli(['apps', 'revoke', 'com.nobody', 'GET', ...h()]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('no app com.nobody');
    expect((await cli(['apps', 'grant', 'com.example.one', ...h()])).code).toBe(2); // missing argument
    expect((await cli(['apps', 'list', ...h(), '--json'])).out).toBe(before);
  });

  it('rotate-token and remove', async () => {
    const r = await cli(['apps', 'rotate-token', 'com.example.one', ...h(), '--json']);
    expect(r.code).toBe(0);
    const { token } = JSON.parse(r.out) as { token: string };
    const store = new Database(homePaths(home).serviceDb, { readonly: true });
    try {
      expect(new CallerRegistry(store).resolveToken(token)?.bundleName).toBe('com.example.one');
    } finally {
      store.close();
    }
    expect((await cli(['apps', 'remove', 'com.example.one', ...h()])).code).toBe(0);
    expect((await cli(['apps', 'remove', 'com.example.one', ...h()])).code).toBe(1);
    expect(JSON.parse((await cli(['apps', 'list', ...h(), '--json'])).out).map((a: { bundleName: string }) => a.bundleName)).toEqual(['com.example.two']);
    expect((await cli(['apps', '--help'])).out).toContain('esim apps add com.example.esim --system --grant GET SET');
  });
});

describe('esim device factory-reset', () => {
  let dir: string;
  let home: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-device-'));
    home = join(dir, 'home');
    // a profile on each slot, slot 0 reserved for factory restore
    const svc = await EsimService.open({ home, unref: true });
    try {
      const codes = demoActivationCodes(home);
      for (const slot of [0, 1]) {
        const r = (await svc.invoke(SHELL_CALLER, 'downloadProfile', [slot, 0, { activationCode: codes[slot] }, DOWNLOAD_CONFIG])) as { responseResult: number };
        expect(r.responseResult).toBe(0);
      }
      expect(await svc.invoke(SHELL_CALLER, 'reserveProfilesForFactoryRestore', [0])).toBe(0);
    } finally {
      await svc.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const count = async (b: { invoke(fn: 'getEuiccProfileInfoList', a: unknown[]): Promise<unknown> }, slot: number): Promise<number> =>
    ((await b.invoke('getEuiccProfileInfoList', [slot])) as { profiles: unknown[] }).profiles.length;

  it('refuses without --yes when not on a terminal (exit 2), changing nothing', async () => {
    const r = await cli(['device', 'factory-reset', '--home', home]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--yes');
    const svc = await EsimService.open({ home, unref: true, startDemoServers: false });
    try {
      expect(await count({ invoke: (fn, a) => svc.invoke(SHELL_CALLER, fn, a) }, 0)).toBe(1);
      expect(await count({ invoke: (fn, a) => svc.invoke(SHELL_CALLER, fn, a) }, 1)).toBe(1);
    } finally {
      await svc.close();
    }
  });

  it('runs in-process without a daemon, honouring the reservation and clearing it', async () => {
    const r = await cli(['device', 'factory-reset', '--yes', '--home', home, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      via: 'in-process',
      slots: [
        { slotId: 0, resultCode: 0, kept: true },
        { slotId: 1, resultCode: 0, kept: false },
      ],
    });
    const svc = await EsimService.open({ home, unref: true, startDemoServers: false });
    try {
      const b = { invoke: (fn: 'getEuiccProfileInfoList', a: unknown[]) => svc.invoke(SHELL_CALLER, fn, a) };
      expect(await count(b, 0)).toBe(1);
      expect(await count(b, 1)).toBe(0);
      expect(svc.store.getFactoryReserve(0)).toBe(false);
    } finally {
      await svc.close();
    }
  });

  it('goes through the running daemon when there is one', async () => {
    const d = await runDaemon({ home, log: () => {} });
    try {
      const r = await cli(['device', 'factory-reset', '--yes', '--home', home]);
      expect(r.code).toBe(0);
      expect(r.out).toContain('slot 0: reset');
      expect(r.out).toContain('through the daemon');
      const b = await SocketBackend.connect(d.socketPath, readShellToken(home));
      try {
        expect(await count(b, 0)).toBe(0); // the reservation was used up by the first reset
      } finally {
        await b.close();
      }
    } finally {
      await d.stop();
    }
    expect(readFileSync(homePaths(home).slotsFile, 'utf8')).toContain('"slots"');
  });
});
