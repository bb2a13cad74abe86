/** The reference SM-DP+: identity, inventory, ES9+ logic and the HTTPS server. */
export * from './identity.js';
export * from './inventory.js';
export * from './es9p.js';
export * from './server.js';
export { SmdpError, computeHashCc } from './signing.js';
export { buildBoundProfilePackage, buildBoundProfilePackageDetailed } from './bpp-builder.js';
export * from './es2p.js';
export * from './smds-registrar.js';
