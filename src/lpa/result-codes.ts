/**
 * OpenHarmony `ResultCode` (@ohos.telephony.eSIM) and the ONE mapping from any failure of a download,
 * metadata or discovery flow to exactly one ResultCode (SGP22-NOTES §8; also docs/result-codes.md).
 *
 * | ResultCode | Produced by |
 * |---|---|
 * | -2 SOLVABLE_ERRORS | LpaCheckError confirmation-code-required, ppr-consent-required; 8.2.7/2.2 when no code was sent |
 * | 201 GET_EID_FAILED | EuiccSwError / EuiccResponseError of GetEID |
 * | 203 ACTIVATION_CODE_CHANGED | LpaCheckError metadata-changed (a download with expectedIccid is offered another ICCID than the one previewed; CancelSession metadataMismatch) |
 * | 204 ACTIVATION_CODE_INVALID | ActivationCodeError (any fault) |
 * | 205 SMDP_ADDRESS_INVALID | LpaCheckError no-address; RspHttpError dns (malformed address, ENOTFOUND, EAI_NONAME/NODATA/FAIL) |
 * | 206 EUICC_INFO_INVALID | EuiccSwError / EuiccResponseError of GetEUICCInfo1/2, GetEUICCChallenge, GetRAT; 8.8.3/3.1; 8.9.3/3.1 |
 * | 207 TLS_HANDSHAKE_FAILED | RspHttpError tls, tls = 'handshake' |
 * | 208 CERTIFICATE_IO_ERROR | RspHttpError tls, tls = 'certificate' (untrusted, expired, wrong host, not DPtls/DStls) |
 * | 209 CERTIFICATE_RESPONSE_TIMEOUT | RspHttpError timeout, phase = 'connect' (TCP connect + TLS handshake) |
 * | 210 AUTHENTICATION_FAILED | 8.1/6.1; 8.11.1/3.9; LpaCheckError euicc-challenge; AuthenticateServer invalidSignature(2), euiccChallengeMismatch(6) |
 * | 211 RESPONSE_HTTP_FAILED | RspHttpError http-status (other than 502/503/504), json; Es9pResponseError of handleNotification / cancelSession / ES11 |
 * | 212 CONFIRMATION_CODE_INCORRECT | 8.2.7/3.8; 8.2.7/2.2 when a code was sent |
 * | 213 EXCEEDED_CONFIRMATION_CODE_TRY_LIMIT | 8.2.7/6.4 |
 * | 214 NO_PROFILE_ON_SERVER | 8.2.6/3.8 without matchingId; 8.2.5/3.7; 8.8.5/4.10; LpaCheckError no-profile (SM-DS without events) |
 * | 215 TRANSACTION_ID_INVALID | 8.10.1/3.9; LpaCheckError transaction-id; PrepareDownload invalidTransactionId(5); PIR invalidTransactionId(3); CancelSession invalidTransactionId(5) |
 * | 216 SERVER_ADDRESS_INVALID | 8.8.1/3.8; 8.9.1/3.8; LpaCheckError event-address |
 * | 217 GET_BOUND_PROFILE_PACKAGE_FAILED | 8.2/3.7; Es9pResponseError of getBoundProfilePackage; LpaCheckError bpp-undecodable; PrepareDownload noSessionContext(4), undefinedError(127), other |
 * | 218 USER_CANCEL_DOWNLOAD | LpaCheckError user-rejected, cancelled; RspHttpError aborted; an AbortError |
 * | 220 SERVER_UNAVAILABLE | RspHttpError connect; dns EAI_AGAIN; http-status 502/503/504; 8.9/5.1; 8.9/4.2 |
 * | 226 SMDP_ADDRESS_INCORRECT | LpaCheckError server-address, ac-oid; 8.8/3.10 |
 * | 228 ANALYZE_AUTHENTICATION_SERVER_RESPONSE_FAILED | Es9pResponseError of initiateAuthentication; AuthenticateServer unsupportedCurve(3), noSessionContext(4), undefinedError(127), other; EuiccResponseError of AuthenticateServer |
 * | 229 ANALYZE_AUTHENTICATION_CLIENT_RESPONSE_FAILED | Es9pResponseError of authenticateClient; PrepareDownload invalidSignature(2), unsupportedCurve(3); EuiccResponseError of PrepareDownload |
 * | 231 ANALYZE_AUTHENTICATION_CLIENT_MATCHING_ID_REFUSED | 8.2.6/3.8 with a matchingId; 8.2.6/3.3; 8.2.6/3.10 |
 * | 233 PROFILE_TYPE_ERROR_AUTHENTICATION_STOPPED | 8.2.5/4.3, 1.2, 3.8, 3.9 |
 * | 249 CARRIER_SERVER_REFUSED_ERRORS | 8.2/1.2; 8.8.5/6.4; any other x/3.8; any other 8.x subject |
 * | 251 CERTIFICATE_INVALID | 8.1.2/*, 8.1.3/*, 8.1.4/6.1, 8.8.2/3.1, 8.8.4/3.7, 8.9.2/3.1, 8.9.4/3.7; AuthenticateServer invalidCertificate(1), invalidOid(5), ciPKUnknown(7); PrepareDownload invalidCertificate(1) |
 * | 263 OUT_OF_MEMORY | 8.1/4.8; PIR installFailedDueToInsufficientMemoryForProfile(10); LpaCheckError no-memory |
 * | 268 PPR_FORBIDDEN | LpaCheckError ppr-forbidden; PIR pprNotAllowed(15) |
 * | 270 NOTHING_TO_DELETE | sendPendingNotifications: a requested seqNumber that is not (or no longer) pending on the eUICC |
 * | 276 PPR_NOT_MATCH | LpaCheckError ppr-not-match |
 * | 284 PROFILE_EID_INVALID | 8.1.1/3.8, 8.1.1/3.10, 8.2.1/3.10; PIR installFailedDueToIccidAlreadyExistsOnEuicc(9) |
 * | 287 DOWNLOAD_TIMEOUT | RspHttpError timeout, phase = 'response'; TransportError timeout; LpaCheckError deadline |
 * | 400 SGP_22_OTHER | other PIR errorReasons; CancelSession undefinedError; EuiccSwError / EuiccResponseError of other functions; Es10ResultError; other TransportErrors; function-failed with a non-8.x subject; anything unknown |
 *
 * 0 OK, -1 MUST_DISABLE_PROFILE, 223, 283 belong to profile management (not produced here); 270 is one too, used here
 * only for a requested notification that is not pending.
 */
import { ActivationCodeError } from '../asn1/activation-code.js';
import { AuthenticateErrorCodeValue, DownloadErrorCodeValue } from '../asn1/sgp22/authentication.js';
import { CancelSessionResponseErrorValue } from '../asn1/sgp22/cancel-session.js';
import { ErrorReasonValue } from '../asn1/sgp22/notifications.js';
import { EuiccSwError } from '../apdu/channel.js';
import { TransportError } from '../apdu/transport.js';
import { EuiccResponseError, Es10ResultError } from './errors.js';
import { Es9pResponseError } from './es9p.js';
import { RspHttpError } from './http.js';
import { nameOf } from './es10-util.js';

/** @ohos.telephony.eSIM ResultCode. */
export const ResultCode = {
  RESULT_SOLVABLE_ERRORS: -2,
  RESULT_MUST_DISABLE_PROFILE: -1,
  RESULT_OK: 0,
  RESULT_GET_EID_FAILED: 201,
  RESULT_ACTIVATION_CODE_CHANGED: 203,
  RESULT_ACTIVATION_CODE_INVALID: 204,
  RESULT_SMDP_ADDRESS_INVALID: 205,
  RESULT_EUICC_INFO_INVALID: 206,
  RESULT_TLS_HANDSHAKE_FAILED: 207,
  RESULT_CERTIFICATE_IO_ERROR: 208,
  RESULT_CERTIFICATE_RESPONSE_TIMEOUT: 209,
  RESULT_AUTHENTICATION_FAILED: 210,
  RESULT_RESPONSE_HTTP_FAILED: 211,
  RESULT_CONFIRMATION_CODE_INCORRECT: 212,
  RESULT_EXCEEDED_CONFIRMATION_CODE_TRY_LIMIT: 213,
  RESULT_NO_PROFILE_ON_SERVER: 214,
  RESULT_TRANSACTION_ID_INVALID: 215,
  RESULT_SERVER_ADDRESS_INVALID: 216,
  RESULT_GET_BOUND_PROFILE_PACKAGE_FAILED: 217,
  RESULT_USER_CANCEL_DOWNLOAD: 218,
  RESULT_SERVER_UNAVAILABLE: 220,
  RESULT_PROFILE_NON_DELETE: 223,
  RESULT_SMDP_ADDRESS_INCORRECT: 226,
  RESULT_ANALYZE_AUTHENTICATION_SERVER_RESPONSE_FAILED: 228,
  RESULT_ANALYZE_AUTHENTICATION_CLIENT_RESPONSE_FAILED: 229,
  RESULT_ANALYZE_AUTHENTICATION_CLIENT_MATCHING_ID_REFUSED: 231,
  RESULT_PROFILE_TYPE_ERROR_AUTHENTICATION_STOPPED: 233,
  RESULT_CARRIER_SERVER_REFUSED_ERRORS: 249,
  RESULT_CERTIFICATE_INVALID: 251,
  RESULT_OUT_OF_MEMORY: 263,
  RESULT_PPR_FORBIDDEN: 268,
  RESULT_NOTHING_TO_DELETE: 270,
  RESULT_PPR_NOT_MATCH: 276,
  RESULT_CAT_BUSY: 283,
  RESULT_PROFILE_EID_INVALID: 284,
  RESULT_DOWNLOAD_TIMEOUT: 287,
  RESULT_SGP_22_OTHER: 400,
} as const;
export type ResultCodeName = keyof typeof ResultCode;
export type ResultCode = (typeof ResultCode)[ResultCodeName];

export function resultCodeName(code: ResultCode): ResultCodeName {
  for (const [k, v] of Object.entries(ResultCode)) if (v === code) return k as ResultCodeName;
  throw new RangeError(`not a ResultCode: ${code}`);
}

/** What an LPA flow checks itself (SGP22-NOTES §4.1 step 4, §6.2, §7). */
export type LpaCheck =
  | 'no-address' // no activation code, no address, no default SM-DP+
  | 'transaction-id' // tId in JSON ≠ tId in signed data, or ≠ the session's
  | 'euicc-challenge' // serverSigned1.euiccChallenge ≠ the card's challenge
  | 'server-address' // serverSigned1.serverAddress ≠ the address called
  | 'ac-oid' // activation code OID ≠ CERT.DPauth OID
  | 'confirmation-code-required' // ccRequiredFlag set and no confirmation code
  | 'ppr-consent-required' // a PPR needs the user's consent and it was not given
  | 'ppr-forbidden' // no RAT rule allows a PPR, or the eUICC forbids it
  | 'ppr-not-match' // a RAT rule exists for the PPR but not for this profile owner
  | 'user-rejected' // the metadata callback said no
  | 'cancelled' // AbortSignal / cancel(transactionId)
  | 'deadline' // the overall download deadline passed
  | 'metadata-changed' // profile differs from the one previewed / the activation code changed
  | 'no-memory' // the eUICC cannot take one more profile (LPA pre-check)
  | 'no-profile' // SM-DS / default SM-DP+ had nothing to offer
  | 'event-address' // an SM-DS event with an unusable address
  | 'bpp-undecodable'; // the BPP from the server cannot be segmented

const CHECK_CODES: Readonly<Record<LpaCheck, ResultCode>> = {
  'no-address': 205,
  'transaction-id': 215,
  'euicc-challenge': 210,
  'server-address': 226,
  'ac-oid': 226,
  'confirmation-code-required': -2,
  'ppr-consent-required': -2,
  'ppr-forbidden': 268,
  'ppr-not-match': 276,
  'user-rejected': 218,
  cancelled: 218,
  deadline: 287,
  'metadata-changed': 203,
  'no-memory': 263,
  'no-profile': 214,
  'event-address': 216,
  'bpp-undecodable': 217,
};

export class LpaCheckError extends Error {
  override readonly name = 'LpaCheckError';
  constructor(
    readonly check: LpaCheck,
    message: string,
    options?: { cause?: unknown; cancelReason?: number },
  ) {
    super(message, options);
    if (options?.cancelReason !== undefined) this.cancelReason = options.cancelReason;
  }

  /** check 'cancelled': the SGP.22 CancelSessionReason the canceller asked for (default endUserRejection). */
  readonly cancelReason?: number;
}

/** An ES10b download function answered its error alternative (not thrown by es10b.ts, raised by the flow). */
export type Es10DownloadFunction = 'AuthenticateServer' | 'PrepareDownload' | 'LoadBoundProfilePackage' | 'CancelSession';

export class Es10DownloadError extends Error {
  override readonly name = 'Es10DownloadError';
  /** SGP.22 name of the code ('unknown' outside the table). */
  readonly result: string;
  constructor(
    readonly fn: Es10DownloadFunction,
    /** authenticateErrorCode / downloadErrorCode / PIR errorReason / cancelSessionResponseError. */
    readonly code: number,
    /** LoadBoundProfilePackage: the bppCommandId of the failed step. */
    readonly bppCommandId?: number,
  ) {
    const table = fn === 'AuthenticateServer' ? AuthenticateErrorCodeValue : fn === 'PrepareDownload' ? DownloadErrorCodeValue : fn === 'CancelSession' ? CancelSessionResponseErrorValue : ErrorReasonValue;
    const result = nameOf(table, code);
    super(`${fn}: the eUICC answered ${result} (${code})${bppCommandId !== undefined ? ` at bppCommandId ${bppCommandId}` : ''}`);
    this.result = result;
  }
}

/** Context the mapping needs beyond the error itself. */
export interface MappingContext {
  /** A non-empty matchingId was sent (8.2.6/3.8 → 231, else 214). Default true. */
  readonly matchingIdSent?: boolean;
  /** A confirmation code was sent (8.2.7/2.2 → 212, else -2). Default false. */
  readonly confirmationCodeSent?: boolean;
}

export interface MappedFailure {
  readonly resultCode: ResultCode;
  /** Short machine-readable reason, e.g. "es9p 8.2.7/3.8", "tls certificate", "check server-address". */
  readonly reason: string;
}

/** Every failure of the LPA flows as one error: the ResultCode, a reason, and the original error. */
export class LpaError extends Error {
  override readonly name = 'LpaError';
  constructor(
    readonly resultCode: ResultCode,
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${message} [${resultCodeName(resultCode)} ${resultCode}]`, options);
  }

  static from(e: unknown, ctx: MappingContext = {}): LpaError {
    if (e instanceof LpaError) return e;
    const m = mapFailure(e, ctx);
    return new LpaError(m.resultCode, m.reason, e instanceof Error ? e.message : String(e), { cause: e });
  }
}

/** Subject / reason code → ResultCode (SGP22-NOTES §5.2 / §8). */
export function statusCodeToResultCode(subject: string | undefined, reason: string | undefined, ctx: MappingContext = {}): ResultCode {
  const s = subject ?? '';
  const r = reason ?? '';
  const sr = `${s}/${r}`;
  switch (sr) {
    case '8.8.1/3.8':
    case '8.9.1/3.8':
      return 216;
    case '8.8.3/3.1':
    case '8.9.3/3.1':
      return 206;
    case '8.8.2/3.1':
    case '8.8.4/3.7':
    case '8.9.2/3.1':
    case '8.9.4/3.7':
    case '8.1.4/6.1':
      return 251;
    case '8.10.1/3.9':
      return 215;
    case '8.11.1/3.9':
    case '8.1/6.1':
      return 210;
    case '8.1/4.8':
      return 263;
    case '8.1.1/3.8':
    case '8.1.1/3.10':
    case '8.2.1/3.10':
      return 284;
    case '8.2/1.2':
    case '8.8.5/6.4':
      return 249;
    case '8.2.5/3.7':
    case '8.8.5/4.10':
      return 214;
    case '8.2.5/4.3':
    case '8.2.5/1.2':
    case '8.2.5/3.8':
    case '8.2.5/3.9':
      return 233;
    case '8.2.6/3.8':
      return ctx.matchingIdSent === false ? 214 : 231;
    case '8.2.6/3.3':
    case '8.2.6/3.10':
      return 231;
    case '8.2.7/3.8':
      return 212;
    case '8.2.7/2.2':
      return ctx.confirmationCodeSent === true ? 212 : -2;
    case '8.2.7/6.4':
      return 213;
    case '8.2/3.7':
      return 217;
    case '8.8/3.10':
      return 226;
    case '8.9/5.1':
    case '8.9/4.2':
      return 220;
  }
  if (s === '8.1.2' || s === '8.1.3') return 251;
  if (r === '3.8') return 249;
  if (s === '8' || s.startsWith('8.')) return 249;
  return 400;
}

function authenticateServerCode(code: number): ResultCode {
  switch (code) {
    case AuthenticateErrorCodeValue.invalidCertificate:
    case AuthenticateErrorCodeValue.invalidOid:
    case AuthenticateErrorCodeValue.ciPKUnknown:
      return 251;
    case AuthenticateErrorCodeValue.invalidSignature:
    case AuthenticateErrorCodeValue.euiccChallengeMismatch:
      return 210;
    default: // unsupportedCurve(3), noSessionContext(4), undefinedError(127), unknown
      return 228;
  }
}

function prepareDownloadCode(code: number): ResultCode {
  switch (code) {
    case DownloadErrorCodeValue.invalidCertificate:
      return 251;
    case DownloadErrorCodeValue.invalidSignature:
    case DownloadErrorCodeValue.unsupportedCurve:
      return 229;
    case DownloadErrorCodeValue.invalidTransactionId:
      return 215;
    default: // noSessionContext(4), undefinedError(127), unknown
      return 217;
  }
}

function pirCode(code: number): ResultCode {
  switch (code) {
    case ErrorReasonValue.invalidTransactionId:
      return 215;
    case ErrorReasonValue.installFailedDueToInsufficientMemoryForProfile:
      return 263;
    case ErrorReasonValue.pprNotAllowed:
      return 268;
    case ErrorReasonValue.installFailedDueToIccidAlreadyExistsOnEuicc:
      return 284;
    default:
      return 400;
  }
}

const EUICC_INFO_COMMANDS = new Set(['GetEUICCInfo1', 'GetEUICCInfo2', 'GetEUICCChallenge', 'GetRAT']);

function es10CommandCode(command: string): ResultCode {
  if (command === 'GetEID') return 201;
  if (EUICC_INFO_COMMANDS.has(command)) return 206;
  if (command === 'AuthenticateServer') return 228;
  if (command === 'PrepareDownload') return 229;
  return 400;
}

/** The one mapping: any failure of a download / metadata / discovery flow → ResultCode and reason. */
export function mapFailure(e: unknown, ctx: MappingContext = {}): MappedFailure {
  if (e instanceof LpaError) return { resultCode: e.resultCode, reason: e.reason };
  if (e instanceof LpaCheckError) return { resultCode: CHECK_CODES[e.check], reason: `check ${e.check}` };
  if (e instanceof RspHttpError) {
    switch (e.kind) {
      case 'dns':
        return { resultCode: e.code === 'EAI_AGAIN' ? 220 : 205, reason: `dns ${e.code ?? ''}`.trim() };
      case 'connect':
        return { resultCode: 220, reason: `connect ${e.code ?? ''}`.trim() };
      case 'tls':
        return { resultCode: e.tls === 'handshake' ? 207 : 208, reason: `tls ${e.tls ?? 'certificate'}` };
      case 'timeout':
        return { resultCode: e.phase === 'connect' ? 209 : 287, reason: `timeout ${e.phase ?? 'response'}` };
      case 'http-status':
        return { resultCode: e.status === 502 || e.status === 503 || e.status === 504 ? 220 : 211, reason: `http ${e.status ?? '?'}` };
      case 'json':
        return { resultCode: 211, reason: 'json' };
      case 'aborted':
        return { resultCode: 218, reason: 'aborted' };
      case 'function-failed':
        return {
          resultCode: statusCodeToResultCode(e.subjectCode, e.reasonCode, ctx),
          reason: `${fnOfPath(e.path)} ${e.subjectCode ?? '?'}/${e.reasonCode ?? '?'}`.trim(),
        };
    }
  }
  if (e instanceof Es9pResponseError) {
    const code: ResultCode = e.fn === 'initiateAuthentication' ? 228 : e.fn === 'authenticateClient' ? 229 : e.fn === 'getBoundProfilePackage' ? 217 : 211;
    return { resultCode: code, reason: `es9p ${e.fn} ${e.field}` };
  }
  if (e instanceof Es10DownloadError) {
    const code =
      e.fn === 'AuthenticateServer'
        ? authenticateServerCode(e.code)
        : e.fn === 'PrepareDownload'
          ? prepareDownloadCode(e.code)
          : e.fn === 'LoadBoundProfilePackage'
            ? pirCode(e.code)
            : e.code === CancelSessionResponseErrorValue.invalidTransactionId
              ? 215
              : 400;
    return { resultCode: code, reason: `${e.fn} ${e.result}(${e.code})` };
  }
  if (e instanceof ActivationCodeError) return { resultCode: 204, reason: `activation code ${e.fault}` };
  if (e instanceof EuiccSwError) return { resultCode: es10CommandCode(e.command), reason: `${e.command} SW ${e.sw.toString(16).toUpperCase().padStart(4, '0')}` };
  if (e instanceof EuiccResponseError) return { resultCode: es10CommandCode(e.command), reason: `${e.command} malformed response` };
  if (e instanceof Es10ResultError) return { resultCode: e.command === 'GetEID' ? 201 : 400, reason: `${e.command} ${e.result}(${e.code})` };
  if (e instanceof TransportError) return { resultCode: e.code === 'timeout' ? 287 : 400, reason: `transport ${e.code}` };
  if (e instanceof Error && e.name === 'AbortError') return { resultCode: 218, reason: 'aborted' };
  return { resultCode: 400, reason: e instanceof Error ? `unexpected ${e.name}` : 'unexpected' };
}

function fnOfPath(path: string | undefined): string {
  if (path === undefined) return 'server';
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}
