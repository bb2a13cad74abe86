/**
 * `esim-smdp`: the reference SM-DP+ admin CLI.
 *
 *   esim-smdp serve --db <file> [--host 127.0.0.1] [--port 8443] [--address host:port] [--pki <dir>] [--sgp26 <dir>] [--progress-url <url>]
 *   esim-smdp profile add <upp.der> --db <file> [--spn ...] [--name ...] [--class operational|test|provisioning] [--type ...]
 *   esim-smdp order create --db <file> --profile <iccid|profileType> [--eid ...] [--confirmation-code ...] [--qr <out.png>] [--address host:port]
 *                          [--smds host:port [--pki <dir>] [--smds-ca <file>]] [--json]
 *   esim-smdp order list --db <file> [--json]
 *
 * `order create --smds` registers the order as an ES12 event on that SM-DS (eventId = matchingId, the EID is
 * required) with the SM-DP+'s DPtls as TLS client certificate, stored in the same transaction as the order; a
 * registration that cannot be made now stays pending and `serve` retries it. `order list` shows the state.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage. The SM-DP+ address used by `order create` is the one `serve`
 * recorded in the db (table cli_config), unless --address is given. Confirmation codes and private keys
 * are never printed. The PKI folder (default <db>.pki) is created on first run: CI, DPauth, DPpb, DPtls
 * (keys 0600); DPtls is re-issued from the CI key when the host name changes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import QRCode from 'qrcode';
import { fromPem } from '../crypto/x509.js';
import { registerEs2p } from '../smdp/es2p.js';
import { hostOfAddress, loadSgp26SmdpIdentity, type SmdpIdentity } from '../smdp/identity.js';
import { SmdpInventory } from '../smdp/inventory.js';
import { loadOrCreatePki } from '../smdp/pki-store.js';
import { SmdpServer } from '../smdp/server.js';
import { SmdsRegistrar, SmdsRegistrationStore, type SmdsRegistration } from '../smdp/smds-registrar.js';
import { CliFailure, CliUsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, runProgram, type CliIo } from './io.js';

export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIo } from './io.js';
/** Moved to src/smdp/pki-store.ts (the service's demo SM-DP+ uses it too); re-exported for existing callers. */
export { loadOrCreatePki } from '../smdp/pki-store.js';

// ------------------------------------------------------------------------------ config stored in the db

function readConfig(db: string, key: string): string | undefined {
  if (!existsSync(db)) return undefined;
  const d = new Database(db);
  try {
    const t = d.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cli_config'").get();
    if (!t) return undefined;
    const r = d.prepare('SELECT value FROM cli_config WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value;
  } finally {
    d.close();
  }
}

function writeConfig(db: string, key: string, value: string): void {
  const d = new Database(db);
  try {
    d.exec('CREATE TABLE IF NOT EXISTS cli_config (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    d.prepare('INSERT INTO cli_config (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  } finally {
    d.close();
  }
}

// ----------------------------------------------------------------------------------------- parsers

function parsePort(v: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError('port must be 0..65535');
  return Number(v);
}
function parseAddress(v: string): string {
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(v)) throw new InvalidArgumentError('address must be host[:port], e.g. smdp.example.com:8443');
  return v;
}
function parseEid(v: string): string {
  if (!/^\d{32}$/.test(v)) throw new InvalidArgumentError('an EID is 32 decimal digits');
  return v;
}
const CLASSES: Record<string, number> = { test: 0, provisioning: 1, operational: 2 };
function parseClass(v: string): string {
  if (!(v in CLASSES)) throw new InvalidArgumentError('class must be operational, test or provisioning');
  return v;
}

/** CI certificates from a PEM (one or more) or DER file. */
function readCis(file: string): Uint8Array[] {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw new CliFailure(`cannot read ${file}: ${(e as Error).message}`);
  }
  const text = raw.toString('latin1');
  if (!text.includes('-----BEGIN')) return [new Uint8Array(raw)];
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new CliFailure(`${file}: no certificate`);
  return blocks.map((b) => fromPem(b));
}

/** The identity `serve` used (recorded in the db), for the ES12 client certificate of `order create --smds`. */
function identityForCli(db: string, address: string, pki: string | undefined): SmdpIdentity {
  const src = pki === undefined ? readConfig(db, 'identity') : undefined; // 'pki:<dir>' | 'sgp26:<dir>'
  if (src?.startsWith('sgp26:')) {
    const { ci: _ci, ...id } = loadSgp26SmdpIdentity({ dir: src.slice(6), address, tlsHost: hostOfAddress(address) });
    return id;
  }
  const dir = pki ?? (src?.startsWith('pki:') ? src.slice(4) : `${db}.pki`);
  if (!existsSync(join(dir, 'pki.json'))) throw new CliFailure(`no SM-DP+ PKI in ${dir} (run esim-smdp serve once, or give --pki)`);
  return loadOrCreatePki(dir, address).identity;
}

function smdsSummary(r: SmdsRegistration): { address: string; eventId: string; state: string; attempts: number; lastError?: string } {
  return { address: r.smdsAddress, eventId: r.eventId, state: r.state, attempts: r.attempts, ...(r.lastError !== undefined && { lastError: r.lastError }) };
}

function needDb(db: string, mustExist: boolean): string {
  if (mustExist && !existsSync(db)) throw new CliFailure(`no database ${db} (run esim-smdp serve or profile add first)`);
  return db;
}

// ------------------------------------------------------------------------------------------ program

export function createSmdpProgram(io: CliIo): Command {
  const program = new Command('esim-smdp');
  program
    .description('esimkit reference SM-DP+ (SGP.22 ES9+ and ES2+ over HTTPS) and its admin commands')
    .version('0.1.0', '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .exitOverride();
  program.addHelpText(
    'after',
    `
Examples:
  esim-smdp serve --db smdp.db --port 8443 --address localhost:8443
  esim-smdp profile add profile.der --db smdp.db --spn "Example" --name "Example 1"
  esim-smdp order create --db smdp.db --profile 8949449999999990023 --qr code.png
  esim-smdp order list --db smdp.db

Exit codes: 0 ok, 1 failure, 2 usage.`,
  );

  program
    .command('serve')
    .description('run the SM-DP+ (ES9+ and ES2+) until SIGINT/SIGTERM')
    .requiredOption('--db <file>', 'SQLite inventory')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port (0 = random)', parsePort, 8443)
    .option('--address <host:port>', 'the SM-DP+ address in activation codes (default localhost:<port>)', parseAddress)
    .option('--pki <dir>', 'PKI folder, created on first run (default <db>.pki)')
    .option('--sgp26 <dir>', 'use the SGP.26 CI/DPauth/DPpb of this folder (fresh DPtls from SK_CI)')
    .option('--progress-url <url>', 'operator URL for ES2+ handleDownloadProgressInfo')
    .addHelpText('after', '\nExample:\n  esim-smdp serve --db smdp.db --port 8443 --address localhost:8443')
    .action(async (o: { db: string; host: string; port: number; address?: string; pki?: string; sgp26?: string; progressUrl?: string }) => {
      const db = resolve(o.db);
      const addr0 = o.address ?? `localhost:${o.port}`;
      let identity: SmdpIdentity;
      let ciPath: string;
      if (o.sgp26) {
        const { ci: _ci, ...id } = loadSgp26SmdpIdentity({ dir: o.sgp26, address: addr0, tlsHost: hostOfAddress(addr0) });
        identity = id;
        ciPath = join(o.sgp26, 'CertificateIssuer', 'CERT_CI_ECDSA_NIST.der');
      } else {
        ({ identity, ciPath } = loadOrCreatePki(o.pki ?? `${db}.pki`, addr0));
      }
      const server = await SmdpServer.start({
        identity,
        dbPath: db,
        host: o.host,
        port: o.port,
        register: registerEs2p({ ...(o.progressUrl !== undefined && { progressUrl: o.progressUrl }), onWarning: (m) => io.stderr(`esim-smdp: ${m}\n`) }),
        onWarning: (m) => io.stderr(`esim-smdp: ${m}\n`), // incl. ES12 registration failures (retried)
      });
      try {
        writeConfig(db, 'address', server.address);
        writeConfig(db, 'identity', o.sgp26 ? `sgp26:${resolve(o.sgp26)}` : `pki:${resolve(o.pki ?? `${db}.pki`)}`);
        io.stdout(`SM-DP+ listening on ${server.url}\naddress: ${server.address}\nCI certificate (LPAs must trust it): ${ciPath}\n`);
        await new Promise<void>((r) => {
          if (!io.signal || io.signal.aborted) return r();
          io.signal.addEventListener('abort', () => r(), { once: true });
        });
      } finally {
        await server.close();
        io.stdout('SM-DP+ stopped\n');
      }
    });

  const profile = program.command('profile').description('manage profiles (UPPs)');
  profile
    .command('add <upp>')
    .description('add a profile package (SAIP DER); prints its ICCID')
    .requiredOption('--db <file>', 'SQLite inventory')
    .option('--spn <name>', 'service provider name')
    .option('--name <name>', 'profile name')
    .option('--class <class>', 'operational | test | provisioning', parseClass)
    .option('--type <profileType>', 'profile type for ES2+ downloadOrder / order create --profile')
    .option('--json', 'JSON output')
    .addHelpText('after', '\nExample:\n  esim-smdp profile add profile.der --db smdp.db --spn Example --name "Example 1" --class operational')
    .action((file: string, o: { db: string; spn?: string; name?: string; class?: string; type?: string; json?: boolean }) => {
      let upp: Uint8Array;
      try {
        upp = new Uint8Array(readFileSync(file));
      } catch (e) {
        throw new CliFailure(`cannot read ${file}: ${(e as Error).message}`);
      }
      const inv = new SmdpInventory(resolve(o.db));
      try {
        const { iccid } = inv.addProfile(upp, {
          ...(o.spn !== undefined && { serviceProviderName: o.spn }),
          ...(o.name !== undefined && { profileName: o.name }),
          ...(o.class !== undefined && { profileClass: CLASSES[o.class]! }),
          ...(o.type !== undefined && { profileType: o.type }),
        });
        io.stdout(o.json ? `${JSON.stringify({ iccid })}\n` : `${iccid}\n`);
      } catch (e) {
        throw new CliFailure((e as Error).message);
      } finally {
        inv.close();
      }
    });

  const order = program.command('order').description('download orders');
  order
    .command('create')
    .description('create and release a download order; prints the activation code')
    .requiredOption('--db <file>', 'SQLite inventory')
    .requiredOption('--profile <iccid|profileType>', 'an ICCID or a profile type')
    .option('--eid <eid>', 'bind the order to this EID', parseEid)
    .option('--confirmation-code <code>', 'require this confirmation code (never printed)')
    .option('--qr <out.png>', 'write the activation code as a QR code PNG')
    .option('--address <host:port>', 'SM-DP+ address (default: the one recorded by serve)', parseAddress)
    .option('--smds <host:port>', 'register the order as an event on this SM-DS (ES12; needs --eid)', parseAddress)
    .option('--pki <dir>', 'with --smds: PKI folder whose DPtls is the TLS client certificate (default: the one serve used)')
    .option('--smds-ca <file>', "with --smds: CI certificate(s) (PEM or DER) the SM-DS TLS certificate must chain to (default: the SM-DP+'s CI)")
    .option('--json', 'JSON output')
    .addHelpText(
      'after',
      '\nExamples:\n  esim-smdp order create --db smdp.db --profile 8949449999999990023 --confirmation-code 1234 --qr code.png\n  esim-smdp order create --db smdp.db --profile gold --eid 89049032123451234512345678901235 --smds smds.example.com:8444',
    )
    .action(async (o: { db: string; profile: string; eid?: string; confirmationCode?: string; qr?: string; address?: string; smds?: string; pki?: string; smdsCa?: string; json?: boolean }) => {
      const db = needDb(resolve(o.db), true);
      const address = o.address ?? readConfig(db, 'address');
      if (!address) throw new CliUsageError('no SM-DP+ address recorded in the db: run serve once or give --address');
      if (o.confirmationCode !== undefined && o.confirmationCode.length === 0) throw new CliUsageError('the confirmation code must not be empty');
      if (o.smds !== undefined && o.eid === undefined) throw new CliUsageError('--smds needs --eid (an SM-DS event is registered for an EID)');
      if (o.smds === undefined && (o.pki !== undefined || o.smdsCa !== undefined)) throw new CliUsageError('--pki and --smds-ca go with --smds');
      let es12: { trustedCis: Uint8Array[]; clientTls: { certPem: string; keyPem: string } } | undefined;
      if (o.smds !== undefined) {
        const id = identityForCli(db, address, o.pki);
        es12 = {
          trustedCis: o.smdsCa !== undefined ? readCis(o.smdsCa) : id.ciCerts,
          clientTls: { certPem: id.tls.certPem + (id.tls.chainPem ?? ''), keyPem: id.tls.keyPem },
        };
      }
      const inv = new SmdpInventory(db);
      let registrar: SmdsRegistrar | undefined;
      let r: { matchingId: string; iccid: string };
      let reg: SmdsRegistration | undefined;
      try {
        if (es12) registrar = new SmdsRegistrar(inv.db, { ...es12, pollIntervalMs: 0 });
        const byIccid = /^[0-9]{18,19}[0-9Ff]?$/.test(o.profile);
        try {
          r = inv.db.transaction(() => {
            const r = inv.createOrder({
              ...(byIccid ? { iccid: o.profile } : { profileType: o.profile }),
              ...(o.eid !== undefined && { eid: o.eid }),
              ...(o.confirmationCode !== undefined && { confirmationCode: o.confirmationCode }),
            });
            if (registrar && o.smds !== undefined) registrar.add({ smdsAddress: o.smds, eventId: r.matchingId, matchingId: r.matchingId, eid: o.eid!, rspServerAddress: address });
            return r;
          })();
        } catch (e) {
          throw new CliFailure((e as Error).message);
        }
        if (registrar && o.smds !== undefined) reg = await registrar.attemptNow(o.smds, r.matchingId);
      } finally {
        await registrar?.close();
        inv.close();
      }
      const ac = `LPA:1$${address}$${r.matchingId}${o.confirmationCode !== undefined ? '$$1' : ''}`;
      if (o.qr) await QRCode.toFile(o.qr, ac, { type: 'png', errorCorrectionLevel: 'M' });
      if (o.json) {
        io.stdout(
          `${JSON.stringify({ activationCode: ac, iccid: r.iccid, matchingId: r.matchingId, confirmationCodeRequired: o.confirmationCode !== undefined, ...(o.qr && { qr: o.qr }), ...(reg && { smds: smdsSummary(reg) }) })}\n`,
        );
      } else {
        io.stdout(`${ac}\n`);
        io.stderr(`ICCID ${r.iccid}${o.confirmationCode !== undefined ? ', confirmation code required' : ''}${o.qr ? `, QR code written to ${o.qr}` : ''}\n`);
        if (reg?.state === 'registered') io.stderr(`SM-DS ${reg.smdsAddress}: event registered\n`);
        else if (reg?.state === 'pending') io.stderr(`SM-DS ${reg.smdsAddress}: registration pending (esim-smdp serve retries it): ${reg.lastError ?? ''}\n`);
      }
      if (reg?.state === 'failed') throw new CliFailure(`order created, but the SM-DS ${reg.smdsAddress} refused the event: ${reg.lastError ?? 'unknown error'}`);
    });
  order
    .command('list')
    .description('list download orders')
    .requiredOption('--db <file>', 'SQLite inventory')
    .option('--json', 'JSON output')
    .action((o: { db: string; json?: boolean }) => {
      const db = needDb(resolve(o.db), true);
      const schema = new SmdpInventory(db); // schema (+ the SM-DS registrations migration)
      const regs = new Map<string, SmdsRegistration[]>();
      let rows: { matching_id: string; iccid: string; eid: string | null; state: string; cc: number; pstate: string | null }[];
      try {
        for (const x of new SmdsRegistrationStore(schema.db).all()) regs.set(x.matchingId, [...(regs.get(x.matchingId) ?? []), x]);
        rows = schema.db
          .prepare('SELECT o.matching_id, o.iccid, o.eid, o.state, o.cc_hash IS NOT NULL AS cc, p.state AS pstate FROM orders o LEFT JOIN profiles p ON p.iccid = o.iccid ORDER BY o.created_at, o.rowid')
          .all() as typeof rows;
      } finally {
        schema.close();
      }
      const list = rows.map((x) => ({
        matchingId: x.matching_id,
        iccid: x.iccid,
        ...(x.eid !== null && { eid: x.eid }),
        state: x.state,
        profileState: x.pstate ?? 'unknown',
        confirmationCodeRequired: x.cc === 1,
        smds: (regs.get(x.matching_id) ?? []).map(smdsSummary),
      }));
      if (o.json) io.stdout(`${JSON.stringify(list)}\n`);
      else {
        io.stdout('ICCID                MATCHING ID                       ORDER      PROFILE    CC  EID                              SM-DS\n');
        for (const l of list) {
          const ds = l.smds.map((x) => `${x.address} ${x.state}${x.lastError !== undefined && x.state !== 'registered' && x.state !== 'deleted' ? ` (${x.lastError})` : ''}`).join('; ');
          io.stdout(`${l.iccid.padEnd(20)} ${l.matchingId.padEnd(33)} ${l.state.padEnd(10)} ${l.profileState.padEnd(10)} ${l.confirmationCodeRequired ? 'yes' : 'no '} ${(l.eid ?? '-').padEnd(32)} ${ds || '-'}\n`);
        }
      }
    });
  return program;
}

/** Run `esim-smdp` on `args` (without node and the script). Never throws; returns the exit code. */
export function runSmdpCli(args: readonly string[], io: CliIo): Promise<number> {
  return runProgram('esim-smdp', createSmdpProgram(io), args, io);
}
