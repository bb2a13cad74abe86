/**
 * One FIFO queue per card (ARCHITECTURE.md §3): operations on one eUICC never interleave; queues of
 * different slots run in parallel.
 *
 * - `enqueue(run, { timeoutMs, signal })`: the job waits its turn, then `run(signal)` holds the card until
 *   its promise settles. The caller's deadline covers waiting + running (bounded wait).
 * - A caller that gives up (deadline passed, or its AbortSignal fired — e.g. its socket closed):
 *   not started yet → the job is removed from the queue and never runs; running → the job's AbortSignal
 *   fires (a download cancels and rolls back) and the card stays held until the job really ends, so the
 *   next job never sees a half-done exchange. Its late result is dropped: every job's outcome is delivered
 *   at most once, to its own caller.
 * - `after` (optional): work that still needs the card once the result has been delivered (sending the
 *   notifications an operation created); runs before the next job, its failure is swallowed.
 * - `maxPending` bounds the queue: beyond it a call is refused at once (3120002, "card busy").
 * - `close(graceMs)`: jobs not started are refused with 3120001; the running one gets `graceMs` to finish,
 *   then its AbortSignal fires and it gets another `graceMs` to roll back.
 */
import { ServiceError } from './protocol.js';

export interface EnqueueOptions {
  /** Deadline for waiting + running, in ms. */
  readonly timeoutMs: number;
  /** The caller gave up. */
  readonly signal?: AbortSignal;
  /** Runs while still holding the card, after the job's result was delivered. */
  readonly after?: (value: unknown) => Promise<void>;
  /** For messages. */
  readonly label?: string;
}

interface Job {
  readonly run: (signal: AbortSignal) => Promise<unknown>;
  readonly controller: AbortController;
  readonly label: string;
  readonly after: ((value: unknown) => Promise<void>) | undefined;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** The caller still waits for the outcome. */
  waiting: boolean;
  started: boolean;
  timer: NodeJS.Timeout | undefined;
  cleanup: () => void;
}

/** Why a job's AbortSignal fired. */
export type AbortCause = 'timeout' | 'abandoned' | 'closing';

export class QueueAbort extends Error {
  override readonly name = 'QueueAbort';
  constructor(readonly why: AbortCause) {
    super(`card operation aborted (${why})`);
  }

  /** The SGP.22 CancelSessionReason that fits (a flow that honours it ends its RSP session with it). */
  get cancelReason(): number {
    return this.why === 'timeout' ? 2 : this.why === 'closing' ? 1 : 0; // timeout, postponed, endUserRejection
  }
}

export class CardQueue {
  private readonly jobs: Job[] = [];
  private current: Job | undefined;
  private currentDone: Promise<void> | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Jobs completed (for tests / figures). */
  completed = 0;
  /** Results dropped because their caller had given up. */
  dropped = 0;

  constructor(
    readonly name: string,
    private readonly maxPending = 1000,
  ) {}

  /** Jobs waiting (not started). */
  get pending(): number {
    return this.jobs.length;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  enqueue<T>(run: (signal: AbortSignal) => Promise<T>, o: EnqueueOptions): Promise<T> {
    if (this.closed) return Promise.reject(new ServiceError(3120001, 'Service connection failed: the service is shutting down'));
    if (this.jobs.length >= this.maxPending) {
      return Promise.reject(new ServiceError(3120002, `System internal error: ${this.name} is busy (${this.jobs.length} calls waiting)`));
    }
    if (o.signal?.aborted) return Promise.reject(new ServiceError(3120002, 'System internal error: the call was abandoned'));
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        run,
        controller: new AbortController(),
        label: o.label ?? 'call',
        after: o.after,
        resolve: resolve as (v: unknown) => void,
        reject,
        waiting: true,
        started: false,
        timer: undefined,
        cleanup: () => undefined,
      };
      const giveUp = (cause: AbortCause, error: ServiceError): void => {
        if (!job.waiting) return;
        job.waiting = false;
        job.cleanup();
        if (!job.started) {
          const i = this.jobs.indexOf(job);
          if (i >= 0) this.jobs.splice(i, 1);
        } else {
          job.controller.abort(new QueueAbort(cause));
        }
        reject(error);
      };
      job.timer = setTimeout(
        () => giveUp('timeout', new ServiceError(3120002, `System internal error: ${job.label} timed out after ${o.timeoutMs} ms`)),
        o.timeoutMs,
      );
      const onAbort = (): void => giveUp('abandoned', new ServiceError(3120002, `System internal error: ${job.label} was abandoned by its caller`));
      o.signal?.addEventListener('abort', onAbort, { once: true });
      job.cleanup = () => {
        clearTimeout(job.timer);
        o.signal?.removeEventListener('abort', onAbort);
      };
      this.jobs.push(job);
      this.pump();
    });
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (!this.current && this.jobs.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    if (this.current) return;
    const job = this.jobs.shift();
    if (!job) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
      return;
    }
    this.current = job;
    job.started = true;
    this.currentDone = this.execute(job).finally(() => {
      this.current = undefined;
      this.currentDone = undefined;
      this.completed++;
      this.pump();
    });
  }

  private async execute(job: Job): Promise<void> {
    let ok = false;
    let value: unknown;
    try {
      value = await job.run(job.controller.signal);
      ok = true;
      if (job.waiting) {
        job.waiting = false;
        job.cleanup();
        job.resolve(value);
      } else {
        this.dropped++;
      }
    } catch (e) {
      if (job.waiting) {
        job.waiting = false;
        job.cleanup();
        job.reject(e);
      } else {
        this.dropped++;
      }
    }
    if (ok && job.after) {
      try {
        await job.after(value);
      } catch {
        // follow-up work (notifications) is best effort; it is retried elsewhere
      }
    }
  }

  /**
   * Refuse jobs not started (3120001), give the running one `graceMs` to finish, then abort it and give
   * it `graceMs` more. Resolves when the queue holds nothing (or the running job ignored both).
   */
  async close(graceMs = 30_000): Promise<void> {
    this.closed = true;
    for (const job of this.jobs.splice(0)) {
      job.waiting = false;
      job.cleanup();
      job.reject(new ServiceError(3120001, 'Service connection failed: the service is shutting down'));
    }
    const running = this.currentDone;
    if (!running) return;
    const wait = (ms: number): Promise<boolean> =>
      new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), ms);
        running.then(
          () => {
            clearTimeout(t);
            resolve(true);
          },
          () => {
            clearTimeout(t);
            resolve(true);
          },
        );
      });
    if (await wait(graceMs)) return;
    this.current?.controller.abort(new QueueAbort('closing'));
    await wait(graceMs);
  }
}
