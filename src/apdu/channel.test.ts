/**
 * ApduChannel against scripted transports: framing (CLA per channel, P1/P2, Le), 61xx / 6Cxx handling,
 * channel transports (openLogicalChannel), exclusive access, closing on every path, option checks.
 */
import { describe, expect, it } from 'vitest';
import { ApduChannel, es10CommandName, EuiccSwError, ISDR_AID } from './channel.js';
import { parseCommandApdu } from './apdu.js';
import { TransportError, type ApduTransport, type TransportChannel } from './transport.js';
import { fromHex, toHex } from '../util/hex.js';

type Script = (apdu: Uint8Array) => Uint8Array | Promise<Uint8Array>;

function scripted(script: Script, caps: ApduTransport['capabilities'] = {}): ApduTransport & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    capabilities: caps,
    transmit: async (apdu) => {
      log.push(toHex(apdu).toUpperCase());
      return script(apdu);
    },
    close: async () => undefined,
  };
}

/** A minimal card: MANAGE CHANNEL → `ch`, SELECT → FCI, close → 9000, STORE DATA → `answer`. */
function miniCard(ch: number, answer: (apdu: Uint8Array) => Uint8Array | Promise<Uint8Array>): Script {
  return (apdu) => {
    const ins = apdu[1];
    if (ins === 0x70 && apdu[2] === 0x00) return Uint8Array.of(ch, 0x90, 0x00);
    if (ins === 0x70 && apdu[2] === 0x80) return fromHex('9000');
    if (ins === 0xa4) return fromHex('6F0384010A9000');
    return answer(apdu);
  };
}

describe('ApduChannel framing', () => {
  it('opens with MANAGE CHANNEL + SELECT ISD-R (Le 00), sends STORE DATA with 80|ch, case 4, closes', async () => {
    const t = scripted(miniCard(2, () => fromHex('BF3E03AABBCC9000')));
    const out = await ApduChannel.with(t, {}, async (ch) => {
      expect(ch.channel).toBe(2);
      expect(toHex(ch.selectResponse)).toBe('6f0384010a');
      return ch.storeData(fromHex('BF3E035C015A'));
    });
    expect(toHex(out)).toBe('bf3e03aabbcc');
    expect(t.log).toEqual(['0070000001', `02A4040010${toHex(ISDR_AID).toUpperCase()}00`, '82E2910006BF3E035C015A00', '00708002']);
  });

  it('channels 4..19 use C0+ch-4 (STORE DATA) and 40+ch-4 (SELECT, GET RESPONSE)', async () => {
    let n = 0;
    const t = scripted(
      miniCard(7, (apdu) => {
        if (apdu[1] === 0xc0) return fromHex('02039000');
        n++;
        return fromHex('BF20016102');
      }),
    );
    const out = await ApduChannel.with(t, {}, (ch) => ch.storeData(fromHex('BF2000')));
    expect(toHex(out)).toBe('bf20010203');
    expect(n).toBe(1);
    expect(t.log[1]!.slice(0, 2)).toBe('43');
    expect(t.log[2]).toBe('C3E2910003BF200000');
    expect(t.log[3]).toBe('43C0000002');
  });

  it('proprietary GET RESPONSE class; 61 00 asks for 256 bytes', async () => {
    const t = scripted(miniCard(1, (apdu) => (apdu[1] === 0xc0 ? fromHex('AA9000') : fromHex('6100'))));
    await ApduChannel.with(t, { getResponseCla: 'proprietary' }, (ch) => ch.storeData(fromHex('BF2000')));
    expect(t.log).toContain('81C0000000');
  });

  it('6Cxx: the same APDU is sent again with Le = xx', async () => {
    const t = scripted(miniCard(1, (apdu) => (apdu[apdu.length - 1] === 0x00 ? fromHex('6C05') : fromHex('BF200100' + '9000'))));
    const out = await ApduChannel.with(t, {}, (ch) => ch.storeData(fromHex('BF2000')));
    expect(toHex(out)).toBe('bf200100');
    expect(t.log.slice(2, 4)).toEqual(['81E2910003BF200000', '81E2910003BF200005']);
  });

  it('splits requests into blocks with P1 11/91 and P2 from 00', async () => {
    const t = scripted(miniCard(1, (apdu) => (apdu[2] === 0x91 ? fromHex('BF2900' + '9000') : fromHex('9000'))));
    const req = fromHex('BF290E5A0A98948899999999190' + '0F0900100');
    await ApduChannel.with(t, { blockSize: 6 }, (ch) => ch.storeData(req.subarray(0, 16)));
    const sd = t.log.filter((l) => l.slice(2, 4) === 'E2').map((l) => parseCommandApdu(fromHex(l)));
    expect(sd.map((c) => [c.p1, c.p2, c.data.length])).toEqual([
      [0x11, 0, 6],
      [0x11, 1, 6],
      [0x91, 2, 4],
    ]);
  });

  it('an error SW names the ES10 function; SELECT failures close the channel', async () => {
    const t = scripted(miniCard(1, () => fromHex('6A88')));
    await expect(ApduChannel.with(t, {}, (ch) => ch.storeData(fromHex('BF2D00')))).rejects.toMatchObject({
      name: 'EuiccSwError',
      command: 'GetProfilesInfo',
      sw: 0x6a88,
    });
    expect(t.log.at(-1)).toBe('00708001');
    const t2 = scripted((apdu) => (apdu[1] === 0xa4 ? fromHex('6A82') : apdu[1] === 0x70 && apdu[2] === 0 ? fromHex('039000') : fromHex('9000')));
    const e = await ApduChannel.open(t2).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EuiccSwError);
    expect(e).toMatchObject({ command: 'SELECT', sw: 0x6a82 });
    expect(t2.log.at(-1)).toBe('00708003');
  });

  it('es10CommandName: known tags, BPP continuation tags, unknown tags', () => {
    expect(es10CommandName(fromHex('BF3100'))).toBe('EnableProfile');
    expect(es10CommandName(fromHex('A000'))).toBe('LoadBoundProfilePackage');
    expect(es10CommandName(fromHex('BF7700'))).toBe('STORE DATA BF77');
    expect(es10CommandName(new Uint8Array(0))).toBe('STORE DATA');
  });
});

describe('ApduChannel options and transports', () => {
  it('block size 6..255; more only with extended length (then capped by maxCommandData)', async () => {
    const t = scripted(miniCard(1, () => fromHex('9000')));
    await expect(ApduChannel.open(t, { blockSize: 5 })).rejects.toBeInstanceOf(RangeError);
    await expect(ApduChannel.open(t, { blockSize: 256 })).rejects.toBeInstanceOf(RangeError);
    await expect(ApduChannel.open(t, { aid: 'A000' })).rejects.toBeInstanceOf(RangeError);
    const ext = scripted(miniCard(1, () => fromHex('BF20009000')), { extendedLength: true, maxCommandData: 1000 });
    await expect(ApduChannel.open(ext, { blockSize: 1001 })).rejects.toBeInstanceOf(RangeError);
    await ApduChannel.with(ext, { blockSize: 1000 }, (ch) => ch.storeData(new Uint8Array(600).fill(0xbf)));
    const sd = ext.log.filter((l) => l.slice(2, 4) === 'E2').map((l) => parseCommandApdu(fromHex(l)));
    expect(sd.length).toBe(1);
    expect(sd[0]!.extended).toBe(true);
    expect(sd[0]!.le).toBe(65536);
    expect(t.log).toEqual([]); // option errors come before any APDU
  });

  it('channel transports: openLogicalChannel / closeLogicalChannel, exclusive wraps the whole use', async () => {
    const events: string[] = [];
    const t: ApduTransport = {
      capabilities: {},
      openLogicalChannel: async (aid): Promise<TransportChannel> => {
        events.push(`open ${toHex(aid)}`);
        return { channel: 3, selectResponse: fromHex('6F00') };
      },
      closeLogicalChannel: async (ch) => {
        events.push(`close ${ch}`);
      },
      transmit: async (apdu) => {
        events.push(`apdu ${toHex(apdu)}`);
        return fromHex('BF3E009000');
      },
      exclusive: async (fn) => {
        events.push('begin');
        try {
          return await fn();
        } finally {
          events.push('end');
        }
      },
      close: async () => undefined,
    };
    await ApduChannel.with(t, { aid: 'A0000005591010FFFFFFFF8900000300' }, (ch) => ch.storeData(fromHex('BF3E00')));
    expect(events).toEqual(['begin', 'open a0000005591010ffffffff8900000300', 'apdu 83e2910003bf3e0000', 'close 3', 'end']);
  });

  it('timeout: TransportError timeout, then MANAGE CHANNEL close; a close failure does not hide fn errors', async () => {
    const t = scripted(miniCard(1, () => new Promise<Uint8Array>(() => undefined)));
    await expect(ApduChannel.with(t, { timeoutMs: 30 }, (ch) => ch.storeData(fromHex('BF2000')))).rejects.toMatchObject({
      name: 'TransportError',
      code: 'timeout',
    });
    expect(t.log.at(-1)).toBe('00708001');
    const boom = new Error('boom');
    const t2 = scripted(miniCard(1, () => fromHex('9000')));
    const failingClose: ApduTransport = {
      ...t2,
      transmit: async (apdu) => {
        if (apdu[1] === 0x70 && apdu[2] === 0x80) throw new TransportError('disconnected', 'gone');
        return t2.transmit(apdu);
      },
    };
    await expect(ApduChannel.with(failingClose, {}, async () => Promise.reject(boom))).rejects.toBe(boom);
    await expect(ApduChannel.with(failingClose, {}, async () => 1)).rejects.toMatchObject({ code: 'disconnected' });
  });

  it('a closed channel refuses APDUs; close is idempotent; bad MANAGE CHANNEL answers are protocol errors', async () => {
    const t = scripted(miniCard(1, () => fromHex('9000')));
    const ch = await ApduChannel.open(t);
    await ch.close();
    await ch.close();
    expect(t.log.filter((l) => l === '00708001').length).toBe(1);
    await expect(ch.storeData(fromHex('BF2000'))).rejects.toMatchObject({ code: 'closed' });
    const bad = scripted(() => fromHex('00009000'));
    await expect(ApduChannel.open(bad)).rejects.toMatchObject({ name: 'TransportError', code: 'protocol' });
  });
});
