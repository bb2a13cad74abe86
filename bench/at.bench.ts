/**
 * AT-modem transport figures: the software eUICC behind the simulated modem (test/support/at-modem.ts) on
 * one end of a socat pty pair, AtTransport on the other.
 *  - per-APDU round trip (µs, median and p99) of one STORE DATA (GetEID) through AT+CGLA on an open
 *    logical channel, and through AT+CSIM (a modem without CCHO/CGLA);
 *  - GetProfilesInfo with 10 profiles over AT+CGLA: wall time per call and APDUs per call (incl. channel
 *    open/close, which the modem does with its own APDUs).
 * Emits nothing (a note on stderr) when socat is missing.
 */
import { performance } from 'node:perf_hooks';
import { ApduChannel } from '../src/apdu/channel.js';
import { AtTransport } from '../src/apdu/transports/at.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity } from '../src/euicc/identity.js';
import { getProfilesInfo } from '../src/lpa/index.js';
import { SOCAT, SimulatedModem, type ModemOptions } from '../test/support/at-modem.js';
import { installTestProfile } from '../test/support/stored-profiles.js';
import { emit, percentiles } from './harness.js';

const GET_EID = Uint8Array.of(0x81, 0xe2, 0x91, 0x00, 0x03, 0xbf, 0x3e, 0x00, 0x00);

/** Sample `fn` (ms each) for about `seconds` after a short warm-up. */
async function sample(seconds: number, fn: () => Promise<void>): Promise<number[]> {
  const warmEnd = performance.now() + Math.min(200, seconds * 250);
  while (performance.now() < warmEnd) await fn();
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return samples;
}

async function withRig<T>(modemOpts: ModemOptions, profiles: number, fn: (t: AtTransport, modem: SimulatedModem) => Promise<T>): Promise<T> {
  const card = SoftEuicc.create(':memory:', { identity: createIdentity({}).identity });
  for (let i = 0; i < profiles; i++) {
    installTestProfile(card.runtime, { iccid: `89494499999999910${String(i).padStart(2, '0')}`, profileName: `bench ${i}`, serviceProviderName: 'Bench' });
  }
  const modem = await SimulatedModem.start(card, modemOpts);
  try {
    const t = await AtTransport.open({ path: modem.hostPath, timeoutMs: 10_000 });
    try {
      return await fn(t, modem);
    } finally {
      await t.close();
    }
  } finally {
    await modem.close();
    card.close();
  }
}

export async function benchAt(seconds: number): Promise<void> {
  if (!SOCAT) {
    process.stderr.write('at: skipped (socat not installed)\n');
    return;
  }

  for (const [via, opts] of [
    ['cgla', {}],
    ['csim', { noCgla: true }],
  ] as const) {
    await withRig(opts, 0, async (t) => {
      await ApduChannel.with(t, {}, async (ch) => {
        const apdu = GET_EID.slice();
        apdu[0] = ch.cla(true);
        const samples = await sample(seconds, async () => {
          await t.transmit(apdu);
        });
        const p = percentiles(samples);
        emit({ name: `at.apdu_roundtrip.${via}`, value: p.median * 1000, unit: 'us', p99: Number((p.p99 * 1000).toFixed(1)), runs: samples.length, mode: t.mode });
      });
    });
  }

  await withRig({}, 10, async (t, modem) => {
    const before = modem.apdus;
    let calls = 0;
    const samples = await sample(seconds, async () => {
      const list = await ApduChannel.with(t, {}, (ch) => getProfilesInfo(ch));
      if (list.length !== 10) throw new Error(`expected 10 profiles, got ${list.length}`);
      calls++;
    });
    // `calls` counts the warm-up calls too, as does the modem's APDU counter
    const apdus = modem.apdus - before;
    const p = percentiles(samples);
    emit({
      name: 'at.getProfilesInfo10',
      value: p.median,
      unit: 'ms',
      p99: Number(p.p99.toFixed(2)),
      apdusPerCall: Number((apdus / calls).toFixed(1)),
      runs: samples.length,
      mode: t.mode,
    });
  });
}
