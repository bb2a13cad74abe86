import {
  X509Certificate,
  createECDH,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  type KeyObject,
} from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithReference, readRef, readRefJson, readRefText } from '../../test/support/reference.js';
import { fromHex, toHex } from '../util/hex.js';
import {
  CURVES,
  curveOfKey,
  curveOrder,
  derToRaw,
  generateKeyPair,
  nodeNameOfCurve,
  privateKeyFromPem,
  privateKeyFromScalar,
  privateKeyToPem,
  privateKeyToScalar,
  publicKeyFromPoint,
  publicKeyToPoint,
  rawToDer,
  readPrivateKeyPem,
  sign,
  signRaw,
  verify,
  verifyRaw,
  writePrivateKeyPem,
  type Curve,
} from './ecdsa.js';
import { CryptoError } from './errors.js';

function cryptoErr(fn: () => unknown): CryptoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CryptoError);
    return e as CryptoError;
  }
  throw new Error('expected a CryptoError');
}

function flip(b: Uint8Array, i: number): Uint8Array {
  const c = new Uint8Array(b);
  c[i]! ^= 0x01;
  return c;
}

function bigToBytes(v: bigint, n = 32): Uint8Array {
  return fromHex(v.toString(16).padStart(n * 2, '0'));
}

interface SigCase {
  id: string;
  signerCertificate: string;
  signerPrivateKey: string;
  message: string;
  signatureTlv: string;
  signatureRS: string;
}

function certKey(rel: string): KeyObject {
  return new X509Certificate(readRef(...rel.split('/'))).publicKey;
}

describeWithReference('ES9+/ES8+ signatures (vectors/es9p-signatures.json)', () => {
  const file = readRefJson<{ cases: SigCase[] }>('vectors', 'es9p-signatures.json');

  it('has the five signatures', () => {
    expect(file.cases.map((c) => c.id)).toEqual([
      'serverSignature1',
      'euiccSignature1',
      'smdpSignature2',
      'euiccSignature2',
      'initialiseSecureChannel.smdpSign',
    ]);
  });

  for (const c of file.cases) {
    it(`${c.id} verifies with the signer certificate's key, and a one-byte change fails`, () => {
      const pub = certKey(c.signerCertificate);
      expect(curveOfKey(pub)).toBe('P-256');
      const msg = fromHex(c.message);
      const sig = fromHex(c.signatureRS);
      expect(c.signatureTlv).toBe('5f3740' + c.signatureRS);
      expect(verifyRaw(pub, msg, sig)).toBe(true);
      expect(verify(pub, msg, rawToDer(sig))).toBe(true);
      expect(verifyRaw(pub, flip(msg, 0), sig)).toBe(false);
      expect(verifyRaw(pub, flip(msg, msg.length - 1), sig)).toBe(false);
      expect(verifyRaw(pub, msg, flip(sig, 5))).toBe(false);
      expect(verifyRaw(pub, msg, flip(sig, 40))).toBe(false);
      // the SGP.26 private key on file belongs to that certificate
      const sk = privateKeyFromPem(readRefText(...c.signerPrivateKey.split('/')));
      expect(toHex(publicKeyToPoint(sk))).toBe(toHex(publicKeyToPoint(pub)));
    });
  }

  for (const [curve, suffix] of [
    ['P-256', 'NIST'],
    ['brainpoolP256r1', 'BRP'],
  ] as const) {
    it(`signs and verifies with the SGP.26 DPauth key on ${curve} (SEC1 PEM file)`, () => {
      const text = readRefText('sgp26', 'DPauth', `SK_S_SM_DPauth_ECDSA_${suffix}.pem`);
      // the SGP.26 files are SEC1 ("EC PRIVATE KEY") preceded by an "EC PARAMETERS" block
      expect(text).toContain('-----BEGIN EC PARAMETERS-----');
      expect(text).toContain('-----BEGIN EC PRIVATE KEY-----');
      const sk = privateKeyFromPem(text);
      expect(curveOfKey(sk)).toBe(curve);
      const pub = certKey(`sgp26/DPauth/CERT_S_SM_DPauth_ECDSA_${suffix}.der`);
      expect(curveOfKey(pub)).toBe(curve);
      const msg = new TextEncoder().encode(`serverSigned1 on ${curve}`);
      const raw = signRaw(sk, msg);
      expect(raw.length).toBe(64);
      expect(verifyRaw(pub, msg, raw)).toBe(true);
      expect(verifyRaw(pub, flip(msg, 3), raw)).toBe(false);
      const der = sign(sk, msg);
      expect(der[0]).toBe(0x30);
      expect(verify(pub, msg, der)).toBe(true);
      expect(verifyRaw(pub, msg, derToRaw(der))).toBe(true);
      expect(verify(pub, flip(msg, 0), der)).toBe(false);
      // the public key in the PEM file matches the certificate
      const pkText = readRefText('sgp26', 'DPauth', `PK_S_SM_DPauth_ECDSA_${suffix}.pem`);
      expect(toHex(publicKeyToPoint(createPublicKey(pkText)))).toBe(toHex(publicKeyToPoint(pub)));
      expect(toHex(publicKeyToPoint(sk))).toBe(toHex(publicKeyToPoint(pub)));
    });
  }
});

describe('ECDSA on both curves', () => {
  for (const curve of CURVES) {
    it(`${curve}: raw and DER sign/verify round trip, points convert both ways`, () => {
      const { privateKey, publicKey } = generateKeyPair(curve);
      expect(curveOfKey(privateKey)).toBe(curve);
      expect(privateKey.asymmetricKeyDetails?.namedCurve).toBe(nodeNameOfCurve(curve));
      const data = Uint8Array.of(1, 2, 3);
      const raw = signRaw(privateKey, data);
      expect(verifyRaw(publicKey, data, raw)).toBe(true);
      expect(verify(publicKey, data, rawToDer(raw))).toBe(true);
      expect(verify(publicKey, data, sign(privateKey, data))).toBe(true);
      const point = publicKeyToPoint(publicKey);
      expect(point.length).toBe(65);
      expect(toHex(publicKeyToPoint(privateKey))).toBe(toHex(point));
      const back = publicKeyFromPoint(curve, point);
      expect(verifyRaw(back, data, raw)).toBe(true);
      const d = privateKeyToScalar(privateKey);
      expect(toHex(publicKeyToPoint(privateKeyFromScalar(curve, d)))).toBe(toHex(point));
    });

    it(`${curve}: verifyRaw is false (no throw) for wrong lengths and out-of-range r or s`, () => {
      const { privateKey, publicKey } = generateKeyPair(curve);
      const data = Uint8Array.of(9);
      const raw = signRaw(privateKey, data);
      const n = curveOrder(curve);
      const r = raw.subarray(0, 32);
      const s = raw.subarray(32);
      const cat = (a: Uint8Array, b: Uint8Array) => Uint8Array.of(...a, ...b);
      expect(verifyRaw(publicKey, data, raw.subarray(0, 63))).toBe(false);
      expect(verifyRaw(publicKey, data, Uint8Array.of(...raw, 0))).toBe(false);
      expect(verifyRaw(publicKey, data, new Uint8Array(0))).toBe(false);
      expect(verifyRaw(publicKey, data, new Uint8Array(64))).toBe(false);
      expect(verifyRaw(publicKey, data, cat(new Uint8Array(32), s))).toBe(false);
      expect(verifyRaw(publicKey, data, cat(r, bigToBytes(n)))).toBe(false);
      expect(verifyRaw(publicKey, data, cat(bigToBytes(n), s))).toBe(false);
      expect(verifyRaw(publicKey, data, new Uint8Array(64).fill(0xff))).toBe(false);
      expect(verify(publicKey, data, Uint8Array.of(0x30, 0x00))).toBe(false);
      expect(verify(publicKey, data, new Uint8Array(0))).toBe(false);
    });

    it(`${curve}: the group order constant is the one OpenSSL enforces`, () => {
      const n = curveOrder(curve);
      const ecdh = createECDH(nodeNameOfCurve(curve));
      expect(() => ecdh.setPrivateKey(bigToBytes(n - 1n))).not.toThrow();
      expect(() => ecdh.setPrivateKey(bigToBytes(n))).toThrow();
      expect(cryptoErr(() => privateKeyFromScalar(curve, bigToBytes(n))).code).toBe('bad-key');
      expect(cryptoErr(() => privateKeyFromScalar(curve, new Uint8Array(32))).code).toBe('bad-key');
      expect(privateKeyFromScalar(curve, bigToBytes(n - 1n)).type).toBe('private');
    });
  }

  it('rejects keys that are not on an SGP.22 curve, and keys of the wrong kind', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect(cryptoErr(() => curveOfKey(p384.privateKey)).code).toBe('unsupported-curve');
    expect(cryptoErr(() => signRaw(p384.privateKey, Uint8Array.of(1))).code).toBe('unsupported-curve');
    const ed = generateKeyPairSync('ed25519');
    expect(cryptoErr(() => curveOfKey(ed.publicKey)).code).toBe('bad-key');
    const { privateKey, publicKey } = generateKeyPair('P-256');
    expect(cryptoErr(() => signRaw(publicKey, Uint8Array.of(1))).code).toBe('bad-key');
    expect(cryptoErr(() => verifyRaw(privateKey, Uint8Array.of(1), new Uint8Array(64))).code).toBe('bad-key');
    expect(cryptoErr(() => generateKeyPair('P-384' as Curve)).code).toBe('unsupported-curve');
    expect(cryptoErr(() => publicKeyFromPoint('P-256', new Uint8Array(64))).code).toBe('bad-point');
  });
});

describe('DER <-> raw signature conversion', () => {
  const r32 = (first: number) => {
    const b = new Uint8Array(32).fill(0x11);
    b[0] = first;
    return b;
  };

  it('adds a 00 byte before an integer with the high bit set, and removes it again', () => {
    const raw = Uint8Array.of(...r32(0x80), ...r32(0xff));
    const der = rawToDer(raw);
    expect(toHex(der.subarray(0, 5))).toBe('3046022100');
    expect(der.length).toBe(0x48);
    expect(toHex(derToRaw(der))).toBe(toHex(raw));
  });

  it('drops leading zero bytes of r/s and restores them', () => {
    const r = new Uint8Array(32);
    r[31] = 0x01; // r = 1
    const s = r32(0x00);
    s[1] = 0x00;
    s[2] = 0x85; // s = 0x0000 85 11.. -> 30 bytes, high bit -> 00 85 ..
    const raw = Uint8Array.of(...r, ...s);
    const der = rawToDer(raw);
    expect(toHex(der)).toBe('3024' + '020101' + '021f0085' + '11'.repeat(29));
    expect(toHex(derToRaw(der))).toBe(toHex(raw));
  });

  it('accepts node DER signatures of every shape (random keys)', () => {
    for (let i = 0; i < 50; i++) {
      const curve: Curve = i % 2 ? 'P-256' : 'brainpoolP256r1';
      const { privateKey, publicKey } = generateKeyPair(curve);
      const data = Uint8Array.of(i);
      const der = new Uint8Array(nodeSign('sha256', data, privateKey));
      const raw = derToRaw(der);
      expect(toHex(rawToDer(raw))).toBe(toHex(der));
      expect(verifyRaw(publicKey, data, raw)).toBe(true);
    }
  });

  const bad: ReadonlyArray<[string, string]> = [
    ['empty', ''],
    ['not a SEQUENCE', '3106020101020101'],
    ['SEQUENCE length past the end', '3007020101020101'],
    ['trailing bytes', '300602010102010100'],
    ['non-minimal length 81 06', '308106020101020101'],
    ['indefinite length', '3080020101020101' + '0000'],
    ['missing s', '3003020101'],
    ['extra element', '3009020101020101020101'],
    ['s is not an INTEGER', '3006020101040101'],
    ['empty INTEGER', '30050200020101'],
    ['negative r', '3006020181020101'],
    ['non-minimal r (00 before a low byte)', '300702020001020101'],
    ['zero r', '3006020100020101'],
    ['r wider than 32 bytes', '3026022101' + '00'.repeat(32) + '020101'],
    ['r of 33 bytes with a needless 00', '3026022100' + '00'.repeat(31) + '81020101'],
    ['INTEGER runs past the SEQUENCE', '3006020201020101'],
  ];
  for (const [name, hex] of bad) {
    it(`rejects malformed DER: ${name}`, () => {
      expect(cryptoErr(() => derToRaw(fromHex(hex))).code).toBe('bad-signature-encoding');
    });
  }

  it('rawToDer rejects odd or empty input and zero halves', () => {
    expect(cryptoErr(() => rawToDer(new Uint8Array(63))).code).toBe('bad-signature-encoding');
    expect(cryptoErr(() => rawToDer(new Uint8Array(0))).code).toBe('bad-signature-encoding');
    expect(cryptoErr(() => rawToDer(new Uint8Array(64))).code).toBe('bad-signature-encoding');
  });

  it('property: derToRaw on random input only throws CryptoError, and what it accepts is canonical', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        let raw: Uint8Array;
        try {
          raw = derToRaw(bytes);
        } catch (e) {
          return e instanceof CryptoError;
        }
        return toHex(rawToDer(raw)) === toHex(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('property: derToRaw on mutated valid signatures only throws CryptoError, and accepts only canonical DER', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (raw, pos, val) => {
          if (raw.subarray(0, 32).every((b) => b === 0) || raw.subarray(32).every((b) => b === 0)) return true;
          const der = rawToDer(raw);
          expect(toHex(derToRaw(der))).toBe(toHex(raw));
          const m = new Uint8Array(der);
          m[pos % m.length] = val;
          try {
            const back = derToRaw(m);
            return toHex(rawToDer(back)) === toHex(m);
          } catch (e) {
            return e instanceof CryptoError;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('private key PEM import/export', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'esimkit-ecdsa-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips PKCS#8 and SEC1 PEM on both curves', () => {
    for (const curve of CURVES) {
      const { privateKey } = generateKeyPair(curve);
      const pem = privateKeyToPem(privateKey);
      expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      const back = privateKeyFromPem(pem);
      expect(toHex(privateKeyToScalar(back))).toBe(toHex(privateKeyToScalar(privateKey)));
      const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
      expect(toHex(privateKeyToScalar(privateKeyFromPem(sec1)))).toBe(toHex(privateKeyToScalar(privateKey)));
    }
  });

  it('rejects PEM without a usable private key', () => {
    const { privateKey, publicKey } = generateKeyPair('P-256');
    const pem = privateKeyToPem(privateKey);
    expect(cryptoErr(() => privateKeyFromPem('')).code).toBe('bad-pem');
    expect(cryptoErr(() => privateKeyFromPem('hello')).code).toBe('bad-pem');
    expect(cryptoErr(() => privateKeyFromPem(pem + pem)).code).toBe('bad-pem');
    expect(cryptoErr(() => privateKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString())).code).toBe(
      'bad-pem',
    );
    expect(cryptoErr(() => privateKeyFromPem(pem.replace('END PRIVATE KEY', 'END EC PRIVATE KEY'))).code).toBe(
      'bad-pem',
    );
    expect(cryptoErr(() => privateKeyFromPem(pem.replace(/\n[A-Za-z0-9+/]{8}/, '\n!!!!!!!!'))).code).toBe('bad-pem');
    const truncated = pem.split('\n');
    truncated.splice(1, 1);
    expect(cryptoErr(() => privateKeyFromPem(truncated.join('\n'))).code).toBe('bad-pem');
    const enc = privateKey
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' })
      .toString();
    expect(cryptoErr(() => privateKeyFromPem(enc)).code).toBe('bad-pem');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    expect(cryptoErr(() => privateKeyFromPem(p384.export({ type: 'pkcs8', format: 'pem' }).toString())).code).toBe(
      'unsupported-curve',
    );
  });

  it('writePrivateKeyPem writes PKCS#8 with mode 0600 atomically, replacing an existing file', async () => {
    const { privateKey } = generateKeyPair('brainpoolP256r1');
    const path = join(dir, 'sk.pem');
    await writeFile(path, 'old', { mode: 0o644 });
    await writePrivateKeyPem(path, privateKey);
    const st = await stat(path);
    expect(st.mode & 0o777).toBe(0o600);
    const text = await readFile(path, 'utf8');
    expect(text).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const back = await readPrivateKeyPem(path);
    expect(toHex(privateKeyToScalar(back))).toBe(toHex(privateKeyToScalar(privateKey)));
    expect((await readdir(dir)).sort()).toEqual(['sk.pem']); // no temporary file left behind
  });

  it('writePrivateKeyPem and readPrivateKeyPem report I/O failures as CryptoError', async () => {
    const { privateKey } = generateKeyPair('P-256');
    await expect(writePrivateKeyPem(join(dir, 'missing', 'sk.pem'), privateKey)).rejects.toMatchObject({
      name: 'CryptoError',
      code: 'io',
    });
    await expect(readPrivateKeyPem(join(dir, 'nope.pem'))).rejects.toMatchObject({ name: 'CryptoError', code: 'io' });
  });
});
