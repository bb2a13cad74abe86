/**
 * End to end, both ends real: the LPA download flow (src/lpa/download.ts) with a SoftEuicc over
 * VirtualTransport against the reference SM-DP+ over HTTPS on 127.0.0.1, over the matrix
 *
 *   curve: P-256, brainpoolP256r1  ×  ReplaceSessionKeys: on, off  ×  identities: test PKI, SGP.26
 *
 * (SGP.26: the card is the SGP.26 eUICC — CERT_EUICC/EUM/CI of ../shared/reference/sgp26 — and the server
 * uses the SGP.26 DPauth/DPpb with a fresh DPtls issued from SK_CI; skipped visibly without the reference
 * material, failing under ESIM_REQUIRE_SYSTEM_TESTS=1.)
 *
 * Each download ends with the ICCID on the card, the install notification acknowledged by the server and
 * removed from the card; the BPP the server issued is checked to carry (or not) ReplaceSessionKeys (A2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApduTransport } from '../src/apdu/transport.js';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { buildProfilePackage } from '../src/asn1/saip.js';
import type { Curve } from '../src/crypto/ecdsa.js';
import type { SoftEuicc } from '../src/euicc/card.js';
import { downloadProfile, type DownloadProgress } from '../src/lpa/download.js';
import { describeWithReference } from './support/reference.js';
import { cardIccids, loopbackResolve, pendingCount, startTestSmdp, TS48_FILES, type TestSmdp } from './support/smdp.js';

const CURVES: Curve[] = ['P-256', 'brainpoolP256r1'];
const RSK = [true, false] as const;

let iccidSeq = 700;

/**
 * Download `iccid` (already in the inventory) onto a new card and check everything: ICCID on the card,
 * install notification acknowledged (server) and removed (card), profile installed on the server, and
 * the issued BPP with / without ReplaceSessionKeys.
 */
async function downloadAndCheck(t: TestSmdp, iccid: string, rsk: boolean, onCard?: SoftEuicc): Promise<SoftEuicc> {
  const { matchingId } = t.server.inventory.createOrder({ iccid });
  const card = onCard ?? t.newCard();
  const before = await cardIccids(card);
  // the first byte of each BPP segment as the card received it (first STORE DATA block: P2 = 0, short Lc)
  const segmentTags: number[] = [];
  const inner = new VirtualTransport(card);
  const transport: ApduTransport = {
    capabilities: inner.capabilities,
    transmit: (apdu, o) => {
      if (apdu[1] === 0xe2 && apdu[3] === 0x00 && apdu.length > 5) segmentTags.push(apdu[5]!);
      return inner.transmit(apdu, o);
    },
    close: () => inner.close(),
  };
  let installing = false;
  const onProgress = (e: DownloadProgress): void => {
    if (e.step === 'installing') installing = true;
  };
  const r = await downloadProfile({
    transport,
    trust: t.trust,
    http: { resolve: loopbackResolve },
    timeouts: { connectMs: 3000, requestMs: 10_000, overallMs: 30_000 },
    activationCode: t.server.activationCode(matchingId),
    onProgress,
  });
  expect(r.iccid).toBe(iccid);
  expect(r.notificationSent).toBe(true);
  expect(r.isdpAid).toMatch(/^[0-9A-F]{32}$/);
  expect(await cardIccids(card)).toEqual([...before, iccid].sort());
  expect(await pendingCount(card)).toBe(0);
  const n = t.server.inventory.receivedNotifications().filter((x) => x.iccid === iccid);
  expect(n).toHaveLength(1);
  expect(n[0]).toMatchObject({ event: 'install', success: true, eid: card.eid });
  expect(t.server.inventory.profileState(iccid)).toBe('installed');
  expect(installing).toBe(true);
  expect(segmentTags).toContain(0xbf); // BF36 BF23 (InitialiseSecureChannel)
  expect(segmentTags.includes(0xa2)).toBe(rsk); // ReplaceSessionKeys present exactly with rsk
  return card;
}

function ownProfile(t: TestSmdp): string {
  const iccid = `89049032${String(iccidSeq++).padStart(11, '0')}`;
  return t.server.inventory.addProfile(buildProfilePackage({ iccid }), { serviceProviderName: 'esimkit', profileName: `matrix ${iccid}` }).iccid;
}

for (const curve of CURVES) {
  for (const rsk of RSK) {
    describe(`test PKI, ${curve}, ReplaceSessionKeys ${rsk ? 'on' : 'off'}`, () => {
      let t: TestSmdp;
      beforeAll(async () => {
        t = await startTestSmdp({ curve, replaceSessionKeys: rsk });
      });
      afterAll(async () => {
        await t?.close();
      });

      it("esimkit's own profile", async () => {
        await downloadAndCheck(t, ownProfile(t), rsk);
      });

      describeWithReference(`TS.48 (${curve}, RSK ${rsk ? 'on' : 'off'})`, () => {
        it(TS48_FILES[0], async () => {
          await downloadAndCheck(t, t.addTs48(TS48_FILES[0]).iccid, rsk);
        });
      });
    });
  }
}

describeWithReference('SGP.26 identities (card: SGP.26 eUICC; server: SGP.26 DPauth/DPpb, fresh DPtls from SK_CI)', () => {
  for (const curve of CURVES) {
    for (const rsk of RSK) {
      describe(`SGP.26, ${curve}, ReplaceSessionKeys ${rsk ? 'on' : 'off'}`, () => {
        let t: TestSmdp;
        beforeAll(async () => {
          t = await startTestSmdp({ curve, sgp26: true, replaceSessionKeys: rsk });
        });
        afterAll(async () => {
          await t?.close();
        });

        // one card for both downloads: every SGP.26 eUICC has the same EID, and the server keeps a
        // notification once per (EID, seqNumber, event) — two fresh cards would both send seqNumber 1
        let card: SoftEuicc | undefined;

        it("esimkit's own profile onto the SGP.26 eUICC", async () => {
          expect(t.eum).toBeUndefined(); // newCard gives the SGP.26 eUICC
          card = await downloadAndCheck(t, ownProfile(t), rsk);
          expect(card.eid).toMatch(/^89/);
        });

        it(`${TS48_FILES[1]} onto the same SGP.26 eUICC`, async () => {
          await downloadAndCheck(t, t.addTs48(TS48_FILES[1]).iccid, rsk, card ?? t.newCard());
        });
      });
    }
  }
});
