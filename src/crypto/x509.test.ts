import { X509Certificate, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Asn1Error, decodeTlv } from '../asn1/tlv.js';
import { fromHex, toHex } from '../util/hex.js';
import { describeWithReference, readRef, refPath } from '../../test/support/reference.js';
import {
  CertificateError,
  X509_OID,
  buildCertificate,
  commonName,
  directoryName,
  encodeTime,
  certExt,
  formatName,
  fromPem,
  keyIdentifierFor,
  organizationName,
  parseCertificate,
  parseCertificatePem,
  serialNumberAttribute,
  toPem,
  verifyCertificateSignature,
  type Certificate,
  type ExtensionInput,
} from './x509.js';

function parseErr(fn: () => unknown): CertificateError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CertificateError);
    return e as CertificateError;
  }
  throw new Error('expected a CertificateError');
}

const sgp = (...p: string[]): Uint8Array => readRef('sgp26', ...p);

/** Replace the first occurrence of ASCII `from` by `to` (same length) in a copy of `der`. */
function patchAscii(der: Uint8Array, from: string, to: string): Uint8Array {
  expect(to.length).toBe(from.length);
  const hay = Buffer.from(der);
  const i = hay.indexOf(Buffer.from(from, 'latin1'));
  expect(i).toBeGreaterThanOrEqual(0);
  const out = new Uint8Array(der);
  out.set(Buffer.from(to, 'latin1'), i);
  return out;
}

function allSgp26Ders(): string[] {
  const out: string[] = [];
  for (const d of readdirSync(refPath('sgp26'))) {
    for (const f of readdirSync(refPath('sgp26', d))) if (f.endsWith('.der')) out.push(`${d}/${f}`);
  }
  return out.sort();
}

describeWithReference('X.509 parser on the SGP.26 certificates', () => {
  it('parses CERT.CI NIST with every field (facts from `openssl x509 -text` of sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.der)', () => {
    const c = parseCertificate(sgp('CertificateIssuer', 'CERT_CI_ECDSA_NIST.der'));
    expect(c.version).toBe(3);
    expect(c.signatureAlgorithm).toBe(X509_OID.ecdsaWithSha256);
    expect(formatName(c.subject)).toBe('CN=Test CI, OU=TESTCERT, O=RSPTEST, C=IT');
    expect(c.issuer.raw).toEqual(c.subject.raw);
    expect(commonName(c.subject)).toBe('Test CI');
    expect(organizationName(c.subject)).toBe('RSPTEST');
    expect(c.notBefore.toISOString()).toBe('2020-04-01T08:27:51.000Z');
    expect(c.notAfter.toISOString()).toBe('2055-04-01T08:27:51.000Z');
    expect(c.subjectPublicKeyInfo.curve).toBe('P-256');
    expect(c.subjectPublicKeyInfo.curveOid).toBe(X509_OID.prime256v1);
    expect(c.subjectPublicKeyInfo.point.length).toBe(65);
    expect(c.subjectPublicKeyInfo.point[0]).toBe(4);
    const e = c.extensions;
    // README: CI PKID (SKI) NIST f54172bd…85c3
    expect(toHex(e.subjectKeyIdentifier!.keyIdentifier)).toBe('f54172bdf98a95d65cbeb88a38a1c11d800a85c3');
    expect(e.subjectKeyIdentifier!.critical).toBe(false);
    expect(e.basicConstraints).toEqual({ critical: true, cA: true });
    expect(e.certificatePolicies).toEqual({ critical: true, policies: ['2.23.146.1.2.1.0'] });
    expect(e.keyUsage).toEqual({ critical: true, bits: [5, 6], usages: ['keyCertSign', 'cRLSign'] });
    expect(e.subjectAltName).toEqual({ critical: false, names: [{ type: 'registeredID', value: '2.999.1' }] });
    expect(e.unknown.map((x) => x.oid)).toEqual([X509_OID.crlDistributionPoints]);
    expect(e.all.map((x) => x.oid)).toEqual([
      X509_OID.subjectKeyIdentifier,
      X509_OID.basicConstraints,
      X509_OID.certificatePolicies,
      X509_OID.keyUsage,
      X509_OID.subjectAltName,
      X509_OID.crlDistributionPoints,
    ]);
    expect(verifyCertificateSignature(c, c.subjectPublicKeyInfo.key!)).toBe(true);
  });

  it('parses CERT.CI BRP: brainpoolP256r1 key and PKID c0bc70ba…fcd8 (README)', () => {
    const c = parseCertificate(sgp('CertificateIssuer', 'CERT_CI_ECDSA_BRP.der'));
    expect(c.subjectPublicKeyInfo.curve).toBe('brainpoolP256r1');
    expect(c.subjectPublicKeyInfo.curveOid).toBe(X509_OID.brainpoolP256r1);
    expect(toHex(c.extensions.subjectKeyIdentifier!.keyIdentifier)).toBe('c0bc70ba36929d43b467ff57570530e57ab8fcd8');
    expect(c.subjectPublicKeyInfo.key!.asymmetricKeyDetails?.namedCurve).toBe('brainpoolP256r1');
  });

  it('parses the EUM name constraint O=RSP Test EUM, serialNumber=89049032 and pathLen 0 (sgp26/EUM)', () => {
    const c = parseCertificate(sgp('EUM', 'CERT_EUM_ECDSA_NIST.der'));
    expect(c.serialHex).toBe('12345678');
    expect(formatName(c.subject)).toBe('C=ES, O=RSP Test EUM, CN=EUM Test');
    const e = c.extensions;
    expect(toHex(e.authorityKeyIdentifier!.keyIdentifier!)).toBe('f54172bdf98a95d65cbeb88a38a1c11d800a85c3');
    expect(toHex(e.subjectKeyIdentifier!.keyIdentifier)).toBe('dd3da24d350c1cc5d0af0965f40ec34c5ee409f1');
    expect(e.keyUsage!.usages).toEqual(['keyCertSign']);
    expect(e.basicConstraints).toEqual({ critical: true, cA: true, pathLen: 0 });
    expect(e.certificatePolicies!.policies).toEqual(['2.23.146.1.2.1.2']);
    expect(e.nameConstraints!.critical).toBe(true);
    expect(e.nameConstraints!.excluded).toEqual([]);
    expect(e.nameConstraints!.permitted).toHaveLength(1);
    const base = e.nameConstraints!.permitted[0]!.base;
    expect(base.type).toBe('directoryName');
    if (base.type !== 'directoryName') return;
    // EUM-certExt.cnf: DER:30:32:A0:30:30:2E:A4:2C:30:2A:... (the directoryName Name starts at 30 2A)
    expect(toHex(base.value.raw)).toBe('302a31153013060355040a0c0c52535020546573742045554d3111300f060355040513083839303439303332');
    expect(base.value.attributes).toEqual([
      { oid: X509_OID.organizationName, value: 'RSP Test EUM', valueTag: 0x0c },
      { oid: X509_OID.serialNumber, value: '89049032', valueTag: 0x13 },
    ]);
  });

  it('parses CERT.EUICC: EID as subject serialNumber, GeneralizedTime notAfter in year 7496', () => {
    const c = parseCertificate(sgp('eUICC', 'CERT_EUICC_ECDSA_NIST.der'));
    expect(serialNumberAttribute(c.subject)).toBe('89049032123451234512345678901235');
    expect(c.notAfter.toISOString()).toBe('7496-01-24T09:48:58.000Z');
    expect(c.extensions.keyUsage).toEqual({ critical: true, bits: [0], usages: ['digitalSignature'] });
    expect(c.extensions.basicConstraints).toBeUndefined();
  });

  it('parses the DPtls VARO certificate: dNSName + registeredID SAN, critical EKU, non-critical policy', () => {
    const c = parseCertificate(sgp('DPtls', 'CERT_S_SM_DP_VARO_TLS_NIST.der'));
    expect(c.extensions.subjectAltName!.names).toEqual([
      { type: 'dNSName', value: 'testsmdpplus1.example.com' },
      { type: 'registeredID', value: '2.999.10' },
    ]);
    expect(c.extensions.extKeyUsage).toEqual({ critical: true, purposes: [X509_OID.serverAuth, X509_OID.clientAuth] });
    expect(c.extensions.certificatePolicies).toEqual({ critical: false, policies: ['2.23.146.1.2.1.3'] });
    expect(c.notAfter.toISOString()).toBe('2027-02-06T13:39:07.000Z');
  });

  it('agrees with node X509Certificate on every SGP.26 certificate (serial, dates, key, issuer signature)', () => {
    const files = allSgp26Ders();
    expect(files.length).toBeGreaterThanOrEqual(25);
    for (const f of files) {
      const der = readRef('sgp26', f);
      const c = parseCertificate(der);
      const x = new X509Certificate(der);
      expect(c.serialHex.replace(/^00/, '').toUpperCase(), f).toBe(x.serialNumber.replace(/^00/, ''));
      expect(c.notBefore.getTime(), f).toBe(new Date(x.validFrom).getTime());
      if (c.notAfter.getUTCFullYear() < 9999) expect(c.notAfter.getTime(), f).toBe(new Date(x.validTo).getTime());
      const spki = new Uint8Array(x.publicKey.export({ type: 'spki', format: 'der' }));
      expect(toHex(c.subjectPublicKeyInfo.der), f).toBe(toHex(spki));
      expect(c.der).toEqual(der);
      // the tbs is the first element of the certificate
      expect(toHex(c.tbs)).toBe(toHex(decodeTlv(der).children[0]!.raw));
      // key identifier method (1) matches the SKI the SGP.26 tools wrote ("subjectKeyIdentifier=hash")
      if (c.extensions.subjectKeyIdentifier && !f.startsWith('InvalidTestCases')) {
        expect(toHex(keyIdentifierFor(x.publicKey)), f).toBe(toHex(c.extensions.subjectKeyIdentifier.keyIdentifier));
      }
    }
  });

  it('verifies signatures only with the right key', () => {
    const ci = parseCertificate(sgp('CertificateIssuer', 'CERT_CI_ECDSA_NIST.der'));
    const eum = parseCertificate(sgp('EUM', 'CERT_EUM_ECDSA_NIST.der'));
    const euicc = parseCertificate(sgp('eUICC', 'CERT_EUICC_ECDSA_NIST.der'));
    expect(verifyCertificateSignature(eum, ci.subjectPublicKeyInfo.key!)).toBe(true);
    expect(verifyCertificateSignature(euicc, eum.subjectPublicKeyInfo.key!)).toBe(true);
    expect(verifyCertificateSignature(euicc, ci.subjectPublicKeyInfo.key!)).toBe(false);
    const brp = parseCertificate(sgp('CertificateIssuer', 'CERT_CI_ECDSA_BRP.der'));
    expect(verifyCertificateSignature(eum, brp.subjectPublicKeyInfo.key!)).toBe(false);
  });

  it('keeps its own copy of the input', () => {
    const der = sgp('eUICC', 'CERT_EUICC_ECDSA_NIST.der');
    const c = parseCertificate(der);
    const before = toHex(c.tbs);
    der.fill(0);
    expect(toHex(c.tbs)).toBe(before);
  });

  it('reads PEM', () => {
    const der = sgp('CertificateIssuer', 'CERT_CI_ECDSA_NIST.der');
    const c = parseCertificatePem(Buffer.from(readRef('sgp26', 'CertificateIssuer', 'CERT_CI_ECDSA_NIST.pem')).toString('utf8'));
    expect(c.der).toEqual(der);
    expect(fromPem(toPem(der))).toEqual(der);
  });

  describe('strict validity formats (one character of the SGP.26 CI notBefore "200401082751Z" changed)', () => {
    const der = (): Uint8Array => sgp('CertificateIssuer', 'CERT_CI_ECDSA_NIST.der');
    it.each([
      ['200431082751Z', 'April 31'],
      ['201301082751Z', 'month 13'],
      ['200401242751Z', 'hour 24'],
      ['200401086051Z', 'minute 60'],
      ['200401082760Z', 'second 60'],
      ['200401082751+', 'no Z'],
      ['2004010827 1Z', 'non-digit'],
    ])('%s (%s) -> malformed', (bad) => {
      const e = parseErr(() => parseCertificate(patchAscii(der(), '200401082751Z', bad)));
      expect(e.reason).toBe('malformed');
    });
    it('UTCTime 49 is 2049 and 50 is 1950 (RFC 5280)', () => {
      const a = parseCertificate(patchAscii(der(), '200401082751Z', '490401082751Z'));
      expect(a.notBefore.getUTCFullYear()).toBe(2049);
      const b = parseCertificate(patchAscii(der(), '200401082751Z', '500401082751Z'));
      expect(b.notBefore.getUTCFullYear()).toBe(1950);
    });
    it('GeneralizedTime with a fraction or without seconds is rejected', () => {
      const e1 = parseErr(() => parseCertificate(patchAscii(sgp('eUICC', 'CERT_EUICC_ECDSA_NIST.der'), '74960124094858Z', '749601240948.5Z')));
      expect(e1.reason).toBe('malformed');
    });
  });
});

describe('X.509 malformed input', () => {
  it.each([
    ['empty', ''],
    ['not a sequence', '0400'],
    ['empty sequence', '3000'],
    ['indefinite length', '3080'],
    ['truncated', '30820100'],
  ])('%s -> CertificateError(malformed) wrapping the codec error', (_n, hex) => {
    const e = parseErr(() => parseCertificate(fromHex(hex)));
    expect(e.reason).toBe('malformed');
    expect(e.certificate).toBeUndefined();
  });

  it('wraps Asn1Error as cause and tags the position', () => {
    const e = parseErr(() => parseCertificate(fromHex('30820100'), 'euicc'));
    expect(e.certificate).toBe('euicc');
    expect(e.cause).toBeInstanceOf(Asn1Error);
  });

  it('rejects a non-Uint8Array', () => {
    const e = parseErr(() => parseCertificate('3000' as unknown as Uint8Array));
    expect(e.reason).toBe('malformed');
  });

  it('rejects bad PEM', () => {
    expect(parseErr(() => fromPem('hello')).reason).toBe('malformed');
    expect(parseErr(() => fromPem('-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n')).reason).toBe('malformed');
  });
});

// --------------------------------------------------------------------------------------------- builder

describe('X.509 builder', () => {
  const issuer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const subjectKey = generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' });

  function build(extensions: readonly ExtensionInput[], notAfter = new Date(Date.UTC(2049, 11, 31, 23, 59, 59))): Uint8Array {
    return buildCertificate(
      {
        serialNumber: 0x8899aabbccn,
        issuer: [{ oid: X509_OID.commonName, value: 'Issuer' }],
        subject: [
          { oid: X509_OID.countryName, value: 'DE' },
          { oid: X509_OID.organizationName, value: 'Ünïcode Org' },
          { oid: X509_OID.serialNumber, value: '89049032123451234512345678901235' },
          { oid: X509_OID.commonName, value: 'Subject' },
        ],
        notBefore: new Date(Date.UTC(1950, 0, 1, 0, 0, 0)),
        notAfter,
        publicKey: subjectKey.publicKey,
        extensions,
      },
      issuer.privateKey,
    );
  }

  it('round-trips every supported extension and verifies with node', () => {
    const der = build([
      certExt.authorityKeyIdentifier(keyIdentifierFor(issuer.publicKey)),
      certExt.subjectKeyIdentifier(keyIdentifierFor(subjectKey.publicKey)),
      certExt.keyUsage(['digitalSignature', 'keyAgreement', 'decipherOnly']),
      certExt.basicConstraints(true, 200),
      certExt.certificatePolicies(['2.23.146.1.2.1.2', '1.2.3.4']),
      certExt.extKeyUsage([X509_OID.serverAuth]),
      certExt.subjectAltName([
        { type: 'dNSName', value: 'a.example.com' },
        { type: 'registeredID', value: '2.999.10' },
        { type: 'iPAddress', value: Uint8Array.of(192, 0, 2, 1) },
        { type: 'uniformResourceIdentifier', value: 'https://x.example/' },
      ]),
      certExt.nameConstraints(
        [directoryName([{ oid: X509_OID.organizationName, value: 'O1' }, { oid: X509_OID.serialNumber, value: '8904' }])],
        [directoryName([{ oid: X509_OID.serialNumber, value: '890490' }])],
      ),
      certExt.eidPermittedPrefixes(['89049032', '89044']),
      { oid: '1.2.3.4.5', critical: true, value: fromHex('0500') },
    ]);
    const c = parseCertificate(der);
    expect(c.serialHex).toBe('008899aabbcc'); // positive INTEGER: leading 00 before 0x88
    expect(c.notBefore.toISOString()).toBe('1950-01-01T00:00:00.000Z');
    expect(c.notAfter.toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(organizationName(c.subject)).toBe('Ünïcode Org');
    expect(c.subject.attributes.map((a) => a.valueTag)).toEqual([0x13, 0x0c, 0x13, 0x0c]);
    const e = c.extensions;
    expect(e.keyUsage).toEqual({ critical: true, bits: [0, 4, 8], usages: ['digitalSignature', 'keyAgreement', 'decipherOnly'] });
    expect(e.basicConstraints).toEqual({ critical: true, cA: true, pathLen: 200 });
    expect(e.certificatePolicies!.policies).toEqual(['2.23.146.1.2.1.2', '1.2.3.4']);
    expect(e.extKeyUsage!.purposes).toEqual([X509_OID.serverAuth]);
    expect(e.subjectAltName!.names).toEqual([
      { type: 'dNSName', value: 'a.example.com' },
      { type: 'registeredID', value: '2.999.10' },
      { type: 'iPAddress', value: Uint8Array.of(192, 0, 2, 1) },
      { type: 'uniformResourceIdentifier', value: 'https://x.example/' },
    ]);
    const nc = e.nameConstraints!;
    expect(nc.permitted.map((s) => s.base.type === 'directoryName' && formatName(s.base.value))).toEqual(['O=O1, serialNumber=8904']);
    expect(nc.excluded.map((s) => s.base.type === 'directoryName' && formatName(s.base.value))).toEqual(['serialNumber=890490']);
    expect(e.eidPermittedPrefixes).toEqual({ critical: false, prefixes: ['89049032', '89044'] });
    expect(e.unknown).toHaveLength(1);
    expect(e.unknown[0]).toMatchObject({ oid: '1.2.3.4.5', critical: true, value: fromHex('0500') });
    expect(c.subjectPublicKeyInfo.curve).toBe('brainpoolP256r1');
    expect(verifyCertificateSignature(c, issuer.publicKey)).toBe(true);
    const x = new X509Certificate(der);
    expect(x.verify(issuer.publicKey)).toBe(true);
    expect(x.subjectAltName).toContain('DNS:a.example.com');
  });

  it('uses GeneralizedTime from 2050 on (RFC 5280)', () => {
    expect(encodeTime(new Date(Date.UTC(2049, 11, 31, 23, 59, 59)))[0]).toBe(0x17);
    expect(encodeTime(new Date(Date.UTC(2050, 0, 1)))[0]).toBe(0x18);
    expect(encodeTime(new Date(Date.UTC(1949, 11, 31)))[0]).toBe(0x18);
    const c = parseCertificate(build([], new Date(Date.UTC(9999, 11, 31, 23, 59, 59))));
    expect(c.notAfter.toISOString()).toBe('9999-12-31T23:59:59.000Z');
  });

  it.each<[string, ExtensionInput[]]>([
    ['duplicate extension', [certExt.keyUsage(['digitalSignature']), certExt.keyUsage(['digitalSignature'])]],
    ['basicConstraints with explicit cA FALSE', [{ oid: X509_OID.basicConstraints, value: fromHex('3003010100') }]],
    ['keyUsage with a trailing zero byte', [{ oid: X509_OID.keyUsage, critical: true, value: fromHex('0303008000') }]],
    ['keyUsage with no bit', [{ oid: X509_OID.keyUsage, critical: true, value: fromHex('030100') }]],
    ['SKI not an OCTET STRING', [{ oid: X509_OID.subjectKeyIdentifier, value: fromHex('0500') }]],
    ['SAN with an unknown GeneralName tag', [{ oid: X509_OID.subjectAltName, value: fromHex('3003890100') }]],
    ['empty SAN', [{ oid: X509_OID.subjectAltName, value: fromHex('3000') }]],
    ['EIN prefix as UTF8String', [{ oid: X509_OID.eidPermittedPrefixes, value: fromHex('30030c0138') }]],
    ['extension value with trailing bytes', [{ oid: X509_OID.subjectKeyIdentifier, value: fromHex('0401aa00') }]],
    ['duplicate policy', [certExt.certificatePolicies(['1.2.3', '1.2.3'])]],
  ])('%s -> malformed', (_n, exts) => {
    const e = parseErr(() => parseCertificate(build(exts)));
    expect(e.reason).toBe('malformed');
  });

  it('keeps keys of unsupported curves without a KeyObject', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const der = buildCertificate(
      {
        serialNumber: 1n,
        issuer: [{ oid: X509_OID.commonName, value: 'I' }],
        subject: [{ oid: X509_OID.commonName, value: 'S' }],
        notBefore: new Date(0),
        notAfter: new Date(Date.UTC(2030, 0, 1)),
        publicKey: p384.publicKey,
        extensions: [],
      },
      issuer.privateKey,
    );
    const c: Certificate = parseCertificate(der);
    expect(c.subjectPublicKeyInfo.curve).toBeNull();
    expect(c.subjectPublicKeyInfo.curveOid).toBe('1.3.132.0.34');
    expect(c.subjectPublicKeyInfo.key).toBeNull();
    expect(c.extensions.all).toEqual([]);
    expect(createPublicKey({ key: Buffer.from(c.subjectPublicKeyInfo.der), format: 'der', type: 'spki' }).asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
  });
});

// ------------------------------------------------------------------------------------------------ fuzz

describeWithReference('X.509 parse fuzz (mutated SGP.26 certificates)', () => {
  it('only CertificateError escapes', () => {
    const seeds = allSgp26Ders().map((f) => readRef('sgp26', f));
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('del' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant('ins' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    );
    let parsed = 0;
    let rejected = 0;
    fc.assert(
      fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (si, muts) => {
        let b = new Uint8Array(seeds[si]!);
        for (const m of muts) {
          const at = b.length ? m.at % b.length : 0;
          if (m.kind === 'flip') b[at] = b[at]! ^ (1 << m.bit);
          else if (m.kind === 'set') b[at] = m.v;
          else if (m.kind === 'del') b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + m.n)]);
          else if (m.kind === 'ins') b = new Uint8Array([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
          else b = b.subarray(0, at);
        }
        try {
          const c = parseCertificate(b);
          expect(c.der.length).toBe(b.length);
          parsed++;
        } catch (e) {
          if (!(e instanceof CertificateError)) throw e;
          expect(e.reason).toBe('malformed');
          rejected++;
        }
      }),
      { numRuns: 4000, seed: 0x5eed26 },
    );
    expect(parsed + rejected).toBe(4000);
    expect(rejected).toBeGreaterThan(1000);
    expect(parsed).toBeGreaterThan(50);
  });
});
