import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdentity, generateEid, IdentityError, loadIdentity, loadIdentityFiles, saveIdentity, type EuiccIdentity } from './identity.js';
import { CardStore } from './state.js';
import { verifyEid } from '../util/eid.js';
import { toHex } from '../util/hex.js';
import { verifyRaw, type Curve } from '../crypto/ecdsa.js';
import { ciPkid, verifyEuiccChain } from '../crypto/certs.js';
import { parseCertificate } from '../crypto/x509.js';
import { createCi, createEum } from '../crypto/pki.js';
import { describeWithReference, readRef, refPath } from '../../test/support/reference.js';

function checkSigns(id: EuiccIdentity): void {
  const data = new TextEncoder().encode('to be signed');
  const sig = id.sign(data);
  expect(sig.length).toBe(64);
  const key = parseCertificate(id.euiccCertificate).subjectPublicKeyInfo.key!;
  expect(verifyRaw(key, data, sig)).toBe(true);
}

describe('createIdentity', () => {
  for (const curve of ['P-256', 'brainpoolP256r1'] as Curve[]) {
    it(`creates a complete chained identity on ${curve} with a generated EID`, () => {
      const { identity, ci, eum } = createIdentity({ curve });
      expect(identity.curve).toBe(curve);
      expect(identity.eid).toMatch(/^89049032[0-9]{24}$/);
      expect(verifyEid(identity.eid)).toBe(true);
      expect(toHex(identity.eidBytes)).toBe(identity.eid);
      const chain = verifyEuiccChain({ trustedCis: [ci.cert], eumCert: eum.certDer, euiccCert: identity.euiccCertificate });
      expect(chain.eid).toBe(identity.eid);
      expect(identity.trustedCis).toHaveLength(1);
      expect(toHex(identity.ciPkidsForVerification[0]!)).toBe(toHex(ciPkid(ci.cert)));
      expect(toHex(identity.ciPkidsForSigning[0]!)).toBe(toHex(ciPkid(ci.cert)));
      checkSigns(identity);
    });
  }

  it('uses a given EID and given CI/EUM; generated EIDs follow the EUM prefix', () => {
    const ci = createCi();
    const eum = createEum(ci, { eidPrefixes: ['8904903300'] });
    const eid = generateEid('890490330012345123451234567890'); // 30 digits: only the check digits are computed
    const { identity } = createIdentity({ ci, eum, eid });
    expect(identity.eid).toBe(eid);
    expect(identity.eid.startsWith('890490330012345123451234567890')).toBe(true);
    expect(createIdentity({ ci, eum }).identity.eid.startsWith('8904903300')).toBe(true);
  });

  it('rejects an EID with wrong check digits or a wrong format', () => {
    expect(() => createIdentity({ eid: '89049032123451234512345678901234' })).toThrow(IdentityError);
    expect(() => createIdentity({ eid: '1234' })).toThrow(IdentityError);
  });

  it('generateEid gives valid check digits', () => {
    for (let i = 0; i < 20; i++) expect(verifyEid(generateEid('8904'))).toBe(true);
  });
});

describe('saveIdentity / loadIdentity', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips through the state file (0600), key included', () => {
    const path = join(dir, 'card.db');
    const { identity } = createIdentity({ curve: 'brainpoolP256r1' });
    const s = CardStore.open(path);
    expect(() => loadIdentity(s)).toThrow(IdentityError);
    saveIdentity(s, identity);
    s.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const t = CardStore.open(path);
    const back = loadIdentity(t);
    t.close();
    expect(back.eid).toBe(identity.eid);
    expect(back.curve).toBe('brainpoolP256r1');
    expect(toHex(back.euiccCertificate)).toBe(toHex(identity.euiccCertificate));
    expect(toHex(back.eumCertificate)).toBe(toHex(identity.eumCertificate));
    expect(back.trustedCis.map((c) => toHex(c.der))).toEqual(identity.trustedCis.map((c) => toHex(c.der)));
    checkSigns(back);
  });

  it('refuses to save an identity it did not make (no private key)', () => {
    const { identity } = createIdentity({});
    const foreign: EuiccIdentity = { ...identity };
    const s = CardStore.open(':memory:');
    expect(() => saveIdentity(s, foreign)).toThrow(IdentityError);
    s.close();
  });
});

describeWithReference('loadIdentityFiles (SGP.26 test identity)', () => {
  for (const [tag, curve] of [
    ['NIST', 'P-256'],
    ['BRP', 'brainpoolP256r1'],
  ] as const) {
    it(`loads the ${tag} eUICC with its SEC1 key`, () => {
      const id = loadIdentityFiles({
        euiccCert: refPath('sgp26', 'eUICC', `CERT_EUICC_ECDSA_${tag}.der`),
        euiccKey: refPath('sgp26', 'eUICC', `SK_EUICC_ECDSA_${tag}.pem`),
        eumCert: refPath('sgp26', 'EUM', `CERT_EUM_ECDSA_${tag}.der`),
        ciCerts: [refPath('sgp26', 'CertificateIssuer', `CERT_CI_ECDSA_${tag}.pem`)],
      });
      // EID of the SGP.26 test eUICC (reference/README.md, subject serialNumber)
      expect(id.eid).toBe('89049032123451234512345678901235');
      expect(toHex(id.eidBytes)).toBe('89049032123451234512345678901235');
      expect(id.curve).toBe(curve);
      expect(toHex(id.euiccCertificate)).toBe(toHex(readRef('sgp26', 'eUICC', `CERT_EUICC_ECDSA_${tag}.der`)));
      expect(toHex(id.ciPkidsForVerification[0]!)).toBe(
        toHex(ciPkid(readRef('sgp26', 'CertificateIssuer', `CERT_CI_ECDSA_${tag}.der`))),
      );
      checkSigns(id);
      const s = CardStore.open(':memory:');
      saveIdentity(s, id);
      expect(loadIdentity(s).eid).toBe(id.eid);
      s.close();
    });
  }

  it('rejects a key that does not match the certificate', () => {
    let err: unknown;
    try {
      loadIdentityFiles({
        euiccCert: refPath('sgp26', 'eUICC', 'CERT_EUICC_ECDSA_NIST.der'),
        euiccKey: refPath('sgp26', 'EUM', 'SK_EUM_ECDSA_NIST.pem'),
        eumCert: refPath('sgp26', 'EUM', 'CERT_EUM_ECDSA_NIST.der'),
        ciCerts: [refPath('sgp26', 'CertificateIssuer', 'CERT_CI_ECDSA_NIST.der')],
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IdentityError);
    expect((err as IdentityError).code).toBe('key-mismatch');
  });

  it('reports a missing file as IdentityError bad-file', () => {
    expect(() =>
      loadIdentityFiles({ euiccCert: join(tmpdir(), 'nope.der'), euiccKey: 'x', eumCert: 'y', ciCerts: [] }),
    ).toThrow(IdentityError);
  });
});
