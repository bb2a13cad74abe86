/**
 * OS update (getOsuStatus / startOsu) through an {@link OsUpdateProvider} (ARCHITECTURE.md §3). OS update is
 * vendor-specific; the software eUICC's provider ({@link softEuiccOsuProvider}) loads signed OS images
 * (src/euicc/osu.ts: `ESOS` header, ECDSA signature by the card's EUM, payload) with the card's proprietary
 * OS-update APDUs (BEGIN EC, LOAD ED, COMMIT EE, STATUS EF) over the slot's transport, on a logical channel to
 * the ISD-R. A card without a provider answers EUICC_UPGRADE_SERVICE_UNAVAILABLE (5): that is the service's job.
 *
 * ## Update source
 * - `dir`: every `*.esos` file of the folder (home/osu in the embedded default). Files that do not parse as an
 *   OS image are ignored.
 * - `url` (https only, TLS verified against the system CAs, or `ca` when given): a URL ending in `.esos` is one
 *   image; any other URL is an index, JSON `{ "images": [ { "version": "1.2.0", "url": "os-1.2.0.esos" } ] }`
 *   (urls relative to the index). Responses are bounded (1 MiB index, 16 MiB + 108 bytes image, 30 s).
 * The provider picks the highest version above the card's current one (read with the STATUS APDU). The card
 * itself checks the signature (6982), the version order (6985) and the payload hash at COMMIT.
 *
 * ## Status semantics (persisted per slot in the ServiceStore, so they survive restarts)
 * | status | when |
 * |---|---|
 * | 1 IN_PROGRESS | an update runs in this process (persisted with the target version while it runs) |
 * | 2 FAILED | the last update failed: card refused the image (signature, version, hash), the card or transport failed mid-way, the image could not be read; or the service stopped during an update and the card does not run the target version |
 * | 3 SUCCESSFUL | the last update committed (the card reports the new version); also after a restart during an update when the card does run the target version |
 * | 4 ALREADY_LATEST | the last startOsu found nothing newer than the card's version; also the status of a card on which startOsu never ran (nothing in progress, nothing failed: getOsuStatus reports the update *process*; whether a newer image exists is what startOsu checks, as the seed says: "Upgrades the OS if the OS version is not the latest") |
 * | 5 SERVICE_UNAVAILABLE | startOsu only: the update source cannot be read (folder missing, URL unreachable or malformed index), or the card has no OS-update commands (6D00/6E00). Not persisted: getOsuStatus keeps the previous outcome |
 *
 * startOsu resolves the final status and never rejects. A status left at IN_PROGRESS by a stopped service is
 * resolved on the next status()/start(): the card keeps a load in memory only, so it is lost; the card's
 * version decides between SUCCESSFUL (the COMMIT got through) and FAILED.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { Agent, request } from 'undici';
import { encodeCommandApdu } from '../apdu/apdu.js';
import { ApduChannel, type ApduChannelOptions } from '../apdu/channel.js';
import type { ApduTransport } from '../apdu/transport.js';
import {
  buildOsImage,
  compareOsVersions,
  decodeOsuStatus,
  formatOsVersion,
  osuCommands,
  OSU_INS_COMMIT,
  OSU_INS_STATUS,
  OSU_MAX_PAYLOAD,
  OS_IMAGE_HEADER_LENGTH,
  OS_IMAGE_SIGNATURE_LENGTH,
  parseOsImage,
  parseOsVersion,
  type OsVersion,
} from '../euicc/osu.js';
import { concatBytes, utf8 } from '../util/hex.js';
import type { ServiceStore } from './store.js';

/** OsuStatus values (src/api/types.ts OsuStatus; numbers of the seed). */
export const OSU_STATUS = {
  IN_PROGRESS: 1,
  FAILED: 2,
  SUCCESSFUL: 3,
  ALREADY_LATEST: 4,
  SERVICE_UNAVAILABLE: 5,
} as const;

export interface OsuProgress {
  readonly done: number;
  readonly total: number;
  readonly version?: string;
}

export interface OsUpdateProvider {
  /** Persisted status (OsuStatus number), IN_PROGRESS while running. */
  status(): Promise<number>;
  /** Update if a newer signed image exists; resolves the final OsuStatus (ALREADY_LATEST, SUCCESSFUL, FAILED). Never rejects for an update failure. Called inside the card queue. */
  start(onProgress?: (p: OsuProgress) => void): Promise<number>;
}

export interface OsuSource {
  readonly dir?: string;
  readonly url?: string;
  /** PEM CA certificate(s) for `url` (default: the system CAs). */
  readonly ca?: string;
}

/** The extension of OS image files in an update folder. */
export const OS_IMAGE_EXTENSION = '.esos';

const INDEX_MAX_BYTES = 1024 * 1024;
const IMAGE_MAX_BYTES = OSU_MAX_PAYLOAD + OS_IMAGE_HEADER_LENGTH + OS_IMAGE_SIGNATURE_LENGTH;
const FETCH_TIMEOUT_MS = 30_000;

/** The update source cannot be read (→ SERVICE_UNAVAILABLE). */
class SourceUnavailable extends Error {}
/** The card has no OS-update commands (→ SERVICE_UNAVAILABLE). */
class NoOsuOnCard extends Error {}

interface Candidate {
  readonly version: OsVersion;
  readonly versionText: string;
  load(): Promise<Uint8Array>;
}

// ------------------------------------------------------------------------------------------ sources

function listDir(dir: string): Candidate[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new SourceUnavailable(`${dir} is not a folder`);
    names = readdirSync(dir);
  } catch (e) {
    if (e instanceof SourceUnavailable) throw e;
    throw new SourceUnavailable(`cannot read the update folder ${dir}: ${(e as Error).message}`);
  }
  const out: Candidate[] = [];
  for (const name of names.filter((n) => n.endsWith(OS_IMAGE_EXTENSION)).sort()) {
    const path = join(dir, name);
    try {
      const bytes = new Uint8Array(readFileSync(path));
      const img = parseOsImage(bytes);
      const v = img.header.version;
      out.push({ version: v, versionText: formatOsVersion(v), load: async () => bytes });
    } catch {
      // not an OS image (or unreadable): ignored
    }
  }
  return out;
}

async function fetchBytes(url: string, dispatcher: Agent, max: number): Promise<Uint8Array> {
  const u = new URL(url);
  if (u.protocol !== 'https:') throw new SourceUnavailable(`${u.origin}: only https:// update URLs are accepted`);
  let r;
  try {
    r = await request(u, { method: 'GET', dispatcher, headersTimeout: FETCH_TIMEOUT_MS, bodyTimeout: FETCH_TIMEOUT_MS, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (e) {
    throw new SourceUnavailable(`${u.origin}${u.pathname}: ${(e as Error).message}`);
  }
  if (r.statusCode !== 200) {
    await r.body.dump().catch(() => undefined);
    throw new SourceUnavailable(`${u.origin}${u.pathname}: HTTP ${r.statusCode}`);
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of r.body) {
    const c = chunk as Uint8Array;
    size += c.length;
    if (size > max) {
      r.body.destroy();
      throw new SourceUnavailable(`${u.origin}${u.pathname}: response larger than ${max} bytes`);
    }
    parts.push(c);
  }
  return concatBytes(...parts);
}

async function listUrl(url: string, dispatcher: Agent): Promise<Candidate[]> {
  if (new URL(url).pathname.endsWith(OS_IMAGE_EXTENSION)) {
    const bytes = await fetchBytes(url, dispatcher, IMAGE_MAX_BYTES);
    let v: OsVersion;
    try {
      v = parseOsImage(bytes).header.version;
    } catch (e) {
      throw new SourceUnavailable(`${url} is not an OS image: ${(e as Error).message}`);
    }
    return [{ version: v, versionText: formatOsVersion(v), load: async () => bytes }];
  }
  const raw = await fetchBytes(url, dispatcher, INDEX_MAX_BYTES);
  let index: unknown;
  try {
    index = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    throw new SourceUnavailable(`${url}: the index is not JSON`);
  }
  const images = (index as { images?: unknown }).images;
  if (!Array.isArray(images)) throw new SourceUnavailable(`${url}: the index has no "images" list`);
  const out: Candidate[] = [];
  for (const e of images) {
    const version = (e as { version?: unknown }).version;
    const ref = (e as { url?: unknown }).url;
    if (typeof version !== 'string' || typeof ref !== 'string') continue;
    let v: OsVersion;
    try {
      v = parseOsVersion(version);
    } catch {
      continue;
    }
    const abs = new URL(ref, url).toString();
    out.push({
      version: v,
      versionText: version,
      load: async () => {
        const bytes = await fetchBytes(abs, dispatcher, IMAGE_MAX_BYTES);
        const got = parseOsImage(bytes).header.version;
        if (compareOsVersions(got, v) !== 0) throw new Error(`${abs} holds OS ${formatOsVersion(got)}, the index says ${version}`);
        return bytes;
      },
    });
  }
  return out;
}

// ------------------------------------------------------------------------------------------ card side

async function readCardStatus(ch: ApduChannel): Promise<ReturnType<typeof decodeOsuStatus>> {
  const r = await ch.transceive(encodeCommandApdu({ cla: ch.cla(true), ins: OSU_INS_STATUS, p1: 0, p2: 0, le: 256 }), 'OSU STATUS');
  if (r.sw === 0x6d00 || r.sw === 0x6e00) throw new NoOsuOnCard(`the card has no OS-update commands (${r.sw.toString(16)})`);
  if (r.sw !== 0x9000) throw new Error(`OSU STATUS answered ${r.sw.toString(16).toUpperCase()}`);
  return decodeOsuStatus(r.data);
}

/** The OS-update status words of src/euicc/osu.ts, for failure messages. */
const SW_TEXT: Readonly<Record<number, string>> = {
  0x6982: 'signature or payload hash does not verify with the card\'s EUM',
  0x6985: 'conditions not satisfied (version not newer, or load out of order)',
  0x6a80: 'malformed image',
  0x6a84: 'image too large',
  0x6a86: 'block out of sequence',
  0x6700: 'wrong length',
};

export class OsuFailure extends Error {
  override readonly name = 'OsuFailure';
}

/**
 * The OS-update provider of the software eUICC (see the file comment). `transport` is the slot's (lazily
 * opened) card connection; the provider opens and closes its own logical channel on it.
 */
export function softEuiccOsuProvider(o: {
  slotId: number;
  transport: () => Promise<ApduTransport>;
  source: OsuSource;
  store: ServiceStore;
  channelOptions?: ApduChannelOptions;
  /** LOAD block size (default 240; larger needs extended length). */
  blockSize?: number;
  /** Failure details (no secrets), e.g. for the daemon's log. */
  onError?: (message: string) => void;
}): OsUpdateProvider {
  let running = false;
  const report = (m: string): void => {
    try {
      o.onError?.(m);
    } catch {
      /* a logger's failure changes nothing */
    }
  };

  const withCard = async <T>(fn: (ch: ApduChannel) => Promise<T>): Promise<T> => {
    const t = await o.transport();
    return ApduChannel.with(t, o.channelOptions ?? {}, fn);
  };

  /** A status left at IN_PROGRESS by a stopped service → SUCCESSFUL or FAILED from the card's version. */
  const recover = async (target: string | undefined): Promise<number> => {
    let status: number = OSU_STATUS.FAILED;
    try {
      const cur = await withCard(readCardStatus);
      if (target !== undefined && compareOsVersions(parseOsVersion(cur.currentVersion), parseOsVersion(target)) >= 0) status = OSU_STATUS.SUCCESSFUL;
    } catch (e) {
      report(`slot ${o.slotId}: OS update status unknown after a restart: ${(e as Error).message}`);
    }
    o.store.setOsu(o.slotId, { status, ...(target !== undefined && { version: target }) });
    return status;
  };

  /** The candidates of the source; `dispatcher` (https sources) is closed by the caller. */
  const listCandidates = async (dispatcher: Agent | undefined): Promise<Candidate[]> => {
    if (o.source.dir !== undefined) return listDir(o.source.dir);
    if (o.source.url !== undefined && dispatcher) return listUrl(o.source.url, dispatcher);
    throw new SourceUnavailable('no update source configured');
  };

  return {
    async status() {
      if (running) return OSU_STATUS.IN_PROGRESS;
      const rec = o.store.getOsu(o.slotId);
      if (!rec) return OSU_STATUS.ALREADY_LATEST;
      if (rec.status === OSU_STATUS.IN_PROGRESS) return recover(rec.version);
      return rec.status;
    },

    async start(onProgress) {
      if (running) return OSU_STATUS.IN_PROGRESS;
      running = true;
      let target: string | undefined;
      const dispatcher =
        o.source.dir === undefined && o.source.url !== undefined
          ? new Agent({ connect: { ...(o.source.ca !== undefined && { ca: o.source.ca }), timeout: 10_000 } })
          : undefined;
      const progress = (p: OsuProgress): void => {
        try {
          onProgress?.(p);
        } catch {
          /* a listener's failure does not break the update */
        }
      };
      try {
        const before = o.store.getOsu(o.slotId);
        if (before?.status === OSU_STATUS.IN_PROGRESS) await recover(before.version);
        let candidates: Candidate[];
        try {
          candidates = await listCandidates(dispatcher);
        } catch (e) {
          report(`slot ${o.slotId}: OS update source unavailable: ${(e as Error).message}`);
          return OSU_STATUS.SERVICE_UNAVAILABLE;
        }
        return await withCard(async (ch) => {
          const cur = await readCardStatus(ch);
          const current = parseOsVersion(cur.currentVersion);
          const best = candidates
            .filter((c) => compareOsVersions(c.version, current) > 0)
            .sort((a, b) => compareOsVersions(b.version, a.version))[0];
          if (!best) {
            o.store.setOsu(o.slotId, { status: OSU_STATUS.ALREADY_LATEST, version: cur.currentVersion });
            return OSU_STATUS.ALREADY_LATEST;
          }
          target = best.versionText;
          o.store.setOsu(o.slotId, { status: OSU_STATUS.IN_PROGRESS, version: target });
          const image = await best.load();
          const parsed = parseOsImage(image);
          const total = parsed.payload.length;
          progress({ done: 0, total, version: target });
          const cmds = osuCommands(image, { channel: ch.channel, ...(o.blockSize !== undefined && { blockSize: o.blockSize }) });
          let done = 0;
          try {
            for (let i = 0; i < cmds.length; i++) {
              const cmd = cmds[i]!;
              const r = await ch.transceive(cmd, 'OSU');
              if (r.sw !== 0x9000) {
                const what = i === 0 ? 'BEGIN' : i === cmds.length - 1 ? 'COMMIT' : 'LOAD';
                throw new OsuFailure(`OS ${target}: ${what} answered ${r.sw.toString(16).toUpperCase()}${SW_TEXT[r.sw] ? ` (${SW_TEXT[r.sw]})` : ''}`);
              }
              if (i > 0 && i < cmds.length - 1 && r.data.length === 8) {
                done = new DataView(r.data.buffer, r.data.byteOffset, 8).getUint32(0, false);
                progress({ done, total, version: target });
              }
            }
          } catch (e) {
            // drop the load on the card (COMMIT P1 01 = abort); a failure here changes nothing
            await ch.transceive(encodeCommandApdu({ cla: ch.cla(true), ins: OSU_INS_COMMIT, p1: 1, p2: 0 }), 'OSU abort').catch(() => undefined);
            throw e;
          }
          const after = await readCardStatus(ch);
          if (after.currentVersion !== target) throw new OsuFailure(`the card reports OS ${after.currentVersion} after committing ${target}`);
          if (done !== total) progress({ done: total, total, version: target });
          o.store.setOsu(o.slotId, { status: OSU_STATUS.SUCCESSFUL, version: target });
          return OSU_STATUS.SUCCESSFUL;
        });
      } catch (e) {
        if (e instanceof NoOsuOnCard) {
          report(`slot ${o.slotId}: ${e.message}`);
          return OSU_STATUS.SERVICE_UNAVAILABLE;
        }
        report(`slot ${o.slotId}: OS update failed: ${(e as Error).message}`);
        try {
          o.store.setOsu(o.slotId, { status: OSU_STATUS.FAILED, ...(target !== undefined && { version: target }) });
        } catch {
          /* store closed: the outcome is still returned */
        }
        return OSU_STATUS.FAILED;
      } finally {
        running = false;
        await dispatcher?.close().catch(() => undefined);
      }
    },
  };
}

// ------------------------------------------------------------------------------------------ images

/** A recognisable demo OS payload (4 KiB of "esimkit software eUICC OS <version>" lines). */
export function demoOsPayload(version: string, size = 4096): Uint8Array {
  const line = utf8(`esimkit software eUICC OS ${version}\n`);
  const out = new Uint8Array(size);
  for (let i = 0; i < out.length; i++) out[i] = line[i % line.length]!;
  return out;
}

/** A signed demo OS image for `version` (the EUM key of the cards it is for). */
export function buildDemoOsImage(eumKey: KeyObject, version: string): Uint8Array {
  return buildOsImage({ eumKey, version, payload: demoOsPayload(version) });
}
