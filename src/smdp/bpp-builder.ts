/**
 * SM-DP+ side of the Bound Profile Package (SGP22-NOTES §3): binds a UPP to one eUICC's one-time key.
 *
 *   ISC (BF23): a fresh one-time key pair on the curve of CERT.DPpb, smdpSign over
 *               82‖80‖A6‖5F49 smdpOtpk ‖ 5F49 euiccOtpk with SK.DPpb;
 *   session keys: ECKA(otSK.DP, otPK.EUICC) → X9.63 KDF (hostId, EID) → BSP instance;
 *   A0 ConfigureISDP (87), A1 StoreMetadata (88, MAC only), A2 ReplaceSessionKeys (87, optional),
 *   A3 profile elements (86; with the PPK when A2 is present, else continuing the session keys).
 * Every protected TLV is at most 1020 bytes (crypto/bsp.ts chunking).
 *
 * Layering: imports crypto/, asn1/ and util/ only.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import {
  encodeBoundProfilePackage,
  encodeConfigureISDPRequest,
  encodeReplaceSessionKeysRequest,
  smdpSignInput,
  type ConfigureISDPRequest,
  type InitialiseSecureChannelRequest,
  type ReplaceSessionKeysRequest,
} from '../asn1/sgp22/bpp.js';
import { encodeStoreMetadataRequest, type StoreMetadataRequest } from '../asn1/sgp22/metadata.js';
import { BspInstance } from '../crypto/bsp.js';
import { curveOfKey, signRaw } from '../crypto/ecdsa.js';
import { ecka, generateOneTimeKeyPair, oneTimeKeyPairFromScalar, oneTimeScalar } from '../crypto/ecka.js';
import { deriveSessionKeys, type SessionKeys } from '../crypto/kdf.js';
import { encodeEid } from '../util/bcd.js';
import { concatBytes, utf8 } from '../util/hex.js';

/** Default hostId of the CRT (any 1..16 bytes; osmo-smdpp uses "mahlzeit"). */
export const DEFAULT_HOST_ID = utf8('esimkit-smdp');

export interface BuildBppOptions {
  readonly transactionId: Uint8Array;
  /** otPK.EUICC.ECKA from the PrepareDownloadResponse (65 bytes). */
  readonly euiccOtpk: Uint8Array;
  readonly dpPb: { readonly privateKey: KeyObject; readonly cert?: Uint8Array };
  /** EID: 32 digits or 16 bytes plain BCD. */
  readonly eid: string | Uint8Array;
  readonly hostId?: Uint8Array;
  /** The UPP (SAIP DER). */
  readonly upp: Uint8Array;
  readonly metadata: StoreMetadataRequest;
  readonly configureIsdp?: ConfigureISDPRequest;
  /** true: random PPK; an object: these keys; absent/false: no A2, the 86s continue the session keys. */
  readonly replaceSessionKeys?: boolean | { ppkEnc: Uint8Array; ppkCmac: Uint8Array; initialMcv: Uint8Array };
  /**
   * Rebuild a package made before, byte for byte: its {@link BuiltBpp.seed} (the one-time key, smdpSign and
   * PPK it used). Everything else must be the same inputs as then.
   */
  readonly seed?: BppSeed;
}

/**
 * What makes a BPP build unrepeatable: otSK.DP (curve-size scalar), the smdpSign ECDSA signature and the
 * ReplaceSessionKeys PPK. With the same inputs and seed, {@link buildBoundProfilePackage} returns the same
 * bytes: the SM-DP+ keeps this (~150 bytes) for a retried getBoundProfilePackage instead of the package.
 * Secret (it decrypts the package): stored only where the UPP itself is.
 */
export interface BppSeed {
  readonly otSk: Uint8Array;
  readonly smdpSign: Uint8Array;
  readonly ppk?: { readonly ppkEnc: Uint8Array; readonly ppkCmac: Uint8Array; readonly initialMcv: Uint8Array };
}

/** BppSeed as bytes: 3 length-prefixed fields (otSk, smdpSign, ppkEnc‖ppkCmac‖initialMcv or empty). */
export function encodeBppSeed(s: BppSeed): Uint8Array {
  const ppk = s.ppk ? concatBytes(s.ppk.ppkEnc, s.ppk.ppkCmac, s.ppk.initialMcv) : new Uint8Array(0);
  const parts = [s.otSk, s.smdpSign, ppk];
  const out: number[] = [];
  for (const p of parts) {
    if (p.length > 255) throw new RangeError('BPP seed field too long');
    out.push(p.length, ...p);
  }
  return Uint8Array.from(out);
}

/** Inverse of {@link encodeBppSeed}; undefined for bytes that are not one. */
export function decodeBppSeed(b: Uint8Array): BppSeed | undefined {
  const parts: Uint8Array[] = [];
  let i = 0;
  while (i < b.length && parts.length < 3) {
    const n = b[i]!;
    if (i + 1 + n > b.length) return undefined;
    parts.push(b.slice(i + 1, i + 1 + n));
    i += 1 + n;
  }
  if (parts.length !== 3 || i !== b.length) return undefined;
  const [otSk, smdpSign, ppk] = parts as [Uint8Array, Uint8Array, Uint8Array];
  if (ppk.length !== 0 && ppk.length !== 48) return undefined;
  return { otSk, smdpSign, ...(ppk.length === 48 && { ppk: { ppkEnc: ppk.slice(0, 16), ppkCmac: ppk.slice(16, 32), initialMcv: ppk.slice(32) } }) };
}

export interface BuiltBpp {
  /** The complete BF36. */
  readonly bpp: Uint8Array;
  readonly sessionKeys: SessionKeys;
  /** otPK.DP.ECKA (65 bytes). */
  readonly smdpOtpk: Uint8Array;
  readonly replaceSessionKeys?: ReplaceSessionKeysRequest;
  /** Repeats this build (see BuildBppOptions.seed). */
  readonly seed: BppSeed;
}

/** Build the BPP and return it with the session material (for tests and logs). */
export function buildBoundProfilePackageDetailed(opts: BuildBppOptions): BuiltBpp {
  const curve = curveOfKey(opts.dpPb.privateKey);
  const ot = opts.seed ? oneTimeKeyPairFromScalar(curve, opts.seed.otSk) : generateOneTimeKeyPair(curve);
  const eid = typeof opts.eid === 'string' ? encodeEid(opts.eid) : opts.eid;
  const hostId = opts.hostId ?? DEFAULT_HOST_ID;
  const sessionKeys = deriveSessionKeys(ecka(ot, opts.euiccOtpk), hostId, eid);

  const unsigned: InitialiseSecureChannelRequest = {
    remoteOpId: 1,
    transactionId: opts.transactionId,
    controlRefTemplate: { keyType: Uint8Array.of(0x88), keyLen: Uint8Array.of(0x10), hostId },
    smdpOtpk: ot.publicPoint,
    smdpSign: new Uint8Array(0),
  };
  const isc = { ...unsigned, smdpSign: opts.seed?.smdpSign ?? signRaw(opts.dpPb.privateKey, smdpSignInput(unsigned, opts.euiccOtpk)) };

  const bsp = BspInstance.fromSessionKeys(sessionKeys);
  const firstSequenceOf87 = bsp.encryptAndMac(0x87, encodeConfigureISDPRequest(opts.configureIsdp ?? {}));
  const sequenceOf88 = bsp.macOnly(0x88, opts.metadata.raw ?? encodeStoreMetadataRequest(opts.metadata));
  let rsk: ReplaceSessionKeysRequest | undefined;
  if (opts.seed) {
    const k = opts.seed.ppk;
    if (k) rsk = { initialMacChainingValue: k.initialMcv, ppkEnc: k.ppkEnc, ppkCmac: k.ppkCmac };
  } else if (opts.replaceSessionKeys === true) {
    rsk = {
      initialMacChainingValue: new Uint8Array(randomBytes(16)),
      ppkEnc: new Uint8Array(randomBytes(16)),
      ppkCmac: new Uint8Array(randomBytes(16)),
    };
  } else if (opts.replaceSessionKeys) {
    const k = opts.replaceSessionKeys;
    rsk = { initialMacChainingValue: k.initialMcv, ppkEnc: k.ppkEnc, ppkCmac: k.ppkCmac };
  }
  let secondSequenceOf87: Uint8Array[] | undefined;
  let profileBsp = bsp;
  if (rsk) {
    secondSequenceOf87 = bsp.encryptAndMac(0x87, encodeReplaceSessionKeysRequest(rsk));
    profileBsp = BspInstance.replaceSessionKeys(rsk);
  }
  const sequenceOf86 = profileBsp.encryptAndMac(0x86, opts.upp);
  const bpp = encodeBoundProfilePackage({
    initialiseSecureChannelRequest: isc,
    firstSequenceOf87,
    sequenceOf88,
    ...(secondSequenceOf87 !== undefined && { secondSequenceOf87 }),
    sequenceOf86,
  });
  const seed: BppSeed = {
    otSk: oneTimeScalar(ot),
    smdpSign: isc.smdpSign,
    ...(rsk !== undefined && { ppk: { ppkEnc: rsk.ppkEnc, ppkCmac: rsk.ppkCmac, initialMcv: rsk.initialMacChainingValue } }),
  };
  return { bpp, sessionKeys, smdpOtpk: ot.publicPoint, seed, ...(rsk !== undefined && { replaceSessionKeys: rsk }) };
}

/** Build the BF36 Bound Profile Package. */
export function buildBoundProfilePackage(opts: BuildBppOptions): Uint8Array {
  return buildBoundProfilePackageDetailed(opts).bpp;
}
