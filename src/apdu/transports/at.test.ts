/**
 * AtTransport line handling against a scripted in-process AT interpreter (a Duplex stream, no serial
 * port): echo, URCs, CR/LF variants, partial reads, final results, timeouts, disconnects, session ids,
 * routing by CLA, mode probing, one command at a time. The same transport over a real pty and the
 * simulated modem with the software eUICC: test/lpa.at.test.ts.
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TransportError } from '../transport.js';
import { AtCommandError, AtTransport } from './at.js';
import { fromHex, toHex } from '../../util/hex.js';

type Reply = string | null | undefined | { chunks: string[] } | { after: number; text: string };
type Script = (cmd: string, modem: FakeModem) => Reply;

/** Answers each CR-terminated command with the script's text (null or undefined: silence). */
class FakeModem extends Duplex {
  readonly received: string[] = [];
  private inbuf = '';
  busy = false;
  overlapped = false;

  constructor(private readonly script: Script) {
    super();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.inbuf += chunk.toString('latin1');
    let i: number;
    while ((i = this.inbuf.indexOf('\r')) >= 0) {
      const cmd = this.inbuf.slice(0, i);
      this.inbuf = this.inbuf.slice(i + 1);
      if (this.busy) this.overlapped = true;
      this.received.push(cmd);
      const r = this.script(cmd, this);
      if (r === undefined || r === null) continue;
      this.busy = true;
      if (typeof r === 'string') {
        setImmediate(() => {
          this.busy = false;
          this.push(r);
        });
      } else if ('chunks' in r) {
        void (async () => {
          for (const c of r.chunks) {
            this.push(c);
            await new Promise((res) => setTimeout(res, 1));
          }
          this.busy = false;
        })();
      } else {
        setTimeout(() => {
          this.busy = false;
          this.push(r.text);
        }, r.after);
      }
    }
    cb();
  }
}

const OK = '\r\nOK\r\n';

/** A basic well-behaved modem: CCHO → channel 1, CGLA/CSIM → 9000 with the APDU's INS echoed as data. */
function basic(extra: (cmd: string) => Reply = () => undefined): Script {
  return (cmd) => {
    const x = extra(cmd);
    if (x !== undefined) return x; // null: silence
    if (/^AT(E0)?$/.test(cmd) || /=\?$/.test(cmd) || /^AT\+CCHC=/.test(cmd)) return OK;
    if (/^AT\+CCHO=/.test(cmd)) return `\r\n+CCHO: 1\r\n${OK}`;
    const m = /^AT\+(CGLA=\d+|CSIM)[,=]\d+,"([0-9A-F]+)"$/.exec(cmd);
    if (m) {
      const ins = m[2]!.slice(2, 4);
      const kind = m[1]!.startsWith('CGLA') ? 'CGLA' : 'CSIM';
      return `\r\n+${kind}: 6,"${ins}9000"\r\n${OK}`;
    }
    return '\r\nERROR\r\n';
  };
}

async function open(script: Script, opts: { timeoutMs?: number; mode?: 'auto' | 'cgla' | 'csim' } = {}): Promise<{ t: AtTransport; m: FakeModem }> {
  const m = new FakeModem(script);
  const t = await AtTransport.openStream(m, { timeoutMs: opts.timeoutMs ?? 1000, mode: opts.mode ?? 'auto' });
  return { t, m };
}

const STORE_DATA_CH1 = fromHex('81E291000ABF3E035C015A');

describe('AtTransport (scripted AT interpreter)', () => {
  it('open: AT, ATE0, test commands → mode cgla with openLogicalChannel / closeLogicalChannel', async () => {
    const { t, m } = await open(basic());
    expect(t.mode).toBe('cgla');
    expect(m.received).toEqual(['AT', 'ATE0', 'AT+CCHO=?', 'AT+CGLA=?', 'AT+CCHC=?']);
    expect(typeof t.openLogicalChannel).toBe('function');
    expect(typeof t.closeLogicalChannel).toBe('function');
    expect(t.capabilities).toEqual({ extendedLength: false, maxCommandData: 255 });
    const ch = await t.openLogicalChannel!(fromHex('A0000005591010FFFFFFFF8900000100'));
    expect(ch).toEqual({ channel: 1, selectResponse: new Uint8Array(0) });
    expect(m.received.at(-1)).toBe('AT+CCHO="A0000005591010FFFFFFFF8900000100"');
    expect(t.openChannels).toEqual([1]);
    expect(toHex(await t.transmit(STORE_DATA_CH1))).toBe('e29000');
    expect(m.received.at(-1)).toBe(`AT+CGLA=1,22,"${toHex(STORE_DATA_CH1).toUpperCase()}"`);
    await t.closeLogicalChannel!(1);
    expect(m.received.at(-1)).toBe('AT+CCHC=1');
    expect(t.openChannels).toEqual([]);
    await t.close();
  });

  it('routes by the CLA channel bits: ch 5 (CLA 41/C1) → CGLA session 5, channel 0 → CSIM', async () => {
    const { t, m } = await open(basic());
    await t.transmit(fromHex('C1E2910000'));
    expect(m.received.at(-1)).toMatch(/^AT\+CGLA=5,10,"C1E2910000"$/);
    await t.transmit(fromHex('0070000001'));
    expect(m.received.at(-1)).toBe('AT+CSIM=10,"0070000001"');
    await t.transmit(fromHex('03C0000000'));
    expect(m.received.at(-1)).toBe('AT+CGLA=3,10,"03C0000000"');
    await expect(t.transmit(fromHex('00A4'))).rejects.toMatchObject({ name: 'TransportError', code: 'protocol' });
    await t.close();
  });

  it('a session id outside 1..19 is mapped onto a free channel number; CGLA and CCHC use the session id', async () => {
    const { t, m } = await open(basic((cmd) => (/^AT\+CCHO="/.test(cmd) ? `\r\n+CCHO: 1234\r\n${OK}` : undefined)));
    const ch = await t.openLogicalChannel!(fromHex('A000000559101000'));
    expect(ch.channel).toBe(1);
    await t.transmit(fromHex('81E2910000'));
    expect(m.received.at(-1)).toBe('AT+CGLA=1234,10,"81E2910000"');
    await t.closeLogicalChannel!(1);
    expect(m.received.at(-1)).toBe('AT+CCHC=1234');
    await t.close();
  });

  it('echo on, URCs before, between and after lines, a bare channel number, unquoted hex', async () => {
    const script: Script = (cmd) => {
      const echo = `${cmd}\r`;
      if (/^AT\+CCHO="/.test(cmd)) return `${echo}\r\nRING\r\n\r\n2\r\n\r\n+CREG: 1\r\n${OK}`;
      if (/^AT\+CGLA=\d/.test(cmd)) return `${echo}\r\n^SIMST: 1\r\n\r\n+CGLA: 4,9000\r\n\r\n+QIND: "csq",20,99\r\n${OK}`;
      return `${echo}${OK}`;
    };
    const { t } = await open(script);
    expect(t.mode).toBe('cgla');
    expect((await t.openLogicalChannel!(fromHex('A0000005591010FFFFFFFF8900000100'))).channel).toBe(2);
    expect(toHex(await t.transmit(fromHex('82E2910000')))).toBe('9000');
    await t.close();
  });

  it.each([
    ['LF only', '\n'],
    ['CR only', '\r'],
    ['CR CR LF', '\r\r\n'],
  ])('line endings: %s', async (_name, eol) => {
    const script: Script = (cmd) => {
      if (/^AT\+CSIM/.test(cmd)) return `${eol}+CSIM: 4,"6A82"${eol}${eol}OK${eol}`;
      return `${eol}OK${eol}`;
    };
    const { t } = await open(script, { mode: 'csim' });
    expect(toHex(await t.transmit(fromHex('00A4040000')))).toBe('6a82');
    await t.close();
  });

  it('partial reads: a reply arriving a few bytes at a time', async () => {
    const reply = `\r\n+CGLA: 12,"0102039000"\r\n${OK}`.replace('12', '10');
    const script: Script = (cmd) => {
      if (/^AT\+CGLA=\d/.test(cmd)) return { chunks: reply.match(/.{1,3}/gs)! };
      return OK;
    };
    const { t } = await open(script);
    expect(toHex(await t.transmit(fromHex('81E2910000')))).toBe('0102039000');
    await t.close();
  });

  it('ERROR, +CME ERROR and +CMS ERROR reject with AtCommandError (TransportError protocol, the modem text)', async () => {
    const answers = ['\r\nERROR\r\n', '\r\n+CME ERROR: 21\r\n', '\r\n+CMS ERROR: 500\r\n', '\r\n+CME ERROR: SIM busy\r\n'];
    let n = 0;
    const { t } = await open(basic((cmd) => (/^AT\+CGLA=\d/.test(cmd) ? answers[n++] : undefined)));
    const errors: AtCommandError[] = [];
    for (let i = 0; i < answers.length; i++) errors.push((await t.transmit(fromHex('81E2910000')).catch((e: unknown) => e)) as AtCommandError);
    for (const e of errors) {
      expect(e).toBeInstanceOf(AtCommandError);
      expect(e).toBeInstanceOf(TransportError);
      expect(e.code).toBe('protocol');
      expect(e.command).toBe('AT+CGLA');
      expect(e.message).not.toContain('81E2'); // arguments (APDUs) are never in messages
    }
    expect(errors.map((e) => e.result)).toEqual(['ERROR', '+CME ERROR: 21', '+CMS ERROR: 500', '+CME ERROR: SIM busy']);
    expect(errors.map((e) => e.errorCode)).toEqual([undefined, 21, 500, 'SIM busy']);
    // still usable
    expect(toHex(await t.transmit(fromHex('81E2910000')))).toBe('e29000');
    await t.close();
  });

  it('garbage: a malformed reply, a length mismatch, OK without a reply, no status word → protocol', async () => {
    const bad = [`\r\n+CGLA: 4,"9Z00"\r\n${OK}`, `\r\n+CGLA: 6,"9000"\r\n${OK}`, OK, `\r\n+CGLA: 2,"90"\r\n${OK}`, `\r\nhello\r\n${OK}`];
    let n = 0;
    const { t } = await open(basic((cmd) => (/^AT\+CGLA=\d/.test(cmd) ? bad[n++] : undefined)));
    for (let i = 0; i < bad.length; i++) {
      const e = await t.transmit(fromHex('81E2910000')).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TransportError);
      expect((e as TransportError).code).toBe('protocol');
    }
    await t.close();
  });

  it('timeout: TransportError timeout; a late answer is dropped; the next command works', async () => {
    let first = true;
    const { t } = await open(
      basic((cmd) => {
        if (/^AT\+CGLA=\d/.test(cmd) && first) {
          first = false;
          return { after: 150, text: `\r\n+CGLA: 4,"6F00"\r\n${OK}` };
        }
        return undefined;
      }),
    );
    const started = Date.now();
    const e = await t.transmit(fromHex('81E2910000'), { timeoutMs: 60 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'TransportError', code: 'timeout' });
    expect(Date.now() - started).toBeLessThan(140);
    await new Promise((r) => setTimeout(r, 200)); // the late answer arrives while nothing waits
    expect(toHex(await t.transmit(fromHex('81E2910000')))).toBe('e29000');
    await t.close();
  });

  it('the stream closing (port removed) → disconnected for the waiting command and every later one', async () => {
    const { t, m } = await open(basic());
    m.destroy(); // like the serial port going away
    await new Promise((r) => setImmediate(r));
    expect(t.isOpen).toBe(false);
    await expect(t.transmit(fromHex('81E2910000'))).rejects.toMatchObject({ code: 'disconnected' });
    await t.close();
    await expect(t.transmit(fromHex('81E2910000'))).rejects.toMatchObject({ code: 'closed' });

    const silent = await open((cmd) => (/^AT\+CGLA=\d/.test(cmd) ? undefined : OK));
    const p = silent.t.transmit(fromHex('81E2910000'), { timeoutMs: 5000 });
    setTimeout(() => silent.m.destroy(), 20);
    await expect(p).rejects.toMatchObject({ name: 'TransportError', code: 'disconnected' });
    await silent.t.close();
  });

  it('commands are serialized: concurrent transmits never overlap on the line', async () => {
    const { t, m } = await open(basic((cmd) => (/^AT\+CGLA=\d/.test(cmd) ? { after: 5, text: `\r\n+CGLA: 4,"9000"\r\n${OK}` } : undefined)));
    const rs = await Promise.all(Array.from({ length: 8 }, () => t.transmit(fromHex('81E2910000'))));
    expect(rs.map(toHex)).toEqual(Array(8).fill('9000'));
    expect(m.overlapped).toBe(false);
    await t.close();
  });

  it('probing: no `=?` support → the commands themselves are tried (CCHO then CCHC)', async () => {
    const { t, m } = await open(basic((cmd) => (/=\?$/.test(cmd) ? '\r\n+CME ERROR: 4\r\n' : undefined)));
    expect(t.mode).toBe('cgla');
    expect(m.received.slice(2)).toEqual(['AT+CCHO=?', 'AT+CCHO="A0000005591010FFFFFFFF8900000100"', 'AT+CCHC=1']);
    await t.close();
  });

  it('probing: no CCHO/CGLA/CCHC → CSIM, no openLogicalChannel; mode csim forces it without probing', async () => {
    const { t } = await open(basic((cmd) => (/^AT\+C(CHO|GLA|CHC)/.test(cmd) ? '\r\nERROR\r\n' : undefined)));
    expect(t.mode).toBe('csim');
    expect(t.openLogicalChannel).toBeUndefined();
    expect(t.closeLogicalChannel).toBeUndefined();
    expect(toHex(await t.transmit(fromHex('81E2910000')))).toBe('e29000');
    await t.close();
    const forced = await open(basic(), { mode: 'csim' });
    expect(forced.m.received).toEqual(['AT', 'ATE0']);
    expect(forced.t.mode).toBe('csim');
    await forced.t.close();
  });

  it('ATE0 refused: echo tolerated; no answer to AT → timeout from open', async () => {
    const { t } = await open((cmd) => (cmd === 'ATE0' ? `${cmd}\r\r\nERROR\r\n` : `${cmd}\r${OK}`), { mode: 'csim' });
    expect(t.isOpen).toBe(true);
    await t.close();
    const m = new FakeModem(() => undefined);
    await expect(AtTransport.openStream(m, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'timeout' });
    expect(m.destroyed).toBe(true);
  });

  it('close() closes the channels it opened (CCHC) and is idempotent', async () => {
    const { t, m } = await open(basic());
    await t.openLogicalChannel!(fromHex('A0000005591010FFFFFFFF8900000100'));
    await t.close();
    await t.close();
    expect(m.received.at(-1)).toBe('AT+CCHC=1');
    expect(t.isOpen).toBe(false);
    await expect(t.openLogicalChannel!(fromHex('A0000005591010FFFFFFFF8900000100'))).rejects.toMatchObject({ code: 'closed' });
  });

  it('opening a missing serial device → TransportError disconnected', async () => {
    await expect(AtTransport.open({ path: '/nonexistent/ttyUSB9', timeoutMs: 100 })).rejects.toMatchObject({
      name: 'TransportError',
      code: 'disconnected',
    });
  });
});
