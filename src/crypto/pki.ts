/**
 * Test PKI generator for SGP.22 (both curves), modelled on the SGP.26 test certificates: the same
 * extension set, order and criticality as their `openssl x509 -text` dumps and .cnf files show.
 *
 *   CI     SKI, basicConstraints(crit, CA), certificatePolicies(crit, .0), keyUsage(crit, keyCertSign+cRLSign),
 *          SAN RID, cRLDistributionPoints
 *   EUM    AKI, SKI, keyUsage(crit, keyCertSign), certificatePolicies(crit, .2), SAN RID,
 *          basicConstraints(crit, CA, pathLen 0), cRLDistributionPoints, nameConstraints(crit,
 *          permitted directoryName O=<org>, serialNumber=<EID prefix>) [+ optional 2.23.146.1.2.2.0]
 *   eUICC  AKI, SKI, keyUsage(crit, digitalSignature), certificatePolicies(crit, .1); subject serialNumber = EID
 *   DPauth/DPpb/DSauth  AKI, SKI, SAN RID (SM-DP+/SM-DS X509_OID), keyUsage(crit, digitalSignature),
 *          certificatePolicies(crit, .4/.5/.7), cRLDistributionPoints
 *   DPtls/DStls  keyUsage(crit, digitalSignature), extKeyUsage(crit, serverAuth+clientAuth),
 *          certificatePolicies(.3/.6, not critical), SKI, AKI, SAN (dNSName [+ RID]), cRLDistributionPoints
 *
 * Test material only: keys are generated in memory with node:crypto.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { open, mkdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  X509_OID,
  buildCertificate,
  directoryName,
  certExt,
  keyIdentifierFor,
  nodeCurveName,
  parseCertificate,
  toPem,
  type Certificate,
  type EcCurve,
  type ExtensionInput,
  type NameAttributeInput,
} from './x509.js';
import { RSP_POLICY } from './certs.js';

export interface IssuedCertificate {
  readonly certDer: Uint8Array;
  readonly certPem: string;
  readonly privateKey: KeyObject;
  /** The parsed certificate (our parser). */
  readonly cert: Certificate;
  readonly curve: EcCurve;
}

export interface CommonOptions {
  /** Key curve; default: the issuer's curve (CI: P-256). */
  readonly curve?: EcCurve;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly serialNumber?: bigint | Uint8Array;
  /** Replace the default subject. */
  readonly subject?: readonly NameAttributeInput[];
  /** Use this key pair instead of generating one. */
  readonly keyPair?: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
  /** Extra extensions appended after the standard set (tests). */
  readonly extraExtensions?: readonly ExtensionInput[];
}

const DAY = 86_400_000;
const CRL_A = 'http://ci.test.example.com/CRL-A.crl';
const CRL_B = 'http://ci.test.example.com/CRL-B.crl';

function keyPair(curve: EcCurve, given?: CommonOptions['keyPair']): { privateKey: KeyObject; publicKey: KeyObject } {
  if (given) return { privateKey: given.privateKey, publicKey: given.publicKey };
  return generateKeyPairSync('ec', { namedCurve: nodeCurveName(curve) });
}

function randomSerial(): Uint8Array {
  const b = randomBytes(8);
  b[0] = (b[0]! & 0x7f) | 0x10; // positive, 8 bytes, non-zero leading byte
  return new Uint8Array(b);
}

function years(n: number, from = Date.now()): Date {
  const d = new Date(from);
  d.setUTCFullYear(d.getUTCFullYear() + n);
  d.setUTCMilliseconds(0);
  return d;
}

function yesterday(): Date {
  const d = new Date(Date.now() - DAY);
  d.setUTCMilliseconds(0);
  return d;
}

function issue(
  issuer: { cert: Certificate; privateKey: KeyObject } | 'self',
  opts: CommonOptions,
  curve: EcCurve,
  defaultSubject: readonly NameAttributeInput[],
  defaultLifetimeYears: number | 'forever',
  extensions: (ski: Uint8Array, aki: Uint8Array) => ExtensionInput[],
): IssuedCertificate {
  const kp = keyPair(curve, opts.keyPair);
  const ski = keyIdentifierFor(kp.publicKey);
  const subject = opts.subject ?? defaultSubject;
  const aki = issuer === 'self' ? ski : (issuer.cert.extensions.subjectKeyIdentifier?.keyIdentifier ?? ski);
  const notBefore = opts.notBefore ?? yesterday();
  const notAfter =
    opts.notAfter ?? (defaultLifetimeYears === 'forever' ? new Date(Date.UTC(9999, 11, 31, 23, 59, 59)) : years(defaultLifetimeYears));
  const certDer = buildCertificate(
    {
      serialNumber: opts.serialNumber ?? randomSerial(),
      issuer: issuer === 'self' ? subject : issuer.cert.subject.raw,
      subject,
      notBefore,
      notAfter,
      publicKey: kp.publicKey,
      extensions: [...extensions(ski, aki), ...(opts.extraExtensions ?? [])],
    },
    issuer === 'self' ? kp.privateKey : issuer.privateKey,
  );
  return { certDer, certPem: toPem(certDer), privateKey: kp.privateKey, cert: parseCertificate(certDer), curve };
}

// ------------------------------------------------------------------------------------------------- CI

export interface CiOptions extends CommonOptions {
  /** registeredID in the SAN (SGP.26: 2.999.1). */
  readonly registeredId?: string;
}

export function createCi(opts: CiOptions = {}): IssuedCertificate {
  const curve = opts.curve ?? 'P-256';
  return issue(
    'self',
    opts,
    curve,
    [
      { oid: X509_OID.commonName, value: 'Test CI' },
      { oid: X509_OID.organizationalUnitName, value: 'TESTCERT' },
      { oid: X509_OID.organizationName, value: 'RSPTEST' },
      { oid: X509_OID.countryName, value: 'IT' },
    ],
    35,
    (ski) => [
      certExt.subjectKeyIdentifier(ski),
      certExt.basicConstraints(true),
      certExt.certificatePolicies([RSP_POLICY.ci]),
      certExt.keyUsage(['keyCertSign', 'cRLSign']),
      certExt.subjectAltName([{ type: 'registeredID', value: opts.registeredId ?? '2.999.1' }]),
      certExt.crlDistributionPoints([CRL_A, CRL_B]),
    ],
  );
}

// ------------------------------------------------------------------------------------------------ EUM

export interface EumOptions extends CommonOptions {
  /** Permitted EID prefixes (EINs); default ['89049032'] as in SGP.26. */
  readonly eidPrefixes?: readonly string[];
  /** Organisation name of the EUM (subject O and the nameConstraints O); default 'RSP Test EUM'. */
  readonly organization?: string;
  /** Put the prefixes into nameConstraints (SGP.26 style). Default true. */
  readonly nameConstraints?: boolean;
  /** Also add the GSMA extension 2.23.146.1.2.2.0 (SEQUENCE OF PrintableString). Default false. */
  readonly eidExtension?: boolean;
  /** Policy X509_OID; default 2.23.146.1.2.1.2. */
  readonly policy?: string;
}

export function createEum(ci: IssuedCertificate, opts: EumOptions = {}): IssuedCertificate {
  const org = opts.organization ?? 'RSP Test EUM';
  const prefixes = opts.eidPrefixes ?? ['89049032'];
  const useNc = opts.nameConstraints ?? true;
  return issue(
    ci,
    opts,
    opts.curve ?? ci.curve,
    [
      { oid: X509_OID.countryName, value: 'ES' },
      { oid: X509_OID.organizationName, value: org },
      { oid: X509_OID.commonName, value: 'EUM Test' },
    ],
    30,
    (ski, aki) => [
      certExt.authorityKeyIdentifier(aki),
      certExt.subjectKeyIdentifier(ski),
      certExt.keyUsage(['keyCertSign']),
      certExt.certificatePolicies([opts.policy ?? RSP_POLICY.eum]),
      certExt.subjectAltName([{ type: 'registeredID', value: '2.999.5' }]),
      certExt.basicConstraints(true, 0),
      certExt.crlDistributionPoints([CRL_B]),
      ...(useNc
        ? [
            certExt.nameConstraints(
              prefixes.map((p) =>
                directoryName([
                  { oid: X509_OID.organizationName, value: org },
                  { oid: X509_OID.serialNumber, value: p },
                ]),
              ),
            ),
          ]
        : []),
      ...(opts.eidExtension ? [certExt.eidPermittedPrefixes(prefixes)] : []),
    ],
  );
}

// ---------------------------------------------------------------------------------------------- eUICC

export interface EuiccOptions extends CommonOptions {
  /** Subject O; default: the EUM's O (the nameConstraints require it). */
  readonly organization?: string;
}

/** CERT.EUICC with the EID as subject serialNumber; default validity "forever" (GeneralizedTime 9999). */
export function createEuicc(eum: IssuedCertificate, eid: string, opts: EuiccOptions = {}): IssuedCertificate {
  const org = opts.organization ?? eum.cert.subject.attributes.find((a) => a.oid === X509_OID.organizationName)?.value ?? 'RSP Test EUM';
  return issue(
    eum,
    opts,
    opts.curve ?? eum.curve,
    [
      { oid: X509_OID.countryName, value: 'ES' },
      { oid: X509_OID.organizationName, value: org },
      { oid: X509_OID.serialNumber, value: eid },
      { oid: X509_OID.commonName, value: 'Test eUICC' },
    ],
    'forever',
    (ski, aki) => [
      certExt.authorityKeyIdentifier(aki),
      certExt.subjectKeyIdentifier(ski),
      certExt.keyUsage(['digitalSignature']),
      certExt.certificatePolicies([RSP_POLICY.euicc]),
    ],
  );
}

// ------------------------------------------------------------------------------------------- servers

export interface ServerOptions extends CommonOptions {
  /** SM-DP+ / SM-DS X509_OID placed as registeredID in the SAN (default 2.999.10 for SM-DP+, 2.999.15 for SM-DS). */
  readonly oid?: string;
  readonly commonName?: string;
  /** TLS certificates: further dNSNames in the SAN after the host name (e.g. a wildcard). */
  readonly extraDnsNames?: readonly string[];
}

function signingServer(ci: IssuedCertificate, opts: ServerOptions, policy: string, defOid: string, defCn: string): IssuedCertificate {
  return issue(
    ci,
    opts,
    opts.curve ?? ci.curve,
    [
      { oid: X509_OID.organizationName, value: 'ACME' },
      { oid: X509_OID.commonName, value: opts.commonName ?? defCn },
    ],
    10,
    (ski, aki) => [
      certExt.authorityKeyIdentifier(aki),
      certExt.subjectKeyIdentifier(ski),
      certExt.subjectAltName([{ type: 'registeredID', value: opts.oid ?? defOid }]),
      certExt.keyUsage(['digitalSignature']),
      certExt.certificatePolicies([policy]),
      certExt.crlDistributionPoints([CRL_A, CRL_B]),
    ],
  );
}

function tlsServer(ci: IssuedCertificate, hostName: string, opts: ServerOptions, policy: string, defOid?: string): IssuedCertificate {
  const rid = opts.oid ?? defOid;
  return issue(
    ci,
    opts,
    opts.curve ?? ci.curve,
    [
      { oid: X509_OID.organizationName, value: 'ACME' },
      { oid: X509_OID.commonName, value: opts.commonName ?? hostName },
    ],
    1,
    (ski, aki) => [
      certExt.keyUsage(['digitalSignature']),
      certExt.extKeyUsage([X509_OID.serverAuth, X509_OID.clientAuth]),
      certExt.certificatePolicies([policy], false),
      certExt.subjectKeyIdentifier(ski),
      certExt.authorityKeyIdentifier(aki),
      certExt.subjectAltName([
        { type: 'dNSName', value: hostName },
        ...(opts.extraDnsNames ?? []).map((value) => ({ type: 'dNSName' as const, value })),
        ...(rid ? [{ type: 'registeredID' as const, value: rid }] : []),
      ]),
      certExt.crlDistributionPoints([CRL_A, CRL_B]),
    ],
  );
}

export function createDpAuth(ci: IssuedCertificate, opts: ServerOptions = {}): IssuedCertificate {
  return signingServer(ci, opts, RSP_POLICY.DPauth, '2.999.10', 'TEST SM-DP+');
}

export function createDpPb(ci: IssuedCertificate, opts: ServerOptions = {}): IssuedCertificate {
  return signingServer(ci, opts, RSP_POLICY.DPpb, '2.999.10', 'TEST SM-DP+');
}

export function createDpTls(ci: IssuedCertificate, hostName: string, opts: ServerOptions = {}): IssuedCertificate {
  return tlsServer(ci, hostName, opts, RSP_POLICY.DPtls, '2.999.10');
}

export function createDsAuth(ci: IssuedCertificate, opts: ServerOptions = {}): IssuedCertificate {
  return signingServer(ci, opts, RSP_POLICY.DSauth, '2.999.15', 'TEST SM-DS');
}

export function createDsTls(ci: IssuedCertificate, hostName: string, opts: ServerOptions = {}): IssuedCertificate {
  return tlsServer(ci, hostName, opts, RSP_POLICY.DStls);
}

// -------------------------------------------------------------------------------------------- files

export interface WrittenIdentity {
  readonly certDerPath: string;
  readonly certPemPath: string;
  readonly keyPath: string;
}

/** Write `data` to `path` through a temporary file created with mode `mode` (O_EXCL), then rename. */
async function writeFileAtomic(path: string, data: Uint8Array | string, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.chmod(mode); // the umask may have removed bits; never adds any beyond `mode`
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * Write `<dir>/<name>.der`, `<dir>/<name>.pem` (certificate) and `<dir>/<name>.key.pem` (PKCS#8 PEM
 * private key). The key file is created with mode 0600 from the start (never world-readable).
 */
export async function writeIdentity(dir: string, name: string, issued: IssuedCertificate): Promise<WrittenIdentity> {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) throw new RangeError(`invalid identity name ${JSON.stringify(name)}`);
  await mkdir(dir, { recursive: true });
  const certDerPath = join(dir, `${name}.der`);
  const certPemPath = join(dir, `${name}.pem`);
  const keyPath = join(dir, `${name}.key.pem`);
  const keyPem = issued.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  await writeFileAtomic(keyPath, keyPem, 0o600);
  await writeFileAtomic(certDerPath, issued.certDer, 0o644);
  await writeFileAtomic(certPemPath, issued.certPem, 0o644);
  return { certDerPath, certPemPath, keyPath };
}
