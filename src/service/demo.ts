/**
 * The demo servers of the embedded default (ensureHome): a reference SM-DP+ (ES9+ and ES2+) and an SM-DS
 * (ES11, ES12 with mutual TLS) on 127.0.0.1, at the ports fixed in slots.json, with certificates for the host
 * `localhost` under the home's own CI (home/pki). The cards of the home trust that CI, so downloads and
 * discovery work end to end on one machine; ServiceConfig.resolve maps `localhost` to 127.0.0.1.
 *
 * Demo content (createDemoContent in home.ts, written once by ensureHome):
 *   - per card: one released order bound to its EID without matchingId (found by default-SM-DP+ discovery:
 *     ES9+ with no matchingId, the SM-DP+ looks the order up by EID), and one released order bound to its EID
 *     whose matchingId is registered as an event on the SM-DS for that EID (found by SM-DS discovery; the event
 *     is written straight into the SM-DS database at creation);
 *   - three free orders (no EID, no confirmation code): their activation codes are listed in home/demo.json
 *     `{ smdpAddress, smdsAddress, activationCodes: [...] }` (mode 0600: an activation code is a secret).
 * The profiles are esimkit's own SAIP packages (buildProfilePackage), operational, SPN "esimkit", each with a
 * 64 × 64 PNG icon in its metadata (demo-icon.ts: one colour per kind), which the card stores and reports.
 */
import type { Server } from 'node:net';
import { registerEs2p } from '../smdp/es2p.js';
import { loadOrCreatePki, loadOrCreateSmdsPki } from '../smdp/pki-store.js';
import { SmdpServer } from '../smdp/server.js';
import { SmdsServer } from '../smdp/smds.js';
import { homePaths } from './home.js';
import type { ServiceConfig } from './slots.js';

export interface DemoServers {
  readonly smdpAddress: string;
  readonly smdsAddress: string;
  /** The running servers (tests, admin: e.g. `smdp.inventory.createOrder`). */
  readonly smdp: SmdpServer;
  readonly smds: SmdsServer;
  close(): Promise<void>;
}

/** The demo servers could not start (typically: a port of slots.json is taken by another program). */
export class DemoServersError extends Error {
  override readonly name = 'DemoServersError';
}

function unrefServer(server: Server): void {
  server.unref();
  // accepted (keep-alive) connections must not keep the process alive either
  server.on('connection', (s) => s.unref());
  server.on('secureConnection', (s: { unref(): void }) => s.unref());
}

function describe(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  return code === 'EADDRINUSE' ? 'the port is in use by another program' : e instanceof Error ? e.message : String(e);
}

/** Starts the demo SM-DP+ (ES9+ + ES2+) and SM-DS of the config on 127.0.0.1 (unref: handles don't keep the process alive). */
export async function startDemoServers(cfg: ServiceConfig, opts: { unref?: boolean; onWarning?: (message: string) => void } = {}): Promise<DemoServers> {
  const demo = cfg.demo;
  if (!demo) throw new DemoServersError(`${homePaths(cfg.home).slotsFile} has no "demo" section`);
  const pkiDir = homePaths(cfg.home).pkiDir;
  let smdpIdentity;
  let smdsIdentity;
  try {
    smdpIdentity = loadOrCreatePki(pkiDir, demo.smdp.address).identity;
    smdsIdentity = loadOrCreateSmdsPki(pkiDir, demo.smds.address);
  } catch (e) {
    throw new DemoServersError(`cannot load the demo PKI in ${pkiDir}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  let smdp: SmdpServer;
  try {
    smdp = await SmdpServer.start({
      identity: smdpIdentity,
      dbPath: demo.smdp.db,
      host: '127.0.0.1',
      port: demo.smdp.port,
      register: registerEs2p({ ...(opts.onWarning && { onWarning: opts.onWarning }) }),
      ...(opts.onWarning && { onWarning: opts.onWarning }),
    });
  } catch (e) {
    throw new DemoServersError(`demo SM-DP+ cannot listen on 127.0.0.1:${demo.smdp.port} (slots.json demo.smdp.port): ${describe(e)}`, { cause: e });
  }
  let smds: SmdsServer;
  try {
    smds = await SmdsServer.start({ identity: smdsIdentity, dbPath: demo.smds.db, host: '127.0.0.1', port: demo.smds.port });
  } catch (e) {
    await smdp.close().catch(() => undefined);
    throw new DemoServersError(`demo SM-DS cannot listen on 127.0.0.1:${demo.smds.port} (slots.json demo.smds.port): ${describe(e)}`, { cause: e });
  }
  if (opts.unref) {
    unrefServer(smdp.app.server);
    unrefServer((smds as unknown as { app: { server: Server } }).app.server);
  }
  let closing: Promise<void> | undefined;
  return {
    smdpAddress: smdp.address,
    smdsAddress: smds.address,
    smdp,
    smds,
    close() {
      closing ??= Promise.allSettled([smdp.close(), smds.close()]).then(() => undefined);
      return closing;
    },
  };
}
