/**
 * AES-CMAC (NIST SP 800-38B, RFC 4493) on top of node:crypto AES-ECB/CBC.
 * SGP.22 uses AES-128-CMAC for the BSP C-MAC; 192/256-bit keys work the same way.
 */
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { CryptoError } from './errors.js';

const BLOCK = 16;
const ZERO_BLOCK = new Uint8Array(BLOCK);
const RB = 0x87;

function cipherName(key: Uint8Array, mode: 'ecb' | 'cbc'): string {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new CryptoError('bad-length', `AES key of ${key.length} bytes (16, 24 or 32 expected)`);
  }
  return `aes-${key.length * 8}-${mode}`;
}

/** AES-ECB encryption of one or more whole blocks, no padding. */
export function aesEcbEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (data.length % BLOCK !== 0) throw new CryptoError('bad-length', 'AES-ECB input is not a whole number of blocks');
  const c = createCipheriv(cipherName(key, 'ecb'), key, null);
  c.setAutoPadding(false);
  return concat2(c.update(data), c.final());
}

/** AES-CBC encryption of whole blocks, no padding. */
export function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (data.length % BLOCK !== 0) throw new CryptoError('bad-length', 'AES-CBC input is not a whole number of blocks');
  if (iv.length !== BLOCK) throw new CryptoError('bad-length', 'AES-CBC IV must be 16 bytes');
  const c = createCipheriv(cipherName(key, 'cbc'), key, iv);
  c.setAutoPadding(false);
  return concat2(c.update(data), c.final());
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (b.length === 0) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * A long-lived AES-CBC encryption context: one OpenSSL context per key instead of one per message.
 * CBC chaining carries over between `update` calls, so each call XORs the previous output block into its
 * first input block, which makes every call an independent CBC encryption under the IV it is given.
 */
export class AesCbcEncryptor {
  readonly #cipher: Cipher;
  #last = new Uint8Array(BLOCK);

  constructor(key: Uint8Array) {
    this.#cipher = createCipheriv(cipherName(key, 'cbc'), key, ZERO_BLOCK);
    this.#cipher.setAutoPadding(false);
  }

  /** CBC-encrypt whole blocks under `iv`. `data` is copied, never modified. */
  encrypt(iv: Uint8Array, data: Uint8Array): Uint8Array {
    if (data.length === 0 || data.length % BLOCK !== 0) {
      throw new CryptoError('bad-length', 'AES-CBC input is not a non-empty whole number of blocks');
    }
    const buf = new Uint8Array(data);
    for (let i = 0; i < BLOCK; i++) buf[i]! ^= iv[i]! ^ this.#last[i]!;
    const out = this.#cipher.update(buf);
    this.#last = new Uint8Array(out.subarray(out.length - BLOCK));
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
}

/** A long-lived AES-ECB context (encryption or decryption of whole blocks). */
export class AesEcb {
  readonly #ctx: Cipher | Decipher;

  constructor(key: Uint8Array, direction: 'encrypt' | 'decrypt') {
    this.#ctx =
      direction === 'encrypt'
        ? createCipheriv(cipherName(key, 'ecb'), key, null)
        : createDecipheriv(cipherName(key, 'ecb'), key, null);
    this.#ctx.setAutoPadding(false);
  }

  update(data: Uint8Array): Uint8Array {
    if (data.length % BLOCK !== 0) throw new CryptoError('bad-length', 'AES-ECB input is not a whole number of blocks');
    const out = this.#ctx.update(data);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
}

/** Left shift of a 16-byte block by one bit; XOR with Rb when the MSB was set (SP 800-38B §6.1). */
function dbl(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) {
    out[i] = ((block[i]! << 1) | (i + 1 < BLOCK ? block[i + 1]! >> 7 : 0)) & 0xff;
  }
  if (block[0]! & 0x80) out[BLOCK - 1]! ^= RB;
  return out;
}

/** The two CMAC subkeys K1, K2 for `key`. */
export function cmacSubkeys(key: Uint8Array): { k1: Uint8Array; k2: Uint8Array } {
  const l = aesEcbEncrypt(key, ZERO_BLOCK);
  const k1 = dbl(l);
  return { k1, k2: dbl(k1) };
}

/** AES-CMAC of `message` under `key` (16 bytes for AES-128): the full 16-byte tag. */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  return new AesCmac(key).mac(message);
}

/** AES-CMAC with the subkeys computed once, for repeated MACs under one key (BSP S-MAC). */
export class AesCmac {
  readonly #cbc: AesCbcEncryptor;
  readonly #k1: Uint8Array;
  readonly #k2: Uint8Array;

  constructor(key: Uint8Array) {
    const { k1, k2 } = cmacSubkeys(key);
    this.#cbc = new AesCbcEncryptor(key);
    this.#k1 = k1;
    this.#k2 = k2;
  }

  /** Full 16-byte CMAC of the concatenation of `parts`. */
  mac(...parts: readonly Uint8Array[]): Uint8Array {
    let len = 0;
    for (const p of parts) len += p.length;
    const n = len === 0 ? 1 : Math.ceil(len / BLOCK);
    const complete = len > 0 && len % BLOCK === 0;
    const buf = new Uint8Array(n * BLOCK);
    let o = 0;
    for (const p of parts) {
      buf.set(p, o);
      o += p.length;
    }
    if (!complete) buf[len] = 0x80;
    const sub = complete ? this.#k1 : this.#k2;
    const last = (n - 1) * BLOCK;
    for (let i = 0; i < BLOCK; i++) buf[last + i]! ^= sub[i]!;
    const enc = this.#cbc.encrypt(ZERO_BLOCK, buf);
    return enc.slice(enc.length - BLOCK);
  }
}
