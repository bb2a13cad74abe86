/**
 * EsimService checks, in OpenHarmony's order, for every function: 202 (non-system caller on a system
 * function), 201 (missing permission; the message names the function and the permission), 401 (each
 * parameter, the message naming it; nothing changes on the card), 801 (a slot without an eUICC), 5 for OS
 * update without a provider, 3120001 once closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXTENSION_FUNCTIONS,
  FUNCTION_PERMISSION,
  GET_PERMISSION,
  isSystemFunction,
  PUBLIC_FUNCTIONS,
  SET_PERMISSION,
  SHELL_CALLER,
  SYSTEM_FUNCTIONS,
  type ApiFunction,
  type Caller,
} from '../src/service/protocol.js';
import { EsimService } from '../src/service/service.js';
import { cardOf, CALLERS, errorCode, makeHome, openChannelCount } from './support/service.js';

const ALL: ApiFunction[] = [...SYSTEM_FUNCTIONS, ...PUBLIC_FUNCTIONS, ...EXTENSION_FUNCTIONS];
const AC = 'LPA:1$smdp.example.com$ABC-123';
const ICCID = '89490000000000000000';
const CFG = { switchAfterDownload: false, forceDisableProfile: false, isPprAllowed: false };

/** Valid arguments on slot `s` (values that need no card state). */
function validArgs(fn: ApiFunction, s = 0): unknown[] {
  switch (fn) {
    case 'getDownloadableProfileMetadata':
      return [s, 0, { activationCode: AC }, false];
    case 'getDownloadableProfiles':
      return [s, 0, false];
    case 'downloadProfile':
      return [s, 0, { activationCode: AC }, CFG];
    case 'deleteProfile':
      return [s, ICCID];
    case 'switchToProfile':
      return [s, 0, ICCID, false];
    case 'setProfileNickname':
      return [s, ICCID, 'nick'];
    case 'resetMemory':
      return [s, 2];
    case 'setDefaultSmdpAddress':
      return [s, 'smdp.example.com'];
    case 'cancelSession':
      return [s, '0A0B', 0];
    case 'addProfile':
      return [{ activationCode: AC }];
    case 'disableProfile':
      return [s, 0, ICCID];
    case 'sendNotifications':
    case 'removeNotification':
      return [s, 1];
    case 'resolvePendingAdd':
      return ['no-such-id', false];
    case 'listSlots':
    case 'listPendingAdds':
      return [];
    default:
      return [s];
  }
}

/** Arguments that fail the value checks (so that a caller passing 202/201 gets 401). */
function invalidArgs(fn: ApiFunction): unknown[] {
  if (fn === 'addProfile') return [{ activationCode: 'garbage' }];
  if (fn === 'resolvePendingAdd') return ['', true];
  const a = validArgs(fn);
  if (a.length > 0) a[0] = 99;
  return a;
}

/** Bad values per parameter name. */
const BAD: Record<string, unknown[]> = {
  slotId: [2, -1, 1.5, '0', null, undefined],
  portIndex: [1, -1, 'x', undefined],
  profile: [null, 'x', {}, { activationCode: 'bad' }, { activationCode: AC, confirmationCode: 5 }, { activationCode: AC, accessRules: {} }],
  forceDisableProfile: ['true', 1, undefined],
  configuration: [null, {}, { ...CFG, switchAfterDownload: 1 }, { switchAfterDownload: true, forceDisableProfile: true }],
  iccid: ['123', 'ABCDEFABCDEFABCDEFAB', 89490000000000000000, undefined],
  nickname: [5, 'x'.repeat(65), undefined],
  options: [0, 8, 1.5, '1'],
  address: ['', 'https://smdp.example.com', 'a b', 5, undefined],
  transactionId: ['ABC', '', 'GG', 5, '00'.repeat(17), undefined],
  cancelReason: [4, -1, '0', undefined],
  seqNumber: [-1, 'x', 1.5],
  id: ['', 5, undefined],
  accept: ['yes', undefined],
};
const PARAMS: Partial<Record<ApiFunction, string[]>> = {
  getDownloadableProfileMetadata: ['slotId', 'portIndex', 'profile', 'forceDisableProfile'],
  getDownloadableProfiles: ['slotId', 'portIndex', 'forceDisableProfile'],
  downloadProfile: ['slotId', 'portIndex', 'profile', 'configuration'],
  deleteProfile: ['slotId', 'iccid'],
  switchToProfile: ['slotId', 'portIndex', 'iccid', 'forceDisableProfile'],
  setProfileNickname: ['slotId', 'iccid', 'nickname'],
  resetMemory: ['slotId', 'options'],
  setDefaultSmdpAddress: ['slotId', 'address'],
  cancelSession: ['slotId', 'transactionId', 'cancelReason'],
  addProfile: ['profile'],
  disableProfile: ['slotId', 'portIndex', 'iccid'],
  sendNotifications: ['slotId', 'seqNumber'],
  removeNotification: ['slotId', 'seqNumber'],
  resolvePendingAdd: ['id', 'accept'],
};
function paramsOf(fn: ApiFunction): string[] {
  return PARAMS[fn] ?? (validArgs(fn).length === 1 ? ['slotId'] : []);
}

describe('on the embedded default', () => {
  let home: { home: string; remove(): void };
  let svc: EsimService;
  beforeAll(async () => {
    home = makeHome();
    svc = await EsimService.open({ home: home.home, unref: true });
    await svc.whenIdle();
  });
  afterAll(async () => {
    await svc?.close();
    home?.remove();
  });

  it('every function is covered by the permission table', () => {
    expect(ALL).toHaveLength(16 + 2 + EXTENSION_FUNCTIONS.length);
    for (const fn of ALL) expect(FUNCTION_PERMISSION[fn] === null || typeof FUNCTION_PERMISSION[fn] === 'string').toBe(true);
    // the reading extensions, getProfileDetails (the profiles' icons) among them: system app + GET
    for (const fn of ['getEuiccInfo2', 'listNotifications', 'runningDownloads', 'getProfileDetails'] as ApiFunction[]) {
      expect(ALL, fn).toContain(fn);
      expect(FUNCTION_PERMISSION[fn], fn).toBe(GET_PERMISSION);
      expect(isSystemFunction(fn), fn).toBe(true);
      expect(paramsOf(fn), fn).toEqual(['slotId']);
    }
  });

  it('permission matrix: no permission, GET only, SET only, non-system app, shell → exact codes for every function', async () => {
    const expected = (caller: Caller, fn: ApiFunction): number | 'value' => {
      if (isSystemFunction(fn) && !caller.systemApp) return 202;
      const p = FUNCTION_PERMISSION[fn];
      if (p !== null && !caller.permissions.includes(p)) return 201;
      return fn === 'listSlots' || fn === 'listPendingAdds' ? 'value' : 401;
    };
    let checked = 0;
    for (const [name, caller] of Object.entries(CALLERS)) {
      for (const fn of ALL) {
        const want = expected(caller, fn);
        const got = await errorCode(svc.invoke(caller, fn, invalidArgs(fn)));
        if (want === 'value') {
          expect(got, `${name} ${fn}`).toBeUndefined();
        } else {
          expect(got?.code, `${name} ${fn}`).toBe(want);
          if (want === 201) expect(got!.message).toBe(`Permission denied: ${fn} needs ${FUNCTION_PERMISSION[fn]}`);
          if (want === 202) expect(got!.message).toContain(fn);
          if (want === 401) expect(got!.message).toMatch(/slotId|profile|id/);
        }
        checked++;
      }
    }
    expect(checked).toBe(5 * ALL.length);
    // spot checks with valid arguments: the call goes through
    expect(await svc.invoke(CALLERS.get, 'getEid', [0])).toMatch(/^\d{32}$/);
    expect((await errorCode(svc.invoke(CALLERS.set, 'getEid', [0])))?.code).toBe(201);
    expect(await svc.invoke(CALLERS.set, 'setProfileNickname', [0, ICCID, 'x'])).toBe(270);
    expect((await errorCode(svc.invoke(CALLERS.get, 'setProfileNickname', [0, ICCID, 'x'])))?.code).toBe(201);
    expect(await svc.invoke(CALLERS.nonSystem, 'isSupported', [0])).toBe(true);
    expect((await errorCode(svc.invoke(CALLERS.nonSystem, 'getEid', [0])))?.message).toContain('getEid');
    expect((await errorCode(svc.invoke({ bundleName: 'x', systemApp: true, permissions: [GET_PERMISSION, SET_PERMISSION] }, 'addProfile', [{ activationCode: AC }])))?.code).toBe(201);
  });

  it('401 for each parameter of each function, naming it; nothing changes on the card', async () => {
    const card = await cardOf(svc, 0);
    const before = JSON.stringify(await svc.invoke(SHELL_CALLER, 'getEuiccProfileInfoList', [0]));
    const addrBefore = await svc.invoke(SHELL_CALLER, 'getDefaultSmdpAddress', [0]);
    let checked = 0;
    for (const fn of ALL) {
      const names = paramsOf(fn);
      for (const [i, name] of names.entries()) {
        for (const bad of BAD[name] ?? []) {
          if (bad === undefined && (fn === 'resetMemory' || fn === 'sendNotifications') && i === names.length - 1) continue; // optional
          const args = validArgs(fn);
          args[i] = bad;
          if (bad === undefined && i === args.length - 1) args.pop();
          const got = await errorCode(svc.invoke(SHELL_CALLER, fn, args));
          expect(got?.code, `${fn} ${name}=${JSON.stringify(bad)}`).toBe(401);
          expect(got!.message, `${fn} ${name}`).toContain(name);
          checked++;
        }
      }
      // one argument too many
      const extra = await errorCode(svc.invoke(SHELL_CALLER, fn, [...validArgs(fn), 0, 0, 0, 0, 0]));
      expect(extra?.code, `${fn} extra`).toBe(401);
    }
    expect(checked).toBeGreaterThan(100);
    expect((await errorCode(svc.invoke(SHELL_CALLER, 'noSuchFunction' as ApiFunction, [])))?.code).toBe(401);
    expect(JSON.stringify(await svc.invoke(SHELL_CALLER, 'getEuiccProfileInfoList', [0]))).toBe(before);
    expect(await svc.invoke(SHELL_CALLER, 'getDefaultSmdpAddress', [0])).toBe(addrBefore);
    expect(await svc.invoke(SHELL_CALLER, 'listPendingAdds', [])).toEqual([]);
    await svc.whenIdle();
    expect(openChannelCount(card)).toBe(0);
  });

  it('backendFor binds a caller: invoke, isSupportedSync, subscribe (system + GET), close unsubscribes', async () => {
    const b = svc.backendFor(CALLERS.get);
    expect(await b.invoke('getEid', [1])).toBe((await cardOf(svc, 1)).eid);
    expect(b.isSupportedSync(1)).toBe(true);
    expect(b.isSupportedSync(5)).toBe(false);
    const seen: unknown[] = [];
    b.subscribe('profileChange', (e) => seen.push(e));
    expect(() => svc.backendFor(CALLERS.nonSystem).subscribe('profileChange', () => undefined)).toThrow(expect.objectContaining({ code: 202 }));
    expect(() => svc.backendFor(CALLERS.set).subscribe('profileChange', () => undefined)).toThrow(expect.objectContaining({ code: 201 }));
    await b.close();
    expect(seen).toEqual([]);
  });
});

describe('a slot without an eUICC and a card without an OS-update provider', () => {
  let home: { home: string; remove(): void };
  let svc: EsimService;
  beforeAll(async () => {
    home = makeHome((json) => {
      const slots = json['slots'] as Record<string, unknown>[];
      slots[1] = { slotId: 1, transport: 'none' };
      delete json['osu'];
    });
    svc = await EsimService.open({ home: home.home, unref: true });
    await svc.whenIdle();
  });
  afterAll(async () => {
    await svc?.close();
    home?.remove();
  });

  it('801 for every card function on the empty slot, after 202/201/401; isSupported false', async () => {
    expect(await svc.invoke(SHELL_CALLER, 'listSlots', [])).toEqual([
      { slotId: 0, transport: 'virtual', ports: 1, removable: false, hasEuicc: true, osuProvider: false },
      { slotId: 1, transport: 'none', ports: 0, removable: false, hasEuicc: false, osuProvider: false },
    ]);
    const answered801: ApiFunction[] = [];
    for (const fn of ALL) {
      const args = validArgs(fn, 1);
      if (!paramsOf(fn).includes('slotId')) continue;
      const got = await errorCode(svc.invoke(SHELL_CALLER, fn, args));
      if (got?.code === 801) answered801.push(fn);
      if (fn === 'isSupported') {
        expect(got).toBeUndefined();
        expect(await svc.invoke(SHELL_CALLER, fn, args)).toBe(false);
      } else if (fn === 'runningDownloads') {
        expect(await svc.invoke(SHELL_CALLER, fn, args)).toEqual([]);
      } else {
        expect(got?.code, fn).toBe(801);
      }
      if (isSystemFunction(fn)) expect((await errorCode(svc.invoke(CALLERS.nonSystem, fn, args)))?.code).toBe(202);
    }
    // every slot function but isSupported and runningDownloads needs the card
    expect(answered801).toContain('getProfileDetails');
    expect(answered801).toHaveLength(ALL.filter((f) => paramsOf(f).includes('slotId')).length - 2);
    expect((await errorCode(svc.invoke(SHELL_CALLER, 'deleteProfile', [1, '123'])))?.code).toBe(401);
    expect((await errorCode(svc.invoke(SHELL_CALLER, 'switchToProfile', [1, -1, ICCID, true])))?.code).toBe(401);
    expect((await errorCode(svc.invoke(SHELL_CALLER, 'switchToProfile', [1, 3, ICCID, true])))?.code).toBe(801);
    expect(svc.isSupported(1)).toBe(false);
  });

  it('getOsuStatus and startOsu answer EUICC_UPGRADE_SERVICE_UNAVAILABLE (5) without a provider', async () => {
    expect(await svc.invoke(SHELL_CALLER, 'getOsuStatus', [0])).toBe(5);
    expect(await svc.invoke(SHELL_CALLER, 'startOsu', [0])).toBe(5);
    expect((await errorCode(svc.invoke(SHELL_CALLER, 'getOsuStatus', [1])))?.code).toBe(801);
  });

  it('after close: 3120001 for calls and factoryReset; close is idempotent', async () => {
    await svc.close();
    expect((await errorCode(svc.invoke(SHELL_CALLER, 'getEid', [0])))?.code).toBe(3120001);
    expect((await errorCode(svc.factoryReset()))?.code).toBe(3120001);
    await svc.close();
  });
});
