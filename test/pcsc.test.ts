/**
 * The software eUICC through REAL pcscd + vsmartcard-vpcd, driven by a real PC/SC client (`scriptor`
 * from pcsc-tools): `esim card serve` connects the card to the vpcd driver, scriptor opens a logical
 * channel, selects ISD-R, reads the EID (GetEID BF3E) and the profile list (GetProfilesInfo BF2D), and
 * closes the channel.
 *
 * pcscd: when none is running, the test starts its own (`pcscd --foreground --config <tmp dir>`, root
 * needed for /run/pcscd) with a vpcd reader on a free port, so it does not depend on the system
 * configuration; it also restarts it once to check that `card serve` reconnects. When a pcscd is already
 * running, the test uses it and its configured vpcd port (/etc/reader.conf.d/vpcd, default 35963).
 *
 * Skipped with a visible reason when pcscd, the vpcd driver or scriptor is missing (or pcscd cannot be
 * started); failing instead when ESIM_REQUIRE_SYSTEM_TESTS=1 (.ci/run installs pcscd, vsmartcard-vpcd
 * and pcsc-tools).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity } from '../src/euicc/identity.js';
import { decodeProfileInfoListResponse } from '../src/asn1/sgp22/profiles.js';
import { decodeIccid } from '../src/util/bcd.js';
import { fromHex } from '../src/util/hex.js';
import { REQUIRE_SYSTEM_TESTS } from './support/reference.js';
import { installTestProfile } from './support/stored-profiles.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PCSCD_SOCKET = '/run/pcscd/pcscd.comm';
const VPCD_DRIVER_CANDIDATES = [
  '/usr/lib/pcsc/drivers/serial/libifdvpcd.so',
  '/usr/lib64/pcsc/drivers/serial/libifdvpcd.so',
  '/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so',
];

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

function socketAlive(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolveAlive) => {
    if (!existsSync(path)) return resolveAlive(false);
    const s = netConnect(path);
    const t = setTimeout(() => {
      s.destroy();
      resolveAlive(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolveAlive(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolveAlive(false);
    });
  });
}

/** The vpcd port of the system configuration (DEVICENAME /dev/null:0x8C7B → 35963). */
function systemVpcdPort(): number {
  try {
    for (const f of readdirSync('/etc/reader.conf.d')) {
      const text = readFileSync(join('/etc/reader.conf.d', f), 'utf8');
      if (!/libifdvpcd/.test(text)) continue;
      const m = /^\s*DEVICENAME\s+\S*?:(0x[0-9a-fA-F]+|\d+)\s*$/m.exec(text);
      if (m) return Number(m[1]);
    }
  } catch {
    // fall through to the default
  }
  return 35963;
}

/** A TCP port p where p and p+1 are free on 127.0.0.1 (vpcd opens two slots: p and p+1). */
async function freePortPair(): Promise<number> {
  const tryBind = (port: number): Promise<boolean> =>
    new Promise((r) => {
      const srv = createServer();
      srv.once('error', () => r(false));
      srv.listen(port, '0.0.0.0', () => srv.close(() => r(true)));
    });
  for (let i = 0; i < 50; i++) {
    const p = 20000 + 2 * Math.floor(Math.random() * 10000);
    if ((await tryBind(p)) && (await tryBind(p + 1))) return p;
  }
  throw new Error('no free port pair for vpcd');
}

async function waitFor(what: string, timeoutMs: number, cond: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timeout (${timeoutMs} ms) waiting for ${what}`);
}

async function stopProcess(p: ChildProcess | undefined, timeoutMs = 5000): Promise<number | null> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** scriptor output → the response APDUs in order (hex, upper case, no spaces). */
function parseScriptor(out: string): string[] {
  const responses: string[] = [];
  let cur: string | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('< ')) cur = '';
    if (cur === undefined) continue;
    const body = line.startsWith('< ') ? line.slice(2) : line;
    const i = body.indexOf(' : ');
    cur += (i >= 0 ? body.slice(0, i) : body).replace(/\s+/g, '');
    if (i >= 0) {
      responses.push(cur.toUpperCase());
      cur = undefined;
    }
  }
  return responses;
}

// ------------------------------------------------------------------------------------- prerequisites

const pcscdBin = which('pcscd');
const scriptorBin = which('scriptor');
const vpcdDriver = VPCD_DRIVER_CANDIDATES.find((p) => existsSync(p));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const missing = [
  pcscdBin ? undefined : 'pcscd',
  vpcdDriver ? undefined : 'the vsmartcard-vpcd driver (libifdvpcd.so)',
  scriptorBin ? undefined : 'scriptor (pcsc-tools)',
].filter((x): x is string => x !== undefined);
// pcscd already running (any user) or startable by us (root)?
const systemPcscd = existsSync(PCSCD_SOCKET);
if (missing.length === 0 && !systemPcscd && !isRoot) missing.push('a running pcscd (or root, to start one)');
const SKIP_REASON = missing.length > 0 ? `missing ${missing.join(', ')}; apt-get install pcscd vsmartcard-vpcd pcsc-tools` : undefined;

function describePcsc(name: string, fn: () => void): void {
  if (!SKIP_REASON) describe(name, fn);
  else if (REQUIRE_SYSTEM_TESTS) {
    describe(name, () => {
      it('needs pcscd + vsmartcard-vpcd + scriptor', () => {
        throw new Error(`${SKIP_REASON}; ESIM_REQUIRE_SYSTEM_TESTS=1 forbids skipping`);
      });
    });
  } else describe.skip(`${name} [skipped: ${SKIP_REASON}]`, fn);
}

// ------------------------------------------------------------------------------------- the test

const ISDR = 'A0000005591010FFFFFFFF8900000100';
const ICCIDS = ['8949449999999990023', '89000123456789012341'];

describePcsc('software eUICC through pcscd + vsmartcard-vpcd (scriptor)', () => {
  let dir = '';
  let pcscd: ChildProcess | undefined;
  let serve: ChildProcess | undefined;
  let serveLog = '';
  let pcscdLog = '';
  let vpcdPort = 0;
  let ownPcscd = false;
  let readerName = 'Virtual PCD 00 00';
  let eid = '';
  const confDir = (): string => join(dir, 'reader.conf.d');

  async function startPcscd(): Promise<void> {
    pcscd = spawn(pcscdBin!, ['--foreground', '--config', confDir(), '--error'], { stdio: ['ignore', 'pipe', 'pipe'] });
    pcscd.stdout?.on('data', (d: Buffer) => (pcscdLog += d.toString()));
    pcscd.stderr?.on('data', (d: Buffer) => (pcscdLog += d.toString()));
    await waitFor(`pcscd socket ${PCSCD_SOCKET}\n${pcscdLog}`, 15_000, () => socketAlive(PCSCD_SOCKET));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-'));
    // the card: created here, one profile installed through the store, then served by the CLI
    const statePath = join(dir, 'card.db');
    const { identity } = createIdentity({});
    const card = SoftEuicc.create(statePath, { identity });
    for (const iccid of ICCIDS) installTestProfile(card.runtime, { iccid, profileName: `pcsc ${iccid.slice(-4)}` });
    eid = card.eid;
    card.close();

    ownPcscd = !(await socketAlive(PCSCD_SOCKET));
    if (ownPcscd) {
      vpcdPort = await freePortPair();
      mkdirSync(confDir());
      writeFileSync(
        join(confDir(), 'vpcd'),
        `FRIENDLYNAME "esimkit vpcd"\nDEVICENAME /dev/null:${vpcdPort}\nLIBPATH ${vpcdDriver}\nCHANNELID ${vpcdPort}\n`,
      );
      readerName = 'esimkit vpcd 00 00';
      await startPcscd();
    } else {
      vpcdPort = systemVpcdPort();
      readerName = 'Virtual PCD 00 00';
    }

    serve = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'card', 'serve', '--state', statePath, '--vpcd', `127.0.0.1:${vpcdPort}`],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    serve.stdout?.on('data', (d: Buffer) => (serveLog += d.toString()));
    serve.stderr?.on('data', (d: Buffer) => (serveLog += d.toString()));
    await waitFor(`card serve to connect to vpcd:\n${serveLog}`, 30_000, () => /connected to vpcd/.test(serveLog));
  }, 90_000);

  afterAll(async () => {
    await stopProcess(serve);
    if (ownPcscd) await stopProcess(pcscd);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** Run a scriptor script; retry while pcscd has not noticed the card yet. */
  async function scriptor(script: string): Promise<string[]> {
    const file = join(dir, `script-${Date.now()}.txt`);
    writeFileSync(file, script);
    let last = '';
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      const r = spawnSync(scriptorBin!, ['-r', readerName, file], { encoding: 'utf8', timeout: 20_000 });
      last = `${r.stdout ?? ''}${r.stderr ?? ''}`;
      if (r.status === 0 && parseScriptor(r.stdout ?? '').length > 0) return parseScriptor(r.stdout ?? '');
      await new Promise((res) => setTimeout(res, 500));
    }
    throw new Error(`scriptor failed:\n${last}\ncard serve log:\n${serveLog}\npcscd log:\n${pcscdLog}`);
  }

  const SCRIPT = [
    '# open a logical channel, select ISD-R on it',
    '00 70 00 00 01',
    `01 A4 04 00 10 ${ISDR.match(/../g)!.join(' ')} 00`,
    '# GetEID (BF3E with tag list 5A) as STORE DATA, then GET RESPONSE',
    '81 E2 91 00 06 BF 3E 03 5C 01 5A',
    '01 C0 00 00 00',
    '# GetProfilesInfo (BF2D, all profiles)',
    '81 E2 91 00 03 BF 2D 00',
    '01 C0 00 00 00',
    '# close the channel',
    '00 70 80 01',
    '',
  ].join('\n');

  function check(responses: string[]): void {
    expect(responses.length).toBe(7);
    const [open, select, eidSw, eidRsp, listSw, listRsp, close] = responses as [string, string, string, string, string, string, string];
    expect(open).toBe('019000');
    // SELECT with Le 00: the FCI template (6F) naming ISD-R, 9000
    expect(select.slice(0, 2)).toBe('6F');
    expect(select).toContain(`8410${ISDR}`);
    expect(select.endsWith('9000')).toBe(true);
    expect(eidSw).toBe('6115');
    expect(eidRsp).toBe(`BF3E125A10${eid}9000`);
    expect(listSw.slice(0, 2)).toBe('61');
    expect(listRsp.endsWith('9000')).toBe(true);
    const list = decodeProfileInfoListResponse(fromHex(listRsp.slice(0, -4)));
    if (list.kind !== 'profileInfoListOk') throw new Error(`GetProfilesInfo error ${list.profileInfoListError}`);
    expect(list.profileInfoListOk.map((p) => (p.iccid ? decodeIccid(p.iccid) : '?'))).toEqual(ICCIDS);
    expect(close).toBe('9000');
  }

  it('a PC/SC client opens a channel, selects ISD-R, reads the EID and lists the profiles', async () => {
    check(await scriptor(SCRIPT));
    expect(serveLog).toMatch(new RegExp(`EID ${eid}`));
  }, 60_000);

  it('card serve reconnects when pcscd restarts', async () => {
    if (!ownPcscd) {
      // a system pcscd is not ours to restart; the reconnect logic is covered by the unit tests
      expect(await socketAlive(PCSCD_SOCKET)).toBe(true);
      return;
    }
    const connectsBefore = (serveLog.match(/connected to vpcd/g) ?? []).length;
    await stopProcess(pcscd);
    await waitFor('card serve to notice the disconnect', 15_000, () => /disconnected from vpcd/.test(serveLog));
    await startPcscd();
    await waitFor('card serve to reconnect', 30_000, () => (serveLog.match(/connected to vpcd/g) ?? []).length > connectsBefore);
    check(await scriptor(SCRIPT));
  }, 90_000);

  it('card serve exits cleanly on SIGTERM', async () => {
    const code = await stopProcess(serve, 10_000);
    expect(code).toBe(0);
    expect(serveLog).toMatch(/stopped/);
    serve = undefined;
  }, 20_000);

  it('scriptor output parser', () => {
    const out = '> 01 C0 00 00 00\n< BF 3E 12 5A 10 89 04 90 32 17 04 85 51 46 08 78 \n33 56 96 23 27 90 00 : Normal processing.\n> 00 70 80 01\n< 90 00 : Normal processing.\n';
    expect(parseScriptor(out)).toEqual(['BF3E125A108904903217048551460878335696232790 00'.replace(/\s/g, ''), '9000']);
  });
});
