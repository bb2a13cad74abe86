/**
 * The service's own state that must survive restarts (ARCHITECTURE.md §3), in one SQLite file
 * (`ESIM_HOME/service.db`, WAL, mode 0600): the OS-update status per slot, the factory-restore flag per slot
 * and the addProfile queue. Other modules (the caller registry) add their own tables to {@link ServiceStore.db}.
 *
 * Tables (schema version 1, `PRAGMA user_version`):
 *   osu_status      (slot_id PK, status, version, updated_at)
 *   factory_reserve (slot_id PK, reserved, updated_at)
 *   pending_adds    (id PK, slot_id, activation_code, confirmation_code, smdp_address, carrier_name, caller, created_at)
 *
 * Confirmation codes and activation codes are secrets: they are stored only here (file 0600), never logged,
 * never in an error message, and {@link ServiceStore.listPending} leaves them out.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { parseActivationCode } from '../asn1/activation-code.js';

export interface PendingAdd {
  readonly id: string;
  readonly slotId: number;
  readonly smdpAddress: string;
  readonly carrierName?: string;
  readonly hasConfirmationCode: boolean;
  readonly caller: string;
  readonly createdAt: number;
}

export interface OsuRecord {
  readonly status: number;
  readonly version?: string;
  readonly updatedAt: number;
}

export interface ServiceStore {
  /** ESIM_HOME/service.db, WAL, file mode 0600; other modules may create their own tables. */
  readonly db: Database.Database;
  getOsu(slotId: number): OsuRecord | undefined;
  setOsu(slotId: number, v: { status: number; version?: string }): void;
  getFactoryReserve(slotId: number): boolean;
  setFactoryReserve(slotId: number, reserved: boolean): void;
  /** Queue an addProfile download (the activation code is parsed: a bad one throws ActivationCodeError, nothing stored). */
  addPending(p: { slotId: number; activationCode: string; confirmationCode?: string; carrierName?: string; caller: string }): PendingAdd;
  /** Oldest first, without the codes. */
  listPending(): PendingAdd[];
  /** Remove and return one entry with its codes. */
  takePending(id: string): (PendingAdd & { activationCode: string; confirmationCode?: string }) | undefined;
  close(): void;
}

/** A value given to the store is out of range (the store is unchanged). */
export class ServiceStoreError extends Error {
  override readonly name = 'ServiceStoreError';
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS osu_status (
  slot_id INTEGER PRIMARY KEY, status INTEGER NOT NULL, version TEXT, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS factory_reserve (
  slot_id INTEGER PRIMARY KEY, reserved INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending_adds (
  id TEXT PRIMARY KEY, slot_id INTEGER NOT NULL, activation_code TEXT NOT NULL, confirmation_code TEXT,
  smdp_address TEXT NOT NULL, carrier_name TEXT, caller TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS pending_adds_created ON pending_adds(created_at);
`;

interface PendingRow {
  id: string;
  slot_id: number;
  activation_code: string;
  confirmation_code: string | null;
  smdp_address: string;
  carrier_name: string | null;
  caller: string;
  created_at: number;
}

function checkSlot(slotId: number): void {
  if (!Number.isSafeInteger(slotId) || slotId < 0) throw new ServiceStoreError(`slotId must be a non-negative integer, got ${String(slotId)}`);
}

function toPending(r: PendingRow): PendingAdd {
  return {
    id: r.id,
    slotId: r.slot_id,
    smdpAddress: r.smdp_address,
    ...(r.carrier_name !== null && { carrierName: r.carrier_name }),
    hasConfirmationCode: r.confirmation_code !== null,
    caller: r.caller,
    createdAt: r.created_at,
  };
}

/** Open (creating when absent, mode 0600) the service store. `':memory:'` for a throw-away store. */
export function openServiceStore(path: string, opts: { now?: () => number } = {}): ServiceStore {
  const now = opts.now ?? Date.now;
  const file = path !== ':memory:';
  if (file && !existsSync(path)) closeSync(openSync(path, 'a', 0o600)); // never world-readable, not even briefly
  if (file) chmodSync(path, 0o600);
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 5000');
    if (file) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new ServiceStoreError(`${path} has schema version ${version}, newer than this esimkit (${SCHEMA_VERSION})`);
    db.exec(SCHEMA);
    if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  } catch (e) {
    db.close();
    throw e;
  }
  const st = {
    getOsu: db.prepare<[number], { status: number; version: string | null; updated_at: number }>('SELECT status, version, updated_at FROM osu_status WHERE slot_id = ?'),
    setOsu: db.prepare<[number, number, string | null, number]>(
      'INSERT INTO osu_status (slot_id, status, version, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(slot_id) DO UPDATE SET status = excluded.status, version = excluded.version, updated_at = excluded.updated_at',
    ),
    getReserve: db.prepare<[number], { reserved: number }>('SELECT reserved FROM factory_reserve WHERE slot_id = ?'),
    setReserve: db.prepare<[number, number, number]>(
      'INSERT INTO factory_reserve (slot_id, reserved, updated_at) VALUES (?, ?, ?) ON CONFLICT(slot_id) DO UPDATE SET reserved = excluded.reserved, updated_at = excluded.updated_at',
    ),
    addPending: db.prepare<[string, number, string, string | null, string, string | null, string, number]>(
      'INSERT INTO pending_adds (id, slot_id, activation_code, confirmation_code, smdp_address, carrier_name, caller, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    listPending: db.prepare<[], PendingRow>('SELECT * FROM pending_adds ORDER BY created_at, rowid'),
    getPending: db.prepare<[string], PendingRow>('SELECT * FROM pending_adds WHERE id = ?'),
    delPending: db.prepare<[string]>('DELETE FROM pending_adds WHERE id = ?'),
  };
  const take = db.transaction((id: string): PendingRow | undefined => {
    const r = st.getPending.get(id);
    if (r) st.delPending.run(id);
    return r;
  });

  return {
    db,
    getOsu(slotId) {
      const r = st.getOsu.get(slotId);
      return r ? { status: r.status, ...(r.version !== null && { version: r.version }), updatedAt: r.updated_at } : undefined;
    },
    setOsu(slotId, v) {
      checkSlot(slotId);
      if (!Number.isInteger(v.status) || v.status < 1 || v.status > 5) throw new ServiceStoreError(`OSU status must be 1..5, got ${String(v.status)}`);
      st.setOsu.run(slotId, v.status, v.version ?? null, now());
    },
    getFactoryReserve(slotId) {
      return (st.getReserve.get(slotId)?.reserved ?? 0) === 1;
    },
    setFactoryReserve(slotId, reserved) {
      checkSlot(slotId);
      st.setReserve.run(slotId, reserved ? 1 : 0, now());
    },
    addPending(p) {
      checkSlot(p.slotId);
      if (typeof p.caller !== 'string' || p.caller.length === 0) throw new ServiceStoreError('caller must be a non-empty string');
      const ac = parseActivationCode(p.activationCode); // ActivationCodeError names the fault, never the code
      if (p.confirmationCode !== undefined && (typeof p.confirmationCode !== 'string' || p.confirmationCode.length === 0)) {
        throw new ServiceStoreError('the confirmation code must be a non-empty string');
      }
      const row: PendingRow = {
        id: randomUUID(),
        slot_id: p.slotId,
        activation_code: p.activationCode,
        confirmation_code: p.confirmationCode ?? null,
        smdp_address: ac.smdpAddress,
        carrier_name: p.carrierName ?? null,
        caller: p.caller,
        created_at: now(),
      };
      st.addPending.run(row.id, row.slot_id, row.activation_code, row.confirmation_code, row.smdp_address, row.carrier_name, row.caller, row.created_at);
      return toPending(row);
    },
    listPending() {
      return st.listPending.all().map(toPending);
    },
    takePending(id) {
      const r = take(id);
      if (!r) return undefined;
      return { ...toPending(r), activationCode: r.activation_code, ...(r.confirmation_code !== null && { confirmationCode: r.confirmation_code }) };
    },
    close() {
      if (db.open) db.close();
    },
  };
}
