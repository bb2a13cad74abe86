/**
 * Es9pClient against a local HTTPS server that replays the osmo-smdpp responses of the reference trace
 * (SGP22-NOTES §5.1 encodings) and records the requests.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createCi, createDpTls } from '../crypto/pki.js';
import { fromBase64, fromHex, toHex } from '../util/hex.js';
import { decodeIccid } from '../util/bcd.js';
import { RspHttpClient, RspHttpError, type JsonObject } from './http.js';
import { Es9pClient, Es9pResponseError, transactionIdHex } from './es9p.js';
import { describeWithReference, readRefText } from '../../test/support/reference.js';

interface Seen {
  path: string;
  body: JsonObject;
}

let server: Server;
let http: RspHttpClient;
let es9p: Es9pClient;
const seen: Seen[] = [];
/** path → response (JSON object, or a number = status with empty body). */
const replies = new Map<string, JsonObject | number>();

function traceResponses(): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  const names = ['initiateAuthentication', 'authenticateClient', 'getBoundProfilePackage'];
  let i = 0;
  for (const line of readRefText('traces', 'es9p-download-osmo-smdpp.log').split('\n')) {
    const m = /HTTP RSP: b'(.*)'$/.exec(line);
    if (m && i < names.length) out[names[i++]!] = JSON.parse(m[1]!) as JsonObject;
  }
  return out;
}

const OK = { header: { functionExecutionStatus: { status: 'Executed-Success' } } };

beforeAll(async () => {
  const ci = createCi();
  const tls = createDpTls(ci, 'localhost');
  server = createServer({ cert: tls.certPem, key: tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      seen.push({ path, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject });
      const r = replies.get(path.replace('/gsma/rsp2/es9plus/', ''));
      if (typeof r === 'number' || r === undefined) {
        res.writeHead(r ?? 404);
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
        res.end(JSON.stringify(r));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  http = new RspHttpClient({ trustedCis: [ci.certDer], resolve: () => '127.0.0.1', timeouts: { connectMs: 2000, requestMs: 5000 } });
  es9p = new Es9pClient(http, `localhost:${(server.address() as AddressInfo).port}`);
});

afterAll(async () => {
  await http.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describeWithReference('Es9pClient with the osmo-smdpp trace responses', () => {
  let trace: Record<string, JsonObject>;
  beforeAll(() => {
    trace = traceResponses();
    for (const [k, v] of Object.entries(trace)) replies.set(k, v);
  });

  it('initiateAuthentication: request encodings; serverSigned1/5F37/PKID decoded', async () => {
    const challenge = fromHex('c72a54e6004004fa99009ed039a42ee6');
    const info1 = fromBase64('vyA1ggMCBACpFgQU9UFyvfmKldZcvriKOKHBHYAKhcOqFgQU9UFyvfmKldZcvriKOKHBHYAKhcM=');
    const r = await es9p.initiateAuthentication({ euiccChallenge: challenge, euiccInfo1: info1, smdpAddress: 'testsmdpplus1.example.com' });
    const req = seen.at(-1)!;
    expect(req.path).toBe('/gsma/rsp2/es9plus/initiateAuthentication');
    expect(req.body).toEqual({ euiccChallenge: 'xypU5gBABPqZAJ7QOaQu5g==', euiccInfo1: 'vyA1ggMCBACpFgQU9UFyvfmKldZcvriKOKHBHYAKhcOqFgQU9UFyvfmKldZcvriKOKHBHYAKhcM=', smdpAddress: 'testsmdpplus1.example.com' });
    expect(toHex(r.transactionId)).toBe('b0de55fbc632475d8a88829ae763a183');
    expect(r.serverSigned1.transactionId).toEqual(r.transactionId);
    expect(r.serverSigned1.euiccChallenge).toEqual(challenge);
    expect(r.serverSigned1.serverAddress).toBe('testsmdpplus1.example.com');
    expect(r.serverSigned1.raw[0]).toBe(0x30);
    expect(r.serverSignature1.length).toBe(64);
    expect(toHex(r.euiccCiPKIdToBeUsed)).toBe('f54172bdf98a95d65cbeb88a38a1c11d800a85c3');
    expect(r.serverCertificate[0]).toBe(0x30);
  });

  it('authenticateClient: tId as upper-case hex, BF38 as base64; metadata and smdpSigned2 decoded', async () => {
    const tId = fromHex('B0DE55FBC632475D8A88829AE763A183');
    const asr = fromHex('bf3803a10100'); // any bytes: forwarded as is
    const r = await es9p.authenticateClient({ transactionId: tId, authenticateServerResponse: asr });
    expect(seen.at(-1)!.body).toEqual({ transactionId: 'B0DE55FBC632475D8A88829AE763A183', authenticateServerResponse: 'vzgDoQEA' });
    expect(r.transactionId).toEqual(tId);
    expect(decodeIccid(r.profileMetadata.iccid)).toBe('8949449999999990049');
    expect(r.profileMetadata.serviceProviderName).toBe('OsmocomSPN');
    expect(r.profileMetadataRaw.subarray(0, 2)).toEqual(Uint8Array.of(0xbf, 0x25));
    expect(r.smdpSigned2.transactionId).toEqual(tId);
    expect(r.smdpSigned2.ccRequiredFlag).toBe(false);
    expect(r.smdpSignature2.length).toBe(64);
  });

  it('getBoundProfilePackage: returns the BF36', async () => {
    const r = await es9p.getBoundProfilePackage({ transactionId: fromHex('B0DE55FBC632475D8A88829AE763A183'), prepareDownloadResponse: fromHex('bf2100') });
    expect(seen.at(-1)!.body).toEqual({ transactionId: 'B0DE55FBC632475D8A88829AE763A183', prepareDownloadResponse: 'vyEA' });
    expect(r.boundProfilePackage.subarray(0, 2)).toEqual(Uint8Array.of(0xbf, 0x36));
    expect(r.boundProfilePackage.length).toBeGreaterThan(10_000);
  });

  it('a missing / mistagged / undecodable output field is an Es9pResponseError naming function and field', async () => {
    const ia = trace['initiateAuthentication']!;
    const cases: [JsonObject, string][] = [
      [{ ...ia, serverSigned1: undefined as unknown as string }, 'serverSigned1'],
      [{ ...ia, serverSignature1: 'MAA=' }, 'serverSignature1'],
      [{ ...ia, transactionId: 'XYZ' }, 'transactionId'],
      [{ ...ia, euiccCiPKIdToBeUsed: 'not base64!' }, 'euiccCiPKIdToBeUsed'],
      [{ ...ia, serverSigned1: 'MAA=' }, 'serverSigned1'],
    ];
    for (const [body, field] of cases) {
      replies.set('initiateAuthentication', JSON.parse(JSON.stringify(body)) as JsonObject);
      const e = await es9p.initiateAuthentication({ euiccChallenge: new Uint8Array(16), euiccInfo1: fromHex('bf2000'), smdpAddress: 'x' }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(Es9pResponseError);
      expect(e).toMatchObject({ fn: 'initiateAuthentication', field });
    }
    replies.set('initiateAuthentication', ia);
  });
});

it('handleNotification (204) and cancelSession (header only); a Failed status is RspHttpError function-failed', async () => {
  replies.set('handleNotification', 204);
  replies.set('cancelSession', OK);
  await es9p.handleNotification(fromHex('bf3700'));
  expect(seen.at(-1)!).toEqual({ path: '/gsma/rsp2/es9plus/handleNotification', body: { pendingNotification: 'vzcA' } });
  await es9p.cancelSession({ transactionId: fromHex('01ab'), cancelSessionResponse: fromHex('bf4100') });
  expect(seen.at(-1)!.body).toEqual({ transactionId: '01AB', cancelSessionResponse: 'v0EA' });
  replies.set('cancelSession', { header: { functionExecutionStatus: { status: 'Failed', statusCodeData: { subjectCode: '8.10.1', reasonCode: '3.9', message: 'unknown' } } } });
  const e = await es9p.cancelSession({ transactionId: fromHex('01'), cancelSessionResponse: fromHex('bf4100') }).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(RspHttpError);
  expect(e).toMatchObject({ kind: 'function-failed', subjectCode: '8.10.1', reasonCode: '3.9' });
  // a function with output answered 204
  replies.set('getBoundProfilePackage', 204);
  const e2 = await es9p.getBoundProfilePackage({ transactionId: fromHex('01'), prepareDownloadResponse: fromHex('bf2100') }).catch((x: unknown) => x);
  expect(e2).toMatchObject({ name: 'Es9pResponseError', fn: 'getBoundProfilePackage' });
  expect(transactionIdHex(fromHex('0a0b'))).toBe('0A0B');
});
