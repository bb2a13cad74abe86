/**
 * BSP (SCP03t) protection of the Bound Profile Package, SGP22-NOTES §3.4:
 *
 * - ICV = AES-ECB(S-ENC, block counter as a 16-byte big-endian integer); the counter starts at 1 and every
 *   protected TLV (87, 88 and 86 alike) consumes one value.
 * - Encryption: AES-128-CBC(S-ENC, ICV) over plaintext || 80 || 00.. to a multiple of 16 (always padded).
 * - C-MAC: AES-CMAC(S-MAC, MCV || tag || length(payload + 8) || payload); the TLV carries the first 8 bytes,
 *   the full 16 bytes become the next MCV.
 * - Segments: at most 1020 bytes per protected TLV, i.e. 1007-byte plaintext chunks for 86/87 and
 *   1008-byte payload chunks for 88. Verification accepts larger segments (osmo-smdpp sends 1036 bytes).
 * - ReplaceSessionKeys (BF26) yields a new instance keyed by the PPK with the counter back at 1.
 *
 * Every verification failure is a {@link BspError} and leaves the instance state unchanged.
 */
import { timingSafeEqual } from 'node:crypto';
import { decodeTlv, encodeTlvHeader, readTlvHeader, type Tlv } from '../asn1/tlv.js';
import { AesCbcEncryptor, AesCmac, AesEcb } from './cmac.js';
import type { SessionKeys } from './kdf.js';

export type BspErrorCode =
  | 'mac-mismatch' // the C-MAC of a segment does not verify
  | 'bad-padding' // decrypted data does not end in 80 00..
  | 'bad-segment' // wrong tag, malformed TLV, trailing bytes, impossible lengths
  | 'bad-argument' // caller error: wrong key size, tag not allowed for the operation
  | 'bad-replace-session-keys'; // a ReplaceSessionKeysRequest (BF26) that does not parse

export class BspError extends Error {
  override readonly name = 'BspError';
  constructor(
    readonly code: BspErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Maximum size of one protected TLV including tag, length and MAC. */
export const BSP_MAX_SEGMENT_SIZE = 1020;
/** Largest plaintext per encrypted (86/87) segment: 1 + 3 + 1008 + 8 = 1020. */
export const BSP_MAX_ENCRYPTED_CHUNK = 1007;
/** Largest payload per MAC-only (88) segment: 1 + 3 + 1008 + 8 = 1020. */
export const BSP_MAX_MAC_ONLY_CHUNK = 1008;

const MAC_LEN = 8;
const BLOCK = 16;

export type EncryptedTag = 0x86 | 0x87;
export type MacOnlyTag = 0x88;

/** Content of a ReplaceSessionKeysRequest (BF26 {80 initialMacChainingValue, 81 ppkEnc, 82 ppkCmac}). */
export interface ReplaceSessionKeys {
  readonly initialMacChainingValue: Uint8Array;
  readonly ppkEnc: Uint8Array;
  readonly ppkCmac: Uint8Array;
}

function key16(name: string, k: Uint8Array): Uint8Array {
  if (!(k instanceof Uint8Array) || k.length !== 16) {
    throw new BspError('bad-argument', `${name} must be 16 bytes`);
  }
  return new Uint8Array(k);
}

function counterBlock(counter: number): Uint8Array {
  const b = new Uint8Array(BLOCK);
  let v = counter;
  for (let i = BLOCK - 1; i >= 0 && v > 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return b;
}

function pad(plain: Uint8Array): Uint8Array {
  const n = (Math.floor(plain.length / BLOCK) + 1) * BLOCK;
  const out = new Uint8Array(n);
  out.set(plain, 0);
  out[plain.length] = 0x80;
  return out;
}

function chunks(data: Uint8Array, size: number): Uint8Array[] {
  if (data.length === 0) return [data];
  const out: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += size) out.push(data.subarray(o, Math.min(o + size, data.length)));
  return out;
}

export class BspInstance {
  readonly #sEnc: Uint8Array;
  readonly #cmac: AesCmac;
  // Long-lived AES contexts (created lazily): one per key, not one per segment.
  #ecbEnc: AesEcb | undefined;
  #ecbDec: AesEcb | undefined;
  #cbcEnc: AesCbcEncryptor | undefined;
  #mcv: Uint8Array;
  #counter = 1;

  constructor(sEnc: Uint8Array, sMac: Uint8Array, initialMcv: Uint8Array) {
    this.#sEnc = key16('S-ENC', sEnc);
    this.#cmac = new AesCmac(key16('S-MAC', sMac));
    this.#mcv = key16('initial MCV', initialMcv);
  }

  /** Instance keyed by the session keys from the KDF. */
  static fromSessionKeys(keys: SessionKeys): BspInstance {
    return new BspInstance(keys.sEnc, keys.sMac, keys.initialMcv);
  }

  /** Instance keyed by the PPK of a ReplaceSessionKeysRequest (counter 1, MCV = initialMacChainingValue). */
  static replaceSessionKeys(rsk: ReplaceSessionKeys): BspInstance {
    return new BspInstance(rsk.ppkEnc, rsk.ppkCmac, rsk.initialMacChainingValue);
  }

  /**
   * The instance that follows ReplaceSessionKeys: S-ENC = ppkEnc, S-MAC = ppkCmac, MCV =
   * initialMacChainingValue, counter restarting at 1. This instance is left as it is.
   */
  replaceSessionKeys(rsk: ReplaceSessionKeys): BspInstance {
    return BspInstance.replaceSessionKeys(rsk);
  }

  /** The block counter value the next protected TLV will use. */
  get blockCounter(): number {
    return this.#counter;
  }

  /** Current MAC chaining value (copy). */
  get mcv(): Uint8Array {
    return new Uint8Array(this.#mcv);
  }

  #icv(counter: number): Uint8Array {
    this.#ecbEnc ??= new AesEcb(this.#sEnc, 'encrypt');
    return this.#ecbEnc.update(counterBlock(counter));
  }

  #encrypt(counter: number, plain: Uint8Array): Uint8Array {
    this.#cbcEnc ??= new AesCbcEncryptor(this.#sEnc);
    return this.#cbcEnc.encrypt(this.#icv(counter), pad(plain));
  }

  /** CBC decryption as ECB decryption of all blocks at once, then XOR with the previous ciphertext block. */
  #decrypt(counter: number, cipher: Uint8Array): Uint8Array {
    this.#ecbDec ??= new AesEcb(this.#sEnc, 'decrypt');
    const icv = this.#icv(counter);
    const out = new Uint8Array(this.#ecbDec.update(cipher));
    for (let i = 0; i < BLOCK; i++) out[i]! ^= icv[i]!;
    for (let i = BLOCK; i < out.length; i++) out[i]! ^= cipher[i - BLOCK]!;
    return out;
  }

  /** Build tag || len || payload || MAC[0..8) with the current MCV; returns the TLV and the new MCV. */
  #protect(tag: number, payload: Uint8Array): { tlv: Uint8Array; mcv: Uint8Array } {
    const header = encodeTlvHeader(tag, payload.length + MAC_LEN);
    const full = this.#cmac.mac(this.#mcv, header, payload);
    const tlv = new Uint8Array(header.length + payload.length + MAC_LEN);
    tlv.set(header, 0);
    tlv.set(payload, header.length);
    tlv.set(full.subarray(0, MAC_LEN), header.length + payload.length);
    return { tlv, mcv: full };
  }

  /** Encrypt and MAC one segment (no size limit beyond the TLV length field; for interop tests). */
  encryptAndMacOne(tag: EncryptedTag, plaintext: Uint8Array): Uint8Array {
    if (tag !== 0x86 && tag !== 0x87) throw new BspError('bad-argument', `tag ${tag} is not 86 or 87`);
    const cipher = this.#encrypt(this.#counter, plaintext);
    const { tlv, mcv } = this.#protect(tag, cipher);
    this.#mcv = mcv;
    this.#counter++;
    return tlv;
  }

  /**
   * Encrypt and MAC `plaintext` as TLVs with tag 86 or 87, split into 1007-byte chunks so that no TLV is
   * longer than 1020 bytes. Each segment consumes one block counter value.
   */
  encryptAndMac(tag: EncryptedTag, plaintext: Uint8Array): Uint8Array[] {
    if (tag !== 0x86 && tag !== 0x87) throw new BspError('bad-argument', `tag ${tag} is not 86 or 87`);
    return chunks(plaintext, BSP_MAX_ENCRYPTED_CHUNK).map((c) => this.encryptAndMacOne(tag, c));
  }

  /** MAC one segment without encryption (tag 88). Consumes one block counter value. */
  macOnlyOne(tag: MacOnlyTag, payload: Uint8Array): Uint8Array {
    if (tag !== 0x88) throw new BspError('bad-argument', `tag ${tag} is not 88`);
    const { tlv, mcv } = this.#protect(tag, payload);
    this.#mcv = mcv;
    this.#counter++;
    return tlv;
  }

  /** MAC-only protection (tag 88, StoreMetadata) in 1008-byte chunks; each segment consumes a counter value. */
  macOnly(tag: MacOnlyTag, payload: Uint8Array): Uint8Array[] {
    if (tag !== 0x88) throw new BspError('bad-argument', `tag ${tag} is not 88`);
    return chunks(payload, BSP_MAX_MAC_ONLY_CHUNK).map((c) => this.macOnlyOne(tag, c));
  }

  /** Parse a protected TLV and check its C-MAC against the current MCV. Does not change state. */
  #check(
    tlvBytes: Uint8Array,
    allowed: readonly number[],
    encrypted: boolean,
  ): { payload: Uint8Array; mcv: Uint8Array } {
    if (!(tlvBytes instanceof Uint8Array)) throw new BspError('bad-segment', 'segment is not a byte array');
    let h: { tag: number; headerLength: number; length: number };
    try {
      h = readTlvHeader(tlvBytes, 0, { der: true });
    } catch (e) {
      throw new BspError('bad-segment', `malformed segment header: ${(e as Error).message}`);
    }
    if (!allowed.includes(h.tag)) {
      throw new BspError('bad-segment', `unexpected segment tag ${h.tag.toString(16)}`);
    }
    if (h.headerLength + h.length !== tlvBytes.length) {
      throw new BspError('bad-segment', `segment length ${h.length} does not match the ${tlvBytes.length} bytes given`);
    }
    if (h.length < MAC_LEN) throw new BspError('bad-segment', 'segment shorter than its MAC');
    const header = tlvBytes.subarray(0, h.headerLength);
    const payload = tlvBytes.subarray(h.headerLength, tlvBytes.length - MAC_LEN);
    const mac = tlvBytes.subarray(tlvBytes.length - MAC_LEN);
    if (encrypted && (payload.length === 0 || payload.length % BLOCK !== 0)) {
      throw new BspError('bad-segment', `ciphertext of ${payload.length} bytes is not a whole number of blocks`);
    }
    const full = this.#cmac.mac(this.#mcv, header, payload);
    if (!timingSafeEqual(full.subarray(0, MAC_LEN), mac)) {
      throw new BspError('mac-mismatch', `C-MAC of the ${h.tag.toString(16)} segment does not verify`);
    }
    return { payload, mcv: full };
  }

  /**
   * Verify and decrypt one protected 86/87 TLV (exact bytes). `expectedTag` narrows the allowed tag.
   * Returns the plaintext (a fresh array). On any failure throws BspError and leaves the state unchanged.
   */
  verifyAndDecrypt(tlvBytes: Uint8Array, expectedTag?: EncryptedTag): Uint8Array {
    const allowed = expectedTag === undefined ? [0x86, 0x87] : [expectedTag];
    const { payload, mcv } = this.#check(tlvBytes, allowed, true);
    const plain = this.#decrypt(this.#counter, payload);
    let i = plain.length - 1;
    while (i >= 0 && plain[i] === 0x00) i--;
    if (i < 0 || plain[i] !== 0x80 || plain.length - i > BLOCK) {
      throw new BspError('bad-padding', 'decrypted segment does not end in valid 80 00.. padding');
    }
    this.#mcv = mcv;
    this.#counter++;
    return plain.slice(0, i);
  }

  /** Verify one MAC-only 88 TLV; returns its payload (a copy). Consumes one counter value on success. */
  verifyMacOnly(tlvBytes: Uint8Array): Uint8Array {
    const { payload, mcv } = this.#check(tlvBytes, [0x88], false);
    this.#mcv = mcv;
    this.#counter++;
    return new Uint8Array(payload);
  }
}

/**
 * Parse a decrypted ReplaceSessionKeysRequest: BF26 { 80 initialMacChainingValue, 81 ppkEnc, 82 ppkCmac },
 * each 16 bytes, in this order, nothing else.
 */
export function parseReplaceSessionKeys(plaintext: Uint8Array): ReplaceSessionKeys {
  let t: Tlv;
  try {
    t = decodeTlv(plaintext);
  } catch (e) {
    throw new BspError('bad-replace-session-keys', `ReplaceSessionKeysRequest: ${(e as Error).message}`);
  }
  const c = t.children;
  if (t.tag !== 0xbf26 || c.length !== 3) {
    throw new BspError('bad-replace-session-keys', 'expected BF26 with three elements');
  }
  const want = [0x80, 0x81, 0x82];
  for (let i = 0; i < 3; i++) {
    const e = c[i]!;
    if (e.tag !== want[i] || e.value.length !== 16) {
      throw new BspError('bad-replace-session-keys', `element ${i} must be tag ${want[i]!.toString(16)} with 16 bytes`);
    }
  }
  return {
    initialMacChainingValue: new Uint8Array(c[0]!.value),
    ppkEnc: new Uint8Array(c[1]!.value),
    ppkCmac: new Uint8Array(c[2]!.value),
  };
}
