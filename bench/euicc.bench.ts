/**
 * Software eUICC figures (card side only, through APDUs):
 *  - time per APDU for GetProfilesInfo with 20 profiles installed,
 *  - LoadBoundProfilePackage time for a 12 KB profile (only the card's transmit() time is counted),
 *  - state file size per installed profile.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { segmentBpp } from '../src/asn1/sgp22/bpp.js';
import { encodeProfileInfoListRequest } from '../src/asn1/sgp22/profiles.js';
import { buildProfilePackage } from '../src/asn1/saip.js';
import { createDpAuth, createDpPb } from '../src/crypto/pki.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity } from '../src/euicc/identity.js';
import { buildBoundProfilePackage } from '../src/smdp/bpp-builder.js';
import { encodeIccid } from '../src/util/bcd.js';
import { es10 } from '../test/support/card-driver.js';
import { authenticateAndPrepare, loadBpp } from '../test/support/download.js';
import { installTestProfile } from '../test/support/stored-profiles.js';
import { emit, percentiles } from './harness.js';

/** Count the card's own time and APDUs (wraps transmit on this instance). */
function meter(card: SoftEuicc): { ms: number; apdus: number; bytes: number; reset(): void } {
  const m = {
    ms: 0,
    apdus: 0,
    bytes: 0,
    reset(): void {
      m.ms = 0;
      m.apdus = 0;
      m.bytes = 0;
    },
  };
  const orig = card.transmit.bind(card);
  card.transmit = (apdu: Uint8Array, port?: number): Uint8Array => {
    const t0 = performance.now();
    const r = orig(apdu, port);
    m.ms += performance.now() - t0;
    m.apdus++;
    m.bytes += apdu.length + r.length;
    return r;
  };
  return m;
}

function iccidOf(i: number): string {
  const base = `89049032000000${String(i).padStart(5, '0')}`; // 19 digits
  return base;
}

export function benchEuicc(seconds: number): void {
  const dir = mkdtempSync(join(tmpdir(), 'esimkit-bench-'));
  try {
    const { identity, ci } = createIdentity({ curve: 'P-256' });
    const dpAuth = createDpAuth(ci);
    const dpPb = createDpPb(ci);

    // GetProfilesInfo with 20 profiles
    {
      const card = SoftEuicc.create(join(dir, 'list.db'), { identity });
      for (let i = 0; i < 20; i++) installTestProfile(card.runtime, { iccid: iccidOf(i), nickname: `p${i}` });
      const req = encodeProfileInfoListRequest({});
      es10(card, req); // opens the channel and selects ISD-R
      const m = meter(card);
      const samples: number[] = [];
      const end = performance.now() + seconds * 1000;
      while (performance.now() < end) {
        m.reset();
        es10(card, req);
        samples.push(m.ms / m.apdus);
      }
      const p = percentiles(samples);
      emit({ name: 'euicc.getProfilesInfo20.per_apdu', value: p.median * 1000, unit: 'us', p99: Number((p.p99 * 1000).toFixed(1)), apdusPerCall: m.apdus, responseBytes: m.bytes });
      card.close();
    }

    // LoadBoundProfilePackage of a 12 KB profile, card side only
    {
      const card = SoftEuicc.create(join(dir, 'load.db'), { identity, config: { totalMemory: 64 * 1024 * 1024 } });
      const m = meter(card);
      const samples: number[] = [];
      let apdus = 0;
      let segments = 0;
      let sizeBefore = statSync(join(dir, 'load.db')).size;
      const first = sizeBefore;
      let installed = 0;
      const end = performance.now() + Math.max(seconds, 2) * 1000;
      for (let i = 0; performance.now() < end || i < 5; i++) {
        const iccid = iccidOf(1000 + i);
        const upp = buildProfilePackage({ iccid, padToSize: 12 * 1024 });
        const s = authenticateAndPrepare(card, { ci, dpAuth, dpPb });
        const bpp = buildBoundProfilePackage({
          transactionId: s.transactionId,
          euiccOtpk: s.euiccOtpk,
          dpPb: { privateKey: dpPb.privateKey, cert: dpPb.certDer },
          eid: s.eid,
          upp,
          metadata: { iccid: encodeIccid(iccid), serviceProviderName: 'esimkit', profileName: `bench ${i}` },
          replaceSessionKeys: true,
        });
        const segs = segmentBpp(bpp);
        m.reset();
        loadBpp(card, bpp, segs);
        samples.push(m.ms);
        apdus = m.apdus;
        segments = segs.length;
        installed++;
      }
      const p = percentiles(samples);
      emit({ name: 'euicc.loadBoundProfilePackage.12KB', value: p.median, unit: 'ms', p99: Number(p.p99.toFixed(2)), apdus, segments, runs: samples.length });
      card.close();
      sizeBefore = first;
      const size = statSync(join(dir, 'load.db')).size;
      emit({ name: 'euicc.state_file_bytes_per_profile', value: (size - sizeBefore) / installed, unit: 'bytes', profileBytes: 12 * 1024, profiles: installed });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
