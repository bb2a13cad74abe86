/**
 * SocketBackend against a scripted peer on a real Unix socket (timeouts, late answers, drops, refusals), and
 * serveSocket's socket-file rules. The daemon with the real service: test/daemon*.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallerRegistry } from './callers.js';
import { serveSocket, SocketBackend, SocketInUseError, type DaemonService } from './ipc.js';
import { ServiceError } from './protocol.js';
import { serviceCode } from '../../test/support/service.js';

const SLOTS = [
  { slotId: 0, transport: 'virtual', ports: 1, removable: false, hasEuicc: true, osuProvider: true },
  { slotId: 1, transport: 'none', ports: 0, removable: false, hasEuicc: false, osuProvider: false },
];

/** A peer that welcomes every hello and hands each call line to `onCall`. */
async function peer(path: string, onCall: (msg: { id: number; fn: string; args: unknown[] }, s: Socket) => void, hello?: (s: Socket) => void): Promise<Server> {
  const server = createServer((s) => {
    let buf = '';
    s.on('error', () => {});
    s.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, i)) as { t: string; id: number; fn: string; args: unknown[] };
        buf = buf.slice(i + 1);
        if (msg.t === 'hello') {
          if (hello) hello(s);
          else s.write(JSON.stringify({ t: 'welcome', v: 1, caller: { bundleName: 'shell', systemApp: true, permissions: [] }, slots: SLOTS }) + '\n');
        } else if (msg.t === 'call') onCall(msg, s);
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return server;
}

describe('SocketBackend', () => {
  let dir: string;
  let path: string;
  let server: Server | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-ipc-'));
    path = join(dir, 's.sock');
  });
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('3120001 when nothing listens, with the reason', async () => {
    const e = await SocketBackend.connect(path, 'tok').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ServiceError);
    expect((e as ServiceError).code).toBe(3120001);
    expect((e as ServiceError).message).toContain('ENOENT');
  });

  it("a refused hello rejects with the daemon's code; a silent peer with 3120001 after the connect timeout", async () => {
    server = await peer(path, () => {}, (s) => s.end(JSON.stringify({ t: 'error', code: 201, message: 'Permission denied: unknown token.' }) + '\n'));
    const e = (await SocketBackend.connect(path, 'tok').catch((x: unknown) => x)) as ServiceError;
    expect([e.code, e.message]).toEqual([201, 'Permission denied: unknown token.']);
    await new Promise<void>((r) => server!.close(() => r()));
    server = await peer(path, () => {}, () => {});
    expect(await serviceCode(SocketBackend.connect(path, 'tok', { connectTimeoutMs: 200 }))).toBe(3120001);
  });

  it('isSupportedSync from the welcome; results and errors by id; a timed-out call → 3120002 and its late answer is dropped', async () => {
    const held: { id: number; s: Socket }[] = [];
    server = await peer(path, (m, s) => {
      if (m.fn === 'getEid') s.write(JSON.stringify({ t: 'result', id: m.id, value: `eid-${m.id}` }) + '\n');
      else if (m.fn === 'deleteProfile') s.write(JSON.stringify({ t: 'error', id: m.id, code: 401, message: 'bad iccid' }) + '\n');
      else held.push({ id: m.id, s }); // answered late, by hand
    });
    const b = await SocketBackend.connect(path, 'tok', { callTimeoutMs: () => 100, timeoutSlackMs: 0 });
    try {
      expect([b.isSupportedSync(0), b.isSupportedSync(1), b.isSupportedSync(2)]).toEqual([true, false, false]);
      expect(await b.invoke('getEid', [0])).toBe('eid-1');
      const err = (await b.invoke('deleteProfile', [0, '1']).catch((x: unknown) => x)) as ServiceError;
      expect([err.code, err.message]).toEqual([401, 'bad iccid']);
      const slow = await b.invoke('getEuiccInfo', [0]).catch((x: unknown) => x);
      expect((slow as ServiceError).code).toBe(3120002);
      // the late answer arrives now: dropped, and the next call gets its own answer
      held[0]!.s.write(JSON.stringify({ t: 'result', id: held[0]!.id, value: 'late' }) + '\n');
      expect(await b.invoke('getEid', [0])).toBe('eid-4');
      // arguments that are not JSON → 401 before anything is sent
      expect(await serviceCode(b.invoke('getEid', [10n]))).toBe(401);
    } finally {
      await b.close();
    }
    expect(await serviceCode(b.invoke('getEid', [0]))).toBe(3120001);
  });

  it('a connection that drops mid-call → 3120001; the next call reconnects', async () => {
    let n = 0;
    server = await peer(path, (m, s) => {
      if (n++ === 0) s.destroy();
      else s.write(JSON.stringify({ t: 'result', id: m.id, value: 'ok' }) + '\n');
    });
    const b = await SocketBackend.connect(path, 'tok');
    try {
      expect(await serviceCode(b.invoke('getEid', [0]))).toBe(3120001);
      expect(await b.invoke('getEid', [0])).toBe('ok');
    } finally {
      await b.close();
    }
  });
});

describe('serveSocket socket file', () => {
  let dir: string;
  let db: Database.Database;
  const service: DaemonService = {
    invoke: async () => 'x',
    on: () => () => {},
    factoryReset: async () => [],
    config: { slots: [] },
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-ipc-srv-'));
    db = new Database(':memory:');
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never removes a regular file, refuses a live socket, replaces a dead one, and rejects an over-long path', async () => {
    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'keep me');
    await expect(serveSocket(service, new CallerRegistry(db), file)).rejects.toThrow('not a socket');
    expect(readFileSync(file, 'utf8')).toBe('keep me');

    const path = join(dir, 'd.sock');
    const first = await serveSocket(service, new CallerRegistry(db), path);
    await expect(serveSocket(service, new CallerRegistry(db), path)).rejects.toBeInstanceOf(SocketInUseError);
    expect(existsSync(path)).toBe(true);
    await first.close();
    expect(existsSync(path)).toBe(false);

    // a socket file nobody listens on any more: its owner was killed (kill -9 leaves the file behind)
    const r = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(r.signal).toBe('SIGKILL');
    expect(lstatSync(path).isSocket()).toBe(true);
    const again = await serveSocket(service, new CallerRegistry(db), path);
    await again.close();

    await expect(serveSocket(service, new CallerRegistry(db), join(dir, 'x'.repeat(120)))).rejects.toThrow('longer than');
  });
});
