import { describe, expect, it } from 'vitest';
import { profileDetailsJson, sniffIconType, toEuiccProfile } from './results.js';
import { demoIcon, DEMO_ICON_COLOURS } from './demo-icon.js';

const PNG_ICON = demoIcon(DEMO_ICON_COLOURS['default SM-DP+']);
const JPEG_START = Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46);

describe('profileDetailsJson (getProfileDetails)', () => {
  it('converts every element to JSON: icon base64 with its type, AID hex, owner, notification configuration, PPR names', () => {
    const d = profileDetailsJson({
      iccid: '8949000000000000001',
      isdpAid: 'A0000005591010FFFFFFFF8900001100',
      iconType: 'png',
      icon: PNG_ICON,
      profileOwner: { mcc: '001', mnc: '01', gid1: Uint8Array.of(0xab, 0x01) },
      notificationConfigurations: [{ events: ['notificationEnable', 'notificationDelete'], address: 'smdp.example.com' }],
      policyRules: ['ppr1'],
      // not part of the details
      nickname: 'x',
      state: 'enabled',
    });
    expect(d).toEqual({
      iccid: '8949000000000000001',
      isdpAid: 'A0000005591010FFFFFFFF8900001100',
      iconType: 'png',
      icon: Buffer.from(PNG_ICON).toString('base64'),
      profileOwner: { mcc: '001', mnc: '01', gid1: 'AB01' },
      notificationConfigurationInfo: [{ events: ['notificationEnable', 'notificationDelete'], address: 'smdp.example.com' }],
      profilePolicyRules: ['ppr1'],
    });
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
    expect(new Uint8Array(Buffer.from(d.icon!, 'base64'))).toEqual(PNG_ICON);
  });

  it('without icon or owner: those keys absent, lists empty', () => {
    expect(profileDetailsJson({ iccid: '8949000000000000001', isdpAid: 'A0' })).toEqual({
      iccid: '8949000000000000001',
      isdpAid: 'A0',
      notificationConfigurationInfo: [],
      profilePolicyRules: [],
    });
  });

  it('an icon without iconType gets the type its bytes show; an empty or unknown one is left out', () => {
    expect(profileDetailsJson({ iccid: '1', icon: PNG_ICON }).iconType).toBe('png');
    expect(profileDetailsJson({ iccid: '1', icon: JPEG_START }).iconType).toBe('jpg');
    const unknown = profileDetailsJson({ iccid: '1', icon: Uint8Array.of(1, 2, 3, 4) });
    expect('icon' in unknown || 'iconType' in unknown).toBe(false);
    const empty = profileDetailsJson({ iccid: '1', iconType: 'png', icon: new Uint8Array(0) });
    expect('icon' in empty || 'iconType' in empty).toBe(false);
    // the card's iconType wins over the bytes
    expect(profileDetailsJson({ iccid: '1', iconType: 'jpg', icon: PNG_ICON }).iconType).toBe('jpg');
    expect(sniffIconType(PNG_ICON)).toBe('png');
    expect(sniffIconType(JPEG_START)).toBe('jpg');
    expect(sniffIconType(new Uint8Array(0))).toBeUndefined();
  });

  it('the seed’s EuiccProfile keeps its shape: no icon in it', () => {
    const p = toEuiccProfile({ iccid: '8949000000000000001', iconType: 'png', icon: PNG_ICON, profileName: 'n' });
    expect(Object.keys(p).sort()).toEqual(['accessRules', 'iccid', 'nickName', 'operatorId', 'policyRules', 'profileClass', 'profileName', 'serviceProviderName', 'state']);
  });
});
