/**
 * Long-run fuzzer for every decoder in FUZZ_TARGETS (src/asn1/fuzz-targets.ts), without vitest.
 *
 *   npm run fuzz -- [--runs N] [--target NAME[,NAME...]] [--seed S] [--list]
 *
 * --runs    inputs in total, shared evenly by the targets (default 10,000,000)
 * --target  only these targets (repeatable or comma-separated)
 * --seed    PRNG seed (default: derived from the clock; always printed, so a run can be repeated)
 * --self-test  fuzz only a deliberately broken target, to show the failure path (must exit 1 with the input)
 *
 * Inputs: random bytes, random structured TLVs (wrong lengths, deep nesting, trailing bytes) and 1-4 random
 * mutations of seed inputs (bit flips, byte sets, truncation, insertion, deletion, duplication, length-field
 * edits, splices of two seeds). The TS.48 profile packages are added as seeds when the reference folder is
 * present (never required). Prints a progress line every few seconds and a summary; exits 1 with the
 * failing input in hex when anything other than the target's expected error escapes, or when one input
 * takes longer than 2 s.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUZZ_TARGETS, type FuzzTarget } from '../src/asn1/fuzz-targets.js';
import { applyMutations, lengthFieldOffsets, randomMutation, randomTlv, Rng, type Mutation } from '../src/asn1/fuzz-mutate.js';
import { toHex } from '../src/util/hex.js';
import { CertificateError, parseCertificate } from '../src/crypto/x509.js';
import { createCi, createDpAuth, createEuicc, createEum } from '../src/crypto/pki.js';

/** Targets above the codec layer: the X.509 parser (only CertificateError may escape). */
const CERT_TARGETS: FuzzTarget[] = [
  {
    name: 'x509.parseCertificate',
    decode: (b) => parseCertificate(b),
    isExpectedError: (e) => e instanceof CertificateError,
    seeds: () => {
      const out: Uint8Array[] = [];
      for (const curve of ['P-256', 'brainpoolP256r1'] as const) {
        const ci = createCi({ curve });
        const eum = createEum(ci);
        out.push(ci.certDer, eum.certDer, createEuicc(eum, '89049032123451234512345678901235').certDer, createDpAuth(ci).certDer);
      }
      return out;
    },
  },
];
const ALL_TARGETS: FuzzTarget[] = [...FUZZ_TARGETS, ...CERT_TARGETS];

interface Options {
  runs: number;
  targets: string[];
  seed: number;
  list: boolean;
  selfTest: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { runs: 10_000_000, targets: [], seed: (Date.now() ^ (process.pid << 16)) >>> 0, list: false, selfTest: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--runs': {
        const n = Number(value().replace(/_/g, ''));
        if (!Number.isSafeInteger(n) || n <= 0) usage('--runs must be a positive integer');
        o.runs = n;
        break;
      }
      case '--target':
        o.targets.push(...value().split(',').filter(Boolean));
        break;
      case '--seed': {
        const n = Number(value());
        if (!Number.isInteger(n)) usage('--seed must be an integer');
        o.seed = n >>> 0;
        break;
      }
      case '--list':
        o.list = true;
        break;
      case '--self-test':
        o.selfTest = true;
        break;
      case '--help':
      case '-h':
        usage();
        break;
      default:
        usage(`unknown option ${a}`);
    }
  }
  return o;
}

function usage(msg?: string): never {
  if (msg) console.error(`fuzz: ${msg}`);
  console.error('usage: npm run fuzz -- [--runs N] [--target NAME[,NAME...]] [--seed S] [--list]');
  console.error(`targets: ${ALL_TARGETS.map((t) => t.name).join(', ')}`);
  process.exit(msg ? 2 : 0);
}

/** TS.48 packages as extra seeds for byte-level decoders, when the reference folder is present. */
function referenceSeeds(): Uint8Array[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = join(process.env.ESIM_REFERENCE_DIR ?? resolve(here, '..', '..', 'shared', 'reference'), 'ts48');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.der'))
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}

function fail(target: FuzzTarget, input: Uint8Array, why: string, opts: Options, run: number): never {
  console.error(`\nFUZZ FAILURE in target ${target.name} (seed ${opts.seed}, run ${run})`);
  console.error(why);
  console.error(`input (${input.length} bytes, hex):`);
  console.error(toHex(input));
  process.exit(1);
}

function fuzzOne(target: FuzzTarget, opts: Options, extraSeeds: readonly Uint8Array[]): { runs: number; ms: number } {
  const rng = new Rng(opts.seed ^ hashName(target.name));
  const seeds = [...target.seeds(), ...(target.name.startsWith('activation-code') || target.name.startsWith('self-test') ? [] : extraSeeds)];
  const lens = seeds.map(lengthFieldOffsets);
  const start = performance.now();
  let lastReport = start;
  let lastRuns = 0;
  const muts: Mutation[] = [];
  for (let run = 1; run <= opts.runs; run++) {
    let input: Uint8Array;
    const k = rng.int(16);
    if (k === 0 || seeds.length === 0) {
      input = rng.bytes(rng.int(rng.int(4) === 0 ? 512 : 48));
    } else if (k === 1) {
      input = randomTlv(rng);
    } else if (k === 2 && seeds.length > 1) {
      // splice: head of one seed + tail of another
      const a = seeds[rng.int(seeds.length)]!;
      const b = seeds[rng.int(seeds.length)]!;
      const cut1 = rng.int(a.length + 1);
      const cut2 = rng.int(b.length + 1);
      input = new Uint8Array(cut1 + b.length - cut2);
      input.set(a.subarray(0, cut1), 0);
      input.set(b.subarray(cut2), cut1);
    } else {
      const i = rng.int(seeds.length);
      muts.length = 0;
      const n = 1 + rng.int(4);
      for (let j = 0; j < n; j++) muts.push(randomMutation(rng));
      input = applyMutations(seeds[i]!, muts, lens[i]);
    }
    const t0 = performance.now();
    try {
      target.decode(input);
    } catch (e) {
      if (!target.isExpectedError(e)) fail(target, input, `unexpected exception: ${describeError(e)}`, opts, run);
    }
    const t1 = performance.now();
    if (t1 - t0 > 2000) fail(target, input, `one input took ${Math.round(t1 - t0)} ms (hang?)`, opts, run);
    if (t1 - lastReport >= 3000) {
      const rate = ((run - lastRuns) * 1000) / (t1 - lastReport);
      console.log(
        `[fuzz] ${target.name}: ${run.toLocaleString('en-US')}/${opts.runs.toLocaleString('en-US')} inputs, ${Math.round(rate).toLocaleString('en-US')}/s`,
      );
      lastReport = t1;
      lastRuns = run;
    }
  }
  return { runs: opts.runs, ms: performance.now() - start };
}

function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.list) {
    for (const t of ALL_TARGETS) console.log(t.name);
    return;
  }
  const broken: FuzzTarget = {
    name: 'self-test.broken',
    decode: (b) => {
      if (b.length > 2 && b[0] === 0xa0 && b[1]! > 0x7f) throw new TypeError('deliberate self-test failure');
      return b.length;
    },
    isExpectedError: () => false,
    seeds: () => [Uint8Array.of(0x30, 0x00)],
  };
  const targets = opts.selfTest
    ? [broken]
    : opts.targets.length
    ? opts.targets.map((n) => ALL_TARGETS.find((t) => t.name === n) ?? usage(`unknown target ${n}`))
    : ALL_TARGETS;
  const extra = referenceSeeds();
  const total = opts.runs;
  opts.runs = Math.max(1, Math.ceil(total / targets.length));
  console.log(
    `[fuzz] seed ${opts.seed}, ${total.toLocaleString('en-US')} inputs in total (${opts.runs.toLocaleString('en-US')} per target), ${targets.length} targets` +
      (extra.length ? `, ${extra.length} TS.48 seed packages` : ', no reference seeds'),
  );
  const results: { name: string; runs: number; ms: number }[] = [];
  for (const t of targets) {
    const r = fuzzOne(t, opts, extra);
    results.push({ name: t.name, ...r });
    console.log(
      `[fuzz] ${t.name}: done, ${r.runs.toLocaleString('en-US')} inputs in ${(r.ms / 1000).toFixed(1)} s (${Math.round((r.runs * 1000) / r.ms).toLocaleString('en-US')} inputs/s)`,
    );
  }
  const runs = results.reduce((s, r) => s + r.runs, 0);
  const ms = results.reduce((s, r) => s + r.ms, 0);
  console.log('\n[fuzz] summary');
  for (const r of results) {
    console.log(
      `  ${r.name.padEnd(36)} ${r.runs.toLocaleString('en-US').padStart(12)} inputs ${(r.ms / 1000).toFixed(1).padStart(8)} s ${Math.round((r.runs * 1000) / r.ms).toLocaleString('en-US').padStart(10)} /s`,
    );
  }
  console.log(
    `  ${'total'.padEnd(36)} ${runs.toLocaleString('en-US').padStart(12)} inputs ${(ms / 1000).toFixed(1).padStart(8)} s ${Math.round((runs * 1000) / ms).toLocaleString('en-US').padStart(10)} /s`,
  );
  console.log(`[fuzz] OK: no unexpected exception (seed ${opts.seed})`);
}

main();
