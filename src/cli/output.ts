/**
 * Output of the LPA commands (`esim chip|profile|notification|osu ...`): readable tables by default, colour
 * only when stdout is a terminal and NO_COLOR is unset, exactly one JSON document on stdout with `--json`,
 * progress on stderr (a bar with the step names on a terminal, JSON lines with `--json`, plain step lines
 * otherwise), the exit codes, and the terminal questions (confirmation, consent, confirmation code).
 *
 * Exit codes (README "The esim command line"):
 *   0 ok · 1 anything else (801, 3120002, declined) · 2 usage error (commander, BusinessError 401)
 *   3 the eUICC or the server refused (a ResultCode other than 0, responseResult ≠ 0)
 *   4 the service cannot be reached (3120001) · 5 permission (201, 202) · 130 interrupted (Ctrl-C)
 *
 * Messages name the problem; they never contain confirmation codes, tokens or activation-code tokens.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { OsuStatus, ResultCode } from '../api/types.js';
import { CliExitError, CliUsageError, type CliIo } from './io.js';

export const EXIT = Object.freeze({
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  REFUSED: 3,
  UNREACHABLE: 4,
  PERMISSION: 5,
  INTERRUPTED: 130,
} as const);

/**
 * What the LPA commands may use beyond CliIo. The real process leaves these unset (the terminal state is read
 * from process.stdin/stdout/stderr, questions are asked on the terminal); tests set them.
 */
export interface LpaIo extends CliIo {
  /** Which streams are terminals (default: process.stdout/stderr/stdin.isTTY). */
  readonly isTTY?: { readonly stdout?: boolean; readonly stderr?: boolean; readonly stdin?: boolean };
  /** Answer a question (default: the terminal; none when stdin is not a terminal). undefined = no answer. */
  readonly ask?: (question: string, o: { secret: boolean }) => Promise<string | undefined>;
  /** Environment (default process.env): NO_COLOR, ESIM_SOCKET, ESIM_TOKEN. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export function envOf(io: CliIo): Readonly<Record<string, string | undefined>> {
  return (io as LpaIo).env ?? process.env;
}

function tty(io: CliIo, stream: 'stdout' | 'stderr' | 'stdin'): boolean {
  const t = (io as LpaIo).isTTY;
  if (t && t[stream] !== undefined) return t[stream] === true;
  return process[stream].isTTY === true;
}

/** How a command writes: colour on stdout, progress style on stderr, JSON mode. */
export interface Out {
  readonly json: boolean;
  readonly color: boolean;
  /** stderr is a terminal: progress bars. */
  readonly stderrTty: boolean;
  readonly io: CliIo;
}

export function outFor(io: CliIo, json: boolean | undefined): Out {
  const env = envOf(io);
  const noColor = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
  return { json: json === true, color: !json && tty(io, 'stdout') && !noColor, stderrTty: tty(io, 'stderr'), io };
}

// ------------------------------------------------------------------------------------------ colour

const SGR = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, cyan: 36 } as const;
export type Style = keyof typeof SGR;

export function paint(out: Out, style: Style, text: string): string {
  return out.color ? `\x1b[${SGR[style]}m${text}\x1b[0m` : text;
}

const ANSI_RE = /\x1b\[[0-9;]*[A-Za-z]/g;
export function visibleLength(s: string): number {
  return s.replace(ANSI_RE, '').length;
}

// ------------------------------------------------------------------------------------------ writing

/** The one JSON document of a command (stdout). */
export function printJson(out: Out, doc: unknown): void {
  out.io.stdout(JSON.stringify(doc, null, 2) + '\n');
}

/** A table: header row in bold, columns padded to the widest cell (ANSI-aware); empty cells as "-". */
export function table(out: Out, header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((r) => header.map((_, i) => (r[i] === undefined || r[i] === '' ? '-' : r[i]!)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => visibleLength(r[i]!))));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c))))
      .join('  ')
      .trimEnd();
  return [paint(out, 'bold', line(header)), ...cells.map(line)].join('\n') + '\n';
}

/** "key   value" lines, keys padded. */
export function fields(out: Out, pairs: readonly (readonly [string, string])[]): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${paint(out, 'dim', k.padEnd(w))}  ${v === '' ? '-' : v}`).join('\n') + '\n';
}

// ------------------------------------------------------------------------------------------ names

/** ResultCode → its enum name (e.g. "RESULT_OK"); "RESULT_<n>" for a value outside the seed. */
export function resultName(code: number): string {
  return (ResultCode as unknown as Record<number, string>)[code] ?? `RESULT_${code}`;
}

const RESULT_TEXT: Readonly<Record<number, string>> = {
  [-2]: 'the download needs something from you (a confirmation code or consent to policy rules)',
  [-1]: 'another profile is enabled: pass --force to disable it',
  201: 'the EID could not be read',
  203: 'the activation code changed since the preview',
  204: 'the activation code is invalid',
  205: 'the SM-DP+ address is invalid',
  207: 'TLS handshake with the server failed',
  210: 'authentication with the server failed',
  211: 'the server answered with an HTTP error',
  212: 'the confirmation code is wrong',
  213: 'too many wrong confirmation codes: the order is blocked',
  214: 'the server has no profile for this order',
  215: 'no session with this transaction id',
  217: 'the bound profile package could not be obtained',
  218: 'the download was cancelled',
  220: 'the server cannot be reached',
  223: 'the profile may not be deleted (policy rule)',
  231: 'the server refused the matching id',
  249: 'the operator refused the download',
  263: 'the eUICC is out of memory',
  268: 'forbidden by a profile policy rule',
  270: 'no such profile (or nothing to delete)',
  276: 'the profile policy rules do not match',
  283: 'the eUICC is busy',
  287: 'the download timed out',
  400: 'the eUICC or the server reported an SGP.22 error',
};

/** A short human explanation of a ResultCode. */
export function describeResult(code: number): string {
  return `${RESULT_TEXT[code] ?? 'refused'} (${resultName(code)}, ${code})`;
}

export function stateName(state: number): 'enabled' | 'disabled' | 'unspecified' {
  return state === 1 ? 'enabled' : state === 0 ? 'disabled' : 'unspecified';
}

export function profileClassName(c: number): 'test' | 'provisioning' | 'operational' | 'unspecified' {
  return c === 0 ? 'test' : c === 1 ? 'provisioning' : c === 2 ? 'operational' : 'unspecified';
}

/** PolicyRules bit mask → names. */
export function policyRuleNames(mask: number): string[] {
  const out: string[] = [];
  if (mask & 1) out.push('disableNotAllowed');
  if (mask & 2) out.push('deleteNotAllowed');
  if (mask & 4) out.push('disableAndDelete');
  return out;
}

/** SolvableErrors bit mask → names. */
export function solvableErrorNames(mask: number): string[] {
  const out: string[] = [];
  if (mask & 1) out.push('confirmationCode');
  if (mask & 2) out.push('policyRules');
  return out;
}

const OSU_NAMES: Readonly<Record<number, string>> = {
  [OsuStatus.EUICC_UPGRADE_IN_PROGRESS]: 'in-progress',
  [OsuStatus.EUICC_UPGRADE_FAILED]: 'failed',
  [OsuStatus.EUICC_UPGRADE_SUCCESSFUL]: 'successful',
  [OsuStatus.EUICC_UPGRADE_ALREADY_LATEST]: 'already-latest',
  [OsuStatus.EUICC_UPGRADE_SERVICE_UNAVAILABLE]: 'service-unavailable',
};
export function osuStatusName(s: number): string {
  return OSU_NAMES[s] ?? `status-${s}`;
}

// ------------------------------------------------------------------------------------------ failures

/** A ResultCode refusal: exit 3. */
export function refused(what: string, code: number): CliExitError {
  return new CliExitError(`${what}: ${describeResult(code)}`, EXIT.REFUSED);
}

/** The exit code of a BusinessError / ServiceError code. */
export function exitCodeOfError(code: number): number {
  if (code === 401) return EXIT.USAGE;
  if (code === 201 || code === 202) return EXIT.PERMISSION;
  if (code === 3120001) return EXIT.UNREACHABLE;
  return EXIT.FAILURE;
}

function errorCode(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const x = e as { name?: unknown; code?: unknown };
  if ((x.name === 'BusinessError' || x.name === 'ServiceError') && typeof x.code === 'number') return x.code;
  return undefined;
}

/**
 * Any failure of a command → CliExitError with the documented exit code. With --json the error is also the
 * command's one JSON document on stdout: {"error":{"code":...,"message":...}}. A CliExitError / usage error
 * passes through (it was reported already).
 */
export function failure(out: Out, e: unknown): Error {
  if (e instanceof CliExitError || (e instanceof Error && reported.has(e))) return e as Error;
  if (e instanceof CliUsageError) {
    if (out.json) printJson(out, { error: { code: 401, message: e.message } });
    reported.add(e);
    return e;
  }
  const code = errorCode(e);
  const message = e instanceof Error ? e.message : String(e);
  if (out.json) printJson(out, { error: { code: code ?? null, message } });
  if (code === undefined) return new CliExitError(message, EXIT.FAILURE);
  return new CliExitError(`${message} (${code})`, exitCodeOfError(code));
}

/** Usage errors already printed as the JSON document. */
const reported = new WeakSet<Error>();

/** Run the checks a command makes before it connects; a failure is reported as `failure` does. */
export async function precheck<T>(out: Out, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw failure(out, e);
  }
}

/** Ctrl-C: exit 130. */
export function interrupted(message: string): CliExitError {
  return new CliExitError(message, EXIT.INTERRUPTED);
}

// ------------------------------------------------------------------------------------------ questions

/** True when a question can be asked (a test's `ask`, or stdin and stderr are terminals). */
export function canAsk(io: CliIo): boolean {
  return (io as LpaIo).ask !== undefined || (tty(io, 'stdin') && tty(io, 'stderr'));
}

class AbortedError extends Error {
  override readonly name = 'AbortError';
}

/**
 * Ask on the terminal (stderr, so that stdout keeps only the command's output). `secret` hides the typed
 * text. Resolves undefined when there is no answer (end of input); rejects with an interrupted
 * CliExitError when the command's signal aborts (Ctrl-C).
 */
export async function ask(io: CliIo, question: string, o: { secret?: boolean } = {}): Promise<string | undefined> {
  const secret = o.secret === true;
  const custom = (io as LpaIo).ask;
  if (io.signal?.aborted) throw interrupted('cancelled');
  if (custom) return custom(question, { secret });
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: tty(io, 'stdin') });
  try {
    return await new Promise<string | undefined>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        process.stderr.write('\n');
        reject(new AbortedError('aborted'));
      };
      io.signal?.addEventListener('abort', onAbort, { once: true });
      rl.once('close', () => {
        if (!settled) {
          settled = true;
          resolve(undefined);
        }
      });
      rl.question(question, (answer) => {
        if (secret) process.stderr.write('\n');
        settled = true;
        io.signal?.removeEventListener('abort', onAbort);
        resolve(answer);
      });
      if (secret) muted = true;
    });
  } catch (e) {
    if (e instanceof AbortedError) throw interrupted('cancelled');
    throw e;
  } finally {
    rl.close();
  }
}

/** A yes/no question (default no). */
export async function confirm(io: CliIo, question: string): Promise<boolean> {
  const a = await ask(io, `${question} [y/N] `);
  return a !== undefined && /^(y|yes)$/i.test(a.trim());
}

// ------------------------------------------------------------------------------------------ progress

export interface ProgressUpdate {
  /** Step name shown beside the bar. */
  readonly step: string;
  /** 0..1 */
  readonly fraction: number;
  /** e.g. "3/7" */
  readonly detail?: string;
  /** The JSON progress line (with --json). */
  readonly json: Record<string, unknown>;
}

/**
 * Progress on stderr: a bar with the step name on a terminal, one JSON line per update with --json, one plain
 * line per new step otherwise.
 */
export class Progress {
  private lastStep: string | undefined;
  private drawn = false;
  constructor(
    private readonly out: Out,
    private readonly what: string,
  ) {}

  update(u: ProgressUpdate): void {
    const io = this.out.io;
    if (this.out.json) {
      io.stderr(JSON.stringify({ progress: this.what, ...u.json }) + '\n');
      return;
    }
    if (this.out.stderrTty) {
      const width = 24;
      const f = Math.max(0, Math.min(1, u.fraction));
      const full = Math.round(f * width);
      const bar = '█'.repeat(full) + '░'.repeat(width - full);
      io.stderr(`\r\x1b[K${this.what} [${bar}] ${String(Math.round(f * 100)).padStart(3)}% ${u.step}${u.detail ? ` ${u.detail}` : ''}`);
      this.drawn = true;
      return;
    }
    if (u.step !== this.lastStep) io.stderr(`${this.what}: ${u.step}\n`);
    this.lastStep = u.step;
  }

  /** End the bar's line (terminal). */
  end(): void {
    if (this.drawn) this.out.io.stderr('\n');
    this.drawn = false;
  }
}
