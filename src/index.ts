/**
 * esimkit. The OpenHarmony eSIM API (`eSIM`, `createESim`, `BusinessError`) arrives with the API issue;
 * the foundation is available now as namespaces.
 */
export * as asn1 from './asn1/index.js';
export * as crypto from './crypto/index.js';
export * from './util/hex.js';
export * from './util/bcd.js';
export * from './util/eid.js';
