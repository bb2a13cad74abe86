/**
 * The simulated devices of the SM-DP+ throughput figure (download.bench.ts), as a process of their own:
 * each device is a SoftEuicc (state in SQLite ':memory:', 64 MB of profile memory) behind VirtualTransport,
 * with its own RspHttpClient (one undici Agent: keep-alive, one TLS session per device, as a phone) and the
 * LPA download flow (src/lpa/download.ts), downloading orders one after the other.
 *
 * Parent side: {@link DeviceProcess.start} spawns this file (an esbuild bundle, as test/support/smdp-process.ts
 * does for the server, so the code runs as compiled, without tsx's per-closure `__name` wrappers) with an
 * IPC channel. Protocol (IPC messages):
 *   child → parent  {type:'hello'}  (listening)
 *   parent → child  {type:'init', ...}  make the cards (key generation; outside any measurement)
 *   child → parent  {type:'ready'}
 *   parent → child  {type:'go', measureFrom, measureTo}  (epoch ms) run until measureTo, then stop
 *   child → parent  {type:'result', latencies, failures, cpuMs, firstError}
 *     latencies: ms of the downloads that ended inside [measureFrom, measureTo]; cpuMs: this process's
 *     user+system CPU inside that window.
 * Env ESIMKIT_DEVICES_PROFILE=<dir>: the child writes a V8 CPU profile of the window to <dir>/devices-<n>.cpuprofile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { privateKeyFromPem, privateKeyToPem } from '../src/crypto/ecdsa.js';
import type { IssuedCertificate } from '../src/crypto/pki.js';
import { parseCertificate } from '../src/crypto/x509.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity } from '../src/euicc/identity.js';
import { downloadProfile } from '../src/lpa/download.js';
import { RspHttpClient } from '../src/lpa/http.js';
import { fromBase64, toBase64 } from '../src/util/hex.js';
import { bundledChildEntry, type ChildEntry } from '../test/support/child-bundle.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const TIMEOUTS = { connectMs: 5000, requestMs: 30_000, overallMs: 120_000 };
export const DEVICE_CARD_CONFIG = { totalMemory: 64 * 1024 * 1024 };

interface WireIssued {
  certDer: string;
  keyPem: string;
}
export interface InitMessage {
  type: 'init';
  /** SM-DP+ address (host:port); host `localhost` resolves to 127.0.0.1. */
  address: string;
  ci: WireIssued;
  eum: WireIssued;
  devices: number;
  matchingIds: string[];
  index: number;
}
export interface DeviceResult {
  type: 'result';
  latencies: number[];
  failures: number;
  cpuMs: number;
  /** CPU of the main (JavaScript) thread alone inside the window; the rest is V8's compiler/GC threads. */
  mainThreadCpuMs?: number;
  firstError?: string;
}

const wire = (c: IssuedCertificate): WireIssued => ({ certDer: toBase64(c.certDer), keyPem: privateKeyToPem(c.privateKey) });
function unwire(w: WireIssued): IssuedCertificate {
  const certDer = fromBase64(w.certDer);
  const cert = parseCertificate(certDer);
  return { certDer, certPem: '', privateKey: privateKeyFromPem(w.keyPem), cert, curve: cert.subjectPublicKeyInfo.curve ?? 'P-256' };
}

/**
 * CPU ms (user + system) used so far by process `pid`, or by its thread `tid` when given (Linux /proc;
 * undefined elsewhere).
 */
export function cpuMsOf(pid: number | undefined, tid?: number): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime in clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------ parent side

/** The bundle of this file; `bundle: false` runs it with `node --import tsx` (source file names in profiles). */
export function devicesEntry(opts: { bundle?: boolean } = {}): Promise<ChildEntry> {
  return bundledChildEntry(THIS_FILE, { prefix: 'esimkit-devices-', ...opts });
}

export class DeviceProcess {
  private constructor(
    readonly proc: ChildProcess,
    private readonly messages: AsyncIterator<unknown>,
  ) {}

  static async start(entry: ChildEntry, init: Omit<InitMessage, 'type' | 'ci' | 'eum'> & { ci: IssuedCertificate; eum: IssuedCertificate }): Promise<DeviceProcess> {
    // the load generator's own V8 setting (not the SM-DP+'s): a larger young generation, fewer scavenges of
    // the many short-lived buffers 16-32 simulated downloads make (ESIMKIT_DEVICES_NODE_ARGS overrides)
    const nodeArgs = (process.env.ESIMKIT_DEVICES_NODE_ARGS ?? '--max-semi-space-size=32').split(' ').filter((a) => a.length > 0);
    const proc = spawn(process.execPath, [...nodeArgs, ...entry.args, 'devices'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const queue: unknown[] = [];
    const waiters: ((v: IteratorResult<unknown>) => void)[] = [];
    let ended = false;
    proc.on('message', (m) => {
      const w = waiters.shift();
      if (w) w({ value: m, done: false });
      else queue.push(m);
    });
    proc.on('exit', () => {
      ended = true;
      for (const w of waiters.splice(0)) w({ value: undefined, done: true });
    });
    const messages: AsyncIterator<unknown> = {
      next: () =>
        queue.length > 0 ? Promise.resolve({ value: queue.shift(), done: false }) : ended ? Promise.resolve({ value: undefined, done: true }) : new Promise((r) => waiters.push(r)),
    };
    const dp = new DeviceProcess(proc, messages);
    await dp.expect('hello'); // the child listens from now on
    const msg: InitMessage = { type: 'init', address: init.address, devices: init.devices, matchingIds: init.matchingIds, index: init.index, ci: wire(init.ci), eum: wire(init.eum) };
    proc.send(msg);
    await dp.expect('ready');
    return dp;
  }

  private async expect(type: string): Promise<Record<string, unknown>> {
    const r = await this.messages.next();
    if (r.done) throw new Error(`device process ended before '${type}'`);
    const m = r.value as Record<string, unknown>;
    if (m['type'] !== type) throw new Error(`device process: expected '${type}', got ${JSON.stringify(m).slice(0, 300)}`);
    return m;
  }

  /** Run from now until measureTo; resolves with the result once every device has stopped. */
  async run(measureFrom: number, measureTo: number): Promise<DeviceResult> {
    this.proc.send({ type: 'go', measureFrom, measureTo });
    return (await this.expect('result')) as unknown as DeviceResult;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const gone = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await gone;
    }
  }
}

// ------------------------------------------------------------------------------------------ child side

/** Messages from the parent, queued from the start (one that arrives before a listener would be lost). */
function messageQueue(): () => Promise<unknown> {
  const queue: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  process.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
}

async function childMain(): Promise<void> {
  const nextMessage = messageQueue();
  process.send!({ type: 'hello' });
  const init = (await nextMessage()) as InitMessage;
  const ci = unwire(init.ci);
  const eum = unwire(init.eum);
  const cards = Array.from({ length: init.devices }, () => SoftEuicc.create(':memory:', { identity: createIdentity({ curve: ci.curve, ci, eum }).identity, config: DEVICE_CARD_CONFIG }));
  const resolve = (h: string): string | undefined => (h === 'localhost' ? '127.0.0.1' : undefined);
  const clients = cards.map(() => new RspHttpClient({ trustedCis: [ci.certDer], resolve, timeouts: TIMEOUTS }));
  process.send!({ type: 'ready' });
  const go = (await nextMessage()) as { measureFrom: number; measureTo: number };

  const profileDir = process.env.ESIMKIT_DEVICES_PROFILE;
  const session = profileDir ? new Session() : undefined;
  const post = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((res, rej) => session!.post(method, params, (err, r) => (err ? rej(err) : res(r))));
  // epoch ms → performance.now() ms
  const toPerf = (epoch: number): number => performance.now() + (epoch - Date.now());
  const from = toPerf(go.measureFrom);
  const to = toPerf(go.measureTo);
  let cpu0: NodeJS.CpuUsage | undefined;
  let cpuMs = 0;
  let main0: number | undefined;
  let mainThreadCpuMs: number | undefined;
  setTimeout(
    () => {
      cpu0 = process.cpuUsage();
      main0 = cpuMsOf(process.pid, process.pid);
      if (session) {
        session.connect();
        void post('Profiler.enable')
          .then(() => post('Profiler.setSamplingInterval', { interval: 500 }))
          .then(() => post('Profiler.start'));
      }
    },
    Math.max(0, from - performance.now()),
  );
  const windowEnd = new Promise<void>((r) =>
    setTimeout(
      () => {
        const d = process.cpuUsage(cpu0);
        cpuMs = (d.user + d.system) / 1000;
        const main1 = cpuMsOf(process.pid, process.pid);
        if (main0 !== undefined && main1 !== undefined) mainThreadCpuMs = main1 - main0;
        if (session) {
          void post('Profiler.stop').then((x) => {
            writeFileSync(join(profileDir!, `devices-${init.index}.cpuprofile`), JSON.stringify((x as { profile: unknown }).profile));
            session.disconnect();
            r();
          });
        } else r();
      },
      Math.max(0, to - performance.now()),
    ),
  );

  let next = 0;
  let failures = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const device = async (d: number): Promise<void> => {
    const transport = new VirtualTransport(cards[d]!);
    while (performance.now() < to) {
      const mid = init.matchingIds[next++];
      if (mid === undefined) break;
      const t0 = performance.now();
      try {
        await downloadProfile({
          transport,
          activationCode: `LPA:1$${init.address}$${mid}`,
          trust: { ciCertificates: [ci.certDer] },
          httpClient: clients[d]!,
          timeouts: TIMEOUTS,
        });
        const t1 = performance.now();
        if (t1 >= from && t1 <= to) latencies.push(t1 - t0);
      } catch (e) {
        const t1 = performance.now();
        if (t1 >= from && t1 <= to) failures++;
        firstError ??= (e as Error).message;
      }
    }
  };
  await Promise.all(cards.map((_, d) => device(d)));
  await windowEnd;
  for (const c of clients) await c.close().catch(() => undefined);
  for (const c of cards) c.close();
  const result: DeviceResult = { type: 'result', latencies, failures, cpuMs, ...(mainThreadCpuMs !== undefined && { mainThreadCpuMs }), ...(firstError !== undefined && { firstError }) };
  process.send!(result);
  process.disconnect();
}

if (process.argv[2] === 'devices' && process.send !== undefined) {
  childMain().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
