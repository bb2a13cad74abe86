/**
 * The AT-modem transport end to end: AtTransport on the host end of a socat pty pair, the simulated modem
 * (test/support/at-modem.ts) on the other end serving the software eUICC behind AT commands.
 *
 * - the shared LPA suite over AT+CCHO/AT+CGLA/AT+CCHC (default, auto-probed), and again over a modem that
 *   only has AT+CSIM;
 * - one fixture per modem quirk (echo, URCs, bare CCHO channel, no `=?`, +CME ERROR, no CGLA), plus line
 *   endings and fragmented answers: open works, GetEID and the profile list work, no channel is left;
 * - faults: ERROR / +CME ERROR to a CGLA, a silent modem (timeout), a garbage reply, the pty closing —
 *   each a typed error, and the card is asked afterwards which logical channels are still open.
 *
 * Skipped with a visible reason when socat is missing; failing instead when ESIM_REQUIRE_SYSTEM_TESTS=1.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApduChannel } from '../src/apdu/channel.js';
import { TransportError } from '../src/apdu/transport.js';
import { AtCommandError, AtTransport, type AtMode } from '../src/apdu/transports/at.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity, type EuiccIdentity } from '../src/euicc/identity.js';
import { getEid, getProfilesInfo } from '../src/lpa/index.js';
import { MODEM_QUIRKS, SOCAT, SimulatedModem, openCardChannels, type ModemOptions } from './support/at-modem.js';
import { lpaSuite, seedProfiles, SUITE_ICCIDS } from './support/lpa-suite.js';
import { REQUIRE_SYSTEM_TESTS } from './support/reference.js';

const SKIP_REASON = SOCAT ? undefined : 'socat not installed (apt-get install socat)';

function describeAt(name: string, fn: () => void): void {
  if (!SKIP_REASON) describe(name, fn);
  else if (REQUIRE_SYSTEM_TESTS) {
    describe(name, () => {
      it('needs socat', () => {
        throw new Error(`${SKIP_REASON}; ESIM_REQUIRE_SYSTEM_TESTS=1 forbids skipping`);
      });
    });
  } else describe.skip(`${name} [skipped: ${SKIP_REASON}]`, fn);
}

let identity: EuiccIdentity | undefined;
function id(): EuiccIdentity {
  identity ??= createIdentity({}).identity;
  return identity;
}

interface Rig {
  card: SoftEuicc;
  modem: SimulatedModem;
  transport: AtTransport;
  close(): Promise<void>;
}

async function rig(modemOpts: ModemOptions = {}, mode: AtMode = 'auto', timeoutMs = 5000): Promise<Rig> {
  const card = SoftEuicc.create(':memory:', { identity: id() });
  const modem = await SimulatedModem.start(card, modemOpts);
  let transport: AtTransport;
  try {
    transport = await AtTransport.open({ path: modem.hostPath, mode, timeoutMs });
  } catch (e) {
    await modem.close();
    card.close();
    throw e;
  }
  return {
    card,
    modem,
    transport,
    close: async () => {
      await transport.close();
      await modem.close();
      card.close();
    },
  };
}

describeAt('AT transport over a socat pty to the simulated modem', () => {
  lpaSuite('at (AT+CCHO / AT+CGLA / AT+CCHC)', async () => {
    const r = await rig();
    expect(r.transport.mode).toBe('cgla');
    return { transport: r.transport, card: r.card, teardown: r.close };
  });

  lpaSuite('at (AT+CSIM only)', async () => {
    const r = await rig({ noCgla: true });
    expect(r.transport.mode).toBe('csim');
    return { transport: r.transport, card: r.card, teardown: r.close };
  });

  describe('quirk fixtures: open works, GetEID and the profile list work, no channel left open', () => {
    const fixtures: Array<[string, ModemOptions, 'cgla' | 'csim']> = [
      ...MODEM_QUIRKS.map((q): [string, ModemOptions, 'cgla' | 'csim'] => [q, { [q]: true }, q === 'noCgla' ? 'csim' : 'cgla']),
      ['all quirks but noCgla at once', { echo: true, urc: true, bareChannel: true, noTestCommand: true, cmeErrors: true }, 'cgla'],
      ['all quirks at once', { echo: true, urc: true, bareChannel: true, noTestCommand: true, cmeErrors: true, noCgla: true }, 'csim'],
      ['LF line endings', { lineEnding: '\n' }, 'cgla'],
      ['CR line endings, echo on', { lineEnding: '\r', echo: true }, 'cgla'],
      ['answers in 7-byte fragments with URCs', { fragment: 7, urc: true }, 'cgla'],
    ];
    it.each(fixtures)('%s', async (name, opts, expectedMode) => {
      const r = await rig(opts);
      try {
        seedProfiles(r.card);
        expect(r.transport.mode).toBe(expectedMode);
        expect(await ApduChannel.with(r.transport, {}, getEid)).toBe(r.card.eid);
        const list = await ApduChannel.with(r.transport, {}, (ch) => getProfilesInfo(ch));
        expect(list.map((p) => p.iccid)).toEqual([...SUITE_ICCIDS]);
        expect(list[0]).toMatchObject({ state: 'enabled', nickname: 'Work', profileName: 'A unlimited' });
        // what the modem saw proves the quirk was exercised
        const cmds = r.modem.commands;
        expect(cmds.slice(0, 2)).toEqual(['AT', 'ATE0']);
        if (name === 'noTestCommand') expect(cmds).toContain('AT+CCHO="A0000005591010FFFFFFFF8900000100"');
        if (expectedMode === 'cgla') {
          expect(cmds.some((c) => c.startsWith('AT+CGLA='))).toBe(true);
          expect(cmds.some((c) => c.startsWith('AT+CSIM='))).toBe(false);
        } else {
          expect(cmds.some((c) => c.startsWith('AT+CGLA='))).toBe(false);
          expect(cmds.filter((c) => c.startsWith('AT+CSIM=')).length).toBeGreaterThan(4);
        }
        if (opts.cmeErrors) {
          // an error final result carries the +CME code
          const e = await r.transport.command('AT+CCHC=17').catch((x: unknown) => x);
          expect(e).toBeInstanceOf(AtCommandError);
          expect((e as AtCommandError).result).toMatch(/^\+CME ERROR: \d+$/);
          expect(typeof (e as AtCommandError).errorCode).toBe('number');
        }
        expect(openCardChannels(r.card)).toEqual([]);
        expect(r.modem.sessionCount()).toBe(0);
      } finally {
        await r.close();
      }
    });
  });

  describe('faults: typed errors, and the card is asked which channels are left', () => {
    let r: Rig;
    beforeAll(async () => {
      r = await rig({}, 'auto', 2000);
      seedProfiles(r.card);
    });
    afterAll(async () => r?.close());
    afterEach(async () => {
      // a CCHC after a timeout may still be under way: give it a moment, then ask the card
      for (let i = 0; i < 50 && r.modem.sessionCount() > 0; i++) await new Promise((res) => setTimeout(res, 20));
      expect(openCardChannels(r.card)).toEqual([]);
      expect(r.modem.sessionCount()).toBe(0);
    });

    it('ERROR to a CGLA → AtCommandError (TransportError protocol) with the modem text; the transport stays usable', async () => {
      r.modem.inject({ match: /^AT\+CGLA=/, action: 'error' });
      const e = await ApduChannel.with(r.transport, {}, getEid).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(AtCommandError);
      expect(e).toMatchObject({ name: 'TransportError', code: 'protocol', command: 'AT+CGLA', result: 'ERROR' });
      expect(await ApduChannel.with(r.transport, {}, getEid)).toBe(r.card.eid);
    });

    it('+CME ERROR to a CGLA → the same typed error, with the code', async () => {
      r.modem.setQuirks({ cmeErrors: true });
      try {
        r.modem.inject({ match: /^AT\+CGLA=/, action: 'error' });
        const e = await ApduChannel.with(r.transport, {}, (ch) => getProfilesInfo(ch)).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(AtCommandError);
        expect(e).toMatchObject({ code: 'protocol', result: '+CME ERROR: 3', errorCode: 3 });
      } finally {
        r.modem.setQuirks({ cmeErrors: false });
      }
    });

    it('ERROR to the CCHO (no channel) → typed error, nothing opened', async () => {
      r.modem.inject({ match: /^AT\+CCHO="/, action: 'error' });
      await expect(ApduChannel.with(r.transport, {}, getEid)).rejects.toMatchObject({ code: 'protocol', command: 'AT+CCHO' });
    });

    it('the modem stays silent on a CGLA → TransportError timeout; the channel is closed afterwards', async () => {
      r.modem.inject({ match: /^AT\+CGLA=/, action: 'silent' });
      const started = Date.now();
      const e = await ApduChannel.with(r.transport, { timeoutMs: 300 }, getEid).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TransportError);
      expect((e as TransportError).code).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await ApduChannel.with(r.transport, {}, getEid)).toBe(r.card.eid);
    });

    it('a garbage reply line → TransportError protocol; the channel is closed', async () => {
      r.modem.inject({ match: /^AT\+CGLA=/, action: 'garbage' });
      const e = await ApduChannel.with(r.transport, {}, getEid).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TransportError);
      expect((e as TransportError).code).toBe('protocol');
      expect(e).not.toBeInstanceOf(AtCommandError);
    });

    it('URCs sent between commands are ignored', async () => {
      await r.modem.unsolicited('+CREG: 1');
      await r.modem.unsolicited('RING');
      expect(await ApduChannel.with(r.transport, {}, getEid)).toBe(r.card.eid);
      await r.modem.unsolicited('^SIMST: 1');
      expect((await ApduChannel.with(r.transport, {}, (ch) => getProfilesInfo(ch))).length).toBe(4);
    });

    it('concurrent sessions on two logical channels are serialized on the line', async () => {
      const results = await Promise.all([
        ApduChannel.with(r.transport, {}, getEid),
        ApduChannel.with(r.transport, {}, (ch) => getProfilesInfo(ch)),
        ApduChannel.with(r.transport, {}, getEid),
      ]);
      expect(results[0]).toBe(r.card.eid);
      expect((results[1] as unknown[]).length).toBe(4);
      expect(results[2]).toBe(r.card.eid);
    });
  });

  describe('the pty closing (modem removed) → disconnected', () => {
    it('while idle: the next operation is TransportError disconnected; no channel was opened', async () => {
      const r = await rig({}, 'auto', 2000);
      try {
        await r.modem.close();
        const e = await ApduChannel.with(r.transport, {}, getEid).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(TransportError);
        expect((e as TransportError).code).toBe('disconnected');
        expect(r.transport.isOpen).toBe(false);
        await expect(r.transport.transmit(Uint8Array.of(0x81, 0xe2, 0x91, 0x00, 0x00))).rejects.toMatchObject({ code: 'disconnected' });
        expect(openCardChannels(r.card)).toEqual([]);
      } finally {
        await r.close();
      }
    });

    it('while a command waits: it fails with disconnected well before its timeout', async () => {
      const r = await rig({}, 'auto', 10_000);
      try {
        r.modem.inject({ match: /^AT\+CGLA=/, action: 'silent' });
        const started = Date.now();
        const p = ApduChannel.with(r.transport, { timeoutMs: 10_000 }, getEid).catch((x: unknown) => x);
        await new Promise((res) => setTimeout(res, 100));
        await r.modem.close();
        const e = await p;
        expect(e).toBeInstanceOf(TransportError);
        expect((e as TransportError).code).toBe('disconnected');
        expect(Date.now() - started).toBeLessThan(3000);
        // the channel the dead modem had opened stays open on the card until the card loses power (as a
        // real modem's SIM does when the modem goes away); nothing else is left
        expect(openCardChannels(r.card)).toEqual([1]);
        r.card.powerOff();
        expect(openCardChannels(r.card)).toEqual([]);
      } finally {
        await r.close();
      }
    });
  });

  it('mode csim forced on a modem that has CGLA: only AT+CSIM is used, MANAGE CHANNEL by the ApduChannel', async () => {
    const r = await rig({}, 'csim');
    try {
      expect(r.transport.openLogicalChannel).toBeUndefined();
      expect(await ApduChannel.with(r.transport, {}, getEid)).toBe(r.card.eid);
      expect(r.modem.commands.some((c) => /^AT\+C(CHO|GLA|CHC)/.test(c))).toBe(false);
      expect(r.modem.commands.some((c) => c.startsWith('AT+CSIM=10,"0070000001"'))).toBe(true);
      expect(openCardChannels(r.card)).toEqual([]);
    } finally {
      await r.close();
    }
  });
});
