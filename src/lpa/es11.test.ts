/**
 * Es11Client against a scripted plain-HTTP stub on 127.0.0.1 (RspHttpClient's allowHttp test flag): request
 * shape, paths, the LPA checks of step 4 and malformed answers. The real SM-DS is exercised in
 * test/smds.test.ts.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeServerSigned1 } from '../asn1/sgp22/authentication.js';
import { encodeTlv } from '../asn1/tlv.js';
import { fromBase64, toBase64, toHex } from '../util/hex.js';
import { Es11Client, Es11Error } from './es11.js';
import { RspHttpClient, RspHttpError } from './http.js';

type Reply = (req: { path: string; body: Record<string, unknown> }) => unknown;

const tId = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const challenge = new Uint8Array(16).fill(9);
const serverChallenge = new Uint8Array(16).fill(3);
const fakeCert = encodeTlv(0x30, [encodeTlv(0x02, Uint8Array.of(1))]);
const ok = { header: { functionExecutionStatus: { status: 'Executed-Success' } } };

describe('Es11Client', () => {
  let server: Server;
  let address: string;
  let reply: Reply = () => ok;
  const seen: { path: string; body: Record<string, unknown> }[] = [];
  let http: RspHttpClient;

  function iaAnswer(o: { tId?: Uint8Array; signedTId?: Uint8Array; challenge?: Uint8Array; serverAddress?: string } = {}): Record<string, unknown> {
    const s1 = encodeServerSigned1({
      transactionId: o.signedTId ?? tId,
      euiccChallenge: o.challenge ?? challenge,
      serverAddress: o.serverAddress ?? address,
      serverChallenge,
    });
    return {
      ...ok,
      transactionId: toHex(o.tId ?? tId).toUpperCase(),
      serverSigned1: toBase64(s1),
      serverSignature1: toBase64(encodeTlv(0x5f37, new Uint8Array(64).fill(1))),
      euiccCiPKIdToBeUsed: toBase64(encodeTlv(0x04, new Uint8Array(20).fill(2))),
      serverCertificate: toBase64(fakeCert),
    };
  }

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        const r = { path: req.url ?? '', body };
        seen.push(r);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply(r)));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    http = new RspHttpClient({ trustedCis: [], allowHttp: true, timeouts: { connectMs: 2000, requestMs: 3000 } });
  });
  afterAll(async () => {
    await http.close();
    await new Promise((r) => server.close(r));
  });

  it('initiateAuthentication: es9plus path, smdpAddress, base64 fields; decodes the answer', async () => {
    reply = () => iaAnswer();
    const c = new Es11Client(http, address);
    const info1 = Uint8Array.of(0xbf, 0x20, 0x00);
    const r = await c.initiateAuthentication({ euiccChallenge: challenge, euiccInfo1: info1 });
    const last = seen.at(-1)!;
    expect(last.path).toBe('/gsma/rsp2/es9plus/initiateAuthentication');
    expect(last.body).toEqual({ euiccChallenge: toBase64(challenge), euiccInfo1: toBase64(info1), smdpAddress: address });
    expect(r.transactionId).toEqual(tId);
    expect(r.serverSigned1.serverChallenge).toEqual(serverChallenge);
    expect(r.serverSignature1).toEqual(new Uint8Array(64).fill(1));
    expect(r.euiccCiPKIdToBeUsed).toEqual(new Uint8Array(20).fill(2));
    expect(r.serverCertificate).toEqual(fakeCert);
  });

  it("pathStyle 'es11': /gsma/rsp2/es11/ and smdsAddress", async () => {
    reply = () => iaAnswer();
    await new Es11Client(http, address, { pathStyle: 'es11' }).initiateAuthentication({ euiccChallenge: challenge, euiccInfo1: Uint8Array.of(0xbf, 0x20, 0) });
    const last = seen.at(-1)!;
    expect(last.path).toBe('/gsma/rsp2/es11/initiateAuthentication');
    expect(last.body['smdsAddress']).toBe(address);
    expect(last.body['smdpAddress']).toBeUndefined();
  });

  it('step-4 checks: transactionId, euiccChallenge and serverAddress mismatches are typed Es11Errors', async () => {
    const c = new Es11Client(http, address);
    const req = { euiccChallenge: challenge, euiccInfo1: Uint8Array.of(0xbf, 0x20, 0) };
    const codeOf = async (answer: Record<string, unknown>): Promise<string> => {
      reply = () => answer;
      const e = await c.initiateAuthentication(req).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(Es11Error);
      return (e as Es11Error).code;
    };
    expect(await codeOf(iaAnswer({ signedTId: new Uint8Array(16).fill(0xee) }))).toBe('transaction-id');
    expect(await codeOf(iaAnswer({ challenge: new Uint8Array(16) }))).toBe('euicc-challenge');
    expect(await codeOf(iaAnswer({ serverAddress: 'evil.example.com' }))).toBe('server-address');
    expect(await codeOf({ ...iaAnswer(), serverSigned1: undefined })).toBe('malformed');
    expect(await codeOf({ ...iaAnswer(), serverSignature1: 'AAAA' })).toBe('malformed');
    expect(await codeOf({ ...iaAnswer(), transactionId: 'xyz' })).toBe('malformed');
    expect(await codeOf({ ...iaAnswer(), serverCertificate: '%%%' })).toBe('malformed');
  });

  it('authenticateClient: entries, an empty/absent list, a mismatched transactionId, malformed entries', async () => {
    const c = new Es11Client(http, address);
    const asr = Uint8Array.of(0xbf, 0x38, 0x00);
    const tIdHex = toHex(tId).toUpperCase();
    reply = () => ({ ...ok, transactionId: tIdHex, eventEntries: [{ eventId: 'E1', rspServerAddress: 'a.example.com' }, { eventId: 'E2', rspServerAddress: 'b.example.com', extra: 1 }] });
    expect(await c.authenticateClient({ transactionId: tId, authenticateServerResponse: asr })).toEqual([
      { eventId: 'E1', rspServerAddress: 'a.example.com' },
      { eventId: 'E2', rspServerAddress: 'b.example.com' },
    ]);
    const last = seen.at(-1)!;
    expect(last.path).toBe('/gsma/rsp2/es9plus/authenticateClient');
    expect(last.body).toEqual({ transactionId: tIdHex, authenticateServerResponse: toBase64(asr) });
    expect(fromBase64(last.body['authenticateServerResponse'] as string)).toEqual(asr);

    reply = () => ({ ...ok, transactionId: tIdHex, eventEntries: [] });
    expect(await c.authenticateClient({ transactionId: tId, authenticateServerResponse: asr })).toEqual([]);
    reply = () => ({ ...ok, transactionId: tIdHex });
    expect(await c.authenticateClient({ transactionId: tId, authenticateServerResponse: asr })).toEqual([]);

    reply = () => ({ ...ok, transactionId: '00', eventEntries: [] });
    await expect(c.authenticateClient({ transactionId: tId, authenticateServerResponse: asr })).rejects.toMatchObject({ name: 'Es11Error', code: 'transaction-id' });
    reply = () => ({ ...ok, transactionId: tIdHex, eventEntries: [{ eventId: 5 }] });
    await expect(c.authenticateClient({ transactionId: tId, authenticateServerResponse: asr })).rejects.toMatchObject({ name: 'Es11Error', code: 'malformed', field: 'eventEntries' });
    reply = () => ({ ...ok, transactionId: tIdHex, eventEntries: 'none' });
    await expect(c.authenticateClient({ transactionId: tId, authenticateServerResponse: asr })).rejects.toMatchObject({ name: 'Es11Error', code: 'malformed' });
  });

  it('a Failed functionExecutionStatus surfaces as RspHttpError function-failed with the codes', async () => {
    reply = () => ({ header: { functionExecutionStatus: { status: 'Failed', statusCodeData: { subjectCode: '8.9.1', reasonCode: '3.8', message: 'SM-DS address refused' } } } });
    const e = await new Es11Client(http, address).initiateAuthentication({ euiccChallenge: challenge, euiccInfo1: Uint8Array.of(0xbf, 0x20, 0) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RspHttpError);
    expect(e).toMatchObject({ kind: 'function-failed', subjectCode: '8.9.1', reasonCode: '3.8' });
  });
});
