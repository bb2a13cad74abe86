/**
 * Test helper (E2): put profiles straight into a card's store, as if downloaded, so the local profile
 * management functions (ES10c, notifications) can be tested without a download. Metadata is a real
 * StoreMetadataRequest (BF25) and the UPP a small SAIP package from buildProfilePackage.
 */
import { buildProfilePackage } from '../../src/asn1/saip.js';
import {
  encodeStoreMetadataRequest,
  type NotificationConfigurationInformation,
  type OperatorId,
  type VendorSpecificExtension,
} from '../../src/asn1/sgp22/metadata.js';
import { encodeIccid } from '../../src/util/bcd.js';
import type { StoredProfile } from '../../src/euicc/state.js';
import type { CardRuntime } from '../../src/euicc/types.js';

export interface TestProfileOptions {
  iccid: string;
  /** Written into the metadata (95) only when given; StoredProfile.profileClass defaults to 2. */
  profileClass?: number;
  /** PprIds bits (metadata 99 and StoredProfile.pprs). */
  pprs?: number[];
  notificationConfigurationInfo?: NotificationConfigurationInformation[];
  profileOwner?: OperatorId;
  serviceProviderName?: string;
  profileName?: string;
  iconType?: number;
  icon?: Uint8Array;
  serviceSpecificDataStoredInEuicc?: VendorSpecificExtension;
  nickname?: string;
  state?: 0 | 1;
  port?: number | null;
  dpProprietaryData?: Uint8Array;
}

/** Everything a notification could go to: install, enable, disable, delete → `address`. */
export function notifyAll(address: string): NotificationConfigurationInformation[] {
  return [{ profileManagementOperation: [0, 1, 2, 3], notificationAddress: address }];
}

/** Insert a profile into the card's store; returns what was stored. */
export function installTestProfile(card: CardRuntime, o: TestProfileOptions): StoredProfile {
  const metadata = encodeStoreMetadataRequest({
    iccid: encodeIccid(o.iccid),
    serviceProviderName: o.serviceProviderName ?? 'esimkit test',
    profileName: o.profileName ?? `Profile ${o.iccid.slice(-4)}`,
    ...(o.iconType !== undefined && { iconType: o.iconType }),
    ...(o.icon !== undefined && { icon: o.icon }),
    ...(o.profileClass !== undefined && { profileClass: o.profileClass }),
    ...(o.notificationConfigurationInfo !== undefined && { notificationConfigurationInfo: o.notificationConfigurationInfo }),
    ...(o.profileOwner !== undefined && { profileOwner: o.profileOwner }),
    ...(o.pprs !== undefined && { profilePolicyRules: o.pprs }),
    ...(o.serviceSpecificDataStoredInEuicc !== undefined && { serviceSpecificDataStoredInEuicc: o.serviceSpecificDataStoredInEuicc }),
  });
  const upp = buildProfilePackage({ iccid: o.iccid });
  const p: StoredProfile = {
    aid: card.store.nextIsdpAid(),
    iccid: encodeIccid(o.iccid),
    state: o.state ?? 0,
    port: o.state === 1 ? (o.port ?? 0) : null,
    metadata,
    profileClass: o.profileClass ?? 2,
    pprs: o.pprs ?? [],
    upp,
    size: upp.length + metadata.length,
    installedAt: Date.now(),
    ...(o.nickname !== undefined && { nickname: o.nickname }),
    ...(o.dpProprietaryData !== undefined && { dpProprietaryData: o.dpProprietaryData }),
  };
  card.store.insertProfile(p);
  return p;
}
