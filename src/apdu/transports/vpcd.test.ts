import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { VpcdBridge, VpcdFrameReader, vpcdFrame, VPCD_CTRL, VPCD_DEFAULT_PORT, type VpcdCard } from './vpcd.js';
import { fromHex, toHex } from '../../util/hex.js';

/** A tiny card: echoes the APDU header back with 9000, counts power events. */
class FakeCard implements VpcdCard {
  resets = 0;
  offs = 0;
  cut = false;
  readonly seen: { apdu: string; port: number | undefined }[] = [];
  atr(): Uint8Array {
    return fromHex('3B9F96803FC7828031E073FE211F65D002341512810F5F');
  }
  powerOff(): void {
    this.offs++;
  }
  reset(): void {
    this.resets++;
  }
  async transmitAsync(apdu: Uint8Array, port?: number): Promise<Uint8Array> {
    this.seen.push({ apdu: toHex(apdu), port });
    if (this.cut) throw new Error('cut');
    await new Promise((r) => setTimeout(r, 1));
    return Uint8Array.from([...apdu.subarray(0, 4), 0x90, 0x00]);
  }
}

/** A fake pcscd vpcd driver: listens, accepts one vicc at a time, lets the test send framed messages. */
class FakeVpcd {
  server: Server | undefined;
  client: Socket | undefined;
  private reader = new VpcdFrameReader();
  private waiters: ((m: Uint8Array) => void)[] = [];
  private inbox: Uint8Array[] = [];
  private clientWaiters: (() => void)[] = [];

  async listen(port = 0): Promise<number> {
    this.server = createServer((s) => {
      this.client = s;
      this.reader = new VpcdFrameReader();
      s.on('data', (chunk: Buffer) => {
        for (const m of this.reader.push(new Uint8Array(chunk))) {
          const w = this.waiters.shift();
          if (w) w(m);
          else this.inbox.push(m);
        }
      });
      s.on('error', () => undefined);
      for (const w of this.clientWaiters.splice(0)) w();
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    return addr.port;
  }

  waitClient(timeoutMs = 5000): Promise<void> {
    if (this.client && !this.client.destroyed) return Promise.resolve();
    return withTimeout(new Promise<void>((r) => this.clientWaiters.push(r)), timeoutMs, 'vicc connection');
  }

  send(data: Uint8Array): void {
    this.client!.write(vpcdFrame(data));
  }

  recv(timeoutMs = 5000): Promise<Uint8Array> {
    const m = this.inbox.shift();
    if (m) return Promise.resolve(m);
    return withTimeout(new Promise<Uint8Array>((r) => this.waiters.push(r)), timeoutMs, 'vpcd message');
  }

  async exchange(data: Uint8Array): Promise<Uint8Array> {
    this.send(data);
    return this.recv();
  }

  async close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { reconnectMs?: number; cardPort?: number } = {}) {
  const vpcd = new FakeVpcd();
  const port = await vpcd.listen();
  const card = new FakeCard();
  const bridge = new VpcdBridge(card, { port, reconnectMs: opts.reconnectMs ?? 20, maxReconnectMs: 100, ...(opts.cardPort !== undefined ? { cardPort: opts.cardPort } : {}) });
  const events: string[] = [];
  bridge.on('connected', () => events.push('connected'));
  bridge.on('disconnected', () => events.push('disconnected'));
  cleanups.push(async () => {
    await bridge.stop();
    await vpcd.close();
  });
  await withTimeout(bridge.start(), 5000, 'bridge start');
  await vpcd.waitClient();
  return { vpcd, card, bridge, events, port };
}

describe('vpcd framing', () => {
  it('frames with a 2-byte big-endian length', () => {
    expect(toHex(vpcdFrame(fromHex('04')))).toBe('000104');
    expect(toHex(vpcdFrame(new Uint8Array(0x123)).subarray(0, 2))).toBe('0123');
    expect(() => vpcdFrame(new Uint8Array(0x10000))).toThrow(RangeError);
  });

  it('reassembles messages split and merged arbitrarily', () => {
    const r = new VpcdFrameReader();
    const stream = fromHex('0001' + '04' + '0005' + '00A4040000' + '0000' + '0002' + '9000');
    const got: string[] = [];
    for (const b of stream) for (const m of r.push(Uint8Array.of(b))) got.push(toHex(m));
    expect(got).toEqual(['04', '00a4040000', '', '9000']);
    expect(r.pending).toBe(0);
    const r2 = new VpcdFrameReader();
    expect(r2.push(stream).map(toHex)).toEqual(['04', '00a4040000', '', '9000']);
    expect(r2.push(fromHex('0003AA')).length).toBe(0);
    expect(r2.pending).toBe(3);
  });

  it('knows the vsmartcard constants', () => {
    expect(VPCD_DEFAULT_PORT).toBe(35963);
    expect(VPCD_CTRL).toEqual({ off: 0, on: 1, reset: 2, atr: 4 });
  });
});

describe('VpcdBridge against a fake vpcd', () => {
  it('answers ATR, power on/off/reset and APDUs', async () => {
    const { vpcd, card, bridge, events } = await setup({ cardPort: 1 });
    expect(bridge.connected).toBe(true);
    expect(events).toEqual(['connected']);
    expect(toHex(await vpcd.exchange(Uint8Array.of(VPCD_CTRL.atr)))).toBe(toHex(card.atr()));
    vpcd.send(Uint8Array.of(VPCD_CTRL.on));
    vpcd.send(Uint8Array.of(VPCD_CTRL.reset));
    vpcd.send(Uint8Array.of(VPCD_CTRL.off));
    vpcd.send(Uint8Array.of(0x7f)); // undefined control code: ignored, no answer
    // control codes are not answered: the next message we get is the APDU response
    expect(toHex(await vpcd.exchange(fromHex('0070000001')))).toBe('007000009000');
    expect(card.resets).toBe(2);
    expect(card.offs).toBe(1);
    expect(card.seen).toEqual([{ apdu: '0070000001', port: 1 }]);
    // several APDUs in one TCP write are answered in order
    vpcd.client!.write(new Uint8Array([...vpcdFrame(fromHex('80E2910003BF3E00')), ...vpcdFrame(fromHex('00C0000000'))]));
    expect(toHex(await vpcd.recv())).toBe('80e291009000');
    expect(toHex(await vpcd.recv())).toBe('00c000009000');
  });

  it('reconnects after the reader (pcscd) restarts', async () => {
    const { vpcd, bridge, events, port } = await setup();
    expect(bridge.connections).toBe(1);
    await vpcd.close();
    // pcscd is down for a moment: the bridge keeps retrying
    await new Promise((r) => setTimeout(r, 150));
    expect(bridge.connected).toBe(false);
    expect(events).toContain('disconnected');
    const again = new FakeVpcd();
    cleanups.push(() => again.close());
    await again.listen(port);
    await again.waitClient(5000);
    await withTimeout(
      (async () => {
        while (!bridge.connected) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      'reconnect',
    );
    expect(bridge.connections).toBe(2);
    expect(events.filter((e) => e === 'connected').length).toBe(2);
    expect(toHex(await again.exchange(Uint8Array.of(VPCD_CTRL.atr)))).toBe('3b9f96803fc7828031e073fe211f65d002341512810f5f');
    expect(toHex(await again.exchange(fromHex('00A4040000')))).toBe('00a404009000');
  });

  it('retries with backoff while nothing listens, and start() resolves on stop()', async () => {
    const probe = new FakeVpcd();
    const port = await probe.listen();
    await probe.close(); // a port where nothing listens now
    const bridge = new VpcdBridge(new FakeCard(), { port, reconnectMs: 10, maxReconnectMs: 40 });
    const delays: number[] = [];
    bridge.on('connectFailed', (e) => delays.push(e.retryInMs));
    const started = bridge.start();
    await new Promise((r) => setTimeout(r, 200));
    await bridge.stop();
    await withTimeout(started, 1000, 'start() after stop()');
    expect(delays.length).toBeGreaterThanOrEqual(3);
    expect(delays.slice(0, 3)).toEqual([10, 20, 40]);
    expect(Math.max(...delays)).toBe(40);
  });

  it('drops the connection when the card cuts it, then comes back', async () => {
    const { vpcd, card, bridge } = await setup();
    card.cut = true;
    vpcd.send(fromHex('80E2910003BF2E00'));
    await withTimeout(
      new Promise<void>((r) => bridge.once('disconnected', () => r())),
      5000,
      'disconnect',
    );
    card.cut = false;
    await withTimeout(new Promise<void>((r) => bridge.once('connected', () => r())), 5000, 'reconnect');
    await vpcd.waitClient();
    expect(toHex(await vpcd.exchange(fromHex('00A4040000')))).toBe('00a404009000');
  });

  it('stop() closes the connection and stops reconnecting', async () => {
    const { vpcd, bridge, events } = await setup();
    await bridge.stop();
    expect(bridge.connected).toBe(false);
    expect(events).toEqual(['connected', 'disconnected']);
    await new Promise((r) => setTimeout(r, 100));
    expect(bridge.connections).toBe(1);
  });

  it('rejects an invalid port', () => {
    expect(() => new VpcdBridge(new FakeCard(), { port: 70000 })).toThrow(RangeError);
  });
});
