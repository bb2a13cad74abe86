/**
 * The SM-DP+ identity: the address it answers for, the CI certificate(s) it trusts, CERT.DPauth and
 * CERT.DPpb with their private keys, and the DPtls certificate/key for HTTPS.
 *
 *  - {@link createSmdpIdentity}: a fresh test PKI (src/crypto/pki.ts), or DP certificates under a given CI;
 *  - {@link loadSgp26SmdpIdentity}: the SGP.26 test CI, DPauth and DPpb files, with a fresh DPtls issued
 *    from SK_CI (most SGP.26 TLS certificates have expired).
 *
 * Layering: crypto/ and util/ only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { ciPkid, verifyServerCertificate } from '../crypto/certs.js';
import { privateKeyFromPem, privateKeyToPem, type Curve } from '../crypto/ecdsa.js';
import { createCi, createDpAuth, createDpPb, createDpTls, type IssuedCertificate } from '../crypto/pki.js';
import { fromPem, parseCertificate, toPem } from '../crypto/x509.js';

export interface SmdpIdentity {
  /** The SM-DP+ address (FQDN[:port]) it answers for (serverSigned1.serverAddress). */
  address: string;
  /** DER; the CI(s) it trusts for eUICC chains and whose PKIDs it accepts. */
  ciCerts: Uint8Array[];
  dpAuth: { certDer: Uint8Array; privateKey: KeyObject };
  dpPb: { certDer: Uint8Array; privateKey: KeyObject };
  tls: { certPem: string; keyPem: string; chainPem?: string };
}

export class SmdpIdentityError extends Error {
  override readonly name = 'SmdpIdentityError';
}

export interface CreateSmdpIdentityOptions {
  address: string;
  /** Issue the DP certificates under this CI (default: a new test CI on `curve`). */
  ci?: IssuedCertificate;
  /** Default: the CI's curve, or P-256. */
  curve?: Curve;
  /** DNS name of the DPtls certificate (default: the host part of `address`). */
  tlsHost?: string;
  /** SM-DP+ OID (registeredID of DPauth/DPpb/DPtls), default 2.999.10. */
  oid?: string;
}

/** The host part of an address `host[:port]` (IPv6 literals in brackets keep their brackets stripped). */
export function hostOfAddress(address: string): string {
  const a = address.trim();
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    return end > 0 ? a.slice(1, end) : a;
  }
  const i = a.lastIndexOf(':');
  return i >= 0 && a.indexOf(':') === i ? a.slice(0, i) : a;
}

/** A new SM-DP+ identity (test PKI). */
export function createSmdpIdentity(opts: CreateSmdpIdentityOptions): SmdpIdentity & { ci: IssuedCertificate } {
  const curve: Curve = opts.curve ?? opts.ci?.curve ?? 'P-256';
  const ci = opts.ci ?? createCi({ curve });
  const oid = opts.oid !== undefined ? { oid: opts.oid } : {};
  const dpAuth = createDpAuth(ci, { curve, ...oid });
  const dpPb = createDpPb(ci, { curve, ...oid });
  const tls = createDpTls(ci, opts.tlsHost ?? hostOfAddress(opts.address), { curve, ...oid });
  return {
    address: opts.address,
    ciCerts: [ci.certDer],
    dpAuth: { certDer: dpAuth.certDer, privateKey: dpAuth.privateKey },
    dpPb: { certDer: dpPb.certDer, privateKey: dpPb.privateKey },
    tls: { certPem: tls.certPem, keyPem: privateKeyToPem(tls.privateKey) },
    ci,
  };
}

export interface Sgp26IdentityOptions {
  /** The sgp26/ folder of the reference data. */
  dir: string;
  address: string;
  /** NIST (P-256, default) or BRP (brainpoolP256r1). */
  curve?: Curve;
  /** Use DP2 (second SM-DP+, "TEST SM-DP+2") instead of DP. */
  second?: boolean;
  /** DNS name of the fresh DPtls certificate (default: the host part of `address`). */
  tlsHost?: string;
}

function readCert(path: string): Uint8Array {
  const raw = readFileSync(path);
  const text = raw.toString('latin1');
  return text.includes('-----BEGIN CERTIFICATE-----') ? fromPem(text) : new Uint8Array(raw);
}

/**
 * The SGP.26 SM-DP+ identity: CERT_CI + SK_CI, CERT_S_SM_DP(2)auth/pb with their SK, and a fresh DPtls
 * (key generated here) issued from SK_CI for `tlsHost`. The returned `ci` can issue further certificates.
 */
export function loadSgp26SmdpIdentity(o: Sgp26IdentityOptions): SmdpIdentity & { ci: IssuedCertificate } {
  const sfx = (o.curve ?? 'P-256') === 'P-256' ? 'NIST' : 'BRP';
  const dp = o.second ? 'DP2' : 'DP';
  try {
    const ciDer = readCert(join(o.dir, 'CertificateIssuer', `CERT_CI_ECDSA_${sfx}.der`));
    const ciCert = parseCertificate(ciDer, 'ci');
    const ci: IssuedCertificate = {
      certDer: ciDer,
      certPem: toPem(ciDer),
      privateKey: privateKeyFromPem(readFileSync(join(o.dir, 'CertificateIssuer', `SK_CI_ECDSA_${sfx}.pem`), 'latin1')),
      cert: ciCert,
      curve: sfx === 'NIST' ? 'P-256' : 'brainpoolP256r1',
    };
    ciPkid(ciDer);
    const authDer = readCert(join(o.dir, 'DPauth', `CERT_S_SM_${dp}auth_ECDSA_${sfx}.der`));
    const pbDer = readCert(join(o.dir, 'DPpb', `CERT_S_SM_${dp}pb_ECDSA_${sfx}.der`));
    const authKey = privateKeyFromPem(readFileSync(join(o.dir, 'DPauth', `SK_S_SM_${dp}auth_ECDSA_${sfx}.pem`), 'latin1'));
    const pbKey = privateKeyFromPem(readFileSync(join(o.dir, 'DPpb', `SK_S_SM_${dp}pb_ECDSA_${sfx}.pem`), 'latin1'));
    const auth = verifyServerCertificate({ trustedCis: [ciDer], cert: authDer, role: 'DPauth' });
    verifyServerCertificate({ trustedCis: [ciDer], cert: pbDer, role: 'DPpb' });
    const tls = createDpTls(ci, o.tlsHost ?? hostOfAddress(o.address), auth.smdpOid !== undefined ? { oid: auth.smdpOid } : {});
    return {
      address: o.address,
      ciCerts: [ciDer],
      dpAuth: { certDer: authDer, privateKey: authKey },
      dpPb: { certDer: pbDer, privateKey: pbKey },
      tls: { certPem: tls.certPem, keyPem: privateKeyToPem(tls.privateKey) },
      ci,
    };
  } catch (e) {
    throw new SmdpIdentityError(`cannot load the SGP.26 SM-DP+ identity from ${o.dir}: ${(e as Error).message}`, { cause: e });
  }
}

/** The SM-DP+ OID: the registeredID in CERT.DPauth's subjectAltName. */
export function smdpOidOf(identity: SmdpIdentity): string {
  const r = verifyServerCertificate({ trustedCis: identity.ciCerts, cert: identity.dpAuth.certDer, role: 'DPauth', checkDates: false });
  if (r.smdpOid === undefined) throw new SmdpIdentityError('CERT.DPauth carries no SM-DP+ OID');
  return r.smdpOid;
}
