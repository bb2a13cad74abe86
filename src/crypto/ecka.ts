/**
 * ECKA-EG as SGP.22 uses it for the BSP (SGP22-NOTES §3.4 step 1): the shared secret Z is the
 * x-coordinate of otSK × otPK(peer), 32 bytes, on the curve of CERT.DPpb.
 */
import { diffieHellman, type KeyObject } from 'node:crypto';
import { CryptoError } from './errors.js';
import { curveOfKey, generateKeyPair, publicKeyFromPoint, publicKeyToPoint, type Curve } from './ecdsa.js';

export interface OneTimeKeyPair {
  readonly curve: Curve;
  readonly privateKey: KeyObject;
  /** Uncompressed point 04||X||Y (65 bytes), as carried in tag 5F49. */
  readonly publicPoint: Uint8Array;
}

/** A fresh one-time key pair (otSK/otPK) on `curve`. */
export function generateOneTimeKeyPair(curve: Curve): OneTimeKeyPair {
  const { privateKey, publicKey } = generateKeyPair(curve);
  return { curve, privateKey, publicPoint: publicKeyToPoint(publicKey) };
}

/**
 * ECKA: Z = x-coordinate of privateKey × peerPublicPoint (32 bytes). The peer point must be an uncompressed
 * point on the curve of `privateKey`; otherwise CryptoError 'bad-point'.
 */
export function ecka(privateKey: KeyObject, peerPublicPoint: Uint8Array): Uint8Array {
  if (privateKey.type !== 'private') throw new CryptoError('bad-key', 'ECKA needs a private key');
  const curve = curveOfKey(privateKey);
  const peer = publicKeyFromPoint(curve, peerPublicPoint);
  let z: Buffer;
  try {
    z = diffieHellman({ privateKey, publicKey: peer });
  } catch (e) {
    throw new CryptoError('bad-point', `ECKA failed: ${(e as Error).message}`);
  }
  if (z.length !== 32) throw new CryptoError('bad-point', `unexpected shared secret length ${z.length}`);
  return new Uint8Array(z.buffer, z.byteOffset, z.byteLength);
}
