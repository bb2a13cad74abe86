/**
 * A corpus of valid SGP.22 encodings built with our own encoders, one or more per message family.
 * Used as seeds for mutation fuzzing (src/asn1/fuzz-targets.ts, `npm run fuzz`) and by the benchmarks;
 * it never depends on the shared reference material.
 */
import { encodeEuiccConfiguredAddressesResponse, encodeSetDefaultDpAddressRequest } from './addresses.js';
import {
  encodeAuthenticateServerRequest,
  encodeAuthenticateServerResponse,
  encodePrepareDownloadRequest,
  encodePrepareDownloadResponse,
  encodeServerSigned1,
} from './authentication.js';
import { encodeConfigureISDPRequest, encodeInitialiseSecureChannelRequest, encodeReplaceSessionKeysRequest } from './bpp.js';
import { encodeCancelSessionRequest, encodeCancelSessionResponse } from './cancel-session.js';
import { encodeAuthenticateClientResponseEs11 } from './es11.js';
import { encodeEUICCInfo1, encodeEUICCInfo2, encodeGetEuiccChallengeResponse } from './euicc-info.js';
import { encodeStoreMetadataRequest } from './metadata.js';
import {
  encodeListNotificationResponse,
  encodeNotificationSentRequest,
  encodePendingNotification,
  encodeRetrieveNotificationsListResponse,
  type NotificationMetadata,
} from './notifications.js';
import {
  encodeDeleteProfileRequest,
  encodeEnableProfileRequest,
  encodeEuiccMemoryResetRequest,
  encodeGetEuiccDataResponse,
  encodeProfileInfoListRequest,
  encodeProfileInfoListResponse,
  encodeSetNicknameRequest,
} from './profiles.js';
import { encodeGetRatResponse } from './rat.js';

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
const ICCID = Uint8Array.of(0x98, 0x94, 0x44, 0x99, 0x99, 0x99, 0x99, 0x09, 0x40, 0xf9);
const TID = bytes(16, 0xb0);
const PKID = bytes(20, 0xf5);
/** A structurally valid stand-in for a certificate (a SEQUENCE). */
const CERT = Uint8Array.of(0x30, 0x06, 0x30, 0x00, 0x30, 0x00, 0x03, 0x00);
const SIG = bytes(64, 0x5a);
const OTPK = Uint8Array.of(0x04, ...bytes(64, 0x11));

const notification: NotificationMetadata = {
  seqNumber: 7,
  profileManagementOperation: [0],
  notificationAddress: 'smdp.example.com',
  iccid: ICCID,
};

let cache: Uint8Array[] | undefined;

export function sgp22Samples(): Uint8Array[] {
  cache ??= [
    encodeEUICCInfo1({ svn: '2.2.2', euiccCiPKIdListForVerification: [PKID], euiccCiPKIdListForSigning: [PKID] }),
    encodeEUICCInfo2({
      profileVersion: '2.3.1',
      svn: '2.2.2',
      euiccFirmwareVer: '1.0.0',
      extCardResource: Uint8Array.of(0x81, 0x01, 0x00, 0x82, 0x03, 0x01, 0x00, 0x00),
      uiccCapability: [1, 2, 4],
      rspCapability: [0, 1, 3],
      euiccCiPKIdListForVerification: [PKID],
      euiccCiPKIdListForSigning: [PKID],
      ppVersion: '1.0.0',
      sasAcreditationNumber: 'ESIMKIT-TEST-1',
    }),
    encodeGetEuiccChallengeResponse({ euiccChallenge: bytes(16, 0xc7) }),
    encodeServerSigned1({ transactionId: TID, euiccChallenge: bytes(16, 1), serverAddress: 'smdp.example.com', serverChallenge: bytes(16, 2) }),
    encodeAuthenticateServerRequest({
      serverSigned1: { transactionId: TID, euiccChallenge: bytes(16, 1), serverAddress: 'smdp.example.com', serverChallenge: bytes(16, 2) },
      serverSignature1: SIG,
      euiccCiPKIdToBeUsed: PKID,
      serverCertificate: CERT,
      ctxParams1: {
        kind: 'ctxParamsForCommonAuthentication',
        matchingId: 'MATCHING-ID-1',
        deviceInfo: { tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11), deviceCapabilities: { gsmSupportedRelease: '11.0.0' } },
      },
    }),
    encodeAuthenticateServerResponse({ kind: 'authenticateResponseError', transactionId: TID, authenticateErrorCode: 6 }),
    encodePrepareDownloadRequest({
      smdpSigned2: { transactionId: TID, ccRequiredFlag: true },
      smdpSignature2: SIG,
      hashCc: bytes(32, 0x33),
      smdpCertificate: CERT,
    }),
    encodePrepareDownloadResponse({
      kind: 'downloadResponseOk',
      euiccSigned2: { transactionId: TID, euiccOtpk: OTPK, hashCc: bytes(32, 0x33) },
      euiccSignature2: SIG,
    }),
    encodeInitialiseSecureChannelRequest({
      remoteOpId: 1,
      transactionId: TID,
      controlRefTemplate: { keyType: Uint8Array.of(0x88), keyLen: Uint8Array.of(0x10), hostId: bytes(8, 0x80) },
      smdpOtpk: OTPK,
      smdpSign: SIG,
    }),
    encodeConfigureISDPRequest({ dpProprietaryData: { dpOid: '2.999.10' } }),
    encodeReplaceSessionKeysRequest({ initialMacChainingValue: bytes(16, 0x22), ppkEnc: bytes(16, 0), ppkCmac: bytes(16, 0x11) }),
    encodeCancelSessionRequest({ transactionId: TID, reason: 0 }),
    encodeCancelSessionResponse({ kind: 'cancelSessionResponseError', cancelSessionResponseError: 5 }),
    encodeStoreMetadataRequest({
      iccid: ICCID,
      serviceProviderName: 'esimkit',
      profileName: 'Test profile',
      iconType: 1,
      icon: bytes(40, 0x89),
      profileClass: 2,
      notificationConfigurationInfo: [{ profileManagementOperation: [1, 2, 3], notificationAddress: 'smdp.example.com' }],
      profileOwner: { mccMnc: Uint8Array.of(0x00, 0xf1, 0x10) },
      profilePolicyRules: [1],
    }),
    encodeProfileInfoListRequest({ searchCriteria: { kind: 'iccid', iccid: ICCID }, tagList: Uint8Array.of(0x5a, 0x9f, 0x70, 0x90) }),
    encodeProfileInfoListResponse({
      kind: 'profileInfoListOk',
      profileInfoListOk: [
        { iccid: ICCID, isdpAid: bytes(16, 0xa0), profileState: 1, profileNickname: 'work', serviceProviderName: 'esimkit', profileClass: 2 },
        { iccid: ICCID, profileState: 0, profilePolicyRules: [2] },
      ],
    }),
    encodeEnableProfileRequest({ profileIdentifier: { kind: 'iccid', iccid: ICCID }, refreshFlag: true }),
    encodeDeleteProfileRequest({ kind: 'iccid', iccid: ICCID }),
    encodeEuiccMemoryResetRequest({ resetOptions: [0, 1, 2] }),
    encodeGetEuiccDataResponse({ eidValue: bytes(16, 0x89) }),
    encodeSetNicknameRequest({ iccid: ICCID, profileNickname: 'Travel ✈' }),
    encodeEuiccConfiguredAddressesResponse({ defaultDpAddress: 'smdp.example.com', rootDsAddress: 'lpa.ds.example.com' }),
    encodeSetDefaultDpAddressRequest({ defaultDpAddress: 'smdp.example.com' }),
    encodeGetRatResponse({
      rat: [{ pprIds: [1, 2], allowedOperators: [{ mccMnc: Uint8Array.of(0x00, 0xf1, 0x10) }], pprFlags: [0] }],
    }),
    encodeListNotificationResponse({ kind: 'notificationMetadataList', notificationMetadataList: [notification] }),
    encodeRetrieveNotificationsListResponse({
      kind: 'notificationList',
      notificationList: [
        {
          kind: 'otherSignedNotification',
          otherSignedNotification: { tbsOtherNotification: notification, euiccNotificationSignature: SIG, euiccCertificate: CERT, eumCertificate: CERT },
        },
      ],
    }),
    encodePendingNotification({
      kind: 'profileInstallationResult',
      profileInstallationResult: {
        profileInstallationResultData: {
          transactionId: TID,
          notificationMetadata: notification,
          smdpOid: '2.999.10',
          finalResult: { kind: 'errorResult', errorResult: { bppCommandId: 5, errorReason: 10 } },
        },
        euiccSignPIR: SIG,
      },
    }),
    encodeNotificationSentRequest({ seqNumber: 7 }),
    encodeAuthenticateClientResponseEs11({
      kind: 'authenticateClientOk',
      authenticateClientOk: { transactionId: TID, eventEntries: [{ eventId: 'EVT-1', rspServerAddress: 'smdp.example.com' }] },
    }),
  ];
  return cache;
}
