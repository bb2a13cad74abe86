import { describe, expect, it } from 'vitest';
import { expectAsn1Error, withoutRaw } from '../../../test/support/asn1-assert.js';
import { assertDecodersTotal } from '../../../test/support/decoder-fuzz.js';
import { describeWithReference, readRefJson } from '../../../test/support/reference.js';
import { traceBlob } from '../../../test/support/trace.js';
import { decodeBitString } from '../der.js';
import { decodeTlv } from '../tlv.js';
import { decodeIccid, encodeIccid } from '../../util/bcd.js';
import { fromHex, toHex } from '../../util/hex.js';
import {
  FUZZ_DECODERS_METADATA,
  IconTypeValue,
  METADATA_TAGS,
  NotificationEventBit,
  PprIdsBit,
  ProfileClassValue,
  decodeDpProprietaryData,
  decodeNotificationConfigurationInformation,
  decodeOperatorId,
  decodeStoreMetadataRequest,
  decodeVendorSpecificExtension,
  encodeDpProprietaryData,
  encodeNotificationConfigurationInformation,
  encodeOperatorId,
  encodeStoreMetadataRequest,
  encodeVendorSpecificExtension,
  type StoreMetadataRequest,
} from './metadata.js';

/** A StoreMetadataRequest with every field (PNG icon header bytes, MCC 262 / MNC 01 = 62 F2 10). */
const FULL_METADATA: StoreMetadataRequest = {
  iccid: encodeIccid('8949449999999990049'),
  serviceProviderName: 'Telekom Test',
  profileName: 'Prepaid Data 10GB – Ünïcode',
  iconType: IconTypeValue.png,
  icon: fromHex('89504e470d0a1a0a0000000d49484452'),
  profileClass: ProfileClassValue.operational,
  notificationConfigurationInfo: [
    { profileManagementOperation: [NotificationEventBit.notificationInstall], notificationAddress: 'smdp.example.com' },
    {
      profileManagementOperation: [NotificationEventBit.notificationEnable, NotificationEventBit.notificationDisable],
      notificationAddress: 'notify.operator.example',
    },
  ],
  profileOwner: { mccMnc: fromHex('62f210'), gid1: fromHex('ff01'), gid2: fromHex('a5') },
  profilePolicyRules: [PprIdsBit.ppr1, PprIdsBit.ppr2],
  serviceSpecificDataStoredInEuicc: [{ vendorOid: '1.3.6.1.4.1.99999.1', vendorSpecificData: fromHex('0403010203') }],
  serviceSpecificDataNotStoredInEuicc: [
    { vendorOid: '1.3.6.1.4.1.99999.2', vendorSpecificData: fromHex('0c026869') },
    { vendorOid: '2.999.7', vendorSpecificData: fromHex('300302012a') },
  ],
};

describe('StoreMetadataRequest', () => {
  it('round-trips a request with every field', () => {
    const enc = encodeStoreMetadataRequest(FULL_METADATA);
    const dec = decodeStoreMetadataRequest(enc);
    expect(withoutRaw(dec)).toEqual(FULL_METADATA);
    expect(dec.raw).toEqual(enc);
    expect(encodeStoreMetadataRequest(dec)).toEqual(enc);
  });

  it('round-trips the minimal request (mandatory fields only, no DEFAULT invented)', () => {
    const x: StoreMetadataRequest = { iccid: encodeIccid('89000123456789012341'), serviceProviderName: '', profileName: '' };
    const enc = encodeStoreMetadataRequest(x);
    // BF25 { 5A 0A <iccid>, 91 00, 92 00 }
    expect(toHex(enc)).toBe('bf25105a0a' + '98001032547698103214' + '91009200');
    const dec = decodeStoreMetadataRequest(enc);
    expect(withoutRaw(dec)).toEqual(x);
    expect('profileClass' in dec).toBe(false);
  });

  it('encodes named bits as DER BIT STRINGs (SGP22-NOTES.md §0 examples)', () => {
    // ppr1+ppr2 = bits 1,2 -> 05 60; notificationInstall = bit 0 -> 07 80; enable = bit 1 -> 06 40
    const enc = encodeStoreMetadataRequest({
      iccid: new Uint8Array(10),
      serviceProviderName: 'a',
      profileName: 'b',
      notificationConfigurationInfo: [{ profileManagementOperation: [1], notificationAddress: 'x' }],
      profilePolicyRules: [1, 2],
    });
    expect(toHex(enc)).toContain('b6093007' + '80020640' + '810178');
    expect(toHex(enc).endsWith('99020560')).toBe(true);
    expect(toHex(encodeNotificationConfigurationInformation({ profileManagementOperation: [0], notificationAddress: '' }))).toBe(
      '3006800207808100',
    );
  });

  it('skips unknown extension elements but rejects duplicates and wrong order', () => {
    const base = encodeStoreMetadataRequest({ iccid: new Uint8Array(10), serviceProviderName: 'S', profileName: 'P' });
    const inner = base.subarray(3);
    const withUnknown = fromHex('bf25' + (inner.length + 3).toString(16).padStart(2, '0') + toHex(inner) + '9f7f00');
    expect(decodeStoreMetadataRequest(withUnknown).profileName).toBe('P');
    const dup = fromHex('bf25' + (inner.length + 3).toString(16).padStart(2, '0') + toHex(inner) + '920151');
    expectAsn1Error(() => decodeStoreMetadataRequest(dup), 'unexpected-tag');
    // 92 before 91
    expectAsn1Error(() => decodeStoreMetadataRequest(fromHex('bf25105a0a00000000000000000000920091 00'.replace(' ', ''))), 'unexpected-tag');
  });

  it('rejects missing mandatory fields, bad sizes and bad values with offsets', () => {
    const noName = fromHex('bf250e5a0a000000000000000000009100');
    const e1 = expectAsn1Error(() => decodeStoreMetadataRequest(noName), 'missing-element');
    expect(e1.offset).toBe(noName.length);
    const shortIccid = fromHex('bf250b5a09000000000000000000');
    const e2 = expectAsn1Error(() => decodeStoreMetadataRequest(shortIccid), 'bad-value');
    expect(e2.offset).toBe(5);
    expectAsn1Error(() => decodeStoreMetadataRequest(fromHex('bf22105a0a00000000000000000000910092 00'.replace(' ', ''))), 'unexpected-tag');
    // serviceProviderName of 33 characters
    const bad = fromHex('bf2531' + '5a0a' + '00'.repeat(10) + '9121' + '78'.repeat(33) + '9200');
    const e3 = expectAsn1Error(() => decodeStoreMetadataRequest(bad), 'bad-value');
    expect(e3.offset).toBe(17);
    expect(decodeStoreMetadataRequest(fromHex('bf2530' + '5a0a' + '00'.repeat(10) + '9120' + '78'.repeat(32) + '9200')).serviceProviderName).toBe(
      'x'.repeat(32),
    );
    // invalid UTF-8
    expectAsn1Error(() => decodeStoreMetadataRequest(fromHex('bf25115a0a0000000000000000000091 01ff 9200'.replace(/ /g, ''))), 'bad-value');
  });

  it('enforces sizes on encode', () => {
    const ok: StoreMetadataRequest = { iccid: new Uint8Array(10), serviceProviderName: '', profileName: '' };
    expect(() => encodeStoreMetadataRequest({ ...ok, iccid: new Uint8Array(9) })).toThrow(RangeError);
    expect(() => encodeStoreMetadataRequest({ ...ok, serviceProviderName: 'é'.repeat(33) })).toThrow(RangeError);
    expect(encodeStoreMetadataRequest({ ...ok, serviceProviderName: 'é'.repeat(32) }).length).toBeGreaterThan(64);
    expect(() => encodeStoreMetadataRequest({ ...ok, profileName: 'x'.repeat(65) })).toThrow(RangeError);
    expect(() => encodeStoreMetadataRequest({ ...ok, icon: new Uint8Array(1025) })).toThrow(RangeError);
    expect(encodeStoreMetadataRequest({ ...ok, icon: new Uint8Array(1024) }).length).toBe(5 + 12 + 2 + 2 + 4 + 1024);
  });

  it('exports the tag numbers of RSPDefinitions', () => {
    expect(METADATA_TAGS).toMatchObject({
      storeMetadataRequest: 0xbf25,
      iccid: 0x5a,
      serviceProviderName: 0x91,
      profileName: 0x92,
      iconType: 0x93,
      icon: 0x94,
      profileClass: 0x95,
      notificationConfigurationInfo: 0xb6,
      profileOwner: 0xb7,
      profilePolicyRules: 0x99,
      serviceSpecificDataStoredInEuicc: 0xbf22,
      serviceSpecificDataNotStoredInEuicc: 0xbf23,
    });
  });
});

describe('DER named-bit BIT STRING (fix in der.ts)', () => {
  it('rejects trailing zero bits also when the unused-bit count is 0', () => {
    // bits 0,1,2 must be 05 E0 in DER (SGP22-NOTES.md §0); 00 E0 keeps five trailing zero bits
    expect(decodeBitString(decodeTlv(fromHex('030205e0')))).toEqual([0, 1, 2]);
    expectAsn1Error(() => decodeBitString(decodeTlv(fromHex('030200e0'))), 'bad-value');
    expect(decodeBitString(decodeTlv(fromHex('030200e0')), false)).toEqual([0, 1, 2]);
    expect(decodeBitString(decodeTlv(fromHex('030200e1')))).toEqual([0, 1, 2, 7]);
    expect(decodeBitString(decodeTlv(fromHex('0303000001')))).toEqual([15]);
    expectAsn1Error(() => decodeBitString(decodeTlv(fromHex('0303008002'))), 'bad-value');
  });
});

describe('shared pieces', () => {
  it('OperatorId in both contexts', () => {
    const op = { mccMnc: fromHex('13f001') };
    expect(toHex(encodeOperatorId(op))).toBe('3005800313f001');
    expect(toHex(encodeOperatorId(op, 0xb7))).toBe('b705800313f001');
    expect(decodeOperatorId(fromHex('b705800313f001'), 0xb7)).toEqual(op);
    const full = { mccMnc: fromHex('13f001'), gid1: fromHex('01'), gid2: new Uint8Array(0) };
    expect(decodeOperatorId(encodeOperatorId(full))).toEqual(full);
    expectAsn1Error(() => decodeOperatorId(fromHex('3004800213f0')), 'bad-value');
    expectAsn1Error(() => decodeOperatorId(fromHex('30038101ff')), 'missing-element');
    expect(() => encodeOperatorId({ mccMnc: fromHex('13f0') })).toThrow(RangeError);
  });

  it('NotificationConfigurationInformation', () => {
    const x = { profileManagementOperation: [2, 3], notificationAddress: 'n.example' };
    expect(decodeNotificationConfigurationInformation(encodeNotificationConfigurationInformation(x))).toEqual(x);
    // non-DER bit string (unused bits not zero)
    expectAsn1Error(() => decodeNotificationConfigurationInformation(fromHex('3007800206418101 78'.replace(' ', ''))), 'bad-value');
  });

  it('VendorSpecificExtension: 30 { 80 oid, A1 { open type } }', () => {
    const x = [{ vendorOid: '2.999.1', vendorSpecificData: fromHex('0401aa') }];
    const enc = encodeVendorSpecificExtension(x, 0xbf22);
    expect(toHex(enc)).toBe('bf220c300a8003883701a1030401aa');
    expect(decodeVendorSpecificExtension(enc, 0xbf22)).toEqual(x);
  });

  it('DpProprietaryData', () => {
    const x = { dpOid: '2.999.10' };
    const enc = encodeDpProprietaryData(x);
    expect(toHex(enc)).toBe('b805060388370a'); // 2.999 -> first subidentifier 1079 = 88 37
    expect(decodeDpProprietaryData(enc)).toEqual(x);
    const y = { dpOid: '2.999.10', additionalData: [fromHex('8001ff'), fromHex('a1028100')] };
    expect(decodeDpProprietaryData(encodeDpProprietaryData(y))).toEqual(y);
    expectAsn1Error(() => decodeDpProprietaryData(fromHex('b8038001ff')), 'missing-element');
    expect(() => encodeDpProprietaryData({ dpOid: '2.999', additionalData: [new Uint8Array(200)] })).toThrow(RangeError);
  });
});

describeWithReference('StoreMetadataRequest from the recorded session', () => {
  it('decodes the trace profileMetadata and re-encodes it byte-identically', () => {
    const bytes = traceBlob('profileMetadata');
    const md = decodeStoreMetadataRequest(bytes);
    // Facts from traces/es9p-download-osmo-smdpp.log (authenticateClient response, profileMetadata)
    expect(toHex(md.iccid)).toBe('989444999999990940f9');
    expect(decodeIccid(md.iccid)).toBe('8949449999999990049');
    expect(md.serviceProviderName).toBe('OsmocomSPN');
    expect(md.profileName).toBe('TS48V2-SAIP2-1-BERTLV-UNIQUE');
    expect(md.profileClass).toBe(ProfileClassValue.operational); // sent explicitly: 95 01 02
    expect(md.notificationConfigurationInfo).toEqual([
      { profileManagementOperation: [NotificationEventBit.notificationEnable], notificationAddress: 'testsmdpplus1.example.com' },
      { profileManagementOperation: [NotificationEventBit.notificationDisable], notificationAddress: 'testsmdpplus1.example.com' },
      { profileManagementOperation: [NotificationEventBit.notificationDelete], notificationAddress: 'testsmdpplus1.example.com' },
    ]);
    expect(md.raw).toEqual(bytes);
    expect(encodeStoreMetadataRequest(md)).toEqual(bytes);
  });

  it('re-encodes the StoreMetadata plaintexts of vectors/bpp-decode.json byte-identically', () => {
    const v = readRefJson<{ cases: { id: string; expected: { storeMetadataPlain: string } }[] }>('vectors', 'bpp-decode.json');
    expect(v.cases.length).toBeGreaterThanOrEqual(2);
    for (const c of v.cases) {
      const bytes = fromHex(c.expected.storeMetadataPlain);
      const md = decodeStoreMetadataRequest(bytes);
      expect(encodeStoreMetadataRequest(md)).toEqual(bytes);
      expect(md.serviceProviderName).toBe('OsmocomSPN');
    }
    // the pySim case carries the unswapped ICCID 89000123456789012341 (README, TS.48 notes)
    const pysim = v.cases.find((c) => c.id === 'pysim-TestBSPdecode')!;
    const md = decodeStoreMetadataRequest(fromHex(pysim.expected.storeMetadataPlain));
    expect(toHex(md.iccid)).toBe('89000123456789012341');
    expect(md.profileName).toBe('OsmocomProfile');
  });

  it('the trace metadata survives fuzzing: decoders only ever throw Asn1Error', () => {
    assertDecodersTotal(FUZZ_DECODERS_METADATA, [traceBlob('profileMetadata')], 1000);
  });
});

describe('metadata decoders are total', () => {
  it('random and mutated inputs only ever throw Asn1Error', () => {
    const samples = [
      encodeStoreMetadataRequest(FULL_METADATA),
      encodeOperatorId({ mccMnc: fromHex('13f001'), gid1: fromHex('01') }),
      encodeNotificationConfigurationInformation({ profileManagementOperation: [1], notificationAddress: 'a.b' }),
      encodeVendorSpecificExtension([{ vendorOid: '2.999.1', vendorSpecificData: fromHex('0401aa') }], 0xbf22),
      encodeDpProprietaryData({ dpOid: '2.999.10', additionalData: [fromHex('8001ff')] }),
    ];
    assertDecodersTotal(FUZZ_DECODERS_METADATA, samples, 2500);
  });
});
