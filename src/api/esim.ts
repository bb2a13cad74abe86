/**
 * The `eSIM` namespace of `@ohos.telephony.esim` (API 18, ../shared/seed/esim-system-api.md): the seed's
 * interfaces as types and its enums as values (`eSIM.ResultCode.RESULT_OK === 0`), the 16 system functions
 * and the 2 public ones with exactly the seed's parameter lists, and esimkit's extensions beside them
 * (on/off, disableProfile, getEuiccInfo2, notifications, ...), which never change a seed function's shape.
 *
 * The namespace's functions use the default instance (client.ts `openDefault`: the daemon when ESIM_SOCKET
 * is set or home/esim.sock answers, else an in-process service as the shell identity). `createESim()` binds
 * the same functions to a caller identity (in-process) or to a daemon token.
 *
 * Every async function also takes an optional trailing Node-style callback `(err, data)`; `err` is null on
 * success and the function then returns undefined.
 */
import type { EsimService } from '../service/service.js';
import type { EuiccInfo2Json, NotificationJson, ProfileDetailsJson } from '../service/results.js';
import {
  EXTENSION_FUNCTIONS,
  PUBLIC_FUNCTIONS,
  SYSTEM_FUNCTIONS,
  type ApiFunction,
  type Caller,
  type DownloadProgressEvent as DownloadProgressEventT,
  type EsimBackend,
  type OsuProgressEvent as OsuProgressEventT,
  type ProfileChangeEvent as ProfileChangeEventT,
  type SlotJson as SlotJsonT,
} from '../service/protocol.js';
import { defaultHomeSync, EsimClient, openDefault, openInProcess, openSocket, slotsFileSupports } from './client.js';
import { parameterError, type AsyncCallback, type Callback } from './errors.js';
import * as T from './types.js';

let defaultClient: EsimClient | undefined;

/** The default instance behind the `eSIM` namespace (created on first use). */
function client(): EsimClient {
  defaultClient ??= new EsimClient({ open: openDefault, supportedBeforeOpen: (slotId) => slotsFileSupports(defaultHomeSync(), slotId) });
  return defaultClient;
}

function call(fn: ApiFunction, args: readonly unknown[]): never {
  return client().call(fn, args) as never;
}

export namespace eSIM {
  // ---------------------------------------------------------------------------------------- types (seed)
  export type AccessRule = T.AccessRule;
  export type DownloadableProfile = T.DownloadableProfile;
  export type GetDownloadableProfileMetadataResult = T.GetDownloadableProfileMetadataResult;
  export type GetDownloadableProfilesResult = T.GetDownloadableProfilesResult;
  export type DownloadProfileResult = T.DownloadProfileResult;
  export type GetEuiccProfileInfoListResult = T.GetEuiccProfileInfoListResult;
  export type OperatorId = T.OperatorId;
  export type EuiccProfile = T.EuiccProfile;
  export type EuiccInfo = T.EuiccInfo;
  /**
   * Defines the download configuration. `isPprAllowed` is the seed's name; `isAlowPpr` (the OpenHarmony
   * SDK's spelling) is accepted instead of it, or beside it when both agree.
   */
  export type DownloadConfiguration =
    | T.DownloadConfiguration
    | (Omit<T.DownloadConfiguration, 'isPprAllowed'> & { isAlowPpr: boolean; isPprAllowed?: boolean });

  // ---------------------------------------------------------------------------------------- enums (seed)
  export import ResetOption = T.ResetOption;
  export import OsuStatus = T.OsuStatus;
  export import ResultCode = T.ResultCode;
  export import CancelReason = T.CancelReason;
  export import ProfileState = T.ProfileState;
  export import ProfileClass = T.ProfileClass;
  export import PolicyRules = T.PolicyRules;
  export import SolvableErrors = T.SolvableErrors;

  // ---------------------------------------------------------------------------------------- types (extensions)
  export type ProfileChangeEvent = ProfileChangeEventT;
  export type DownloadProgressEvent = DownloadProgressEventT;
  export type OsuProgressEvent = OsuProgressEventT;
  /** The events of on/off. */
  export type EventName = 'profileChange' | 'downloadProgress' | 'osuProgress';
  /** Full EUICCInfo2 (SGP.22), byte strings as upper-case hex. */
  export type EuiccInfo2 = EuiccInfo2Json;
  /** A pending notification on the eUICC. */
  export type NotificationInfo = NotificationJson;
  export interface SendNotificationsResult {
    sent: number[];
    failed: { seqNumber: number; resultCode: number }[];
  }
  export type SlotInfo = SlotJsonT;
  /** A profile addProfile queued for the user's confirmation (no secrets). */
  export interface PendingAdd {
    id: string;
    slotId: number;
    smdpAddress: string;
    carrierName?: string;
    hasConfirmationCode: boolean;
    caller: string;
    createdAt: number;
  }
  export interface RunningDownload {
    transactionId: string;
    step: string;
  }
  /**
   * What the seed's EuiccProfile leaves out, per profile (join on iccid): `icon` (base64, at most 1024 bytes)
   * with its `iconType` 'png' | 'jpg', `isdpAid`, `profileOwner`, `notificationConfigurationInfo`,
   * `profilePolicyRules` (SGP.22 names).
   */
  export type ProfileDetails = ProfileDetailsJson;

  // ---------------------------------------------------------------------------------------- system API (seed)

  /** Obtains the EID of the eUICC in the specified slot. Permission: GET_TELEPHONY_ESIM_STATE. */
  export function getEid(slotId: number): Promise<string>;
  export function getEid(slotId: number, callback: AsyncCallback<string>): void;
  export function getEid(...args: unknown[]): unknown {
    return call('getEid', args);
  }

  /** Obtains the OS upgrade status for the eSIM in the specified slot. Permission: GET_TELEPHONY_ESIM_STATE. */
  export function getOsuStatus(slotId: number): Promise<OsuStatus>;
  export function getOsuStatus(slotId: number, callback: AsyncCallback<OsuStatus>): void;
  export function getOsuStatus(...args: unknown[]): unknown {
    return call('getOsuStatus', args);
  }

  /** Upgrades the OS if the OS version of the eSIM is not the latest. Permission: SET_TELEPHONY_ESIM_STATE. */
  export function startOsu(slotId: number): Promise<OsuStatus>;
  export function startOsu(slotId: number, callback: AsyncCallback<OsuStatus>): void;
  export function startOsu(...args: unknown[]): unknown {
    return call('startOsu', args);
  }

  /** Obtains the metadata of the downloadable profile. Permission: SET_TELEPHONY_ESIM_STATE. */
  export function getDownloadableProfileMetadata(
    slotId: number,
    portIndex: number,
    profile: DownloadableProfile,
    forceDisableProfile: boolean,
  ): Promise<GetDownloadableProfileMetadataResult>;
  export function getDownloadableProfileMetadata(
    slotId: number,
    portIndex: number,
    profile: DownloadableProfile,
    forceDisableProfile: boolean,
    callback: AsyncCallback<GetDownloadableProfileMetadataResult>,
  ): void;
  export function getDownloadableProfileMetadata(...args: unknown[]): unknown {
    return call('getDownloadableProfileMetadata', args);
  }

  /** Obtains the list of downloadable profiles (default SM-DP+ and SM-DS discovery). Permission: GET_TELEPHONY_ESIM_STATE. */
  export function getDownloadableProfiles(slotId: number, portIndex: number, forceDisableProfile: boolean): Promise<GetDownloadableProfilesResult>;
  export function getDownloadableProfiles(
    slotId: number,
    portIndex: number,
    forceDisableProfile: boolean,
    callback: AsyncCallback<GetDownloadableProfilesResult>,
  ): void;
  export function getDownloadableProfiles(...args: unknown[]): unknown {
    return call('getDownloadableProfiles', args);
  }

  /** Downloads a profile. Permission: SET_TELEPHONY_ESIM_STATE. */
  export function downloadProfile(
    slotId: number,
    portIndex: number,
    profile: DownloadableProfile,
    configuration: DownloadConfiguration,
  ): Promise<DownloadProfileResult>;
  export function downloadProfile(
    slotId: number,
    portIndex: number,
    profile: DownloadableProfile,
    configuration: DownloadConfiguration,
    callback: AsyncCallback<DownloadProfileResult>,
  ): void;
  export function downloadProfile(...args: unknown[]): unknown {
    return call('downloadProfile', args);
  }

  /** Obtains the profile information list. Permission: GET_TELEPHONY_ESIM_STATE. */
  export function getEuiccProfileInfoList(slotId: number): Promise<GetEuiccProfileInfoListResult>;
  export function getEuiccProfileInfoList(slotId: number, callback: AsyncCallback<GetEuiccProfileInfoListResult>): void;
  export function getEuiccProfileInfoList(...args: unknown[]): unknown {
    return call('getEuiccProfileInfoList', args);
  }

  /** Obtains eUICC information. Permission: GET_TELEPHONY_ESIM_STATE. */
  export function getEuiccInfo(slotId: number): Promise<EuiccInfo>;
  export function getEuiccInfo(slotId: number, callback: AsyncCallback<EuiccInfo>): void;
  export function getEuiccInfo(...args: unknown[]): unknown {
    return call('getEuiccInfo', args);
  }

  /** Deletes a profile. Permission: SET_TELEPHONY_ESIM_STATE. */
  export function deleteProfile(slotId: number, iccid: string): Promise<ResultCode>;
  export function deleteProfile(slotId: number, iccid: string, callback: AsyncCallback<ResultCode>): void;
  export function deleteProfile(...args: unknown[]): unknown {
    return call('deleteProfile', args);
  }

  /** Switches to the specified profile. Permission: SET_TELEPHONY_ESIM_STATE. */
  export function switchToProfile(slotId: number, portIndex: number, iccid: string, forceDisableProfile: boolean): Promise<ResultCode>;
  export function switchToProfile(
    slotId: number,
    portIndex: number,
    iccid: string,
    forceDisableProfile: boolean,
    callback: AsyncCallback<ResultCode>,
  ): void;
  export function switchToProfile(...args: unknown[]): unknown {
    return call('switchToProfile', args);
  }

  /** Sets a nickname for the specified profile. Permission: SET_TELEPHONY_ESIM_STATE. */
  export function setProfileNickname(slotId: number, iccid: string, nickname: string): Promise<ResultCode>;
  export function setProfileNickname(slotId: number, iccid: string, nickname: string, callback: AsyncCallback<ResultCode>): void;
  export function setProfileNickname(...args: unknown[]): unknown {
    return call('setProfileNickname', args);
  }

  /** Clears the profiles selected by `options` (default DELETE_OPERATIONAL_PROFILES). Permission: SET_TELEPHONY_ESIM_STATE. */
  export function resetMemory(slotId: number, options?: ResetOption): Promise<ResultCode>;
  export function resetMemory(slotId: number, callback: AsyncCallback<ResultCode>): void;
  export function resetMemory(slotId: number, options: ResetOption | undefined, callback: AsyncCallback<ResultCode>): void;
  export function resetMemory(...args: unknown[]): unknown {
    return call('resetMemory', args);
  }

  /** Keeps the profiles at the next factory reset. Permission: SET_TELEPHONY_ESIM_STATE. */
  export function reserveProfilesForFactoryRestore(slotId: number): Promise<ResultCode>;
  export function reserveProfilesForFactoryRestore(slotId: number, callback: AsyncCallback<ResultCode>): void;
  export function reserveProfilesForFactoryRestore(...args: unknown[]): unknown {
    return call('reserveProfilesForFactoryRestore', args);
  }

  /** Sets or updates the default SM-DP+ address stored in the eUICC. Permission: SET_TELEPHONY_ESIM_STATE. */
  export function setDefaultSmdpAddress(slotId: number, address: string): Promise<ResultCode>;
  export function setDefaultSmdpAddress(slotId: number, address: string, callback: AsyncCallback<ResultCode>): void;
  export function setDefaultSmdpAddress(...args: unknown[]): unknown {
    return call('setDefaultSmdpAddress', args);
  }

  /** Obtains the default SM-DP+ address stored in the eUICC. Permission: GET_TELEPHONY_ESIM_STATE. */
  export function getDefaultSmdpAddress(slotId: number): Promise<string>;
  export function getDefaultSmdpAddress(slotId: number, callback: AsyncCallback<string>): void;
  export function getDefaultSmdpAddress(...args: unknown[]): unknown {
    return call('getDefaultSmdpAddress', args);
  }

  /**
   * Cancels a session: a running download with that transactionId (see on('downloadProgress') and
   * runningDownloads) is cancelled. Permission: SET_TELEPHONY_ESIM_STATE.
   */
  export function cancelSession(slotId: number, transactionId: string, cancelReason: CancelReason): Promise<ResultCode>;
  export function cancelSession(slotId: number, transactionId: string, cancelReason: CancelReason, callback: AsyncCallback<ResultCode>): void;
  export function cancelSession(...args: unknown[]): unknown {
    return call('cancelSession', args);
  }

  // ---------------------------------------------------------------------------------------- public API (seed)

  /** Whether the slot has an eUICC (synchronous; no permission). */
  export function isSupported(slotId: number): boolean;
  export function isSupported(...args: unknown[]): boolean {
    return client().isSupported(args);
  }

  /**
   * Adds a profile: queued for the user's confirmation (CLI or dashboard), resolves true once queued.
   * Permission: SET_TELEPHONY_ESIM_STATE_OPEN.
   */
  export function addProfile(profile: DownloadableProfile): Promise<boolean>;
  export function addProfile(profile: DownloadableProfile, callback: AsyncCallback<boolean>): void;
  export function addProfile(...args: unknown[]): unknown {
    return call('addProfile', args);
  }

  // ---------------------------------------------------------------------------------------- extensions

  /** Subscribe to profile changes, download progress (carries the transactionId) or OS update progress. */
  export function on(type: 'profileChange', callback: Callback<ProfileChangeEvent>): void;
  export function on(type: 'downloadProgress', callback: Callback<DownloadProgressEvent>): void;
  export function on(type: 'osuProgress', callback: Callback<OsuProgressEvent>): void;
  export function on(type: unknown, callback: unknown): void {
    client().on(type, callback);
  }

  /** Unsubscribe one listener, or every listener of the event when `callback` is omitted. */
  export function off(type: 'profileChange', callback?: Callback<ProfileChangeEvent>): void;
  export function off(type: 'downloadProgress', callback?: Callback<DownloadProgressEvent>): void;
  export function off(type: 'osuProgress', callback?: Callback<OsuProgressEvent>): void;
  export function off(type: unknown, callback?: unknown): void {
    client().off(type, callback);
  }

  /** Disables the enabled profile `iccid` on the port. Permission: SET_TELEPHONY_ESIM_STATE. */
  export function disableProfile(slotId: number, portIndex: number, iccid: string): Promise<ResultCode>;
  export function disableProfile(slotId: number, portIndex: number, iccid: string, callback: AsyncCallback<ResultCode>): void;
  export function disableProfile(...args: unknown[]): unknown {
    return call('disableProfile', args);
  }

  /** The full EUICCInfo2 of the card. Permission: GET_TELEPHONY_ESIM_STATE. */
  export function getEuiccInfo2(slotId: number): Promise<EuiccInfo2>;
  export function getEuiccInfo2(slotId: number, callback: AsyncCallback<EuiccInfo2>): void;
  export function getEuiccInfo2(...args: unknown[]): unknown {
    return call('getEuiccInfo2', args);
  }

  /** The notifications pending on the eUICC. Permission: GET_TELEPHONY_ESIM_STATE. */
  export function listNotifications(slotId: number): Promise<NotificationInfo[]>;
  export function listNotifications(slotId: number, callback: AsyncCallback<NotificationInfo[]>): void;
  export function listNotifications(...args: unknown[]): unknown {
    return call('listNotifications', args);
  }

  /** Send pending notifications (all, or one) to their SM-DP+. Permission: SET_TELEPHONY_ESIM_STATE. */
  export function sendNotifications(slotId: number, seqNumber?: number): Promise<SendNotificationsResult>;
  export function sendNotifications(slotId: number, callback: AsyncCallback<SendNotificationsResult>): void;
  export function sendNotifications(slotId: number, seqNumber: number | undefined, callback: AsyncCallback<SendNotificationsResult>): void;
  export function sendNotifications(...args: unknown[]): unknown {
    return call('sendNotifications', args);
  }

  /** Remove a notification from the eUICC without sending it. Permission: SET_TELEPHONY_ESIM_STATE. */
  export function removeNotification(slotId: number, seqNumber: number): Promise<ResultCode>;
  export function removeNotification(slotId: number, seqNumber: number, callback: AsyncCallback<ResultCode>): void;
  export function removeNotification(...args: unknown[]): unknown {
    return call('removeNotification', args);
  }

  /** The slots of the service (no permission). */
  export function listSlots(): Promise<SlotInfo[]>;
  export function listSlots(callback: AsyncCallback<SlotInfo[]>): void;
  export function listSlots(...args: unknown[]): unknown {
    return call('listSlots', args);
  }

  /** The addProfile queue (for the confirmation UI). Permission: GET_TELEPHONY_ESIM_STATE. */
  export function listPendingAdds(): Promise<PendingAdd[]>;
  export function listPendingAdds(callback: AsyncCallback<PendingAdd[]>): void;
  export function listPendingAdds(...args: unknown[]): unknown {
    return call('listPendingAdds', args);
  }

  /**
   * Accept (download now) or reject a queued addProfile; `configuration` overrides the download defaults.
   * Resolves the download result, or null when rejected. Permission: SET_TELEPHONY_ESIM_STATE.
   */
  export function resolvePendingAdd(id: string, accept: boolean, configuration?: Partial<DownloadConfiguration>): Promise<DownloadProfileResult | null>;
  export function resolvePendingAdd(id: string, accept: boolean, callback: AsyncCallback<DownloadProfileResult | null>): void;
  export function resolvePendingAdd(
    id: string,
    accept: boolean,
    configuration: Partial<DownloadConfiguration> | undefined,
    callback: AsyncCallback<DownloadProfileResult | null>,
  ): void;
  export function resolvePendingAdd(...args: unknown[]): unknown {
    return call('resolvePendingAdd', args);
  }

  /**
   * Every profile's details beyond EuiccProfile (icon and its type, ISD-P AID, owner, notification
   * configuration, policy rules), from ES10c GetProfilesInfo. Permission: GET_TELEPHONY_ESIM_STATE.
   */
  export function getProfileDetails(slotId: number): Promise<ProfileDetails[]>;
  export function getProfileDetails(slotId: number, callback: AsyncCallback<ProfileDetails[]>): void;
  export function getProfileDetails(...args: unknown[]): unknown {
    return call('getProfileDetails', args);
  }

  /** The downloads running on the slot, with their transactionId (for cancelSession). Permission: GET_TELEPHONY_ESIM_STATE. */
  export function runningDownloads(slotId: number): Promise<RunningDownload[]>;
  export function runningDownloads(slotId: number, callback: AsyncCallback<RunningDownload[]>): void;
  export function runningDownloads(...args: unknown[]): unknown {
    return call('runningDownloads', args);
  }
}

// ------------------------------------------------------------------------------------------ createESim

/** Every function name of an instance (the seed's 18, the extensions, on/off). */
export const ESIM_FUNCTIONS = [...SYSTEM_FUNCTIONS, ...PUBLIC_FUNCTIONS, ...EXTENSION_FUNCTIONS, 'on', 'off'] as const;
export type ESimFunctionName = (typeof ESIM_FUNCTIONS)[number];

/** An eSIM API instance: the namespace's functions bound to one identity, plus lifecycle. */
export type ESim = { readonly [K in ESimFunctionName]: (typeof eSIM)[K] } & {
  /** Open the backend now (the first call does otherwise); rejects with BusinessError (3120001 ...). */
  ready(): Promise<void>;
  /** Close the connection / release the shared in-process service; later calls reject with 3120001. */
  close(): Promise<void>;
  /** The open backend, once a call or ready() opened it. */
  readonly backend: EsimBackend | undefined;
};

export type CreateESimOptions =
  /** In-process, as `caller`, on the shared service of `home` (default: ESIM_HOME or ~/.esimkit). */
  | { readonly caller: Caller; readonly home?: string; readonly service?: undefined }
  /** In-process, as `caller`, on an already open EsimService (not closed by the instance). */
  | { readonly caller: Caller; readonly service: EsimService }
  /** Through the daemon's Unix socket, authenticated by an app token (or the home's shell.token). */
  | { readonly socket: string; readonly token: string; readonly connectTimeoutMs?: number; readonly home?: string }
  /** Any EsimBackend (tests, tools). */
  | { readonly backend: EsimBackend };

function checkCaller(c: unknown): Caller {
  if (typeof c !== 'object' || c === null) throw parameterError('createESim: "caller" must be an object {bundleName, systemApp, permissions}.');
  const o = c as Record<string, unknown>;
  if (typeof o['bundleName'] !== 'string' || o['bundleName'].length === 0) throw parameterError('createESim: "caller.bundleName" must be a non-empty string.');
  if (typeof o['systemApp'] !== 'boolean') throw parameterError('createESim: "caller.systemApp" must be a boolean.');
  const perms = o['permissions'];
  if (!Array.isArray(perms) || perms.some((p) => typeof p !== 'string')) throw parameterError('createESim: "caller.permissions" must be an array of strings.');
  return Object.freeze({ bundleName: o['bundleName'], systemApp: o['systemApp'], permissions: Object.freeze([...(perms as string[])]) });
}

function optionalString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw parameterError(`createESim: "${key}" must be a non-empty string.`);
  return v;
}

/**
 * An eSIM API instance bound to a caller identity (in-process service) or to a daemon token:
 * `createESim({ caller })`, `createESim({ caller, home })`, `createESim({ socket, token })`.
 * The backend opens on the first call (or `ready()`); close() releases it.
 */
export function createESim(options: CreateESimOptions): ESim {
  if (typeof options !== 'object' || options === null) throw parameterError('createESim: "options" must be an object.');
  const o = options as Record<string, unknown>;
  let c: EsimClient;
  if (o['backend'] !== undefined) {
    const backend = o['backend'] as EsimBackend;
    if (typeof backend !== 'object' || backend === null || typeof backend.invoke !== 'function') throw parameterError('createESim: "backend" must be an EsimBackend.');
    c = new EsimClient({ open: async () => ({ backend }), supportedBeforeOpen: (s) => backend.isSupportedSync(s) });
  } else if (o['socket'] !== undefined) {
    const socket = optionalString(o, 'socket') as string;
    const token = optionalString(o, 'token');
    if (token === undefined) throw parameterError('createESim: "token" must be a non-empty string.');
    const home = optionalString(o, 'home');
    const timeout = o['connectTimeoutMs'];
    if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) throw parameterError('createESim: "connectTimeoutMs" must be a positive number.');
    c = new EsimClient({
      open: () => openSocket(socket, token, timeout as number | undefined),
      supportedBeforeOpen: (s) => slotsFileSupports(home ?? defaultHomeSync(), s),
    });
  } else if (o['caller'] !== undefined) {
    const caller = checkCaller(o['caller']);
    const service = o['service'] as EsimService | undefined;
    if (service !== undefined) {
      if (typeof service !== 'object' || service === null || typeof service.backendFor !== 'function') throw parameterError('createESim: "service" must be an EsimService.');
      c = new EsimClient({ open: async () => ({ backend: service.backendFor(caller) }), supportedBeforeOpen: (s) => service.isSupported(s) });
    } else {
      const home = optionalString(o, 'home') ?? defaultHomeSync();
      c = new EsimClient({ open: () => openInProcess(home, caller), supportedBeforeOpen: (s) => slotsFileSupports(home, s) });
    }
  } else {
    throw parameterError('createESim: options need "caller" (in-process) or "socket" and "token" (daemon).');
  }
  const api: Record<string, unknown> = {};
  for (const fn of [...SYSTEM_FUNCTIONS, ...PUBLIC_FUNCTIONS, ...EXTENSION_FUNCTIONS]) {
    api[fn] = fn === 'isSupported' ? (...a: unknown[]) => c.isSupported(a) : (...a: unknown[]) => c.call(fn, a);
  }
  api['on'] = (type: unknown, cb: unknown) => c.on(type, cb);
  api['off'] = (type: unknown, cb?: unknown) => c.off(type, cb);
  api['ready'] = () => c.ready();
  api['close'] = () => c.close();
  Object.defineProperty(api, 'backend', { get: () => c.currentBackend, enumerable: false });
  return Object.freeze(api) as unknown as ESim;
}

/**
 * Close the default `eSIM` instance (its daemon connection or its share of the in-process service). Scripts
 * do not need it (nothing it holds keeps the process alive); long-running tools may call it before exiting.
 * The next namespace call opens a new default instance.
 */
export async function closeDefaultESim(): Promise<void> {
  const c = defaultClient;
  defaultClient = undefined;
  await c?.close();
}

