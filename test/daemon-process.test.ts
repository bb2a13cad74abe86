/**
 * The daemon as a real process (`esim serve`, `npm start`'s src/main.ts, bundled once with esbuild):
 * SIGTERM → exit 0 with socket and lock removed, a second daemon on the same home refused, kill -9 with a call
 * in flight → 3120001 and a clean restart on the stale lock/socket, SIGTERM or kill -9 during a download →
 * no half-installed profile, and `npm start` printing where everything is.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDaemonLock } from '../src/service/daemon.js';
import { readShellToken } from '../src/service/home.js';
import { SocketBackend } from '../src/service/ipc.js';
import { SHELL_CALLER, type DownloadProgressEvent } from '../src/service/protocol.js';
import { EsimService } from '../src/service/service.js';
import { bundledChildEntry, type ChildEntry } from './support/child-bundle.js';
import { demoActivationCodes, DOWNLOAD_CONFIG, esimCliEntry, spawnNode, type Child } from './support/daemon.js';
import { serviceCode } from './support/service.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');

interface Summary {
  home: string;
  socket: string;
  dashboard: string;
  shellTokenFile: string;
  slots: { slotId: number; eid?: string; hasEuicc: boolean }[];
  demo?: { smdpAddress?: string; smdsAddress?: string; activationCodes: string[] };
}

let cli: ChildEntry;
let dir: string;
const children: Child[] = [];

beforeAll(async () => {
  cli = await esimCliEntry();
  dir = mkdtempSync(join(tmpdir(), 'esimkit-daemon-proc-'));
});
afterAll(() => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  cli?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(home: string): Promise<{ child: Child; summary: Summary }> {
  const child = spawnNode([...cli.args, 'serve', '--home', home, '--json']);
  children.push(child);
  await child.waitStdout('\n');
  return { child, summary: JSON.parse(child.stdout.split('\n')[0]!) as Summary };
}

/** The card after a daemon died mid-download: the profile is fully there or not at all, and the card works. */
async function expectConsistentCard(home: string, slotId: number, before: number, nextCode: string): Promise<'installed' | 'absent'> {
  const svc = await EsimService.open({ home, unref: true });
  try {
    const list = (await svc.invoke(SHELL_CALLER, 'getEuiccProfileInfoList', [slotId])) as { responseResult: number; profiles: { iccid: string; state: number; profileName: string; profileClass: number }[] };
    expect(list.responseResult).toBe(0);
    expect([before, before + 1]).toContain(list.profiles.length);
    for (const p of list.profiles) {
      expect(p.iccid).toMatch(/^\d{18,20}$/);
      expect([0, 1]).toContain(p.state);
      expect(p.profileName.length).toBeGreaterThan(0);
      expect(p.profileClass).toBe(2);
    }
    // no session left half-open on the card: another download goes through
    const r = (await svc.invoke(SHELL_CALLER, 'downloadProfile', [slotId, 0, { activationCode: nextCode }, DOWNLOAD_CONFIG])) as { responseResult: number };
    expect(r.responseResult).toBe(0);
    const after = (await svc.invoke(SHELL_CALLER, 'getEuiccProfileInfoList', [slotId])) as { profiles: unknown[] };
    expect(after.profiles).toHaveLength(list.profiles.length + 1);
    return list.profiles.length === before + 1 ? 'installed' : 'absent';
  } finally {
    await svc.close();
  }
}

/** Start a download through the daemon and resolve once it reported progress (the call is then in flight). */
async function downloadInFlight(b: SocketBackend, slotId: number, code: string): Promise<{ call: Promise<number | 'resolved'>; progress: DownloadProgressEvent[] }> {
  const progress: DownloadProgressEvent[] = [];
  let seen!: () => void;
  const first = new Promise<void>((r) => (seen = r));
  b.subscribe('downloadProgress', (p) => {
    progress.push(p);
    seen();
  });
  await new Promise((r) => setTimeout(r, 50)); // the sub line reaches the daemon before the call
  const call = serviceCode(b.invoke('downloadProfile', [slotId, 0, { activationCode: code }, DOWNLOAD_CONFIG]));
  await Promise.race([first, call]);
  return { call, progress };
}

describe('esim serve (process)', () => {
  it('prints where everything is, refuses a second daemon, exits 0 on SIGTERM with socket and lock removed', async () => {
    const home = join(dir, 'h1');
    const { child, summary } = await serve(home);
    expect(summary).toMatchObject({ home, socket: join(home, 'esim.sock'), shellTokenFile: join(home, 'shell.token') });
    expect(summary.dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(summary.slots.map((s) => s.eid)).toEqual([expect.stringMatching(/^\d{32}$/), expect.stringMatching(/^\d{32}$/)]);
    expect(summary.demo?.activationCodes.length).toBeGreaterThan(0);
    expect(child.stdout).not.toContain(readShellToken(home));
    expect(readDaemonLock(home)).toMatchObject({ pid: child.proc.pid, alive: true });

    const second = spawnNode([...cli.args, 'serve', '--home', home]);
    children.push(second);
    expect((await second.exited).code).toBe(1);
    expect(second.stderr).toContain('already running');
    expect(second.stderr).toContain(`pid ${child.proc.pid}`);

    const b = await SocketBackend.connect(summary.socket, readShellToken(home));
    expect(await b.invoke('getEid', [1])).toBe(summary.slots[1]!.eid);
    child.proc.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(summary.socket)).toBe(false);
    expect(existsSync(join(home, 'daemon.lock'))).toBe(false);
    expect(await serviceCode(b.invoke('getEid', [0]))).toBe(3120001);
    await b.close();
    for (const l of child.stderr.trim().split('\n')) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });

  it('kill -9 with a call in flight → 3120001; a new daemon takes over the stale lock and socket', async () => {
    const home = join(dir, 'h2');
    const { child, summary } = await serve(home);
    const b = await SocketBackend.connect(summary.socket, readShellToken(home));
    expect(await b.invoke('getEid', [0])).toMatch(/^\d{32}$/);
    child.proc.kill('SIGSTOP'); // the call below is written but never answered
    const inFlight = serviceCode(b.invoke('getEuiccProfileInfoList', [0]));
    await new Promise((r) => setTimeout(r, 100));
    child.proc.kill('SIGKILL');
    expect(await inFlight).toBe(3120001);
    expect((await child.exited).signal).toBe('SIGKILL');
    expect(existsSync(summary.socket)).toBe(true); // left behind
    expect(readDaemonLock(home)).toMatchObject({ alive: false });

    const again = await serve(home);
    expect(again.summary.socket).toBe(summary.socket);
    expect(await b.invoke('getEid', [0])).toBe(summary.slots[0]!.eid); // the same backend reconnects
    await b.close();
    again.child.proc.kill('SIGTERM');
    expect((await again.child.exited).code).toBe(0);
  });

  it('kill -9 during a download: the client gets 3120001 or the result; the card has the whole profile or none', async () => {
    const home = join(dir, 'h3');
    const { child, summary } = await serve(home);
    const codes = demoActivationCodes(home);
    const b = await SocketBackend.connect(summary.socket, readShellToken(home));
    const { call, progress } = await downloadInFlight(b, 0, codes[0]!);
    child.proc.kill('SIGKILL');
    const outcome = await call;
    expect([3120001, 'resolved']).toContain(outcome);
    await child.exited;
    await b.close();
    const state = await expectConsistentCard(home, 0, 0, codes[1]!);
    if (outcome === 'resolved') expect(state).toBe('installed');
    expect(progress.length).toBeGreaterThan(0);
  });

  it('SIGTERM during a download: the daemon finishes or rolls back the download, answers, and exits 0', async () => {
    const home = join(dir, 'h4');
    const { child, summary } = await serve(home);
    const codes = demoActivationCodes(home);
    const b = await SocketBackend.connect(summary.socket, readShellToken(home));
    const { call } = await downloadInFlight(b, 1, codes[0]!);
    child.proc.kill('SIGTERM');
    const outcome = await call;
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(summary.socket)).toBe(false);
    expect(existsSync(join(home, 'daemon.lock'))).toBe(false);
    await b.close();
    const state = await expectConsistentCard(home, 1, 0, codes[1]!);
    // an orderly stop answers the call it let finish
    if (state === 'installed') expect(outcome).toBe('resolved');
    const log = child.stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    expect(log.map((l) => l.event)).toEqual(expect.arrayContaining(['started', 'stopping', 'stopped']));
  });
});

describe('SocketBackend in a script', () => {
  it('does not keep the process alive once its calls are answered (no close() needed)', async () => {
    const home = join(dir, 'h5');
    const { child, summary } = await serve(home);
    const script = join(dir, 'script.ts');
    writeFileSync(
      script,
      `import { SocketBackend } from ${JSON.stringify(join(ROOT, 'src/service/ipc.ts'))};\n` +
        `const b = await SocketBackend.connect(process.argv[2]!, process.argv[3]!);\n` +
        `console.log('EID', await b.invoke('getEid', [0]));\n` +
        // a script may also close the backend and go on: what follows close() must run (the socket is unref'd
        // while idle; close() must not let Node end the process before it resolves)
        `const c = await SocketBackend.connect(process.argv[2]!, process.argv[3]!);\n` +
        `await c.invoke('getEid', [1]);\n` +
        `await c.close();\n` +
        `console.log('after close');\n`,
    );
    const entry = await bundledChildEntry(script, { prefix: 'esimkit-script-' });
    try {
      const run = spawnNode([...entry.args, summary.socket, readShellToken(home)]);
      children.push(run);
      expect(await run.exited).toEqual({ code: 0, signal: null });
      expect(run.stdout).toBe(`EID ${summary.slots[0]!.eid}\nafter close\n`);
    } finally {
      entry.dispose();
      child.proc.kill('SIGTERM');
      await child.exited;
    }
  });
});

describe('npm start (src/main.ts)', () => {
  let main: ChildEntry;
  beforeAll(async () => {
    main = await bundledChildEntry(join(ROOT, 'src/main.ts'), { prefix: 'esimkit-main-' });
  });
  afterAll(() => main?.dispose());

  it('creates the default home on a first start and prints home, socket, dashboard, token file, EIDs, demo servers and codes; SIGINT → exit 0', async () => {
    const home = join(dir, 'npm-start-home');
    const t0 = Date.now();
    const child = spawnNode(main.args, { ESIM_HOME: home });
    children.push(child);
    await child.waitStdout('Stop with Ctrl-C');
    const ms = Date.now() - t0;
    const out = child.stdout;
    expect(out).toContain(`home:          ${home}`);
    expect(out).toContain(`socket:        ${join(home, 'esim.sock')}`);
    expect(out).toMatch(/dashboard: +http:\/\/127\.0\.0\.1:\d+\//);
    expect(out).toContain(`shell token:   ${join(home, 'shell.token')}`);
    expect(out.match(/EID \d{32}/g)).toHaveLength(2);
    expect(out).toMatch(/demo SM-DP\+: +localhost:\d+/);
    expect(out).toMatch(/demo SM-DS: +localhost:\d+/);
    for (const c of demoActivationCodes(home)) expect(out).toContain(c);
    expect(out).not.toContain(readShellToken(home));
    expect(ms).toBeGreaterThan(0); // (start time is a bench figure, not asserted)
    child.proc.kill('SIGINT');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(join(home, 'esim.sock'))).toBe(false);
  });
});
