/**
 * Test helper: the reference SM-DP+ (src/smdp/server.ts) in its own process, killable with SIGKILL at any
 * moment and restartable on the same SQLite file and port (restart-safety tests, test/restart.test.ts).
 *
 * Parent side (imported by tests):
 *   - `writeSmdpIdentityDir(dir, identity)`: the SM-DP+ identity as files (CI/DPauth/DPpb DER, keys and the
 *     DPtls as PEM; key files 0600), so that every restart serves the same certificates.
 *   - `childEntry()`: an esbuild bundle of this file (npm packages left external, resolved to absolute paths,
 *     as test/support/card-child.ts does for the card), falling back to `node --import tsx`.
 *   - `SmdpChild.start(entry, { dbPath, identityDir, port, dieAt })`: spawns `smdp` mode and resolves once
 *     the child printed `LISTENING {"url","address","port"}`. `child.kill()` = SIGKILL; `child.stop()` =
 *     SIGTERM (orderly close). `child.onRequest(fn)` is told (from a `REQ <fn>` line) when an ES9+ request
 *     arrived, before the handler runs (for kills at a random delay inside a handler).
 *   - `dieAt: '<es9p function>:<request|send|response>'`: the child SIGKILLs itself in the fastify hook
 *     onRequest (before the handler: nothing processed), onSend (handler done and committed, the answer not
 *     yet written) or onResponse (answer written) of that function — precise kill points.
 *
 * Child side, `lpa` mode: an LPA download (src/lpa/download.ts) with a SoftEuicc opened on a state file,
 * over VirtualTransport, printing `APDU <n>` before each command APDU and `DONE <json>` / `FAIL <json>` at
 * the end — the parent kills it at a chosen APDU (test/restart.test.ts part b).
 *
 *   node <bundle> smdp <identity dir> <db file> <port> [dieAt | quiet]
 *   (ESIMKIT_SMDP_NODE_ARGS: extra node options for the smdp child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p")
 *   node <bundle> lpa <card state file> <ci.der> <activation code>
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Session } from 'node:inspector';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledChildEntry, type ChildEntry } from './child-bundle.js';
import type { ApduTransport } from '../../src/apdu/transport.js';
import { VirtualTransport } from '../../src/apdu/transports/virtual.js';
import { privateKeyFromPem, privateKeyToPem } from '../../src/crypto/ecdsa.js';
import { SoftEuicc } from '../../src/euicc/card.js';
import { downloadProfile } from '../../src/lpa/download.js';
import { LpaError } from '../../src/lpa/result-codes.js';
import type { SmdpIdentity } from '../../src/smdp/identity.js';
import { SmdpServer } from '../../src/smdp/server.js';

const THIS_FILE = fileURLToPath(import.meta.url);

// ------------------------------------------------------------------------------------------ identity files

export function writeSmdpIdentityDir(dir: string, id: SmdpIdentity): void {
  mkdirSync(dir, { recursive: true });
  const secret = (name: string, text: string): void => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    chmodSync(join(dir, name), 0o600);
  };
  id.ciCerts.forEach((c, i) => writeFileSync(join(dir, `ci${i}.der`), c));
  writeFileSync(join(dir, 'dpauth.der'), id.dpAuth.certDer);
  secret('dpauth.key.pem', privateKeyToPem(id.dpAuth.privateKey));
  writeFileSync(join(dir, 'dppb.der'), id.dpPb.certDer);
  secret('dppb.key.pem', privateKeyToPem(id.dpPb.privateKey));
  writeFileSync(join(dir, 'tls.crt.pem'), id.tls.certPem + (id.tls.chainPem ?? ''));
  secret('tls.key.pem', id.tls.keyPem);
  writeFileSync(join(dir, 'ci.count'), String(id.ciCerts.length));
}

export function readSmdpIdentityDir(dir: string, address: string): SmdpIdentity {
  const n = Number(readFileSync(join(dir, 'ci.count'), 'utf8'));
  const der = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, name)));
  return {
    address,
    ciCerts: Array.from({ length: n }, (_, i) => der(`ci${i}.der`)),
    dpAuth: { certDer: der('dpauth.der'), privateKey: privateKeyFromPem(readFileSync(join(dir, 'dpauth.key.pem'), 'utf8')) },
    dpPb: { certDer: der('dppb.der'), privateKey: privateKeyFromPem(readFileSync(join(dir, 'dppb.key.pem'), 'utf8')) },
    tls: { certPem: readFileSync(join(dir, 'tls.crt.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'tls.key.pem'), 'utf8') },
  };
}

// ------------------------------------------------------------------------------------------ bundle

export type { ChildEntry } from './child-bundle.js';

/** Bundle this file once (fast child start); `node --import tsx` when esbuild is missing or `bundle: false` (profiles with source file names). */
export function childEntry(opts: { bundle?: boolean } = {}): Promise<ChildEntry> {
  return bundledChildEntry(THIS_FILE, { prefix: 'esimkit-smdp-', ...opts });
}

// ------------------------------------------------------------------------------------------ parent side

export type DiePhase = 'request' | 'send' | 'response';
export type DieAt = `${string}:${DiePhase}`;

/** A child process speaking the line protocol of this file. */
class LineChild {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  protected readonly proc: ChildProcessWithoutNullStreams;
  private out = '';
  private err = '';
  protected gone = false;
  protected readonly listeners: ((line: string) => void)[] = [];

  protected constructor(proc: ChildProcessWithoutNullStreams) {
    this.proc = proc;
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.gone = true;
        resolve({ code, signal });
      });
    });
    proc.stdout.on('data', (chunk: Buffer) => {
      this.out += chunk.toString('utf8');
      let i: number;
      while ((i = this.out.indexOf('\n')) >= 0) {
        const line = this.out.slice(0, i);
        this.out = this.out.slice(i + 1);
        for (const l of [...this.listeners]) l(line);
      }
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      if (this.err.length < 8000) this.err += chunk.toString('utf8');
    });
    proc.stdin.on('error', () => {});
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get stderrText(): string {
    return this.err;
  }

  get alive(): boolean {
    return !this.gone;
  }

  onLine(l: (line: string) => void): void {
    this.listeners.push(l);
  }

  /** Wait for the first line starting with one of `prefixes` (rejects when the process ends first). */
  waitLine(prefixes: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const l = (line: string): void => {
        if (prefixes.some((p) => line.startsWith(p))) {
          this.listeners.splice(this.listeners.indexOf(l), 1);
          resolve(line);
        }
      };
      this.listeners.push(l);
      void this.exited.then((x) => reject(new Error(`child ended (code ${x.code}, signal ${x.signal}) before ${prefixes.join('|')}: ${this.err.trim().slice(0, 2000)}`)));
    });
  }

  /** SIGKILL (by pid of this child only); resolves once gone. */
  async kill(): Promise<void> {
    if (!this.gone) this.proc.kill('SIGKILL');
    await this.exited;
  }
}

export class SmdpChild extends LineChild {
  url = '';
  address = '';
  port = 0;

  /** `quiet`: no REQ lines and no kill hooks (benchmarks: the plain server). */
  static async start(entry: ChildEntry, o: { identityDir: string; dbPath: string; port?: number; dieAt?: DieAt; quiet?: boolean }): Promise<SmdpChild> {
    const nodeArgs = process.env.ESIMKIT_SMDP_NODE_ARGS?.split(' ').filter((a) => a.length > 0) ?? [];
    const args = [...nodeArgs, ...entry.args, 'smdp', o.identityDir, o.dbPath, String(o.port ?? 0), ...(o.dieAt ? [o.dieAt] : o.quiet ? ['quiet'] : [])];
    const child = new SmdpChild(spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    const line = await child.waitLine(['LISTENING ']);
    const info = JSON.parse(line.slice('LISTENING '.length)) as { url: string; address: string; port: number };
    child.url = info.url;
    child.address = info.address;
    child.port = info.port;
    return child;
  }

  /** Called with the ES9+ function name when a request arrived (before its handler). */
  onRequest(fn: (name: string) => void): void {
    this.onLine((line) => {
      if (line.startsWith('REQ ')) fn(line.slice(4));
    });
  }

  /** Orderly stop (SIGTERM: the server closes its database). */
  async stop(): Promise<void> {
    if (!this.gone) this.proc.kill('SIGTERM');
    await this.exited;
  }
}

export interface LpaChildOutcome {
  ok: boolean;
  iccid?: string;
  notificationSent?: boolean;
  resultCode?: number;
  message?: string;
}

export class LpaChild extends LineChild {
  /** Command APDUs the child has started sending so far. */
  apdus = 0;
  readonly done: Promise<LpaChildOutcome | undefined>;

  private constructor(proc: ChildProcessWithoutNullStreams) {
    super(proc);
    this.onLine((line) => {
      if (line.startsWith('APDU ')) this.apdus = Number(line.slice(5));
    });
    this.done = new Promise((resolve) => {
      this.onLine((line) => {
        if (line.startsWith('DONE ') || line.startsWith('FAIL ')) resolve(JSON.parse(line.slice(5)) as LpaChildOutcome);
      });
      void this.exited.then(() => resolve(undefined));
    });
  }

  static spawn(entry: ChildEntry, o: { cardPath: string; ciDerPath: string; activationCode: string }): LpaChild {
    return new LpaChild(spawn(process.execPath, [...entry.args, 'lpa', o.cardPath, o.ciDerPath, o.activationCode], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  /** Called with n when the child is about to send its n-th command APDU (1-based). */
  onApdu(fn: (n: number) => void): void {
    this.onLine((line) => {
      if (line.startsWith('APDU ')) fn(Number(line.slice(5)));
    });
  }
}

// ------------------------------------------------------------------------------------------ child side

async function smdpMain(argv: string[]): Promise<void> {
  const [identityDir, dbPath, portArg, dieAt] = argv;
  if (!identityDir || !dbPath || portArg === undefined) throw new Error('usage: smdp <identity dir> <db file> <port> [fn:phase]');
  const port = Number(portArg);
  const quiet = dieAt === 'quiet';
  const [dieFn, diePhase] = dieAt && !quiet ? dieAt.split(':') : [undefined, undefined];
  const identity = readSmdpIdentityDir(identityDir, `localhost:${port}`);
  const fnOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1);
  const die = (): void => {
    process.kill(process.pid, 'SIGKILL');
  };
  const server = await SmdpServer.start({
    identity,
    dbPath,
    port,
    host: '127.0.0.1',
    register: (app) => {
      if (quiet) return;
      app.addHook('onRequest', async (req) => {
        const fn = fnOf(req.url);
        process.stdout.write(`REQ ${fn}\n`);
        if (fn === dieFn && diePhase === 'request') die();
      });
      app.addHook('onSend', async (req, _reply, payload) => {
        if (fnOf(req.url) === dieFn && diePhase === 'send') die();
        return payload;
      });
      app.addHook('onResponse', async (req) => {
        if (fnOf(req.url) === dieFn && diePhase === 'response') die();
      });
    },
  });
  process.on('SIGTERM', () => {
    void server.close().finally(() => process.exit(0));
  });
  profileWindow();
  process.stdout.write(`LISTENING ${JSON.stringify({ url: server.url, address: server.address, port: server.port })}\n`);
}

/**
 * ESIMKIT_SMDP_PROFILE=<file>,<fromMs>,<forMs> (benchmarks): a V8 CPU profile of the server from <fromMs>
 * after start for <forMs>, written to <file> (the warm steady state, without start-up and JIT warm-up).
 */
function profileWindow(): void {
  const spec = process.env.ESIMKIT_SMDP_PROFILE;
  if (!spec) return;
  const [file, from, span] = spec.split(',');
  const session = new Session();
  session.connect();
  const post = (m: string, p: object = {}): Promise<unknown> => new Promise((res, rej) => session.post(m, p, (e, r) => (e ? rej(e) : res(r))));
  setTimeout(() => {
    void post('Profiler.enable')
      .then(() => post('Profiler.setSamplingInterval', { interval: 250 }))
      .then(() => post('Profiler.start'));
    setTimeout(() => {
      void post('Profiler.stop').then((r) => writeFileSync(file!, JSON.stringify((r as { profile: unknown }).profile)));
    }, Number(span));
  }, Number(from));
}

/** Counts and announces each command APDU before passing it on. */
class AnnouncingTransport implements ApduTransport {
  private n = 0;
  constructor(private readonly inner: VirtualTransport) {}
  get capabilities(): ApduTransport['capabilities'] {
    return this.inner.capabilities;
  }
  transmit(apdu: Uint8Array, options?: { timeoutMs?: number }): Promise<Uint8Array> {
    this.n++;
    process.stdout.write(`APDU ${this.n}\n`);
    return this.inner.transmit(apdu, options);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

async function lpaMain(argv: string[]): Promise<void> {
  const [cardPath, ciDerPath, activationCode] = argv;
  if (!cardPath || !ciDerPath || !activationCode) throw new Error('usage: lpa <card state> <ci.der> <activation code>');
  const card = SoftEuicc.open(cardPath);
  try {
    const r = await downloadProfile({
      transport: new AnnouncingTransport(new VirtualTransport(card)),
      activationCode,
      trust: { ciCertificates: [new Uint8Array(readFileSync(ciDerPath))] },
      http: { resolve: (h) => (h === 'localhost' ? '127.0.0.1' : undefined) },
      timeouts: { connectMs: 3000, requestMs: 10_000, overallMs: 30_000 },
    });
    process.stdout.write(`DONE ${JSON.stringify({ ok: true, iccid: r.iccid, notificationSent: r.notificationSent })}\n`);
  } catch (e) {
    const out: LpaChildOutcome = { ok: false, message: (e as Error).message, ...(e instanceof LpaError && { resultCode: e.resultCode }) };
    process.stdout.write(`FAIL ${JSON.stringify(out)}\n`);
  } finally {
    card.close();
  }
}

const isMain = process.argv[1] !== undefined && resolvePath(process.argv[1]) === THIS_FILE;
if (isMain) {
  const [mode, ...rest] = process.argv.slice(2);
  const main = mode === 'smdp' ? smdpMain : mode === 'lpa' ? lpaMain : undefined;
  if (!main) {
    process.stderr.write('usage: smdp-process smdp|lpa ...\n');
    process.exit(2);
  }
  main(rest).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}

