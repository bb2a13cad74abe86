export * from './tlv.js';
export * from './der.js';
