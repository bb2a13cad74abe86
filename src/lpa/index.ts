/** The LPA core: ES10a/b/c clients over an ApduChannel, typed errors. */
export { ApduChannel, EuiccSwError, ISDR_AID, type ApduChannelOptions, type StoreDataChannel } from '../apdu/channel.js';
export { TransportError, type ApduTransport, type TransportCapabilities, type TransportErrorCode } from '../apdu/transport.js';
export { EuiccResponseError, Es10ResultError } from './errors.js';
export { decodePlmn, encodePlmn, type Es10Outcome, type Plmn, type ProfileId } from './es10-util.js';
export * from './es10a.js';
export * from './es10b.js';
export * from './es10c.js';
