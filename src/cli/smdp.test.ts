import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeQrImage } from '../util/qr-image.js';
import QRCode from 'qrcode';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualTransport } from '../apdu/transports/virtual.js';
import { privateKeyFromPem } from '../crypto/ecdsa.js';
import { fromPem, parseCertificate } from '../crypto/x509.js';
import type { IssuedCertificate } from '../crypto/pki.js';
import { SoftEuicc } from '../euicc/card.js';
import { createIdentity } from '../euicc/identity.js';
import { downloadProfile } from '../lpa/download.js';
import { SmdpInventory } from '../smdp/inventory.js';
import { refPath } from '../../test/support/reference.js';
import { TS48_FILES } from '../../test/support/smdp.js';
import { runSmdpCli, type CliIo } from './smdp.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'esimkit-smdp-'));
  dirs.push(d);
  return d;
}
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runSmdpCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}
const ts48 = (i: number): string => refPath('ts48', TS48_FILES[i]!);
const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe('esim-smdp usage', () => {
  it('--help lists the commands with examples; bad usage exits 2', async () => {
    const h = await run(['--help']);
    expect(h.code).toBe(0);
    for (const w of ['serve', 'profile', 'order', 'Examples:', 'esim-smdp order create']) expect(h.out).toContain(w);
    const oc = await run(['order', 'create', '--help']);
    expect(oc.code).toBe(0);
    expect(oc.out).toContain('--confirmation-code');
    expect(oc.out).toContain('--qr');
    expect((await run(['nope'])).code).toBe(2);
    expect((await run(['order', 'create', '--db', 'x.db'])).code).toBe(2); // --profile missing
    expect((await run(['profile', 'add', 'x.der', '--db', 'x.db', '--class', 'weird'])).code).toBe(2);
    expect((await run(['order', 'create', '--db', 'x.db', '--profile', 'a', '--eid', '12'])).code).toBe(2);
  });
});

describe('esim-smdp profile add / order create / order list', () => {
  it('adds profiles, creates orders with activation code and QR PNG, lists them', async () => {
    const d = tmp();
    const db = join(d, 'smdp.db');
    const a = await run(['profile', 'add', ts48(0), '--db', db, '--spn', 'Op', '--name', 'P1', '--class', 'operational', '--type', 'gold']);
    expect(a.code).toBe(0);
    const iccid = a.out.trim();
    expect(iccid).toMatch(/^\d{18,20}F?$/);
    const dup = await run(['profile', 'add', ts48(0), '--db', db]);
    expect(dup.code).toBe(1);
    expect(dup.err).toContain('already exists');
    expect((await run(['profile', 'add', join(d, 'missing.der'), '--db', db])).code).toBe(1);
    const b = await run(['profile', 'add', ts48(1), '--db', db, '--json']);
    const iccid2 = (JSON.parse(b.out) as { iccid: string }).iccid;

    // no address recorded yet → usage error
    const noAddr = await run(['order', 'create', '--db', db, '--profile', iccid]);
    expect(noAddr.code).toBe(2);
    expect(noAddr.err).toContain('--address');

    const qr = join(d, 'code.png');
    const o = await run(['order', 'create', '--db', db, '--profile', 'gold', '--address', 'smdp.example.com:8443', '--confirmation-code', '987654', '--qr', qr]);
    expect(o.code).toBe(0);
    const ac = o.out.trim();
    expect(ac).toMatch(/^LPA:1\$smdp\.example\.com:8443\$[0-9A-Z-]+\$\$1$/);
    expect(o.out + o.err).not.toContain('987654');
    expect(o.err).toContain(iccid);
    const png = readFileSync(qr);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIG);
    // IHDR: width/height = (modules + 2*4 margin) * 4 scale for the QR of exactly this text
    const size = QRCode.create(ac, { errorCorrectionLevel: 'M' }).modules.size;
    expect(png.readUInt32BE(16)).toBe((size + 8) * 4);
    expect(png.readUInt32BE(20)).toBe((size + 8) * 4);
    expect(statSync(qr).size).toBeGreaterThan(100);
    // and the PNG decodes back to exactly the activation code (an independent QR reader: jsQR)
    expect(decodeQrImage(png)).toBe(ac);

    const j = await run(['order', 'create', '--db', db, '--profile', iccid2, '--address', 'localhost:9', '--eid', '89049032123451234512345678901235', '--json']);
    expect(j.code).toBe(0);
    const jo = JSON.parse(j.out) as { activationCode: string; iccid: string; matchingId: string; confirmationCodeRequired: boolean };
    expect(jo.iccid).toBe(iccid2);
    expect(jo.confirmationCodeRequired).toBe(false);
    expect(jo.activationCode).toBe(`LPA:1$localhost:9$${jo.matchingId}`);

    const none = await run(['order', 'create', '--db', db, '--profile', 'gold', '--address', 'localhost:9']);
    expect(none.code).toBe(1);
    expect(none.err).toContain('no profile of type gold left');

    const l = await run(['order', 'list', '--db', db, '--json']);
    expect(l.code).toBe(0);
    const list = JSON.parse(l.out) as { iccid: string; matchingId: string; state: string; profileState: string; confirmationCodeRequired: boolean; eid?: string }[];
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({ iccid, state: 'active', profileState: 'released', confirmationCodeRequired: true });
    expect(list[1]).toMatchObject({ iccid: iccid2, matchingId: jo.matchingId, eid: '89049032123451234512345678901235', confirmationCodeRequired: false });
    const lt = await run(['order', 'list', '--db', db]);
    expect(lt.out.split('\n')[1]).toContain(iccid);
    expect(lt.out).not.toContain('987654');
    expect((await run(['order', 'list', '--db', join(d, 'none.db')])).code).toBe(1);
  });
});

describe('esim-smdp serve → order create → LPA download', () => {
  it('serves over HTTPS; a SoftEuicc downloads the ordered profile with the CI printed by serve', async () => {
    const d = tmp();
    const db = join(d, 'smdp.db');
    expect((await run(['profile', 'add', ts48(2), '--db', db])).code).toBe(0);
    const ac = new AbortController();
    let out = '';
    let err = '';
    const io: CliIo = { stdout: (s) => (out += s), stderr: (s) => (err += s), signal: ac.signal };
    const serving = runSmdpCli(['serve', '--db', db, '--port', '0'], io);
    try {
      for (let i = 0; i < 200 && !out.includes('CI certificate'); i++) await new Promise((r) => setTimeout(r, 25));
      expect(out, err).toMatch(/listening on https:\/\/localhost:\d+/);
      const address = /address: (\S+)/.exec(out)![1]!;
      expect(address).toMatch(/^localhost:\d+$/);
      const ciPath = /CI certificate \(LPAs must trust it\): (\S+)/.exec(out)![1]!;
      expect(ciPath).toBe(join(`${db}.pki`, 'ci.pem'));
      expect(statSync(join(`${db}.pki`, 'ci.key.pem')).mode & 0o777).toBe(0o600);
      expect(statSync(join(`${db}.pki`, 'dptls.key.pem')).mode & 0o777).toBe(0o600);
      const ciDer = fromPem(readFileSync(ciPath, 'latin1'));

      const o = await run(['order', 'create', '--db', db, '--profile', 'TS48V4', '--confirmation-code', '4321', '--json']).catch(() => undefined);
      expect(o?.code).toBe(1); // unknown profile type
      const inv = new SmdpInventory(db);
      const iccid = inv.profiles()[0]!.iccid;
      inv.close();
      const oc = await run(['order', 'create', '--db', db, '--profile', iccid, '--confirmation-code', '4321']);
      expect(oc.code).toBe(0);
      const code = oc.out.trim();
      expect(code.startsWith(`LPA:1$${address}$`)).toBe(true);
      expect(code.endsWith('$$1')).toBe(true);

      // a card under the same CI (test PKI of the server)
      const ci: IssuedCertificate = {
        certDer: ciDer,
        certPem: readFileSync(ciPath, 'latin1'),
        privateKey: privateKeyFromPem(readFileSync(join(`${db}.pki`, 'ci.key.pem'), 'latin1')),
        cert: parseCertificate(ciDer),
        curve: 'P-256',
      };
      const card = SoftEuicc.create(':memory:', { identity: createIdentity({ ci }).identity });
      const r = await downloadProfile({ transport: new VirtualTransport(card), activationCode: code, confirmationCode: '4321', trust: { ciCertificates: [ciDer] } });
      expect(r.iccid).toBe(iccid);
      expect(r.notificationSent).toBe(true);
      const l = JSON.parse((await run(['order', 'list', '--db', db, '--json'])).out) as { iccid: string; profileState: string; state: string }[];
      expect(l[0]).toMatchObject({ iccid, profileState: 'installed' });
    } finally {
      ac.abort();
      expect(await serving).toBe(0);
    }
    expect(out).toContain('SM-DP+ stopped');
    // a second serve reuses the PKI (same CI)
    const ci1 = readFileSync(join(`${db}.pki`, 'ci.pem'), 'latin1');
    const ac2 = new AbortController();
    let out2 = '';
    const s2 = runSmdpCli(['serve', '--db', db, '--port', '0'], { stdout: (s) => (out2 += s), stderr: () => undefined, signal: ac2.signal });
    for (let i = 0; i < 200 && !out2.includes('CI certificate'); i++) await new Promise((r) => setTimeout(r, 25));
    ac2.abort();
    expect(await s2).toBe(0);
    expect(readFileSync(join(`${db}.pki`, 'ci.pem'), 'latin1')).toBe(ci1);
  });
});
