/** Notifications through APDUs: ListNotification (BF28), RetrieveNotificationsList (BF2B), NotificationSent (BF30). */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SoftEuicc } from './card.js';
import { createIdentity, type EuiccIdentity } from './identity.js';
import { createOtherSignedNotification } from './notifications.js';
import { es10, storeData } from '../../test/support/card-driver.js';
import { installTestProfile } from '../../test/support/stored-profiles.js';
import {
  decodeListNotificationResponse,
  decodeNotificationSentResponse,
  decodeOtherSignedNotification,
  decodeRetrieveNotificationsListResponse,
  encodeListNotificationRequest,
  encodeNotificationSentRequest,
  encodeRetrieveNotificationsListRequest,
  encodeProfileInstallationResult,
  otherNotificationSignedData,
  type NotificationMetadata,
  type PendingNotification,
  type RetrieveNotificationsListRequest,
} from '../asn1/sgp22/notifications.js';
import { encodeEnableProfileRequest, encodeDeleteProfileRequest, encodeDisableProfileRequest } from '../asn1/sgp22/profiles.js';
import { parseCertificate } from '../crypto/x509.js';
import { verifyRaw } from '../crypto/ecdsa.js';
import { encodeIccid } from '../util/bcd.js';
import { fromHex, toHex } from '../util/hex.js';

let identity: EuiccIdentity;
beforeAll(() => {
  identity = createIdentity({ curve: 'brainpoolP256r1' }).identity;
});
const cards: SoftEuicc[] = [];
afterEach(() => {
  while (cards.length) cards.pop()!.close();
});
function newCard(path = ':memory:'): SoftEuicc {
  const c = SoftEuicc.create(path, { identity });
  cards.push(c);
  return c;
}

const I1 = '8949449999999990001';
const I2 = '8949449999999990002';
const id = (i: string) => ({ kind: 'iccid' as const, iccid: encodeIccid(i) });

function list(card: SoftEuicc, filter?: number[]): NotificationMetadata[] {
  const r = decodeListNotificationResponse(es10(card, encodeListNotificationRequest(filter ? { profileManagementOperation: filter } : {})));
  if (r.kind !== 'notificationMetadataList') throw new Error(`error ${r.listNotificationsResultError}`);
  return [...r.notificationMetadataList];
}
function retrieve(card: SoftEuicc, req: RetrieveNotificationsListRequest = {}): PendingNotification[] {
  const r = decodeRetrieveNotificationsListResponse(es10(card, encodeRetrieveNotificationsListRequest(req)));
  if (r.kind !== 'notificationList') throw new Error(`error ${r.notificationsListResultError}`);
  return [...r.notificationList];
}
const sent = (card: SoftEuicc, seq: number): number => decodeNotificationSentResponse(es10(card, encodeNotificationSentRequest({ seqNumber: seq }))).deleteNotificationStatus;
const summary = (m: NotificationMetadata): string => `${m.seqNumber}:${m.profileManagementOperation.join('')}:${m.notificationAddress}`;

/** Card with two profiles: P1 notifies enable+disable to a.example and delete to b.example; P2 only enable to c.example. */
function busyCard(path?: string): SoftEuicc {
  const card = newCard(path);
  installTestProfile(card.runtime, {
    iccid: I1,
    notificationConfigurationInfo: [
      { profileManagementOperation: [1, 2], notificationAddress: 'a.example' },
      { profileManagementOperation: [3], notificationAddress: 'b.example' },
    ],
  });
  installTestProfile(card.runtime, { iccid: I2, notificationConfigurationInfo: [{ profileManagementOperation: [1], notificationAddress: 'c.example' }] });
  es10(card, encodeEnableProfileRequest({ profileIdentifier: id(I1), refreshFlag: false })); // 0 enable a
  es10(card, encodeEnableProfileRequest({ profileIdentifier: id(I2), refreshFlag: false })); // 1 disable a, 2 enable c
  es10(card, encodeDisableProfileRequest({ profileIdentifier: id(I2), refreshFlag: false })); // (no disable config for P2)
  es10(card, encodeDeleteProfileRequest(id(I1))); // 3 delete b
  return card;
}

describe('createOtherSignedNotification', () => {
  it('one signed, self-contained notification per matching configuration entry', () => {
    const card = newCard();
    const p = installTestProfile(card.runtime, {
      iccid: I1,
      notificationConfigurationInfo: [
        { profileManagementOperation: [1], notificationAddress: 'x.example' },
        { profileManagementOperation: [1, 3], notificationAddress: 'y.example' },
        { profileManagementOperation: [2], notificationAddress: 'z.example' },
      ],
    });
    const made = createOtherSignedNotification(card.runtime, 1, p);
    expect(made.map((n) => [n.seqNumber, n.event, n.address, toHex(n.iccid!)])).toEqual([
      [0, 1, 'x.example', toHex(p.iccid)],
      [1, 1, 'y.example', toHex(p.iccid)],
    ]);
    expect(card.runtime.store.listNotifications()).toEqual(made);
    const key = parseCertificate(identity.euiccCertificate).subjectPublicKeyInfo.key!;
    for (const n of made) {
      const o = decodeOtherSignedNotification(n.pending);
      expect(o.tbsOtherNotification).toMatchObject({ seqNumber: n.seqNumber, profileManagementOperation: [1], notificationAddress: n.address });
      expect(toHex(o.tbsOtherNotification.iccid!)).toBe(toHex(p.iccid));
      expect(toHex(o.euiccCertificate)).toBe(toHex(identity.euiccCertificate));
      expect(toHex(o.eumCertificate)).toBe(toHex(identity.eumCertificate));
      expect(verifyRaw(key, otherNotificationSignedData(o), o.euiccNotificationSignature)).toBe(true);
    }
    expect(createOtherSignedNotification(card.runtime, 0, p)).toEqual([]); // no install entry
  });
});

describe('ListNotification (BF28)', () => {
  it('lists all pending notifications by seqNumber, or those of one event', () => {
    const card = busyCard();
    expect(list(card).map(summary)).toEqual(['0:1:a.example', '1:2:a.example', '2:1:c.example', '3:3:b.example']);
    expect(list(card, [1]).map(summary)).toEqual(['0:1:a.example', '2:1:c.example']);
    expect(list(card, [3]).map(summary)).toEqual(['3:3:b.example']);
    expect(list(card, [0])).toEqual([]);
    expect(list(card).every((m) => toHex(m.iccid!) === toHex(encodeIccid(m.notificationAddress === 'c.example' ? I2 : I1)))).toBe(true);
  });

  it('empty card: empty list (A0 00)', () => {
    expect(toHex(es10(newCard(), fromHex('BF2800')))).toBe('bf2802a000');
  });

  it('lists the metadata of a stored PIR (BF37) too', () => {
    const card = newCard();
    // a PIR as bpp.ts stores it
    const pir = encodeProfileInstallationResult({
      profileInstallationResultData: {
        transactionId: fromHex('11'),
        notificationMetadata: { seqNumber: 5, profileManagementOperation: [0], notificationAddress: 'dp.example' },
        smdpOid: '1.3.6.1',
        finalResult: { kind: 'errorResult', errorResult: { bppCommandId: 2, errorReason: 15 } },
      },
      euiccSignPIR: new Uint8Array(64),
    });
    card.runtime.store.addNotification({ seqNumber: 5, event: 0, address: 'dp.example', pending: pir });
    expect(list(card).map(summary)).toEqual(['5:0:dp.example']);
    expect(retrieve(card).map((p) => p.kind)).toEqual(['profileInstallationResult']);
  });

  it('listNotificationsResultError undefinedError(127) when a stored notification is damaged', () => {
    const card = newCard();
    card.runtime.store.addNotification({ seqNumber: 0, event: 1, address: 'x', pending: fromHex('3003020100') });
    const r = decodeListNotificationResponse(es10(card, fromHex('BF2800')));
    expect(r).toEqual({ kind: 'listNotificationsResultError', listNotificationsResultError: 127 });
  });

  it('malformed request → 6A80', () => {
    expect(storeData(newCard(), fromHex('BF2803810101')).sw).toBe(0x6a80); // BIT STRING with 1 unused bit and no data
  });
});

describe('RetrieveNotificationsList (BF2B)', () => {
  it('all, by seqNumber, by event; unknown seqNumber → empty list', () => {
    const card = busyCard();
    const meta = (ps: PendingNotification[]): string[] =>
      ps.map((p) => (p.kind === 'otherSignedNotification' ? summary(p.otherSignedNotification.tbsOtherNotification) : 'pir'));
    expect(meta(retrieve(card))).toEqual(['0:1:a.example', '1:2:a.example', '2:1:c.example', '3:3:b.example']);
    expect(meta(retrieve(card, { searchCriteria: { kind: 'seqNumber', seqNumber: 2 } }))).toEqual(['2:1:c.example']);
    expect(meta(retrieve(card, { searchCriteria: { kind: 'profileManagementOperation', profileManagementOperation: [2] } }))).toEqual([
      '1:2:a.example',
    ]);
    expect(retrieve(card, { searchCriteria: { kind: 'seqNumber', seqNumber: 99 } })).toEqual([]);
    // the bytes are exactly what was stored (and signed)
    const stored = card.runtime.store.getNotification(3)!.pending;
    expect(toHex(es10(card, encodeRetrieveNotificationsListRequest({ searchCriteria: { kind: 'seqNumber', seqNumber: 3 } })))).toContain(toHex(stored));
  });

  it('notificationsListResultError undefinedError(127) when a stored notification is damaged', () => {
    const card = newCard();
    card.runtime.store.addNotification({ seqNumber: 0, event: 1, address: 'x', pending: fromHex('3005') });
    expect(decodeRetrieveNotificationsListResponse(es10(card, fromHex('BF2B00')))).toEqual({
      kind: 'notificationsListResultError',
      notificationsListResultError: 127,
    });
  });
});

describe('NotificationSent (BF30)', () => {
  it('ok(0) removes it; nothingToDelete(1) the second time or for an unknown one', () => {
    const card = busyCard();
    expect(sent(card, 1)).toBe(0);
    expect(list(card).map((m) => m.seqNumber)).toEqual([0, 2, 3]);
    expect(sent(card, 1)).toBe(1);
    expect(sent(card, 1000)).toBe(1);
    expect(toHex(es10(card, fromHex('BF3003800100')))).toBe('bf3003800100');
  });
});

describe('sequence numbers', () => {
  it('only grow, even after removal, and survive reopening the card', () => {
    const dir = mkdtempSync(join(tmpdir(), 'esimkit-'));
    try {
      const path = join(dir, 'card.db');
      const card = busyCard(path);
      for (const m of list(card)) expect(sent(card, m.seqNumber)).toBe(0);
      expect(list(card)).toEqual([]);
      cards.pop()!.close();
      const again = SoftEuicc.open(path);
      cards.push(again);
      es10(again, encodeEnableProfileRequest({ profileIdentifier: id(I2), refreshFlag: false }));
      expect(list(again).map(summary)).toEqual(['4:1:c.example']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
