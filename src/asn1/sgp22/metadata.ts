/**
 * Profile metadata (SGP.22 RSPDefinitions v2.5): StoreMetadataRequest (`BF25`, also the `profileMetadata`
 * of ES9+ authenticateClient) and the pieces it shares with ProfileInfo (profiles.ts) and the RAT (rat.ts):
 * OperatorId, NotificationConfigurationInformation, VendorSpecificExtension, DpProprietaryData, and the
 * named values of PprIds, NotificationEvent, IconType, ProfileClass, ProfileState.
 *
 * Tags (AUTOMATIC TAGS, SGP22-NOTES.md §0):
 *   BF25 { 5A iccid, 91 serviceProviderName, 92 profileName, 93 iconType?, 94 icon?, 95 profileClass?,
 *          B6 notificationConfigurationInfo? { 30 { 80 NotificationEvent, 81 notificationAddress } ... },
 *          B7 profileOwner? { 80 mccMnc, 81 gid1?, 82 gid2? }, 99 profilePolicyRules?,
 *          BF22 serviceSpecificDataStoredInEuicc?, BF23 serviceSpecificDataNotStoredInEuicc? }
 *   VendorSpecificExtension = SEQUENCE OF 30 { 80 vendorOid, A1 { <open type value: one TLV> } }
 *   (the open type is tagged explicitly, as X.680 does for open types under AUTOMATIC TAGS).
 *   DpProprietaryData = SEQUENCE { 06 dpOid, ... }.
 *
 * profileClass is `DEFAULT operational`: absent decodes as absent (no key), present is kept and re-encoded
 * even when it is the default (osmo-smdpp sends `95 01 02`), so received metadata re-encodes byte-identically.
 * String sizes: serviceProviderName 0..32 and profileName 0..64 characters; icon 0..1024 bytes.
 */
import { decodeBitString, decodeOid, decodeUtf8, encodeBitString, encodeInteger, encodeOid, expectLength } from '../der.js';
import { Asn1Error, encodeTlv, type Tlv } from '../tlv.js';
import { asTlv, checkTlv } from './codec-util.js';
import {
  SeqFields,
  encodeIccidField,
  encodeOctets,
  encodeString,
  encodeUtf8MaxChars,
  iccidOf,
  integerOf,
  utf8MaxChars,
} from './fields.js';

export const METADATA_TAGS = {
  storeMetadataRequest: 0xbf25,
  iccid: 0x5a,
  isdpAid: 0x4f,
  profileState: 0x9f70,
  profileNickname: 0x90,
  serviceProviderName: 0x91,
  profileName: 0x92,
  iconType: 0x93,
  icon: 0x94,
  profileClass: 0x95,
  notificationConfigurationInfo: 0xb6,
  profileOwner: 0xb7,
  dpProprietaryData: 0xb8,
  profilePolicyRules: 0x99,
  serviceSpecificDataStoredInEuicc: 0xbf22,
  serviceSpecificDataNotStoredInEuicc: 0xbf23,
  /** Elements of SEQUENCE OF OperatorId / NotificationConfigurationInformation / vendor extensions. */
  sequence: 0x30,
  /** Inside NotificationConfigurationInformation. */
  profileManagementOperation: 0x80,
  notificationAddress: 0x81,
  /** Inside OperatorId. */
  mccMnc: 0x80,
  gid1: 0x81,
  gid2: 0x82,
  /** Inside a VendorSpecificExtension element. */
  vendorOid: 0x80,
  vendorSpecificData: 0xa1,
  /** Inside DpProprietaryData. */
  dpOid: 0x06,
} as const;

const T = METADATA_TAGS;

/** PprIds ::= BIT STRING named bits. */
export const PprIdsBit = { pprUpdateControl: 0, ppr1: 1, ppr2: 2 } as const;
/** NotificationEvent ::= BIT STRING named bits. */
export const NotificationEventBit = {
  notificationInstall: 0,
  notificationEnable: 1,
  notificationDisable: 2,
  notificationDelete: 3,
} as const;
export const IconTypeValue = { jpg: 0, png: 1 } as const;
export const ProfileClassValue = { test: 0, provisioning: 1, operational: 2 } as const;
export const ProfileStateValue = { disabled: 0, enabled: 1 } as const;

/** Set bit numbers of a PprIds BIT STRING (see {@link PprIdsBit}). */
export type PprIds = readonly number[];
/** Set bit numbers of a NotificationEvent BIT STRING (see {@link NotificationEventBit}). */
export type NotificationEvent = readonly number[];

export interface OperatorId {
  /** MCC and MNC as coded in 3GPP TS 24.008, 3 bytes. */
  readonly mccMnc: Uint8Array;
  readonly gid1?: Uint8Array;
  readonly gid2?: Uint8Array;
}

export interface NotificationConfigurationInformation {
  readonly profileManagementOperation: NotificationEvent;
  /** FQDN the notification is sent to. */
  readonly notificationAddress: string;
}

export interface VendorSpecificExtensionEntry {
  readonly vendorOid: string;
  /** The open-type value: the complete TLV(s) inside the `A1` wrapper. */
  readonly vendorSpecificData: Uint8Array;
}

export type VendorSpecificExtension = readonly VendorSpecificExtensionEntry[];

/** Same shape as DpProprietaryData in bpp.ts (ConfigureISDPRequest); at most 128 bytes as a TLV. */
export interface DpProprietaryData {
  readonly dpOid: string;
  /** Further data objects defined by the SM-DP+ (complete TLVs after dpOid), absent when none. */
  readonly additionalData?: readonly Uint8Array[];
}

export interface StoreMetadataRequest {
  readonly iccid: Uint8Array;
  readonly serviceProviderName: string;
  readonly profileName: string;
  readonly iconType?: number;
  readonly icon?: Uint8Array;
  /** DEFAULT operational(2): absent when not sent. */
  readonly profileClass?: number;
  readonly notificationConfigurationInfo?: readonly NotificationConfigurationInformation[];
  readonly profileOwner?: OperatorId;
  readonly profilePolicyRules?: PprIds;
  readonly serviceSpecificDataStoredInEuicc?: VendorSpecificExtension;
  readonly serviceSpecificDataNotStoredInEuicc?: VendorSpecificExtension;
  /** The complete TLV as received (set by the decoder, ignored by the encoder). */
  readonly raw?: Uint8Array;
}

// --------------------------------------------------------------------------------------------- OperatorId

/** OperatorId; `tag` is 30 inside a SEQUENCE OF, B7 as profileOwner. */
export function encodeOperatorId(x: OperatorId, tag: number = T.sequence): Uint8Array {
  const parts = [encodeOctets(T.mccMnc, x.mccMnc, 3, 3, 'OperatorId.mccMnc')];
  if (x.gid1 !== undefined) parts.push(encodeOctets(T.gid1, x.gid1, 0, Infinity, 'OperatorId.gid1'));
  if (x.gid2 !== undefined) parts.push(encodeOctets(T.gid2, x.gid2, 0, Infinity, 'OperatorId.gid2'));
  return encodeTlv(tag, parts);
}

export function decodeOperatorId(input: Uint8Array | Tlv, tag: number = T.sequence): OperatorId {
  const t = asTlv(input, tag, 'OperatorId');
  const f = new SeqFields(t, 'OperatorId', [T.mccMnc, T.gid1, T.gid2]);
  const mccMnc = expectLength(f.req(T.mccMnc, 'mccMnc'), 3, 3, 'OperatorId.mccMnc');
  const gid1 = f.opt(T.gid1);
  const gid2 = f.opt(T.gid2);
  return {
    mccMnc,
    ...(gid1 && { gid1: gid1.value }),
    ...(gid2 && { gid2: gid2.value }),
  };
}

// ------------------------------------------------------------------------ NotificationConfigurationInfo

export function encodeNotificationConfigurationInformation(x: NotificationConfigurationInformation): Uint8Array {
  return encodeTlv(T.sequence, [
    encodeBitString(T.profileManagementOperation, x.profileManagementOperation),
    encodeString(T.notificationAddress, x.notificationAddress, 'NotificationConfigurationInformation.notificationAddress'),
  ]);
}

export function decodeNotificationConfigurationInformation(input: Uint8Array | Tlv): NotificationConfigurationInformation {
  const t = asTlv(input, T.sequence, 'NotificationConfigurationInformation');
  const f = new SeqFields(t, 'NotificationConfigurationInformation', [T.profileManagementOperation, T.notificationAddress]);
  return {
    profileManagementOperation: decodeBitString(f.req(T.profileManagementOperation, 'profileManagementOperation')),
    notificationAddress: decodeUtf8(f.req(T.notificationAddress, 'notificationAddress')),
  };
}

/** `SEQUENCE OF NotificationConfigurationInformation` with its context tag (B6). */
export function encodeNotificationConfigurationInfoList(
  list: readonly NotificationConfigurationInformation[],
  tag: number = T.notificationConfigurationInfo,
): Uint8Array {
  return encodeTlv(tag, list.map(encodeNotificationConfigurationInformation));
}

export function decodeNotificationConfigurationInfoList(
  input: Uint8Array | Tlv,
  tag: number = T.notificationConfigurationInfo,
): NotificationConfigurationInformation[] {
  const t = asTlv(input, tag, 'notificationConfigurationInfo');
  return t.children.map((c) => decodeNotificationConfigurationInformation(c));
}

// ------------------------------------------------------------------------------ VendorSpecificExtension

export function encodeVendorSpecificExtension(x: VendorSpecificExtension, tag: number): Uint8Array {
  return encodeTlv(
    tag,
    x.map((e) => {
      if (!(e.vendorSpecificData instanceof Uint8Array)) throw new RangeError('vendorSpecificData must be bytes');
      return encodeTlv(T.sequence, [encodeOid(T.vendorOid, e.vendorOid), encodeTlv(T.vendorSpecificData, e.vendorSpecificData)]);
    }),
  );
}

export function decodeVendorSpecificExtension(input: Uint8Array | Tlv, tag: number): VendorSpecificExtensionEntry[] {
  const t = asTlv(input, tag, 'VendorSpecificExtension');
  return t.children.map((c) => {
    const e = asTlv(c, T.sequence, 'VendorSpecificExtension element');
    const f = new SeqFields(e, 'VendorSpecificExtension element', [T.vendorOid, T.vendorSpecificData]);
    return {
      vendorOid: decodeOid(f.req(T.vendorOid, 'vendorOid')),
      vendorSpecificData: f.req(T.vendorSpecificData, 'vendorSpecificData').value,
    };
  });
}

// ------------------------------------------------------------------------------------ DpProprietaryData

/** DpProprietaryData; `tag` is B8 in ProfileInfo and ConfigureISDPRequest. At most 128 bytes as a TLV. */
export function encodeDpProprietaryData(x: DpProprietaryData, tag: number = T.dpProprietaryData): Uint8Array {
  const parts = [encodeOid(T.dpOid, x.dpOid)];
  for (const a of x.additionalData ?? []) parts.push(checkTlv(a, undefined, 'DpProprietaryData.additionalData'));
  const out = encodeTlv(tag, parts);
  if (out.length > 128) throw new RangeError('DpProprietaryData is longer than 128 bytes');
  return out;
}

export function decodeDpProprietaryData(input: Uint8Array | Tlv, tag: number = T.dpProprietaryData): DpProprietaryData {
  const t = asTlv(input, tag, 'DpProprietaryData');
  if (t.raw.length > 128) throw new Asn1Error('bad-value', 'DpProprietaryData is longer than 128 bytes', t.offset);
  const first = t.children[0];
  if (!first || first.tag !== T.dpOid) {
    throw new Asn1Error('missing-element', 'DpProprietaryData: dpOid (06) must come first', first?.offset ?? t.valueOffset);
  }
  const dpOid = decodeOid(first);
  const more = t.children.slice(1).map((c) => c.raw);
  return more.length > 0 ? { dpOid, additionalData: more } : { dpOid };
}

// ----------------------------------------------------------------------------------- StoreMetadataRequest

const STORE_METADATA_ORDER = [
  T.iccid,
  T.serviceProviderName,
  T.profileName,
  T.iconType,
  T.icon,
  T.profileClass,
  T.notificationConfigurationInfo,
  T.profileOwner,
  T.profilePolicyRules,
  T.serviceSpecificDataStoredInEuicc,
  T.serviceSpecificDataNotStoredInEuicc,
];

export function encodeStoreMetadataRequest(x: StoreMetadataRequest): Uint8Array {
  const w = 'StoreMetadataRequest';
  const parts = [
    encodeIccidField(T.iccid, x.iccid, w),
    encodeUtf8MaxChars(T.serviceProviderName, x.serviceProviderName, 32, `${w}.serviceProviderName`),
    encodeUtf8MaxChars(T.profileName, x.profileName, 64, `${w}.profileName`),
  ];
  if (x.iconType !== undefined) parts.push(encodeInteger(T.iconType, x.iconType));
  if (x.icon !== undefined) parts.push(encodeOctets(T.icon, x.icon, 0, 1024, `${w}.icon`));
  if (x.profileClass !== undefined) parts.push(encodeInteger(T.profileClass, x.profileClass));
  if (x.notificationConfigurationInfo !== undefined) {
    parts.push(encodeNotificationConfigurationInfoList(x.notificationConfigurationInfo));
  }
  if (x.profileOwner !== undefined) parts.push(encodeOperatorId(x.profileOwner, T.profileOwner));
  if (x.profilePolicyRules !== undefined) parts.push(encodeBitString(T.profilePolicyRules, x.profilePolicyRules));
  if (x.serviceSpecificDataStoredInEuicc !== undefined) {
    parts.push(encodeVendorSpecificExtension(x.serviceSpecificDataStoredInEuicc, T.serviceSpecificDataStoredInEuicc));
  }
  if (x.serviceSpecificDataNotStoredInEuicc !== undefined) {
    parts.push(encodeVendorSpecificExtension(x.serviceSpecificDataNotStoredInEuicc, T.serviceSpecificDataNotStoredInEuicc));
  }
  return encodeTlv(T.storeMetadataRequest, parts);
}

export function decodeStoreMetadataRequest(input: Uint8Array | Tlv): StoreMetadataRequest {
  const w = 'StoreMetadataRequest';
  const t = asTlv(input, T.storeMetadataRequest, w);
  const f = new SeqFields(t, w, STORE_METADATA_ORDER);
  const iconType = f.opt(T.iconType);
  const icon = f.opt(T.icon);
  const profileClass = f.opt(T.profileClass);
  const nci = f.opt(T.notificationConfigurationInfo);
  const owner = f.opt(T.profileOwner);
  const ppr = f.opt(T.profilePolicyRules);
  const ssdIn = f.opt(T.serviceSpecificDataStoredInEuicc);
  const ssdOut = f.opt(T.serviceSpecificDataNotStoredInEuicc);
  return {
    iccid: iccidOf(f.req(T.iccid, 'iccid'), w),
    serviceProviderName: utf8MaxChars(f.req(T.serviceProviderName, 'serviceProviderName'), 32, `${w}.serviceProviderName`),
    profileName: utf8MaxChars(f.req(T.profileName, 'profileName'), 64, `${w}.profileName`),
    ...(iconType && { iconType: integerOf(iconType) }),
    ...(icon && { icon: expectLength(icon, 0, 1024, `${w}.icon`) }),
    ...(profileClass && { profileClass: integerOf(profileClass) }),
    ...(nci && { notificationConfigurationInfo: decodeNotificationConfigurationInfoList(nci) }),
    ...(owner && { profileOwner: decodeOperatorId(owner, T.profileOwner) }),
    ...(ppr && { profilePolicyRules: decodeBitString(ppr) }),
    ...(ssdIn && { serviceSpecificDataStoredInEuicc: decodeVendorSpecificExtension(ssdIn, T.serviceSpecificDataStoredInEuicc) }),
    ...(ssdOut && {
      serviceSpecificDataNotStoredInEuicc: decodeVendorSpecificExtension(ssdOut, T.serviceSpecificDataNotStoredInEuicc),
    }),
    raw: t.raw,
  };
}

export const FUZZ_DECODERS_METADATA: ReadonlyArray<{ name: string; decode: (b: Uint8Array) => unknown }> = [
  { name: 'StoreMetadataRequest', decode: (b) => decodeStoreMetadataRequest(b) },
  { name: 'OperatorId', decode: (b) => decodeOperatorId(b) },
  { name: 'NotificationConfigurationInformation', decode: (b) => decodeNotificationConfigurationInformation(b) },
  { name: 'NotificationConfigurationInfoList', decode: (b) => decodeNotificationConfigurationInfoList(b) },
  { name: 'VendorSpecificExtension', decode: (b) => decodeVendorSpecificExtension(b, T.serviceSpecificDataStoredInEuicc) },
  { name: 'DpProprietaryData', decode: (b) => decodeDpProprietaryData(b) },
];
