/**
 * Value checks of the eSIM API (step 4 of the check order in protocol.ts): every argument the service
 * receives — in-process or as JSON from the daemon's socket — is checked here, and a bad one rejects with
 * ServiceError 401 whose message names the parameter. The API layer (src/api) uses the same functions to
 * fail early; the service never trusts it.
 *
 * Rules (docs/api.md "Parameter rules"):
 * - slotId: integer in [0, number of slots); portIndex: integer in [0, ports of the slot) (for a slot without
 *   an eUICC only a non-negative integer: the call then answers 801);
 * - iccid: 18..20 decimal digits; one trailing F (BCD filler, either case) is accepted and dropped;
 * - address: host[:port] as an activation code's SM-DP+ address (DNS name, IPv4, [IPv6]);
 * - transactionId: hex, even length, 2..32 characters (normalised to upper case);
 * - activationCode: `[LPA:]1$address$token[$oid[$1]]` (src/asn1/activation-code.ts);
 * - cancelReason: integer 0..3 (CancelReason); nickname: string of at most 64 UTF-8 bytes;
 * - ResetOption: integer bit mask 1..7 (omitted → DELETE_OPERATIONAL_PROFILES);
 * - DownloadableProfile {activationCode, confirmationCode?, carrierName?, accessRules?};
 * - DownloadConfiguration {switchAfterDownload, forceDisableProfile, isPprAllowed} (`isAlowPpr`, the
 *   OpenHarmony SDK spelling, is accepted as an alias).
 * Secrets (activation-code tokens, confirmation codes) never appear in messages.
 */
import { ActivationCodeError, formatActivationCode, isValidSmdpAddress, parseActivationCode } from '../asn1/activation-code.js';
import type { AccessRule, DownloadableProfile, DownloadConfiguration } from '../api/types.js';
import { ERROR_MESSAGES, ServiceError, type ApiFunction } from './protocol.js';

/** What validation needs to know about a slot. */
export interface SlotShape {
  readonly slotId: number;
  readonly ports: number;
}

const MAX_NICKNAME_BYTES = 64;
const MAX_CONFIRMATION_CODE = 256;
const MAX_TEXT = 1024;
const MAX_ACCESS_RULES = 64;

/** ServiceError 401 naming the parameter. */
export function invalidParameter(param: string, why: string): ServiceError {
  return new ServiceError(401, `${ERROR_MESSAGES[401].replace(/\.$/, '')}: ${param} ${why}`);
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `a string`;
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function checkInteger(v: unknown, param: string, min: number, maxExclusive: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidParameter(param, `must be an integer, got ${describe(v)}`);
  if (v < min || v >= maxExclusive) {
    throw invalidParameter(param, maxExclusive <= min ? `has no valid value here (got ${v})` : `must be in [${min}, ${maxExclusive - 1}], got ${v}`);
  }
  return v;
}

export function checkSlotId(v: unknown, slotCount: number): number {
  return checkInteger(v, 'slotId', 0, slotCount);
}

export function checkPortIndex(v: unknown, ports: number): number {
  return checkInteger(v, 'portIndex', 0, Math.max(ports, 0));
}

export function checkBoolean(v: unknown, param: string): boolean {
  if (typeof v !== 'boolean') throw invalidParameter(param, `must be a boolean, got ${describe(v)}`);
  return v;
}

export function checkString(v: unknown, param: string, maxLength = MAX_TEXT): string {
  if (typeof v !== 'string') throw invalidParameter(param, `must be a string, got ${describe(v)}`);
  if (v.length > maxLength) throw invalidParameter(param, `is longer than ${maxLength} characters`);
  return v;
}

/** 18..20 digits; a trailing F (BCD filler) is dropped. Returns the digits. */
export function checkIccid(v: unknown, param = 'iccid'): string {
  const s = checkString(v, param, 64);
  const digits = /^[0-9]{18,20}[fF]$/.test(s) ? s.slice(0, -1) : s;
  if (!/^[0-9]{18,20}$/.test(digits)) throw invalidParameter(param, 'must be 18 to 20 decimal digits');
  return digits;
}

/** An SM-DP+ / SM-DS address: host[:port]. */
export function checkAddress(v: unknown, param = 'address'): string {
  const s = checkString(v, param, 300);
  if (!isValidSmdpAddress(s)) throw invalidParameter(param, 'must be a host name or IP address with an optional :port');
  return s;
}

/** Hex, even length, 2..32 characters → upper case. */
export function checkTransactionId(v: unknown, param = 'transactionId'): string {
  const s = checkString(v, param, 64);
  if (!/^(?:[0-9a-fA-F]{2}){1,16}$/.test(s)) throw invalidParameter(param, 'must be hexadecimal of even length, 2 to 32 characters');
  return s.toUpperCase();
}

/** A valid activation code → its canonical form without `LPA:` (used as a key). */
export function checkActivationCode(v: unknown, param = 'activationCode'): string {
  const s = checkString(v, param, 512);
  try {
    return formatActivationCode(parseActivationCode(s));
  } catch (e) {
    if (e instanceof ActivationCodeError) throw invalidParameter(param, `is not a valid activation code (${e.fault})`);
    throw e;
  }
}

export function checkCancelReason(v: unknown, param = 'cancelReason'): number {
  return checkInteger(v, param, 0, 4);
}

export function checkNickname(v: unknown, param = 'nickname'): string {
  const s = checkString(v, param, MAX_NICKNAME_BYTES * 4);
  if (Buffer.byteLength(s, 'utf8') > MAX_NICKNAME_BYTES) throw invalidParameter(param, `must be at most ${MAX_NICKNAME_BYTES} UTF-8 bytes`);
  return s;
}

/** ResetOption bit mask 1..7; undefined → DELETE_OPERATIONAL_PROFILES (1). */
export function checkResetOption(v: unknown, param = 'options'): number {
  if (v === undefined || v === null) return 1;
  return checkInteger(v, param, 1, 8);
}

export function checkSeqNumber(v: unknown, param = 'seqNumber'): number {
  return checkInteger(v, param, 0, 2 ** 31);
}

function checkAccessRules(v: unknown, param: string): AccessRule[] {
  if (!Array.isArray(v)) throw invalidParameter(param, `must be an array, got ${describe(v)}`);
  if (v.length > MAX_ACCESS_RULES) throw invalidParameter(param, `has more than ${MAX_ACCESS_RULES} entries`);
  return v.map((r: unknown, i) => {
    const p = `${param}[${i}]`;
    if (!isPlainObject(r)) throw invalidParameter(p, `must be an object, got ${describe(r)}`);
    const certificateHashHexStr = checkString(r['certificateHashHexStr'], `${p}.certificateHashHexStr`);
    const packageName = checkString(r['packageName'], `${p}.packageName`);
    const accessType = r['accessType'];
    if (typeof accessType !== 'number' || !Number.isInteger(accessType)) {
      throw invalidParameter(`${p}.accessType`, `must be an integer, got ${describe(accessType)}`);
    }
    return { certificateHashHexStr, packageName, accessType };
  });
}

/** A DownloadableProfile; the activation code is checked but returned as given. */
export function checkDownloadableProfile(v: unknown, param = 'profile'): DownloadableProfile {
  if (!isPlainObject(v)) throw invalidParameter(param, `must be a DownloadableProfile object, got ${describe(v)}`);
  const activationCode = v['activationCode'];
  checkActivationCode(activationCode, `${param}.activationCode`);
  const out: DownloadableProfile = { activationCode: activationCode as string };
  const cc = v['confirmationCode'];
  if (cc !== undefined && cc !== null) {
    if (typeof cc !== 'string') throw invalidParameter(`${param}.confirmationCode`, `must be a string, got ${describe(cc)}`);
    if (cc.length > MAX_CONFIRMATION_CODE) throw invalidParameter(`${param}.confirmationCode`, `is longer than ${MAX_CONFIRMATION_CODE} characters`);
    if (cc.length > 0) out.confirmationCode = cc;
  }
  const carrier = v['carrierName'];
  if (carrier !== undefined && carrier !== null) out.carrierName = checkString(carrier, `${param}.carrierName`, 256);
  const rules = v['accessRules'];
  if (rules !== undefined && rules !== null) out.accessRules = checkAccessRules(rules, `${param}.accessRules`);
  return out;
}

/** DownloadConfiguration; `isAlowPpr` is an alias of `isPprAllowed` (both given: they must agree). */
export function checkDownloadConfiguration(v: unknown, param = 'configuration'): DownloadConfiguration {
  if (!isPlainObject(v)) throw invalidParameter(param, `must be a DownloadConfiguration object, got ${describe(v)}`);
  const switchAfterDownload = checkBoolean(v['switchAfterDownload'], `${param}.switchAfterDownload`);
  const forceDisableProfile = checkBoolean(v['forceDisableProfile'], `${param}.forceDisableProfile`);
  const ppr = v['isPprAllowed'];
  const alias = v['isAlowPpr'];
  let isPprAllowed: boolean;
  if (ppr !== undefined) {
    isPprAllowed = checkBoolean(ppr, `${param}.isPprAllowed`);
    if (alias !== undefined && checkBoolean(alias, `${param}.isAlowPpr`) !== isPprAllowed) {
      throw invalidParameter(`${param}.isAlowPpr`, 'contradicts isPprAllowed');
    }
  } else if (alias !== undefined) {
    isPprAllowed = checkBoolean(alias, `${param}.isAlowPpr`);
  } else {
    throw invalidParameter(`${param}.isPprAllowed`, 'must be a boolean, got undefined');
  }
  return { switchAfterDownload, forceDisableProfile, isPprAllowed };
}

// ------------------------------------------------------------------------------------------ per function

/** Checked, normalised arguments of each function. */
export interface ArgsOf {
  getEid: { slotId: number };
  getOsuStatus: { slotId: number };
  startOsu: { slotId: number };
  getDownloadableProfileMetadata: { slotId: number; portIndex: number; profile: DownloadableProfile; forceDisableProfile: boolean };
  getDownloadableProfiles: { slotId: number; portIndex: number; forceDisableProfile: boolean };
  downloadProfile: { slotId: number; portIndex: number; profile: DownloadableProfile; configuration: DownloadConfiguration };
  getEuiccProfileInfoList: { slotId: number };
  getEuiccInfo: { slotId: number };
  deleteProfile: { slotId: number; iccid: string };
  switchToProfile: { slotId: number; portIndex: number; iccid: string; forceDisableProfile: boolean };
  setProfileNickname: { slotId: number; iccid: string; nickname: string };
  resetMemory: { slotId: number; options: number };
  reserveProfilesForFactoryRestore: { slotId: number };
  setDefaultSmdpAddress: { slotId: number; address: string };
  getDefaultSmdpAddress: { slotId: number };
  cancelSession: { slotId: number; transactionId: string; cancelReason: number };
  isSupported: { slotId: number };
  addProfile: { profile: DownloadableProfile };
  disableProfile: { slotId: number; portIndex: number; iccid: string };
  getEuiccInfo2: { slotId: number };
  listNotifications: { slotId: number };
  sendNotifications: { slotId: number; seqNumber?: number };
  removeNotification: { slotId: number; seqNumber: number };
  listSlots: Record<string, never>;
  listPendingAdds: Record<string, never>;
  resolvePendingAdd: { id: string; accept: boolean; configuration?: Partial<DownloadConfiguration> };
  runningDownloads: { slotId: number };
  getProfileDetails: { slotId: number };
}

/** Parameter names per function, in order (mandatory unless listed in OPTIONAL). */
export const PARAMETERS: Readonly<Record<ApiFunction, readonly string[]>> = Object.freeze({
  getEid: ['slotId'],
  getOsuStatus: ['slotId'],
  startOsu: ['slotId'],
  getDownloadableProfileMetadata: ['slotId', 'portIndex', 'profile', 'forceDisableProfile'],
  getDownloadableProfiles: ['slotId', 'portIndex', 'forceDisableProfile'],
  downloadProfile: ['slotId', 'portIndex', 'profile', 'configuration'],
  getEuiccProfileInfoList: ['slotId'],
  getEuiccInfo: ['slotId'],
  deleteProfile: ['slotId', 'iccid'],
  switchToProfile: ['slotId', 'portIndex', 'iccid', 'forceDisableProfile'],
  setProfileNickname: ['slotId', 'iccid', 'nickname'],
  resetMemory: ['slotId', 'options'],
  reserveProfilesForFactoryRestore: ['slotId'],
  setDefaultSmdpAddress: ['slotId', 'address'],
  getDefaultSmdpAddress: ['slotId'],
  cancelSession: ['slotId', 'transactionId', 'cancelReason'],
  isSupported: ['slotId'],
  addProfile: ['profile'],
  disableProfile: ['slotId', 'portIndex', 'iccid'],
  getEuiccInfo2: ['slotId'],
  listNotifications: ['slotId'],
  sendNotifications: ['slotId', 'seqNumber'],
  removeNotification: ['slotId', 'seqNumber'],
  listSlots: [],
  listPendingAdds: [],
  resolvePendingAdd: ['id', 'accept', 'configuration'],
  runningDownloads: ['slotId'],
  getProfileDetails: ['slotId'],
});

const OPTIONAL: ReadonlySet<string> = new Set(['resetMemory.options', 'sendNotifications.seqNumber', 'resolvePendingAdd.configuration']);

function checkPartialConfiguration(v: unknown, param: string): Partial<DownloadConfiguration> {
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) throw invalidParameter(param, `must be an object, got ${describe(v)}`);
  const out: Partial<DownloadConfiguration> = {};
  if (v['switchAfterDownload'] !== undefined) out.switchAfterDownload = checkBoolean(v['switchAfterDownload'], `${param}.switchAfterDownload`);
  if (v['forceDisableProfile'] !== undefined) out.forceDisableProfile = checkBoolean(v['forceDisableProfile'], `${param}.forceDisableProfile`);
  const ppr = v['isPprAllowed'] ?? v['isAlowPpr'];
  if (ppr !== undefined) out.isPprAllowed = checkBoolean(ppr, `${param}.isPprAllowed`);
  return out;
}

/**
 * Check the arguments of `fn` against the slots (count, then each value in parameter order). Returns the
 * normalised arguments; throws ServiceError 401 naming the first bad parameter.
 */
export function validateArgs<F extends ApiFunction>(fn: F, args: readonly unknown[], slots: readonly SlotShape[]): ArgsOf[F] {
  const names = PARAMETERS[fn];
  if (names === undefined) throw invalidParameter('fn', 'is not a function of the eSIM API');
  if (!Array.isArray(args)) throw invalidParameter('args', 'must be an array');
  if (args.length > names.length) throw invalidParameter(fn, `takes at most ${names.length} argument(s), got ${args.length}`);
  names.forEach((n, i) => {
    if (i >= args.length && !OPTIONAL.has(`${fn}.${n}`)) throw invalidParameter(n, 'is mandatory');
  });
  const a = (name: string): unknown => args[names.indexOf(name)];
  const out: Record<string, unknown> = {};
  let slot: SlotShape | undefined;
  for (const n of names) {
    const v = a(n);
    switch (n) {
      case 'slotId':
        out[n] = checkSlotId(v, slots.length);
        slot = slots[out[n] as number];
        break;
      case 'portIndex':
        // a slot without an eUICC (0 ports) answers 801 afterwards: only the type is checked here
        out[n] = slot !== undefined && slot.ports === 0 ? checkInteger(v, n, 0, 2 ** 31) : checkPortIndex(v, slot?.ports ?? 0);
        break;
      case 'profile':
        out[n] = checkDownloadableProfile(v, n);
        break;
      case 'forceDisableProfile':
      case 'accept':
        out[n] = checkBoolean(v, n);
        break;
      case 'configuration':
        out[n] = fn === 'resolvePendingAdd' ? checkPartialConfiguration(v, n) : checkDownloadConfiguration(v, n);
        break;
      case 'iccid':
        out[n] = checkIccid(v, n);
        break;
      case 'nickname':
        out[n] = checkNickname(v, n);
        break;
      case 'options':
        out[n] = checkResetOption(v, n);
        break;
      case 'address':
        out[n] = checkAddress(v, n);
        break;
      case 'transactionId':
        out[n] = checkTransactionId(v, n);
        break;
      case 'cancelReason':
        out[n] = checkCancelReason(v, n);
        break;
      case 'seqNumber':
        if (v !== undefined || !OPTIONAL.has(`${fn}.${n}`)) out[n] = checkSeqNumber(v, n);
        break;
      case 'id':
        out[n] = checkString(v, n, 128);
        if ((out[n] as string).length === 0) throw invalidParameter(n, 'must not be empty');
        break;
      default:
        throw new Error(`validateArgs: no rule for parameter ${n}`);
    }
  }
  return out as unknown as ArgsOf[F];
}
