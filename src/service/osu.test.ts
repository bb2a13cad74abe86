import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApduChannel } from '../apdu/channel.js';
import { encodeCommandApdu } from '../apdu/apdu.js';
import { privateKeyToPem } from '../crypto/ecdsa.js';
import { createDpTls } from '../crypto/pki.js';
import { buildOsImage, decodeOsuStatus, OSU_INS_STATUS } from '../euicc/osu.js';
import { loadOrCreateEum, loadPkiCi } from '../smdp/pki-store.js';
import { ensureHome, homePaths } from './home.js';
import { buildDemoOsImage, OSU_STATUS, softEuiccOsuProvider, type OsuProgress } from './osu.js';
import { loadServiceConfig, type ServiceConfig } from './slots.js';
import { openServiceStore, type ServiceStore } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'esimkit-osu-test-'));
const home = join(root, 'home');
let store: ServiceStore;
let cfg: ServiceConfig;

beforeAll(() => {
  ensureHome(home);
  store = openServiceStore(homePaths(home).serviceDb);
  cfg = loadServiceConfig(home, store);
});
afterAll(async () => {
  await cfg?.close?.();
  store?.close();
  rmSync(root, { recursive: true, force: true });
});

async function cardVersion(slot: number): Promise<string> {
  const t = await cfg.slots[slot]!.transport();
  return ApduChannel.with(t, {}, async (ch) => {
    const r = await ch.transceive(encodeCommandApdu({ cla: ch.cla(true), ins: OSU_INS_STATUS, p1: 0, p2: 0, le: 256 }));
    expect(r.sw).toBe(0x9000);
    return decodeOsuStatus(r.data).currentVersion;
  });
}

describe('softEuiccOsuProvider (home/osu, slot 0)', () => {
  it('updates the card with progress; the status is persisted and survives a store reopen', async () => {
    const osu = cfg.slots[0]!.osu!;
    expect(await osu.status()).toBe(OSU_STATUS.ALREADY_LATEST); // never ran
    expect(await cardVersion(0)).toBe('1.0.0');
    const progress: OsuProgress[] = [];
    let statusWhileRunning: number | undefined;
    const result = await osu.start((p) => {
      progress.push(p);
      if (statusWhileRunning === undefined) void osu.status().then((s) => (statusWhileRunning = s));
    });
    expect(result).toBe(OSU_STATUS.SUCCESSFUL);
    expect(statusWhileRunning).toBe(OSU_STATUS.IN_PROGRESS);
    expect(await cardVersion(0)).toBe('1.1.0');
    expect(progress[0]).toEqual({ done: 0, total: 4096, version: '1.1.0' });
    expect(progress[progress.length - 1]).toEqual({ done: 4096, total: 4096, version: '1.1.0' });
    expect(progress.length).toBeGreaterThan(10);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.done).toBeGreaterThan(progress[i - 1]!.done);
    expect(await osu.status()).toBe(OSU_STATUS.SUCCESSFUL);
    expect(store.getOsu(0)).toMatchObject({ status: 3, version: '1.1.0' });

    // a restart: new store, new config, new provider
    await cfg.close?.();
    store.close();
    store = openServiceStore(homePaths(home).serviceDb);
    cfg = loadServiceConfig(home, store);
    const again = cfg.slots[0]!.osu!;
    expect(await again.status()).toBe(OSU_STATUS.SUCCESSFUL);
    expect(await cardVersion(0)).toBe('1.1.0');
    // nothing newer now
    expect(await again.start()).toBe(OSU_STATUS.ALREADY_LATEST);
    expect(await again.status()).toBe(OSU_STATUS.ALREADY_LATEST);
    expect(store.getOsu(0)).toMatchObject({ status: 4, version: '1.1.0' });
    expect(await cfg.slots[1]!.osu!.status()).toBe(OSU_STATUS.ALREADY_LATEST); // slot 1 untouched
  });

  it('an image the card refuses (wrong signer) → FAILED, persisted; the card keeps its OS', async () => {
    const dir = join(root, 'bad-images');
    mkdirSync(dir, { recursive: true });
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    writeFileSync(join(dir, 'evil-9.0.0.esos'), buildOsImage({ eumKey: stranger, version: '9.0.0', payload: new Uint8Array(600).fill(7) }));
    writeFileSync(join(dir, 'not-an-image.esos'), 'hello');
    writeFileSync(join(dir, 'ignored.txt'), 'hello');
    const errors: string[] = [];
    const p = softEuiccOsuProvider({ slotId: 1, transport: () => cfg.slots[1]!.transport(), source: { dir }, store, onError: (m) => errors.push(m) });
    expect(await p.start()).toBe(OSU_STATUS.FAILED);
    expect(errors.join('\n')).toMatch(/9\.0\.0.*BEGIN answered 6982/);
    expect(await p.status()).toBe(OSU_STATUS.FAILED);
    expect(store.getOsu(1)).toMatchObject({ status: 2, version: '9.0.0' });
    expect(await cardVersion(1)).toBe('1.0.0');
    // the real image still works afterwards (no load left hanging on the card)
    expect(await cfg.slots[1]!.osu!.start()).toBe(OSU_STATUS.SUCCESSFUL);
    expect(await cardVersion(1)).toBe('1.1.0');
  });

  it('a restart during IN_PROGRESS: the card decides between SUCCESSFUL and FAILED', async () => {
    // slot 0's card runs 1.1.0 (first test): a crash after the COMMIT of 1.1.0 → SUCCESSFUL
    store.setOsu(0, { status: OSU_STATUS.IN_PROGRESS, version: '1.1.0' });
    const p0 = softEuiccOsuProvider({ slotId: 0, transport: () => cfg.slots[0]!.transport(), source: { dir: homePaths(home).osuDir }, store });
    expect(await p0.status()).toBe(OSU_STATUS.SUCCESSFUL);
    expect(store.getOsu(0)?.status).toBe(3);
    // a crash before the COMMIT of 1.5.0 → FAILED
    store.setOsu(0, { status: OSU_STATUS.IN_PROGRESS, version: '1.5.0' });
    expect(await p0.status()).toBe(OSU_STATUS.FAILED);
    expect(store.getOsu(0)).toMatchObject({ status: 2, version: '1.5.0' });
  });

  it('an update source that cannot be read → SERVICE_UNAVAILABLE, the persisted status stays', async () => {
    const before = store.getOsu(0);
    const p = softEuiccOsuProvider({ slotId: 0, transport: () => cfg.slots[0]!.transport(), source: { dir: join(root, 'no-such-dir') }, store });
    expect(await p.start()).toBe(OSU_STATUS.SERVICE_UNAVAILABLE);
    expect(store.getOsu(0)).toEqual(before);
    const none = softEuiccOsuProvider({ slotId: 0, transport: () => cfg.slots[0]!.transport(), source: {}, store });
    expect(await none.start()).toBe(OSU_STATUS.SERVICE_UNAVAILABLE);
  });
});

describe('softEuiccOsuProvider over https (index + image, TLS verified)', () => {
  let server: Server;
  let port = 0;
  let hits: string[] = [];

  beforeAll(async () => {
    const pki = homePaths(home).pkiDir;
    const ci = loadPkiCi(pki);
    const tls = createDpTls(ci, 'localhost');
    const image = buildDemoOsImage(loadOrCreateEum(pki).privateKey, '1.2.0');
    server = createServer({ cert: tls.certPem, key: privateKeyToPem(tls.privateKey) }, (req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/os/index.json') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ images: [{ version: '1.2.0', url: 'esimkit-os-1.2.0.esos' }, { version: '0.9.0', url: 'old.esos' }, { version: 'x', url: 'y' }] }));
      } else if (req.url === '/os/esimkit-os-1.2.0.esos') res.end(Buffer.from(image));
      else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('picks the newest image of the index above the card and installs it', async () => {
    hits = [];
    const ca = loadPkiCi(homePaths(home).pkiDir).certPem;
    const p = softEuiccOsuProvider({ slotId: 1, transport: () => cfg.slots[1]!.transport(), source: { url: `https://localhost:${port}/os/index.json`, ca }, store });
    const before = await cardVersion(1);
    expect(before).toBe('1.1.0'); // the second test updated it
    expect(await p.start()).toBe(OSU_STATUS.SUCCESSFUL);
    expect(await cardVersion(1)).toBe('1.2.0');
    expect(hits).toEqual(['/os/index.json', '/os/esimkit-os-1.2.0.esos']);
    expect(await p.start()).toBe(OSU_STATUS.ALREADY_LATEST);
  });

  it('an untrusted server certificate or a missing index → SERVICE_UNAVAILABLE', async () => {
    const noCa = softEuiccOsuProvider({ slotId: 1, transport: () => cfg.slots[1]!.transport(), source: { url: `https://localhost:${port}/os/index.json` }, store });
    expect(await noCa.start()).toBe(OSU_STATUS.SERVICE_UNAVAILABLE);
    const ca = loadPkiCi(homePaths(home).pkiDir).certPem;
    const missing = softEuiccOsuProvider({ slotId: 1, transport: () => cfg.slots[1]!.transport(), source: { url: `https://localhost:${port}/nothing/`, ca }, store });
    expect(await missing.start()).toBe(OSU_STATUS.SERVICE_UNAVAILABLE);
    expect(store.getOsu(1)).toMatchObject({ status: 4, version: '1.2.0' });
  });
});
