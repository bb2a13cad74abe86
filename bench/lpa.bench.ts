/**
 * LPA figures over a transport: APDUs and wall time for GetProfilesInfo with 10 profiles and for
 * enable+disable, each as the LPA does it (open a logical channel, SELECT ISD-R, STORE DATA, GET RESPONSE,
 * close); and the same APDU sequence replayed by a raw loop without the LPA, so the LPA's own overhead shows
 * as a ratio.
 */
import { performance } from 'node:perf_hooks';
import { ApduChannel, ISDR_AID } from '../src/apdu/channel.js';
import type { ApduTransport } from '../src/apdu/transport.js';
import type { SoftEuicc } from '../src/euicc/card.js';
import { disableProfile, enableProfile, getProfilesInfo } from '../src/lpa/es10c.js';
import { RecordingTransport } from '../test/support/lpa-suite.js';
import { installTestProfile } from '../test/support/stored-profiles.js';
import { emit, percentiles } from './harness.js';

const ICCIDS = Array.from({ length: 10 }, (_, i) => `8949449999999990${String(100 + i)}`);

async function timeIt(fn: () => Promise<unknown>, seconds: number, minRuns = 20): Promise<number[]> {
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  for (let i = 0; i < minRuns || performance.now() < end; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
    if (i > 5000) break;
  }
  return samples;
}

/** Seed 10 profiles (the first enabled) into `card`, replacing what it had. */
export function seedTenProfiles(card: SoftEuicc): void {
  for (const p of card.runtime.store.listProfiles()) card.runtime.store.deleteProfile(p.aid);
  ICCIDS.forEach((iccid, i) => installTestProfile(card.runtime, { iccid, nickname: `bench ${i}`, ...(i === 0 && { state: 1 as const, port: 0 }) }));
}

export async function benchLpaOver(name: string, transport: ApduTransport, card: SoftEuicc, seconds: number): Promise<void> {
  seedTenProfiles(card);
  const rec = new RecordingTransport(transport);
  const ops: Array<[string, () => Promise<unknown>]> = [
    ['getProfilesInfo10', () => ApduChannel.with(rec, {}, (ch) => getProfilesInfo(ch))],
    [
      'enableDisable',
      () =>
        ApduChannel.with(rec, {}, async (ch) => {
          const e = await enableProfile(ch, ICCIDS[1]!, { refresh: false });
          const d = await disableProfile(ch, ICCIDS[1]!, { refresh: false });
          if (e.result !== 'ok' || d.result !== 'ok') throw new Error(`bench: enable ${e.result}, disable ${d.result}`);
        }),
    ],
  ];
  for (const [op, fn] of ops) {
    rec.commands.length = 0;
    await fn();
    const apdus = rec.commands.slice();
    const bytes = apdus.reduce((s, a) => s + a.length, 0);
    const lpa = percentiles(await timeIt(fn, seconds));
    // the same command APDUs, sent back to back without the LPA (no parsing, no channel logic)
    const raw = percentiles(
      await timeIt(async () => {
        // a channel transport (AT+CCHO) opens and closes the channel with its own commands, not APDUs
        const opened = transport.openLogicalChannel ? await transport.openLogicalChannel(ISDR_AID) : undefined;
        for (const a of apdus) await transport.transmit(a);
        if (opened) await transport.closeLogicalChannel!(opened.channel);
      }, seconds),
    );
    emit({
      name: `lpa.${op}.${name}`,
      value: lpa.median,
      unit: 'ms',
      p99: Number(lpa.p99.toFixed(3)),
      apdus: apdus.length,
      commandBytes: bytes,
      rawLoopMedianMs: Number(raw.median.toFixed(4)),
      lpaOverRaw: Number((lpa.median / raw.median).toFixed(2)),
    });
  }
}
