/**
 * ECDSA with SHA-256 on the two SGP.22 curves (NIST P-256 and brainpoolP256r1), on node:crypto.
 *
 * SGP.22 carries signatures inside its ASN.1 as raw r||s (64 bytes, BSI TR-03111 / IEEE P1363, tag 5F37);
 * X.509 certificates and CRLs keep the DER ECDSA-Sig-Value. Both forms and the conversion between them are
 * here, together with EC point <-> KeyObject conversion and private-key PEM import/export.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { open, rename, unlink, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CryptoError } from './errors.js';

export { CryptoError } from './errors.js';
export type { CryptoErrorCode } from './errors.js';

export type Curve = 'P-256' | 'brainpoolP256r1';

export const CURVES: readonly Curve[] = ['P-256', 'brainpoolP256r1'];

interface CurveInfo {
  /** OpenSSL / node name. */
  readonly nodeName: string;
  /** Field/scalar size in bytes. */
  readonly size: number;
  /** Group order n (public constant of the curve). */
  readonly order: bigint;
  /** DER of the namedCurve OBJECT IDENTIFIER (06 len oid). */
  readonly oidDer: Uint8Array;
}

const CURVE_INFO: Record<Curve, CurveInfo> = {
  'P-256': {
    nodeName: 'prime256v1',
    size: 32,
    // SEC 2 / FIPS 186-4: n of secp256r1
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    // 1.2.840.10045.3.1.7
    oidDer: Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07),
  },
  brainpoolP256r1: {
    nodeName: 'brainpoolP256r1',
    size: 32,
    // RFC 5639 §3.4: q of brainpoolP256r1
    order: 0xa9fb57dba1eea9bc3e660a909d838d718c397aa3b561a6f7901e0e82974856a7n,
    // 1.3.36.3.3.2.8.1.1.7
    oidDer: Uint8Array.of(0x06, 0x09, 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07),
  },
};

/** DER of the id-ecPublicKey OID 1.2.840.10045.2.1. */
const EC_PUBLIC_KEY_OID = Uint8Array.of(0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01);

/** Node curve name of a curve. */
export function nodeNameOfCurve(curve: Curve): string {
  return CURVE_INFO[curve].nodeName;
}

/** Curve size in bytes (32 for both SGP.22 curves). */
export function curveSize(curve: Curve): number {
  return CURVE_INFO[curve].size;
}

/** Group order n of a curve. */
export function curveOrder(curve: Curve): bigint {
  return CURVE_INFO[curve].order;
}

function assertCurve(curve: unknown): asserts curve is Curve {
  if (curve !== 'P-256' && curve !== 'brainpoolP256r1') {
    throw new CryptoError('unsupported-curve', `unsupported curve ${String(curve)}`);
  }
}

/** Curves of the keys seen (asymmetricKeyDetails asks OpenSSL on every read; a KeyObject never changes). */
const curveOf = new WeakMap<KeyObject, Curve>();

/** The SGP.22 curve of an EC key (private or public). Throws CryptoError for any other key. */
export function curveOfKey(key: KeyObject): Curve {
  const known = curveOf.get(key);
  if (known !== undefined) return known;
  if (key.type === 'secret' || key.asymmetricKeyType !== 'ec') {
    throw new CryptoError('bad-key', `not an EC key (${key.asymmetricKeyType ?? key.type})`);
  }
  const name = key.asymmetricKeyDetails?.namedCurve;
  let curve: Curve;
  if (name === 'prime256v1' || name === 'P-256' || name === 'secp256r1') curve = 'P-256';
  else if (name === 'brainpoolP256r1') curve = 'brainpoolP256r1';
  else throw new CryptoError('unsupported-curve', `unsupported curve ${String(name)}`);
  curveOf.set(key, curve);
  return curve;
}

function requirePrivate(key: KeyObject): Curve {
  if (key.type !== 'private') throw new CryptoError('bad-key', `a private key is required, got ${key.type}`);
  return curveOfKey(key);
}

function requirePublic(key: KeyObject): Curve {
  if (key.type !== 'public') throw new CryptoError('bad-key', `a public key is required, got ${key.type}`);
  return curveOfKey(key);
}

export interface EcKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** A fresh key pair on `curve`. */
export function generateKeyPair(curve: Curve): EcKeyPair {
  assertCurve(curve);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: CURVE_INFO[curve].nodeName });
  curveOf.set(privateKey, curve);
  curveOf.set(publicKey, curve);
  return { privateKey, publicKey };
}

// ---------------------------------------------------------------------------------------------------------
// Signatures

/** ECDSA-SHA256 signature of `data` as raw r||s (64 bytes). */
export function signRaw(privateKey: KeyObject, data: Uint8Array): Uint8Array {
  requirePrivate(privateKey);
  const sig = nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
}

/**
 * Verify a raw r||s ECDSA-SHA256 signature. Returns false (never throws) for a signature of the wrong
 * length, with r or s outside [1, n-1], or that does not verify. Throws CryptoError only for an unusable key.
 */
export function verifyRaw(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const curve = requirePublic(publicKey);
  const info = CURVE_INFO[curve];
  if (signature.length !== 2 * info.size) return false;
  const r = bytesToBigInt(signature.subarray(0, info.size));
  const s = bytesToBigInt(signature.subarray(info.size));
  if (r <= 0n || r >= info.order || s <= 0n || s >= info.order) return false;
  try {
    return nodeVerify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** ECDSA-SHA256 signature of `data` as a DER ECDSA-Sig-Value (X.509 form). */
export function sign(privateKey: KeyObject, data: Uint8Array): Uint8Array {
  requirePrivate(privateKey);
  const sig = nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'der' });
  return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
}

/**
 * Verify a DER ECDSA-Sig-Value. The DER is parsed strictly first (see {@link derToRaw}); malformed DER,
 * out-of-range values or a bad signature give false.
 */
export function verify(publicKey: KeyObject, data: Uint8Array, derSignature: Uint8Array): boolean {
  const curve = requirePublic(publicKey);
  let raw: Uint8Array;
  try {
    raw = derToRaw(derSignature, CURVE_INFO[curve].size);
  } catch (e) {
    if (e instanceof CryptoError) return false;
    throw e;
  }
  return verifyRaw(publicKey, data, raw);
}

function bytesToBigInt(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = 0; i < b.length; i++) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

function bigIntToBytes(v: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function badSig(msg: string): CryptoError {
  return new CryptoError('bad-signature-encoding', msg);
}

/** Read a DER length at `pos` (short form or 81 xx, minimal). */
function readDerLength(der: Uint8Array, pos: number): { length: number; next: number } {
  if (pos >= der.length) throw badSig('truncated length');
  const l0 = der[pos]!;
  if (l0 < 0x80) return { length: l0, next: pos + 1 };
  if (l0 === 0x81) {
    if (pos + 1 >= der.length) throw badSig('truncated length');
    const l = der[pos + 1]!;
    if (l < 0x80) throw badSig('non-minimal length');
    return { length: l, next: pos + 2 };
  }
  throw badSig('unsupported length form');
}

/** Read a DER INTEGER that must be positive and fit in `size` bytes; returns its value bytes without sign padding. */
function readPositiveInteger(
  der: Uint8Array,
  pos: number,
  end: number,
  size: number,
): { value: Uint8Array; next: number } {
  if (pos >= end || der[pos] !== 0x02) throw badSig('INTEGER expected');
  const { length, next } = readDerLength(der, pos + 1);
  if (length === 0) throw badSig('empty INTEGER');
  if (next + length > end) throw badSig('INTEGER runs past its SEQUENCE');
  let v = der.subarray(next, next + length);
  if (v[0]! & 0x80) throw badSig('negative INTEGER');
  if (v.length > 1 && v[0] === 0 && (v[1]! & 0x80) === 0) throw badSig('non-minimal INTEGER');
  if (v[0] === 0 && v.length > 1) v = v.subarray(1);
  if (v.length > size) throw badSig('INTEGER too large for the curve');
  if (v.every((b) => b === 0)) throw badSig('zero INTEGER');
  return { value: v, next: next + length };
}

/**
 * Strict DER ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }) to raw r||s of 2*size bytes.
 * Rejects (CryptoError 'bad-signature-encoding') non-minimal lengths or integers, negative or zero values,
 * values wider than `size` bytes, missing or extra elements and trailing bytes.
 */
export function derToRaw(der: Uint8Array, size = 32): Uint8Array {
  if (der.length < 2 || der[0] !== 0x30) throw badSig('SEQUENCE expected');
  const { length, next } = readDerLength(der, 1);
  const end = next + length;
  if (end !== der.length) throw badSig(end > der.length ? 'SEQUENCE runs past the end' : 'trailing bytes');
  const r = readPositiveInteger(der, next, end, size);
  const s = readPositiveInteger(der, r.next, end, size);
  if (s.next !== end) throw badSig('extra elements in the SEQUENCE');
  const out = new Uint8Array(2 * size);
  out.set(r.value, size - r.value.length);
  out.set(s.value, 2 * size - s.value.length);
  return out;
}

function integerDer(v: Uint8Array): Uint8Array {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  const trimmed = v.subarray(i);
  const pad = (trimmed[0]! & 0x80) !== 0 ? 1 : 0;
  const out = new Uint8Array(2 + pad + trimmed.length);
  out[0] = 0x02;
  out[1] = pad + trimmed.length;
  out.set(trimmed, 2 + pad);
  return out;
}

/** Raw r||s (even length, at most 2*64 bytes) to a DER ECDSA-Sig-Value. Rejects r or s equal to zero. */
export function rawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0 || raw.length > 128) {
    throw badSig(`raw signature of ${raw.length} bytes`);
  }
  const half = raw.length / 2;
  const r = raw.subarray(0, half);
  const s = raw.subarray(half);
  if (r.every((b) => b === 0) || s.every((b) => b === 0)) throw badSig('r or s is zero');
  const ri = integerDer(r);
  const si = integerDer(s);
  const bodyLen = ri.length + si.length;
  const header = bodyLen < 0x80 ? Uint8Array.of(0x30, bodyLen) : Uint8Array.of(0x30, 0x81, bodyLen);
  const out = new Uint8Array(header.length + bodyLen);
  out.set(header, 0);
  out.set(ri, header.length);
  out.set(si, header.length + ri.length);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Points and keys

function spkiPrefix(curve: Curve): Uint8Array {
  const info = CURVE_INFO[curve];
  const pointLen = 1 + 2 * info.size;
  const algLen = EC_PUBLIC_KEY_OID.length + info.oidDer.length;
  const bitStringLen = 1 + pointLen;
  const totalLen = 2 + algLen + 2 + bitStringLen;
  if (totalLen >= 0x80) throw new CryptoError('unsupported-curve', 'curve too large');
  return Uint8Array.of(0x30, totalLen, 0x30, algLen, ...EC_PUBLIC_KEY_OID, ...info.oidDer, 0x03, bitStringLen, 0x00);
}

const SPKI_PREFIX: Record<Curve, Uint8Array> = {
  'P-256': spkiPrefix('P-256'),
  brainpoolP256r1: spkiPrefix('brainpoolP256r1'),
};

/**
 * Public key from an uncompressed point 04||X||Y (65 bytes for the SGP.22 curves). Throws CryptoError
 * 'bad-point' for any other form or a point not on the curve.
 */
export function publicKeyFromPoint(curve: Curve, point: Uint8Array): KeyObject {
  assertCurve(curve);
  const size = CURVE_INFO[curve].size;
  if (point.length !== 1 + 2 * size || point[0] !== 0x04) {
    throw new CryptoError('bad-point', `expected an uncompressed point of ${1 + 2 * size} bytes`);
  }
  let key: KeyObject;
  try {
    if (curve === 'P-256') {
      // JWK import: half the cost of OpenSSL 3's DER decoder; the point is checked to be on the curve all the same
      const p = Buffer.from(point.buffer, point.byteOffset, point.byteLength);
      key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: p.toString('base64url', 1, 1 + size), y: p.toString('base64url', 1 + size) }, format: 'jwk' });
    } else {
      // node's JWK has no brainpool curves
      const prefix = SPKI_PREFIX[curve];
      const spki = new Uint8Array(prefix.length + point.length);
      spki.set(prefix, 0);
      spki.set(point, prefix.length);
      key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    }
  } catch {
    throw new CryptoError('bad-point', `point is not on ${curve}`);
  }
  curveOf.set(key, curve);
  return key;
}

/** The uncompressed point 04||X||Y of a public key (or of the public half of a private key). */
export function publicKeyToPoint(key: KeyObject): Uint8Array {
  const curve = curveOfKey(key);
  if (curve === 'P-256') {
    // JWK export of the public half (the private scalar never becomes a string): ~15x cheaper than DER
    const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
    const x = typeof jwk.x === 'string' ? Buffer.from(jwk.x, 'base64url') : undefined;
    const y = typeof jwk.y === 'string' ? Buffer.from(jwk.y, 'base64url') : undefined;
    const size = CURVE_INFO[curve].size;
    if (!x || !y || x.length !== size || y.length !== size) throw new CryptoError('bad-key', 'unexpected JWK encoding of the public key');
    const out = new Uint8Array(1 + 2 * size);
    out[0] = 0x04;
    out.set(x, 1);
    out.set(y, 1 + size);
    return out;
  }
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const spki = pub.export({ type: 'spki', format: 'der' });
  const prefix = SPKI_PREFIX[curve];
  const size = CURVE_INFO[curve].size;
  if (spki.length !== prefix.length + 1 + 2 * size || !prefix.every((b, i) => spki[i] === b)) {
    throw new CryptoError('bad-key', 'unexpected SubjectPublicKeyInfo encoding');
  }
  return new Uint8Array(spki.subarray(prefix.length));
}

/** Private key from its scalar d (big-endian, curve size). Rejects d outside [1, n-1]. */
export function privateKeyFromScalar(curve: Curve, d: Uint8Array): KeyObject {
  assertCurve(curve);
  const info = CURVE_INFO[curve];
  if (d.length !== info.size) throw new CryptoError('bad-key', `private scalar of ${d.length} bytes`);
  const v = bytesToBigInt(d);
  if (v <= 0n || v >= info.order) throw new CryptoError('bad-key', 'private scalar out of range');
  // ECPrivateKey (RFC 5915) without the optional public key; OpenSSL recomputes the public point.
  const inner = Uint8Array.of(0x02, 0x01, 0x01, 0x04, d.length, ...d, 0xa0, info.oidDer.length, ...info.oidDer);
  const sec1 = Uint8Array.of(0x30, inner.length, ...inner);
  try {
    return createPrivateKey({ key: Buffer.from(sec1), format: 'der', type: 'sec1' });
  } catch {
    throw new CryptoError('bad-key', 'private scalar rejected');
  }
}

/** The scalar d of a private key (curve size, big-endian). */
export function privateKeyToScalar(key: KeyObject): Uint8Array {
  const curve = requirePrivate(key);
  const size = CURVE_INFO[curve].size;
  // node exports the private scalar of an EC KeyObject only inside DER/JWK (and JWK lacks brainpool).
  const der = key.export({ type: 'sec1', format: 'der' });
  // ECPrivateKey ::= SEQUENCE { version INTEGER 1, privateKey OCTET STRING, ... }
  const lenBytes = der[1]! & 0x80 ? 1 + (der[1]! & 0x7f) : 1;
  const p = 1 + lenBytes; // start of version
  if (der[p] !== 0x02 || der[p + 1] !== 0x01 || der[p + 3] !== 0x04 || der[p + 4] !== size) {
    throw new CryptoError('bad-key', 'unexpected ECPrivateKey encoding');
  }
  return new Uint8Array(der.subarray(p + 5, p + 5 + size));
}

// ---------------------------------------------------------------------------------------------------------
// PEM

interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const label = m[1]!;
    if (m[3] !== label) throw new CryptoError('bad-pem', `PEM block BEGIN ${label} ends with END ${m[3]}`);
    const body = m[2]!.replace(/\s+/g, '');
    if (body.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
      throw new CryptoError('bad-pem', `PEM block ${label} is not valid base64`);
    }
    if (/^(Proc-Type|DEK-Info):/m.test(m[2]!)) {
      throw new CryptoError('bad-pem', 'encrypted PEM keys are not supported');
    }
    blocks.push({ label, der: new Uint8Array(Buffer.from(body, 'base64')) });
  }
  return blocks;
}

/**
 * Read a private key from PEM text: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`, as in the SGP.26
 * test PKI, optionally preceded by an `EC PARAMETERS` block). Exactly one key block is allowed; the key must
 * be on an SGP.22 curve. Encrypted keys are rejected.
 */
export function privateKeyFromPem(text: string): KeyObject {
  const blocks = parsePemBlocks(text);
  const keys = blocks.filter((b) => b.label !== 'EC PARAMETERS');
  if (keys.length !== 1) {
    throw new CryptoError('bad-pem', keys.length === 0 ? 'no private key in PEM' : 'more than one PEM block');
  }
  const block = keys[0]!;
  let type: 'pkcs8' | 'sec1';
  if (block.label === 'PRIVATE KEY') type = 'pkcs8';
  else if (block.label === 'EC PRIVATE KEY') type = 'sec1';
  else throw new CryptoError('bad-pem', `unsupported PEM block ${block.label}`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(block.der), format: 'der', type });
  } catch {
    throw new CryptoError('bad-pem', `undecodable ${block.label}`);
  }
  requirePrivate(key);
  return key;
}

/** PKCS#8 PEM text of a private key. */
export function privateKeyToPem(key: KeyObject): string {
  requirePrivate(key);
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Read a private-key PEM file (see {@link privateKeyFromPem}). */
export async function readPrivateKeyPem(path: string): Promise<KeyObject> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CryptoError('io', `cannot read ${path}: ${(e as Error).message}`);
  }
  return privateKeyFromPem(text);
}

/**
 * Write a private key as PKCS#8 PEM with file mode 0600, atomically: a temporary file in the same
 * directory is created with mode 0600, written, synced and renamed over `path`.
 */
export async function writePrivateKeyPem(path: string, key: KeyObject): Promise<void> {
  const pem = privateKeyToPem(key);
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    const fh = await open(tmp, 'wx', 0o600);
    created = true;
    try {
      await fh.chmod(0o600);
      await fh.writeFile(pem, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    created = false;
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw new CryptoError('io', `cannot write ${path}: ${(e as Error).message}`);
  }
}
