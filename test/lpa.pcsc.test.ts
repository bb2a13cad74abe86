/**
 * The LPA over PC/SC: {@link PcscTransport} through a REAL pcscd with the vsmartcard-vpcd driver, the
 * software eUICC served into the vpcd reader by {@link VpcdBridge} (test/support/pcscd.ts starts a private
 * pcscd in its own mount namespace, so this file runs beside test/pcsc.test.ts and any system pcscd).
 *
 * Two cards: card A in slot 0 ("esimkit vpcd 00 00"), card B (extended-length capable) in slot 1
 * ("esimkit vpcd 00 01").
 *
 * - PC/SC specifics with raw APDUs: listing, selection by name / substring / index, typed errors for a
 *   missing reader and an empty reader, MANAGE CHANNEL + SELECT ISD-R + GetEID, extended length, the
 *   per-APDU timeout, card removal mid-session (→ 'disconnected', and no channel left once the card is
 *   back, asked of the card), exclusive access (a second connection is refused while `exclusive` runs),
 *   reader loss (pcscd killed mid-session).
 * - The shared LPA suite (test/support/lpa-suite.ts) over PcscTransport to card A.
 *
 * Skipped with a visible reason when pcscd / vpcd / the pcsclite binding / a mount namespace are missing;
 * failing instead when ESIM_REQUIRE_SYSTEM_TESTS=1.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ISDR_AID } from '../src/apdu/channel.js';
import { TransportError } from '../src/apdu/transport.js';
import { PcscError, PcscTransport } from '../src/apdu/transports/pcsc.js';
import type { VpcdBridge } from '../src/apdu/transports/vpcd.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity } from '../src/euicc/identity.js';
import { concatBytes, fromHex, toHex } from '../src/util/hex.js';
import { LOGICAL_CHANNELS, lpaSuite, probeFreeChannels } from './support/lpa-suite.js';
import { describePcscd, serveCard, startPcscd, waitFor, type PrivatePcscd } from './support/pcscd.js';

const hex = (s: string): Uint8Array => fromHex(s.replace(/\s+/g, ''));
const sw = (r: Uint8Array): number => (r[r.length - 2]! << 8) | r[r.length - 1]!;
const data = (r: Uint8Array): Uint8Array => r.subarray(0, r.length - 2);

const MANAGE_CHANNEL_OPEN = hex('00 70 00 00 01');
const manageChannelClose = (ch: number): Uint8Array => Uint8Array.of(0x00, 0x70, 0x80, ch);
const selectIsdr = (ch: number): Uint8Array => concatBytes(Uint8Array.of(ch, 0xa4, 0x04, 0x00, ISDR_AID.length), ISDR_AID, Uint8Array.of(0x00));
/** GetEID (BF3E, tag list 5A) as one STORE DATA on channel `ch` (ch 1..3). */
const getEidApdu = (ch: number): Uint8Array => concatBytes(Uint8Array.of(0x80 | ch, 0xe2, 0x91, 0x00, 0x06), hex('BF3E035C015A'), Uint8Array.of(0x00));
const getResponse = (ch: number, le: number): Uint8Array => Uint8Array.of(ch, 0xc0, 0x00, 0x00, le);

/** Open a channel, select ISD-R, read the EID with raw APDUs, close the channel. */
async function rawEid(t: PcscTransport): Promise<string> {
  const open = await t.transmit(MANAGE_CHANNEL_OPEN);
  expect(sw(open)).toBe(0x9000);
  const ch = open[0]!;
  try {
    const sel = await t.transmit(selectIsdr(ch));
    expect(sw(sel)).toBe(0x9000);
    let r = await t.transmit(getEidApdu(ch));
    if (sw(r) >> 8 === 0x61) r = await t.transmit(getResponse(ch, sw(r) & 0xff));
    expect(sw(r)).toBe(0x9000);
    const d = toHex(data(r)).toUpperCase();
    expect(d.slice(0, 10)).toBe('BF3E125A10');
    return d.slice(10);
  } finally {
    expect(sw(await t.transmit(manageChannelClose(ch)))).toBe(0x9000);
  }
}

async function rejection(p: Promise<unknown>, what = 'the call'): Promise<unknown> {
  let value: unknown;
  try {
    value = await p;
  } catch (e) {
    return e;
  }
  throw new Error(`expected ${what} to reject; it gave ${value instanceof Uint8Array ? toHex(value) : String(value)}`);
}

describePcscd('LPA over PC/SC (pcscd + vsmartcard-vpcd)', () => {
  let pcscd: PrivatePcscd;
  let cardA: SoftEuicc;
  let cardB: SoftEuicc;
  let bridgeA: VpcdBridge | undefined;
  let bridgeB: VpcdBridge | undefined;
  const open: PcscTransport[] = [];
  let nameA = '';
  let nameB = '';

  async function track(p: Promise<PcscTransport>): Promise<PcscTransport> {
    const t = await p;
    open.push(t);
    return t;
  }

  /** Wait until pcscd reports the card in `name` (after a bridge (re)connects). */
  async function cardPresent(name: string, present = true): Promise<void> {
    await waitFor(`card ${present ? 'in' : 'out of'} "${name}"`, 15_000, async () =>
      (await PcscTransport.listReaders()).some((r) => r.name === name && r.cardPresent === present),
    );
  }

  beforeAll(async () => {
    pcscd = await startPcscd();
    [nameA, nameB] = pcscd.readerNames;
    cardA = SoftEuicc.create(':memory:', { identity: createIdentity({}).identity, config: { extendedLength: false } });
    cardB = SoftEuicc.create(':memory:', { identity: createIdentity({}).identity, config: { extendedLength: true } });
    bridgeA = await serveCard(cardA, pcscd, 0);
    bridgeB = await serveCard(cardB, pcscd, 1);
    await cardPresent(nameA);
    await cardPresent(nameB);
  }, 60_000);

  afterAll(async () => {
    for (const t of open) await t.close();
    await bridgeA?.stop();
    await bridgeB?.stop();
    await pcscd?.stop();
    cardA?.close();
    cardB?.close();
  }, 30_000);

  describe('PcscTransport', () => {
    // a failed test must not leave a connection holding a card exclusively for the next one
    afterEach(async () => {
      for (const t of open.splice(0)) await t.close();
    });

    it('lists both vpcd readers with their cards', async () => {
      const readers = await PcscTransport.listReaders();
      expect(readers.map((r) => r.name)).toEqual([nameA, nameB]);
      expect(readers.every((r) => r.cardPresent)).toBe(true);
    });

    it('opens a channel, selects ISD-R and reads the EID with raw APDUs (T=0/T=1 as negotiated)', async () => {
      const t = await track(PcscTransport.open({ reader: nameA }));
      expect(t.readerName).toBe(nameA);
      expect(['T=0', 'T=1']).toContain(t.protocol);
      expect(toHex(t.atr).toUpperCase()).toBe(toHex(cardA.atr()).toUpperCase());
      expect(t.capabilities.extendedLength).toBe(false);
      expect(await rawEid(t)).toBe(cardA.eid);
      await t.close();
      await t.close(); // idempotent
      const e = await rejection(t.transmit(MANAGE_CHANNEL_OPEN));
      expect(e).toBeInstanceOf(TransportError);
      expect((e as TransportError).code).toBe('closed');
    });

    it('selects readers by index, by exact name and by case-insensitive substring', async () => {
      const byIndex1 = await track(PcscTransport.open({ reader: 1 }));
      expect(byIndex1.readerName).toBe(nameB);
      expect(await rawEid(byIndex1)).toBe(cardB.eid);
      await byIndex1.close();
      const byIndex0 = await track(PcscTransport.open({ reader: 0 }));
      expect(byIndex0.readerName).toBe(nameA);
      expect(await rawEid(byIndex0)).toBe(cardA.eid);
      await byIndex0.close();
      const bySubstring = await track(PcscTransport.open({ reader: 'VPCD 00 01' }));
      expect(bySubstring.readerName).toBe(nameB);
      expect(await rawEid(bySubstring)).toBe(cardB.eid);
      await bySubstring.close();
      const byDefault = await track(PcscTransport.open({}));
      expect(byDefault.readerName).toBe(nameA);
      await byDefault.close();
    });

    it('a missing reader is a typed error naming the readers there are', async () => {
      for (const reader of ['no such reader', 7, -1]) {
        const e = await rejection(PcscTransport.open({ reader, timeoutMs: 300 }));
        expect(e).toBeInstanceOf(PcscError);
        expect((e as PcscError).code).toBe('disconnected');
        expect((e as PcscError).reason).toBe('no-match');
        expect((e as PcscError).message).toContain(nameA);
        expect((e as PcscError).message).toContain(nameB);
      }
    });

    it('an empty reader is a typed "no-card" error; the card is found again once served', async () => {
      await bridgeB!.stop();
      await cardPresent(nameB, false);
      const started = Date.now();
      const e = await rejection(PcscTransport.open({ reader: nameB, timeoutMs: 400 }));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(e).toBeInstanceOf(PcscError);
      expect((e as PcscError).reason).toBe('no-card');
      expect((e as PcscError).code).toBe('disconnected');
      // open waits for the card within its timeout
      const opening = track(PcscTransport.open({ reader: nameB, timeoutMs: 15_000 }));
      await bridgeB!.start();
      const t = await opening;
      expect(await rawEid(t)).toBe(cardB.eid);
      await t.close();
    });

    it('extended length: announced by the ATR and carried end to end through pcscd', async () => {
      const t = await track(PcscTransport.open({ reader: nameB }));
      expect(t.capabilities.extendedLength).toBe(true);
      expect(t.capabilities.maxCommandData).toBe(65535);
      const open = await t.transmit(MANAGE_CHANNEL_OPEN);
      const ch = open[0]!;
      expect(sw(await t.transmit(selectIsdr(ch)))).toBe(0x9000);
      // GetEID as an extended case-4 APDU (Lc 00 00 06, Le 00 00)
      const ext = concatBytes(Uint8Array.of(0x80 | ch, 0xe2, 0x91, 0x00, 0x00, 0x00, 0x06), hex('BF3E035C015A'), Uint8Array.of(0x00, 0x00));
      let r = await t.transmit(ext);
      if (sw(r) >> 8 === 0x61) r = await t.transmit(getResponse(ch, sw(r) & 0xff));
      expect(sw(r)).toBe(0x9000);
      expect(toHex(data(r)).toUpperCase()).toBe(`BF3E125A10${cardB.eid}`);
      expect(sw(await t.transmit(manageChannelClose(ch)))).toBe(0x9000);
      await t.close();
    });

    it('a card that does not answer in time gives TransportError("timeout")', async () => {
      const t = await track(PcscTransport.open({ reader: nameA }));
      const open = await t.transmit(MANAGE_CHANNEL_OPEN);
      const ch = open[0]!;
      try {
        expect(sw(await t.transmit(selectIsdr(ch)))).toBe(0x9000);
        cardA.faults.add({ match: { es10Tag: 0xbf3e, nth: 1 }, action: { kind: 'delay', ms: 1500 } });
        const started = Date.now();
        const e = await rejection(t.transmit(getEidApdu(ch), { timeoutMs: 200 }));
        expect(Date.now() - started).toBeLessThan(1400);
        expect(e).toBeInstanceOf(TransportError);
        expect((e as TransportError).code).toBe('timeout');
        // the late answer is consumed by the abandoned call; the connection stays usable
        let r = await t.transmit(getEidApdu(ch));
        if (sw(r) >> 8 === 0x61) r = await t.transmit(getResponse(ch, sw(r) & 0xff));
        expect(toHex(data(r)).toUpperCase()).toBe(`BF3E125A10${cardA.eid}`);
      } finally {
        cardA.faults.clear();
        expect(sw(await t.transmit(manageChannelClose(ch)))).toBe(0x9000);
        await t.close();
      }
    });

    it('card removal mid-session → TransportError("disconnected"); no channel is left open once the card is back', async () => {
      const t = await track(PcscTransport.open({ reader: nameA }));
      const open = await t.transmit(MANAGE_CHANNEL_OPEN);
      expect(sw(open)).toBe(0x9000);
      expect(sw(await t.transmit(selectIsdr(open[0]!)))).toBe(0x9000);
      await bridgeA!.stop(); // the card leaves the reader with a channel open
      const e = await rejection(t.transmit(getEidApdu(open[0]!), { timeoutMs: 10_000 }));
      expect(e).toBeInstanceOf(PcscError);
      expect((e as PcscError).code, (e as Error).message).toBe('disconnected');
      expect(['removed', 'reader-lost']).toContain((e as PcscError).reason);
      expect((e as PcscError).message).toMatch(/removed|lost/);
      expect(t.isOpen).toBe(false);
      // stays down
      const again = await rejection(t.transmit(MANAGE_CHANNEL_OPEN));
      expect((again as TransportError).code).toBe('disconnected');
      await t.close();

      await bridgeA!.start();
      const t2 = await track(PcscTransport.open({ reader: nameA, timeoutMs: 15_000 }));
      expect(await probeFreeChannels(t2)).toBe(LOGICAL_CHANNELS);
      expect(await rawEid(t2)).toBe(cardA.eid);
      await t2.close();
    });

    it('exclusive access: another connection is refused while exclusive() runs, and admitted afterwards', async () => {
      const shared = await track(PcscTransport.open({ reader: nameA, shareMode: 'shared' }));
      // shared mode: a second shared connection is fine outside exclusive()
      const other = await track(PcscTransport.open({ reader: nameA, shareMode: 'shared', timeoutMs: 2000 }));
      await other.close();

      const inside = await shared.exclusive(async () => {
        const e = await rejection(PcscTransport.open({ reader: nameA, shareMode: 'shared', timeoutMs: 300 }));
        // the transport keeps working inside
        return { e, eid: await rawEid(shared) };
      });
      expect(inside.e).toBeInstanceOf(PcscError);
      expect((inside.e as PcscError).code).toBe('busy');
      expect((inside.e as PcscError).reason).toBe('sharing-violation');
      expect(inside.eid).toBe(cardA.eid);

      const after = await track(PcscTransport.open({ reader: nameA, shareMode: 'shared', timeoutMs: 2000 }));
      expect(await rawEid(after)).toBe(cardA.eid);
      expect(await rawEid(shared)).toBe(cardA.eid);
      await after.close();
      await shared.close();

      // exclusive share mode (the default) holds the card for the whole session
      const excl = await track(PcscTransport.open({ reader: nameA }));
      const e2 = await rejection(PcscTransport.open({ reader: nameA, shareMode: 'shared', timeoutMs: 300 }));
      expect((e2 as PcscError).code).toBe('busy');
      // exclusive() serialises callers of one transport
      const order: string[] = [];
      await Promise.all([
        excl.exclusive(async () => {
          order.push('a+');
          await new Promise((r) => setTimeout(r, 50));
          order.push('a-');
        }),
        excl.exclusive(async () => {
          order.push('b+');
          order.push('b-');
        }),
      ]);
      expect(order).toEqual(['a+', 'a-', 'b+', 'b-']);
      await excl.close();
    });
  });

  lpaSuite('pcsc (pcscd + vsmartcard-vpcd)', async () => {
    await waitFor('card A served', 15_000, () => bridgeA?.connected === true);
    const transport = await track(PcscTransport.open({ reader: nameA, timeoutMs: 15_000 }));
    return {
      transport,
      card: cardA,
      teardown: () => transport.close(),
      reopen: () => track(PcscTransport.open({ reader: nameA, timeoutMs: 15_000 })),
    };
  });

  describe('reader loss', () => {
    it('pcscd going away mid-session → TransportError("disconnected"); a new transport works once it is back', async () => {
      const t = await track(PcscTransport.open({ reader: nameA }));
      expect(await rawEid(t)).toBe(cardA.eid);
      await pcscd.kill();
      const e = await rejection(t.transmit(MANAGE_CHANNEL_OPEN, { timeoutMs: 10_000 }), 'transmit after pcscd died');
      expect(e).toBeInstanceOf(PcscError);
      expect((e as PcscError).code).toBe('disconnected');
      expect(['no-service', 'reader-lost', 'removed']).toContain((e as PcscError).reason);
      await t.close();

      const none = await rejection(PcscTransport.listReaders(), 'listReaders without pcscd');
      expect((none as PcscError).reason).toBe('no-service');

      await pcscd.restart();
      await waitFor('the bridges to reconnect', 20_000, () => bridgeA!.connected && bridgeB!.connected);
      const t2 = await track(PcscTransport.open({ reader: nameA, timeoutMs: 15_000 }));
      expect(await probeFreeChannels(t2)).toBe(LOGICAL_CHANNELS);
      expect(await rawEid(t2)).toBe(cardA.eid);
      await t2.close();
    }, 60_000);
  });
});
