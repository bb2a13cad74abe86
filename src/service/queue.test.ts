import { describe, expect, it } from 'vitest';
import { ServiceError } from './protocol.js';
import { CardQueue, QueueAbort } from './queue.js';

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

async function code(p: Promise<unknown>): Promise<number> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ServiceError);
  return (e as ServiceError).code;
}

describe('CardQueue', () => {
  it('runs jobs one at a time in FIFO order', async () => {
    const q = new CardQueue('test');
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    const job = (name: string) => async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      log.push(`start ${name}`);
      await new Promise((r) => setImmediate(r));
      log.push(`end ${name}`);
      active--;
      return name;
    };
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((n) => q.enqueue(job(n), { timeoutMs: 5000 })));
    expect(results).toEqual(['a', 'b', 'c', 'd']);
    expect(maxActive).toBe(1);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'start d', 'end d']);
    expect(q.completed).toBe(4);
  });

  it('a job whose caller timed out before it started is removed and never runs', async () => {
    const q = new CardQueue('test');
    const gate = deferred();
    const first = q.enqueue(() => gate.promise.then(() => 1), { timeoutMs: 5000 });
    let ran = false;
    const second = q.enqueue(
      async () => {
        ran = true;
        return 2;
      },
      { timeoutMs: 20 },
    );
    expect(await code(second)).toBe(3120002);
    expect(q.pending).toBe(0);
    gate.resolve();
    expect(await first).toBe(1);
    await q.idle();
    expect(ran).toBe(false);
  });

  it('a running job whose caller timed out is aborted, holds the card until it ends, and its late result is dropped', async () => {
    const q = new CardQueue('test');
    const gate = deferred();
    let abortReason: unknown;
    const slow = q.enqueue(
      async (signal) => {
        signal.addEventListener('abort', () => (abortReason = signal.reason));
        await gate.promise;
        return 'late';
      },
      { timeoutMs: 20 },
    );
    const order: string[] = [];
    const next = q.enqueue(
      async () => {
        order.push('next ran');
        return 'next';
      },
      { timeoutMs: 5000 },
    );
    expect(await code(slow)).toBe(3120002);
    expect(abortReason).toBeInstanceOf(QueueAbort);
    expect((abortReason as QueueAbort).why).toBe('timeout');
    expect(order).toEqual([]); // the card is still held by the slow job
    gate.resolve();
    expect(await next).toBe('next');
    expect(q.dropped).toBe(1);
  });

  it('an abandoned caller (signal) gets no result, a later caller gets its own', async () => {
    const q = new CardQueue('test');
    const gate = deferred();
    const ac = new AbortController();
    const a = q.enqueue(() => gate.promise.then(() => 'A'), { timeoutMs: 5000, signal: ac.signal });
    const b = q.enqueue(async () => 'B', { timeoutMs: 5000 });
    ac.abort();
    expect(await code(a)).toBe(3120002);
    gate.resolve();
    expect(await b).toBe('B');
  });

  it('refuses beyond maxPending, runs `after` before the next job, and closes with 3120001', async () => {
    const q = new CardQueue('test', 1);
    const gate = deferred();
    const order: string[] = [];
    const a = q.enqueue(() => gate.promise.then(() => 'A'), {
      timeoutMs: 5000,
      after: async () => {
        await new Promise((r) => setImmediate(r));
        order.push('after A');
      },
    });
    const b = q.enqueue(async () => {
      order.push('B');
      return 'B';
    }, { timeoutMs: 5000 });
    expect(await code(q.enqueue(async () => 'C', { timeoutMs: 5000 }))).toBe(3120002);
    gate.resolve();
    expect(await a).toBe('A');
    expect(await b).toBe('B');
    expect(order).toEqual(['after A', 'B']);
    await q.idle();

    const gate2 = deferred();
    const running = q.enqueue(() => gate2.promise.then(() => 'R'), { timeoutMs: 5000 });
    const waiting = q.enqueue(async () => 'W', { timeoutMs: 5000 });
    const closed = q.close(5000);
    expect(await code(waiting)).toBe(3120001);
    expect(await code(q.enqueue(async () => 'X', { timeoutMs: 5000 }))).toBe(3120001);
    gate2.resolve();
    expect(await running).toBe('R');
    await closed;
  });

  it('close aborts a running job that does not finish within the grace period', async () => {
    const q = new CardQueue('test');
    let reason: unknown;
    const p = q.enqueue(
      (signal) =>
        new Promise<string>((resolve) => {
          signal.addEventListener('abort', () => {
            reason = signal.reason;
            resolve('rolled back');
          });
        }),
      { timeoutMs: 60_000 },
    );
    await q.close(20);
    expect((reason as QueueAbort).why).toBe('closing');
    expect(await p).toBe('rolled back');
  });
});
