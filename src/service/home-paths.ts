/**
 * The light part of ESIM_HOME (home.ts describes the layout): where the home is, the paths in it, and the
 * shell token. Imports only node built-ins, so that a client that only talks to the daemon (src/api/client.ts,
 * the CLI's connect) does not load the software eUICC, SQLite or the demo code that ensureHome needs.
 * home.ts re-exports everything here.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** env.ESIM_HOME || ~/.esimkit (env: process.env unless given). */
export function defaultHome(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env['ESIM_HOME'] || join(homedir(), '.esimkit');
}

export interface HomePaths {
  readonly home: string;
  readonly slotsFile: string;
  readonly serviceDb: string;
  /** home/esim.sock */
  readonly socket: string;
  /** home/shell.token */
  readonly shellToken: string;
  /** home/daemon.lock */
  readonly lock: string;
  readonly pkiDir: string;
  readonly osuDir: string;
  /** home/cards (the embedded default's card state files) */
  readonly cardsDir: string;
  /** home/demo (demo SM-DP+ and SM-DS databases) */
  readonly demoDir: string;
  /** home/demo.json */
  readonly demoFile: string;
}

export function homePaths(home: string): HomePaths {
  const h = resolve(home);
  return {
    home: h,
    slotsFile: join(h, 'slots.json'),
    serviceDb: join(h, 'service.db'),
    socket: join(h, 'esim.sock'),
    shellToken: join(h, 'shell.token'),
    lock: join(h, 'daemon.lock'),
    pkiDir: join(h, 'pki'),
    osuDir: join(h, 'osu'),
    cardsDir: join(h, 'cards'),
    demoDir: join(h, 'demo'),
    demoFile: join(h, 'demo.json'),
  };
}

// ------------------------------------------------------------------------------------------ helpers

export const DIR_MODE = 0o700;
export const SECRET_MODE = 0o600;

/** Write `path` with mode 0600 (also when it existed with another mode). */
export function writePrivate(path: string, data: string | Uint8Array): void {
  writeFileSync(path, data, { mode: SECRET_MODE });
  chmodSync(path, SECRET_MODE);
}

/** Whether process `pid` exists (kill 0; EPERM: it exists but belongs to someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ------------------------------------------------------------------------------------------ shell token

/** The shell identity's token; creates it (0600, 32 random bytes base64url) if missing. */
export function readShellToken(home: string): string {
  const path = homePaths(home).shellToken;
  const read = (): string | undefined => {
    try {
      const t = readFileSync(path, 'utf8').trim();
      return t.length > 0 ? t : undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  };
  const existing = read();
  if (existing !== undefined) return existing;
  mkdirSync(dirname(path), { recursive: true, mode: DIR_MODE });
  // the same as callers.ts newToken(), inlined so that this module imports only node built-ins
  const token = randomBytes(32).toString('base64url');
  // write a complete temp file, then link it into place: the token file never exists half-written
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  writePrivate(tmp, `${token}\n`);
  try {
    try {
      linkSync(tmp, path);
      return token;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const other = read();
      if (other !== undefined) return other; // another process made it first
      renameSync(tmp, path); // an empty token file: replace it
      return token;
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* renamed */
    }
  }
}
