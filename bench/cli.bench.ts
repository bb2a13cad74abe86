/**
 * CLI figures (issue 7): wall time of `esim profile list --json` as a user runs it (`node dist/cli/main.js`,
 * spawned), median and p99 of 20 runs each, on a fresh embedded-default home with 2 profiles on slot 0:
 *   - cli.profile_list.embedded: no daemon, so each run opens the service in-process (SQLite, the demo
 *     SM-DP+ and SM-DS, the notification sweep) and closes it;
 *   - cli.profile_list.daemon: `esim serve` runs on the home (its own process); each run finds it and asks it
 *     over the Unix socket;
 *   - cli.version: `esim --version`, the floor (Node start + loading the CLI's modules).
 * dist/ is rebuilt (`npm run build`) only when a file of src/ is newer than dist/cli/main.js. Measurements,
 * never assertions; `seconds` is not used (a fixed number of runs).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { emit, percentiles } from './harness.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const MAIN = join(ROOT, 'dist/cli/main.js');
const RUNS = 20;

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Build dist/ when it is missing or older than src/; false when the build fails (another helper's half-written file). */
function ensureDist(): boolean {
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestSource(join(ROOT, 'src'))) return true;
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`bench cli: npm run build failed, skipping the CLI figures:\n${(r.stdout + r.stderr).slice(-2000)}\n`);
    return false;
  }
  return true;
}

/** Run `esim <args>` to its end; wall time in ms. Throws on a non-zero exit. */
function timeEsim(args: readonly string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let err = '';
    child.stdout.resume();
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('close', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) resolvePromise(ms);
      else reject(new Error(`esim ${args.join(' ')} exited ${code}: ${err.slice(-500)}`));
    });
  });
}

async function series(name: string, args: readonly string[], extra: Record<string, unknown>): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await timeEsim(args));
  const { median, p99 } = percentiles(samples);
  emit({ name: `${name}.median_ms`, value: median, unit: 'ms', runs: RUNS, ...extra });
  emit({ name: `${name}.p99_ms`, value: p99, unit: 'ms', runs: RUNS, ...extra });
}

/** `esim serve` on `home` until the summary is printed. */
function startDaemon(home: string): Promise<{ stop(): Promise<void> }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, 'serve', '--home', home], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const stop = (): Promise<void> =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once('close', () => done());
        child.kill('SIGTERM');
      });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('Stop with Ctrl-C')) resolvePromise({ stop });
    });
    child.once('close', (code) => reject(new Error(`esim serve exited ${code}: ${err.slice(-500)}`)));
  });
}

export async function benchCli(_seconds: number): Promise<void> {
  if (!ensureDist()) return;
  const dir = mkdtempSync(join(tmpdir(), 'esimkit-bench-cli-'));
  const home = join(dir, 'home');
  const h = ['--home', home];
  try {
    // creates the home; two profiles on slot 0 so that the list has content
    const codes = (): string[] => (JSON.parse(readFileSync(join(home, 'demo.json'), 'utf8')) as { activationCodes: string[] }).activationCodes;
    await timeEsim(['profile', 'list', ...h]);
    await timeEsim(['profile', 'download', '-a', codes()[0]!, ...h]);
    await timeEsim(['profile', 'download', '-a', codes()[1]!, ...h]);

    await series('cli.version', ['--version'], {});
    await series('cli.profile_list.embedded', ['profile', 'list', '--json', ...h], { profiles: 2 });
    const daemon = await startDaemon(home);
    try {
      await timeEsim(['profile', 'list', '--json', ...h]); // warm the daemon's card connection
      await series('cli.profile_list.daemon', ['profile', 'list', '--json', ...h], { profiles: 2 });
    } finally {
      await daemon.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
