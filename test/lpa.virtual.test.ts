/**
 * The LPA suite over the in-process VirtualTransport, plus the transport faults that are natural in
 * process (timeout, disconnect, wrong status word, garbage response, card removed): each gives its typed
 * error and leaves no logical channel open — checked by asking the card through a new transport.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApduChannel, EuiccSwError } from '../src/apdu/channel.js';
import { TransportError } from '../src/apdu/transport.js';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity, type EuiccIdentity } from '../src/euicc/identity.js';
import { EuiccResponseError, enableProfile, getEid, getProfilesInfo, listNotifications } from '../src/lpa/index.js';
import { fromHex } from '../src/util/hex.js';
import { LOGICAL_CHANNELS, lpaSuite, probeFreeChannels, seedProfiles, SUITE_ICCIDS } from './support/lpa-suite.js';

let identity: EuiccIdentity | undefined;
function id(): EuiccIdentity {
  identity ??= createIdentity({}).identity;
  return identity;
}

lpaSuite('virtual', async () => {
  const card = SoftEuicc.create(':memory:', { identity: id() });
  const transport = new VirtualTransport(card);
  return {
    transport,
    card,
    reopen: async () => new VirtualTransport(card),
    teardown: async () => {
      await transport.close();
      card.close();
    },
  };
});

lpaSuite('virtual, short APDUs only', async () => {
  const card = SoftEuicc.create(':memory:', { identity: id(), config: { extendedLength: false } });
  const transport = new VirtualTransport(card);
  return { transport, card, teardown: async () => card.close() };
});

describe('VirtualTransport + ApduChannel: transport faults', () => {
  let card: SoftEuicc;
  beforeAll(() => {
    card = SoftEuicc.create(':memory:', { identity: id() });
    seedProfiles(card);
  });
  afterEach(async () => {
    card.faults.clear();
    // asked through a fresh transport: the card has every channel free
    expect(await probeFreeChannels(new VirtualTransport(card))).toBe(LOGICAL_CHANNELS);
  });

  it('implements ApduTransport: capabilities from the card, async close, typed errors after close', async () => {
    const t = new VirtualTransport(card);
    expect(t.capabilities).toEqual({ extendedLength: true, maxCommandData: 65535, enforcesTimeout: true });
    const short = SoftEuicc.create(':memory:', { identity: id(), config: { extendedLength: false } });
    expect(new VirtualTransport(short).capabilities).toEqual({ extendedLength: false, maxCommandData: 255, enforcesTimeout: true });
    short.close();
    expect(t.isOpen).toBe(true);
    await t.close();
    await t.close();
    expect(t.isOpen).toBe(false);
    await expect(t.transmit(fromHex('80AA0000'))).rejects.toMatchObject({ name: 'TransportError', code: 'closed' });
    await expect(ApduChannel.open(t)).rejects.toBeInstanceOf(TransportError);
  });

  it('timeout: a delayed STORE DATA answer gives TransportError timeout; the channel is closed afterwards', async () => {
    const t = new VirtualTransport(card);
    card.faults.add({ match: { es10Tag: 0xbf2d, nth: 1 }, action: { kind: 'delay', ms: 300 } });
    const started = Date.now();
    const e = await ApduChannel.with(t, { timeoutMs: 60 }, (ch) => getProfilesInfo(ch)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as TransportError).code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(290);
    // the same transport is still usable
    expect(await ApduChannel.with(t, {}, getEid)).toBe(card.eid);
  });

  it('timeout while opening (MANAGE CHANNEL delayed): the late channel is closed when its answer arrives', async () => {
    const t = new VirtualTransport(card);
    card.faults.add({ match: { ins: 0x70, nth: 1 }, action: { kind: 'delay', ms: 200 } });
    const e = await ApduChannel.with(t, { timeoutMs: 50 }, getEid).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'TransportError', code: 'timeout' });
    await new Promise((r) => setTimeout(r, 300)); // the late MANAGE CHANNEL answer arrives → closed
  });

  it('timeout on SELECT: the channel is closed', async () => {
    const t = new VirtualTransport(card);
    card.faults.add({ match: { ins: 0xa4, nth: 1 }, action: { kind: 'delay', ms: 200 } });
    await expect(ApduChannel.with(t, { timeoutMs: 50 }, getEid)).rejects.toMatchObject({ code: 'timeout' });
  });

  it('disconnect: TransportError disconnected, the transport stays down; the card had every channel closed', async () => {
    const t = new VirtualTransport(card);
    card.faults.add({ match: { es10Tag: 0xbf31, nth: 1 }, action: { kind: 'disconnect' } });
    const e = await ApduChannel.with(t, {}, (ch) => enableProfile(ch, SUITE_ICCIDS[2])).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as TransportError).code).toBe('disconnected');
    expect(t.isOpen).toBe(false);
    await expect(t.transmit(fromHex('80AA0000'))).rejects.toMatchObject({ code: 'disconnected' });
  });

  it('wrong status word on any APDU: EuiccSwError with the command and the SW', async () => {
    const t = new VirtualTransport(card);
    card.faults.add({ match: { ins: 0xe2, nth: 1 }, action: { kind: 'sw', sw: 0x6f00 } });
    const e1 = await ApduChannel.with(t, {}, (ch) => listNotifications(ch)).catch((x: unknown) => x);
    expect(e1).toBeInstanceOf(EuiccSwError);
    expect(e1).toMatchObject({ command: 'ListNotification', sw: 0x6f00 });
    card.faults.add({ match: { ins: 0xa4, nth: 1 }, action: { kind: 'sw', sw: 0x6999 } });
    await expect(ApduChannel.with(t, {}, getEid)).rejects.toMatchObject({ name: 'EuiccSwError', command: 'SELECT', sw: 0x6999 });
    card.faults.add({ match: { ins: 0x70, nth: 1 }, action: { kind: 'sw', sw: 0x6a81 } });
    await expect(ApduChannel.with(t, {}, getEid)).rejects.toMatchObject({ name: 'EuiccSwError', command: 'MANAGE CHANNEL', sw: 0x6a81 });
  });

  it('garbage response: EuiccResponseError naming the command; a response without SW is TransportError protocol', async () => {
    const t = new VirtualTransport(card);
    card.faults.add({ match: { es10Tag: 0xbf2d, nth: 1 }, action: { kind: 'result', response: fromHex('0102030405') } });
    const e = await ApduChannel.with(t, {}, (ch) => getProfilesInfo(ch)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EuiccResponseError);
    expect(e).toMatchObject({ command: 'GetProfilesInfo' });
    const broken = {
      capabilities: {},
      transmit: async (apdu: Uint8Array) => (apdu[1] === 0xe2 ? Uint8Array.of(0x90) : t.transmit(apdu)),
      close: async () => undefined,
    };
    await expect(ApduChannel.with(broken, {}, getEid)).rejects.toMatchObject({ name: 'TransportError', code: 'protocol' });
  });

  it('card removed mid-session (power off): the next APDU is refused, the error is typed, nothing leaks', async () => {
    const t = new VirtualTransport(card);
    const e = await ApduChannel.with(t, {}, async (ch) => {
      expect(await getEid(ch)).toBe(card.eid);
      card.powerOff(); // removal and reinsertion: every channel is gone
      return getEid(ch);
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EuiccSwError);
    expect(e).toMatchObject({ command: 'GetEID', sw: 0x6881 });
  });
});
