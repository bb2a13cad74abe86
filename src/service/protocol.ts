/**
 * The contract between the API (src/api) and the service (src/service), in-process or over the daemon's
 * Unix socket. Everything that crosses it is JSON-safe (strings, numbers, booleans, arrays, plain objects),
 * so the same values travel in-process and as JSON lines over the socket.
 *
 * Check order for every call (documented in README / docs/api.md):
 *   1. argument count and types          → BusinessError 401, thrown synchronously by src/api
 *   2. system app (system functions)     → 202   (service)
 *   3. permission                        → 201   (service)
 *   4. values: slot range, iccid, address, transactionId, activation code, options → 401 (service; the api
 *      layer checks formats too so that in-process callers fail early, but the service never trusts it)
 *   5. slot without an eUICC / capability missing → 801
 *   6. the operation: eUICC / server outcomes RESOLVE as ResultCode / responseResult; internal failures and
 *      timeouts → 3120002; service unreachable → 3120001 (client side).
 */

/** Who calls: an app (registered in the service's SQLite registry), or the shell identity. */
export interface Caller {
  readonly bundleName: string;
  readonly systemApp: boolean;
  readonly permissions: readonly string[];
}

/** The shell / native identity: system, both permissions (what the default `eSIM` and the CLI use). */
export const SHELL_CALLER: Caller = Object.freeze({
  bundleName: 'shell',
  systemApp: true,
  permissions: Object.freeze([
    'ohos.permission.GET_TELEPHONY_ESIM_STATE',
    'ohos.permission.SET_TELEPHONY_ESIM_STATE',
    'ohos.permission.SET_TELEPHONY_ESIM_STATE_OPEN',
  ]),
});

/** The 16 system functions of the seed, in the seed's order. */
export const SYSTEM_FUNCTIONS = [
  'getEid',
  'getOsuStatus',
  'startOsu',
  'getDownloadableProfileMetadata',
  'getDownloadableProfiles',
  'downloadProfile',
  'getEuiccProfileInfoList',
  'getEuiccInfo',
  'deleteProfile',
  'switchToProfile',
  'setProfileNickname',
  'resetMemory',
  'reserveProfilesForFactoryRestore',
  'setDefaultSmdpAddress',
  'getDefaultSmdpAddress',
  'cancelSession',
] as const;
/** The two public functions (no system-app check). isSupported is synchronous in the API. */
export const PUBLIC_FUNCTIONS = ['isSupported', 'addProfile'] as const;
/**
 * Extensions beside the seed's API (system functions, SET or GET permission as listed in FUNCTION_PERMISSION).
 * They never change a seed function's shape.
 */
export const EXTENSION_FUNCTIONS = [
  'disableProfile', // (slotId, portIndex, iccid) → ResultCode
  'getEuiccInfo2', // (slotId) → EuiccInfo2Json
  'listNotifications', // (slotId) → NotificationJson[]
  'sendNotifications', // (slotId, seqNumber?) → { sent: number[]; failed: { seqNumber: number; resultCode: number }[] }
  'removeNotification', // (slotId, seqNumber) → ResultCode
  'listSlots', // () → SlotJson[]
  'listPendingAdds', // () → PendingAddJson[]   (addProfile queue, for the CLI / dashboard confirmation)
  'resolvePendingAdd', // (id, accept: boolean) → DownloadProfileResult | null
  'runningDownloads', // (slotId) → { transactionId: string; step: string }[]
  'getProfileDetails', // (slotId) → ProfileDetailsJson[]   (what EuiccProfile leaves out: icon, isdpAid, owner, ...)
] as const;

/**
 * Daemon-only calls (socket and dashboard HTTP API), reserved to the shell identity; not part of the API
 * namespace and not handled by EsimService.invoke (the daemon dispatches them):
 *   factoryReset () → { slotId: number; resultCode: number; kept: boolean }[]   (EsimService.factoryReset)
 * Any other caller: 202 when not a system app, else 201.
 */
export const SHELL_ONLY_FUNCTIONS = ['factoryReset'] as const;
export type ShellOnlyFunction = (typeof SHELL_ONLY_FUNCTIONS)[number];

export type SystemFunction = (typeof SYSTEM_FUNCTIONS)[number];
export type PublicFunction = (typeof PUBLIC_FUNCTIONS)[number];
export type ExtensionFunction = (typeof EXTENSION_FUNCTIONS)[number];
export type ApiFunction = SystemFunction | PublicFunction | ExtensionFunction;
/** What a wire `call` may name: an API function or a shell-only daemon call. */
export type WireFunction = ApiFunction | ShellOnlyFunction;

export const GET_PERMISSION = 'ohos.permission.GET_TELEPHONY_ESIM_STATE';
export const SET_PERMISSION = 'ohos.permission.SET_TELEPHONY_ESIM_STATE';
export const SET_OPEN_PERMISSION = 'ohos.permission.SET_TELEPHONY_ESIM_STATE_OPEN';

/** Permission per function (ARCHITECTURE.md §2); null = none (isSupported). */
export const FUNCTION_PERMISSION: Readonly<Record<ApiFunction, string | null>> = Object.freeze({
  getEid: GET_PERMISSION,
  getOsuStatus: GET_PERMISSION,
  startOsu: SET_PERMISSION,
  getDownloadableProfileMetadata: SET_PERMISSION,
  getDownloadableProfiles: GET_PERMISSION,
  downloadProfile: SET_PERMISSION,
  getEuiccProfileInfoList: GET_PERMISSION,
  getEuiccInfo: GET_PERMISSION,
  deleteProfile: SET_PERMISSION,
  switchToProfile: SET_PERMISSION,
  setProfileNickname: SET_PERMISSION,
  resetMemory: SET_PERMISSION,
  reserveProfilesForFactoryRestore: SET_PERMISSION,
  setDefaultSmdpAddress: SET_PERMISSION,
  getDefaultSmdpAddress: GET_PERMISSION,
  cancelSession: SET_PERMISSION,
  isSupported: null,
  addProfile: SET_OPEN_PERMISSION,
  disableProfile: SET_PERMISSION,
  getEuiccInfo2: GET_PERMISSION,
  listNotifications: GET_PERMISSION,
  sendNotifications: SET_PERMISSION,
  removeNotification: SET_PERMISSION,
  listSlots: null,
  listPendingAdds: GET_PERMISSION,
  resolvePendingAdd: SET_PERMISSION,
  runningDownloads: GET_PERMISSION,
  getProfileDetails: GET_PERMISSION,
});

/** Functions that need the system-app check (202): the seed's system functions and the extensions except listSlots. */
export function isSystemFunction(fn: ApiFunction): boolean {
  return fn !== 'isSupported' && fn !== 'addProfile' && fn !== 'listSlots';
}

/** Per-call timeouts (ARCHITECTURE.md §3). */
export const CALL_TIMEOUT_MS = 30_000;
export const LONG_CALL_TIMEOUT_MS = 180_000;
export function timeoutOf(fn: ApiFunction): number {
  return fn === 'downloadProfile' || fn === 'getDownloadableProfileMetadata' || fn === 'resolvePendingAdd'
    ? LONG_CALL_TIMEOUT_MS
    : CALL_TIMEOUT_MS;
}

/** The BusinessError codes the API may reject with. */
export type ServiceErrorCode = 201 | 202 | 401 | 801 | 3120001 | 3120002;

export const ERROR_MESSAGES: Readonly<Record<ServiceErrorCode, string>> = Object.freeze({
  201: 'Permission denied.',
  202: 'Non-system applications use system APIs.',
  401: 'Invalid parameter value.',
  801: 'Capability not supported.',
  3120001: 'Service connection failed.',
  3120002: 'System internal error.',
});

/**
 * The one error type below the API. src/api turns it into BusinessError (same code and message); nothing
 * below src/api knows BusinessError.
 */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Events (extensions `on/off`). Payloads are JSON-safe. */
export interface ProfileChangeEvent {
  readonly slotId: number;
  readonly portIndex?: number;
  readonly iccid: string;
  readonly change: 'installed' | 'enabled' | 'disabled' | 'deleted' | 'nickname' | 'reset';
}
export interface DownloadProgressEvent {
  readonly slotId: number;
  readonly portIndex: number;
  /** Hex transactionId, once known (from the 'authenticating' step on, after initiateAuthentication). */
  readonly transactionId?: string;
  readonly step: 'authenticating' | 'downloading' | 'installing' | 'notifying' | 'done' | 'failed';
  readonly done?: number;
  readonly total?: number;
  /** step 'done' / 'failed': the ResultCode. */
  readonly resultCode?: number;
}
export interface OsuProgressEvent {
  readonly slotId: number;
  readonly status: number; // OsuStatus
  readonly done?: number;
  readonly total?: number;
  readonly version?: string;
}
export interface EsimEvents {
  profileChange: ProfileChangeEvent;
  downloadProgress: DownloadProgressEvent;
  osuProgress: OsuProgressEvent;
}
export type EsimEventName = keyof EsimEvents;
export const EVENT_NAMES: readonly EsimEventName[] = ['profileChange', 'downloadProgress', 'osuProgress'];

/**
 * What src/api talks to. In-process: `service.backendFor(caller)`; over the daemon: `SocketBackend`
 * (src/service/ipc.ts). `invoke` rejects only with ServiceError.
 */
export interface EsimBackend {
  invoke(fn: ApiFunction, args: readonly unknown[]): Promise<unknown>;
  /** Synchronous isSupported (slot config known locally). */
  isSupportedSync(slotId: number): boolean;
  subscribe<E extends EsimEventName>(event: E, listener: (payload: EsimEvents[E]) => void): () => void;
  close(): Promise<void>;
}

/**
 * Wire format over the Unix socket: newline-delimited JSON, one object per line, UTF-8, max 1 MiB per line.
 *   client → daemon  {"t":"hello","token":"<token>","v":1}                first line, always
 *   daemon → client  {"t":"welcome","caller":{bundleName,systemApp,permissions},"slots":[SlotJson...]}
 *                    or {"t":"error","code":201,"message":"..."} then close (bad token)
 *   client → daemon  {"t":"call","id":1,"fn":"getEid","args":[0]}
 *   daemon → client  {"t":"result","id":1,"value":...} | {"t":"error","id":1,"code":401,"message":"..."}
 *   client → daemon  {"t":"sub","event":"downloadProgress"} / {"t":"unsub","event":"..."}
 *   daemon → client  {"t":"event","event":"downloadProgress","payload":{...}}
 * A client that closes its socket abandons its calls: their results are dropped (never delivered elsewhere).
 * Additions (wire v1, backwards compatible):
 *   - `id` of a call is an integer (or a string of at most 64 characters), echoed in its result/error.
 *   - an `error` line without `id` ends the connection (malformed line, line over MAX_LINE_BYTES, no hello,
 *     bad token, token revoked/rotated), except {"t":"error","event":"...","code":201|202,...} which only
 *     refuses a `sub` (events need a system app with GET_TELEPHONY_ESIM_STATE).
 *   - `fn` may be a SHELL_ONLY_FUNCTIONS name (factoryReset).
 */
export const WIRE_VERSION = 1;
export const MAX_LINE_BYTES = 1 << 20;

/** Slot description (listSlots, welcome). */
export interface SlotJson {
  readonly slotId: number;
  readonly transport: 'virtual' | 'pcsc' | 'at' | 'none';
  readonly ports: number;
  readonly removable: boolean;
  readonly hasEuicc: boolean;
  readonly osuProvider: boolean;
}
