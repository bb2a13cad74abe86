/**
 * ES9+ function logic: every check with its subject/reason code, driven by a software eUICC through
 * APDUs (test-only import of src/euicc), without HTTP.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeAuthenticateServerResponse,
  decodeServerSigned1,
  decodeSmdpSigned2,
  encodeAuthenticateServerRequest,
  encodeAuthenticateServerResponse,
  encodeEuiccSigned1,
  encodePrepareDownloadRequest,
  decodePrepareDownloadResponse,
  encodePrepareDownloadResponse,
  euiccSignature2Input,
  type AuthenticateResponseOk,
} from '../asn1/sgp22/authentication.js';
import { encodeCancelSessionRequest, encodeCancelSessionResponse, encodeEuiccCancelSessionSigned } from '../asn1/sgp22/cancel-session.js';
import { encodeEUICCInfo1, encodeGetEuiccChallengeRequest, encodeGetEuiccInfo1Request, decodeEUICCInfo1, decodeGetEuiccChallengeResponse } from '../asn1/sgp22/euicc-info.js';
import { decodeProfileInstallationResult } from '../asn1/sgp22/notifications.js';
import { decodeTlv } from '../asn1/tlv.js';
import { signRaw, privateKeyFromPem } from '../crypto/ecdsa.js';
import { createEum } from '../crypto/pki.js';
import { SoftEuicc } from '../euicc/card.js';
import { createIdentity, type EuiccIdentity } from '../euicc/identity.js';
import { es10 } from '../../test/support/card-driver.js';
import { loadBpp } from '../../test/support/download.js';
import { HAVE_REFERENCE, refPath } from '../../test/support/reference.js';
import { sgp26EuiccIdentity } from '../../test/support/smdp.js';
import { fromBase64, fromHex, toBase64 } from '../util/hex.js';
import { Es9pService, type Es9pResult } from './es9p.js';
import { createSmdpIdentity, loadSgp26SmdpIdentity, type SmdpIdentity } from './identity.js';
import { SmdpInventory } from './inventory.js';
import { computeHashCc } from './signing.js';

const ADDR = 'smdp.test.example:8443';
const UPP = HAVE_REFERENCE ? new Uint8Array(readFileSync(refPath('ts48', 'TS48V2-SAIP2-1-BERTLV-UNIQUE.der'))) : new Uint8Array(0);

function codes(r: Es9pResult): string {
  if (r.httpStatus === 204) return '204';
  const f = r.body.header.functionExecutionStatus;
  return f.status === 'Executed-Success' ? 'ok' : `${f.statusCodeData?.subjectCode}/${f.statusCodeData?.reasonCode}`;
}
function body(r: Es9pResult): Record<string, unknown> {
  if (r.httpStatus !== 200) throw new Error('no body');
  return r.body;
}

interface Env {
  svc: Es9pService;
  inv: SmdpInventory;
  id: SmdpIdentity;
  newCard(eid?: string): { card: SoftEuicc; identity: EuiccIdentity };
}
const open: (SoftEuicc | SmdpInventory)[] = [];
afterEach(() => {
  for (const x of open.splice(0)) x.close();
});

function env(opts: { now?: () => Date; retries?: number } = {}): Env {
  const s = createSmdpIdentity({ address: ADDR });
  const { ci, ...id } = s;
  const eum = createEum(ci);
  const inv = new SmdpInventory(':memory:', opts.now ? { now: () => opts.now!().getTime() } : {});
  open.push(inv);
  const svc = new Es9pService({ identity: id, inventory: inv, ...(opts.now && { now: opts.now }), confirmationCodeRetries: opts.retries ?? 3 });
  return {
    svc,
    inv,
    id,
    newCard(eid) {
      const { identity } = createIdentity({ ci, eum, ...(eid !== undefined && { eid }) });
      const card = SoftEuicc.create(':memory:', { identity });
      open.push(card);
      return { card, identity };
    },
  };
}

function iaBody(card: SoftEuicc, address = ADDR, info1?: Uint8Array): Record<string, unknown> {
  const ch = decodeGetEuiccChallengeResponse(es10(card, encodeGetEuiccChallengeRequest())).euiccChallenge;
  return { euiccChallenge: toBase64(ch), euiccInfo1: toBase64(info1 ?? es10(card, encodeGetEuiccInfo1Request())), smdpAddress: address };
}

async function authenticate(e: Env, card: SoftEuicc, matchingId?: string): Promise<{ tid: string; asr: Uint8Array }> {
  const ia = body(await e.svc.handle('initiateAuthentication', iaBody(card)));
  const tid = ia['transactionId'] as string;
  const asr = es10(
    card,
    encodeAuthenticateServerRequest({
      serverSigned1: decodeServerSigned1(fromBase64(ia['serverSigned1'] as string)),
      serverSignature1: decodeTlv(fromBase64(ia['serverSignature1'] as string)).value,
      euiccCiPKIdToBeUsed: decodeTlv(fromBase64(ia['euiccCiPKIdToBeUsed'] as string)).value,
      serverCertificate: fromBase64(ia['serverCertificate'] as string),
      ctxParams1: {
        kind: 'ctxParamsForCommonAuthentication',
        ...(matchingId !== undefined && { matchingId }),
        deviceInfo: { tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11), deviceCapabilities: {} },
      },
    }),
  );
  return { tid, asr };
}

async function authClient(e: Env, card: SoftEuicc, matchingId?: string): Promise<{ tid: string; r: Es9pResult }> {
  const { tid, asr } = await authenticate(e, card, matchingId);
  return { tid, r: await e.svc.handle('authenticateClient', { transactionId: tid, authenticateServerResponse: toBase64(asr) }) };
}

function prepare(card: SoftEuicc, ac: Record<string, unknown>, tid: string, cc?: string): Uint8Array {
  const smdpSigned2 = decodeSmdpSigned2(fromBase64(ac['smdpSigned2'] as string));
  return es10(
    card,
    encodePrepareDownloadRequest({
      smdpSigned2,
      smdpSignature2: decodeTlv(fromBase64(ac['smdpSignature2'] as string)).value,
      ...(cc !== undefined && { hashCc: computeHashCc(cc, fromHex(tid)) }),
      smdpCertificate: fromBase64(ac['smdpCertificate'] as string),
    }),
  );
}

describe.skipIf(!HAVE_REFERENCE)('Es9pService', () => {
  describe('initiateAuthentication', () => {
    it('refuses another SM-DP+ address (8.8.1/3.8), accepts ours case-insensitively', async () => {
      const e = env();
      const { card } = e.newCard();
      expect(codes(await e.svc.handle('initiateAuthentication', iaBody(card, 'other.example')))).toBe('8.8.1/3.8');
      expect(codes(await e.svc.handle('initiateAuthentication', iaBody(card, ADDR.toUpperCase())))).toBe('ok');
    });
    it('refuses SVN 3.x (8.8.3/3.1), unknown signing PKIDs (8.8.2/3.1), no verification PKID (8.8.4/3.7)', async () => {
      const e = env();
      const { card } = e.newCard();
      const info1 = decodeEUICCInfo1(es10(card, encodeGetEuiccInfo1Request()));
      const other = new Uint8Array(20).fill(7);
      const v3 = encodeEUICCInfo1({ ...info1, svn: '3.0.0' });
      expect(codes(await e.svc.handle('initiateAuthentication', iaBody(card, ADDR, v3)))).toBe('8.8.3/3.1');
      const noSign = encodeEUICCInfo1({ ...info1, euiccCiPKIdListForSigning: [other] });
      expect(codes(await e.svc.handle('initiateAuthentication', iaBody(card, ADDR, noSign)))).toBe('8.8.2/3.1');
      const noVerify = encodeEUICCInfo1({ ...info1, euiccCiPKIdListForVerification: [other] });
      expect(codes(await e.svc.handle('initiateAuthentication', iaBody(card, ADDR, noVerify)))).toBe('8.8.4/3.7');
    });
    it('answers the JSON fields of SGP22-NOTES §5.1', async () => {
      const e = env();
      const { card } = e.newCard();
      const b = body(await e.svc.handle('initiateAuthentication', iaBody(card)));
      expect(b['transactionId']).toMatch(/^[0-9A-F]{32}$/);
      expect(fromBase64(b['serverSignature1'] as string).slice(0, 3)).toEqual(Uint8Array.of(0x5f, 0x37, 0x40));
      expect(fromBase64(b['euiccCiPKIdToBeUsed'] as string).slice(0, 2)).toEqual(Uint8Array.of(0x04, 0x14));
      expect(fromBase64(b['serverCertificate'] as string)).toEqual(e.id.dpAuth.certDer);
      expect(codes(await e.svc.handle('initiateAuthentication', { smdpAddress: ADDR }))).toBe('1.3.1/2.2');
    });
  });

  describe('authenticateClient', () => {
    it('unknown transactionId → 8.10.1/3.9', async () => {
      const e = env();
      const { card } = e.newCard();
      const { asr } = await authenticate(e, card, 'X');
      expect(codes(await e.svc.handle('authenticateClient', { transactionId: '00112233', authenticateServerResponse: toBase64(asr) }))).toBe('8.10.1/3.9');
    });
    it('matchingId refused, EID mismatch, not released, expired, retries exceeded', async () => {
      let now = new Date('2030-01-01T00:00:00Z').getTime();
      const e = env({ now: () => new Date(now) });
      const { card } = e.newCard();
      const { iccid } = e.inv.addProfile(UPP, {});
      expect(codes((await authClient(e, card, 'NOPE')).r)).toBe('8.2.6/3.8');
      expect(codes((await authClient(e, card)).r)).toBe('8.2.6/3.8'); // no matchingId, no order for the EID
      const other = e.newCard();
      const o1 = e.inv.createOrder({ iccid, eid: other.card.eid });
      expect(codes((await authClient(e, card, o1.matchingId)).r)).toBe('8.1.1/3.8');
      e.inv.cancelOrder({ iccid, finalProfileStatusIndicator: 'Available' });
      const o2 = e.inv.createOrder({ iccid, release: false });
      expect(codes((await authClient(e, card, o2.matchingId)).r)).toBe('8.2/1.2');
      e.inv.cancelOrder({ iccid, finalProfileStatusIndicator: 'Available' });
      const o3 = e.inv.createOrder({ iccid, expiresAt: now + 1000 });
      now += 2000;
      expect(codes((await authClient(e, card, o3.matchingId)).r)).toBe('8.8.5/4.10');
      e.inv.cancelOrder({ iccid, finalProfileStatusIndicator: 'Available' });
      const o4 = e.inv.createOrder({ iccid, maxAttempts: 1 });
      expect(codes((await authClient(e, card, o4.matchingId)).r)).toBe('ok');
      expect(codes((await authClient(e, card, o4.matchingId)).r)).toBe('8.8.5/6.4');
    });
    it('the default SM-DP+ case: no matchingId finds the order of the EID', async () => {
      const e = env();
      const { card } = e.newCard();
      const { iccid } = e.inv.addProfile(UPP, {});
      e.inv.createOrder({ iccid, eid: card.eid, matchingId: '' });
      const { r } = await authClient(e, card);
      expect(codes(r)).toBe('ok');
    });
    it('a bad euiccSignature1 → 8.1/6.1; a retried identical request gets the same answer', async () => {
      const e = env();
      const { card } = e.newCard();
      const { iccid } = e.inv.addProfile(UPP, {});
      const { matchingId } = e.inv.createOrder({ iccid });
      const { tid, asr } = await authenticate(e, card, matchingId);
      const ok = decodeAuthenticateServerResponse(asr) as AuthenticateResponseOk;
      const sig = ok.euiccSignature1.slice();
      sig[10] = sig[10]! ^ 1;
      const bad = encodeAuthenticateServerResponse({ ...ok, euiccSignature1: sig });
      expect(codes(await e.svc.handle('authenticateClient', { transactionId: tid, authenticateServerResponse: toBase64(bad) }))).toBe('8.1/6.1');
      // the session ended with the failure
      expect(codes(await e.svc.handle('authenticateClient', { transactionId: tid, authenticateServerResponse: toBase64(asr) }))).toBe('8.10.1/3.9');
      const again = await authenticate(e, card, matchingId);
      const r1 = await e.svc.handle('authenticateClient', { transactionId: again.tid, authenticateServerResponse: toBase64(again.asr) });
      const r2 = await e.svc.handle('authenticateClient', { transactionId: again.tid, authenticateServerResponse: toBase64(again.asr) });
      expect(codes(r1)).toBe('ok');
      expect(r2).toEqual(r1);
    });
    it('not enough eUICC memory → 8.1/4.8', async () => {
      const e = env();
      const { card } = e.newCard();
      const tiny = SoftEuicc.create(':memory:', { identity: card.runtime.identity, config: { totalMemory: 4000 } });
      open.push(tiny);
      const { iccid } = e.inv.addProfile(UPP, {});
      const { matchingId } = e.inv.createOrder({ iccid });
      expect(codes((await authClient(e, tiny, matchingId)).r)).toBe('8.1/4.8');
    });
  });

  describe('getBoundProfilePackage', () => {
    it('builds a BPP the card installs; a retry in the same session returns the same package', async () => {
      const e = env();
      const { card } = e.newCard();
      const { iccid } = e.inv.addProfile(UPP, { serviceProviderName: 'SPN', profileName: 'Name' });
      const { matchingId } = e.inv.createOrder({ iccid });
      const { tid, r } = await authClient(e, card, matchingId);
      const pd = prepare(card, body(r), tid);
      const g1 = body(await e.svc.handle('getBoundProfilePackage', { transactionId: tid, prepareDownloadResponse: toBase64(pd) }));
      const g2 = body(await e.svc.handle('getBoundProfilePackage', { transactionId: tid, prepareDownloadResponse: toBase64(pd) }));
      expect(g2['boundProfilePackage']).toBe(g1['boundProfilePackage']);
      expect(e.inv.profileState(iccid)).toBe('downloaded');
      const { pir } = loadBpp(card, fromBase64(g2['boundProfilePackage'] as string));
      const res = decodeProfileInstallationResult(pir);
      expect(res.profileInstallationResultData.finalResult.kind).toBe('successResult');
      expect(await e.svc.handle('handleNotification', { pendingNotification: toBase64(pir) })).toEqual({ httpStatus: 204 });
      expect(e.inv.profileState(iccid)).toBe('installed');
      expect(e.inv.sessionCount()).toBe(0);
    });
    it('confirmation code: missing 8.2.7/2.2, wrong 8.2.7/3.8, limit 8.2.7/6.4; never stored in clear', async () => {
      const e = env({ retries: 2 });
      const { card, identity } = e.newCard();
      const { iccid } = e.inv.addProfile(UPP, {});
      const { matchingId } = e.inv.createOrder({ iccid, confirmationCode: '123456', maxAttempts: 10 });
      const dump = JSON.stringify(e.inv.db.prepare('SELECT * FROM orders').all(), (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v));
      expect(dump).not.toContain('123456');
      const step = async (cc?: string): Promise<string> => {
        const { tid, r } = await authClient(e, card, matchingId);
        const b = body(r);
        expect(decodeSmdpSigned2(fromBase64(b['smdpSigned2'] as string)).ccRequiredFlag).toBe(true);
        const pd = prepare(card, b, tid, cc);
        return codes(await e.svc.handle('getBoundProfilePackage', { transactionId: tid, prepareDownloadResponse: toBase64(pd) }));
      };
      // a (non-compliant) eUICC that leaves hashCc out: re-signed with its own key
      {
        const { tid, r } = await authClient(e, card, matchingId);
        const b = body(r);
        const pd = decodePrepareDownloadResponse(prepare(card, b, tid, 'x'));
        if (pd.kind !== 'downloadResponseOk') throw new Error('PrepareDownload failed');
        const { hashCc: _h, raw: _r, ...s2 } = pd.euiccSigned2;
        const smdpSig2 = decodeTlv(fromBase64(b['smdpSignature2'] as string)).value;
        const forged = encodePrepareDownloadResponse({
          kind: 'downloadResponseOk',
          euiccSigned2: s2,
          euiccSignature2: identity.sign(euiccSignature2Input(s2, smdpSig2)),
        });
        expect(codes(await e.svc.handle('getBoundProfilePackage', { transactionId: tid, prepareDownloadResponse: toBase64(forged) }))).toBe('8.2.7/2.2');
      }
      expect(await step('654321')).toBe('8.2.7/3.8');
      expect(await step('123456')).toBe('ok');
      e.inv.releaseAfterCancel(iccid, true);
      expect(await step('000000')).toBe('8.2.7/6.4');
      expect(e.inv.profileState(iccid)).toBe('error');
    });
    it('a bad euiccSignature2 → 8.1/6.1; unknown transactionId → 8.10.1/3.9', async () => {
      const e = env();
      const { card } = e.newCard();
      const { iccid } = e.inv.addProfile(UPP, {});
      const { matchingId } = e.inv.createOrder({ iccid });
      const { tid, r } = await authClient(e, card, matchingId);
      const pd = prepare(card, body(r), tid);
      const bad = pd.slice();
      bad[bad.length - 5] = bad[bad.length - 5]! ^ 1;
      expect(codes(await e.svc.handle('getBoundProfilePackage', { transactionId: 'AB', prepareDownloadResponse: toBase64(pd) }))).toBe('8.10.1/3.9');
      expect(codes(await e.svc.handle('getBoundProfilePackage', { transactionId: tid, prepareDownloadResponse: toBase64(bad) }))).toBe('8.1/6.1');
      expect(e.inv.profileState(iccid)).toBe('released');
    });
  });

  describe('cancelSession', () => {
    it('verifies the signed BF41, releases the profile for postponed, ends the order for endUserRejection', async () => {
      const e = env();
      const { card, identity } = e.newCard();
      const { iccid } = e.inv.addProfile(UPP, {});
      const { matchingId } = e.inv.createOrder({ iccid });
      // wrong SM-DP+ OID (signed by the eUICC key) → 8.8/3.10
      let a = await authClient(e, card, matchingId);
      const signed = { transactionId: fromHex(a.tid), smdpOid: '2.999.99', reason: 1 };
      const forged = encodeCancelSessionResponse({
        kind: 'cancelSessionResponseOk',
        euiccCancelSessionSigned: signed,
        euiccCancelSessionSignature: identity.sign(encodeEuiccCancelSessionSigned(signed)),
      });
      expect(codes(await e.svc.handle('cancelSession', { transactionId: a.tid, cancelSessionResponse: toBase64(forged) }))).toBe('8.8/3.10');
      // the real one from the card, reason postponed(1)
      const csr = es10(card, encodeCancelSessionRequest({ transactionId: fromHex(a.tid), reason: 1 }));
      const bad = csr.slice();
      bad[bad.length - 3] = bad[bad.length - 3]! ^ 1;
      expect(codes(await e.svc.handle('cancelSession', { transactionId: a.tid, cancelSessionResponse: toBase64(bad) }))).toBe('8.1/6.1');
      expect(codes(await e.svc.handle('cancelSession', { transactionId: a.tid, cancelSessionResponse: toBase64(csr) }))).toBe('ok');
      expect(codes(await e.svc.handle('cancelSession', { transactionId: a.tid, cancelSessionResponse: toBase64(csr) }))).toBe('8.10.1/3.9');
      expect(e.inv.profileState(iccid)).toBe('released');
      a = await authClient(e, card, matchingId);
      const csr0 = es10(card, encodeCancelSessionRequest({ transactionId: fromHex(a.tid), reason: 0 }));
      expect(codes(await e.svc.handle('cancelSession', { transactionId: a.tid, cancelSessionResponse: toBase64(csr0) }))).toBe('ok');
      expect(e.inv.profileState(iccid)).toBe('error');
      expect(codes((await authClient(e, card, matchingId)).r)).toBe('8.2.6/3.8');
    });
  });

  describe('handleNotification', () => {
    it('always 204; an unverifiable PIR is kept as unverified and changes nothing', async () => {
      const e = env();
      expect(await e.svc.handle('handleNotification', { pendingNotification: toBase64(Uint8Array.of(0xbf, 0x37, 0x00)) })).toEqual({ httpStatus: 204 });
      expect(e.inv.receivedNotifications({ includeUnverified: true })).toEqual([]);
    });
  });
});

// ------------------------------------------------------------------------------------ SGP.26 identities

describe.skipIf(!HAVE_REFERENCE)('SGP.26 identities', () => {
  let id: SmdpIdentity;
  beforeAll(() => {
    const { ci: _ci, ...rest } = loadSgp26SmdpIdentity({ dir: refPath('sgp26'), address: ADDR, tlsHost: 'localhost' });
    id = rest;
  });

  function sgp26Env(): Env {
    const inv = new SmdpInventory(':memory:');
    open.push(inv);
    return {
      svc: new Es9pService({ identity: id, inventory: inv }),
      inv,
      id,
      newCard() {
        const identity = sgp26EuiccIdentity();
        const card = SoftEuicc.create(':memory:', { identity });
        open.push(card);
        return { card, identity };
      },
    };
  }

  it('a download with the SGP.26 eUICC against the SGP.26 DPauth/DPpb (fresh DPtls from SK_CI)', async () => {
    const e = sgp26Env();
    const { card } = e.newCard();
    const { iccid } = e.inv.addProfile(UPP, {});
    const { matchingId } = e.inv.createOrder({ iccid });
    const { tid, r } = await authClient(e, card, matchingId);
    expect(codes(r)).toBe('ok');
    const pd = prepare(card, body(r), tid);
    const g = body(await e.svc.handle('getBoundProfilePackage', { transactionId: tid, prepareDownloadResponse: toBase64(pd) }));
    const { pir } = loadBpp(card, fromBase64(g['boundProfilePackage'] as string));
    expect(decodeProfileInstallationResult(pir).profileInstallationResultData.finalResult.kind).toBe('successResult');
    await e.svc.handle('handleNotification', { pendingNotification: toBase64(pir) });
    expect(e.inv.profileState(iccid)).toBe('installed');
    expect(id.tls.certPem).toContain('BEGIN CERTIFICATE');
  });

  const key = (): ReturnType<typeof privateKeyFromPem> => privateKeyFromPem(readFileSync(refPath('sgp26', 'eUICC', 'SK_EUICC_ECDSA_NIST.pem'), 'latin1'));
  const inv = (f: string): Uint8Array => new Uint8Array(readFileSync(refPath('sgp26', 'InvalidTestCases', f)));
  const cases: { name: string; euicc?: string; eum?: string; code: string }[] = [
    { name: 'self-signed EUM', eum: 'CERT_EUM_ECDSA_NIST_INVALID.der', code: '8.1.2/6.1' },
    { name: 'expired EUM', eum: 'CERT_EUM_ECDSA_NIST_EXPIRED.der', code: '8.1.2/6.3' },
    { name: 'EUM from an unknown CI', eum: 'CERT_EUM_ECDSA_NIST_UNKNOWN_CI.der', code: '8.11.1/3.9' },
    { name: 'self-signed eUICC', euicc: 'CERT_EUICC_ECDSA_NIST_INVALID.der', code: '8.1.3/6.1' },
    { name: 'expired eUICC', euicc: 'CERT_EUICC_ECDSA_NIST_EXPIRED.der', code: '8.1.3/6.3' },
    { name: 'EID outside the EUM range', euicc: 'CERT_EUICC_ECDSA_NIST_INVALID_EID.der', code: '8.1.3/6.1' },
    { name: 'EID not the order’s', euicc: 'CERT_EUICC_ECDSA_NIST_UNMATCHED_EID.der', code: '8.1.1/3.8' },
  ];
  for (const c of cases) {
    it(`authenticateClient rejects the SGP.26 invalid certificate: ${c.name} → ${c.code}`, async () => {
      const e = sgp26Env();
      const { card } = e.newCard();
      const { iccid } = e.inv.addProfile(UPP, {});
      const { matchingId } = e.inv.createOrder({ iccid, eid: card.eid });
      const { tid, asr } = await authenticate(e, card, matchingId);
      const ok = decodeAuthenticateServerResponse(asr) as AuthenticateResponseOk;
      const euiccSignature1 = signRaw(key(), encodeEuiccSigned1(ok.euiccSigned1));
      const forged = encodeAuthenticateServerResponse({
        ...ok,
        euiccSignature1,
        ...(c.euicc && { euiccCertificate: inv(c.euicc) }),
        ...(c.eum && { eumCertificate: inv(c.eum) }),
      });
      const r = await e.svc.handle('authenticateClient', { transactionId: tid, authenticateServerResponse: toBase64(forged) });
      expect(codes(r)).toBe(c.code);
      expect(e.inv.profileState(iccid)).toBe('released');
      expect(e.inv.sessionCount()).toBe(0);
    });
  }
  it('the re-signed response with the genuine certificates is accepted (control)', async () => {
    const e = sgp26Env();
    const { card } = e.newCard();
    const { iccid } = e.inv.addProfile(UPP, {});
    const { matchingId } = e.inv.createOrder({ iccid, eid: card.eid });
    const { tid, asr } = await authenticate(e, card, matchingId);
    const ok = decodeAuthenticateServerResponse(asr) as AuthenticateResponseOk;
    const forged = encodeAuthenticateServerResponse({ ...ok, euiccSignature1: signRaw(key(), encodeEuiccSigned1(ok.euiccSigned1)) });
    expect(codes(await e.svc.handle('authenticateClient', { transactionId: tid, authenticateServerResponse: toBase64(forged) }))).toBe('ok');
  });
});
