/**
 * BusinessError, as OpenHarmony's `@ohos.base` defines it (`interface BusinessError<T = void> extends Error
 * { code: number; data?: T }`), here a class so that `instanceof` works and `import { BusinessError } from
 * '@kit.BasicServicesKit'` is usable as a type and a value.
 *
 * OpenHarmony apps log failures with `JSON.stringify(err)`: `code` and `message` are enumerable own
 * properties (and `toJSON` returns them), so that prints `{"code":401,"message":"..."}`.
 *
 * This is the only place where a ServiceError (below the API) becomes a BusinessError.
 */
import { ERROR_MESSAGES, ServiceError, type ServiceErrorCode } from '../service/protocol.js';

export class BusinessError<T = void> extends Error {
  /** The OpenHarmony error code (201, 202, 401, 801, 3120001, 3120002). */
  code: number;
  /** Extra data (unused by the eSIM API). */
  declare data?: T;

  constructor(code: number, message?: string, options?: { cause?: unknown; data?: T }) {
    super(message ?? ERROR_MESSAGES[code as ServiceErrorCode] ?? `Error ${code}.`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    // Own enumerable `message` (Error's is not enumerable), so JSON.stringify(err) shows it.
    Object.defineProperty(this, 'message', { value: this.message, enumerable: true, writable: true, configurable: true });
    if (options?.data !== undefined) this.data = options.data;
  }

  toJSON(): { code: number; message: string; data?: T } {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}
Object.defineProperty(BusinessError.prototype, 'name', { value: 'BusinessError', enumerable: false, writable: true, configurable: true });

/**
 * OpenHarmony's callback of an async function (`@ohos.base` AsyncCallback). esimkit calls it Node-style:
 * `err` is null on success (typed as OpenHarmony types it, so OpenHarmony code compiles unchanged).
 */
export interface AsyncCallback<T, E = void> {
  (err: BusinessError<E>, data: T): void;
}

/** OpenHarmony's event callback (`@ohos.base` Callback). */
export interface Callback<T> {
  (data: T): void;
}

/** OpenHarmony's error codes for the eSIM API. */
export const ErrorCode = Object.freeze({
  PERMISSION_DENIED: 201,
  NOT_SYSTEM_APP: 202,
  PARAMETER_ERROR: 401,
  CAPABILITY_NOT_SUPPORTED: 801,
  SERVICE_CONNECTION_FAILED: 3120001,
  SYSTEM_INTERNAL_ERROR: 3120002,
} as const);

/** 401 for a wrong argument count or type (thrown synchronously by the API). */
export function parameterError(message: string): BusinessError {
  return new BusinessError(401, `Parameter error. ${message}`);
}

/**
 * Any failure below the API → BusinessError: a ServiceError keeps its code and message; anything else
 * (a bug, an unexpected exception) is a 3120002 "System internal error" with the cause attached.
 */
export function toBusinessError(e: unknown): BusinessError {
  if (e instanceof BusinessError) return e;
  if (e instanceof ServiceError) return new BusinessError(e.code, e.message, { cause: e });
  if (isServiceErrorLike(e)) return new BusinessError(e.code, e.message, { cause: e });
  const detail = e instanceof Error ? e.message : String(e);
  return new BusinessError(3120002, `System internal error: ${detail}`, { cause: e });
}

const CODES = new Set<number>([201, 202, 401, 801, 3120001, 3120002]);

/** A ServiceError from another copy of the module (e.g. dist and src loaded side by side). */
function isServiceErrorLike(e: unknown): e is { code: ServiceErrorCode; message: string } {
  return (
    e instanceof Error &&
    e.name === 'ServiceError' &&
    typeof (e as unknown as { code?: unknown }).code === 'number' &&
    CODES.has((e as unknown as { code: number }).code)
  );
}
