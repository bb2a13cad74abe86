import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCommandApdu, parseCommandApdu } from '../apdu/apdu.js';
import { generateKeyPair, verifyRaw } from '../crypto/ecdsa.js';
import { parseCertificate } from '../crypto/x509.js';
import { fromHex, toHex } from '../util/hex.js';
import { createIdentity } from './identity.js';
import {
  OSU_INS,
  OSU_META,
  OsuError,
  buildOsImage,
  compareOsVersions,
  decodeOsuStatus,
  handleOsuApdu,
  onProgress,
  osuCommands,
  parseOsImage,
  parseOsVersion,
  verifyOsImage,
  type OsuProgress,
} from './osu.js';
import { RspSession } from './session.js';
import { CardStore } from './state.js';
import { DEFAULT_CARD_CONFIG, type CardRuntime } from './types.js';
import type { Curve } from '../crypto/ecdsa.js';

const stores: CardStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

/** A card runtime over a real in-memory store and identity (what card.ts hands to handleOsuApdu). */
function makeRuntime(curve: Curve = 'P-256') {
  const { identity, eum } = createIdentity({ curve });
  const store = CardStore.open(':memory:');
  stores.push(store);
  const runtime: CardRuntime = {
    config: DEFAULT_CARD_CONFIG,
    store,
    identity,
    session: new RspSession(),
    firmwareVersion: () => store.getMetaString('firmwareVersion') ?? '1.0.0',
    random: (n) => new Uint8Array(n),
    now: () => new Date(0),
  };
  return { runtime, eum };
}

/** Send one encoded APDU to the OS-update handler (channel 1). */
function send(rt: CardRuntime, apdu: Uint8Array | string): { data: string; sw: string } {
  const bytes = typeof apdu === 'string' ? fromHex(apdu) : apdu;
  const r = handleOsuApdu(parseCommandApdu(bytes), { card: rt, port: 0, channel: 1 });
  return { data: toHex(r.data), sw: r.sw.toString(16).padStart(4, '0') };
}

function payloadOf(n: number): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 31 + 7) & 0xff;
  return p;
}

describe('OS image format', () => {
  it('builds header || signature || payload, signed over the header by SK.EUM', () => {
    const { eum } = makeRuntime();
    const payload = payloadOf(1000);
    const image = buildOsImage({ eumKey: eum.privateKey, version: '2.5.17', payload });
    expect(image.length).toBe(44 + 64 + 1000);
    expect(toHex(image.subarray(0, 12))).toBe('45534f5301' + '020511' + '000003e8');
    expect(toHex(image.subarray(12, 44))).toBe(createHash('sha256').update(payload).digest('hex'));
    const parsed = parseOsImage(image);
    expect(parsed.header.version).toEqual([2, 5, 17]);
    expect(parsed.header.payloadLength).toBe(1000);
    expect(toHex(parsed.payload)).toBe(toHex(payload));
    const pk = parseCertificate(eum.certDer).subjectPublicKeyInfo.key!;
    expect(verifyRaw(pk, image.subarray(0, 44), image.subarray(44, 108))).toBe(true);
    expect(verifyOsImage(parsed, pk)).toBe(true);
    expect(verifyOsImage(parsed, generateKeyPair('P-256').publicKey)).toBe(false);
  });

  it('rejects bad versions and images', () => {
    const key = generateKeyPair('P-256').privateKey;
    for (const v of ['1.2', '1.2.3.4', '256.0.0', 'a.b.c', '']) {
      expect(() => buildOsImage({ eumKey: key, version: v, payload: payloadOf(1) })).toThrow(OsuError);
    }
    expect(() => buildOsImage({ eumKey: key, version: '1.0.0', payload: new Uint8Array(0) })).toThrow(OsuError);
    const image = buildOsImage({ eumKey: key, version: '1.0.1', payload: payloadOf(10) });
    expect(() => parseOsImage(image.subarray(0, image.length - 1))).toThrow(/payload is 9 bytes/);
    const bad = image.slice();
    bad[0] = 0;
    expect(() => parseOsImage(bad)).toThrow(/magic/);
    expect(() => parseOsImage(image.subarray(0, 100))).toThrow(OsuError);
  });

  it('orders versions numerically', () => {
    expect(compareOsVersions(parseOsVersion('1.10.0'), parseOsVersion('1.9.255'))).toBeGreaterThan(0);
    expect(compareOsVersions(parseOsVersion('2.0.0'), parseOsVersion('2.0.0'))).toBe(0);
    expect(compareOsVersions(parseOsVersion('0.0.1'), parseOsVersion('0.1.0'))).toBeLessThan(0);
  });

  it('cuts an image into BEGIN, LOAD blocks and COMMIT', () => {
    const key = generateKeyPair('P-256').privateKey;
    const image = buildOsImage({ eumKey: key, version: '1.0.1', payload: payloadOf(500) });
    const cmds = osuCommands(image, { channel: 5, blockSize: 200 });
    expect(cmds.length).toBe(1 + 3 + 1);
    expect(toHex(cmds[0]!.subarray(0, 5))).toBe('c1ec00006c');
    expect(toHex(cmds[1]!.subarray(0, 5))).toBe('c1ed0000c8');
    expect(toHex(cmds[3]!.subarray(0, 5))).toBe('c1ed000264');
    expect(toHex(cmds[4]!)).toBe('c1ee000000');
  });
});

describe('OS update commands (card side)', () => {
  it('exports the INS set card.ts routes', () => {
    expect([...OSU_INS]).toEqual([0xec, 0xed, 0xee, 0xef]);
  });

  for (const curve of ['P-256', 'brainpoolP256r1'] as const) {
    it(`a good update changes the firmware version and reports progress (${curve})`, () => {
      const { runtime, eum } = makeRuntime(curve);
      const events: OsuProgress[] = [];
      const off = onProgress(runtime, (p) => events.push(p));
      expect(decodeOsuStatus(fromHex(send(runtime, '81EF000000').data))).toEqual({
        state: 'idle',
        currentVersion: '1.0.0',
        targetVersion: undefined,
        received: 0,
        total: 0,
      });
      const payload = payloadOf(1000);
      const image = buildOsImage({ eumKey: eum.privateKey, version: '1.2.0', payload });
      const cmds = osuCommands(image, { channel: 1, blockSize: 255 });
      expect(send(runtime, cmds[0]!)).toEqual({ data: '', sw: '9000' });
      const st0 = decodeOsuStatus(fromHex(send(runtime, '81EF000000').data));
      expect(st0).toEqual({ state: 'loading', currentVersion: '1.0.0', targetVersion: '1.2.0', received: 0, total: 1000 });
      const loads = cmds.slice(1, -1);
      expect(loads.length).toBe(4);
      expect(send(runtime, loads[0]!)).toEqual({ data: '000000ff000003e8', sw: '9000' });
      expect(send(runtime, loads[1]!)).toEqual({ data: '000001fe000003e8', sw: '9000' });
      expect(decodeOsuStatus(fromHex(send(runtime, '81EF000000').data)).received).toBe(510);
      expect(send(runtime, loads[2]!).sw).toBe('9000');
      expect(send(runtime, loads[3]!)).toEqual({ data: '000003e8000003e8', sw: '9000' });
      expect(decodeOsuStatus(fromHex(send(runtime, '81EF000000').data)).state).toBe('complete');
      expect(runtime.firmwareVersion()).toBe('1.0.0');
      expect(send(runtime, cmds.at(-1)!)).toEqual({ data: '010200', sw: '9000' });
      expect(runtime.firmwareVersion()).toBe('1.2.0');
      expect(runtime.store.getMetaString(OSU_META.firmwareVersion)).toBe('1.2.0');
      expect(runtime.store.getMetaString(OSU_META.lastImageSha256)).toBe(createHash('sha256').update(payload).digest('hex'));
      expect(decodeOsuStatus(fromHex(send(runtime, '81EF000000').data))).toMatchObject({ state: 'idle', currentVersion: '1.2.0' });
      expect(events.map((e) => `${e.phase}:${e.received}/${e.total}`)).toEqual([
        'begin:0/1000',
        'load:255/1000',
        'load:510/1000',
        'load:765/1000',
        'load:1000/1000',
        'commit:1000/1000',
      ]);
      expect(events.every((e) => e.version === '1.2.0')).toBe(true);
      off();
      // the same image again is now "same version": refused
      expect(send(runtime, cmds[0]!).sw).toBe('6985');
      expect(events.length).toBe(6);
    });
  }

  it('refuses an image signed by another key (6982) and a tampered header', () => {
    const { runtime } = makeRuntime();
    const other = createIdentity({}).eum; // another EUM (another CI)
    const image = buildOsImage({ eumKey: other.privateKey, version: '9.0.0', payload: payloadOf(10) });
    expect(send(runtime, osuCommands(image)[0]!).sw).toBe('6982');
    expect(runtime.session.osuLoad).toBeUndefined();
    // a good signature but the version byte changed after signing
    const { runtime: rt2, eum } = makeRuntime();
    const good = buildOsImage({ eumKey: eum.privateKey, version: '1.0.1', payload: payloadOf(10) });
    const tampered = good.slice();
    tampered[5] = 7;
    expect(send(rt2, osuCommands(tampered)[0]!).sw).toBe('6982');
    expect(send(rt2, osuCommands(good)[0]!).sw).toBe('9000');
  });

  it('refuses downgrades and the same version (6985), keeps the version', () => {
    const { runtime, eum } = makeRuntime();
    runtime.store.setMetaString('firmwareVersion', '2.3.4');
    for (const v of ['2.3.4', '2.3.3', '1.99.99', '0.0.1']) {
      const image = buildOsImage({ eumKey: eum.privateKey, version: v, payload: payloadOf(5) });
      expect(send(runtime, osuCommands(image)[0]!).sw, v).toBe('6985');
    }
    expect(runtime.firmwareVersion()).toBe('2.3.4');
    const up = buildOsImage({ eumKey: eum.privateKey, version: '2.3.5', payload: payloadOf(5) });
    for (const c of osuCommands(up)) expect(send(runtime, c).sw).toBe('9000');
    expect(runtime.firmwareVersion()).toBe('2.3.5');
  });

  it('refuses a payload that does not match the signed hash (6982 at COMMIT)', () => {
    const { runtime, eum } = makeRuntime();
    const image = buildOsImage({ eumKey: eum.privateKey, version: '1.1.0', payload: payloadOf(300) });
    const cmds = osuCommands(image, { blockSize: 100 });
    const evil = cmds.map((c) => c.slice());
    evil[2]![10] = evil[2]![10]! ^ 0xff; // one payload byte of block 1
    for (const c of evil.slice(0, -1)) expect(send(runtime, c).sw).toBe('9000');
    expect(send(runtime, evil.at(-1)!).sw).toBe('6982');
    expect(runtime.firmwareVersion()).toBe('1.0.0');
    expect(runtime.session.osuLoad).toBeUndefined();
  });

  it('checks sequence, lengths and P1/P2', () => {
    const { runtime, eum } = makeRuntime();
    const image = buildOsImage({ eumKey: eum.privateKey, version: '1.0.1', payload: payloadOf(300) });
    const cmds = osuCommands(image, { blockSize: 100 });
    // LOAD / COMMIT without BEGIN
    expect(send(runtime, cmds[1]!).sw).toBe('6985');
    expect(send(runtime, '80EE000000').sw).toBe('6985');
    expect(send(runtime, '80EE010000').sw).toBe('6985');
    // BEGIN faults
    expect(send(runtime, '80EC0000' + '05' + '0102030405').sw).toBe('6700');
    expect(send(runtime, encodeCommandApdu({ cla: 0x80, ins: 0xec, p1: 1, p2: 0, data: cmds[0]!.subarray(5) })).sw).toBe('6a86');
    const badMagic = cmds[0]!.slice();
    badMagic[5] = 0;
    expect(send(runtime, badMagic).sw).toBe('6a80');
    const zeroLen = encodeCommandApdu({ cla: 0x80, ins: 0xec, p1: 0, p2: 0, data: new Uint8Array(108).fill(0).map((_, i) => (i < 5 ? [0x45, 0x53, 0x4f, 0x53, 1][i]! : 0)) });
    expect(send(runtime, zeroLen).sw).toBe('6a80');
    const huge = cmds[0]!.slice();
    huge.set([0x7f, 0, 0, 0], 5 + 8);
    expect(send(runtime, huge).sw).toBe('6a84');
    // ISO class refused
    expect(send(runtime, '01EF000000').sw).toBe('6e00');
    expect(send(runtime, '80EF010000').sw).toBe('6a86');
    expect(send(runtime, '80EF00000101').sw).toBe('6700');
    // now a proper load with an out-of-sequence block in the middle
    expect(send(runtime, cmds[0]!).sw).toBe('9000');
    expect(send(runtime, cmds[1]!).sw).toBe('9000');
    expect(send(runtime, cmds[3]!).sw).toBe('6a86'); // block 2 before block 1: refused, load kept
    expect(send(runtime, cmds[1]!).sw).toBe('6a86'); // block 0 again
    expect(send(runtime, '80ED000100').sw).toBe('6700'); // LOAD without data (Le only)
    expect(send(runtime, '80EE000000').sw).toBe('6985'); // COMMIT before all bytes
    expect(send(runtime, '80EE020000').sw).toBe('6a86');
    expect(send(runtime, '80EE00000101').sw).toBe('6700');
    expect(send(runtime, cmds[2]!).sw).toBe('9000');
    expect(send(runtime, cmds[3]!).sw).toBe('9000');
    // more bytes than announced: refused and the load is aborted
    expect(send(runtime, encodeCommandApdu({ cla: 0x80, ins: 0xed, p1: 0, p2: 3, data: Uint8Array.of(1) })).sw).toBe('6a80');
    expect(send(runtime, cmds.at(-1)!).sw).toBe('6985');
    expect(runtime.firmwareVersion()).toBe('1.0.0');
  });

  it('ABORT drops the load; an interrupted load (reset) restarts cleanly from BEGIN', () => {
    const { runtime, eum } = makeRuntime();
    const events: string[] = [];
    onProgress(runtime, (p) => events.push(p.phase));
    const image = buildOsImage({ eumKey: eum.privateKey, version: '3.0.0', payload: payloadOf(600) });
    const cmds = osuCommands(image, { blockSize: 200 });
    expect(send(runtime, cmds[0]!).sw).toBe('9000');
    expect(send(runtime, cmds[1]!).sw).toBe('9000');
    expect(send(runtime, '80EE010000').sw).toBe('9000'); // abort
    expect(send(runtime, cmds[2]!).sw).toBe('6985');
    expect(events).toEqual(['begin', 'load', 'abort']);
    // start again, get half way, then the card loses power (session reset)
    expect(send(runtime, cmds[0]!).sw).toBe('9000');
    expect(send(runtime, cmds[1]!).sw).toBe('9000');
    expect(send(runtime, cmds[2]!).sw).toBe('9000');
    runtime.session.reset();
    expect(decodeOsuStatus(fromHex(send(runtime, '80EF000000').data)).state).toBe('idle');
    expect(send(runtime, cmds[3]!).sw).toBe('6985'); // continuing is impossible
    expect(send(runtime, cmds.at(-1)!).sw).toBe('6985');
    // a restart from BEGIN works; a BEGIN in the middle of a load also restarts it
    expect(send(runtime, cmds[0]!).sw).toBe('9000');
    expect(send(runtime, cmds[1]!).sw).toBe('9000');
    expect(send(runtime, cmds[0]!).sw).toBe('9000');
    for (const c of cmds.slice(1)) expect(send(runtime, c).sw).toBe('9000');
    expect(runtime.firmwareVersion()).toBe('3.0.0');
  });

  it('a committed version persists in the state file', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'esimkit-'));
    try {
      const path = join(dir, 'card.db');
      const { identity, eum } = createIdentity({});
      const store = CardStore.open(path);
      const rt: CardRuntime = {
        config: DEFAULT_CARD_CONFIG,
        store,
        identity,
        session: new RspSession(),
        firmwareVersion: () => store.getMetaString('firmwareVersion') ?? '1.0.0',
        random: (n) => new Uint8Array(n),
        now: () => new Date(0),
      };
      const image = buildOsImage({ eumKey: eum.privateKey, version: '1.0.7', payload: payloadOf(50) });
      for (const c of osuCommands(image)) expect(send(rt, c).sw).toBe('9000');
      store.close();
      const again = CardStore.open(path);
      expect(again.getMetaString('firmwareVersion')).toBe('1.0.7');
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OS update through the card (APDUs only)', () => {
  async function newCard() {
    const { SoftEuicc } = await import('./card.js');
    const { identity, eum } = createIdentity({});
    const card = SoftEuicc.create(':memory:', { identity });
    return { card, eum };
  }

  it('a good update changes euiccFirmwareVer (BF22 tag 83); bad signature and downgrade are refused', async () => {
    const { es10, openIsdr, transceive } = await import('../../test/support/card-driver.js');
    const { decodeEUICCInfo2 } = await import('../asn1/sgp22/euicc-info.js');
    const { card, eum } = await newCard();
    try {
      const info2 = () => decodeEUICCInfo2(es10(card, fromHex('BF2200')));
      expect(info2().euiccFirmwareVer).toBe('1.0.0');
      openIsdr(card, 0, 1);
      const progress: OsuProgress[] = [];
      onProgress(card.runtime, (p) => progress.push(p));
      // status through the card (81 = proprietary class, channel 1), with Le
      const st = transceive(card, '81EF000000', 0, 1);
      expect(st.sw).toBe(0x9000);
      expect(decodeOsuStatus(st.data)).toMatchObject({ state: 'idle', currentVersion: '1.0.0' });
      // bad signature
      const foreign = createIdentity({}).eum;
      const bad = buildOsImage({ eumKey: foreign.privateKey, version: '1.1.0', payload: payloadOf(2000) });
      expect(transceive(card, osuCommands(bad, { channel: 1 })[0]!, 0, 1).sw).toBe(0x6982);
      // good image, extended-length blocks
      const good = buildOsImage({ eumKey: eum.privateKey, version: '1.1.0', payload: payloadOf(2000) });
      const cmds = osuCommands(good, { channel: 1, blockSize: 700 });
      const results = cmds.map((c) => transceive(card, c, 0, 1));
      expect(results.map((r) => r.sw)).toEqual(cmds.map(() => 0x9000));
      expect(toHex(results.at(-1)!.data)).toBe('010100');
      expect(progress.map((p) => `${p.phase}:${p.received}`)).toEqual(['begin:0', 'load:700', 'load:1400', 'load:2000', 'commit:2000']);
      expect(info2().euiccFirmwareVer).toBe('1.1.0');
      // downgrade and same version
      for (const v of ['1.0.9', '1.1.0']) {
        const img = buildOsImage({ eumKey: eum.privateKey, version: v, payload: payloadOf(10) });
        expect(transceive(card, osuCommands(img, { channel: 1 })[0]!, 0, 1).sw, v).toBe(0x6985);
      }
      expect(info2().euiccFirmwareVer).toBe('1.1.0');
      // ISO class on the OS-update INS is not routed to the OS-update commands (card.ts: 6D00/6E00)
      expect([0x6d00, 0x6e00]).toContain(transceive(card, '01EF000000', 0, 1).sw);
    } finally {
      card.close();
    }
  });

  it('a power-off in the middle of a load restarts it; the next load commits', async () => {
    const { openIsdr, transceive } = await import('../../test/support/card-driver.js');
    const { card, eum } = await newCard();
    try {
      const image = buildOsImage({ eumKey: eum.privateKey, version: '2.0.0', payload: payloadOf(1000) });
      const cmds = osuCommands(image, { channel: 1, blockSize: 200 });
      openIsdr(card, 0, 1);
      for (const c of cmds.slice(0, 3)) expect(transceive(card, c, 0, 1).sw).toBe(0x9000);
      card.powerOff();
      openIsdr(card, 0, 1);
      expect(decodeOsuStatus(transceive(card, '81EF000000', 0, 1).data).state).toBe('idle');
      expect(transceive(card, cmds[3]!, 0, 1).sw).toBe(0x6985);
      for (const c of cmds) expect(transceive(card, c, 0, 1).sw).toBe(0x9000);
      expect(card.runtime.firmwareVersion()).toBe('2.0.0');
    } finally {
      card.close();
    }
  });
});
