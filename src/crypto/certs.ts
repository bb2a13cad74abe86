/**
 * SGP.22 certificate chain checks (SGP22-NOTES §4.4). This is NOT RFC 5280 path validation: the SGP.26
 * EUM carries a critical nameConstraints `O=RSP Test EUM, serialNumber=89049032` that SGP.22 reads as an
 * EID prefix, which generic validators (OpenSSL, Node's TLS) reject as a subtree violation.
 *
 * Chains:  CI (trusted, self-signed, policy .0) -> EUM (.2) -> eUICC (.1)
 *          CI -> DPauth (.4) / DPpb (.5) / DPtls (.3) / DSauth (.7) / DStls (.6)
 *
 * Checks per certificate, in this order (the first failure is reported; the order makes every SGP.26
 * negative certificate fail with its specific reason):
 *   1. DER structure                               -> malformed
 *   2. issuer: CI selected by AKI keyIdentifier     -> unknown-ci (server / EUM)
 *   3. signature algorithm, curve, same curve as CI -> unsupported-algorithm, unsupported-curve, curve-mismatch
 *   4. signature with the issuer key over the tbs   -> bad-signature
 *   5. issuer name / AKI name the issuer            -> issuer-mismatch
 *   6. validity at `at` (unless checkDates: false)  -> expired, not-yet-valid
 *   7. no unknown critical extension                -> bad-extension
 *   8. role policy X509_OID                              -> bad-policy
 *   9. keyUsage (critical, exact set)               -> bad-key-usage
 *  10. basicConstraints                             -> not-ca, bad-basic-constraints
 *  11. role specifics: EID, SAN, EKU, host name
 */
import { createHash } from 'node:crypto';
import {
  CertificateError,
  X509_OID,
  formatName,
  nameAttributes,
  parseCertificate,
  verifyCertificateSignature,
  type Certificate,
  type CertificatePosition,
  type CertificateErrorReason,
  type GeneralSubtree,
  type KeyUsageName,
  type X509Name,
} from './x509.js';
import { bytesEqual, toHex } from '../util/hex.js';

export { CertificateError } from './x509.js';
export type { CertificateErrorReason, CertificatePosition } from './x509.js';

/** id-rspRole = 2.23.146.1.2.1 and the role policy OIDs under it. */
export const RSP_ROLE = '2.23.146.1.2.1';
export const RSP_POLICY = {
  ci: `${RSP_ROLE}.0`,
  euicc: `${RSP_ROLE}.1`,
  eum: `${RSP_ROLE}.2`,
  DPtls: `${RSP_ROLE}.3`,
  DPauth: `${RSP_ROLE}.4`,
  DPpb: `${RSP_ROLE}.5`,
  DStls: `${RSP_ROLE}.6`,
  DSauth: `${RSP_ROLE}.7`,
} as const;
/**
 * Policy of the newer EUM certificate variants (Ov3/A/B/C) that carry their EID prefixes in extension
 * 2.23.146.1.2.2.0 (after osmo-smdpp; UNCONFIRMED against the GSMA text). Accepted for an EUM.
 */
export const EUM_POLICY_V3 = `${RSP_ROLE}.0.0.0`;

export type ServerRole = 'DPauth' | 'DPpb' | 'DPtls' | 'DSauth' | 'DStls';

export type CertificateInput = Uint8Array | Certificate;

/** Extensions this module understands; any other extension marked critical is rejected. */
const KNOWN_EXTENSIONS: ReadonlySet<string> = new Set([
  X509_OID.subjectKeyIdentifier,
  X509_OID.authorityKeyIdentifier,
  X509_OID.keyUsage,
  X509_OID.basicConstraints,
  X509_OID.certificatePolicies,
  X509_OID.extKeyUsage,
  X509_OID.subjectAltName,
  X509_OID.nameConstraints,
  X509_OID.crlDistributionPoints,
  X509_OID.eidPermittedPrefixes,
]);

function err(reason: CertificateErrorReason, position: CertificatePosition, message: string): CertificateError {
  return new CertificateError(reason, message, position);
}

/**
 * Parsed certificates by their DER (base64) — servers and cards verify the same CI/EUM/DP certificates on
 * every session; parsing (and the KeyObject behind it) dominated their CPU profile. Only successful parses
 * are kept; the parser copies its input, so a caller changing its bytes later cannot change a cached entry.
 */
const parsedCache = new Map<string, Certificate>();
const PARSED_CACHE_MAX = 512;

function asCertificate(c: CertificateInput, position: CertificatePosition): Certificate {
  if (c instanceof Uint8Array) {
    const key = Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('base64');
    const hit = parsedCache.get(key);
    if (hit) return hit;
    const cert = parseCertificate(c, position);
    if (parsedCache.size >= PARSED_CACHE_MAX) parsedCache.delete(parsedCache.keys().next().value as string);
    parsedCache.set(key, cert);
    return cert;
  }
  if (c && typeof c === 'object' && c.der instanceof Uint8Array && c.tbs instanceof Uint8Array) return c;
  throw err('malformed', position, 'not a certificate');
}

/**
 * A parsed certificate from the cache above (parsed once per distinct DER; only successful parses are
 * kept). Throws CertificateError('malformed') tagged with `position`, as parseCertificate.
 */
export function parseCertificateCached(der: Uint8Array, position?: CertificatePosition): Certificate {
  return position === undefined ? asCertificate(der, 'server') : asCertificate(der, position);
}

/**
 * Positive outcomes of certificate signature checks: for a (cached, hence canonical) Certificate, the
 * issuer keys (SPKI DER, base64) its signature verified under. A signature check is a pure function of
 * the TBS bytes, the signature and the issuer key, all fixed for a parsed certificate, so the same
 * certificate under the same key is verified once per process (the CI's self-signature, the EUM, the
 * DPauth/DPpb of every session). Failures are never remembered. Signatures over session data (ES9+/ES10
 * signatures) do not go through here: they are verified every time.
 */
const verifiedUnder = new WeakMap<Certificate, Set<string>>();

function signatureVerifies(cert: Certificate, issuer: Certificate): boolean {
  const key = issuer.subjectPublicKeyInfo.key;
  if (!key) return false;
  const spki = issuer.subjectPublicKeyInfo.der;
  const id = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength).toString('base64');
  const seen = verifiedUnder.get(cert);
  if (seen?.has(id)) return true;
  if (!verifyCertificateSignature(cert, key)) return false;
  if (seen) seen.add(id);
  else verifiedUnder.set(cert, new Set([id]));
  return true;
}

// ----------------------------------------------------------------------------------------------- CIs

/**
 * The trusted CI whose SubjectKeyIdentifier equals `pkid` (SGP.22 CI PKID: the 20-byte key identifier,
 * the content of the SubjectKeyIdentifier OCTET STRING), or undefined.
 */
export function findCiByPkid(trustedCis: readonly CertificateInput[], pkid: Uint8Array): Certificate | undefined {
  for (const c of trustedCis) {
    const ci = asCertificate(c, 'ci');
    const ski = ci.extensions.subjectKeyIdentifier?.keyIdentifier;
    if (ski && bytesEqual(ski, pkid)) return ci;
  }
  return undefined;
}

/** The PKID (SubjectKeyIdentifier) of a CI certificate. */
export function ciPkid(ci: CertificateInput): Uint8Array {
  const c = asCertificate(ci, 'ci');
  const ski = c.extensions.subjectKeyIdentifier?.keyIdentifier;
  if (!ski) throw err('bad-extension', 'ci', 'CI certificate has no subjectKeyIdentifier');
  return ski;
}

function selectCi(trustedCis: readonly CertificateInput[], cert: Certificate, position: CertificatePosition): Certificate {
  const cis = trustedCis.map((c) => asCertificate(c, 'ci'));
  const kid = cert.extensions.authorityKeyIdentifier?.keyIdentifier;
  let ci: Certificate | undefined;
  if (kid) {
    ci = findCiByPkid(cis, kid);
    if (!ci) throw err('unknown-ci', position, `issued by unknown CI (AKI ${toHex(kid)})`);
  } else {
    // SGP.22 certificates always carry an AKI; without one, fall back to the issuer name.
    ci = cis.find((c) => bytesEqual(c.subject.raw, cert.issuer.raw));
    if (!ci) throw err('unknown-ci', position, `no AKI and issuer "${formatName(cert.issuer)}" is not a trusted CI`);
  }
  return ci;
}

// -------------------------------------------------------------------------------------- common checks

interface DateCheck {
  readonly checkDates: boolean;
  readonly at: Date;
}

function dateCheck(opts: { at?: Date; checkDates?: boolean }): DateCheck {
  const at = opts.at ?? new Date();
  if (Number.isNaN(at.getTime())) throw new TypeError('`at` is an invalid Date');
  return { checkDates: opts.checkDates ?? true, at };
}

function checkValidity(cert: Certificate, position: CertificatePosition, d: DateCheck): void {
  if (!d.checkDates) return;
  if (d.at.getTime() > cert.notAfter.getTime()) {
    throw err('expired', position, `expired on ${cert.notAfter.toISOString()} (checked at ${d.at.toISOString()})`);
  }
  if (d.at.getTime() < cert.notBefore.getTime()) {
    throw err('not-yet-valid', position, `not valid before ${cert.notBefore.toISOString()}`);
  }
}

function checkAlgorithmAndCurve(cert: Certificate, ci: Certificate, position: CertificatePosition): void {
  if (cert.signatureAlgorithm !== X509_OID.ecdsaWithSha256) {
    throw err('unsupported-algorithm', position, `signature algorithm ${cert.signatureAlgorithm} (need ecdsa-with-SHA256)`);
  }
  const curve = cert.subjectPublicKeyInfo.curve;
  if (!curve || !cert.subjectPublicKeyInfo.key) {
    throw err(
      'unsupported-curve',
      position,
      `public key ${cert.subjectPublicKeyInfo.algorithmOid}/${cert.subjectPublicKeyInfo.curveOid ?? 'explicit'} is not P-256 or brainpoolP256r1`,
    );
  }
  if (curve !== ci.subjectPublicKeyInfo.curve) {
    throw err('curve-mismatch', position, `key on ${curve} but the CI key is on ${ci.subjectPublicKeyInfo.curve}`);
  }
}

/** Steps 4 and 5: signature by `issuer`, then the issuer name and AKI. */
function checkIssuedBy(cert: Certificate, issuer: Certificate, position: CertificatePosition): void {
  if (!signatureVerifies(cert, issuer)) {
    throw err('bad-signature', position, `signature does not verify with the key of "${formatName(issuer.subject)}"`);
  }
  if (!bytesEqual(cert.issuer.raw, issuer.subject.raw)) {
    throw err(
      'issuer-mismatch',
      position,
      `issuer "${formatName(cert.issuer)}" is not the signer's subject "${formatName(issuer.subject)}"`,
    );
  }
  const aki = cert.extensions.authorityKeyIdentifier?.keyIdentifier;
  const ski = issuer.extensions.subjectKeyIdentifier?.keyIdentifier;
  if (!aki || !ski || !bytesEqual(aki, ski)) {
    throw err('issuer-mismatch', position, 'authorityKeyIdentifier does not equal the issuer subjectKeyIdentifier');
  }
}

function checkCriticalExtensions(cert: Certificate, position: CertificatePosition): void {
  for (const e of cert.extensions.unknown) {
    if (e.critical && !KNOWN_EXTENSIONS.has(e.oid)) {
      throw err('bad-extension', position, `unsupported critical extension ${e.oid}`);
    }
  }
  if (!cert.extensions.subjectKeyIdentifier) {
    throw err('bad-extension', position, 'subjectKeyIdentifier missing');
  }
}

function checkPolicy(cert: Certificate, position: CertificatePosition, accepted: readonly string[]): string {
  const policies = cert.extensions.certificatePolicies?.policies ?? [];
  const found = policies.filter((p) => accepted.includes(p));
  const otherRoles = policies.filter((p) => !accepted.includes(p) && (p === RSP_ROLE || p.startsWith(RSP_ROLE + '.')));
  if (found.length !== 1 || otherRoles.length > 0) {
    throw err(
      'bad-policy',
      position,
      `certificatePolicies [${policies.join(', ')}] must name exactly one of ${accepted.join(' / ')}`,
    );
  }
  return found[0]!;
}

/**
 * keyUsage must be present, critical, contain `required` and nothing outside `allowed` — exactly the
 * profile of the SGP.26 certificates (CI keyCertSign+cRLSign, EUM keyCertSign, leaves digitalSignature,
 * all critical).
 */
function checkKeyUsage(
  cert: Certificate,
  position: CertificatePosition,
  required: readonly KeyUsageName[],
  allowed: readonly KeyUsageName[],
): void {
  const ku = cert.extensions.keyUsage;
  if (!ku) throw err('bad-key-usage', position, 'keyUsage missing');
  if (!ku.critical) throw err('bad-key-usage', position, 'keyUsage must be critical');
  for (const r of required) {
    if (!ku.usages.includes(r)) throw err('bad-key-usage', position, `keyUsage [${ku.usages.join(', ')}] lacks ${r}`);
  }
  for (const u of ku.usages) {
    if (!allowed.includes(u)) throw err('bad-key-usage', position, `keyUsage ${u} not allowed for this role`);
  }
}

function checkCa(cert: Certificate, position: CertificatePosition, pathLen?: number): void {
  const bc = cert.extensions.basicConstraints;
  if (!bc || !bc.cA) throw err('not-ca', position, 'basicConstraints cA=TRUE required');
  if (!bc.critical) throw err('not-ca', position, 'basicConstraints must be critical');
  if (pathLen !== undefined && bc.pathLen !== pathLen) {
    throw err('bad-basic-constraints', position, `pathLenConstraint must be ${pathLen}, is ${bc.pathLen ?? 'absent'}`);
  }
}

function checkNotCa(cert: Certificate, position: CertificatePosition): void {
  if (cert.extensions.basicConstraints?.cA) throw err('bad-basic-constraints', position, 'an end-entity certificate must not be a CA');
}

/** Checks on the selected trusted CI itself (configuration errors, reported against 'ci'). */
function checkCi(ci: Certificate, d: DateCheck): void {
  if (ci.signatureAlgorithm !== X509_OID.ecdsaWithSha256) {
    throw err('unsupported-algorithm', 'ci', `signature algorithm ${ci.signatureAlgorithm}`);
  }
  if (!ci.subjectPublicKeyInfo.curve || !ci.subjectPublicKeyInfo.key) {
    throw err('unsupported-curve', 'ci', 'CI key is not on P-256 or brainpoolP256r1');
  }
  if (!signatureVerifies(ci, ci) || !bytesEqual(ci.issuer.raw, ci.subject.raw)) {
    throw err('bad-signature', 'ci', 'trusted CI certificate is not validly self-signed');
  }
  checkValidity(ci, 'ci', d);
  checkCriticalExtensions(ci, 'ci');
  checkPolicy(ci, 'ci', [RSP_POLICY.ci]);
  checkKeyUsage(ci, 'ci', ['keyCertSign', 'cRLSign'], ['keyCertSign', 'cRLSign']);
  checkCa(ci, 'ci');
}

// ---------------------------------------------------------------------------------------------- eUICC

export interface EuiccChainOptions {
  /** Trusted CI certificates; the one named by the EUM's AKI (its PKID) is used. */
  readonly trustedCis: readonly CertificateInput[];
  readonly eumCert: CertificateInput;
  readonly euiccCert: CertificateInput;
  /** Time of the check; default now. */
  readonly at?: Date;
  /**
   * false skips every notBefore/notAfter check (for the eUICC side, which has no trusted clock; `at` is
   * then ignored). Default true: an SM-DP+ / LPA always checks dates.
   */
  readonly checkDates?: boolean;
  /** If given, the EID in CERT.EUICC must equal it (32 digits) -> 'eid-mismatch'. */
  readonly expectedEid?: string;
  /** Also require the EID check digits (mod 97 = 1). Default false: the SGP.26 negative certs lack them. */
  readonly checkEidDigits?: boolean;
}

export interface EuiccChainResult {
  readonly eid: string;
  readonly ci: Certificate;
  readonly eum: Certificate;
  readonly euicc: Certificate;
}

function prefixesFromNameConstraints(eum: Certificate): {
  permitted: X509Name[];
  excluded: X509Name[];
} {
  const nc = eum.extensions.nameConstraints;
  const dn = (subs: readonly GeneralSubtree[]): X509Name[] =>
    subs.flatMap((s) => (s.base.type === 'directoryName' ? [s.base.value] : []));
  return nc ? { permitted: dn(nc.permitted), excluded: dn(nc.excluded) } : { permitted: [], excluded: [] };
}

/**
 * SGP.22 reading of a directoryName subtree against CERT.EUICC's subject: every attribute of the subtree
 * must appear in the subject; serialNumber compares as an EID prefix, other attributes by value.
 */
function subtreeMatch(subtree: X509Name, subject: X509Name, eid: string): { eidOk: boolean; othersOk: boolean } {
  let eidOk = true;
  let othersOk = true;
  for (const a of subtree.attributes) {
    if (a.oid === X509_OID.serialNumber) {
      if (!eid.startsWith(a.value)) eidOk = false;
    } else if (!nameAttributes(subject, a.oid).includes(a.value)) {
      othersOk = false;
    }
  }
  return { eidOk, othersOk };
}

function checkEidRange(eum: Certificate, euicc: Certificate, eid: string): void {
  const { permitted, excluded } = prefixesFromNameConstraints(eum);
  const extPrefixes = eum.extensions.eidPermittedPrefixes?.prefixes;
  const ncHasEid = permitted.some((p) => p.attributes.some((a) => a.oid === X509_OID.serialNumber));
  if (!ncHasEid && !extPrefixes) {
    throw err('eid-out-of-range', 'euicc', 'the EUM certificate declares no permitted EID prefix');
  }
  if (permitted.length > 0) {
    const results = permitted.map((p) => subtreeMatch(p, euicc.subject, eid));
    if (!results.some((r) => r.eidOk && r.othersOk)) {
      if (!results.some((r) => r.eidOk)) {
        throw err('eid-out-of-range', 'euicc', `EID ${eid} is outside the EUM's permitted prefixes (nameConstraints)`);
      }
      throw err('name-constraint-violation', 'euicc', `subject "${formatName(euicc.subject)}" violates the EUM nameConstraints`);
    }
  }
  for (const x of excluded) {
    const r = subtreeMatch(x, euicc.subject, eid);
    if (r.eidOk && r.othersOk) throw err('eid-out-of-range', 'euicc', `EID ${eid} is in an excluded subtree of the EUM`);
  }
  if (extPrefixes && !extPrefixes.some((p) => p.length > 0 && eid.startsWith(p))) {
    throw err('eid-out-of-range', 'euicc', `EID ${eid} matches none of the EUM's permitted EIN prefixes [${extPrefixes.join(', ')}]`);
  }
}

/** EID check digits (ISO 7064 mod 97-10 as for IBANs): the 32-digit number mod 97 equals 1. */
export function eidCheckDigitsValid(eid: string): boolean {
  if (!/^[0-9]{32}$/.test(eid)) return false;
  let r = 0;
  for (const ch of eid) r = (r * 10 + (ch.charCodeAt(0) - 48)) % 97;
  return r === 1;
}

/**
 * Verify CERT.EUICC -> CERT.EUM -> trusted CI by SGP.22 rules and return the EID (subject serialNumber
 * of CERT.EUICC). Throws CertificateError.
 */
export function verifyEuiccChain(opts: EuiccChainOptions): EuiccChainResult {
  const d = dateCheck(opts);
  const eum = asCertificate(opts.eumCert, 'eum');
  const euicc = asCertificate(opts.euiccCert, 'euicc');

  // CI -> EUM
  const ci = selectCi(opts.trustedCis, eum, 'eum');
  checkCi(ci, d);
  checkAlgorithmAndCurve(eum, ci, 'eum');
  checkIssuedBy(eum, ci, 'eum');
  checkValidity(eum, 'eum', d);
  checkCriticalExtensions(eum, 'eum');
  checkPolicy(eum, 'eum', [RSP_POLICY.eum, EUM_POLICY_V3]);
  checkKeyUsage(eum, 'eum', ['keyCertSign'], ['keyCertSign']);
  checkCa(eum, 'eum', 0);

  // EUM -> eUICC. The EUM is given, so a foreign or self-signed eUICC certificate shows up as a signature
  // that does not verify with the EUM key (bad-signature), not as an unknown CI.
  checkAlgorithmAndCurve(euicc, ci, 'euicc');
  checkIssuedBy(euicc, eum, 'euicc');
  checkValidity(euicc, 'euicc', d);
  checkCriticalExtensions(euicc, 'euicc');
  checkPolicy(euicc, 'euicc', [RSP_POLICY.euicc]);
  checkKeyUsage(euicc, 'euicc', ['digitalSignature'], ['digitalSignature']);
  checkNotCa(euicc, 'euicc');

  // EID
  const serials = nameAttributes(euicc.subject, X509_OID.serialNumber);
  if (serials.length !== 1) throw err('bad-eid', 'euicc', `subject must hold exactly one serialNumber (EID), has ${serials.length}`);
  const eid = serials[0]!;
  if (!/^[0-9]{32}$/.test(eid)) throw err('bad-eid', 'euicc', `subject serialNumber ${JSON.stringify(eid)} is not a 32-digit EID`);
  checkEidRange(eum, euicc, eid);
  if (opts.expectedEid !== undefined && opts.expectedEid !== eid) {
    throw err('eid-mismatch', 'euicc', `EID ${eid} is not the expected ${opts.expectedEid}`);
  }
  if (opts.checkEidDigits && !eidCheckDigitsValid(eid)) {
    throw err('bad-eid', 'euicc', `EID ${eid} has wrong check digits`);
  }
  return { eid, ci, eum, euicc };
}

// --------------------------------------------------------------------------------------------- server

export interface ServerCertificateOptions {
  readonly trustedCis: readonly CertificateInput[];
  readonly cert: CertificateInput;
  readonly role: ServerRole;
  readonly at?: Date;
  /** false skips the validity dates (eUICC side, no clock). Default true. */
  readonly checkDates?: boolean;
  /** TLS roles only: the host name the client connected to; must match a dNSName of the SAN. */
  readonly hostName?: string;
}

export interface ServerCertificateResult {
  readonly ci: Certificate;
  readonly cert: Certificate;
  /** SM-DP+ X509_OID (registeredID of the SAN) for DPauth / DPpb, and for DPtls when present. */
  readonly smdpOid?: string;
}

/** RFC 6125-style host match: case-insensitive, trailing dot ignored, `*.` only as the whole left label. */
export function hostNameMatches(pattern: string, host: string): boolean {
  const norm = (s: string): string => s.toLowerCase().replace(/\.$/, '');
  const p = norm(pattern);
  const h = norm(host);
  if (!p || !h) return false;
  if (p.startsWith('*.')) {
    const suffix = p.slice(1); // ".example.com"
    if (suffix.split('.').length < 3) return false; // no "*.com"
    const dot = h.indexOf('.');
    return dot > 0 && h.slice(dot) === suffix;
  }
  return p === h;
}

/** Verify an SM-DP+ / SM-DS certificate issued directly by a trusted CI. Throws CertificateError. */
export function verifyServerCertificate(opts: ServerCertificateOptions): ServerCertificateResult {
  const d = dateCheck(opts);
  const pos: CertificatePosition = 'server';
  const cert = asCertificate(opts.cert, pos);
  const ci = selectCi(opts.trustedCis, cert, pos);
  checkCi(ci, d);
  checkAlgorithmAndCurve(cert, ci, pos);
  checkIssuedBy(cert, ci, pos);
  checkValidity(cert, pos, d);
  checkCriticalExtensions(cert, pos);
  checkPolicy(cert, pos, [RSP_POLICY[opts.role]]);
  checkKeyUsage(cert, pos, ['digitalSignature'], ['digitalSignature']);
  checkNotCa(cert, pos);

  const san = cert.extensions.subjectAltName?.names ?? [];
  const rids = san.flatMap((n) => (n.type === 'registeredID' ? [n.value] : []));
  const tls = opts.role === 'DPtls' || opts.role === 'DStls';
  if (tls) {
    const eku = cert.extensions.extKeyUsage;
    if (!eku || !eku.purposes.includes(X509_OID.serverAuth)) {
      throw err('bad-key-usage', pos, 'TLS certificate without extendedKeyUsage serverAuth');
    }
    if (opts.hostName !== undefined) {
      const dns = san.flatMap((n) => (n.type === 'dNSName' ? [n.value] : []));
      if (!dns.some((p) => hostNameMatches(p, opts.hostName!))) {
        throw err('wrong-host', pos, `host ${opts.hostName} not in the certificate's DNS names [${dns.join(', ')}]`);
      }
    }
  } else if (rids.length !== 1) {
    throw err('bad-extension', pos, `${opts.role} certificate must carry exactly one registeredID (SM-DP+/SM-DS X509_OID) in its subjectAltName`);
  }
  const isDp = opts.role.startsWith('DP');
  return isDp && rids.length > 0 ? { ci, cert, smdpOid: rids[0]! } : { ci, cert };
}

/** SHA-256 fingerprint (hex) of a certificate, for logs. */
export function certificateFingerprint(cert: CertificateInput): string {
  const c = asCertificate(cert, 'server');
  return createHash('sha256').update(c.der).digest('hex');
}
