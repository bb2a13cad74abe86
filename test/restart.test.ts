/**
 * Restart safety of a profile download (issue 5: "kill the server or the LPA at random steps (100 runs); no
 * profile is issued twice, a retried download succeeds, the card stays consistent").
 *
 * (a) 60 runs: the SM-DP+ is killed (SIGKILL). Each run has its own SQLite file with 3 profiles of one type
 *     and 2 orders (card A's, card B's), allocated by profile type. The SM-DP+ runs in its own process
 *     (test/support/smdp-process.ts). Card A (a SoftEuicc on a state file, in this process) downloads over
 *     the LPA flow (src/lpa/download.ts) and the server dies at the kill point of the run, cycling through:
 *       initiateAuthentication:response  answer written, then killed (card A then runs AuthenticateServer)
 *       authenticateClient:send          order attempt + session written (committed at the end of the
 *                                        turn, so possibly lost with the process), answer never written
 *       authenticateClient:response      answer written, then killed (card A then runs PrepareDownload)
 *       getBoundProfilePackage:request   request arrived, nothing processed
 *       getBoundProfilePackage:send      BPP built and the profile committed as downloaded, answer never written
 *       getBoundProfilePackage:timed     killed by this process 0-15 ms (seeded random) after the request
 *                                        arrived: anywhere inside the handler, or after the answer
 *       handleNotification:request       the PIR notification arrived, nothing processed
 *       handleNotification:send          notification recorded + profile installed, answer never written
 *       handleNotification:response      answer written, then killed
 *     ("request" = fastify onRequest hook, "send" = onSend, "response" = onResponse; the child SIGKILLs
 *     itself there, except "timed".) Then: the dead server's database is checked (integrity, invariants
 *     below); the SM-DP+ is restarted on the same file and port; the LPA side retries: when the first
 *     attempt failed (the card must then hold no profile) the download is run again and must succeed with
 *     the order's ICCID; when it had installed the profile, the pending install notification is sent again
 *     (ES9+ handleNotification, then removed from the card). Card B then downloads its order; a download
 *     of card A's order again (card A and card B) is refused. Checked at the end: card A holds exactly
 *     A's profile once and no pending notification, card B exactly B's; the server has A and B installed,
 *     bound to the right EIDs, the install notifications received; a new order of the same type gets the
 *     third profile and a fourth finds none left (installed profiles are never available again).
 * (b) 40 runs: the LPA side is killed. Card + LPA run in a child process (smdp-process.ts `lpa` mode, the
 *     card state in a file) against one in-process SM-DP+ (file database); the child is SIGKILLed when it
 *     is about to send command APDU k (k uniform over the APDUs of a full download, then a 0-4 ms pause,
 *     so it may die inside an APDU, an HTTP call or the install transaction). The card state file is then
 *     reopened here: it lists no profile or exactly the complete one (ICCID, its install notification
 *     pending or already acknowledged). Retry: download again (no profile on the card) or send the pending
 *     notification; then the card holds the profile exactly once, nothing pending, the server has it
 *     installed, and a further download of the order is refused.
 *
 * Invariants checked on the server database after every run (and after every kill in (a)): integrity_check
 * ok; each profile in at most one active/done order; every downloaded/installed profile bound to the EID
 * of its order; installed profiles stay installed (never available/allocated again); no order points at a
 * profile that is available.
 *
 * Reproducible: fixed seed (ESIM_RESTART_SEED overrides); each run derives its generator from (seed, part,
 * index); a failure message names seed, part, run and kill point. ESIM_RESTART_PARALLEL (default 3).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApduChannel } from '../src/apdu/channel.js';
import type { ApduTransport } from '../src/apdu/transport.js';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { buildProfilePackage } from '../src/asn1/saip.js';
import { createEum, type IssuedCertificate } from '../src/crypto/pki.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity } from '../src/euicc/identity.js';
import { downloadProfile, type DownloadResult } from '../src/lpa/download.js';
import { listNotifications, removeNotification, retrieveNotifications } from '../src/lpa/es10b.js';
import { getProfilesInfo } from '../src/lpa/es10c.js';
import { Es9pClient } from '../src/lpa/es9p.js';
import { RspHttpClient } from '../src/lpa/http.js';
import { LpaError } from '../src/lpa/result-codes.js';
import { createSmdpIdentity, type SmdpIdentity } from '../src/smdp/identity.js';
import { SmdpInventory } from '../src/smdp/inventory.js';
import { SmdpServer } from '../src/smdp/server.js';
import { childEntry, LpaChild, SmdpChild, writeSmdpIdentityDir, type ChildEntry, type DieAt } from './support/smdp-process.js';

const SEED = Number(process.env.ESIM_RESTART_SEED ?? 0x7e57a7);
const PARALLEL = Math.max(1, Number(process.env.ESIM_RESTART_PARALLEL ?? 3));
const SERVER_RUNS = 60;
const LPA_RUNS = 40;
const PROFILE_TYPE = 'restart';
const UPP_SIZE = 3000;
const resolve = (h: string): string | undefined => (h === 'localhost' ? '127.0.0.1' : undefined);
const TIMEOUTS = { connectMs: 3000, requestMs: 10_000, overallMs: 30_000 };

const SERVER_KILLS = [
  'initiateAuthentication:response',
  'authenticateClient:send',
  'authenticateClient:response',
  'getBoundProfilePackage:request',
  'getBoundProfilePackage:send',
  'getBoundProfilePackage:timed',
  'handleNotification:request',
  'handleNotification:send',
  'handleNotification:response',
] as const;
type ServerKill = (typeof SERVER_KILLS)[number];

// ------------------------------------------------------------------------------------------ helpers

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

function rngFor(part: string, index: number): () => number {
  return mulberry32(createHash('sha256').update(`${SEED}/${part}/${index}`).digest().readUInt32BE(0));
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

let iccidSeq = 0;
function newIccid(): string {
  return `8904903277${String(process.pid % 1000).padStart(3, '0')}${String(iccidSeq++).padStart(6, '0')}`;
}

function addProfiles(inv: SmdpInventory, n: number): string[] {
  return Array.from({ length: n }, () => {
    const iccid = newIccid();
    return inv.addProfile(buildProfilePackage({ iccid, padToSize: UPP_SIZE }), { serviceProviderName: 'esimkit restart', profileName: `restart ${iccid}`, profileType: PROFILE_TYPE }).iccid;
  });
}

function activationCode(address: string, matchingId: string): string {
  return `LPA:1$${address}$${matchingId}`;
}

async function cardIccids(card: SoftEuicc): Promise<string[]> {
  return (await ApduChannel.with(new VirtualTransport(card), {}, (ch) => getProfilesInfo(ch))).map((p) => p.iccid ?? '?');
}

async function pendingCount(card: SoftEuicc): Promise<number> {
  return (await ApduChannel.with(new VirtualTransport(card), {}, (ch) => listNotifications(ch))).length;
}

/** Send the card's pending notifications to `address` and remove those acknowledged; returns the count sent. */
async function flushNotifications(card: SoftEuicc, address: string, ciCerts: Uint8Array[]): Promise<number> {
  const http = new RspHttpClient({ trustedCis: ciCerts, resolve, timeouts: { connectMs: 3000, requestMs: 10_000 } });
  try {
    const es9p = new Es9pClient(http, address);
    return await ApduChannel.with(new VirtualTransport(card), {}, async (ch) => {
      let sent = 0;
      for (const n of await retrieveNotifications(ch)) {
        await es9p.handleNotification(n.raw);
        const r = await removeNotification(ch, n.seqNumber);
        if (r.result !== 'ok') throw new Error(`RemoveNotificationFromList ${n.seqNumber}: ${r.result}`);
        sent++;
      }
      return sent;
    });
  } finally {
    await http.close();
  }
}

function download(card: SoftEuicc, address: string, matchingId: string, ciCerts: Uint8Array[]): Promise<DownloadResult> {
  return downloadProfile({ transport: new VirtualTransport(card), activationCode: activationCode(address, matchingId), trust: { ciCertificates: ciCerts }, http: { resolve }, timeouts: TIMEOUTS });
}

async function refused(p: Promise<unknown>): Promise<LpaError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof LpaError)) throw new Error(`expected the download to be refused, got ${e === undefined ? 'success' : String(e)}`);
  return e;
}

interface DbProfile {
  iccid: string;
  state: string;
  eid: string | null;
}

/** The server-side invariants (see the file comment); returns the profile rows. Throws on a violation. */
function checkInventory(db: Database.Database, installedBefore: ReadonlySet<string> = new Set()): DbProfile[] {
  const ic = db.pragma('integrity_check', { simple: true });
  if (ic !== 'ok') throw new Error(`integrity_check: ${String(ic)}`);
  const twice = db.prepare("SELECT iccid, COUNT(*) AS n FROM orders WHERE state IN ('active', 'done') GROUP BY iccid HAVING n > 1").all() as { iccid: string; n: number }[];
  if (twice.length > 0) throw new Error(`profile in more than one order: ${JSON.stringify(twice)}`);
  const bound = db
    .prepare(
      "SELECT p.iccid, p.state, p.eid, o.eid AS oeid, o.state AS ostate FROM profiles p LEFT JOIN orders o ON o.iccid = p.iccid AND o.state IN ('active', 'done') WHERE p.state IN ('downloaded', 'installed')",
    )
    .all() as { iccid: string; state: string; eid: string | null; oeid: string | null; ostate: string | null }[];
  for (const r of bound) {
    if (r.eid === null || r.oeid === null || r.eid !== r.oeid) throw new Error(`profile ${r.iccid} ${r.state} bound to ${r.eid}, order EID ${r.oeid} (${r.ostate})`);
  }
  const orphan = db.prepare("SELECT o.matching_id FROM orders o JOIN profiles p ON p.iccid = o.iccid WHERE o.state IN ('active', 'done') AND p.state = 'available'").all();
  if (orphan.length > 0) throw new Error(`order on an available profile: ${JSON.stringify(orphan)}`);
  const profiles = db.prepare('SELECT iccid, state, eid FROM profiles ORDER BY iccid').all() as DbProfile[];
  for (const p of profiles) if (installedBefore.has(p.iccid) && p.state !== 'installed') throw new Error(`installed profile ${p.iccid} went back to ${p.state}`);
  return profiles;
}

function withDb<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function installNotifications(db: Database.Database, iccid: string, eid: string): number {
  return (
    db.prepare("SELECT COUNT(*) AS n FROM notifications WHERE iccid = ? AND eid = ? AND event = 'install' AND success = 1 AND verified = 1").get(iccid, eid) as { n: number }
  ).n;
}

// ------------------------------------------------------------------------------------------ shared setup

let root: string;
let entry: ChildEntry;
let ci: IssuedCertificate;
let eum: IssuedCertificate;
let identity: SmdpIdentity;
let identityDir: string;
let ciCerts: Uint8Array[];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'esimkit-restart-'));
  const id = createSmdpIdentity({ address: 'localhost:0', tlsHost: 'localhost' });
  ({ ci, ...identity } = id);
  eum = createEum(ci, { curve: 'P-256' });
  identityDir = join(root, 'identity');
  writeSmdpIdentityDir(identityDir, identity);
  ciCerts = identity.ciCerts;
  writeFileSync(join(root, 'ci.der'), ci.certDer);
  entry = await childEntry();
}, 60_000);

afterAll(() => {
  entry?.dispose();
  if (root) rmSync(root, { recursive: true, force: true });
});

function newCard(path: string): SoftEuicc {
  return SoftEuicc.create(path, { identity: createIdentity({ curve: 'P-256', ci, eum }).identity });
}

// ------------------------------------------------------------------------------------------ (a) server killed

interface ServerRunResult {
  kill: ServerKill;
  firstOk: boolean;
  killedBy: string | null;
  ms: number;
}

async function serverRun(index: number): Promise<ServerRunResult> {
  const rng = rngFor('server', index);
  const kill = SERVER_KILLS[index % SERVER_KILLS.length]!;
  const pauseMs = Math.floor(rng() * 16);
  const where = `seed ${SEED}, part a (server killed), run ${index}, kill ${kill}${kill.endsWith('timed') ? ` +${pauseMs} ms` : ''}`;
  const dir = mkdtempSync(join(root, `a${index}-`));
  const dbPath = join(dir, 'smdp.sqlite');
  const t0 = performance.now();
  let cardA: SoftEuicc | undefined;
  let cardB: SoftEuicc | undefined;
  let server: SmdpChild | undefined;
  try {
    // inventory: 3 profiles of one type, orders for A and B (allocated by type)
    const inv = new SmdpInventory(dbPath);
    const all = addProfiles(inv, 3);
    const orderA = inv.createOrder({ profileType: PROFILE_TYPE });
    const orderB = inv.createOrder({ profileType: PROFILE_TYPE });
    inv.close();
    const third = all.find((i) => i !== orderA.iccid && i !== orderB.iccid)!;
    cardA = newCard(join(dir, 'cardA.sqlite'));
    cardB = newCard(join(dir, 'cardB.sqlite'));

    server = await SmdpChild.start(entry, { identityDir, dbPath, ...(kill.endsWith('timed') ? {} : { dieAt: kill as DieAt }) });
    const port = server.port;
    const address = server.address;
    if (kill.endsWith('timed')) {
      const s = server;
      s.onRequest((fn) => {
        if (fn === 'getBoundProfilePackage') setTimeout(() => void s.kill(), pauseMs);
      });
    }
    const first = await download(cardA, address, orderA.matchingId, ciCerts).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    const exit = await Promise.race([server.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
    if (!exit) throw new Error('the SM-DP+ was not killed at its kill point');
    if (exit.signal !== 'SIGKILL') throw new Error(`the SM-DP+ ended with ${exit.code}/${exit.signal}, not SIGKILL: ${server.stderrText}`);
    const killedBy = exit.signal;

    // the dead server's database
    withDb(dbPath, (db) => checkInventory(db));

    // card A after the first attempt
    const onA = await cardIccids(cardA);
    if (first.ok) {
      if (first.r.iccid !== orderA.iccid) throw new Error(`first attempt installed ${first.r.iccid}, order is ${orderA.iccid}`);
      if (onA.join() !== orderA.iccid) throw new Error(`card A after a successful first attempt: ${onA.join()}`);
    } else {
      if (!(first.e instanceof LpaError)) throw new Error(`first attempt failed with a non-LpaError: ${String(first.e)}`);
      if (onA.length !== 0) throw new Error(`card A holds ${onA.join()} after a failed first attempt`);
    }

    // restart on the same file and port, retry from the LPA side
    server = await SmdpChild.start(entry, { identityDir, dbPath, port });
    if (server.port !== port || server.address !== address) throw new Error(`restarted on ${server.address}, was ${address}`);
    if (!first.ok) {
      const r = await download(cardA, address, orderA.matchingId, ciCerts);
      if (r.iccid !== orderA.iccid || !r.notificationSent) throw new Error(`retry: ${r.iccid}, notificationSent ${r.notificationSent}`);
    } else if (!first.r.notificationSent) {
      const n = await flushNotifications(cardA, address, ciCerts);
      if (n < 1) throw new Error('no pending notification to resend after a lost handleNotification');
    }
    // card B's order, then A's order again (by A and by B): refused
    const rb = await download(cardB, address, orderB.matchingId, ciCerts);
    if (rb.iccid !== orderB.iccid) throw new Error(`card B got ${rb.iccid}, order is ${orderB.iccid}`);
    await refused(download(cardA, address, orderA.matchingId, ciCerts));
    await refused(download(cardB, address, orderA.matchingId, ciCerts));
    await server.stop();

    // final state: cards and server
    const finalA = await cardIccids(cardA);
    const finalB = await cardIccids(cardB);
    if (finalA.join() !== orderA.iccid) throw new Error(`card A ends with [${finalA.join()}]`);
    if (finalB.join() !== orderB.iccid) throw new Error(`card B ends with [${finalB.join()}]`);
    if ((await pendingCount(cardA)) !== 0 || (await pendingCount(cardB)) !== 0) throw new Error('notifications left pending');
    const eidA = cardA.eid;
    const eidB = cardB.eid;
    const installed = new Set([orderA.iccid, orderB.iccid]);
    withDb(dbPath, (db) => {
      const profiles = checkInventory(db, installed);
      const st = new Map(profiles.map((p) => [p.iccid, p]));
      if (st.get(orderA.iccid)?.state !== 'installed' || st.get(orderA.iccid)?.eid !== eidA) throw new Error(`A on the server: ${JSON.stringify(st.get(orderA.iccid))}`);
      if (st.get(orderB.iccid)?.state !== 'installed' || st.get(orderB.iccid)?.eid !== eidB) throw new Error(`B on the server: ${JSON.stringify(st.get(orderB.iccid))}`);
      if (st.get(third)?.state !== 'available') throw new Error(`the third profile is ${st.get(third)?.state}`);
      if (installNotifications(db, orderA.iccid, eidA) !== 1 || installNotifications(db, orderB.iccid, eidB) !== 1) throw new Error('install notifications not received exactly once');
    });
    // installed profiles are never available again: a new order takes the third, a fourth finds none
    const inv2 = new SmdpInventory(dbPath);
    try {
      const c = inv2.createOrder({ profileType: PROFILE_TYPE });
      if (c.iccid !== third) throw new Error(`a new order got ${c.iccid}, expected the third profile ${third}`);
      let fourth: unknown;
      try {
        inv2.createOrder({ profileType: PROFILE_TYPE });
      } catch (e) {
        fourth = e;
      }
      if (fourth === undefined) throw new Error('a fourth order got a profile');
      checkInventory(inv2.db, installed);
    } finally {
      inv2.close();
    }
    return { kill, firstOk: first.ok, killedBy, ms: performance.now() - t0 };
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
  } finally {
    await server?.kill().catch(() => undefined);
    cardA?.close();
    cardB?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------ (b) LPA killed

/** Counts command APDUs (for the size of the kill range). */
class CountingTransport implements ApduTransport {
  count = 0;
  constructor(private readonly inner: ApduTransport) {}
  get capabilities(): ApduTransport['capabilities'] {
    return this.inner.capabilities;
  }
  transmit(apdu: Uint8Array, options?: { timeoutMs?: number }): Promise<Uint8Array> {
    this.count++;
    return this.inner.transmit(apdu, options);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface LpaRunResult {
  killAt: number;
  killed: boolean;
  profileAfterKill: boolean;
  pendingAfterKill: number;
}

describe('restart safety', () => {
  it('the inventory checks catch a profile issued to two EIDs and an installed profile made available again', () => {
    const dbPath = join(root, 'planted.sqlite');
    const inv = new SmdpInventory(dbPath);
    try {
      const [p1, p2] = addProfiles(inv, 2);
      const o1 = inv.createOrder({ iccid: p1! });
      inv.beginDownload(o1.matchingId, '89049032123451234512345678901235');
      inv.markDownloaded(p1!, '89049032123451234512345678901235');
      inv.markInstallResult(p1!, true);
      expect(checkInventory(inv.db).find((p) => p.iccid === p1)?.state).toBe('installed');
      // planted: the order now names another EID than the one the profile was bound to
      inv.db.prepare('UPDATE orders SET eid = ? WHERE iccid = ?').run('89049032123451234512345678901243', p1);
      expect(() => checkInventory(inv.db)).toThrow(/bound to/);
      inv.db.prepare('UPDATE orders SET eid = ? WHERE iccid = ?').run('89049032123451234512345678901235', p1);
      // planted: a second order (done + active) on the same profile
      inv.db.prepare("INSERT INTO orders (matching_id, iccid, max_attempts, state, created_at) VALUES ('X', ?, 5, 'active', 0)").run(p1);
      expect(() => checkInventory(inv.db)).toThrow(/more than one order/);
      inv.db.prepare("DELETE FROM orders WHERE matching_id = 'X'").run();
      // planted: the installed profile available again
      inv.db.prepare("UPDATE profiles SET state = 'available' WHERE iccid = ?").run(p1);
      expect(() => checkInventory(inv.db, new Set([p1!]))).toThrow(/went back|available/);
      expect(p2).toBeDefined();
    } finally {
      inv.close();
    }
  });

  it(`(a) SM-DP+ killed at ${SERVER_KILLS.length} kill points, restarted on the same file and port: ${SERVER_RUNS} runs (seed ${SEED})`, async () => {
    const t0 = performance.now();
    const results = await pool(
      Array.from({ length: SERVER_RUNS }, (_, i) => () => serverRun(i)),
      PARALLEL,
    );
    const secs = (performance.now() - t0) / 1000;
    const byKill = new Map<string, { runs: number; firstOk: number }>();
    for (const r of results) {
      const k = byKill.get(r.kill) ?? { runs: 0, firstOk: 0 };
      k.runs++;
      if (r.firstOk) k.firstOk++;
      byKill.set(r.kill, k);
    }
    console.log(
      `restart (a): ${results.length} runs in ${secs.toFixed(1)} s, ${PARALLEL} at a time; ` +
        [...byKill].map(([k, v]) => `${k} ${v.runs} (first attempt installed ${v.firstOk})`).join('; '),
    );
    expect(results).toHaveLength(SERVER_RUNS);
    expect(results.every((r) => r.killedBy === 'SIGKILL')).toBe(true);
    // kills before the PIR always fail the first attempt; kills at handleNotification never do
    for (const r of results) {
      if (r.kill.startsWith('handleNotification')) expect(r.firstOk, r.kill).toBe(true);
      if (r.kill.startsWith('initiate') || r.kill.startsWith('authenticateClient') || r.kill === 'getBoundProfilePackage:request' || r.kill === 'getBoundProfilePackage:send') {
        expect(r.firstOk, r.kill).toBe(false);
      }
    }
  }, 120_000);

  describe('(b) the LPA process killed mid-download', () => {
    let server: SmdpServer;
    let dbPath: string;
    let apduTotal = 0;

    beforeAll(async () => {
      dbPath = join(root, 'b-smdp.sqlite');
      server = await SmdpServer.start({ identity: { ...identity, address: 'localhost:0' }, dbPath });
      // a full download once, to know how many command APDUs it takes
      const [iccid] = addProfiles(server.inventory, 1);
      const { matchingId } = server.inventory.createOrder({ iccid: iccid! });
      const card = SoftEuicc.create(':memory:', { identity: createIdentity({ curve: 'P-256', ci, eum }).identity });
      const t = new CountingTransport(new VirtualTransport(card));
      await downloadProfile({ transport: t, activationCode: server.activationCode(matchingId), trust: { ciCertificates: ciCerts }, http: { resolve }, timeouts: TIMEOUTS });
      card.close();
      apduTotal = t.count;
    }, 30_000);

    afterAll(async () => {
      await server?.close();
    });

    async function lpaRun(index: number): Promise<LpaRunResult> {
      const rng = rngFor('lpa', index);
      const killAt = 1 + Math.floor(rng() * apduTotal);
      const pauseMs = Math.floor(rng() * 5);
      const where = `seed ${SEED}, part b (LPA killed), run ${index}, at command APDU ${killAt}/${apduTotal} +${pauseMs} ms`;
      const dir = mkdtempSync(join(root, `b${index}-`));
      const cardPath = join(dir, 'card.sqlite');
      let card: SoftEuicc | undefined;
      try {
        const [iccid] = addProfiles(server.inventory, 1);
        const { matchingId } = server.inventory.createOrder({ iccid: iccid! });
        const made = newCard(cardPath);
        const eid = made.eid;
        made.close();

        const child = LpaChild.spawn(entry, { cardPath, ciDerPath: join(root, 'ci.der'), activationCode: server.activationCode(matchingId) });
        child.onApdu((n) => {
          if (n === killAt) setTimeout(() => void child.kill(), pauseMs);
        });
        const outcome = await child.done;
        await child.kill(); // if it finished first (the last APDUs + pause)
        const killed = outcome === undefined;
        if (outcome && !outcome.ok) throw new Error(`the LPA child failed on its own: ${outcome.message}`);
        checkInventory(server.inventory.db);

        // the card state file, reopened
        card = SoftEuicc.open(cardPath);
        const onCard = await cardIccids(card);
        const pending = await ApduChannel.with(new VirtualTransport(card), {}, (ch) => listNotifications(ch));
        if (onCard.length > 1 || (onCard.length === 1 && onCard[0] !== iccid)) throw new Error(`card holds [${onCard.join()}]`);
        if (onCard.length === 0 && pending.length > 0) throw new Error('a notification without the profile');
        if (pending.some((n) => n.iccid !== iccid || n.event !== 'notificationInstall')) throw new Error(`unexpected pending notifications ${JSON.stringify(pending)}`);
        const acked = installNotifications(server.inventory.db, iccid!, eid) > 0;
        if (onCard.length === 1 && pending.length === 0 && !acked) throw new Error('profile installed, notification neither pending nor received');

        // retry
        if (onCard.length === 0) {
          const r = await download(card, server.address, matchingId, ciCerts);
          if (r.iccid !== iccid || !r.notificationSent) throw new Error(`retry: ${r.iccid}, notificationSent ${r.notificationSent}`);
        } else if (pending.length > 0) {
          await flushNotifications(card, server.address, ciCerts);
        }
        await refused(download(card, server.address, matchingId, ciCerts));
        const final = await cardIccids(card);
        if (final.join() !== iccid) throw new Error(`card ends with [${final.join()}]`);
        if ((await pendingCount(card)) !== 0) throw new Error('notifications left pending');
        if (server.inventory.profileState(iccid!) !== 'installed') throw new Error(`server: ${server.inventory.profileState(iccid!)}`);
        if (installNotifications(server.inventory.db, iccid!, eid) !== 1) throw new Error('install notification not received exactly once');
        checkInventory(server.inventory.db);
        return { killAt, killed, profileAfterKill: onCard.length === 1, pendingAfterKill: pending.length };
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
      } finally {
        card?.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it(`${LPA_RUNS} runs, killed at a random command APDU (seed ${SEED})`, async () => {
      expect(apduTotal).toBeGreaterThan(5);
      const t0 = performance.now();
      const installedBefore = new Set<string>();
      const results = await pool(
        Array.from({ length: LPA_RUNS }, (_, i) => () => lpaRun(i)),
        PARALLEL,
      );
      const secs = (performance.now() - t0) / 1000;
      console.log(
        `restart (b): ${results.length} runs in ${secs.toFixed(1)} s, ${PARALLEL} at a time; ${apduTotal} command APDUs per download; ` +
          `killed ${results.filter((r) => r.killed).length}, profile already on the card after the kill ${results.filter((r) => r.profileAfterKill).length} ` +
          `(notification pending ${results.filter((r) => r.pendingAfterKill > 0).length})`,
      );
      expect(results).toHaveLength(LPA_RUNS);
      expect(results.filter((r) => r.killed).length).toBeGreaterThan(LPA_RUNS / 2);
      for (const p of checkInventory(server.inventory.db, installedBefore)) {
        if (p.state === 'installed') installedBefore.add(p.iccid);
      }
      expect(installedBefore.size).toBe(LPA_RUNS + 1);
    }, 120_000);
  });
});
