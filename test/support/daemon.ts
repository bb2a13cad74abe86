/**
 * Test helpers for the daemon (test/daemon*.test.ts): a raw line-protocol client for the Unix socket, the demo
 * activation codes of a home, a download configuration, and `esim serve` as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledChildEntry, type ChildEntry } from './child-bundle.js';

/** A raw client: every line the daemon sends, parsed, and whether the daemon closed the connection. */
export class RawClient {
  readonly lines: unknown[] = [];
  closed = false;
  private buf = '';
  private waiters: Array<() => void> = [];
  private constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.buf += c.toString('utf8');
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        try {
          this.lines.push(JSON.parse(l));
        } catch {
          this.lines.push({ unparsable: l });
        }
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }
  static connect(path: string): Promise<RawClient> {
    return new Promise((res, rej) => {
      const s = createConnection(path);
      s.once('connect', () => res(new RawClient(s)));
      s.once('error', rej);
    });
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  send(text: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }
  sendJson(v: unknown): void {
    this.send(JSON.stringify(v) + '\n');
  }
  /** Wait until `pred` holds over the lines seen so far (or the connection closed when `orClose`). */
  async until(pred: (lines: unknown[]) => boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.lines)) {
      if (Date.now() > deadline) throw new Error(`RawClient: condition not met within ${ms} ms; lines ${JSON.stringify(this.lines).slice(0, 500)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }
  async untilClosed(ms = 20_000): Promise<void> {
    await this.until(() => this.closed, ms);
  }
  /** The answer (result or error) to call `id`. */
  async answer(id: number | string, ms = 60_000): Promise<Record<string, unknown>> {
    const find = (): Record<string, unknown> | undefined =>
      this.lines.find((l): l is Record<string, unknown> => typeof l === 'object' && l !== null && (l as Record<string, unknown>)['id'] === id);
    await this.until(() => find() !== undefined, ms);
    return find()!;
  }
  destroy(): void {
    this.socket.destroy();
  }
}

/** The demo activation codes of a home (home/demo.json). */
export function demoActivationCodes(home: string): string[] {
  const v = JSON.parse(readFileSync(join(home, 'demo.json'), 'utf8')) as { activationCodes: string[] };
  return v.activationCodes;
}

export const DOWNLOAD_CONFIG = { switchAfterDownload: false, forceDisableProfile: true, isPprAllowed: true };

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

let cliEntry: Promise<ChildEntry> | undefined;
/** The `esim` CLI (src/cli/main.ts) bundled once per test file. */
export function esimCliEntry(): Promise<ChildEntry> {
  cliEntry ??= bundledChildEntry(join(ROOT, 'src/cli/main.ts'), { prefix: 'esimkit-cli-' });
  return cliEntry;
}

/** A child process with its output collected. */
export interface Child {
  readonly proc: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stdout contains `text`. */
  waitStdout(text: string | RegExp, ms?: number): Promise<void>;
}

export function spawnNode(args: readonly string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, [...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const c: Child = {
    proc,
    stdout: '',
    stderr: '',
    exited: new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal }))),
    async waitStdout(text, ms = 60_000) {
      const deadline = Date.now() + ms;
      const ok = (): boolean => (typeof text === 'string' ? c.stdout.includes(text) : text.test(c.stdout));
      while (!ok()) {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`child exited (${proc.exitCode ?? proc.signalCode}) before printing ${String(text)}; stderr: ${c.stderr.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`child did not print ${String(text)} within ${ms} ms; stderr: ${c.stderr.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  proc.stdout!.on('data', (b: Buffer) => (c.stdout += b.toString('utf8')));
  proc.stderr!.on('data', (b: Buffer) => (c.stderr += b.toString('utf8')));
  return c;
}
