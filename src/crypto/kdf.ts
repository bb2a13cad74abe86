/**
 * SGP.22 BSP session-key derivation: ANSI X9.63 KDF with SHA-256 over the ECKA shared secret
 * (SGP22-NOTES §3.4 steps 2-3).
 */
import { createHash } from 'node:crypto';
import { CryptoError } from './errors.js';

const SHA256_LEN = 32;

/**
 * ANSI X9.63 KDF with SHA-256: K_i = SHA-256(Z || uint32be(i) || sharedInfo), i = 1, 2, ...; the first
 * `length` bytes of K_1 || K_2 || ...
 */
export function x963Kdf(z: Uint8Array, sharedInfo: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > SHA256_LEN * 0xffff) {
    throw new CryptoError('bad-length', `invalid KDF output length ${length}`);
  }
  const out = new Uint8Array(length);
  const counter = new Uint8Array(4);
  let off = 0;
  for (let i = 1; off < length; i++) {
    counter[0] = (i >>> 24) & 0xff;
    counter[1] = (i >>> 16) & 0xff;
    counter[2] = (i >>> 8) & 0xff;
    counter[3] = i & 0xff;
    const block = createHash('sha256').update(z).update(counter).update(sharedInfo).digest();
    const take = Math.min(SHA256_LEN, length - off);
    out.set(block.subarray(0, take), off);
    off += take;
  }
  return out;
}

/**
 * SharedInfo of the BSP KDF: keyType(1) || keyLength(1) || len(hostId)(1) || hostId || len(EID)(1) || EID.
 * hostId is 1..16 bytes (CRT tag 84); EID is 16 bytes.
 */
export function bspSharedInfo(hostId: Uint8Array, eid: Uint8Array, keyType = 0x88, keyLength = 16): Uint8Array {
  if (hostId.length < 1 || hostId.length > 16) {
    throw new CryptoError('bad-length', `hostId of ${hostId.length} bytes (1..16 expected)`);
  }
  if (eid.length !== 16) throw new CryptoError('bad-length', `EID of ${eid.length} bytes (16 expected)`);
  if (!isByte(keyType) || !isByte(keyLength)) {
    throw new CryptoError('bad-length', 'keyType and keyLength must be single bytes');
  }
  const out = new Uint8Array(4 + hostId.length + eid.length);
  out[0] = keyType;
  out[1] = keyLength;
  out[2] = hostId.length;
  out.set(hostId, 3);
  out[3 + hostId.length] = eid.length;
  out.set(eid, 4 + hostId.length);
  return out;
}

function isByte(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xff;
}

/** The three BSP session keys (16 bytes each). */
export interface SessionKeys {
  readonly initialMcv: Uint8Array;
  readonly sEnc: Uint8Array;
  readonly sMac: Uint8Array;
}

/**
 * Derive the BSP session keys from the ECKA shared secret Z (32 bytes), the hostId of the CRT and the EID.
 * Key order in the 48-byte KDF output: initial MCV, S-ENC, S-MAC.
 */
export function deriveSessionKeys(z: Uint8Array, hostId: Uint8Array, eid: Uint8Array): SessionKeys {
  if (z.length !== 32) throw new CryptoError('bad-length', `shared secret of ${z.length} bytes (32 expected)`);
  const k = x963Kdf(z, bspSharedInfo(hostId, eid), 48);
  return { initialMcv: k.slice(0, 16), sEnc: k.slice(16, 32), sMac: k.slice(32, 48) };
}
