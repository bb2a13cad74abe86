/**
 * Benchmark harness: each figure is printed as one JSON line {"name","value","unit",...}.
 * Benchmarks are measurements, never assertions.
 */
import { performance } from 'node:perf_hooks';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  [extra: string]: unknown;
}

export function emit(f: Figure): void {
  process.stdout.write(JSON.stringify({ ...f, value: Number(f.value.toPrecision(4)) }) + '\n');
}

/**
 * Run `fn` repeatedly for about `seconds` (after a warm-up) and return operations per second.
 * `fn` returns the number of operations it performed (default 1).
 */
export function opsPerSecond(fn: () => number | void, seconds = 1): number {
  const warmEnd = performance.now() + Math.min(200, seconds * 250);
  while (performance.now() < warmEnd) fn();
  let ops = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    const r = fn();
    ops += typeof r === 'number' ? r : 1;
    now = performance.now();
  }
  return ops / ((now - start) / 1000);
}

/** Throughput in MB/s (10^6 bytes) of `fn` processing `bytes` per call. */
export function megabytesPerSecond(bytes: number, fn: () => void, seconds = 1): number {
  return (opsPerSecond(fn, seconds) * bytes) / 1e6;
}

/** Median and p99 of a list of samples (ms). */
export function percentiles(samples: number[]): { median: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p99: at(0.99) };
}
