/** Typed SGP.22 messages (RSPDefinitions v2.5), one module per message family. */
export * from './euicc-info.js';
export * from './authentication.js';
export * from './bpp.js';
export * from './cancel-session.js';
export * from './metadata.js';
export * from './profiles.js';
export * from './addresses.js';
export * from './rat.js';
export * from './notifications.js';
export * from './es11.js';
export { signatureTlv } from './codec-util.js';
