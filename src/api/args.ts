/**
 * Argument count and type checks of every API function (OpenHarmony: BusinessError 401, thrown
 * synchronously), and the copy of each argument that crosses to the service (only the known fields, JSON-safe).
 *
 * Value checks (slot range, iccid / address / transactionId formats, activation code, option ranges, the
 * isPprAllowed / isAlowPpr agreement) are NOT done here: the service does them after the system-app (202)
 * and permission (201) checks, so that the order of OpenHarmony holds for every caller (src/service/validate.ts).
 */
import type { ApiFunction } from '../service/protocol.js';
import { EVENT_NAMES } from '../service/protocol.js';
import { parameterError } from './errors.js';

type Kind =
  | 'number'
  | 'string'
  | 'boolean'
  | 'profile' // DownloadableProfile
  | 'configuration' // DownloadConfiguration
  | 'resetOption' // ResetOption (number), optional
  | 'partialConfiguration'; // Partial<DownloadConfiguration> (resolvePendingAdd)

interface Param {
  readonly name: string;
  readonly kind: Kind;
  readonly optional?: boolean;
}

const slotId: Param = { name: 'slotId', kind: 'number' };
const portIndex: Param = { name: 'portIndex', kind: 'number' };
const iccid: Param = { name: 'iccid', kind: 'string' };
const profile: Param = { name: 'profile', kind: 'profile' };
const forceDisableProfile: Param = { name: 'forceDisableProfile', kind: 'boolean' };

/** The parameter list of every function, in order (the seed's for the 18; callbacks not included). */
export const PARAMS: Readonly<Record<ApiFunction, readonly Param[]>> = Object.freeze({
  getEid: [slotId],
  getOsuStatus: [slotId],
  startOsu: [slotId],
  getDownloadableProfileMetadata: [slotId, portIndex, profile, forceDisableProfile],
  getDownloadableProfiles: [slotId, portIndex, forceDisableProfile],
  downloadProfile: [slotId, portIndex, profile, { name: 'configuration', kind: 'configuration' }],
  getEuiccProfileInfoList: [slotId],
  getEuiccInfo: [slotId],
  deleteProfile: [slotId, iccid],
  switchToProfile: [slotId, portIndex, iccid, forceDisableProfile],
  setProfileNickname: [slotId, iccid, { name: 'nickname', kind: 'string' }],
  resetMemory: [slotId, { name: 'options', kind: 'resetOption', optional: true }],
  reserveProfilesForFactoryRestore: [slotId],
  setDefaultSmdpAddress: [slotId, { name: 'address', kind: 'string' }],
  getDefaultSmdpAddress: [slotId],
  cancelSession: [slotId, { name: 'transactionId', kind: 'string' }, { name: 'cancelReason', kind: 'number' }],
  isSupported: [slotId],
  addProfile: [profile],
  disableProfile: [slotId, portIndex, iccid],
  getEuiccInfo2: [slotId],
  listNotifications: [slotId],
  sendNotifications: [slotId, { name: 'seqNumber', kind: 'number', optional: true }],
  removeNotification: [slotId, { name: 'seqNumber', kind: 'number' }],
  listSlots: [],
  listPendingAdds: [],
  resolvePendingAdd: [
    { name: 'id', kind: 'string' },
    { name: 'accept', kind: 'boolean' },
    { name: 'configuration', kind: 'partialConfiguration', optional: true },
  ],
  runningDownloads: [slotId],
  getProfileDetails: [slotId],
});

export type NodeCallback = (err: unknown, data?: unknown) => void;

export interface CheckedCall {
  /** The arguments for the service: copies, trailing omitted optionals dropped. */
  readonly args: unknown[];
  readonly callback?: NodeCallback;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function plural(n: number): string {
  return n === 1 ? '1 argument' : `${n} arguments`;
}

/**
 * Check `args` against the function's parameter list; throws BusinessError 401 (synchronously) for a
 * wrong count or type. `withCallback`: a trailing function is the Node-style callback.
 */
export function checkCall(fn: ApiFunction, raw: readonly unknown[], withCallback = true): CheckedCall {
  const params = PARAMS[fn];
  const required = params.filter((p) => !p.optional).length;
  const max = params.length;
  let args = [...raw];
  let callback: NodeCallback | undefined;
  // A trailing function is the callback; a trailing `undefined` in the callback position is "no callback".
  if (withCallback && args.length > 0) {
    const last = args[args.length - 1];
    if (typeof last === 'function' && args.length >= required) {
      callback = last as NodeCallback;
      args = args.slice(0, -1);
    } else if (last === undefined && args.length === max + 1) {
      args = args.slice(0, -1);
    }
  }
  const names = params.map((p) => (p.optional ? `${p.name}?` : p.name)).join(', ');
  if (args.length < required || args.length > max) {
    const expected = required === max ? plural(max) : `${required} to ${plural(max)}`;
    const cb = withCallback ? ' (and an optional callback)' : '';
    throw parameterError(`${fn}(${names}) expects ${expected}${cb}, got ${plural(args.length)}${callback ? ' and a callback' : ''}.`);
  }
  const out: unknown[] = [];
  params.forEach((p, i) => {
    const v = args[i];
    if (i >= args.length || ((v === undefined || v === null) && p.optional)) {
      out.push(undefined);
      return;
    }
    out.push(checkParam(fn, p, v));
  });
  // Drop trailing omitted optionals (undefined does not survive JSON in an array).
  while (out.length > required && out[out.length - 1] === undefined) out.pop();
  return callback ? { args: out, callback } : { args: out };
}

function fault(fn: ApiFunction, what: string, expected: string, got: unknown): never {
  throw parameterError(`${fn}: "${what}" must be ${expected}, got ${typeName(got)}.`);
}

function checkParam(fn: ApiFunction, p: Param, v: unknown): unknown {
  switch (p.kind) {
    case 'number':
    case 'resetOption':
      if (typeof v !== 'number') fault(fn, p.name, p.kind === 'resetOption' ? 'a ResetOption (number)' : 'a number', v);
      return v;
    case 'string':
      if (typeof v !== 'string') fault(fn, p.name, 'a string', v);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') fault(fn, p.name, 'a boolean', v);
      return v;
    case 'profile':
      return checkProfile(fn, p.name, v);
    case 'configuration':
      return checkConfiguration(fn, p.name, v);
    case 'partialConfiguration':
      return checkPartialConfiguration(fn, p.name, v);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(fn: ApiFunction, o: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fault(fn, `${where}.${key}`, 'a string', v);
  return v;
}

/** DownloadableProfile: activationCode (string, required), confirmationCode?, carrierName?, accessRules?. */
function checkProfile(fn: ApiFunction, name: string, v: unknown): Record<string, unknown> {
  if (!isPlainObject(v)) fault(fn, name, 'a DownloadableProfile object', v);
  if (typeof v.activationCode !== 'string') fault(fn, `${name}.activationCode`, 'a string', v.activationCode);
  const out: Record<string, unknown> = { activationCode: v.activationCode };
  const cc = optionalString(fn, v, 'confirmationCode', name);
  if (cc !== undefined) out.confirmationCode = cc;
  const carrier = optionalString(fn, v, 'carrierName', name);
  if (carrier !== undefined) out.carrierName = carrier;
  const rules = v.accessRules;
  if (rules !== undefined && rules !== null) {
    if (!Array.isArray(rules)) fault(fn, `${name}.accessRules`, 'an array of AccessRule', rules);
    out.accessRules = rules.map((r: unknown, i: number) => {
      const where = `${name}.accessRules[${i}]`;
      if (!isPlainObject(r)) fault(fn, where, 'an AccessRule object', r);
      if (typeof r.certificateHashHexStr !== 'string') fault(fn, `${where}.certificateHashHexStr`, 'a string', r.certificateHashHexStr);
      if (typeof r.packageName !== 'string') fault(fn, `${where}.packageName`, 'a string', r.packageName);
      if (typeof r.accessType !== 'number') fault(fn, `${where}.accessType`, 'a number', r.accessType);
      return { certificateHashHexStr: r.certificateHashHexStr, packageName: r.packageName, accessType: r.accessType };
    });
  }
  return out;
}

/**
 * DownloadConfiguration: switchAfterDownload, forceDisableProfile (booleans), and isPprAllowed — or the
 * OpenHarmony SDK's spelling `isAlowPpr`. Both are passed on when both are given: the service rejects (401,
 * asynchronously) when they disagree.
 */
function checkConfiguration(fn: ApiFunction, name: string, v: unknown): Record<string, unknown> {
  if (!isPlainObject(v)) fault(fn, name, 'a DownloadConfiguration object', v);
  if (typeof v.switchAfterDownload !== 'boolean') fault(fn, `${name}.switchAfterDownload`, 'a boolean', v.switchAfterDownload);
  if (typeof v.forceDisableProfile !== 'boolean') fault(fn, `${name}.forceDisableProfile`, 'a boolean', v.forceDisableProfile);
  const out: Record<string, unknown> = { switchAfterDownload: v.switchAfterDownload, forceDisableProfile: v.forceDisableProfile };
  const has = (k: string): boolean => v[k] !== undefined && v[k] !== null;
  if (!has('isPprAllowed') && !has('isAlowPpr')) fault(fn, `${name}.isPprAllowed`, 'a boolean', v.isPprAllowed);
  for (const k of ['isPprAllowed', 'isAlowPpr']) {
    if (!has(k)) continue;
    if (typeof v[k] !== 'boolean') fault(fn, `${name}.${k}`, 'a boolean', v[k]);
    out[k] = v[k];
  }
  return out;
}

/** resolvePendingAdd's optional overrides: any of the DownloadConfiguration booleans. */
function checkPartialConfiguration(fn: ApiFunction, name: string, v: unknown): Record<string, unknown> {
  if (!isPlainObject(v)) fault(fn, name, 'a DownloadConfiguration object', v);
  const out: Record<string, unknown> = {};
  for (const k of ['switchAfterDownload', 'forceDisableProfile', 'isPprAllowed', 'isAlowPpr']) {
    if (v[k] === undefined || v[k] === null) continue;
    if (typeof v[k] !== 'boolean') fault(fn, `${name}.${k}`, 'a boolean', v[k]);
    out[k] = v[k];
  }
  return out;
}

/** on/off: the event name. */
export function checkEventName(method: 'on' | 'off', type: unknown): void {
  if (typeof type !== 'string') fault(method as ApiFunction, 'type', `one of ${EVENT_NAMES.map((n) => `'${n}'`).join(', ')}`, type);
  if (!(EVENT_NAMES as readonly string[]).includes(type)) {
    throw parameterError(`${method}: "type" must be one of ${EVENT_NAMES.map((n) => `'${n}'`).join(', ')}, got '${type}'.`);
  }
}
