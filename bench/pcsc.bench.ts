/**
 * Per-APDU round trip through pcscd: a software eUICC served into a private pcscd's vsmartcard-vpcd
 * reader (test/support/pcscd.ts), driven by {@link PcscTransport}. The loop is GetEID as one STORE DATA
 * (`81 E2 91 00 06 BF3E035C015A 00`, case 4: the card answers the EID with 9000 directly; a `61xx` answer
 * would be followed by GET RESPONSE) on a logical channel opened once; every transmit is one sample.
 *
 * Figures (µs): pcsc.apdu_round_trip (median, with p99), and, for scale, the same loop straight into the
 * card in-process (pcsc.apdu_in_process), so the share of pcscd + vpcd + TCP is visible.
 *
 * `quickAckRelay` says whether the helper's quick-ACK relay was in use (socat + iproute2 present); without
 * it every APDU pays the vpcd driver's Nagle / delayed-ACK stall (~44 ms median measured here, against
 * ~0.3-0.4 ms with it). See test/support/pcscd.ts.
 *
 * Emits nothing and returns quietly when pcscd, the vpcd driver, the pcsclite binding or a private mount
 * namespace (root) are missing.
 */
import { performance } from 'node:perf_hooks';
import { emit, percentiles } from './harness.js';

export async function benchPcsc(
  seconds = 1,
  /** More figures over the same pcscd rig (a process may start only one private pcscd). */
  more?: (transport: import('../src/apdu/transport.js').ApduTransport, card: import('../src/euicc/card.js').SoftEuicc) => Promise<void>,
): Promise<void> {
  const { pcscdPrerequisites, startPcscd, serveCard, waitFor } = await import('../test/support/pcscd.js');
  if (pcscdPrerequisites().skipReason) return;
  const { PcscTransport } = await import('../src/apdu/transports/pcsc.js');
  const { SoftEuicc } = await import('../src/euicc/card.js');
  const { createIdentity } = await import('../src/euicc/identity.js');
  const { fromHex } = await import('../src/util/hex.js');

  let pcscd: Awaited<ReturnType<typeof startPcscd>>;
  try {
    pcscd = await startPcscd({ friendlyName: 'esimkit bench' });
  } catch {
    return; // pcscd could not be started here: no figures
  }
  const card = SoftEuicc.create(':memory:', { identity: createIdentity({}).identity, config: { extendedLength: false } });
  let bridge: Awaited<ReturnType<typeof serveCard>> | undefined;
  let transport: Awaited<ReturnType<typeof PcscTransport.open>> | undefined;
  try {
    bridge = await serveCard(card, pcscd, 0);
    const name = pcscd.readerNames[0];
    await waitFor('the card in the reader', 15_000, async () => (await PcscTransport.listReaders()).some((r) => r.name === name && r.cardPresent));
    transport = await PcscTransport.open({ reader: name, timeoutMs: 15_000 });
    const t = transport;

    const open = await t.transmit(fromHex('0070000001'));
    const ch = open[0]!;
    const isdr = fromHex('A0000005591010FFFFFFFF8900000100');
    const select = Uint8Array.of(ch, 0xa4, 0x04, 0x00, isdr.length, ...isdr, 0x00);
    await t.transmit(select);
    const storeData = Uint8Array.of(0x80 | ch, 0xe2, 0x91, 0x00, 0x06, 0xbf, 0x3e, 0x03, 0x5c, 0x01, 0x5a, 0x00);

    const loop = async (transmit: (a: Uint8Array) => Promise<Uint8Array>, secs: number): Promise<number[]> => {
      const samples: number[] = [];
      const warmEnd = performance.now() + Math.min(200, secs * 250);
      const end = warmEnd + secs * 1000;
      for (;;) {
        const now = performance.now();
        if (now >= end) break;
        const t0 = performance.now();
        let r = await transmit(storeData);
        const t1 = performance.now();
        if (t0 >= warmEnd) samples.push((t1 - t0) * 1000);
        if (r[r.length - 2] === 0x61) {
          // T=0 style: the data follows with GET RESPONSE (also one APDU round trip)
          r = await transmit(Uint8Array.of(ch, 0xc0, 0x00, 0x00, r[r.length - 1]!));
          if (t0 >= warmEnd) samples.push((performance.now() - t1) * 1000);
        }
        if (r[r.length - 2] !== 0x90) throw new Error(`GetEID answered ${Buffer.from(r).toString('hex')}`);
      }
      return samples;
    };

    const viaPcscd = await loop((a) => t.transmit(a), seconds);
    const p = percentiles(viaPcscd);
    emit({ name: 'pcsc.apdu_round_trip', value: p.median, unit: 'µs', p99: Number(p.p99.toFixed(1)), samples: viaPcscd.length, quickAckRelay: pcscd.quickAck, apdu: 'GetEID STORE DATA / GET RESPONSE', path: 'PcscTransport → pcscd → vpcd → VpcdBridge → SoftEuicc' });

    // the same APDUs straight into the card (channel opened above is a card-side state shared by both)
    const inProc = await loop((a) => card.transmitAsync(a, 0), Math.min(seconds, 0.5));
    const q = percentiles(inProc);
    emit({ name: 'pcsc.apdu_in_process', value: q.median, unit: 'µs', p99: Number(q.p99.toFixed(1)), samples: inProc.length, apdu: 'GetEID STORE DATA / GET RESPONSE', path: 'SoftEuicc.transmitAsync' });

    await t.transmit(Uint8Array.of(0x00, 0x70, 0x80, ch));
    if (more) await more(t, card);
  } finally {
    await transport?.close();
    await bridge?.stop();
    await pcscd.stop();
    card.close();
  }
}

// `tsx bench/pcsc.bench.ts [seconds]` runs it alone
if (import.meta.url === `file://${process.argv[1]}`) {
  await benchPcsc(Number(process.argv[2] ?? 1));
}
