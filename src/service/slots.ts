/**
 * Slots and ports from `ESIM_HOME/slots.json` (format: docs/slots.md). Each slot names how its eUICC is
 * reached: `virtual` (a software eUICC state file under the home), `pcsc:<reader>`, `at:<serial device>`, or
 * `none` (no eUICC: the service answers 801). Card connections are opened lazily, kept, and reopened after the
 * card or reader went away. A malformed file is a {@link SlotsConfigError} naming the field; nothing is opened.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import type { ApduChannelOptions } from '../apdu/channel.js';
import { TransportError, type ApduTransport, type TransportCapabilities, type TransportChannel } from '../apdu/transport.js';
import { VirtualTransport } from '../apdu/transports/virtual.js';
import { isValidSmdpAddress } from '../asn1/activation-code.js';
import { fromPem } from '../crypto/x509.js';
import { SoftEuicc } from '../euicc/card.js';
import { homePaths } from './home.js';
import { softEuiccOsuProvider, type OsUpdateProvider } from './osu.js';
import { ServiceError } from './protocol.js';
import type { ServiceStore } from './store.js';

export type SlotKind = 'virtual' | 'pcsc' | 'at' | 'none';

export interface Slot {
  readonly slotId: number;
  readonly kind: SlotKind;
  /** MEP ports (>=1); 0 for none. */
  readonly ports: number;
  readonly removable: boolean;
  /** false for 'none'. */
  readonly hasEuicc: boolean;
  readonly channelOptions?: ApduChannelOptions;
  /** The card connection, opened lazily and kept; throws ServiceError(801) for 'none'. Callers are inside the card queue. */
  transport(): Promise<ApduTransport>;
  readonly osu?: OsUpdateProvider;
  /** pcsc: the reader name; at: the device path; virtual: the absolute state file. */
  readonly target?: string;
  close(): Promise<void>;
}

export interface ServiceConfig {
  readonly home: string;
  readonly slots: readonly Slot[];
  /** For ES9+/ES11 TLS. */
  readonly trust: { readonly ciCertificates: readonly Uint8Array[] };
  /** Host overrides (demo: localhost → 127.0.0.1). */
  readonly resolve?: (host: string) => string | undefined;
  readonly demo?: { smdp: { address: string; port: number; db: string }; smds: { address: string; port: number; db: string } };
  /** The dashboard's fixed port on 127.0.0.1 (slots.json `dashboardPort`), when set. */
  readonly dashboardPort?: number;
  /** Close every slot's connection (loadServiceConfig sets it; the same as closing each slot). */
  close?(): Promise<void>;
}

/** slots.json is missing or malformed; `field` is the JSON path (`slots[1].transport`), or `(file)`. */
export class SlotsConfigError extends Error {
  override readonly name = 'SlotsConfigError';
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`slots.json ${field}: ${message}`, options);
  }
}

// ------------------------------------------------------------------------------------------ parsing

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, field: string): Json {
  if (!isObject(v)) throw new SlotsConfigError(field, 'must be an object');
  return v;
}

function onlyKeys(o: Json, field: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new SlotsConfigError(`${field}.${k}`.replace(/^\./, ''), `unknown field (allowed: ${allowed.join(', ')})`);
  }
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new SlotsConfigError(field, 'must be a non-empty string');
  return v;
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new SlotsConfigError(field, `must be an integer ${min}..${max}`);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new SlotsConfigError(field, 'must be true or false');
  return v;
}

/** A path relative to the home (absolute paths are accepted as they are). */
function homeFile(home: string, v: unknown, field: string): string {
  const s = str(v, field);
  if (s.includes('\0')) throw new SlotsConfigError(field, 'must be a file path');
  return isAbsolute(s) ? s : resolve(home, s);
}

/** DER certificates of a PEM (one or more blocks) or DER file. */
function readCertificates(path: string, field: string): Uint8Array[] {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw new SlotsConfigError(field, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  const text = raw.toString('latin1');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    if (raw[0] !== 0x30) throw new SlotsConfigError(field, `${path} is neither PEM nor DER`);
    return [new Uint8Array(raw)];
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  try {
    return blocks.map((b) => fromPem(b));
  } catch (e) {
    throw new SlotsConfigError(field, `${path}: bad PEM: ${(e as Error).message}`, { cause: e });
  }
}

const SLOT_KEYS = ['slotId', 'transport', 'state', 'ports', 'removable', 'atMode', 'baudRate', 'mss', 'apduTimeoutMs'] as const;
const AT_MODES = ['auto', 'cgla', 'csim'] as const;

interface SlotSpec {
  slotId: number;
  kind: SlotKind;
  target?: string;
  ports: number;
  removable: boolean;
  atMode?: (typeof AT_MODES)[number];
  baudRate?: number;
  channelOptions?: ApduChannelOptions;
}

function parseSlot(home: string, v: unknown, i: number): SlotSpec {
  const f = `slots[${i}]`;
  const o = obj(v, f);
  onlyKeys(o, f, SLOT_KEYS);
  const slotId = int(o['slotId'], `${f}.slotId`, 0, 255);
  if (slotId !== i) throw new SlotsConfigError(`${f}.slotId`, `must be ${i} (slots are numbered 0, 1, ... in order)`);
  const t = str(o['transport'], `${f}.transport`);
  let kind: SlotKind;
  let target: string | undefined;
  if (t === 'virtual' || t === 'none') kind = t;
  else if (t.startsWith('pcsc:') && t.length > 5) {
    kind = 'pcsc';
    target = t.slice(5);
  } else if (t.startsWith('at:') && t.length > 3) {
    kind = 'at';
    target = t.slice(3);
  } else throw new SlotsConfigError(`${f}.transport`, 'must be "virtual", "pcsc:<reader>", "at:<serial device>" or "none"');

  if (kind === 'virtual') target = homeFile(home, o['state'], `${f}.state`);
  else if (o['state'] !== undefined) throw new SlotsConfigError(`${f}.state`, 'only a virtual slot has a state file');
  if (kind !== 'at' && o['atMode'] !== undefined) throw new SlotsConfigError(`${f}.atMode`, 'only an at: slot has an atMode');
  if (kind !== 'at' && o['baudRate'] !== undefined) throw new SlotsConfigError(`${f}.baudRate`, 'only an at: slot has a baudRate');

  const ports = kind === 'none' ? (o['ports'] === undefined ? 0 : int(o['ports'], `${f}.ports`, 0, 0)) : o['ports'] === undefined ? 1 : int(o['ports'], `${f}.ports`, 1, 4);
  const removable = o['removable'] === undefined ? kind === 'pcsc' : bool(o['removable'], `${f}.removable`);
  const spec: SlotSpec = { slotId, kind, ports, removable, ...(target !== undefined && { target }) };
  if (o['atMode'] !== undefined) {
    const m = o['atMode'];
    if (typeof m !== 'string' || !(AT_MODES as readonly string[]).includes(m)) throw new SlotsConfigError(`${f}.atMode`, `must be one of ${AT_MODES.join(', ')}`);
    spec.atMode = m as SlotSpec['atMode'];
  }
  if (o['baudRate'] !== undefined) spec.baudRate = int(o['baudRate'], `${f}.baudRate`, 300, 4_000_000);
  const ch: { blockSize?: number; timeoutMs?: number } = {};
  if (o['mss'] !== undefined) {
    if (kind === 'none') throw new SlotsConfigError(`${f}.mss`, 'a slot without an eUICC has no APDU size');
    ch.blockSize = int(o['mss'], `${f}.mss`, 6, 65535);
  }
  if (o['apduTimeoutMs'] !== undefined) {
    if (kind === 'none') throw new SlotsConfigError(`${f}.apduTimeoutMs`, 'a slot without an eUICC has no APDU timeout');
    ch.timeoutMs = int(o['apduTimeoutMs'], `${f}.apduTimeoutMs`, 100, 600_000);
  }
  if (ch.blockSize !== undefined || ch.timeoutMs !== undefined) spec.channelOptions = ch;
  return spec;
}

function parseDemoServer(home: string, v: unknown, f: string): { address: string; port: number; db: string } {
  const o = obj(v, f);
  onlyKeys(o, f, ['address', 'port', 'db']);
  const address = str(o['address'], `${f}.address`);
  if (!isValidSmdpAddress(address)) throw new SlotsConfigError(`${f}.address`, 'must be host[:port]');
  const port = int(o['port'], `${f}.port`, 1, 65535);
  return { address, port, db: homeFile(home, o['db'], `${f}.db`) };
}

/** The parsed file (no connection opened). */
export interface SlotsFile {
  readonly version: 1;
  readonly slots: readonly SlotSpec[];
  readonly ciCertificates: readonly Uint8Array[];
  readonly hosts: Readonly<Record<string, string>>;
  readonly demo?: { smdp: { address: string; port: number; db: string }; smds: { address: string; port: number; db: string } };
  readonly osu?: { dir?: string; url?: string; ca?: string };
  readonly dashboardPort?: number;
}

/** Parse slots.json text for `home` (relative paths against it; reads the trust and CA files). */
export function parseSlotsFile(home: string, text: string): SlotsFile {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new SlotsConfigError('(file)', `not JSON: ${(e as Error).message}`, { cause: e });
  }
  const o = obj(root, '(file)');
  // unknown top-level fields are ignored (forward compatibility); the known ones are checked strictly
  if (o['version'] !== 1) throw new SlotsConfigError('version', 'must be 1');
  const slotsRaw = o['slots'];
  if (!Array.isArray(slotsRaw) || slotsRaw.length === 0) throw new SlotsConfigError('slots', 'must be a non-empty list');
  if (slotsRaw.length > 16) throw new SlotsConfigError('slots', 'at most 16 slots');
  const slots = slotsRaw.map((s, i) => parseSlot(home, s, i));

  const ciCertificates: Uint8Array[] = [];
  if (o['trust'] !== undefined) {
    const t = obj(o['trust'], 'trust');
    onlyKeys(t, 'trust', ['ciCertificates']);
    const list = t['ciCertificates'];
    if (!Array.isArray(list)) throw new SlotsConfigError('trust.ciCertificates', 'must be a list of certificate files');
    list.forEach((p, i) => {
      const field = `trust.ciCertificates[${i}]`;
      const certs = readCertificates(homeFile(home, p, field), field);
      if (certs.length === 0) throw new SlotsConfigError(field, 'holds no certificate');
      ciCertificates.push(...certs);
    });
  }

  const hosts: Record<string, string> = {};
  if (o['hosts'] !== undefined) {
    const h = obj(o['hosts'], 'hosts');
    for (const [name, ip] of Object.entries(h)) {
      if (!/^[A-Za-z0-9.-]{1,253}$/.test(name)) throw new SlotsConfigError(`hosts.${name}`, 'is not a host name');
      if (typeof ip !== 'string' || isIP(ip) === 0) throw new SlotsConfigError(`hosts.${name}`, 'must be an IP address');
      hosts[name.toLowerCase()] = ip;
    }
  }

  let demo: SlotsFile['demo'];
  if (o['demo'] !== undefined) {
    const d = obj(o['demo'], 'demo');
    onlyKeys(d, 'demo', ['smdp', 'smds']);
    const smdp = parseDemoServer(home, d['smdp'], 'demo.smdp');
    const smds = parseDemoServer(home, d['smds'], 'demo.smds');
    if (smdp.port === smds.port) throw new SlotsConfigError('demo.smds.port', 'must differ from demo.smdp.port');
    demo = { smdp, smds };
  }

  let osu: SlotsFile['osu'];
  if (o['osu'] !== undefined) {
    const u = obj(o['osu'], 'osu');
    onlyKeys(u, 'osu', ['dir', 'url', 'ca']);
    if ((u['dir'] === undefined) === (u['url'] === undefined)) throw new SlotsConfigError('osu', 'needs exactly one of "dir" or "url"');
    if (u['dir'] !== undefined) osu = { dir: homeFile(home, u['dir'], 'osu.dir') };
    else {
      const url = str(u['url'], 'osu.url');
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new SlotsConfigError('osu.url', 'is not a URL');
      }
      if (parsed.protocol !== 'https:') throw new SlotsConfigError('osu.url', 'must be an https:// URL');
      let ca: string | undefined;
      if (u['ca'] !== undefined) {
        const path = homeFile(home, u['ca'], 'osu.ca');
        ca = readCertificates(path, 'osu.ca')
          .map((c) => `-----BEGIN CERTIFICATE-----\n${(Buffer.from(c).toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`)
          .join('');
      }
      osu = { url, ...(ca !== undefined && { ca }) };
    }
    if (u['dir'] !== undefined && u['ca'] !== undefined) throw new SlotsConfigError('osu.ca', 'only with "url"');
  }

  const dashboardPort = o['dashboardPort'] === undefined ? undefined : int(o['dashboardPort'], 'dashboardPort', 0, 65535);
  return {
    version: 1,
    slots,
    ciCertificates,
    hosts,
    ...(demo && { demo }),
    ...(osu && { osu }),
    ...(dashboardPort !== undefined && { dashboardPort }),
  };
}

// ------------------------------------------------------------------------------------------ slots

/**
 * A transport that notices when its connection died (disconnected/closed): the slot then reopens on the next
 * {@link Slot.transport} call. Everything else is passed through.
 */
class TrackedTransport implements ApduTransport {
  dead = false;
  constructor(readonly inner: ApduTransport) {}
  get capabilities(): TransportCapabilities {
    return this.inner.capabilities;
  }
  private watch<T>(p: Promise<T>): Promise<T> {
    return p.catch((e: unknown) => {
      if (e instanceof TransportError && (e.code === 'disconnected' || e.code === 'closed')) this.dead = true;
      throw e;
    });
  }
  transmit(apdu: Uint8Array, options?: { timeoutMs?: number }): Promise<Uint8Array> {
    return this.watch(this.inner.transmit(apdu, options));
  }
  get openLogicalChannel(): ((aid: Uint8Array, options?: { timeoutMs?: number }) => Promise<TransportChannel>) | undefined {
    const f = this.inner.openLogicalChannel;
    return f ? (aid, options) => this.watch(f.call(this.inner, aid, options)) : undefined;
  }
  get closeLogicalChannel(): ((channel: number, options?: { timeoutMs?: number }) => Promise<void>) | undefined {
    const f = this.inner.closeLogicalChannel;
    return f ? (channel, options) => this.watch(f.call(this.inner, channel, options)) : undefined;
  }
  get exclusive(): (<T>(fn: () => Promise<T>) => Promise<T>) | undefined {
    const f = this.inner.exclusive;
    return f ? <T>(fn: () => Promise<T>) => this.watch(f.call(this.inner, fn) as Promise<T>) : undefined;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

class ConfiguredSlot implements Slot {
  readonly hasEuicc: boolean;
  readonly osu?: OsUpdateProvider;
  readonly channelOptions?: ApduChannelOptions;
  readonly target?: string;
  private current: TrackedTransport | undefined;
  private opening: Promise<TrackedTransport> | undefined;
  private card: SoftEuicc | undefined;
  private closed = false;

  constructor(
    private readonly spec: SlotSpec,
    osu: { source: SlotsFile['osu']; store: ServiceStore } | undefined,
  ) {
    this.hasEuicc = spec.kind !== 'none';
    if (spec.channelOptions) this.channelOptions = spec.channelOptions;
    if (spec.target !== undefined) this.target = spec.target;
    if (spec.kind === 'virtual' && osu?.source) {
      this.osu = softEuiccOsuProvider({
        slotId: spec.slotId,
        transport: () => this.transport(),
        source: osu.source,
        store: osu.store,
        ...(spec.channelOptions && { channelOptions: spec.channelOptions }),
      });
    }
  }

  get slotId(): number {
    return this.spec.slotId;
  }
  get kind(): SlotKind {
    return this.spec.kind;
  }
  get ports(): number {
    return this.spec.ports;
  }
  get removable(): boolean {
    return this.spec.removable;
  }

  async transport(): Promise<ApduTransport> {
    if (this.spec.kind === 'none') throw new ServiceError(801, `slot ${this.spec.slotId} has no eUICC.`);
    if (this.closed) throw new TransportError('closed', `slot ${this.spec.slotId} is closed`);
    if (this.current && !this.current.dead) return this.current;
    if (this.current) {
      const old = this.current;
      this.current = undefined;
      await old.close().catch(() => undefined);
    }
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    const t = await this.opening;
    if (this.closed) {
      await t.close().catch(() => undefined);
      throw new TransportError('closed', `slot ${this.spec.slotId} is closed`);
    }
    this.current = t;
    return t;
  }

  private async open(): Promise<TrackedTransport> {
    const s = this.spec;
    switch (s.kind) {
      case 'virtual': {
        if (!this.card) {
          // SoftEuicc.open would create an empty file for a wrong path
          if (!existsSync(s.target!)) throw new SlotsConfigError(`slots[${s.slotId}].state`, `no card state file ${s.target} (create one with: esim card create --state ${s.target})`);
          const card = SoftEuicc.open(s.target!);
          if (card.config.ports < s.ports) {
            card.close();
            throw new SlotsConfigError(`slots[${s.slotId}].ports`, `is ${s.ports} but the card ${s.target} has ${card.config.ports} port(s)`);
          }
          this.card = card;
        }
        return new TrackedTransport(new VirtualTransport(this.card, 0));
      }
      case 'pcsc': {
        const { PcscTransport } = await import('../apdu/transports/pcsc.js');
        return new TrackedTransport(await PcscTransport.open({ reader: s.target! }));
      }
      case 'at': {
        const { AtTransport } = await import('../apdu/transports/at.js');
        return new TrackedTransport(await AtTransport.open({ path: s.target!, ...(s.atMode && { mode: s.atMode }), ...(s.baudRate !== undefined && { baudRate: s.baudRate }) }));
      }
      default:
        throw new ServiceError(801, `slot ${s.slotId} has no eUICC.`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    if (opening) await opening.then((t) => t.close()).catch(() => undefined);
    const t = this.current;
    this.current = undefined;
    if (t) await t.close().catch(() => undefined);
    const c = this.card;
    this.card = undefined;
    c?.close();
  }
}

/** Reads home/slots.json (clear typed error naming the field for a bad file: SlotsConfigError). */
export function loadServiceConfig(home: string, store: ServiceStore): ServiceConfig {
  const paths = homePaths(home);
  let text: string;
  try {
    text = readFileSync(paths.slotsFile, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SlotsConfigError('(file)', code === 'ENOENT' ? `${paths.slotsFile} does not exist (a first start creates it)` : `cannot read ${paths.slotsFile}: ${code ?? (e as Error).message}`, { cause: e });
  }
  const file = parseSlotsFile(paths.home, text);
  const slots = file.slots.map((s) => new ConfiguredSlot(s, file.osu ? { source: file.osu, store } : undefined));
  const hosts = file.hosts;
  const resolveHost = Object.keys(hosts).length > 0 ? (host: string): string | undefined => hosts[host.toLowerCase()] : undefined;
  return {
    home: paths.home,
    slots,
    trust: { ciCertificates: file.ciCertificates },
    ...(resolveHost && { resolve: resolveHost }),
    ...(file.demo && { demo: file.demo }),
    ...(file.dashboardPort !== undefined && { dashboardPort: file.dashboardPort }),
    async close() {
      await Promise.allSettled(slots.map((s) => s.close()));
    },
  };
}
