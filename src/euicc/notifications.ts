/**
 * Notifications of the software eUICC (SGP22-NOTES §6.3):
 *   - {@link createOtherSignedNotification}: the signed enable/disable/delete notifications of one profile
 *     operation, created and stored (install notifications are the PIR, made by bpp.ts).
 *   - ES10b handlers ListNotification (BF28), RetrieveNotificationsList (BF2B), NotificationSent (BF30).
 *
 * Sequence numbers come from {@link CardStore.nextSeqNumber}: eUICC-wide, persistent, only growing (also
 * across memory resets and restarts); 0 is a valid first value.
 *
 * Choices (documented, SGP.22 text not available here):
 *   - Notifications follow the profile's notificationConfigurationInfo for every profile class (test and
 *     provisioning profiles included): no entry for the operation → no notification.
 *   - A RetrieveNotificationsList by a seqNumber that is not pending answers an empty list (not an error).
 *   - listNotificationsResultError / notificationsListResultError undefinedError(127) is answered when a stored
 *     notification cannot be decoded (a damaged state file); NotificationSent never answers undefinedError.
 */
import { decodeTlv, encodeTlv, type Tlv } from '../asn1/tlv.js';
import { encodeInteger } from '../asn1/der.js';
import { decodeStoreMetadataRequest } from '../asn1/sgp22/metadata.js';
import {
  DeleteNotificationStatusValue,
  ListNotificationsResultErrorValue,
  NOTIFICATIONS_TAGS,
  NotificationsListResultErrorValue,
  decodeListNotificationRequest,
  decodeNotificationSentRequest,
  decodePendingNotification,
  decodeRetrieveNotificationsListRequest,
  encodeNotificationMetadata,
  encodeNotificationSentResponse,
  pendingNotificationMetadata,
  otherNotificationSignedData,
} from '../asn1/sgp22/notifications.js';
import type { CardRuntime, Es10Context, Es10Handler, Es10HandlerTable } from './types.js';
import type { StoredNotification, StoredProfile } from './state.js';

const T = NOTIFICATIONS_TAGS;

/** NotificationEvent bit numbers. */
export type NotificationEventBitNumber = 0 | 1 | 2 | 3;

/**
 * Create, sign and STORE (store.addNotification) one OtherSignedNotification per notificationConfigurationInfo
 * entry of `profile` whose operations include `event`, addressed to that entry's notificationAddress. Each gets
 * a fresh seqNumber. Returns what was stored (possibly nothing). Runs in one store transaction (joins the
 * caller's). Event 0 (install) is allowed for completeness, but installs normally notify with the PIR.
 *
 *   30 { BF2F { 80 seqNumber, 81 event, 0C address, 5A iccid }, 5F37 sig(BF2F TLV), 30 CERT.EUICC, 30 CERT.EUM }
 */
export function createOtherSignedNotification(
  card: CardRuntime,
  event: NotificationEventBitNumber,
  profile: Pick<StoredProfile, 'iccid' | 'metadata'>,
): StoredNotification[] {
  const md = decodeStoreMetadataRequest(profile.metadata);
  const entries = (md.notificationConfigurationInfo ?? []).filter((e) => e.profileManagementOperation.includes(event));
  if (entries.length === 0) return [];
  const { store, identity } = card;
  return store.transaction(() => {
    const out: StoredNotification[] = [];
    for (const e of entries) {
      const seqNumber = store.nextSeqNumber();
      const tbs = encodeNotificationMetadata({
        seqNumber,
        profileManagementOperation: [event],
        notificationAddress: e.notificationAddress,
        iccid: profile.iccid,
      });
      const pending = encodeTlv(0x30, [
        tbs,
        encodeTlv(T.signature, identity.sign(tbs)),
        identity.euiccCertificate,
        identity.eumCertificate,
      ]);
      const n: StoredNotification = { seqNumber, event, address: e.notificationAddress, iccid: profile.iccid, pending };
      store.addNotification(n);
      out.push(n);
    }
    return out;
  });
}

/** The exact BF2F TLV (NotificationMetadata) inside a stored PendingNotification. */
function metadataBytes(n: StoredNotification): Uint8Array {
  const md = pendingNotificationMetadata(decodePendingNotification(n.pending));
  return otherNotificationSignedData(md);
}

/** ListNotification BF28 { 81 filter? } -> BF28 { A0 { BF2F ... } } | BF28 { 81 undefinedError }. */
export const listNotification: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  const req = decodeListNotificationRequest(request);
  const filter = req.profileManagementOperation;
  const selected = ctx.card.store.listNotifications().filter((n) => filter === undefined || filter.includes(n.event));
  let items: Uint8Array[];
  try {
    items = selected.map(metadataBytes);
  } catch {
    return encodeTlv(T.listNotificationResponse, encodeInteger(T.listNotificationsResultError, ListNotificationsResultErrorValue.undefinedError));
  }
  return encodeTlv(T.listNotificationResponse, encodeTlv(T.notificationMetadataList, items));
};

/** RetrieveNotificationsList BF2B { A0 { 80 seq | 81 event } }? -> BF2B { A0 { PendingNotification ... } } | BF2B { 81 }. */
export const retrieveNotificationsList: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  const req = decodeRetrieveNotificationsListRequest(request);
  const sc = req.searchCriteria;
  const all = ctx.card.store.listNotifications();
  const selected =
    sc === undefined
      ? all
      : sc.kind === 'seqNumber'
        ? all.filter((n) => n.seqNumber === sc.seqNumber)
        : all.filter((n) => sc.profileManagementOperation.includes(n.event));
  try {
    for (const n of selected) decodeTlv(n.pending, { der: true });
  } catch {
    return encodeTlv(
      T.retrieveNotificationsListResponse,
      encodeInteger(T.notificationsListResultError, NotificationsListResultErrorValue.undefinedError),
    );
  }
  return encodeTlv(T.retrieveNotificationsListResponse, encodeTlv(T.notificationList, selected.map((n) => n.pending)));
};

/** NotificationSent (RemoveNotificationFromList) BF30 { 80 seq } -> BF30 { 80 ok(0) | nothingToDelete(1) }. */
export const notificationSent: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  const { seqNumber } = decodeNotificationSentRequest(request);
  const removed = ctx.card.store.removeNotification(seqNumber);
  return encodeNotificationSentResponse({
    deleteNotificationStatus: removed ? DeleteNotificationStatusValue.ok : DeleteNotificationStatusValue.nothingToDelete,
  });
};

export const NOTIFICATION_HANDLERS: Es10HandlerTable = new Map<number, Es10Handler>([
  [T.listNotificationRequest, listNotification],
  [T.retrieveNotificationsListRequest, retrieveNotificationsList],
  [T.notificationSentRequest, notificationSent],
]);
