import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REQUIRE_SYSTEM_TESTS } from '../../test/support/reference.js';
import { toHex } from '../util/hex.js';
import { verifyEuiccChain, verifyServerCertificate } from './certs.js';
import { X509_OID, parseCertificate, parseCertificatePem, type EcCurve } from './x509.js';
import {
  createCi,
  createDpAuth,
  createDpPb,
  createDpTls,
  createDsAuth,
  createDsTls,
  createEum,
  createEuicc,
  writeIdentity,
  type IssuedCertificate,
} from './pki.js';

const OPENSSL = '/usr/bin/openssl';
const HAVE_OPENSSL = existsSync(OPENSSL);
const EID = '89049032123451234512345678901235';

const work = mkdtempSync(join(tmpdir(), 'esimkit-pki-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function openssl(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(OPENSSL, args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function pemFile(name: string, issued: IssuedCertificate): string {
  const p = join(work, `${name}.pem`);
  writeFileSync(p, issued.certPem);
  return p;
}

/** describe for tests needing /usr/bin/openssl: skipped with a visible reason, failing under ESIM_REQUIRE_SYSTEM_TESTS=1. */
function describeWithOpenssl(name: string, fn: () => void): void {
  if (HAVE_OPENSSL) describe(name, fn);
  else if (REQUIRE_SYSTEM_TESTS) {
    describe(name, () => {
      it('needs /usr/bin/openssl', () => {
        throw new Error(`${OPENSSL} not found; ESIM_REQUIRE_SYSTEM_TESTS=1 forbids skipping`);
      });
    });
  } else describe.skip(`${name} [skipped: ${OPENSSL} not found]`, fn);
}

describe.each<EcCurve>(['P-256', 'brainpoolP256r1'])('generated PKI on %s', (curve) => {
  const ci = createCi({ curve });
  const eum = createEum(ci);
  const euicc = createEuicc(eum, EID);
  const eumExt = createEum(ci, { nameConstraints: false, eidExtension: true });
  const euiccExt = createEuicc(eumExt, EID);
  const dpAuth = createDpAuth(ci);
  const dpPb = createDpPb(ci, { oid: '2.999.12' });
  const dpTls = createDpTls(ci, 'testsmdpplus1.example.com');
  const dsAuth = createDsAuth(ci);
  const dsTls = createDsTls(ci, 'lpa.ds.example.com');
  const servers = [
    ['DPauth', dpAuth],
    ['DPpb', dpPb],
    ['DPtls', dpTls],
    ['DSauth', dsAuth],
    ['DStls', dsTls],
  ] as const;
  const all: [string, IssuedCertificate, IssuedCertificate][] = [
    ['ci', ci, ci],
    ['eum', eum, ci],
    ['euicc', euicc, eum],
    ['eum-ext', eumExt, ci],
    ['euicc-ext', euiccExt, eumExt],
    ...servers.map(([n, c]) => [n, c, ci] as [string, IssuedCertificate, IssuedCertificate]),
  ];

  it('every key is on the requested curve', () => {
    for (const [n, c] of all) {
      expect(c.curve, n).toBe(curve);
      expect(c.cert.subjectPublicKeyInfo.curve, n).toBe(curve);
      expect(createPublicKey(c.privateKey).asymmetricKeyDetails?.namedCurve).toBe(curve === 'P-256' ? 'prime256v1' : 'brainpoolP256r1');
    }
  });

  it('verifies with our SGP.22 rules', () => {
    const r = verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: euicc.certDer, expectedEid: EID });
    expect(r.eid).toBe(EID);
    expect(verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eumExt.certDer, euiccCert: euiccExt.certDer }).eid).toBe(EID);
    expect(verifyServerCertificate({ trustedCis: [ci.certDer], cert: dpAuth.certDer, role: 'DPauth' }).smdpOid).toBe('2.999.10');
    expect(verifyServerCertificate({ trustedCis: [ci.certDer], cert: dpPb.certDer, role: 'DPpb' }).smdpOid).toBe('2.999.12');
    expect(verifyServerCertificate({ trustedCis: [ci.certDer], cert: dpTls.certDer, role: 'DPtls', hostName: 'testsmdpplus1.example.com' }).smdpOid).toBe('2.999.10');
    expect(verifyServerCertificate({ trustedCis: [ci.certDer], cert: dsAuth.certDer, role: 'DSauth' }).cert.der).toEqual(dsAuth.certDer);
    expect(verifyServerCertificate({ trustedCis: [ci.certDer], cert: dsTls.certDer, role: 'DStls', hostName: 'lpa.ds.example.com' }).smdpOid).toBeUndefined();
  });

  it('mirrors the SGP.26 extension set and criticality', () => {
    const sig = (c: IssuedCertificate) => c.cert.extensions.all.map((e) => `${e.oid}${e.critical ? '!' : ''}`);
    // order and criticality as in the `openssl x509 -text` dumps of sgp26/*
    expect(sig(ci)).toEqual(['2.5.29.14', '2.5.29.19!', '2.5.29.32!', '2.5.29.15!', '2.5.29.17', '2.5.29.31']);
    expect(sig(eum)).toEqual(['2.5.29.35', '2.5.29.14', '2.5.29.15!', '2.5.29.32!', '2.5.29.17', '2.5.29.19!', '2.5.29.31', '2.5.29.30!']);
    expect(sig(euicc)).toEqual(['2.5.29.35', '2.5.29.14', '2.5.29.15!', '2.5.29.32!']);
    expect(sig(dpAuth)).toEqual(['2.5.29.35', '2.5.29.14', '2.5.29.17', '2.5.29.15!', '2.5.29.32!', '2.5.29.31']);
    expect(sig(dpTls)).toEqual(['2.5.29.15!', '2.5.29.37!', '2.5.29.32', '2.5.29.14', '2.5.29.35', '2.5.29.17', '2.5.29.31']);
    const nc = eum.cert.extensions.nameConstraints!.permitted[0]!.base;
    expect(nc.type === 'directoryName' && nc.value.attributes.map((a) => [a.oid, a.value])).toEqual([
      [X509_OID.organizationName, 'RSP Test EUM'],
      [X509_OID.serialNumber, '89049032'],
    ]);
    expect(euicc.cert.subject.attributes.find((a) => a.oid === X509_OID.serialNumber)?.value).toBe(EID);
    // byte-identical to the nameConstraints of the SGP.26 EUM (sgp26/EUM/EUM-certExt.cnf: DER:30:32:A0:30:30:2E:A4:2C:...)
    expect(toHex(eum.cert.extensions.all.find((e) => e.oid === X509_OID.nameConstraints)!.value)).toBe(
      '3032a030302ea42c302a31153013060355040a0c0c52535020546573742045554d3111300f060355040513083839303439303332',
    );
    expect(euicc.cert.notAfter.toISOString()).toBe('9999-12-31T23:59:59.000Z');
  });

  it('node X509Certificate parses each certificate and verifies it with the issuer key', () => {
    for (const [n, c, issuer] of all) {
      const x = new X509Certificate(c.certDer);
      expect(x.verify(issuer.cert.subjectPublicKeyInfo.key!), n).toBe(true);
      expect(x.verify(c === issuer ? dpAuth.cert.subjectPublicKeyInfo.key! : c.cert.subjectPublicKeyInfo.key!), n).toBe(false);
      expect(new X509Certificate(c.certPem).raw.equals(Buffer.from(c.certDer)), n).toBe(true);
      expect(x.checkPrivateKey(c.privateKey), n).toBe(true);
    }
    expect(new X509Certificate(dpTls.certDer).checkHost('testsmdpplus1.example.com')).toBe('testsmdpplus1.example.com');
  });

  describeWithOpenssl('independently with OpenSSL', () => {
    it('`openssl x509 -text` parses every generated certificate and shows the SGP.22 extensions', () => {
      for (const [n, c] of all) {
        const r = openssl(['x509', '-inform', 'PEM', '-in', pemFile(`${curve}-${n}-text`, c), '-noout', '-text']);
        expect(r.status, `${n}: ${r.out}`).toBe(0);
        expect(r.out).toContain('Signature Algorithm: ecdsa-with-SHA256');
        expect(r.out).toContain(curve === 'P-256' ? 'prime256v1' : 'brainpoolP256r1');
      }
      const eumText = openssl(['x509', '-in', pemFile(`${curve}-eum-t`, eum), '-noout', '-text']).out;
      expect(eumText).toContain('X509v3 Name Constraints: critical');
      expect(eumText).toMatch(/DirName:\s*O\s*=\s*RSP Test EUM,\s*serialNumber\s*=\s*89049032/);
      expect(eumText).toContain('CA:TRUE, pathlen:0');
      expect(eumText).toContain('Policy: 2.23.146.1.2.1.2');
      const dpText = openssl(['x509', '-in', pemFile(`${curve}-dp-t`, dpAuth), '-noout', '-text']).out;
      expect(dpText).toContain('Registered ID:2.999.10');
      const tlsText = openssl(['x509', '-in', pemFile(`${curve}-tls-t`, dpTls), '-noout', '-text']).out;
      expect(tlsText).toContain('DNS:testsmdpplus1.example.com');
      expect(tlsText).toContain('TLS Web Server Authentication');
      const euiccText = openssl(['x509', '-in', pemFile(`${curve}-euicc-t`, euicc), '-noout', '-text']).out;
      expect(euiccText).toContain(`serialNumber = ${EID}`);
    });

    it('`openssl verify` accepts the CI-issued certificates and the chain without nameConstraints', () => {
      const caFile = pemFile(`${curve}-ci`, ci);
      for (const [n, c] of [['eum', eum], ['eum-ext', eumExt], ...servers] as const) {
        const r = openssl(['verify', '-partial_chain', '-CAfile', caFile, pemFile(`${curve}-v-${n}`, c)]);
        expect(r.status, `${n}: ${r.out}`).toBe(0);
        expect(r.out).toContain(': OK');
      }
      const full = openssl(['verify', '-CAfile', caFile, '-untrusted', pemFile(`${curve}-eumext`, eumExt), pemFile(`${curve}-euiccext`, euiccExt)]);
      expect(full.status, full.out).toBe(0);
    });

    it('like the SGP.26 chain, the nameConstraints chain fails plain OpenSSL path validation (README)', () => {
      const r = openssl(['verify', '-CAfile', pemFile(`${curve}-ci2`, ci), '-untrusted', pemFile(`${curve}-eum2`, eum), pemFile(`${curve}-euicc2`, euicc)]);
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/subtree/i);
    });
  });
});

describe('writeIdentity', () => {
  it('writes DER + PEM certificate and a 0600 PKCS#8 key, even with umask 0', async () => {
    const ci = createCi();
    const dp = createDpAuth(ci);
    const dir = join(work, 'ids');
    const old = process.umask(0);
    let paths;
    try {
      paths = await writeIdentity(dir, 'dpauth', dp);
    } finally {
      process.umask(old);
    }
    expect(statSync(paths.keyPath).mode & 0o777).toBe(0o600);
    expect(statSync(paths.certDerPath).mode & 0o777).toBe(0o644);
    expect(new Uint8Array(readFileSync(paths.certDerPath))).toEqual(dp.certDer);
    expect(parseCertificatePem(readFileSync(paths.certPemPath, 'utf8')).der).toEqual(dp.certDer);
    const keyPem = readFileSync(paths.keyPath, 'utf8');
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(keyPem);
    const s = sign('sha256', Buffer.from('hello'), key);
    expect(verify('sha256', Buffer.from('hello'), dp.cert.subjectPublicKeyInfo.key!, s)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['dpauth.der', 'dpauth.key.pem', 'dpauth.pem']);

    // overwriting keeps the mode and leaves no temporary files
    const dp2 = createDpAuth(ci);
    await writeIdentity(dir, 'dpauth', dp2);
    expect(statSync(paths.keyPath).mode & 0o777).toBe(0o600);
    expect(parseCertificate(new Uint8Array(readFileSync(paths.certDerPath))).der).toEqual(dp2.certDer);
    expect(readdirSync(dir).sort()).toEqual(['dpauth.der', 'dpauth.key.pem', 'dpauth.pem']);
  });

  it('rejects names that would leave the directory', async () => {
    const ci = createCi();
    await expect(writeIdentity(work, '../x', ci)).rejects.toThrow(RangeError);
  });
});
