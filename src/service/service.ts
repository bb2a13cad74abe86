/**
 * EsimService: the system service ("system ability") behind the eSIM API (ARCHITECTURE.md §3). It owns the
 * slots and their cards, checks every call (protocol.ts check order: 202, 201, 401, 801), runs card work in
 * one FIFO queue per card (queue.ts), maps ES10 / LPA outcomes to ResultCodes (results.ts, docs/api.md),
 * emits events, sends notifications with retry, and keeps the addProfile queue and the factory-restore flag
 * in the ServiceStore.
 *
 * `invoke` rejects only with ServiceError: 201/202/401/801 from the checks, 3120001 once closing, 3120002
 * for timeouts and internal failures. eUICC and server outcomes resolve as ResultCode / responseResult.
 *
 * Design decisions (documented in docs/api.md):
 * - getOsuStatus reads the provider's persisted status outside the card queue (so IN_PROGRESS is visible
 *   while startOsu runs); startOsu runs inside it.
 * - cancelSession first looks for a download of this service running on that slot with that transactionId
 *   (as given by downloadProgress events): it is cancelled (ES10b CancelSession + ES9+ cancelSession) and
 *   the call resolves once the download has ended (0; 215 when the download completed before the cancel
 *   could take effect). Otherwise ES10b CancelSession is sent to the card (0, or 215 for an unknown id).
 * - Notifications created by an operation are sent right after it, still holding the card (one attempt);
 *   the ones that fail are retried later with exponential backoff (timers unref'd), each retry a queued job.
 */
import { ApduChannel, type ApduChannelOptions } from '../apdu/channel.js';
import type { ApduTransport } from '../apdu/transport.js';
import type {
  DownloadableProfile,
  DownloadConfiguration,
  DownloadProfileResult,
  EuiccInfo,
  GetDownloadableProfileMetadataResult,
  GetDownloadableProfilesResult,
  GetEuiccProfileInfoListResult,
} from '../api/types.js';
import { discoverProfiles, type DiscoveredProfile } from '../lpa/discovery.js';
import { downloadProfile as lpaDownloadProfile, type DownloadProgress } from '../lpa/download.js';
import * as es10a from '../lpa/es10a.js';
import * as es10b from '../lpa/es10b.js';
import * as es10c from '../lpa/es10c.js';
import { RspHttpClient } from '../lpa/http.js';
import { getProfileMetadata } from '../lpa/metadata.js';
import { sendPendingNotifications } from '../lpa/notifications.js';
import { ResultCode } from '../lpa/result-codes.js';
import { fromHex } from '../util/hex.js';
import { startDemoServers, type DemoServers } from './demo.js';
import { factoryResetCard } from './factory.js';
import { OSU_STATUS } from './osu.js';
import { defaultHome, ensureHome, homePaths } from './home.js';
import {
  EVENT_NAMES,
  FUNCTION_PERMISSION,
  isSystemFunction,
  ServiceError,
  timeoutOf,
  type ApiFunction,
  type Caller,
  type EsimBackend,
  type EsimEventName,
  type EsimEvents,
  type ProfileChangeEvent,
  type SlotJson,
  EXTENSION_FUNCTIONS,
  PUBLIC_FUNCTIONS,
  SYSTEM_FUNCTIONS,
} from './protocol.js';
import { slotsJson } from './ipc.js';
import { CardQueue } from './queue.js';
import {
  cancelSessionResultCode,
  deleteResultCode,
  disableResultCode,
  enableResultCode,
  euiccInfo2Json,
  failedMetadataResult,
  flowFailureCode,
  managementFailureCode,
  metadataResult,
  notificationJson,
  profileDetailsJson,
  removeNotificationResultCode,
  resetResultCode,
  setDefaultDpResultCode,
  setNicknameResultCode,
  SolvableErrorsBit,
  solvableErrorsOf,
  toEuiccProfile,
  type EuiccInfo2Json,
  type NotificationJson,
  type ProfileDetailsJson,
} from './results.js';
import { loadServiceConfig, type ServiceConfig, type Slot } from './slots.js';
import { openServiceStore, type PendingAdd, type ServiceStore } from './store.js';
import { checkActivationCode, validateArgs, type ArgsOf, type SlotShape } from './validate.js';

export interface EsimServiceOptions {
  /** ESIM_HOME (default defaultHome()). */
  home?: string;
  /** Start the demo SM-DP+ / SM-DS (default: when slots.json has a demo section). */
  startDemoServers?: boolean;
  /** Handles (demo servers, timers) do not keep the process alive. */
  unref?: boolean;
  now?: () => number;
  /** Per-call timeouts (default protocol.ts timeoutOf: 30 s, 180 s for downloads and metadata). */
  timeouts?: { callMs?: number; longCallMs?: number };
  /** Notification retry backoff (default 5 s doubling up to 15 min). */
  notificationRetry?: { baseDelayMs?: number; maxDelayMs?: number };
  /** How long close() lets a running card operation finish before aborting it (default 30 s). */
  closeGraceMs?: number;
  /** Largest number of calls waiting per card (default 1000). */
  maxQueuedPerCard?: number;
  /** Send pending notifications of every card at open (default true). */
  sweepNotifications?: boolean;
}

export interface InvokeOptions {
  /** The caller gave up (e.g. its socket closed): a queued call is dropped, a running one aborted. */
  readonly signal?: AbortSignal;
}

/** One addProfile entry as listPendingAdds returns it (no codes). */
export type PendingAddJson = PendingAdd;

interface RunningDownload {
  readonly portIndex: number;
  step: string;
  readonly cancel: AbortController;
  /** Resolves true when the download installed the profile, false otherwise. */
  readonly done: Promise<boolean>;
}

const ALL_FUNCTIONS: ReadonlySet<string> = new Set<string>([...SYSTEM_FUNCTIONS, ...PUBLIC_FUNCTIONS, ...EXTENSION_FUNCTIONS]);

/** Functions that need a slot with an eUICC (801 otherwise). */
const NO_CARD_FUNCTIONS: ReadonlySet<ApiFunction> = new Set<ApiFunction>(['isSupported', 'listSlots', 'listPendingAdds', 'addProfile', 'resolvePendingAdd', 'runningDownloads']);

/** The GetProfilesInfo tag list of getProfileDetails (4F, 93, 94, B6, B7, 99 beside the ICCID 5A). */
const PROFILE_DETAILS_FIELDS: readonly es10c.ProfileInfoField[] = ['iccid', 'isdpAid', 'iconType', 'icon', 'profileOwner', 'notificationConfigurations', 'policyRules'];

const DEFAULT_RETRY_BASE_MS = 5_000;
const DEFAULT_RETRY_MAX_MS = 15 * 60_000;
const NOTIFICATION_JOB_MS = 60_000;
/** Previewed ICCIDs kept (oldest dropped beyond). */
const MAX_PREVIEWS = 1000;

function isCaller(c: unknown): c is Caller {
  if (typeof c !== 'object' || c === null) return false;
  const x = c as Partial<Caller>;
  return typeof x.bundleName === 'string' && typeof x.systemApp === 'boolean' && Array.isArray(x.permissions);
}

/** 202 then 201 for `fn` called by `caller` (throws ServiceError). */
export function authorize(caller: Caller, fn: ApiFunction): void {
  if (!isCaller(caller)) throw new ServiceError(201, `Permission denied: ${fn} has no caller identity`);
  if (isSystemFunction(fn) && !caller.systemApp) {
    throw new ServiceError(202, `Non-system applications use system APIs: ${fn} is a system API and ${caller.bundleName} is not a system application`);
  }
  const p = FUNCTION_PERMISSION[fn];
  if (p !== null && !caller.permissions.includes(p)) throw new ServiceError(201, `Permission denied: ${fn} needs ${p}`);
}

function internal(fn: string, e: unknown): ServiceError {
  if (e instanceof ServiceError) return e;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new ServiceError(3120002, `System internal error: ${fn} failed (${what})`);
}

function activationCodeFor(p: DiscoveredProfile): string {
  return `LPA:1$${p.rspServerAddress}$${p.eventId ?? ''}`;
}

export class EsimService {
  readonly home: string;
  readonly config: ServiceConfig;
  readonly demo?: DemoServers;
  readonly store: ServiceStore;

  private readonly queues = new Map<number, CardQueue>();
  private readonly listeners = new Map<EsimEventName, Set<(p: never) => void>>();
  private readonly downloads = new Map<number, Map<string, RunningDownload>>();
  /** ICCID previewed per `${slotId}|${canonical activation code}` (getDownloadableProfileMetadata). */
  private readonly previews = new Map<string, string>();
  private readonly retry = new Map<number, { timer?: NodeJS.Timeout; attempt: number; failing: Set<number> }>();
  /** Shared HTTPS client (keep-alive pool) of a long-running service; undefined with `unref` (each flow makes and closes its own). */
  private readonly http: RspHttpClient | undefined;
  private readonly opts: EsimServiceOptions;
  private readonly slotShapes: SlotShape[];
  private closing: Promise<void> | undefined;

  private constructor(parts: { home: string; config: ServiceConfig; store: ServiceStore; demo?: DemoServers }, opts: EsimServiceOptions) {
    this.home = parts.home;
    this.config = parts.config;
    this.store = parts.store;
    if (parts.demo) this.demo = parts.demo;
    this.opts = opts;
    this.slotShapes = [...parts.config.slots].sort((a, b) => a.slotId - b.slotId).map((s) => ({ slotId: s.slotId, ports: s.ports }));
    for (const s of parts.config.slots) this.queues.set(s.slotId, new CardQueue(`the card in slot ${s.slotId}`, opts.maxQueuedPerCard ?? 1000));
    // an in-process service (unref) must not keep the process alive with idle keep-alive connections
    this.http = opts.unref
      ? undefined
      : new RspHttpClient({
          trustedCis: parts.config.trust.ciCertificates,
          ...(parts.config.resolve && { resolve: parts.config.resolve }),
        });
  }

  /** HTTP options of an ES9+ flow (download, metadata, notifications). */
  private net(): { httpClient: RspHttpClient } | { http: { resolve?: (host: string) => string | undefined } } {
    if (this.http) return { httpClient: this.http };
    return { http: { ...(this.config.resolve && { resolve: this.config.resolve }) } };
  }

  /** ensureHome, openServiceStore, loadServiceConfig, startDemoServers, pending notification sweep. */
  static async open(o: EsimServiceOptions = {}): Promise<EsimService> {
    const home = o.home ?? defaultHome();
    ensureHome(home);
    const store = openServiceStore(homePaths(home).serviceDb, o.now ? { now: o.now } : {});
    let config: ServiceConfig;
    let demo: DemoServers | undefined;
    try {
      config = loadServiceConfig(home, store);
      if (config.demo && (o.startDemoServers ?? true)) demo = await startDemoServers(config, { unref: o.unref ?? false });
    } catch (e) {
      store.close();
      throw e;
    }
    return EsimService.create({ home, config, store, ...(demo && { demo }) }, o);
  }

  /** A service over parts made elsewhere (tests, embedders). The service owns them from now on (close()). */
  static create(parts: { home: string; config: ServiceConfig; store: ServiceStore; demo?: DemoServers }, o: EsimServiceOptions = {}): EsimService {
    const s = new EsimService(parts, o);
    if (o.sweepNotifications ?? true) {
      for (const slot of parts.config.slots) if (slot.hasEuicc) s.flushLater(slot, 0);
    }
    return s;
  }

  // ------------------------------------------------------------------------------------------ public surface

  isSupported(slotId: number): boolean {
    return this.config.slots.some((s) => s.slotId === slotId && s.hasEuicc);
  }

  on<E extends EsimEventName>(e: E, l: (p: EsimEvents[E]) => void): () => void {
    if (!EVENT_NAMES.includes(e)) throw new ServiceError(401, `Invalid parameter value: event must be one of ${EVENT_NAMES.join(', ')}`);
    let set = this.listeners.get(e);
    if (!set) this.listeners.set(e, (set = new Set()));
    const f = l as (p: never) => void;
    set.add(f);
    return () => void set.delete(f);
  }

  backendFor(caller: Caller): EsimBackend {
    const subs = new Set<() => void>();
    return {
      invoke: (fn, args) => this.invoke(caller, fn, args),
      isSupportedSync: (slotId) => this.isSupported(slotId),
      subscribe: (event, listener) => {
        // events are extensions beside system functions: system app + GET permission
        if (!caller.systemApp) throw new ServiceError(202, `Non-system applications use system APIs: on('${String(event)}') is a system API`);
        if (!caller.permissions.includes(FUNCTION_PERMISSION.getEid!)) {
          throw new ServiceError(201, `Permission denied: on('${String(event)}') needs ${FUNCTION_PERMISSION.getEid!}`);
        }
        const off = this.on(event, listener);
        const u = (): void => {
          off();
          subs.delete(u);
        };
        subs.add(u);
        return u;
      },
      close: async () => {
        for (const u of [...subs]) u();
      },
    };
  }

  /** Resolves when no card queue has work (notification sweeps and retries included, as far as started). */
  async whenIdle(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.idle()));
  }

  /** Permission checks (202 then 201), value checks (401), 801, queue, timeout (3120002), the operation. Rejects only with ServiceError. */
  async invoke(caller: Caller, fn: ApiFunction, args: readonly unknown[], o: InvokeOptions = {}): Promise<unknown> {
    if (this.closing) throw new ServiceError(3120001, 'Service connection failed: the service is shutting down');
    if (typeof fn !== 'string' || !ALL_FUNCTIONS.has(fn)) throw new ServiceError(401, 'Invalid parameter value: fn is not a function of the eSIM API');
    authorize(caller, fn);
    const a = validateArgs(fn, args ?? [], this.slotShapes) as ArgsOf[ApiFunction];
    if (!NO_CARD_FUNCTIONS.has(fn) && 'slotId' in a) {
      const slot = this.slotOf(a.slotId);
      if (!slot.hasEuicc) throw new ServiceError(801, `Capability not supported: slot ${slot.slotId} has no eUICC`);
    }
    try {
      return await this.dispatch(caller, fn, a, o);
    } catch (e) {
      throw internal(fn, e);
    }
  }

  /**
   * Factory reset of every slot honouring reserveProfilesForFactoryRestore; clears the flags of the slots
   * reset. A card that fails answers 400 for its slot (its flag stays) and the other slots are still reset.
   */
  async factoryReset(): Promise<{ slotId: number; resultCode: number; kept: boolean }[]> {
    if (this.closing) throw new ServiceError(3120001, 'Service connection failed: the service is shutting down');
    const out: { slotId: number; resultCode: number; kept: boolean }[] = [];
    for (const slot of this.config.slots) {
      if (!slot.hasEuicc) continue;
      const reserved = this.store.getFactoryReserve(slot.slotId);
      let resultCode: number;
      try {
        resultCode = await this.onCard(slot, 'resetMemory', this.longTimeout(), async () => {
          const before = await this.iccids(slot).catch(() => [] as string[]);
          const res = await factoryResetCard(await slot.transport(), reserved, slot.channelOptions);
          const after = await this.iccids(slot).catch(() => [] as string[]);
          this.emitRemoved(slot.slotId, before, after);
          this.profileChange(slot.slotId, '', 'reset');
          return res.resultCode;
        });
      } catch (e) {
        if (e instanceof ServiceError && e.code === 3120001) throw e;
        resultCode = managementFailureCode(e instanceof ServiceError ? new Error(e.message) : e);
      }
      if (resultCode === ResultCode.RESULT_OK) {
        this.store.setFactoryReserve(slot.slotId, false);
        this.forgetPreviews(slot.slotId);
      }
      out.push({ slotId: slot.slotId, resultCode, kept: reserved });
    }
    return out;
  }

  /** Stop accepting calls (3120001 after this), let in-flight card operations finish (bounded), close transports, demo servers, store. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    for (const r of this.retry.values()) clearTimeout(r.timer);
    const grace = this.opts.closeGraceMs ?? 30_000;
    await Promise.all([...this.queues.values()].map((q) => q.close(grace)));
    await this.http?.close().catch(() => undefined);
    await Promise.all(this.config.slots.map((s) => s.close().catch(() => undefined)));
    await this.demo?.close().catch(() => undefined);
    this.store.close();
    this.listeners.clear();
  }

  // ------------------------------------------------------------------------------------------ plumbing

  private slotOf(slotId: number): Slot {
    const s = this.config.slots.find((x) => x.slotId === slotId);
    if (!s) throw new ServiceError(401, `Invalid parameter value: slotId ${slotId} does not exist`);
    return s;
  }

  private queue(slot: Slot): CardQueue {
    return this.queues.get(slot.slotId)!;
  }

  private timeout(fn: ApiFunction): number {
    const base = timeoutOf(fn);
    const t = this.opts.timeouts;
    return base > 30_000 ? (t?.longCallMs ?? base) : (t?.callMs ?? base);
  }

  private longTimeout(): number {
    return this.timeout('downloadProfile');
  }

  private onCard<T>(
    slot: Slot,
    fn: ApiFunction,
    timeoutMs: number,
    job: (signal: AbortSignal) => Promise<T>,
    o: InvokeOptions & { after?: (value: unknown) => Promise<void> } = {},
  ): Promise<T> {
    return this.queue(slot).enqueue(job, {
      timeoutMs,
      label: fn,
      ...(o.signal && { signal: o.signal }),
      ...(o.after && { after: o.after }),
    });
  }

  private channelOptions(slot: Slot): ApduChannelOptions {
    return slot.channelOptions ?? {};
  }

  /** The transport of a slot for a port. Slots expose one card connection; MEP ports are not addressed separately (docs/api.md). */
  private async transportFor(slot: Slot, _portIndex = 0): Promise<ApduTransport> {
    return slot.transport();
  }

  private async withChannel<T>(slot: Slot, fn: (ch: ApduChannel) => Promise<T>): Promise<T> {
    return ApduChannel.with(await slot.transport(), this.channelOptions(slot), fn);
  }

  private emit<E extends EsimEventName>(e: E, payload: EsimEvents[E]): void {
    const set = this.listeners.get(e);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as (p: EsimEvents[E]) => void)(payload);
      } catch {
        // a listener's failure never breaks the operation
      }
    }
  }

  private profileChange(slotId: number, iccid: string, change: ProfileChangeEvent['change'], portIndex?: number): void {
    this.emit('profileChange', { slotId, iccid, change, ...(portIndex !== undefined && { portIndex }) });
  }

  private emitRemoved(slotId: number, before: readonly string[], after: readonly string[]): void {
    const left = new Set(after);
    for (const i of before) if (!left.has(i)) this.profileChange(slotId, i, 'deleted');
  }

  private async iccids(slot: Slot): Promise<string[]> {
    const list = await this.withChannel(slot, (ch) => es10c.getProfilesInfo(ch, { fields: ['iccid'] }));
    return list.map((p) => p.iccid ?? '').filter((x) => x !== '');
  }

  private async enabledProfiles(slot: Slot): Promise<{ iccid: string; state?: string }[]> {
    const list = await this.withChannel(slot, (ch) => es10c.getProfilesInfo(ch, { fields: ['iccid', 'state'] }));
    return list.map((p) => ({ iccid: p.iccid ?? '', ...(p.state !== undefined && { state: p.state }) }));
  }

  private previewKey(slotId: number, activationCode: string): string {
    return `${slotId}|${checkActivationCode(activationCode)}`;
  }

  private forgetPreviews(slotId: number): void {
    for (const k of [...this.previews.keys()]) if (k.startsWith(`${slotId}|`)) this.previews.delete(k);
  }

  // ------------------------------------------------------------------------------------------ dispatch

  private async dispatch(caller: Caller, fn: ApiFunction, a: ArgsOf[ApiFunction], o: InvokeOptions): Promise<unknown> {
    const A = <F extends ApiFunction>(): ArgsOf[F] => a as ArgsOf[F];
    switch (fn) {
      case 'isSupported':
        return this.isSupported(A<'isSupported'>().slotId);
      case 'listSlots':
        return this.listSlots();
      case 'getEid':
        return this.getEid(this.slotOf(A<'getEid'>().slotId), o);
      case 'getOsuStatus':
        return this.getOsuStatus(this.slotOf(A<'getOsuStatus'>().slotId));
      case 'startOsu':
        return this.startOsu(this.slotOf(A<'startOsu'>().slotId), o);
      case 'getDownloadableProfileMetadata': {
        const x = A<'getDownloadableProfileMetadata'>();
        return this.getDownloadableProfileMetadata(this.slotOf(x.slotId), x.portIndex, x.profile, o);
      }
      case 'getDownloadableProfiles': {
        const x = A<'getDownloadableProfiles'>();
        return this.getDownloadableProfiles(this.slotOf(x.slotId), o);
      }
      case 'downloadProfile': {
        const x = A<'downloadProfile'>();
        return this.downloadProfile(this.slotOf(x.slotId), x.portIndex, x.profile, x.configuration, 'downloadProfile', o);
      }
      case 'getEuiccProfileInfoList':
        return this.getEuiccProfileInfoList(this.slotOf(A<'getEuiccProfileInfoList'>().slotId), o);
      case 'getEuiccInfo':
        return this.getEuiccInfo(this.slotOf(A<'getEuiccInfo'>().slotId), o);
      case 'deleteProfile': {
        const x = A<'deleteProfile'>();
        return this.deleteProfile(this.slotOf(x.slotId), x.iccid, o);
      }
      case 'switchToProfile': {
        const x = A<'switchToProfile'>();
        return this.switchToProfile(this.slotOf(x.slotId), x.portIndex, x.iccid, x.forceDisableProfile, o);
      }
      case 'disableProfile': {
        const x = A<'disableProfile'>();
        return this.disableProfile(this.slotOf(x.slotId), x.portIndex, x.iccid, o);
      }
      case 'setProfileNickname': {
        const x = A<'setProfileNickname'>();
        return this.setProfileNickname(this.slotOf(x.slotId), x.iccid, x.nickname, o);
      }
      case 'resetMemory': {
        const x = A<'resetMemory'>();
        return this.resetMemory(this.slotOf(x.slotId), x.options, o);
      }
      case 'reserveProfilesForFactoryRestore': {
        const x = A<'reserveProfilesForFactoryRestore'>();
        this.store.setFactoryReserve(x.slotId, true);
        return ResultCode.RESULT_OK;
      }
      case 'setDefaultSmdpAddress': {
        const x = A<'setDefaultSmdpAddress'>();
        return this.setDefaultSmdpAddress(this.slotOf(x.slotId), x.address, o);
      }
      case 'getDefaultSmdpAddress':
        return this.getDefaultSmdpAddress(this.slotOf(A<'getDefaultSmdpAddress'>().slotId), o);
      case 'cancelSession': {
        const x = A<'cancelSession'>();
        return this.cancelSession(this.slotOf(x.slotId), x.transactionId, x.cancelReason, o);
      }
      case 'addProfile':
        return this.addProfile(caller, A<'addProfile'>().profile);
      case 'listPendingAdds':
        return this.store.listPending();
      case 'resolvePendingAdd': {
        const x = A<'resolvePendingAdd'>();
        return this.resolvePendingAdd(x.id, x.accept, x.configuration ?? {}, o);
      }
      case 'runningDownloads':
        return [...(this.downloads.get(A<'runningDownloads'>().slotId)?.entries() ?? [])].map(([transactionId, d]) => ({ transactionId, step: d.step }));
      case 'getEuiccInfo2':
        return this.getEuiccInfo2(this.slotOf(A<'getEuiccInfo2'>().slotId), o);
      case 'listNotifications':
        return this.listNotifications(this.slotOf(A<'listNotifications'>().slotId), o);
      case 'getProfileDetails':
        return this.getProfileDetails(this.slotOf(A<'getProfileDetails'>().slotId), o);
      case 'sendNotifications': {
        const x = A<'sendNotifications'>();
        return this.sendNotifications(this.slotOf(x.slotId), x.seqNumber, o);
      }
      case 'removeNotification': {
        const x = A<'removeNotification'>();
        return this.removeNotification(this.slotOf(x.slotId), x.seqNumber, o);
      }
    }
    throw new ServiceError(401, `Invalid parameter value: fn ${String(fn)} is not a function of the eSIM API`);
  }

  // ------------------------------------------------------------------------------------------ functions

  listSlots(): SlotJson[] {
    return slotsJson(this);
  }

  private async getEid(slot: Slot, o: InvokeOptions): Promise<string> {
    return this.onCard(slot, 'getEid', this.timeout('getEid'), () => this.withChannel(slot, (ch) => es10c.getEid(ch)), o);
  }

  private async getOsuStatus(slot: Slot): Promise<number> {
    if (!slot.osu) return OSU_STATUS.SERVICE_UNAVAILABLE;
    return withDeadline(slot.osu.status(), this.timeout('getOsuStatus'), 'getOsuStatus');
  }

  private async startOsu(slot: Slot, o: InvokeOptions): Promise<number> {
    const osu = slot.osu;
    if (!osu) return OSU_STATUS.SERVICE_UNAVAILABLE;
    const slotId = slot.slotId;
    return this.onCard(
      slot,
      'startOsu',
      this.timeout('startOsu'),
      async () => {
        const status = await osu.start((p) =>
          this.emit('osuProgress', { slotId, status: OSU_STATUS.IN_PROGRESS, done: p.done, total: p.total, ...(p.version !== undefined && { version: p.version }) }),
        );
        this.emit('osuProgress', { slotId, status });
        return status;
      },
      o,
    );
  }

  private async getEuiccInfo(slot: Slot, o: InvokeOptions): Promise<EuiccInfo> {
    const info2 = await this.onCard(slot, 'getEuiccInfo', this.timeout('getEuiccInfo'), () => this.withChannel(slot, (ch) => es10b.getEuiccInfo2(ch)), o);
    return { osVersion: info2.firmwareVersion };
  }

  private async getEuiccInfo2(slot: Slot, o: InvokeOptions): Promise<EuiccInfo2Json> {
    const info2 = await this.onCard(slot, 'getEuiccInfo2', this.timeout('getEuiccInfo2'), () => this.withChannel(slot, (ch) => es10b.getEuiccInfo2(ch)), o);
    return euiccInfo2Json(info2);
  }

  private async getEuiccProfileInfoList(slot: Slot, o: InvokeOptions): Promise<GetEuiccProfileInfoListResult> {
    return this.onCard(
      slot,
      'getEuiccProfileInfoList',
      this.timeout('getEuiccProfileInfoList'),
      async () => {
        try {
          const list = await this.withChannel(slot, (ch) => es10c.getProfilesInfo(ch));
          return { responseResult: ResultCode.RESULT_OK, profiles: list.map(toEuiccProfile), isRemovable: slot.removable };
        } catch (e) {
          return { responseResult: managementFailureCode(e), profiles: [], isRemovable: slot.removable };
        }
      },
      o,
    );
  }

  /**
   * Extension: what the seed's EuiccProfile leaves out (icon, ISD-P AID, owner, notification configuration,
   * policy rules), from one GetProfilesInfo with exactly those tags. Card failure: 3120002 (like getEuiccInfo2).
   */
  private async getProfileDetails(slot: Slot, o: InvokeOptions): Promise<ProfileDetailsJson[]> {
    const list = await this.onCard(
      slot,
      'getProfileDetails',
      this.timeout('getProfileDetails'),
      () => this.withChannel(slot, (ch) => es10c.getProfilesInfo(ch, { fields: PROFILE_DETAILS_FIELDS })),
      o,
    );
    return list.map(profileDetailsJson);
  }

  private async getDefaultSmdpAddress(slot: Slot, o: InvokeOptions): Promise<string> {
    const a = await this.onCard(slot, 'getDefaultSmdpAddress', this.timeout('getDefaultSmdpAddress'), () =>
      this.withChannel(slot, (ch) => es10a.getEuiccConfiguredAddresses(ch)),
    o);
    return a.defaultDpAddress ?? '';
  }

  private async setDefaultSmdpAddress(slot: Slot, address: string, o: InvokeOptions): Promise<number> {
    return this.onCard(
      slot,
      'setDefaultSmdpAddress',
      this.timeout('setDefaultSmdpAddress'),
      async () => {
        try {
          return setDefaultDpResultCode(await this.withChannel(slot, (ch) => es10a.setDefaultDpAddress(ch, address)));
        } catch (e) {
          return managementFailureCode(e);
        }
      },
      o,
    );
  }

  private async setProfileNickname(slot: Slot, iccid: string, nickname: string, o: InvokeOptions): Promise<number> {
    return this.onCard(
      slot,
      'setProfileNickname',
      this.timeout('setProfileNickname'),
      async () => {
        let code: number;
        try {
          code = setNicknameResultCode(await this.withChannel(slot, (ch) => es10c.setNickname(ch, iccid, nickname)));
        } catch (e) {
          return managementFailureCode(e);
        }
        if (code === ResultCode.RESULT_OK) this.profileChange(slot.slotId, iccid, 'nickname');
        return code;
      },
      o,
    );
  }

  private async deleteProfile(slot: Slot, iccid: string, o: InvokeOptions): Promise<number> {
    return this.onCard(
      slot,
      'deleteProfile',
      this.timeout('deleteProfile'),
      async () => {
        let code: number;
        try {
          code = deleteResultCode(await this.withChannel(slot, (ch) => es10c.deleteProfile(ch, iccid)));
        } catch (e) {
          return managementFailureCode(e);
        }
        if (code === ResultCode.RESULT_OK) this.profileChange(slot.slotId, iccid, 'deleted');
        return code;
      },
      { ...o, after: () => this.flushNow(slot) },
    );
  }

  private async switchToProfile(slot: Slot, portIndex: number, iccid: string, force: boolean, o: InvokeOptions): Promise<number> {
    return this.onCard(
      slot,
      'switchToProfile',
      this.timeout('switchToProfile'),
      async () => {
        try {
          return await this.withChannel(slot, async (ch) => {
            const list = await es10c.getProfilesInfo(ch, { fields: ['iccid', 'state'] });
            const target = list.find((p) => p.iccid === iccid);
            if (!target) return ResultCode.RESULT_NOTHING_TO_DELETE;
            if (target.state === 'enabled') return ResultCode.RESULT_OK;
            const others = list.filter((p) => p.state === 'enabled' && p.iccid !== iccid).map((p) => p.iccid!);
            if (others.length > 0 && !force) return ResultCode.RESULT_MUST_DISABLE_PROFILE;
            const r = await es10c.enableProfile(ch, iccid);
            const code = enableResultCode(r);
            if (r.result === 'ok') {
              for (const x of others) this.profileChange(slot.slotId, x, 'disabled', portIndex);
              this.profileChange(slot.slotId, iccid, 'enabled', portIndex);
            }
            return code;
          });
        } catch (e) {
          return managementFailureCode(e);
        }
      },
      { ...o, after: () => this.flushNow(slot) },
    );
  }

  private async disableProfile(slot: Slot, portIndex: number, iccid: string, o: InvokeOptions): Promise<number> {
    return this.onCard(
      slot,
      'disableProfile',
      this.timeout('disableProfile'),
      async () => {
        try {
          const r = await this.withChannel(slot, (ch) => es10c.disableProfile(ch, iccid));
          if (r.result === 'ok') this.profileChange(slot.slotId, iccid, 'disabled', portIndex);
          return disableResultCode(r);
        } catch (e) {
          return managementFailureCode(e);
        }
      },
      { ...o, after: () => this.flushNow(slot) },
    );
  }

  private async resetMemory(slot: Slot, options: number, o: InvokeOptions): Promise<number> {
    return this.onCard(
      slot,
      'resetMemory',
      this.timeout('resetMemory'),
      async () => {
        try {
          return await this.withChannel(slot, async (ch) => {
            const before = (await es10c.getProfilesInfo(ch, { fields: ['iccid'] })).map((p) => p.iccid ?? '');
            const r = await es10c.euiccMemoryReset(ch, {
              deleteOperationalProfiles: (options & 1) !== 0,
              deleteFieldLoadedTestProfiles: (options & 2) !== 0,
              resetDefaultSmdpAddress: (options & 4) !== 0,
            });
            const code = resetResultCode(r);
            if (r.result === 'ok') {
              const after = (await es10c.getProfilesInfo(ch, { fields: ['iccid'] })).map((p) => p.iccid ?? '');
              this.emitRemoved(slot.slotId, before, after);
              this.profileChange(slot.slotId, '', 'reset');
              this.forgetPreviews(slot.slotId);
            }
            return code;
          });
        } catch (e) {
          return managementFailureCode(e);
        }
      },
      o,
    );
  }

  private async cancelSession(slot: Slot, transactionId: string, reason: number, o: InvokeOptions): Promise<number> {
    const d = this.downloads.get(slot.slotId)?.get(transactionId);
    if (d) {
      // the download runs in this slot's queue: cancel it from outside the queue and wait for its end
      d.cancel.abort(reason);
      const completed = await withDeadline(d.done, this.timeout('cancelSession'), 'cancelSession');
      return completed ? ResultCode.RESULT_TRANSACTION_ID_INVALID : ResultCode.RESULT_OK;
    }
    return this.onCard(
      slot,
      'cancelSession',
      this.timeout('cancelSession'),
      async () => {
        try {
          const r = await this.withChannel(slot, (ch) => es10b.cancelSession(ch, fromHex(transactionId), reason));
          return cancelSessionResultCode(r.response.kind === 'cancelSessionResponseOk' ? { kind: 'ok' } : { kind: 'error', code: r.response.cancelSessionResponseError });
        } catch (e) {
          return managementFailureCode(e);
        }
      },
      o,
    );
  }

  private async getDownloadableProfileMetadata(
    slot: Slot,
    portIndex: number,
    profile: DownloadableProfile,
    o: InvokeOptions,
  ): Promise<GetDownloadableProfileMetadataResult> {
    const key = this.previewKey(slot.slotId, profile.activationCode);
    return this.onCard(
      slot,
      'getDownloadableProfileMetadata',
      this.timeout('getDownloadableProfileMetadata'),
      async (signal) => {
        try {
          const m = await getProfileMetadata({
            transport: await this.transportFor(slot, portIndex),
            channelOptions: this.channelOptions(slot),
            activationCode: profile.activationCode,
            trust: this.config.trust,
            ...this.net(),
            signal,
            timeouts: { overallMs: this.timeout('getDownloadableProfileMetadata') },
          });
          this.previews.delete(key);
          this.previews.set(key, m.metadata.iccid);
          if (this.previews.size > MAX_PREVIEWS) this.previews.delete(this.previews.keys().next().value!);
          let solvable = 0;
          if (m.confirmationCodeRequired && profile.confirmationCode === undefined) solvable |= SolvableErrorsBit.NEED_CONFIRMATION_CODE;
          if (m.pprConsentRequired) solvable |= SolvableErrorsBit.NEED_POLICY_RULE;
          return metadataResult(profile, m.metadata, solvable);
        } catch (e) {
          return failedMetadataResult(profile, flowFailureCode(e), solvableErrorsOf(e));
        }
      },
      o,
    );
  }

  private async getDownloadableProfiles(slot: Slot, o: InvokeOptions): Promise<GetDownloadableProfilesResult> {
    return this.onCard(
      slot,
      'getDownloadableProfiles',
      this.timeout('getDownloadableProfiles'),
      async (signal) => {
        const transport = await slot.transport();
        const common = {
          transport,
          trustedCis: this.config.trust.ciCertificates,
          ...(this.http ? { http: this.http } : { httpOptions: { ...(this.config.resolve && { resolve: this.config.resolve }) } }),
          channel: this.channelOptions(slot),
          signal,
        };
        const found: DiscoveredProfile[] = [];
        let failure: unknown;
        try {
          found.push(...(await discoverProfiles({ ...common, useSmds: false })));
        } catch (e) {
          failure = e;
        }
        try {
          found.push(...(await discoverProfiles({ ...common, useDefaultSmdp: false })));
        } catch (e) {
          failure ??= e;
        }
        if (found.length === 0 && failure !== undefined) return { responseResult: flowFailureCode(failure), downloadableProfiles: [] };
        return { responseResult: ResultCode.RESULT_OK, downloadableProfiles: found.map((p) => ({ activationCode: activationCodeFor(p), accessRules: [] })) };
      },
      o,
    );
  }

  private async downloadProfile(
    slot: Slot,
    portIndex: number,
    profile: DownloadableProfile,
    cfg: DownloadConfiguration,
    fn: ApiFunction,
    o: InvokeOptions,
  ): Promise<DownloadProfileResult> {
    const slotId = slot.slotId;
    const key = this.previewKey(slotId, profile.activationCode);
    const result = (responseResult: number, solvableErrors = 0): DownloadProfileResult => ({ responseResult, solvableErrors, cardId: slotId });
    const timeoutMs = this.timeout(fn);
    return this.onCard(
      slot,
      fn,
      timeoutMs,
      async (signal) => {
        // forceDisableProfile: switching after the download would disable the enabled profile
        let enabledBefore: string[] = [];
        if (cfg.switchAfterDownload) {
          try {
            enabledBefore = (await this.enabledProfiles(slot)).filter((p) => p.state === 'enabled').map((p) => p.iccid);
          } catch (e) {
            return result(managementFailureCode(e));
          }
          if (enabledBefore.length > 0 && !cfg.forceDisableProfile) return result(ResultCode.RESULT_MUST_DISABLE_PROFILE);
        }
        const cancel = new AbortController();
        let settle: (installed: boolean) => void = () => undefined;
        const done = new Promise<boolean>((r) => (settle = r));
        let tId: string | undefined;
        const running = (): Map<string, RunningDownload> => {
          let m = this.downloads.get(slotId);
          if (!m) this.downloads.set(slotId, (m = new Map()));
          return m;
        };
        const progress = (e: DownloadProgress): void => {
          if (e.transactionId !== undefined && tId === undefined) {
            tId = e.transactionId;
            running().set(tId, { portIndex, step: e.step, cancel, done });
          }
          if (tId !== undefined) {
            const r = running().get(tId);
            if (r) r.step = e.step;
          }
          this.emit('downloadProgress', {
            slotId,
            portIndex,
            step: e.step,
            ...(e.transactionId !== undefined && { transactionId: e.transactionId }),
            ...(e.done !== undefined && { done: e.done }),
            ...(e.total !== undefined && { total: e.total }),
          });
        };
        const expectedIccid = this.previews.get(key);
        let installed = false;
        try {
          const r = await lpaDownloadProfile({
            transport: await this.transportFor(slot, portIndex),
            channelOptions: this.channelOptions(slot),
            activationCode: profile.activationCode,
            ...(profile.confirmationCode !== undefined && { confirmationCode: profile.confirmationCode }),
            pprConsent: cfg.isPprAllowed,
            enableAfterDownload: cfg.switchAfterDownload,
            ...(expectedIccid !== undefined && { expectedIccid }),
            trust: this.config.trust,
            ...this.net(),
            signal: AbortSignal.any([signal, cancel.signal]),
            timeouts: { overallMs: timeoutMs },
            onProgress: progress,
          });
          installed = true;
          this.previews.delete(key);
          this.profileChange(slotId, r.iccid, 'installed', portIndex);
          let code: number = ResultCode.RESULT_OK;
          if (r.enable) {
            code = enableResultCode(r.enable);
            if (r.enable.result === 'ok') {
              for (const x of enabledBefore) if (x !== r.iccid) this.profileChange(slotId, x, 'disabled', portIndex);
              this.profileChange(slotId, r.iccid, 'enabled', portIndex);
            }
          }
          this.emit('downloadProgress', { slotId, portIndex, step: 'done', transactionId: r.transactionId, resultCode: code });
          return result(code);
        } catch (e) {
          const code = flowFailureCode(e);
          if (code === ResultCode.RESULT_ACTIVATION_CODE_CHANGED) this.previews.delete(key);
          this.emit('downloadProgress', { slotId, portIndex, step: 'failed', ...(tId !== undefined && { transactionId: tId }), resultCode: code });
          return result(code, solvableErrorsOf(e));
        } finally {
          if (tId !== undefined) this.downloads.get(slotId)?.delete(tId);
          settle(installed);
        }
      },
      { ...o, after: () => this.flushNow(slot) },
    );
  }

  private async addProfile(caller: Caller, profile: DownloadableProfile): Promise<boolean> {
    const slot = this.config.slots.find((s) => s.hasEuicc);
    if (!slot) throw new ServiceError(801, 'Capability not supported: no slot has an eUICC');
    this.store.addPending({
      slotId: slot.slotId,
      activationCode: profile.activationCode,
      ...(profile.confirmationCode !== undefined && { confirmationCode: profile.confirmationCode }),
      ...(profile.carrierName !== undefined && { carrierName: profile.carrierName }),
      caller: caller.bundleName,
    });
    return true;
  }

  private async resolvePendingAdd(id: string, accept: boolean, cfg: Partial<DownloadConfiguration>, o: InvokeOptions): Promise<DownloadProfileResult | null> {
    const p = this.store.takePending(id);
    if (!p) throw new ServiceError(401, 'Invalid parameter value: id names no pending addProfile request');
    if (!accept) return null;
    const slot = this.config.slots.find((s) => s.slotId === p.slotId);
    if (!slot || !slot.hasEuicc) throw new ServiceError(801, `Capability not supported: slot ${p.slotId} has no eUICC`);
    const profile: DownloadableProfile = {
      activationCode: p.activationCode,
      ...(p.confirmationCode !== undefined && { confirmationCode: p.confirmationCode }),
      ...(p.carrierName !== undefined && { carrierName: p.carrierName }),
    };
    const config: DownloadConfiguration = {
      switchAfterDownload: cfg.switchAfterDownload ?? false,
      forceDisableProfile: cfg.forceDisableProfile ?? false,
      isPprAllowed: cfg.isPprAllowed ?? false,
    };
    return this.downloadProfile(slot, 0, profile, config, 'resolvePendingAdd', o);
  }

  private async listNotifications(slot: Slot, o: InvokeOptions): Promise<NotificationJson[]> {
    const list = await this.onCard(slot, 'listNotifications', this.timeout('listNotifications'), () => this.withChannel(slot, (ch) => es10b.listNotifications(ch)), o);
    return list.map(notificationJson);
  }

  private async removeNotification(slot: Slot, seqNumber: number, o: InvokeOptions): Promise<number> {
    return this.onCard(
      slot,
      'removeNotification',
      this.timeout('removeNotification'),
      async () => {
        try {
          return removeNotificationResultCode(await this.withChannel(slot, (ch) => es10b.removeNotification(ch, seqNumber)));
        } catch (e) {
          return managementFailureCode(e);
        }
      },
      o,
    );
  }

  private async sendNotifications(
    slot: Slot,
    seqNumber: number | undefined,
    o: InvokeOptions,
  ): Promise<{ sent: number[]; failed: { seqNumber: number; resultCode: number }[] }> {
    const r = await this.onCard(
      slot,
      'sendNotifications',
      this.timeout('sendNotifications'),
      (signal) => this.sendOnce(slot, seqNumber === undefined ? undefined : [seqNumber], signal),
      o,
    );
    return { sent: r.sent, failed: r.failed.map((f) => ({ seqNumber: f.seqNumber, resultCode: f.resultCode })) };
  }

  // ------------------------------------------------------------------------------------------ notifications

  /** One attempt for the given (or all) pending notifications; updates the retry state of the slot. Inside the queue. */
  private async sendOnce(slot: Slot, seqNumbers: readonly number[] | undefined, signal?: AbortSignal): Promise<{ sent: number[]; failed: { seqNumber: number; resultCode: number }[] }> {
    const r = await sendPendingNotifications({
      transport: await slot.transport(),
      channelOptions: this.channelOptions(slot),
      trust: this.config.trust,
      ...this.net(),
      ...(seqNumbers && { seqNumbers }),
      retry: { attempts: 1 },
      ...(signal && { signal }),
    });
    const st = this.retryState(slot.slotId);
    for (const s of r.sent) st.failing.delete(s);
    const stillThere = r.failed.filter((f) => f.resultCode !== ResultCode.RESULT_NOTHING_TO_DELETE);
    for (const f of r.failed) if (f.resultCode === ResultCode.RESULT_NOTHING_TO_DELETE) st.failing.delete(f.seqNumber);
    for (const f of stillThere) st.failing.add(f.seqNumber);
    if (st.failing.size > 0) this.scheduleRetry(slot);
    else st.attempt = 0;
    return r;
  }

  private retryState(slotId: number): { timer?: NodeJS.Timeout; attempt: number; failing: Set<number> } {
    let st = this.retry.get(slotId);
    if (!st) this.retry.set(slotId, (st = { attempt: 0, failing: new Set() }));
    return st;
  }

  /** After an operation (holding the card): send what it created; notifications already known to fail wait for their retry. */
  private async flushNow(slot: Slot): Promise<void> {
    if (this.closing) return;
    const st = this.retryState(slot.slotId);
    try {
      if (st.failing.size === 0) {
        await this.sendOnce(slot, undefined);
        return;
      }
      const pending = await this.withChannel(slot, (ch) => es10b.listNotifications(ch));
      const fresh = pending.map((n) => n.seqNumber).filter((s) => !st.failing.has(s));
      if (fresh.length > 0) await this.sendOnce(slot, fresh);
    } catch {
      // the card failed while sending: try again later
      this.scheduleRetry(slot);
    }
  }

  private scheduleRetry(slot: Slot): void {
    const st = this.retryState(slot.slotId);
    if (st.timer || this.closing) return;
    st.attempt++;
    const base = this.opts.notificationRetry?.baseDelayMs ?? DEFAULT_RETRY_BASE_MS;
    const max = this.opts.notificationRetry?.maxDelayMs ?? DEFAULT_RETRY_MAX_MS;
    this.flushLater(slot, Math.min(max, base * 2 ** (st.attempt - 1)));
  }

  /** A queued job, `delayMs` from now, sending every pending notification of the slot once. */
  private flushLater(slot: Slot, delayMs: number): void {
    const st = this.retryState(slot.slotId);
    const run = (): void => {
      st.timer = undefined;
      if (this.closing) return;
      this.queue(slot)
        .enqueue((signal) => this.sendOnce(slot, undefined, signal), { timeoutMs: NOTIFICATION_JOB_MS, label: 'notification retry' })
        .catch(() => {
          if (!this.closing) this.scheduleRetry(slot);
        });
    };
    if (delayMs <= 0) {
      run();
      return;
    }
    st.timer = setTimeout(run, delayMs);
    st.timer.unref();
  }
}

/** `p` or ServiceError 3120002 after `ms`. */
async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ServiceError(3120002, `System internal error: ${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

