/**
 * The types of `@ohos.telephony.esim` (API 18), as the seed (../shared/seed/esim-system-api.md) and the public
 * js-apis-esim.md give them: same member names, same numeric values. Enums are real TypeScript enums so that
 * `eSIM.ResultCode.RESULT_OK` works at run time, as on OpenHarmony.
 */

/** Defines access rules. */
export interface AccessRule {
  /** Hex string of the certificate hash. */
  certificateHashHexStr: string;
  /** Package name. */
  packageName: string;
  /** Rule type. */
  accessType: number;
}

/** A downloadable profile (public API). */
export interface DownloadableProfile {
  /** Activation code (`LPA:1$...` or `1$...`). For a discovered profile: the SM-DP+ address and event id. */
  activationCode: string;
  /** Confirmation code. */
  confirmationCode?: string;
  /** Carrier name. */
  carrierName?: string;
  /** Access rules. */
  accessRules?: Array<AccessRule>;
}

/** Obtains the metadata of the downloadable profile. */
export interface GetDownloadableProfileMetadataResult {
  downloadableProfile: DownloadableProfile;
  pprType: number;
  pprFlag: boolean;
  iccid: string;
  serviceProviderName: string;
  profileName: string;
  profileClass: ProfileClass;
  solvableErrors: SolvableErrors;
  responseResult: ResultCode;
}

/** Obtains the list of default downloadable profiles. */
export interface GetDownloadableProfilesResult {
  responseResult: ResultCode;
  downloadableProfiles: Array<DownloadableProfile>;
}

/** Defines the profile download result. */
export interface DownloadProfileResult {
  responseResult: ResultCode;
  solvableErrors: SolvableErrors;
  cardId: number;
}

/** Obtains the profile information list. */
export interface GetEuiccProfileInfoListResult {
  responseResult: ResultCode;
  profiles: Array<EuiccProfile>;
  isRemovable: boolean;
}

/** Operator identity of a profile. */
export interface OperatorId {
  mcc: string;
  mnc: string;
  gid1: string;
  gid2: string;
}

/** Profile information. */
export interface EuiccProfile {
  iccid: string;
  nickName: string;
  serviceProviderName: string;
  profileName: string;
  state: ProfileState;
  profileClass: ProfileClass;
  operatorId: OperatorId;
  policyRules: PolicyRules;
  accessRules: Array<AccessRule>;
}

/** Defines the eUICC information. */
export interface EuiccInfo {
  osVersion: string;
}

/** Defines the download configuration. */
export interface DownloadConfiguration {
  switchAfterDownload: boolean;
  forceDisableProfile: boolean;
  isPprAllowed: boolean;
}

/** Defines the reset options. */
export enum ResetOption {
  DELETE_OPERATIONAL_PROFILES = 1,
  DELETE_FIELD_LOADED_TEST_PROFILES = 1 << 1,
  RESET_DEFAULT_SMDP_ADDRESS = 1 << 2,
}

/** Defines the OS upgrade status. */
export enum OsuStatus {
  EUICC_UPGRADE_IN_PROGRESS = 1,
  EUICC_UPGRADE_FAILED = 2,
  EUICC_UPGRADE_SUCCESSFUL = 3,
  EUICC_UPGRADE_ALREADY_LATEST = 4,
  EUICC_UPGRADE_SERVICE_UNAVAILABLE = 5,
}

/** Enumerates the result codes. */
export enum ResultCode {
  RESULT_SOLVABLE_ERRORS = -2,
  RESULT_MUST_DISABLE_PROFILE = -1,
  RESULT_OK = 0,
  RESULT_GET_EID_FAILED = 201,
  RESULT_ACTIVATION_CODE_CHANGED = 203,
  RESULT_ACTIVATION_CODE_INVALID = 204,
  RESULT_SMDP_ADDRESS_INVALID = 205,
  RESULT_EUICC_INFO_INVALID = 206,
  RESULT_TLS_HANDSHAKE_FAILED = 207,
  RESULT_CERTIFICATE_IO_ERROR = 208,
  RESULT_CERTIFICATE_RESPONSE_TIMEOUT = 209,
  RESULT_AUTHENTICATION_FAILED = 210,
  RESULT_RESPONSE_HTTP_FAILED = 211,
  RESULT_CONFIRMATION_CODE_INCORRECT = 212,
  RESULT_EXCEEDED_CONFIRMATION_CODE_TRY_LIMIT = 213,
  RESULT_NO_PROFILE_ON_SERVER = 214,
  RESULT_TRANSACTION_ID_INVALID = 215,
  RESULT_SERVER_ADDRESS_INVALID = 216,
  RESULT_GET_BOUND_PROFILE_PACKAGE_FAILED = 217,
  RESULT_USER_CANCEL_DOWNLOAD = 218,
  RESULT_SERVER_UNAVAILABLE = 220,
  RESULT_PROFILE_NON_DELETE = 223,
  RESULT_SMDP_ADDRESS_INCORRECT = 226,
  RESULT_ANALYZE_AUTHENTICATION_SERVER_RESPONSE_FAILED = 228,
  RESULT_ANALYZE_AUTHENTICATION_CLIENT_RESPONSE_FAILED = 229,
  RESULT_ANALYZE_AUTHENTICATION_CLIENT_MATCHING_ID_REFUSED = 231,
  RESULT_PROFILE_TYPE_ERROR_AUTHENTICATION_STOPPED = 233,
  RESULT_CARRIER_SERVER_REFUSED_ERRORS = 249,
  RESULT_CERTIFICATE_INVALID = 251,
  RESULT_OUT_OF_MEMORY = 263,
  RESULT_PPR_FORBIDDEN = 268,
  RESULT_NOTHING_TO_DELETE = 270,
  RESULT_PPR_NOT_MATCH = 276,
  RESULT_CAT_BUSY = 283,
  RESULT_PROFILE_EID_INVALID = 284,
  RESULT_DOWNLOAD_TIMEOUT = 287,
  RESULT_SGP_22_OTHER = 400,
}

/** Reason for canceling the session. */
export enum CancelReason {
  CANCEL_REASON_END_USER_REJECTION = 0,
  CANCEL_REASON_POSTPONED = 1,
  CANCEL_REASON_TIMEOUT = 2,
  CANCEL_REASON_PPR_NOT_ALLOWED = 3,
}

/** Enumerates the profile states. */
export enum ProfileState {
  PROFILE_STATE_UNSPECIFIED = -1,
  PROFILE_STATE_DISABLED = 0,
  PROFILE_STATE_ENABLED = 1,
}

/** Enumerates the profile classes. */
export enum ProfileClass {
  PROFILE_CLASS_UNSPECIFIED = -1,
  PROFILE_CLASS_TEST = 0,
  PROFILE_CLASS_PROVISIONING = 1,
  PROFILE_CLASS_OPERATIONAL = 2,
}

/** Enumerates the profile policy rules (bit flags). */
export enum PolicyRules {
  POLICY_RULE_DISABLE_NOT_ALLOWED = 1,
  POLICY_RULE_DELETE_NOT_ALLOWED = 1 << 1,
  POLICY_RULE_DISABLE_AND_DELETE = 1 << 2,
}

/** Enumerates the solvable errors (bit flags). */
export enum SolvableErrors {
  SOLVABLE_ERROR_NEED_CONFIRMATION_CODE = 1 << 0,
  SOLVABLE_ERROR_NEED_POLICY_RULE = 1 << 1,
}

/** The permissions the API checks (OpenHarmony names). */
export const Permission = {
  GET: 'ohos.permission.GET_TELEPHONY_ESIM_STATE',
  SET: 'ohos.permission.SET_TELEPHONY_ESIM_STATE',
  /** addProfile (public API). */
  SET_OPEN: 'ohos.permission.SET_TELEPHONY_ESIM_STATE_OPEN',
} as const;
export type PermissionName = (typeof Permission)[keyof typeof Permission];
