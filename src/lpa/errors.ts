/**
 * Typed failures of the LPA's ES10 client (es10a/b/c.ts):
 * - {@link EuiccSwError}: the eUICC answered a status word other than 9000/61xx (from the APDU layer);
 * - {@link EuiccResponseError}: the eUICC answered 9000 with something that is not the expected response
 *   (undecodable TLV, wrong tag, an enum value outside SGP.22);
 * - {@link Es10ResultError}: a list/retrieve function whose response carries only an error code
 *   (GetProfilesInfo, ListNotification, RetrieveNotificationsList); functions that *return* a result code
 *   (enable, disable, delete, nickname, reset, ...) never throw for it;
 * - {@link TransportError}: timeout, disconnect, busy, protocol, unsupported, closed (transport.ts).
 */
export { TransportError, type TransportErrorCode } from '../apdu/transport.js';
export { EuiccSwError } from '../apdu/channel.js';

/** The eUICC answered 9000 but the response is not what the command returns. */
export class EuiccResponseError extends Error {
  override readonly name = 'EuiccResponseError';
  constructor(
    /** ES10 function name, e.g. GetProfilesInfo. */
    readonly command: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${command}: ${message}`, options);
  }
}

/** A list/retrieve function answered its error alternative instead of data. */
export class Es10ResultError extends Error {
  override readonly name = 'Es10ResultError';
  constructor(
    readonly command: string,
    /** Name of the SGP.22 value ('undefinedError', 'incorrectInputValues', ...) or 'unknown'. */
    readonly result: string,
    /** The raw value. */
    readonly code: number,
  ) {
    super(`${command}: the eUICC answered ${result} (${code})`);
  }
}
