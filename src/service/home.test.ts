import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SoftEuicc } from '../euicc/card.js';
import { parseOsImage } from '../euicc/osu.js';
import { parseActivationCode } from '../asn1/activation-code.js';
import { bundledChildEntry } from '../../test/support/child-bundle.js';
import { DEMO_OS_VERSION, defaultHome, ensureHome, homePaths, pickFreePorts, readShellToken, withLuhn } from './home.js';
import { loadServiceConfig } from './slots.js';
import { openServiceStore } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'esimkit-home-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newHome = (): string => join(root, `h${n++}`, 'home');

const mode = (p: string): number => statSync(p).mode & 0o777;

/** Every file and folder below `dir` with its mode and (for files) mtime and size. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      out[p.slice(dir.length)] = st.isDirectory() ? `dir ${(st.mode & 0o777).toString(8)}` : `${(st.mode & 0o777).toString(8)} ${st.size} ${st.mtimeMs}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

function eidsOf(home: string): string[] {
  return [0, 1].map((i) => {
    const c = SoftEuicc.open(join(home, 'cards', `slot${i}.db`));
    try {
      return c.eid;
    } finally {
      c.close();
    }
  });
}

/** The home is complete: slots.json loads, both cards open, demo files exist. */
function assertComplete(home: string): void {
  const store = openServiceStore(':memory:');
  try {
    const cfg = loadServiceConfig(home, store);
    expect(cfg.slots.map((s) => s.kind)).toEqual(['virtual', 'virtual']);
    expect(cfg.trust.ciCertificates).toHaveLength(1);
    expect(cfg.demo?.smdp.address).toMatch(/^localhost:\d+$/);
  } finally {
    store.close();
  }
  expect(eidsOf(home).every((e) => /^\d{32}$/.test(e))).toBe(true);
  const demo = JSON.parse(readFileSync(join(home, 'demo.json'), 'utf8')) as { activationCodes: string[] };
  expect(demo.activationCodes.length).toBeGreaterThanOrEqual(3);
}

describe('homePaths / defaultHome', () => {
  it('names every file of the home', () => {
    const p = homePaths('/x/y');
    expect(p).toMatchObject({
      home: '/x/y',
      slotsFile: '/x/y/slots.json',
      serviceDb: '/x/y/service.db',
      socket: '/x/y/esim.sock',
      shellToken: '/x/y/shell.token',
      lock: '/x/y/daemon.lock',
      pkiDir: '/x/y/pki',
      osuDir: '/x/y/osu',
      demoFile: '/x/y/demo.json',
    });
  });

  it('defaultHome is ESIM_HOME, else ~/.esimkit', () => {
    const old = process.env['ESIM_HOME'];
    try {
      process.env['ESIM_HOME'] = '/some/where';
      expect(defaultHome()).toBe('/some/where');
      delete process.env['ESIM_HOME'];
      expect(defaultHome().endsWith('/.esimkit')).toBe(true);
    } finally {
      if (old === undefined) delete process.env['ESIM_HOME'];
      else process.env['ESIM_HOME'] = old;
    }
  });

  it('pickFreePorts: distinct ports of 20000-31999 that can be bound now', async () => {
    const ports = pickFreePorts(5);
    expect(new Set(ports).size).toBe(5);
    const servers: Server[] = [];
    try {
      for (const p of ports) {
        expect(p).toBeGreaterThanOrEqual(20000);
        expect(p).toBeLessThan(32000);
        const s = createServer();
        servers.push(s);
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(p, '127.0.0.1', () => resolve());
        });
      }
    } finally {
      for (const s of servers) s.close();
    }
  });

  it('withLuhn appends the Luhn check digit', () => {
    expect(withLuhn('7992739871')).toBe('79927398713');
    expect(withLuhn('894944999999999004')).toBe('8949449999999990049'); // ICCID of src/asn1 tests
  });
});

/** A bundled child: prints "ready", runs ensureHome(argv[2]), prints {"created":...}. */
async function childEntry(): Promise<Awaited<ReturnType<typeof bundledChildEntry>>> {
  const dir = mkdtempSync(join(root, 'child-'));
  const entry = join(dir, 'child.ts');
  const homeTs = fileURLToPath(new URL('./home.ts', import.meta.url));
  writeFileSync(
    entry,
    `import { ensureHome } from ${JSON.stringify(homeTs)};\nprocess.stdout.write('ready\\n');\nconst r = ensureHome(process.argv[2]!);\nprocess.stdout.write(JSON.stringify({ created: r.created }) + '\\n');\n`,
  );
  return bundledChildEntry(entry, { prefix: 'esimkit-home-child-' });
}

describe('ensureHome', () => {
  it('creates the embedded default once; a second call changes nothing (same EIDs, same files)', () => {
    const home = newHome();
    const first = ensureHome(home);
    expect(first.created).toBe(true);
    expect(first.paths.home).toBe(home);
    assertComplete(home);
    const eids = eidsOf(home);
    expect(new Set(eids).size).toBe(2);
    const before = snapshot(home);
    const second = ensureHome(home);
    expect(second.created).toBe(false);
    expect(snapshot(home)).toEqual(before);
    expect(eidsOf(home)).toEqual(eids);
    // nothing left beside it
    expect(readdirSync(dirname(home))).toEqual(['home']);
  });

  it('secret files are 0600 and folders 0700', () => {
    const home = newHome();
    ensureHome(home);
    expect(mode(home)).toBe(0o700);
    for (const d of ['pki', 'cards', 'osu', 'demo']) expect(mode(join(home, d))).toBe(0o700);
    for (const f of ['slots.json', 'demo.json', 'shell.token', 'cards/slot0.db', 'cards/slot1.db', 'demo/smdp.db', 'demo/smds.db']) {
      expect(mode(join(home, f)), f).toBe(0o600);
    }
    const keys = readdirSync(join(home, 'pki')).filter((f) => f.endsWith('.key.pem'));
    expect(keys.sort()).toEqual(['ci.key.pem', 'dpauth.key.pem', 'dppb.key.pem', 'dptls.key.pem', 'dsauth.key.pem', 'dstls.key.pem', 'eum.key.pem']);
    for (const k of keys) expect(mode(join(home, 'pki', k)), k).toBe(0o600);
  });

  it('the content: cards trust the home CI and know the demo servers; an OS image newer than the cards', () => {
    const home = newHome();
    ensureHome(home);
    const slots = JSON.parse(readFileSync(join(home, 'slots.json'), 'utf8')) as {
      demo: { smdp: { address: string; port: number }; smds: { address: string; port: number } };
      dashboardPort: number;
    };
    const demo = JSON.parse(readFileSync(join(home, 'demo.json'), 'utf8')) as { smdpAddress: string; smdsAddress: string; activationCodes: string[] };
    expect(demo.smdpAddress).toBe(slots.demo.smdp.address);
    expect(demo.smdsAddress).toBe(slots.demo.smds.address);
    expect(slots.demo.smdp.address).toBe(`localhost:${slots.demo.smdp.port}`);
    expect(new Set([slots.demo.smdp.port, slots.demo.smds.port, slots.dashboardPort]).size).toBe(3);
    for (const ac of demo.activationCodes) expect(parseActivationCode(ac)).toMatchObject({ smdpAddress: demo.smdpAddress, ccRequired: false });
    const ciPem = readFileSync(join(home, 'pki', 'ci.pem'), 'latin1');
    const card = SoftEuicc.open(join(home, 'cards', 'slot0.db'));
    try {
      expect(card.runtime.store.getMetaString('defaultDpAddress')).toBe(demo.smdpAddress);
      expect(card.runtime.store.getMetaString('rootDsAddress')).toBe(demo.smdsAddress);
      expect(card.runtime.identity.trustedCis).toHaveLength(1);
      expect(Buffer.from(card.runtime.identity.trustedCis[0]!.der).toString('base64')).toBe(ciPem.replace(/-----[^-]+-----|\s/g, ''));
      expect(card.runtime.firmwareVersion()).toBe('1.0.0');
    } finally {
      card.close();
    }
    const images = readdirSync(join(home, 'osu'));
    expect(images).toEqual([`esimkit-os-${DEMO_OS_VERSION}.esos`]);
    expect(parseOsImage(new Uint8Array(readFileSync(join(home, 'osu', images[0]!)))).header.version).toEqual([1, 1, 0]);
  });

  it('a half-created temporary folder of a dead process is ignored and removed', () => {
    const home = newHome();
    const parent = dirname(home);
    mkdirSync(parent, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: its pid is not alive
    const stale = join(parent, `.home.init-${dead}-abcdef`);
    mkdirSync(join(stale, 'cards'), { recursive: true });
    writeFileSync(join(stale, 'cards', 'slot0.db'), 'half a card');
    writeFileSync(join(stale, 'slots.json'), '{"version": 1, "slots": [');
    const other = join(parent, 'unrelated.init-1-aa'); // not ours: untouched
    mkdirSync(other);
    expect(ensureHome(home).created).toBe(true);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(other)).toBe(true);
    assertComplete(home);
  });

  it('a home folder that already holds other files (shell.token, service.db) is completed in place', () => {
    const home = newHome();
    const token = readShellToken(home); // creates the folder and the token
    writeFileSync(join(home, 'service.db'), '');
    mkdirSync(join(home, 'cards')); // leftover of an interrupted attempt
    writeFileSync(join(home, 'cards', 'slot0.db'), 'garbage');
    expect(ensureHome(home).created).toBe(true);
    assertComplete(home);
    expect(readShellToken(home)).toBe(token); // a token already handed out stays valid
    const aside = readdirSync(home).filter((f) => f.startsWith('.replaced-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(home, aside[0]!, 'cards', 'slot0.db'), 'utf8')).toBe('garbage'); // moved aside, not deleted
    expect(readdirSync(home).filter((f) => f.startsWith('.init'))).toEqual([]);
    expect(mode(home)).toBe(0o700);
    expect(ensureHome(home).created).toBe(false);
  });

  it('two processes creating the same home at once: one creates it, the other sees it done', async () => {
    const child = await childEntry();
    try {
      for (let round = 0; round < 3; round++) {
        const home = newHome();
        if (round === 1) mkdirSync(home, { recursive: true }); // an existing empty folder: renamed over
        if (round === 2) readShellToken(home); // a folder with a file: built inside under the lock
        const run = (): Promise<string> =>
          new Promise((resolve, reject) => {
            const p = spawn(process.execPath, [...child.args, home], { stdio: ['ignore', 'pipe', 'inherit'] });
            let out = '';
            p.stdout.on('data', (d: Buffer) => (out += d.toString()));
            p.once('error', reject);
            p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}`))));
          });
        const outs = await Promise.all([run(), run(), run()]);
        const created = outs.map((o) => (JSON.parse(o.split('\n')[1]!) as { created: boolean }).created);
        expect(created.filter((c) => c)).toHaveLength(1);
        assertComplete(home);
        expect(readdirSync(dirname(home))).toEqual(['home']);
      }
    } finally {
      child.dispose();
    }
  });

  it('brainpoolP256r1: the whole PKI and the cards use that curve', () => {
    const home = newHome();
    ensureHome(home, { curve: 'brainpoolP256r1' });
    expect(JSON.parse(readFileSync(join(home, 'pki', 'pki.json'), 'utf8'))).toMatchObject({ curve: 'brainpoolP256r1', tlsHost: 'localhost' });
    const card = SoftEuicc.open(join(home, 'cards', 'slot1.db'));
    try {
      expect(card.runtime.identity.curve).toBe('brainpoolP256r1');
    } finally {
      card.close();
    }
  });

  it('a process killed while creating the home leaves no home or a complete one; the next call completes it', async () => {
    const dir = mkdtempSync(join(root, 'kill-'));
    const child = await childEntry();
    try {
      const outcomes: string[] = [];
      for (const delayMs of [0, 60, 150, 300, 5000]) {
        const home = join(dir, `home-${delayMs}`);
        const p = spawn(process.execPath, [...child.args, home], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        await new Promise<void>((r) => {
          p.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('ready')) r();
          });
          p.once('exit', () => r());
        });
        await new Promise<void>((r) => {
          const t = setTimeout(r, delayMs);
          p.once('exit', () => {
            clearTimeout(t);
            r();
          });
        });
        p.kill('SIGKILL');
        await exited;
        // killed state: no home at all, or a complete one — never a partial home
        if (existsSync(join(home, 'slots.json'))) {
          assertComplete(home);
          outcomes.push('complete');
        } else {
          expect(existsSync(home)).toBe(false);
          outcomes.push('absent');
        }
        const again = ensureHome(home);
        expect(again.created).toBe(outcomes[outcomes.length - 1] === 'absent');
        assertComplete(home);
        expect(readdirSync(dir).filter((f) => f.startsWith(`.home-${delayMs}.init-`))).toEqual([]);
      }
      expect(outcomes).toContain('absent');
      expect(outcomes[outcomes.length - 1]).toBe('complete'); // 5 s is plenty to finish
    } finally {
      child.dispose();
    }
  });
});

describe('readShellToken', () => {
  it('creates a 0600 token of 32 random bytes once and returns the same one after', () => {
    const home = newHome();
    const t = readShellToken(home);
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t, 'base64url')).toHaveLength(32);
    expect(mode(join(home, 'shell.token'))).toBe(0o600);
    expect(readShellToken(home)).toBe(t);
    expect(readdirSync(home)).toEqual(['shell.token']);
  });

  it('an empty token file is replaced by a fresh token', () => {
    const home = newHome();
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'shell.token'), '');
    const t = readShellToken(home);
    expect(t).toHaveLength(43);
    expect(readFileSync(join(home, 'shell.token'), 'utf8').trim()).toBe(t);
  });
});
