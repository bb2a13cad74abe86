/**
 * A test PKI kept in a folder: the SM-DP+ certificates (`esim-smdp serve`, the service's demo SM-DP+), and on
 * request the SM-DS and EUM certificates under the same CI (the service's embedded default).
 *
 * Files (`<name>.pem` and `<name>.der` certificates, `<name>.key.pem` PKCS#8 private keys, mode 0600):
 *   ci, dpauth, dppb, dptls          loadOrCreatePki (pki.json records the curve and the DPtls host name;
 *                                    DPtls is re-issued from the CI key when the host name changes)
 *   dsauth, dstls                    loadOrCreateSmdsPki (dstls.json records the DStls host name)
 *   eum                              loadOrCreateEum (signs OS images of the cards it issued)
 * The folder is created with mode 0700.
 *
 * Layering: crypto/ and smdp/ only.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateKeyFromPem, privateKeyToPem, type Curve } from '../crypto/ecdsa.js';
import { createCi, createDpAuth, createDpPb, createDpTls, createDsAuth, createDsTls, createEum, type IssuedCertificate } from '../crypto/pki.js';
import { fromPem, parseCertificate, toPem } from '../crypto/x509.js';
import { hostOfAddress, type SmdpIdentity } from './identity.js';
import type { SmdsIdentity } from './smds.js';

/** Write a secret file: created 0600 (and chmod'ed, in case it existed with other bits). */
export function writeSecretFile(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Load `<dir>/<name>.pem` + `<name>.key.pem`. */
export function loadIssued(dir: string, name: string, curve: Curve): IssuedCertificate {
  const certPem = readFileSync(join(dir, `${name}.pem`), 'latin1');
  const certDer = fromPem(certPem);
  return { certDer, certPem: toPem(certDer), privateKey: privateKeyFromPem(readFileSync(join(dir, `${name}.key.pem`), 'latin1')), cert: parseCertificate(certDer), curve };
}

/** Write `<dir>/<name>.pem`, `.der` and `.key.pem` (0600). */
export function saveIssued(dir: string, name: string, c: IssuedCertificate): void {
  writeFileSync(join(dir, `${name}.pem`), toPem(c.certDer));
  writeFileSync(join(dir, `${name}.der`), c.certDer);
  writeSecretFile(join(dir, `${name}.key.pem`), privateKeyToPem(c.privateKey));
}

interface PkiMeta {
  curve: Curve;
  tlsHost: string;
}

function readMeta(dir: string): PkiMeta {
  return JSON.parse(readFileSync(join(dir, 'pki.json'), 'utf8')) as PkiMeta;
}

/**
 * Load (or create on first run) the SM-DP+ PKI in `dir`; returns the identity, the CI certificate path and
 * the CI itself (with its private key, to issue further certificates).
 */
export function loadOrCreatePki(dir: string, address: string, curve: Curve = 'P-256'): { identity: SmdpIdentity; ciPath: string; ci: IssuedCertificate } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const host = hostOfAddress(address);
  const meta = join(dir, 'pki.json');
  let ci: IssuedCertificate;
  let dpAuth: IssuedCertificate;
  let dpPb: IssuedCertificate;
  let tls: IssuedCertificate;
  if (existsSync(meta)) {
    const m = readMeta(dir);
    curve = m.curve;
    ci = loadIssued(dir, 'ci', curve);
    dpAuth = loadIssued(dir, 'dpauth', curve);
    dpPb = loadIssued(dir, 'dppb', curve);
    if (m.tlsHost === host) tls = loadIssued(dir, 'dptls', curve);
    else {
      tls = createDpTls(ci, host, { curve });
      saveIssued(dir, 'dptls', tls);
      writeFileSync(meta, JSON.stringify({ curve, tlsHost: host }));
    }
  } else {
    ci = createCi({ curve });
    dpAuth = createDpAuth(ci, { curve });
    dpPb = createDpPb(ci, { curve });
    tls = createDpTls(ci, host, { curve });
    saveIssued(dir, 'ci', ci);
    saveIssued(dir, 'dpauth', dpAuth);
    saveIssued(dir, 'dppb', dpPb);
    saveIssued(dir, 'dptls', tls);
    writeFileSync(meta, JSON.stringify({ curve, tlsHost: host }));
  }
  return {
    identity: {
      address,
      ciCerts: [ci.certDer],
      dpAuth: { certDer: dpAuth.certDer, privateKey: dpAuth.privateKey },
      dpPb: { certDer: dpPb.certDer, privateKey: dpPb.privateKey },
      tls: { certPem: tls.certPem, keyPem: privateKeyToPem(tls.privateKey) },
    },
    ciPath: join(dir, 'ci.pem'),
    ci,
  };
}

/** The CI of a PKI folder made by {@link loadOrCreatePki} (throws when there is none). */
export function loadPkiCi(dir: string): IssuedCertificate {
  return loadIssued(dir, 'ci', readMeta(dir).curve);
}

/**
 * Load (or create under the folder's CI, which must exist) the SM-DS certificates: DSauth and DStls for the
 * host of `address` (re-issued when the host changes). Returns the SM-DS identity.
 */
export function loadOrCreateSmdsPki(dir: string, address: string): SmdsIdentity {
  const ci = loadPkiCi(dir);
  const host = hostOfAddress(address);
  const metaPath = join(dir, 'dstls.json');
  let dsAuth: IssuedCertificate;
  let dsTls: IssuedCertificate;
  if (existsSync(join(dir, 'dsauth.key.pem'))) dsAuth = loadIssued(dir, 'dsauth', ci.curve);
  else {
    dsAuth = createDsAuth(ci, { curve: ci.curve });
    saveIssued(dir, 'dsauth', dsAuth);
  }
  const tlsHost = existsSync(metaPath) ? (JSON.parse(readFileSync(metaPath, 'utf8')) as { tlsHost?: string }).tlsHost : undefined;
  if (tlsHost === host && existsSync(join(dir, 'dstls.key.pem'))) dsTls = loadIssued(dir, 'dstls', ci.curve);
  else {
    dsTls = createDsTls(ci, host, { curve: ci.curve });
    saveIssued(dir, 'dstls', dsTls);
    writeFileSync(metaPath, JSON.stringify({ tlsHost: host }));
  }
  return {
    address,
    ciCerts: [ci.certDer],
    dsAuth: { certDer: dsAuth.certDer, privateKey: dsAuth.privateKey },
    tls: { certPem: dsTls.certPem, keyPem: privateKeyToPem(dsTls.privateKey) },
  };
}

/** Load (or create under the folder's CI) the EUM certificate and key (`eum.*`). */
export function loadOrCreateEum(dir: string): IssuedCertificate {
  const ci = loadPkiCi(dir);
  if (existsSync(join(dir, 'eum.key.pem'))) return loadIssued(dir, 'eum', ci.curve);
  const eum = createEum(ci, { curve: ci.curve });
  saveIssued(dir, 'eum', eum);
  return eum;
}
