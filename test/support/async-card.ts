/**
 * Test helper: the APDU-only ES10 driver and the SM-DP+ side of a profile download (as card-driver.ts and
 * download.ts), over any asynchronous APDU transport — a card in another process (card-child.ts), a PC/SC
 * reader, or an in-process {@link SoftEuicc} through {@link inProcessTransport}.
 *
 * - `es10Async(t, request, channel?)`: SELECTs ISD-R on the channel the first time the transport is used
 *   (MANAGE CHANNEL open for channel ≠ 0), sends the request as STORE DATA blocks (255 bytes, case 3) and
 *   follows 61xx with GET RESPONSE. Returns the response data; throws {@link CardSwError} on a final status
 *   word other than 9000.
 * - `downloadAsync(t, options)`: the whole download of download.ts (challenge, EUICCInfo1,
 *   AuthenticateServer, PrepareDownload, BPP, LoadBoundProfilePackage segment by segment).
 */
import { claFor, encodeCommandApdu, INS, parseResponse, storeDataBlocks, swHex, type ResponseApdu } from '../../src/apdu/apdu.js';
import { encodeGetEuiccChallengeRequest, encodeGetEuiccInfo1Request, decodeGetEuiccChallengeResponse, decodeEUICCInfo1 } from '../../src/asn1/sgp22/euicc-info.js';
import { segmentBpp } from '../../src/asn1/sgp22/bpp.js';
import { decodeProfileInstallationResult } from '../../src/asn1/sgp22/notifications.js';
import { ciPkid } from '../../src/crypto/certs.js';
import type { SoftEuicc } from '../../src/euicc/card.js';
import { buildBoundProfilePackageDetailed } from '../../src/smdp/bpp-builder.js';
import {
  buildAuthenticateServerRequest,
  buildPrepareDownloadRequest,
  computeHashCc,
  makeServerSigned1,
  makeSmdpSigned2,
  verifyAuthenticateServerResponse,
  verifyPrepareDownloadResponse,
} from '../../src/smdp/signing.js';
import { decodeIccid } from '../../src/util/bcd.js';
import { bytesEqual, concatBytes, fromHex } from '../../src/util/hex.js';
import { CardSwError, ISDR_AID_HEX } from './card-driver.js';
import { TEST_SMDP_ADDRESS, type DownloadOptions, type DownloadResult, type PrepareOptions, type PreparedSession } from './download.js';

/** Sends one command APDU, resolves with the complete response APDU (data + SW1 SW2). */
/** Sends one command APDU and resolves with the response APDU (not the LPA transport interface of src/apdu/transport.ts). */
export type ApduSender = (apdu: Uint8Array) => Promise<Uint8Array>;

/** A transport to a card in this process (port 0). */
export function inProcessTransport(card: SoftEuicc, port = 0): ApduSender {
  return (apdu) => Promise.resolve(card.transmit(apdu, port));
}

/** Wraps a transport, counting the APDUs sent through it. */
export function countingTransport(t: ApduSender): { transport: ApduSender; count: () => number } {
  let n = 0;
  return {
    transport: (apdu) => {
      n++;
      return t(apdu);
    },
    count: () => n,
  };
}

/** Transports on which ISD-R was selected, by channel. */
const selected = new WeakMap<ApduSender, Set<number>>();

export async function rawApduAsync(t: ApduSender, apdu: Uint8Array): Promise<ResponseApdu> {
  return parseResponse(await t(apdu));
}

/** One APDU, then GET RESPONSE while the card answers 61xx. */
export async function transceiveAsync(t: ApduSender, apdu: Uint8Array, channel: number): Promise<ResponseApdu> {
  let r = await rawApduAsync(t, apdu);
  const parts: Uint8Array[] = [r.data];
  let guard = 0;
  while (r.sw >> 8 === 0x61) {
    if (++guard > 100000) throw new Error('GET RESPONSE loop');
    r = await rawApduAsync(t, encodeCommandApdu({ cla: claFor(channel, false), ins: INS.GET_RESPONSE, p1: 0, p2: 0, le: r.sw & 0xff || 256 }));
    parts.push(r.data);
  }
  return { data: concatBytes(...parts), sw: r.sw };
}

/** Open the channel (unless 0) and SELECT ISD-R on it, once per transport and channel. */
export async function openIsdrAsync(t: ApduSender, channel = 1): Promise<void> {
  let s = selected.get(t);
  if (!s) selected.set(t, (s = new Set()));
  if (s.has(channel)) return;
  if (channel !== 0) {
    const open = await rawApduAsync(t, encodeCommandApdu({ cla: 0, ins: INS.MANAGE_CHANNEL, p1: 0, p2: channel }));
    if (open.sw !== 0x9000 && open.sw !== 0x6a81) throw new CardSwError(open.sw, open.data, `MANAGE CHANNEL open ${channel}: ${swHex(open.sw)}`);
  }
  const sel = await transceiveAsync(t, encodeCommandApdu({ cla: claFor(channel, false), ins: INS.SELECT, p1: 4, p2: 0, data: fromHex(ISDR_AID_HEX) }), channel);
  if (sel.sw !== 0x9000) throw new CardSwError(sel.sw, sel.data, `SELECT ISD-R: ${swHex(sel.sw)}`);
  s.add(channel);
}

/** An ES10 request as STORE DATA blocks; the response data (empty for 9000 without data). */
export async function es10Async(t: ApduSender, request: Uint8Array, channel = 1): Promise<Uint8Array> {
  await openIsdrAsync(t, channel);
  const blocks = storeDataBlocks(channel, request, 255);
  for (let i = 0; i < blocks.length - 1; i++) {
    const r = await rawApduAsync(t, blocks[i]!);
    if (r.sw !== 0x9000) throw new CardSwError(r.sw, r.data, `STORE DATA block ${i}: ${swHex(r.sw)}`);
  }
  const r = await transceiveAsync(t, blocks[blocks.length - 1]!, channel);
  if (r.sw !== 0x9000) throw new CardSwError(r.sw, r.data, `ES10 request answered ${swHex(r.sw)}`);
  return r.data;
}

/** download.ts `authenticateAndPrepare` over a transport. */
export async function authenticateAndPrepareAsync(t: ApduSender, o: PrepareOptions): Promise<PreparedSession> {
  const serverAddress = o.serverAddress ?? TEST_SMDP_ADDRESS;
  const { euiccChallenge } = decodeGetEuiccChallengeResponse(await es10Async(t, encodeGetEuiccChallengeRequest()));
  const info1 = decodeEUICCInfo1(await es10Async(t, encodeGetEuiccInfo1Request()));
  const pkid = ciPkid(o.ci.certDer);
  if (!info1.euiccCiPKIdListForSigning.some((p) => bytesEqual(p, pkid))) throw new Error('the card does not sign with this CI');
  const signed1 = makeServerSigned1({ euiccChallenge, serverAddress }, { privateKey: o.dpAuth.privateKey, cert: o.dpAuth.certDer });
  const authReq = buildAuthenticateServerRequest(signed1, {
    euiccCiPKIdToBeUsed: pkid,
    serverCertificate: o.dpAuth.certDer,
    ctxParams1: {
      kind: 'ctxParamsForCommonAuthentication',
      ...(o.matchingId !== undefined && { matchingId: o.matchingId }),
      deviceInfo: { tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11), deviceCapabilities: {} },
    },
  });
  const auth = verifyAuthenticateServerResponse(await es10Async(t, authReq), {
    trustedCis: [o.ci.certDer],
    transactionId: signed1.transactionId,
    serverChallenge: signed1.serverChallenge,
    serverAddress,
    checkDates: false,
  });
  const tId = signed1.transactionId;
  const signed2 = makeSmdpSigned2({ transactionId: tId, ccRequiredFlag: o.cc !== undefined }, auth.euiccSignature1, {
    privateKey: o.dpPb.privateKey,
    cert: o.dpPb.certDer,
  });
  const hashCc = o.cc !== undefined ? computeHashCc(o.cc, tId) : undefined;
  const pdReq = buildPrepareDownloadRequest(signed2, { smdpCertificate: o.dpPb.certDer, ...(hashCc && { hashCc }) });
  const pd = verifyPrepareDownloadResponse(await es10Async(t, pdReq), {
    transactionId: tId,
    smdpSignature2: signed2.smdpSignature2,
    euiccCertificate: auth.euiccCertificate,
    ...(hashCc && { expectedHashCc: hashCc }),
  });
  return { transactionId: tId, euiccOtpk: pd.euiccOtpk, eid: auth.eid, serverAddress };
}

/** download.ts `loadBpp` over a transport: segments until the first response with data (the BF37). */
export async function loadBppAsync(t: ApduSender, bpp: Uint8Array, segments?: readonly Uint8Array[]): Promise<{ pir: Uint8Array; sent: number }> {
  const segs = segments ?? segmentBpp(bpp);
  for (let i = 0; i < segs.length; i++) {
    const r = await es10Async(t, segs[i]!);
    if (r.length > 0) return { pir: r, sent: i + 1 };
  }
  throw new Error('the card answered no ProfileInstallationResult');
}

/** download.ts `downloadToCard` over a transport. */
export async function downloadAsync(t: ApduSender, o: DownloadOptions): Promise<DownloadResult> {
  const s = await authenticateAndPrepareAsync(t, o);
  const built = buildBoundProfilePackageDetailed({
    transactionId: s.transactionId,
    euiccOtpk: s.euiccOtpk,
    dpPb: { privateKey: o.dpPb.privateKey, cert: o.dpPb.certDer },
    eid: s.eid,
    upp: o.upp,
    metadata: o.metadata,
    ...(o.replaceSessionKeys !== undefined && { replaceSessionKeys: o.replaceSessionKeys }),
    ...(o.hostId !== undefined && { hostId: o.hostId }),
  });
  const { pir } = await loadBppAsync(t, built.bpp);
  return { pir: decodeProfileInstallationResult(pir), pirBytes: pir, iccid: decodeIccid(o.metadata.iccid), transactionId: s.transactionId, built };
}
