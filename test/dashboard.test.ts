/**
 * The web dashboard in real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core), against
 * a real daemon on a temporary home (two software eUICCs, the demo SM-DP+): log in with the shell token, list
 * the profiles, rename one, download one by uploading a QR image (progress bar live to the end), enable,
 * disable and delete it, a download that needs a confirmation code and PPR consent — every result checked
 * against the service, not only on the page. A screenshot of the main page is saved in test-artifacts/.
 *
 * Without Chromium the suite is skipped with the reason; with ESIM_REQUIRE_SYSTEM_TESTS=1 it fails instead.
 */
import { dashboardHandler } from '../src/web/dashboard.js';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import QRCode from 'qrcode';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDaemon, type RunningDaemon } from '../src/service/daemon.js';
import { readShellToken } from '../src/service/home.js';
import { SHELL_CALLER } from '../src/service/protocol.js';
import { buildProfilePackage } from '../src/asn1/saip.js';
import { encodePlmn } from '../src/lpa/es10-util.js';
import type { EuiccProfile, GetEuiccProfileInfoListResult } from '../src/api/types.js';
import { demoActivationCodes, DOWNLOAD_CONFIG } from './support/daemon.js';
import { REQUIRE_SYSTEM_TESTS } from './support/reference.js';

// Functions given to page.evaluate run in the browser; the project compiles without the DOM library, so the
// few browser globals they use are declared here (module scope: nothing leaks into other files).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const localStorage: any;
declare const sessionStorage: any;
declare const MutationObserver: any;
type HTMLInputElement = { value: string; validity: { valid: boolean } };

const CHROMIUM = process.env['ESIM_CHROMIUM'] ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARTIFACTS = resolve(import.meta.dirname ?? '.', '..', 'test-artifacts');

/**
 * A one-frame YUV4MPEG2 video of a QR code, for Chromium's fake camera (--use-file-for-fake-video-capture):
 * the page's getUserMedia then sees this QR code, as a phone camera would.
 */
function qrVideo(text: string): Buffer {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const W = 640;
  const H = 480;
  const scale = Math.floor(Math.min(W, H) / (n + 8));
  const x0 = Math.floor((W - n * scale) / 2);
  const y0 = Math.floor((H - n * scale) / 2);
  const y = Buffer.alloc(W * H, 255);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (!qr.modules.data[r * n + c]) continue;
      for (let dy = 0; dy < scale; dy++) y.fill(0, (y0 + r * scale + dy) * W + x0 + c * scale, (y0 + r * scale + dy) * W + x0 + (c + 1) * scale);
    }
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2) * 2, 128);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\n`), Buffer.from('FRAME\n'), y, chroma]);
}

function describeWithChromium(name: string, fn: () => void): void {
  const missing = `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set ESIM_CHROMIUM)`;
  if (HAVE_CHROMIUM) describe(name, fn);
  else if (REQUIRE_SYSTEM_TESTS) {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(`${missing}; ESIM_REQUIRE_SYSTEM_TESTS=1 forbids skipping`);
      });
    });
  } else describe.skip(`${name} [skipped: ${missing}]`, fn);
}

describeWithChromium('dashboard in headless Chromium', () => {
  let dir: string;
  let home: string;
  let d: RunningDaemon;
  let base: string;
  let browser: Browser;
  let page: Page;
  let token: string;
  let codes: string[];
  let qrPng: string;
  /** ICCID of the profile installed before the page opens (renamed by the test). */
  let firstIccid: string;
  /** ICCID of the profile the page downloads from the QR image. */
  let qrIccid: string;
  const pageProblems: string[] = [];

  const list = async (slotId: number): Promise<EuiccProfile[]> =>
    ((await d.service.invoke(SHELL_CALLER, 'getEuiccProfileInfoList', [slotId])) as GetEuiccProfileInfoListResult).profiles;
  const slot = (id: number): Locator => page.locator(`section.slot[data-slot="${id}"]`);
  const row = (id: number, iccid: string): Locator => slot(id).locator(`tr[data-iccid="${iccid}"]`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-dashboard-'));
    home = join(dir, 'home');
    d = await runDaemon({ home, log: () => {}, dashboard: dashboardHandler() });
    token = readShellToken(home);
    codes = demoActivationCodes(home);

    // the daemon serves the dashboard at its dashboard URL
    const own = await fetch(d.dashboardUrl).then((r) => r.text());
    expect(own).toContain('esimkit-dashboard');
    base = d.dashboardUrl;

    // one profile on slot 0 before the page opens (the demo cards start empty)
    const r = (await d.service.invoke(SHELL_CALLER, 'downloadProfile', [0, 0, { activationCode: codes[1] }, DOWNLOAD_CONFIG])) as { responseResult: number };
    expect(r.responseResult).toBe(0);
    const installed = await list(0);
    expect(installed).toHaveLength(1);
    firstIccid = installed[0]!.iccid;

    qrPng = join(dir, 'activation-code.png');
    await QRCode.toFile(qrPng, codes[0]!, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 6 });

    const camera = join(dir, 'camera.y4m');
    writeFileSync(camera, qrVideo(codes[2]!));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // a fake camera that films the QR code of codes[2], permission granted without a prompt
      args: ['--no-sandbox', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${camera}`],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (e) => pageProblems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // the browser logs the expected 401s (GET /api/session before login, the wrong token) as resource errors
      if (m.type() === 'error' && /status of 401 \(Unauthorized\)/.test(m.text())) return;
      if (m.type() === 'error' || m.type() === 'warning') pageProblems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('requestfailed', (r) => {
      // a page reload ends the open event stream
      if (new URL(r.url()).pathname === '/api/events' && r.failure()?.errorText === 'net::ERR_ABORTED') return;
      pageProblems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await d?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page with a strict CSP; no token, no session in the page', async () => {
    const resp = await page.goto(base);
    expect(resp?.status()).toBe(200);
    const csp = resp?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).toContain("require-trusted-types-for 'script'");
    await expect.poll(() => page.getByLabel('Access token').isVisible()).toBe(true);
    // the token field has focus, so a keyboard user can type at once
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('token');
  });

  it('refuses a wrong token with a message, then logs in with the shell token', async () => {
    await page.getByLabel('Access token').fill('not-the-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('not valid');

    await page.getByLabel('Access token').fill(token);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('heading', { name: 'Slot 0', exact: true }).isVisible()).toBe(true);
    await expect.poll(() => page.locator('#status').textContent()).toContain('Logged in as shell');

    // secrets: not in the DOM, not in storage, the session cookie is HttpOnly
    expect(await page.content()).not.toContain(token);
    const seen = await page.evaluate(() => ({ cookie: document.cookie, local: localStorage.length, session: sessionStorage.length }));
    expect(seen).toEqual({ cookie: '', local: 0, session: 0 });
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite }))).toEqual([{ name: 'esim_session', httpOnly: true, sameSite: 'Strict' }]);
    expect(cookies[0]!.value).not.toBe(token);
    await expect.poll(() => page.locator('.stream').getAttribute('data-state')).toBe('open');
  });

  it('shows each slot’s eUICC (EID, firmware, free memory) as the service reports it', async () => {
    for (const id of [0, 1]) {
      const eid = (await d.service.invoke(SHELL_CALLER, 'getEid', [id])) as string;
      const info = (await d.service.invoke(SHELL_CALLER, 'getEuiccInfo2', [id])) as { firmwareVersion: string; extCardResource: { freeNonVolatileMemory: number } };
      await expect.poll(() => slot(id).getByTestId('eid').textContent()).toBe(eid);
      expect(await slot(id).locator('dd', { hasText: info.firmwareVersion }).count()).toBeGreaterThan(0);
      await expect.poll(() => slot(id).getByTestId('free-memory').textContent()).toContain(info.extCardResource.freeNonVolatileMemory.toLocaleString('en'));
    }
    const smdp = (await d.service.invoke(SHELL_CALLER, 'getDefaultSmdpAddress', [0])) as string;
    expect(smdp).not.toBe('');
    await expect.poll(() => slot(0).getByTestId('default-smdp').textContent()).toBe(smdp);
  });

  it('lists the profiles as the service does', async () => {
    const svc = await list(0);
    await expect.poll(() => slot(0).locator('tbody tr[data-iccid]').count()).toBe(svc.length);
    const r = row(0, firstIccid);
    expect(await r.locator('th').textContent()).toContain(svc[0]!.profileName);
    expect(await r.getByTestId('state').textContent()).toContain('Disabled');
    // the demo profile's icon (getProfileDetails: not in the seed's EuiccProfile), decoded by the browser, named by the profile
    const details = (await d.service.invoke(SHELL_CALLER, 'getProfileDetails', [0])) as { iccid: string; iconType?: string; icon?: string }[];
    const mine = details.find((x) => x.iccid === firstIccid)!;
    expect(mine.iconType).toBe('png');
    const img = r.locator('img.icon');
    await expect.poll(() => img.count()).toBe(1);
    await expect.poll(() => img.evaluate((el: { complete: boolean; naturalWidth: number }) => (el.complete ? el.naturalWidth : 0))).toBeGreaterThan(0);
    expect(await img.evaluate((el: { naturalWidth: number; naturalHeight: number }) => [el.naturalWidth, el.naturalHeight])).toEqual([64, 64]);
    expect(await img.getAttribute('alt')).toBe(svc[0]!.profileName);
    expect(await img.getAttribute('src')).toBe(`data:image/png;base64,${mine.icon}`);
    expect(await r.getByRole('img', { name: svc[0]!.profileName }).count()).toBe(1);
    expect(await r.locator('.icon.letter').count()).toBe(0);
    expect(await slot(1).locator('.profiles').count()).toBe(0); // slot 1 has none
    expect(await slot(1).textContent()).toContain('No profile on this eUICC yet');
  });

  it('renames a profile through a dialog that holds the focus and gives it back', async () => {
    const name = (await list(0))[0]!.profileName;
    const renameButton = page.getByRole('button', { name: `Rename ${name}` });
    await renameButton.click();
    const dialog = page.getByRole('dialog', { name: `Rename ${name}` });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('nickname'); // focus in the dialog
    await page.keyboard.press('Escape'); // Escape closes without change
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(`Rename ${name}`);
    expect((await list(0))[0]!.nickName).toBe('');

    // the keyboard alone: Enter on the button, type, Enter submits
    await renameButton.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await page.keyboard.type('Travel eSIM');
    await page.keyboard.press('Enter');
    await expect.poll(() => row(0, firstIccid).getByTestId('nickname').textContent()).toBe('Travel eSIM');
    await expect.poll(() => page.locator('#status').textContent()).toContain('renamed to Travel eSIM');
    expect((await list(0)).find((p) => p.iccid === firstIccid)?.nickName).toBe('Travel eSIM');
  });

  it('downloads a profile from an uploaded QR image, the progress bar live to the end', async () => {
    const s0 = slot(0);
    await s0.getByLabel('QR code image').setInputFiles(qrPng);
    await expect.poll(() => s0.getByLabel('Activation code').inputValue()).toBe(codes[0]);
    await expect.poll(() => page.locator('#status').textContent()).toContain('Preview the profile next');

    await s0.getByRole('button', { name: 'Preview profile' }).click();
    const preview = s0.locator('form.preview');
    await expect.poll(() => preview.isVisible()).toBe(true);
    const iccidText = (await preview.locator('dt:text("ICCID") + dd').textContent())!.trim();
    expect(iccidText).toMatch(/^\d{18,20}$/);
    qrIccid = iccidText;
    expect((await list(0)).some((p) => p.iccid === qrIccid)).toBe(false);

    // record what the progress bar shows while the download runs (CDP evaluation: outside the page's CSP)
    await page.evaluate(() => {
      const w = window as unknown as { __seen: { value: string; text: string }[] };
      w.__seen = [];
      const record = (): void => {
        const bar = document.querySelector('section.slot[data-slot="0"] progress');
        const text = document.querySelector('section.slot[data-slot="0"] [data-testid="progress-text"]');
        if (bar) w.__seen.push({ value: bar.getAttribute('value') ?? '', text: text?.textContent ?? '' });
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    const events: { step: string; done?: number; total?: number }[] = [];
    const off = d.service.on('downloadProgress', (e) => events.push(e));
    try {
      await preview.getByRole('button', { name: 'Download and install' }).click();
      await expect.poll(() => s0.getByTestId('download-result').textContent(), { timeout: 60_000 }).toContain('Profile installed');
    } finally {
      off();
    }
    // the end: 100 %, every step done, all segments
    expect(await s0.locator('progress').first().getAttribute('value')).toBe('100');
    const install = events.filter((e) => e.step === 'installing');
    const total = install.at(-1)?.total;
    expect(total).toBeGreaterThan(0);
    await expect.poll(() => s0.locator('.steps li.done').count()).toBe(4);
    // (the stream's last events may land after the call's answer: the page keeps listening until 'done')
    await expect.poll(() => s0.locator('.steps li[data-step="installing"]').textContent()).toContain(`${total} of ${total} segments`);
    // ... reached through the live events: intermediate values and segment counts were on screen
    const seen = await page.evaluate(() => (window as unknown as { __seen: { value: string; text: string }[] }).__seen);
    const values = new Set(seen.map((x) => Number(x.value)));
    expect([...values].some((v) => v > 0 && v < 100)).toBe(true);
    expect(seen.some((x) => /^Installing: \d+ of \d+ segments$/.test(x.text))).toBe(true);
    const texts = new Set(seen.map((x) => x.text));
    expect(texts.has('Done')).toBe(true);
    expect(texts.size).toBeGreaterThanOrEqual(3); // e.g. Starting…, a step name, Installing: k of n segments, Done

    // the service has it, disabled, and the page lists it
    const p = (await list(0)).find((x) => x.iccid === qrIccid);
    expect(p?.state).toBe(0);
    await expect.poll(() => row(0, qrIccid).count()).toBe(1);
    // the new row shows the profile's icon from the card, decoded, with the profile's name as alt text
    const icon = row(0, qrIccid).locator('img.icon');
    await expect.poll(() => icon.evaluate((el: { complete: boolean; naturalWidth: number }) => (el.complete ? el.naturalWidth : 0))).toBeGreaterThan(0);
    expect(await icon.getAttribute('alt')).toBe(p!.profileName);
    expect(p!.profileName).not.toBe('');
    // focus went to the result, which is announced
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('download-result');

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot}`);
  });

  it('enables the downloaded profile, then disables and deletes it, each after a confirmation', async () => {
    const name = (await list(0)).find((p) => p.iccid === qrIccid)!.profileName;
    const r = row(0, qrIccid);

    await r.getByRole('button', { name: `Enable ${name}` }).click();
    const enableDialog = page.getByRole('dialog', { name: `Enable ${name}?` });
    await enableDialog.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(() => r.getByTestId('state').textContent()).toContain('Enabled');
    expect((await list(0)).find((p) => p.iccid === qrIccid)?.state).toBe(1);
    expect(await r.getByRole('button', { name: `Delete ${name}` }).isDisabled()).toBe(true); // disable first

    await r.getByRole('button', { name: `Disable ${name}` }).click();
    await page.getByRole('dialog', { name: `Disable ${name}?` }).getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => r.getByTestId('state').textContent()).toContain('Disabled');
    expect((await list(0)).find((p) => p.iccid === qrIccid)?.state).toBe(0);

    await r.getByRole('button', { name: `Delete ${name}` }).click();
    const del = page.getByRole('dialog', { name: `Delete ${name}?` });
    await expect.poll(() => del.isVisible()).toBe(true);
    // a destructive dialog starts on Cancel
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await del.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => r.count()).toBe(0);
    await expect.poll(() => page.locator('#status').textContent()).toContain(`Profile ${name} deleted`);
    const after = await list(0);
    expect(after.map((p) => p.iccid)).toEqual([firstIccid]);
    // the row is gone: focus went back to the profiles heading, not lost on <body>
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Profiles');
  });

  it('asks for the confirmation code and PPR consent when the profile needs them, and never echoes the code', async () => {
    const demo = d.service.demo!;
    const inv = demo.smdp.inventory;
    const iccid = '8900010000000000' + '123';
    inv.addProfile(buildProfilePackage({ iccid }), {
      serviceProviderName: 'Rules Mobile',
      profileName: 'Policy profile',
      profileClass: 2,
      profilePolicyRules: [1],
      profileOwner: { mccMnc: encodePlmn({ mcc: '001', mnc: '01' }) },
    });
    const cc = 'blue-harbor-42';
    const { matchingId } = inv.createOrder({ iccid, confirmationCode: cc });
    const ac = demo.smdp.activationCode(matchingId, true);

    const s1 = slot(1);
    await s1.getByLabel('Activation code').fill(ac);
    await s1.getByRole('button', { name: 'Preview profile' }).click();
    const preview = s1.locator('form.preview');
    await expect.poll(() => preview.isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await preview.textContent()).toContain('cannot be disabled (PPR1)');
    const code = preview.getByLabel('Confirmation code (required for this profile)');
    const consent = preview.getByLabel('I accept the profile policy rules');
    expect(await code.getAttribute('type')).toBe('password');

    // without consent the browser's validation refuses, nothing is downloaded
    await code.fill(cc);
    await preview.getByRole('button', { name: 'Download and install' }).click();
    expect(await consent.evaluate((el) => (el as HTMLInputElement).validity.valid)).toBe(false);
    expect((await list(1)).length).toBe(0);

    await consent.check();
    await preview.getByRole('button', { name: 'Download and install' }).click();
    await expect.poll(() => s1.getByTestId('download-result').textContent(), { timeout: 60_000 }).toContain('Profile installed');
    const installed = await list(1);
    expect(installed.map((p) => ({ iccid: p.iccid, policyRules: p.policyRules }))).toEqual([{ iccid, policyRules: 1 }]);
    await expect.poll(() => row(1, iccid).getByTestId('state').textContent()).toContain('Rules: cannot be disabled (PPR1)');
    // a profile without an icon: the provider's initial instead, no image
    expect(await row(1, iccid).locator('img').count()).toBe(0);
    expect(await row(1, iccid).locator('.icon.letter').textContent()).toBe('R');
    // the code was sent, never shown nor kept in a field
    expect(await page.content()).not.toContain(cc);
    expect(await s1.locator('input[type="password"]').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))).toEqual(['']);
  });

  it('scans an activation code with the camera', async () => {
    const s1 = slot(1);
    await s1.getByRole('button', { name: 'Scan a QR code with the camera' }).click();
    const dialog = page.getByRole('dialog', { name: 'Scan a QR code' });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await expect.poll(() => s1.getByLabel('Activation code').inputValue(), { timeout: 20_000 }).toBe(codes[2]);
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect.poll(() => page.locator('#status').textContent()).toContain('The scanned QR code: activation code for the SM-DP+');
    // focus returns to the field (after the dialog's clean-up, a frame later: polled, not read once)
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('slot1-ac');
    // the camera is released when the dialog closes
    expect(await page.evaluate(() => document.querySelector('video')?.srcObject ?? null)).toBe(null);
    await s1.getByLabel('Activation code').fill('');
  });

  it('accepts an app’s addProfile request: downloaded after the user agrees, the queue emptied', async () => {
    expect(await d.service.invoke(SHELL_CALLER, 'addProfile', [{ activationCode: codes[2], carrierName: 'Demo Carrier' }])).toBe(true);
    const before = (await list(0)).map((p) => p.iccid);
    await page.reload(); // the session survives a reload (cookie)
    const accept = page.getByRole('button', { name: 'Accept the request of shell for Demo Carrier' });
    await expect.poll(() => accept.isVisible()).toBe(true);
    await accept.click();
    const dialog = page.getByRole('dialog', { name: 'Download the profile requested by shell?' });
    await dialog.getByRole('button', { name: 'Download' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 60_000 }).toContain('installed in slot 0');
    expect(await page.locator('#pending-progress').getAttribute('value')).toBe('100');
    const after = await list(0);
    expect(after).toHaveLength(before.length + 1);
    expect(await d.service.invoke(SHELL_CALLER, 'listPendingAdds', [])).toEqual([]);
    await expect.poll(() => page.locator('section.pending').textContent()).toContain('No app is waiting');
    const added = after.find((p) => !before.includes(p.iccid))!;
    await expect.poll(() => row(0, added.iccid).count()).toBe(1);
  });

  it('runs the OS update of a card and sets its default SM-DP+', async () => {
    const s1 = slot(1);
    const before = ((await d.service.invoke(SHELL_CALLER, 'getEuiccInfo2', [1])) as { firmwareVersion: string }).firmwareVersion;
    await s1.getByRole('button', { name: 'Check for and install an OS update' }).click();
    await page.getByRole('dialog', { name: 'Update the eUICC OS?' }).getByRole('button', { name: 'Start the update' }).click();
    await expect.poll(() => s1.getByTestId('osu-status').textContent(), { timeout: 60_000 }).toBe('Updated successfully');
    expect(await d.service.invoke(SHELL_CALLER, 'getOsuStatus', [1])).toBe(3);
    const now = ((await d.service.invoke(SHELL_CALLER, 'getEuiccInfo2', [1])) as { firmwareVersion: string }).firmwareVersion;
    expect(now).not.toBe(before);
    await expect.poll(() => s1.locator('dt:text("Firmware (OS) version") + dd').textContent()).toBe(now);

    await s1.getByLabel('New default SM-DP+ address').fill('smdp.example.com');
    await s1.getByRole('button', { name: 'Set default SM-DP+' }).click();
    await expect.poll(() => s1.getByTestId('default-smdp').textContent()).toBe('smdp.example.com');
    expect(await d.service.invoke(SHELL_CALLER, 'getDefaultSmdpAddress', [1])).toBe('smdp.example.com');
    expect(await d.service.invoke(SHELL_CALLER, 'getDefaultSmdpAddress', [0])).not.toBe('smdp.example.com');
  });

  it('runs with no script error and no CSP or Trusted Types violation', () => {
    expect(pageProblems, pageProblems.join('\n')).toEqual([]);
  });
});
