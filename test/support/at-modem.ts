/**
 * A simulated AT-command modem with an eUICC inside, for the AT transport tests: it sits on one end of a
 * socat pty pair (`socat pty,raw,echo=0,link=<tmp>/modem pty,raw,echo=0,link=<tmp>/host`), opens the
 * modem end with `serialport`, and serves a {@link SoftEuicc} behind 3GPP TS 27.007 commands:
 * `AT`, `ATE0`/`ATE1`, `ATI`, `AT+CGMI`, `AT+CCHO="<AID>"` (MANAGE CHANNEL + SELECT on the card, the
 * session id is the channel number), `AT+CGLA=<n>,<len>,"<hex>"`, `AT+CCHC=<n>`, `AT+CSIM=<len>,"<hex>"`,
 * and their `=?` test forms. The host side (`modem.hostPath`) is what the transport opens.
 *
 * Like a real modem it starts with echo on (ATE0 turns it off) and terminates every response line with
 * CR LF. Quirks (one per quirk lpac users hit, see the issue):
 * - `echo`: echo stays on after ATE0;
 * - `urc`: unsolicited result codes (`+CREG: 1`, `RING`, `^SIMST: 1`, `+QIND: ...`) between response
 *   lines and before the final result;
 * - `bareChannel`: AT+CCHO answers `1` instead of `+CCHO: 1`;
 * - `noTestCommand`: every `=?` test command answers an error;
 * - `cmeErrors`: errors are `+CME ERROR: <n>` instead of plain `ERROR`;
 * - `noCgla`: no AT+CCHO / AT+CGLA / AT+CCHC (errors) → the host must use AT+CSIM.
 * Extra knobs: `lineEnding` (CR LF by default; LF or CR alone), `fragment` (write answers in pieces of n
 * bytes with pauses, to exercise partial reads). Faults: {@link SimulatedModem.inject}.
 *
 * `sessionCount()` tells how many CCHO sessions the modem still holds; {@link openCardChannels} asks the
 * card itself which logical channels are open.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { claFor, decodeCla, parseResponse } from '../../src/apdu/apdu.js';
import type { SoftEuicc } from '../../src/euicc/card.js';
import { concatBytes, fromHex, toHex } from '../../src/util/hex.js';

export interface ModemQuirks {
  echo?: boolean;
  urc?: boolean;
  bareChannel?: boolean;
  noTestCommand?: boolean;
  cmeErrors?: boolean;
  noCgla?: boolean;
}

export type ModemQuirk = keyof ModemQuirks;
export const MODEM_QUIRKS: readonly ModemQuirk[] = ['echo', 'urc', 'bareChannel', 'noTestCommand', 'cmeErrors', 'noCgla'];

export interface ModemOptions extends ModemQuirks {
  /** Response line terminator (default CR LF). */
  lineEnding?: '\r\n' | '\n' | '\r';
  /** Write answers in pieces of this many bytes, with a pause between pieces (partial reads). */
  fragment?: number;
  /** eUICC port the modem talks to (default 0). */
  cardPort?: number;
}

/** A fault for the next command(s) whose text matches. */
export interface ModemFault {
  readonly match: RegExp;
  /** error: ERROR (or +CME ERROR); silent: no answer at all; garbage: a malformed reply line, then OK. */
  readonly action: 'error' | 'silent' | 'garbage';
  /** How many matching commands it applies to (default 1). */
  times?: number;
}

export const URCS = ['+CREG: 1', 'RING', '^SIMST: 1', '+QIND: "csq",20,99'];

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/local/bin'])) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** The socat binary, or undefined when it is not installed. */
export const SOCAT = which('socat');

class ModemError extends Error {
  constructor(readonly cme: number) {
    super(`CME ${cme}`);
  }
}

const CME = { NOT_ALLOWED: 3, NOT_SUPPORTED: 4, SIM_NOT_INSERTED: 10, INVALID_INDEX: 21, INCORRECT_PARAMETERS: 50 } as const;

export class SimulatedModem {
  /** Every command line received, in order. */
  readonly commands: string[] = [];
  /** APDUs forwarded to the card (CGLA + CSIM + the ones CCHO/CCHC send). */
  apdus = 0;
  private echoOn = true;
  private inbuf = '';
  private readonly sessions = new Set<number>();
  private readonly faults: ModemFault[] = [];
  private work: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly opts: ModemOptions;
  private readonly end: string;

  private constructor(
    readonly card: SoftEuicc,
    private readonly dir: string,
    private readonly socat: ChildProcess,
    private readonly port: SerialPort,
    /** The pty end the host (transport) opens. */
    readonly hostPath: string,
    opts: ModemOptions,
  ) {
    this.opts = { ...opts };
    this.end = opts.lineEnding ?? '\r\n';
    port.on('data', (d: Buffer) => this.onData(d));
    port.on('error', () => undefined);
  }

  /** Start socat, wait for both pty links, open the modem end. Throws when socat is missing. */
  static async start(card: SoftEuicc, opts: ModemOptions = {}): Promise<SimulatedModem> {
    if (!SOCAT) throw new Error('socat not installed');
    const dir = mkdtempSync(join(tmpdir(), 'esimkit-at-'));
    const modemPath = join(dir, 'modem');
    const hostPath = join(dir, 'host');
    const socat = spawn(SOCAT, ['-d', '-d', `pty,raw,echo=0,link=${modemPath}`, `pty,raw,echo=0,link=${hostPath}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    socat.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!(existsSync(modemPath) && existsSync(hostPath) && /starting data transfer loop/.test(log))) {
      if (socat.exitCode !== null || Date.now() > deadline) {
        socat.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`socat did not create the pty pair:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const port = new SerialPort({ path: modemPath, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    return new SimulatedModem(card, dir, socat, port, hostPath, opts);
  }

  /** Change quirks at run time. */
  setQuirks(q: ModemQuirks): void {
    Object.assign(this.opts, q);
  }

  /** Add a fault for the next matching command(s). */
  inject(fault: ModemFault): void {
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  /** Send an unsolicited result code now (between commands or in the middle of one). */
  async unsolicited(line: string): Promise<void> {
    await this.write(`${this.end}${line}${this.end}`);
  }

  /** CCHO sessions (channel numbers) the modem still holds. */
  sessionCount(): number {
    return this.sessions.size;
  }

  /** Kill socat (the host side sees its port vanish) and close the modem end. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.socat.exitCode === null && this.socat.signalCode === null) {
      const exited = new Promise<void>((r) => this.socat.once('exit', () => r()));
      this.socat.kill('SIGTERM');
      const t = setTimeout(() => this.socat.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    if (this.port.isOpen) await new Promise<void>((r) => this.port.close(() => r()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------------------------------------------

  private onData(d: Buffer): void {
    this.inbuf += d.toString('latin1');
    for (;;) {
      const i = this.inbuf.search(/[\r\n]/);
      if (i < 0) break;
      const line = this.inbuf.slice(0, i).trim();
      this.inbuf = this.inbuf.slice(i + 1);
      if (line.length === 0) continue;
      // one command at a time, in order, even though the card answers asynchronously
      this.work = this.work.then(() => this.handle(line)).catch(() => undefined);
    }
  }

  private async write(s: string): Promise<void> {
    if (this.closed || !this.port.isOpen) return;
    const n = this.opts.fragment;
    if (!n || n <= 0) {
      this.port.write(s, 'latin1');
      return;
    }
    for (let i = 0; i < s.length; i += n) {
      this.port.write(s.slice(i, i + n), 'latin1');
      await new Promise<void>((r) => this.port.drain(() => r()));
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  private urcs(): string[] {
    return this.opts.urc ? [URCS[Math.floor(Math.random() * URCS.length)]!] : [];
  }

  private async answer(lines: string[], final: string): Promise<void> {
    const e = this.end;
    let out = '';
    for (const l of lines) {
      out += `${e}${l}${e}`;
      for (const u of this.urcs()) out += `${e}${u}${e}`;
    }
    for (const u of this.urcs()) out += `${e}${u}${e}`;
    out += `${e}${final}${e}`;
    await this.write(out);
  }

  private errorText(cme: number): string {
    return this.opts.cmeErrors ? `+CME ERROR: ${cme}` : 'ERROR';
  }

  private async handle(line: string): Promise<void> {
    this.commands.push(line);
    const wasEcho = this.echoOn;
    if (wasEcho) await this.write(`${line}\r`);
    const fault = this.faults.find((f) => f.match.test(line) && (f.times ?? 1) > 0);
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.action === 'silent') return;
      if (fault.action === 'error') return this.answer([], this.errorText(CME.NOT_ALLOWED));
      return this.answer(['+CGLA: 7,"9Z"', '+CSIM: 3,"900"'], 'OK');
    }
    try {
      const lines = await this.dispatch(line);
      await this.answer(lines, 'OK');
    } catch (e) {
      const cme = e instanceof ModemError ? e.cme : CME.NOT_ALLOWED;
      await this.answer([], this.errorText(cme));
    }
  }

  private async dispatch(line: string): Promise<string[]> {
    const up = line.toUpperCase();
    if (!up.startsWith('AT')) throw new ModemError(CME.NOT_SUPPORTED);
    const cmd = up.slice(2);
    const test = cmd.endsWith('=?');
    if (test && this.opts.noTestCommand) throw new ModemError(CME.NOT_SUPPORTED);
    const logical = /^\+CC?H[OC]|^\+CGLA/.test(cmd);
    if (logical && this.opts.noCgla) throw new ModemError(CME.NOT_SUPPORTED);
    if (cmd === '') return [];
    if (cmd === 'E0' || cmd === 'E') {
      if (!this.opts.echo) this.echoOn = false;
      return [];
    }
    if (cmd === 'E1') {
      this.echoOn = true;
      return [];
    }
    if (cmd === 'I' || cmd === '+CGMI') return ['esimkit simulated modem'];
    if (test) {
      if (['+CCHO=?', '+CCHC=?', '+CGLA=?', '+CSIM=?'].includes(cmd)) return [];
      throw new ModemError(CME.NOT_SUPPORTED);
    }
    let m: RegExpExecArray | null;
    if ((m = /^\+CCHO="?([0-9A-F]{10,32})"?$/.exec(cmd))) return this.ccho(fromHex(m[1]!));
    if ((m = /^\+CCHC=(\d+)$/.exec(cmd))) return this.cchc(Number(m[1]));
    if ((m = /^\+CGLA=(\d+),(\d+),"?([0-9A-F]*)"?$/.exec(cmd))) {
      const session = Number(m[1]);
      const apdu = this.hexArg(Number(m[2]), m[3]!);
      if (!this.sessions.has(session)) throw new ModemError(CME.INVALID_INDEX);
      if (decodeChannel(apdu) !== session) throw new ModemError(CME.INCORRECT_PARAMETERS);
      const r = await this.toCard(apdu);
      return [`+CGLA: ${r.length * 2},"${toHex(r).toUpperCase()}"`];
    }
    if ((m = /^\+CSIM=(\d+),"?([0-9A-F]*)"?$/.exec(cmd))) {
      const apdu = this.hexArg(Number(m[1]), m[2]!);
      const r = await this.toCard(apdu);
      return [`+CSIM: ${r.length * 2},"${toHex(r).toUpperCase()}"`];
    }
    throw new ModemError(CME.NOT_SUPPORTED);
  }

  private hexArg(len: number, hex: string): Uint8Array {
    if (len !== hex.length || hex.length % 2 !== 0 || hex.length < 8) throw new ModemError(CME.INCORRECT_PARAMETERS);
    return fromHex(hex);
  }

  private async toCard(apdu: Uint8Array): Promise<Uint8Array> {
    this.apdus++;
    try {
      return await this.card.transmitAsync(apdu, this.opts.cardPort ?? 0);
    } catch {
      throw new ModemError(CME.SIM_NOT_INSERTED);
    }
  }

  /** MANAGE CHANNEL open, SELECT the AID on it (GET RESPONSE on 61xx); the session id is the channel. */
  private async ccho(aid: Uint8Array): Promise<string[]> {
    const open = parseResponse(await this.toCard(Uint8Array.of(0x00, 0x70, 0x00, 0x00, 0x01)));
    const ch = open.data[0];
    if (open.sw !== 0x9000 || ch === undefined) throw new ModemError(CME.NOT_ALLOWED);
    const cla = claFor(ch, false);
    let r = parseResponse(await this.toCard(concatBytes(Uint8Array.of(cla, 0xa4, 0x04, 0x00, aid.length), aid, Uint8Array.of(0x00))));
    for (let guard = 0; r.sw >> 8 === 0x61 && guard < 64; guard++) {
      r = parseResponse(await this.toCard(Uint8Array.of(cla, 0xc0, 0x00, 0x00, r.sw & 0xff)));
    }
    if (r.sw !== 0x9000) {
      await this.toCard(Uint8Array.of(0x00, 0x70, 0x80, ch));
      throw new ModemError(CME.NOT_ALLOWED);
    }
    this.sessions.add(ch);
    return [this.opts.bareChannel ? `${ch}` : `+CCHO: ${ch}`];
  }

  private async cchc(session: number): Promise<string[]> {
    if (!this.sessions.has(session)) throw new ModemError(CME.INVALID_INDEX);
    this.sessions.delete(session);
    const r = parseResponse(await this.toCard(Uint8Array.of(0x00, 0x70, 0x80, session)));
    if (r.sw !== 0x9000) throw new ModemError(CME.NOT_ALLOWED);
    return [];
  }
}

function decodeChannel(apdu: Uint8Array): number {
  try {
    return decodeCla(apdu[0]!).channel;
  } catch {
    return -1;
  }
}

/**
 * Ask the card which logical channels (1..19) are open on a port: a GET RESPONSE with wrong P1 on each
 * channel answers 6881 when the channel is closed (and 6A86 without side effects when it is open).
 */
export function openCardChannels(card: SoftEuicc, port = 0): number[] {
  const open: number[] = [];
  for (let ch = 1; ch <= 19; ch++) {
    const r = parseResponse(card.transmit(Uint8Array.of(claFor(ch, false), 0xc0, 0x01, 0x00, 0x00), port));
    if (r.sw !== 0x6881) open.push(ch);
  }
  return open;
}

/** socat's version line, for skip messages and reports. */
export function socatVersion(): string | undefined {
  if (!SOCAT) return undefined;
  const r = spawnSync(SOCAT, ['-V'], { encoding: 'utf8' });
  return /socat version (\S+)/.exec(r.stdout ?? '')?.[1];
}
