import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { VpcdFrameReader, vpcdFrame } from '../apdu/transports/vpcd.js';
import { SoftEuicc } from '../euicc/card.js';
import { parseOsImage } from '../euicc/osu.js';
import { privateKeyFromPem } from '../crypto/ecdsa.js';
import { parseCertificatePem } from '../crypto/x509.js';
import { verifyOsImage } from '../euicc/osu.js';
import { toHex } from '../util/hex.js';
import { describeWithReference, refPath } from '../../test/support/reference.js';
import { installTestProfile } from '../../test/support/stored-profiles.js';
import { parseBytes, parseHostPort } from './card.js';
import { runCli, type CliIo } from './main.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'esimkit-'));
  dirs.push(d);
  return d;
}

async function run(args: string[], signal?: AbortSignal): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (s) => (out += s), stderr: (s) => (err += s), ...(signal ? { signal } : {}) };
  const code = await runCli(args, io);
  return { code, out, err };
}

describe('esim card create / info', () => {
  it('creates a card with a generated PKI and shows it', async () => {
    const d = tmp();
    const state = join(d, 'card.db');
    const r = await run(['card', 'create', '--state', state, '--ports', '2', '--memory', '256K', '--default-smdp', 'smdp.example.com']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const eid = /EID\s+(\d{32})/.exec(r.out)?.[1];
    expect(eid).toMatch(/^89049032\d{24}$/);
    expect(existsSync(join(d, 'card.db.pki', 'eum.key.pem'))).toBe(true);
    expect(statSync(join(d, 'card.db.pki', 'eum.key.pem')).mode & 0o077).toBe(0);
    const info = await run(['card', 'info', '--state', state, '--json']);
    expect(info.code).toBe(0);
    const j = JSON.parse(info.out) as Record<string, unknown>;
    expect(j).toMatchObject({
      eid,
      firmwareVersion: '1.0.0',
      curve: 'P-256',
      ports: 2,
      totalMemory: 262144,
      freeMemory: 262144,
      defaultDpAddress: 'smdp.example.com',
      profiles: [],
    });
    // profiles show up with their names and the free memory shrinks
    const card = SoftEuicc.open(state);
    const p = installTestProfile(card.runtime, { iccid: '8949449999999990023', serviceProviderName: 'ACME', profileName: 'Travel', nickname: 'trip', state: 1, port: 1 });
    card.close();
    const text = await run(['card', 'info', '--state', state]);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`EID             ${eid}`);
    expect(text.out).toContain('firmware        1.0.0');
    expect(text.out).toContain(`memory          ${262144 - p.size} of 262144 bytes free`);
    expect(text.out).toContain('profiles        1');
    expect(text.out).toContain('8949449999999990023  enabled (port 1)  operational  ACME / Travel  "trip"');
  });

  it('creates a brainpool card with a given EID', async () => {
    const d = tmp();
    const state = join(d, 'brp.db');
    const eid = '89049032123451234512345678901235'; // SGP.26 test EID (valid check digits)
    const r = await run(['card', 'create', '--state', state, '--curve', 'brainpoolP256r1', '--eid', eid]);
    expect(r.code).toBe(0);
    const info = JSON.parse((await run(['card', 'info', '--state', state, '--json'])).out) as { eid: string; curve: string };
    expect(info).toMatchObject({ eid, curve: 'brainpoolP256r1' });
  });

  it('usage errors exit 2, failures exit 1, help exits 0', async () => {
    const d = tmp();
    const state = join(d, 'c.db');
    const usage: string[][] = [
      ['card', 'create'],
      ['card', 'create', '--state', state, '--curve', 'secp384r1'],
      ['card', 'create', '--state', state, '--eid', '1234'],
      ['card', 'create', '--state', state, '--eid', '89049032123451234512345678901234'], // bad check digits
      ['card', 'create', '--state', state, '--ports', '5'],
      ['card', 'create', '--state', state, '--memory', 'lots'],
      ['card', 'create', '--state', state, '--default-smdp', 'not a host'],
      ['card', 'serve', '--state', state, '--vpcd', 'host:notaport'],
      ['card', 'os-image', 'build', '--eum-key', 'k.pem', '--version', '1.2', '--out', 'x'],
      ['card', 'nosuchcommand'],
      ['card'],
    ];
    for (const args of usage) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.length, args.join(' ')).toBeGreaterThan(0);
    }
    expect(existsSync(state)).toBe(false);
    const missing = await run(['card', 'info', '--state', join(d, 'none.db')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no card state at/);
    expect((await run(['card', 'create', '--state', state])).code).toBe(0);
    const again = await run(['card', 'create', '--state', state]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists/);
    const junk = join(d, 'junk.db');
    writeFileSync(junk, 'not sqlite at all, definitely not');
    expect((await run(['card', 'info', '--state', junk])).code).toBe(1);
    const help = await run(['card', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Examples:\n\s+esim card create --state card.db/);
    for (const sub of [['card', 'serve'], ['card', 'info'], ['card', 'os-image', 'build'], ['card']]) {
      const h = await run([...sub, '--help']);
      expect(h.code).toBe(0);
      expect(h.out).toMatch(/Example/);
    }
  });

  it('parses host:port and byte sizes', () => {
    expect(parseHostPort('127.0.0.1:35963')).toEqual({ host: '127.0.0.1', port: 35963 });
    expect(parseHostPort('35964')).toEqual({ host: '127.0.0.1', port: 35964 });
    expect(parseHostPort('[::1]:1')).toEqual({ host: '::1', port: 1 });
    expect(() => parseHostPort('a:0')).toThrow();
    expect(() => parseHostPort(':5')).toThrow();
    expect(parseBytes('2M')).toBe(2 * 1024 * 1024);
    expect(parseBytes('512k')).toBe(512 * 1024);
    expect(parseBytes('1000')).toBe(1000);
    expect(() => parseBytes('0')).toThrow();
  });
});

describeWithReference('esim card create --sgp26', () => {
  for (const [curve, tag] of [
    ['P-256', 'NIST'],
    ['brainpoolP256r1', 'BRP'],
  ] as const) {
    it(`loads the SGP.26 test identity (${curve}) and signs OS images with SK_EUM`, async () => {
      const d = tmp();
      const state = join(d, 'sgp26.db');
      const r = await run(['card', 'create', '--state', state, '--sgp26', refPath('sgp26'), '--curve', curve]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      // EID of the SGP.26 test eUICC (reference README, sgp26/eUICC/)
      expect(r.out).toContain('EID      89049032123451234512345678901235');
      expect(r.out).toContain(`SK_EUM_ECDSA_${tag}.pem`);
      const img = join(d, 'os.img');
      const b = await run(['card', 'os-image', 'build', '--eum-key', refPath('sgp26', 'EUM', `SK_EUM_ECDSA_${tag}.pem`), '--version', '1.0.1', '--out', img]);
      expect(b.code).toBe(0);
      const a = await run(['card', 'os-image', 'apply', '--state', state, '--image', img]);
      expect(a.err).toBe('');
      expect(a.out).toBe('firmware 1.0.0 -> 1.0.1\n');
    });
  }

  it('refuses an EID that differs from the certificate (usage)', async () => {
    const d = tmp();
    const r = await run(['card', 'create', '--state', join(d, 'x.db'), '--sgp26', refPath('sgp26'), '--eid', '89049032123451234512345678901235'.replace(/35$/, '08')]);
    // either the check digits or the mismatch is reported; both are usage errors
    expect(r.code).toBe(2);
  });

  it('fails (exit 1) when the folder is not an SGP.26 folder', async () => {
    const r = await run(['card', 'create', '--state', join(tmp(), 'x.db'), '--sgp26', tmp()]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not found/);
  });
});

describe('esim card os-image', () => {
  it('builds a signed image and applies it through the card; downgrade and foreign key are refused', async () => {
    const d = tmp();
    const state = join(d, 'card.db');
    expect((await run(['card', 'create', '--state', state])).code).toBe(0);
    const key = join(d, 'card.db.pki', 'eum.key.pem');
    const img = join(d, 'os-1.2.3.img');
    const b = await run(['card', 'os-image', 'build', '--eum-key', key, '--version', '1.2.3', '--out', img]);
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/wrote .*os-1\.2\.3\.img: OS 1\.2\.3, 4204 bytes \(payload 4096 bytes, SHA-256 [0-9a-f]{64}\)/);
    const parsed = parseOsImage(new Uint8Array(readFileSync(img)));
    expect(parsed.header.version).toEqual([1, 2, 3]);
    const eumCert = parseCertificatePem(readFileSync(join(d, 'card.db.pki', 'eum.pem'), 'utf8'));
    expect(verifyOsImage(parsed, eumCert.subjectPublicKeyInfo.key!)).toBe(true);
    expect(privateKeyFromPem(readFileSync(key, 'utf8')).asymmetricKeyType).toBe('ec');
    // own payload
    const payload = join(d, 'payload.bin');
    writeFileSync(payload, new Uint8Array(10_000).fill(0xa5));
    const img2 = join(d, 'os-1.2.4.img');
    expect((await run(['card', 'os-image', 'build', '--eum-key', key, '--version', '1.2.4', '--out', img2, '--payload', payload])).code).toBe(0);
    expect(parseOsImage(new Uint8Array(readFileSync(img2))).header.payloadLength).toBe(10_000);

    const a = await run(['card', 'os-image', 'apply', '--state', state, '--image', img]);
    expect(a.code).toBe(0);
    expect(a.out).toBe('firmware 1.0.0 -> 1.2.3\n');
    expect(JSON.parse((await run(['card', 'info', '--state', state, '--json'])).out)).toMatchObject({ firmwareVersion: '1.2.3' });
    const same = await run(['card', 'os-image', 'apply', '--state', state, '--image', img]);
    expect(same.code).toBe(1);
    expect(same.err).toMatch(/6985/);
    expect((await run(['card', 'os-image', 'apply', '--state', state, '--image', img2])).out).toBe('firmware 1.2.3 -> 1.2.4\n');

    // another card's EUM key: refused with 6982
    const other = join(d, 'other.db');
    expect((await run(['card', 'create', '--state', other])).code).toBe(0);
    const foreign = join(d, 'foreign.img');
    expect((await run(['card', 'os-image', 'build', '--eum-key', join(d, 'other.db.pki', 'eum.key.pem'), '--version', '9.0.0', '--out', foreign])).code).toBe(0);
    const refused = await run(['card', 'os-image', 'apply', '--state', state, '--image', foreign]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/6982/);
    expect(JSON.parse((await run(['card', 'info', '--state', state, '--json'])).out)).toMatchObject({ firmwareVersion: '1.2.4' });

    // failures
    expect((await run(['card', 'os-image', 'build', '--eum-key', join(d, 'nokey.pem'), '--version', '1.0.0', '--out', join(d, 'x')])).code).toBe(1);
    expect((await run(['card', 'os-image', 'build', '--eum-key', payload, '--version', '1.0.0', '--out', join(d, 'x')])).code).toBe(1);
    expect((await run(['card', 'os-image', 'apply', '--state', state, '--image', payload])).code).toBe(1);
  });
});

/** A fake vpcd (pcscd side) on a random port. */
async function fakeVpcd(): Promise<{ port: number; server: Server; client: () => Promise<Socket>; close: () => Promise<void> }> {
  let resolveClient: ((s: Socket) => void) | undefined;
  let current: Socket | undefined;
  const server = createServer((s) => {
    current = s;
    s.on('error', () => undefined);
    resolveClient?.(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return {
    port: addr.port,
    server,
    client: () => (current ? Promise.resolve(current) : new Promise<Socket>((r) => (resolveClient = r))),
    close: async () => {
      current?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function exchange(s: Socket, msg: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolveMsg, reject) => {
    const reader = new VpcdFrameReader();
    const t = setTimeout(() => reject(new Error('no answer')), 5000);
    const onData = (chunk: Buffer): void => {
      const m = reader.push(new Uint8Array(chunk))[0];
      if (m) {
        clearTimeout(t);
        s.off('data', onData);
        resolveMsg(m);
      }
    };
    s.on('data', onData);
    s.write(vpcdFrame(msg));
  });
}

describe('esim card serve', () => {
  it('serves the card to vpcd until aborted (in process)', async () => {
    const d = tmp();
    const state = join(d, 'card.db');
    expect((await run(['card', 'create', '--state', state])).code).toBe(0);
    const vpcd = await fakeVpcd();
    try {
      const ac = new AbortController();
      const serving = run(['card', 'serve', '--state', state, '--vpcd', `127.0.0.1:${vpcd.port}`, '--trace'], ac.signal);
      const s = await vpcd.client();
      const atr = await exchange(s, Uint8Array.of(0x04));
      expect(atr[0]).toBe(0x3b);
      expect(toHex(await exchange(s, Uint8Array.of(0x00, 0x70, 0x00, 0x00, 0x01)))).toBe('019000');
      ac.abort();
      const r = await serving;
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/connected to vpcd 127\.0\.0\.1:\d+ \(EID \d{32}\)/);
      expect(r.out).toMatch(/> 0070000001 {2}< 019000/);
      expect(r.out).toMatch(/stopped\n$/);
      // the state file was closed: it opens again
      SoftEuicc.open(state).close();
    } finally {
      await vpcd.close();
    }
  });

  it('`esim card serve` as a process: logs the connection, exits 0 on SIGTERM', async () => {
    const d = tmp();
    const state = join(d, 'card.db');
    expect((await run(['card', 'create', '--state', state])).code).toBe(0);
    const vpcd = await fakeVpcd();
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'card', 'serve', '--state', state, '--vpcd', `127.0.0.1:${vpcd.port}`], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const s = await vpcd.client();
      expect(toHex(await exchange(s, Uint8Array.of(0x00, 0x70, 0x00, 0x00, 0x01)))).toBe('019000');
      const until = Date.now() + 10_000;
      while (!/connected to vpcd/.test(log) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(log).toMatch(/connected to vpcd/);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      expect(await exited).toBe(0);
      clearTimeout(timer);
      expect(log).toMatch(/stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await vpcd.close();
    }
  }, 60_000);
});
