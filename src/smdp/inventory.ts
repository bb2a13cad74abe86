/**
 * SM-DP+ inventory in SQLite (better-sqlite3): profiles (UPP + metadata + state), orders (matchingId, EID
 * binding, confirmation-code hash, retry counters, expiry), download sessions (transactionId, EID, state,
 * expiry, the eUICC/EUM certificates kept until the PIR arrives) and the notifications received.
 *
 * Profile states (SGP22-NOTES §5.5): available → allocated (→ linked when an EID is given) → confirmed →
 * released → downloaded → installed | error; cancelOrder sets available or unavailable. Every state change
 * is one SQL statement or transaction (a savepoint inside the turn's transaction for ES9+, see joinTurn), so
 * a restart (reopening the same file) loses nothing that was answered as done — at most the writes of the
 * turn the process died in, whose answers (other than a BPP or a notification acknowledgement, which wait
 * for durable()) only make the LPA start again — and a profile is linked to at most one order: a
 * downloaded or installed profile is never issued to another eUICC.
 *
 * Durability (file databases): WAL with synchronous=NORMAL. A commit is atomic and survives a crash of
 * the process at once (it is in the WAL, in the OS page cache); it survives a power loss once
 * {@link SmdpInventory.durable} has resolved (one fdatasync of the WAL shared by every caller of the same
 * event-loop turn: group commit) or the inventory was closed. The server waits for durable() before every
 * answer that hands something out or acknowledges it (server.ts), so what a client was told survives a
 * power loss as with synchronous=FULL, without an fsync per commit. Where the WAL syncs fast (measured:
 * under 1 ms, as on SSDs and here ~0.2 ms) the sync runs at the end of the turn on the event loop itself:
 * a sync in the thread pool is as cheap but its answer waits for the next turn, and under load a turn is
 * several requests long — two such waits per download cost the SM-DP+ ~15% of its downloads/s. Slower
 * syncs (a spinning disk) go to the thread pool, so the server keeps serving while the disk works.
 *
 * The confirmation code is never stored: only SHA-256(CC), the inner hash of hashCc (SGP22-NOTES §4.3).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import Database from 'better-sqlite3';
import { iccidFromPackage } from '../asn1/saip.js';
import {
  NotificationEventBit,
  type NotificationConfigurationInformation,
  type OperatorId,
  type StoreMetadataRequest,
} from '../asn1/sgp22/metadata.js';
import { encodeIccid } from '../util/bcd.js';
import { fromBase64, toBase64, utf8 } from '../util/hex.js';

export type ProfileState = 'available' | 'allocated' | 'linked' | 'confirmed' | 'released' | 'downloaded' | 'installed' | 'error' | 'unavailable';
export type OrderState = 'active' | 'done' | 'failed' | 'cancelled';
export type SessionState = 'initiated' | 'authenticated' | 'bpp-issued';
export type NotificationEventName = 'install' | 'enable' | 'disable' | 'delete';

/** A failure with an SGP.22 subject/reason code pair (SGP22-NOTES §5.2), for ES2+ and ES9+ answers. */
export class InventoryError extends Error {
  override readonly name = 'InventoryError';
  constructor(
    readonly subjectCode: string,
    readonly reasonCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** Profile metadata as stored (the parts of StoreMetadataRequest the operator chooses). */
export type ProfileMetadataInput = Partial<Omit<StoreMetadataRequest, 'iccid' | 'raw'>> & { profileType?: string };

export interface ProfileRecord {
  iccid: string;
  state: ProfileState;
  profileType?: string;
  eid?: string;
  matchingId?: string;
  uppSize: number;
}

export interface OrderRecord {
  matchingId: string;
  iccid: string;
  eid?: string;
  state: OrderState;
  ccRequired: boolean;
  ccFailures: number;
  attempts: number;
  maxAttempts: number;
  expiresAt?: number;
  createdAt: number;
}

export interface SessionRecord {
  transactionId: string;
  state: SessionState;
  createdAt: number;
  expiresAt: number;
  euiccChallenge: Uint8Array;
  serverChallenge: Uint8Array;
  ciPkid: Uint8Array;
  eid?: string;
  matchingId?: string;
  iccid?: string;
  euiccCert?: Uint8Array;
  smdpSignature2?: Uint8Array;
  ccRequired: boolean;
  euiccOtpk?: Uint8Array;
  /** What rebuilds the issued BPP byte for byte (bpp-builder.ts BppSeed, encoded): a retry gets the same package. */
  bppSeed?: Uint8Array;
  /** SHA-256 of the authenticateClient request payload (a repeat of it gets the same answer, rebuilt). */
  acRequestHash?: Uint8Array;
}

export interface ReceivedNotification {
  seqNumber: number;
  event: NotificationEventName;
  iccid?: string;
  eid: string;
  success?: boolean;
  transactionId?: string;
  verified: boolean;
  receivedAt: number;
}

export interface InventoryOptions {
  /** Clock (ms), default Date.now. */
  now?: () => number;
}

/** A profiles row; the UPP itself (12 KB and more) is in profile_upps, read only by upp(). */
interface ProfileRow {
  iccid: string;
  upp_size: number;
  metadata: string;
  profile_type: string | null;
  state: ProfileState;
  eid: string | null;
  matching_id: string | null;
}
interface OrderRow {
  matching_id: string;
  iccid: string;
  eid: string | null;
  cc_hash: Buffer | null;
  cc_failures: number;
  attempts: number;
  max_attempts: number;
  state: OrderState;
  expires_at: number | null;
  created_at: number;
}
interface SessionRow {
  transaction_id: string;
  state: SessionState;
  created_at: number;
  expires_at: number;
  euicc_challenge: Buffer;
  server_challenge: Buffer;
  ci_pkid: Buffer;
  eid: string | null;
  matching_id: string | null;
  iccid: string | null;
  euicc_cert: Buffer | null;
  eum_cert: Buffer | null;
  smdp_signature2: Buffer | null;
  cc_required: number;
  euicc_otpk: Buffer | null;
  bpp_seed: Buffer | null;
  ac_request_hash: Buffer | null;
}
interface NotificationRow {
  seq_number: number;
  event: NotificationEventName;
  iccid: string | null;
  eid: string;
  success: number | null;
  transaction_id: string | null;
  verified: number;
  received_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS profiles (
  iccid TEXT PRIMARY KEY, metadata TEXT NOT NULL, profile_type TEXT,
  state TEXT NOT NULL, eid TEXT, matching_id TEXT, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS profiles_type_state ON profiles(profile_type, state);
CREATE TABLE IF NOT EXISTS profile_upps (iccid TEXT PRIMARY KEY, upp BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
  matching_id TEXT PRIMARY KEY, iccid TEXT NOT NULL, eid TEXT, cc_hash BLOB, cc_failures INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL, state TEXT NOT NULL, expires_at INTEGER,
  created_at INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS orders_one_active ON orders(iccid) WHERE state = 'active';
CREATE INDEX IF NOT EXISTS orders_eid ON orders(eid, state);
CREATE TABLE IF NOT EXISTS sessions (
  transaction_id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  euicc_challenge BLOB NOT NULL, server_challenge BLOB NOT NULL, ci_pkid BLOB NOT NULL, eid TEXT, matching_id TEXT,
  iccid TEXT, euicc_cert BLOB, eum_cert BLOB, smdp_signature2 BLOB, cc_required INTEGER NOT NULL DEFAULT 0,
  euicc_otpk BLOB, bpp BLOB, ac_request_hash BLOB, ac_response TEXT, bpp_seed BLOB);
CREATE TABLE IF NOT EXISTS notifications (
  id INTEGER PRIMARY KEY, eid TEXT NOT NULL, seq_number INTEGER NOT NULL, event TEXT NOT NULL,
  iccid TEXT, transaction_id TEXT, success INTEGER, verified INTEGER NOT NULL, received_at INTEGER NOT NULL, raw BLOB,
  UNIQUE(eid, seq_number, event, verified));
`;

/** Above this moving average of WAL sync times (ms) durable() syncs in the thread pool (see the file comment). */
const INLINE_SYNC_MAX_MS = 1;

/**
 * Files written before the UPPs moved to `profile_upps` kept them in `profiles.upp`: there, every state
 * change that resized a profile row (eid set, 'released' → 'downloaded' → 'installed') rewrote the 12 KB
 * and more of its overflow pages. Moves them over (one transaction); a no-op on newer files.
 */
export function migrateUppsOutOfProfiles(db: Database.Database): void {
  const cols = (db.prepare('PRAGMA table_info(profiles)').all() as { name: string }[]).map((c) => c.name);
  if (!cols.includes('upp')) return;
  db.transaction(() => {
    db.exec('INSERT OR IGNORE INTO profile_upps (iccid, upp) SELECT iccid, upp FROM profiles');
    db.exec('ALTER TABLE profiles DROP COLUMN upp');
  })();
}

/**
 * Files written before sessions kept a BPP seed stored the whole BPP (bpp), the authenticateClient answer
 * (ac_response) and the EUM certificate (eum_cert) in each session: those columns stay, unused (a session
 * is small now: one page, no overflow). Adds bpp_seed; a no-op on newer files.
 */
export function migrateSessionsBppSeed(db: Database.Database): void {
  const cols = (db.prepare('PRAGMA table_info(sessions)').all() as { name: string }[]).map((c) => c.name);
  if (!cols.includes('bpp_seed')) db.exec('ALTER TABLE sessions ADD COLUMN bpp_seed BLOB');
}

/** The sessions columns in use (see migrateSessionsBppSeed). */
const SESSION_COLUMNS =
  'transaction_id, state, created_at, expires_at, euicc_challenge, server_challenge, ci_pkid, eid, matching_id, iccid, euicc_cert, smdp_signature2, cc_required, euicc_otpk, ac_request_hash, bpp_seed';
const PROFILE_COLUMNS =
  'iccid, (SELECT length(upp) FROM profile_upps u WHERE u.iccid = profiles.iccid) AS upp_size, metadata, profile_type, state, eid, matching_id';

const b = (x: Buffer | null): Uint8Array | undefined => (x === null ? undefined : new Uint8Array(x));
const buf = (x: Uint8Array | undefined): Buffer | null => (x === undefined ? null : Buffer.from(x));

/** SHA-256 of the confirmation code (UTF-8): what the inventory keeps. */
export function confirmationCodeHash(cc: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(utf8(cc)).digest());
}

/** A random matchingId (AC_Token): 4 groups of 5 upper-case letters/digits. */
export function generateMatchingId(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const r = randomBytes(20);
  let s = '';
  for (let i = 0; i < 20; i++) {
    if (i > 0 && i % 5 === 0) s += '-';
    s += alphabet[r[i]! % alphabet.length];
  }
  return s;
}

function metadataToJson(m: ProfileMetadataInput): string {
  const o: Record<string, unknown> = { ...m };
  if (m.icon) o['icon'] = toBase64(m.icon);
  if (m.profileOwner) {
    o['profileOwner'] = {
      mccMnc: toBase64(m.profileOwner.mccMnc),
      ...(m.profileOwner.gid1 && { gid1: toBase64(m.profileOwner.gid1) }),
      ...(m.profileOwner.gid2 && { gid2: toBase64(m.profileOwner.gid2) }),
    };
  }
  delete o['serviceSpecificDataStoredInEuicc'];
  delete o['serviceSpecificDataNotStoredInEuicc'];
  return JSON.stringify(o);
}

interface StoredMetadata {
  serviceProviderName?: string;
  profileName?: string;
  iconType?: number;
  icon?: string;
  profileClass?: number;
  notificationConfigurationInfo?: NotificationConfigurationInformation[];
  profileOwner?: { mccMnc: string; gid1?: string; gid2?: string };
  profilePolicyRules?: number[];
  profileType?: string;
}

export class SmdpInventory {
  /** Prepared statements by SQL text: preparing on every call cost ~5% of a download's CPU. */
  readonly #stmts = new Map<string, Database.Statement>();
  private stmt(sql: string): Database.Statement {
    let st = this.#stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.#stmts.set(sql, st);
    }
    return st;
  }

  readonly db: Database.Database;
  private readonly now: () => number;

  /** The WAL file when in WAL mode with synchronous=NORMAL (durable() syncs it), else undefined. */
  readonly #walPath: string | undefined;
  #walFd: number | undefined;
  /** total_changes() when the last WAL sync started. */
  #syncedChanges = 0;
  #syncRunning: Promise<void> | undefined;
  #syncNext: Promise<void> | undefined;
  /** Callers of durable() in this event-loop turn, synced together at its end (inline mode). */
  #turnWaiters: { resolve: () => void; reject: (e: unknown) => void }[] | undefined;
  /** Moving average of inline WAL sync times, ms: above INLINE_SYNC_MAX_MS, syncs go to the thread pool. */
  #syncMs = 0;
  #slowSince = 0;
  /** This event-loop turn's shared transaction is open (see joinTurn). */
  #turnTx = false;

  constructor(path: string, opts: InventoryOptions = {}) {
    const fresh = path !== ':memory:' && !existsSync(path);
    this.db = new Database(path);
    if (fresh) chmodSync(path, 0o600); // UPPs hold the profile's keys
    const wal = path !== ':memory:' && String(this.db.pragma('journal_mode = WAL', { simple: true })).toLowerCase() === 'wal';
    // NORMAL only where durable() can make commits durable (the WAL); otherwise every commit syncs
    this.db.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
    this.#walPath = wal ? `${resolvePath(path)}-wal` : undefined;
    this.db.exec(SCHEMA);
    migrateUppsOutOfProfiles(this.db);
    migrateSessionsBppSeed(this.db);
    this.now = opts.now ?? Date.now;
  }

  /**
   * Let the writes of the current event-loop turn share one transaction, committed at the end of the turn
   * (and before any sync of durable()). Each transaction() inside it is a savepoint, so a failure still rolls
   * back only its own writes. The ES9+ route calls this before each function: a download's four commits
   * become a share of one commit per turn, and pages written by several requests of the turn go to the WAL
   * once. A crash inside the turn loses that turn's writes; the answers that must not be lost
   * (getBoundProfilePackage, handleNotification) wait for durable(), which commits first.
   */
  joinTurn(): void {
    if (this.#turnTx || !this.db.open || this.db.inTransaction) return;
    this.db.exec('BEGIN');
    this.#turnTx = true;
    setImmediate(() => void this.#commitTurn());
  }

  /** Commit the turn's transaction if open; the error when that failed (its writes are rolled back). */
  #commitTurn(): unknown {
    if (!this.#turnTx) return undefined;
    this.#turnTx = false;
    if (!this.db.open || !this.db.inTransaction) return undefined;
    try {
      this.db.exec('COMMIT');
      return undefined;
    } catch (e) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        /* rolled back already */
      }
      return e;
    }
  }

  /** Run `fn` as one transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  #changes(): number {
    return this.stmt('SELECT total_changes()').pluck().get() as number;
  }

  /**
   * Resolves once every transaction committed so far is on stable storage (power-loss durable). Concurrent
   * callers share one fdatasync of the WAL (group commit); nothing to sync resolves at once.
   */
  durable(): Promise<void> {
    if (this.#walPath === undefined || !this.db.open) return Promise.resolve();
    if (this.#turnWaiters !== undefined) return new Promise((resolve, reject) => this.#turnWaiters!.push({ resolve, reject }));
    if (this.#syncMs >= INLINE_SYNC_MAX_MS && Date.now() - this.#slowSince > 10_000) this.#syncMs = 0; // measure again now and then
    if (this.#syncMs < INLINE_SYNC_MAX_MS && this.#syncRunning === undefined) {
      if (this.#changes() === this.#syncedChanges) return Promise.resolve();
      const waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
      this.#turnWaiters = waiters;
      setImmediate(() => this.#syncTurn(waiters));
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    }
    if (this.#syncRunning === undefined) return this.#changes() === this.#syncedChanges ? Promise.resolve() : this.#startSync();
    // the running sync may have started before the caller's commit: one more after it, shared by all who ask meanwhile
    this.#syncNext ??= this.#syncRunning.then(
      () => this.#afterRunning(),
      () => this.#afterRunning(),
    );
    return this.#syncNext;
  }

  /** End of the turn: one fdatasync of the WAL for everything committed so far, then answer the turn's callers. */
  #syncTurn(waiters: { resolve: () => void; reject: (e: unknown) => void }[]): void {
    this.#turnWaiters = undefined;
    if (!this.db.open) {
      for (const w of waiters) w.resolve(); // close() synced
      return;
    }
    const failed = this.#commitTurn();
    if (failed !== undefined) {
      for (const w of waiters) w.reject(failed);
      return;
    }
    const mark = this.#changes();
    const t0 = performance.now();
    try {
      const fd = this.#walFdOrCheckpoint();
      if (fd !== undefined) fdatasyncSync(fd);
    } catch (e) {
      for (const w of waiters) w.reject(e);
      return;
    }
    this.#syncMs = this.#syncMs * 0.9 + (performance.now() - t0) * 0.1;
    if (this.#syncMs >= INLINE_SYNC_MAX_MS) this.#slowSince = Date.now();
    if (mark > this.#syncedChanges) this.#syncedChanges = mark;
    for (const w of waiters) w.resolve();
  }

  /**
   * The WAL file's descriptor to sync; undefined when there is no WAL file, after a full checkpoint (which
   * syncs the WAL and the database file: blocking, exceptional) has done the syncing instead.
   */
  #walFdOrCheckpoint(): number | undefined {
    if (this.#walFd !== undefined) return this.#walFd;
    try {
      return (this.#walFd = openSync(this.#walPath!, 'r'));
    } catch {
      this.db.pragma('wal_checkpoint(FULL)');
      return undefined;
    }
  }

  #afterRunning(): Promise<void> {
    this.#syncNext = undefined;
    return this.#changes() === this.#syncedChanges ? Promise.resolve() : this.#startSync();
  }

  #startSync(): Promise<void> {
    const failed = this.#commitTurn();
    if (failed !== undefined) return Promise.reject(failed);
    const mark = this.#changes();
    const fd = this.#walFdOrCheckpoint();
    if (fd === undefined) {
      this.#syncedChanges = mark;
      return Promise.resolve();
    }
    const p = new Promise<void>((resolve, reject) =>
      fdatasync(fd, (e) => {
        if (e) return reject(e);
        if (mark > this.#syncedChanges) this.#syncedChanges = mark;
        resolve();
      }),
    );
    this.#syncRunning = p;
    const done = (): void => {
      if (this.#syncRunning === p) this.#syncRunning = undefined;
    };
    p.then(done, done);
    return p;
  }

  /** Close the database; commits not yet synced by durable() are synced first. */
  close(): void {
    if (!this.db.open) return;
    this.#commitTurn();
    try {
      if (this.#walPath !== undefined && this.#changes() !== this.#syncedChanges) {
        try {
          fdatasyncSync(this.#walFd ?? (this.#walFd = openSync(this.#walPath, 'r')));
        } catch {
          /* closing the last connection checkpoints (and syncs) anyway */
        }
      }
    } finally {
      if (this.#walFd !== undefined) closeSync(this.#walFd);
      this.#walFd = undefined;
      this.db.close();
    }
  }

  // -------------------------------------------------------------------------------------- profiles

  /** Add a UPP; the ICCID is read from its ProfileHeader. A known ICCID → InventoryError 8.2.1/3.3. */
  addProfile(upp: Uint8Array, metadata: ProfileMetadataInput = {}): { iccid: string } {
    const iccid = iccidFromPackage(upp);
    try {
      this.transaction(() => {
        this.stmt('INSERT INTO profiles (iccid, metadata, profile_type, state, updated_at) VALUES (?, ?, ?, ?, ?)')
          .run(iccid, metadataToJson(metadata), metadata.profileType ?? null, 'available', this.now());
        this.stmt('INSERT INTO profile_upps (iccid, upp) VALUES (?, ?)').run(iccid, Buffer.from(upp));
      });
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new InventoryError('8.2.1', '3.3', `profile ${iccid} already exists`);
      throw e;
    }
    return { iccid };
  }

  private profileRow(iccid: string): ProfileRow | undefined {
    return this.stmt(`SELECT ${PROFILE_COLUMNS} FROM profiles WHERE iccid = ?`).get(iccid) as ProfileRow | undefined;
  }

  profileState(iccid: string): ProfileState {
    const r = this.profileRow(iccid);
    if (!r) throw new InventoryError('8.2.1', '3.9', `unknown ICCID ${iccid}`);
    return r.state;
  }

  profile(iccid: string): ProfileRecord | undefined {
    const r = this.profileRow(iccid);
    if (!r) return undefined;
    return {
      iccid: r.iccid,
      state: r.state,
      uppSize: r.upp_size,
      ...(r.profile_type !== null && { profileType: r.profile_type }),
      ...(r.eid !== null && { eid: r.eid }),
      ...(r.matching_id !== null && { matchingId: r.matching_id }),
    };
  }

  profiles(): ProfileRecord[] {
    const rows = this.stmt('SELECT iccid FROM profiles ORDER BY iccid').all() as { iccid: string }[];
    return rows.map((r) => this.profile(r.iccid)!);
  }

  upp(iccid: string): Uint8Array {
    const r = this.stmt('SELECT upp FROM profile_upps WHERE iccid = ?').get(iccid) as { upp: Buffer } | undefined;
    if (!r) throw new InventoryError('8.2.1', '3.9', `unknown ICCID ${iccid}`);
    return new Uint8Array(r.upp);
  }

  /**
   * The StoreMetadataRequest of a profile (profileMetadata of authenticateClient and the BPP's A1): ICCID
   * in EF.ICCID form, SPN/name/class/icon/PPRs/owner as stored, and — unless configured — enable, disable
   * and delete notifications addressed to `notificationAddress` (this SM-DP+).
   */
  storeMetadata(iccid: string, notificationAddress: string): StoreMetadataRequest {
    const r = this.profileRow(iccid);
    if (!r) throw new InventoryError('8.2.1', '3.9', `unknown ICCID ${iccid}`);
    const m = JSON.parse(r.metadata) as StoredMetadata;
    const nci = m.notificationConfigurationInfo ?? [
      {
        profileManagementOperation: [NotificationEventBit.notificationEnable, NotificationEventBit.notificationDisable, NotificationEventBit.notificationDelete],
        notificationAddress,
      },
    ];
    const owner: OperatorId | undefined = m.profileOwner && {
      mccMnc: fromBase64(m.profileOwner.mccMnc),
      ...(m.profileOwner.gid1 !== undefined && { gid1: fromBase64(m.profileOwner.gid1) }),
      ...(m.profileOwner.gid2 !== undefined && { gid2: fromBase64(m.profileOwner.gid2) }),
    };
    return {
      iccid: encodeIccid(iccid),
      serviceProviderName: m.serviceProviderName ?? 'esimkit',
      profileName: m.profileName ?? m.profileType ?? r.profile_type ?? `Profile ${iccid}`,
      ...(m.iconType !== undefined && m.icon !== undefined && { iconType: m.iconType, icon: fromBase64(m.icon) }),
      ...(m.profileClass !== undefined && { profileClass: m.profileClass }),
      ...(nci.length > 0 && { notificationConfigurationInfo: nci }),
      ...(owner && { profileOwner: owner }),
      ...(m.profilePolicyRules !== undefined && m.profilePolicyRules.length > 0 && { profilePolicyRules: m.profilePolicyRules }),
    };
  }

  private setProfile(iccid: string, state: ProfileState, eid?: string | null, matchingId?: string | null): void {
    const sets = ['state = ?', 'updated_at = ?'];
    const args: unknown[] = [state, this.now()];
    if (eid !== undefined) {
      sets.push('eid = ?');
      args.push(eid);
    }
    if (matchingId !== undefined) {
      sets.push('matching_id = ?');
      args.push(matchingId);
    }
    this.stmt(`UPDATE profiles SET ${sets.join(', ')} WHERE iccid = ?`).run(...args, iccid);
  }

  // ---------------------------------------------------------------------------------------- ES2+ / orders

  /** ES2+ downloadOrder: reserve a profile by ICCID or profile type → allocated (linked with an EID). */
  downloadOrder(o: { iccid?: string; profileType?: string; eid?: string }): { iccid: string } {
    return this.db.transaction(() => {
      let row: ProfileRow | undefined;
      if (o.iccid !== undefined) {
        row = this.profileRow(o.iccid);
        if (!row) throw new InventoryError('8.2.1', '3.9', `unknown ICCID ${o.iccid}`);
        if (row.state !== 'available') throw new InventoryError('8.2.1', '3.3', `profile ${o.iccid} is ${row.state}`);
        if (o.profileType !== undefined && row.profile_type !== o.profileType) {
          throw new InventoryError('8.2.5', '3.8', `profile ${o.iccid} is not of type ${o.profileType}`);
        }
      } else if (o.profileType !== undefined) {
        row = this.stmt(`SELECT ${PROFILE_COLUMNS} FROM profiles WHERE profile_type = ? AND state = 'available' ORDER BY iccid LIMIT 1`).get(o.profileType) as ProfileRow | undefined;
        if (!row) {
          const any = this.stmt('SELECT 1 FROM profiles WHERE profile_type = ? LIMIT 1').get(o.profileType);
          throw any ? new InventoryError('8.2.5', '3.7', `no profile of type ${o.profileType} left`) : new InventoryError('8.2.5', '3.9', `unknown profile type ${o.profileType}`);
        }
      } else {
        throw new InventoryError('1.3.1', '2.2', 'downloadOrder needs an ICCID or a profile type');
      }
      this.setProfile(row.iccid, o.eid !== undefined ? 'linked' : 'allocated', o.eid ?? null, null);
      return { iccid: row.iccid };
    })();
  }

  /**
   * ES2+ confirmOrder: create the order (matchingId generated unless given; '' → no matchingId, EID
   * required) → confirmed, or released with `releaseFlag`.
   */
  confirmOrder(o: {
    iccid: string;
    eid?: string;
    matchingId?: string;
    confirmationCode?: string;
    releaseFlag: boolean;
    maxAttempts?: number;
    expiresAt?: Date | number;
  }): { matchingId: string; eid?: string } {
    return this.db.transaction(() => {
      const row = this.profileRow(o.iccid);
      if (!row) throw new InventoryError('8.2.1', '3.9', `unknown ICCID ${o.iccid}`);
      if (row.state !== 'allocated' && row.state !== 'linked') throw new InventoryError('8.2.1', '3.5', `profile ${o.iccid} is ${row.state}`);
      if (o.eid !== undefined && row.eid !== null && row.eid !== o.eid) throw new InventoryError('8.1.1', '3.10', 'another EID is linked to this profile');
      const eid = o.eid ?? row.eid ?? undefined;
      let mid = o.matchingId;
      if (mid === '') {
        if (eid === undefined) throw new InventoryError('8.1.1', '2.2', 'an empty matchingId needs an EID');
        mid = `eid:${generateMatchingId()}`; // internal key; the eUICC sends no matchingId
      }
      mid ??= generateMatchingId();
      // a matchingId whose order was cancelled may point to a new order (the operator re-points a printed
      // activation code); the cancelled order keeps its row under `<matchingId>#cancelled-<rowid>`
      this.stmt("UPDATE orders SET matching_id = matching_id || '#cancelled-' || rowid WHERE matching_id = ? AND state = 'cancelled'").run(mid);
      if (this.stmt('SELECT 1 FROM orders WHERE matching_id = ?').get(mid)) throw new InventoryError('8.2.6', '3.3', 'matchingId already in use');
      const exp = o.expiresAt instanceof Date ? o.expiresAt.getTime() : o.expiresAt;
      this.stmt('INSERT INTO orders (matching_id, iccid, eid, cc_hash, max_attempts, state, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(mid, o.iccid, eid ?? null, o.confirmationCode !== undefined ? Buffer.from(confirmationCodeHash(o.confirmationCode)) : null, o.maxAttempts ?? 5, 'active', exp ?? null, this.now());
      this.setProfile(o.iccid, o.releaseFlag ? 'released' : 'confirmed', eid ?? null, mid);
      return { matchingId: mid.startsWith('eid:') ? '' : mid, ...(eid !== undefined && { eid }) };
    })();
  }

  /** ES2+ releaseProfile: confirmed → released. */
  releaseProfile(iccid: string): void {
    const row = this.profileRow(iccid);
    if (!row) throw new InventoryError('8.2.1', '3.9', `unknown ICCID ${iccid}`);
    if (row.state !== 'confirmed') throw new InventoryError('8.2.1', '3.5', `profile ${iccid} is ${row.state}`);
    this.setProfile(iccid, 'released');
  }

  /** ES2+ cancelOrder: the order ends, the profile becomes available or unavailable. */
  cancelOrder(o: { iccid: string; eid?: string; matchingId?: string; finalProfileStatusIndicator: 'Available' | 'Unavailable' }): void {
    this.db.transaction(() => {
      const row = this.profileRow(o.iccid);
      if (!row) throw new InventoryError('8.2.1', '3.9', `unknown ICCID ${o.iccid}`);
      if (['available', 'unavailable', 'downloaded', 'installed'].includes(row.state)) {
        throw new InventoryError('8.2.1', '3.5', `profile ${o.iccid} is ${row.state}`);
      }
      if (o.eid !== undefined && row.eid !== null && o.eid !== row.eid) throw new InventoryError('8.1.1', '3.10', 'EID does not match the order');
      if (o.matchingId !== undefined && row.matching_id !== null && o.matchingId !== row.matching_id) {
        throw new InventoryError('8.2.6', '3.10', 'matchingId does not match the order');
      }
      this.stmt("UPDATE orders SET state = 'cancelled' WHERE iccid = ? AND state = 'active'").run(o.iccid);
      this.stmt('DELETE FROM sessions WHERE iccid = ?').run(o.iccid);
      this.setProfile(o.iccid, o.finalProfileStatusIndicator === 'Available' ? 'available' : 'unavailable', null, null);
    })();
  }

  /**
   * One call for tests and the admin CLI: downloadOrder + confirmOrder (released unless `release` is
   * false). The activation code is `LPA:1$<address>$<matchingId>` (+ `$$1` with a confirmation code).
   */
  createOrder(o: {
    iccid?: string;
    profileType?: string;
    eid?: string;
    matchingId?: string;
    confirmationCode?: string;
    release?: boolean;
    maxAttempts?: number;
    expiresAt?: Date | number;
  }): { matchingId: string; iccid: string } {
    return this.db.transaction(() => {
      const { iccid } = this.downloadOrder({
        ...(o.iccid !== undefined && { iccid: o.iccid }),
        ...(o.profileType !== undefined && { profileType: o.profileType }),
        ...(o.eid !== undefined && { eid: o.eid }),
      });
      const r = this.confirmOrder({
        iccid,
        releaseFlag: o.release ?? true,
        ...(o.eid !== undefined && { eid: o.eid }),
        ...(o.matchingId !== undefined && { matchingId: o.matchingId }),
        ...(o.confirmationCode !== undefined && { confirmationCode: o.confirmationCode }),
        ...(o.maxAttempts !== undefined && { maxAttempts: o.maxAttempts }),
        ...(o.expiresAt !== undefined && { expiresAt: o.expiresAt }),
      });
      return { matchingId: r.matchingId, iccid };
    })();
  }

  private orderFromRow(r: OrderRow): OrderRecord {
    return {
      matchingId: r.matching_id,
      iccid: r.iccid,
      state: r.state,
      ccRequired: r.cc_hash !== null,
      ccFailures: r.cc_failures,
      attempts: r.attempts,
      maxAttempts: r.max_attempts,
      createdAt: r.created_at,
      ...(r.eid !== null && { eid: r.eid }),
      ...(r.expires_at !== null && { expiresAt: r.expires_at }),
    };
  }

  order(matchingId: string): OrderRecord | undefined {
    const r = this.stmt('SELECT * FROM orders WHERE matching_id = ?').get(matchingId) as OrderRow | undefined;
    return r && this.orderFromRow(r);
  }

  /** The active order of an EID without matchingId use (default SM-DP+), oldest first. */
  activeOrderForEid(eid: string): OrderRecord | undefined {
    const r = this.stmt("SELECT * FROM orders WHERE eid = ? AND state = 'active' ORDER BY created_at LIMIT 1").get(eid) as OrderRow | undefined;
    return r && this.orderFromRow(r);
  }

  /** SHA-256(CC) of an order, or undefined. */
  ccHash(matchingId: string): Uint8Array | undefined {
    const r = this.stmt('SELECT cc_hash FROM orders WHERE matching_id = ?').get(matchingId) as { cc_hash: Buffer | null } | undefined;
    return r ? b(r.cc_hash) : undefined;
  }

  /**
   * authenticateClient: check the order can be downloaded by `eid` now and count the attempt; binds the
   * EID to the order and profile on first use. Throws InventoryError with the ES9+ code.
   */
  beginDownload(matchingId: string, eid: string): { order: OrderRecord; iccid: string } {
    return this.db.transaction(() => {
      const r = this.stmt('SELECT * FROM orders WHERE matching_id = ?').get(matchingId) as OrderRow | undefined;
      if (!r || r.state !== 'active') throw new InventoryError('8.2.6', '3.8', 'matchingId refused');
      if (r.eid !== null && r.eid !== eid) throw new InventoryError('8.1.1', '3.8', 'EID does not match the order');
      if (r.expires_at !== null && r.expires_at <= this.now()) throw new InventoryError('8.8.5', '4.10', 'download order expired');
      if (r.attempts >= r.max_attempts) throw new InventoryError('8.8.5', '6.4', 'download order retries exceeded');
      const p = this.profileRow(r.iccid);
      if (!p) throw new InventoryError('8.2.6', '3.8', 'matchingId refused');
      if (p.state === 'confirmed') throw new InventoryError('8.2', '1.2', 'profile not yet released');
      if (p.state === 'downloaded' && p.eid !== eid) throw new InventoryError('8.1.1', '3.8', 'EID does not match the order');
      if (p.state !== 'released' && p.state !== 'downloaded') throw new InventoryError('8.2.6', '3.8', `matchingId refused (profile ${p.state})`);
      this.stmt('UPDATE orders SET attempts = attempts + 1, eid = ? WHERE matching_id = ?').run(eid, matchingId);
      this.stmt('UPDATE profiles SET eid = ?, updated_at = ? WHERE iccid = ?').run(eid, this.now(), r.iccid);
      return { order: this.orderFromRow({ ...r, attempts: r.attempts + 1, eid }), iccid: r.iccid };
    })();
  }

  /** A wrong confirmation code: count it; at the limit the order fails and the profile goes to error. */
  recordCcFailure(matchingId: string, limit: number): { failures: number; exhausted: boolean } {
    return this.db.transaction(() => {
      this.stmt('UPDATE orders SET cc_failures = cc_failures + 1 WHERE matching_id = ?').run(matchingId);
      const r = this.stmt('SELECT cc_failures, iccid FROM orders WHERE matching_id = ?').get(matchingId) as { cc_failures: number; iccid: string } | undefined;
      const failures = r?.cc_failures ?? 0;
      const exhausted = failures >= limit;
      if (exhausted && r) {
        this.stmt("UPDATE orders SET state = 'failed' WHERE matching_id = ?").run(matchingId);
        this.setProfile(r.iccid, 'error');
      }
      return { failures, exhausted };
    })();
  }

  ccFailures(matchingId: string): number {
    const r = this.stmt('SELECT cc_failures FROM orders WHERE matching_id = ?').get(matchingId) as { cc_failures: number } | undefined;
    return r?.cc_failures ?? 0;
  }

  /** getBoundProfilePackage: released → downloaded for `eid` (idempotent for the same EID). */
  markDownloaded(iccid: string, eid: string): void {
    const res = this.stmt("UPDATE profiles SET state = 'downloaded', eid = ?, updated_at = ? WHERE iccid = ? AND (state = 'released' OR (state = 'downloaded' AND eid = ?))")
      .run(eid, this.now(), iccid, eid);
    if (res.changes !== 1) throw new InventoryError('8.2', '3.7', `profile ${iccid} is not available for a new binding`);
  }

  /** Install result from the PIR: installed (order done) or error (order failed). */
  markInstallResult(iccid: string, success: boolean): void {
    this.db.transaction(() => {
      this.setProfile(iccid, success ? 'installed' : 'error');
      this.stmt(`UPDATE orders SET state = ? WHERE iccid = ? AND state = 'active'`).run(success ? 'done' : 'failed', iccid);
    })();
  }

  /** A cancelled session: back to released (retry possible) or the order ends with the profile in error. */
  releaseAfterCancel(iccid: string, retryable: boolean): void {
    this.db.transaction(() => {
      const p = this.profileRow(iccid);
      if (!p || (p.state !== 'released' && p.state !== 'downloaded')) return;
      if (retryable) {
        this.setProfile(iccid, 'released');
      } else {
        this.setProfile(iccid, 'error');
        this.stmt("UPDATE orders SET state = 'cancelled' WHERE iccid = ? AND state = 'active'").run(iccid);
      }
    })();
  }

  // -------------------------------------------------------------------------------------------- sessions

  createSession(s: { transactionId: string; euiccChallenge: Uint8Array; serverChallenge: Uint8Array; ciPkid: Uint8Array; ttlMs: number }): void {
    const now = this.now();
    this.stmt('INSERT INTO sessions (transaction_id, state, created_at, expires_at, euicc_challenge, server_challenge, ci_pkid) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(s.transactionId, 'initiated', now, now + s.ttlMs, Buffer.from(s.euiccChallenge), Buffer.from(s.serverChallenge), Buffer.from(s.ciPkid));
  }

  /** The session, or undefined when unknown or expired. */
  session(transactionId: string): SessionRecord | undefined {
    const r = this.stmt(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE transaction_id = ?`).get(transactionId) as SessionRow | undefined;
    return r && this.sessionFromRow(r);
  }

  private sessionFromRow(r: SessionRow): SessionRecord | undefined {
    if (r.expires_at <= this.now()) return undefined;
    // built by assignment: spreading many small objects into one literal is slow on Node 20's V8
    const s: { -readonly [K in keyof SessionRecord]: SessionRecord[K] } = {
      transactionId: r.transaction_id,
      state: r.state,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      euiccChallenge: new Uint8Array(r.euicc_challenge),
      serverChallenge: new Uint8Array(r.server_challenge),
      ciPkid: new Uint8Array(r.ci_pkid),
      ccRequired: r.cc_required === 1,
    };
    if (r.eid !== null) s.eid = r.eid;
    if (r.matching_id !== null) s.matchingId = r.matching_id;
    if (r.iccid !== null) s.iccid = r.iccid;
    const euiccCert = b(r.euicc_cert ?? null);
    if (euiccCert) s.euiccCert = euiccCert;
    const sig2 = b(r.smdp_signature2 ?? null);
    if (sig2) s.smdpSignature2 = sig2;
    const otpk = b(r.euicc_otpk ?? null);
    if (otpk) s.euiccOtpk = otpk;
    const seed = b(r.bpp_seed ?? null);
    if (seed) s.bppSeed = seed;
    const acHash = b(r.ac_request_hash ?? null);
    if (acHash) s.acRequestHash = acHash;
    return s;
  }

  /** Session after a successful authenticateClient. */
  authenticateSession(
    transactionId: string,
    s: { eid: string; matchingId: string; iccid: string; euiccCert: Uint8Array; smdpSignature2: Uint8Array; ccRequired: boolean; acRequestHash: Uint8Array },
  ): void {
    this.stmt(
        "UPDATE sessions SET state = 'authenticated', eid = ?, matching_id = ?, iccid = ?, euicc_cert = ?, smdp_signature2 = ?, cc_required = ?, ac_request_hash = ? WHERE transaction_id = ?",
      )
      .run(s.eid, s.matchingId, s.iccid, Buffer.from(s.euiccCert), Buffer.from(s.smdpSignature2), s.ccRequired ? 1 : 0, Buffer.from(s.acRequestHash), transactionId);
  }

  /** Session after getBoundProfilePackage: the BPP's seed is kept for a retry within the session. */
  bppIssued(transactionId: string, euiccOtpk: Uint8Array, bppSeed: Uint8Array): void {
    this.stmt("UPDATE sessions SET state = 'bpp-issued', euicc_otpk = ?, bpp_seed = ? WHERE transaction_id = ?").run(buf(euiccOtpk), buf(bppSeed), transactionId);
  }

  /** Issue the BPP atomically: profile → downloaded and the session keeps what rebuilds the BPP. */
  issueBpp(transactionId: string, iccid: string, eid: string, euiccOtpk: Uint8Array, bppSeed: Uint8Array): void {
    this.db.transaction(() => {
      this.markDownloaded(iccid, eid);
      this.bppIssued(transactionId, euiccOtpk, bppSeed);
    })();
  }

  deleteSession(transactionId: string): void {
    this.stmt('DELETE FROM sessions WHERE transaction_id = ?').run(transactionId);
  }

  /** Drop expired sessions; those that never got a BPP release nothing (the profile stayed released). */
  purgeExpiredSessions(): number {
    return this.stmt('DELETE FROM sessions WHERE expires_at <= ?').run(this.now()).changes;
  }

  sessionCount(): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM sessions').get() as { n: number }).n;
  }

  // --------------------------------------------------------------------------------------- notifications

  /** Record a notification; a repeated (eid, seqNumber, event) is kept once. Returns false for a repeat. */
  recordNotification(n: { eid: string; seqNumber: number; event: NotificationEventName; iccid?: string; success?: boolean; transactionId?: string; verified: boolean; raw: Uint8Array }): boolean {
    const res = this.stmt('INSERT OR IGNORE INTO notifications (eid, seq_number, event, iccid, transaction_id, success, verified, received_at, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(n.eid, n.seqNumber, n.event, n.iccid ?? null, n.transactionId ?? null, n.success === undefined ? null : n.success ? 1 : 0, n.verified ? 1 : 0, this.now(), Buffer.from(n.raw));
    return res.changes === 1;
  }

  /** Notifications received and verified (with `includeUnverified`, also those whose signature failed). */
  receivedNotifications(opts: { includeUnverified?: boolean } = {}): ReceivedNotification[] {
    const rows = this.stmt(`SELECT * FROM notifications ${opts.includeUnverified ? '' : 'WHERE verified = 1'} ORDER BY id`)
      .all() as NotificationRow[];
    return rows.map((r) => ({
      seqNumber: r.seq_number,
      event: r.event,
      eid: r.eid,
      verified: r.verified === 1,
      receivedAt: r.received_at,
      ...(r.iccid !== null && { iccid: r.iccid }),
      ...(r.success !== null && { success: r.success === 1 }),
      ...(r.transaction_id !== null && { transactionId: r.transaction_id }),
    }));
  }
}
