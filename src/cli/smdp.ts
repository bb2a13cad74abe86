/**
 * `esim-smdp`: the reference SM-DP+ admin CLI.
 *
 *   esim-smdp serve --db <file> [--host 127.0.0.1] [--port 8443] [--address host:port] [--pki <dir>] [--sgp26 <dir>] [--progress-url <url>]
 *   esim-smdp profile add <upp.der> --db <file> [--spn ...] [--name ...] [--class operational|test|provisioning] [--type ...]
 *   esim-smdp order create --db <file> --profile <iccid|profileType> [--eid ...] [--confirmation-code ...] [--qr <out.png>] [--address host:port] [--json]
 *   esim-smdp order list --db <file> [--json]
 *
 * Exit codes: 0 ok, 1 failure, 2 usage. The SM-DP+ address used by `order create` is the one `serve`
 * recorded in the db (table cli_config), unless --address is given. Confirmation codes and private keys
 * are never printed. The PKI folder (default <db>.pki) is created on first run: CI, DPauth, DPpb, DPtls
 * (keys 0600); DPtls is re-issued from the CI key when the host name changes.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import QRCode from 'qrcode';
import { privateKeyFromPem, privateKeyToPem, type Curve } from '../crypto/ecdsa.js';
import { createCi, createDpAuth, createDpPb, createDpTls, type IssuedCertificate } from '../crypto/pki.js';
import { fromPem, parseCertificate, toPem } from '../crypto/x509.js';
import { registerEs2p } from '../smdp/es2p.js';
import { hostOfAddress, loadSgp26SmdpIdentity, type SmdpIdentity } from '../smdp/identity.js';
import { SmdpInventory } from '../smdp/inventory.js';
import { SmdpServer } from '../smdp/server.js';
import { CliFailure, CliUsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, runProgram, type CliIo } from './io.js';

export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIo } from './io.js';

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

// ------------------------------------------------------------------------------------------------ PKI

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function loadIssued(dir: string, name: string, curve: Curve): IssuedCertificate {
  const certPem = readFileSync(join(dir, `${name}.pem`), 'latin1');
  const certDer = fromPem(certPem);
  return { certDer, certPem: toPem(certDer), privateKey: privateKeyFromPem(readFileSync(join(dir, `${name}.key.pem`), 'latin1')), cert: parseCertificate(certDer), curve };
}

function saveIssued(dir: string, name: string, c: IssuedCertificate): void {
  writeFileSync(join(dir, `${name}.pem`), toPem(c.certDer));
  writeFileSync(join(dir, `${name}.der`), c.certDer);
  writeSecret(join(dir, `${name}.key.pem`), privateKeyToPem(c.privateKey));
}

/** Load (or create on first run) the SM-DP+ PKI in `dir`; returns the identity and the CI certificate path. */
export function loadOrCreatePki(dir: string, address: string, curve: Curve = 'P-256'): { identity: SmdpIdentity; ciPath: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const host = hostOfAddress(address);
  const meta = join(dir, 'pki.json');
  let ci: IssuedCertificate;
  let dpAuth: IssuedCertificate;
  let dpPb: IssuedCertificate;
  let tls: IssuedCertificate;
  if (existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { curve: Curve; tlsHost: string };
    curve = m.curve;
    ci = loadIssued(dir, 'ci', curve);
    dpAuth = loadIssued(dir, 'dpauth', curve);
    dpPb = loadIssued(dir, 'dppb', curve);
    if (m.tlsHost === host) tls = loadIssued(dir, 'dptls', curve);
    else {
      tls = createDpTls(ci, host, { curve });
      saveIssued(dir, 'dptls', tls);
      writeFileSync(meta, JSON.stringify({ curve, tlsHost: host }));
    }
  } else {
    ci = createCi({ curve });
    dpAuth = createDpAuth(ci, { curve });
    dpPb = createDpPb(ci, { curve });
    tls = createDpTls(ci, host, { curve });
    saveIssued(dir, 'ci', ci);
    saveIssued(dir, 'dpauth', dpAuth);
    saveIssued(dir, 'dppb', dpPb);
    saveIssued(dir, 'dptls', tls);
    writeFileSync(meta, JSON.stringify({ curve, tlsHost: host }));
  }
  return {
    identity: {
      address,
      ciCerts: [ci.certDer],
      dpAuth: { certDer: dpAuth.certDer, privateKey: dpAuth.privateKey },
      dpPb: { certDer: dpPb.certDer, privateKey: dpPb.privateKey },
      tls: { certPem: tls.certPem, keyPem: privateKeyToPem(tls.privateKey) },
    },
    ciPath: join(dir, 'ci.pem'),
  };
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
      });
      try {
        writeConfig(db, 'address', server.address);
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
    .option('--json', 'JSON output')
    .addHelpText('after', '\nExample:\n  esim-smdp order create --db smdp.db --profile 8949449999999990023 --confirmation-code 1234 --qr code.png')
    .action(async (o: { db: string; profile: string; eid?: string; confirmationCode?: string; qr?: string; address?: string; json?: boolean }) => {
      const db = needDb(resolve(o.db), true);
      const address = o.address ?? readConfig(db, 'address');
      if (!address) throw new CliUsageError('no SM-DP+ address recorded in the db: run serve once or give --address');
      if (o.confirmationCode !== undefined && o.confirmationCode.length === 0) throw new CliUsageError('the confirmation code must not be empty');
      const inv = new SmdpInventory(db);
      let r: { matchingId: string; iccid: string };
      try {
        const byIccid = /^[0-9]{18,19}[0-9Ff]?$/.test(o.profile);
        r = inv.createOrder({
          ...(byIccid ? { iccid: o.profile } : { profileType: o.profile }),
          ...(o.eid !== undefined && { eid: o.eid }),
          ...(o.confirmationCode !== undefined && { confirmationCode: o.confirmationCode }),
        });
      } catch (e) {
        throw new CliFailure((e as Error).message);
      } finally {
        inv.close();
      }
      const ac = `LPA:1$${address}$${r.matchingId}${o.confirmationCode !== undefined ? '$$1' : ''}`;
      if (o.qr) await QRCode.toFile(o.qr, ac, { type: 'png', errorCorrectionLevel: 'M' });
      if (o.json) {
        io.stdout(`${JSON.stringify({ activationCode: ac, iccid: r.iccid, matchingId: r.matchingId, confirmationCodeRequired: o.confirmationCode !== undefined, ...(o.qr && { qr: o.qr }) })}\n`);
      } else {
        io.stdout(`${ac}\n`);
        io.stderr(`ICCID ${r.iccid}${o.confirmationCode !== undefined ? ', confirmation code required' : ''}${o.qr ? `, QR code written to ${o.qr}` : ''}\n`);
      }
    });
  order
    .command('list')
    .description('list download orders')
    .requiredOption('--db <file>', 'SQLite inventory')
    .option('--json', 'JSON output')
    .action((o: { db: string; json?: boolean }) => {
      const db = needDb(resolve(o.db), true);
      new SmdpInventory(db).close(); // schema
      const d = new Database(db, { readonly: true });
      let rows: { matching_id: string; iccid: string; eid: string | null; state: string; cc: number; pstate: string | null }[];
      try {
        rows = d
          .prepare('SELECT o.matching_id, o.iccid, o.eid, o.state, o.cc_hash IS NOT NULL AS cc, p.state AS pstate FROM orders o LEFT JOIN profiles p ON p.iccid = o.iccid ORDER BY o.created_at, o.rowid')
          .all() as typeof rows;
      } finally {
        d.close();
      }
      const list = rows.map((x) => ({ matchingId: x.matching_id, iccid: x.iccid, ...(x.eid !== null && { eid: x.eid }), state: x.state, profileState: x.pstate ?? 'unknown', confirmationCodeRequired: x.cc === 1 }));
      if (o.json) io.stdout(`${JSON.stringify(list)}\n`);
      else {
        io.stdout('ICCID                MATCHING ID                       ORDER      PROFILE    CC  EID\n');
        for (const l of list) io.stdout(`${l.iccid.padEnd(20)} ${l.matchingId.padEnd(33)} ${l.state.padEnd(10)} ${l.profileState.padEnd(10)} ${l.confirmationCodeRequired ? 'yes' : 'no '} ${l.eid ?? '-'}\n`);
      }
    });
  return program;
}

/** Run `esim-smdp` on `args` (without node and the script). Never throws; returns the exit code. */
export function runSmdpCli(args: readonly string[], io: CliIo): Promise<number> {
  return runProgram('esim-smdp', createSmdpProgram(io), args, io);
}
