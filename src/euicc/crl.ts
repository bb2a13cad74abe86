/**
 * ES10b.LoadCRL (BF35) of the software eUICC (SGP22-NOTES §2.2), and the revocation check the card applies
 * to server certificates (AuthenticateServer, PrepareDownload) once a CRL is loaded.
 *
 *   LoadCRLRequest  BF35 { A0 <CertificateList content> }   (the CRL with its outer 30 replaced by A0)
 *   LoadCRLResponse BF35 { A0 { A0 missingParts { 02 ... } ? } } | BF35 { 81 loadCRLResponseError }
 *
 * Checks, in this order, each with its LoadCRLResponseError:
 *   1. the content is a CertificateList (TBSCertList, signatureAlgorithm ecdsa-with-SHA256, BIT STRING
 *      signature), with a cRLNumber extension and no unknown critical extension → else invalidCRLFormat(2);
 *   2. not larger than {@link MAX_CRL_BYTES} → else notEnoughMemorySpace(3);
 *   3. the issuer is one of the card's trusted CIs (authorityKeyIdentifier = CI SKI, or else the issuer name
 *      equals the CI subject) → else verificationKeyNotFound(4);
 *   4. the signature verifies with that CI's key → else invalidSignature(1);
 *   5. a delta CRL (deltaCRLIndicator) needs a loaded base CRL of the same CI whose cRLNumber is at least the
 *      delta's BaseCRLNumber → else baseCrlMissing(6);
 *   6. the cRLNumber is greater than the one of the CRL of the same kind (base / delta) already loaded for that
 *      CI → else fresherCrlAlreadyLoaded(5);
 *   any unexpected failure → undefinedError(127).
 * Stored per CI in meta `crl.base.<SKI hex>` / `crl.delta.<SKI hex>` (the CertificateList DER). A new base CRL
 * drops the delta CRL of that CI. CRL partitions (issuingDistributionPoint) are not tracked: missingParts is
 * never answered (UNCONFIRMED which parts a card should ask for). The card has no trusted clock: thisUpdate /
 * nextUpdate are not compared with a time. A server certificate whose serial number is listed by the base or
 * delta CRL of its CI is refused as invalidCertificate(1) by AuthenticateServer / PrepareDownload.
 * A malformed request (no A0, not constructed) is answered invalidCRLFormat(2), like an undecodable CRL.
 */
import { verify as verifyDer } from '../crypto/ecdsa.js';
import { decodeOid } from '../asn1/der.js';
import { decodeTlv, encodeTlv, type Tlv } from '../asn1/tlv.js';
import type { Certificate } from '../crypto/x509.js';
import { bytesEqual, toHex } from '../util/hex.js';
import type { CardRuntime, Es10Context, Es10Handler, Es10HandlerTable } from './types.js';

/** ES10b LoadCRL request/response tag. */
export const LOAD_CRL_TAG = 0xbf35;
/** Largest CRL the card stores (bytes of the CertificateList). */
export const MAX_CRL_BYTES = 64 * 1024;

/** LoadCRLResponseError values (RSPDefinitions). */
export const LoadCrlErrorValue = {
  invalidSignature: 1,
  invalidCRLFormat: 2,
  notEnoughMemorySpace: 3,
  verificationKeyNotFound: 4,
  fresherCrlAlreadyLoaded: 5,
  baseCrlMissing: 6,
  undefinedError: 127,
} as const;

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  crlNumber: '2.5.29.20',
  deltaCrlIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

const META_BASE = 'crl.base.';
const META_DELTA = 'crl.delta.';

/** What the card needs from a CRL. */
export interface ParsedCrl {
  /** The CertificateList DER (outer tag 30). */
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly signature: Uint8Array;
  readonly issuerRaw: Uint8Array;
  readonly authorityKeyId?: Uint8Array;
  readonly crlNumber: bigint;
  /** BaseCRLNumber of a delta CRL. */
  readonly deltaBase?: bigint;
  /** INTEGER contents of the revoked serial numbers. */
  readonly revoked: readonly Uint8Array[];
}

class CrlFormatError extends Error {}

function bigintOf(t: Tlv): bigint {
  if (t.tag !== 0x02 || t.value.length === 0) throw new CrlFormatError('INTEGER expected');
  let n = 0n;
  for (const b of t.value) n = (n << 8n) | BigInt(b);
  if ((t.value[0]! & 0x80) !== 0) n -= 1n << BigInt(8 * t.value.length);
  return n;
}

/**
 * Parse a CertificateList whose outer tag may be 30 or A0 (as carried in LoadCRLRequest). Throws for anything
 * that is not a CRL the card can use.
 */
export function parseCrl(bytes: Uint8Array): ParsedCrl {
  const outer = decodeTlv(bytes, { der: true });
  if ((outer.tag !== 0x30 && outer.tag !== 0xa0) || outer.children.length !== 3) throw new CrlFormatError('CertificateList expected');
  const [tbs, alg, sig] = outer.children as [Tlv, Tlv, Tlv];
  if (tbs.tag !== 0x30 || alg.tag !== 0x30 || sig.tag !== 0x03) throw new CrlFormatError('CertificateList structure');
  const algOid = alg.children[0];
  if (!algOid || algOid.tag !== 0x06 || decodeOid(algOid) !== OID.ecdsaWithSha256) throw new CrlFormatError('not ecdsa-with-SHA256');
  if (sig.value.length < 2 || sig.value[0] !== 0) throw new CrlFormatError('signature BIT STRING');
  const items = [...tbs.children];
  let i = 0;
  if (items[i]?.tag === 0x02) i++; // version
  const innerAlg = items[i++];
  if (!innerAlg || innerAlg.tag !== 0x30 || !bytesEqual(innerAlg.raw, alg.raw)) throw new CrlFormatError('TBSCertList signature');
  const issuer = items[i++];
  if (!issuer || issuer.tag !== 0x30) throw new CrlFormatError('issuer');
  const thisUpdate = items[i++];
  if (!thisUpdate || (thisUpdate.tag !== 0x17 && thisUpdate.tag !== 0x18)) throw new CrlFormatError('thisUpdate');
  if (items[i]?.tag === 0x17 || items[i]?.tag === 0x18) i++; // nextUpdate
  const revoked: Uint8Array[] = [];
  if (items[i]?.tag === 0x30) {
    for (const entry of items[i]!.children) {
      const serial = entry.children[0];
      if (entry.tag !== 0x30 || !serial || serial.tag !== 0x02) throw new CrlFormatError('revokedCertificates');
      revoked.push(new Uint8Array(serial.value));
    }
    i++;
  }
  let crlNumber: bigint | undefined;
  let deltaBase: bigint | undefined;
  let authorityKeyId: Uint8Array | undefined;
  if (items[i]?.tag === 0xa0) {
    const list = items[i]!.children[0];
    if (!list || list.tag !== 0x30) throw new CrlFormatError('crlExtensions');
    for (const ext of list.children) {
      const [oidTlv, second, third] = ext.children;
      if (!oidTlv || oidTlv.tag !== 0x06) throw new CrlFormatError('extension');
      const critical = second?.tag === 0x01 && second.value[0] !== 0;
      const valueTlv = second?.tag === 0x04 ? second : third;
      if (!valueTlv || valueTlv.tag !== 0x04) throw new CrlFormatError('extension value');
      const oid = decodeOid(oidTlv);
      if (oid === OID.crlNumber) crlNumber = bigintOf(decodeTlv(valueTlv.value, { der: true }));
      else if (oid === OID.deltaCrlIndicator) deltaBase = bigintOf(decodeTlv(valueTlv.value, { der: true }));
      else if (oid === OID.authorityKeyIdentifier) {
        const kid = decodeTlv(valueTlv.value, { der: true }).children.find((c) => c.tag === 0x80);
        if (kid) authorityKeyId = new Uint8Array(kid.value);
      } else if (oid === OID.issuingDistributionPoint) {
        /* partitions are not tracked */
      } else if (critical) throw new CrlFormatError(`unknown critical extension ${oid}`);
    }
    i++;
  }
  if (i !== items.length) throw new CrlFormatError('trailing TBSCertList items');
  if (crlNumber === undefined) throw new CrlFormatError('cRLNumber missing');
  const der = outer.tag === 0x30 ? new Uint8Array(outer.raw) : encodeTlv(0x30, outer.value);
  return {
    der,
    tbs: new Uint8Array(tbs.raw),
    signature: new Uint8Array(sig.value.subarray(1)),
    issuerRaw: new Uint8Array(issuer.raw),
    ...(authorityKeyId !== undefined && { authorityKeyId }),
    crlNumber,
    ...(deltaBase !== undefined && { deltaBase }),
    revoked,
  };
}

function skiOf(ci: Certificate): Uint8Array | undefined {
  return ci.extensions.subjectKeyIdentifier?.keyIdentifier;
}

function ciFor(card: CardRuntime, crl: ParsedCrl): Certificate | undefined {
  const cis = card.identity.trustedCis;
  if (crl.authorityKeyId !== undefined) {
    return cis.find((ci) => {
      const ski = skiOf(ci);
      return ski !== undefined && bytesEqual(ski, crl.authorityKeyId!);
    });
  }
  return cis.find((ci) => bytesEqual(ci.subject.raw, crl.issuerRaw));
}

function storedCrl(card: CardRuntime, kind: 'base' | 'delta', ski: string): ParsedCrl | undefined {
  const raw = card.store.getMeta((kind === 'base' ? META_BASE : META_DELTA) + ski);
  if (raw === undefined) return undefined;
  try {
    return parseCrl(raw);
  } catch {
    return undefined;
  }
}

function ok(): Uint8Array {
  return encodeTlv(LOAD_CRL_TAG, encodeTlv(0xa0, new Uint8Array(0)));
}

function error(code: number): Uint8Array {
  return encodeTlv(LOAD_CRL_TAG, encodeTlv(0x81, Uint8Array.of(code)));
}

/** LoadCRL BF35 { A0 crl } -> BF35 { A0 {} } | BF35 { 81 error }. */
export const loadCrl: Es10Handler = (request: Tlv, ctx: Es10Context): Uint8Array => {
  const card = ctx.card;
  try {
    const el = request.constructed ? request.children.find((c) => c.tag === 0xa0) : undefined;
    if (!el || request.children.length !== 1) return error(LoadCrlErrorValue.invalidCRLFormat);
    let crl: ParsedCrl;
    try {
      crl = parseCrl(el.raw);
    } catch {
      return error(LoadCrlErrorValue.invalidCRLFormat);
    }
    if (crl.der.length > MAX_CRL_BYTES) return error(LoadCrlErrorValue.notEnoughMemorySpace);
    const ci = ciFor(card, crl);
    const ciKey = ci?.subjectPublicKeyInfo.key;
    const ski = ci ? skiOf(ci) : undefined;
    if (!ci || !ciKey || !ski) return error(LoadCrlErrorValue.verificationKeyNotFound);
    if (!verifyDer(ciKey, crl.tbs, crl.signature)) return error(LoadCrlErrorValue.invalidSignature);
    const skiHex = toHex(ski);
    const base = storedCrl(card, 'base', skiHex);
    if (crl.deltaBase !== undefined) {
      if (!base || base.crlNumber < crl.deltaBase) return error(LoadCrlErrorValue.baseCrlMissing);
      const delta = storedCrl(card, 'delta', skiHex);
      if (delta && delta.crlNumber >= crl.crlNumber) return error(LoadCrlErrorValue.fresherCrlAlreadyLoaded);
      card.store.setMeta(META_DELTA + skiHex, crl.der);
      return ok();
    }
    if (base && base.crlNumber >= crl.crlNumber) return error(LoadCrlErrorValue.fresherCrlAlreadyLoaded);
    card.store.transaction(() => {
      card.store.setMeta(META_BASE + skiHex, crl.der);
      card.store.deleteMeta(META_DELTA + skiHex);
    });
    return ok();
  } catch {
    return error(LoadCrlErrorValue.undefinedError);
  }
};

/** True when a loaded CRL (base or delta) of the certificate's CI lists its serial number. */
export function isRevoked(card: CardRuntime, cert: Certificate): boolean {
  const aki = cert.extensions.authorityKeyIdentifier?.keyIdentifier;
  if (aki === undefined) return false;
  const skiHex = toHex(aki);
  for (const kind of ['base', 'delta'] as const) {
    const crl = storedCrl(card, kind, skiHex);
    if (crl && crl.revoked.some((s) => bytesEqual(s, cert.serialNumber))) return true;
  }
  return false;
}

export const CRL_HANDLERS: Es10HandlerTable = new Map<number, Es10Handler>([[LOAD_CRL_TAG, loadCrl]]);
