/** Unit tests of the pure parts of notifications.ts (the flow itself: test/notifications.test.ts). */
import { describe, expect, it } from 'vitest';
import { Es10ResultError } from './errors.js';
import { RspHttpError } from './http.js';
import { backoffDelay, transientFailure } from './notifications.js';

describe('backoffDelay: exponential from the base, capped, drawn from [d/2, d]', () => {
  it('doubles per round and stays within the jitter bounds', () => {
    expect([1, 2, 3, 4].map((r) => backoffDelay(r, 500, 30_000, () => 1))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((r) => backoffDelay(r, 500, 30_000, () => 0))).toEqual([250, 500, 1000, 2000]);
    expect(backoffDelay(2, 500, 30_000, () => 0.5)).toBe(750);
  });

  it('is capped at maxDelayMs (also for huge rounds) and 0 with a zero base', () => {
    expect(backoffDelay(10, 500, 30_000, () => 1)).toBe(30_000);
    expect(backoffDelay(2000, 500, 30_000, () => 0)).toBe(15_000);
    expect(backoffDelay(3, 0, 30_000)).toBe(0);
  });

  it('with Math.random stays within bounds', () => {
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3, 500, 30_000);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });
});

describe('transientFailure: what is worth another round', () => {
  const http = (kind: ConstructorParameters<typeof RspHttpError>[0], d: ConstructorParameters<typeof RspHttpError>[2] = {}): RspHttpError => new RspHttpError(kind, 'x', d);

  it('retries connection failures, timeouts, temporary DNS failures, HTTP 408/429/5xx, a failed removal', () => {
    expect(transientFailure(http('connect', { code: 'ECONNREFUSED' }))).toBe(true);
    expect(transientFailure(http('timeout', { phase: 'connect' }))).toBe(true);
    expect(transientFailure(http('timeout', { phase: 'response' }))).toBe(true);
    expect(transientFailure(http('dns', { code: 'EAI_AGAIN' }))).toBe(true);
    for (const status of [408, 429, 500, 502, 503, 504]) expect(transientFailure(http('http-status', { status }))).toBe(true);
    expect(transientFailure(new Es10ResultError('RemoveNotificationFromList', 'undefinedError', 127))).toBe(true);
  });

  it('does not retry refusals, TLS, unknown names, 4xx, bad JSON, cancellation, other card errors', () => {
    expect(transientFailure(http('function-failed', { subjectCode: '8.1', reasonCode: '6.1' }))).toBe(false);
    expect(transientFailure(http('tls', { tls: 'certificate' }))).toBe(false);
    expect(transientFailure(http('dns', { code: 'ENOTFOUND' }))).toBe(false);
    for (const status of [400, 403, 404]) expect(transientFailure(http('http-status', { status }))).toBe(false);
    expect(transientFailure(http('json'))).toBe(false);
    expect(transientFailure(http('aborted'))).toBe(false);
    expect(transientFailure(new Es10ResultError('RetrieveNotificationsList', 'undefinedError', 127))).toBe(false);
    expect(transientFailure(new Error('x'))).toBe(false);
  });
});
