/**
 * The permission matrix of the eSIM API tests (test/api-conformance.test.ts in-process, test/api-daemon.test.ts
 * through the daemon): the callers, one argument list per function whose values the service rejects (so a
 * permitted call answers 401 and a refused one 202/201, without touching a card), and the expected code.
 */
import { expect } from 'vitest';
import { BusinessError } from '../../src/index.js';
import { SHELL_CALLER, FUNCTION_PERMISSION, GET_PERMISSION, SET_OPEN_PERMISSION, SET_PERMISSION, isSystemFunction, type ApiFunction, type Caller } from '../../src/service/protocol.js';

export const ICCID = '89049032000000000018';
export const PROFILE = { activationCode: 'LPA:1$smdp.example.com$MATCHING-ID' };
export const CONFIG = { switchAfterDownload: false, forceDisableProfile: true, isPprAllowed: true };

export const MATRIX_CALLERS: Readonly<Record<string, Caller>> = {
  'no permission': { bundleName: 'com.example.none', systemApp: true, permissions: [] },
  'GET only': { bundleName: 'com.example.get', systemApp: true, permissions: [GET_PERMISSION] },
  'SET only': { bundleName: 'com.example.set', systemApp: true, permissions: [SET_PERMISSION] },
  'non-system app': { bundleName: 'com.example.app', systemApp: false, permissions: [GET_PERMISSION, SET_PERMISSION, SET_OPEN_PERMISSION] },
  'non-system app without permissions': { bundleName: 'com.example.bare', systemApp: false, permissions: [] },
  shell: SHELL_CALLER,
};

/** Arguments of the right types whose values the service rejects (slot 99 / a malformed activation code / an empty id). */
export const PROBE: Readonly<Partial<Record<ApiFunction, readonly unknown[]>>> = {
  getEid: [99],
  getOsuStatus: [99],
  startOsu: [99],
  getDownloadableProfileMetadata: [99, 0, PROFILE, true],
  getDownloadableProfiles: [99, 0, true],
  downloadProfile: [99, 0, PROFILE, CONFIG],
  getEuiccProfileInfoList: [99],
  getEuiccInfo: [99],
  deleteProfile: [99, ICCID],
  switchToProfile: [99, 0, ICCID, true],
  setProfileNickname: [99, ICCID, 'n'],
  resetMemory: [99],
  reserveProfilesForFactoryRestore: [99],
  setDefaultSmdpAddress: [99, 'smdp.example.com'],
  getDefaultSmdpAddress: [99],
  cancelSession: [99, '0A0B', 0],
  addProfile: [{ activationCode: 'not an activation code' }],
  disableProfile: [99, 0, ICCID],
  getEuiccInfo2: [99],
  listNotifications: [99],
  sendNotifications: [99],
  removeNotification: [99, 1],
  runningDownloads: [99],
  getProfileDetails: [99],
  resolvePendingAdd: ['', true],
};

/** The functions PROBE leaves out: isSupported (synchronous, no permission) and the argument-less extensions (checked apart). */
export const UNPROBED: readonly ApiFunction[] = ['isSupported', 'listSlots', 'listPendingAdds'];

/** 202 (system API, non-system caller) before 201 (permission missing), else permitted. */
export function expectedCode(caller: Caller, fn: ApiFunction): 201 | 202 | 'permitted' {
  if (isSystemFunction(fn) && !caller.systemApp) return 202;
  const p = FUNCTION_PERMISSION[fn];
  if (p !== null && !caller.permissions.includes(p)) return 201;
  return 'permitted';
}

/** The BusinessError a returned promise rejects with (expects a promise, and a rejection with a BusinessError). */
export async function rejection(p: unknown): Promise<BusinessError> {
  expect(p).toBeInstanceOf(Promise);
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BusinessError);
    return e as BusinessError;
  }
  throw new Error('expected a rejection');
}
