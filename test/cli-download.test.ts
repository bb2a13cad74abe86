/**
 * `esim profile download` in-process against the embedded default: activation code sources (-a, -s/-m, a QR
 * PNG written with `qrcode`, a JPEG of it), --preview accepted and rejected (the order stays downloadable),
 * confirmation codes and PPR consent (asked, never printed), progress (JSON lines, terminal bar) and colour.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireService } from '../src/api/client.js';
import { encodePlmn } from '../src/lpa/es10-util.js';
import type { EsimService } from '../src/service/service.js';
import { cli, type CliRun } from './support/cli.js';
import { makeHome, newOrder } from './support/service.js';

type Json = Record<string, unknown>;
const owner = { mccMnc: encodePlmn({ mcc: '001', mnc: '01' }) };

describe('esim profile download', () => {
  let home: ReturnType<typeof makeHome>;
  let service: EsimService;
  let release: () => Promise<void>;
  let dir: string;
  const h = (): string[] => ['--home', home.home];
  const iccids = async (slot = 0): Promise<string[]> =>
    (await cli(['profile', 'list', '--json', '--slot', String(slot), ...h()])).json<{ profiles: { iccid: string }[] }>().profiles.map((p) => p.iccid);
  const orderState = (matchingId: string): string | undefined => service.demo!.smdp.inventory.order(matchingId)?.state;
  const noSecret = (r: CliRun, ...secrets: string[]): void => {
    for (const s of secrets) {
      expect(r.out).not.toContain(s);
      expect(r.err).not.toContain(s);
    }
  };

  beforeAll(async () => {
    home = makeHome();
    dir = mkdtempSync(join(tmpdir(), 'esimkit-cli-qr-'));
    ({ service, release } = await acquireService(home.home));
  });
  afterAll(async () => {
    await release();
    home.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--qr with a PNG written by qrcode installs the profile of the code', async () => {
    const order = newOrder(service);
    const png = join(dir, 'code.png');
    await QRCode.toFile(png, order.activationCode, { type: 'png', errorCorrectionLevel: 'M' });
    const r = await cli(['profile', 'download', '--qr', png, '--json', ...h()]);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ installed: true, iccid: order.iccid, resultCode: 0, result: 'RESULT_OK' });
    expect(await iccids()).toContain(order.iccid);
    expect(orderState(order.matchingId)).toBe('done');
    noSecret(r, order.matchingId);
  });

  it('--qr with a JPEG of the code, on slot 1', async () => {
    const order = newOrder(service);
    const pngBytes = await QRCode.toBuffer(order.activationCode, { type: 'png', scale: 6 });
    const img = PNG.sync.read(pngBytes);
    const file = join(dir, 'code.jpg');
    writeFileSync(file, jpeg.encode({ data: img.data, width: img.width, height: img.height }, 90).data);
    const r = await cli(['profile', 'download', '--qr', file, '--slot', '1', '--json', ...h()]);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ slot: 1, cardId: 1, installed: true, iccid: order.iccid });
    expect(await iccids(1)).toContain(order.iccid);
  });

  it('bad sources are usage errors (exit 2) that never echo the token', async () => {
    const notImage = join(dir, 'not.png');
    writeFileSync(notImage, 'hello');
    const a = await cli(['profile', 'download', '--qr', notImage, ...h()]);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/not a PNG or JPEG image/);
    const hello = join(dir, 'hello.png');
    await QRCode.toFile(hello, 'hello world');
    const b = await cli(['profile', 'download', '--qr', hello, ...h()]);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/the QR code in .*hello\.png is not a valid activation code/);
    const missing = await cli(['profile', 'download', '--qr', join(dir, 'missing.png'), ...h()]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/ENOENT/);
    const c = await cli(['profile', 'download', '-a', 'LPA:1$bad_host!$SECRETTOKEN42', '--json', ...h()]);
    expect(c.code).toBe(2);
    expect(c.json<{ error: Json }>().error['code']).toBe(401);
    noSecret(c, 'SECRETTOKEN42');
    const d = await cli(['profile', 'download', '-a', 'LPA:1$x.example$T', '-s', 'x.example', ...h()]);
    expect(d.code).toBe(2);
    expect(d.err).toMatch(/give one of/);
    const e = await cli(['profile', 'download', '-m', 'ABC', ...h()]);
    expect(e.code).toBe(2);
    expect(e.err).toMatch(/-m <matchingId> needs -s/);
  });

  it('-s <smdp> -m <matchingId>; JSON progress lines on stderr (one object per line, steps in order, one transactionId)', async () => {
    const order = newOrder(service);
    const r = await cli(['profile', 'download', '-s', service.demo!.smdpAddress, '-m', order.matchingId, '--json', ...h()]);
    expect(r.code).toBe(0);
    const doc = r.json();
    expect(doc).toMatchObject({ installed: true, iccid: order.iccid });
    const lines = r.err.trim().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines.every((l) => l['progress'] === 'download' && l['slot'] === 0 && l['port'] === 0)).toBe(true);
    const steps = lines.map((l) => l['step'] as string).filter((s, i, a) => a[i - 1] !== s);
    expect(steps).toEqual(['authenticating', 'downloading', 'installing', 'notifying', 'done']);
    const tids = new Set(lines.map((l) => l['transactionId']).filter((t) => t !== undefined));
    expect([...tids]).toEqual([doc['transactionId']]);
    const installing = lines.filter((l) => l['step'] === 'installing');
    expect(installing.at(-1)!['done']).toBe(installing.at(-1)!['total']);
    expect(lines.at(-1)).toMatchObject({ step: 'done', resultCode: 0 });
  });

  it('--preview then accept: the metadata, one question, installed', async () => {
    const order = newOrder(service);
    const r = await cli(['profile', 'download', '-a', order.activationCode, '--preview', '--json', ...h()], { answers: ['y'] });
    expect(r.code).toBe(0);
    expect(r.questions).toEqual([{ question: 'Install this profile on slot 0? [y/N] ', secret: false }]);
    const j = r.json();
    expect(j['preview']).toEqual({
      iccid: order.iccid,
      serviceProviderName: 'esimkit test',
      profileName: `test ${order.iccid}`,
      profileClass: 'operational',
      policyRules: [],
      confirmationCodeRequired: false,
      pprConsentRequired: false,
    });
    expect(j).toMatchObject({ accepted: true, installed: true, iccid: order.iccid, resultCode: 0 });
    expect(await iccids()).toContain(order.iccid);
  });

  it('--preview then reject: exit 1, nothing installed, the order is still downloadable', async () => {
    const order = newOrder(service);
    const r = await cli(['profile', 'download', '-a', order.activationCode, '--preview', ...h()], { answers: ['n'] });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/Profile to download:\n {2}ICCID +\S+/);
    expect(r.err).toContain(order.iccid);
    expect(r.err).toMatch(/download declined: nothing was installed/);
    expect(r.out).toBe('');
    expect(await iccids()).not.toContain(order.iccid);
    expect(orderState(order.matchingId)).toBe('active');
    const j = await cli(['profile', 'download', '-a', order.activationCode, '--preview', '--json', ...h()], { answers: [undefined] });
    expect(j.code).toBe(1);
    expect(j.json()).toMatchObject({ accepted: false, installed: false, preview: { iccid: order.iccid } });
    const later = await cli(['profile', 'download', '-a', order.activationCode, '--json', ...h()]);
    expect(later.code).toBe(0);
    expect(later.json()).toMatchObject({ installed: true, iccid: order.iccid });
  });

  it('--preview needs a terminal or --yes; --preview --yes asks nothing', async () => {
    const order = newOrder(service);
    const r = await cli(['profile', 'download', '-a', order.activationCode, '--preview', ...h()]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--preview asks before installing/);
    expect(orderState(order.matchingId)).toBe('active');
    const y = await cli(['profile', 'download', '-a', order.activationCode, '--preview', '--yes', '--json', ...h()], { answers: [] });
    expect(y.code).toBe(0);
    expect(y.questions).toEqual([]);
    expect(y.json()).toMatchObject({ accepted: true, installed: true, preview: { iccid: order.iccid } });
  });

  it('confirmation code: missing → exit 3 with a hint; wrong → 212; asked (hidden) in --preview; never printed', async () => {
    const order = newOrder(service, { confirmationCode: '4711' });
    const missing = await cli(['profile', 'download', '-a', order.activationCode, '--json', ...h()]);
    expect(missing.code).toBe(3);
    expect(missing.json()).toMatchObject({ resultCode: -2, result: 'RESULT_SOLVABLE_ERRORS', solvableErrors: ['confirmationCode'], installed: false });
    expect(missing.err).toMatch(/pass -c <code>/);
    const wrong = await cli(['profile', 'download', '-a', order.activationCode, '-c', '0815', '--json', ...h()]);
    expect(wrong.code).toBe(3);
    expect(wrong.json()).toMatchObject({ resultCode: 212, result: 'RESULT_CONFIRMATION_CODE_INCORRECT', installed: false });
    expect(wrong.err).toMatch(/confirmation code is wrong/);
    noSecret(wrong, '0815');
    const asked = await cli(['profile', 'download', '-a', order.activationCode, '--preview', '--json', ...h()], { answers: ['4711', 'yes'] });
    expect(asked.code).toBe(0);
    expect(asked.questions).toEqual([
      { question: 'Confirmation code: ', secret: true },
      { question: 'Install this profile on slot 0? [y/N] ', secret: false },
    ]);
    expect(asked.json()).toMatchObject({ preview: { confirmationCodeRequired: true }, installed: true, iccid: order.iccid });
    noSecret(asked, '4711');
  });

  it('PPR consent: exit 3 without it, asked in --preview (no → nothing installed, yes → installed), --accept-ppr', async () => {
    const o1 = newOrder(service, { metadata: { profilePolicyRules: [1], profileOwner: owner } });
    const r = await cli(['profile', 'download', '-a', o1.activationCode, '--json', ...h()]);
    expect(r.code).toBe(3);
    expect(r.json()).toMatchObject({ resultCode: -2, solvableErrors: ['policyRules'], installed: false });
    expect(r.err).toMatch(/--accept-ppr/);
    const no = await cli(['profile', 'download', '-a', o1.activationCode, '--preview', '--json', ...h()], { answers: ['n'] });
    expect(no.code).toBe(1);
    expect(no.questions.map((q) => q.question)).toEqual(['This profile has policy rules (disableNotAllowed). Do you consent to them? [y/N] ']);
    expect(no.json()).toMatchObject({ preview: { policyRules: ['disableNotAllowed'], pprConsentRequired: true }, accepted: false, installed: false });
    expect(await iccids()).not.toContain(o1.iccid);
    const yes = await cli(['profile', 'download', '-a', o1.activationCode, '--preview', '--json', ...h()], { answers: ['y', 'y'] });
    expect(yes.code).toBe(0);
    expect(yes.json()).toMatchObject({ installed: true, iccid: o1.iccid });
    const listed = (await cli(['profile', 'list', '--json', ...h()])).json<{ profiles: { iccid: string; policyRules: string[] }[] }>().profiles;
    expect(listed.find((p) => p.iccid === o1.iccid)!.policyRules).toEqual(['disableNotAllowed']);

    const o2 = newOrder(service, { metadata: { profilePolicyRules: [1], profileOwner: owner } });
    const flag = await cli(['profile', 'download', '-a', o2.activationCode, '--accept-ppr', '--json', ...h()]);
    expect(flag.code).toBe(0);
    expect(flag.json()).toMatchObject({ installed: true, iccid: o2.iccid });
  });

  it('--enable without --force while a profile is enabled: -1, exit 3, nothing downloaded; with --force enabled', async () => {
    const a = newOrder(service);
    expect((await cli(['profile', 'download', '-a', a.activationCode, '--enable', '--force', '--slot', '1', ...h()])).code).toBe(0);
    const b = newOrder(service);
    const r = await cli(['profile', 'download', '-a', b.activationCode, '--enable', '--slot', '1', '--json', ...h()]);
    expect(r.code).toBe(3);
    expect(r.json()).toMatchObject({ resultCode: -1, result: 'RESULT_MUST_DISABLE_PROFILE', installed: false });
    expect(orderState(b.matchingId)).toBe('active');
    const f = await cli(['profile', 'download', '-a', b.activationCode, '--enable', '--force', '--slot', '1', '--json', ...h()]);
    expect(f.json()).toMatchObject({ installed: true, enabled: true, iccid: b.iccid });
    const listed = (await cli(['profile', 'list', '--json', '--slot', '1', ...h()])).json<{ profiles: { iccid: string; state: string }[] }>().profiles;
    expect(listed.filter((p) => p.state === 'enabled').map((p) => p.iccid)).toEqual([b.iccid]);
  });

  it('on a terminal: a progress bar with the step names on stderr and colour on stdout; NO_COLOR turns colour off', async () => {
    const order = newOrder(service);
    const tty = { stdout: true, stderr: true, stdin: false };
    const r = await cli(['profile', 'download', '-a', order.activationCode, ...h()], { isTTY: tty });
    expect(r.code).toBe(0);
    expect(r.out).toBe(`\x1b[32minstalled\x1b[0m profile ${order.iccid} on slot 0\n`);
    const frames = r.err.split('\r\x1b[K').filter((f) => f !== '');
    expect(frames.length).toBeGreaterThan(5);
    expect(frames[0]).toMatch(/^download \[█*░+\] +\d+% authenticating$/);
    expect(frames.some((f) => /installing \d+\/\d+$/.test(f))).toBe(true);
    expect(frames.at(-1)).toMatch(/^download \[█{24}\] 100% done\n$/);
    const list = await cli(['profile', 'list', ...h()], { isTTY: tty });
    expect(list.out).toMatch(/^\x1b\[1mICCID +STATE/);
    expect(list.out).toContain('\x1b[2mdisabled\x1b[0m');
    const plain = await cli(['profile', 'list', ...h()], { isTTY: tty, env: { NO_COLOR: '1' } });
    expect(plain.out).not.toContain('\x1b[');
    expect(plain.out).toMatch(/^ICCID +STATE +CLASS +NICKNAME +PROVIDER +NAME\n/);
  });

  it('without a terminal and without --json: one plain line per step on stderr', async () => {
    const order = newOrder(service);
    const r = await cli(['profile', 'download', '-a', order.activationCode, ...h()]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('download: authenticating\ndownload: downloading\ndownload: installing\ndownload: notifying\ndownload: done\n');
    expect(r.out).toBe(`installed profile ${order.iccid} on slot 0\n`);
  });
});
