/**
 * Conformance of the eSIM API (src/api) with the seed (../shared/seed/esim-system-api.md, parsed at test time):
 * every enum value, every function with the seed's parameter list and permission, argument count/type faults
 * → BusinessError 401 thrown synchronously, value faults → 401 rejected asynchronously, the permission matrix
 * (202 before 201) for every function, 801 for an empty slot, callbacks, the isAlowPpr alias, result shapes.
 *
 * In-process, on a temporary ESIM_HOME with the embedded default (two software eUICCs, demo SM-DP+/SM-DS) and
 * a third slot without an eUICC.
 */
import { ResultCode as LpaResultCode } from '../src/lpa/result-codes.js';
import { ResultCode as ApiResultCode } from '../src/api/types.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusinessError, createESim, eSIM, SHELL_CALLER, type ESim } from '../src/index.js';
import { PARAMS } from '../src/api/args.js';
import { toBusinessError } from '../src/api/errors.js';
import { acquireService, openServiceHomes } from '../src/api/client.js';
import * as types from '../src/api/types.js';
import { ensureHome, homePaths } from '../src/service/home.js';
import {
  EXTENSION_FUNCTIONS,
  FUNCTION_PERMISSION,
  PUBLIC_FUNCTIONS,
  SET_OPEN_PERMISSION,
  ServiceError,
  SYSTEM_FUNCTIONS,
  type ApiFunction,
  type ProfileChangeEvent,
} from '../src/service/protocol.js';
import { PARAMETERS } from '../src/service/validate.js';
import { describeWithSeed, seed, type SeedFunction } from './support/api-seed.js';
import { CONFIG, expectedCode, ICCID, MATRIX_CALLERS, PROBE, PROFILE, rejection, UNPROBED } from './support/api-matrix.js';

// The namespace's default instance must never touch the user's ~/.esimkit from this test.
const scratch = mkdtempSync(join(tmpdir(), 'esimkit-api-conf-'));
process.env.ESIM_HOME = join(scratch, 'default-home');
delete process.env.ESIM_SOCKET;

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs `f`; the BusinessError it throws synchronously, or undefined. A returned promise is swallowed. */
function syncThrow(f: () => unknown): BusinessError | undefined {
  try {
    const r = f();
    if (r instanceof Promise) r.catch(() => {});
    return undefined;
  } catch (e) {
    if (e instanceof BusinessError) return e;
    throw e;
  }
}

/** A value of the right type for a seed parameter type. */
function validValue(type: string): unknown {
  switch (type) {
    case 'number':
    case 'ResetOption':
    case 'CancelReason':
      return 0;
    case 'string':
      return ICCID;
    case 'boolean':
      return true;
    case 'DownloadableProfile':
      return { ...PROFILE };
    case 'DownloadConfiguration':
      return { ...CONFIG };
  }
  throw new Error(`no valid value for type ${type}`);
}

/** Values of a wrong type for a seed parameter type. */
function wrongValues(type: string): unknown[] {
  switch (type) {
    case 'number':
    case 'ResetOption':
    case 'CancelReason':
      return ['0', true, {}];
    case 'string':
      return [1, null, {}];
    case 'boolean':
      return ['true', 1];
    case 'DownloadableProfile':
      return ['LPA:1$a$b', 1, [], {}, { activationCode: 1 }, { ...PROFILE, accessRules: 'x' }, { ...PROFILE, carrierName: 5 }];
    case 'DownloadConfiguration':
      return [1, 'x', { ...CONFIG, switchAfterDownload: 'yes' }, { switchAfterDownload: true, forceDisableProfile: true }, { ...CONFIG, isPprAllowed: 1 }];
  }
  throw new Error(`no wrong value for type ${type}`);
}

/** The public functions (js-apis-esim.md), which the system-API seed does not list. */
const PUBLIC_SIGNATURES: SeedFunction[] = [
  { name: 'isSupported', params: [{ name: 'slotId', type: 'number', optional: false }], permission: undefined, systemApi: false, example: undefined },
  { name: 'addProfile', params: [{ name: 'profile', type: 'DownloadableProfile', optional: false }], permission: SET_OPEN_PERMISSION, systemApi: false, example: undefined },
];

// ------------------------------------------------------------------------------------------ BusinessError

describe('BusinessError', () => {
  it('is an Error with code, message and name BusinessError; JSON.stringify shows code and message', () => {
    const e = new BusinessError(401, 'Parameter error. x');
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(BusinessError);
    expect(e.name).toBe('BusinessError');
    expect(e.code).toBe(401);
    expect(e.message).toBe('Parameter error. x');
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 401, message: 'Parameter error. x' });
    expect(`${JSON.stringify(e)}`).toContain('"code":401');
    expect(Object.keys(e)).toEqual(expect.arrayContaining(['code', 'message']));
    expect(String(e)).toBe('BusinessError: Parameter error. x');
    const d = new BusinessError<{ n: number }>(3120002, undefined, { data: { n: 1 } });
    expect(d.message).toBe('System internal error.');
    expect(JSON.parse(JSON.stringify(d))).toEqual({ code: 3120002, message: 'System internal error.', data: { n: 1 } });
  });

  it('a ServiceError keeps its code and message; anything else is 3120002', () => {
    const s = toBusinessError(new ServiceError(201, 'Permission denied: getEid needs X'));
    expect([s.code, s.message]).toEqual([201, 'Permission denied: getEid needs X']);
    const o = toBusinessError(new TypeError('boom'));
    expect(o.code).toBe(3120002);
    expect(o.message).toContain('boom');
  });
});

// ------------------------------------------------------------------------------------------ enums, functions

describeWithSeed('the namespace against the seed', () => {
  it('has every enum of the seed with the same members and values (and no others)', () => {
    const enums = seed().enums;
    expect(enums.map((e) => e.name).sort()).toEqual(
      ['CancelReason', 'OsuStatus', 'PolicyRules', 'ProfileClass', 'ProfileState', 'ResetOption', 'ResultCode', 'SolvableErrors'].sort(),
    );
    let checked = 0;
    for (const e of enums) {
      const ns = (eSIM as unknown as Record<string, Record<string, unknown>>)[e.name];
      expect(ns, e.name).toBeDefined();
      for (const m of e.members) {
        expect(ns![m.name], `${e.name}.${m.name}`).toBe(m.value);
        expect(ns![String(m.value)], `reverse mapping ${e.name}[${m.value}]`).toBe(m.name);
        checked++;
      }
      const ours = Object.keys(ns!).filter((k) => !/^-?\d+$/.test(k));
      expect(ours.sort(), e.name).toEqual(e.members.map((m) => m.name).sort());
      // the same objects as src/api/types.ts
      expect(ns).toBe((types as unknown as Record<string, unknown>)[e.name]);
    }
    expect(checked).toBe(3 + 5 + 37 + 4 + 3 + 4 + 3 + 2);
    expect(eSIM.ResultCode.RESULT_OK).toBe(0);
    expect(eSIM.CancelReason.CANCEL_REASON_END_USER_REJECTION).toBe(0);
  });

  it('has the 16 system functions with the seed parameter lists and permissions, plus the 2 public ones', () => {
    const fns = seed().functions;
    expect(fns.map((f) => f.name)).toEqual([...SYSTEM_FUNCTIONS]);
    for (const f of fns) {
      expect(typeof (eSIM as unknown as Record<string, unknown>)[f.name], f.name).toBe('function');
      expect(f.systemApi, f.name).toBe(true);
      const ours = PARAMS[f.name as ApiFunction];
      expect(ours.map((p) => [p.name, p.optional === true]), f.name).toEqual(f.params.map((p) => [p.name, p.optional]));
      expect(PARAMETERS[f.name as ApiFunction], `service parameter names of ${f.name}`).toEqual(f.params.map((p) => p.name));
      expect(FUNCTION_PERMISSION[f.name as ApiFunction], f.name).toBe(f.permission);
    }
    for (const f of PUBLIC_FUNCTIONS) expect(typeof eSIM[f]).toBe('function');
    for (const f of EXTENSION_FUNCTIONS) expect(typeof eSIM[f], f).toBe('function');
    expect(typeof eSIM.on).toBe('function');
    expect(typeof eSIM.off).toBe('function');
  });

  it('lists DownloadConfiguration with isPprAllowed, as the seed does', () => {
    const dc = seed().interfaces.find((i) => i.name === 'DownloadConfiguration');
    expect(dc?.fields.map((f) => f.name)).toEqual(['switchAfterDownload', 'forceDisableProfile', 'isPprAllowed']);
  });
});

describeWithSeed('argument count and type faults: BusinessError 401 thrown synchronously', () => {
  const instance = createESim({ caller: SHELL_CALLER, home: join(scratch, 'never-opened') });
  const targets: [string, Record<string, (...a: unknown[]) => unknown>][] = [
    ['eSIM', eSIM as unknown as Record<string, (...a: unknown[]) => unknown>],
    ['createESim()', instance as unknown as Record<string, (...a: unknown[]) => unknown>],
  ];
  const all = (): SeedFunction[] => [...seed().functions, ...PUBLIC_SIGNATURES];

  for (const [label, api] of targets) {
    it(`${label}: too few and too many arguments, for all 18 functions`, () => {
      let n = 0;
      for (const f of all()) {
        const valid = f.params.map((p) => validValue(p.type));
        const required = f.params.filter((p) => !p.optional).length;
        const cases: unknown[][] = [valid.slice(0, required - 1), [...valid, 'extra'], [...valid, 'extra', () => {}]];
        if (required > 1) cases.push([]);
        for (const args of cases) {
          const e = syncThrow(() => api[f.name]!(...args));
          expect(e, `${f.name}(${args.length} args)`).toBeDefined();
          expect(e!.code).toBe(401);
          expect(e!.message).toContain(f.name);
          expect(e!.message).toMatch(/argument/);
          n++;
        }
      }
      expect(n).toBeGreaterThanOrEqual(18 * 3);
    });

    it(`${label}: a wrong type names the parameter and what was expected, for all 18 functions`, () => {
      let n = 0;
      for (const f of all()) {
        const valid = f.params.map((p) => validValue(p.type));
        f.params.forEach((p, i) => {
          for (const wrong of wrongValues(p.type)) {
            if (p.optional && (wrong === null || wrong === undefined)) continue;
            const args = [...valid];
            args[i] = wrong;
            const e = syncThrow(() => api[f.name]!(...args));
            expect(e, `${f.name}: ${p.name} = ${JSON.stringify(wrong)}`).toBeDefined();
            expect(e!.code).toBe(401);
            expect(e!.message).toContain(p.name);
            expect(e!.message).toMatch(/must be (a|an) /);
            n++;
          }
        });
        // a callback position holding something else than a function
        if (f.name !== 'isSupported') {
          const e = syncThrow(() => api[f.name]!(...valid, 42));
          expect(e?.code, `${f.name}: non-function callback`).toBe(401);
        }
      }
      expect(n).toBeGreaterThan(40);
    });
  }

  for (const [label, api] of targets) {
    it(`${label}: the (slotId) extensions, getProfileDetails among them, check count and type like the seed's functions`, () => {
      const fns = ['getEuiccInfo2', 'listNotifications', 'runningDownloads', 'getProfileDetails'] as const;
      for (const fn of fns) {
        expect(PARAMS[fn].map((p) => p.name), fn).toEqual(['slotId']);
        for (const args of [[], [0, 1], [0, 'extra', () => {}]]) {
          const e = syncThrow(() => api[fn]!(...args));
          expect(e?.code, `${fn}(${args.length} args)`).toBe(401);
          expect(e!.message).toContain(fn);
          expect(e!.message).toMatch(/argument/);
        }
        for (const wrong of ['0', null, undefined, {}, true]) {
          const e = syncThrow(() => api[fn]!(wrong));
          expect(e?.code, `${fn}(${JSON.stringify(wrong)})`).toBe(401);
          expect(e!.message).toContain('slotId');
          expect(e!.message).toMatch(/must be (a|an) /);
        }
        expect(syncThrow(() => api[fn]!(0, 42))?.code, `${fn}: non-function callback`).toBe(401);
      }
    });
  }

  it('on/off: unknown event or non-function callback → sync 401', () => {
    expect(syncThrow(() => instance.on('profileChanged' as 'profileChange', () => {}))?.code).toBe(401);
    expect(syncThrow(() => instance.on('profileChange', 'x' as unknown as () => void))?.code).toBe(401);
    expect(syncThrow(() => instance.off(1 as unknown as 'profileChange'))?.code).toBe(401);
    expect(syncThrow(() => eSIM.on('osuProgress', undefined as unknown as () => void))?.message).toContain('callback');
  });

  it('createESim rejects malformed options synchronously', () => {
    expect(syncThrow(() => createESim({} as never))?.code).toBe(401);
    expect(syncThrow(() => createESim({ caller: { bundleName: 'a', systemApp: 'yes', permissions: [] } } as never))?.message).toContain('systemApp');
    expect(syncThrow(() => createESim({ socket: '/tmp/x.sock' } as never))?.message).toContain('token');
  });

  afterAll(async () => {
    await instance.close();
  });
});

// ------------------------------------------------------------------------------------------ through the service

const CALLERS = MATRIX_CALLERS;

describe('through the in-process service (embedded default + an empty slot)', () => {
  const home = join(scratch, 'home');
  let shell: ESim;
  let demoCodes: string[] = [];

  beforeAll(async () => {
    const { paths } = ensureHome(home);
    const cfg = JSON.parse(readFileSync(paths.slotsFile, 'utf8')) as { slots: unknown[] };
    cfg.slots.push({ slotId: 2, transport: 'none', ports: 0, removable: true });
    writeFileSync(paths.slotsFile, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    demoCodes = (JSON.parse(readFileSync(homePaths(home).demoFile, 'utf8')) as { activationCodes: string[] }).activationCodes;
    shell = createESim({ caller: SHELL_CALLER, home });
    await shell.ready();
  });

  afterAll(async () => {
    await shell?.close();
    // the last instance of the home closed the shared service
    expect(openServiceHomes()).not.toContain(home);
  });

  describe('permission matrix: exact codes for every function (202 before 201)', () => {
    for (const [label, caller] of Object.entries(CALLERS)) {
      it(label, async () => {
        const api = createESim({ caller, home });
        try {
          let checked = 0;
          for (const fn of [...SYSTEM_FUNCTIONS, ...PUBLIC_FUNCTIONS, ...EXTENSION_FUNCTIONS] as ApiFunction[]) {
            if (fn === 'isSupported') {
              expect(api.isSupported(0), `${label}: isSupported needs no permission`).toBe(true);
              continue;
            }
            const args = PROBE[fn];
            if (!args) continue;
            const want = expectedCode(caller, fn);
            const e = await rejection((api[fn] as (...a: unknown[]) => unknown)(...args));
            if (want === 'permitted') {
              expect(e.code, `${label}: ${fn} is permitted, so the value check answers`).toBe(401);
            } else {
              expect(e.code, `${label}: ${fn}`).toBe(want);
              expect(e.message, `${label}: ${fn}`).toContain(fn);
              if (want === 201) expect(e.message).toContain(FUNCTION_PERMISSION[fn]!);
            }
            checked++;
          }
          expect(checked).toBe(Object.keys(PROBE).length);
          // the no-argument extensions
          const slots = api.listSlots();
          if (expectedCode(caller, 'listSlots') === 'permitted') expect((await slots).length).toBe(3);
          const pending = api.listPendingAdds();
          const want = expectedCode(caller, 'listPendingAdds');
          if (want === 'permitted') expect(Array.isArray(await pending)).toBe(true);
          else expect((await rejection(pending)).code).toBe(want);
        } finally {
          await api.close();
        }
      });
    }

    it('the matrix covers every function of the lists (a new one cannot be skipped)', () => {
      const all = [...SYSTEM_FUNCTIONS, ...PUBLIC_FUNCTIONS, ...EXTENSION_FUNCTIONS] as ApiFunction[];
      expect(all.filter((f) => PROBE[f] === undefined).sort()).toEqual([...UNPROBED].sort());
      expect(Object.keys(PROBE).every((f) => all.includes(f as ApiFunction))).toBe(true);
      for (const f of all) expect(FUNCTION_PERMISSION[f] === null || typeof FUNCTION_PERMISSION[f] === 'string', f).toBe(true);
      // the extension for the profiles' icons reads: GET permission, system app
      expect(EXTENSION_FUNCTIONS).toContain('getProfileDetails');
      expect(FUNCTION_PERMISSION.getProfileDetails).toBe(FUNCTION_PERMISSION.getEuiccProfileInfoList);
      expect(expectedCode(CALLERS['non-system app']!, 'getProfileDetails')).toBe(202);
      expect(expectedCode(CALLERS['SET only']!, 'getProfileDetails')).toBe(201);
      expect(expectedCode(CALLERS['GET only']!, 'getProfileDetails')).toBe('permitted');
    });

    it('real calls: GET-only reads, SET-only cannot read', async () => {
      const get = createESim({ caller: CALLERS['GET only']!, home });
      const set = createESim({ caller: CALLERS['SET only']!, home });
      try {
        expect(await get.getEid(0)).toMatch(/^[0-9]{32}$/);
        expect((await rejection(set.getEid(0))).code).toBe(201);
        expect(Array.isArray(await get.getProfileDetails(0))).toBe(true);
        expect((await rejection(set.getProfileDetails(0))).message).toBe(`Permission denied: getProfileDetails needs ${FUNCTION_PERMISSION.getProfileDetails}`);
        expect((await rejection(get.setProfileNickname(0, ICCID, 'x'))).code).toBe(201);
        // SET-only reaches the card: an unknown ICCID is a ResultCode, not a rejection
        expect(await set.setProfileNickname(0, ICCID, 'x')).toBe(eSIM.ResultCode.RESULT_NOTHING_TO_DELETE);
      } finally {
        await get.close();
        await set.close();
      }
    });
  });

  it('value faults reject asynchronously with 401 naming the parameter', async () => {
    const cases: [string, () => unknown, string][] = [
      ['slot out of range', () => shell.getEid(99), 'slotId'],
      ['negative slot', () => shell.getEuiccInfo(-1), 'slotId'],
      ['fractional slot', () => shell.getEid(0.5), 'slotId'],
      ['NaN slot', () => shell.getEid(NaN), 'slotId'],
      ['port out of range', () => shell.switchToProfile(0, 5, ICCID, true), 'portIndex'],
      ['malformed iccid', () => shell.deleteProfile(0, 'abc'), 'iccid'],
      ['short iccid', () => shell.setProfileNickname(0, '8949', 'n'), 'iccid'],
      ['nickname over 64 bytes', () => shell.setProfileNickname(0, ICCID, 'é'.repeat(33)), 'nickname'],
      ['malformed address', () => shell.setDefaultSmdpAddress(0, 'not an address!'), 'address'],
      ['odd-length transactionId', () => shell.cancelSession(0, 'ABC', 0), 'transactionId'],
      ['non-hex transactionId', () => shell.cancelSession(0, 'XYZW', 0), 'transactionId'],
      ['cancelReason out of range', () => shell.cancelSession(0, '0A0B', 9 as eSIM.CancelReason), 'cancelReason'],
      ['ResetOption 0', () => shell.resetMemory(0, 0 as eSIM.ResetOption), 'options'],
      ['ResetOption 8', () => shell.resetMemory(0, 8 as eSIM.ResetOption), 'options'],
      ['malformed activation code', () => shell.downloadProfile(0, 0, { activationCode: '1' }, CONFIG), 'activationCode'],
      ['activation code without address', () => shell.getDownloadableProfileMetadata(0, 0, { activationCode: 'LPA:1$$X' }, true), 'activationCode'],
      ['isAlowPpr contradicts isPprAllowed', () => shell.downloadProfile(0, 0, { activationCode: demoCodes[2]! }, { ...CONFIG, isAlowPpr: false }), 'isAlowPpr'],
      ['addProfile activation code', () => shell.addProfile({ activationCode: 'x' }), 'activationCode'],
      ['seqNumber negative', () => shell.removeNotification(0, -1), 'seqNumber'],
    ];
    for (const [what, f, param] of cases) {
      let p: unknown;
      expect(() => (p = f()), what).not.toThrow();
      const e = await rejection(p);
      expect(e.code, what).toBe(401);
      expect(e.message, what).toContain(param);
    }
  });

  it('801 for a slot without an eUICC, for every function that needs a card; isSupported false', async () => {
    expect(shell.isSupported(0)).toBe(true);
    expect(shell.isSupported(1)).toBe(true);
    expect(shell.isSupported(2)).toBe(false);
    expect(shell.isSupported(3)).toBe(false);
    expect(shell.isSupported(-1)).toBe(false);
    expect(syncThrow(() => shell.isSupported('0' as unknown as number))?.code).toBe(401);
    const calls: [string, () => unknown][] = [
      ['getEid', () => shell.getEid(2)],
      ['getOsuStatus', () => shell.getOsuStatus(2)],
      ['startOsu', () => shell.startOsu(2)],
      ['getDownloadableProfileMetadata', () => shell.getDownloadableProfileMetadata(2, 0, PROFILE, true)],
      ['getDownloadableProfiles', () => shell.getDownloadableProfiles(2, 0, true)],
      ['downloadProfile', () => shell.downloadProfile(2, 0, PROFILE, CONFIG)],
      ['getEuiccProfileInfoList', () => shell.getEuiccProfileInfoList(2)],
      ['getEuiccInfo', () => shell.getEuiccInfo(2)],
      ['deleteProfile', () => shell.deleteProfile(2, ICCID)],
      ['switchToProfile', () => shell.switchToProfile(2, 0, ICCID, true)],
      ['setProfileNickname', () => shell.setProfileNickname(2, ICCID, 'n')],
      ['resetMemory', () => shell.resetMemory(2)],
      ['reserveProfilesForFactoryRestore', () => shell.reserveProfilesForFactoryRestore(2)],
      ['setDefaultSmdpAddress', () => shell.setDefaultSmdpAddress(2, 'smdp.example.com')],
      ['getDefaultSmdpAddress', () => shell.getDefaultSmdpAddress(2)],
      ['cancelSession', () => shell.cancelSession(2, '0A0B', 0)],
    ];
    const rejected: number[] = [];
    for (const [fn, f] of calls) {
      const e = await rejection(f());
      expect(e.code, fn).toBe(801);
      rejected.push(e.code);
    }
    expect(rejected).toHaveLength(16);
  });

  it('the optional options of resetMemory may be omitted, undefined, or followed by a callback', async () => {
    expect(syncThrow(() => shell.resetMemory('0' as unknown as number))?.code).toBe(401);
    const forms: unknown[][] = [[2], [2, undefined], [2, null], [2, eSIM.ResetOption.DELETE_OPERATIONAL_PROFILES]];
    for (const args of forms) {
      const e = await rejection((shell.resetMemory as (...a: unknown[]) => unknown)(...args));
      expect(e.code, JSON.stringify(args)).toBe(801);
    }
    for (const args of [[2, () => {}], [2, undefined, () => {}], [2, 7, () => {}]] as unknown[][]) {
      const err = await new Promise<unknown>((resolve) => {
        const cb = (e: unknown): void => resolve(e);
        expect((shell.resetMemory as (...a: unknown[]) => unknown)(...args.slice(0, -1), cb)).toBeUndefined();
      });
      expect((err as BusinessError).code).toBe(801);
    }
  });

  it('callbacks: (null, data) on success, (BusinessError) on a value fault; the call returns undefined', async () => {
    const ok = await new Promise<[unknown, unknown, unknown]>((resolve) => {
      const r = shell.getEid(0, (err, data) => resolve([err, data, r]));
    });
    expect(ok[0]).toBeNull();
    expect(ok[1]).toMatch(/^[0-9]{32}$/);
    expect(ok[2]).toBeUndefined();
    const bad = await new Promise<[unknown, unknown]>((resolve) => {
      shell.getEuiccInfo(99, (err, data) => resolve([err, data]));
    });
    expect(bad[0]).toBeInstanceOf(BusinessError);
    expect((bad[0] as BusinessError).code).toBe(401);
    expect(bad[1]).toBeUndefined();
    const reset = await new Promise<unknown>((resolve) => {
      shell.resetMemory(2, undefined, (err) => resolve(err));
    });
    expect((reset as BusinessError).code).toBe(801);
  });

  describeWithSeed('results have the seed shapes; isAlowPpr is accepted; events', () => {
    const fieldsOf = (name: string): string[] => seed().interfaces.find((i) => i.name === name)!.fields.map((f) => f.name);

    it('reads', async () => {
      const info = await shell.getEuiccInfo(0);
      expect(Object.keys(info)).toEqual(expect.arrayContaining(fieldsOf('EuiccInfo')));
      expect(typeof info.osVersion).toBe('string');
      const list = await shell.getEuiccProfileInfoList(0);
      expect(Object.keys(list)).toEqual(expect.arrayContaining(fieldsOf('GetEuiccProfileInfoListResult')));
      expect(list.responseResult).toBe(eSIM.ResultCode.RESULT_OK);
      expect(list.isRemovable).toBe(false);
      for (const p of list.profiles) {
        expect(Object.keys(p)).toEqual(expect.arrayContaining(fieldsOf('EuiccProfile')));
        expect(Object.keys(p.operatorId)).toEqual(expect.arrayContaining(fieldsOf('OperatorId')));
      }
      const found = await shell.getDownloadableProfiles(0, 0, true);
      expect(Object.keys(found)).toEqual(expect.arrayContaining(fieldsOf('GetDownloadableProfilesResult')));
      expect(found.responseResult).toBe(eSIM.ResultCode.RESULT_OK);
      expect(found.downloadableProfiles.length).toBeGreaterThanOrEqual(1);
      expect(typeof (await shell.getDefaultSmdpAddress(0))).toBe('string');
      expect(Object.values(eSIM.OsuStatus)).toContain(await shell.getOsuStatus(0));
    });

    it('metadata, then a download with the SDK spelling isAlowPpr, then a nickname with a profileChange event', async () => {
      const meta = await shell.getDownloadableProfileMetadata(0, 0, { activationCode: demoCodes[0]! }, true);
      expect(Object.keys(meta)).toEqual(expect.arrayContaining(fieldsOf('GetDownloadableProfileMetadataResult')));
      expect(meta.responseResult).toBe(eSIM.ResultCode.RESULT_OK);
      expect(meta.iccid).toMatch(/^[0-9]{18,20}$/);

      const progress: eSIM.DownloadProgressEvent[] = [];
      const onProgress = (p: eSIM.DownloadProgressEvent): void => void progress.push(p);
      shell.on('downloadProgress', onProgress);
      const config: eSIM.DownloadConfiguration = { switchAfterDownload: false, forceDisableProfile: true, isAlowPpr: true };
      const res = await shell.downloadProfile(0, 0, { activationCode: demoCodes[1]! }, config);
      shell.off('downloadProgress', onProgress);
      expect(Object.keys(res)).toEqual(expect.arrayContaining(fieldsOf('DownloadProfileResult')));
      expect(res.responseResult).toBe(eSIM.ResultCode.RESULT_OK);
      expect(progress.some((p) => p.step === 'done' && p.resultCode === 0)).toBe(true);
      expect(progress.some((p) => typeof p.transactionId === 'string' && /^[0-9A-F]+$/i.test(p.transactionId))).toBe(true);

      const list = await shell.getEuiccProfileInfoList(0);
      const installed = list.profiles.find((p) => p.nickName !== 'Work' && p.state === eSIM.ProfileState.PROFILE_STATE_DISABLED);
      expect(installed).toBeDefined();
      const changes: ProfileChangeEvent[] = [];
      const onChange = (c: ProfileChangeEvent): void => void changes.push(c);
      shell.on('profileChange', onChange);
      expect(await shell.setProfileNickname(0, installed!.iccid, 'Work')).toBe(eSIM.ResultCode.RESULT_OK);
      shell.off('profileChange');
      expect(await shell.setProfileNickname(0, installed!.iccid, 'Work 2')).toBe(eSIM.ResultCode.RESULT_OK);
      expect(changes).toEqual([expect.objectContaining({ slotId: 0, iccid: installed!.iccid, change: 'nickname' })]);
      const after = await shell.getEuiccProfileInfoList(0);
      expect(after.profiles.find((p) => p.iccid === installed!.iccid)?.nickName).toBe('Work 2');
    });
  });

  it('events need a system app with GET: on() throws 202 / 201 once open; a refusal before open does not break calls', async () => {
    const app = createESim({ caller: CALLERS['non-system app']!, home });
    const set = createESim({ caller: CALLERS['SET only']!, home });
    try {
      set.on('profileChange', () => {}); // before open: subscribed at open, refused, dropped
      expect(await set.setProfileNickname(0, ICCID, 'x')).toBe(eSIM.ResultCode.RESULT_NOTHING_TO_DELETE);
      expect(syncThrow(() => set.on('profileChange', () => {}))?.code).toBe(201);
      await app.ready();
      const e = syncThrow(() => app.on('downloadProgress', () => {}));
      expect(e?.code).toBe(202);
      expect(e).toBeInstanceOf(BusinessError);
      expect(await app.addProfile({ activationCode: demoCodes[2]! })).toBe(true);
    } finally {
      await app.close();
      await set.close();
    }
  });

  it('isSupported before the backend is open reads slots.json (no service opened for it)', () => {
    const fresh = createESim({ caller: CALLERS['non-system app']!, home });
    expect([fresh.isSupported(0), fresh.isSupported(1), fresh.isSupported(2), fresh.isSupported(3)]).toEqual([true, true, false, false]);
    expect(fresh.backend).toBeUndefined();
    void fresh.close();
  });

  it('createESim({ caller, service }) and createESim({ backend }) bind to an open service', async () => {
    const { service, release } = await acquireService(home);
    try {
      const viaService = createESim({ caller: CALLERS['GET only']!, service });
      expect(await viaService.getEid(1)).toMatch(/^[0-9]{32}$/);
      expect((await rejection(viaService.startOsu(1))).code).toBe(201);
      await viaService.close();
      const viaBackend = createESim({ backend: service.backendFor(CALLERS['non-system app']!) });
      expect((await rejection(viaBackend.getEid(1))).code).toBe(202);
      expect(viaBackend.isSupported(1)).toBe(true);
      await viaBackend.close();
      expect(await shell.getEid(1)).toMatch(/^[0-9]{32}$/); // the shared service is still open
    } finally {
      await release();
    }
  });

  it('a closed instance answers 3120001; other instances of the home keep working', async () => {
    const a = createESim({ caller: SHELL_CALLER, home });
    expect(await a.getEid(1)).toMatch(/^[0-9]{32}$/);
    await a.close();
    const e = await rejection(a.getEid(1));
    expect(e.code).toBe(3120001);
    expect(await shell.getEid(1)).toMatch(/^[0-9]{32}$/);
  });
});

// The LPA maps failures with its own ResultCode table (src/lpa/result-codes.ts: lpa/ sits below api/ and cannot
// import it); the public enum (src/api/types.ts) must name exactly the same codes with the same numbers.
describe('one ResultCode in the LPA and the API', () => {
  it('src/lpa/result-codes.ts ResultCode equals the eSIM.ResultCode enum, member for member', () => {
    const apiMembers = Object.fromEntries(Object.entries(ApiResultCode).filter(([k]) => Number.isNaN(Number(k))));
    expect(apiMembers).toEqual({ ...LpaResultCode });
  });
});
