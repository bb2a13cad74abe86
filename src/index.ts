/**
 * esimkit: OpenHarmony's eSIM API (`eSIM`, `createESim`, `BusinessError`), and the foundation as namespaces.
 */
export {
  eSIM,
  createESim,
  closeDefaultESim,
  BusinessError,
  ErrorCode,
  SHELL_CALLER,
  ESIM_FUNCTIONS,
  type ESim,
  type ESimFunctionName,
  type CreateESimOptions,
  type AsyncCallback,
  type Callback,
  type Caller,
  type EsimBackend,
} from './api/index.js';
export * as asn1 from './asn1/index.js';
export * as crypto from './crypto/index.js';
export * from './util/hex.js';
export * from './util/bcd.js';
export * from './util/eid.js';
