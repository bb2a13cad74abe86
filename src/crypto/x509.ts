/**
 * X.509 v3 certificates as SGP.22 uses them (CERT.CI, CERT.EUM, CERT.EUICC, CERT.DPauth/DPpb/DPtls,
 * CERT.DSauth/DStls): a strict DER parser built on our own codec (src/asn1), and a certificate builder
 * for the test PKI generator.
 *
 * - Parsing never throws anything but {@link CertificateError} (`reason: 'malformed'`); an Asn1Error from
 *   the codec is wrapped and kept as `cause`.
 * - All byte fields are views into a private copy of the input, so later changes to the caller's buffer do
 *   not change a parsed certificate. `tbs` is the exact received TBSCertificate TLV (signature input).
 * - Key and signature operations use node:crypto directly (ECDSA with SHA-256, DER signatures as X.509
 *   requires; SGP.22's raw r||s form is only used inside the ES8+/ES10 messages, not here).
 */
import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { Asn1Error, decodeTlv, encodeTlv, type Tlv } from '../asn1/tlv.js';
import {
  TlvReader,
  bitStringContent,
  decodeAscii,
  decodeBitString,
  decodeBoolean,
  decodeOid,
  decodeOidContent,
  decodeUtf8,
  encodeOid,
  integerContent,
} from '../asn1/der.js';
import { toHex } from '../util/hex.js';
import { publicKeyFromPoint } from './ecdsa.js';

// ------------------------------------------------------------------------------------------------ OIDs

export const X509_OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  brainpoolP256r1: '1.3.36.3.3.2.8.1.1.7',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  // attribute types
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  countryName: '2.5.4.6',
  localityName: '2.5.4.7',
  stateOrProvinceName: '2.5.4.8',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  dnQualifier: '2.5.4.46',
  // extensions
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  /** GSMA permitted-EIN-prefixes extension of newer EUM certificates: SEQUENCE OF PrintableString. */
  eidPermittedPrefixes: '2.23.146.1.2.2.0',
  // extended key usages
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

export type EcCurve = 'P-256' | 'brainpoolP256r1';

const CURVE_BY_OID: Readonly<Record<string, EcCurve>> = {
  [X509_OID.prime256v1]: 'P-256',
  [X509_OID.brainpoolP256r1]: 'brainpoolP256r1',
};

export function curveOid(curve: EcCurve): string {
  return curve === 'P-256' ? X509_OID.prime256v1 : X509_OID.brainpoolP256r1;
}

/** The name node:crypto uses for a curve (generateKeyPairSync('ec', {namedCurve})). */
export function nodeCurveName(curve: EcCurve): string {
  return curve === 'P-256' ? 'prime256v1' : 'brainpoolP256r1';
}

// ----------------------------------------------------------------------------------------------- errors

export type CertificateErrorReason =
  | 'malformed' // not a well-formed DER X.509 certificate (or PEM)
  | 'unknown-ci' // no trusted CI matches the certificate's issuer (AKI / issuer name)
  | 'bad-signature' // the signature does not verify with the issuer's key
  | 'unsupported-algorithm' // signature algorithm other than ecdsa-with-SHA256
  | 'issuer-mismatch' // signature verifies, but issuer name / AKI do not name the issuer
  | 'expired'
  | 'not-yet-valid'
  | 'bad-key-usage' // keyUsage (or extKeyUsage for TLS) missing, not critical or not the role's set
  | 'bad-policy' // certificatePolicies lacks the role's X509_OID (or names another RSP role)
  | 'not-ca' // a CA certificate (CI, EUM) without basicConstraints cA=TRUE
  | 'bad-basic-constraints' // EUM pathLen is not 0, or a leaf claims to be a CA
  | 'bad-extension' // a required extension is missing, or an unknown extension is critical
  | 'eid-out-of-range' // the EID is not inside the EUM's permitted EID prefixes
  | 'name-constraint-violation' // eUICC subject violates the EUM's nameConstraints other than the EID prefix
  | 'eid-mismatch' // the EID is not the expected one
  | 'bad-eid' // the eUICC subject has no (single) serialNumber of 32 decimal digits
  | 'unsupported-curve' // key not on P-256 / brainpoolP256r1
  | 'curve-mismatch' // the chain mixes curves
  | 'wrong-host'; // TLS certificate does not cover the host name

/** Which certificate of a chain an error is about. */
export type CertificatePosition = 'ci' | 'eum' | 'euicc' | 'server';

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
  constructor(
    readonly reason: CertificateErrorReason,
    message: string,
    /** The certificate at fault; undefined for a bare parse without a position. */
    readonly certificate?: CertificatePosition,
    options?: { cause?: unknown },
  ) {
    super(certificate ? `${certificate} certificate: ${message}` : message, options);
  }
}

function malformed(message: string, offset = -1): CertificateError {
  return new CertificateError('malformed', offset >= 0 ? `${message} (at offset ${offset})` : message);
}

// ------------------------------------------------------------------------------------------------ types

export interface NameAttribute {
  readonly oid: string;
  /** Decoded string value; for a non-string value `#` + hex of its DER encoding (RFC 4514 style). */
  readonly value: string;
  /** Universal tag of the value (0x13 PrintableString, 0x0c UTF8String, ...). */
  readonly valueTag: number;
}

export interface X509Name {
  /** The exact DER of the Name (SEQUENCE), for byte comparison. */
  readonly raw: Uint8Array;
  /** Relative distinguished names in order, each a set of attributes. */
  readonly rdns: readonly (readonly NameAttribute[])[];
  /** All attributes in order (the RDNs flattened). */
  readonly attributes: readonly NameAttribute[];
}

export type GeneralName =
  | { readonly type: 'dNSName'; readonly value: string }
  | { readonly type: 'rfc822Name'; readonly value: string }
  | { readonly type: 'uniformResourceIdentifier'; readonly value: string }
  | { readonly type: 'registeredID'; readonly value: string }
  | { readonly type: 'iPAddress'; readonly value: Uint8Array }
  | { readonly type: 'directoryName'; readonly value: X509Name }
  | { readonly type: 'other'; readonly tag: number; readonly raw: Uint8Array };

export interface GeneralSubtree {
  readonly base: GeneralName;
  readonly minimum: number;
  readonly maximum?: number;
}

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

export const KEY_USAGE_BITS: readonly KeyUsageName[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** extnValue content (the DER of the extension's own value). */
  readonly value: Uint8Array;
  /** The whole Extension SEQUENCE as received. */
  readonly raw: Uint8Array;
}

export interface CertificateExtensions {
  /** Every extension in order, interpreted or not. */
  readonly all: readonly Extension[];
  /** Extensions this module does not interpret (e.g. cRLDistributionPoints), kept raw. */
  readonly unknown: readonly Extension[];
  readonly subjectKeyIdentifier?: { readonly critical: boolean; readonly keyIdentifier: Uint8Array };
  readonly authorityKeyIdentifier?: {
    readonly critical: boolean;
    readonly keyIdentifier?: Uint8Array;
    readonly authorityCertIssuer?: readonly GeneralName[];
    readonly authorityCertSerialNumber?: Uint8Array;
  };
  readonly keyUsage?: { readonly critical: boolean; readonly bits: readonly number[]; readonly usages: readonly KeyUsageName[] };
  readonly basicConstraints?: { readonly critical: boolean; readonly cA: boolean; readonly pathLen?: number };
  readonly certificatePolicies?: { readonly critical: boolean; readonly policies: readonly string[] };
  readonly extKeyUsage?: { readonly critical: boolean; readonly purposes: readonly string[] };
  readonly subjectAltName?: { readonly critical: boolean; readonly names: readonly GeneralName[] };
  readonly nameConstraints?: {
    readonly critical: boolean;
    readonly permitted: readonly GeneralSubtree[];
    readonly excluded: readonly GeneralSubtree[];
  };
  readonly eidPermittedPrefixes?: { readonly critical: boolean; readonly prefixes: readonly string[] };
}

export interface SubjectPublicKeyInfo {
  /** Algorithm X509_OID (1.2.840.10045.2.1 for EC keys). */
  readonly algorithmOid: string;
  /** Named-curve X509_OID, or null when the parameters are not a named curve. */
  readonly curveOid: string | null;
  /** The curve when it is one SGP.22 uses, else null. */
  readonly curve: EcCurve | null;
  /** subjectPublicKey BIT STRING data: the uncompressed point 04||X||Y (65 bytes) for supported curves. */
  readonly point: Uint8Array;
  /** The whole SubjectPublicKeyInfo DER. */
  readonly der: Uint8Array;
  /** A node public key for supported curves, else null. */
  readonly key: KeyObject | null;
}

export interface Certificate {
  readonly der: Uint8Array;
  /** Exact TBSCertificate TLV: the bytes the issuer signed. */
  readonly tbs: Uint8Array;
  readonly version: 1 | 2 | 3;
  /** INTEGER content bytes of serialNumber (two's complement, minimal). */
  readonly serialNumber: Uint8Array;
  readonly serialHex: string;
  /** Signature algorithm X509_OID (equal in TBSCertificate and Certificate). */
  readonly signatureAlgorithm: string;
  readonly issuer: X509Name;
  readonly subject: X509Name;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subjectPublicKeyInfo: SubjectPublicKeyInfo;
  /** signatureValue content: DER Ecdsa-Sig-Value for ECDSA. */
  readonly signature: Uint8Array;
  readonly extensions: CertificateExtensions;
}

// ---------------------------------------------------------------------------------------- name helpers

export function nameAttribute(name: X509Name, oid: string): string | undefined {
  return name.attributes.find((a) => a.oid === oid)?.value;
}

export function nameAttributes(name: X509Name, oid: string): string[] {
  return name.attributes.filter((a) => a.oid === oid).map((a) => a.value);
}

export const commonName = (name: X509Name): string | undefined => nameAttribute(name, X509_OID.commonName);
export const organizationName = (name: X509Name): string | undefined => nameAttribute(name, X509_OID.organizationName);
export const serialNumberAttribute = (name: X509Name): string | undefined => nameAttribute(name, X509_OID.serialNumber);

const SHORT_NAMES: Readonly<Record<string, string>> = {
  [X509_OID.commonName]: 'CN',
  [X509_OID.serialNumber]: 'serialNumber',
  [X509_OID.countryName]: 'C',
  [X509_OID.localityName]: 'L',
  [X509_OID.stateOrProvinceName]: 'ST',
  [X509_OID.organizationName]: 'O',
  [X509_OID.organizationalUnitName]: 'OU',
};

/** Human-readable form in order of appearance ("C=ES, O=RSP Test EUM, CN=EUM Test"), for messages. */
export function formatName(name: X509Name): string {
  return name.rdns.map((rdn) => rdn.map((a) => `${SHORT_NAMES[a.oid] ?? a.oid}=${a.value}`).join('+')).join(', ');
}

// -------------------------------------------------------------------------------------------- decoding

function fail(message: string, t?: Tlv): never {
  throw malformed(message, t ? t.offset : -1);
}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t) fail(`${what} missing`);
  if (t.tag !== tag) fail(`${what}: expected tag ${tag.toString(16)}, found ${t.tag.toString(16)}`, t);
  return t;
}

/** Validate a DER INTEGER's content is minimal; returns the content. */
function derIntegerContent(t: Tlv, what: string): Uint8Array {
  const v = t.value;
  if (t.constructed || v.length === 0) fail(`${what}: invalid INTEGER`, t);
  if (v.length > 1 && ((v[0] === 0 && (v[1]! & 0x80) === 0) || (v[0] === 0xff && (v[1]! & 0x80) !== 0))) {
    fail(`${what}: INTEGER not minimally encoded`, t);
  }
  return v;
}

function smallNonNegative(t: Tlv, what: string, max = 0xffff): number {
  const v = derIntegerContent(t, what);
  if ((v[0]! & 0x80) !== 0) fail(`${what}: negative`, t);
  if (v.length > 3) fail(`${what}: too large`, t);
  let n = 0;
  for (const b of v) n = n * 256 + b;
  if (n > max) fail(`${what}: too large`, t);
  return n;
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function decodeDirectoryString(t: Tlv): string {
  if (t.constructed) fail('constructed string in a Name (not DER)', t);
  switch (t.tag) {
    case 0x0c:
      return decodeUtf8(t);
    case 0x13: {
      const s = decodeAscii(t);
      if (!PRINTABLE.test(s)) fail('PrintableString contains a character outside its set', t);
      return s;
    }
    case 0x16: // IA5String
      return decodeAscii(t);
    case 0x14: // TeletexString: treated as Latin-1
      return String.fromCharCode(...t.value);
    case 0x1e: {
      // BMPString (UTF-16BE)
      if (t.value.length % 2) fail('BMPString of odd length', t);
      let s = '';
      for (let i = 0; i < t.value.length; i += 2) s += String.fromCharCode((t.value[i]! << 8) | t.value[i + 1]!);
      return s;
    }
    default:
      return '#' + toHex(t.raw);
  }
}

function parseName(t: Tlv): X509Name {
  expect(t, 0x30, 'Name');
  const rdns: NameAttribute[][] = [];
  const attributes: NameAttribute[] = [];
  for (const set of t.children) {
    expect(set, 0x31, 'RelativeDistinguishedName');
    if (set.children.length === 0) fail('empty RelativeDistinguishedName', set);
    const rdn: NameAttribute[] = [];
    for (const atv of set.children) {
      expect(atv, 0x30, 'AttributeTypeAndValue');
      if (atv.children.length !== 2) fail('AttributeTypeAndValue must have type and value', atv);
      const oid = decodeOid(expect(atv.children[0], 0x06, 'attribute type'));
      const v = atv.children[1]!;
      const a: NameAttribute = { oid, value: decodeDirectoryString(v), valueTag: v.tag };
      rdn.push(a);
      attributes.push(a);
    }
    rdns.push(rdn);
  }
  return { raw: t.raw, rdns, attributes };
}

function digits(s: string, from: number, n: number): number {
  return Number(s.slice(from, from + n));
}

function parseTime(t: Tlv, what: string): Date {
  if (t.constructed) fail(`${what}: constructed time`, t);
  const s = decodeAscii(t);
  let year: number;
  let rest: string;
  if (t.tag === 0x17) {
    // UTCTime, DER/RFC 5280 form: YYMMDDHHMMSSZ
    if (!/^[0-9]{12}Z$/.test(s)) fail(`${what}: UTCTime must be YYMMDDHHMMSSZ`, t);
    const yy = digits(s, 0, 2);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
    rest = s.slice(2);
  } else if (t.tag === 0x18) {
    // GeneralizedTime, RFC 5280 form: YYYYMMDDHHMMSSZ (no fraction)
    if (!/^[0-9]{14}Z$/.test(s)) fail(`${what}: GeneralizedTime must be YYYYMMDDHHMMSSZ`, t);
    year = digits(s, 0, 4);
    rest = s.slice(4);
  } else {
    fail(`${what}: expected UTCTime or GeneralizedTime`, t);
  }
  const month = digits(rest, 0, 2);
  const day = digits(rest, 2, 2);
  const hour = digits(rest, 4, 2);
  const minute = digits(rest, 6, 2);
  const second = digits(rest, 8, 2);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) fail(`${what}: invalid date`, t);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  if (d.getUTCDate() !== day || d.getUTCMonth() !== month - 1) fail(`${what}: invalid day of month`, t);
  return d;
}

interface AlgorithmIdentifier {
  oid: string;
  params?: Tlv;
}

function parseAlgorithmIdentifier(t: Tlv, what: string): AlgorithmIdentifier {
  expect(t, 0x30, what);
  if (t.children.length < 1 || t.children.length > 2) fail(`${what}: bad AlgorithmIdentifier`, t);
  const oid = decodeOid(expect(t.children[0], 0x06, `${what} algorithm`));
  const params = t.children[1];
  return params ? { oid, params } : { oid };
}

function parseSpki(t: Tlv): SubjectPublicKeyInfo {
  expect(t, 0x30, 'SubjectPublicKeyInfo');
  if (t.children.length !== 2) fail('SubjectPublicKeyInfo must have algorithm and key', t);
  const alg = parseAlgorithmIdentifier(t.children[0]!, 'SubjectPublicKeyInfo');
  const bits = expect(t.children[1], 0x03, 'subjectPublicKey');
  if (bits.constructed || bits.value.length < 1 || bits.value[0] !== 0) fail('subjectPublicKey must have 0 unused bits', bits);
  const point = bits.value.subarray(1);
  let curveOidStr: string | null = null;
  if (alg.oid === X509_OID.ecPublicKey) {
    if (!alg.params) fail('EC public key without curve parameters', t);
    if (alg.params.tag === 0x06) curveOidStr = decodeOid(alg.params);
  }
  const curve = alg.oid === X509_OID.ecPublicKey && curveOidStr ? (CURVE_BY_OID[curveOidStr] ?? null) : null;
  let key: KeyObject | null = null;
  if (curve) {
    if (point.length !== 65 || point[0] !== 0x04) fail('EC public key must be an uncompressed 65-byte point', bits);
    try {
      key = curve === 'P-256' ? publicKeyFromPoint('P-256', point) : createPublicKey({ key: Buffer.from(t.raw), format: 'der', type: 'spki' });
    } catch (e) {
      throw new CertificateError('malformed', `public key rejected by node:crypto: ${(e as Error).message}`, undefined, {
        cause: e,
      });
    }
  }
  return { algorithmOid: alg.oid, curveOid: curveOidStr, curve, point, der: t.raw, key };
}

function checkEcdsaSignature(v: Uint8Array, offset: number): void {
  const t = decodeTlv(v, { baseOffset: offset });
  expect(t, 0x30, 'Ecdsa-Sig-Value');
  if (t.children.length !== 2) fail('Ecdsa-Sig-Value must hold r and s', t);
  for (const c of t.children) {
    const n = derIntegerContent(expect(c, 0x02, 'Ecdsa-Sig-Value integer'), 'Ecdsa-Sig-Value integer');
    if ((n[0]! & 0x80) !== 0 || n.length > 67) fail('Ecdsa-Sig-Value integer out of range', c);
  }
}

function parseGeneralName(t: Tlv): GeneralName {
  switch (t.tag) {
    case 0x81:
      return { type: 'rfc822Name', value: decodeAscii(t) };
    case 0x82:
      return { type: 'dNSName', value: decodeAscii(t) };
    case 0x86:
      return { type: 'uniformResourceIdentifier', value: decodeAscii(t) };
    case 0x87:
      if (![4, 8, 16, 32].includes(t.value.length)) fail('iPAddress of invalid length', t);
      return { type: 'iPAddress', value: t.value };
    case 0x88:
      return { type: 'registeredID', value: decodeOidContent(t.value, t.valueOffset) };
    case 0xa4:
      if (t.children.length !== 1) fail('directoryName must hold one Name', t);
      return { type: 'directoryName', value: parseName(t.children[0]!) };
    case 0xa0: // otherName
    case 0xa3: // x400Address
    case 0xa5: // ediPartyName
      return { type: 'other', tag: t.tag, raw: t.raw };
    default:
      fail(`invalid GeneralName tag ${t.tag.toString(16)}`, t);
  }
}

function parseGeneralNames(t: Tlv, what: string): GeneralName[] {
  if (t.children.length === 0) fail(`${what}: empty GeneralNames`, t);
  return t.children.map(parseGeneralName);
}

function parseSubtrees(t: Tlv): GeneralSubtree[] {
  if (t.children.length === 0) fail('empty GeneralSubtrees', t);
  return t.children.map((st) => {
    expect(st, 0x30, 'GeneralSubtree');
    const r = new TlvReader(st, 'GeneralSubtree');
    const first = r.peek();
    if (!first) fail('GeneralSubtree without base', st);
    r.optAny([first.tag]);
    const base = parseGeneralName(first);
    const minT = r.opt(0x80);
    const maxT = r.opt(0x81);
    r.end(false);
    let minimum = 0;
    if (minT) {
      minimum = smallNonNegative(minT, 'GeneralSubtree minimum');
      if (minimum === 0) fail('GeneralSubtree minimum 0 must be omitted in DER', minT);
    }
    if (maxT) return { base, minimum, maximum: smallNonNegative(maxT, 'GeneralSubtree maximum') };
    return { base, minimum };
  });
}

function extValue(ext: Extension, offset: number): Tlv {
  return decodeTlv(ext.value, { baseOffset: offset });
}

type MutableExtensions = {
  -readonly [K in keyof CertificateExtensions]: CertificateExtensions[K];
};

function interpretExtension(ext: Extension, offset: number, out: MutableExtensions, unknown: Extension[]): void {
  const critical = ext.critical;
  switch (ext.oid) {
    case X509_OID.subjectKeyIdentifier: {
      const t = expect(extValue(ext, offset), 0x04, 'SubjectKeyIdentifier');
      if (t.constructed || t.value.length === 0) fail('SubjectKeyIdentifier must be a non-empty OCTET STRING', t);
      out.subjectKeyIdentifier = { critical, keyIdentifier: t.value };
      return;
    }
    case X509_OID.authorityKeyIdentifier: {
      const t = expect(extValue(ext, offset), 0x30, 'AuthorityKeyIdentifier');
      const r = new TlvReader(t, 'AuthorityKeyIdentifier');
      const kid = r.opt(0x80);
      const iss = r.opt(0xa1);
      const ser = r.opt(0x82);
      r.end(false);
      if ((iss === undefined) !== (ser === undefined)) fail('AuthorityKeyIdentifier issuer and serial must come together', t);
      out.authorityKeyIdentifier = {
        critical,
        ...(kid ? { keyIdentifier: kid.value } : {}),
        ...(iss ? { authorityCertIssuer: parseGeneralNames(iss, 'authorityCertIssuer') } : {}),
        ...(ser ? { authorityCertSerialNumber: derIntegerContent(ser, 'authorityCertSerialNumber') } : {}),
      };
      return;
    }
    case X509_OID.keyUsage: {
      const t = expect(extValue(ext, offset), 0x03, 'KeyUsage');
      if (t.constructed) fail('KeyUsage must be primitive', t);
      const bits = decodeBitString(t, true);
      if (bits.length === 0) fail('KeyUsage with no bit set', t);
      const usages: KeyUsageName[] = [];
      for (const b of bits) {
        const n = KEY_USAGE_BITS[b];
        if (!n) fail(`KeyUsage bit ${b} is not defined`, t);
        usages.push(n);
      }
      out.keyUsage = { critical, bits, usages };
      return;
    }
    case X509_OID.basicConstraints: {
      const t = expect(extValue(ext, offset), 0x30, 'BasicConstraints');
      const r = new TlvReader(t, 'BasicConstraints');
      const ca = r.opt(0x01);
      const pl = r.opt(0x02);
      r.end(false);
      const cA = ca ? decodeBoolean(ca, true) : false;
      if (ca && !cA) fail('BasicConstraints cA FALSE must be omitted in DER', ca);
      out.basicConstraints = pl
        ? { critical, cA, pathLen: smallNonNegative(pl, 'pathLenConstraint') }
        : { critical, cA };
      return;
    }
    case X509_OID.certificatePolicies: {
      const t = expect(extValue(ext, offset), 0x30, 'CertificatePolicies');
      if (t.children.length === 0) fail('empty CertificatePolicies', t);
      const policies: string[] = [];
      for (const pi of t.children) {
        expect(pi, 0x30, 'PolicyInformation');
        if (pi.children.length < 1 || pi.children.length > 2) fail('bad PolicyInformation', pi);
        const oid = decodeOid(expect(pi.children[0], 0x06, 'policyIdentifier'));
        if (pi.children[1]) expect(pi.children[1], 0x30, 'policyQualifiers');
        if (policies.includes(oid)) fail(`policy ${oid} listed twice`, pi);
        policies.push(oid);
      }
      out.certificatePolicies = { critical, policies };
      return;
    }
    case X509_OID.extKeyUsage: {
      const t = expect(extValue(ext, offset), 0x30, 'ExtKeyUsageSyntax');
      if (t.children.length === 0) fail('empty ExtKeyUsageSyntax', t);
      out.extKeyUsage = { critical, purposes: t.children.map((c) => decodeOid(expect(c, 0x06, 'KeyPurposeId'))) };
      return;
    }
    case X509_OID.subjectAltName: {
      const t = expect(extValue(ext, offset), 0x30, 'SubjectAltName');
      out.subjectAltName = { critical, names: parseGeneralNames(t, 'SubjectAltName') };
      return;
    }
    case X509_OID.nameConstraints: {
      const t = expect(extValue(ext, offset), 0x30, 'NameConstraints');
      const r = new TlvReader(t, 'NameConstraints');
      const p = r.opt(0xa0);
      const x = r.opt(0xa1);
      r.end(false);
      if (!p && !x) fail('NameConstraints without subtrees', t);
      out.nameConstraints = { critical, permitted: p ? parseSubtrees(p) : [], excluded: x ? parseSubtrees(x) : [] };
      return;
    }
    case X509_OID.eidPermittedPrefixes: {
      const t = expect(extValue(ext, offset), 0x30, 'permitted EIN prefixes');
      if (t.children.length === 0) fail('empty permitted EIN prefixes', t);
      const prefixes = t.children.map((c) => decodeDirectoryString(expect(c, 0x13, 'EIN prefix (PrintableString)')));
      out.eidPermittedPrefixes = { critical, prefixes };
      return;
    }
    default:
      unknown.push(ext);
  }
}

function parseExtensions(t: Tlv): CertificateExtensions {
  if (t.children.length !== 1) fail('extensions [3] must hold one SEQUENCE', t);
  const seq = expect(t.children[0], 0x30, 'Extensions');
  if (seq.children.length === 0) fail('empty Extensions', seq);
  const all: Extension[] = [];
  const unknown: Extension[] = [];
  const out: MutableExtensions = { all, unknown };
  for (const e of seq.children) {
    expect(e, 0x30, 'Extension');
    const r = new TlvReader(e, 'Extension');
    const oid = decodeOid(r.req(0x06, 'extnID'));
    const crit = r.opt(0x01);
    const val = r.req(0x04, 'extnValue');
    r.end(false);
    if (val.constructed) fail('extnValue must be primitive', val);
    const critical = crit ? decodeBoolean(crit, true) : false;
    if (crit && !critical) fail('critical FALSE must be omitted in DER', crit);
    if (all.some((x) => x.oid === oid)) fail(`extension ${oid} appears twice`, e);
    const ext: Extension = { oid, critical, value: val.value, raw: e.raw };
    all.push(ext);
    interpretExtension(ext, val.valueOffset, out, unknown);
  }
  return out;
}

function parseInner(buf: Uint8Array): Certificate {
  const root = decodeTlv(buf, { der: true });
  expect(root, 0x30, 'Certificate');
  if (root.children.length !== 3) fail('Certificate must hold tbsCertificate, signatureAlgorithm, signatureValue', root);
  const tbs = expect(root.children[0], 0x30, 'tbsCertificate');
  const outerAlg = parseAlgorithmIdentifier(root.children[1]!, 'signatureAlgorithm');
  const sigBits = expect(root.children[2], 0x03, 'signatureValue');

  const r = new TlvReader(tbs, 'TBSCertificate');
  let version: 1 | 2 | 3 = 1;
  const vT = r.opt(0xa0);
  if (vT) {
    if (vT.children.length !== 1) fail('version [0] must hold one INTEGER', vT);
    const v = smallNonNegative(expect(vT.children[0], 0x02, 'version'), 'version', 2);
    if (v === 0) fail('version v1 must be omitted in DER', vT);
    version = (v + 1) as 2 | 3;
  }
  const serialT = r.req(0x02, 'serialNumber');
  const serialNumber = derIntegerContent(serialT, 'serialNumber');
  if (serialNumber.length > 21) fail('serialNumber longer than 20 octets', serialT);
  const innerAlg = parseAlgorithmIdentifier(r.req(0x30, 'signature'), 'signature');
  const issuer = parseName(r.req(0x30, 'issuer'));
  const validity = r.req(0x30, 'validity');
  if (validity.children.length !== 2) fail('Validity must hold notBefore and notAfter', validity);
  const notBefore = parseTime(validity.children[0]!, 'notBefore');
  const notAfter = parseTime(validity.children[1]!, 'notAfter');
  const subject = parseName(r.req(0x30, 'subject'));
  const spki = parseSpki(r.req(0x30, 'subjectPublicKeyInfo'));
  const iuid = r.opt(0x81);
  const suid = r.opt(0x82);
  if ((iuid || suid) && version < 2) fail('unique identifiers need version 2 or 3', tbs);
  const extT = r.opt(0xa3);
  r.end(false);
  let extensions: CertificateExtensions = { all: [], unknown: [] };
  if (extT) {
    if (version !== 3) fail('extensions need version 3', extT);
    extensions = parseExtensions(extT);
  }

  if (innerAlg.oid !== outerAlg.oid || !sameBytes(innerAlg.params?.raw, outerAlg.params?.raw)) {
    fail('signatureAlgorithm differs from the TBSCertificate signature field', root.children[1]);
  }
  if (outerAlg.oid === X509_OID.ecdsaWithSha256 && outerAlg.params) {
    fail('ecdsa-with-SHA256 parameters must be absent', root.children[1]);
  }
  if (sigBits.constructed || sigBits.value.length < 1 || sigBits.value[0] !== 0) {
    fail('signatureValue must have 0 unused bits', sigBits);
  }
  const signature = sigBits.value.subarray(1);
  if (outerAlg.oid === X509_OID.ecdsaWithSha256) checkEcdsaSignature(signature, sigBits.valueOffset + 1);

  return {
    der: buf,
    tbs: tbs.raw,
    version,
    serialNumber,
    serialHex: toHex(serialNumber),
    signatureAlgorithm: outerAlg.oid,
    issuer,
    subject,
    notBefore,
    notAfter,
    subjectPublicKeyInfo: spki,
    signature,
    extensions,
  };
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Parse a DER X.509 certificate. Throws only CertificateError (reason 'malformed'), tagged with
 * `position` when given.
 */
export function parseCertificate(der: Uint8Array, position?: CertificatePosition): Certificate {
  try {
    if (!(der instanceof Uint8Array)) throw malformed('certificate input is not a Uint8Array');
    return parseInner(new Uint8Array(der));
  } catch (e) {
    if (e instanceof CertificateError) {
      if (position === undefined || e.certificate !== undefined) throw e;
      throw new CertificateError(e.reason, e.message, position, { cause: e.cause });
    }
    const msg = e instanceof Asn1Error ? e.message : `unexpected decoder fault: ${String(e)}`;
    throw new CertificateError('malformed', msg, position, { cause: e });
  }
}

// ------------------------------------------------------------------------------------------------ PEM

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER inside the first `label` PEM block. Throws CertificateError('malformed'). */
export function fromPem(pem: string, label = 'CERTIFICATE'): Uint8Array {
  const re = new RegExp(`-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+?)-----END ${label}-----`);
  const m = re.exec(pem);
  if (!m) throw malformed(`no ${label} PEM block`);
  const b64 = m[1]!.replace(/[\r\n]/g, '');
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw malformed(`invalid base64 in ${label} PEM block`);
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

export function parseCertificatePem(pem: string, position?: CertificatePosition): Certificate {
  let der: Uint8Array;
  try {
    der = fromPem(pem);
  } catch (e) {
    if (e instanceof CertificateError && position) throw new CertificateError(e.reason, e.message, position);
    throw e;
  }
  return parseCertificate(der, position);
}

// --------------------------------------------------------------------------------------- signatures

/** True when `cert`'s signature verifies with `issuerKey` (ECDSA-SHA256 over the exact tbs bytes). */
export function verifyCertificateSignature(cert: Certificate, issuerKey: KeyObject): boolean {
  if (cert.signatureAlgorithm !== X509_OID.ecdsaWithSha256) return false;
  try {
    return cryptoVerify('sha256', cert.tbs, { key: issuerKey, dsaEncoding: 'der' }, cert.signature);
  } catch {
    return false;
  }
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING data. */
export function keyIdentifierFor(publicKey: KeyObject): Uint8Array {
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const t = decodeTlv(spki);
  const bits = t.children[1];
  if (!bits || bits.tag !== 0x03) throw new TypeError('unexpected SPKI encoding');
  return new Uint8Array(createHash('sha1').update(bits.value.subarray(1)).digest());
}

// ------------------------------------------------------------------------------------------- building

export type NameAttributeInput = {
  readonly oid: string;
  readonly value: string;
  /** String type; default PrintableString for C, serialNumber and dnQualifier, UTF8String otherwise. */
  readonly type?: 'printable' | 'utf8' | 'ia5';
};

const PRINTABLE_BY_DEFAULT = new Set<string>([X509_OID.countryName, X509_OID.serialNumber, X509_OID.dnQualifier]);

/** Encode a Name with one attribute per RDN, in the given order. */
export function encodeName(attrs: readonly NameAttributeInput[]): Uint8Array {
  const rdns = attrs.map((a) => {
    const type = a.type ?? (PRINTABLE_BY_DEFAULT.has(a.oid) ? 'printable' : 'utf8');
    let value: Uint8Array;
    if (type === 'utf8') value = encodeTlv(0x0c, new TextEncoder().encode(a.value));
    else {
      if (type === 'printable' && !PRINTABLE.test(a.value)) throw new RangeError(`not a PrintableString: ${a.value}`);
      if (!/^[\x00-\x7f]*$/.test(a.value)) throw new RangeError(`not ASCII: ${a.value}`);
      value = encodeTlv(type === 'printable' ? 0x13 : 0x16, new TextEncoder().encode(a.value));
    }
    return encodeTlv(0x31, [encodeTlv(0x30, [encodeOid(0x06, a.oid), value])]);
  });
  return encodeTlv(0x30, rdns);
}

/** UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5); seconds precision. */
export function encodeTime(d: Date): Uint8Array {
  if (Number.isNaN(d.getTime())) throw new RangeError('invalid date');
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new RangeError('year out of range');
  const tail = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return encodeTlv(0x17, new TextEncoder().encode(p(y % 100) + tail));
  return encodeTlv(0x18, new TextEncoder().encode(p(y, 4) + tail));
}

export interface ExtensionInput {
  readonly oid: string;
  readonly critical?: boolean;
  /** DER of the extension value (placed inside extnValue). */
  readonly value: Uint8Array;
}

function encodeGeneralName(n: GeneralName): Uint8Array {
  const ascii = (s: string): Uint8Array => {
    if (!/^[\x00-\x7f]*$/.test(s)) throw new RangeError(`not IA5: ${s}`);
    return new TextEncoder().encode(s);
  };
  switch (n.type) {
    case 'rfc822Name':
      return encodeTlv(0x81, ascii(n.value));
    case 'dNSName':
      return encodeTlv(0x82, ascii(n.value));
    case 'uniformResourceIdentifier':
      return encodeTlv(0x86, ascii(n.value));
    case 'iPAddress':
      return encodeTlv(0x87, n.value);
    case 'registeredID':
      return encodeOid(0x88, n.value);
    case 'directoryName':
      return encodeTlv(0xa4, [n.value.raw]);
    case 'other':
      return n.raw;
  }
}

/** A directoryName GeneralName from attributes (for name constraints). */
export function directoryName(attrs: readonly NameAttributeInput[]): GeneralName {
  const raw = encodeName(attrs);
  return { type: 'directoryName', value: parseName(decodeTlv(raw)) };
}

/** Extension value encoders (the DER placed in extnValue). */
export const certExt = {
  subjectKeyIdentifier: (id: Uint8Array): ExtensionInput => ({ oid: X509_OID.subjectKeyIdentifier, value: encodeTlv(0x04, id) }),
  authorityKeyIdentifier: (id: Uint8Array): ExtensionInput => ({
    oid: X509_OID.authorityKeyIdentifier,
    value: encodeTlv(0x30, [encodeTlv(0x80, id)]),
  }),
  keyUsage: (usages: readonly KeyUsageName[], critical = true): ExtensionInput => ({
    oid: X509_OID.keyUsage,
    critical,
    value: encodeTlv(0x03, bitStringContent(usages.map((u) => KEY_USAGE_BITS.indexOf(u)))),
  }),
  basicConstraints: (cA: boolean, pathLen?: number, critical = true): ExtensionInput => {
    const parts: Uint8Array[] = [];
    if (cA) parts.push(Uint8Array.of(0x01, 0x01, 0xff));
    if (pathLen !== undefined) parts.push(encodeTlv(0x02, integerContent(pathLen)));
    return { oid: X509_OID.basicConstraints, critical, value: encodeTlv(0x30, parts) };
  },
  certificatePolicies: (oids: readonly string[], critical = true): ExtensionInput => ({
    oid: X509_OID.certificatePolicies,
    critical,
    value: encodeTlv(
      0x30,
      oids.map((o) => encodeTlv(0x30, [encodeOid(0x06, o)])),
    ),
  }),
  extKeyUsage: (oids: readonly string[], critical = true): ExtensionInput => ({
    oid: X509_OID.extKeyUsage,
    critical,
    value: encodeTlv(
      0x30,
      oids.map((o) => encodeOid(0x06, o)),
    ),
  }),
  subjectAltName: (names: readonly GeneralName[], critical = false): ExtensionInput => ({
    oid: X509_OID.subjectAltName,
    critical,
    value: encodeTlv(0x30, names.map(encodeGeneralName)),
  }),
  nameConstraints: (permitted: readonly GeneralName[], excluded: readonly GeneralName[] = [], critical = true): ExtensionInput => {
    const subtrees = (tag: number, ns: readonly GeneralName[]): Uint8Array[] =>
      ns.length ? [encodeTlv(tag, ns.map((n) => encodeTlv(0x30, [encodeGeneralName(n)])))] : [];
    return {
      oid: X509_OID.nameConstraints,
      critical,
      value: encodeTlv(0x30, [...subtrees(0xa0, permitted), ...subtrees(0xa1, excluded)]),
    };
  },
  eidPermittedPrefixes: (prefixes: readonly string[], critical = false): ExtensionInput => ({
    oid: X509_OID.eidPermittedPrefixes,
    critical,
    value: encodeTlv(
      0x30,
      prefixes.map((p) => encodeTlv(0x13, new TextEncoder().encode(p))),
    ),
  }),
  /** cRLDistributionPoints with one DistributionPoint per URI (fullName). */
  crlDistributionPoints: (uris: readonly string[]): ExtensionInput => ({
    oid: X509_OID.crlDistributionPoints,
    value: encodeTlv(
      0x30,
      uris.map((u) => encodeTlv(0x30, [encodeTlv(0xa0, [encodeTlv(0xa0, [encodeTlv(0x86, new TextEncoder().encode(u))])])])),
    ),
  }),
};

export interface CertificateTemplate {
  /** Positive serial number (content bytes are made minimal and positive). */
  readonly serialNumber: Uint8Array | bigint;
  /** Issuer Name: the DER of the issuer certificate's subject (preferred: byte-identical), or attributes. */
  readonly issuer: Uint8Array | readonly NameAttributeInput[];
  readonly subject: Uint8Array | readonly NameAttributeInput[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: KeyObject;
  readonly extensions: readonly ExtensionInput[];
}

function serialContent(s: Uint8Array | bigint): Uint8Array {
  let bytes: Uint8Array;
  if (typeof s === 'bigint') {
    if (s <= 0n) throw new RangeError('serial number must be positive');
    let hex = s.toString(16);
    if (hex.length % 2) hex = '0' + hex;
    bytes = new Uint8Array(Buffer.from(hex, 'hex'));
  } else bytes = s;
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  bytes = bytes.subarray(i);
  if (bytes.length === 0 || (bytes.length === 1 && bytes[0] === 0)) throw new RangeError('serial number must be positive');
  if ((bytes[0]! & 0x80) !== 0) {
    const out = new Uint8Array(bytes.length + 1);
    out.set(bytes, 1);
    bytes = out;
  }
  if (bytes.length > 21) throw new RangeError('serial number longer than 20 octets');
  return bytes;
}

/** Encode the TBSCertificate (v3, ecdsa-with-SHA256). */
export function encodeTbsCertificate(t: CertificateTemplate): Uint8Array {
  const alg = encodeTlv(0x30, [encodeOid(0x06, X509_OID.ecdsaWithSha256)]);
  const name = (n: Uint8Array | readonly NameAttributeInput[]): Uint8Array => (n instanceof Uint8Array ? n : encodeName(n));
  const parts: Uint8Array[] = [
    encodeTlv(0xa0, [Uint8Array.of(0x02, 0x01, 0x02)]),
    encodeTlv(0x02, serialContent(t.serialNumber)),
    alg,
    name(t.issuer),
    encodeTlv(0x30, [encodeTime(t.notBefore), encodeTime(t.notAfter)]),
    name(t.subject),
    new Uint8Array(t.publicKey.export({ type: 'spki', format: 'der' })),
  ];
  if (t.extensions.length) {
    const exts = t.extensions.map((e) =>
      encodeTlv(0x30, [
        encodeOid(0x06, e.oid),
        ...(e.critical ? [Uint8Array.of(0x01, 0x01, 0xff)] : []),
        encodeTlv(0x04, e.value),
      ]),
    );
    parts.push(encodeTlv(0xa3, [encodeTlv(0x30, exts)]));
  }
  return encodeTlv(0x30, parts);
}

/** Build and sign a certificate: crypto.sign('sha256', tbs, issuerKey) gives the DER ECDSA signature. */
export function buildCertificate(template: CertificateTemplate, issuerPrivateKey: KeyObject): Uint8Array {
  const tbs = encodeTbsCertificate(template);
  const sig = new Uint8Array(cryptoSign('sha256', tbs, { key: issuerPrivateKey, dsaEncoding: 'der' }));
  const alg = encodeTlv(0x30, [encodeOid(0x06, X509_OID.ecdsaWithSha256)]);
  const bits = new Uint8Array(sig.length + 1);
  bits.set(sig, 1);
  return encodeTlv(0x30, [tbs, alg, encodeTlv(0x03, bits)]);
}
