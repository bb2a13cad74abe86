/**
 * Profile discovery (SGP22-NOTES §6.2): which downloads are waiting for this eUICC.
 *
 * 1. Default SM-DP+ (`BF3C/80`, GetEuiccConfiguredAddresses): one entry without an eventId, meaning "run an
 *    ES9+ download at that SM-DP+ with the matchingId absent/empty; it looks the order up by EID".
 * 2. Root SM-DS (`BF3C/81`, or `rootDsAddress` given): ES11 event retrieval — GetEUICCChallenge +
 *    GetEUICCInfo1 → initiateAuthentication → AuthenticateServer (ctxParams1 without matchingId) →
 *    authenticateClient → one entry per event `{eventId, rspServerAddress}`; the download then runs at
 *    `rspServerAddress` with `matchingId = eventId`.
 * An ES11 session that fails is simply abandoned (the next GetEUICCChallenge starts afresh).
 *
 * Not done: cascaded SM-DSs (an event whose rspServerAddress is another SM-DS, forwardingIndicator); the
 * card's AuthenticateServer error is reported to the caller, not forwarded to the SM-DS.
 *
 * Failures: {@link RspHttpError} (network, TLS, functionExecutionStatus), {@link Es11Error} (SM-DS answer
 * malformed or failing the LPA checks), {@link Es10ResultError} ('AuthenticateServer' error code from the
 * card), and the ES10 / transport errors of the card.
 */
import { ApduChannel, type ApduChannelOptions, type StoreDataChannel } from '../apdu/channel.js';
import type { ApduTransport } from '../apdu/transport.js';
import { AuthenticateErrorCodeValue } from '../asn1/sgp22/authentication.js';
import type { EventEntries } from '../asn1/sgp22/es11.js';
import { decodeEUICCInfo1, encodeGetEuiccInfo1Request, type DeviceInfo } from '../asn1/sgp22/euicc-info.js';
import { Es10ResultError } from './errors.js';
import { decodeAs, nameOf } from './es10-util.js';
import { getEuiccConfiguredAddresses } from './es10a.js';
import { authenticateServer, getEuiccChallenge } from './es10b.js';
import { Es11Client, type Es11ClientOptions } from './es11.js';
import { RspHttpClient, type RspHttpClientOptions } from './http.js';

export interface DiscoveredProfile {
  /** Where to download: the SM-DP+ address (host[:port]). */
  readonly rspServerAddress: string;
  /** The SM-DS event id = the matchingId for the download; absent for the default SM-DP+ (empty matchingId). */
  readonly eventId?: string;
  readonly source: 'default-smdp' | 'smds';
}

/** A device info for ctxParams1 when the caller gives none (a generic TAC, no capabilities declared). */
export const DEFAULT_DEVICE_INFO: DeviceInfo = { tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11), deviceCapabilities: {} };

export interface DiscoveryOptions {
  readonly transport: ApduTransport;
  /** CI certificates (DER) the SM-DS TLS certificate must chain to (used when `http` is not given). */
  readonly trustedCis: readonly Uint8Array[];
  /** The SM-DS to ask; default the card's root SM-DS address. */
  readonly rootDsAddress?: string;
  /** Include the default SM-DP+ entry (default true). */
  readonly useDefaultSmdp?: boolean;
  /** Ask the SM-DS (default true). */
  readonly useSmds?: boolean;
  /** An HTTP client to use (not closed here); otherwise one is made from trustedCis + httpOptions and closed. */
  readonly http?: RspHttpClient;
  readonly httpOptions?: Omit<RspHttpClientOptions, 'trustedCis'>;
  readonly es11?: Es11ClientOptions;
  readonly deviceInfo?: DeviceInfo;
  readonly channel?: ApduChannelOptions;
  readonly signal?: AbortSignal;
}

/**
 * ES11 event retrieval on an open ISD-R channel: the events the SM-DS holds for this card's EID.
 */
export async function retrieveSmdsEvents(
  ch: StoreDataChannel,
  es11: Es11Client,
  o: { deviceInfo?: DeviceInfo; signal?: AbortSignal } = {},
): Promise<EventEntries[]> {
  const signal = o.signal ? { signal: o.signal } : {};
  const euiccChallenge = await getEuiccChallenge(ch);
  const euiccInfo1 = await ch.storeData(encodeGetEuiccInfo1Request());
  decodeAs('GetEUICCInfo1', euiccInfo1, decodeEUICCInfo1);
  const ia = await es11.initiateAuthentication({ euiccChallenge, euiccInfo1 }, signal);
  const auth = await authenticateServer(ch, {
    serverSigned1: ia.serverSigned1,
    serverSignature1: ia.serverSignature1,
    euiccCiPKIdToBeUsed: ia.euiccCiPKIdToBeUsed,
    serverCertificate: ia.serverCertificate,
    ctxParams1: { kind: 'ctxParamsForCommonAuthentication', deviceInfo: o.deviceInfo ?? DEFAULT_DEVICE_INFO },
  });
  if (auth.response.kind === 'authenticateResponseError') {
    const code = auth.response.authenticateErrorCode;
    throw new Es10ResultError('AuthenticateServer', nameOf(AuthenticateErrorCodeValue, code), code);
  }
  return es11.authenticateClient({ transactionId: ia.transactionId, authenticateServerResponse: auth.raw }, signal);
}

/** Default SM-DP+ and root SM-DS → the downloads waiting for this card (default SM-DP+ first). */
export async function discoverProfiles(o: DiscoveryOptions): Promise<DiscoveredProfile[]> {
  const useDp = o.useDefaultSmdp ?? true;
  const useDs = o.useSmds ?? true;
  const ownHttp = useDs && !o.http ? new RspHttpClient({ ...o.httpOptions, trustedCis: o.trustedCis }) : undefined;
  const http = o.http ?? ownHttp;
  try {
    return await ApduChannel.with(o.transport, o.channel ?? {}, async (ch) => {
      const out: DiscoveredProfile[] = [];
      const addresses = await getEuiccConfiguredAddresses(ch);
      if (useDp && addresses.defaultDpAddress) out.push({ rspServerAddress: addresses.defaultDpAddress, source: 'default-smdp' });
      if (useDs && http) {
        const ds = o.rootDsAddress ?? addresses.rootDsAddress;
        const es11 = new Es11Client(http, ds, o.es11);
        const events = await retrieveSmdsEvents(ch, es11, {
          ...(o.deviceInfo && { deviceInfo: o.deviceInfo }),
          ...(o.signal && { signal: o.signal }),
        });
        for (const e of events) out.push({ rspServerAddress: e.rspServerAddress, eventId: e.eventId, source: 'smds' });
      }
      return out;
    });
  } finally {
    await ownHttp?.close();
  }
}
