/**
 * SAIP — the TCA (ex-SIMalliance) eUICC Profile Package ("UPP"), ASN.1 module PEDefinitions
 * (reference copy: asn1/PEDefinitions.asn, module version-three, AUTOMATIC TAGS, EXTENSIBILITY IMPLIED).
 *
 * A UPP is a plain concatenation of DER `ProfileElement` TLVs (no outer SEQUENCE). `ProfileElement` is a
 * CHOICE with automatic tags, so the context tag number of each element is its alternative:
 * header [0] = A0, genericFileManagement [1] = A1, pinCodes A2, pukCodes A3, akaParameter A4, ..., end [10] = AA,
 * mf [16] = B0, usim [19] = B3, ..., df-5gprose [31] = BF1F, iot BF20, opt-iot BF21.
 *
 * - {@link decodeProfilePackage} splits a UPP into named elements (raw bytes kept; unknown tags kept as
 *   `name: 'unknown'`) and decodes the ProfileHeader. Semantic faults (no header first, no end last, ...)
 *   are {@link SaipError}; codec faults are {@link Asn1Error}. Nothing else escapes for any input.
 * - {@link decodeProfileHeader}: note that the ProfileHeader `iccid` is stored digit-for-digit (plain BCD,
 *   `89 49 44 ...`), NOT in the nibble-swapped EF.ICCID coding (reference README, TS.48 table).
 * - {@link decodeTemplateElement} / {@link validateTemplateElement}: the template-based file-system PEs
 *   (PEHeader, templateID, File fields) with field names and order for PE-MF and PE-USIM.
 * - {@link buildProfilePackage}: a small, structurally valid UPP of our own (header, MF, PUK/PIN codes, USIM,
 *   USIM PIN, AKA parameters, optional padding file, end), modelled at a smaller scale on the shape of the
 *   GSMA TS.48 test profiles. It never depends on shared data (benchmarks use it).
 */
import { Asn1Error, decodeTlvs, encodeTlv, readTlv, tagHex, type Tlv } from './tlv.js';
import {
  decodeInteger,
  decodeNull,
  decodeOid,
  decodeUtf8,
  encodeInteger,
  encodeOid,
  encodeUtf8,
  expectLength,
  expectTag,
  TlvReader,
} from './der.js';
import { concatBytes } from '../util/hex.js';
import { encodeIccid } from '../util/bcd.js';

// ------------------------------------------------------------------------------------------------- errors

export type SaipErrorCode =
  | 'empty' // no profile element at all
  | 'no-header' // the first element is not a ProfileHeader
  | 'duplicate-header' // a second ProfileHeader
  | 'no-end' // the last element is not PE-End
  | 'after-end' // elements after PE-End
  | 'bad-iccid' // ICCID digits not decimal / wrong length
  | 'bad-input'; // builder input out of range

/** Semantic fault in a profile package (the bytes decode, but are not a valid UPP). */
export class SaipError extends Error {
  override readonly name = 'SaipError';
  constructor(
    readonly code: SaipErrorCode,
    message: string,
    /** Byte offset of the offending element (-1 when not applicable). */
    readonly offset = -1,
  ) {
    super(offset >= 0 ? `${message} (at offset ${offset})` : message);
  }
}

// ----------------------------------------------------------------------------------------- element names

/** ProfileElement alternatives in PEDefinitions order (index = context tag number). */
export const PROFILE_ELEMENT_NAMES = [
  'header',
  'genericFileManagement',
  'pinCodes',
  'pukCodes',
  'akaParameter',
  'cdmaParameter',
  'securityDomain',
  'rfm',
  'application',
  'nonStandard',
  'end',
  'rfu1',
  'rfu2',
  'rfu3',
  'rfu4',
  'rfu5',
  'mf',
  'cd',
  'telecom',
  'usim',
  'opt-usim',
  'isim',
  'opt-isim',
  'phonebook',
  'gsm-access',
  'csim',
  'opt-csim',
  'eap',
  'df-5gs',
  'df-saip',
  'df-snpn',
  'df-5gprose',
  'iot',
  'opt-iot',
] as const;

export type ProfileElementName = (typeof PROFILE_ELEMENT_NAMES)[number];

/** Tag integer of a constructed context-specific tag number (A0.., BF1F, BF20 ...). */
function contextConstructedTag(n: number): number {
  return n < 31 ? 0xa0 + n : n < 128 ? 0xbf00 + n : 0xbf0000 + ((0x80 | (n >> 7)) << 8) + (n & 0x7f);
}

const TAG_TO_NAME = new Map<number, ProfileElementName>(
  PROFILE_ELEMENT_NAMES.map((name, i) => [contextConstructedTag(i), name]),
);

/** Tag of a ProfileElement alternative, e.g. peTag('mf') = 0xB0. */
export function peTag(name: ProfileElementName): number {
  return contextConstructedTag(PROFILE_ELEMENT_NAMES.indexOf(name));
}

/** PEHeader ::= SEQUENCE { mandated NULL OPTIONAL, identification UInt15 } */
export interface PeHeader {
  readonly mandated: boolean;
  readonly identification: number;
}

export interface KnownProfileElement {
  readonly name: ProfileElementName;
  readonly tag: number;
  /** Exact received bytes of the element. */
  readonly raw: Uint8Array;
  readonly tlv: Tlv;
  /** The element's PEHeader (absent for `header` and the PE-Dummy rfu alternatives). */
  readonly peHeader: PeHeader | undefined;
}

export interface UnknownProfileElement {
  readonly name: 'unknown';
  readonly tag: number;
  readonly raw: Uint8Array;
  readonly tlv: Tlv;
}

export type ProfileElement = KnownProfileElement | UnknownProfileElement;

// ----------------------------------------------------------------------------------------- ProfileHeader

/** ServicesList components in order (tag 80 + index, all NULL OPTIONAL). */
export const SAIP_SERVICE_NAMES = [
  'contactless',
  'usim',
  'isim',
  'csim',
  'milenage',
  'tuak128',
  'cave',
  'gba-usim',
  'gba-isim',
  'mbms',
  'eap',
  'javacard',
  'multos',
  'multiple-usim',
  'multiple-isim',
  'multiple-csim',
  'tuak256',
  'usim-test-algorithm',
  'ber-tlv',
  'dfLink',
  'cat-tp',
  'get-identity',
  'profile-a-x25519',
  'profile-b-p256',
  'suciCalculatorApi',
  'dns-resolution',
  'scp11ac',
  'scp11c-authorization-mechanism',
  's16mode',
  'eaka',
] as const;

export type SaipServiceName = (typeof SAIP_SERVICE_NAMES)[number];

export interface ProfileHeader {
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly profileType: string | undefined;
  /** ICCID digits (plain BCD as stored in the PE header, trailing F padding removed). */
  readonly iccid: string;
  /** The 10 `iccid` bytes exactly as stored (digit-for-digit, not nibble-swapped). */
  readonly iccidBytes: Uint8Array;
  readonly pol: Uint8Array | undefined;
  /** Names of the services present in eUICC-Mandatory-services, in order. */
  readonly mandatoryServices: SaipServiceName[];
  /** Context tag numbers of ServicesList extensions this module does not know. */
  readonly unknownServices: number[];
  /** eUICC-Mandatory-GFSTEList: template OIDs (dotted). */
  readonly mandatoryGfsteList: string[];
  readonly connectivityParameters: Uint8Array | undefined;
  readonly mandatoryAids: { readonly aid: Uint8Array; readonly version: Uint8Array }[] | undefined;
  readonly iotOptions: { readonly pix: Uint8Array } | undefined;
  readonly raw: Uint8Array;
}

function uint(t: Tlv, max: number, what: string): number {
  const n = decodeInteger(t);
  if (n < 0 || n > max) throw new Asn1Error('bad-value', `${what} ${n} out of range 0..${max}`, t.valueOffset);
  return n;
}

function plainBcdDigits(t: Tlv): string {
  let s = '';
  for (const b of t.value) s += (b >> 4).toString(16) + (b & 0x0f).toString(16);
  s = s.replace(/f+$/, '');
  if (!/^[0-9]+$/.test(s)) {
    throw new Asn1Error('bad-value', 'ProfileHeader iccid is not decimal BCD (F padding at the end only)', t.valueOffset);
  }
  return s;
}

/** Decode a ProfileHeader (tag A0) from its bytes or an already decoded TLV. */
export function decodeProfileHeader(input: Uint8Array | Tlv): ProfileHeader {
  const t = input instanceof Uint8Array ? readSingle(input) : input;
  expectTag(t, 0xa0, 'ProfileHeader');
  const r = new TlvReader(t, 'ProfileHeader');
  const majorVersion = uint(r.req(0x80, 'major-version'), 255, 'major-version');
  const minorVersion = uint(r.req(0x81, 'minor-version'), 255, 'minor-version');
  const pt = r.opt(0x82);
  let profileType: string | undefined;
  if (pt) {
    profileType = decodeUtf8(pt);
    if (profileType.length < 1 || profileType.length > 100) {
      throw new Asn1Error('bad-value', 'profileType must be 1..100 characters', pt.valueOffset);
    }
  }
  const ic = r.req(0x83, 'iccid');
  const iccidBytes = expectLength(ic, 10, 10, 'ProfileHeader iccid');
  const iccid = plainBcdDigits(ic);
  const pol = r.opt(0x84)?.value;
  const svc = r.req(0xa5, 'eUICC-Mandatory-services');
  const mandatoryServices: SaipServiceName[] = [];
  const unknownServices: number[] = [];
  let last = -1;
  for (const c of svc.children) {
    if (c.tag >= 0x80 && c.tag <= 0x9e) {
      const n = c.tag - 0x80;
      if (n <= last) throw new Asn1Error('unexpected-tag', 'ServicesList components out of order', c.offset);
      last = n;
      decodeNull(c);
      const name = SAIP_SERVICE_NAMES[n];
      if (name) mandatoryServices.push(name);
      else unknownServices.push(n);
    } else if ((firstTagByte(c.tag) & 0xc0) === 0x80) {
      // a context-specific extension this module does not know (EXTENSIBILITY IMPLIED)
      unknownServices.push(c.tag);
    } else {
      throw new Asn1Error('unexpected-tag', `ServicesList: unexpected ${tagHex(c.tag)}`, c.offset);
    }
  }
  const gl = r.req(0xa6, 'eUICC-Mandatory-GFSTEList');
  const mandatoryGfsteList = gl.children.map((c) => decodeOid(expectTag(c, 0x06, 'GFSTEList entry')));
  const connectivityParameters = r.opt(0x87)?.value;
  const aidsT = r.opt(0xa8);
  let mandatoryAids: { aid: Uint8Array; version: Uint8Array }[] | undefined;
  if (aidsT) {
    mandatoryAids = aidsT.children.map((s) => {
      const sr = new TlvReader(expectTag(s, 0x30, 'eUICC-Mandatory-AIDs entry'), 'eUICC-Mandatory-AIDs entry');
      const aid = expectLength(sr.req(0x80, 'aid'), 5, 16, 'aid');
      const version = expectLength(sr.req(0x81, 'version'), 2, 2, 'version');
      sr.end(true);
      return { aid, version };
    });
  }
  const iotT = r.opt(0xa9);
  let iotOptions: { pix: Uint8Array } | undefined;
  if (iotT) {
    const ir = new TlvReader(iotT, 'IotOptions');
    iotOptions = { pix: expectLength(ir.req(0x80, 'pix'), 7, 11, 'pix') };
    ir.end(true);
  }
  r.end(true); // EXTENSIBILITY IMPLIED
  return {
    majorVersion,
    minorVersion,
    profileType,
    iccid,
    iccidBytes,
    pol,
    mandatoryServices,
    unknownServices,
    mandatoryGfsteList,
    connectivityParameters,
    mandatoryAids,
    iotOptions,
    raw: t.raw,
  };
}

function firstTagByte(tag: number): number {
  return tag > 0xffff ? tag >> 16 : tag > 0xff ? tag >> 8 : tag;
}

function readSingle(input: Uint8Array): Tlv {
  const els = decodeTlvs(input);
  if (els.length !== 1) {
    if (els.length === 0) throw new Asn1Error('missing-element', 'no TLV in input', 0);
    throw new Asn1Error('trailing-bytes', 'more than one TLV', els[1]!.offset);
  }
  return els[0]!;
}

// ------------------------------------------------------------------------------------------- PEHeader

export function decodePeHeader(t: Tlv): PeHeader {
  expectTag(t, 0xa0, 'PEHeader');
  const r = new TlvReader(t, 'PEHeader');
  const m = r.opt(0x80);
  if (m) decodeNull(m);
  const identification = uint(r.req(0x81, 'identification'), 32767, 'identification');
  r.end(true);
  return { mandated: m !== undefined, identification };
}

function encodePeHeader(id: number, mandated = true): Uint8Array {
  return encodeTlv(0xa0, [mandated ? encodeTlv(0x80) : new Uint8Array(0), encodeInteger(0x81, id)]);
}

// --------------------------------------------------------------------------------------------- package

export interface ProfilePackage {
  readonly header: ProfileHeader;
  readonly elements: ProfileElement[];
}

export interface DecodePackageOptions {
  /** Require PE-End as the last element (default true). False for partial packages. */
  readonly requireEnd?: boolean;
}

function toElement(t: Tlv): ProfileElement {
  const name = TAG_TO_NAME.get(t.tag);
  if (!name) return { name: 'unknown', tag: t.tag, raw: t.raw, tlv: t };
  let peHeader: PeHeader | undefined;
  if (name !== 'header' && !name.startsWith('rfu')) {
    const first = t.children[0];
    if (!first) throw new Asn1Error('missing-element', `PE ${name}: PEHeader missing`, t.valueOffset);
    peHeader = decodePeHeader(first);
  }
  return { name, tag: t.tag, raw: t.raw, tlv: t, peHeader };
}

/** Split a UPP into its ProfileElements and decode the ProfileHeader. */
export function decodeProfilePackage(upp: Uint8Array, options?: DecodePackageOptions): ProfilePackage {
  const tlvs = decodeTlvs(upp);
  if (tlvs.length === 0) throw new SaipError('empty', 'profile package holds no element', 0);
  const first = tlvs[0]!;
  if (first.tag !== 0xa0) {
    throw new SaipError('no-header', `first element is ${tagHex(first.tag)}, not the ProfileHeader (A0)`, first.offset);
  }
  const elements = tlvs.map(toElement);
  const header = decodeProfileHeader(first);
  const requireEnd = options?.requireEnd ?? true;
  for (let i = 1; i < elements.length; i++) {
    const e = elements[i]!;
    if (e.name === 'header') throw new SaipError('duplicate-header', 'second ProfileHeader', e.tlv.offset);
    if (e.name === 'end' && i !== elements.length - 1) {
      throw new SaipError('after-end', 'elements follow PE-End', elements[i + 1]!.tlv.offset);
    }
  }
  if (requireEnd && elements[elements.length - 1]!.name !== 'end') {
    throw new SaipError('no-end', 'the last element is not PE-End', elements[elements.length - 1]!.tlv.offset);
  }
  return { header, elements };
}

/** The ICCID (digits) from the ProfileHeader, reading only the first element. */
export function iccidFromPackage(upp: Uint8Array): string {
  if (upp.length === 0) throw new SaipError('empty', 'profile package holds no element', 0);
  const { tlv } = readTlv(upp, 0);
  if (tlv.tag !== 0xa0) {
    throw new SaipError('no-header', `first element is ${tagHex(tlv.tag)}, not the ProfileHeader (A0)`, 0);
  }
  return decodeProfileHeader(tlv).iccid;
}

// ---------------------------------------------------------------------------- template PEs: File and Fcp

/** ProprietaryInfo (Fcp [5]). */
export interface ProprietaryInfo {
  readonly specialFileInformation: Uint8Array | undefined;
  readonly fillPattern: Uint8Array | undefined;
  readonly repeatPattern: Uint8Array | undefined;
  readonly maximumFileSize: Uint8Array | undefined;
  readonly fileDetails: Uint8Array | undefined;
}

/** Fcp: the file control parameters (ETSI TS 102 222 coding inside). */
export interface Fcp {
  readonly fileDescriptor: Uint8Array | undefined;
  readonly fileId: Uint8Array | undefined;
  readonly dfName: Uint8Array | undefined;
  readonly lcsi: Uint8Array | undefined;
  readonly securityAttributesReferenced: Uint8Array | undefined;
  readonly efFileSize: Uint8Array | undefined;
  readonly pinStatusTemplateDO: Uint8Array | undefined;
  readonly shortEfid: Uint8Array | undefined;
  readonly proprietaryEfInfo: ProprietaryInfo | undefined;
  readonly linkPath: Uint8Array | undefined;
}

export type FileItem =
  | { readonly kind: 'doNotCreate' }
  | { readonly kind: 'fcp'; readonly fcp: Fcp }
  | { readonly kind: 'fillFileOffset'; readonly offset: number }
  | { readonly kind: 'fillFileContent'; readonly content: Uint8Array };

function decodeProprietaryInfo(t: Tlv): ProprietaryInfo {
  const r = new TlvReader(t, 'ProprietaryInfo');
  const sfi = r.opt(0xc0);
  const out: ProprietaryInfo = {
    specialFileInformation: sfi && expectLength(sfi, 1, 1, 'specialFileInformation'),
    fillPattern: r.opt(0xc1)?.value,
    repeatPattern: r.opt(0xc2)?.value,
    maximumFileSize: r.opt(0x86)?.value,
    fileDetails: r.opt(0x84)?.value,
  };
  r.end(true);
  return out;
}

/** Decode an Fcp SEQUENCE (tag as given by the context: A1 in File, 62 in FileManagement). */
export function decodeFcp(t: Tlv): Fcp {
  const r = new TlvReader(t, 'Fcp');
  const fileDescriptor = r.opt(0x82);
  if (fileDescriptor) expectLength(fileDescriptor, 2, 4, 'fileDescriptor');
  const fileId = r.opt(0x83);
  if (fileId) expectLength(fileId, 2, 2, 'fileID');
  const dfName = r.opt(0x84);
  if (dfName) expectLength(dfName, 5, 16, 'dfName');
  const lcsi = r.opt(0x8a);
  if (lcsi) expectLength(lcsi, 1, 1, 'lcsi');
  const sar = r.opt(0x8b);
  if (sar) expectLength(sar, 1, 3, 'securityAttributesReferenced');
  const efFileSize = r.opt(0x80)?.value;
  const pinStatusTemplateDO = r.opt(0xc6)?.value;
  const shortEfid = r.opt(0x88);
  if (shortEfid) expectLength(shortEfid, 0, 1, 'shortEFID');
  const pi = r.opt(0xa5);
  const linkPath = r.opt(0xc7);
  if (linkPath) expectLength(linkPath, 0, 8, 'linkPath');
  r.end(true);
  return {
    fileDescriptor: fileDescriptor?.value,
    fileId: fileId?.value,
    dfName: dfName?.value,
    lcsi: lcsi?.value,
    securityAttributesReferenced: sar?.value,
    efFileSize,
    pinStatusTemplateDO,
    shortEfid: shortEfid?.value,
    proprietaryEfInfo: pi ? decodeProprietaryInfo(pi) : undefined,
    linkPath: linkPath?.value,
  };
}

/** Decode a `File` (SEQUENCE OF CHOICE { doNotCreate 80, fileDescriptor A1, fillFileOffset 82, fillFileContent 83 }). */
export function decodeFile(t: Tlv): FileItem[] {
  if (!t.constructed) throw new Asn1Error('bad-value', `File ${tagHex(t.tag)} must be constructed`, t.offset);
  return t.children.map((c): FileItem => {
    switch (c.tag) {
      case 0x80:
        decodeNull(c);
        return { kind: 'doNotCreate' };
      case 0xa1:
        return { kind: 'fcp', fcp: decodeFcp(c) };
      case 0x82:
        return { kind: 'fillFileOffset', offset: uint(c, 65535, 'fillFileOffset') };
      case 0x83:
        return { kind: 'fillFileContent', content: c.value };
      default:
        throw new Asn1Error('unexpected-tag', `File: unexpected ${tagHex(c.tag)}`, c.offset);
    }
  });
}

/** Field lists (name, optional) of the template PEs this module names; index = context tag number. */
const TEMPLATE_FIELDS: Partial<Record<ProfileElementName, readonly (readonly [string, boolean])[]>> = {
  mf: [
    ['mf-header', false],
    ['templateID', false],
    ['mf', false],
    ['ef-pl', true],
    ['ef-iccid', false],
    ['ef-dir', false],
    ['ef-arr', false],
    ['ef-umpc', true],
  ],
  usim: [
    ['usim-header', false],
    ['templateID', false],
    ['adf-usim', false],
    ['ef-imsi', false],
    ['ef-arr', false],
    ['ef-keys', true],
    ['ef-keysPS', true],
    ['ef-hpplmn', true],
    ['ef-ust', false],
    ['ef-fdn', true],
    ['ef-sms', true],
    ['ef-smsp', true],
    ['ef-smss', true],
    ['ef-spn', false],
    ['ef-est', false],
    ['ef-start-hfn', true],
    ['ef-threshold', true],
    ['ef-psloci', true],
    ['ef-acc', false],
    ['ef-fplmn', true],
    ['ef-loci', true],
    ['ef-ad', true],
    ['ef-ecc', false],
    ['ef-netpar', true],
    ['ef-epsloci', true],
    ['ef-epsnsc', true],
  ],
};

/** Field names of PE-MF / PE-USIM in ASN.1 order (for tests and tools). */
export function templateFieldNames(name: 'mf' | 'usim'): string[] {
  return TEMPLATE_FIELDS[name]!.map(([n]) => n);
}

export interface TemplateFile {
  /** Context tag of the field (A2, A3, ...). */
  readonly tag: number;
  /** Field name for PE-MF / PE-USIM, else `field<n>`. */
  readonly field: string;
  readonly items: FileItem[];
}

export interface TemplateElement {
  readonly name: ProfileElementName;
  readonly peHeader: PeHeader;
  readonly templateId: string;
  readonly files: TemplateFile[];
}

function fieldName(pe: ProfileElementName, n: number): string {
  return TEMPLATE_FIELDS[pe]?.[n]?.[0] ?? `field${n}`;
}

/**
 * Decode a template-based file-system PE (mf, cd, telecom, usim, ...): PEHeader [0], templateID [1] OID,
 * then File fields [2].. in order.
 */
export function decodeTemplateElement(el: ProfileElement): TemplateElement {
  if (el.name === 'unknown' || PROFILE_ELEMENT_NAMES.indexOf(el.name) < 16) {
    throw new SaipError('bad-input', `element ${el.name} is not a template-based file-system PE`, el.tlv.offset);
  }
  const r = new TlvReader(el.tlv, `PE ${el.name}`);
  const peHeader = decodePeHeader(r.req(0xa0, 'header'));
  const templateId = decodeOid(r.req(0x81, 'templateID'));
  const files: TemplateFile[] = [];
  let last = 1;
  for (const c of r.rest()) {
    const n = c.tag - 0xa0;
    if (c.tag < 0xa2 || c.tag > 0xbe) {
      // tag numbers >= 31 use two-byte tags
      if (c.tag >= 0xbf1f && c.tag <= 0xbf7f) {
        const m = c.tag - 0xbf00;
        if (m <= last) throw new Asn1Error('unexpected-tag', `PE ${el.name}: fields out of order`, c.offset);
        last = m;
        files.push({ tag: c.tag, field: fieldName(el.name, m), items: decodeFile(c) });
        continue;
      }
      throw new Asn1Error('unexpected-tag', `PE ${el.name}: unexpected ${tagHex(c.tag)}`, c.offset);
    }
    if (n <= last) throw new Asn1Error('unexpected-tag', `PE ${el.name}: fields out of order`, c.offset);
    last = n;
    files.push({ tag: c.tag, field: fieldName(el.name, n), items: decodeFile(c) });
  }
  return { name: el.name, peHeader, templateId, files };
}

/**
 * Check a PE-MF / PE-USIM against its ASN.1 field list: every field a known one, in order, every
 * mandatory field present. Returns the list of problems (empty = valid).
 */
export function validateTemplateElement(el: ProfileElement): string[] {
  if (el.name !== 'mf' && el.name !== 'usim') return [`no field list for ${el.name}`];
  const fields = TEMPLATE_FIELDS[el.name]!;
  const problems: string[] = [];
  let te: TemplateElement;
  try {
    te = decodeTemplateElement(el);
  } catch (e) {
    return [e instanceof Error ? e.message : String(e)];
  }
  const present = new Set(te.files.map((f) => f.tag - 0xa0));
  for (const f of te.files) {
    const n = f.tag - 0xa0;
    if (n >= fields.length) problems.push(`unknown field ${tagHex(f.tag)}`);
    if (f.items.length === 0) problems.push(`${f.field}: empty File`);
  }
  fields.forEach(([name, optional], n) => {
    if (n >= 2 && !optional && !present.has(n)) problems.push(`mandatory ${name} missing`);
  });
  return problems;
}

// --------------------------------------------------------------------------------------------- builder

/** Template OIDs (TCA templates as used by the TS.48 profiles). */
export const TEMPLATE_OID = {
  mf: '2.23.143.1.2.1',
  usim: '2.23.143.1.2.4',
} as const;

export interface BuildProfileOptions {
  /** ICCID, 18-20 digits. */
  readonly iccid: string;
  readonly profileType?: string;
  /** IMSI, 6-15 digits (default 001010123456789, test PLMN 001-01). */
  readonly imsi?: string;
  /** Number of MNC digits (EF.AD), 2 or 3 (default 2). */
  readonly mncLength?: 2 | 3;
  /** Service provider name for EF.SPN (default "esimkit"), at most 16 ASCII characters. */
  readonly spn?: string;
  /** USIM AID (default A0000000871002FF49FF0589, the USIM AID of the TS.48 profiles). */
  readonly usimAid?: Uint8Array;
  /** SAIP version in the header (default 2.3). */
  readonly version?: { readonly major: number; readonly minor: number };
  /** PIN1 / PUK1 / ADM1 as digit strings (defaults 0000 / 12345678 / 88888888). */
  readonly pin1?: string;
  readonly puk1?: string;
  readonly adm1?: string;
  /** Milenage K and OPc (16 bytes each; defaults 00 01 .. 0f and all zero). */
  readonly k?: Uint8Array;
  readonly opc?: Uint8Array;
  /**
   * Pad the package to exactly this many bytes (or the nearest larger size the length encodings allow)
   * with a transparent EF under the MF, created by a genericFileManagement PE.
   */
  readonly padToSize?: number;
}

const DEFAULT_USIM_AID = Uint8Array.of(0xa0, 0, 0, 0, 0x87, 0x10, 0x02, 0xff, 0x49, 0xff, 0x05, 0x89);
const PAD_FILE_ID = 0x2f80;

function hexBytes(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function sizeBytes(n: number): Uint8Array {
  return n < 256 ? Uint8Array.of(n) : Uint8Array.of(n >> 8, n & 0xff);
}

/** File field: [A1 Fcp] + fill contents (each 83, with 82 offsets in between when given). */
function file(tag: number, fcp: Uint8Array[] | null, ...contents: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  if (fcp) parts.push(encodeTlv(0xa1, fcp));
  for (const c of contents) parts.push(encodeTlv(0x83, c));
  return encodeTlv(tag, parts);
}

/** Fcp components in ASN.1 order. */
function fcp(f: {
  descriptor?: string;
  fid?: number;
  dfName?: Uint8Array;
  sar?: string;
  size?: number;
  pinStatus?: string;
  sfi?: 'none';
  proprietary?: Uint8Array[];
}): Uint8Array[] {
  const p: Uint8Array[] = [];
  if (f.descriptor) p.push(encodeTlv(0x82, hexBytes(f.descriptor)));
  if (f.fid !== undefined) p.push(encodeTlv(0x83, Uint8Array.of(f.fid >> 8, f.fid & 0xff)));
  if (f.dfName) p.push(encodeTlv(0x84, f.dfName));
  if (f.sar) p.push(encodeTlv(0x8b, hexBytes(f.sar)));
  if (f.size !== undefined) p.push(encodeTlv(0x80, sizeBytes(f.size)));
  if (f.pinStatus) p.push(encodeTlv(0xc6, hexBytes(f.pinStatus)));
  if (f.sfi === 'none') p.push(encodeTlv(0x88));
  if (f.proprietary) p.push(encodeTlv(0xa5, f.proprietary));
  return p;
}

/** ARR record: pad to the record length with FF. */
function records(recordLength: number, recs: string[]): Uint8Array {
  const out = new Uint8Array(recordLength * recs.length).fill(0xff);
  recs.forEach((r, i) => {
    const b = hexBytes(r);
    if (b.length > recordLength) throw new RangeError('ARR record too long');
    out.set(b, i * recordLength);
  });
  return out;
}

// Access rule building blocks (ISO 7816-4 AM_DO 80 / SC_DO): "always", "PIN1", "ADM1".
const SC_ALWAYS = '9000';
const SC_PIN1 = 'a406830101950108'; // CRT: key reference 01 (PIN1), usage qualifier 08
const SC_ADM1 = 'a40683010a950108'; // CRT: key reference 0A (ADM1), usage qualifier 08
const am = (mode: number, sc: string): string => `8001${mode.toString(16).padStart(2, '0')}${sc}`;

/** EF.IMSI content: length byte, then parity/type nibble and digits nibble-swapped, F padded. */
export function encodeImsi(imsi: string): Uint8Array {
  if (!/^[0-9]{6,15}$/.test(imsi)) throw new SaipError('bad-input', `IMSI must be 6..15 digits, got ${JSON.stringify(imsi)}`);
  const nibbles = [imsi.length % 2 ? 9 : 1, ...[...imsi].map(Number)];
  if (nibbles.length % 2) nibbles.push(15);
  const out = new Uint8Array(9).fill(0xff);
  out[0] = nibbles.length / 2;
  for (let i = 0; i < nibbles.length / 2; i++) out[1 + i] = (nibbles[2 * i + 1]! << 4) | nibbles[2 * i]!;
  return out;
}

function pinValue(digits: string, what: string): Uint8Array {
  if (!/^[0-9]{4,8}$/.test(digits)) throw new SaipError('bad-input', `${what} must be 4..8 digits`);
  const out = new Uint8Array(8).fill(0xff);
  for (let i = 0; i < digits.length; i++) out[i] = digits.charCodeAt(i);
  return out;
}

function buildElements(o: BuildProfileOptions, padLength: number): Uint8Array {
  let iccidSwapped: Uint8Array;
  try {
    iccidSwapped = encodeIccid(o.iccid);
  } catch {
    throw new SaipError('bad-iccid', `ICCID must be 18..20 decimal digits, got ${JSON.stringify(o.iccid)}`);
  }
  const digits = o.iccid.replace(/[fF]$/, '');
  const iccidPlain = hexBytes(digits.padEnd(20, 'f'));
  const imsi = o.imsi ?? '001010123456789';
  const aid = o.usimAid ?? DEFAULT_USIM_AID;
  if (aid.length < 5 || aid.length > 16) throw new SaipError('bad-input', 'USIM AID must be 5..16 bytes');
  const version = o.version ?? { major: 2, minor: 3 };
  const spn = o.spn ?? 'esimkit';
  if (!/^[\x20-\x7e]{0,16}$/.test(spn)) throw new SaipError('bad-input', 'SPN must be at most 16 printable ASCII characters');
  const k = o.k ?? Uint8Array.from({ length: 16 }, (_, i) => i);
  const opc = o.opc ?? new Uint8Array(16);
  if (k.length !== 16 || opc.length !== 16) throw new SaipError('bad-input', 'K and OPc must be 16 bytes');
  const mncLength = o.mncLength ?? 2;
  let id = 1;

  // -- ProfileHeader
  const header = encodeTlv(0xa0, [
    encodeInteger(0x80, version.major),
    encodeInteger(0x81, version.minor),
    encodeUtf8(0x82, o.profileType ?? 'esimkit test profile'),
    encodeTlv(0x83, iccidPlain),
    // eUICC-Mandatory-services: usim (81), milenage (84)
    encodeTlv(0xa5, [encodeTlv(0x81), encodeTlv(0x84)]),
    encodeTlv(0xa6, [encodeOid(0x06, TEMPLATE_OID.mf), encodeOid(0x06, TEMPLATE_OID.usim)]),
  ]);

  // -- PE-MF: MF, EF.ICCID, EF.DIR, EF.ARR (3 rules, record length 0x20)
  const mfArr = records(0x20, [
    am(0x5b, SC_ADM1), // 1: MF/DF: ADM1 for everything administrative
    am(0x01, SC_ALWAYS) + am(0x1a, SC_ADM1), // 2: read always, update/(de)activate ADM1
    am(0x01, SC_ALWAYS) + am(0x18, SC_ADM1), // 3: read always, (de)activate ADM1, never update
  ]);
  const dirRecord = concatBytes(
    Uint8Array.of(0x61, aid.length + 8, 0x4f, aid.length),
    aid,
    Uint8Array.of(0x50, 0x04, 0x55, 0x53, 0x49, 0x4d), // label "USIM"
  );
  const dirRecLen = Math.max(0x21, dirRecord.length);
  const mf = encodeTlv(0xb0, [
    encodePeHeader(id++),
    encodeOid(0x81, TEMPLATE_OID.mf),
    file(0xa2, fcp({ sar: '2f0601', pinStatus: '010a' })),
    file(0xa4, fcp({ descriptor: '4121', fid: 0x2fe2, sar: '2f0603', size: 10 }), iccidSwapped),
    file(
      0xa5,
      fcp({ descriptor: `422100${dirRecLen.toString(16).padStart(2, '0')}`, fid: 0x2f00, sar: '2f0602', size: dirRecLen * 2 }),
      dirRecord,
    ),
    file(0xa6, fcp({ descriptor: '42210020', fid: 0x2f06, sar: '2f0602', size: mfArr.length }), mfArr),
  ]);

  // -- PE-PUKCodes (PUK1) and PE-PINCodes for the MF (PIN1 -> PUK1, ADM1)
  const puk = encodeTlv(0xa3, [
    encodePeHeader(id++),
    encodeTlv(0xa1, [
      encodeTlv(0x30, [encodeInteger(0x80, 1), encodeTlv(0x81, pinValue(o.puk1 ?? '12345678', 'PUK1'))]),
    ]),
  ]);
  const pinMf = encodeTlv(0xa2, [
    encodePeHeader(id++),
    encodeTlv(0xa1, [
      encodeTlv(0xa0, [
        encodeTlv(0x30, [
          encodeInteger(0x80, 1),
          encodeTlv(0x81, pinValue(o.pin1 ?? '0000', 'PIN1')),
          encodeInteger(0x82, 1),
          encodeInteger(0x83, 6),
        ]),
        encodeTlv(0x30, [encodeInteger(0x80, 0x0a), encodeTlv(0x81, pinValue(o.adm1 ?? '88888888', 'ADM1'))]),
      ]),
    ]),
  ]);

  // -- PE-USIM: ADF, IMSI, ARR, UST, SPN, EST, ACC, AD, ECC
  const usimArr = records(0x28, [
    am(0x01, SC_PIN1) + am(0x1a, SC_ADM1), // 1: read PIN1, update ADM1 (IMSI, AD, UST, ACC)
    am(0x03, SC_PIN1) + am(0x18, SC_ADM1), // 2: read/update PIN1
    am(0x01, SC_ALWAYS) + am(0x1a, SC_ADM1), // 3: read always, update ADM1 (SPN, ECC)
    am(0x01, SC_PIN1) + am(0x02, SC_PIN1) + am(0x18, SC_ADM1), // 4: EST
  ]);
  const lastDigit = Number(imsi[imsi.length - 1]);
  const acc = lastDigit < 8 ? Uint8Array.of(0, 1 << lastDigit) : Uint8Array.of(1 << (lastDigit - 8), 0);
  const spnContent = new Uint8Array(17).fill(0xff);
  spnContent[0] = 0x01;
  for (let i = 0; i < spn.length; i++) spnContent[1 + i] = spn.charCodeAt(i);
  // UST: services 10 (SMS), 12 (SMSP), 33 (PS domain)
  const ust = Uint8Array.of(0x00, 0x0a, 0x00, 0x00, 0x01);
  const ecc = Uint8Array.of(0x11, 0xf2, 0xff, 0x00, 0x19, 0xf1, 0xff, 0x00); // 112, 911
  const usim = encodeTlv(0xb3, [
    encodePeHeader(id++),
    encodeOid(0x81, TEMPLATE_OID.usim),
    file(0xa2, fcp({ fid: 0x7fd0, dfName: aid, sar: '2f0601', pinStatus: '81010a' })),
    file(0xa3, fcp({ descriptor: '4121', fid: 0x6f07, sar: '6f0601', size: 9 }), encodeImsi(imsi)),
    file(0xa4, fcp({ descriptor: '42210028', fid: 0x6f06, sar: '6f0603', size: usimArr.length }), usimArr),
    file(0xa8, fcp({ descriptor: '4121', fid: 0x6f38, sar: '6f0601', size: ust.length }), ust),
    file(0xad, fcp({ descriptor: '4121', fid: 0x6f46, sar: '6f0603', size: 17 }), spnContent),
    file(0xae, fcp({ descriptor: '4121', fid: 0x6f56, sar: '6f0604', size: 1 }), Uint8Array.of(0)),
    file(0xb2, fcp({ descriptor: '4121', fid: 0x6f78, sar: '6f0601', size: 2 }), acc),
    file(0xb5, fcp({ descriptor: '4121', fid: 0x6fad, sar: '6f0601', size: 4 }), Uint8Array.of(0, 0, 0, mncLength)),
    file(0xb6, fcp({ descriptor: '42210004', fid: 0x6fb7, sar: '6f0603', size: ecc.length }), ecc),
  ]);
  const pinUsim = encodeTlv(0xa2, [
    encodePeHeader(id++),
    encodeTlv(0xa1, [
      encodeTlv(0xa0, [
        encodeTlv(0x30, [encodeInteger(0x80, 0x81), encodeTlv(0x81, pinValue('00000000', 'PIN2')), encodeInteger(0x83, 3)]),
      ]),
    ]),
  ]);
  const aka = encodeTlv(0xa4, [
    encodePeHeader(id++),
    encodeTlv(0xa1, [
      encodeTlv(0xa1, [
        encodeInteger(0x80, 1), // milenage
        encodeTlv(0x81, Uint8Array.of(0)),
        encodeTlv(0x82, k),
        encodeTlv(0x83, opc),
      ]),
    ]),
  ]);

  const parts = [header, mf, puk, pinMf, usim, pinUsim, aka];
  if (padLength > 0) parts.push(paddingElement(id++, padLength));
  parts.push(encodeTlv(0xaa, [encodePeHeader(id++)]));
  return concatBytes(...parts);
}

/** genericFileManagement PE creating transparent EF(s) under the MF filled with a byte pattern. */
function paddingElement(id: number, length: number): Uint8Array {
  const cmds: Uint8Array[] = [encodeTlv(0x80)]; // filePath '' = MF
  let remaining = length;
  let fid = PAD_FILE_ID;
  while (remaining > 0) {
    const n = Math.min(remaining, 0x7fff);
    const content = new Uint8Array(n);
    for (let i = 0; i < n; i++) content[i] = (i * 7 + 0x20) & 0xff;
    cmds.push(encodeTlv(0x62, fcp({ descriptor: '4121', fid: fid++, sar: '2f0602', size: n, sfi: 'none' })));
    cmds.push(encodeTlv(0x81, content));
    remaining -= n;
  }
  return encodeTlv(0xa1, [encodePeHeader(id), encodeTlv(0xa1, [encodeTlv(0x30, cmds)])]);
}

/**
 * Build a small, structurally valid profile package: ProfileHeader, PE-MF (EF.ICCID with the swapped ICCID,
 * EF.DIR, EF.ARR), PUK/PIN codes, PE-USIM (ADF, EF.IMSI, EF.ARR, EF.UST, EF.SPN, EF.EST, EF.ACC, EF.AD,
 * EF.ECC), USIM PIN, Milenage AKA parameters, optional padding (genericFileManagement), PE-End.
 */
export function buildProfilePackage(options: BuildProfileOptions): Uint8Array {
  const base = buildElements(options, 0);
  const target = options.padToSize;
  if (target === undefined) return base;
  if (!Number.isSafeInteger(target) || target < 0 || target > 16 * 1024 * 1024) {
    throw new SaipError('bad-input', `padToSize out of range: ${target}`);
  }
  if (target <= base.length) return base;
  // the padding element costs some header bytes; search the content length that hits the target
  let n = Math.max(1, target - base.length - 40);
  let out = buildElements(options, n);
  while (out.length > target && n > 1) out = buildElements(options, --n);
  while (out.length < target) out = buildElements(options, ++n);
  return out;
}
