/**
 * ESIM_HOME: where the service keeps its configuration and state, and the embedded default made on first
 * start (ensureHome).
 *
 * Layout (directories 0700, files with secrets 0600):
 *   slots.json        slots, trust, hosts, demo servers, OS-update source (docs/slots.md)
 *   service.db        ServiceStore (store.ts) + the caller registry
 *   shell.token       the shell identity's token (32 random bytes, base64url)
 *   esim.sock         the daemon's API socket; daemon.lock its lock
 *   pki/              CI, EUM (signs OS images), DPauth, DPpb, DPtls, DSauth, DStls (keys *.key.pem 0600)
 *   cards/slotN.db    the software eUICCs (SQLite, with their private keys: 0600)
 *   osu/              signed OS images (*.esos) for the software eUICCs' OsUpdateProvider
 *   demo/smdp.db      the demo SM-DP+ inventory (profiles hold keys: 0600); demo/smds.db the demo SM-DS events
 *   demo.json         { smdpAddress, smdsAddress, activationCodes: [...] } (0600: activation codes are secrets)
 *
 * ensureHome is idempotent (slots.json present → nothing changes) and crash-safe: the whole embedded default is
 * built in a temporary folder `.<name>.init-<pid>-<random>` beside the home and renamed onto it in one step, so
 * a killed process leaves either no home or a complete one; a temporary folder of a dead process is removed by
 * the next call. When the home already exists with other files in it but without slots.json (e.g. shell.token
 * made by readShellToken first), the default is built in `<home>/.init-*` under a lock file and moved in entry
 * by entry with slots.json last (the commit point); entries of an earlier interrupted attempt are moved aside to
 * `<home>/.replaced-<time>/`, never deleted. Nothing is printed.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { buildProfilePackage } from '../asn1/saip.js';
import type { Curve } from '../crypto/ecdsa.js';
import { SoftEuicc } from '../euicc/card.js';
import { createIdentity } from '../euicc/identity.js';
import { SmdsEventStore } from '../smdp/es12.js';
import { SmdpInventory } from '../smdp/inventory.js';
import { loadOrCreateEum, loadOrCreatePki, loadOrCreateSmdsPki } from '../smdp/pki-store.js';
import { newToken } from './callers.js';
import { DEMO_ICON_COLOURS, demoIcon } from './demo-icon.js';
import { DIR_MODE, homePaths, pidAlive, SECRET_MODE, writePrivate, type HomePaths } from './home-paths.js';
import { buildDemoOsImage, OS_IMAGE_EXTENSION } from './osu.js';

// the light part (paths, shell token) lives in home-paths.ts; re-exported for every existing importer
export { defaultHome, homePaths, readShellToken, type HomePaths } from './home-paths.js';

/** The OS version of the demo image in home/osu (the cards ship with 1.0.0). */
export const DEMO_OS_VERSION = '1.1.0';
/** Slots of the embedded default. */
export const DEFAULT_SLOT_COUNT = 2;

// ------------------------------------------------------------------------------------------ helpers

function mkdirPrivate(path: string): void {
  mkdirSync(path, { recursive: true, mode: DIR_MODE });
  chmodSync(path, DIR_MODE);
}

function fsyncDir(path: string): void {
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not every platform can fsync a directory
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Temporary folders `<prefix><pid>-<random>` in `dir` left by dead processes (or older than an hour) are removed. */
function removeStaleTemps(dir: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const m = /^(\d+)-[0-9a-f]+$/.exec(n.slice(prefix.length));
    if (!m) continue;
    const path = join(dir, n);
    let old = false;
    try {
      old = Date.now() - statSync(path).mtimeMs > 3600_000;
    } catch {
      continue;
    }
    if (Number(m[1]) === process.pid || (!old && pidAlive(Number(m[1])))) continue;
    rmSync(path, { recursive: true, force: true });
  }
}

const PORT_SCRIPT = `
const net = require('node:net');
const want = Number(process.argv[1]);
const out = [];
let tries = 0;
function next() {
  if (out.length === want) { process.stdout.write(JSON.stringify(out)); return; }
  if (++tries > 500) { process.exit(3); }
  const p = 20000 + Math.floor(Math.random() * 12000);
  if (out.includes(p)) return next();
  const s = net.createServer();
  s.once('error', next);
  s.listen(p, '127.0.0.1', () => { out.push(p); s.close(next); });
}
next();
`;

/** TCP ports in use (any state, IPv4 and IPv6) from /proc/net (Linux); undefined elsewhere. */
function portsInUseFromProc(): Set<number> | undefined {
  const used = new Set<number>();
  let read = 0;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(f, 'latin1');
    } catch {
      continue;
    }
    read++;
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      const hex = local?.slice(local.lastIndexOf(':') + 1);
      if (hex && /^[0-9A-Fa-f]{4}$/.test(hex)) used.add(parseInt(hex, 16));
    }
  }
  return read > 0 ? used : undefined;
}

/**
 * `n` distinct TCP ports free on 127.0.0.1 now, from 20000-31999 (below Linux's ephemeral range, so that
 * outgoing connections do not take them later). ensureHome is synchronous: on Linux the ports in use are read
 * from /proc/net/tcp{,6}; elsewhere they are checked by binding in a short-lived child process; unchecked
 * random ports when neither works.
 */
export function pickFreePorts(n: number): number[] {
  const used = portsInUseFromProc();
  if (used) {
    const out = new Set<number>();
    for (let guard = 0; out.size < n && guard < 10_000; guard++) {
      const p = randomInt(20000, 32000);
      if (!used.has(p)) out.add(p);
    }
    if (out.size === n) return [...out];
  }
  const r = spawnSync(process.execPath, ['-e', PORT_SCRIPT, String(n)], {
    encoding: 'utf8',
    timeout: 10_000,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  if (r.status === 0) {
    try {
      const ports = JSON.parse(r.stdout) as unknown;
      if (Array.isArray(ports) && ports.length === n && ports.every((p) => Number.isInteger(p))) return ports as number[];
    } catch {
      // fall through
    }
  }
  const out = new Set<number>();
  while (out.size < n) out.add(randomInt(20000, 32000));
  return [...out];
}

// ------------------------------------------------------------------------------------------ demo content

/** Luhn check digit appended to `digits`. */
export function withLuhn(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits + String((10 - (sum % 10)) % 10);
}

function randomDigits(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(randomInt(10));
  return s;
}

export interface DemoContent {
  readonly smdpAddress: string;
  readonly smdsAddress: string;
  /** Free activation codes (`LPA:1$<smdp>$<matchingId>`). */
  readonly activationCodes: readonly string[];
  /** Per card EID: the ICCID of its default-SM-DP+ order, and of its SM-DS order with the event id (= matchingId). */
  readonly cards: readonly { readonly eid: string; readonly defaultSmdpIccid: string; readonly smdsIccid: string; readonly smdsEventId: string }[];
}

/**
 * Write the demo inventory (`smdpDb`) and SM-DS events (`smdsDb`) for the cards `eids` (demo.ts describes the
 * content). Returns what was created; writing demo.json is the caller's job.
 */
export function createDemoContent(o: {
  smdpDb: string;
  smdsDb: string;
  smdpAddress: string;
  smdsAddress: string;
  eids: readonly string[];
  freeCodes?: number;
}): DemoContent {
  // strictly increasing order timestamps: without a matchingId the SM-DP+ takes the oldest active order of
  // the EID, which must be the default-SM-DP+ order, not the one announced on the SM-DS
  let clock = Date.now();
  const inv = new SmdpInventory(o.smdpDb, { now: () => clock++ });
  const events = new SmdsEventStore(o.smdsDb);
  const prefix = `8999${randomDigits(5)}`; // 89 telecom, 99 test; a random issuer part per home
  let serial = 0;
  const icons = new Map<keyof typeof DEMO_ICON_COLOURS, Uint8Array>();
  const addProfile = (label: keyof typeof DEMO_ICON_COLOURS): string => {
    serial++;
    const iccid = withLuhn(`${prefix}${String(serial).padStart(9, '0')}`);
    const upp = buildProfilePackage({ iccid, profileType: 'esimkit demo', imsi: `00101${randomDigits(10)}`, spn: 'esimkit' });
    let icon = icons.get(label);
    if (!icon) icons.set(label, (icon = demoIcon(DEMO_ICON_COLOURS[label])));
    inv.addProfile(upp, {
      serviceProviderName: 'esimkit',
      profileName: `esimkit Demo ${serial} (${label})`,
      profileClass: 2,
      profileType: 'esimkit demo',
      iconType: 1, // png (SGP.22 IconType)
      icon,
    });
    return iccid;
  };
  try {
    const cards: DemoContent['cards'][number][] = [];
    for (const eid of o.eids) {
      const defaultSmdpIccid = addProfile('default SM-DP+');
      inv.createOrder({ iccid: defaultSmdpIccid, eid, matchingId: '' });
      const smdsIccid = addProfile('SM-DS');
      const { matchingId } = inv.createOrder({ iccid: smdsIccid, eid });
      events.register({ eid, eventId: matchingId, rspServerAddress: o.smdpAddress });
      cards.push({ eid, defaultSmdpIccid, smdsIccid, smdsEventId: matchingId });
    }
    const activationCodes: string[] = [];
    for (let i = 0; i < (o.freeCodes ?? 3); i++) {
      const { matchingId } = inv.createOrder({ iccid: addProfile('activation code') });
      activationCodes.push(`LPA:1$${o.smdpAddress}$${matchingId}`);
    }
    return { smdpAddress: o.smdpAddress, smdsAddress: o.smdsAddress, activationCodes, cards };
  } finally {
    inv.close();
    events.close();
  }
}

// ------------------------------------------------------------------------------------------ the default

/** Build the whole embedded default into the empty folder `dir` (slots.json written last). */
function buildDefault(dir: string, curve: Curve): void {
  const p = homePaths(dir);
  const [dpPort, dsPort, dashboardPort] = pickFreePorts(3) as [number, number, number];
  const smdpAddress = `localhost:${dpPort}`;
  const smdsAddress = `localhost:${dsPort}`;
  for (const d of [p.pkiDir, p.cardsDir, p.osuDir, p.demoDir]) mkdirPrivate(d);

  const { ci } = loadOrCreatePki(p.pkiDir, smdpAddress, curve);
  loadOrCreateSmdsPki(p.pkiDir, smdsAddress);
  const eum = loadOrCreateEum(p.pkiDir);

  const eids: string[] = [];
  for (let i = 0; i < DEFAULT_SLOT_COUNT; i++) {
    const { identity } = createIdentity({ curve, ci, eum });
    const card = SoftEuicc.create(join(p.cardsDir, `slot${i}.db`), { identity, defaultDpAddress: smdpAddress, rootDsAddress: smdsAddress });
    card.close();
    eids.push(identity.eid);
  }

  const demo = createDemoContent({ smdpDb: join(p.demoDir, 'smdp.db'), smdsDb: join(p.demoDir, 'smds.db'), smdpAddress, smdsAddress, eids });
  for (const f of readdirSync(p.demoDir)) chmodSync(join(p.demoDir, f), SECRET_MODE);
  writePrivate(p.demoFile, `${JSON.stringify({ smdpAddress, smdsAddress, activationCodes: demo.activationCodes }, null, 2)}\n`);

  writeFileSync(join(p.osuDir, `esimkit-os-${DEMO_OS_VERSION}${OS_IMAGE_EXTENSION}`), buildDemoOsImage(eum.privateKey, DEMO_OS_VERSION));
  writePrivate(p.shellToken, `${newToken()}\n`);

  const slots = {
    version: 1,
    slots: Array.from({ length: DEFAULT_SLOT_COUNT }, (_, i) => ({
      slotId: i,
      transport: 'virtual',
      state: `cards/slot${i}.db`,
      ports: 1,
      removable: false,
    })),
    trust: { ciCertificates: ['pki/ci.pem'] },
    hosts: { localhost: '127.0.0.1' },
    demo: {
      smdp: { address: smdpAddress, port: dpPort, db: 'demo/smdp.db' },
      smds: { address: smdsAddress, port: dsPort, db: 'demo/smds.db' },
    },
    osu: { dir: 'osu' },
    dashboardPort,
  };
  writePrivate(p.slotsFile, `${JSON.stringify(slots, null, 2)}\n`);
}

function isEmptyDir(path: string): boolean {
  try {
    return statSync(path).isDirectory() && readdirSync(path).length === 0;
  } catch {
    return false;
  }
}

const INIT_LOCK = '.init.lock';
const LOCK_WAIT_MS = 60_000;

/** Take `<home>/.init.lock`; false when another live process finished the home meanwhile. */
function lockInit(home: string, slotsFile: string): boolean {
  const lock = join(home, INIT_LOCK);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', SECRET_MODE);
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (existsSync(slotsFile)) return false;
    let holder = NaN;
    let ageMs = 0;
    try {
      holder = Number(readFileSync(lock, 'utf8').trim());
      ageMs = Date.now() - statSync(lock).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    // an empty lock file is one being written: its holder is alive unless it stays empty for 10 s
    const stale = Number.isNaN(holder) || holder === 0 ? ageMs > 10_000 : !pidAlive(holder) || holder === process.pid;
    if (stale) {
      try {
        unlinkSync(lock);
      } catch {
        /* someone else removed it */
      }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${home} is being created by process ${holder} (lock ${lock})`);
    sleepSync(50);
  }
}

/** First start: creates the embedded default (idempotent; a second call changes nothing). Crash-safe: built in a temp dir then renamed. */
export function ensureHome(home: string, opts: { curve?: 'P-256' | 'brainpoolP256r1' } = {}): { created: boolean; paths: HomePaths } {
  const paths = homePaths(home);
  if (existsSync(paths.slotsFile)) return { created: false, paths };
  const curve: Curve = opts.curve ?? 'P-256';
  const abs = paths.home;
  const parent = dirname(abs);
  mkdirSync(parent, { recursive: true });
  const tempPrefix = `.${basename(abs)}.init-`;
  removeStaleTemps(parent, tempPrefix);

  if (!existsSync(abs) || isEmptyDir(abs)) {
    const tmp = join(parent, `${tempPrefix}${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(tmp, { mode: DIR_MODE });
    try {
      chmodSync(tmp, DIR_MODE);
      buildDefault(tmp, curve);
      fsyncDir(tmp);
      try {
        renameSync(tmp, abs); // atomic; replaces an empty folder, fails on a non-empty one
      } catch (e) {
        if (existsSync(paths.slotsFile)) {
          rmSync(tmp, { recursive: true, force: true });
          return { created: false, paths }; // another process won the race
        }
        throw e;
      }
      fsyncDir(parent);
      return { created: true, paths };
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  // the home exists with other files (shell.token, service.db, leftovers) but no slots.json
  if (!lockInit(abs, paths.slotsFile)) return { created: false, paths };
  try {
    if (existsSync(paths.slotsFile)) return { created: false, paths };
    chmodSync(abs, DIR_MODE);
    removeStaleTemps(abs, '.init-');
    const tmp = join(abs, `.init-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(tmp, { mode: DIR_MODE });
    try {
      buildDefault(tmp, curve);
      let aside: string | undefined;
      for (const name of readdirSync(tmp)) {
        if (name === 'slots.json') continue;
        const target = join(abs, name);
        if (existsSync(target)) {
          if (name === 'shell.token') continue; // a token already handed out stays valid
          aside ??= join(abs, `.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`);
          mkdirPrivate(aside);
          renameSync(target, join(aside, name));
        }
        renameSync(join(tmp, name), target);
      }
      fsyncDir(abs);
      renameSync(join(tmp, 'slots.json'), paths.slotsFile); // the commit point
      fsyncDir(abs);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return { created: true, paths };
  } finally {
    try {
      unlinkSync(join(abs, INIT_LOCK));
    } catch {
      /* already gone */
    }
  }
}
