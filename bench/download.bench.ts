/**
 * Profile download figures (issue 5):
 *   - download.full.*: one full download (src/lpa/download.ts downloadProfile + SoftEuicc in this process over
 *     VirtualTransport + SmdpServer over HTTPS on 127.0.0.1, in this process too) of a 12 KB profile
 *     (buildProfilePackage padToSize 12288): median / p99 ms, command APDUs and bytes (command + response).
 *     One shared RspHttpClient (keep-alive), a new card per download (made outside the timing).
 *   - download.throughput.*: complete downloads per second with 32 concurrent simulated devices against one
 *     SM-DP+, and the p99 latency. Processes: the SM-DP+ alone in a child process (test/support/smdp-process.ts
 *     in `quiet` mode: no kill hooks; SQLite file in WAL), the devices in `deviceProcesses` child processes
 *     (bench/download-devices.ts; default 1: the SM-DP+ and the devices each have one of the two cores — with
 *     two device processes, three busy processes share two cores and the run is ~7% slower), both run from
 *     esbuild bundles as compiled code; this process only prepares the orders and collects the results. Each
 *     device: a SoftEuicc on SQLite ':memory:' (64 MB of profile memory) over VirtualTransport, the LPA
 *     download flow, its own RspHttpClient (one undici Agent: keep-alive connections and their TLS sessions
 *     kept for the whole run, as a phone would). Downloads that end inside the measuring window count; the
 *     window starts after an 8 s warm-up: a server's throughput is its steady state, and V8 is still
 *     optimising the download path for the first few thousand downloads (its compiler threads cost ~1 ms CPU
 *     per download at 1.5 s). download.throughput.cpu: user+system CPU per download of the device processes
 *     and of the SM-DP+ process over that window (coreBusy: cores used; *MainThread(s): the JavaScript
 *     threads alone, the rest being V8's compiler/GC threads). The setup is printed in the `setup` field.
 *   Profiling the same scenario: bench/profile-download.ts (+ bench/cpuprofile-summary.mjs).
 * Targets ("target" field): median < 60 ms, >= 300 downloads/s. Measurements, never assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
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
import { cpuMsOf, DeviceProcess, devicesEntry } from './download-devices.js';
import { emit, percentiles } from './harness.js';

const PROFILE_BYTES = 12288;
const DEVICES_DEFAULT = 32;
const resolve = (h: string): string | undefined => (h === 'localhost' ? '127.0.0.1' : undefined);
const TIMEOUTS = { connectMs: 5000, requestMs: 30_000, overallMs: 120_000 };

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

export interface ThroughputOptions {
  /** Measuring window in seconds (after a warm-up of WARMUP_MS). */
  duration: number;
  /** Simulated devices in all (default 32). */
  devices?: number;
  /** Processes the devices are spread over (default 1: with the SM-DP+ process, one per core). */
  deviceProcesses?: number;
  /** Warm-up before the window, ms (default WARMUP_MS). */
  warmupMs?: number;
  /** Bundle the SM-DP+ and device children with esbuild (default true; false: `node --import tsx`, source names in profiles). */
  bundle?: boolean;
}

const WARMUP_MS = 8000;

export async function benchThroughput(seconds: number, opts: Partial<ThroughputOptions> = {}): Promise<void> {
  const duration = opts.duration ?? Math.max(5, seconds * 5);
  const warmupMs = opts.warmupMs ?? WARMUP_MS;
  const DEVICES = opts.devices ?? DEVICES_DEFAULT;
  const PROCS = Math.max(1, Math.min(DEVICES, opts.deviceProcesses ?? 1));
  const dir = mkdtempSync(join(tmpdir(), 'esimkit-bench-dl-'));
  const entry = await childEntry(opts.bundle === false ? { bundle: false } : {});
  const devEntry = await devicesEntry(opts.bundle === false ? { bundle: false } : {});
  let server: SmdpChild | undefined;
  const procs: DeviceProcess[] = [];
  try {
    const { ci, ...identity } = createSmdpIdentity({ address: 'localhost:0', tlsHost: 'localhost' });
    const eum = createEum(ci, { curve: 'P-256' });
    writeSmdpIdentityDir(join(dir, 'id'), identity);
    const dbPath = join(dir, 'smdp.sqlite');
    // orders enough for 500 downloads/s over warm-up and window
    const inv = new SmdpInventory(dbPath);
    const matchingIds: string[] = [];
    const orders = Math.ceil(500 * (duration + warmupMs / 1000 + 1)) + DEVICES * 2;
    inv.transaction(() => {
      for (let i = 0; i < orders; i++) matchingIds.push(addProfile(inv).matchingId);
    });
    inv.close();
    server = await SmdpChild.start(entry, { identityDir: join(dir, 'id'), dbPath, quiet: true });
    const address = server.address;
    for (let k = 0; k < PROCS; k++) {
      const devices = Math.floor(DEVICES / PROCS) + (k < DEVICES % PROCS ? 1 : 0);
      procs.push(
        await DeviceProcess.start(devEntry, { address, ci, eum, devices, index: k, matchingIds: matchingIds.filter((_, i) => i % PROCS === k) }),
      );
    }
    const measureFrom = Date.now() + warmupMs; // warm-up: connections, TLS, JIT
    const measureTo = measureFrom + duration * 1000;
    const srvServer = server;
    let srvMain0: number | undefined;
    let srvMain1: number | undefined;
    const srvCpu = new Promise<[number | undefined, number | undefined]>((r) => {
      setTimeout(() => {
        const a = cpuMsOf(srvServer.pid);
        srvMain0 = cpuMsOf(srvServer.pid, srvServer.pid);
        setTimeout(() => {
          srvMain1 = cpuMsOf(srvServer.pid, srvServer.pid);
          r([a, cpuMsOf(srvServer.pid)]);
        }, measureTo - Date.now());
      }, measureFrom - Date.now());
    });
    const results = await Promise.all(procs.map((d) => d.run(measureFrom, measureTo)));
    const [srvCpu0, srvCpu1] = await srvCpu;
    const latencies = results.flatMap((r) => r.latencies);
    const failures = results.reduce((n, r) => n + r.failures, 0);
    const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
    const done = latencies.length;
    const p = percentiles(done > 0 ? latencies : [0]);
    const setup = {
      server: 'SM-DP+ (src/smdp/server.ts) alone in a child process: HTTPS/TLS 1.2 on 127.0.0.1, SQLite file in WAL (synchronous=NORMAL + group commit)',
      devices: `${DEVICES} devices in ${PROCS} child process(es) (esbuild bundles, --max-semi-space-size=32 for the load generator); each a SoftEuicc (SQLite ':memory:') over VirtualTransport + LPA download flow + own undici Agent (keep-alive, one TLS connection)`,
      profile: `${PROFILE_BYTES}-byte UPP, P-256, ReplaceSessionKeys`,
      cores: availableParallelism(),
      warmupMs,
    };
    emit({ name: 'download.throughput', value: done / duration, unit: 'downloads/s', target: 300, devices: DEVICES, deviceProcesses: PROCS, profileBytes: PROFILE_BYTES, seconds: duration, failures, ...(firstError !== undefined && { firstError }), setup });
    emit({ name: 'download.throughput.p99', value: p.p99, unit: 'ms', devices: DEVICES, median: Number(p.median.toFixed(1)) });
    const per = (ms: number): number => Number((ms / Math.max(1, done)).toFixed(2));
    const devCpu = results.reduce((n, r) => n + r.cpuMs, 0);
    const srv = srvCpu0 !== undefined && srvCpu1 !== undefined ? srvCpu1 - srvCpu0 : undefined;
    emit({
      name: 'download.throughput.cpu',
      value: per(devCpu + (srv ?? 0)),
      unit: 'ms CPU/download',
      devicesProcesses: per(devCpu),
      ...(srv !== undefined && { serverProcess: per(srv), serverCoreBusy: Number((srv / 1000 / duration).toFixed(2)) }),
      devicesCoreBusy: Number((devCpu / 1000 / duration).toFixed(2)),
      // the JavaScript threads alone (the rest: V8's background compiler and GC threads)
      ...(results.every((r) => r.mainThreadCpuMs !== undefined) && { devicesMainThreads: per(results.reduce((n, r) => n + r.mainThreadCpuMs!, 0)) }),
      ...(srvMain0 !== undefined && srvMain1 !== undefined && { serverMainThread: per(srvMain1 - srvMain0) }),
    });
  } finally {
    for (const d of procs) await d.stop().catch(() => undefined);
    await server?.stop();
    entry.dispose();
    devEntry.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchDownload(seconds = 1): Promise<void> {
  await benchFull(seconds);
  await benchThroughput(seconds);
}
