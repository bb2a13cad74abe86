/**
 * End to end, both ends real, with faults provoked for real: the LPA download flow (src/lpa/download.ts)
 * with a SoftEuicc over VirtualTransport against the reference SM-DP+ over HTTPS on 127.0.0.1 — either
 * directly (a card or an order the server refuses), or through test/support/es9p-proxy.ts, an HTTPS
 * man-in-the-middle presenting the SM-DP+'s own DPtls that rewrites ES9+ answers (a changed transactionId,
 * a corrupted signature, signed data or field, a Failed status with chosen subject/reason codes).
 *
 * Each case covers a ResultCode that test/download.test.ts does not provoke, and checks that nothing was
 * installed (GetProfilesInfo count unchanged, no pending notification) and that no session was left on the
 * card (a following download on the same card succeeds). The expected code is the ResultCode constant;
 * for subject/reason faults it is also checked to be what the one mapping (statusCodeToResultCode) gives.
 *
 * 203 ACTIVATION_CODE_CHANGED: the user previews an order (getProfileMetadata), the operator re-points it
 * over ES2+ (cancelOrder, then downloadOrder + confirmOrder of another profile under the same matchingId, or
 * a new EID-bound order for the default SM-DP+), and the download with `expectedIccid` stops with
 * CancelSession metadataMismatch: nothing installed, no session on either end, the new order still usable.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApduChannel } from '../src/apdu/channel.js';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { buildProfilePackage } from '../src/asn1/saip.js';
import { decodeServerSigned1, encodeServerSigned1 } from '../src/asn1/sgp22/authentication.js';
import { AuthenticateErrorCodeValue } from '../src/asn1/sgp22/authentication.js';
import { createCi, createDpAuth } from '../src/crypto/pki.js';
import type { SoftEuicc } from '../src/euicc/card.js';
import { downloadProfile, runningDownloads, type DownloadOptions } from '../src/lpa/download.js';
import { getProfilesInfo } from '../src/lpa/index.js';
import { Es10DownloadError, LpaCheckError, LpaError, ResultCode, mapFailure, statusCodeToResultCode, type MappingContext } from '../src/lpa/result-codes.js';
import { Es9pResponseError } from '../src/lpa/es9p.js';
import { getProfileMetadata } from '../src/lpa/metadata.js';
import { registerEs2p } from '../src/smdp/es2p.js';
import { request } from 'undici';
import { fromBase64, toBase64 } from '../src/util/hex.js';
import { Es9pProxy, failedStatus, type Json } from './support/es9p-proxy.js';
import { loopbackResolve, lpaFailure, pendingCount, startTestSmdp, statusOf, type TestSmdp } from './support/smdp.js';


let t: TestSmdp;
let proxy: Es9pProxy;

beforeAll(async () => {
  t = await startTestSmdp({ curve: 'P-256', register: registerEs2p() });
  proxy = await Es9pProxy.start({ tls: t.identity.tls, caPem: t.ci.certPem, targetPort: t.server.port });
  // the SM-DP+ answers for the proxy's address: activation codes, serverSigned1.serverAddress
  t.server.es9p.address = proxy.address;
});

afterAll(async () => {
  await proxy?.close();
  await t?.close();
});

beforeEach(() => {
  proxy.clear();
  proxy.calls.length = 0;
});

function opts(card: SoftEuicc, o: Partial<DownloadOptions>): DownloadOptions {
  return {
    transport: new VirtualTransport(card),
    trust: t.trust,
    http: { resolve: loopbackResolve },
    timeouts: { connectMs: 3000, requestMs: 10_000, overallMs: 30_000 },
    ...o,
  };
}

let iccidSeq = 500;
function order(o: { eid?: string } = {}): { iccid: string; activationCode: string } {
  const iccid = `89049032${String(iccidSeq++).padStart(11, '0')}`;
  t.server.inventory.addProfile(buildProfilePackage({ iccid }), { serviceProviderName: 'esimkit', profileName: `faults ${iccid}` });
  const { matchingId } = t.server.inventory.createOrder({ iccid, ...(o.eid !== undefined && { eid: o.eid }) });
  return { iccid, activationCode: t.server.activationCode(matchingId) };
}

async function profileCount(card: SoftEuicc): Promise<number> {
  return (await ApduChannel.with(new VirtualTransport(card), {}, (ch) => getProfilesInfo(ch))).length;
}

/** A card with one profile installed already (so that "count unchanged" is not trivially 0). */
async function cardWithOneProfile(): Promise<SoftEuicc> {
  const card = t.newCard();
  const { activationCode } = order();
  await downloadProfile(opts(card, { activationCode }));
  return card;
}

/**
 * Run one download under a fault, expect `code`, then check: nothing installed, no pending notification,
 * the profile not installed on the server, and a following download on the same card succeeds.
 */
async function provoke(
  code: ResultCode,
  setup: (card: SoftEuicc) => void | Promise<void>,
  o: { download?: (card: SoftEuicc) => Partial<DownloadOptions>; ctx?: MappingContext } = {},
): Promise<LpaError> {
  const card = await cardWithOneProfile();
  const before = await profileCount(card);
  const pendingBefore = await pendingCount(card);
  const target = order();
  await setup(card);
  const e = await lpaFailure(downloadProfile(opts(card, o.download ? o.download(card) : { activationCode: target.activationCode })));
  expect({ code: e.resultCode, reason: e.reason }).toMatchObject({ code });
  // the thrown code is the one mapping's answer for the cause
  expect(mapFailure(e.cause, o.ctx ?? {}).resultCode).toBe(code);
  proxy.clear();
  expect(await profileCount(card)).toBe(before);
  expect(await pendingCount(card)).toBe(pendingBefore);
  expect(t.server.inventory.profileState(target.iccid)).not.toBe('installed');
  expect(runningDownloads()).toEqual([]);
  // no RSP session left on the card (CancelSession or an error answer ended it) ...
  const session = card.runtime.session;
  expect({ auth: session.auth, download: session.download, bpp: session.bpp }).toEqual({ auth: undefined, download: undefined, bpp: undefined });
  // ... and the next download works
  const next = order();
  const r = await downloadProfile(opts(card, { activationCode: next.activationCode }));
  expect(r.iccid).toBe(next.iccid);
  expect(r.notificationSent).toBe(true);
  expect(await profileCount(card)).toBe(before + 1);
  return e;
}

/** A Failed status from `fn`, expected code from the one mapping and equal to `code`. */
async function failedFrom(fn: string, subject: string, reason: string, code: ResultCode, ctx: MappingContext = {}): Promise<LpaError> {
  expect(statusCodeToResultCode(subject, reason, { matchingIdSent: true, ...ctx })).toBe(code);
  const e = await provoke(code, () => void proxy.on(fn, { replace: () => failedStatus(subject, reason) }), { ctx: { matchingIdSent: true, ...ctx } });
  expect(e.reason).toBe(`${fn} ${subject}/${reason}`);
  expect(proxy.calls.some((c) => c.fn === fn && c.tampered)).toBe(true);
  return e;
}

function flipLastByte(b64: string): string {
  const b = fromBase64(b64);
  b[b.length - 1] = b[b.length - 1]! ^ 0x01;
  return toBase64(b);
}

describe('the proxy itself', () => {
  it('forwards a download unchanged (ICCID on the card, install notification acknowledged)', async () => {
    const card = t.newCard();
    const { iccid, activationCode } = order();
    const r = await downloadProfile(opts(card, { activationCode }));
    expect(r.iccid).toBe(iccid);
    expect(r.notificationSent).toBe(true);
    expect(proxy.functions()).toEqual(['initiateAuthentication', 'authenticateClient', 'getBoundProfilePackage', 'handleNotification']);
    expect(proxy.calls.every((c) => !c.tampered)).toBe(true);
    expect(t.server.inventory.receivedNotifications().some((n) => n.iccid === iccid && n.event === 'install' && n.success === true)).toBe(true);
  });
});

describe('download faults provoked for real: one ResultCode each, nothing installed, no session left', () => {
  // ---------------------------------------------------------------- 210 AUTHENTICATION_FAILED
  it('210: serverSignature1 corrupted → the card answers AuthenticateServer invalidSignature', async () => {
    const e = await provoke(ResultCode.RESULT_AUTHENTICATION_FAILED, () => {
      proxy.on('initiateAuthentication', { rewrite: (j) => ({ ...j, serverSignature1: flipLastByte(j['serverSignature1'] as string) }) });
    });
    expect(e.cause).toBeInstanceOf(Es10DownloadError);
    expect((e.cause as Es10DownloadError).code).toBe(AuthenticateErrorCodeValue.invalidSignature);
  });

  it('210: serverSigned1 carries another euiccChallenge → the LPA check stops before the card', async () => {
    const e = await provoke(ResultCode.RESULT_AUTHENTICATION_FAILED, () => {
      proxy.on('initiateAuthentication', {
        rewrite: (j) => {
          const s1 = decodeServerSigned1(fromBase64(j['serverSigned1'] as string));
          const ch = Uint8Array.from(s1.euiccChallenge);
          ch[0] = ch[0]! ^ 0xff;
          return { ...j, serverSigned1: toBase64(encodeServerSigned1({ ...s1, euiccChallenge: ch })) };
        },
      });
    });
    expect((e.cause as LpaCheckError).check).toBe('euicc-challenge');
  });

  // ---------------------------------------------------------------- 215 TRANSACTION_ID_INVALID
  it('215: initiateAuthentication answers another transactionId than the signed one', async () => {
    const e = await provoke(ResultCode.RESULT_TRANSACTION_ID_INVALID, () => {
      proxy.on('initiateAuthentication', { rewrite: (j) => ({ ...j, transactionId: 'DEADBEEF' }) });
    });
    expect((e.cause as LpaCheckError).check).toBe('transaction-id');
  });

  it('215: authenticateClient answers another transactionId (after AuthenticateServer: both sessions cancelled)', async () => {
    const sessions = t.server.inventory.sessionCount();
    const e = await provoke(ResultCode.RESULT_TRANSACTION_ID_INVALID, () => {
      proxy.on('authenticateClient', { rewrite: (j) => ({ ...j, transactionId: 'DEADBEEF' }) });
    });
    expect((e.cause as LpaCheckError).check).toBe('transaction-id');
    expect(proxy.functions()).toContain('cancelSession');
    expect(t.server.inventory.sessionCount()).toBe(sessions);
  });

  // ---------------------------------------------------------------- 228 / 229
  it('228: serverSigned1 undecodable', async () => {
    const e = await provoke(ResultCode.RESULT_ANALYZE_AUTHENTICATION_SERVER_RESPONSE_FAILED, () => {
      proxy.on('initiateAuthentication', { rewrite: (j) => ({ ...j, serverSigned1: toBase64(Uint8Array.of(0x30, 0x03, 0x80, 0x01)) }) });
    });
    expect(e.cause).toBeInstanceOf(Es9pResponseError);
    expect((e.cause as Es9pResponseError).field).toBe('serverSigned1');
  });

  it('229: profileMetadata not base64 / undecodable; smdpSigned2 undecodable', async () => {
    const rewrites: [string, (j: Json) => Json][] = [
      ['profileMetadata', (j) => ({ ...j, profileMetadata: '%%not base64%%' })],
      ['profileMetadata', (j) => ({ ...j, profileMetadata: toBase64(Uint8Array.of(0xbf, 0x25, 0x02, 0x5a, 0x00)) })],
      ['smdpSigned2', (j) => ({ ...j, smdpSigned2: toBase64(Uint8Array.of(0x30, 0x02, 0x80, 0x00)) })],
    ];
    for (const [field, rw] of rewrites) {
      const e = await provoke(ResultCode.RESULT_ANALYZE_AUTHENTICATION_CLIENT_RESPONSE_FAILED, () => void proxy.on('authenticateClient', { rewrite: rw }));
      expect(e.cause).toBeInstanceOf(Es9pResponseError);
      expect((e.cause as Es9pResponseError).field).toBe(field);
    }
  });

  // ---------------------------------------------------------------- status codes from the SM-DP+
  it('233: authenticateClient Failed 8.2.5/4.3 (profile type / PPR refused by the SM-DP+)', async () => {
    await failedFrom('authenticateClient', '8.2.5', '4.3', ResultCode.RESULT_PROFILE_TYPE_ERROR_AUTHENTICATION_STOPPED);
  });

  it('249: authenticateClient Failed 8.2/1.2 and 8.2.1/3.8 (refused by the carrier server)', async () => {
    await failedFrom('authenticateClient', '8.2', '1.2', ResultCode.RESULT_CARRIER_SERVER_REFUSED_ERRORS);
    await failedFrom('authenticateClient', '8.2.1', '3.8', ResultCode.RESULT_CARRIER_SERVER_REFUSED_ERRORS);
  });

  it('214: initiateAuthentication Failed 8.8.5/4.10', async () => {
    await failedFrom('initiateAuthentication', '8.8.5', '4.10', ResultCode.RESULT_NO_PROFILE_ON_SERVER);
  });

  it('214: no matchingId and no order for the EID — the real SM-DP+ answers 8.2.6/3.8', async () => {
    expect(statusCodeToResultCode('8.2.6', '3.8', { matchingIdSent: false })).toBe(ResultCode.RESULT_NO_PROFILE_ON_SERVER);
    const e = await provoke(ResultCode.RESULT_NO_PROFILE_ON_SERVER, () => undefined, {
      download: () => ({ smdpAddress: proxy.address }),
      ctx: { matchingIdSent: false },
    });
    expect(e.reason).toBe('authenticateClient 8.2.6/3.8');
    expect(proxy.calls.every((c) => !c.tampered)).toBe(true);
  });

  it('284: the order is bound to another EID — the real SM-DP+ answers 8.1.1/3.8', async () => {
    expect(statusCodeToResultCode('8.1.1', '3.8')).toBe(ResultCode.RESULT_PROFILE_EID_INVALID);
    let other: { iccid: string; activationCode: string } | undefined;
    const e = await provoke(
      ResultCode.RESULT_PROFILE_EID_INVALID,
      () => {
        other = order({ eid: t.newCard().eid });
      },
      { download: () => ({ activationCode: other!.activationCode }) },
    );
    expect(e.reason).toBe('authenticateClient 8.1.1/3.8');
    expect(t.server.inventory.profileState(other!.iccid)).not.toBe('installed');
    expect(proxy.calls.every((c) => !c.tampered)).toBe(true);
  });

  it('284: authenticateClient Failed 8.1.1/3.8 injected', async () => {
    await failedFrom('authenticateClient', '8.1.1', '3.8', ResultCode.RESULT_PROFILE_EID_INVALID);
  });

  // ---------------------------------------------------------------- 217 GET_BOUND_PROFILE_PACKAGE_FAILED
  it('217: getBoundProfilePackage Failed 8.2/3.7 (after PrepareDownload: both sessions cancelled)', async () => {
    const e = await failedFrom('getBoundProfilePackage', '8.2', '3.7', ResultCode.RESULT_GET_BOUND_PROFILE_PACKAGE_FAILED);
    expect(e.reason).toBe('getBoundProfilePackage 8.2/3.7');
    expect(proxy.functions()).toContain('cancelSession');
  });

  it('217: getBoundProfilePackage without boundProfilePackage', async () => {
    const e = await provoke(ResultCode.RESULT_GET_BOUND_PROFILE_PACKAGE_FAILED, () => {
      proxy.on('getBoundProfilePackage', {
        rewrite: (j) => {
          const { boundProfilePackage: _drop, ...rest } = j;
          return rest;
        },
      });
    });
    expect(e.cause).toBeInstanceOf(Es9pResponseError);
    expect((e.cause as Es9pResponseError).field).toBe('boundProfilePackage');
  });

  // ---------------------------------------------------------------- 251 CERTIFICATE_INVALID
  it('251: a CERT.DPauth from another CI → the card answers AuthenticateServer invalidCertificate', async () => {
    const otherCi = createCi({ curve: 'P-256' });
    const foreign = createDpAuth(otherCi, { curve: 'P-256' });
    const e = await provoke(ResultCode.RESULT_CERTIFICATE_INVALID, () => {
      proxy.on('initiateAuthentication', { rewrite: (j) => ({ ...j, serverCertificate: toBase64(foreign.certDer) }) });
    });
    expect(e.cause).toBeInstanceOf(Es10DownloadError);
    expect([AuthenticateErrorCodeValue.invalidCertificate, AuthenticateErrorCodeValue.ciPKUnknown]).toContain((e.cause as Es10DownloadError).code);
  });

  it('251: authenticateClient Failed 8.1.2/6.1 (EUM certificate refused)', async () => {
    await failedFrom('authenticateClient', '8.1.2', '6.1', ResultCode.RESULT_CERTIFICATE_INVALID);
  });

  // ---------------------------------------------------------------- 203 ACTIVATION_CODE_CHANGED
  it('203: the operator re-points the previewed matchingId to another profile (ES2+ cancelOrder, downloadOrder + confirmOrder)', async () => {
    const card = await cardWithOneProfile();
    const before = await profileCount(card);
    const a = addProfile();
    const b = addProfile();
    const matchingId = `REPOINT-${a.slice(-6)}`;
    await es2ok('downloadOrder', { iccid: a });
    expect(await es2ok('confirmOrder', { iccid: a, matchingId, releaseFlag: true })).toMatchObject({ matchingId });
    const activationCode = t.server.activationCode(matchingId);
    const preview = await getProfileMetadata(opts(card, { activationCode }));
    expect(preview.metadata.iccid).toBe(a);

    // the operator changes what the activation code points to
    await es2ok('cancelOrder', { iccid: a, matchingId, finalProfileStatusIndicator: 'Available' });
    await es2ok('downloadOrder', { iccid: b });
    expect(await es2ok('confirmOrder', { iccid: b, matchingId, releaseFlag: true })).toMatchObject({ matchingId });

    proxy.calls.length = 0;
    const sessions = t.server.inventory.sessionCount();
    const e = await lpaFailure(downloadProfile(opts(card, { activationCode, expectedIccid: preview.metadata.iccid })));
    expect({ code: e.resultCode, reason: e.reason }).toEqual({ code: ResultCode.RESULT_ACTIVATION_CODE_CHANGED, reason: 'check metadata-changed' });
    expect(mapFailure(e.cause).resultCode).toBe(ResultCode.RESULT_ACTIVATION_CODE_CHANGED);
    expect(e.message).toContain(b);
    // stopped right after authenticateClient; ES9+ cancelSession (metadataMismatch) reached the SM-DP+
    expect(proxy.functions()).toEqual(['initiateAuthentication', 'authenticateClient', 'cancelSession']);
    expect(t.server.inventory.sessionCount()).toBe(sessions);
    // nothing installed, no notification, no session on the card
    expect(await profileCount(card)).toBe(before);
    expect(await pendingCount(card)).toBe(0);
    expect({ auth: card.runtime.session.auth, download: card.runtime.session.download }).toEqual({ auth: undefined, download: undefined });
    expect(runningDownloads()).toEqual([]);
    // the server's order is still usable: the user previews the new profile and downloads it
    expect(t.server.inventory.order(matchingId)).toMatchObject({ state: 'active', iccid: b });
    expect(t.server.inventory.profileState(b)).toBe('released');
    expect(t.server.inventory.profileState(a)).toBe('available');
    const again = await getProfileMetadata(opts(card, { activationCode }));
    expect(again.metadata.iccid).toBe(b);
    const r = await downloadProfile(opts(card, { activationCode, expectedIccid: again.metadata.iccid }));
    expect(r.iccid).toBe(b);
    expect(r.notificationSent).toBe(true);
    expect(await profileCount(card)).toBe(before + 1);
    expect(t.server.inventory.profileState(b)).toBe('installed');
  });

  it('203: the default SM-DP+ (no matchingId) offers another profile for the EID than the one previewed', async () => {
    const card = t.newCard();
    const a = addProfile();
    const b = addProfile();
    await es2ok('downloadOrder', { iccid: a, eid: card.eid });
    await es2ok('confirmOrder', { iccid: a, eid: card.eid, matchingId: '', releaseFlag: true });
    const preview = await getProfileMetadata(opts(card, { smdpAddress: proxy.address }));
    expect(preview.metadata.iccid).toBe(a);
    await es2ok('cancelOrder', { iccid: a, eid: card.eid, finalProfileStatusIndicator: 'Unavailable' });
    await es2ok('downloadOrder', { iccid: b, eid: card.eid });
    await es2ok('confirmOrder', { iccid: b, eid: card.eid, matchingId: '', releaseFlag: true });

    const e = await lpaFailure(downloadProfile(opts(card, { smdpAddress: proxy.address, expectedIccid: a })));
    expect(e.resultCode).toBe(ResultCode.RESULT_ACTIVATION_CODE_CHANGED);
    expect(await profileCount(card)).toBe(0);
    expect(card.runtime.session.auth).toBeUndefined();
    expect(t.server.inventory.profileState(b)).toBe('released');
    const r = await downloadProfile(opts(card, { smdpAddress: proxy.address, expectedIccid: b }));
    expect(r.iccid).toBe(b);
  });
});

function addProfile(): string {
  const iccid = `89049032${String(iccidSeq++).padStart(11, '0')}`;
  t.server.inventory.addProfile(buildProfilePackage({ iccid }), { serviceProviderName: 'esimkit', profileName: `faults ${iccid}` });
  return iccid;
}

/** One ES2+ call to the real SM-DP+ over HTTPS (TLS verified against the test CI); expects success. */
async function es2ok(fn: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await request(`${t.url}/gsma/rsp2/es2plus/${fn}`, {
    method: 'POST',
    dispatcher: t.dispatcher,
    headers: { 'content-type': 'application/json', 'x-admin-protocol': 'gsma/rsp/v2.2.0' },
    body: JSON.stringify({ header: { functionRequesterIdentifier: 'operator', functionCallIdentifier: `${fn}-${Date.now()}` }, ...body }),
  });
  expect(r.statusCode).toBe(200);
  const j = (await r.body.json()) as Record<string, unknown>;
  expect([fn, statusOf(j)]).toEqual([fn, { status: 'Executed-Success' }]);
  return j;
}
