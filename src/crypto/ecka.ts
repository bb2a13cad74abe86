/**
 * ECKA-EG as SGP.22 uses it for the BSP (SGP22-NOTES §3.4 step 1): the shared secret Z is the
 * x-coordinate of otSK × otPK(peer), 32 bytes, on the curve of CERT.DPpb.
 *
 * One-time key pairs live in a node:crypto ECDH context: generating one and agreeing on Z with it costs
 * about 200 µs, against 450 µs for a KeyObject pair (key generation, point export, peer key import,
 * diffieHellman) — the SM-DP+ and the eUICC each do this once per download. The KeyObject of otSK is
 * still available (built on first use).
 */
import { createECDH, diffieHellman, KeyObject, type ECDH } from 'node:crypto';
import { CryptoError } from './errors.js';
import { curveOfKey, curveSize, nodeNameOfCurve, privateKeyFromScalar, privateKeyToScalar, publicKeyFromPoint, type Curve } from './ecdsa.js';

export interface OneTimeKeyPair {
  readonly curve: Curve;
  /** otSK as a KeyObject (made on first read; {@link ecka} does not need it). */
  readonly privateKey: KeyObject;
  /** Uncompressed point 04||X||Y (65 bytes), as carried in tag 5F49. */
  readonly publicPoint: Uint8Array;
}

/** A private key ECKA accepts: a KeyObject, or a one-time key pair of {@link generateOneTimeKeyPair}. */
export type EckaPrivateKey = KeyObject | OneTimeKeyPair;

const contexts = new WeakMap<OneTimeKeyPair, ECDH>();

/** A fresh one-time key pair (otSK/otPK) on `curve`. */
export function generateOneTimeKeyPair(curve: Curve): OneTimeKeyPair {
  const ctx = createECDH(nodeNameOfCurve(curve));
  ctx.generateKeys();
  return pairOf(curve, ctx);
}

/** The one-time key pair with private scalar `scalar` (big-endian, curve size): to rebuild the same BPP. */
export function oneTimeKeyPairFromScalar(curve: Curve, scalar: Uint8Array): OneTimeKeyPair {
  if (scalar.length !== curveSize(curve)) throw new CryptoError('bad-key', `a ${curve} scalar is ${curveSize(curve)} bytes`);
  const ctx = createECDH(nodeNameOfCurve(curve));
  try {
    ctx.setPrivateKey(scalar);
  } catch (e) {
    throw new CryptoError('bad-key', `invalid ${curve} scalar: ${(e as Error).message}`);
  }
  return pairOf(curve, ctx);
}

/** The private scalar of a one-time key pair (big-endian, left-padded to the curve size). */
export function oneTimeScalar(pair: OneTimeKeyPair): Uint8Array {
  const ctx = contexts.get(pair);
  return ctx ? scalarOf(pair.curve, ctx) : privateKeyToScalar(pair.privateKey);
}

/** The pair around an ECDH context holding its key (the KeyObject of otSK is made on first read). */
function pairOf(curve: Curve, ctx: ECDH): OneTimeKeyPair {
  const publicPoint = new Uint8Array(ctx.getPublicKey()); // uncompressed 04||X||Y
  let sk: KeyObject | undefined;
  const pair: OneTimeKeyPair = {
    curve,
    publicPoint,
    get privateKey(): KeyObject {
      return (sk ??= privateKeyFromScalar(curve, scalarOf(curve, ctx)));
    },
  };
  contexts.set(pair, ctx);
  return pair;
}

function scalarOf(curve: Curve, ctx: ECDH): Uint8Array {
  const d = ctx.getPrivateKey();
  const scalar = new Uint8Array(curveSize(curve));
  scalar.set(d, scalar.length - d.length); // left-pad a short scalar
  return scalar;
}

/**
 * ECKA: Z = x-coordinate of privateKey × peerPublicPoint (32 bytes). The peer point must be an uncompressed
 * point on the curve of `privateKey`; otherwise CryptoError 'bad-point'.
 */
export function ecka(privateKey: EckaPrivateKey, peerPublicPoint: Uint8Array): Uint8Array {
  let z: Buffer;
  if (privateKey instanceof KeyObject) {
    if (privateKey.type !== 'private') throw new CryptoError('bad-key', 'ECKA needs a private key');
    const peer = publicKeyFromPoint(curveOfKey(privateKey), peerPublicPoint);
    try {
      z = diffieHellman({ privateKey, publicKey: peer });
    } catch (e) {
      throw new CryptoError('bad-point', `ECKA failed: ${(e as Error).message}`);
    }
  } else {
    const ctx = contexts.get(privateKey);
    if (!ctx) return ecka(privateKey.privateKey, peerPublicPoint);
    const size = curveSize(privateKey.curve);
    if (peerPublicPoint.length !== 1 + 2 * size || peerPublicPoint[0] !== 0x04) {
      throw new CryptoError('bad-point', `expected an uncompressed point of ${1 + 2 * size} bytes`);
    }
    try {
      // OpenSSL decodes the point and refuses one that is not on the curve
      z = ctx.computeSecret(peerPublicPoint);
    } catch {
      throw new CryptoError('bad-point', `point is not on ${privateKey.curve}`);
    }
  }
  if (z.length !== 32) throw new CryptoError('bad-point', `unexpected shared secret length ${z.length}`);
  return new Uint8Array(z.buffer, z.byteOffset, z.byteLength);
}
