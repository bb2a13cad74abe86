/**
 * The SM-DP+ side of ES12 (SGP22-NOTES §5.4): event registrations on SM-DSs, kept in the inventory's SQLite
 * file and driven by a background worker with bounded retries.
 *
 * Life of a registration (table `smds_registrations`, one row per SM-DS address and eventId):
 *
 *   pending ──RegisterEvent ok (or 8.9.5/3.3: already there)──▶ registered
 *      │  transient failure: retried with exponential backoff, at most `maxAttempts` times
 *      └─ permanent failure or attempts exhausted ──▶ failed (lastError says why: 8.9/5.1 unreachable, 8.9/4.2 …)
 *   pending | registered | failed ──order no longer active (installed, failed, cancelled)──▶ delete-pending
 *   delete-pending ──DeleteEvent ok (or 8.9.5/3.9: not there)──▶ deleted   (bounded retries → delete-failed)
 *
 * The row is written in the same SQLite transaction as the order (ES2+ confirmOrder, `esim-smdp order
 * create`), so a restart neither loses a registration nor makes a second one: the worker resumes the rows that
 * are due; a RegisterEvent that reached the SM-DS before a crash is answered 8.9.5/3.3 on the retry and counts
 * as registered. Every state change is a conditional UPDATE (from the state that was read), so a cancel that
 * overtakes a registration in flight still ends with the event deleted.
 *
 * The eventId is the order's matchingId (the LPA downloads with matchingId = eventId). The TLS client
 * certificate is the SM-DP+'s CERT.DPtls; the SM-DS's CERT.DStls must chain to a trusted CI.
 *
 * Layering: smdp/ → crypto/ (through es12.ts) only.
 */
import type Database from 'better-sqlite3';
import { Es12Client, Es12ClientError, hostOfRspAddress } from './es12.js';

export type SmdsRegistrationState = 'pending' | 'registered' | 'failed' | 'delete-pending' | 'deleted' | 'delete-failed';

export interface SmdsRegistration {
  readonly smdsAddress: string;
  readonly eventId: string;
  readonly matchingId: string;
  readonly eid: string;
  /** The SM-DP+ address registered (where the LPA will download). */
  readonly rspServerAddress: string;
  readonly forwardingIndicator: boolean;
  /** ES2+ confirmOrder rootSmdsAddress, when given. */
  readonly rootSmdsAddress?: string;
  readonly state: SmdsRegistrationState;
  /** Attempts in the current phase (register, then delete). */
  readonly attempts: number;
  /** Last failure (status code + message; never secrets). */
  readonly lastError?: string;
  /** ms since the epoch of the next attempt (pending / delete-pending). */
  readonly nextAttemptAt?: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

interface Row {
  smds_address: string;
  event_id: string;
  matching_id: string;
  eid: string;
  rsp_server_address: string;
  forwarding: number;
  root_smds_address: string | null;
  state: SmdsRegistrationState;
  attempts: number;
  last_error: string | null;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

const fromRow = (r: Row): SmdsRegistration => ({
  smdsAddress: r.smds_address,
  eventId: r.event_id,
  matchingId: r.matching_id,
  eid: r.eid,
  rspServerAddress: r.rsp_server_address,
  forwardingIndicator: r.forwarding !== 0,
  state: r.state,
  attempts: r.attempts,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  ...(r.root_smds_address !== null && { rootSmdsAddress: r.root_smds_address }),
  ...(r.last_error !== null && { lastError: r.last_error }),
  ...(r.next_attempt_at !== null && { nextAttemptAt: r.next_attempt_at }),
});

/** Columns of `smds_registrations`, in creation order; later versions append here (added to old files by migrate). */
const COLUMNS: readonly [string, string][] = [
  ['smds_address', 'TEXT NOT NULL'],
  ['event_id', 'TEXT NOT NULL'],
  ['matching_id', 'TEXT NOT NULL'],
  ['eid', 'TEXT NOT NULL'],
  ['rsp_server_address', 'TEXT NOT NULL'],
  ['forwarding', 'INTEGER NOT NULL DEFAULT 0'],
  ['root_smds_address', 'TEXT'],
  ['state', "TEXT NOT NULL DEFAULT 'pending'"],
  ['attempts', 'INTEGER NOT NULL DEFAULT 0'],
  ['last_error', 'TEXT'],
  ['next_attempt_at', 'INTEGER'],
  ['created_at', 'INTEGER NOT NULL DEFAULT 0'],
  ['updated_at', 'INTEGER NOT NULL DEFAULT 0'],
];

/**
 * Schema migration for an inventory database (new or existing file): creates `smds_registrations` and adds
 * any column a previous version lacks. Idempotent.
 */
export function migrateSmdsRegistrations(db: Database.Database): void {
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS smds_registrations (
      ${COLUMNS.map(([n, t]) => `${n} ${t}`).join(',\n      ')},
      PRIMARY KEY (smds_address, event_id));`);
    const have = new Set((db.prepare('PRAGMA table_info(smds_registrations)').all() as { name: string }[]).map((c) => c.name));
    for (const [n, t] of COLUMNS) if (!have.has(n)) db.exec(`ALTER TABLE smds_registrations ADD COLUMN ${n} ${t}`);
    db.exec(`CREATE INDEX IF NOT EXISTS smds_registrations_matching ON smds_registrations(matching_id);
      CREATE INDEX IF NOT EXISTS smds_registrations_due ON smds_registrations(state, next_attempt_at);`);
  })();
}

const ACTIVE_STATES = "('pending', 'registered', 'failed', 'delete-pending')";

/** The registrations table of an inventory database (the connection stays the caller's). */
export class SmdsRegistrationStore {
  constructor(readonly db: Database.Database) {
    migrateSmdsRegistrations(db);
  }

  /** Insert a pending registration (due now). Throws on a duplicate (SM-DS, eventId). */
  add(r: { smdsAddress: string; eventId: string; matchingId: string; eid: string; rspServerAddress: string; forwardingIndicator?: boolean; rootSmdsAddress?: string }): void {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO smds_registrations (smds_address, event_id, matching_id, eid, rsp_server_address, forwarding, root_smds_address, state, attempts, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)`,
      )
      .run(r.smdsAddress, r.eventId, r.matchingId, r.eid, r.rspServerAddress, r.forwardingIndicator ? 1 : 0, r.rootSmdsAddress ?? null, now, now, now);
  }

  get(smdsAddress: string, eventId: string): SmdsRegistration | undefined {
    const r = this.db.prepare('SELECT * FROM smds_registrations WHERE smds_address = ? AND event_id = ?').get(smdsAddress, eventId) as Row | undefined;
    return r && fromRow(r);
  }

  /** The registrations of an order (by matchingId). */
  forOrder(matchingId: string): SmdsRegistration[] {
    return (this.db.prepare('SELECT * FROM smds_registrations WHERE matching_id = ? ORDER BY created_at, rowid').all(matchingId) as Row[]).map(fromRow);
  }

  all(): SmdsRegistration[] {
    return (this.db.prepare('SELECT * FROM smds_registrations ORDER BY created_at, rowid').all() as Row[]).map(fromRow);
  }

  /** The oldest registration with work due at `now`, excluding the keys in `skip`. */
  nextDue(now: number, skip: ReadonlySet<string>): SmdsRegistration | undefined {
    const rows = this.db
      .prepare("SELECT * FROM smds_registrations WHERE state IN ('pending', 'delete-pending') AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY next_attempt_at, rowid LIMIT ?")
      .all(now, skip.size + 1) as Row[];
    const r = rows.find((x) => !skip.has(keyOf(x.smds_address, x.event_id)));
    return r && fromRow(r);
  }

  /** When the next pending attempt is due (undefined: nothing pending). */
  nextAttemptAt(): number | undefined {
    const r = this.db.prepare("SELECT MIN(COALESCE(next_attempt_at, 0)) AS t FROM smds_registrations WHERE state IN ('pending', 'delete-pending')").get() as { t: number | null };
    return r.t ?? undefined;
  }

  /** Registrations not finished (anything that may still need an ES12 call). */
  openCount(): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM smds_registrations WHERE state IN ${ACTIVE_STATES}`).get() as { n: number }).n;
  }

  /**
   * Registrations whose order is no longer active (installed, failed, cancelled, or gone) → delete-pending,
   * due now. Returns how many changed.
   */
  markEndedOrders(): number {
    const now = Date.now();
    return this.db
      .prepare(
        `UPDATE smds_registrations SET state = 'delete-pending', attempts = 0, last_error = NULL, next_attempt_at = ?, updated_at = ?
         WHERE state IN ('pending', 'registered', 'failed')
           AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.matching_id = smds_registrations.matching_id AND o.state = 'active')`,
      )
      .run(now, now).changes;
  }

  /** Conditional state change (only from `from`); false when the row moved on meanwhile. */
  transition(
    r: Pick<SmdsRegistration, 'smdsAddress' | 'eventId'>,
    from: SmdsRegistrationState,
    to: { state: SmdsRegistrationState; attempts: number; lastError?: string | null; nextAttemptAt?: number | null },
  ): boolean {
    return (
      this.db
        .prepare('UPDATE smds_registrations SET state = ?, attempts = ?, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE smds_address = ? AND event_id = ? AND state = ?')
        .run(to.state, to.attempts, to.lastError ?? null, to.nextAttemptAt ?? null, Date.now(), r.smdsAddress, r.eventId, from).changes === 1
    );
  }
}

const keyOf = (smdsAddress: string, eventId: string): string => `${smdsAddress}\u0000${eventId}`;

// ------------------------------------------------------------------------------------------------ worker

export interface SmdsRegistrationOptions {
  /** CI certificates (DER) the SM-DS TLS certificate must chain to (default: the SM-DP+'s CIs). */
  readonly trustedCis?: readonly Uint8Array[];
  /** TLS client identity for ES12 (default: the SM-DP+'s CERT.DPtls and key). */
  readonly clientTls?: { readonly certPem: string; readonly keyPem: string };
  /** Connect address override (tests): the IP to connect to for an SM-DS host; undefined = DNS. */
  readonly resolve?: (host: string) => string | undefined;
  /** Per ES12 call (default 10 000 ms). */
  readonly timeoutMs?: number;
  /** Attempts per phase (register, delete) before giving up (default 8). */
  readonly maxAttempts?: number;
  /** Delay before the first retry, doubled each time (default 1000 ms). */
  readonly retryDelayMs?: number;
  /** Upper bound of the retry delay (default 60 000 ms). */
  readonly maxRetryDelayMs?: number;
  /** How often the database is looked at for work added by another process (default 5000 ms; 0 = never). */
  readonly pollIntervalMs?: number;
  /** functionRequesterIdentifier of the ES12 requests (default 'esimkit-smdp'). */
  readonly functionRequesterIdentifier?: string;
}

export interface SmdsRegistrarOptions extends SmdsRegistrationOptions {
  readonly trustedCis: readonly Uint8Array[];
  readonly clientTls: { readonly certPem: string; readonly keyPem: string };
  /** ES12 failures (no secrets). */
  readonly onWarning?: (message: string) => void;
}

/** Failure classes: transient ones are retried. */
function classify(e: unknown): { transient: boolean; text: string } {
  if (e instanceof Es12ClientError) {
    switch (e.kind) {
      case 'transport':
        return { transient: true, text: `8.9/5.1 SM-DS unreachable: ${e.message}` };
      case 'http-status': {
        const s = e.details.status ?? 0;
        return { transient: s >= 500 || s === 429 || s === 408, text: `8.9/4.2 SM-DS error: ${e.message}` };
      }
      case 'json':
        return { transient: true, text: `8.9/4.2 SM-DS error: ${e.message}` };
      case 'function-failed': {
        const code = `${e.details.subjectCode ?? '?'}/${e.details.reasonCode ?? '?'}`;
        const transient = e.details.reasonCode === '4.2' || e.details.reasonCode === '5.1';
        return { transient, text: `${code} refused by the SM-DS: ${e.message}` };
      }
    }
  }
  return { transient: true, text: `8.9/4.2 ${(e as Error).message ?? String(e)}` };
}

const isCode = (e: unknown, s: string, r: string): boolean =>
  e instanceof Es12ClientError && e.kind === 'function-failed' && e.details.subjectCode === s && e.details.reasonCode === r;

/**
 * Runs the ES12 calls of the registrations table: one attempt at a time, in due order, in the background.
 * `start()` resumes what a previous run left; `kick()` after adding rows; `reconcile()` after orders end.
 */
export class SmdsRegistrar {
  readonly store: SmdsRegistrationStore;
  private readonly clients = new Map<string, Es12Client>();
  private loop: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  /** Registrations that may still need work (refreshed from the db; cheap guard for reconcile). */
  private open = 0;
  private readonly listeners = new Set<(r: SmdsRegistration) => void>();

  constructor(
    db: Database.Database,
    private readonly o: SmdsRegistrarOptions,
  ) {
    if (o.trustedCis.length === 0) throw new RangeError('SmdsRegistrar: at least one trusted CI is required');
    this.store = new SmdsRegistrationStore(db);
    this.open = this.store.openCount();
  }

  /** Resume: end registrations of finished orders, then work off what is due; poll for rows of other processes. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.reconcile();
    this.kick();
    const every = this.o.pollIntervalMs ?? 5000;
    if (every > 0) {
      this.poller = setInterval(() => {
        if (this.closed) return;
        this.open = this.store.openCount();
        if (this.open > 0) {
          this.reconcile();
          this.kick();
        }
      }, every);
      this.poller.unref();
    }
  }

  /** Add a pending registration (call inside the transaction that confirms the order; then kick()). */
  add(r: Parameters<SmdsRegistrationStore['add']>[0]): void {
    this.store.add(r);
    this.open++;
  }

  /** Orders that ended → their events are deleted. Cheap when nothing is open. */
  reconcile(): void {
    if (this.closed || this.open === 0) return;
    try {
      if (this.store.markEndedOrders() > 0) this.kick();
    } catch (e) {
      // never fails the ES9+/ES2+ call that triggered it; the poller tries again
      this.o.onWarning?.(`SM-DS registrations: ${(e as Error).message}`);
    }
  }

  /** Work off due registrations now (in the background). */
  kick(): void {
    if (this.closed) return;
    if (this.loop) {
      this.again = true;
      return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const p = this.run().finally(() => {
      if (this.loop === p) this.loop = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        this.kick();
      } else this.schedule();
    });
    this.loop = p;
  }

  /** Resolves when no attempt is running and nothing is due right now (retries scheduled later may remain). */
  async whenIdle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  /** Called after every state change of a registration. */
  onChange(fn: (r: SmdsRegistration) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  registrations(): SmdsRegistration[] {
    return this.store.all();
  }

  /**
   * One attempt for one registration now, outside the background loop (the admin CLI, which does not
   * start() the worker). Returns the registration afterwards; a transient failure leaves it pending for the
   * server's worker.
   */
  async attemptNow(smdsAddress: string, eventId: string): Promise<SmdsRegistration | undefined> {
    const r = this.store.get(smdsAddress, eventId);
    if (r && (r.state === 'pending' || r.state === 'delete-pending')) await this.attempt(r);
    return this.store.get(smdsAddress, eventId);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.poller) clearInterval(this.poller);
    await this.whenIdle().catch(() => undefined);
    await Promise.all([...this.clients.values()].map((c) => c.close().catch(() => undefined)));
    this.clients.clear();
  }

  private client(smdsAddress: string): Es12Client {
    let c = this.clients.get(smdsAddress);
    if (!c) {
      const ip = this.o.resolve?.(hostOfRspAddress(smdsAddress));
      c = new Es12Client({
        smdsAddress,
        trustedCis: this.o.trustedCis,
        clientTls: this.o.clientTls,
        ...(this.o.functionRequesterIdentifier !== undefined && { functionRequesterIdentifier: this.o.functionRequesterIdentifier }),
        ...(this.o.timeoutMs !== undefined && { timeoutMs: this.o.timeoutMs }),
        ...(ip !== undefined && { connectAddress: ip }),
      });
      this.clients.set(smdsAddress, c);
    }
    return c;
  }

  private schedule(): void {
    if (this.closed) return;
    const t = this.store.nextAttemptAt();
    if (t === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, Math.max(0, t - Date.now()));
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const done = new Set<string>();
    for (;;) {
      if (this.closed) return;
      let r: SmdsRegistration | undefined;
      try {
        r = this.store.nextDue(Date.now(), done);
      } catch (e) {
        this.o.onWarning?.(`SM-DS registrations: ${(e as Error).message}`);
        return;
      }
      if (!r) break;
      done.add(keyOf(r.smdsAddress, r.eventId));
      await this.attempt(r);
    }
    try {
      this.open = this.store.openCount();
    } catch {
      /* closed */
    }
  }

  private delay(attempts: number): number {
    const base = this.o.retryDelayMs ?? 1000;
    return Math.min(this.o.maxRetryDelayMs ?? 60_000, base * 2 ** Math.max(0, attempts - 1));
  }

  private changed(r: SmdsRegistration): void {
    const now = this.store.get(r.smdsAddress, r.eventId);
    if (!now) return;
    for (const fn of this.listeners) {
      try {
        fn(now);
      } catch {
        /* a listener's problem */
      }
    }
  }

  private async attempt(r: SmdsRegistration): Promise<void> {
    const registering = r.state === 'pending';
    let error: unknown;
    try {
      const c = this.client(r.smdsAddress);
      if (registering) await c.registerEvent({ eid: r.eid, eventId: r.eventId, rspServerAddress: r.rspServerAddress, forwardingIndicator: r.forwardingIndicator });
      else await c.deleteEvent({ eid: r.eid, eventId: r.eventId });
    } catch (e) {
      // already there (a retry after a lost answer or a crash) / already gone: the goal is reached
      if (!(registering ? isCode(e, '8.9.5', '3.3') : isCode(e, '8.9.5', '3.9'))) error = e;
    }
    // recorded even while closing (close() waits for this; the database is still open)
    try {
      const attempts = r.attempts + 1;
      if (error === undefined) {
        this.store.transition(r, r.state, { state: registering ? 'registered' : 'deleted', attempts });
      } else {
        const { transient, text } = classify(error);
        const max = this.o.maxAttempts ?? 8;
        this.o.onWarning?.(`ES12 ${registering ? 'RegisterEvent' : 'DeleteEvent'} at ${r.smdsAddress} (attempt ${attempts}/${max}): ${text}`);
        if (transient && attempts < max) {
          this.store.transition(r, r.state, { state: r.state, attempts, lastError: text, nextAttemptAt: Date.now() + this.delay(attempts) });
        } else {
          this.store.transition(r, r.state, { state: registering ? 'failed' : 'delete-failed', attempts, lastError: text });
        }
      }
      this.changed(r);
    } catch (e) {
      this.o.onWarning?.(`SM-DS registrations: ${(e as Error).message}`);
    }
  }
}
