/** Unit tests of the download flow's pure parts (the flow itself: test/download.test.ts). */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeStoreMetadataRequest, decodeStoreMetadataRequest } from '../asn1/sgp22/metadata.js';
import { encodeIccid } from '../util/bcd.js';
import { fromHex, toHex } from '../util/hex.js';
import { encodePlmn } from './es10-util.js';
import type { RatRule } from './es10b.js';
import { cancelDownload, checkPolicyRules, confirmationCodeHash, downloadProfile, runningDownloads, toProfileMetadata } from './download.js';
import { LpaError } from './result-codes.js';

const ANY = { mcc: 'EEE', mnc: 'EEE' };
const owner = { mcc: '001', mnc: '01' };

describe('checkPolicyRules (SGP22-NOTES §7)', () => {
  const rat = (r: Partial<RatRule>[]): RatRule[] => r.map((x) => ({ policyRules: [], allowedOperators: [], consentRequired: false, ...x }));

  it('no PPRs (or only pprUpdateControl) → ok without consent', () => {
    expect(checkPolicyRules([], owner, [])).toEqual({ ok: true, consentRequired: false });
    expect(checkPolicyRules(['pprUpdateControl'], owner, [])).toEqual({ ok: true, consentRequired: false });
  });

  it('no rule for the PPR → ppr-forbidden; forbidden by the eUICC → ppr-forbidden', () => {
    expect(checkPolicyRules(['ppr2'], owner, rat([{ policyRules: ['ppr1'], allowedOperators: [ANY] }]))).toEqual({ ok: false, check: 'ppr-forbidden', rule: 'ppr2' });
    expect(checkPolicyRules(['ppr1'], owner, rat([{ policyRules: ['ppr1'], allowedOperators: [ANY] }]), ['ppr1'])).toMatchObject({ ok: false, check: 'ppr-forbidden' });
    expect(checkPolicyRules(['ppr1'], owner, [])).toMatchObject({ ok: false, check: 'ppr-forbidden' });
  });

  it('a rule for another operator, or no profile owner → ppr-not-match', () => {
    const r = rat([{ policyRules: ['ppr1'], allowedOperators: [{ mcc: '999', mnc: '99' }] }]);
    expect(checkPolicyRules(['ppr1'], owner, r)).toEqual({ ok: false, check: 'ppr-not-match', rule: 'ppr1' });
    expect(checkPolicyRules(['ppr1'], undefined, rat([{ policyRules: ['ppr1'], allowedOperators: [ANY] }]))).toMatchObject({ check: 'ppr-not-match' });
  });

  it('wildcards (E), 2- and 3-digit MNCs, GIDs; consentRequired is reported', () => {
    expect(checkPolicyRules(['ppr1', 'ppr2'], owner, rat([{ policyRules: ['ppr1', 'ppr2'], allowedOperators: [ANY], consentRequired: true }]))).toEqual({
      ok: true,
      consentRequired: true,
    });
    expect(checkPolicyRules(['ppr1'], owner, rat([{ policyRules: ['ppr1'], allowedOperators: [{ mcc: '001', mnc: 'EE' }] }]))).toMatchObject({ ok: true });
    expect(checkPolicyRules(['ppr1'], { mcc: '310', mnc: '410' }, rat([{ policyRules: ['ppr1'], allowedOperators: [{ mcc: '310', mnc: '41' }] }]))).toMatchObject({
      ok: false,
    });
    const gidRule = rat([{ policyRules: ['ppr1'], allowedOperators: [{ mcc: '001', mnc: '01', gid1: Uint8Array.of(1) }] }]);
    expect(checkPolicyRules(['ppr1'], owner, gidRule)).toMatchObject({ ok: false, check: 'ppr-not-match' });
    expect(checkPolicyRules(['ppr1'], { ...owner, gid1: Uint8Array.of(1) }, gidRule)).toMatchObject({ ok: true, consentRequired: false });
  });
});

describe('confirmationCodeHash (SGP22-NOTES §4.3)', () => {
  it('SHA256(SHA256(cc) ‖ transactionId)', () => {
    const tId = fromHex('B0DE55FBC632475D8A88829AE763A183');
    const inner = createHash('sha256').update('1234', 'utf8').digest();
    const expected = createHash('sha256').update(Buffer.concat([inner, Buffer.from(tId)])).digest('hex');
    expect(toHex(confirmationCodeHash('1234', tId))).toBe(expected);
    expect(confirmationCodeHash('1234', tId)).not.toEqual(confirmationCodeHash('1235', tId));
    expect(confirmationCodeHash('1234', tId)).not.toEqual(confirmationCodeHash('1234', fromHex('00')));
  });
});

describe('toProfileMetadata', () => {
  it('decodes names, class, owner, PPRs and notification addresses', () => {
    const raw = encodeStoreMetadataRequest({
      iccid: encodeIccid('8949449999999990049'),
      serviceProviderName: 'SPN',
      profileName: 'Name',
      profileClass: 1,
      iconType: 1,
      icon: Uint8Array.of(1, 2),
      profileOwner: { mccMnc: encodePlmn({ mcc: '262', mnc: '01' }) },
      profilePolicyRules: [2],
      notificationConfigurationInfo: [{ profileManagementOperation: [0, 3], notificationAddress: 'smdp.example.com' }],
    });
    const m = toProfileMetadata(decodeStoreMetadataRequest(raw), raw);
    expect(m).toMatchObject({
      iccid: '8949449999999990049',
      serviceProviderName: 'SPN',
      profileName: 'Name',
      profileClass: 'provisioning',
      iconType: 'png',
      profileOwner: { mcc: '262', mnc: '01' },
      policyRules: ['ppr2'],
      notificationConfigurations: [{ events: ['notificationInstall', 'notificationDelete'], address: 'smdp.example.com' }],
    });
    const d = toProfileMetadata(decodeStoreMetadataRequest(encodeStoreMetadataRequest({ iccid: encodeIccid('8949449999999990049'), serviceProviderName: '', profileName: '' })), raw);
    expect(d.profileClass).toBe('operational');
    expect(d.policyRules).toEqual([]);
  });
});

describe('downloadProfile input checks (before any card or network access)', () => {
  const transport = {
    capabilities: {},
    transmit: () => Promise.reject(new Error('no card')),
    close: () => Promise.resolve(),
  };
  it('a bad activation code → 204, no address → 205, an aborted signal → 218', async () => {
    const trust = { ciCertificates: [] as Uint8Array[] };
    const e1 = await downloadProfile({ transport, trust, activationCode: 'LPA:1$$x' }).catch((x: unknown) => x);
    expect(e1).toBeInstanceOf(LpaError);
    expect((e1 as LpaError).resultCode).toBe(204);
    const e2 = await downloadProfile({ transport, trust }).catch((x: unknown) => x);
    expect((e2 as LpaError).resultCode).toBe(205);
    const e3 = await downloadProfile({ transport, trust: { ciCertificates: [Uint8Array.of(0x30, 0)] }, smdpAddress: 'x.example', signal: AbortSignal.abort() }).catch((x: unknown) => x);
    expect((e3 as LpaError).resultCode).toBe(218);
    expect(runningDownloads()).toEqual([]);
    expect(cancelDownload('AB')).toBe(false);
  });
});
