/**
 * Profile download figures (issue 5):
 *   - download.full.*: one full download (src/lpa/download.ts downloadProfile + SoftEuicc in this process over
 *     VirtualTransport + SmdpServer over HTTPS on 127.0.0.1, in this process too) of a 12 KB profile
 *     (buildProfilePackage padToSize 12288): median / p99 ms, command APDUs and bytes (command + response).
 *     One shared RspHttpClient (keep-alive), a new card per download (made outside the timing).
 *   - download.throughput.*: complete downloads per second with 32 concurrent simulated devices (each its own
 *     SoftEuicc on ':memory:', its own RspHttpClient and LPA flow, all in this process) against one SM-DP+
 *     in its own process (test/support/smdp-process.ts, SQLite file), and the p99 latency. The two cores are
 *     split: devices here, the server there.
 * Targets ("target" field): median < 60 ms, >= 300 downloads/s. Measurements, never assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ApduTransport } from '../src/apdu/transport.js';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { buildProfilePackage } from '../src/asn1/saip.js';
import { createEum } from '../src/crypto/pki.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity, type EuiccIdentity } from '../src/euicc/identity.js';
import { downloadProfile } from '../src/lpa/download.js';
import { RspHttpClient } from '../src/lpa/http.js';
import { createSmdpIdentity } from '../src/smdp/identity.js';
import { SmdpInventory } from '../src/smdp/inventory.js';
import { SmdpServer } from '../src/smdp/server.js';
import { childEntry, SmdpChild, writeSmdpIdentityDir } from '../test/support/smdp-process.js';
import { emit, percentiles } from './harness.js';

const PROFILE_BYTES = 12288;
const DEVICES = 32;
const resolve = (h: string): string | undefined => (h === 'localhost' ? '127.0.0.1' : undefined);
const TIMEOUTS = { connectMs: 5000, requestMs: 30_000, overallMs: 120_000 };
const CARD_CONFIG = { totalMemory: 64 * 1024 * 1024 };

class CountingTransport implements ApduTransport {
  apdus = 0;
  bytes = 0;
  constructor(private readonly inner: ApduTransport) {}
  get capabilities(): ApduTransport['capabilities'] {
    return this.inner.capabilities;
  }
  async transmit(apdu: Uint8Array, options?: { timeoutMs?: number }): Promise<Uint8Array> {
    this.apdus++;
    this.bytes += apdu.length;
    const r = await this.inner.transmit(apdu, options);
    this.bytes += r.length;
    return r;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

let seq = 0;
function iccid(): string {
  return `8904903288${String(seq++).padStart(9, '0')}`;
}

function addProfile(inv: SmdpInventory): { matchingId: string } {
  const id = iccid();
  inv.addProfile(buildProfilePackage({ iccid: id, padToSize: PROFILE_BYTES }), { serviceProviderName: 'esimkit bench', profileName: `bench ${id}` });
  return inv.createOrder({ iccid: id });
}

async function benchFull(seconds: number): Promise<void> {
  const { ci, ...identity } = createSmdpIdentity({ address: 'localhost:0', tlsHost: 'localhost' });
  const eum = createEum(ci, { curve: 'P-256' });
  const server = await SmdpServer.start({ identity, dbPath: ':memory:' });
  const http = new RspHttpClient({ trustedCis: identity.ciCerts, resolve, timeouts: TIMEOUTS });
  const cardIds: EuiccIdentity[] = [];
  const newCard = (): SoftEuicc => {
    const id = cardIds.pop() ?? createIdentity({ curve: 'P-256', ci, eum }).identity;
    return SoftEuicc.create(':memory:', { identity: id });
  };
  const samples: number[] = [];
  let apdus = 0;
  let bytes = 0;
  try {
    const one = async (): Promise<number> => {
      const { matchingId } = addProfile(server.inventory);
      const card = newCard();
      const t = new CountingTransport(new VirtualTransport(card));
      const t0 = performance.now();
      const r = await downloadProfile({ transport: t, activationCode: server.activationCode(matchingId), trust: { ciCertificates: identity.ciCerts }, httpClient: http, timeouts: TIMEOUTS });
      const ms = performance.now() - t0;
      if (!r.notificationSent) throw new Error('bench download: notification not sent');
      card.close();
      apdus = t.apdus;
      bytes = t.bytes;
      return ms;
    };
    for (let i = 0; i < 10; i++) await one(); // warm-up (JIT, TLS session, keep-alive)
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end || samples.length < 30) samples.push(await one());
  } finally {
    await http.close();
    await server.close();
  }
  const p = percentiles(samples);
  emit({ name: 'download.full.median', value: p.median, unit: 'ms', target: 60, profileBytes: PROFILE_BYTES, samples: samples.length });
  emit({ name: 'download.full.p99', value: p.p99, unit: 'ms', profileBytes: PROFILE_BYTES, samples: samples.length });
  emit({ name: 'download.full.apdus', value: apdus, unit: 'APDUs', profileBytes: PROFILE_BYTES });
  emit({ name: 'download.full.apduBytes', value: bytes, unit: 'bytes', profileBytes: PROFILE_BYTES, note: 'command + response APDU bytes' });
}

async function benchThroughput(seconds: number): Promise<void> {
  const duration = Math.max(3, seconds * 3);
  const dir = mkdtempSync(join(tmpdir(), 'esimkit-bench-dl-'));
  const entry = await childEntry();
  let server: SmdpChild | undefined;
  const clients: RspHttpClient[] = [];
  try {
    const { ci, ...identity } = createSmdpIdentity({ address: 'localhost:0', tlsHost: 'localhost' });
    const eum = createEum(ci, { curve: 'P-256' });
    writeSmdpIdentityDir(join(dir, 'id'), identity);
    const dbPath = join(dir, 'smdp.sqlite');
    // orders enough for 400 downloads/s over the whole run
    const inv = new SmdpInventory(dbPath);
    const matchingIds: string[] = [];
    const orders = Math.ceil(400 * (duration + 1)) + DEVICES * 2;
    inv.db.transaction(() => {
      for (let i = 0; i < orders; i++) matchingIds.push(addProfile(inv).matchingId);
    })();
    inv.close();
    server = await SmdpChild.start(entry, { identityDir: join(dir, 'id'), dbPath });
    const address = server.address;
    const cards = Array.from({ length: DEVICES }, () => SoftEuicc.create(':memory:', { identity: createIdentity({ curve: 'P-256', ci, eum }).identity, config: CARD_CONFIG }));
    for (let i = 0; i < DEVICES; i++) clients.push(new RspHttpClient({ trustedCis: identity.ciCerts, resolve, timeouts: TIMEOUTS }));
    let next = 0;
    let failures = 0;
    const latencies: number[] = [];
    let measuring = false;
    let stop = false;
    const device = async (d: number): Promise<void> => {
      const card = cards[d]!;
      const transport = new VirtualTransport(card);
      while (!stop) {
        const mid = matchingIds[next++];
        if (mid === undefined) break;
        const t0 = performance.now();
        try {
          await downloadProfile({ transport, activationCode: `LPA:1$${address}$${mid}`, trust: { ciCertificates: identity.ciCerts }, httpClient: clients[d]!, timeouts: TIMEOUTS });
          if (measuring && !stop) latencies.push(performance.now() - t0);
        } catch {
          if (measuring) failures++;
        }
      }
    };
    const running = Array.from({ length: DEVICES }, (_, d) => device(d));
    await new Promise((r) => setTimeout(r, 1000)); // warm-up: connections, JIT
    measuring = true;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, duration * 1000));
    const done = latencies.length;
    const secs = (performance.now() - t0) / 1000;
    stop = true;
    await Promise.all(running);
    for (const c of cards) c.close();
    const p = percentiles(latencies.length > 0 ? latencies : [0]);
    emit({ name: 'download.throughput', value: done / secs, unit: 'downloads/s', target: 300, devices: DEVICES, profileBytes: PROFILE_BYTES, seconds: Number(secs.toFixed(1)), failures });
    emit({ name: 'download.throughput.p99', value: p.p99, unit: 'ms', devices: DEVICES, median: Number(p.median.toFixed(1)) });
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await server?.stop();
    entry.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchDownload(seconds = 1): Promise<void> {
  await benchFull(seconds);
  await benchThroughput(seconds);
}
