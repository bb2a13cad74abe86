/**
 * ES10b.LoadBoundProfilePackage: the streaming BPP loader of the software eUICC (SGP22-NOTES §3).
 *
 * card.ts calls {@link loadBppSegment} with the bytes of one complete STORE DATA sequence: first the `BF36`
 * header + complete `BF23` (InitialiseSecureChannel), then `A0` (ConfigureISDP `87`s), `A1` header, each `88`
 * (StoreMetadata, MAC only), optionally `A2` (ReplaceSessionKeys `87`), `A3` header, each `86` (profile
 * elements). The loader is lenient about the cut: containers may come whole or as a bare header followed by
 * their segments, several items may share one call; what matters is the order of the items. It answers
 * `null` (9000, no data) after every accepted segment and the signed `BF37` ProfileInstallationResult after
 * the last `86` (the `A3` length tells when) or at the first failure.
 *
 * Decisions (proposed):
 * - Error pairing (bppCommandId → errorReason) per SGP22-NOTES §3.3: ISC → 1–5; configureISDP → 7, 8;
 *   storeMetadata → 6, 7, 8, 9, 15 (an undecodable StoreMetadata is 7); replaceSessionKeys → 7, 8;
 *   loadProfileElements → 7, 8, 10, 12, 13. A BSP C-MAC or padding failure is 8, any other segment or
 *   ordering fault 7. An unexpected internal failure is installFailedDueToUnknownError(127).
 * - Every BF37 (success or error) is also stored as a pending notification with a new sequence number, except
 *   when no PrepareDownload happened at all (no SM-DP+ address to report to): then the BF37 is only answered.
 * - simaResponse on success: one EUICCResponse `30 {A0 {30 {80 status ok(0)}}}` for the whole package
 *   (the software card does not process profile elements one by one). No simaResponse on errors.
 * - ICCID coding: StoreMetadata's 5A must be the EF.ICCID (swapped) coding of the ProfileHeader's iccid; the
 *   plain coding (older pySim BPPs) is accepted too and the profile is then stored with the swapped coding.
 * - Memory: a profile counts upp.length + metadata.length (StoredProfile.size); the limit is checked after
 *   StoreMetadata and after every `86` segment, against config.totalMemory − store.usedMemory().
 * - PPRs: none allowed on test/provisioning profiles; on operational profiles rat.ts pprAllowedByRat decides.
 * - Segments longer than 1020 bytes (osmo-smdpp's 1036-byte `86`) are accepted.
 */
import { Asn1Error, decodeTlv, encodeTlv, readTlvHeader } from '../asn1/tlv.js';
import { decodeInitialiseSecureChannelRequest, decodeConfigureISDPRequest, smdpSignInput } from '../asn1/sgp22/bpp.js';
import { decodeStoreMetadataRequest, NotificationEventBit, ProfileClassValue, type StoreMetadataRequest } from '../asn1/sgp22/metadata.js';
import {
  BppCommandIdValue as CMD,
  ErrorReasonValue as ER,
  encodeProfileInstallationResultData,
  type FinalResult,
} from '../asn1/sgp22/notifications.js';
import { signatureTlv } from '../asn1/sgp22/codec-util.js';
import { decodeProfilePackage } from '../asn1/saip.js';
import { BspError, BspInstance, parseReplaceSessionKeys } from '../crypto/bsp.js';
import { verifyRaw } from '../crypto/ecdsa.js';
import { ecka } from '../crypto/ecka.js';
import { deriveSessionKeys, type SessionKeys } from '../crypto/kdf.js';
import { decodeIccid, encodeIccid } from '../util/bcd.js';
import { bytesEqual, concatBytes } from '../util/hex.js';
import type { BppLoadState, PreparedDownload } from './session.js';
import type { CardRuntime, Es10Context } from './types.js';
import { CardFault } from './types.js';
import { pprAllowedByRat } from './rat.js';
import type { StoredNotification } from './state.js';

// ------------------------------------------------------------------------------------------ failures

class BppFailure extends Error {
  constructor(
    readonly commandId: number,
    readonly reason: number,
    message: string,
  ) {
    super(message);
  }
}

function fail(commandId: number, reason: number, message: string): never {
  throw new BppFailure(commandId, reason, message);
}

function bspFailure(commandId: number, e: unknown): BppFailure {
  if (e instanceof BppFailure) return e;
  if (e instanceof BspError) {
    const reason = e.code === 'mac-mismatch' || e.code === 'bad-padding' ? ER.scp03tSecurityError : ER.scp03tStructureError;
    return new BppFailure(commandId, reason, e.message);
  }
  if (e instanceof Asn1Error) return new BppFailure(commandId, ER.scp03tStructureError, e.message);
  return new BppFailure(commandId, ER.installFailedDueToUnknownError, e instanceof Error ? e.message : String(e));
}

// ------------------------------------------------------------------------------------------ test hook

const TEST_SESSION_KEYS = new WeakMap<CardRuntime, SessionKeys>();

/**
 * TEST ONLY. Make the next InitialiseSecureChannel of this card use `keys` instead of ECKA + KDF (the
 * smdpSign is still verified with the session's otPK.EUICC). This lets a test load a recorded BPP whose
 * eUICC one-time private key was never published (vectors/bpp-decode.json gives the session keys). Pass
 * undefined to remove. Never call this outside tests.
 */
export function setTestOnlySessionKeys(card: CardRuntime, keys: SessionKeys | undefined): void {
  if (keys) TEST_SESSION_KEYS.set(card, keys);
  else TEST_SESSION_KEYS.delete(card);
}

// ------------------------------------------------------------------------------------------ loader state

type Container = 0xa0 | 0xa1 | 0xa2 | 0xa3;

const COMMAND_OF: Record<Container, number> = {
  0xa0: CMD.configureISDP,
  0xa1: CMD.storeMetadata,
  0xa2: CMD.replaceSessionKeys,
  0xa3: CMD.loadProfileElements,
};
const SEGMENT_TAG_OF: Record<Container, number> = { 0xa0: 0x87, 0xa1: 0x88, 0xa2: 0x87, 0xa3: 0x86 };

/** The loader attached to session.bpp. */
class BppLoader implements BppLoadState {
  readonly transactionId: Uint8Array;
  readonly download: PreparedDownload;
  bsp: BspInstance | undefined;
  /** Containers seen so far, in order. */
  readonly seen: Container[] = [];
  /** The container being filled and the bytes of it still expected. */
  open: { tag: Container; remaining: number } | undefined;
  readonly parts: Uint8Array[] = [];
  configureIsdpB8: Uint8Array | undefined;
  metadata: StoreMetadataRequest | undefined;
  metadataBytes: Uint8Array | undefined;
  uppChunks: Uint8Array[] = [];
  uppLength = 0;
  /**
   * Free memory when the first `86` arrived: the per-segment check uses it instead of summing the stored
   * profiles for every segment. Nothing can install a profile during the load (only a delete could free
   * memory), so it is never more than the real free memory; finish() checks against the store again.
   */
  freeAtFirstSegment: number | undefined;
  finished = false;

  constructor(transactionId: Uint8Array, download: PreparedDownload) {
    this.transactionId = transactionId;
    this.download = download;
  }

  dispose(): void {
    this.bsp = undefined;
    this.uppChunks = [];
    this.parts.length = 0;
  }

  /** bppCommandId of the step now expected (for errors). */
  currentCommand(): number {
    if (this.open) return COMMAND_OF[this.open.tag];
    const last = this.seen[this.seen.length - 1];
    if (last === undefined) return CMD.configureISDP;
    if (last === 0xa0) return CMD.storeMetadata;
    return CMD.loadProfileElements;
  }
}

// ------------------------------------------------------------------------------------------ results

/** EUICCResponse with a single ok PEStatus: 30 {A0 {30 {80 01 00}}}. */
const SIMA_OK = encodeTlv(0x30, encodeTlv(0xa0, encodeTlv(0x30, encodeTlv(0x80, new Uint8Array([0])))));

function iccidForNotification(loader: BppLoader | undefined): Uint8Array | undefined {
  const md = loader?.metadata;
  return md && md.iccid.length === 10 ? md.iccid : undefined;
}

/**
 * Sign and encode a BF37 with the given seqNumber; returns the BF37 bytes.
 */
function encodePir(
  card: CardRuntime,
  seqNumber: number,
  transactionId: Uint8Array,
  address: string,
  smdpOid: string,
  iccid: Uint8Array | undefined,
  finalResult: FinalResult,
): Uint8Array {
  const data = encodeProfileInstallationResultData({
    transactionId,
    notificationMetadata: {
      seqNumber,
      profileManagementOperation: [NotificationEventBit.notificationInstall],
      notificationAddress: address,
      ...(iccid !== undefined && { iccid }),
    },
    smdpOid,
    finalResult,
  });
  return encodeTlv(0xbf37, [data, signatureTlv(card.identity.sign(data))]);
}

function endSession(card: CardRuntime): void {
  const s = card.session;
  s.auth = undefined;
  s.download = undefined;
  s.bpp?.dispose();
  s.bpp = undefined;
}

/** Answer an error: BF37 errorResult, stored as a pending notification; the session ends. */
function errorPir(card: CardRuntime, loader: BppLoader | undefined, f: BppFailure, fallbackTid: Uint8Array): Uint8Array {
  const download = loader?.download ?? card.session.download;
  const finalResult: FinalResult = { kind: 'errorResult', errorResult: { bppCommandId: f.commandId, errorReason: f.reason } };
  const iccid = iccidForNotification(loader);
  let out: Uint8Array;
  if (!download) {
    // No PrepareDownload: nothing to report to; answer only (seqNumber 0, not stored).
    const auth = card.session.auth;
    out = encodePir(card, 0, fallbackTid, auth?.serverAddress ?? '', '0.0', iccid, finalResult);
  } else {
    const store = card.store;
    out = store.transaction(() => {
      const seq = store.nextSeqNumber();
      const pir = encodePir(card, seq, download.transactionId, download.serverAddress, download.smdpOid || '0.0', iccid, finalResult);
      const n: StoredNotification = {
        seqNumber: seq,
        event: NotificationEventBit.notificationInstall,
        address: download.serverAddress,
        ...(iccid !== undefined && { iccid }),
        pending: pir,
      };
      store.addNotification(n);
      return pir;
    });
  }
  endSession(card);
  return out;
}

// ------------------------------------------------------------------------------------------ steps

function initialiseSecureChannel(card: CardRuntime, iscBytes: Uint8Array): BppLoader {
  const C = CMD.initialiseSecureChannel;
  let isc;
  try {
    isc = decodeInitialiseSecureChannelRequest(iscBytes);
  } catch (e) {
    fail(C, ER.incorrectInputValues, `InitialiseSecureChannelRequest: ${(e as Error).message}`);
  }
  const download = card.session.download;
  if (!download) fail(C, ER.invalidTransactionId, 'no PrepareDownload in this session');
  if (isc.remoteOpId !== 1) fail(C, ER.unsupportedRemoteOperationType, `remoteOpId ${isc.remoteOpId}`);
  if (!bytesEqual(isc.transactionId, download.transactionId)) fail(C, ER.invalidTransactionId, 'transactionId differs from the session');
  const crt = isc.controlRefTemplate;
  if (crt.keyType.length !== 1 || crt.keyType[0] !== 0x88 || crt.keyLen.length !== 1 || crt.keyLen[0] !== 0x10) {
    fail(C, ER.unsupportedCrtValues, 'only AES-128 (keyType 88, keyLen 10) is supported');
  }
  const key = download.dpPbCertificate.subjectPublicKeyInfo.key;
  let ok = false;
  try {
    ok = key !== null && verifyRaw(key, smdpSignInput(isc, download.otPk), isc.smdpSign);
  } catch {
    ok = false;
  }
  if (!ok) fail(C, ER.invalidSignature, 'smdpSign does not verify with CERT.DPpb');
  let keys = TEST_SESSION_KEYS.get(card);
  if (!keys) {
    try {
      const z = ecka(download.otSk, isc.smdpOtpk);
      keys = deriveSessionKeys(z, crt.hostId, card.identity.eidBytes);
    } catch (e) {
      fail(C, ER.incorrectInputValues, `smdpOtpk unusable: ${(e as Error).message}`);
    }
  }
  const loader = new BppLoader(download.transactionId, download);
  loader.bsp = BspInstance.fromSessionKeys(keys);
  return loader;
}

function freeMemory(card: CardRuntime): number {
  return card.config.totalMemory - card.store.usedMemory();
}

function storeMetadata(card: CardRuntime, loader: BppLoader, bytes: Uint8Array): void {
  const C = CMD.storeMetadata;
  let md: StoreMetadataRequest;
  try {
    md = decodeStoreMetadataRequest(bytes);
  } catch (e) {
    fail(C, ER.scp03tStructureError, `StoreMetadataRequest: ${(e as Error).message}`);
  }
  loader.metadata = md;
  loader.metadataBytes = bytes;
  if (card.store.findProfile({ iccid: md.iccid })) {
    fail(C, ER.installFailedDueToIccidAlreadyExistsOnEuicc, 'a profile with this ICCID is installed');
  }
  const cls = md.profileClass ?? ProfileClassValue.operational;
  if (cls !== ProfileClassValue.test && cls !== ProfileClassValue.provisioning && cls !== ProfileClassValue.operational) {
    fail(C, ER.unsupportedProfileClass, `profile class ${cls}`);
  }
  if (cls === ProfileClassValue.test && !card.config.testProfileSupport) {
    fail(C, ER.unsupportedProfileClass, 'test profiles are not supported by this card');
  }
  const pprs = md.profilePolicyRules ?? [];
  if (pprs.length > 0 && cls !== ProfileClassValue.operational) fail(C, ER.pprNotAllowed, 'PPRs on a non-operational profile');
  if (!pprAllowedByRat(card, pprs, md.profileOwner)) fail(C, ER.pprNotAllowed, 'PPRs not allowed by the RAT');
  if (bytes.length > freeMemory(card)) {
    fail(C, ER.installFailedDueToInsufficientMemoryForProfile, 'not enough memory for the metadata');
  }
}

/** After the last 86: decode, check and store the profile with its PIR in one transaction. */
function finish(card: CardRuntime, loader: BppLoader): Uint8Array {
  const C = CMD.loadProfileElements;
  const md = loader.metadata!;
  const mdBytes = loader.metadataBytes!;
  const upp = concatBytes(...loader.uppChunks);
  loader.uppChunks = [upp];
  let header;
  try {
    header = decodeProfilePackage(upp).header;
  } catch (e) {
    fail(C, ER.installFailedDueToPEProcessingError, `profile package: ${(e as Error).message}`);
  }
  let iccid: Uint8Array;
  let swappedDigits: string | undefined;
  try {
    swappedDigits = decodeIccid(md.iccid);
  } catch {
    swappedDigits = undefined;
  }
  if (swappedDigits === header.iccid) {
    iccid = md.iccid;
  } else if (bytesEqual(md.iccid, header.iccidBytes)) {
    iccid = encodeIccid(header.iccid);
    if (card.store.findProfile({ iccid })) {
      fail(CMD.storeMetadata, ER.installFailedDueToIccidAlreadyExistsOnEuicc, 'a profile with this ICCID is installed');
    }
  } else {
    fail(C, ER.installFailedDueToDataMismatch, `ICCID ${header.iccid} of the profile differs from StoreMetadata`);
  }
  const size = upp.length + mdBytes.length;
  if (size > freeMemory(card)) fail(C, ER.installFailedDueToInsufficientMemoryForProfile, 'not enough memory');
  const download = loader.download;
  const store = card.store;
  const pir = store.transaction(() => {
    const aid = store.nextIsdpAid();
    const seq = store.nextSeqNumber();
    store.insertProfile({
      aid,
      iccid,
      state: 0,
      port: null,
      metadata: mdBytes,
      profileClass: md.profileClass ?? ProfileClassValue.operational,
      pprs: md.profilePolicyRules ?? [],
      ...(loader.configureIsdpB8 !== undefined && { dpProprietaryData: loader.configureIsdpB8 }),
      upp,
      size,
      installedAt: card.now().getTime(),
    });
    const out = encodePir(card, seq, download.transactionId, download.serverAddress, download.smdpOid || '0.0', iccid, {
      kind: 'successResult',
      successResult: { aid, simaResponse: SIMA_OK },
    });
    store.addNotification({ seqNumber: seq, event: NotificationEventBit.notificationInstall, address: download.serverAddress, iccid, pending: out });
    return out;
  });
  endSession(card);
  return pir;
}

/** A container (A0..A3) is complete: act on its content. */
function closeContainer(card: CardRuntime, loader: BppLoader, tag: Container): Uint8Array | null {
  const parts = loader.parts.splice(0);
  const cmd = COMMAND_OF[tag];
  if (tag !== 0xa3 && parts.length === 0) fail(cmd, ER.scp03tStructureError, `empty ${tag.toString(16)}`);
  switch (tag) {
    case 0xa0: {
      const plain = concatBytes(...parts);
      try {
        decodeConfigureISDPRequest(plain);
        const b8 = decodeTlv(plain).children.find((c) => c.tag === 0xb8);
        if (b8) loader.configureIsdpB8 = new Uint8Array(b8.raw);
      } catch (e) {
        fail(cmd, ER.scp03tStructureError, `ConfigureISDPRequest: ${(e as Error).message}`);
      }
      return null;
    }
    case 0xa1:
      storeMetadata(card, loader, concatBytes(...parts));
      return null;
    case 0xa2: {
      let rsk;
      try {
        rsk = parseReplaceSessionKeys(concatBytes(...parts));
      } catch (e) {
        fail(cmd, ER.scp03tStructureError, (e as Error).message);
      }
      loader.bsp = BspInstance.replaceSessionKeys(rsk);
      return null;
    }
    case 0xa3:
      if (loader.uppLength === 0) fail(cmd, ER.scp03tStructureError, 'no profile elements');
      return finish(card, loader);
  }
}

/** Which container may open now. */
function mayOpen(loader: BppLoader, tag: Container): boolean {
  const last = loader.seen[loader.seen.length - 1];
  switch (tag) {
    case 0xa0:
      return last === undefined;
    case 0xa1:
      return last === 0xa0;
    case 0xa2:
      return last === 0xa1;
    case 0xa3:
      return last === 0xa1 || last === 0xa2;
  }
}

function segment(card: CardRuntime, loader: BppLoader, tag: Container, tlv: Uint8Array): void {
  const cmd = COMMAND_OF[tag];
  const bsp = loader.bsp!;
  try {
    if (tag === 0xa1) {
      loader.parts.push(bsp.verifyMacOnly(tlv));
    } else if (tag === 0xa3) {
      const plain = bsp.verifyAndDecrypt(tlv, 0x86);
      loader.uppChunks.push(plain);
      loader.uppLength += plain.length;
      const projected = loader.uppLength + (loader.metadataBytes?.length ?? 0);
      loader.freeAtFirstSegment ??= freeMemory(card);
      if (projected > loader.freeAtFirstSegment) {
        fail(cmd, ER.installFailedDueToInsufficientMemoryForProfile, 'profile does not fit in the free memory');
      }
    } else {
      loader.parts.push(bsp.verifyAndDecrypt(tlv, 0x87));
    }
  } catch (e) {
    throw bspFailure(cmd, e);
  }
}

/** Process the items of one call (after the ISC). Returns the BF37 when the BPP is complete. */
function processItems(card: CardRuntime, loader: BppLoader, buf: Uint8Array, start: number): Uint8Array | null {
  let off = start;
  while (off < buf.length) {
    let h: { tag: number; headerLength: number; length: number };
    try {
      h = readTlvHeader(buf, off, { der: false });
    } catch (e) {
      fail(loader.currentCommand(), ER.scp03tStructureError, `segment header: ${(e as Error).message}`);
    }
    const open = loader.open;
    if (open) {
      // Inside a container: only its segment tag.
      const total = h.headerLength + h.length;
      if (h.tag !== SEGMENT_TAG_OF[open.tag]) {
        fail(COMMAND_OF[open.tag], ER.scp03tStructureError, `unexpected ${h.tag.toString(16)} inside ${open.tag.toString(16)}`);
      }
      if (off + total > buf.length) fail(COMMAND_OF[open.tag], ER.scp03tStructureError, 'segment cut in the middle');
      if (total > open.remaining) fail(COMMAND_OF[open.tag], ER.scp03tStructureError, 'segment overruns its container');
      segment(card, loader, open.tag, buf.subarray(off, off + total));
      off += total;
      open.remaining -= total;
      if (open.remaining === 0) {
        loader.open = undefined;
        const r = closeContainer(card, loader, open.tag);
        if (r) {
          if (off !== buf.length) fail(CMD.loadProfileElements, ER.scp03tStructureError, 'data after the BPP');
          return r;
        }
      }
      continue;
    }
    const tag = h.tag;
    if (tag !== 0xa0 && tag !== 0xa1 && tag !== 0xa2 && tag !== 0xa3) {
      fail(loader.currentCommand(), ER.scp03tStructureError, `unexpected ${tag.toString(16)}`);
    }
    if (!mayOpen(loader, tag)) fail(loader.currentCommand(), ER.scp03tStructureError, `${tag.toString(16)} out of order`);
    loader.seen.push(tag);
    off += h.headerLength;
    loader.open = { tag, remaining: h.length };
    if (h.length === 0) {
      loader.open = undefined;
      const r = closeContainer(card, loader, tag);
      if (r) return r;
    }
  }
  return null;
}

/**
 * One STORE DATA sequence of LoadBoundProfilePackage. Returns null (9000, no data) or the BF37.
 * Called by card.ts for sequences starting with BF36 and, while session.bpp is set, A0/A1/A2/A3/86/88.
 */
export function loadBppSegment(seg: Uint8Array, ctx: Es10Context): Uint8Array | null {
  const card = ctx.card;
  const session = card.session;
  let loader = session.bpp instanceof BppLoader ? session.bpp : undefined;
  const startsNew = seg.length >= 2 && seg[0] === 0xbf && seg[1] === 0x36;
  if (!startsNew && !loader) throw new CardFault(0x6985, 'no Bound Profile Package is being loaded');
  let fallbackTid = session.download?.transactionId ?? session.auth?.transactionId ?? new Uint8Array([0]);
  try {
    let off = 0;
    if (startsNew) {
      // A new BPP replaces one still loading.
      if (loader) {
        session.bpp = undefined;
        loader.dispose();
        loader = undefined;
      }
      let h;
      try {
        h = readTlvHeader(seg, 0, { der: false });
        off = h.headerLength;
        const isc = readTlvHeader(seg, off, { der: false });
        if (isc.tag !== 0xbf23) throw new Asn1Error('unexpected-tag', 'BF36 must start with BF23', off);
        const end = off + isc.headerLength + isc.length;
        if (end > seg.length) throw new Asn1Error('truncated', 'BF23 incomplete', off);
        const iscBytes = seg.subarray(off, end);
        try {
          const tid = decodeTlv(iscBytes).children.find((c) => c.tag === 0x80);
          if (tid && tid.value.length >= 1 && tid.value.length <= 16) fallbackTid = tid.value;
        } catch {
          /* reported below */
        }
        off = end;
        loader = initialiseSecureChannel(card, iscBytes);
      } catch (e) {
        if (e instanceof BppFailure) throw e;
        fail(CMD.initialiseSecureChannel, ER.incorrectInputValues, (e as Error).message);
      }
      session.bpp = loader;
    }
    return processItems(card, loader!, seg, off);
  } catch (e) {
    const f = bspFailure(loader?.currentCommand() ?? CMD.initialiseSecureChannel, e);
    return errorPir(card, loader, f, fallbackTid);
  }
}
