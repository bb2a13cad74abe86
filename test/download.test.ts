/**
 * End to end, both ends real: the LPA download flow (src/lpa/download.ts) with a SoftEuicc over
 * VirtualTransport (APDUs) against the reference SM-DP+ (src/smdp/server.ts) over HTTPS on 127.0.0.1.
 *
 * Successes: esimkit's own profile package and every TS.48 profile, on P-256 and brainpoolP256r1, ending
 * with the ICCID listed on the card and the install notification acknowledged by the server.
 * Failures: each ResultCode a download can produce for real, with nothing installed afterwards and no
 * session left on the card.
 */
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApduChannel } from '../src/apdu/channel.js';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { buildProfilePackage } from '../src/asn1/saip.js';
import { encodePlmn } from '../src/lpa/es10-util.js';
import type { Curve } from '../src/crypto/ecdsa.js';
import { createCi, createDpTls } from '../src/crypto/pki.js';
import type { SoftEuicc } from '../src/euicc/card.js';
import { setRat } from '../src/euicc/rat.js';
import { cancelDownload, downloadProfile, runningDownloads, type DownloadOptions, type DownloadProgress } from '../src/lpa/download.js';
import { getProfilesInfo } from '../src/lpa/index.js';
import { describeWithReference, HAVE_REFERENCE } from './support/reference.js';
import { cardIccids, loopbackResolve, lpaFailure, pendingCount, startTestSmdp, TS48_FILES, type TestSmdp } from './support/smdp.js';


function opts(t: TestSmdp, card: SoftEuicc, o: Partial<DownloadOptions>): DownloadOptions {
  return {
    transport: new VirtualTransport(card),
    trust: t.trust,
    http: { resolve: loopbackResolve },
    timeouts: { connectMs: 3000, requestMs: 10_000, overallMs: 30_000 },
    ...o,
  };
}

let iccidSeq = 100;
function ownProfile(t: TestSmdp, metadata: Parameters<TestSmdp['server']['inventory']['addProfile']>[1] = {}, padToSize?: number): string {
  const iccid = `89049032${String(iccidSeq++).padStart(11, '0')}`;
  const upp = buildProfilePackage({ iccid, ...(padToSize !== undefined && { padToSize }) });
  return t.server.inventory.addProfile(upp, { serviceProviderName: 'esimkit', profileName: `own ${iccid}`, ...metadata }).iccid;
}

const CURVES: Curve[] = ['P-256', 'brainpoolP256r1'];

for (const curve of CURVES) {
  describe(`download on ${curve}`, () => {
    let t: TestSmdp;
    beforeAll(async () => {
      t = await startTestSmdp({ curve, confirmationCodeRetries: 2 });
    });
    afterAll(async () => {
      await t?.close();
    });

    it("esimkit's own profile: progress, ICCID on the card, install notification acknowledged and removed", async () => {
      const iccid = ownProfile(t);
      const { matchingId } = t.server.inventory.createOrder({ iccid });
      const card = t.newCard();
      const events: DownloadProgress[] = [];
      let previewed: string | undefined;
      const r = await downloadProfile(
        opts(t, card, {
          activationCode: t.server.activationCode(matchingId),
          onProgress: (e) => events.push(e),
          onMetadata: (m) => {
            previewed = m.iccid;
            return true;
          },
        }),
      );
      expect(r.iccid).toBe(iccid);
      expect(previewed).toBe(iccid);
      expect(r.notificationSent).toBe(true);
      expect(await cardIccids(card)).toEqual([iccid]);
      expect(await pendingCount(card)).toBe(0);
      const n = t.server.inventory.receivedNotifications().filter((x) => x.iccid === iccid);
      expect(n).toHaveLength(1);
      expect(n[0]).toMatchObject({ event: 'install', success: true, eid: card.eid });
      expect(t.server.inventory.profileState(iccid)).toBe('installed');
      // progress: authenticating → downloading → installing 0..m/m → notifying, with the transactionId
      const steps = events.map((e) => e.step);
      expect(steps[0]).toBe('authenticating');
      expect(steps).toContain('downloading');
      expect(steps.at(-1)).toBe('notifying');
      const inst = events.filter((e) => e.step === 'installing');
      expect(inst.length).toBeGreaterThan(2);
      expect(inst.at(-1)!.done).toBe(inst.at(-1)!.total);
      expect(events.filter((e) => e.step !== 'authenticating').every((e) => e.transactionId === r.transactionId)).toBe(true);
      expect(runningDownloads()).toEqual([]);
    });

    it('address + matchingId instead of an activation code, with enableAfterDownload', async () => {
      const iccid = ownProfile(t);
      const { matchingId } = t.server.inventory.createOrder({ iccid });
      const card = t.newCard();
      const r = await downloadProfile(opts(t, card, { smdpAddress: t.address, matchingId, enableAfterDownload: true }));
      expect(r.enable).toEqual({ result: 'ok', code: 0 });
      const p = await ApduChannel.with(new VirtualTransport(card), {}, (ch) => getProfilesInfo(ch));
      expect(p.map((x) => [x.iccid, x.state])).toEqual([[iccid, 'enabled']]);
    });

    it('with a confirmation code', async () => {
      const iccid = ownProfile(t);
      const { matchingId } = t.server.inventory.createOrder({ iccid, confirmationCode: '4711' });
      const card = t.newCard();
      const r = await downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId, true), confirmationCode: '4711' }));
      expect(r.iccid).toBe(iccid);
      expect(await cardIccids(card)).toEqual([iccid]);
    });

    describeWithReference(`TS.48 profiles (${curve})`, () => {
      for (const file of TS48_FILES) {
        it(file, async () => {
          const { iccid } = t.addTs48(file);
          const { matchingId } = t.server.inventory.createOrder({ iccid });
          const card = t.newCard();
          const r = await downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId) }));
          expect(r.iccid).toBe(iccid);
          expect(await cardIccids(card)).toEqual([iccid]);
          expect(t.server.inventory.receivedNotifications().some((n) => n.iccid === iccid && n.event === 'install' && n.success === true)).toBe(true);
          expect(await pendingCount(card)).toBe(0);
        });
      }
    });
  });
}

describe('download failures: one ResultCode each, nothing installed', () => {
  let t: TestSmdp;
  beforeAll(async () => {
    t = await startTestSmdp({ confirmationCodeRetries: 2 });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Nothing installed, no pending notification, and the card has no RSP session left (a new download works). */
  async function clean(card: SoftEuicc): Promise<void> {
    expect(await cardIccids(card)).toEqual([]);
    expect(await pendingCount(card)).toBe(0);
    const iccid = ownProfile(t);
    const { matchingId } = t.server.inventory.createOrder({ iccid });
    const r = await downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId) }));
    expect(await cardIccids(card)).toEqual([r.iccid]);
  }

  it('204 ACTIVATION_CODE_INVALID: malformed activation code', async () => {
    const card = t.newCard();
    const e = await lpaFailure(downloadProfile(opts(t, card, { activationCode: 'LPA:2$x$y' })));
    expect(e.resultCode).toBe(204);
    expect(await cardIccids(card)).toEqual([]);
  });

  it('205 SMDP_ADDRESS_INVALID: no address; a name that does not resolve', async () => {
    const card = t.newCard();
    expect((await lpaFailure(downloadProfile(opts(t, card, {})))).resultCode).toBe(205);
    const e = await lpaFailure(downloadProfile(opts(t, card, { smdpAddress: 'no-such-smdp.invalid', matchingId: 'X', http: {} })));
    expect(e.resultCode).toBe(205);
    expect(await cardIccids(card)).toEqual([]);
  });

  it('216 SERVER_ADDRESS_INVALID: the SM-DP+ refuses an address that is not its own (8.8.1/3.8)', async () => {
    const card = t.newCard();
    const port = t.server.port;
    // the same server under "localhost." (same host for DNS and TLS, another SM-DP+ address string)
    const e = await lpaFailure(downloadProfile(opts(t, card, { smdpAddress: `localhost.:${port}`, matchingId: 'M1', http: { resolve: () => '127.0.0.1' } })));
    expect(e.resultCode).toBe(216);
    expect(e.reason).toBe('initiateAuthentication 8.8.1/3.8');
    await clean(card);
  });

  it('208 CERTIFICATE_IO_ERROR: the SM-DP+ TLS certificate does not chain to the trusted CI', async () => {
    const card = t.newCard();
    const iccid = ownProfile(t);
    const { matchingId } = t.server.inventory.createOrder({ iccid });
    const e = await lpaFailure(downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId), trust: { ciCertificates: [createCi().certDer] } })));
    expect(e.resultCode).toBe(208);
    expect(t.server.inventory.profileState(iccid)).not.toBe('installed');
    await clean(card);
  });

  it('220 SERVER_UNAVAILABLE: connection refused', async () => {
    const srv = createNetServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const card = t.newCard();
    const e = await lpaFailure(downloadProfile(opts(t, card, { smdpAddress: `localhost:${port}`, matchingId: 'X' })));
    expect(e.resultCode).toBe(220);
    expect(await cardIccids(card)).toEqual([]);
  });

  it('209 CERTIFICATE_RESPONSE_TIMEOUT: TCP accepted, no TLS handshake', async () => {
    const sockets: import('node:net').Socket[] = [];
    const srv = createNetServer((s) => sockets.push(s));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    try {
      const card = t.newCard();
      const e = await lpaFailure(downloadProfile(opts(t, card, { smdpAddress: `localhost:${port}`, matchingId: 'X', timeouts: { connectMs: 200, requestMs: 5000 } })));
      expect(e.resultCode).toBe(209);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('211 RESPONSE_HTTP_FAILED (HTTP 500) and 207 TLS_HANDSHAKE_FAILED (TLS 1.3 only) from a trusted server', async () => {
    const tls = createDpTls(t.ci, 'localhost');
    const key = tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    for (const [extra, code] of [[{}, 211], [{ minVersion: 'TLSv1.3' as const }, 207]] as const) {
      const srv = createHttpsServer({ cert: tls.certPem, key, ...extra }, (_q, res) => {
        res.writeHead(500);
        res.end('oops');
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      try {
        const card = t.newCard();
        const e = await lpaFailure(downloadProfile(opts(t, card, { smdpAddress: `localhost:${(srv.address() as AddressInfo).port}`, matchingId: 'X' })));
        expect(e.resultCode).toBe(code);
        expect(await cardIccids(card)).toEqual([]);
      } finally {
        srv.closeAllConnections();
        await new Promise<void>((r) => srv.close(() => r()));
      }
    }
  });

  it('231 MATCHING_ID_REFUSED: unknown matchingId (8.2.6/3.8)', async () => {
    const card = t.newCard();
    const e = await lpaFailure(downloadProfile(opts(t, card, { smdpAddress: t.address, matchingId: 'NO-SUCH-ORDER' })));
    expect(e.resultCode).toBe(231);
    await clean(card);
  });

  it('-2 SOLVABLE_ERRORS: a confirmation code is required and none given (CancelSession postponed)', async () => {
    const iccid = ownProfile(t);
    const { matchingId } = t.server.inventory.createOrder({ iccid, confirmationCode: '1234' });
    const card = t.newCard();
    const e = await lpaFailure(downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId, true) })));
    expect(e.resultCode).toBe(-2);
    expect(t.server.inventory.profileState(iccid)).not.toBe('installed');
    expect(await cardIccids(card)).toEqual([]);
    // the sessions were cancelled with postponed on both ends: the same order can be retried with the code
    const r = await downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId, true), confirmationCode: '1234' }));
    expect(await cardIccids(card)).toEqual([r.iccid]);
    expect(r.iccid).toBe(iccid);
  });

  it('212 CONFIRMATION_CODE_INCORRECT, then 213 EXCEEDED_CONFIRMATION_CODE_TRY_LIMIT', async () => {
    const iccid = ownProfile(t);
    const { matchingId } = t.server.inventory.createOrder({ iccid, confirmationCode: '1234' });
    const card = t.newCard();
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const e = await lpaFailure(downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId, true), confirmationCode: '9999' })));
      codes.push(e.resultCode);
      if (e.resultCode === 213) break;
    }
    expect(codes[0]).toBe(212);
    expect(codes.at(-1)).toBe(213);
    expect(t.server.inventory.profileState(iccid)).not.toBe('installed');
    await clean(card);
  });

  it('218 USER_CANCEL_DOWNLOAD: the user declines the metadata; an AbortSignal; cancelDownload(transactionId)', async () => {
    const card = t.newCard();
    const sessionsBefore = t.server.inventory.sessionCount();
    for (const mode of ['decline', 'signal', 'registry'] as const) {
      const iccid = ownProfile(t);
      const { matchingId } = t.server.inventory.createOrder({ iccid });
      const ac = new AbortController();
      let cancelled = false;
      const e = await lpaFailure(
        downloadProfile(
          opts(t, card, {
            activationCode: t.server.activationCode(matchingId),
            signal: ac.signal,
            onMetadata: () => mode !== 'decline',
            onProgress: (p) => {
              if (p.step === 'installing' && p.done === 1 && !cancelled) {
                cancelled = true;
                if (mode === 'signal') ac.abort();
                if (mode === 'registry') expect(cancelDownload(p.transactionId!)).toBe(true);
              }
            },
          }),
        ),
      );
      expect([mode, e.resultCode]).toEqual([mode, 218]);
      expect(t.server.inventory.profileState(iccid)).not.toBe('installed');
      expect(await cardIccids(card)).toEqual([]);
    }
    expect(cancelDownload('00')).toBe(false);
    // ES9+ cancelSession reached the SM-DP+: no session left behind
    expect(t.server.inventory.sessionCount()).toBe(sessionsBefore);
    await clean(card);
  });

  it('218 with the canceller\'s reason: postponed (a number or {cancelReason} as the abort reason) keeps the order, endUserRejection ends it', async () => {
    const card = t.newCard();
    const cancelWith = async (iccid: string, matchingId: string, how: 'registry-postponed' | 'signal-postponed' | 'signal-object-postponed' | 'registry-default') => {
      const ac = new AbortController();
      let cancelled = false;
      const e = await lpaFailure(
        downloadProfile(
          opts(t, card, {
            activationCode: t.server.activationCode(matchingId),
            signal: ac.signal,
            onProgress: (p) => {
              if (p.step === 'downloading' && !cancelled) {
                cancelled = true;
                if (how === 'registry-postponed') expect(cancelDownload(p.transactionId!, 1)).toBe(true);
                if (how === 'registry-default') expect(cancelDownload(p.transactionId!)).toBe(true);
                if (how === 'signal-postponed') ac.abort(1);
                if (how === 'signal-object-postponed') ac.abort({ cancelReason: 1 });
              }
            },
          }),
        ),
      );
      expect([how, e.resultCode]).toEqual([how, 218]);
      expect(await cardIccids(card)).not.toContain(iccid);
      expect(t.server.inventory.profileState(iccid)).not.toBe('installed');
    };
    for (const how of ['registry-postponed', 'signal-postponed', 'signal-object-postponed'] as const) {
      const iccid = ownProfile(t);
      const { matchingId } = t.server.inventory.createOrder({ iccid });
      await cancelWith(iccid, matchingId, how);
      // postponed: the SM-DP+ keeps the order, the same activation code downloads afterwards
      const r = await downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId) }));
      expect([how, r.iccid]).toEqual([how, iccid]);
      expect(await cardIccids(card)).toContain(iccid);
    }
    // endUserRejection (the default): the order is over, a second attempt is refused
    const iccid = ownProfile(t);
    const { matchingId } = t.server.inventory.createOrder({ iccid });
    await cancelWith(iccid, matchingId, 'registry-default');
    const again = await lpaFailure(downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId) })));
    expect(again.resultCode).not.toBe(0);
    expect(await cardIccids(card)).not.toContain(iccid);
    expect(() => cancelDownload('00', 99)).not.toThrow(); // unknown transaction: false before the reason is looked at
  });

  it('287 DOWNLOAD_TIMEOUT: the card does not answer a LoadBoundProfilePackage segment in time', async () => {
    const iccid = ownProfile(t);
    const { matchingId } = t.server.inventory.createOrder({ iccid });
    const card = t.newCard();
    card.faults.add({ match: { es10Tag: 0xbf36, nth: 1 }, action: { kind: 'delay', ms: 400 } });
    const e = await lpaFailure(downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId), channelOptions: { timeoutMs: 150 } })));
    expect(e.resultCode).toBe(287);
    await new Promise((r) => setTimeout(r, 450));
    card.faults.clear();
    expect(await cardIccids(card)).toEqual([]);
    await clean(card);
  });

  it('263 OUT_OF_MEMORY: a card with little memory', async () => {
    const iccid = ownProfile(t, {}, 6000);
    const { matchingId } = t.server.inventory.createOrder({ iccid });
    const card = t.newCard({ config: { totalMemory: 2500 } });
    const e = await lpaFailure(downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId) })));
    expect(e.resultCode).toBe(263);
    expect(await cardIccids(card)).toEqual([]);
  });

  it('268 PPR_FORBIDDEN: a profile with ppr2 and a RAT without a rule for it; 276 PPR_NOT_MATCH: a rule for another operator', async () => {
    const owner = { mccMnc: encodePlmn({ mcc: '001', mnc: '01' }) };
    const card = t.newCard();
    // RAT: ppr1 for operator 999/99 only; nothing for ppr2
    setRat(card.runtime.store, [
      { pprIds: [1], allowedOperators: [{ mccMnc: encodePlmn({ mcc: '999', mnc: '99' }) }], pprFlags: [] },
    ]);
    const a = ownProfile(t, { profilePolicyRules: [2], profileOwner: owner });
    const e1 = await lpaFailure(downloadProfile(opts(t, card, { activationCode: t.server.activationCode(t.server.inventory.createOrder({ iccid: a }).matchingId) })));
    expect(e1.resultCode).toBe(268);
    const b = ownProfile(t, { profilePolicyRules: [1], profileOwner: owner });
    const e2 = await lpaFailure(downloadProfile(opts(t, card, { activationCode: t.server.activationCode(t.server.inventory.createOrder({ iccid: b }).matchingId) })));
    expect(e2.resultCode).toBe(276);
    expect(await cardIccids(card)).toEqual([]);
    expect(t.server.inventory.profileState(a)).not.toBe('installed');
  });

  it('-2 then success: a PPR rule with consentRequired needs pprConsent', async () => {
    const owner = { mccMnc: encodePlmn({ mcc: '001', mnc: '01' }) };
    const card = t.newCard(); // default RAT: ppr1/ppr2 for any operator, consent required
    const a = ownProfile(t, { profilePolicyRules: [1], profileOwner: owner });
    const { matchingId } = t.server.inventory.createOrder({ iccid: a });
    const e = await lpaFailure(downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId) })));
    expect(e.resultCode).toBe(-2);
    const r = await downloadProfile(opts(t, card, { activationCode: t.server.activationCode(matchingId), pprConsent: true }));
    expect(r.metadata.policyRules).toEqual(['ppr1']);
    expect(await cardIccids(card)).toEqual([a]);
  });

  it('226 SMDP_ADDRESS_INCORRECT: the activation code names another SM-DP+ OID', async () => {
    const iccid = ownProfile(t);
    const { matchingId } = t.server.inventory.createOrder({ iccid });
    const card = t.newCard();
    const e = await lpaFailure(downloadProfile(opts(t, card, { activationCode: `LPA:1$${t.address}$${matchingId}$1.2.3.4` })));
    expect(e.resultCode).toBe(226);
    await clean(card);
  });
});

it('the reference material is there when system tests are required', () => {
  if (process.env.ESIM_REQUIRE_SYSTEM_TESTS === '1') expect(HAVE_REFERENCE).toBe(true);
  else expect(typeof HAVE_REFERENCE).toBe('boolean');
});
