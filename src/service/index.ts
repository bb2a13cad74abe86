/** The system service: EsimService, its protocol with the API, value checks, card queues, ResultCode mapping. */
export { EsimService, authorize, type EsimServiceOptions, type InvokeOptions, type PendingAddJson } from './service.js';
export * from './protocol.js';
export * from './validate.js';
export { CardQueue, QueueAbort, type AbortCause, type EnqueueOptions } from './queue.js';
export {
  enableResultCode,
  disableResultCode,
  deleteResultCode,
  resetResultCode,
  setNicknameResultCode,
  setDefaultDpResultCode,
  cancelSessionResultCode,
  removeNotificationResultCode,
  solvableErrorsOf,
  toEuiccProfile,
  policyRulesMask,
  type NotificationJson,
  type EuiccInfo2Json,
} from './results.js';
