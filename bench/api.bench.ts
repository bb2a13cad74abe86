/**
 * API / daemon figures (issue 6), on a fresh embedded-default home in a temporary folder:
 *   - api.<fn>.<where>.median_ms / p99_ms: getEid and getEuiccProfileInfoList (3 profiles on the card) per call
 *     through the public API (createESim), in-process (EsimService in this process) and through the daemon
 *     (`esim serve` in its own process, Unix socket, shell token).
 *   - api.concurrent50.<where>.calls_per_s: 50 concurrent callers (daemon: 50 connections) alternating getEid
 *     and getEuiccProfileInfoList over both slots.
 *   - api.home.create_ms, api.daemon.start_ms (spawn → summary, existing home), api.npmstart.first_start_ms
 *     (src/main.ts on a fresh home: spawn → summary printed).
 *   - api.downloadProfile.daemon.median_ms / p99_ms: downloadProfile end to end through the API and the daemon
 *     (the daemon's demo SM-DP+ over HTTPS on 127.0.0.1, the software eUICC, notifications sent); each profile is
 *     deleted afterwards, outside the timing.
 * Measurements, never assertions. Orders for the downloads are created in the demo SM-DP+ database beforehand.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { createESim, type ESim } from '../src/api/index.js';
import { buildProfilePackage } from '../src/asn1/saip.js';
import { ensureHome, readShellToken, withLuhn } from '../src/service/home.js';
import { SHELL_CALLER } from '../src/service/protocol.js';
import { EsimService } from '../src/service/service.js';
import { SmdpInventory } from '../src/smdp/inventory.js';
import { bundledChildEntry } from '../test/support/child-bundle.js';
import { emit, percentiles } from './harness.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const CONFIG = { switchAfterDownload: false, forceDisableProfile: true, isPprAllowed: true };
type Fn = 'getEid' | 'getEuiccProfileInfoList';

/** `n` extra released orders (no EID) in the demo SM-DP+ database → activation codes. */
function addOrders(home: string, n: number): string[] {
  // slots.json "demo.smdp": { address, port, db }
  const smdp = (JSON.parse(readFileSync(join(home, 'slots.json'), 'utf8')) as { demo: { smdp: { address: string; db: string } } }).demo.smdp;
  const inv = new SmdpInventory(join(home, smdp.db));
  const codes: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const iccid = withLuhn(`89990${String(Date.now() % 1e6).padStart(6, '0')}${String(i).padStart(7, '0')}`);
      const upp = buildProfilePackage({ iccid, profileType: 'esimkit bench', imsi: `00101${String(i).padStart(10, '0')}`, spn: 'bench' });
      inv.addProfile(upp, { serviceProviderName: 'bench', profileName: `bench ${i}`, profileClass: 2, profileType: 'esimkit bench' });
      const { matchingId } = inv.createOrder({ iccid });
      codes.push(`LPA:1$${smdp.address}$${matchingId}`);
    }
  } finally {
    inv.close();
  }
  return codes;
}

async function perCall(api: ESim, fn: Fn, seconds: number): Promise<{ median: number; p99: number; n: number }> {
  for (let i = 0; i < 20; i++) await api[fn](i % 2);
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || samples.length < 50) {
    const t = performance.now();
    await api[fn](samples.length % 2);
    samples.push(performance.now() - t);
  }
  return { ...percentiles(samples), n: samples.length };
}

async function concurrent(apis: ESim[], seconds: number): Promise<number> {
  let calls = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    apis.map(async (api, i) => {
      let k = i;
      while (performance.now() < end) {
        const slot = k % 2;
        if (k++ % 2 === 0) await api.getEid(slot);
        else await api.getEuiccProfileInfoList(slot);
        calls++;
      }
    }),
  );
  return calls / ((performance.now() - start) / 1000);
}

function emitPerCall(where: string, fn: Fn, r: { median: number; p99: number; n: number }): void {
  emit({ name: `api.${fn}.${where}.median_ms`, value: r.median, unit: 'ms', samples: r.n });
  emit({ name: `api.${fn}.${where}.p99_ms`, value: r.p99, unit: 'ms', samples: r.n });
}

export async function benchApi(seconds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'esimkit-bench-api-'));
  const home = join(dir, 'home');
  const downloads = Math.max(10, Math.round(seconds * 10));
  try {
    const t0 = performance.now();
    ensureHome(home);
    emit({ name: 'api.home.create_ms', value: performance.now() - t0, unit: 'ms' });
    const codes = addOrders(home, 3 + downloads);

    // ---------------------------------------------------------------- in-process
    const service = await EsimService.open({ home, unref: true });
    try {
      for (const c of codes.splice(0, 3)) {
        await service.invoke(SHELL_CALLER, 'downloadProfile', [0, 0, { activationCode: c }, CONFIG]);
      }
      const api = createESim({ caller: SHELL_CALLER, service });
      for (const fn of ['getEid', 'getEuiccProfileInfoList'] as const) emitPerCall('inprocess', fn, await perCall(api, fn, seconds));
      const apis = Array.from({ length: 50 }, () => createESim({ caller: SHELL_CALLER, service }));
      emit({ name: 'api.concurrent50.inprocess.calls_per_s', value: await concurrent(apis, seconds), unit: 'calls/s' });
    } finally {
      await service.close();
    }

    // ---------------------------------------------------------------- daemon
    const entry = await bundledChildEntry(join(ROOT, 'src/cli/main.ts'), { prefix: 'esimkit-bench-cli-' });
    const child = spawn(process.execPath, [...entry.args, 'serve', '--home', home, '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const ts = performance.now();
      const summary = await new Promise<{ socket: string }>((res, rej) => {
        let out = '';
        child.stdout!.on('data', (b: Buffer) => {
          out += b.toString('utf8');
          const i = out.indexOf('\n');
          if (i >= 0) res(JSON.parse(out.slice(0, i)) as { socket: string });
        });
        child.once('exit', (c) => rej(new Error(`esim serve exited ${c}`)));
      });
      emit({ name: 'api.daemon.start_ms', value: performance.now() - ts, unit: 'ms', note: 'spawn to summary printed (existing home)' });
      const token = readShellToken(home);
      const api = createESim({ socket: summary.socket, token, home });
      await api.ready();
      for (const fn of ['getEid', 'getEuiccProfileInfoList'] as const) emitPerCall('daemon', fn, await perCall(api, fn, seconds));
      const apis = Array.from({ length: 50 }, () => createESim({ socket: summary.socket, token, home }));
      await Promise.all(apis.map((a) => a.ready()));
      emit({ name: 'api.concurrent50.daemon.calls_per_s', value: await concurrent(apis, seconds), unit: 'calls/s', connections: 50 });
      await Promise.all(apis.map((a) => a.close()));

      const samples: number[] = [];
      let failed = 0;
      for (const code of codes) {
        const t = performance.now();
        const r = (await api.downloadProfile(1, 0, { activationCode: code }, CONFIG)) as { responseResult: number };
        const ms = performance.now() - t;
        if (r.responseResult !== 0) {
          failed++;
          continue;
        }
        samples.push(ms);
        const list = await api.getEuiccProfileInfoList(1);
        for (const p of list.profiles) await api.deleteProfile(1, p.iccid);
      }
      const p = percentiles(samples);
      emit({ name: 'api.downloadProfile.daemon.median_ms', value: p.median, unit: 'ms', samples: samples.length, failed });
      emit({ name: 'api.downloadProfile.daemon.p99_ms', value: p.p99, unit: 'ms', samples: samples.length, failed });
      await api.close();
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      entry.dispose();
    }

    // ---------------------------------------------------------------- npm start on a fresh home
    const main = await bundledChildEntry(join(ROOT, 'src/main.ts'), { prefix: 'esimkit-bench-main-' });
    try {
      const t = performance.now();
      const p = spawn(process.execPath, main.args, { env: { ...process.env, ESIM_HOME: join(dir, 'fresh') }, stdio: ['ignore', 'pipe', 'ignore'] });
      await new Promise<void>((res, rej) => {
        let out = '';
        p.stdout!.on('data', (b: Buffer) => {
          out += b.toString('utf8');
          if (out.includes('Stop with Ctrl-C')) res();
        });
        p.once('exit', (c) => rej(new Error(`npm start exited ${c}`)));
      });
      emit({ name: 'api.npmstart.first_start_ms', value: performance.now() - t, unit: 'ms', note: 'spawn to summary printed, home created' });
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGINT');
      await exited;
    } finally {
      main.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
