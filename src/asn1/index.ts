export * from './tlv.js';
export * from './der.js';
export * as sgp22 from './sgp22/index.js';
