/**
 * End to end, both ends real: sending pending notifications with retry (src/lpa/notifications.ts
 * sendPendingNotifications) from a SoftEuicc over VirtualTransport to the reference SM-DP+ over HTTPS on
 * 127.0.0.1. The notifications are made by the card itself: the install notification (PIR) of a download
 * whose handleNotification was not sent, and enable / disable / delete notifications of that profile.
 *
 * The SM-DP+ is reached through two test rigs, so that it can be "down" and can "refuse":
 *   LPA ──TLS──▶ TcpGate (127.0.0.1:P, plain TCP forwarder: closed = connection refused)
 *            ──▶ Es9pProxy (test/support/es9p-proxy.ts: TLS with the SM-DP+'s own DPtls, can answer Failed)
 *            ──▶ the SM-DP+ (its address set to localhost:P, so the card addresses notifications there).
 * A CountingTransport around the card's transport records channel opens/closes (one channel per round,
 * none held during the backoff sleep).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApduChannel } from '../src/apdu/channel.js';
import type { ApduTransport } from '../src/apdu/transport.js';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { buildProfilePackage } from '../src/asn1/saip.js';
import type { SoftEuicc } from '../src/euicc/card.js';
import { resultFault } from '../src/euicc/faults.js';
import { deleteProfile, disableProfile, enableProfile, listNotifications, sendPendingNotifications, type NotificationInfo, type SendNotificationsOptions } from '../src/lpa/index.js';
import { ResultCode, statusCodeToResultCode } from '../src/lpa/result-codes.js';
import { Es9pProxy, failedStatus } from './support/es9p-proxy.js';
import { downloadOverHttps, loopbackResolve, lpaFailure, startTestSmdp, type TestSmdp } from './support/smdp.js';


/** A TCP forwarder on a fixed port that can be taken down (not listening: connection refused) and up again. */
class TcpGate {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Connections accepted since the last reset. */
  connections = 0;
  private constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  static async start(targetPort: number): Promise<TcpGate> {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const g = new TcpGate(port, targetPort);
    await g.up();
    return g;
  }

  get isUp(): boolean {
    return this.server !== undefined;
  }

  async up(): Promise<void> {
    if (this.server) return;
    const srv = createServer((client) => {
      this.connections++;
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((r) => srv.listen(this.port, '127.0.0.1', r));
    this.server = srv;
  }

  /** Stop listening and cut every open connection (kept-alive ones too). */
  async down(): Promise<void> {
    const srv = this.server;
    if (!srv) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  }
}

/** The card's transport, recording logical channel opens / closes (MANAGE CHANNEL) and calling hooks. */
class CountingTransport implements ApduTransport {
  readonly events: ('open' | 'close')[] = [];
  onOpen?: (n: number) => void | Promise<void>;
  onClose?: (n: number) => void;
  constructor(private readonly inner: ApduTransport) {}
  get capabilities(): ApduTransport['capabilities'] {
    return this.inner.capabilities;
  }
  async transmit(apdu: Uint8Array, options?: { timeoutMs?: number }): Promise<Uint8Array> {
    const manage = apdu.length >= 4 && (apdu[0]! & 0x03) === 0 && apdu[1] === 0x70;
    if (manage && apdu[2] === 0x00) {
      this.events.push('open');
      await this.onOpen?.(this.events.filter((e) => e === 'open').length);
    }
    const r = await this.inner.transmit(apdu, options);
    if (manage && apdu[2] === 0x80) {
      this.events.push('close');
      this.onClose?.(this.events.filter((e) => e === 'close').length);
    }
    return r;
  }
  async close(): Promise<void> {
    await this.inner.close();
  }
}

let t: TestSmdp;
let proxy: Es9pProxy;
let gate: TcpGate;
let gateAddress: string;

beforeAll(async () => {
  t = await startTestSmdp({ curve: 'P-256' });
  proxy = await Es9pProxy.start({ tls: t.identity.tls, caPem: t.ci.certPem, targetPort: t.server.port });
  gate = await TcpGate.start(proxy.port);
  gateAddress = `localhost:${gate.port}`;
  t.server.es9p.address = gateAddress; // serverSigned1.serverAddress and the metadata's notification address
});

afterAll(async () => {
  await gate?.down();
  await proxy?.close();
  await t?.close();
});

beforeEach(async () => {
  await gate.up();
  gate.connections = 0;
  proxy.clear();
  proxy.calls.length = 0;
});

function opts(transport: ApduTransport, o: Partial<SendNotificationsOptions> = {}): SendNotificationsOptions {
  return { transport, trust: t.trust, http: { resolve: loopbackResolve }, timeouts: { connectMs: 2000, requestMs: 5000 }, ...o };
}

let iccidSeq = 900;
/** A profile installed on `card` whose install notification was not sent (left pending). Returns the ICCID. */
async function installWithoutNotification(card: SoftEuicc): Promise<string> {
  const iccid = `89049032${String(iccidSeq++).padStart(11, '0')}`;
  t.server.inventory.addProfile(buildProfilePackage({ iccid }), { serviceProviderName: 'esimkit', profileName: `notif ${iccid}` });
  const { matchingId } = t.server.inventory.createOrder({ iccid });
  // ES9+ straight to the SM-DP+ (not through the gate), the SM-DP+ address being the gate's
  const r = await downloadOverHttps(t, card, { matchingId, notify: false, smdpAddress: gateAddress });
  await r.channel.close();
  expect(r.pir?.profileInstallationResultData.finalResult.kind).toBe('successResult');
  return iccid;
}

async function pending(card: SoftEuicc): Promise<NotificationInfo[]> {
  return ApduChannel.with(new VirtualTransport(card), {}, (ch) => listNotifications(ch));
}

async function es10c<T>(card: SoftEuicc, f: (ch: ApduChannel) => Promise<T>): Promise<T> {
  return ApduChannel.with(new VirtualTransport(card), {}, f);
}

function received(card: SoftEuicc): { seqNumber: number; event: string; iccid?: string }[] {
  return t.server.inventory
    .receivedNotifications()
    .filter((n) => n.eid === card.eid)
    .map((n) => ({ seqNumber: n.seqNumber, event: n.event, ...(n.iccid !== undefined && { iccid: n.iccid }) }));
}

describe('sendPendingNotifications', () => {
  it('install, enable, disable and delete notifications to the same SM-DP+: all sent in seqNumber order, removed once acknowledged', async () => {
    const card = t.newCard();
    const iccid = await installWithoutNotification(card);
    expect((await es10c(card, (ch) => enableProfile(ch, iccid))).result).toBe('ok');
    expect((await es10c(card, (ch) => disableProfile(ch, iccid))).result).toBe('ok');
    expect((await es10c(card, (ch) => deleteProfile(ch, iccid))).result).toBe('ok');
    const before = await pending(card);
    expect(before.map((n) => n.event)).toEqual(['notificationInstall', 'notificationEnable', 'notificationDisable', 'notificationDelete']);
    expect(new Set(before.map((n) => n.address))).toEqual(new Set([gateAddress]));
    const seqs = before.map((n) => n.seqNumber);

    const transport = new CountingTransport(new VirtualTransport(card));
    const r = await sendPendingNotifications(opts(transport));
    expect(r).toEqual({ sent: seqs, failed: [] });
    expect(await pending(card)).toEqual([]);
    expect(received(card)).toEqual([
      { seqNumber: seqs[0], event: 'install', iccid },
      { seqNumber: seqs[1], event: 'enable', iccid },
      { seqNumber: seqs[2], event: 'disable', iccid },
      { seqNumber: seqs[3], event: 'delete', iccid },
    ]);
    expect(t.server.inventory.receivedNotifications().filter((n) => n.eid === card.eid).every((n) => n.verified)).toBe(true);
    // one round: one channel; every notification through the one SM-DP+ address (the gate)
    expect(transport.events).toEqual(['open', 'close']);
    expect(gate.connections).toBeGreaterThan(0);
    expect(proxy.functions()).toEqual(['handleNotification', 'handleNotification', 'handleNotification', 'handleNotification']);
    // nothing left: a second call has nothing to do
    expect(await sendPendingNotifications(opts(new VirtualTransport(card)))).toEqual({ sent: [], failed: [] });
  });

  it('the SM-DP+ is down at first, then up: sent on the retry; the channel is closed during the backoff', async () => {
    const card = t.newCard();
    await installWithoutNotification(card);
    const [n] = await pending(card);
    await gate.down();
    const transport = new CountingTransport(new VirtualTransport(card));
    let openDuringSleep = -1;
    transport.onOpen = async (k) => {
      if (k === 2) {
        // round 2 starts: round 1's channel was closed before the sleep
        openDuringSleep = transport.events.filter((e) => e === 'open').length - 1 - transport.events.filter((e) => e === 'close').length;
        await gate.up();
      }
    };
    const r = await sendPendingNotifications(opts(transport, { retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 50 } }));
    expect(r).toEqual({ sent: [n!.seqNumber], failed: [] });
    expect(openDuringSleep).toBe(0);
    expect(transport.events).toEqual(['open', 'close', 'open', 'close']);
    expect(await pending(card)).toEqual([]);
    expect(received(card).map((x) => x.event)).toEqual(['install']);
  });

  it('the SM-DP+ stays down: still pending, 220 SERVER_UNAVAILABLE after every attempt', async () => {
    const card = t.newCard();
    await installWithoutNotification(card);
    const [n] = await pending(card);
    await gate.down();
    const transport = new CountingTransport(new VirtualTransport(card));
    const r = await sendPendingNotifications(opts(transport, { retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 } }));
    expect(r.sent).toEqual([]);
    expect(r.failed).toEqual([{ seqNumber: n!.seqNumber, resultCode: ResultCode.RESULT_SERVER_UNAVAILABLE, message: expect.stringContaining('cannot connect') }]);
    expect(transport.events).toEqual(['open', 'close', 'open', 'close']);
    expect(await pending(card)).toHaveLength(1);
    expect(received(card)).toEqual([]);
  });

  it('the SM-DP+ refuses (Failed 8.1/6.1): stays pending with its ResultCode, not retried; sent later', async () => {
    const card = t.newCard();
    await installWithoutNotification(card);
    const [n] = await pending(card);
    proxy.on('handleNotification', { answer: () => failedStatus('8.1', '6.1'), once: false });
    const r = await sendPendingNotifications(opts(new VirtualTransport(card), { retry: { attempts: 3, baseDelayMs: 10 } }));
    expect(r.sent).toEqual([]);
    expect(r.failed).toHaveLength(1);
    expect(r.failed[0]).toMatchObject({ seqNumber: n!.seqNumber, resultCode: statusCodeToResultCode('8.1', '6.1') });
    expect(r.failed[0]!.resultCode).toBe(ResultCode.RESULT_AUTHENTICATION_FAILED);
    expect(r.failed[0]!.message).toContain('8.1/6.1');
    expect(proxy.functions()).toEqual(['handleNotification']); // a refusal is final: no second round
    expect(await pending(card)).toHaveLength(1);
    proxy.clear();
    expect(await sendPendingNotifications(opts(new VirtualTransport(card)))).toEqual({ sent: [n!.seqNumber], failed: [] });
    expect(await pending(card)).toEqual([]);
  });

  it('the card answering the removal with undefinedError is retried: sent again, kept once by the SM-DP+, removed', async () => {
    const card = t.newCard();
    await installWithoutNotification(card);
    const [n] = await pending(card);
    // round 1: the SM-DP+ acknowledges, the card fails the removal; round 2: sent again, removed
    card.faults.add(resultFault(0xbf30, 127, { nth: 1 }));
    const r = await sendPendingNotifications(opts(new VirtualTransport(card), { retry: { attempts: 2, baseDelayMs: 5 } }));
    card.faults.clear();
    expect(r).toEqual({ sent: [n!.seqNumber], failed: [] });
    expect(proxy.functions()).toEqual(['handleNotification', 'handleNotification']);
    expect(received(card)).toHaveLength(1);
    expect(await pending(card)).toEqual([]);
  });

  it('seqNumbers: only those are sent; one not pending fails with 270 NOTHING_TO_DELETE', async () => {
    const card = t.newCard();
    const iccid = await installWithoutNotification(card);
    await es10c(card, (ch) => enableProfile(ch, iccid));
    await es10c(card, (ch) => disableProfile(ch, iccid));
    const [install, enable, disable] = (await pending(card)).map((n) => n.seqNumber);
    const missing = disable! + 1000;
    const r = await sendPendingNotifications(opts(new VirtualTransport(card), { seqNumbers: [enable!, missing] }));
    expect(r.sent).toEqual([enable]);
    expect(r.failed).toEqual([{ seqNumber: missing, resultCode: ResultCode.RESULT_NOTHING_TO_DELETE, message: `notification ${missing} is not pending on the eUICC` }]);
    expect((await pending(card)).map((n) => n.seqNumber)).toEqual([install, disable]);
    expect(received(card).map((x) => x.event)).toEqual(['enable']);
  });

  it('abort: before the start (nothing done), and during the backoff sleep (no wait) → 218', async () => {
    const card = t.newCard();
    await installWithoutNotification(card);
    const transport = new CountingTransport(new VirtualTransport(card));
    const e1 = await lpaFailure(sendPendingNotifications(opts(transport, { signal: AbortSignal.abort() })));
    expect(e1.resultCode).toBe(ResultCode.RESULT_USER_CANCEL_DOWNLOAD);
    expect(transport.events).toEqual([]);

    await gate.down();
    const ac = new AbortController();
    transport.onClose = (k) => {
      if (k === 1) setImmediate(() => ac.abort());
    };
    // a 60 s backoff: only the abort can end this call within the test's timeout
    const e2 = await lpaFailure(sendPendingNotifications(opts(transport, { signal: ac.signal, retry: { attempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 } })));
    expect(e2.resultCode).toBe(ResultCode.RESULT_USER_CANCEL_DOWNLOAD);
    expect(transport.events).toEqual(['open', 'close']);
    expect(await pending(card)).toHaveLength(1);
  });

  it('timeouts.overallMs ends the retries with 287; a card failure ends the call with its ResultCode', async () => {
    const card = t.newCard();
    await installWithoutNotification(card);
    await gate.down();
    const e = await lpaFailure(sendPendingNotifications(opts(new VirtualTransport(card), { timeouts: { connectMs: 2000, requestMs: 5000, overallMs: 100 }, retry: { attempts: 5, baseDelayMs: 60_000 } })));
    expect({ code: e.resultCode, reason: e.reason }).toEqual({ code: ResultCode.RESULT_DOWNLOAD_TIMEOUT, reason: 'check deadline' });
    await gate.up();
    card.faults.add({ match: { es10Tag: 0xbf2b }, action: { kind: 'sw', sw: 0x6f00 } });
    const e2 = await lpaFailure(sendPendingNotifications(opts(new VirtualTransport(card))));
    card.faults.clear();
    expect(e2.resultCode).toBe(ResultCode.RESULT_SGP_22_OTHER);
    expect(e2.reason).toBe('RetrieveNotificationsList SW 6F00');
    expect(await pending(card)).toHaveLength(1);
  });

  it('invalid options are RangeErrors before the card is touched', async () => {
    const card = t.newCard();
    const transport = new CountingTransport(new VirtualTransport(card));
    const bad: Partial<SendNotificationsOptions>[] = [
      { retry: { attempts: 0 } },
      { retry: { attempts: 1.5 } },
      { retry: { baseDelayMs: -1 } },
      { retry: { maxDelayMs: Number.NaN } },
      { seqNumbers: [-1] },
      { seqNumbers: [1.5] },
      { timeouts: { overallMs: 0 } },
      { timeouts: { requestMs: 0 } },
      { trust: { ciCertificates: [] } },
    ];
    for (const o of bad) await expect(sendPendingNotifications(opts(transport, o))).rejects.toThrow(RangeError);
    expect(transport.events).toEqual([]);
  });
});
