import { describe, expect, it } from 'vitest';
import { ServiceError } from './protocol.js';
import {
  checkActivationCode,
  checkDownloadConfiguration,
  checkDownloadableProfile,
  checkIccid,
  checkNickname,
  checkResetOption,
  checkTransactionId,
  validateArgs,
} from './validate.js';

const SLOTS = [
  { slotId: 0, ports: 1 },
  { slotId: 1, ports: 2 },
];

function fails(f: () => unknown, param: string): ServiceError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ServiceError);
  const e = err as ServiceError;
  expect(e.code).toBe(401);
  expect(e.message).toContain(param);
  return e;
}

describe('value checks', () => {
  it('slotId and portIndex ranges come from the slots', () => {
    expect(validateArgs('getEid', [1], SLOTS)).toEqual({ slotId: 1 });
    fails(() => validateArgs('getEid', [2], SLOTS), 'slotId');
    fails(() => validateArgs('getEid', [-1], SLOTS), 'slotId');
    fails(() => validateArgs('getEid', [0.5], SLOTS), 'slotId');
    fails(() => validateArgs('getEid', ['0'], SLOTS), 'slotId');
    fails(() => validateArgs('getEid', [], SLOTS), 'slotId');
    expect(validateArgs('switchToProfile', [1, 1, '89049032000000000011', true], SLOTS)).toMatchObject({ portIndex: 1 });
    fails(() => validateArgs('switchToProfile', [0, 1, '89049032000000000011', true], SLOTS), 'portIndex');
    fails(() => validateArgs('switchToProfile', [0, 0, '89049032000000000011', 'yes'], SLOTS), 'forceDisableProfile');
    fails(() => validateArgs('getEid', [0, 1], SLOTS), 'getEid');
  });

  it('iccid: 18-20 digits, a trailing F dropped', () => {
    expect(checkIccid('89049032000000000011')).toBe('89049032000000000011');
    expect(checkIccid('8904903200000000001F')).toBe('8904903200000000001');
    expect(checkIccid('890490320000000001f')).toBe('890490320000000001');
    fails(() => checkIccid('8904903200000000'), 'iccid');
    fails(() => checkIccid('8904903200000000001A'), 'iccid');
    fails(() => checkIccid(89049032000000000011), 'iccid');
  });

  it('transactionId: even-length hex of 2..32 characters, upper-cased', () => {
    expect(checkTransactionId('0a1b')).toBe('0A1B');
    fails(() => checkTransactionId('abc'), 'transactionId');
    fails(() => checkTransactionId(''), 'transactionId');
    fails(() => checkTransactionId('zz'), 'transactionId');
    fails(() => checkTransactionId('00'.repeat(17)), 'transactionId');
  });

  it('activation codes: canonical key, 401 naming the field without echoing the token', () => {
    expect(checkActivationCode('LPA:1$smdp.example.com$ABC-123')).toBe('1$smdp.example.com$ABC-123');
    const e = fails(() => checkActivationCode('LPA:1$bad host$SECRETTOKEN'), 'activationCode');
    expect(e.message).not.toContain('SECRETTOKEN');
    fails(() => checkActivationCode('1'), 'activationCode');
  });

  it('nickname ≤ 64 UTF-8 bytes; ResetOption 1..7 with default 1', () => {
    expect(checkNickname('é'.repeat(32))).toBe('é'.repeat(32));
    fails(() => checkNickname('é'.repeat(33)), 'nickname');
    expect(checkResetOption(undefined)).toBe(1);
    expect(checkResetOption(7)).toBe(7);
    fails(() => checkResetOption(0), 'options');
    fails(() => checkResetOption(8), 'options');
    expect(validateArgs('resetMemory', [0], SLOTS)).toEqual({ slotId: 0, options: 1 });
  });

  it('DownloadableProfile and DownloadConfiguration (isAlowPpr alias)', () => {
    expect(checkDownloadableProfile({ activationCode: 'LPA:1$a.example$X', confirmationCode: '', accessRules: [] })).toEqual({
      activationCode: 'LPA:1$a.example$X',
      accessRules: [],
    });
    fails(() => checkDownloadableProfile({}), 'profile.activationCode');
    fails(() => checkDownloadableProfile({ activationCode: 'LPA:1$a.example$X', confirmationCode: 5 }), 'profile.confirmationCode');
    fails(() => checkDownloadableProfile({ activationCode: 'LPA:1$a.example$X', accessRules: [{ packageName: 'p' }] }), 'profile.accessRules[0].certificateHashHexStr');
    expect(checkDownloadConfiguration({ switchAfterDownload: true, forceDisableProfile: false, isAlowPpr: true })).toEqual({
      switchAfterDownload: true,
      forceDisableProfile: false,
      isPprAllowed: true,
    });
    fails(() => checkDownloadConfiguration({ switchAfterDownload: true, forceDisableProfile: false }), 'configuration.isPprAllowed');
    fails(() => checkDownloadConfiguration({ switchAfterDownload: true, forceDisableProfile: false, isPprAllowed: true, isAlowPpr: false }), 'isAlowPpr');
    fails(() => checkDownloadConfiguration(null), 'configuration');
  });

  it('cancelSession and address checks', () => {
    expect(validateArgs('cancelSession', [0, 'ab', 3], SLOTS)).toEqual({ slotId: 0, transactionId: 'AB', cancelReason: 3 });
    fails(() => validateArgs('cancelSession', [0, 'ab', 4], SLOTS), 'cancelReason');
    expect(validateArgs('setDefaultSmdpAddress', [0, 'localhost:8443'], SLOTS)).toEqual({ slotId: 0, address: 'localhost:8443' });
    fails(() => validateArgs('setDefaultSmdpAddress', [0, 'https://x.example'], SLOTS), 'address');
    fails(() => validateArgs('setDefaultSmdpAddress', [0, ''], SLOTS), 'address');
  });
});
