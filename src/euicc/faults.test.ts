import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SoftEuicc, CardDisconnectedError } from './card.js';
import { FaultSet, type FaultRule } from './faults.js';
import { createIdentity, type EuiccIdentity } from './identity.js';
import type { Es10Handler } from './types.js';
import type { Tlv } from '../asn1/tlv.js';
import { encodeTlv } from '../asn1/tlv.js';
import { SW } from '../apdu/apdu.js';
import { VirtualTransport } from '../apdu/transports/virtual.js';
import { fromHex, toHex } from '../util/hex.js';
import { es10, openIsdr, rawApdu, storeData, CardSwError } from '../../test/support/card-driver.js';

const ECHO = 0x9f70;
const extraHandlers = new Map<number, Es10Handler>([[ECHO, (req: Tlv) => encodeTlv(0xbf71, req.value)]]);
const echo = (b: number) => encodeTlv(ECHO, Uint8Array.of(b));

let identity: EuiccIdentity;
beforeAll(() => {
  identity = createIdentity({}).identity;
});

function newCard(faults: FaultRule[] = [], ports = 1): SoftEuicc {
  return SoftEuicc.create(':memory:', { identity, extraHandlers, faults, config: { ports } });
}
const hexSw = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');

describe('FaultSet matching', () => {
  it('counts per rule, fires on nth only, first firing rule wins, sync skips delay rules', () => {
    const a: FaultRule = { match: { ins: 0xe2, nth: 2 }, action: { kind: 'sw', sw: 0x6601 } };
    const b: FaultRule = { match: { ins: 0xe2 }, action: { kind: 'sw', sw: 0x6f00 } };
    const d: FaultRule = { match: {}, action: { kind: 'delay', ms: 5 } };
    const set = new FaultSet([d, a]);
    expect(set.check({ ins: 0xe2, port: 0 }, false)).toBeUndefined();
    expect(set.check({ ins: 0xe2, port: 0 }, false)).toEqual({ kind: 'sw', sw: 0x6601 });
    expect(set.check({ ins: 0xe2, port: 0 }, false)).toBeUndefined();
    expect(set.check({ ins: 0xe2, port: 0 }, true)).toEqual({ kind: 'delay', ms: 5 });
    set.add(b);
    expect(set.check({ ins: 0xe2, port: 0 }, false)).toEqual({ kind: 'sw', sw: 0x6f00 });
    expect(set.check({ ins: 0xa4, port: 0 }, false)).toBeUndefined();
    // es10Tag rules match only ES10 events, plain rules only APDU events
    const t: FaultRule = { match: { es10Tag: 0xbf2d }, action: { kind: 'sw', sw: 0x6a80 } };
    const only = new FaultSet([t]);
    expect(only.check({ ins: 0xe2, port: 0 }, true)).toBeUndefined();
    expect(only.check({ ins: 0xe2, port: 0, es10Tag: 0xbf2e }, true)).toBeUndefined();
    expect(only.check({ ins: 0xe2, port: 0, es10Tag: 0xbf2d }, true)).toEqual({ kind: 'sw', sw: 0x6a80 });
    expect(only.remove(t)).toBe(true);
    expect(only.remove(t)).toBe(false);
    expect(only.size).toBe(0);
    set.clear();
    expect(set.size).toBe(0);
  });
});

describe('SoftEuicc fault rules', () => {
  it('sw on an INS, for the nth APDU only', () => {
    const card = newCard([{ match: { ins: 0xa4, nth: 2 }, action: { kind: 'sw', sw: 0x6a82 } }]);
    const sel = '00A4040C10A0000005591010FFFFFFFF8900000100';
    expect(rawApdu(card, sel).sw).toBe(SW.OK);
    expect(hexSw(rawApdu(card, sel).sw)).toBe('6A82');
    expect(rawApdu(card, sel).sw).toBe(SW.OK);
  });
  it('sw on an ES10 request tag; other requests unaffected; an sw fault mid-sequence drops the sequence', () => {
    const card = newCard([{ match: { es10Tag: ECHO }, action: { kind: 'sw', sw: 0x6601 } }]);
    expect(hexSw(storeData(card, echo(1)).sw)).toBe('6601');
    expect(hexSw(storeData(card, fromHex('BF7F00')).sw)).toBe('6A88');
    card.faults.clear();
    expect(toHex(es10(card, echo(1)))).toBe('bf710101');
    // APDU-level sw on the 2nd STORE DATA block
    card.faults.add({ match: { ins: 0xe2, nth: 2 }, action: { kind: 'sw', sw: 0x6f00 } });
    const r = storeData(card, encodeTlv(ECHO, new Uint8Array(20)), { blockSize: 6 });
    expect(hexSw(r.sw)).toBe('6F00');
    expect(hexSw(rawApdu(card, '81E2110206000000000000').sw)).toBe('6985'); // block 2: sequence was dropped
    expect(toHex(es10(card, echo(2), { blockSize: 2 }))).toBe('bf710102');
  });
  it('port filter', () => {
    const card = newCard([{ match: { es10Tag: ECHO, port: 1 }, action: { kind: 'sw', sw: 0x6a84 } }], 2);
    expect(toHex(es10(card, echo(3), { port: 0 }))).toBe('bf710103');
    expect(() => es10(card, echo(3), { port: 1 })).toThrow(CardSwError);
    expect(hexSw(storeData(card, echo(3), { port: 1 }).sw)).toBe('6A84');
  });
  it('result: a complete ES10 response instead of the handler, chained like any response', () => {
    const canned = encodeTlv(0xbf2d, [encodeTlv(0xa0, new Uint8Array(0))]);
    const big = encodeTlv(0xbf22, new Uint8Array(600).fill(0x42));
    const card = newCard([
      { match: { es10Tag: 0xbf2d }, action: { kind: 'result', response: canned } },
      { match: { es10Tag: 0xbf22 }, action: { kind: 'result', response: big } },
    ]);
    expect(toHex(es10(card, fromHex('BF2D00')))).toBe(toHex(canned));
    expect(toHex(es10(card, fromHex('BF2200')))).toBe(toHex(big));
    // also at the APDU point (GET DATA-like INS the card does not know)
    card.faults.add({ match: { ins: 0xca }, action: { kind: 'result', response: Uint8Array.of(1, 2) } });
    openIsdr(card);
    const r = rawApdu(card, '81CA000000');
    expect(r).toEqual({ data: Uint8Array.of(1, 2), sw: SW.OK });
  });
  it('delay: only transmitAsync waits; the answer is unchanged', async () => {
    const card = newCard([{ match: { ins: 0xaa }, action: { kind: 'delay', ms: 120 } }]);
    const apdu = fromHex('80AA00000AA9088100820101830107');
    let t = Date.now();
    expect(toHex(card.transmit(apdu))).toBe('9000');
    expect(Date.now() - t).toBeLessThan(100);
    t = Date.now();
    expect(toHex(await card.transmitAsync(apdu))).toBe('9000');
    expect(Date.now() - t).toBeGreaterThanOrEqual(110);
  });
  it('disconnect: throws CardDisconnectedError (sync and async), powers the card off; the transport stays down', async () => {
    const card = newCard([{ match: { es10Tag: ECHO, nth: 2 }, action: { kind: 'disconnect' } }]);
    expect(toHex(es10(card, echo(1)))).toBe('bf710101');
    const cycles = card.powerCycles;
    expect(() => storeData(card, echo(1))).toThrow(CardDisconnectedError);
    expect(card.powerCycles).toBe(cycles + 1);
    expect(hexSw(rawApdu(card, '81E2910004' + toHex(echo(1))).sw)).toBe('6881'); // channel 1 closed

    card.faults.add({ match: { ins: 0xaa }, action: { kind: 'disconnect' } });
    const transport = new VirtualTransport(card);
    expect(toHex(await transport.transmit(fromHex('0070000001')))).toBe('019000');
    // the transport maps the card's disconnect onto the LPA's typed transport error
    await expect(transport.transmit(fromHex('80AA0000'))).rejects.toMatchObject({ name: 'TransportError', code: 'disconnected' });
    expect(transport.isOpen).toBe(false);
    await expect(transport.transmit(fromHex('0070000001'))).rejects.toMatchObject({ name: 'TransportError', code: 'disconnected' });
  });
  it('kill: SIGKILLs the process that runs the card', () => {
    const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
    const dir = mkdtempSync(join(tmpdir(), 'esimkit-'));
    try {
      const script = join(dir, 'kill.ts');
      writeFileSync(
        script,
        [
          `import { SoftEuicc } from ${JSON.stringify(join(root, 'src/euicc/card.ts'))};`,
          `import { createIdentity } from ${JSON.stringify(join(root, 'src/euicc/identity.ts'))};`,
          `const card = SoftEuicc.create(':memory:', { identity: createIdentity({}).identity, faults: [{ match: { ins: 0x70, nth: 2 }, action: { kind: 'kill' } }] });`,
          `process.stdout.write(Buffer.from(card.transmit(Uint8Array.of(0, 0x70, 0, 0, 1))).toString('hex') + '\\n');`,
          `card.transmit(Uint8Array.of(0, 0x70, 0, 0, 1));`,
          `process.stdout.write('survived\\n');`,
        ].join('\n'),
      );
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(r.stdout).toBe('019000\n');
      expect(r.signal).toBe('SIGKILL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('VirtualTransport', () => {
  it('transmits through the card on its port; close ends it; bad port is a RangeError', async () => {
    const card = newCard([], 2);
    const t1 = new VirtualTransport(card, 1);
    expect(toHex(await t1.transmit(fromHex('0070000001')))).toBe('019000');
    expect(toHex(await t1.transmit(fromHex('01A4040C10A0000005591010FFFFFFFF8900000100')))).toBe('9000');
    // port 0 has its own channel 1, still closed
    const t0 = new VirtualTransport(card);
    expect(toHex(await t0.transmit(fromHex('01A4040C10A0000005591010FFFFFFFF8900000100')))).toBe('6881');
    await t1.close();
    await expect(t1.transmit(fromHex('80AA0000'))).rejects.toMatchObject({ name: 'TransportError', code: 'closed' });
    expect(toHex(await t0.transmit(fromHex('80AA0000')))).toBe('9000');
    expect(() => new VirtualTransport(card, 2)).toThrow(RangeError);
  });
});
