/**
 * End to end, both ends real: the profile metadata flow (src/lpa/metadata.ts getProfileMetadata) with a
 * SoftEuicc over VirtualTransport against the reference SM-DP+ over HTTPS on 127.0.0.1 (and, for the
 * ES9+ faults, through the test/support/es9p-proxy.ts man-in-the-middle).
 *
 * Checked every time: nothing installed, no pending notification, no RSP session left on the card (the
 * ES10b CancelSession ended it), no session left on the SM-DP+ (ES9+ cancelSession reached it); and what
 * the SM-DP+ did with the order for the cancel reason: postponed / timeout keep it downloadable,
 * endUserRejection / pprNotAllowed end it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApduChannel } from '../src/apdu/channel.js';
import type { ApduTransport } from '../src/apdu/transport.js';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { buildProfilePackage } from '../src/asn1/saip.js';
import { CancelSessionReasonValue } from '../src/asn1/sgp22/cancel-session.js';
import type { SoftEuicc } from '../src/euicc/card.js';
import { resultFault } from '../src/euicc/faults.js';
import { setRat } from '../src/euicc/rat.js';
import { downloadProfile, runningDownloads, type DownloadOptions } from '../src/lpa/download.js';
import { encodePlmn } from '../src/lpa/es10-util.js';
import { getProfileMetadata, getProfilesInfo, listNotifications, mapFailure, type MetadataOptions } from '../src/lpa/index.js';
import { Es10DownloadError, statusCodeToResultCode } from '../src/lpa/result-codes.js';
import { Es9pProxy, failedStatus } from './support/es9p-proxy.js';
import { loopbackResolve, lpaFailure, startTestSmdp, type TestSmdp } from './support/smdp.js';

const owner = { mccMnc: encodePlmn({ mcc: '001', mnc: '01' }) };

let t: TestSmdp;

beforeAll(async () => {
  t = await startTestSmdp({ curve: 'P-256' });
});
afterAll(async () => {
  await t?.close();
});

/** Options for getProfileMetadata and (with the download-only fields) downloadProfile. */
function opts(card: SoftEuicc, o: Partial<MetadataOptions & DownloadOptions>): MetadataOptions & DownloadOptions {
  return {
    transport: new VirtualTransport(card),
    trust: t.trust,
    http: { resolve: loopbackResolve },
    timeouts: { connectMs: 3000, requestMs: 10_000, overallMs: 30_000 },
    ...o,
  };
}

let iccidSeq = 700;
function order(metadata: Parameters<TestSmdp['server']['inventory']['addProfile']>[1] = {}, o: { confirmationCode?: string } = {}): { iccid: string; matchingId: string; activationCode: string } {
  const iccid = `89049032${String(iccidSeq++).padStart(11, '0')}`;
  t.server.inventory.addProfile(buildProfilePackage({ iccid }), { serviceProviderName: 'esimkit', profileName: `preview ${iccid}`, ...metadata });
  const { matchingId } = t.server.inventory.createOrder({ iccid, ...o });
  return { iccid, matchingId, activationCode: t.server.activationCode(matchingId, o.confirmationCode !== undefined) };
}

/** `profiles` profiles installed (default none), nothing pending, no RSP session on the card, none registered in this process. */
async function cardClean(card: SoftEuicc, profiles = 0): Promise<void> {
  const list = await ApduChannel.with(new VirtualTransport(card), {}, (ch) => getProfilesInfo(ch));
  expect(list).toHaveLength(profiles);
  expect(await ApduChannel.with(new VirtualTransport(card), {}, (ch) => listNotifications(ch))).toHaveLength(0);
  const s = card.runtime.session;
  expect({ auth: s.auth, download: s.download, bpp: s.bpp }).toEqual({ auth: undefined, download: undefined, bpp: undefined });
  expect(runningDownloads()).toEqual([]);
}

describe('getProfileMetadata against the reference SM-DP+', () => {
  it('previews an order (postponed): metadata, both sessions ended, the order still downloadable with expectedIccid', async () => {
    const o = order({ profileClass: 2 });
    const card = t.newCard();
    const sessions = t.server.inventory.sessionCount();
    const r = await getProfileMetadata(opts(card, { activationCode: o.activationCode }));
    expect(r).toMatchObject({ confirmationCodeRequired: false, pprConsentRequired: false, pprs: [] });
    expect(r.transactionId).toMatch(/^[0-9A-F]{2,32}$/);
    expect(r.metadata).toMatchObject({ iccid: o.iccid, serviceProviderName: 'esimkit', profileName: `preview ${o.iccid}`, profileClass: 'operational', policyRules: [] });
    expect(r.metadata.notificationConfigurations).toEqual([{ events: ['notificationEnable', 'notificationDisable', 'notificationDelete'], address: t.address }]);
    expect(r.metadata.raw[0]).toBe(0xbf);
    await cardClean(card);
    // the SM-DP+: session gone, order active, profile still released (postponed keeps it)
    expect(t.server.inventory.sessionCount()).toBe(sessions);
    expect(t.server.inventory.order(o.matchingId)).toMatchObject({ state: 'active', iccid: o.iccid, attempts: 1 });
    expect(t.server.inventory.profileState(o.iccid)).toBe('released');
    // ... and the previewed profile downloads
    const d = await downloadProfile(opts(card, { activationCode: o.activationCode, expectedIccid: r.metadata.iccid }));
    expect(d.iccid).toBe(o.iccid);
    expect(d.notificationSent).toBe(true);
    expect(t.server.inventory.profileState(o.iccid)).toBe('installed');
    await cardClean(card, 1); // the profile, its install notification acknowledged and removed
  });

  it('reports a confirmation code requirement without sending one; the code then downloads', async () => {
    const o = order({}, { confirmationCode: '2468' });
    const card = t.newCard();
    const r = await getProfileMetadata(opts(card, { activationCode: o.activationCode }));
    expect(r.confirmationCodeRequired).toBe(true);
    expect(r.metadata.iccid).toBe(o.iccid);
    expect(t.server.inventory.ccFailures(o.matchingId)).toBe(0);
    await cardClean(card);
    const d = await downloadProfile(opts(card, { activationCode: o.activationCode, confirmationCode: '2468', expectedIccid: o.iccid }));
    expect(d.iccid).toBe(o.iccid);
  });

  it('reports PPRs whose RAT rule needs consent; the download with pprConsent then succeeds', async () => {
    const o = order({ profilePolicyRules: [1], profileOwner: owner });
    const card = t.newCard(); // default RAT: ppr1/ppr2 for any operator, consent required
    const r = await getProfileMetadata(opts(card, { activationCode: o.activationCode }));
    expect(r).toMatchObject({ pprConsentRequired: true, pprs: ['ppr1'], confirmationCodeRequired: false });
    expect(r.metadata.profileOwner).toMatchObject({ mcc: '001', mnc: '01' });
    await cardClean(card);
    expect(t.server.inventory.order(o.matchingId)?.state).toBe('active');
    const d = await downloadProfile(opts(card, { activationCode: o.activationCode, pprConsent: true }));
    expect(d.metadata.policyRules).toEqual(['ppr1']);
  });

  it('268 / 276: PPRs the device does not allow fail like a download (CancelSession pprNotAllowed: the SM-DP+ ends the order)', async () => {
    const card = t.newCard();
    setRat(card.runtime.store, [{ pprIds: [1], allowedOperators: [{ mccMnc: encodePlmn({ mcc: '999', mnc: '99' }) }], pprFlags: [] }]);
    const sessions = t.server.inventory.sessionCount();
    const a = order({ profilePolicyRules: [2], profileOwner: owner });
    const e1 = await lpaFailure(getProfileMetadata(opts(card, { activationCode: a.activationCode })));
    expect({ code: e1.resultCode, reason: e1.reason }).toEqual({ code: 268, reason: 'check ppr-forbidden' });
    const b = order({ profilePolicyRules: [1], profileOwner: owner });
    const e2 = await lpaFailure(getProfileMetadata(opts(card, { activationCode: b.activationCode })));
    expect({ code: e2.resultCode, reason: e2.reason }).toEqual({ code: 276, reason: 'check ppr-not-match' });
    await cardClean(card);
    expect(t.server.inventory.sessionCount()).toBe(sessions);
    for (const x of [a, b]) {
      expect(t.server.inventory.order(x.matchingId)?.state).toBe('cancelled');
      expect(t.server.inventory.profileState(x.iccid)).toBe('error');
    }
  });

  it('cancelReason: timeout(2) keeps the order, endUserRejection(0) ends it (a download then gets 231)', async () => {
    const card = t.newCard();
    const kept = order();
    await getProfileMetadata(opts(card, { activationCode: kept.activationCode, cancelReason: CancelSessionReasonValue.timeout }));
    await cardClean(card);
    expect(t.server.inventory.order(kept.matchingId)?.state).toBe('active');
    expect((await downloadProfile(opts(card, { activationCode: kept.activationCode }))).iccid).toBe(kept.iccid);

    const rejected = order();
    const r = await getProfileMetadata(opts(card, { activationCode: rejected.activationCode, cancelReason: CancelSessionReasonValue.endUserRejection }));
    expect(r.metadata.iccid).toBe(rejected.iccid);
    expect(t.server.inventory.order(rejected.matchingId)?.state).toBe('cancelled');
    expect(t.server.inventory.profileState(rejected.iccid)).toBe('error');
    const e = await lpaFailure(downloadProfile(opts(card, { activationCode: rejected.activationCode })));
    expect({ code: e.resultCode, reason: e.reason }).toEqual({ code: 231, reason: 'authenticateClient 8.2.6/3.8' });
  });

  it('218: cancelled after authenticateClient — ended with cancelReason (postponed), not endUserRejection: the order stays', async () => {
    const o = order({ profilePolicyRules: [1], profileOwner: owner }); // PPRs: the flow reads the RAT after authenticateClient
    const card = t.newCard();
    const sessions = t.server.inventory.sessionCount();
    const ac = new AbortController();
    const inner = new VirtualTransport(card);
    const transport: ApduTransport = {
      capabilities: inner.capabilities,
      async transmit(apdu, options) {
        const r = await inner.transmit(apdu, options);
        if (apdu[1] === 0xe2 && apdu[5] === 0xbf && apdu[6] === 0x43) ac.abort(); // GetRAT: after authenticateClient
        return r;
      },
      close: () => inner.close(),
    };
    const e = await lpaFailure(getProfileMetadata({ ...opts(card, {}), transport, activationCode: o.activationCode, signal: ac.signal }));
    expect({ code: e.resultCode, reason: e.reason }).toEqual({ code: 218, reason: 'check cancelled' });
    await cardClean(card);
    expect(t.server.inventory.sessionCount()).toBe(sessions); // ES9+ cancelSession reached the SM-DP+
    expect(t.server.inventory.order(o.matchingId)?.state).toBe('active');
    expect(t.server.inventory.profileState(o.iccid)).toBe('released');
  });

  it('an invalid cancelReason is a RangeError before the card or the server is touched', async () => {
    const o = order();
    const card = t.newCard();
    const sessions = t.server.inventory.sessionCount();
    for (const cancelReason of [6, -1, 1.5, Number.NaN]) {
      await expect(getProfileMetadata(opts(card, { activationCode: o.activationCode, cancelReason }))).rejects.toThrow(RangeError);
    }
    expect(t.server.inventory.sessionCount()).toBe(sessions);
    expect(t.server.inventory.order(o.matchingId)).toMatchObject({ state: 'active', attempts: 0 });
    await cardClean(card);
  });

  it('failures map through result-codes.ts as for downloads: 204, 205, 231, 218, 287', async () => {
    const card = t.newCard();
    expect((await lpaFailure(getProfileMetadata(opts(card, { activationCode: 'LPA:2$x$y' })))).resultCode).toBe(204);
    expect((await lpaFailure(getProfileMetadata(opts(card, {})))).resultCode).toBe(205);
    const e231 = await lpaFailure(getProfileMetadata(opts(card, { smdpAddress: t.address, matchingId: 'NO-SUCH-ORDER' })));
    expect({ code: e231.resultCode, reason: e231.reason }).toEqual({ code: 231, reason: 'authenticateClient 8.2.6/3.8' });
    expect(mapFailure(e231.cause, { matchingIdSent: true }).resultCode).toBe(231);
    await cardClean(card);

    const o = order();
    const aborted = AbortSignal.abort();
    expect((await lpaFailure(getProfileMetadata(opts(card, { activationCode: o.activationCode, signal: aborted })))).resultCode).toBe(218);

    // the deadline passes while the card computes AuthenticateServer: CancelSession timeout(2) on the card
    card.faults.add({ match: { es10Tag: 0xbf38, nth: 1 }, action: { kind: 'delay', ms: 300 } });
    const e287 = await lpaFailure(getProfileMetadata(opts(card, { activationCode: o.activationCode, timeouts: { connectMs: 3000, requestMs: 10_000, overallMs: 150 } })));
    card.faults.clear();
    expect({ code: e287.resultCode, reason: e287.reason }).toEqual({ code: 287, reason: 'check deadline' });
    await cardClean(card);
    // the order was never authenticated by the SM-DP+: still there for a normal preview
    const r = await getProfileMetadata(opts(card, { activationCode: o.activationCode }));
    expect(r.metadata.iccid).toBe(o.iccid);
  });

  it('400: the card refuses the final CancelSession (undefinedError) — mapped, and the next preview works', async () => {
    const o = order();
    const card = t.newCard();
    card.faults.add(resultFault(0xbf41, 127, { nth: 1 }));
    const e = await lpaFailure(getProfileMetadata(opts(card, { activationCode: o.activationCode })));
    expect(e.resultCode).toBe(400);
    expect(e.cause).toBeInstanceOf(Es10DownloadError);
    expect((e.cause as Es10DownloadError).fn).toBe('CancelSession');
    card.faults.clear();
    // a new GetEUICCChallenge starts afresh; the order is untouched by the SM-DP+ (no cancelSession reached it)
    const r = await getProfileMetadata(opts(card, { activationCode: o.activationCode }));
    expect(r.metadata.iccid).toBe(o.iccid);
    await cardClean(card);
    expect(t.server.inventory.order(o.matchingId)?.state).toBe('active');
  });
});

describe('getProfileMetadata through an ES9+ proxy', () => {
  let proxy: Es9pProxy;
  let address: string;
  beforeAll(async () => {
    proxy = await Es9pProxy.start({ tls: t.identity.tls, caPem: t.ci.certPem, targetPort: t.server.port });
    address = t.server.es9p.address;
    t.server.es9p.address = proxy.address;
  });
  afterAll(async () => {
    t.server.es9p.address = address;
    await proxy?.close();
  });
  beforeEach(() => {
    proxy.clear();
    proxy.calls.length = 0;
  });

  it('calls initiateAuthentication, authenticateClient, cancelSession and nothing else', async () => {
    const o = order();
    const card = t.newCard();
    const r = await getProfileMetadata(opts(card, { activationCode: o.activationCode }));
    expect(r.metadata.iccid).toBe(o.iccid);
    expect(proxy.functions()).toEqual(['initiateAuthentication', 'authenticateClient', 'cancelSession']);
    expect(proxy.calls.every((c) => c.status === 200)).toBe(true);
  });

  it('215: the SM-DP+ refuses cancelSession (8.10.1/3.9) — the card session is ended all the same', async () => {
    expect(statusCodeToResultCode('8.10.1', '3.9')).toBe(215);
    const o = order();
    const card = t.newCard();
    proxy.on('cancelSession', { answer: () => failedStatus('8.10.1', '3.9') });
    const e = await lpaFailure(getProfileMetadata(opts(card, { activationCode: o.activationCode })));
    expect({ code: e.resultCode, reason: e.reason }).toEqual({ code: 215, reason: 'cancelSession 8.10.1/3.9' });
    expect(proxy.functions()).toEqual(['initiateAuthentication', 'authenticateClient', 'cancelSession']);
    await cardClean(card);
  });

  it('229: authenticateClient answers undecodable metadata — CancelSession on the card, ES9+ cancelSession sent', async () => {
    const o = order();
    const card = t.newCard();
    const sessions = t.server.inventory.sessionCount();
    proxy.on('authenticateClient', { rewrite: (j) => ({ ...j, profileMetadata: '%%' }) });
    const e = await lpaFailure(getProfileMetadata(opts(card, { activationCode: o.activationCode })));
    expect(e.resultCode).toBe(229);
    expect(proxy.functions()).toEqual(['initiateAuthentication', 'authenticateClient', 'cancelSession']);
    await cardClean(card);
    expect(t.server.inventory.sessionCount()).toBe(sessions);
    expect(t.server.inventory.order(o.matchingId)?.state).toBe('active'); // undefinedReason(127) keeps it
  });
});
