import { describe, expect, it } from 'vitest';
import { describeWithReference } from '../../../test/support/reference.js';
import { traceBlob } from '../../../test/support/trace.js';
import { assertDecodersTotal } from '../../../test/support/decoder-fuzz.js';
import { fromHex, toHex } from '../../util/hex.js';
import { Asn1Error, decodeTlv, type Tlv } from '../tlv.js';
import {
  EuiccInfoTag,
  FUZZ_DECODERS_EUICC_INFO,
  RspCapability,
  UICCCapability,
  decodeDeviceCapabilities,
  decodeDeviceInfo,
  decodeEUICCInfo1,
  decodeEUICCInfo2,
  decodeGetEuiccChallengeRequest,
  decodeGetEuiccChallengeResponse,
  decodeGetEuiccInfo1Request,
  decodeGetEuiccInfo2Request,
  encodeDeviceCapabilities,
  encodeDeviceInfo,
  encodeEUICCInfo1,
  encodeEUICCInfo2,
  encodeGetEuiccChallengeRequest,
  encodeGetEuiccChallengeResponse,
  encodeGetEuiccInfo1Request,
  encodeGetEuiccInfo2Request,
  type DeviceInfo,
  type EUICCInfo2,
} from './euicc-info.js';
import { codeOf } from '../../../test/support/asn1-assert.js';

const h = fromHex;
const PKID_NIST = h('f54172bdf98a95d65cbeb88a38a1c11d800a85c3'); // reference README: SGP.26 CI SKI (NIST)
const PKID_OTHER = h('c0bc70ba36929d43b467ff57570530e57ab8fcd8');


const fullInfo2: EUICCInfo2 = {
  profileVersion: '2.3.1',
  svn: '2.2.2',
  euiccFirmwareVer: '1.2.3',
  extCardResource: h('810100820400049c6883022223'),
  uiccCapability: [UICCCapability.usimSupport, UICCCapability.isimSupport, UICCCapability.javacard, 31],
  ts102241Version: '17.2.0',
  globalplatformVersion: '2.3.0',
  rspCapability: [RspCapability.additionalProfile, RspCapability.testProfileSupport],
  euiccCiPKIdListForVerification: [PKID_NIST, PKID_OTHER],
  euiccCiPKIdListForSigning: [PKID_NIST],
  euiccCategory: 2,
  forbiddenProfilePolicyRules: [1, 2],
  ppVersion: '1.0.0',
  sasAcreditationNumber: 'GI-BA-UP-0419',
  certificationDataObject: { platformLabel: 'label', discoveryBaseURL: 'https://dloa.example.com/' },
  treProperties: [0],
  treProductReference: 'tre-ref',
  additionalEuiccProfilePackageVersions: ['2.1.0', '3.3.1'],
};

const deviceInfoFull: DeviceInfo = {
  tac: h('35290611'),
  deviceCapabilities: {
    gsmSupportedRelease: '11.0.0',
    utranSupportedRelease: '11.0.0',
    cdma2000onexSupportedRelease: '1.0.0',
    cdma2000hrpdSupportedRelease: '1.0.0',
    cdma2000ehrpdSupportedRelease: '1.0.0',
    eutranEpcSupportedRelease: '15.0.0',
    contactlessSupportedRelease: '1.0.0',
    rspCrlSupportedVersion: '2.2.0',
    nrEpcSupportedRelease: '15.0.0',
    nr5gcSupportedRelease: '16.0.0',
    eutran5gcSupportedRelease: '16.0.0',
    lpaSvn: '2.5.0',
    catSupportedClasses: { unusedBits: 0, data: h('f000') },
    euiccFormFactorType: 1,
    deviceAdditionalFeatureSupport: { naiSupport: '2.0.0' },
  },
  imei: h('3568460312345678'),
};

describe('euicc-info: empty requests and the challenge', () => {
  it('encodes the empty requests as <tag> 00 and decodes them', () => {
    expect(toHex(encodeGetEuiccInfo1Request())).toBe('bf2000');
    expect(toHex(encodeGetEuiccInfo2Request())).toBe('bf2200');
    expect(toHex(encodeGetEuiccChallengeRequest())).toBe('bf2e00');
    expect(decodeGetEuiccInfo1Request(h('bf2000'))).toEqual({});
    expect(decodeGetEuiccInfo2Request(h('bf2200'))).toEqual({});
    expect(decodeGetEuiccChallengeRequest(h('bf2e00'))).toEqual({});
    expect(codeOf(() => decodeGetEuiccInfo1Request(h('bf2200')))).toEqual({ code: 'unexpected-tag', offset: 0 });
  });

  it('round-trips GetEuiccChallengeResponse and checks the 16-byte size', () => {
    const c = h('c72a54e6004004fa99009ed039a42ee6'); // euiccChallenge of the trace (serverSigned1)
    const enc = encodeGetEuiccChallengeResponse({ euiccChallenge: c });
    expect(toHex(enc)).toBe('bf2e128010' + toHex(c));
    expect(decodeGetEuiccChallengeResponse(enc)).toEqual({ euiccChallenge: c });
    expect(codeOf(() => decodeGetEuiccChallengeResponse(h('bf2e03800100')))).toEqual({ code: 'bad-value', offset: 5 });
    expect(codeOf(() => decodeGetEuiccChallengeResponse(h('bf2e00')))).toMatchObject({ code: 'missing-element' });
    expect(() => encodeGetEuiccChallengeResponse({ euiccChallenge: new Uint8Array(15) })).toThrow(RangeError);
  });
});

describe('euicc-info: EUICCInfo1', () => {
  it('round-trips and rejects faults with offsets', () => {
    const x = { svn: '2.2.0', euiccCiPKIdListForVerification: [PKID_NIST, PKID_OTHER], euiccCiPKIdListForSigning: [] };
    const enc = encodeEUICCInfo1(x);
    expect(decodeEUICCInfo1(enc)).toEqual(x);
    // wrong element inside the PKID list
    const badList = h('bf2000' + '820302020a' + 'a9030c0141' + 'aa00');
    expect(codeOf(() => decodeEUICCInfo1(fixLen(badList)))).toEqual({ code: 'unexpected-tag', offset: 10 });
    // duplicated svn after the known fields
    const dup = h('bf2000' + '820302020a' + 'a900' + 'aa00' + '820302020a');
    expect(codeOf(() => decodeEUICCInfo1(fixLen(dup)))).toEqual({ code: 'unexpected-tag', offset: 12 });
    // unknown extension at the end is skipped
    const ext = h('bf2000' + '820302020a' + 'a900' + 'aa00' + '9f7f0101');
    expect(decodeEUICCInfo1(fixLen(ext))).toEqual({ svn: '2.2.10', euiccCiPKIdListForVerification: [], euiccCiPKIdListForSigning: [] });
  });
});

/** Recompute the outer BF.. length of a short hand-written sample (one length byte). */
function fixLen(b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  out[2] = out.length - 3;
  return out;
}

describe('euicc-info: EUICCInfo2', () => {
  it('round-trips every field, optional ones absent and present', () => {
    expect(decodeEUICCInfo2(encodeEUICCInfo2(fullInfo2))).toEqual(fullInfo2);
    const minimal: EUICCInfo2 = {
      profileVersion: '2.1.0',
      svn: '2.2.0',
      euiccFirmwareVer: '0.0.1',
      extCardResource: new Uint8Array(0),
      uiccCapability: [],
      rspCapability: [],
      euiccCiPKIdListForVerification: [],
      euiccCiPKIdListForSigning: [],
      ppVersion: '0.0.1',
      sasAcreditationNumber: '',
    };
    const dec = decodeEUICCInfo2(encodeEUICCInfo2(minimal));
    expect(dec).toEqual(minimal);
    expect(Object.keys(dec)).not.toContain('euiccCategory');
  });

  it('uses the RSPDefinitions tags in order', () => {
    const t = decodeTlv(encodeEUICCInfo2(fullInfo2));
    expect(t.tag).toBe(0xbf22);
    expect(t.children.map((c) => c.tag.toString(16))).toEqual(
      ['81', '82', '83', '84', '85', '86', '87', '88', 'a9', 'aa', '8b', '99', '4', 'c', 'ac', '8d', '8e', 'af'],
    );
    // rspCapability bits 0 and 3: DER drops trailing zero bits -> 04 90
    expect(toHex(t.children[7]!.raw)).toBe('88020490');
  });

  it('accepts non-DER trailing zero bits in card capability masks but rejects bad unused bits', () => {
    const base = encodeEUICCInfo2({ ...fullInfo2, rspCapability: [0] });
    const hex = toHex(base).replace('88020780', '88020080'); // 0 unused bits, same set bits
    expect(hex).not.toBe(toHex(base));
    expect(decodeEUICCInfo2(h(hex)).rspCapability).toEqual([0]);
    const bad = toHex(base).replace('88020780', '88020781'); // non-zero unused bit
    expect(codeOf(() => decodeEUICCInfo2(h(bad)))).toMatchObject({ code: 'bad-value' });
  });

  it('skips foreign elements anywhere but rejects misordered or duplicated own fields', () => {
    const kids = decodeTlv(encodeEUICCInfo2(fullInfo2)).children.map((c) => c.raw);
    const withForeign = encodeChildren(0xbf22, [...kids.slice(0, 10), h('ab03020102'), ...kids.slice(10), h('9f7f00')]);
    expect(decodeEUICCInfo2(withForeign)).toEqual(fullInfo2);
    const swapped = encodeChildren(0xbf22, [kids[1]!, kids[0]!, ...kids.slice(2)]);
    expect(codeOf(() => decodeEUICCInfo2(swapped))).toMatchObject({ code: 'unexpected-tag', offset: 4 });
    const dup = encodeChildren(0xbf22, [...kids, kids[2]!]);
    expect(codeOf(() => decodeEUICCInfo2(dup))).toMatchObject({ code: 'unexpected-tag' });
  });

  it('reports a missing mandatory element and an oversized sasAcreditationNumber', () => {
    const enc = encodeEUICCInfo2(fullInfo2);
    const t = decodeTlv(enc);
    // drop ppVersion (04)
    const without = t.children.filter((c) => c.tag !== 0x04).map((c) => c.raw);
    const broken = encodeChildren(0xbf22, without);
    expect(codeOf(() => decodeEUICCInfo2(broken))).toMatchObject({ code: 'unexpected-tag' });
    expect(() => encodeEUICCInfo2({ ...fullInfo2, sasAcreditationNumber: 'x'.repeat(65) })).toThrow(RangeError);
    // 64 characters of 2 bytes each are fine (the size counts characters)
    const wide = { ...fullInfo2, sasAcreditationNumber: 'é'.repeat(64) };
    expect(decodeEUICCInfo2(encodeEUICCInfo2(wide))).toEqual(wide);
    const kids = decodeTlv(encodeEUICCInfo2(fullInfo2)).children.map((c) => (c.tag === 0x0c ? h('0c41' + '78'.repeat(65)) : c.raw));
    const long = encodeChildren(0xbf22, kids);
    const sasOffset = decodeTlv(long).children.find((c) => c.tag === 0x0c)!.valueOffset;
    expect(codeOf(() => decodeEUICCInfo2(long))).toEqual({ code: 'bad-value', offset: sasOffset });
  });
});

function encodeChildren(tag: number, parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((a, p) => a + p.length, 0);
  const head = tag > 0xff ? [tag >> 8, tag & 0xff] : [tag];
  const lenBytes = len < 0x80 ? [len] : len < 0x100 ? [0x81, len] : [0x82, len >> 8, len & 0xff];
  const out = new Uint8Array(head.length + lenBytes.length + len);
  out.set([...head, ...lenBytes]);
  let o = head.length + lenBytes.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('euicc-info: DeviceInfo / DeviceCapabilities', () => {
  it('round-trips all fields with tag A1 (in CtxParams1) and 30', () => {
    expect(decodeDeviceInfo(encodeDeviceInfo(deviceInfoFull))).toEqual(deviceInfoFull);
    expect(decodeDeviceInfo(encodeDeviceInfo(deviceInfoFull, 0x30), 0x30)).toEqual(deviceInfoFull);
    const caps = decodeTlv(encodeDeviceCapabilities(deviceInfoFull.deviceCapabilities));
    expect(caps.children.map((c) => c.tag.toString(16))).toEqual(
      ['80', '81', '82', '83', '84', '85', '86', '87', '88', '89', '8a', '8b', '8c', '8d', 'ae'],
    );
    expect(decodeDeviceCapabilities(caps)).toEqual(deviceInfoFull.deviceCapabilities);
  });

  it('decodes the OpenHarmony DeviceInfo (80/81/85 = 0B 00 00) and lpac empty capabilities', () => {
    // SGP22-NOTES §2.2: OH sends 80/81/85 = 0B 00 00; lpac sends an empty A1 and TAC 35 29 06 11.
    const oh = h('a117' + '800435290611' + 'a10f' + '80030b0000' + '81030b0000' + '85030b0000');
    expect(decodeDeviceInfo(oh)).toEqual({
      tac: h('35290611'),
      deviceCapabilities: { gsmSupportedRelease: '11.0.0', utranSupportedRelease: '11.0.0', eutranEpcSupportedRelease: '11.0.0' },
    });
    expect(decodeDeviceInfo(h('a108800435290611a100'))).toEqual({ tac: h('35290611'), deviceCapabilities: {} });
  });

  it('rejects bad sizes and order', () => {
    expect(codeOf(() => decodeDeviceInfo(h('a1078003352906a100')))).toEqual({ code: 'bad-value', offset: 4 });
    expect(codeOf(() => decodeDeviceInfo(h('a104a1008000')))).toMatchObject({ code: 'unexpected-tag', offset: 2 });
    expect(codeOf(() => decodeDeviceCapabilities(h('a10a80030b000080030b0000')))).toMatchObject({ code: 'unexpected-tag', offset: 7 });
  });
});

describeWithReference('euicc-info: recorded trace samples', () => {
  // traces/es9p-download-osmo-smdpp.log: initiateAuthentication request (euiccInfo1) and authenticateClient
  // request (authenticateServerResponse BF38 -> A0 -> euiccSigned1 -> BF22 euiccInfo2, A0 ctxParams1 -> A1 DeviceInfo).
  it('euiccInfo1 decodes to the known values and re-encodes byte-identically', () => {
    const bytes = traceBlob('euiccInfo1');
    const x = decodeEUICCInfo1(bytes);
    expect(x).toEqual({ svn: '2.4.0', euiccCiPKIdListForVerification: [PKID_NIST], euiccCiPKIdListForSigning: [PKID_NIST] });
    expect(toHex(encodeEUICCInfo1(x))).toBe(toHex(bytes));
  });

  function euiccSigned1Tlv(): Tlv {
    const bf38 = decodeTlv(traceBlob('authenticateServerResponse'));
    return bf38.children[0]!.children[0]!;
  }

  it('euiccInfo2 inside the BF38 decodes to the known values and re-encodes byte-identically', () => {
    const t = euiccSigned1Tlv().children[3]!;
    expect(t.tag).toBe(EuiccInfoTag.EUICCInfo2);
    const x = decodeEUICCInfo2(t);
    expect(x).toEqual({
      profileVersion: '2.3.1',
      svn: '2.4.0',
      euiccFirmwareVer: '35.66.0',
      extCardResource: h('810100820400049c6883022223'),
      uiccCapability: [1, 2, 4, 6, 7, 10, 11, 13, 14, 16, 17, 19, 22, 23, 24, 25, 30, 31],
      ts102241Version: '17.2.0',
      globalplatformVersion: '2.3.0',
      rspCapability: [0, 3, 4, 5],
      euiccCiPKIdListForVerification: [PKID_NIST],
      euiccCiPKIdListForSigning: [PKID_NIST],
      ppVersion: '1.0.0',
      sasAcreditationNumber: 'OSMOCOM-TEST-1',
    });
    expect(toHex(encodeEUICCInfo2(x))).toBe(toHex(t.raw));
  });

  it('DeviceInfo inside ctxParams1 decodes and re-encodes byte-identically', () => {
    const ctx = euiccSigned1Tlv().children[4]!;
    const di = ctx.children[1]!;
    const x = decodeDeviceInfo(di);
    expect(x).toEqual({ tac: h('35230145'), deviceCapabilities: {} });
    expect(toHex(encodeDeviceInfo(x))).toBe(toHex(di.raw));
  });

  it('nested decoding reports offsets in the outer input', () => {
    const t2 = decodeTlv(traceBlob('authenticateServerResponse'));
    const info2b = t2.children[0]!.children[0]!.children[3]!;
    expect(codeOf(() => decodeEUICCInfo1(info2b))).toEqual({ code: 'unexpected-tag', offset: info2b.offset });
  });
});

describeWithReference('euicc-info: fuzz', () => {
  it('every decoder returns or throws Asn1Error', () => {
    const bf38 = decodeTlv(traceBlob('authenticateServerResponse'));
    const es1 = bf38.children[0]!.children[0]!;
    const samples = [
      traceBlob('euiccInfo1'),
      es1.children[3]!.raw,
      es1.children[4]!.children[1]!.raw,
      encodeEUICCInfo2(fullInfo2),
      encodeDeviceInfo(deviceInfoFull),
      encodeDeviceCapabilities(deviceInfoFull.deviceCapabilities),
      encodeGetEuiccChallengeResponse({ euiccChallenge: new Uint8Array(16) }),
      h('bf2000'),
    ];
    assertDecodersTotal(FUZZ_DECODERS_EUICC_INFO, samples, 5000);
  });
});
