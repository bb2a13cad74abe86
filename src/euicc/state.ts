/**
 * Persistent state of one software eUICC: a single SQLite file (better-sqlite3).
 *
 * Durability: rollback journal (journal_mode=DELETE) with synchronous=FULL, so a SIGKILL or power loss at
 * any moment leaves either the state before or the state after the last committed transaction. Every
 * multi-step change (install, enable with implicit disable and its notifications, delete, reset) is run by
 * the caller inside one {@link CardStore.transaction}. At rest the card is exactly one file; it is created
 * with mode 0600 (it holds SK.EUICC) and the journal SQLite creates beside it inherits that mode.
 *
 * Schema version: meta 'schemaVersion' (UTF-8 decimal). A file written by a newer schema is refused.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, openSync } from 'node:fs';
import { utf8 } from '../util/hex.js';

export interface StoredProfile {
  /** ISD-P AID, 16 bytes, unique. */
  aid: Uint8Array;
  /** 10 bytes as coded in EF.ICCID / tag 5A, unique. */
  iccid: Uint8Array;
  /** disabled / enabled (ProfileStateValue). */
  state: 0 | 1;
  /** MEP port it is enabled on (null when disabled). */
  port: number | null;
  nickname?: string;
  /** The StoreMetadataRequest BF25 as installed. */
  metadata: Uint8Array;
  /** 0 test, 1 provisioning, 2 operational (from metadata, default 2). */
  profileClass: number;
  /** PprIds bits (from metadata). */
  pprs: readonly number[];
  /** B8 TLV from ConfigureISDP, as received. */
  dpProprietaryData?: Uint8Array;
  /** The profile package (SAIP DER, decrypted). */
  upp: Uint8Array;
  /** Bytes counted against memory (= upp.length + metadata.length). */
  size: number;
  /** ms since epoch. */
  installedAt: number;
}

/** A stored profile without its UPP (see {@link CardStore.listProfileHeaders}). */
export type ProfileHeader = Omit<StoredProfile, 'upp'>;

export interface StoredNotification {
  seqNumber: number;
  /** NotificationEvent bit: 0 install, 1 enable, 2 disable, 3 delete. */
  event: number;
  /** notificationAddress. */
  address: string;
  iccid?: Uint8Array;
  /** The complete encoded PendingNotification (BF37 PIR or 30 OtherSignedNotification). */
  pending: Uint8Array;
}

export type StateErrorCode = 'conflict' | 'not-found' | 'schema' | 'io' | 'invalid';

/** Faults of the state store. */
export class StateError extends Error {
  override readonly name = 'StateError';
  constructor(
    readonly code: StateErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Current schema version written into meta 'schemaVersion'. */
export const STATE_SCHEMA_VERSION = 1;

/** Prefix of the ISD-P AIDs handed out by {@link CardStore.nextIsdpAid} (12 bytes). */
const ISDP_AID_PREFIX = Uint8Array.of(0xa0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xff, 0xff, 0xff, 0xff, 0x89);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS profiles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  aid BLOB NOT NULL UNIQUE,
  iccid BLOB NOT NULL UNIQUE,
  state INTEGER NOT NULL CHECK (state IN (0, 1)),
  port INTEGER,
  nickname TEXT,
  metadata BLOB NOT NULL,
  profile_class INTEGER NOT NULL,
  pprs TEXT NOT NULL,
  dp_proprietary_data BLOB,
  upp BLOB NOT NULL,
  size INTEGER NOT NULL,
  installed_at INTEGER NOT NULL
);
-- usedMemory()/profileCount() read this index only: 'size' sits after the UPP blob in a profile row,
-- so summing it from the table walks every row's overflow pages
CREATE INDEX IF NOT EXISTS profiles_size ON profiles(size);
CREATE TABLE IF NOT EXISTS notifications (
  seq_number INTEGER PRIMARY KEY,
  event INTEGER NOT NULL,
  address TEXT NOT NULL,
  iccid BLOB,
  pending BLOB NOT NULL
);
`;

interface ProfileRow {
  aid: Buffer;
  iccid: Buffer;
  state: number;
  port: number | null;
  nickname: string | null;
  metadata: Buffer;
  profile_class: number;
  pprs: string;
  dp_proprietary_data: Buffer | null;
  upp: Buffer;
  size: number;
  installed_at: number;
}

interface NotificationRow {
  seq_number: number;
  event: number;
  address: string;
  iccid: Buffer | null;
  pending: Buffer;
}

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();
const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

const HEADER_COLUMNS = 'aid, iccid, state, port, nickname, metadata, profile_class, pprs, dp_proprietary_data, size, installed_at';

function rowToHeader(r: Omit<ProfileRow, 'upp'>): ProfileHeader {
  const p: { -readonly [K in keyof ProfileHeader]: ProfileHeader[K] } = {
    aid: u8(r.aid),
    iccid: u8(r.iccid),
    state: r.state === 1 ? 1 : 0,
    port: r.port,
    metadata: u8(r.metadata),
    profileClass: r.profile_class,
    pprs: JSON.parse(r.pprs) as number[],
    size: r.size,
    installedAt: r.installed_at,
  };
  if (r.nickname !== null) p.nickname = r.nickname;
  if (r.dp_proprietary_data !== null) p.dpProprietaryData = u8(r.dp_proprietary_data);
  return p;
}

function rowToProfile(r: ProfileRow): StoredProfile {
  const p = rowToHeader(r) as StoredProfile & { upp: Uint8Array };
  p.upp = u8(r.upp);
  return p;
}

function rowToNotification(r: NotificationRow): StoredNotification {
  const n: StoredNotification = { seqNumber: r.seq_number, event: r.event, address: r.address, pending: u8(r.pending) };
  if (r.iccid !== null) n.iccid = u8(r.iccid);
  return n;
}

export class CardStore {
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

  private readonly db: Database.Database;
  /** Path given to open (':memory:' for an in-memory store). */
  readonly path: string;

  private constructor(db: Database.Database, path: string) {
    this.db = db;
    this.path = path;
  }

  /**
   * Open (or create) the state file at `path`; ':memory:' gives a throw-away store for tests. A new file is
   * created with mode 0600 before SQLite touches it.
   */
  static open(path: string): CardStore {
    let db: Database.Database;
    try {
      if (path !== ':memory:' && path !== '') {
        // create with 0600 (O_CREAT honours the mode only for a new file; chmod covers umask and old files)
        const fd = openSync(path, 'a', 0o600);
        closeSync(fd);
        chmodSync(path, 0o600);
      }
      db = new Database(path);
    } catch (e) {
      throw new StateError('io', `cannot open state ${path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      db.pragma('journal_mode = DELETE');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      const store = new CardStore(db, path);
      store.migrate();
      return store;
    } catch (e) {
      db.close();
      if (e instanceof StateError) throw e;
      throw new StateError('io', `cannot initialise state ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  private migrate(): void {
    this.db.transaction(() => {
      this.db.exec(SCHEMA);
      const v = this.getMetaString('schemaVersion');
      if (v === undefined) {
        this.setMetaString('schemaVersion', String(STATE_SCHEMA_VERSION));
      } else if (!/^[0-9]+$/.test(v) || Number(v) > STATE_SCHEMA_VERSION || Number(v) < 1) {
        throw new StateError('schema', `state schema version ${v} is not supported (this build: ${STATE_SCHEMA_VERSION})`);
      }
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Run `fn` atomically. Nested calls join the outer transaction (an exception rolls back all of it). */
  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    return this.db.transaction(fn)();
  }

  // ----------------------------------------------------------------------------------------------- meta

  getMeta(key: string): Uint8Array | undefined {
    const r = this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: Buffer } | undefined;
    return r ? u8(r.value) : undefined;
  }

  setMeta(key: string, value: Uint8Array): void {
    this.stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, buf(value));
  }

  /** Remove a meta key (no-op when absent). */
  deleteMeta(key: string): boolean {
    return this.stmt('DELETE FROM meta WHERE key = ?').run(key).changes > 0;
  }

  getMetaString(key: string): string | undefined {
    const v = this.getMeta(key);
    return v === undefined ? undefined : Buffer.from(v).toString('utf8');
  }

  setMetaString(key: string, value: string): void {
    this.setMeta(key, utf8(value));
  }

  // ------------------------------------------------------------------------------------------- profiles

  /** All profiles in installation order. */
  listProfiles(): StoredProfile[] {
    return (this.stmt('SELECT * FROM profiles ORDER BY id').all() as ProfileRow[]).map(rowToProfile);
  }

  /**
   * All profiles in installation order without their UPP (cheap: for GetProfilesInfo, enable, reset).
   */
  listProfileHeaders(): ProfileHeader[] {
    const rows = this.stmt(`SELECT ${HEADER_COLUMNS} FROM profiles ORDER BY id`).all() as Omit<ProfileRow, 'upp'>[];
    return rows.map(rowToHeader);
  }

  /** A profile by ICCID or AID, without its UPP (which no ES10 function reads back). */
  findProfile(by: { iccid: Uint8Array } | { aid: Uint8Array }): ProfileHeader | undefined {
    const r =
      'iccid' in by
        ? (this.stmt(`SELECT ${HEADER_COLUMNS} FROM profiles WHERE iccid = ?`).get(buf(by.iccid)) as Omit<ProfileRow, 'upp'> | undefined)
        : (this.stmt(`SELECT ${HEADER_COLUMNS} FROM profiles WHERE aid = ?`).get(buf(by.aid)) as Omit<ProfileRow, 'upp'> | undefined);
    return r ? rowToHeader(r) : undefined;
  }

  /** The UPP a profile was installed from (undefined for an unknown AID). */
  profileUpp(aid: Uint8Array): Uint8Array | undefined {
    const r = this.stmt('SELECT upp FROM profiles WHERE aid = ?').get(buf(aid)) as { upp: Buffer } | undefined;
    return r ? u8(r.upp) : undefined;
  }

  /** Insert a profile. Throws StateError('conflict') on an ICCID or AID collision. */
  insertProfile(p: StoredProfile): void {
    try {
      this.stmt(
          `INSERT INTO profiles (aid, iccid, state, port, nickname, metadata, profile_class, pprs, dp_proprietary_data, upp, size, installed_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          buf(p.aid),
          buf(p.iccid),
          p.state,
          p.port,
          p.nickname ?? null,
          buf(p.metadata),
          p.profileClass,
          JSON.stringify([...p.pprs]),
          p.dpProprietaryData ? buf(p.dpProprietaryData) : null,
          buf(p.upp),
          p.size,
          p.installedAt,
        );
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_CONSTRAINT')) {
        throw new StateError('conflict', `profile collides with an installed one (${(e as Error).message})`, { cause: e });
      }
      throw e;
    }
  }

  /** Change state / port / nickname of a profile. Throws StateError('not-found') for an unknown AID. */
  updateProfile(aid: Uint8Array, change: Partial<Pick<StoredProfile, 'state' | 'port' | 'nickname'>>): void {
    const sets: string[] = [];
    const args: (number | string | null)[] = [];
    if (change.state !== undefined) {
      sets.push('state = ?');
      args.push(change.state);
    }
    if ('port' in change) {
      sets.push('port = ?');
      args.push(change.port ?? null);
    }
    if ('nickname' in change) {
      sets.push('nickname = ?');
      args.push(change.nickname ?? null);
    }
    if (sets.length === 0) {
      if (!this.findProfile({ aid })) throw new StateError('not-found', 'no profile with that AID');
      return;
    }
    const r = this.stmt(`UPDATE profiles SET ${sets.join(', ')} WHERE aid = ?`).run(...args, buf(aid));
    if (r.changes === 0) throw new StateError('not-found', 'no profile with that AID');
  }

  deleteProfile(aid: Uint8Array): boolean {
    return this.stmt('DELETE FROM profiles WHERE aid = ?').run(buf(aid)).changes > 0;
  }

  /** Number of installed profiles (without reading them). */
  profileCount(): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM profiles').get() as { n: number }).n;
  }

  /** Sum of the sizes of the installed profiles. */
  usedMemory(): number {
    const r = this.stmt('SELECT COALESCE(SUM(size), 0) AS used FROM profiles').get() as { used: number };
    return r.used;
  }

  // --------------------------------------------------------------------------------------- counters

  private bumpCounter(name: string): number {
    return this.transaction(() => {
      const r = this.stmt('SELECT value FROM counters WHERE name = ?').get(name) as { value: number } | undefined;
      const now = r ? r.value : 0;
      this.stmt('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value')
        .run(name, now + 1);
      return now;
    });
  }

  /**
   * The notification sequence number to use now (0, 1, 2, ...). Persistent and only growing: it survives
   * restarts and memory resets (nothing ever lowers it). Call inside the transaction that stores the
   * notification so a rolled-back operation does not consume a number.
   */
  nextSeqNumber(): number {
    return this.bumpCounter('seqNumber');
  }

  /** A fresh ISD-P AID: A0000005591010FFFFFFFF89 + 32-bit big-endian (0x00001000 + 0x100 * counter). */
  nextIsdpAid(): Uint8Array {
    return this.transaction(() => {
      for (;;) {
        const n = this.bumpCounter('isdpAid');
        const v = 0x1000 + n * 0x100;
        if (v > 0xffffff00) throw new StateError('invalid', 'ISD-P AID space exhausted');
        const aid = new Uint8Array(16);
        aid.set(ISDP_AID_PREFIX, 0);
        new DataView(aid.buffer).setUint32(12, v);
        if (!this.findProfile({ aid })) return aid;
      }
    });
  }

  // ----------------------------------------------------------------------------------- notifications

  /** Store a pending notification. Throws StateError('conflict') if its seqNumber is taken. */
  addNotification(n: StoredNotification): void {
    try {
      this.stmt('INSERT INTO notifications (seq_number, event, address, iccid, pending) VALUES (?, ?, ?, ?, ?)')
        .run(n.seqNumber, n.event, n.address, n.iccid ? buf(n.iccid) : null, buf(n.pending));
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_CONSTRAINT')) throw new StateError('conflict', `notification ${n.seqNumber} exists`, { cause: e });
      throw e;
    }
  }

  /** Pending notifications by seqNumber. */
  listNotifications(): StoredNotification[] {
    return (this.stmt('SELECT * FROM notifications ORDER BY seq_number').all() as NotificationRow[]).map(rowToNotification);
  }

  getNotification(seq: number): StoredNotification | undefined {
    const r = this.stmt('SELECT * FROM notifications WHERE seq_number = ?').get(seq) as NotificationRow | undefined;
    return r ? rowToNotification(r) : undefined;
  }

  removeNotification(seq: number): boolean {
    return this.stmt('DELETE FROM notifications WHERE seq_number = ?').run(seq).changes > 0;
  }
}
