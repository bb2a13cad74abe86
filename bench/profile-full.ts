/**
 * Profiling driver: sequential downloads, everything in one process (LPA + SoftEuicc + SM-DP+ over HTTPS on
 * 127.0.0.1), as download.full in download.bench.ts. Not a bench group. Run bundled for compiled-code names:
 *   npx esbuild bench/profile-full.ts --bundle --platform=node --format=esm --packages=external --outfile=/tmp/pf.mjs
 *   WARM=1500 PROFILE_OUT=/tmp/full.cpuprofile node /tmp/pf.mjs [seconds=5]
 * WARM: downloads before the window (default 20; V8 keeps optimising for ~1500); PROFILE_OUT: a V8 CPU
 * profile of the window only. Prints the CPU ms per thread and per download, and the wall median.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { VirtualTransport } from '../src/apdu/transports/virtual.js';
import { buildProfilePackage } from '../src/asn1/saip.js';
import { createEum } from '../src/crypto/pki.js';
import { SoftEuicc } from '../src/euicc/card.js';
import { createIdentity } from '../src/euicc/identity.js';
import { downloadProfile } from '../src/lpa/download.js';
import { RspHttpClient } from '../src/lpa/http.js';
import { createSmdpIdentity } from '../src/smdp/identity.js';
import { SmdpServer } from '../src/smdp/server.js';
import { cpuMsOf } from './download-devices.js';

/** CPU ms so far of each thread of this process (Linux). */
function threads(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of readdirSync('/proc/self/task')) out[t] = cpuMsOf(process.pid, Number(t)) ?? 0;
  return out;
}
const seconds = Number(process.argv[2] ?? 5) || 5;
const resolve = (h: string): string | undefined => (h === 'localhost' ? '127.0.0.1' : undefined);
const TIMEOUTS = { connectMs: 5000, requestMs: 30_000, overallMs: 120_000 };
const { ci, ...identity } = createSmdpIdentity({ address: 'localhost:0', tlsHost: 'localhost' });
const eum = createEum(ci, { curve: 'P-256' });
const server = await SmdpServer.start({ identity, dbPath: ':memory:' });
const http = new RspHttpClient({ trustedCis: identity.ciCerts, resolve, timeouts: TIMEOUTS });
// a fresh card every 25 downloads (as the throughput bench's devices: ~15-25 downloads each), identities made up front
const ids = Array.from({ length: Math.ceil((700 * seconds + 40) / 25) }, () => createIdentity({ curve: 'P-256', ci, eum }).identity);
let card = SoftEuicc.create(':memory:', { identity: ids.pop()!, config: { totalMemory: 64 * 1024 * 1024 } });
let onCard = 0;
let seq = 0;
const orders: string[] = [];
for (let i = 0; i < 700 * seconds + 40; i++) {
  const id = `8904903288${String(seq++).padStart(9, '0')}`;
  server.inventory.addProfile(buildProfilePackage({ iccid: id, padToSize: 12288 }), { serviceProviderName: 'p', profileName: `p ${id}` });
  orders.push(server.inventory.createOrder({ iccid: id }).matchingId);
}
const one = async (): Promise<number> => {
  const matchingId = orders.shift()!;
  if (++onCard > 25) {
    card.close();
    card = SoftEuicc.create(':memory:', { identity: ids.pop()!, config: { totalMemory: 64 * 1024 * 1024 } });
    onCard = 1;
  }
  const t0 = performance.now();
  const r = await downloadProfile({ transport: new VirtualTransport(card), activationCode: server.activationCode(matchingId), trust: { ciCertificates: identity.ciCerts }, httpClient: http, timeouts: TIMEOUTS });
  if (!r.notificationSent) throw new Error('notification not sent');
  return performance.now() - t0;
};
for (let i = 0; i < Number(process.env.WARM ?? 20); i++) await one();
console.log('==WINDOW START');
// PROFILE_OUT=<file>: a V8 CPU profile of the measuring window only (250 µs sampling)
const session = process.env.PROFILE_OUT ? new Session() : undefined;
const post = (m: string, p?: object): Promise<unknown> => new Promise((res, rej) => session!.post(m, p ?? {}, (e, r) => (e ? rej(e) : res(r))));
if (session) {
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 250 });
  await post('Profiler.start');
}
const t0 = threads();
const c0 = process.cpuUsage();
const samples: number[] = [];
const end = performance.now() + seconds * 1000;
while (performance.now() < end) samples.push(await one());
const c1 = process.cpuUsage(c0);
if (session) writeFileSync(process.env.PROFILE_OUT!, JSON.stringify(((await post('Profiler.stop')) as { profile: unknown }).profile));
const t1 = threads();
console.log(Object.keys(t1).map((k) => `${k}:${(((t1[k] ?? 0) - (t0[k] ?? 0)) / samples.length).toFixed(2)}`).join(' '));
samples.sort((a, b) => a - b);
console.log(JSON.stringify({ downloads: samples.length, cpuMsPerDownload: (c1.user + c1.system) / 1000 / samples.length, userMs: c1.user / 1000 / samples.length, sysMs: c1.system / 1000 / samples.length, wallMedian: samples[samples.length >> 1] }));
await http.close();
await server.close();
card.close();
