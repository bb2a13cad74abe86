/**
 * `esim card ...`: create, inspect and serve software eUICCs; build (and apply) signed OS images.
 *
 *   esim card create   --state <file> [--curve ...] [--eid ...] [--ports N] [--memory BYTES] [--sgp26 <dir>] [--default-smdp addr]
 *   esim card info     --state <file> [--json]
 *   esim card serve    --state <file> [--vpcd host:port] [--port N] [--trace]
 *   esim card os-image build --eum-key <pem> --version x.y.z --out <file> [--payload <file>]
 *   esim card os-image apply --state <file> --image <file>
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { claFor, encodeCommandApdu, INS, parseResponse, swHex } from '../apdu/apdu.js';
import { VpcdBridge, VPCD_DEFAULT_PORT } from '../apdu/transports/vpcd.js';
import { decodeStoreMetadataRequest } from '../asn1/sgp22/metadata.js';
import { privateKeyFromPem, type Curve } from '../crypto/ecdsa.js';
import { writeIdentity } from '../crypto/pki.js';
import { SoftEuicc, ISDR_AID } from '../euicc/card.js';
import { createIdentity, loadIdentityFiles, type EuiccIdentity } from '../euicc/identity.js';
import { buildOsImage, osuCommands, parseOsImage, OSU_MAX_PAYLOAD } from '../euicc/osu.js';
import { decodeIccid } from '../util/bcd.js';
import { verifyEid } from '../util/eid.js';
import { toHex, utf8 } from '../util/hex.js';
import { CliFailure, CliUsageError, type CliIo } from './io.js';

// ------------------------------------------------------------------------------------ argument parsers

function parseIntIn(name: string, min: number, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be ${min}..${max}`);
    return n;
  };
}

/** "524288", "512K", "2M" → bytes. */
export function parseBytes(v: string): number {
  const m = /^(\d+)([KkMm]?)$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected a number of bytes, e.g. 524288, 512K or 2M');
  const n = Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]!) ? 1024 : 1024 * 1024);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('memory must be at least 1 byte');
  return n;
}

function parseEidArg(v: string): string {
  if (!/^\d{32}$/.test(v)) throw new InvalidArgumentError('an EID is 32 decimal digits');
  let ok = false;
  try {
    ok = verifyEid(v);
  } catch {
    ok = false;
  }
  if (!ok) throw new InvalidArgumentError('EID check digits are wrong (ISO 7064 mod 97-10)');
  return v;
}

function parseVersionArg(v: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  if (!m || [m[1], m[2], m[3]].some((x) => Number(x) > 255)) throw new InvalidArgumentError('version must be x.y.z, each 0..255');
  return v;
}

/** "host:port", "port", "[v6]:port" → {host, port}. */
export function parseHostPort(v: string): { host: string; port: number } {
  let host = '127.0.0.1';
  let portText = v;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(v);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (v.includes(':')) {
    const i = v.lastIndexOf(':');
    host = v.slice(0, i);
    portText = v.slice(i + 1);
  }
  if (host === '' || !/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new InvalidArgumentError('expected host:port, e.g. 127.0.0.1:35963');
  }
  return { host, port: Number(portText) };
}

// ------------------------------------------------------------------------------------ helpers

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function openCard(state: string): SoftEuicc {
  if (!existsSync(state)) throw new CliFailure(`no card state at ${state} (create one with: esim card create --state ${state})`);
  try {
    return SoftEuicc.open(state);
  } catch (e) {
    throw new CliFailure(`cannot open card ${state}: ${describeError(e)}`);
  }
}

const SGP26_FILES: Record<Curve, { euicc: string; key: string; eum: string; ci: string }> = {
  'P-256': {
    euicc: 'eUICC/CERT_EUICC_ECDSA_NIST.der',
    key: 'eUICC/SK_EUICC_ECDSA_NIST.pem',
    eum: 'EUM/CERT_EUM_ECDSA_NIST.der',
    ci: 'CertificateIssuer/CERT_CI_ECDSA_NIST.der',
  },
  brainpoolP256r1: {
    euicc: 'eUICC/CERT_EUICC_ECDSA_BRP.der',
    key: 'eUICC/SK_EUICC_ECDSA_BRP.pem',
    eum: 'EUM/CERT_EUM_ECDSA_BRP.der',
    ci: 'CertificateIssuer/CERT_CI_ECDSA_BRP.der',
  },
};

/** The demo payload of an OS image when none is given: 4 KiB of a recognisable text. */
export function demoOsPayload(version: string): Uint8Array {
  const line = utf8(`esimkit software eUICC OS ${version}\n`);
  const out = new Uint8Array(4096);
  for (let i = 0; i < out.length; i++) out[i] = line[i % line.length]!;
  return out;
}

interface ProfileSummary {
  iccid: string;
  aid: string;
  state: 'enabled' | 'disabled';
  port: number | null;
  profileClass: 'test' | 'provisioning' | 'operational';
  nickname?: string;
  serviceProviderName?: string;
  profileName?: string;
  size: number;
}

function summarizeProfiles(card: SoftEuicc): ProfileSummary[] {
  return card.runtime.store.listProfiles().map((p) => {
    const s: ProfileSummary = {
      iccid: decodeIccid(p.iccid),
      aid: toHex(p.aid).toUpperCase(),
      state: p.state === 1 ? 'enabled' : 'disabled',
      port: p.port,
      profileClass: p.profileClass === 0 ? 'test' : p.profileClass === 1 ? 'provisioning' : 'operational',
      size: p.size,
    };
    if (p.nickname !== undefined) s.nickname = p.nickname;
    try {
      const md = decodeStoreMetadataRequest(p.metadata);
      s.serviceProviderName = md.serviceProviderName;
      s.profileName = md.profileName;
    } catch {
      // metadata not decodable: leave the names out
    }
    return s;
  });
}

/** Send APDUs to a card the way an LPA does (for `os-image apply`): follows 61xx with GET RESPONSE. */
function transceive(card: SoftEuicc, apdu: Uint8Array, channel: number): { data: Uint8Array; sw: number } {
  let r = parseResponse(card.transmit(apdu));
  const parts: Uint8Array[] = [r.data];
  for (let guard = 0; r.sw >> 8 === 0x61 && guard < 10000; guard++) {
    r = parseResponse(card.transmit(encodeCommandApdu({ cla: claFor(channel, false), ins: INS.GET_RESPONSE, p1: 0, p2: 0, le: r.sw & 0xff || 256 })));
    parts.push(r.data);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.length;
  }
  return { data, sw: r.sw };
}

const OSU_SW_TEXT: Record<number, string> = {
  0x6982: 'signature or payload hash does not verify with the card\'s CERT.EUM',
  0x6985: 'conditions not satisfied (version not newer than the card\'s, or load out of order)',
  0x6a80: 'malformed image',
  0x6a84: 'image too large',
  0x6a86: 'block out of sequence',
  0x6700: 'wrong length',
};

// ------------------------------------------------------------------------------------ commands

export function registerCardCommands(program: Command, io: CliIo): void {
  const card = program
    .command('card')
    .description('software eUICC: create, inspect, serve over PC/SC (vsmartcard vpcd), OS images')
    .addHelpText(
      'after',
      `
Examples:
  esim card create --state card.db --curve P-256
  esim card info --state card.db
  esim card serve --state card.db --vpcd 127.0.0.1:35963
  esim card os-image build --eum-key card.db.pki/eum.key.pem --version 1.1.0 --out os-1.1.0.img`,
    );

  card
    .command('create')
    .description('create a new software eUICC state file (SQLite)')
    .requiredOption('--state <file>', 'state file to create (must not exist)')
    .addOption(new Option('--curve <curve>', 'key curve of the generated PKI / SGP.26 files').choices(['P-256', 'brainpoolP256r1']).default('P-256'))
    .option('--eid <digits>', 'EID (32 digits, valid check digits); default: generated under the EUM prefix', parseEidArg)
    .option('--ports <n>', 'number of MEP ports (1..4)', parseIntIn('--ports', 1, 4), 1)
    .option('--memory <bytes>', 'non-volatile memory for profiles, e.g. 524288, 512K, 2M', parseBytes)
    .option('--sgp26 <dir>', 'use the SGP.26 test identity from this folder (CertificateIssuer/, EUM/, eUICC/) instead of a generated PKI')
    .option('--default-smdp <address>', 'default SM-DP+ address (FQDN)')
    .addHelpText(
      'after',
      `
Without --sgp26 a test CI, EUM and eUICC certificate are generated; the CI and EUM certificates and keys
are written to <state>.pki/ (eum.key.pem signs OS images for this card).

Examples:
  esim card create --state card.db
  esim card create --state brp.db --curve brainpoolP256r1 --ports 2 --memory 2M --default-smdp smdp.example.com
  esim card create --state sgp26.db --sgp26 ../shared/reference/sgp26`,
    )
    .action(
      async (opts: { state: string; curve: Curve; eid?: string; ports: number; memory?: number; sgp26?: string; defaultSmdp?: string }) => {
        if (existsSync(opts.state)) throw new CliFailure(`${opts.state} already exists; refusing to overwrite a card`);
        if (opts.defaultSmdp !== undefined && !/^[A-Za-z0-9.-]{1,255}(:\d{1,5})?$/.test(opts.defaultSmdp)) {
          throw new CliUsageError(`--default-smdp ${JSON.stringify(opts.defaultSmdp)} is not a host name`);
        }
        let identity: EuiccIdentity;
        let pkiDir: string | undefined;
        let eumKeyPath: string | undefined;
        if (opts.sgp26 !== undefined) {
          const f = SGP26_FILES[opts.curve];
          const path = (rel: string): string => join(opts.sgp26!, rel);
          for (const rel of [f.euicc, f.key, f.eum, f.ci]) {
            if (!existsSync(path(rel))) throw new CliFailure(`--sgp26: ${path(rel)} not found`);
          }
          try {
            identity = loadIdentityFiles({ euiccCert: path(f.euicc), euiccKey: path(f.key), eumCert: path(f.eum), ciCerts: [path(f.ci)] });
          } catch (e) {
            throw new CliFailure(`--sgp26: ${describeError(e)}`);
          }
          if (opts.eid !== undefined && opts.eid !== identity.eid) {
            throw new CliUsageError(`--eid ${opts.eid} differs from the SGP.26 certificate's EID ${identity.eid}`);
          }
          const eumKey = join(opts.sgp26, opts.curve === 'P-256' ? 'EUM/SK_EUM_ECDSA_NIST.pem' : 'EUM/SK_EUM_ECDSA_BRP.pem');
          if (existsSync(eumKey)) eumKeyPath = eumKey;
        } else {
          const made = createIdentity({ curve: opts.curve, ...(opts.eid !== undefined ? { eid: opts.eid } : {}) });
          identity = made.identity;
          pkiDir = `${opts.state}.pki`;
          await writeIdentity(pkiDir, 'ci', made.ci);
          const eum = await writeIdentity(pkiDir, 'eum', made.eum);
          eumKeyPath = eum.keyPath;
        }
        let created: SoftEuicc;
        try {
          created = SoftEuicc.create(opts.state, {
            identity,
            config: { ports: opts.ports, ...(opts.memory !== undefined ? { totalMemory: opts.memory } : {}) },
            ...(opts.defaultSmdp !== undefined ? { defaultDpAddress: opts.defaultSmdp } : {}),
          });
        } catch (e) {
          throw new CliFailure(`cannot create card ${opts.state}: ${describeError(e)}`);
        }
        const cfg = created.config;
        created.close();
        io.stdout(`created software eUICC ${opts.state}\n`);
        io.stdout(`  EID      ${identity.eid}\n  curve    ${identity.curve}\n  ports    ${cfg.ports}\n  memory   ${cfg.totalMemory} bytes\n`);
        if (opts.defaultSmdp !== undefined) io.stdout(`  SM-DP+   ${opts.defaultSmdp}\n`);
        if (pkiDir !== undefined) io.stdout(`  PKI      ${pkiDir}/ (ci.pem, eum.pem, eum.key.pem)\n`);
        if (eumKeyPath !== undefined) io.stdout(`  OS images are signed with ${eumKeyPath}\n`);
      },
    );

  card
    .command('info')
    .description('show EID, firmware, free memory and the installed profiles')
    .requiredOption('--state <file>', 'card state file')
    .option('--json', 'print JSON')
    .addHelpText('after', `\nExample:\n  esim card info --state card.db --json`)
    .action((opts: { state: string; json?: boolean }) => {
      const c = openCard(opts.state);
      try {
        const rt = c.runtime;
        const used = rt.store.usedMemory();
        const info = {
          eid: c.eid,
          firmwareVersion: rt.firmwareVersion(),
          svn: rt.config.svn,
          curve: rt.identity.curve,
          ports: rt.config.ports,
          totalMemory: rt.config.totalMemory,
          freeMemory: Math.max(0, rt.config.totalMemory - used),
          defaultDpAddress: rt.store.getMetaString('defaultDpAddress') ?? null,
          rootDsAddress: rt.store.getMetaString('rootDsAddress') ?? null,
          profiles: summarizeProfiles(c),
        };
        if (opts.json) {
          io.stdout(`${JSON.stringify(info, null, 2)}\n`);
          return;
        }
        io.stdout(
          [
            `EID             ${info.eid}`,
            `firmware        ${info.firmwareVersion}`,
            `SGP.22          ${info.svn}`,
            `curve           ${info.curve}`,
            `ports           ${info.ports}`,
            `memory          ${info.freeMemory} of ${info.totalMemory} bytes free`,
            `default SM-DP+  ${info.defaultDpAddress ?? '(none)'}`,
            `root SM-DS      ${info.rootDsAddress ?? '(none)'}`,
            `profiles        ${info.profiles.length}`,
            ...info.profiles.map(
              (p) =>
                `  ${p.iccid}  ${p.state}${p.port !== null ? ` (port ${p.port})` : ''}  ${p.profileClass}` +
                `${p.serviceProviderName ? `  ${p.serviceProviderName}` : ''}${p.profileName ? ` / ${p.profileName}` : ''}` +
                `${p.nickname ? `  "${p.nickname}"` : ''}`,
            ),
          ].join('\n') + '\n',
        );
      } finally {
        c.close();
      }
    });

  card
    .command('serve')
    .description('connect the card to pcscd through the vsmartcard vpcd driver until SIGINT/SIGTERM')
    .requiredOption('--state <file>', 'card state file')
    .addOption(
      new Option('--vpcd <host:port>', 'where pcscd\'s vpcd driver listens')
        .argParser(parseHostPort)
        .default({ host: '127.0.0.1', port: VPCD_DEFAULT_PORT }, `127.0.0.1:${VPCD_DEFAULT_PORT}`),
    )
    .option('--port <n>', 'MEP port of the card the reader talks to (0..3)', parseIntIn('--port', 0, 3), 0)
    .option('--trace', 'log every APDU')
    .addHelpText(
      'after',
      `
The card appears as the "Virtual PCD" reader to every PC/SC program (pcsc_scan, scriptor, lpac, pySim).
Needs pcscd with vsmartcard-vpcd (apt-get install pcscd vsmartcard-vpcd). Reconnects when pcscd restarts.

Example:
  esim card serve --state card.db --vpcd 127.0.0.1:35963`,
    )
    .action(async (opts: { state: string; vpcd: { host: string; port: number }; port: number; trace?: boolean }) => {
      const c = openCard(opts.state);
      if (opts.port >= c.config.ports) {
        c.close();
        throw new CliUsageError(`--port ${opts.port}: the card has ${c.config.ports} port(s)`);
      }
      const log = (s: string): void => io.stdout(`${new Date().toISOString()} ${s}\n`);
      const bridge = new VpcdBridge(c, { host: opts.vpcd.host, port: opts.vpcd.port, cardPort: opts.port });
      let failures = 0;
      bridge.on('connected', (e) => {
        failures = 0;
        log(`connected to vpcd ${e.host}:${e.port} (EID ${c.eid})`);
      });
      bridge.on('disconnected', (e) => log(`disconnected from vpcd: ${e.reason}`));
      bridge.on('connectFailed', (e) => {
        // log the first failure of a streak and then every 20th, not every retry
        if (failures++ % 20 === 0) log(`cannot reach vpcd ${e.host}:${e.port} (${e.error}); retrying`);
      });
      if (opts.trace) {
        bridge.on('traffic', (t) => {
          if (t.kind === 'apdu') log(`> ${toHex(t.command ?? new Uint8Array(0)).toUpperCase()}  < ${t.response ? toHex(t.response).toUpperCase() : '(cut)'}`);
          else if (t.kind !== 'atr') log(`${t.kind}`);
        });
      }
      log(`serving ${opts.state} (EID ${c.eid}, port ${opts.port}) to vpcd ${opts.vpcd.host}:${opts.vpcd.port}`);
      const signal = io.signal;
      void bridge.start();
      await new Promise<void>((resolve) => {
        if (!signal) return; // no way to stop: serve forever
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
      log('stopping');
      await bridge.stop();
      c.close();
      log('stopped');
    });

  const osImage = card
    .command('os-image')
    .description('OS images for the proprietary OS-update commands (src/euicc/osu.ts)')
    .addHelpText('after', `\nExample:\n  esim card os-image build --eum-key card.db.pki/eum.key.pem --version 1.1.0 --out os.img`);

  osImage
    .command('build')
    .description('build an OS image signed with an EUM private key')
    .requiredOption('--eum-key <pem>', 'EUM private key (PEM: PKCS#8 or SEC1), e.g. <state>.pki/eum.key.pem')
    .requiredOption('--version <x.y.z>', 'OS version the image installs (each part 0..255)', parseVersionArg)
    .requiredOption('--out <file>', 'image file to write')
    .option('--payload <file>', 'OS payload (default: a 4 KiB demo payload)')
    .addHelpText('after', `\nExample:\n  esim card os-image build --eum-key card.db.pki/eum.key.pem --version 1.1.0 --out os-1.1.0.img`)
    .action((opts: { eumKey: string; version: string; out: string; payload?: string }) => {
      let keyText: string;
      try {
        keyText = readFileSync(opts.eumKey, 'utf8');
      } catch (e) {
        throw new CliFailure(`cannot read --eum-key ${opts.eumKey}: ${describeError(e)}`);
      }
      let payload: Uint8Array;
      if (opts.payload !== undefined) {
        try {
          payload = new Uint8Array(readFileSync(opts.payload));
        } catch (e) {
          throw new CliFailure(`cannot read --payload ${opts.payload}: ${describeError(e)}`);
        }
        if (payload.length === 0 || payload.length > OSU_MAX_PAYLOAD) {
          throw new CliFailure(`--payload must be 1..${OSU_MAX_PAYLOAD} bytes (is ${payload.length})`);
        }
      } else {
        payload = demoOsPayload(opts.version);
      }
      let image: Uint8Array;
      try {
        image = buildOsImage({ eumKey: privateKeyFromPem(keyText), version: opts.version, payload });
      } catch (e) {
        throw new CliFailure(`cannot build the image: ${describeError(e)}`);
      }
      try {
        writeFileSync(opts.out, image);
      } catch (e) {
        throw new CliFailure(`cannot write ${opts.out}: ${describeError(e)}`);
      }
      const sha = createHash('sha256').update(payload).digest('hex');
      io.stdout(`wrote ${opts.out}: OS ${opts.version}, ${image.length} bytes (payload ${payload.length} bytes, SHA-256 ${sha})\n`);
    });

  osImage
    .command('apply')
    .description('load an OS image into a card through its OS-update APDUs (as a device vendor tool would)')
    .requiredOption('--state <file>', 'card state file')
    .requiredOption('--image <file>', 'OS image built with `esim card os-image build`')
    .addHelpText('after', `\nExample:\n  esim card os-image apply --state card.db --image os-1.1.0.img`)
    .action((opts: { state: string; image: string }) => {
      let image: Uint8Array;
      try {
        image = new Uint8Array(readFileSync(opts.image));
        parseOsImage(image);
      } catch (e) {
        throw new CliFailure(`cannot use --image ${opts.image}: ${describeError(e)}`);
      }
      const c = openCard(opts.state);
      try {
        const before = c.runtime.firmwareVersion();
        const open = parseResponse(c.transmit(Uint8Array.of(0x00, INS.MANAGE_CHANNEL, 0x00, 0x00, 0x01)));
        if (open.sw !== 0x9000 || open.data.length !== 1) throw new CliFailure(`MANAGE CHANNEL answered ${swHex(open.sw)}`);
        const ch = open.data[0]!;
        const sel = transceive(c, encodeCommandApdu({ cla: claFor(ch, false), ins: INS.SELECT, p1: 4, p2: 0, data: ISDR_AID, le: 256 }), ch);
        if (sel.sw !== 0x9000) throw new CliFailure(`SELECT ISD-R answered ${swHex(sel.sw)}`);
        for (const cmd of osuCommands(image, { channel: ch })) {
          const r = transceive(c, cmd, ch);
          if (r.sw !== 0x9000) {
            throw new CliFailure(`card refused the image: ${swHex(r.sw)} ${OSU_SW_TEXT[r.sw] ?? ''}`.trimEnd());
          }
        }
        c.transmit(Uint8Array.of(0x00, INS.MANAGE_CHANNEL, 0x80, ch));
        io.stdout(`firmware ${before} -> ${c.runtime.firmwareVersion()}\n`);
      } finally {
        c.close();
      }
    });
}
