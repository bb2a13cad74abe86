/**
 * The eSIM API: `eSIM` (the `@ohos.telephony.esim` namespace), `createESim`, `BusinessError`.
 */
export { eSIM, createESim, closeDefaultESim, ESIM_FUNCTIONS, type ESim, type ESimFunctionName, type CreateESimOptions } from './esim.js';
export { BusinessError, ErrorCode, type AsyncCallback, type Callback } from './errors.js';
export { SHELL_CALLER, type Caller, type EsimBackend } from '../service/protocol.js';
export * as types from './types.js';
