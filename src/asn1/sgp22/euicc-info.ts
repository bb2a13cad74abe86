/**
 * ES10b GetEUICCInfo1 / GetEUICCInfo2 / GetEUICCChallenge and DeviceInfo (RSPDefinitions v2.5).
 *
 * Tags (AUTOMATIC TAGS, see SGP22-NOTES §0):
 *   GetEuiccInfo1Request  BF20 {}                EUICCInfo1 BF20 {82 svn, A9 {04…}, AA {04…}}
 *   GetEuiccInfo2Request  BF22 {}                EUICCInfo2 BF22 {81 82 83 84 85 86? 87? 88 A9 AA 8B? 99? 04 0C AC? 8D? 8E? AF?}
 *   GetEuiccChallengeRequest BF2E {}             GetEuiccChallengeResponse BF2E {80 euiccChallenge(16)}
 *   DeviceInfo 30-less SEQUENCE {80 tac(4), A1 DeviceCapabilities, 82 imei(8)?} (the caller's tag, A1 in CtxParams1)
 *   DeviceCapabilities {80..8D VersionType / 8C BIT STRING / 8D INTEGER, AE {80 naiSupport}}
 *
 * Named-bit BIT STRINGs decode to sorted bit numbers. The capability bit strings of EUICCInfo2 come from
 * cards and are decoded leniently (trailing zero bits that DER would drop are accepted; the re-encoding is
 * DER). EUICCInfo2 also skips elements of foreign tags wherever they appear (lpac's notes mention vendor
 * oddities; later versions add fields), while its own fields must still come once and in order.
 * Signatures are never computed over a re-encoding: EuiccSigned1 keeps its received bytes.
 */
import {
  TlvReader,
  decodeBitString,
  decodeInteger,
  decodeRawBitString,
  decodeUtf8,
  decodeVersion,
  encodeBitString,
  encodeInteger,
  encodeUtf8,
  encodeVersion,
  expectLength,
  versionContent,
} from '../der.js';
import { Asn1Error, encodeTlv, type Tlv } from '../tlv.js';
import { LenientReader, asTlv, checkSize, endExtensible, sequenceOf } from './codec-util.js';

/** Tags of this family (outer tags of the messages and the tag DeviceInfo gets inside CtxParams1). */
export const EuiccInfoTag = {
  GetEuiccInfo1Request: 0xbf20,
  EUICCInfo1: 0xbf20,
  GetEuiccInfo2Request: 0xbf22,
  EUICCInfo2: 0xbf22,
  GetEuiccChallengeRequest: 0xbf2e,
  GetEuiccChallengeResponse: 0xbf2e,
  /** DeviceInfo is an untagged SEQUENCE type; inside CtxParamsForCommonAuthentication it is `[1]` = A1. */
  DeviceInfoInCtxParams: 0xa1,
  /** DeviceCapabilities inside DeviceInfo. */
  DeviceCapabilities: 0xa1,
  /** CertificationDataObject inside EUICCInfo2. */
  CertificationDataObject: 0xac,
  /** A SubjectKeyIdentifier (CI PKID) inside the PKID lists. */
  SubjectKeyIdentifier: 0x04,
} as const;

// ------------------------------------------------------------------------------------------ bit names

/** RspCapability named bits (RSPDefinitions). */
export const RspCapability = {
  additionalProfile: 0,
  crlSupport: 1,
  rpmSupport: 2,
  testProfileSupport: 3,
  deviceInfoExtensibilitySupport: 4,
  serviceSpecificDataSupport: 5,
} as const;

/** UICCCapability named bits (PEDefinitions, imported by RSPDefinitions). */
export const UICCCapability = {
  contactlessSupport: 0,
  usimSupport: 1,
  isimSupport: 2,
  csimSupport: 3,
  akaMilenage: 4,
  akaCave: 5,
  akaTuak128: 6,
  akaTuak256: 7,
  usimTestAlgorithm: 8,
  rfu2: 9,
  gbaAuthenUsim: 10,
  gbaAuthenISim: 11,
  mbmsAuthenUsim: 12,
  eapClient: 13,
  javacard: 14,
  multos: 15,
  multipleUsimSupport: 16,
  multipleIsimSupport: 17,
  multipleCsimSupport: 18,
  berTlvFileSupport: 19,
  dfLinkSupport: 20,
  catTp: 21,
  getIdentity: 22,
  'profile-a-x25519': 23,
  'profile-b-p256': 24,
  suciCalculatorApi: 25,
  'dns-resolution': 26,
  scp11ac: 27,
  'scp11c-authorization-mechanism': 28,
  s16mode: 29,
  eaka: 30,
  iotminimal: 31,
} as const;

/** EUICCInfo2.treProperties named bits. */
export const TreProperties = {
  isDiscrete: 0,
  isIntegrated: 1,
  usesRemoteMemory: 2,
} as const;

/** EUICCInfo2.euiccCategory values (other values are kept as numbers). */
export const EuiccCategoryValue = {
  other: 0,
  basicEuicc: 1,
  mediumEuicc: 2,
  contactlessEuicc: 3,
} as const;

// ------------------------------------------------------------------------------------------ requests

/** An ES10 request without content (`BF20 00`, `BF22 00`, `BF2E 00`). */
export type EmptyRequest = Record<string, never>;
export type GetEuiccInfo1Request = EmptyRequest;
export type GetEuiccInfo2Request = EmptyRequest;
export type GetEuiccChallengeRequest = EmptyRequest;

function decodeEmpty(input: Uint8Array | Tlv, tag: number, what: string): EmptyRequest {
  const t = asTlv(input, tag, what);
  // Extensible: future versions may add elements; there are no known ones to check.
  void t;
  return {};
}

export function encodeGetEuiccInfo1Request(_x: GetEuiccInfo1Request = {}): Uint8Array {
  return encodeTlv(EuiccInfoTag.GetEuiccInfo1Request);
}
export function decodeGetEuiccInfo1Request(input: Uint8Array | Tlv): GetEuiccInfo1Request {
  return decodeEmpty(input, EuiccInfoTag.GetEuiccInfo1Request, 'GetEuiccInfo1Request');
}
export function encodeGetEuiccInfo2Request(_x: GetEuiccInfo2Request = {}): Uint8Array {
  return encodeTlv(EuiccInfoTag.GetEuiccInfo2Request);
}
export function decodeGetEuiccInfo2Request(input: Uint8Array | Tlv): GetEuiccInfo2Request {
  return decodeEmpty(input, EuiccInfoTag.GetEuiccInfo2Request, 'GetEuiccInfo2Request');
}
export function encodeGetEuiccChallengeRequest(_x: GetEuiccChallengeRequest = {}): Uint8Array {
  return encodeTlv(EuiccInfoTag.GetEuiccChallengeRequest);
}
export function decodeGetEuiccChallengeRequest(input: Uint8Array | Tlv): GetEuiccChallengeRequest {
  return decodeEmpty(input, EuiccInfoTag.GetEuiccChallengeRequest, 'GetEuiccChallengeRequest');
}

// ------------------------------------------------------------------------------------------ challenge

export interface GetEuiccChallengeResponse {
  /** 16 random bytes. */
  readonly euiccChallenge: Uint8Array;
}

export function encodeGetEuiccChallengeResponse(x: GetEuiccChallengeResponse): Uint8Array {
  return encodeTlv(EuiccInfoTag.GetEuiccChallengeResponse, encodeTlv(0x80, checkSize(x.euiccChallenge, 16, 16, 'euiccChallenge')));
}

export function decodeGetEuiccChallengeResponse(input: Uint8Array | Tlv): GetEuiccChallengeResponse {
  const t = asTlv(input, EuiccInfoTag.GetEuiccChallengeResponse, 'GetEuiccChallengeResponse');
  const r = new TlvReader(t, 'GetEuiccChallengeResponse');
  const euiccChallenge = expectLength(r.req(0x80, 'euiccChallenge'), 16, 16, 'euiccChallenge');
  endExtensible(r, [0x80]);
  return { euiccChallenge };
}

// ------------------------------------------------------------------------------------------ PKID lists

function decodePkidList(t: Tlv, what: string): Uint8Array[] {
  return sequenceOf(t, 0x04, what).map((c) => c.value);
}

function encodePkidList(tag: number, list: readonly Uint8Array[]): Uint8Array {
  return encodeTlv(
    tag,
    list.map((p) => encodeTlv(0x04, p)),
  );
}

// ------------------------------------------------------------------------------------------ EUICCInfo1

export interface EUICCInfo1 {
  /** SGP.22 version supported, "2.2.0". */
  readonly svn: string;
  /** CI PKIDs (SubjectKeyIdentifier values, usually 20 bytes) for signature verification. */
  readonly euiccCiPKIdListForVerification: readonly Uint8Array[];
  /** CI PKIDs for signature creation. */
  readonly euiccCiPKIdListForSigning: readonly Uint8Array[];
}

export function encodeEUICCInfo1(x: EUICCInfo1): Uint8Array {
  return encodeTlv(EuiccInfoTag.EUICCInfo1, [
    encodeVersion(0x82, x.svn),
    encodePkidList(0xa9, x.euiccCiPKIdListForVerification),
    encodePkidList(0xaa, x.euiccCiPKIdListForSigning),
  ]);
}

export function decodeEUICCInfo1(input: Uint8Array | Tlv): EUICCInfo1 {
  const t = asTlv(input, EuiccInfoTag.EUICCInfo1, 'EUICCInfo1');
  const r = new TlvReader(t, 'EUICCInfo1');
  const svn = decodeVersion(r.req(0x82, 'svn'));
  const ver = decodePkidList(r.req(0xa9, 'euiccCiPKIdListForVerification'), 'EUICCInfo1.euiccCiPKIdListForVerification');
  const sig = decodePkidList(r.req(0xaa, 'euiccCiPKIdListForSigning'), 'EUICCInfo1.euiccCiPKIdListForSigning');
  endExtensible(r, [0x82, 0xa9, 0xaa]);
  return { svn, euiccCiPKIdListForVerification: ver, euiccCiPKIdListForSigning: sig };
}

// ------------------------------------------------------------------------------------------ EUICCInfo2

export interface CertificationDataObject {
  readonly platformLabel: string;
  readonly discoveryBaseURL: string;
}

export interface EUICCInfo2 {
  /** Base eUICC Profile Package (SAIP) version supported. */
  readonly profileVersion: string;
  readonly svn: string;
  readonly euiccFirmwareVer: string;
  /** ETSI TS 102 226 Extended Card Resource Information TLVs, raw (81 apps, 82 free NVM, 83 free RAM). */
  readonly extCardResource: Uint8Array;
  /** Set bits of UICCCapability (see {@link UICCCapability}). */
  readonly uiccCapability: readonly number[];
  readonly ts102241Version?: string;
  readonly globalplatformVersion?: string;
  /** Set bits of RspCapability (see {@link RspCapability}). */
  readonly rspCapability: readonly number[];
  readonly euiccCiPKIdListForVerification: readonly Uint8Array[];
  readonly euiccCiPKIdListForSigning: readonly Uint8Array[];
  /** See {@link EuiccCategoryValue}. */
  readonly euiccCategory?: number;
  /** Set bits of PprIds (pprUpdateControl(0), ppr1(1), ppr2(2)). */
  readonly forbiddenProfilePolicyRules?: readonly number[];
  /** Protection Profile version. */
  readonly ppVersion: string;
  /** UTF8String (SIZE(0..64)); the spelling is the ASN.1 one. */
  readonly sasAcreditationNumber: string;
  readonly certificationDataObject?: CertificationDataObject;
  /** Set bits of treProperties (see {@link TreProperties}). */
  readonly treProperties?: readonly number[];
  readonly treProductReference?: string;
  readonly additionalEuiccProfilePackageVersions?: readonly string[];
}

const EUICC_INFO2_TAGS = [
  0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0xa9, 0xaa, 0x8b, 0x99, 0x04, 0x0c, 0xac, 0x8d, 0x8e, 0xaf,
];

function decodeCertificationDataObject(t: Tlv): CertificationDataObject {
  const r = new TlvReader(t, 'CertificationDataObject');
  const platformLabel = decodeUtf8(r.req(0x80, 'platformLabel'));
  const discoveryBaseURL = decodeUtf8(r.req(0x81, 'discoveryBaseURL'));
  endExtensible(r, [0x80, 0x81]);
  return { platformLabel, discoveryBaseURL };
}

export function encodeEUICCInfo2(x: EUICCInfo2): Uint8Array {
  const parts: Uint8Array[] = [
    encodeVersion(0x81, x.profileVersion),
    encodeVersion(0x82, x.svn),
    encodeVersion(0x83, x.euiccFirmwareVer),
    encodeTlv(0x84, x.extCardResource),
    encodeBitString(0x85, x.uiccCapability),
  ];
  if (x.ts102241Version !== undefined) parts.push(encodeVersion(0x86, x.ts102241Version));
  if (x.globalplatformVersion !== undefined) parts.push(encodeVersion(0x87, x.globalplatformVersion));
  parts.push(
    encodeBitString(0x88, x.rspCapability),
    encodePkidList(0xa9, x.euiccCiPKIdListForVerification),
    encodePkidList(0xaa, x.euiccCiPKIdListForSigning),
  );
  if (x.euiccCategory !== undefined) parts.push(encodeInteger(0x8b, x.euiccCategory));
  if (x.forbiddenProfilePolicyRules !== undefined) parts.push(encodeBitString(0x99, x.forbiddenProfilePolicyRules));
  parts.push(encodeVersion(0x04, x.ppVersion));
  if ([...x.sasAcreditationNumber].length > 64) throw new RangeError('sasAcreditationNumber is longer than 64 characters');
  parts.push(encodeUtf8(0x0c, x.sasAcreditationNumber));
  if (x.certificationDataObject !== undefined) {
    parts.push(
      encodeTlv(0xac, [
        encodeUtf8(0x80, x.certificationDataObject.platformLabel),
        encodeUtf8(0x81, x.certificationDataObject.discoveryBaseURL),
      ]),
    );
  }
  if (x.treProperties !== undefined) parts.push(encodeBitString(0x8d, x.treProperties));
  if (x.treProductReference !== undefined) parts.push(encodeUtf8(0x8e, x.treProductReference));
  if (x.additionalEuiccProfilePackageVersions !== undefined) {
    parts.push(
      encodeTlv(
        0xaf,
        x.additionalEuiccProfilePackageVersions.map((v) => encodeTlv(0x04, versionContent(v))),
      ),
    );
  }
  return encodeTlv(EuiccInfoTag.EUICCInfo2, parts);
}

export function decodeEUICCInfo2(input: Uint8Array | Tlv): EUICCInfo2 {
  const t = asTlv(input, EuiccInfoTag.EUICCInfo2, 'EUICCInfo2');
  const r = new LenientReader(t, 'EUICCInfo2', EUICC_INFO2_TAGS);
  const profileVersion = decodeVersion(r.req(0x81, 'profileVersion'));
  const svn = decodeVersion(r.req(0x82, 'svn'));
  const euiccFirmwareVer = decodeVersion(r.req(0x83, 'euiccFirmwareVer'));
  const extCardResource = r.req(0x84, 'extCardResource').value;
  const uiccCapability = decodeBitString(r.req(0x85, 'uiccCapability'), false);
  const ts = r.opt(0x86);
  const gp = r.opt(0x87);
  const rspCapability = decodeBitString(r.req(0x88, 'rspCapability'), false);
  const ver = decodePkidList(r.req(0xa9, 'euiccCiPKIdListForVerification'), 'EUICCInfo2.euiccCiPKIdListForVerification');
  const sig = decodePkidList(r.req(0xaa, 'euiccCiPKIdListForSigning'), 'EUICCInfo2.euiccCiPKIdListForSigning');
  const cat = r.opt(0x8b);
  const fppr = r.opt(0x99);
  const ppVersion = decodeVersion(r.req(0x04, 'ppVersion'));
  const sasTlv = r.req(0x0c, 'sasAcreditationNumber');
  const sasAcreditationNumber = decodeUtf8(sasTlv);
  if ([...sasAcreditationNumber].length > 64) {
    throw new Asn1Error('bad-value', 'sasAcreditationNumber is longer than 64 characters', sasTlv.valueOffset);
  }
  const cdo = r.opt(0xac);
  const tre = r.opt(0x8d);
  const trePr = r.opt(0x8e);
  const addl = r.opt(0xaf);
  r.end();

  const out: {
    -readonly [K in keyof EUICCInfo2]: EUICCInfo2[K];
  } = {
    profileVersion,
    svn,
    euiccFirmwareVer,
    extCardResource,
    uiccCapability,
    rspCapability,
    euiccCiPKIdListForVerification: ver,
    euiccCiPKIdListForSigning: sig,
    ppVersion,
    sasAcreditationNumber,
  };
  if (ts) out.ts102241Version = decodeVersion(ts);
  if (gp) out.globalplatformVersion = decodeVersion(gp);
  if (cat) out.euiccCategory = decodeInteger(cat);
  if (fppr) out.forbiddenProfilePolicyRules = decodeBitString(fppr, false);
  if (cdo) out.certificationDataObject = decodeCertificationDataObject(cdo);
  if (tre) out.treProperties = decodeBitString(tre, false);
  if (trePr) out.treProductReference = decodeUtf8(trePr);
  if (addl) {
    out.additionalEuiccProfilePackageVersions = sequenceOf(addl, 0x04, 'additionalEuiccProfilePackageVersions').map(
      decodeVersion,
    );
  }
  return out;
}

// ------------------------------------------------------------------------------------------ DeviceInfo

/** A BIT STRING without named bits, kept as coded (unused-bit count + data bytes). */
export interface RawBitString {
  readonly unusedBits: number;
  readonly data: Uint8Array;
}

export interface DeviceAdditionalFeatureSupport {
  readonly naiSupport?: string;
}

/** Highest fully supported release per technology ("x.y.z"); every field optional. */
export interface DeviceCapabilities {
  readonly gsmSupportedRelease?: string;
  readonly utranSupportedRelease?: string;
  readonly cdma2000onexSupportedRelease?: string;
  readonly cdma2000hrpdSupportedRelease?: string;
  readonly cdma2000ehrpdSupportedRelease?: string;
  readonly eutranEpcSupportedRelease?: string;
  readonly contactlessSupportedRelease?: string;
  readonly rspCrlSupportedVersion?: string;
  readonly nrEpcSupportedRelease?: string;
  readonly nr5gcSupportedRelease?: string;
  readonly eutran5gcSupportedRelease?: string;
  readonly lpaSvn?: string;
  readonly catSupportedClasses?: RawBitString;
  readonly euiccFormFactorType?: number;
  readonly deviceAdditionalFeatureSupport?: DeviceAdditionalFeatureSupport;
}

/** The VersionType fields of DeviceCapabilities with their context tags 80..8B. */
export const DeviceCapabilitiesVersionFields = [
  ['gsmSupportedRelease', 0x80],
  ['utranSupportedRelease', 0x81],
  ['cdma2000onexSupportedRelease', 0x82],
  ['cdma2000hrpdSupportedRelease', 0x83],
  ['cdma2000ehrpdSupportedRelease', 0x84],
  ['eutranEpcSupportedRelease', 0x85],
  ['contactlessSupportedRelease', 0x86],
  ['rspCrlSupportedVersion', 0x87],
  ['nrEpcSupportedRelease', 0x88],
  ['nr5gcSupportedRelease', 0x89],
  ['eutran5gcSupportedRelease', 0x8a],
  ['lpaSvn', 0x8b],
] as const satisfies ReadonlyArray<readonly [keyof DeviceCapabilities, number]>;

type VersionField = (typeof DeviceCapabilitiesVersionFields)[number][0];

export interface DeviceInfo {
  /** Type Allocation Code, 4 bytes. */
  readonly tac: Uint8Array;
  readonly deviceCapabilities: DeviceCapabilities;
  /** IMEI, 8 bytes (digit coding UNCONFIRMED, see SGP22-NOTES §2.2). */
  readonly imei?: Uint8Array;
}

export function encodeDeviceCapabilities(x: DeviceCapabilities, tag: number = EuiccInfoTag.DeviceCapabilities): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, t] of DeviceCapabilitiesVersionFields) {
    const v = x[name];
    if (v !== undefined) parts.push(encodeVersion(t, v));
  }
  if (x.catSupportedClasses !== undefined) {
    const { unusedBits, data } = x.catSupportedClasses;
    if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (data.length === 0 && unusedBits !== 0)) {
      throw new RangeError('catSupportedClasses: bad unused-bit count');
    }
    parts.push(encodeTlv(0x8c, [Uint8Array.of(unusedBits), data]));
  }
  if (x.euiccFormFactorType !== undefined) parts.push(encodeInteger(0x8d, x.euiccFormFactorType));
  if (x.deviceAdditionalFeatureSupport !== undefined) {
    const f = x.deviceAdditionalFeatureSupport;
    parts.push(encodeTlv(0xae, f.naiSupport !== undefined ? [encodeVersion(0x80, f.naiSupport)] : []));
  }
  return encodeTlv(tag, parts);
}

export function decodeDeviceCapabilities(
  input: Uint8Array | Tlv,
  tag: number = EuiccInfoTag.DeviceCapabilities,
): DeviceCapabilities {
  const t = asTlv(input, tag, 'DeviceCapabilities');
  const r = new TlvReader(t, 'DeviceCapabilities');
  const out: { -readonly [K in keyof DeviceCapabilities]: DeviceCapabilities[K] } = {};
  for (const [name, vt] of DeviceCapabilitiesVersionFields) {
    const c = r.opt(vt);
    if (c) out[name as VersionField] = decodeVersion(c);
  }
  const cat = r.opt(0x8c);
  if (cat) {
    const { unusedBits, data } = decodeRawBitString(cat);
    out.catSupportedClasses = { unusedBits, data };
  }
  const ff = r.opt(0x8d);
  if (ff) out.euiccFormFactorType = decodeInteger(ff);
  const add = r.opt(0xae);
  if (add) {
    const ar = new TlvReader(add, 'DeviceAdditionalFeatureSupport');
    const nai = ar.opt(0x80);
    endExtensible(ar, [0x80]);
    out.deviceAdditionalFeatureSupport = nai ? { naiSupport: decodeVersion(nai) } : {};
  }
  endExtensible(r, [...DeviceCapabilitiesVersionFields.map((f) => f[1]), 0x8c, 0x8d, 0xae]);
  return out;
}

/**
 * DeviceInfo is an untagged SEQUENCE type: give the tag it has where it is used (`A1` inside
 * CtxParamsForCommonAuthentication, the default; `30` standalone).
 */
export function encodeDeviceInfo(x: DeviceInfo, tag: number = EuiccInfoTag.DeviceInfoInCtxParams): Uint8Array {
  const parts = [encodeTlv(0x80, checkSize(x.tac, 4, 4, 'DeviceInfo.tac')), encodeDeviceCapabilities(x.deviceCapabilities)];
  if (x.imei !== undefined) parts.push(encodeTlv(0x82, checkSize(x.imei, 8, 8, 'DeviceInfo.imei')));
  return encodeTlv(tag, parts);
}

export function decodeDeviceInfo(input: Uint8Array | Tlv, tag: number = EuiccInfoTag.DeviceInfoInCtxParams): DeviceInfo {
  const t = asTlv(input, tag, 'DeviceInfo');
  const r = new TlvReader(t, 'DeviceInfo');
  const tac = expectLength(r.req(0x80, 'tac'), 4, 4, 'DeviceInfo.tac');
  const deviceCapabilities = decodeDeviceCapabilities(r.req(0xa1, 'deviceCapabilities'));
  const imei = r.opt(0x82);
  endExtensible(r, [0x80, 0xa1, 0x82]);
  return imei ? { tac, deviceCapabilities, imei: expectLength(imei, 8, 8, 'DeviceInfo.imei') } : { tac, deviceCapabilities };
}

export const FUZZ_DECODERS_EUICC_INFO: ReadonlyArray<{ name: string; decode: (b: Uint8Array) => unknown }> = [
  { name: 'GetEuiccInfo1Request', decode: decodeGetEuiccInfo1Request },
  { name: 'EUICCInfo1', decode: decodeEUICCInfo1 },
  { name: 'GetEuiccInfo2Request', decode: decodeGetEuiccInfo2Request },
  { name: 'EUICCInfo2', decode: decodeEUICCInfo2 },
  { name: 'GetEuiccChallengeRequest', decode: decodeGetEuiccChallengeRequest },
  { name: 'GetEuiccChallengeResponse', decode: decodeGetEuiccChallengeResponse },
  { name: 'DeviceInfo', decode: (b) => decodeDeviceInfo(b) },
  { name: 'DeviceInfo(30)', decode: (b) => decodeDeviceInfo(b, 0x30) },
  { name: 'DeviceCapabilities', decode: (b) => decodeDeviceCapabilities(b) },
];
