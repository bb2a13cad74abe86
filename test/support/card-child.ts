/**
 * Test helper: a software eUICC in a child process (test/support/card-process.ts), driven over its
 * stdin/stdout with 2-byte length framing, and killable with SIGKILL at any moment.
 *
 * - `cardProcessEntry()`: how to start the card process. Starting it through tsx costs ~0.45 s per process
 *   on the 2-core CI machine; a one-off esbuild bundle of card-process.ts (better-sqlite3 left external,
 *   resolved to its absolute path so the bundle may live in a temporary folder) starts in ~0.15 s. Falls
 *   back to `node --import tsx` when esbuild (a dependency of tsx and vite) cannot be loaded.
 * - `CardChild.start(entry, statePath)`: spawns the card and waits for its ready frame.
 * - `child.transmit(apdu)`: one APDU, the response APDU; `child.send(apdu)`: write only (kill tests).
 * - `child.kill()`: SIGKILL, resolves once the process is gone.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledChildEntry, type ChildEntry } from './child-bundle.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CARD_PROCESS_TS = join(HERE, 'card-process.ts');

export type CardProcessEntry = ChildEntry;

/** Bundle card-process.ts once (see the file comment); tsx when that fails. */
export function cardProcessEntry(opts: { bundle?: boolean } = {}): Promise<CardProcessEntry> {
  return bundledChildEntry(CARD_PROCESS_TS, { ...opts, prefix: 'esimkit-card-' });
}

/** The card process ended (or was killed) while a response was awaited. */
export class CardGoneError extends Error {
  override readonly name = 'CardGoneError';
}

export class CardChild {
  /** Resolves with the exit code / signal when the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly proc: ChildProcessWithoutNullStreams;
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiting: { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }[] = [];
  private ready = false;
  private onReady: (() => void) | undefined;
  private gone = false;
  private stderr = '';

  private constructor(proc: ChildProcessWithoutNullStreams) {
    this.proc = proc;
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.gone = true;
        const err = new CardGoneError(`card process ended (code ${code}, signal ${signal})${this.stderr ? `: ${this.stderr.trim()}` : ''}`);
        for (const w of this.waiting.splice(0)) w.reject(err);
        resolve({ code, signal });
      });
    });
    proc.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    proc.stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 4000) this.stderr += chunk.toString('utf8');
    });
    // writes after a kill fail with EPIPE: nothing to do about them
    proc.stdin.on('error', () => {});
  }

  /** Start the card on `statePath` and wait for its ready frame. */
  static async start(entry: CardProcessEntry, statePath: string): Promise<CardChild> {
    const proc = spawn(process.execPath, [...entry.args, statePath], { stdio: ['pipe', 'pipe', 'pipe'] });
    const child = new CardChild(proc);
    await new Promise<void>((resolve, reject) => {
      child.onReady = resolve;
      void child.exited.then(() => reject(new CardGoneError(`card process did not start: ${child.stderr.trim()}`)));
    });
    return child;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get stderrText(): string {
    return this.stderr;
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 2) {
      const n = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + n) break;
      const frame = new Uint8Array(this.buf.subarray(2, 2 + n));
      this.buf = this.buf.subarray(2 + n);
      if (!this.ready) {
        this.ready = true;
        this.onReady?.();
        continue;
      }
      const w = this.waiting.shift();
      if (w) w.resolve(frame);
    }
  }

  /** Write one framed APDU without waiting for its response (which is then discarded). */
  send(apdu: Uint8Array): void {
    if (apdu.length > 0xffff) throw new RangeError('APDU too long for the 2-byte frame');
    const out = Buffer.alloc(2 + apdu.length);
    out.writeUInt16BE(apdu.length, 0);
    out.set(apdu, 2);
    this.proc.stdin.write(out);
  }

  /** One APDU; resolves with the response APDU. */
  transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (this.gone) return Promise.reject(new CardGoneError('card process has ended'));
    const p = new Promise<Uint8Array>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.send(apdu);
    return p;
  }

  /** SIGKILL; resolves when the process is gone. */
  async kill(): Promise<void> {
    if (!this.gone) this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** Orderly stop: end stdin (the card closes its state file), wait for the exit. */
  async close(): Promise<void> {
    if (!this.gone) this.proc.stdin.end();
    await this.exited;
  }
}
