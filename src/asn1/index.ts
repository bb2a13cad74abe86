export * from './tlv.js';
export * from './der.js';
export * from './activation-code.js';
export * from './saip.js';
export * as sgp22 from './sgp22/index.js';
