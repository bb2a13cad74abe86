/**
 * Crash consistency of the software eUICC (issue 3, "Crash consistency"; state: "a profile install, enable,
 * disable, delete or reset is one transaction").
 *
 * The card runs in its own process (test/support/card-process.ts via card-child.ts) on a copy of a template
 * state file; this process drives it over APDUs (the SM-DP+ side of a download runs here) and SIGKILLs it
 * at an APDU picked uniformly among the APDUs of the operation — after writing that APDU (after a random
 * 0-6 ms pause, so the card may be mid-processing, mid-transaction or done), or after its response arrived.
 * Then the state file is reopened here (CardStore.open, SoftEuicc.open) and checked:
 *   - the file: integrity_check ok, only the card's tables, no journal left after the reopen;
 *   - every profile complete: its UPP decodes (decodeProfilePackage) with the stored ICCID in its header, its
 *     metadata decodes with the same ICCID, size = UPP + metadata, state/port consistent, AID handed out by
 *     the AID counter; at most one enabled profile per port;
 *   - every notification decodes, with seqNumber/event/ICCID/address equal to its row; the sequence counter
 *     is above every stored seqNumber and not below its value before the run;
 *   - memory accounting: EUICCInfo2 free memory (over APDUs) = totalMemory − Σ profile sizes;
 *   - the reopened card answers GetEID and GetProfilesInfo over APDUs, matching the store;
 *   - all-or-nothing: the whole state (profiles, notifications without their signatures, counters, meta) equals
 *     the state before the operation or the state after the same operation run to completion (computed once
 *     per operation variant in this process, and checked there to mean what it should).
 *
 * Besides the 200 uniform runs, 40 download runs are aimed at the install's commit (the last LoadBPP STORE
 * DATA, killed 0-20 ms after it was written), which a uniform pick among 36 APDUs rarely hits. The summary
 * line per operation counts the kills that struck inside a transaction (a journal was found): 'incomplete'
 * (killed before SQLite synced the journal; the database file untouched) or 'hot' (rolled back on reopen).
 *
 * Reproducible: fixed seed (ESIM_CRASH_SEED overrides), every run derives its own generator from (seed,
 * operation, run index); a failure prints seed, operation, run index, APDU index and kill mode.
 * ESIM_CRASH_SCALE multiplies the run counts (e.g. 5 for a long soak); ESIM_CRASH_PARALLEL sets the
 * number of card processes at a time (default 3).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTlvs } from '../src/asn1/tlv.js';
import { buildProfilePackage, decodeProfilePackage } from '../src/asn1/saip.js';
import { decodeEUICCInfo2, encodeGetEuiccInfo2Request } from '../src/asn1/sgp22/euicc-info.js';
import { decodeStoreMetadataRequest, NotificationEventBit, ProfileClassValue, type StoreMetadataRequest } from '../src/asn1/sgp22/metadata.js';
import { decodePendingNotification, pendingNotificationMetadata } from '../src/asn1/sgp22/notifications.js';
import {
  decodeDeleteProfileResponse,
  decodeEnableProfileResponse,
  decodeEuiccMemoryResetResponse,
  decodeGetEuiccDataResponse,
  decodeProfileInfoListResponse,
  DeleteResultValue,
  EnableResultValue,
  encodeDeleteProfileRequest,
  encodeEnableProfileRequest,
  encodeEuiccMemoryResetRequest,
  encodeGetEuiccDataRequest,
  encodeProfileInfoListRequest,
  ResetOptionsBit,
  ResetResultValue,
} from '../src/asn1/sgp22/profiles.js';
import { createDpAuth, createDpPb, type IssuedCertificate } from '../src/crypto/pki.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { DEFAULT_DP_ADDRESS_META } from '../src/euicc/es10a.js';
import { createIdentity } from '../src/euicc/identity.js';
import { CardStore } from '../src/euicc/state.js';
import { decodeIccid, encodeIccid } from '../src/util/bcd.js';
import { bytesEqual, toHex } from '../src/util/hex.js';
import { downloadAsync, es10Async, inProcessTransport, openIsdrAsync, type ApduSender } from './support/async-card.js';
import { CardChild, cardProcessEntry, type CardProcessEntry } from './support/card-child.js';
import { installTestProfile, notifyAll } from './support/stored-profiles.js';

// ------------------------------------------------------------------------------------------ parameters

const SEED = Number(process.env.ESIM_CRASH_SEED ?? 0x5eedc1);
const SCALE = Math.max(0, Number(process.env.ESIM_CRASH_SCALE ?? 1));
const PARALLEL = Math.max(1, Number(process.env.ESIM_CRASH_PARALLEL ?? 3));
/** Runs per operation (200 in all at scale 1). */
const RUNS: Record<OpKind, number> = {
  download: Math.round(80 * SCALE),
  enable: Math.round(40 * SCALE),
  delete: Math.round(40 * SCALE),
  reset: Math.round(40 * SCALE),
};
/** Longest pause between writing the fatal APDU and SIGKILL (ms). */
const MAX_KILL_PAUSE_MS = 6;
/**
 * Extra download runs aimed at the install's commit (a uniform APDU index hits it in ~1 run of 36): the
 * last LoadBPP STORE DATA, killed 0-20 ms after it was written.
 */
const COMMIT_RUNS = Math.round(40 * SCALE);
const MAX_COMMIT_PAUSE_MS = 20;

const NOTIFY = 'notify.example.com';
const DEFAULT_DP = 'smdp.example.com';
const PORTS = 2;
const TOTAL_MEMORY = 256 * 1024;

type OpKind = 'download' | 'enable' | 'delete' | 'reset';
const OPS: readonly OpKind[] = ['download', 'enable', 'delete', 'reset'];

// ------------------------------------------------------------------------------------------ random

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function runSeed(op: string, index: number): number {
  const h = createHash('sha256').update(`${SEED}/${op}/${index}`).digest();
  return h.readUInt32BE(0);
}

// ------------------------------------------------------------------------------------------ template

/** Profiles of the template card (all with notifications to NOTIFY unless said). */
const ICCID = {
  a: '89049032000000000011', // operational, enabled on port 0
  b: '89049032000000000029', // operational, disabled
  c: '89049032000000000037', // operational, disabled, nickname
  d: '89049032000000000045', // test, disabled
  e: '89049032000000000052', // provisioning, disabled, no notification configuration
  f: '89049032000000000060', // operational, enabled on port 1
  g: '89049032000000000078', // downloaded through APDUs (PIR pending), disabled
  new: '8904903200000000099', // the download of the crash runs (19 digits)
} as const;

interface Pki {
  ci: IssuedCertificate;
  dpAuth: IssuedCertificate;
  dpPb: IssuedCertificate;
}

function metadataFor(iccid: string): StoreMetadataRequest {
  return { iccid: encodeIccid(iccid), serviceProviderName: 'esimkit crash', profileName: `crash ${iccid}`, notificationConfigurationInfo: notifyAll(NOTIFY) };
}

async function buildTemplate(path: string): Promise<{ pki: Pki; eid: string }> {
  const { identity, ci } = createIdentity({ curve: 'P-256' });
  const pki: Pki = { ci, dpAuth: createDpAuth(ci), dpPb: createDpPb(ci) };
  const card = SoftEuicc.create(path, { identity, defaultDpAddress: DEFAULT_DP, config: { ports: PORTS, totalMemory: TOTAL_MEMORY } });
  try {
    const rt = card.runtime;
    rt.store.transaction(() => {
      installTestProfile(rt, { iccid: ICCID.a, state: 1, port: 0, notificationConfigurationInfo: notifyAll(NOTIFY) });
      installTestProfile(rt, { iccid: ICCID.b, notificationConfigurationInfo: notifyAll(NOTIFY) });
      installTestProfile(rt, { iccid: ICCID.c, nickname: 'Cee', notificationConfigurationInfo: notifyAll(NOTIFY) });
      installTestProfile(rt, { iccid: ICCID.d, profileClass: ProfileClassValue.test, notificationConfigurationInfo: notifyAll(NOTIFY) });
      installTestProfile(rt, { iccid: ICCID.e, profileClass: ProfileClassValue.provisioning });
      installTestProfile(rt, { iccid: ICCID.f, state: 1, port: 1, notificationConfigurationInfo: notifyAll(NOTIFY) });
    });
    const t = inProcessTransport(card);
    const dl = await downloadAsync(t, { ...pki, upp: buildProfilePackage({ iccid: ICCID.g, padToSize: 1500 }), metadata: metadataFor(ICCID.g) });
    if (dl.pir.profileInstallationResultData.finalResult.kind !== 'successResult') throw new Error('template download failed');
    // move the sequence counter on: enable b (disable a), enable a again (disable b)
    for (const iccid of [ICCID.b, ICCID.a]) {
      const r = decodeEnableProfileResponse(await es10Async(t, encodeEnableProfileRequest({ profileIdentifier: { kind: 'iccid', iccid: encodeIccid(iccid) }, refreshFlag: false })));
      if (r.enableResult !== EnableResultValue.ok) throw new Error(`template enable ${iccid}: ${r.enableResult}`);
    }
    return { pki, eid: card.eid };
  } finally {
    card.close();
  }
}

// ------------------------------------------------------------------------------------------ operations

interface OpVariant {
  kind: OpKind;
  name: string;
  /** Runs the operation (after ISD-R is selected on channel 1); throws if the card does not answer ok. */
  run(t: ApduSender): Promise<void>;
  /** Checks that `after` (the completed operation) means what the operation should mean, from `before`. */
  expectMeaning(before: Snapshot, after: Snapshot): void;
}

const iccidHex = (digits: string): string => toHex(encodeIccid(digits));

function profileOf(s: Snapshot, digits: string): ProfileSnap | undefined {
  const h = iccidHex(digits);
  return s.profiles.find((p) => p.iccid === h);
}

function newNotifications(before: Snapshot, after: Snapshot): NotificationSnap[] {
  const old = new Set(before.notifications.map((n) => n.seq));
  return after.notifications.filter((n) => !old.has(n.seq));
}

function makeVariants(pki: Pki): OpVariant[] {
  const out: OpVariant[] = [];
  out.push({
    kind: 'download',
    name: `download ${ICCID.new}`,
    async run(t) {
      const r = await downloadAsync(t, { ...pki, upp: buildProfilePackage({ iccid: ICCID.new, padToSize: 3000 }), metadata: metadataFor(ICCID.new) });
      if (r.pir.profileInstallationResultData.finalResult.kind !== 'successResult') throw new Error('download failed');
    },
    expectMeaning(before, after) {
      expect(profileOf(before, ICCID.new)).toBeUndefined();
      const p = profileOf(after, ICCID.new);
      expect(p?.state).toBe(0);
      expect(after.profiles.length).toBe(before.profiles.length + 1);
      const added = newNotifications(before, after);
      expect(added.map((n) => [n.event, n.iccid, n.address])).toEqual([[NotificationEventBit.notificationInstall, iccidHex(ICCID.new), 'testsmdpplus1.example.com']]);
    },
  });
  const enableTargets: [string, boolean][] = [
    [ICCID.b, true],
    [ICCID.d, true],
    [ICCID.e, false], // provisioning profile without notification configuration: only a's disable notification
    [ICCID.g, true],
  ];
  for (const [iccid, notifies] of enableTargets) {
    out.push({
      kind: 'enable',
      name: `enable ${iccid}`,
      async run(t) {
        const r = decodeEnableProfileResponse(await es10Async(t, encodeEnableProfileRequest({ profileIdentifier: { kind: 'iccid', iccid: encodeIccid(iccid) }, refreshFlag: true })));
        if (r.enableResult !== EnableResultValue.ok) throw new Error(`enable answered ${r.enableResult}`);
      },
      expectMeaning(before, after) {
        expect(profileOf(before, ICCID.a)).toMatchObject({ state: 1, port: 0 });
        expect(profileOf(after, ICCID.a)).toMatchObject({ state: 0, port: null });
        expect(profileOf(after, iccid)).toMatchObject({ state: 1, port: 0 });
        expect(profileOf(after, ICCID.f)).toMatchObject({ state: 1, port: 1 });
        const expected: [number, string][] = [[NotificationEventBit.notificationDisable, iccidHex(ICCID.a)]];
        if (notifies) expected.push([NotificationEventBit.notificationEnable, iccidHex(iccid)]);
        expect(newNotifications(before, after).map((n) => [n.event, n.iccid])).toEqual(expected);
      },
    });
  }
  const deleteTargets: [string, boolean][] = [
    [ICCID.b, true],
    [ICCID.c, true],
    [ICCID.d, true],
    [ICCID.e, false],
    [ICCID.g, true],
  ];
  for (const [iccid, notifies] of deleteTargets) {
    out.push({
      kind: 'delete',
      name: `delete ${iccid}`,
      async run(t) {
        const r = decodeDeleteProfileResponse(await es10Async(t, encodeDeleteProfileRequest({ kind: 'iccid', iccid: encodeIccid(iccid) })));
        if (r.deleteResult !== DeleteResultValue.ok) throw new Error(`delete answered ${r.deleteResult}`);
      },
      expectMeaning(before, after) {
        expect(profileOf(before, iccid)).toBeDefined();
        expect(profileOf(after, iccid)).toBeUndefined();
        expect(after.profiles.length).toBe(before.profiles.length - 1);
        expect(newNotifications(before, after).map((n) => [n.event, n.iccid])).toEqual(notifies ? [[NotificationEventBit.notificationDelete, iccidHex(iccid)]] : []);
      },
    });
  }
  const B = ResetOptionsBit;
  const resetOptions: number[][] = [
    [B.deleteOperationalProfiles],
    [B.deleteFieldLoadedTestProfiles],
    [B.resetDefaultSmdpAddress],
    [B.deleteOperationalProfiles, B.deleteFieldLoadedTestProfiles],
    [B.deleteOperationalProfiles, B.resetDefaultSmdpAddress],
    [B.deleteFieldLoadedTestProfiles, B.resetDefaultSmdpAddress],
    [B.deleteOperationalProfiles, B.deleteFieldLoadedTestProfiles, B.resetDefaultSmdpAddress],
  ];
  for (const opts of resetOptions) {
    out.push({
      kind: 'reset',
      name: `reset [${opts.join(',')}]`,
      async run(t) {
        const r = decodeEuiccMemoryResetResponse(await es10Async(t, encodeEuiccMemoryResetRequest({ resetOptions: opts })));
        if (r.resetResult !== ResetResultValue.ok) throw new Error(`reset answered ${r.resetResult}`);
      },
      expectMeaning(before, after) {
        const gone = (p: ProfileSnap): boolean =>
          (opts.includes(B.deleteOperationalProfiles) && p.profileClass === ProfileClassValue.operational) ||
          (opts.includes(B.deleteFieldLoadedTestProfiles) && p.profileClass === ProfileClassValue.test);
        expect(after.profiles).toEqual(before.profiles.filter((p) => !gone(p)));
        expect(after.notifications).toEqual(before.notifications);
        expect(after.counters).toEqual(before.counters);
        expect(DEFAULT_DP_ADDRESS_META in before.meta).toBe(true);
        expect(DEFAULT_DP_ADDRESS_META in after.meta).toBe(!opts.includes(B.resetDefaultSmdpAddress));
      },
    });
  }
  return out;
}

// ------------------------------------------------------------------------------------------ snapshot + invariants

interface ProfileSnap {
  aid: string;
  iccid: string;
  state: number;
  port: number | null;
  nickname: string | null;
  profileClass: number;
  pprs: readonly number[];
  size: number;
  metadata: string;
  upp: string;
  dp: string | null;
}
interface NotificationSnap {
  seq: number;
  event: number;
  address: string;
  iccid: string | null;
}
/** The state of a card file, with what varies between equal operations left out (signatures, times). */
interface Snapshot {
  profiles: ProfileSnap[];
  notifications: NotificationSnap[];
  counters: Record<string, number>;
  meta: Record<string, string>;
}

/** SQLite's rollback journal magic (the first 8 bytes of a journal header once it is synced). */
const JOURNAL_MAGIC = 'd9d505f920a163d7';

/**
 * The rollback journal beside a state file: none; 'incomplete' (its header magic not yet written — SQLite
 * writes it only after syncing the journal, before touching the database file — so SQLite ignores it);
 * or 'hot' (a transaction was interrupted after the journal sync: rolled back on the next open).
 */
function journalKind(path: string): 'none' | 'incomplete' | 'hot' {
  if (!existsSync(`${path}-journal`)) return 'none';
  const head = readFileSync(`${path}-journal`).subarray(0, 8).toString('hex');
  return head === JOURNAL_MAGIC ? 'hot' : 'incomplete';
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

interface Inspection {
  snap: Snapshot;
  problems: string[];
}

/**
 * Reopen the state file (as the restarted card would) and check every invariant that holds for any state;
 * `minCounter` is the sequence counter before the run.
 */
async function inspect(path: string, eid: string, minCounter: number): Promise<Inspection> {
  const problems: string[] = [];
  const bad = (m: string): void => void problems.push(m);

  // 1. the store, as CardStore.open sees it (this also rolls a hot journal back)
  const store = CardStore.open(path);
  let profiles;
  let notifications;
  try {
    profiles = store.listProfiles();
    notifications = store.listNotifications();
  } finally {
    store.close();
  }
  // a hot journal is rolled back (and deleted) by the reopen; what may stay is a journal whose header SQLite
  // had not yet completed (zero magic, written before the journal sync, while the database file was still
  // untouched), which SQLite ignores and the next write transaction replaces
  if (journalKind(path) === 'hot') bad('a hot rollback journal is left after reopening');

  // 2. the raw file: integrity, tables, counters, meta
  const db = new Database(path, { readonly: true });
  let counters: Record<string, number>;
  const meta: Record<string, string> = {};
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') bad(`integrity_check: ${String(integrity)}`);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    if (tables.join(',') !== 'counters,meta,notifications,profiles,sqlite_sequence') bad(`unexpected tables ${tables.join(',')}`);
    counters = Object.fromEntries((db.prepare('SELECT name, value FROM counters ORDER BY name').all() as { name: string; value: number }[]).map((r) => [r.name, r.value]));
    for (const r of db.prepare('SELECT key, value FROM meta ORDER BY key').all() as { key: string; value: Buffer }[]) meta[r.key] = sha(r.value);
    const maxId = (db.prepare('SELECT COALESCE(MAX(id), 0) AS m FROM profiles').get() as { m: number }).m;
    const seqRow = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'profiles'").get() as { seq: number } | undefined;
    if (maxId > (seqRow?.seq ?? 0)) bad(`profiles id ${maxId} above its AUTOINCREMENT sequence ${seqRow?.seq}`);
  } finally {
    db.close();
  }

  // 3. profiles complete
  const aidCounter = counters.isdpAid ?? 0;
  const enabledPerPort = new Map<number, number>();
  const snapProfiles: ProfileSnap[] = [];
  for (const p of profiles) {
    const name = `profile ${toHex(p.iccid)}`;
    try {
      const header = decodeProfilePackage(p.upp).header;
      if (header.iccid !== decodeIccid(p.iccid)) bad(`${name}: UPP header ICCID ${header.iccid}`);
    } catch (e) {
      bad(`${name}: UPP does not decode: ${(e as Error).message}`);
    }
    try {
      const md = decodeStoreMetadataRequest(p.metadata);
      if (!bytesEqual(md.iccid, p.iccid)) bad(`${name}: metadata ICCID ${toHex(md.iccid)}`);
    } catch (e) {
      bad(`${name}: metadata does not decode: ${(e as Error).message}`);
    }
    if (p.size !== p.upp.length + p.metadata.length) bad(`${name}: size ${p.size} ≠ UPP ${p.upp.length} + metadata ${p.metadata.length}`);
    if ((p.state === 1) !== (p.port !== null)) bad(`${name}: state ${p.state} with port ${p.port}`);
    if (p.port !== null) {
      if (p.port < 0 || p.port >= PORTS) bad(`${name}: port ${p.port}`);
      enabledPerPort.set(p.port, (enabledPerPort.get(p.port) ?? 0) + 1);
    }
    const aidIndex = (new DataView(p.aid.buffer, p.aid.byteOffset).getUint32(12) - 0x1000) / 0x100;
    if (p.aid.length !== 16 || !Number.isInteger(aidIndex) || aidIndex < 0 || aidIndex >= aidCounter) bad(`${name}: AID ${toHex(p.aid)} not handed out by the AID counter (${aidCounter})`);
    snapProfiles.push({
      aid: toHex(p.aid),
      iccid: toHex(p.iccid),
      state: p.state,
      port: p.port,
      nickname: p.nickname ?? null,
      profileClass: p.profileClass,
      pprs: p.pprs,
      size: p.size,
      metadata: sha(p.metadata),
      upp: sha(p.upp),
      dp: p.dpProprietaryData ? toHex(p.dpProprietaryData) : null,
    });
  }
  for (const [port, n] of enabledPerPort) if (n > 1) bad(`${n} profiles enabled on port ${port}`);

  // 4. notifications
  const seqCounter = counters.seqNumber ?? 0;
  if (seqCounter < minCounter) bad(`sequence counter went back from ${minCounter} to ${seqCounter}`);
  const snapNotifs: NotificationSnap[] = [];
  for (const n of notifications) {
    if (n.seqNumber >= seqCounter) bad(`notification ${n.seqNumber} not below the sequence counter ${seqCounter}`);
    try {
      const md = pendingNotificationMetadata(decodePendingNotification(n.pending));
      if (md.seqNumber !== n.seqNumber) bad(`notification ${n.seqNumber}: signed seqNumber ${md.seqNumber}`);
      if (md.profileManagementOperation.length !== 1 || md.profileManagementOperation[0] !== n.event) bad(`notification ${n.seqNumber}: event`);
      if (md.notificationAddress !== n.address) bad(`notification ${n.seqNumber}: address`);
      if (!md.iccid || !n.iccid || !bytesEqual(md.iccid, n.iccid)) bad(`notification ${n.seqNumber}: ICCID`);
    } catch (e) {
      bad(`notification ${n.seqNumber} does not decode: ${(e as Error).message}`);
    }
    snapNotifs.push({ seq: n.seqNumber, event: n.event, address: n.address, iccid: n.iccid ? toHex(n.iccid) : null });
  }

  // 5. the reopened card over APDUs
  const card = SoftEuicc.open(path);
  try {
    const t = inProcessTransport(card);
    const eidRsp = decodeGetEuiccDataResponse(await es10Async(t, encodeGetEuiccDataRequest({ tagList: Uint8Array.of(0x5a) })));
    if (toHex(eidRsp.eidValue) !== eid) bad(`GetEID answered ${toHex(eidRsp.eidValue)}`);
    const list = decodeProfileInfoListResponse(await es10Async(t, encodeProfileInfoListRequest({})));
    if (list.kind !== 'profileInfoListOk') bad(`GetProfilesInfo answered an error`);
    else {
      const seen = list.profileInfoListOk.map((i) => `${toHex(i.iccid ?? new Uint8Array(0))}/${toHex(i.isdpAid ?? new Uint8Array(0))}/${i.profileState}`);
      const want = snapProfiles.map((p) => `${p.iccid}/${p.aid}/${p.state}`);
      if (seen.join() !== want.join()) bad(`GetProfilesInfo ${seen.join()} ≠ store ${want.join()}`);
    }
    const info2 = decodeEUICCInfo2(await es10Async(t, encodeGetEuiccInfo2Request()));
    const free = decodeTlvs(info2.extCardResource).find((x) => x.tag === 0x82);
    const freeNv = free ? free.value.reduce((a, b) => a * 256 + b, 0) : -1;
    const used = snapProfiles.reduce((a, p) => a + p.size, 0);
    if (freeNv !== TOTAL_MEMORY - used) bad(`free memory ${freeNv} ≠ ${TOTAL_MEMORY} − ${used}`);
  } finally {
    card.close();
  }
  return { snap: { profiles: snapProfiles, notifications: snapNotifs, counters, meta }, problems };
}

function sameState(a: Snapshot, b: Snapshot): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A short description of how `s` differs from `ref`: the rows only in one of them, the changed values. */
function diff(s: Snapshot, ref: Snapshot): string {
  const parts: string[] = [];
  for (const k of ['profiles', 'notifications'] as const) {
    const mine = s[k].map((x) => JSON.stringify(x));
    const theirs = new Set(ref[k].map((x) => JSON.stringify(x)));
    const extra = mine.filter((x) => !theirs.has(x));
    const missing = [...theirs].filter((x) => !mine.includes(x));
    if (extra.length || missing.length) parts.push(`${k} +[${extra.join(', ')}] -[${missing.join(', ')}]`);
  }
  for (const k of ['counters', 'meta'] as const) {
    const keys = new Set([...Object.keys(s[k]), ...Object.keys(ref[k])]);
    for (const key of keys) if (s[k][key] !== ref[k][key]) parts.push(`${k}.${key} ${s[k][key]} (not ${ref[k][key]})`);
  }
  return parts.join('; ');
}

// ------------------------------------------------------------------------------------------ kill runs

class Killed extends Error {
  override readonly name = 'Killed';
}

type KillMode = 'after-send' | 'after-response';

interface RunResult {
  op: OpKind;
  variant: string;
  index: number;
  seed: number;
  apdu: number;
  of: number;
  mode: KillMode;
  pauseMs: number;
  /** The operation finished before the chosen APDU (only if the APDU count varies). */
  completed: boolean;
  /** The journal found after the kill, before the reopen. */
  journal: 'none' | 'incomplete' | 'hot';
  /** A run aimed at the commit of the install (the last LoadBPP STORE DATA, killed 0-20 ms after sending). */
  targeted: boolean;
  outcome: 'before' | 'after' | 'neither';
  startMs: number;
  problems: string[];
}

function sleepBlocking(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

interface Calibrated {
  variant: OpVariant;
  /** APDUs of the operation (after SELECT). */
  apdus: number;
  /** Index of its last STORE DATA (the one whose processing commits the operation). */
  lastStoreData: number;
  after: Snapshot;
}

let dir = '';
let template = '';
let entry: CardProcessEntry | undefined;
let eid = '';
let before: Snapshot;
const calibrated = new Map<OpKind, Calibrated[]>();
const calibrationErrors: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'esimkit-crash-'));
  template = join(dir, 'template.db');
  const [e, t] = await Promise.all([cardProcessEntry(), buildTemplate(template)]);
  entry = e;
  eid = t.eid;
  const base = await inspect(template, eid, 0);
  if (base.problems.length) throw new Error(`template: ${base.problems.join('; ')}`);
  before = base.snap;
  // each variant run to completion in this process: its APDU count and its after-state
  let i = 0;
  for (const v of makeVariants(t.pki)) {
    const path = join(dir, `calibrate-${i++}.db`);
    copyFileSync(template, path);
    const card = SoftEuicc.open(path);
    const inner = inProcessTransport(card);
    const ins: number[] = [];
    let recording = false;
    const recorder: ApduSender = (a) => {
      if (recording) ins.push(a[1]!);
      return inner(a);
    };
    try {
      await openIsdrAsync(recorder, 1);
      recording = true;
      await v.run(recorder);
      const apdus = ins.length;
      const lastStoreData = ins.lastIndexOf(0xe2);
      card.close();
      const after = await inspect(path, eid, before.counters.seqNumber ?? 0);
      if (after.problems.length) calibrationErrors.push(`${v.name}: ${after.problems.join('; ')}`);
      const list = calibrated.get(v.kind) ?? [];
      list.push({ variant: v, apdus, lastStoreData, after: after.snap });
      calibrated.set(v.kind, list);
    } finally {
      card.close();
      rmSync(path, { force: true });
    }
  }
}, 120_000);

afterAll(() => {
  entry?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function oneRun(op: OpKind, index: number, targeted = false): Promise<RunResult> {
  const seed = runSeed(targeted ? `${op}-commit` : op, index);
  const rnd = mulberry32(seed);
  const variants = calibrated.get(op)!;
  const cal = variants[Math.floor(rnd() * variants.length)]!;
  let apdu = Math.floor(rnd() * cal.apdus);
  let mode: KillMode = rnd() < 0.5 ? 'after-send' : 'after-response';
  let pauseMs = mode === 'after-send' ? Math.floor(rnd() * (MAX_KILL_PAUSE_MS + 1) * 4) / 4 : 0;
  if (targeted) {
    apdu = cal.lastStoreData;
    mode = 'after-send';
    pauseMs = Math.floor(rnd() * (MAX_COMMIT_PAUSE_MS + 1) * 4) / 4;
  }
  const path = join(dir, `${op}${targeted ? '-commit' : ''}-${index}.db`);
  copyFileSync(template, path);
  const res: RunResult = {
    op,
    variant: cal.variant.name,
    index,
    seed,
    apdu,
    of: cal.apdus,
    mode,
    pauseMs,
    completed: false,
    journal: 'none',
    targeted,
    outcome: 'neither',
    startMs: 0,
    problems: [],
  };
  try {
    const t0 = performance.now();
    const child = await CardChild.start(entry!, path);
    res.startMs = performance.now() - t0;
    try {
      // one transport for SELECT and the operation (the driver remembers per transport that ISD-R is
      // selected); APDUs are counted from when the operation starts
      let armed = false;
      let n = 0;
      const killing: ApduSender = async (a) => {
        if (!armed || n++ !== apdu) return child.transmit(a);
        if (mode === 'after-send') {
          child.send(a);
          sleepBlocking(pauseMs);
          await child.kill();
        } else {
          await child.transmit(a);
          await child.kill();
        }
        throw new Killed(`killed at APDU ${apdu}`);
      };
      await openIsdrAsync(killing, 1);
      armed = true;
      try {
        await cal.variant.run(killing);
        res.completed = true;
        res.problems.push(`the operation took ${n} APDUs, not ${cal.apdus} as when calibrated: it ended before APDU ${apdu}`);
      } catch (e) {
        if (!(e instanceof Killed)) throw e;
      }
    } finally {
      await child.kill();
    }
    res.journal = journalKind(path);
    const got = await inspect(path, eid, before.counters.seqNumber ?? 0);
    res.problems.push(...got.problems);
    if (sameState(got.snap, before)) res.outcome = 'before';
    else if (sameState(got.snap, cal.after)) res.outcome = 'after';
    else res.problems.push(`state is neither before nor after the operation: vs before: ${diff(got.snap, before)} || vs after: ${diff(got.snap, cal.after)}`);
    if (res.completed && res.outcome !== 'after') res.problems.push('the operation completed but its result is not in the state');
    if (res.journal === 'hot' && res.outcome !== 'before') res.problems.push('a hot journal was rolled back, yet the state is not the one before');
    if (mode === 'after-response' && apdu === cal.apdus - 1 && res.outcome !== 'after') res.problems.push('killed after the last response, yet the operation is not in the state');
  } catch (e) {
    res.problems.push(`run failed: ${(e as Error).stack ?? String(e)}`);
  } finally {
    rmSync(path, { force: true });
    rmSync(`${path}-journal`, { force: true });
  }
  return res;
}

async function pool<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return out;
}

describe('crash consistency: the card process killed at a random APDU', () => {
  it('every operation run to completion means what it should (the "after" states of the kill runs)', () => {
    expect(calibrationErrors).toEqual([]);
    for (const op of OPS) {
      const list = calibrated.get(op) ?? [];
      expect(list.length).toBeGreaterThan(0);
      for (const c of list) {
        expect(c.apdus).toBeGreaterThanOrEqual(2);
        c.variant.expectMeaning(before, c.after);
        expect(sameState(c.after, before)).toBe(false);
      }
    }
    // the download is the long one: many STORE DATA blocks and GET RESPONSEs
    expect(calibrated.get('download')![0]!.apdus).toBeGreaterThan(30);
  });

  it(`${OPS.map((o) => `${RUNS[o]} ${o}`).join(', ')} runs + ${COMMIT_RUNS} at the install commit (seed ${SEED}): state before or after, never between`, async () => {
    const t0 = performance.now();
    const jobs: (() => Promise<RunResult>)[] = [];
    // interleave the operations so that parallel children do different work
    const most = Math.max(...OPS.map((o) => RUNS[o]));
    for (let i = 0; i < most; i++) for (const op of OPS) if (i < RUNS[op]) jobs.push(() => oneRun(op, i));
    for (let i = 0; i < COMMIT_RUNS; i++) jobs.splice(i * 6, 0, () => oneRun('download', i, true));
    const results = await pool(jobs, PARALLEL);
    const secs = (performance.now() - t0) / 1000;

    const failures = results.filter((r) => r.problems.length > 0);
    const lines: string[] = [];
    const groups: [string, RunResult[]][] = [
      ...OPS.map((op): [string, RunResult[]] => [op, results.filter((r) => r.op === op && !r.targeted)]),
      ['download (aimed at the commit)', results.filter((r) => r.targeted)],
    ];
    for (const [name, rs] of groups) {
      const op = rs[0]?.op ?? 'download';
      const count = (f: (r: RunResult) => boolean): number => rs.filter(f).length;
      lines.push(
        `${name}: runs ${rs.length}, APDUs per op ${[...new Set(calibrated.get(op)!.map((c) => c.apdus))].join('/')}, ` +
          `after-send ${count((r) => r.mode === 'after-send')} / after-response ${count((r) => r.mode === 'after-response')}, ` +
          `outcome before ${count((r) => r.outcome === 'before')} / after ${count((r) => r.outcome === 'after')}, ` +
          `killed inside a transaction ${count((r) => r.journal !== 'none')} (journal incomplete ${count((r) => r.journal === 'incomplete')}, hot journal rolled back ${count((r) => r.journal === 'hot')}), failures ${count((r) => r.problems.length > 0)}`,
      );
    }
    const starts = results.map((r) => r.startMs).filter((x) => x > 0);
    lines.push(
      `${results.length} runs in ${secs.toFixed(1)} s, ${PARALLEL} at a time; card process start ${(starts.reduce((a, b) => a + b, 0) / Math.max(1, starts.length)).toFixed(0)} ms on average (${entry!.bundled ? 'esbuild bundle' : 'tsx'})`,
    );
    console.log(`crash consistency (seed ${SEED}):\n  ${lines.join('\n  ')}`);
    for (const f of failures.slice(0, 10)) {
      console.error(
        `FAILED seed ${SEED} ${f.op}${f.targeted ? ' (commit)' : ''} run ${f.index} (run seed ${f.seed}, ${f.variant}): APDU ${f.apdu} of ${f.of}, ${f.mode}${f.mode === 'after-send' ? ` +${f.pauseMs} ms` : ''}, journal ${f.journal}, outcome ${f.outcome}:\n  ${f.problems.join('\n  ')}`,
      );
    }
    expect(failures.map((f) => `${f.op}${f.targeted ? ' (commit)' : ''} run ${f.index} (seed ${SEED}): ${f.problems[0]}`)).toEqual([]);
    expect(results.length).toBe(OPS.reduce((a, o) => a + RUNS[o], 0) + COMMIT_RUNS);
    expect(results.filter((r) => !r.targeted).length).toBeGreaterThanOrEqual(SCALE >= 1 ? 200 : 0);
  }, 600_000);
});
