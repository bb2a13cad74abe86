/** The LPA core: ES10a/b/c clients over an ApduChannel, typed errors. */
export { ApduChannel, EuiccSwError, ISDR_AID, type ApduChannelOptions, type StoreDataChannel } from '../apdu/channel.js';
export { TransportError, type ApduTransport, type TransportCapabilities, type TransportErrorCode } from '../apdu/transport.js';
export { EuiccResponseError, Es10ResultError } from './errors.js';
export { decodePlmn, encodePlmn, type Es10Outcome, type Plmn, type ProfileId } from './es10-util.js';
export * from './es10a.js';
export * from './es10b.js';
export * from './es10c.js';
// ES9+ network side and the download flow (issue 5)
export {
  RspHttpClient,
  RspHttpError,
  ADMIN_PROTOCOL,
  USER_AGENT,
  type JsonObject,
  type JsonValue,
  type RspHttpClientOptions,
  type RspHttpErrorKind,
  type RspHttpTimeouts,
  type RspPostOptions,
} from './http.js';
export {
  Es9pClient,
  Es9pResponseError,
  ES9P_PREFIX,
  type Es9pFunction,
  type InitiateAuthenticationResult,
  type AuthenticateClientResult,
  type GetBoundProfilePackageResult,
} from './es9p.js';
export {
  ResultCode,
  LpaError,
  LpaCheckError,
  Es10DownloadError,
  mapFailure,
  statusCodeToResultCode,
  resultCodeName,
  type ResultCodeName,
  type LpaCheck,
  type MappingContext,
  type MappedFailure,
} from './result-codes.js';
export {
  downloadProfile,
  cancelDownload,
  runningDownloads,
  checkPolicyRules,
  confirmationCodeHash,
  type DownloadOptions,
  type DownloadResult,
  type DownloadProgress,
  type DownloadStep,
  type DownloadTimeouts,
  type ProfileMetadata,
} from './download.js';
export { type RspSessionOptions } from './rsp-session.js';
export { getProfileMetadata, type MetadataOptions, type MetadataResult } from './metadata.js';
export {
  sendPendingNotifications,
  deliverNotification,
  type SendNotificationsOptions,
  type SendNotificationsResult,
} from './notifications.js';
