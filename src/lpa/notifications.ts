/**
 * Pending notifications (SGP22-NOTES §6.3), LPA side: ES10b RetrieveNotificationsList → ES9+
 * handleNotification to each notification's notificationAddress → ES10b RemoveNotificationFromList, only
 * once the server acknowledged (HTTP 204 / success). A notification whose delivery fails stays on the card.
 *
 * Retry: up to `attempts` rounds. Each round opens one logical channel to the ISD-R, reads the list, sends
 * every notification still to do (one after the other, one HTTP client and so one connection pool for all),
 * and closes the channel; the backoff sleep between rounds (exponential from `baseDelayMs`, capped at
 * `maxDelayMs`, each delay drawn uniformly from [d/2, d]) holds no channel, so other card operations can run.
 * Only transient failures are retried: connection refused/reset, timeouts, DNS EAI_AGAIN, HTTP 408/429/5xx,
 * and a removal the card answered with undefinedError (the resend is harmless: the SM-DP+ keeps a repeated
 * (EID, seqNumber, event) once). A refusal (functionExecutionStatus Failed, HTTP 4xx), a TLS or certificate
 * failure, an unusable address are final at once.
 *
 * Outcome: `sent` (acknowledged and removed, in that order), `failed` with the ResultCode of the last
 * failure through result-codes.ts (mapFailure); a requested seqNumber that is not (or no longer) pending on
 * the card fails with 270 RESULT_NOTHING_TO_DELETE. The card itself failing (channel, SW, undecodable
 * answer), the `signal` (218) or `timeouts.overallMs` (287) end the call with an {@link LpaError}; whatever
 * was acknowledged before is already off the card. Invalid options: RangeError before anything is done.
 */
import { ApduChannel, type ApduChannelOptions, type StoreDataChannel } from '../apdu/channel.js';
import type { ApduTransport } from '../apdu/transport.js';
import { Es10ResultError } from './errors.js';
import * as es10b from './es10b.js';
import { Es9pClient, type Es9pCallOptions } from './es9p.js';
import { RspHttpClient, RspHttpError, type RspHttpClientOptions } from './http.js';
import { LpaCheckError, LpaError, ResultCode, mapFailure } from './result-codes.js';
import { newHttpClient, type DownloadTimeouts } from './rsp-session.js';

export interface SendNotificationsOptions {
  transport: ApduTransport;
  channelOptions?: ApduChannelOptions;
  trust: { ciCertificates: readonly Uint8Array[] };
  httpClient?: RspHttpClient;
  http?: Pick<RspHttpClientOptions, 'resolve' | 'allowHttp'>;
  timeouts?: DownloadTimeouts;
  seqNumbers?: readonly number[];
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  signal?: AbortSignal;
}

export interface SendNotificationsResult {
  sent: number[];
  failed: { seqNumber: number; resultCode: number; message: string }[];
}

const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BASE_DELAY_MS = 500;
const DEFAULT_MAX_DELAY_MS = 30_000;

/**
 * ES9+ handleNotification of one pending notification, then RemoveNotificationFromList once the SM-DP+
 * acknowledged it. Throws the HTTP failure (RspHttpError), Es10ResultError when the card answers the
 * removal with undefinedError (nothingToDelete counts as removed), or the card's failure.
 */
export async function deliverNotification(ch: StoreDataChannel, es9p: Es9pClient, seqNumber: number, pendingNotification: Uint8Array, call: Es9pCallOptions = {}): Promise<void> {
  await es9p.handleNotification(pendingNotification, call);
  const rm = await es10b.removeNotification(ch, seqNumber);
  if (rm.result !== 'ok' && rm.result !== 'nothingToDelete') throw new Es10ResultError('RemoveNotificationFromList', rm.result, rm.code);
}

/** A failure of one notification worth another round (see the module comment). */
export function transientFailure(e: unknown): boolean {
  if (e instanceof Es10ResultError) return e.command === 'RemoveNotificationFromList';
  if (!(e instanceof RspHttpError)) return false;
  switch (e.kind) {
    case 'connect':
    case 'timeout':
      return true;
    case 'dns':
      return e.code === 'EAI_AGAIN';
    case 'http-status':
      return e.status !== undefined && (e.status >= 500 || e.status === 408 || e.status === 429);
    default:
      return false;
  }
}

/** A failure of the server side of one notification (as opposed to the card's). */
function serverSide(e: unknown): boolean {
  return e instanceof RspHttpError || (e instanceof Es10ResultError && e.command === 'RemoveNotificationFromList');
}

function checkNumber(name: string, v: number | undefined, min: number, integer: boolean): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new RangeError(`${name} ${String(v)} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}`);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Backoff before round `round + 1`: min(max, base·2^(round-1)), drawn uniformly from [d/2, d]. */
export function backoffDelay(round: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const d = Math.min(maxDelayMs, baseDelayMs * 2 ** (round - 1));
  return Math.round(d / 2 + random() * (d / 2));
}

/** Send the pending notifications of the card (all, or those of `seqNumbers`) with retry. Throws {@link LpaError}. */
export async function sendPendingNotifications(o: SendNotificationsOptions): Promise<SendNotificationsResult> {
  const attempts = o.retry?.attempts ?? DEFAULT_ATTEMPTS;
  const baseDelayMs = o.retry?.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const maxDelayMs = o.retry?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  checkNumber('retry.attempts', attempts, 1, true);
  checkNumber('retry.baseDelayMs', baseDelayMs, 0, false);
  checkNumber('retry.maxDelayMs', maxDelayMs, 0, false);
  checkNumber('timeouts.overallMs', o.timeouts?.overallMs, 1, false);
  for (const s of o.seqNumbers ?? []) checkNumber('seqNumber', s, 0, true);
  const http = o.httpClient ?? newHttpClient(o); // RangeError for bad trust / timeouts, before the card is touched

  const overall = new AbortController();
  const onOuter = (): void => overall.abort(new LpaCheckError('cancelled', 'sending notifications cancelled'));
  if (o.signal?.aborted) onOuter();
  else o.signal?.addEventListener('abort', onOuter, { once: true });
  const overallMs = o.timeouts?.overallMs;
  const deadline =
    overallMs === undefined ? undefined : setTimeout(() => overall.abort(new LpaCheckError('deadline', `notifications not sent within ${overallMs} ms`)), overallMs);
  const signal = overall.signal;
  const check = (): void => {
    if (signal.aborted) throw signal.reason;
  };

  const sent: number[] = [];
  const failed: SendNotificationsResult['failed'] = [];
  /** seqNumbers still to send, in order, with the last failure. */
  let todo: number[] | undefined;
  const lastError = new Map<number, unknown>();
  const fail = (seqNumber: number, resultCode: number, message: string): void => void failed.push({ seqNumber, resultCode, message });

  try {
    check();
    const clients = new Map<string, Es9pClient>();
    const clientFor = (address: string): Es9pClient => {
      let c = clients.get(address);
      if (!c) clients.set(address, (c = new Es9pClient(http, address)));
      return c;
    };

    for (let round = 1; round <= attempts; round++) {
      if (round > 1) await sleep(backoffDelay(round - 1, baseDelayMs, maxDelayMs), signal);
      check();
      await ApduChannel.with(o.transport, o.channelOptions ?? {}, async (ch) => {
        const pending = new Map((await es10b.retrieveNotifications(ch)).map((n) => [n.seqNumber, n]));
        if (todo === undefined) {
          const wanted = o.seqNumbers ? [...new Set(o.seqNumbers)] : [...pending.keys()].sort((a, b) => a - b);
          todo = [];
          for (const s of wanted) {
            if (pending.has(s)) todo.push(s);
            else fail(s, ResultCode.RESULT_NOTHING_TO_DELETE, `notification ${s} is not pending on the eUICC`);
          }
        }
        const next: number[] = [];
        for (const s of todo) {
          check();
          const n = pending.get(s);
          if (!n) {
            // gone since the last round (sent and removed by another caller, or a memory reset)
            lastError.delete(s);
            fail(s, ResultCode.RESULT_NOTHING_TO_DELETE, `notification ${s} is no longer pending on the eUICC`);
            continue;
          }
          try {
            await deliverNotification(ch, clientFor(n.address), s, n.raw, { signal });
            lastError.delete(s);
            sent.push(s);
          } catch (e) {
            if (e instanceof RspHttpError && e.kind === 'aborted') throw signal.reason instanceof Error ? signal.reason : e;
            if (!serverSide(e)) throw e; // the card failed: end the call
            if (transientFailure(e)) {
              lastError.set(s, e);
              next.push(s);
            } else {
              lastError.delete(s);
              const m = mapFailure(e);
              fail(s, m.resultCode, (e as Error).message);
            }
          }
        }
        todo = next;
      });
      if (todo === undefined || todo.length === 0) break;
    }
    for (const s of todo ?? []) {
      const e = lastError.get(s);
      fail(s, mapFailure(e).resultCode, e instanceof Error ? e.message : 'not sent');
    }
    return { sent, failed };
  } catch (e) {
    throw LpaError.from(e);
  } finally {
    if (deadline) clearTimeout(deadline);
    o.signal?.removeEventListener('abort', onOuter);
    if (!o.httpClient) await http.close().catch(() => undefined);
  }
}
