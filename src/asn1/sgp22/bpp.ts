/**
 * Bound Profile Package container (ES8+ / ES10b LoadBoundProfilePackage), RSPDefinitions v2.5, and the
 * plaintext messages carried inside its protected segments.
 *
 *   BoundProfilePackage  BF36 {BF23 initialiseSecureChannelRequest, A0 {87…}, A1 {88…}, A2 {87…}?, A3 {86…}}
 *   InitialiseSecureChannelRequest BF23 {82 remoteOpId, 80 transactionId,
 *                                        A6 controlRefTemplate {80 keyType, 81 keyLen, 84 hostId},
 *                                        5F49 smdpOtpk, 5F37 smdpSign}
 *   ConfigureISDPRequest       BF24 {B8 dpProprietaryData {06 dpOid, …}?}     (plaintext of the first 87)
 *   ReplaceSessionKeysRequest  BF26 {80 initialMacChainingValue, 81 ppkEnc, 82 ppkCmac} (plaintext of A2's 87)
 *
 * The segment lists keep every protected TLV (`87`/`88`/`86`, tag + length + ciphertext/plaintext + MAC)
 * exactly as received; the BSP (crypto/bsp) verifies and decrypts them. Note the pySim TestBSPdecode
 * vector wraps each protected TLV once more (`87 1A [87 18 …]`): the codec keeps the outer TLV as is.
 *
 * Signed data: smdpSign covers `82…` ‖ `80…` ‖ `A6…` ‖ `5F49 smdpOtpk` (the TLVs as received inside BF23)
 * followed by the `5F49` TLV of otPK.EUICC from PrepareDownload ({@link smdpSignInput}). The decoder keeps
 * BF23's received bytes in `raw`; encoders ignore `raw`.
 *
 * LPA segmentation (SGP22-NOTES §3.2): {@link segmentBpp}; concatenating the segments gives the BPP
 * back ({@link joinBppSegments}).
 */
import { TlvReader, decodeInteger, decodeOid, encodeInteger, encodeOid, expectLength } from '../der.js';
import { Asn1Error, decodeTlv, encodeTlv, tagHex, type Tlv } from '../tlv.js';
import { concatBytes } from '../../util/hex.js';
import {
  TAG_OTPK,
  TAG_SIGNATURE,
  asTlv,
  checkSize,
  checkTlv,
  endExtensible,
  sequenceOf,
  transactionIdOf,
} from './codec-util.js';
import { decodeDpProprietaryData, encodeDpProprietaryData, type DpProprietaryData } from './metadata.js';

export const BppTag = {
  BoundProfilePackage: 0xbf36,
  InitialiseSecureChannelRequest: 0xbf23,
  ControlRefTemplate: 0xa6,
  FirstSequenceOf87: 0xa0,
  SequenceOf88: 0xa1,
  SecondSequenceOf87: 0xa2,
  SequenceOf86: 0xa3,
  /** Encrypted + MACed segment (ConfigureISDP, ReplaceSessionKeys). */
  Segment87: 0x87,
  /** MAC-only segment (StoreMetadata). */
  Segment88: 0x88,
  /** Encrypted + MACed profile-element segment. */
  Segment86: 0x86,
  ConfigureISDPRequest: 0xbf24,
  DpProprietaryData: 0xb8,
  ReplaceSessionKeysRequest: 0xbf26,
  SmdpOtpk: TAG_OTPK,
  SmdpSign: TAG_SIGNATURE,
} as const;

/** RemoteOpId values. */
export const RemoteOpIdValue = { installBoundProfilePackage: 1 } as const;

// ------------------------------------------------------------------------------------------ ISC

export interface ControlRefTemplate {
  /** Key type (GP Card Spec table 11-16), 1 byte: `88` = AES. */
  readonly keyType: Uint8Array;
  /** Key length in bytes, 1 byte: `10`. */
  readonly keyLen: Uint8Array;
  /** Host ID, 1..16 bytes (osmo-smdpp: "mahlzeit"). */
  readonly hostId: Uint8Array;
}

export interface InitialiseSecureChannelRequest {
  /** See {@link RemoteOpIdValue}. */
  readonly remoteOpId: number;
  readonly transactionId: Uint8Array;
  readonly controlRefTemplate: ControlRefTemplate;
  /** otPK.DP.ECKA, `04||X||Y`. */
  readonly smdpOtpk: Uint8Array;
  /** r||s over {@link smdpSignInput}. */
  readonly smdpSign: Uint8Array;
  /** The complete `BF23` TLV as received (set by the decoder, ignored by the encoder). */
  readonly raw?: Uint8Array;
}

function encodeControlRefTemplate(x: ControlRefTemplate): Uint8Array {
  return encodeTlv(BppTag.ControlRefTemplate, [
    encodeTlv(0x80, checkSize(x.keyType, 1, 1, 'keyType')),
    encodeTlv(0x81, checkSize(x.keyLen, 1, 1, 'keyLen')),
    encodeTlv(0x84, checkSize(x.hostId, 1, 16, 'hostId')),
  ]);
}

function decodeControlRefTemplate(t: Tlv): ControlRefTemplate {
  const r = new TlvReader(t, 'ControlRefTemplate');
  const keyType = expectLength(r.req(0x80, 'keyType'), 1, 1, 'ControlRefTemplate.keyType');
  const keyLen = expectLength(r.req(0x81, 'keyLen'), 1, 1, 'ControlRefTemplate.keyLen');
  const hostId = expectLength(r.req(0x84, 'hostId'), 1, 16, 'ControlRefTemplate.hostId');
  endExtensible(r, [0x80, 0x81, 0x84]);
  return { keyType, keyLen, hostId };
}

/** The TLVs of BF23 that smdpSign covers (without the signature), freshly encoded. */
function iscSignedTlvs(x: InitialiseSecureChannelRequest): Uint8Array[] {
  return [
    encodeInteger(0x82, x.remoteOpId),
    encodeTlv(0x80, checkSize(x.transactionId, 1, 16, 'transactionId')),
    encodeControlRefTemplate(x.controlRefTemplate),
    encodeTlv(TAG_OTPK, x.smdpOtpk),
  ];
}

export function encodeInitialiseSecureChannelRequest(x: InitialiseSecureChannelRequest): Uint8Array {
  return encodeTlv(BppTag.InitialiseSecureChannelRequest, [...iscSignedTlvs(x), encodeTlv(TAG_SIGNATURE, x.smdpSign)]);
}

export function decodeInitialiseSecureChannelRequest(input: Uint8Array | Tlv): InitialiseSecureChannelRequest {
  const t = asTlv(input, BppTag.InitialiseSecureChannelRequest, 'InitialiseSecureChannelRequest');
  const r = new TlvReader(t, 'InitialiseSecureChannelRequest');
  const remoteOpId = decodeInteger(r.req(0x82, 'remoteOpId'));
  const transactionId = transactionIdOf(r.req(0x80, 'transactionId'), 'InitialiseSecureChannelRequest');
  const controlRefTemplate = decodeControlRefTemplate(r.req(BppTag.ControlRefTemplate, 'controlRefTemplate'));
  const smdpOtpk = r.req(TAG_OTPK, 'smdpOtpk').value;
  const smdpSign = r.req(TAG_SIGNATURE, 'smdpSign').value;
  endExtensible(r, [0x82, 0x80, BppTag.ControlRefTemplate, TAG_OTPK, TAG_SIGNATURE]);
  return { remoteOpId, transactionId, controlRefTemplate, smdpOtpk, smdpSign, raw: t.raw };
}

/**
 * The exact bytes smdpSign covers: `82`‖`80`‖`A6`‖`5F49 smdpOtpk` TLVs (as received when `isc.raw` is set)
 * followed by the `5F49` TLV of `euiccOtpk` (otPK.EUICC.ECKA from euiccSigned2).
 */
export function smdpSignInput(isc: InitialiseSecureChannelRequest, euiccOtpk: Uint8Array): Uint8Array {
  let signed: Uint8Array[];
  if (isc.raw) {
    const t = decodeTlv(isc.raw);
    signed = [0x82, 0x80, BppTag.ControlRefTemplate, TAG_OTPK].map((tag) => {
      const c = t.children.find((x) => x.tag === tag);
      if (!c) throw new Asn1Error('missing-element', `InitialiseSecureChannelRequest: ${tagHex(tag)} missing`, t.offset);
      return c.raw;
    });
  } else {
    signed = iscSignedTlvs(isc);
  }
  return concatBytes(...signed, encodeTlv(TAG_OTPK, euiccOtpk));
}

// ------------------------------------------------------------------------------------------ BPP

export interface BoundProfilePackage {
  readonly initialiseSecureChannelRequest: InitialiseSecureChannelRequest;
  /** Complete `87` TLVs (ConfigureISDPRequest, protected). */
  readonly firstSequenceOf87: readonly Uint8Array[];
  /** Complete `88` TLVs (StoreMetadataRequest, MAC only). */
  readonly sequenceOf88: readonly Uint8Array[];
  /** Complete `87` TLVs (ReplaceSessionKeysRequest, protected), when present. */
  readonly secondSequenceOf87?: readonly Uint8Array[];
  /** Complete `86` TLVs (profile elements, protected). */
  readonly sequenceOf86: readonly Uint8Array[];
  /** The complete `BF36` TLV as received (set by the decoder, ignored by the encoder). */
  readonly raw?: Uint8Array;
}

function encodeSegments(tag: number, segTag: number, segs: readonly Uint8Array[], what: string): Uint8Array {
  return encodeTlv(
    tag,
    segs.map((s, i) => checkTlv(s, segTag, `${what}[${i}]`)),
  );
}

function decodeSegments(t: Tlv, segTag: number, what: string): Uint8Array[] {
  return sequenceOf(t, segTag, what).map((c) => c.raw);
}

export function encodeBoundProfilePackage(x: BoundProfilePackage): Uint8Array {
  const parts = [
    encodeInitialiseSecureChannelRequest(x.initialiseSecureChannelRequest),
    encodeSegments(0xa0, 0x87, x.firstSequenceOf87, 'firstSequenceOf87'),
    encodeSegments(0xa1, 0x88, x.sequenceOf88, 'sequenceOf88'),
  ];
  if (x.secondSequenceOf87 !== undefined) parts.push(encodeSegments(0xa2, 0x87, x.secondSequenceOf87, 'secondSequenceOf87'));
  parts.push(encodeSegments(0xa3, 0x86, x.sequenceOf86, 'sequenceOf86'));
  return encodeTlv(BppTag.BoundProfilePackage, parts);
}

export function decodeBoundProfilePackage(input: Uint8Array | Tlv): BoundProfilePackage {
  const t = asTlv(input, BppTag.BoundProfilePackage, 'BoundProfilePackage');
  const r = new TlvReader(t, 'BoundProfilePackage');
  const isc = decodeInitialiseSecureChannelRequest(r.req(BppTag.InitialiseSecureChannelRequest, 'initialiseSecureChannelRequest'));
  const first = decodeSegments(r.req(0xa0, 'firstSequenceOf87'), 0x87, 'firstSequenceOf87');
  const s88 = decodeSegments(r.req(0xa1, 'sequenceOf88'), 0x88, 'sequenceOf88');
  const a2 = r.opt(0xa2);
  const s86 = decodeSegments(r.req(0xa3, 'sequenceOf86'), 0x86, 'sequenceOf86');
  endExtensible(r, [BppTag.InitialiseSecureChannelRequest, 0xa0, 0xa1, 0xa2, 0xa3]);
  const base = { initialiseSecureChannelRequest: isc, firstSequenceOf87: first, sequenceOf88: s88 };
  return a2
    ? { ...base, secondSequenceOf87: decodeSegments(a2, 0x87, 'secondSequenceOf87'), sequenceOf86: s86, raw: t.raw }
    : { ...base, sequenceOf86: s86, raw: t.raw };
}

// ------------------------------------------------------------------------------------------ segmentation

/**
 * LPA segmentation of a BPP for ES10b.LoadBoundProfilePackage (SGP22-NOTES §3.2): each returned array is
 * sent as its own STORE DATA sequence.
 *   1. BF36 tag+length together with the complete BF23 TLV
 *   2. the complete A0 TLV
 *   3. A1 tag+length alone, then each 88 TLV
 *   4. the complete A2 TLV (only if present)
 *   5. A3 tag+length alone, then each 86 TLV
 * The input is validated as a BoundProfilePackage first (Asn1Error otherwise). Headers are the bytes as
 * received. Unknown extension elements of BF36 (none are defined) would be sent whole, in place.
 * Segments are views into `bpp`.
 */
export function segmentBpp(bpp: Uint8Array): Uint8Array[] {
  const t = decodeTlv(bpp);
  decodeBoundProfilePackage(t);
  const header = (x: Tlv): Uint8Array => x.raw.subarray(0, x.valueOffset - x.offset);
  const out: Uint8Array[] = [];
  const [isc, ...rest] = t.children;
  out.push(bpp.subarray(0, isc!.offset + isc!.raw.length));
  for (const c of rest) {
    if (c.tag === 0xa1 || c.tag === 0xa3) {
      out.push(header(c));
      for (const s of c.children) out.push(s.raw);
    } else {
      out.push(c.raw);
    }
  }
  return out;
}

/**
 * Inverse of {@link segmentBpp} for the card side: the segments concatenated in order are the BPP.
 * The result is validated as one BoundProfilePackage (Asn1Error otherwise).
 */
export function joinBppSegments(segments: readonly Uint8Array[]): Uint8Array {
  const bpp = concatBytes(...segments);
  decodeBoundProfilePackage(bpp);
  return bpp;
}

// ------------------------------------------------------------------------------------------ plaintext messages

export type { DpProprietaryData } from './metadata.js';

export interface ConfigureISDPRequest {
  readonly dpProprietaryData?: DpProprietaryData;
}

export function encodeConfigureISDPRequest(x: ConfigureISDPRequest): Uint8Array {
  if (x.dpProprietaryData === undefined) return encodeTlv(BppTag.ConfigureISDPRequest);
  return encodeTlv(BppTag.ConfigureISDPRequest, encodeDpProprietaryData(x.dpProprietaryData, BppTag.DpProprietaryData));
}

export function decodeConfigureISDPRequest(input: Uint8Array | Tlv): ConfigureISDPRequest {
  const t = asTlv(input, BppTag.ConfigureISDPRequest, 'ConfigureISDPRequest');
  const r = new TlvReader(t, 'ConfigureISDPRequest');
  const dp = r.opt(BppTag.DpProprietaryData);
  endExtensible(r, [BppTag.DpProprietaryData]);
  if (!dp) return {};
  return { dpProprietaryData: decodeDpProprietaryData(dp, BppTag.DpProprietaryData) };
}

export interface ReplaceSessionKeysRequest {
  /** New initial MAC chaining value (16 bytes for AES-128). */
  readonly initialMacChainingValue: Uint8Array;
  /** PPK-ENC. */
  readonly ppkEnc: Uint8Array;
  /** PPK-MAC. */
  readonly ppkCmac: Uint8Array;
}

export function encodeReplaceSessionKeysRequest(x: ReplaceSessionKeysRequest): Uint8Array {
  return encodeTlv(BppTag.ReplaceSessionKeysRequest, [
    encodeTlv(0x80, x.initialMacChainingValue),
    encodeTlv(0x81, x.ppkEnc),
    encodeTlv(0x82, x.ppkCmac),
  ]);
}

export function decodeReplaceSessionKeysRequest(input: Uint8Array | Tlv): ReplaceSessionKeysRequest {
  const t = asTlv(input, BppTag.ReplaceSessionKeysRequest, 'ReplaceSessionKeysRequest');
  const r = new TlvReader(t, 'ReplaceSessionKeysRequest');
  const initialMacChainingValue = r.req(0x80, 'initialMacChainingValue').value;
  const ppkEnc = r.req(0x81, 'ppkEnc').value;
  const ppkCmac = r.req(0x82, 'ppkCmac').value;
  endExtensible(r, [0x80, 0x81, 0x82]);
  return { initialMacChainingValue, ppkEnc, ppkCmac };
}

export const FUZZ_DECODERS_BPP: ReadonlyArray<{ name: string; decode: (b: Uint8Array) => unknown }> = [
  { name: 'InitialiseSecureChannelRequest', decode: decodeInitialiseSecureChannelRequest },
  { name: 'BoundProfilePackage', decode: decodeBoundProfilePackage },
  { name: 'segmentBpp', decode: segmentBpp },
  { name: 'joinBppSegments', decode: (b) => joinBppSegments([b]) },
  { name: 'ConfigureISDPRequest', decode: decodeConfigureISDPRequest },
  { name: 'ReplaceSessionKeysRequest', decode: decodeReplaceSessionKeysRequest },
  {
    name: 'smdpSignInput',
    decode: (b) => smdpSignInput(decodeInitialiseSecureChannelRequest(b), new Uint8Array(65)),
  },
];
