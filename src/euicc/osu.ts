/**
 * OS update of the software eUICC: a proprietary (vendor-specific) command set, as real eUICCs have,
 * that loads an OS image signed by the EUM and changes the firmware version the card reports
 * (EUICCInfo2 euiccFirmwareVer, via {@link CardRuntime.firmwareVersion}).
 *
 * ## OS image
 * ```
 * header (44 bytes)
 *   0..3    magic "ESOS" (45 53 4F 53)
 *   4       image format 01
 *   5..7    version major, minor, patch (one byte each: x.y.z, 0..255)
 *   8..11   payload length, unsigned 32-bit big-endian (1 .. OSU_MAX_PAYLOAD)
 *   12..43  SHA-256 of the payload
 * signature (64 bytes)  ECDSA-SHA256 over the 44 header bytes with SK.EUM, raw r||s
 * payload   (payload length bytes)
 * ```
 * The card verifies the signature with the public key of its own CERT.EUM (identity.eumCertificate)
 * and the payload against the signed hash, so only the card's manufacturer can update it.
 *
 * ## Commands
 * Class: GlobalPlatform proprietary, `80`|channel (channels 0-3) or `C0`|(channel-4) (channels 4-19), on
 * a logical channel where ISD-R is selected (card.ts routes INS EC-EF there). An ISO class (b8 = 0) is
 * answered 6E00.
 *
 * | INS | name   | P1 P2                | data                       | response data                 |
 * |-----|--------|----------------------|----------------------------|-------------------------------|
 * | EC  | BEGIN  | 00 00                | header (44) + signature (64) | none                        |
 * | ED  | LOAD   | block number (16 bit, from 0000) | 1..n payload bytes | received (4) + total (4)    |
 * | EE  | COMMIT | 00 00 commit, 01 00 abort | none                  | commit: new version (3 bytes) |
 * | EF  | STATUS | 00 00                | none                       | status (15 bytes, below)      |
 *
 * STATUS data: state (1: 00 idle, 01 loading, 02 all bytes received) || current version (3) || target
 * version (3, 000000 when idle) || received (4, big-endian) || total (4, big-endian).
 *
 * BEGIN starts a new load (dropping any load in progress). LOAD blocks must be consecutive; a block with
 * the wrong number is refused (6A86) and the load stays where it was, so the block can be resent.
 * COMMIT after all bytes: the payload hash is checked and the new version is stored persistently
 * (meta 'firmwareVersion', in one transaction with 'osu.lastImageSha256').
 *
 * A load in progress is kept in memory only ({@link RspSession.osuLoad}): a power-off, a reset, or a
 * process crash aborts it, and the host restarts with BEGIN. The committed version survives everything.
 *
 * ## Status words
 * - 9000 success
 * - 6700 wrong length (BEGIN data not 108 bytes; LOAD without data; data sent to COMMIT or STATUS)
 * - 6A86 incorrect P1 P2 (non-zero where 00 00 is required, unknown COMMIT P1, LOAD block out of sequence)
 * - 6A80 incorrect data (bad magic or format; zero payload length; LOAD beyond the announced length — the
 *   load is aborted)
 * - 6A84 not enough memory (payload longer than OSU_MAX_PAYLOAD)
 * - 6982 security status not satisfied (signature does not verify with PK.EUM; payload hash mismatch at
 *   COMMIT — the load is aborted)
 * - 6985 conditions not satisfied (version not newer than the current one: downgrade or same version;
 *   LOAD or COMMIT with no load in progress; COMMIT before all bytes were received)
 * - 6D00 INS not in the OS-update set, 6E00 non-proprietary class
 */
import { createHash, type Hash, type KeyObject } from 'node:crypto';
import type { CommandApdu } from '../apdu/apdu.js';
import { claFor, encodeCommandApdu } from '../apdu/apdu.js';
import { signRaw, verifyRaw } from '../crypto/ecdsa.js';
import { parseCertificate } from '../crypto/x509.js';
import { bytesEqual, concatBytes, toHex } from '../util/hex.js';
import type { OsuLoadState } from './session.js';
import type { CardRuntime } from './types.js';

export const OSU_INS_BEGIN = 0xec;
export const OSU_INS_LOAD = 0xed;
export const OSU_INS_COMMIT = 0xee;
export const OSU_INS_STATUS = 0xef;
/** The INS bytes card.ts routes to {@link handleOsuApdu}. */
export const OSU_INS: readonly number[] = Object.freeze([OSU_INS_BEGIN, OSU_INS_LOAD, OSU_INS_COMMIT, OSU_INS_STATUS]);

export const OS_IMAGE_MAGIC = Uint8Array.of(0x45, 0x53, 0x4f, 0x53); // "ESOS"
export const OS_IMAGE_FORMAT = 1;
export const OS_IMAGE_HEADER_LENGTH = 44;
export const OS_IMAGE_SIGNATURE_LENGTH = 64;
/** Largest payload the card accepts (bytes). */
export const OSU_MAX_PAYLOAD = 16 * 1024 * 1024;

/** Meta keys written on commit. */
export const OSU_META = {
  firmwareVersion: 'firmwareVersion',
  lastImageSha256: 'osu.lastImageSha256',
} as const;

/** Status-word values used here (same numbers as apdu.ts SW). */
const SW_OK = 0x9000;
const SW_WRONG_LENGTH = 0x6700;
const SW_SECURITY = 0x6982;
const SW_CONDITIONS = 0x6985;
const SW_INCORRECT_DATA = 0x6a80;
const SW_NO_MEMORY = 0x6a84;
const SW_P1P2 = 0x6a86;
const SW_INS = 0x6d00;
const SW_CLA = 0x6e00;

export type OsuErrorCode = 'bad-image' | 'bad-version';

/** A malformed OS image or version string (host-side helpers). */
export class OsuError extends Error {
  override readonly name = 'OsuError';
  constructor(
    readonly code: OsuErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A version x.y.z as three bytes. */
export type OsVersion = readonly [number, number, number];

/** "x.y.z" → [x, y, z] (each 0..255). Throws OsuError('bad-version'). */
export function parseOsVersion(text: string): OsVersion {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) throw new OsuError('bad-version', `version ${JSON.stringify(text)} is not x.y.z`);
  const v = [Number(m[1]), Number(m[2]), Number(m[3])] as const;
  if (v.some((n) => n > 255)) throw new OsuError('bad-version', `version ${text}: each part must be 0..255`);
  return v;
}

export function formatOsVersion(v: OsVersion): string {
  return `${v[0]}.${v[1]}.${v[2]}`;
}

/** Negative, zero or positive like a comparator. */
export function compareOsVersions(a: OsVersion, b: OsVersion): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export interface OsImageHeader {
  readonly version: OsVersion;
  readonly payloadLength: number;
  readonly payloadSha256: Uint8Array;
  /** The exact 44 header bytes (what the signature covers). */
  readonly raw: Uint8Array;
}

export interface OsImage {
  readonly header: OsImageHeader;
  readonly signature: Uint8Array;
  readonly payload: Uint8Array;
}

function encodeHeader(version: OsVersion, payloadLength: number, sha: Uint8Array): Uint8Array {
  const h = new Uint8Array(OS_IMAGE_HEADER_LENGTH);
  h.set(OS_IMAGE_MAGIC, 0);
  h[4] = OS_IMAGE_FORMAT;
  h[5] = version[0];
  h[6] = version[1];
  h[7] = version[2];
  new DataView(h.buffer).setUint32(8, payloadLength, false);
  h.set(sha, 12);
  return h;
}

/** Parse the 44 header bytes. Returns a reason string instead of throwing (card side). */
function decodeHeader(raw: Uint8Array): OsImageHeader | string {
  if (raw.length !== OS_IMAGE_HEADER_LENGTH) return `header of ${raw.length} bytes`;
  if (!bytesEqual(raw.subarray(0, 4), OS_IMAGE_MAGIC)) return 'bad magic';
  if (raw[4] !== OS_IMAGE_FORMAT) return `unknown image format ${raw[4]}`;
  const payloadLength = new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getUint32(8, false);
  return {
    version: [raw[5]!, raw[6]!, raw[7]!],
    payloadLength,
    payloadSha256: raw.slice(12, 44),
    raw: raw.slice(),
  };
}

/**
 * Build a signed OS image: header || ECDSA(SK.EUM, header) raw r||s || payload.
 * `version` is "x.y.z"; `payload` 1..OSU_MAX_PAYLOAD bytes.
 */
export function buildOsImage(opts: { eumKey: KeyObject; version: string; payload: Uint8Array }): Uint8Array {
  const version = parseOsVersion(opts.version);
  if (opts.payload.length === 0 || opts.payload.length > OSU_MAX_PAYLOAD) {
    throw new OsuError('bad-image', `payload of ${opts.payload.length} bytes (1..${OSU_MAX_PAYLOAD})`);
  }
  const sha = new Uint8Array(createHash('sha256').update(opts.payload).digest());
  const header = encodeHeader(version, opts.payload.length, sha);
  const sig = signRaw(opts.eumKey, header);
  return concatBytes(header, sig, opts.payload);
}

/** Split an OS image (no signature check). Throws OsuError('bad-image'). */
export function parseOsImage(image: Uint8Array): OsImage {
  const pre = OS_IMAGE_HEADER_LENGTH + OS_IMAGE_SIGNATURE_LENGTH;
  if (image.length < pre) throw new OsuError('bad-image', `image of ${image.length} bytes is shorter than header + signature`);
  const header = decodeHeader(image.subarray(0, OS_IMAGE_HEADER_LENGTH));
  if (typeof header === 'string') throw new OsuError('bad-image', header);
  if (image.length !== pre + header.payloadLength) {
    throw new OsuError('bad-image', `payload is ${image.length - pre} bytes, header says ${header.payloadLength}`);
  }
  return {
    header,
    signature: image.slice(OS_IMAGE_HEADER_LENGTH, pre),
    payload: image.subarray(pre),
  };
}

/** Whether the image's header signature verifies with `eumPublicKey`. */
export function verifyOsImage(image: OsImage, eumPublicKey: KeyObject): boolean {
  return verifyRaw(eumPublicKey, image.header.raw, image.signature);
}

/**
 * The command APDUs that load `image` on a channel: BEGIN, LOAD blocks of `blockSize` bytes (default 240;
 * >255 gives extended-length APDUs), COMMIT.
 */
export function osuCommands(image: Uint8Array, opts: { channel?: number; blockSize?: number } = {}): Uint8Array[] {
  const parsed = parseOsImage(image);
  const cla = claFor(opts.channel ?? 0, true);
  const blockSize = opts.blockSize ?? 240;
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 65535) throw new RangeError(`block size ${blockSize}`);
  const out: Uint8Array[] = [
    encodeCommandApdu({ cla, ins: OSU_INS_BEGIN, p1: 0, p2: 0, data: concatBytes(parsed.header.raw, parsed.signature) }),
  ];
  const blocks = Math.ceil(parsed.payload.length / blockSize);
  if (blocks > 0x10000) throw new RangeError(`${blocks} blocks exceed the 16-bit block number; use a larger block size`);
  for (let i = 0; i < blocks; i++) {
    const data = parsed.payload.subarray(i * blockSize, (i + 1) * blockSize);
    out.push(encodeCommandApdu({ cla, ins: OSU_INS_LOAD, p1: i >> 8, p2: i & 0xff, data, le: 256 }));
  }
  out.push(encodeCommandApdu({ cla, ins: OSU_INS_COMMIT, p1: 0, p2: 0, le: 256 }));
  return out;
}

// ------------------------------------------------------------------------------------------ progress

export interface OsuProgress {
  readonly phase: 'begin' | 'load' | 'commit' | 'abort';
  /** Target version "x.y.z". */
  readonly version: string;
  readonly received: number;
  readonly total: number;
}

export type OsuProgressListener = (p: OsuProgress) => void;

const LISTENERS = new WeakMap<CardRuntime, Set<OsuProgressListener>>();

/**
 * Event hook: `listener` is called after every accepted BEGIN, LOAD and COMMIT (and when a load is
 * aborted by ABORT or a fatal error) on this card. Returns a function that removes the listener.
 */
export function onProgress(card: CardRuntime, listener: OsuProgressListener): () => void {
  let set = LISTENERS.get(card);
  if (!set) {
    set = new Set();
    LISTENERS.set(card, set);
  }
  set.add(listener);
  return () => {
    set.delete(listener);
  };
}

function emit(card: CardRuntime, p: OsuProgress): void {
  const set = LISTENERS.get(card);
  if (!set) return;
  for (const l of set) {
    try {
      l(p);
    } catch {
      // a listener's failure never changes the card's answer
    }
  }
}

// ------------------------------------------------------------------------------------------ card side

class OsuLoad implements OsuLoadState {
  readonly kind = 'osu-load' as const;
  received = 0;
  nextBlock = 0;
  readonly hash: Hash = createHash('sha256');
  constructor(readonly header: OsImageHeader) {}
}

function currentLoad(card: CardRuntime): OsuLoad | undefined {
  const s = card.session.osuLoad;
  return s instanceof OsuLoad ? s : undefined;
}

function currentVersion(card: CardRuntime): OsVersion {
  try {
    return parseOsVersion(card.firmwareVersion());
  } catch {
    return [0, 0, 0];
  }
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

const NONE = new Uint8Array(0);
const answer = (sw: number, data: Uint8Array = NONE): { data: Uint8Array; sw: number } => ({ data, sw });

function abort(card: CardRuntime, load: OsuLoad): void {
  card.session.osuLoad = undefined;
  emit(card, { phase: 'abort', version: formatOsVersion(load.header.version), received: load.received, total: load.header.payloadLength });
}

function eumPublicKey(card: CardRuntime): KeyObject | undefined {
  try {
    return parseCertificate(card.identity.eumCertificate, 'eum').subjectPublicKeyInfo.key ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * Handle one OS-update command APDU (INS in {@link OSU_INS}) on an open channel with ISD-R selected.
 * Never throws; every fault is a status word (see the file header).
 */
export function handleOsuApdu(
  cmd: CommandApdu,
  ctx: { card: CardRuntime; port: number; channel: number },
): { data: Uint8Array; sw: number } {
  const card = ctx.card;
  if ((cmd.cla & 0x80) === 0) return answer(SW_CLA);
  switch (cmd.ins) {
    case OSU_INS_BEGIN:
      return begin(cmd, card);
    case OSU_INS_LOAD:
      return load(cmd, card);
    case OSU_INS_COMMIT:
      return commit(cmd, card);
    case OSU_INS_STATUS:
      return status(cmd, card);
    default:
      return answer(SW_INS);
  }
}

function begin(cmd: CommandApdu, card: CardRuntime): { data: Uint8Array; sw: number } {
  if (cmd.p1 !== 0 || cmd.p2 !== 0) return answer(SW_P1P2);
  if (cmd.data.length !== OS_IMAGE_HEADER_LENGTH + OS_IMAGE_SIGNATURE_LENGTH) return answer(SW_WRONG_LENGTH);
  // A new BEGIN always drops the load in progress, whatever its own outcome.
  const previous = currentLoad(card);
  if (previous) abort(card, previous);
  const header = decodeHeader(cmd.data.subarray(0, OS_IMAGE_HEADER_LENGTH));
  if (typeof header === 'string') return answer(SW_INCORRECT_DATA);
  if (header.payloadLength === 0) return answer(SW_INCORRECT_DATA);
  if (header.payloadLength > OSU_MAX_PAYLOAD) return answer(SW_NO_MEMORY);
  const key = eumPublicKey(card);
  if (!key || !verifyRaw(key, header.raw, cmd.data.subarray(OS_IMAGE_HEADER_LENGTH))) return answer(SW_SECURITY);
  if (compareOsVersions(header.version, currentVersion(card)) <= 0) return answer(SW_CONDITIONS);
  const st = new OsuLoad(header);
  card.session.osuLoad = st;
  emit(card, { phase: 'begin', version: formatOsVersion(header.version), received: 0, total: header.payloadLength });
  return answer(SW_OK);
}

function load(cmd: CommandApdu, card: CardRuntime): { data: Uint8Array; sw: number } {
  const st = currentLoad(card);
  if (cmd.data.length === 0) return answer(SW_WRONG_LENGTH);
  if (!st) return answer(SW_CONDITIONS);
  const block = (cmd.p1 << 8) | cmd.p2;
  if (block !== st.nextBlock) return answer(SW_P1P2);
  if (st.received + cmd.data.length > st.header.payloadLength) {
    abort(card, st);
    return answer(SW_INCORRECT_DATA);
  }
  st.hash.update(cmd.data);
  st.received += cmd.data.length;
  st.nextBlock = (st.nextBlock + 1) & 0xffff;
  emit(card, { phase: 'load', version: formatOsVersion(st.header.version), received: st.received, total: st.header.payloadLength });
  return answer(SW_OK, concatBytes(u32(st.received), u32(st.header.payloadLength)));
}

function commit(cmd: CommandApdu, card: CardRuntime): { data: Uint8Array; sw: number } {
  if (cmd.p2 !== 0 || (cmd.p1 !== 0 && cmd.p1 !== 1)) return answer(SW_P1P2);
  if (cmd.data.length !== 0) return answer(SW_WRONG_LENGTH);
  const st = currentLoad(card);
  if (!st) return answer(SW_CONDITIONS);
  if (cmd.p1 === 1) {
    abort(card, st);
    return answer(SW_OK);
  }
  if (st.received !== st.header.payloadLength) return answer(SW_CONDITIONS);
  const digest = new Uint8Array(st.hash.digest());
  card.session.osuLoad = undefined;
  if (!bytesEqual(digest, st.header.payloadSha256)) {
    emit(card, { phase: 'abort', version: formatOsVersion(st.header.version), received: st.received, total: st.header.payloadLength });
    return answer(SW_SECURITY);
  }
  // Re-check against the version now current (another channel may have committed meanwhile).
  if (compareOsVersions(st.header.version, currentVersion(card)) <= 0) return answer(SW_CONDITIONS);
  const version = formatOsVersion(st.header.version);
  card.store.transaction(() => {
    card.store.setMetaString(OSU_META.firmwareVersion, version);
    card.store.setMetaString(OSU_META.lastImageSha256, toHex(digest));
  });
  emit(card, { phase: 'commit', version, received: st.received, total: st.header.payloadLength });
  return answer(SW_OK, Uint8Array.from(st.header.version));
}

function status(cmd: CommandApdu, card: CardRuntime): { data: Uint8Array; sw: number } {
  if (cmd.p1 !== 0 || cmd.p2 !== 0) return answer(SW_P1P2);
  if (cmd.data.length !== 0) return answer(SW_WRONG_LENGTH);
  const st = currentLoad(card);
  const cur = currentVersion(card);
  const state = !st ? 0 : st.received === st.header.payloadLength ? 2 : 1;
  const target = st ? st.header.version : ([0, 0, 0] as const);
  return answer(
    SW_OK,
    concatBytes(Uint8Array.of(state, ...cur, ...target), u32(st?.received ?? 0), u32(st?.header.payloadLength ?? 0)),
  );
}

export interface OsuStatus {
  readonly state: 'idle' | 'loading' | 'complete';
  readonly currentVersion: string;
  readonly targetVersion: string | undefined;
  readonly received: number;
  readonly total: number;
}

/** Decode the STATUS response data (host side). Throws OsuError('bad-image') when it is not 15 bytes. */
export function decodeOsuStatus(data: Uint8Array): OsuStatus {
  if (data.length !== 15) throw new OsuError('bad-image', `OSU status of ${data.length} bytes`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const state = data[0] === 0 ? 'idle' : data[0] === 1 ? 'loading' : 'complete';
  return {
    state,
    currentVersion: formatOsVersion([data[1]!, data[2]!, data[3]!]),
    targetVersion: data[0] === 0 ? undefined : formatOsVersion([data[4]!, data[5]!, data[6]!]),
    received: dv.getUint32(7, false),
    total: dv.getUint32(11, false),
  };
}
