import { X509Certificate, createPrivateKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectAsn1Error, withoutRaw } from '../../../test/support/asn1-assert.js';
import { assertDecodersTotal } from '../../../test/support/decoder-fuzz.js';
import { describeWithReference, readRef, readRefText } from '../../../test/support/reference.js';
import { encodeIccid } from '../../util/bcd.js';
import { fromHex, toHex } from '../../util/hex.js';
import { encodeOid } from '../der.js';
import { encodeTlv } from '../tlv.js';
import { NotificationEventBit } from './metadata.js';
import {
  BppCommandIdValue,
  DeleteNotificationStatusValue,
  ErrorReasonValue,
  FUZZ_DECODERS_NOTIFICATIONS,
  NOTIFICATIONS_TAGS,
  decodeListNotificationRequest,
  decodeListNotificationResponse,
  decodeNotificationMetadata,
  decodeNotificationSentRequest,
  decodeNotificationSentResponse,
  decodeOtherSignedNotification,
  decodePendingNotification,
  decodeProfileInstallationResult,
  decodeProfileInstallationResultData,
  decodeRetrieveNotificationsListRequest,
  decodeRetrieveNotificationsListResponse,
  encodeListNotificationRequest,
  encodeListNotificationResponse,
  encodeNotificationMetadata,
  encodeNotificationSentRequest,
  encodeNotificationSentResponse,
  encodeOtherSignedNotification,
  encodePendingNotification,
  encodeProfileInstallationResult,
  encodeProfileInstallationResultData,
  encodeRetrieveNotificationsListRequest,
  encodeRetrieveNotificationsListResponse,
  otherNotificationSignedData,
  pendingNotificationMetadata,
  pirSignedData,
  type ListNotificationResponse,
  type NotificationMetadata,
  type OtherSignedNotification,
  type ProfileInstallationResult,
  type ProfileInstallationResultData,
  type RetrieveNotificationsListResponse,
} from './notifications.js';

const ICCID = encodeIccid('8949449999999990049');
const TID = fromHex('b0de55fbc632475d8a88829ae763a183'); // transactionId of the recorded session
const SMDP_OID = '2.999.10'; // RID in the SGP.26 test certificates (reference README)
const AID = fromHex('a0000005591010ffffffff8900001000');
// SAIP EUICCResponse: 30 { 30 { 30 { 80 01 00 (PEStatus ok) } } } — a plausible simaResponse
const SIMA = fromHex('a0053003800100');

const INSTALL_MD: NotificationMetadata = {
  seqNumber: 7,
  profileManagementOperation: [NotificationEventBit.notificationInstall],
  notificationAddress: 'testsmdpplus1.example.com',
  iccid: ICCID,
};
const ENABLE_MD: NotificationMetadata = {
  seqNumber: 8,
  profileManagementOperation: [NotificationEventBit.notificationEnable],
  notificationAddress: 'testsmdpplus1.example.com',
  iccid: ICCID,
};

const SUCCESS_DATA: ProfileInstallationResultData = {
  transactionId: TID,
  notificationMetadata: INSTALL_MD,
  smdpOid: SMDP_OID,
  finalResult: { kind: 'successResult', successResult: { aid: AID, simaResponse: SIMA } },
};
const ERROR_DATA: ProfileInstallationResultData = {
  transactionId: TID,
  notificationMetadata: { ...INSTALL_MD, seqNumber: 0 },
  smdpOid: SMDP_OID,
  finalResult: {
    kind: 'errorResult',
    errorResult: { bppCommandId: BppCommandIdValue.storeMetadata, errorReason: ErrorReasonValue.pprNotAllowed },
  },
};

function p256(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function signRs(key: KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }));
}

function verifyRs(key: KeyObject, data: Uint8Array, sig: Uint8Array): boolean {
  return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
}

describe('NotificationMetadata', () => {
  it('known encoding and round trip', () => {
    const enc = encodeNotificationMetadata({ seqNumber: 0, profileManagementOperation: [1], notificationAddress: 'a.b' });
    // BF2F { 80 01 00, 81 02 06 40 (notificationEnable), 0C 03 "a.b" }
    expect(toHex(enc)).toBe('bf2f0c' + '800100' + '81020640' + '0c03612e62');
    for (const x of [INSTALL_MD, ENABLE_MD, { seqNumber: 300000, profileManagementOperation: [3], notificationAddress: '' }]) {
      const e = encodeNotificationMetadata(x);
      const d = decodeNotificationMetadata(e);
      expect(withoutRaw(d)).toEqual(x);
      expect(d.raw).toEqual(e);
    }
  });

  it('requires exactly one operation bit', () => {
    expect(() => encodeNotificationMetadata({ ...INSTALL_MD, profileManagementOperation: [1, 2] })).toThrow(RangeError);
    expect(() => encodeNotificationMetadata({ ...INSTALL_MD, profileManagementOperation: [] })).toThrow(RangeError);
    const e = expectAsn1Error(() => decodeNotificationMetadata(fromHex('bf2f0c800100810205600c03612e62')), 'bad-value');
    expect(e.offset).toBe(8);
    expectAsn1Error(() => decodeNotificationMetadata(fromHex('bf2f07800100' + '81020640')), 'missing-element');
    // notificationAddress must be the universal UTF8String 0C here (a tagged component exists)
    expectAsn1Error(() => decodeNotificationMetadata(fromHex('bf2f0c800100810206408203612e62')), 'missing-element');
  });
});

describe('ListNotification', () => {
  it('requests with and without filter', () => {
    expect(toHex(encodeListNotificationRequest({}))).toBe('bf2800');
    const f = encodeListNotificationRequest({ profileManagementOperation: [0, 1, 2, 3] });
    expect(toHex(f)).toBe('bf2804810204f0');
    expect(decodeListNotificationRequest(f)).toEqual({ profileManagementOperation: [0, 1, 2, 3] });
    expect(decodeListNotificationRequest(fromHex('bf2800'))).toEqual({});
  });

  it('responses', () => {
    const ok: ListNotificationResponse = { kind: 'notificationMetadataList', notificationMetadataList: [INSTALL_MD, ENABLE_MD] };
    expect(withoutRaw(decodeListNotificationResponse(encodeListNotificationResponse(ok)))).toEqual(ok);
    const empty: ListNotificationResponse = { kind: 'notificationMetadataList', notificationMetadataList: [] };
    expect(toHex(encodeListNotificationResponse(empty))).toBe('bf2802a000');
    const err: ListNotificationResponse = { kind: 'listNotificationsResultError', listNotificationsResultError: 127 };
    expect(toHex(encodeListNotificationResponse(err))).toBe('bf280381017f');
    expect(decodeListNotificationResponse(fromHex('bf280381017f'))).toEqual(err);
    expectAsn1Error(() => decodeListNotificationResponse(fromHex('bf2804a0023000')), 'unexpected-tag');
  });
});

describe('ProfileInstallationResult', () => {
  it('round-trips success and error results, with the tags of RSPDefinitions', () => {
    for (const data of [SUCCESS_DATA, ERROR_DATA]) {
      const pir: ProfileInstallationResult = { profileInstallationResultData: data, euiccSignPIR: new Uint8Array(64).fill(0x11) };
      const enc = encodeProfileInstallationResult(pir);
      const dec = decodeProfileInstallationResult(enc);
      expect(withoutRaw(dec)).toEqual(pir);
      expect(dec.raw).toEqual(enc);
      expect(encodeProfileInstallationResult(dec)).toEqual(enc);
    }
    const enc = encodeProfileInstallationResultData(SUCCESS_DATA);
    const h = toHex(enc);
    expect(h.startsWith('bf27')).toBe(true);
    expect(h).toContain('8010' + toHex(TID) + 'bf2f');
    expect(h).toContain('060388370a' + 'a21d' + 'a01b' + '4f10' + toHex(AID) + '0407' + toHex(SIMA));
    const err = toHex(encodeProfileInstallationResultData(ERROR_DATA));
    expect(err.endsWith('a208a106800102' + '81010f')).toBe(true);
    const withSima: ProfileInstallationResultData = {
      ...ERROR_DATA,
      finalResult: {
        kind: 'errorResult',
        errorResult: { bppCommandId: BppCommandIdValue.loadProfileElements, errorReason: 12, simaResponse: SIMA },
      },
    };
    expect(toHex(encodeProfileInstallationResultData(withSima)).endsWith('82' + '07' + toHex(SIMA))).toBe(true);
    expect(withoutRaw(decodeProfileInstallationResultData(encodeProfileInstallationResultData(withSima)))).toEqual(withSima);
  });

  it('is signed over the received BF27: sign with a fresh P-256 key, decode, verify over the kept raw bytes', () => {
    const { privateKey, publicKey } = p256();
    const data = encodeProfileInstallationResultData(SUCCESS_DATA);
    const sig = signRs(privateKey, data);
    expect(sig.length).toBe(64);
    const bytes = encodeTlv(NOTIFICATIONS_TAGS.profileInstallationResult, [data, encodeTlv(0x5f37, sig)]);
    expect(toHex(bytes.subarray(-67, -64))).toBe('5f3740');
    const pir = decodeProfileInstallationResult(bytes);
    expect(pir.profileInstallationResultData.raw).toEqual(data);
    expect(pirSignedData(pir)).toEqual(data);
    expect(verifyRs(publicKey, pirSignedData(pir), pir.euiccSignPIR)).toBe(true);
    expect(verifyRs(publicKey, pirSignedData(withoutRaw(pir)), pir.euiccSignPIR)).toBe(true);
    // same bytes through the builder path
    expect(encodeProfileInstallationResult({ profileInstallationResultData: SUCCESS_DATA, euiccSignPIR: sig })).toEqual(bytes);
    // a changed byte in the signed part breaks verification
    const tampered = Uint8Array.from(bytes);
    const seqPos = toHex(bytes).indexOf('800107') / 2 + 2; // seqNumber 7
    tampered[seqPos] = 8;
    const t = decodeProfileInstallationResult(tampered);
    expect(t.profileInstallationResultData.notificationMetadata.seqNumber).toBe(8);
    expect(verifyRs(publicKey, pirSignedData(t), t.euiccSignPIR)).toBe(false);
  });

  it('rejects bad structure', () => {
    const data = encodeProfileInstallationResultData(SUCCESS_DATA);
    expectAsn1Error(() => decodeProfileInstallationResult(encodeTlv(0xbf37, data)), 'missing-element');
    expectAsn1Error(() => decodeProfileInstallationResult(encodeTlv(0xbf37, encodeTlv(0x5f37, new Uint8Array(64)))), 'missing-element');
    // success with a 4-byte AID (SIZE 5..16)
    const short = { ...SUCCESS_DATA, finalResult: { kind: 'successResult', successResult: { aid: AID.subarray(0, 4), simaResponse: SIMA } } } as const;
    expect(() => encodeProfileInstallationResultData(short)).toThrow(RangeError);
    const build = (final: Uint8Array): Uint8Array =>
      encodeTlv(0xbf27, [encodeTlv(0x80, TID), encodeNotificationMetadata(INSTALL_MD), encodeOid(0x06, SMDP_OID), encodeTlv(0xa2, final)]);
    expect(decodeProfileInstallationResultData(build(encodeTlv(0xa0, [encodeTlv(0x4f, AID), encodeTlv(0x04, SIMA)]))).finalResult.kind).toBe(
      'successResult',
    );
    const badAid = build(encodeTlv(0xa0, [encodeTlv(0x4f, AID.subarray(0, 4)), encodeTlv(0x04, SIMA)]));
    expectAsn1Error(() => decodeProfileInstallationResultData(badAid), 'bad-value');
    // finalResult with an unknown alternative, or none
    const fixed = build(encodeTlv(0x82, Uint8Array.of(0)));
    expectAsn1Error(() => decodeProfileInstallationResultData(build(new Uint8Array(0))), 'missing-element');
    expectAsn1Error(() => decodeProfileInstallationResultData(build(encodeTlv(0xa1, encodeTlv(0x80, Uint8Array.of(2))))), 'missing-element');
    expectAsn1Error(() => decodeProfileInstallationResultData(fixed), 'unexpected-tag');
  });
});

describe('OtherSignedNotification / PendingNotification / RetrieveNotificationsList', () => {
  const FAKE_CERT = fromHex('3003020101');
  const osn: OtherSignedNotification = {
    tbsOtherNotification: ENABLE_MD,
    euiccNotificationSignature: new Uint8Array(64).fill(0x22),
    euiccCertificate: FAKE_CERT,
    eumCertificate: fromHex('3003020102'),
  };

  it('round-trips an OtherSignedNotification positionally (two 30 certificates)', () => {
    const enc = encodeOtherSignedNotification(osn);
    const dec = decodeOtherSignedNotification(enc);
    expect(withoutRaw(dec)).toEqual(osn);
    expect(dec.raw).toEqual(enc);
    expect(otherNotificationSignedData(dec)).toEqual(encodeNotificationMetadata(ENABLE_MD));
    expectAsn1Error(() => decodeOtherSignedNotification(enc.subarray(0, enc.length - 5)), 'length-past-end');
    const three = encodeTlv(0x30, [encodeNotificationMetadata(ENABLE_MD), encodeTlv(0x5f37, new Uint8Array(64)), FAKE_CERT]);
    expectAsn1Error(() => decodeOtherSignedNotification(three), 'missing-element');
    expect(() => encodeOtherSignedNotification({ ...osn, eumCertificate: fromHex('0400') })).toThrow(RangeError);
  });

  it('PendingNotification CHOICE and RetrieveNotificationsList', () => {
    const pir: ProfileInstallationResult = { profileInstallationResultData: SUCCESS_DATA, euiccSignPIR: new Uint8Array(64).fill(3) };
    const list: RetrieveNotificationsListResponse = {
      kind: 'notificationList',
      notificationList: [
        { kind: 'profileInstallationResult', profileInstallationResult: pir },
        { kind: 'otherSignedNotification', otherSignedNotification: osn },
      ],
    };
    const enc = encodeRetrieveNotificationsListResponse(list);
    const dec = decodeRetrieveNotificationsListResponse(enc);
    expect(withoutRaw(dec)).toEqual(list);
    expect(dec.kind === 'notificationList' && dec.notificationList.map((n) => pendingNotificationMetadata(n).seqNumber)).toEqual([7, 8]);
    expect(toHex(encodeRetrieveNotificationsListResponse({ kind: 'notificationsListResultError', notificationsListResultError: 127 }))).toBe(
      'bf2b0381017f',
    );
    for (const n of list.notificationList) expect(withoutRaw(decodePendingNotification(encodePendingNotification(n)))).toEqual(n);
    expectAsn1Error(() => decodePendingNotification(fromHex('bf2f00')), 'unexpected-tag');

    expect(toHex(encodeRetrieveNotificationsListRequest({}))).toBe('bf2b00');
    const bySeq = encodeRetrieveNotificationsListRequest({ searchCriteria: { kind: 'seqNumber', seqNumber: 5 } });
    expect(toHex(bySeq)).toBe('bf2b05a003800105');
    const byOp = encodeRetrieveNotificationsListRequest({ searchCriteria: { kind: 'profileManagementOperation', profileManagementOperation: [0] } });
    expect(toHex(byOp)).toBe('bf2b06a004810207' + '80');
    for (const b of [bySeq, byOp, fromHex('bf2b00')]) expect(encodeRetrieveNotificationsListRequest(decodeRetrieveNotificationsListRequest(b))).toEqual(b);
    expectAsn1Error(() => decodeRetrieveNotificationsListRequest(fromHex('bf2b05a003820105')), 'unexpected-tag');
  });

  it('NotificationSent', () => {
    expect(toHex(encodeNotificationSentRequest({ seqNumber: 0 }))).toBe('bf3003800100');
    expect(toHex(encodeNotificationSentRequest({ seqNumber: 200 }))).toBe('bf30048002' + '00c8');
    expect(decodeNotificationSentRequest(fromHex('bf30048002' + '00c8'))).toEqual({ seqNumber: 200 });
    expectAsn1Error(() => decodeNotificationSentRequest(fromHex('bf3005800300' + '00c8')), 'bad-value'); // non-minimal INTEGER
    for (const v of Object.values(DeleteNotificationStatusValue)) {
      expect(decodeNotificationSentResponse(encodeNotificationSentResponse({ deleteNotificationStatus: v }))).toEqual({
        deleteNotificationStatus: v,
      });
    }
    expect(toHex(encodeNotificationSentResponse({ deleteNotificationStatus: 1 }))).toBe('bf3003800101');
  });
});

describeWithReference('OtherSignedNotification signed with the SGP.26 test eUICC key', () => {
  it('verifies over the received BF2F with the public key of CERT.EUICC', () => {
    const euiccCert = readRef('sgp26', 'eUICC', 'CERT_EUICC_ECDSA_NIST.der');
    const eumCert = readRef('sgp26', 'EUM', 'CERT_EUM_ECDSA_NIST.der');
    const sk = createPrivateKey(readRefText('sgp26', 'eUICC', 'SK_EUICC_ECDSA_NIST.pem'));
    const tbs = encodeNotificationMetadata({ ...ENABLE_MD, seqNumber: 42 });
    const sig = signRs(sk, tbs);
    const bytes = encodeOtherSignedNotification({
      tbsOtherNotification: decodeNotificationMetadata(tbs),
      euiccNotificationSignature: sig,
      euiccCertificate: euiccCert,
      eumCertificate: eumCert,
    });
    const pending = decodePendingNotification(bytes);
    expect(pending.kind).toBe('otherSignedNotification');
    if (pending.kind !== 'otherSignedNotification') return;
    const n = pending.otherSignedNotification;
    expect(n.euiccCertificate).toEqual(euiccCert);
    expect(n.eumCertificate).toEqual(eumCert);
    expect(n.tbsOtherNotification.raw).toEqual(tbs);
    const pk = new X509Certificate(n.euiccCertificate).publicKey;
    expect(verifyRs(pk, otherNotificationSignedData(n), n.euiccNotificationSignature)).toBe(true);
    expect(encodePendingNotification(pending)).toEqual(bytes);
  });
});

describe('notification decoders are total', () => {
  it('random and mutated inputs only ever throw Asn1Error', () => {
    const pir = encodeProfileInstallationResult({ profileInstallationResultData: SUCCESS_DATA, euiccSignPIR: new Uint8Array(64) });
    const samples = [
      pir,
      encodeProfileInstallationResult({ profileInstallationResultData: ERROR_DATA, euiccSignPIR: new Uint8Array(64) }),
      encodeNotificationMetadata(ENABLE_MD),
      encodeListNotificationRequest({ profileManagementOperation: [1] }),
      encodeListNotificationResponse({ kind: 'notificationMetadataList', notificationMetadataList: [INSTALL_MD] }),
      encodeRetrieveNotificationsListRequest({ searchCriteria: { kind: 'seqNumber', seqNumber: 1 } }),
      encodeOtherSignedNotification({
        tbsOtherNotification: ENABLE_MD,
        euiccNotificationSignature: new Uint8Array(64),
        euiccCertificate: fromHex('3003020101'),
        eumCertificate: fromHex('3003020102'),
      }),
      encodeNotificationSentRequest({ seqNumber: 3 }),
      encodeNotificationSentResponse({ deleteNotificationStatus: 0 }),
    ];
    assertDecodersTotal(FUZZ_DECODERS_NOTIFICATIONS, samples, 4000);
  });
});
