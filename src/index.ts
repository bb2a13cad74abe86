export * as asn1 from './asn1/index.js';
