/**
 * The software eUICC: ISO 7816-4 command APDUs in, response APDUs out (SGP22-NOTES §1).
 *
 * APDU layer:
 * - Ports (MEP): `config.ports` independent APDU interfaces, each with a basic channel 0 (always open)
 *   and logical channels 1-19 (MANAGE CHANNEL), class bytes 00-03/40-4F (ISO) and 80-83/C0-CF
 *   (proprietary). Secure messaging is not supported (6882), nor ISO command chaining (6884).
 * - SELECT by AID (P1 04; P2 00/04 answer the FCI, 0C no data): ISD-R, ECASD (no ES10 functions);
 *   a truncated AID of at least 5 bytes selects the first application it is a prefix of.
 *   FCI: `6F { 84 AID, A5 { 9F65 01 FF }, E0 { 82 svn } }` (E0 ISDRProprietaryApplicationTemplate, ISD-R only).
 * - MANAGE CHANNEL open (`00 70 00 00 01` → lowest free channel; P2 1..19 opens that channel) and close
 *   (`00 70 80 ch`). A channel opened from the basic channel has nothing selected; from channel n it
 *   inherits n's selection (ISO 7816-4).
 * - STORE DATA (80 E2): P1 11 (more) / 91 (last), P2 block number from 00, +1 per block (mod 256); any
 *   break answers 6985 and drops what was accumulated; the reassembled request is limited to
 *   {@link MAX_ES10_REQUEST} bytes (6A84). The request goes to the ES10 handler tables by its outer tag,
 *   or to the BPP loader (bpp.ts) for BF36 and, while a BPP is loading, A0-A3/86/88.
 * - Responses: when the response does not fit Ne (Le, 256 max short, 65536 extended), or the command
 *   carried no Le (case 3, as on T=0), the card answers `61xx` without data and hands the bytes out with
 *   GET RESPONSE (`xC0 00 00 Le`, any class whose channel bits match), at most Ne per GET RESPONSE; the
 *   last part ends with 9000, earlier parts with 61xx. Any other command on the channel drops them.
 * - TERMINAL CAPABILITY (80 AA): 9000.
 * - Proprietary OS-update commands (osu.ts): class 8x/Cx, INS in OSU_INS, with ISD-R selected on the channel
 *   (nothing selected 6985, ECASD 6D00, as STORE DATA).
 * Faults never escape {@link SoftEuicc.transmit}: every input gets at least a status word, except a
 * `disconnect` fault rule, which throws {@link CardDisconnectedError} on purpose.
 */
import { randomBytes } from 'node:crypto';
import { Asn1Error, decodeTlv, readTlvHeader } from '../asn1/tlv.js';
import {
  ApduError,
  buildResponse,
  decodeCla,
  INS,
  parseCommandApdu,
  STORE_DATA_P1_LAST,
  STORE_DATA_P1_MORE,
  SW,
  type CommandApdu,
} from '../apdu/apdu.js';
import { bytesEqual, concatBytes, fromHex } from '../util/hex.js';
import { CardStore } from './state.js';
import { loadIdentity, saveIdentity, type EuiccIdentity } from './identity.js';
import { RspSession } from './session.js';
import { CardFault, DEFAULT_CARD_CONFIG, type CardConfig, type CardRuntime, type Es10Context, type Es10Handler, type Es10HandlerTable } from './types.js';
import { CardDisconnectedError, FaultSet, type FaultAction, type FaultRule } from './faults.js';
import { ES10A_HANDLERS } from './es10a.js';
import { ES10B_HANDLERS } from './es10b.js';
import { ES10C_HANDLERS } from './es10c.js';
import { NOTIFICATION_HANDLERS } from './notifications.js';
import { RAT_HANDLERS } from './rat.js';
import { CRL_HANDLERS } from './crl.js';
import { loadBppSegment } from './bpp.js';
import { OSU_INS, handleOsuApdu } from './osu.js';

export { CardDisconnectedError } from './faults.js';

/** ISD-R AID (SGP.22). */
export const ISDR_AID = fromHex('A0000005591010FFFFFFFF8900000100');
/** ECASD AID. */
export const ECASD_AID = fromHex('A0000005591010FFFFFFFF8900000200');
/** Logical channels per port: 0 (basic) .. 19. */
export const MAX_CHANNELS = 20;
/** Largest reassembled ES10 request (bytes) accepted from one STORE DATA sequence. */
export const MAX_ES10_REQUEST = 256 * 1024;
/** Firmware version of a new card (meta 'firmwareVersion' overrides; OS update changes it). */
export const DEFAULT_FIRMWARE_VERSION = '1.0.0';
/** Root SM-DS address of a new card unless given. */
export const DEFAULT_ROOT_DS_ADDRESS = 'lpa.ds.gsma.com';

/** Tags that continue a BPP being loaded (SGP22-NOTES §3.2). */
const BPP_CONTINUATION_TAGS = new Set([0xa0, 0xa1, 0xa2, 0xa3, 0x86, 0x88]);
const TAG_INITIALISE_SECURE_CHANNEL = 0xbf36;

export interface CardOptions {
  faults?: FaultRule[];
  /** Extra ES10 handlers by request tag, taking precedence over the built-in tables (tests). */
  extraHandlers?: Es10HandlerTable;
  random?: (n: number) => Uint8Array;
  now?: () => Date;
}

export interface CreateCardOptions extends CardOptions {
  identity: EuiccIdentity;
  config?: Partial<CardConfig>;
  defaultDpAddress?: string;
  rootDsAddress?: string;
}

/** A state file that cannot be created or opened as a card. */
export class CardSetupError extends Error {
  override readonly name = 'CardSetupError';
}

type Application = 'isdr' | 'ecasd';

interface StoreDataChain {
  parts: Uint8Array[];
  size: number;
  /** Block number expected next (mod 256). */
  next: number;
}

interface ChannelState {
  selected: Application | undefined;
  chain: StoreDataChain | undefined;
  /** Response bytes waiting for GET RESPONSE. */
  pending: Uint8Array | undefined;
}

function newChannel(selected: Application | undefined = undefined): ChannelState {
  return { selected, chain: undefined, pending: undefined };
}

function newPort(): (ChannelState | undefined)[] {
  const chans: (ChannelState | undefined)[] = new Array<ChannelState | undefined>(MAX_CHANNELS).fill(undefined);
  chans[0] = newChannel();
  return chans;
}

function validateConfig(c: CardConfig): CardConfig {
  if (!Number.isInteger(c.ports) || c.ports < 1 || c.ports > 4) throw new RangeError(`ports ${c.ports} out of range 1..4`);
  if (!Number.isSafeInteger(c.totalMemory) || c.totalMemory < 0) throw new RangeError(`totalMemory ${c.totalMemory} invalid`);
  if (!/^\d+\.\d+\.\d+$/.test(c.svn)) throw new RangeError(`svn ${c.svn} is not x.y.z`);
  if (!/^\d+\.\d+\.\d+$/.test(c.profileVersion)) throw new RangeError(`profileVersion ${c.profileVersion} is not x.y.z`);
  return c;
}

function versionBytes(v: string): Uint8Array {
  const p = v.split('.').map((x) => Number(x) & 0xff);
  return Uint8Array.of(p[0] ?? 0, p[1] ?? 0, p[2] ?? 0);
}

function swOnly(sw: number): Uint8Array {
  return buildResponse(new Uint8Array(0), sw);
}

function mergeTables(): Map<number, Es10Handler> {
  const all = new Map<number, Es10Handler>();
  for (const t of [ES10A_HANDLERS, ES10B_HANDLERS, ES10C_HANDLERS, NOTIFICATION_HANDLERS, RAT_HANDLERS, CRL_HANDLERS]) {
    if (!t) continue;
    for (const [tag, h] of t) all.set(tag, h);
  }
  return all;
}

export class SoftEuicc {
  readonly runtime: CardRuntime;
  /** Fault rules (add/remove/clear at run time). */
  readonly faults: FaultSet;
  /** Incremented on every power-off/reset: channels opened before are gone (used by test drivers). */
  powerCycles = 0;

  private ports: (ChannelState | undefined)[][];
  private readonly handlers: Map<number, Es10Handler>;
  private readonly osuIns: Set<number>;
  private delayMs = 0;
  private closed = false;

  private constructor(store: CardStore, identity: EuiccIdentity, config: CardConfig, opts: CardOptions) {
    const session = new RspSession();
    const random = opts.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
    const now = opts.now ?? (() => new Date());
    this.runtime = {
      config,
      store,
      identity,
      session,
      firmwareVersion: () => store.getMetaString('firmwareVersion') ?? DEFAULT_FIRMWARE_VERSION,
      random,
      now,
    };
    this.faults = new FaultSet(opts.faults ?? []);
    this.ports = Array.from({ length: config.ports }, () => newPort());
    this.handlers = mergeTables();
    for (const [tag, h] of opts.extraHandlers ?? []) this.handlers.set(tag, h);
    this.osuIns = new Set(OSU_INS ?? []);
  }

  /** Create a new card state at `statePath` (':memory:' for a throw-away card). Fails if one exists there. */
  static create(statePath: string, opts: CreateCardOptions): SoftEuicc {
    const config = validateConfig({ ...DEFAULT_CARD_CONFIG, ...(opts.config ?? {}) });
    const store = CardStore.open(statePath);
    try {
      if (store.getMetaString('config') !== undefined) {
        throw new CardSetupError(`${statePath} already holds a card`);
      }
      store.transaction(() => {
        saveIdentity(store, opts.identity);
        store.setMetaString('config', JSON.stringify(config));
        store.setMetaString('firmwareVersion', DEFAULT_FIRMWARE_VERSION);
        store.setMetaString('rootDsAddress', opts.rootDsAddress ?? DEFAULT_ROOT_DS_ADDRESS);
        if (opts.defaultDpAddress !== undefined) store.setMetaString('defaultDpAddress', opts.defaultDpAddress);
      });
    } catch (e) {
      store.close();
      throw e;
    }
    return new SoftEuicc(store, opts.identity, config, opts);
  }

  /** Open an existing card state. */
  static open(statePath: string, opts: CardOptions = {}): SoftEuicc {
    const store = CardStore.open(statePath);
    try {
      const json = store.getMetaString('config');
      if (json === undefined) throw new CardSetupError(`${statePath} holds no card`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(json);
      } catch (e) {
        throw new CardSetupError(`${statePath}: card configuration unreadable`, { cause: e });
      }
      if (typeof parsed !== 'object' || parsed === null) throw new CardSetupError(`${statePath}: card configuration unreadable`);
      const config = validateConfig({ ...DEFAULT_CARD_CONFIG, ...(parsed as Partial<CardConfig>) });
      const identity = loadIdentity(store);
      return new SoftEuicc(store, identity, config, opts);
    } catch (e) {
      store.close();
      throw e;
    }
  }

  get eid(): string {
    return this.runtime.identity.eid;
  }

  get config(): CardConfig {
    return this.runtime.config;
  }

  /**
   * Answer-to-reset: `3B 9F 96 80 81 1F C7` + 15 historical bytes + TCK.
   * TS 3B direct convention; T0 9F: TA1 and TD1 follow, 15 historical bytes; TA1 96 (Fi 512, Di 32);
   * TD1 80: T=0, TD2 follows; TD2 81: T=1, TD3 follows; TD3 1F: T=15 global bytes, TA4 follows;
   * TA4 C7: clock stop no preference, classes A, B and C. Historical bytes (compact-TLV, ISO 7816-4 §12.1):
   * 80 category; 31 E0 card service data; 73 FE 21 xx card capabilities (third byte 1F: card and
   * interface channel assignment, 8 or more logical channels; 5F when extended Lc/Le is also supported);
   * 63 3A 20 4E pre-issuing data; 83 00 90 00 status. TCK = XOR of T0..last historical byte (required as
   * T≠0 is offered).
   */
  atr(): Uint8Array {
    const caps3 = this.runtime.config.extendedLength ? 0x5f : 0x1f;
    const body = Uint8Array.of(
      0x9f, 0x96, 0x80, 0x81, 0x1f, 0xc7,
      0x80, 0x31, 0xe0, 0x73, 0xfe, 0x21, caps3, 0x63, 0x3a, 0x20, 0x4e, 0x83, 0x00, 0x90, 0x00,
    );
    let tck = 0;
    for (const b of body) tck ^= b;
    return concatBytes(Uint8Array.of(0x3b), body, Uint8Array.of(tck));
  }

  /** Power off: every logical channel closes, nothing stays selected, the RSP session ends. */
  powerOff(): void {
    this.ports = Array.from({ length: this.runtime.config.ports }, () => newPort());
    this.runtime.session.reset();
    this.powerCycles++;
  }

  /** Warm reset: same effect on the card as a power cycle. */
  reset(): void {
    this.powerOff();
  }

  /** Close the state file. The card cannot be used afterwards (transmit answers 6F00). */
  close(): void {
    if (this.closed) return;
    this.powerOff();
    this.closed = true;
    this.runtime.store.close();
  }

  /** Process one command APDU on a port (default 0). Never throws for any APDU (but see fault rules). */
  transmit(apdu: Uint8Array, port = 0): Uint8Array {
    this.checkPort(port);
    return this.run(apdu, port, false);
  }

  /** As {@link transmit}, with delay fault rules applied. */
  async transmitAsync(apdu: Uint8Array, port = 0): Promise<Uint8Array> {
    const { response, delayMs } = this.transmitTimed(apdu, port);
    if (delayMs > 0) await new Promise<void>((resolve) => setTimeout(resolve, delayMs));
    return response;
  }

  /**
   * As {@link transmit}, and how long the answer is to be held back by delay fault rules (0 without): the
   * caller decides how to wait (VirtualTransport answers at once when nothing delays it, without a timer).
   */
  transmitTimed(apdu: Uint8Array, port = 0): { response: Uint8Array; delayMs: number } {
    this.checkPort(port);
    const response = this.run(apdu, port, true);
    const delayMs = this.delayMs;
    this.delayMs = 0;
    return { response, delayMs };
  }

  // -------------------------------------------------------------------------------------------------------

  private checkPort(port: number): void {
    if (!Number.isInteger(port) || port < 0 || port >= this.runtime.config.ports) {
      throw new RangeError(`port ${port} out of range 0..${this.runtime.config.ports - 1}`);
    }
  }

  private run(apdu: Uint8Array, port: number, async: boolean): Uint8Array {
    this.delayMs = 0;
    try {
      if (this.closed) return swOnly(SW.NO_PRECISE_DIAGNOSIS);
      if (!(apdu instanceof Uint8Array)) return swOnly(SW.NO_PRECISE_DIAGNOSIS);
      return this.process(apdu, port, async);
    } catch (e) {
      if (e instanceof CardDisconnectedError) throw e;
      if (e instanceof ApduError || e instanceof CardFault) return swOnly(validSw(e.sw));
      if (e instanceof Asn1Error) return swOnly(SW.INCORRECT_DATA);
      return swOnly(SW.NO_PRECISE_DIAGNOSIS);
    }
  }

  /** Apply a fault action that answers or ends the exchange; delay only records itself. */
  private applyFault(action: FaultAction): { sw: number } | { respond: Uint8Array } | undefined {
    switch (action.kind) {
      case 'sw':
        return { sw: validSw(action.sw) };
      case 'result':
        return { respond: action.response };
      case 'delay':
        this.delayMs += Math.max(0, action.ms);
        return undefined;
      case 'disconnect':
        this.powerOff();
        throw new CardDisconnectedError('card disconnected (fault injection)');
      case 'kill':
        process.kill(process.pid, 'SIGKILL');
        return { sw: SW.NO_PRECISE_DIAGNOSIS };
    }
  }

  private process(bytes: Uint8Array, port: number, async: boolean): Uint8Array {
    const channels = this.ports[port]!;
    if (bytes.length >= 2 && this.faults.size > 0) {
      const action = this.faults.check({ ins: bytes[1]!, port }, async);
      if (action) {
        const r = this.applyFault(action);
        if (r) {
          const ch = channelOf(bytes, channels);
          if (ch) {
            ch.chain = undefined;
            ch.pending = undefined;
          }
          if ('sw' in r) return swOnly(r.sw);
          if (ch && bytes.length >= 4) return this.respond(ch, parseLeLenient(bytes), r.respond);
          return buildResponse(r.respond, SW.OK);
        }
      }
    }
    const cmd = parseCommandApdu(bytes);
    if (cmd.extended && !this.runtime.config.extendedLength) {
      throw new ApduError(SW.WRONG_LENGTH, 'extended length not supported');
    }
    const cls = decodeCla(cmd.cla);
    if (cls.chaining) throw new ApduError(SW.COMMAND_CHAINING_NOT_SUPPORTED, 'command chaining not supported');
    const ch = channels[cls.channel];
    if (!ch) throw new ApduError(SW.CHANNEL_NOT_SUPPORTED, `channel ${cls.channel} is not open`);
    if (cmd.ins === INS.GET_RESPONSE) return this.getResponse(ch, cmd);
    ch.pending = undefined;
    if (!cls.proprietary) {
      switch (cmd.ins) {
        case INS.MANAGE_CHANNEL:
          return this.manageChannel(channels, cls.channel, cmd);
        case INS.SELECT:
          return this.select(ch, cmd);
        case INS.STORE_DATA:
        case INS.TERMINAL_CAPABILITY:
          throw new ApduError(SW.CLA_NOT_SUPPORTED, 'proprietary command with an interindustry class');
        default:
          throw new ApduError(SW.INS_NOT_SUPPORTED, `INS ${cmd.ins.toString(16)} not supported`);
      }
    }
    switch (cmd.ins) {
      case INS.STORE_DATA:
        return this.storeData(ch, cmd, port, cls.channel, async);
      case INS.TERMINAL_CAPABILITY:
        return swOnly(SW.OK);
      case INS.MANAGE_CHANNEL:
      case INS.SELECT:
        throw new ApduError(SW.CLA_NOT_SUPPORTED, 'interindustry command with a proprietary class');
      default:
        if (this.osuIns.has(cmd.ins)) {
          // The OS-update commands belong to the ISD-R (osu.ts): like STORE DATA, they need it selected.
          if (ch.selected === undefined) throw new ApduError(SW.CONDITIONS_NOT_SATISFIED, 'no application selected');
          if (ch.selected !== 'isdr') throw new ApduError(SW.INS_NOT_SUPPORTED, 'the selected application has no OS-update commands');
          const r = handleOsuApdu(cmd, { card: this.runtime, port, channel: cls.channel });
          if (r.sw === SW.OK) return this.respond(ch, cmd.le, r.data);
          return buildResponse(r.data, validSw(r.sw));
        }
        throw new ApduError(SW.INS_NOT_SUPPORTED, `INS ${cmd.ins.toString(16)} not supported`);
    }
  }

  /** Answer `data` (9000) directly when it fits Ne, else 61xx and keep it for GET RESPONSE. */
  private respond(ch: ChannelState, le: number | undefined, data: Uint8Array): Uint8Array {
    if (data.length === 0) return swOnly(SW.OK);
    if (le !== undefined && data.length <= le) return buildResponse(data, SW.OK);
    ch.pending = data.slice();
    return swOnly(moreData(data.length));
  }

  private getResponse(ch: ChannelState, cmd: CommandApdu): Uint8Array {
    if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new ApduError(SW.INCORRECT_P1P2, 'GET RESPONSE P1-P2 must be 0000');
    if (cmd.data.length > 0) throw new ApduError(SW.WRONG_LENGTH, 'GET RESPONSE has no data field');
    const pending = ch.pending;
    if (!pending) throw new ApduError(SW.CONDITIONS_NOT_SATISFIED, 'no response data pending');
    const ne = cmd.le ?? 256;
    if (pending.length <= ne) {
      ch.pending = undefined;
      return buildResponse(pending, SW.OK);
    }
    ch.pending = pending.subarray(ne);
    return buildResponse(pending.subarray(0, ne), moreData(pending.length - ne));
  }

  private manageChannel(channels: (ChannelState | undefined)[], from: number, cmd: CommandApdu): Uint8Array {
    if (cmd.data.length > 0) throw new ApduError(SW.WRONG_LENGTH, 'MANAGE CHANNEL has no data field');
    const origin = channels[from]!;
    if (cmd.p1 === 0x00) {
      const inherit = from === 0 ? undefined : origin.selected;
      if (cmd.p2 === 0x00) {
        const free = channels.findIndex((c, i) => i > 0 && c === undefined);
        if (free < 0) throw new ApduError(SW.FUNCTION_NOT_SUPPORTED, 'no free logical channel');
        channels[free] = newChannel(inherit);
        return buildResponse(Uint8Array.of(free), SW.OK);
      }
      if (cmd.p2 >= MAX_CHANNELS) throw new ApduError(SW.INCORRECT_P1P2, `channel ${cmd.p2} out of range`);
      if (channels[cmd.p2]) throw new ApduError(SW.FUNCTION_NOT_SUPPORTED, `channel ${cmd.p2} already open`);
      channels[cmd.p2] = newChannel(inherit);
      return swOnly(SW.OK);
    }
    if (cmd.p1 === 0x80) {
      const target = cmd.p2 === 0 ? from : cmd.p2;
      if (target === 0 || target >= MAX_CHANNELS) throw new ApduError(SW.INCORRECT_P1P2, `cannot close channel ${target}`);
      if (!channels[target]) throw new ApduError(SW.CHANNEL_NOT_SUPPORTED, `channel ${target} is not open`);
      channels[target] = undefined;
      return swOnly(SW.OK);
    }
    throw new ApduError(SW.INCORRECT_P1P2, 'MANAGE CHANNEL P1 must be 00 or 80');
  }

  private select(ch: ChannelState, cmd: CommandApdu): Uint8Array {
    if (cmd.p1 !== 0x04) throw new ApduError(SW.INCORRECT_P1P2, 'only SELECT by DF name (P1 04) is supported');
    if (cmd.p2 !== 0x00 && cmd.p2 !== 0x04 && cmd.p2 !== 0x0c) throw new ApduError(SW.INCORRECT_P1P2, 'SELECT P2 must be 00, 04 or 0C');
    const aid = cmd.data;
    if (aid.length === 0) throw new ApduError(SW.WRONG_LENGTH, 'SELECT needs an AID');
    let app: Application | undefined;
    if (aid.length >= 5 && aid.length <= 16) {
      if (isPrefix(aid, ISDR_AID)) app = 'isdr';
      else if (isPrefix(aid, ECASD_AID)) app = 'ecasd';
    }
    if (!app) throw new ApduError(SW.FILE_NOT_FOUND, 'application not found');
    ch.selected = app;
    ch.chain = undefined;
    if (cmd.p2 === 0x0c) return swOnly(SW.OK);
    return this.respond(ch, cmd.le, this.fci(app, cmd.p2 === 0x04 ? 0x62 : 0x6f));
  }

  private fci(app: Application, template: number): Uint8Array {
    const aid = app === 'isdr' ? ISDR_AID : ECASD_AID;
    const parts: Uint8Array[] = [tlv(0x84, aid), tlv(0xa5, tlv(0x9f65, Uint8Array.of(0xff)))];
    if (app === 'isdr') parts.push(tlv(0xe0, tlv(0x82, versionBytes(this.runtime.config.svn))));
    return tlv(template, concatBytes(...parts));
  }

  private storeData(ch: ChannelState, cmd: CommandApdu, port: number, channel: number, async: boolean): Uint8Array {
    if (ch.selected === undefined) throw new ApduError(SW.CONDITIONS_NOT_SATISFIED, 'no application selected');
    if (ch.selected !== 'isdr') throw new ApduError(SW.INS_NOT_SUPPORTED, 'the selected application has no ES10 functions');
    if (cmd.p1 !== STORE_DATA_P1_MORE && cmd.p1 !== STORE_DATA_P1_LAST) {
      ch.chain = undefined;
      throw new ApduError(SW.INCORRECT_P1P2, 'STORE DATA P1 must be 11 or 91');
    }
    const expected = ch.chain ? ch.chain.next : 0;
    if (cmd.p2 !== expected) {
      ch.chain = undefined;
      throw new ApduError(SW.CONDITIONS_NOT_SATISFIED, `STORE DATA block ${cmd.p2}, expected ${expected}`);
    }
    const chain = ch.chain ?? { parts: [], size: 0, next: 0 };
    if (chain.size + cmd.data.length > MAX_ES10_REQUEST) {
      ch.chain = undefined;
      throw new ApduError(SW.NOT_ENOUGH_MEMORY, 'ES10 request too long');
    }
    chain.parts.push(cmd.data.slice());
    chain.size += cmd.data.length;
    chain.next = (chain.next + 1) & 0xff;
    if (cmd.p1 === STORE_DATA_P1_MORE) {
      ch.chain = chain;
      return swOnly(SW.OK);
    }
    ch.chain = undefined;
    const request = chain.parts.length === 1 ? chain.parts[0]! : concatBytes(...chain.parts);
    const response = this.dispatchEs10(request, { card: this.runtime, port, channel }, async);
    return this.respond(ch, cmd.le, response);
  }

  private dispatchEs10(request: Uint8Array, ctx: Es10Context, async: boolean): Uint8Array {
    if (request.length === 0) throw new ApduError(SW.INCORRECT_DATA, 'empty ES10 request');
    const { tag } = readTlvHeader(request); // Asn1Error → 6A80
    if (this.faults.size > 0) {
      const action = this.faults.check({ ins: INS.STORE_DATA, port: ctx.port, es10Tag: tag }, async);
      if (action) {
        const r = this.applyFault(action);
        if (r) {
          if ('sw' in r) throw new ApduError(r.sw, 'fault rule');
          return r.respond;
        }
      }
    }
    const session = this.runtime.session;
    if (tag === TAG_INITIALISE_SECURE_CHANNEL || (session.bpp !== undefined && BPP_CONTINUATION_TAGS.has(tag))) {
      return loadBppSegment(request, ctx) ?? new Uint8Array(0);
    }
    const handler = this.handlers.get(tag);
    if (!handler) throw new ApduError(SW.REFERENCED_DATA_NOT_FOUND, `unknown ES10 request tag ${tag.toString(16)}`);
    const tlvReq = decodeTlv(request);
    return handler(tlvReq, ctx);
  }
}

function validSw(sw: number): number {
  return Number.isInteger(sw) && sw >= 0 && sw <= 0xffff ? sw : SW.NO_PRECISE_DIAGNOSIS;
}

function moreData(n: number): number {
  return SW.MORE_DATA | (n >= 256 ? 0 : n);
}

function isPrefix(prefix: Uint8Array, full: Uint8Array): boolean {
  return prefix.length <= full.length && bytesEqual(prefix, full.subarray(0, prefix.length));
}

function tlv(tag: number, value: Uint8Array): Uint8Array {
  // small local encoder for FCI (lengths < 128 here)
  const t = tag > 0xff ? Uint8Array.of(tag >> 8, tag & 0xff) : Uint8Array.of(tag);
  return concatBytes(t, Uint8Array.of(value.length), value);
}

/** The channel state an APDU addresses, if its class decodes and the channel is open (fault handling). */
function channelOf(bytes: Uint8Array, channels: (ChannelState | undefined)[]): ChannelState | undefined {
  try {
    return channels[decodeCla(bytes[0]!).channel];
  } catch {
    return undefined;
  }
}

/** Ne of an APDU if it parses, else undefined (fault 'result' answers). */
function parseLeLenient(bytes: Uint8Array): number | undefined {
  try {
    return parseCommandApdu(bytes).le;
  } catch {
    return undefined;
  }
}
