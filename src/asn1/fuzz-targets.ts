/**
 * Fuzz targets: every decoder that takes untrusted bytes, with the one error class it may throw.
 * Used by src/asn1/fuzz.test.ts (fast-check, bounded) and scripts/fuzz.ts (`npm run fuzz`, long runs).
 *
 * A target passes for an input when `decode` returns, or throws something `isExpectedError` accepts.
 * Anything else escaping (TypeError, RangeError, BcdError, a hang ...) is a bug.
 *
 * Seeds never depend on the shared reference folder (the benchmarks and CI must not need it); callers may
 * add the TS.48 files as extra seeds when they are present.
 */
import { encodeInteger, encodeOid, encodeUtf8 } from './der.js';
import { Asn1Error, decodeTlv, decodeTlvs, encodeTlv } from './tlv.js';
import { buildProfilePackage, decodeProfileHeader, decodeProfilePackage, iccidFromPackage, SaipError } from './saip.js';
import { ActivationCodeError, parseActivationCode } from './activation-code.js';
import { FUZZ_DECODERS_ADDRESSES } from './sgp22/addresses.js';
import { FUZZ_DECODERS_AUTHENTICATION } from './sgp22/authentication.js';
import { FUZZ_DECODERS_BPP } from './sgp22/bpp.js';
import { FUZZ_DECODERS_CANCEL_SESSION } from './sgp22/cancel-session.js';
import { FUZZ_DECODERS_ES11 } from './sgp22/es11.js';
import { FUZZ_DECODERS_EUICC_INFO } from './sgp22/euicc-info.js';
import { FUZZ_DECODERS_METADATA } from './sgp22/metadata.js';
import { FUZZ_DECODERS_NOTIFICATIONS } from './sgp22/notifications.js';
import { FUZZ_DECODERS_PROFILES } from './sgp22/profiles.js';
import { FUZZ_DECODERS_RAT } from './sgp22/rat.js';
import { sgp22Samples } from './sgp22/samples.js';

export interface FuzzTarget {
  readonly name: string;
  readonly decode: (b: Uint8Array) => unknown;
  readonly isExpectedError: (e: unknown) => boolean;
  readonly seeds: () => Uint8Array[];
}

/** Shape of the typed SGP.22 decoder lists other modules export as `FUZZ_DECODERS_*`. */
export interface FuzzDecoder {
  readonly name: string;
  readonly decode: (b: Uint8Array) => unknown;
  /** Optional valid encodings to mutate. */
  readonly seeds?: () => Uint8Array[];
}

const isAsn1Error = (e: unknown): boolean => e instanceof Asn1Error;
const isSaipOrAsn1Error = (e: unknown): boolean => e instanceof Asn1Error || e instanceof SaipError;
const isAcError = (e: unknown): boolean => e instanceof ActivationCodeError;

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8'); // non-fatal: invalid sequences become U+FFFD
const enc = new TextEncoder();

let upp: Uint8Array | undefined;
function builtPackage(): Uint8Array {
  upp ??= buildProfilePackage({ iccid: '89000123456789012341', profileType: 'fuzz seed' });
  return upp;
}

/** Small valid TLV encodings of various shapes (SGP.22-like tags, lengths 0..300, nesting). */
export function tlvSeeds(): Uint8Array[] {
  const p = builtPackage();
  const big = new Uint8Array(300).fill(0x41);
  return [
    encodeTlv(0x5a, Uint8Array.of(0x98, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x54, 0xf6)),
    encodeTlv(0xbf2d, [encodeTlv(0xa0, [encodeTlv(0xe3, [encodeTlv(0x5a, new Uint8Array(10)), encodeTlv(0x9f70, Uint8Array.of(1))])])]),
    encodeTlv(0xbf22, [encodeTlv(0x82, Uint8Array.of(2, 2, 0)), encodeTlv(0x04, big), encodeInteger(0x02, 1234567)]),
    encodeTlv(0x30, [encodeOid(0x06, '1.2.840.10045.4.3.2'), encodeUtf8(0x0c, 'héllo'), encodeTlv(0x05)]),
    encodeTlv(0x5f37, new Uint8Array(64)),
    encodeTlv(0xbf8101, [encodeTlv(0x80)]),
    p.subarray(0, 200),
    p,
  ];
}

/** Seeds for the SAIP decoders: our built package and its elements. */
export function saipSeeds(): Uint8Array[] {
  const p = builtPackage();
  const els = decodeTlvs(p);
  return [p, ...els.map((e) => e.raw), buildProfilePackage({ iccid: '8949449999999990049', padToSize: 2048 })];
}

export function activationCodeSeeds(): Uint8Array[] {
  return [
    '1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815',
    'LPA:1$smdp.example.com$MATCHING-ID-1$1.3.6.1.4.1.31746$1',
    '1$SMDP.GSMA.COM$$1.3.6.1.4.1.31746',
    '1$[::1]:8443$T$$1',
    '1$127.0.0.1:8000$TOKEN$2.999.1',
    '1$testsmdpplus1.example.com$TS48V2-SAIP2-1-BERTLV-UNIQUE',
  ].map((s) => enc.encode(s));
}

export const FUZZ_TARGETS: FuzzTarget[] = [
  { name: 'tlv.decodeTlv', decode: (b) => decodeTlv(b), isExpectedError: isAsn1Error, seeds: tlvSeeds },
  { name: 'tlv.decodeTlv.ber', decode: (b) => decodeTlv(b, { der: false }), isExpectedError: isAsn1Error, seeds: tlvSeeds },
  { name: 'tlv.decodeTlvs', decode: (b) => decodeTlvs(b), isExpectedError: isAsn1Error, seeds: tlvSeeds },
  {
    name: 'saip.decodeProfilePackage',
    decode: (b) => decodeProfilePackage(b),
    isExpectedError: isSaipOrAsn1Error,
    seeds: saipSeeds,
  },
  {
    name: 'saip.decodeProfilePackage.partial',
    decode: (b) => decodeProfilePackage(b, { requireEnd: false }),
    isExpectedError: isSaipOrAsn1Error,
    seeds: saipSeeds,
  },
  { name: 'saip.decodeProfileHeader', decode: (b) => decodeProfileHeader(b), isExpectedError: isSaipOrAsn1Error, seeds: saipSeeds },
  { name: 'saip.iccidFromPackage', decode: (b) => iccidFromPackage(b), isExpectedError: isSaipOrAsn1Error, seeds: saipSeeds },
  {
    name: 'activation-code.latin1',
    decode: (b) => parseActivationCode(latin1.decode(b)),
    isExpectedError: isAcError,
    seeds: activationCodeSeeds,
  },
  {
    name: 'activation-code.utf8',
    decode: (b) => parseActivationCode(utf8.decode(b)),
    isExpectedError: isAcError,
    seeds: activationCodeSeeds,
  },
  // Typed SGP.22 decoders: only Asn1Error may escape. Seeds: valid encodings of every message family.
  ...[
    FUZZ_DECODERS_EUICC_INFO,
    FUZZ_DECODERS_AUTHENTICATION,
    FUZZ_DECODERS_BPP,
    FUZZ_DECODERS_CANCEL_SESSION,
    FUZZ_DECODERS_METADATA,
    FUZZ_DECODERS_PROFILES,
    FUZZ_DECODERS_ADDRESSES,
    FUZZ_DECODERS_RAT,
    FUZZ_DECODERS_NOTIFICATIONS,
    FUZZ_DECODERS_ES11,
  ].flatMap((list) =>
    list.map((d) => ({ name: `sgp22.${d.name}`, decode: d.decode, isExpectedError: isAsn1Error, seeds: sgp22Samples })),
  ),
];

/** Wrap a `FUZZ_DECODERS_*` list (decoders whose only allowed error is Asn1Error) as fuzz targets. */
export function fromAsn1Decoders(list: readonly FuzzDecoder[], extra?: (e: unknown) => boolean): FuzzTarget[] {
  return list.map((d) => ({
    name: d.name,
    decode: d.decode,
    isExpectedError: extra ? (e: unknown) => e instanceof Asn1Error || extra(e) : isAsn1Error,
    seeds: d.seeds ?? tlvSeeds,
  }));
}

/** Find a target by name (throws RangeError listing the names). */
export function fuzzTarget(name: string): FuzzTarget {
  const t = FUZZ_TARGETS.find((x) => x.name === name);
  if (!t) throw new RangeError(`unknown fuzz target ${name}; known: ${FUZZ_TARGETS.map((x) => x.name).join(', ')}`);
  return t;
}
