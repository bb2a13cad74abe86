/**
 * Identity of a software eUICC: EID, CERT.EUICC + SK.EUICC, CERT.EUM, and the CI certificates the card
 * trusts. Created from a (test) CI/EUM, loaded from PEM/DER files (e.g. the SGP.26 test identity), and
 * persisted in the card's state file (meta keys 'identity.*'; the file is mode 0600).
 */
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { randomInt } from 'node:crypto';
import { createCi, createEum, createEuicc, type IssuedCertificate } from '../crypto/pki.js';
import { curveOfKey, privateKeyFromPem, publicKeyToPoint, signRaw, type Curve } from '../crypto/ecdsa.js';
import { X509_OID, fromPem, parseCertificate, serialNumberAttribute, type Certificate } from '../crypto/x509.js';
import { ciPkid } from '../crypto/certs.js';
import { computeEidCheckDigits, verifyEid } from '../util/eid.js';
import { encodeEid } from '../util/bcd.js';
import { bytesEqual, fromBase64, toBase64 } from '../util/hex.js';
import type { CardStore } from './state.js';

export interface EuiccIdentity {
  /** 32 digits. */
  readonly eid: string;
  /** 16 bytes plain BCD. */
  readonly eidBytes: Uint8Array;
  readonly curve: Curve;
  /** CERT.EUICC, DER. */
  readonly euiccCertificate: Uint8Array;
  /** CERT.EUM, DER. */
  readonly eumCertificate: Uint8Array;
  /** CI certificates the card verifies servers against. */
  readonly trustedCis: readonly Certificate[];
  readonly ciPkidsForVerification: readonly Uint8Array[];
  readonly ciPkidsForSigning: readonly Uint8Array[];
  /** ECDSA-SHA256 raw r||s with SK.EUICC. */
  sign(data: Uint8Array): Uint8Array;
}

export type IdentityErrorCode = 'invalid-eid' | 'key-mismatch' | 'bad-file' | 'missing' | 'not-exportable';

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  constructor(
    readonly code: IdentityErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Private keys of identities made by this module (needed by saveIdentity; never exposed otherwise). */
const PRIVATE_KEYS = new WeakMap<EuiccIdentity, KeyObject>();

function makeIdentity(euiccDer: Uint8Array, eumDer: Uint8Array, key: KeyObject, cis: readonly Certificate[]): EuiccIdentity {
  const cert = parseCertificate(euiccDer, 'euicc');
  parseCertificate(eumDer, 'eum');
  const eid = serialNumberAttribute(cert.subject);
  if (eid === undefined || !/^[0-9]{32}$/.test(eid)) {
    throw new IdentityError('invalid-eid', `CERT.EUICC subject serialNumber is not a 32-digit EID: ${String(eid)}`);
  }
  const curve = curveOfKey(key);
  const certPoint = cert.subjectPublicKeyInfo.point;
  if (!bytesEqual(publicKeyToPoint(key), certPoint)) {
    throw new IdentityError('key-mismatch', 'SK.EUICC does not match the public key of CERT.EUICC');
  }
  const pkids = cis.map((c) => ciPkid(c));
  const id: EuiccIdentity = Object.freeze({
    eid,
    eidBytes: encodeEid(eid),
    curve,
    euiccCertificate: new Uint8Array(euiccDer),
    eumCertificate: new Uint8Array(eumDer),
    trustedCis: Object.freeze([...cis]),
    ciPkidsForVerification: Object.freeze(pkids.map((p) => new Uint8Array(p))),
    ciPkidsForSigning: Object.freeze(pkids.map((p) => new Uint8Array(p))),
    sign: (data: Uint8Array) => signRaw(key, data),
  });
  PRIVATE_KEYS.set(id, key);
  return id;
}

/** The EID prefixes the EUM may issue (nameConstraints serialNumber, or the GSMA EID extension). */
function eumPrefixes(eum: Certificate): string[] {
  const out: string[] = [];
  for (const s of eum.extensions.nameConstraints?.permitted ?? []) {
    if (s.base.type === 'directoryName') {
      const sn = s.base.value.attributes.find((a) => a.oid === X509_OID.serialNumber)?.value;
      if (sn && /^[0-9]{1,30}$/.test(sn)) out.push(sn);
    }
  }
  for (const p of eum.extensions.eidPermittedPrefixes?.prefixes ?? []) if (/^[0-9]{1,30}$/.test(p)) out.push(p);
  return out;
}

/** A random EID under `prefix` (digits), with valid check digits. */
export function generateEid(prefix = '89049032'): string {
  if (!/^[0-9]{0,30}$/.test(prefix)) throw new IdentityError('invalid-eid', `bad EID prefix ${prefix}`);
  let body = prefix;
  while (body.length < 30) body += String(randomInt(10));
  return computeEidCheckDigits(body);
}

/**
 * A new identity. Generates a test CI (on `curve`, default P-256) and EUM when absent; the EID is `eid`
 * (its check digits must be valid) or a random one under the EUM's first permitted prefix (default
 * 89049032) with valid check digits. The card trusts exactly the CI given/created here.
 */
export function createIdentity(opts: { curve?: Curve; eid?: string; ci?: IssuedCertificate; eum?: IssuedCertificate } = {}): {
  identity: EuiccIdentity;
  ci: IssuedCertificate;
  eum: IssuedCertificate;
} {
  const curve: Curve = opts.curve ?? opts.eum?.curve ?? opts.ci?.curve ?? 'P-256';
  const ci = opts.ci ?? createCi({ curve });
  const eum = opts.eum ?? createEum(ci, { curve });
  let eid: string;
  if (opts.eid !== undefined) {
    let ok = false;
    try {
      ok = verifyEid(opts.eid);
    } catch (e) {
      throw new IdentityError('invalid-eid', (e as Error).message, { cause: e });
    }
    if (!ok) throw new IdentityError('invalid-eid', `EID ${opts.eid} has wrong check digits`);
    eid = opts.eid;
  } else {
    eid = generateEid(eumPrefixes(eum.cert)[0] ?? '89049032');
  }
  const euicc = createEuicc(eum, eid, { curve });
  return { identity: makeIdentity(euicc.certDer, eum.certDer, euicc.privateKey, [ci.cert]), ci, eum };
}

function readCertFile(path: string, position: 'ci' | 'eum' | 'euicc'): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw new IdentityError('bad-file', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  const text = raw.toString('latin1');
  const der = text.includes('-----BEGIN CERTIFICATE-----') ? fromPem(text) : new Uint8Array(raw);
  parseCertificate(der, position);
  return der;
}

/**
 * An identity from files: certificates as DER or PEM, the key as PEM (PKCS#8 or SEC1, optionally with an
 * EC PARAMETERS block, as the SGP.26 SK_*.pem files). The EID is the CERT.EUICC subject serialNumber.
 */
export function loadIdentityFiles(opts: { euiccCert: string; euiccKey: string; eumCert: string; ciCerts: string[] }): EuiccIdentity {
  const euicc = readCertFile(opts.euiccCert, 'euicc');
  const eum = readCertFile(opts.eumCert, 'eum');
  const cis = opts.ciCerts.map((p) => parseCertificate(readCertFile(p, 'ci'), 'ci'));
  let keyText: string;
  try {
    keyText = readFileSync(opts.euiccKey, 'utf8');
  } catch (e) {
    throw new IdentityError('bad-file', `cannot read ${opts.euiccKey}: ${(e as Error).message}`, { cause: e });
  }
  return makeIdentity(euicc, eum, privateKeyFromPem(keyText), cis);
}

/** Meta keys written by saveIdentity. */
export const IDENTITY_META = {
  euiccCertificate: 'identity.euiccCertificate',
  eumCertificate: 'identity.eumCertificate',
  privateKey: 'identity.privateKey',
  trustedCis: 'identity.trustedCis',
} as const;

/** Persist an identity (made by this module) into the store, private key included (PKCS#8 DER). */
export function saveIdentity(store: CardStore, id: EuiccIdentity): void {
  const key = PRIVATE_KEYS.get(id);
  if (!key) throw new IdentityError('not-exportable', 'identity was not created by createIdentity/loadIdentityFiles/loadIdentity');
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  store.transaction(() => {
    store.setMeta(IDENTITY_META.euiccCertificate, id.euiccCertificate);
    store.setMeta(IDENTITY_META.eumCertificate, id.eumCertificate);
    store.setMeta(IDENTITY_META.privateKey, new Uint8Array(pkcs8));
    store.setMetaString(IDENTITY_META.trustedCis, JSON.stringify(id.trustedCis.map((c) => toBase64(c.der))));
  });
}

/** The identity saved in the store. Throws IdentityError('missing') when there is none. */
export function loadIdentity(store: CardStore): EuiccIdentity {
  const euicc = store.getMeta(IDENTITY_META.euiccCertificate);
  const eum = store.getMeta(IDENTITY_META.eumCertificate);
  const sk = store.getMeta(IDENTITY_META.privateKey);
  const cisJson = store.getMetaString(IDENTITY_META.trustedCis);
  if (!euicc || !eum || !sk || cisJson === undefined) throw new IdentityError('missing', 'no identity in this state file');
  let key: KeyObject;
  let cis: Certificate[];
  try {
    key = privateKeyFromPem(
      `-----BEGIN PRIVATE KEY-----\n${(toBase64(sk).match(/.{1,64}/g) ?? []).join('\n')}\n-----END PRIVATE KEY-----\n`,
    );
    const list = JSON.parse(cisJson) as unknown;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new Error('trustedCis is not a list of strings');
    cis = (list as string[]).map((b) => parseCertificate(fromBase64(b), 'ci'));
  } catch (e) {
    throw new IdentityError('bad-file', `stored identity unreadable: ${(e as Error).message}`, { cause: e });
  }
  return makeIdentity(euicc, eum, key, cis);
}
