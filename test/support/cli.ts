/**
 * Test helpers for the LPA commands of the `esim` CLI (test/cli-*.test.ts): run the CLI in-process (runCli)
 * with scripted answers, a test-owned service served on a Unix socket (a small daemon whose options the test
 * chooses), and `esim` as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main.js';
import type { LpaIo } from '../../src/cli/output.js';
import { CallerRegistry } from '../../src/service/callers.js';
import { homePaths } from '../../src/service/home.js';
import { serveSocket } from '../../src/service/ipc.js';
import { EsimService, type EsimServiceOptions } from '../../src/service/service.js';
import { esimCliEntry } from './daemon.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
  /** stdout parsed as the command's one JSON document. */
  json<T = Record<string, unknown>>(): T;
  /** The questions asked (scripted answers). */
  questions: { question: string; secret: boolean }[];
}

export interface CliRunOptions {
  /** Answers to the questions, in order (undefined: no answer / end of input). Without it, no question can be asked. */
  answers?: (string | undefined)[];
  env?: Record<string, string | undefined>;
  isTTY?: LpaIo['isTTY'];
  signal?: AbortSignal;
}

/** `esim <args>` in-process. stdin/stdout/stderr are not terminals unless `isTTY` says so. */
export async function cli(args: readonly string[], o: CliRunOptions = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const questions: CliRun['questions'] = [];
  const answers = o.answers ? [...o.answers] : undefined;
  const io: LpaIo = {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    isTTY: o.isTTY ?? { stdout: false, stderr: false, stdin: false },
    env: { ...o.env },
    ...(o.signal && { signal: o.signal }),
    ...(answers && {
      ask: async (question: string, q: { secret: boolean }) => {
        questions.push({ question, secret: q.secret });
        return answers.shift();
      },
    }),
  };
  const code = await runCli(args, io);
  return {
    code,
    out,
    err,
    questions,
    json: <T>() => {
      try {
        return JSON.parse(out) as T;
      } catch {
        throw new Error(`stdout is not one JSON document (exit ${code}):\n${out}\nstderr:\n${err}`);
      }
    },
  };
}

/** A test-owned service of `home` served on a Unix socket with the home's shell token (the CLI's --socket). */
export async function socketService(
  home: string,
  o: EsimServiceOptions = {},
): Promise<{ service: EsimService; socket: string; registry: CallerRegistry; close(): Promise<void> }> {
  const service = await EsimService.open({ home, unref: true, ...o });
  const paths = homePaths(home);
  const registry = new CallerRegistry(service.store.db, { shellTokenFile: paths.shellToken });
  const socket = join(home, 'test.sock');
  const server = await serveSocket(service, registry, socket);
  return {
    service,
    socket,
    registry,
    close: async () => {
      await server.close({ graceMs: 0 });
      await service.close();
    },
  };
}

export interface ChildRun {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code; -1 when a signal killed the process (then `signal` names it). */
  readonly exit: Promise<number>;
  readonly signal?: string;
  /** Wait until stderr (or stdout) satisfies `pred`. */
  waitFor(pred: (o: { stdout: string; stderr: string }) => boolean, ms?: number): Promise<void>;
}

/** `esim <args>` as a child process (the esbuild bundle of src/cli/main.ts). */
export async function spawnCli(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<ChildRun> {
  const entry = await esimCliEntry();
  return spawnProcess(process.execPath, [...entry.args, ...args], env);
}

/** The node arguments that run `esim` (for a command line built by the test, e.g. under `script`). */
export async function esimCommandLine(): Promise<string[]> {
  return [process.execPath, ...(await esimCliEntry()).args];
}

/** Any command as a child process, its output collected; `env` adds to (undefined: removes from) process.env. */
export function spawnProcess(command: string, args: readonly string[], env: Record<string, string | undefined> = {}): ChildRun {
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) fullEnv[k] = v;
  const child = spawn(command, [...args], { env: fullEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  const run = { child, stdout: '', stderr: '' } as ChildRun & { stdout: string; stderr: string };
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', (c: Buffer) => {
    run.stdout += c.toString('utf8');
    wake();
  });
  child.stderr!.on('data', (c: Buffer) => {
    run.stderr += c.toString('utf8');
    wake();
  });
  (run as { exit: Promise<number> }).exit = new Promise<number>((resolve) => {
    child.once('close', (code, signal) => {
      wake();
      (run as { signal?: string }).signal = signal ?? undefined;
      resolve(code ?? -1);
    });
  });
  let exited = false;
  void run.exit.then(() => (exited = true));
  run.waitFor = (pred, ms = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (pred(run)) {
          cleanup();
          resolve();
        } else if (exited) {
          cleanup();
          reject(new Error(`the child exited before the condition held; stderr:\n${run.stderr.slice(-2000)}\nstdout:\n${run.stdout.slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`condition not met within ${ms} ms; stderr:\n${run.stderr.slice(-2000)}`));
      }, ms);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return run;
}
