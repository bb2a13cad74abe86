import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../util/hex.js';
import { describeWithReference, readRef } from '../../test/support/reference.js';
import {
  CertificateError,
  eidCheckDigitsValid,
  findCiByPkid,
  hostNameMatches,
  verifyEuiccChain,
  verifyServerCertificate,
  type CertificateErrorReason,
  type CertificatePosition,
} from './certs.js';
import { X509_OID, buildCertificate, certExt, keyIdentifierFor, parseCertificate } from './x509.js';
import { createCi, createDpAuth, createDpPb, createEum, createEuicc, type IssuedCertificate } from './pki.js';

function rejects(fn: () => unknown, reason: CertificateErrorReason, certificate: CertificatePosition): CertificateError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CertificateError);
    const ce = e as CertificateError;
    expect({ reason: ce.reason, certificate: ce.certificate, message: ce.message }).toMatchObject({ reason, certificate });
    return ce;
  }
  throw new Error(`expected CertificateError ${reason}`);
}

const sgp = (...p: string[]): Uint8Array => readRef('sgp26', ...p);
/** SGP.26 EID (README "SGP.26 PKI notes"). */
const SGP26_EID = '89049032123451234512345678901235';
/** A fixed time inside the validity of every valid SGP.26 certificate, incl. DPtls VARO (2026-07-21..2027-02-06). */
const AT = new Date('2026-12-01T00:00:00Z');

/** Flip the case of the first occurrence of an ASCII string inside the tbs (keeps the DER valid). */
function tamper(der: Uint8Array, ascii: string): Uint8Array {
  const i = Buffer.from(der).indexOf(Buffer.from(ascii, 'latin1'));
  expect(i).toBeGreaterThan(0);
  const out = new Uint8Array(der);
  out[i] = out[i]! ^ 0x20;
  return out;
}

describeWithReference('SGP.26 chains (sgp26/)', () => {
  const cis = [sgp('CertificateIssuer', 'CERT_CI_ECDSA_NIST.der'), sgp('CertificateIssuer', 'CERT_CI_ECDSA_BRP.der')];

  describe.each(['NIST', 'BRP'])('%s', (c) => {
    const eum = sgp('EUM', `CERT_EUM_ECDSA_${c}.der`);
    const euicc = sgp('eUICC', `CERT_EUICC_ECDSA_${c}.der`);

    it('CI -> EUM -> eUICC verifies and yields the EID', () => {
      const r = verifyEuiccChain({ trustedCis: cis, eumCert: eum, euiccCert: euicc, at: AT, expectedEid: SGP26_EID });
      expect(r.eid).toBe(SGP26_EID);
      expect(r.ci.subjectPublicKeyInfo.curve).toBe(c === 'NIST' ? 'P-256' : 'brainpoolP256r1');
      expect(r.euicc.der).toEqual(euicc);
      expect(eidCheckDigitsValid(r.eid)).toBe(true);
      // eUICC side: no clock
      expect(verifyEuiccChain({ trustedCis: cis, eumCert: eum, euiccCert: euicc, checkDates: false, checkEidDigits: true }).eid).toBe(SGP26_EID);
      // parsed certificates are accepted as well as DER
      expect(verifyEuiccChain({ trustedCis: cis.map((x) => parseCertificate(x)), eumCert: parseCertificate(eum), euiccCert: euicc, at: AT }).eid).toBe(SGP26_EID);
    });

    it.each([
      ['DPauth', 'DPauth/CERT_S_SM_DPauth', '2.999.10'],
      ['DPauth', 'DPauth/CERT_S_SM_DP2auth', '2.999.12'],
      ['DPpb', 'DPpb/CERT_S_SM_DPpb', '2.999.10'],
      ['DPpb', 'DPpb/CERT_S_SM_DP2pb', '2.999.12'],
    ] as const)('%s %s verifies, smdpOid %s', (role, file, oid) => {
      const cert = readRef('sgp26', `${file}_ECDSA_${c}.der`);
      const r = verifyServerCertificate({ trustedCis: cis, cert, role, at: AT });
      expect(r.smdpOid).toBe(oid);
      expect(r.ci.subjectPublicKeyInfo.curve).toBe(r.cert.subjectPublicKeyInfo.curve);
      expect(verifyServerCertificate({ trustedCis: cis, cert, role, checkDates: false }).smdpOid).toBe(oid);
    });

    it('DPtls VARO verifies inside its validity with the right host, and only then', () => {
      const cert = sgp('DPtls', `CERT_S_SM_DP_VARO_TLS_${c}.der`);
      const r = verifyServerCertificate({ trustedCis: cis, cert, role: 'DPtls', at: AT, hostName: 'testsmdpplus1.example.com' });
      expect(r.smdpOid).toBe('2.999.10');
      expect(verifyServerCertificate({ trustedCis: cis, cert, role: 'DPtls', at: AT, hostName: 'TestSMDPplus1.example.com.' }).cert.der).toEqual(cert);
      rejects(() => verifyServerCertificate({ trustedCis: cis, cert, role: 'DPtls', at: AT, hostName: 'testsmdpplus2.example.com' }), 'wrong-host', 'server');
      rejects(() => verifyServerCertificate({ trustedCis: cis, cert, role: 'DPtls', at: new Date('2027-02-06T13:39:08Z') }), 'expired', 'server');
      rejects(() => verifyServerCertificate({ trustedCis: cis, cert, role: 'DPtls', at: new Date('2026-07-21T13:39:06Z') }), 'not-yet-valid', 'server');
      rejects(() => verifyServerCertificate({ trustedCis: cis, cert, role: 'DPauth', at: AT }), 'bad-policy', 'server');
    });

    it('a DPpb certificate is not a DPauth certificate and vice versa', () => {
      rejects(() => verifyServerCertificate({ trustedCis: cis, cert: sgp('DPpb', `CERT_S_SM_DPpb_ECDSA_${c}.der`), role: 'DPauth', at: AT }), 'bad-policy', 'server');
      rejects(() => verifyServerCertificate({ trustedCis: cis, cert: sgp('DPauth', `CERT_S_SM_DPauth_ECDSA_${c}.der`), role: 'DPpb', at: AT }), 'bad-policy', 'server');
      rejects(() => verifyServerCertificate({ trustedCis: cis, cert: sgp('DPauth', `CERT_S_SM_DPauth_ECDSA_${c}.der`), role: 'DPtls', at: AT }), 'bad-policy', 'server');
    });

    it('tampered certificates (one tbs byte flipped) -> bad-signature', () => {
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: eum, euiccCert: tamper(euicc, 'Test eUICC'), at: AT }), 'bad-signature', 'euicc');
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: tamper(eum, 'EUM Test'), euiccCert: euicc, at: AT }), 'bad-signature', 'eum');
      // the EID itself
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: eum, euiccCert: tamper(euicc, 'RSP Test EUM1'), at: AT }), 'bad-signature', 'euicc');
      const dp = sgp('DPauth', `CERT_S_SM_DPauth_ECDSA_${c}.der`);
      rejects(() => verifyServerCertificate({ trustedCis: cis, cert: tamper(dp, 'TEST SM-DP+'), role: 'DPauth', at: AT }), 'bad-signature', 'server');
      // a tampered trust anchor is reported against the CI
      const ciDer = c === 'NIST' ? cis[0]! : cis[1]!;
      rejects(() => verifyServerCertificate({ trustedCis: [tamper(ciDer, 'TESTCERT')], cert: dp, role: 'DPauth', at: AT }), 'bad-signature', 'ci');
    });

    it('a CI of the other curve is not trusted for this chain', () => {
      const other = c === 'NIST' ? [cis[1]!] : [cis[0]!];
      rejects(() => verifyEuiccChain({ trustedCis: other, eumCert: eum, euiccCert: euicc, at: AT }), 'unknown-ci', 'eum');
      rejects(() => verifyEuiccChain({ trustedCis: [], eumCert: eum, euiccCert: euicc, at: AT }), 'unknown-ci', 'eum');
    });
  });

  it('EUM and eUICC of different SGP.26 curves do not chain', () => {
    rejects(
      () => verifyEuiccChain({ trustedCis: cis, eumCert: sgp('EUM', 'CERT_EUM_ECDSA_NIST.der'), euiccCert: sgp('eUICC', 'CERT_EUICC_ECDSA_BRP.der'), at: AT }),
      'curve-mismatch',
      'euicc',
    );
  });

  it('the other DPtls certificates (DP2/DP4/DP8) expired on 2025-08-11 but were valid before', () => {
    for (const n of ['2', '4', '8']) {
      const cert = sgp('DPtls', `CERT_S_SM_DP${n}_TLS.der`);
      const host = `testsmdpplus${n}.example.com`;
      const r = verifyServerCertificate({ trustedCis: cis, cert, role: 'DPtls', at: new Date('2025-01-01T00:00:00Z'), hostName: host });
      expect(r.smdpOid).toBe(n === '2' ? '2.999.12' : n === '4' ? '2.999.14' : '2.999.18');
      rejects(() => verifyServerCertificate({ trustedCis: cis, cert, role: 'DPtls', at: AT, hostName: host }), 'expired', 'server');
    }
  });

  it('findCiByPkid selects the CI by its SubjectKeyIdentifier (PKIDs from the README)', () => {
    expect(findCiByPkid(cis, fromHex('f54172bdf98a95d65cbeb88a38a1c11d800a85c3'))?.subjectPublicKeyInfo.curve).toBe('P-256');
    expect(findCiByPkid(cis, fromHex('c0bc70ba36929d43b467ff57570530e57ab8fcd8'))?.subjectPublicKeyInfo.curve).toBe('brainpoolP256r1');
    expect(findCiByPkid(cis, fromHex('c0bc70ba36929d43b467ff57570530e57ab8fcd9'))).toBeUndefined();
    expect(findCiByPkid([], fromHex('f54172bdf98a95d65cbeb88a38a1c11d800a85c3'))).toBeUndefined();
  });

  describe('InvalidTestCases (osmo-ttcn3-hacks, README list)', () => {
    const I = (f: string): Uint8Array => sgp('InvalidTestCases', `${f}.der`);
    const eumN = sgp('EUM', 'CERT_EUM_ECDSA_NIST.der');
    const euiccN = sgp('eUICC', 'CERT_EUICC_ECDSA_NIST.der');

    it('self-signed EUM -> unknown-ci', () => {
      // CERT_EUM_ECDSA_NIST_INVALID has no authorityKeyIdentifier and its issuer is itself
      // ("O=RSP Test Invalid EUM"), so it names no trusted CI at all. The EUM is where the chain is
      // anchored to a CI (SGP.22: EUM AKI = the chosen CI PKID), so "no such CI" is the precise fault;
      // there is no CI key to try a signature with, hence not bad-signature.
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: I('CERT_EUM_ECDSA_NIST_INVALID'), euiccCert: euiccN, at: AT }), 'unknown-ci', 'eum');
    });

    it('expired EUM -> expired (and with dates skipped, its DPauth policy .4 is still caught)', () => {
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: I('CERT_EUM_ECDSA_NIST_EXPIRED'), euiccCert: euiccN, at: AT }), 'expired', 'eum');
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: I('CERT_EUM_ECDSA_NIST_EXPIRED'), euiccCert: euiccN, checkDates: false }), 'bad-policy', 'eum');
      // at a time inside its 2010-2015 validity the trust anchor itself (valid from 2020) is not yet valid
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: I('CERT_EUM_ECDSA_NIST_EXPIRED'), euiccCert: euiccN, at: new Date('2012-01-01T00:00:00Z') }), 'not-yet-valid', 'ci');
    });

    it('EUM under a foreign CI -> unknown-ci, even when that CI is offered as trusted (it has no SKI / PKID)', () => {
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: I('CERT_EUM_ECDSA_NIST_UNKNOWN_CI'), euiccCert: euiccN, at: AT }), 'unknown-ci', 'eum');
      rejects(
        () => verifyEuiccChain({ trustedCis: [...cis, I('CERT_UNKNOWN_CI_ECDSA_NIST')], eumCert: I('CERT_EUM_ECDSA_NIST_UNKNOWN_CI'), euiccCert: euiccN, at: AT }),
        'unknown-ci',
        'eum',
      );
    });

    it('self-signed eUICC -> bad-signature', () => {
      // CERT_EUICC_ECDSA_NIST_INVALID: the EUM (and through it the CI) is given and valid, so the CI is
      // known; what fails is the EUM -> eUICC link: the eUICC signature does not verify with the EUM key.
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: eumN, euiccCert: I('CERT_EUICC_ECDSA_NIST_INVALID'), at: AT }), 'bad-signature', 'euicc');
    });

    it('expired eUICC -> expired; without a clock (eUICC side) the dates are explicitly not checked', () => {
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: eumN, euiccCert: I('CERT_EUICC_ECDSA_NIST_EXPIRED'), at: AT }), 'expired', 'euicc');
      const r = verifyEuiccChain({ trustedCis: cis, eumCert: eumN, euiccCert: I('CERT_EUICC_ECDSA_NIST_EXPIRED'), checkDates: false });
      expect(r.eid).toBe(SGP26_EID);
    });

    it('EID outside the EUM prefix 89049032 -> eid-out-of-range', () => {
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: eumN, euiccCert: I('CERT_EUICC_ECDSA_NIST_INVALID_EID'), at: AT }), 'eid-out-of-range', 'euicc');
    });

    it('EID in range but not the ordered one -> eid-mismatch; its check digits are wrong too', () => {
      const cert = I('CERT_EUICC_ECDSA_NIST_UNMATCHED_EID');
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: eumN, euiccCert: cert, at: AT, expectedEid: SGP26_EID }), 'eid-mismatch', 'euicc');
      expect(verifyEuiccChain({ trustedCis: cis, eumCert: eumN, euiccCert: cert, at: AT }).eid).toBe('89049032123451234512345678901299');
      rejects(() => verifyEuiccChain({ trustedCis: cis, eumCert: eumN, euiccCert: cert, at: AT, checkEidDigits: true }), 'bad-eid', 'euicc');
    });
  });

  it('fuzz: mutated chains only ever raise CertificateError', () => {
    const eum = sgp('EUM', 'CERT_EUM_ECDSA_NIST.der');
    const euicc = sgp('eUICC', 'CERT_EUICC_ECDSA_NIST.der');
    let ok = 0;
    fc.assert(
      fc.property(fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, pos, x) => {
        const target = new Uint8Array(which ? eum : euicc);
        const at = pos % target.length;
        target[at] = target[at]! ^ x;
        try {
          verifyEuiccChain({ trustedCis: cis, eumCert: which ? target : eum, euiccCert: which ? euicc : target, at: AT });
          ok++;
        } catch (e) {
          if (!(e instanceof CertificateError)) throw e;
        }
      }),
      { numRuns: 1500, seed: 2226 },
    );
    // a changed byte must practically never leave a chain valid (only the unsigned outer parts could)
    expect(ok).toBeLessThan(30);
  });
});

// ------------------------------------------------------------------------------ rules on generated PKI

describe('SGP.22 rules on generated certificates', () => {
  const ci = createCi();
  const eum = createEum(ci);
  const EID = '89049032000000000000000000000094'; // any 32 digits under the prefix
  const euicc = createEuicc(eum, EID);
  const at = new Date();

  /** Build a certificate by hand, signed by `issuer`, with the given extensions and subject. */
  function custom(
    issuer: IssuedCertificate,
    extensions: Parameters<typeof buildCertificate>[0]['extensions'],
    subject: Parameters<typeof buildCertificate>[0]['subject'],
    curve: string = 'prime256v1',
  ): Uint8Array {
    const kp = generateKeyPairSync('ec', { namedCurve: curve });
    return buildCertificate(
      {
        serialNumber: 7n,
        issuer: issuer.cert.subject.raw,
        subject,
        notBefore: new Date(Date.now() - 86_400_000),
        notAfter: new Date(Date.now() + 86_400_000 * 365),
        publicKey: kp.publicKey,
        extensions: [certExt.authorityKeyIdentifier(issuer.cert.extensions.subjectKeyIdentifier!.keyIdentifier), certExt.subjectKeyIdentifier(keyIdentifierFor(kp.publicKey)), ...extensions],
      },
      issuer.privateKey,
    );
  }
  const euiccSubject = (eid: string, org = 'RSP Test EUM') => [
    { oid: X509_OID.countryName, value: 'ES' },
    { oid: X509_OID.organizationName, value: org },
    { oid: X509_OID.serialNumber, value: eid },
    { oid: X509_OID.commonName, value: 'x' },
  ];
  const euiccExts = [certExt.keyUsage(['digitalSignature']), certExt.certificatePolicies(['2.23.146.1.2.1.1'])];

  it('a generated chain verifies', () => {
    expect(verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: euicc.certDer, at, expectedEid: EID }).eid).toBe(EID);
  });

  it('a certificate signature is remembered only for the same bytes under the same issuer key', () => {
    expect(verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: euicc.certDer, at }).eid).toBe(EID);
    // same TBS, another signature (last byte of s flipped): verified again, and refused
    const resigned = euicc.certDer.slice();
    resigned[resigned.length - 1]! ^= 0x01;
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: resigned, at }), 'bad-signature', 'euicc');
    // the same eUICC certificate under another EUM key (same CI, same names): verified again, and refused
    const otherEum = createEum(ci);
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: otherEum.certDer, euiccCert: euicc.certDer, at }), 'bad-signature', 'euicc');
    // the genuine chain still verifies, and its dates are still checked every time
    expect(verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: euicc.certDer, at }).eid).toBe(EID);
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: euicc.certDer, at: new Date(Date.now() + 1000 * 86_400_000 * 365) }), 'expired', 'ci');
  });

  it('bad-key-usage: extra usage, non-critical, missing', () => {
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: custom(eum, [certExt.keyUsage(['digitalSignature', 'keyAgreement']), certExt.certificatePolicies(['2.23.146.1.2.1.1'])], euiccSubject(EID)), at }), 'bad-key-usage', 'euicc');
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: custom(eum, [certExt.keyUsage(['digitalSignature'], false), certExt.certificatePolicies(['2.23.146.1.2.1.1'])], euiccSubject(EID)), at }), 'bad-key-usage', 'euicc');
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: custom(eum, [certExt.certificatePolicies(['2.23.146.1.2.1.1'])], euiccSubject(EID)), at }), 'bad-key-usage', 'euicc');
  });

  it('bad-policy: missing, or two roles', () => {
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: custom(eum, [certExt.keyUsage(['digitalSignature'])], euiccSubject(EID)), at }), 'bad-policy', 'euicc');
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: custom(eum, [certExt.keyUsage(['digitalSignature']), certExt.certificatePolicies(['2.23.146.1.2.1.1', '2.23.146.1.2.1.4'])], euiccSubject(EID)), at }), 'bad-policy', 'euicc');
  });

  it('basic constraints: a CA eUICC, an EUM without CA, an EUM with pathLen 1', () => {
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: custom(eum, [...euiccExts, certExt.basicConstraints(true)], euiccSubject(EID)), at }), 'bad-basic-constraints', 'euicc');
    const eumBase = [certExt.keyUsage(['keyCertSign']), certExt.certificatePolicies(['2.23.146.1.2.1.2'])];
    const eumSubj = [{ oid: X509_OID.organizationName, value: 'RSP Test EUM' }];
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: custom(ci, eumBase, eumSubj), euiccCert: euicc.certDer, at }), 'not-ca', 'eum');
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: custom(ci, [...eumBase, certExt.basicConstraints(true, 1)], eumSubj), euiccCert: euicc.certDer, at }), 'bad-basic-constraints', 'eum');
  });

  it('unknown critical extension -> bad-extension; unknown non-critical is fine', () => {
    const crit = createEuicc(eum, EID, { extraExtensions: [{ oid: '1.3.6.1.4.1.99999.1', critical: true, value: fromHex('0500') }] });
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: crit.certDer, at }), 'bad-extension', 'euicc');
    const nonCrit = createEuicc(eum, EID, { extraExtensions: [{ oid: '1.3.6.1.4.1.99999.1', value: fromHex('0500') }] });
    expect(verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: nonCrit.certDer, at }).eid).toBe(EID);
  });

  it('bad-eid: missing or non-numeric serialNumber', () => {
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: custom(eum, euiccExts, [{ oid: X509_OID.organizationName, value: 'RSP Test EUM' }]), at }), 'bad-eid', 'euicc');
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: custom(eum, euiccExts, euiccSubject('89049032')), at }), 'bad-eid', 'euicc');
  });

  it('name-constraint-violation: right EID prefix, other organisation', () => {
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: custom(eum, euiccExts, euiccSubject(EID, 'Other EUM')), at }), 'name-constraint-violation', 'euicc');
  });

  it('EID range from the 2.23.146.1.2.2.0 extension (no nameConstraints)', () => {
    const eum2 = createEum(ci, { nameConstraints: false, eidExtension: true, eidPrefixes: ['8904411', '89049032'] });
    expect(eum2.cert.extensions.nameConstraints).toBeUndefined();
    expect(eum2.cert.extensions.eidPermittedPrefixes?.prefixes).toEqual(['8904411', '89049032']);
    const inRange = createEuicc(eum2, '89044110000000000000000000000000');
    expect(verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum2.certDer, euiccCert: inRange.certDer, at }).eid).toBe('89044110000000000000000000000000');
    const outRange = createEuicc(eum2, '89044120000000000000000000000000');
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum2.certDer, euiccCert: outRange.certDer, at }), 'eid-out-of-range', 'euicc');
    // both mechanisms present: both must hold
    const eum3 = createEum(ci, { eidExtension: true, eidPrefixes: ['89049032'] });
    expect(verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum3.certDer, euiccCert: createEuicc(eum3, EID).certDer, at }).eid).toBe(EID);
    // neither: no range declared
    const eum4 = createEum(ci, { nameConstraints: false });
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum4.certDer, euiccCert: createEuicc(eum4, EID).certDer, at }), 'eid-out-of-range', 'euicc');
  });

  it('curve-mismatch and unsupported-curve', () => {
    const brpEum = createEum(ci, { curve: 'brainpoolP256r1' });
    expect(brpEum.cert.subjectPublicKeyInfo.curve).toBe('brainpoolP256r1');
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: brpEum.certDer, euiccCert: createEuicc(brpEum, EID).certDer, at }), 'curve-mismatch', 'eum');
    const p384 = custom(eum, euiccExts, euiccSubject(EID), 'secp384r1');
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: p384, at }), 'unsupported-curve', 'euicc');
  });

  it('validity: not-yet-valid and expired', () => {
    const future = createEuicc(eum, EID, { notBefore: new Date(Date.now() + 86_400_000) });
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: future.certDer }), 'not-yet-valid', 'euicc');
    expect(verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: future.certDer, checkDates: false }).eid).toBe(EID);
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: euicc.certDer, at: new Date(Date.UTC(2100, 0, 1)) }), 'expired', 'ci');
  });

  it('issuer-mismatch: signed by the EUM key but naming another issuer', () => {
    const other = createEum(ci, { keyPair: { privateKey: eum.privateKey, publicKey: eum.cert.subjectPublicKeyInfo.key! }, organization: 'Twin EUM' });
    const cert = createEuicc(other, EID, { organization: 'RSP Test EUM' });
    rejects(() => verifyEuiccChain({ trustedCis: [ci.certDer], eumCert: eum.certDer, euiccCert: cert.certDer, at }), 'issuer-mismatch', 'euicc');
  });

  it('server certificates: SM-DP+ X509_OID required on DPauth/DPpb; malformed input reported as server', () => {
    const dp = createDpAuth(ci, { oid: '1.3.6.1.4.1.31746.1' });
    expect(verifyServerCertificate({ trustedCis: [ci.certDer], cert: dp.certDer, role: 'DPauth', at }).smdpOid).toBe('1.3.6.1.4.1.31746.1');
    const noRid = custom(ci, [certExt.keyUsage(['digitalSignature']), certExt.certificatePolicies(['2.23.146.1.2.1.5'])], [{ oid: X509_OID.commonName, value: 'x' }]);
    rejects(() => verifyServerCertificate({ trustedCis: [ci.certDer], cert: noRid, role: 'DPpb', at }), 'bad-extension', 'server');
    rejects(() => verifyServerCertificate({ trustedCis: [ci.certDer], cert: fromHex('3000'), role: 'DPpb', at }), 'malformed', 'server');
    rejects(() => verifyServerCertificate({ trustedCis: [fromHex('3000')], cert: createDpPb(ci).certDer, role: 'DPpb', at }), 'malformed', 'ci');
  });
});

describe('host name matching', () => {
  it.each([
    ['testsmdpplus1.example.com', 'testsmdpplus1.example.com', true],
    ['testsmdpplus1.example.com', 'TESTSMDPPLUS1.EXAMPLE.COM.', true],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', false],
    ['*.example.com', 'example.com', false],
    ['*.com', 'example.com', false],
    ['a.example.com', 'b.example.com', false],
  ])('%s vs %s -> %s', (p, h, r) => {
    expect(hostNameMatches(p, h)).toBe(r);
  });
});
